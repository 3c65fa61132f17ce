-- Issue 14: a contact's partij in Open Klant is made once, also when two cases of the contact are
-- registered by two nodes at the same time: the worker that makes it first claims the contact
-- (the claiming job and a lease, so a crashed worker's claim runs out); the other waits for it.
ALTER TABLE contacts ADD COLUMN partij_claimed_by UUID;
ALTER TABLE contacts ADD COLUMN partij_claim_until BIGINT;
