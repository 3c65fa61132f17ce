-- Case store, SQLite flavour. Times are epoch milliseconds (INTEGER) so range queries are plain
-- integer comparisons in both backends; ids are UUIDv7 as 16-byte BLOBs; JSON as TEXT.

CREATE TABLE channel_accounts (
    id              BLOB PRIMARY KEY NOT NULL,
    kind            TEXT NOT NULL CHECK (kind IN ('api','facebook_page','instagram','whatsapp','x')),
    name            TEXT NOT NULL,
    external_id     TEXT NOT NULL,
    api_base_url    TEXT,
    credentials     TEXT NOT NULL DEFAULT '{}',
    callback_url    TEXT,
    calendar_id     BLOB,
    default_team    TEXT,
    settings        TEXT NOT NULL DEFAULT '{}',
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    deleted_at      INTEGER
);
-- One live account per platform id; a deleted account keeps its cases and frees the id.
CREATE UNIQUE INDEX channel_accounts_external ON channel_accounts (kind, external_id) WHERE deleted_at IS NULL;

CREATE TABLE contacts (
    id              BLOB PRIMARY KEY NOT NULL,
    display_name    TEXT,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL
);

CREATE TABLE contact_identities (
    id                  BLOB PRIMARY KEY NOT NULL,
    contact_id          BLOB NOT NULL REFERENCES contacts (id),
    channel_account_id  BLOB NOT NULL REFERENCES channel_accounts (id),
    platform_user_id    TEXT NOT NULL,
    handle              TEXT,
    display_name        TEXT,
    created_at          INTEGER NOT NULL,
    UNIQUE (channel_account_id, platform_user_id)
);
CREATE INDEX contact_identities_contact ON contact_identities (contact_id);

CREATE TABLE cases (
    id                  BLOB PRIMARY KEY NOT NULL,
    channel_account_id  BLOB NOT NULL REFERENCES channel_accounts (id),
    contact_id          BLOB NOT NULL REFERENCES contacts (id),
    status              TEXT NOT NULL CHECK (status IN ('new','open','waiting_on_citizen','forwarded','resolved','closed')),
    priority            TEXT NOT NULL DEFAULT 'normal' CHECK (priority IN ('low','normal','high','urgent')),
    team                TEXT,
    assignee            TEXT,
    department_id       BLOB,
    theme               TEXT,
    kind                TEXT CHECK (kind IN ('vraag','melding','klacht','compliment','overig')),
    target_group        TEXT CHECK (target_group IN ('burger','bedrijf','organisatie')),
    labels              TEXT NOT NULL DEFAULT '[]',
    zaak_url            TEXT,
    first_message_at    INTEGER NOT NULL,
    last_message_at     INTEGER NOT NULL,
    resolved_at         INTEGER,
    closed_at           INTEGER,
    due_at              INTEGER,
    created_at          INTEGER NOT NULL,
    updated_at          INTEGER NOT NULL
);
CREATE INDEX cases_status ON cases (status, id);
CREATE INDEX cases_account ON cases (channel_account_id, id);
CREATE INDEX cases_contact ON cases (contact_id, channel_account_id, last_message_at);
CREATE INDEX cases_assignee ON cases (assignee, id);
CREATE INDEX cases_team ON cases (team, id);

-- Thread keys (X conversation, Facebook post per citizen, ...) that point into a case. The primary
-- key makes "first message of a thread creates the case" race-free across nodes.
CREATE TABLE case_threads (
    channel_account_id  BLOB NOT NULL,
    thread_key          TEXT NOT NULL,
    case_id             BLOB NOT NULL REFERENCES cases (id),
    PRIMARY KEY (channel_account_id, thread_key)
);

CREATE TABLE messages (
    id                  BLOB PRIMARY KEY NOT NULL,
    case_id             BLOB NOT NULL REFERENCES cases (id),
    channel_account_id  BLOB NOT NULL REFERENCES channel_accounts (id),
    platform_message_id TEXT NOT NULL,
    in_reply_to         TEXT,
    conversation_key    TEXT,
    direction           TEXT NOT NULL CHECK (direction IN ('inbound','outbound')),
    visibility          TEXT NOT NULL CHECK (visibility IN ('public','private')),
    author_identity_id  BLOB REFERENCES contact_identities (id),
    author              TEXT NOT NULL,
    text                TEXT NOT NULL,
    sent_at             INTEGER NOT NULL,
    received_at         INTEGER NOT NULL,
    attachments         TEXT NOT NULL DEFAULT '[]',
    edit_history        TEXT NOT NULL DEFAULT '[]',
    flags               TEXT NOT NULL DEFAULT '[]',
    deleted_at          INTEGER,
    -- Idempotency: a platform retry or an overlapping poll can never store a message twice.
    UNIQUE (channel_account_id, platform_message_id)
);
CREATE INDEX messages_case ON messages (case_id, sent_at);
CREATE INDEX messages_reply_to ON messages (channel_account_id, in_reply_to) WHERE in_reply_to IS NOT NULL;

CREATE TABLE api_tokens (
    id              BLOB PRIMARY KEY NOT NULL,
    name            TEXT NOT NULL,
    role            TEXT NOT NULL CHECK (role IN ('admin','teamlead','agent','department','integration')),
    token_hash      TEXT NOT NULL UNIQUE,
    created_at      INTEGER NOT NULL,
    revoked_at      INTEGER
);

CREATE TABLE audit_events (
    id              BLOB PRIMARY KEY NOT NULL,
    at              INTEGER NOT NULL,
    actor           TEXT NOT NULL,
    action          TEXT NOT NULL,
    case_id         BLOB,
    detail          TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_events_case ON audit_events (case_id, at);
CREATE INDEX audit_events_at ON audit_events (at);
