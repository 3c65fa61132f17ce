-- The citizen's record (issue 15): what the desk keeps about a contact beyond its identities, and
-- the read audit queryable by contact. SQLite flavour.

-- Notes and a phone number the desk recorded (the phone is stored normalised, digits with the
-- country code, as WhatsApp ids are, so one index finds both); a flag the out-of-hours
-- auto-reply honours; and where a merged-away contact went.
ALTER TABLE contacts ADD COLUMN notes TEXT;
ALTER TABLE contacts ADD COLUMN phone TEXT;
ALTER TABLE contacts ADD COLUMN no_auto_reply INTEGER NOT NULL DEFAULT 0 CHECK (no_auto_reply IN (0, 1));
ALTER TABLE contacts ADD COLUMN merged_into BLOB;
ALTER TABLE contacts ADD COLUMN merged_at INTEGER;
CREATE INDEX contacts_phone ON contacts (phone) WHERE phone IS NOT NULL;
-- The name an agent gave the contact, found by the search as a whole (identity names by words).
CREATE INDEX contacts_display_name ON contacts (lower(display_name)) WHERE display_name IS NOT NULL;

-- Exact look-ups of the contact search and of match suggestions.
CREATE INDEX contact_identities_platform_user ON contact_identities (platform_user_id);
CREATE INDEX contact_identities_handle ON contact_identities (lower(handle)) WHERE handle IS NOT NULL;

-- "Who looked at my data": every read and change of a contact's data names the contact, so the
-- access log is one index range. Rows written before this migration have no contact.
ALTER TABLE audit_events ADD COLUMN contact_id BLOB;
CREATE INDEX audit_events_contact ON audit_events (contact_id, id) WHERE contact_id IS NOT NULL;
