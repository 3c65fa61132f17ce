-- The inbox row (issue 12, defect 5): what a case says in a list without opening it, kept on the
-- case so a page of 50 rows needs no join. Written by the ingest transaction; refreshed when a
-- merge, platform edit or delete changes the latest citizen message. Cases stored before this
-- migration have a NULL preview until the start-up backfill has computed theirs (in Rust, so the
-- BSN masking is the one the domain crate defines).
ALTER TABLE cases ADD COLUMN preview TEXT;
ALTER TABLE cases ADD COLUMN author_name TEXT;
ALTER TABLE cases ADD COLUMN author_handle TEXT;
ALTER TABLE cases ADD COLUMN last_inbound_at BIGINT;
ALTER TABLE cases ADD COLUMN channel_kind TEXT;
UPDATE cases SET channel_kind = (SELECT kind FROM channel_accounts a WHERE a.id = cases.channel_account_id);
-- Empty once the backfill is done, so finding what is left costs nothing.
CREATE INDEX cases_inbox_row_pending ON cases (id) WHERE preview IS NULL;
