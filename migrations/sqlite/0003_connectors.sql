-- Connectors: the durable webhook journal, the reply outbox, poll cursors and worker leases.
-- SQLite flavour: times epoch ms INTEGER, ids UUIDv7 BLOB, JSON TEXT.

-- Every accepted (signature-verified) delivery, stored raw before the platform gets its 200 and
-- processed from here. Failed items keep their error and can be replayed.
CREATE TABLE webhook_journal (
    id                  BLOB PRIMARY KEY NOT NULL,
    source              TEXT NOT NULL CHECK (source IN ('meta','x_activity','x_mentions','x_dm_events')),
    channel_account_id  BLOB,
    body                BLOB NOT NULL,
    received_at         INTEGER NOT NULL,
    state               TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending','processed','failed')),
    attempts            INTEGER NOT NULL DEFAULT 0,
    next_attempt_at     INTEGER NOT NULL,
    lease_until         INTEGER,
    processed_at        INTEGER,
    error               TEXT,
    summary             TEXT
);
CREATE INDEX webhook_journal_due ON webhook_journal (state, next_attempt_at);

-- Replies: stored first, then sent by the outbox worker. The id is the idempotency key.
CREATE TABLE outbox_replies (
    id                  BLOB PRIMARY KEY NOT NULL,
    case_id             BLOB NOT NULL REFERENCES cases (id),
    channel_account_id  BLOB NOT NULL REFERENCES channel_accounts (id),
    text                TEXT NOT NULL,
    visibility          TEXT NOT NULL CHECK (visibility IN ('public','private')),
    in_reply_to         TEXT,
    recipient           TEXT,
    process_answer      BOOLEAN NOT NULL DEFAULT FALSE,
    author              TEXT NOT NULL,
    state               TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending','sending','sent','delivered','read','failed')),
    attempts            INTEGER NOT NULL DEFAULT 0,
    next_attempt_at     INTEGER NOT NULL,
    lease_until         INTEGER,
    -- When a sending reply's lease first ran out (worker died mid-send): it is in doubt since.
    in_doubt_since      INTEGER,
    platform_message_id TEXT,
    failure_reason      TEXT,
    last_error          TEXT,
    created_at          INTEGER NOT NULL,
    updated_at          INTEGER NOT NULL,
    sent_at             INTEGER
);
CREATE INDEX outbox_replies_due ON outbox_replies (state, next_attempt_at);
CREATE INDEX outbox_replies_case ON outbox_replies (case_id, created_at);
CREATE UNIQUE INDEX outbox_replies_platform ON outbox_replies (channel_account_id, platform_message_id)
    WHERE platform_message_id IS NOT NULL;

-- Poll cursors (X mentions since_id, ...), advanced only after a page is stored.
CREATE TABLE poll_cursors (
    channel_account_id  BLOB NOT NULL,
    stream              TEXT NOT NULL,
    cursor              TEXT NOT NULL,
    updated_at          INTEGER NOT NULL,
    PRIMARY KEY (channel_account_id, stream)
);

-- Named leases (one poller per account across nodes).
CREATE TABLE worker_leases (
    name                TEXT PRIMARY KEY NOT NULL,
    holder              TEXT NOT NULL,
    lease_until         INTEGER NOT NULL
);
