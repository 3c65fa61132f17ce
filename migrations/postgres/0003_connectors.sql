-- Connectors: the durable webhook journal, the reply outbox, poll cursors and worker leases.
-- PostgreSQL flavour: times epoch ms BIGINT, ids UUID, bodies BYTEA.

-- Every accepted (signature-verified) delivery, stored raw before the platform gets its 200 and
-- processed from here. Failed items keep their error and can be replayed.
CREATE TABLE webhook_journal (
    id                  UUID PRIMARY KEY,
    source              TEXT NOT NULL CHECK (source IN ('meta','x_activity','x_mentions','x_dm_events')),
    channel_account_id  UUID,
    body                BYTEA NOT NULL,
    received_at         BIGINT NOT NULL,
    state               TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending','processed','failed')),
    attempts            BIGINT NOT NULL DEFAULT 0,
    next_attempt_at     BIGINT NOT NULL,
    lease_until         BIGINT,
    processed_at        BIGINT,
    error               TEXT,
    summary             TEXT
);
CREATE INDEX webhook_journal_due ON webhook_journal (state, next_attempt_at);

-- Replies: stored first, then sent by the outbox worker. The id is the idempotency key.
CREATE TABLE outbox_replies (
    id                  UUID PRIMARY KEY,
    case_id             UUID NOT NULL REFERENCES cases (id),
    channel_account_id  UUID NOT NULL REFERENCES channel_accounts (id),
    text                TEXT NOT NULL,
    visibility          TEXT NOT NULL CHECK (visibility IN ('public','private')),
    in_reply_to         TEXT,
    recipient           TEXT,
    process_answer      BOOLEAN NOT NULL DEFAULT FALSE,
    author              TEXT NOT NULL,
    state               TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending','sending','sent','delivered','read','failed')),
    attempts            BIGINT NOT NULL DEFAULT 0,
    next_attempt_at     BIGINT NOT NULL,
    lease_until         BIGINT,
    -- When a sending reply's lease first ran out (worker died mid-send): it is in doubt since.
    in_doubt_since      BIGINT,
    platform_message_id TEXT,
    failure_reason      TEXT,
    last_error          TEXT,
    created_at          BIGINT NOT NULL,
    updated_at          BIGINT NOT NULL,
    sent_at             BIGINT
);
CREATE INDEX outbox_replies_due ON outbox_replies (state, next_attempt_at);
CREATE INDEX outbox_replies_case ON outbox_replies (case_id, created_at);
CREATE UNIQUE INDEX outbox_replies_platform ON outbox_replies (channel_account_id, platform_message_id)
    WHERE platform_message_id IS NOT NULL;

-- Poll cursors (X mentions since_id, ...), advanced only after a page is stored.
CREATE TABLE poll_cursors (
    channel_account_id  UUID NOT NULL,
    stream              TEXT NOT NULL,
    cursor              TEXT NOT NULL,
    updated_at          BIGINT NOT NULL,
    PRIMARY KEY (channel_account_id, stream)
);

-- Named leases (one poller per account across nodes).
CREATE TABLE worker_leases (
    name                TEXT PRIMARY KEY NOT NULL,
    holder              TEXT NOT NULL,
    lease_until         BIGINT NOT NULL
);
