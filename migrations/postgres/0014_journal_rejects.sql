-- Items of an accepted delivery that were not stored: addressed to an account the desk does not
-- know (a stale subscription), or refused by the input contract (a Messenger message without a
-- sender). The rest of the delivery is stored; these are kept for the admin to see
-- (`GET /api/v1/rejected-items`), never silently dropped. One row per item, so processing a
-- delivery again (a retry, a replay) records nothing twice.
CREATE TABLE journal_rejects (
    id                  UUID PRIMARY KEY,
    journal_id          UUID NOT NULL REFERENCES webhook_journal (id),
    seq                 BIGINT NOT NULL,
    account_external_id TEXT NOT NULL,
    platform_message_id TEXT,
    reason              TEXT NOT NULL,
    created_at          BIGINT NOT NULL,
    UNIQUE (journal_id, seq)
);
