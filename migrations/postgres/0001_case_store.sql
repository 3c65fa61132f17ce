-- Case store, SQLite flavour. Times are epoch milliseconds (BIGINT) so range queries are plain
-- integer comparisons in both backends; ids are UUIDv7 (uuid); JSON as jsonb.

CREATE TABLE channel_accounts (
    id              UUID PRIMARY KEY,
    kind            TEXT NOT NULL CHECK (kind IN ('api','facebook_page','instagram','whatsapp','x')),
    name            TEXT NOT NULL,
    external_id     TEXT NOT NULL,
    api_base_url    TEXT,
    credentials     JSONB NOT NULL DEFAULT '{}',
    callback_url    TEXT,
    calendar_id     UUID,
    default_team    TEXT,
    settings        JSONB NOT NULL DEFAULT '{}',
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL,
    deleted_at      BIGINT
);
-- One live account per platform id; a deleted account keeps its cases and frees the id.
CREATE UNIQUE INDEX channel_accounts_external ON channel_accounts (kind, external_id) WHERE deleted_at IS NULL;

CREATE TABLE contacts (
    id              UUID PRIMARY KEY,
    display_name    TEXT,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL
);

CREATE TABLE contact_identities (
    id                  UUID PRIMARY KEY,
    contact_id          UUID NOT NULL REFERENCES contacts (id),
    channel_account_id  UUID NOT NULL REFERENCES channel_accounts (id),
    platform_user_id    TEXT NOT NULL,
    handle              TEXT,
    display_name        TEXT,
    created_at          BIGINT NOT NULL,
    UNIQUE (channel_account_id, platform_user_id)
);
CREATE INDEX contact_identities_contact ON contact_identities (contact_id);

CREATE TABLE cases (
    id                  UUID PRIMARY KEY,
    channel_account_id  UUID NOT NULL REFERENCES channel_accounts (id),
    contact_id          UUID NOT NULL REFERENCES contacts (id),
    status              TEXT NOT NULL CHECK (status IN ('new','open','waiting_on_citizen','forwarded','resolved','closed')),
    priority            TEXT NOT NULL DEFAULT 'normal' CHECK (priority IN ('low','normal','high','urgent')),
    team                TEXT,
    assignee            TEXT,
    department_id       UUID,
    theme               TEXT,
    kind                TEXT CHECK (kind IN ('vraag','melding','klacht','compliment','overig')),
    target_group        TEXT CHECK (target_group IN ('burger','bedrijf','organisatie')),
    labels              JSONB NOT NULL DEFAULT '[]',
    zaak_url            TEXT,
    first_message_at    BIGINT NOT NULL,
    last_message_at     BIGINT NOT NULL,
    resolved_at         BIGINT,
    closed_at           BIGINT,
    due_at              BIGINT,
    created_at          BIGINT NOT NULL,
    updated_at          BIGINT NOT NULL
);
CREATE INDEX cases_status ON cases (status, id);
CREATE INDEX cases_account ON cases (channel_account_id, id);
CREATE INDEX cases_contact ON cases (contact_id, channel_account_id, last_message_at);
CREATE INDEX cases_assignee ON cases (assignee, id);
CREATE INDEX cases_team ON cases (team, id);

-- Thread keys (X conversation, Facebook post per citizen, ...) that point into a case. The primary
-- key makes "first message of a thread creates the case" race-free across nodes.
CREATE TABLE case_threads (
    channel_account_id  UUID NOT NULL,
    thread_key          TEXT NOT NULL,
    case_id             UUID NOT NULL REFERENCES cases (id),
    PRIMARY KEY (channel_account_id, thread_key)
);

CREATE TABLE messages (
    id                  UUID PRIMARY KEY,
    case_id             UUID NOT NULL REFERENCES cases (id),
    channel_account_id  UUID NOT NULL REFERENCES channel_accounts (id),
    platform_message_id TEXT NOT NULL,
    in_reply_to         TEXT,
    conversation_key    TEXT,
    direction           TEXT NOT NULL CHECK (direction IN ('inbound','outbound')),
    visibility          TEXT NOT NULL CHECK (visibility IN ('public','private')),
    author_identity_id  UUID REFERENCES contact_identities (id),
    author              JSONB NOT NULL,
    text                TEXT NOT NULL,
    sent_at             BIGINT NOT NULL,
    received_at         BIGINT NOT NULL,
    attachments         JSONB NOT NULL DEFAULT '[]',
    edit_history        JSONB NOT NULL DEFAULT '[]',
    flags               JSONB NOT NULL DEFAULT '[]',
    deleted_at          BIGINT,
    -- Idempotency: a platform retry or an overlapping poll can never store a message twice.
    UNIQUE (channel_account_id, platform_message_id)
);
CREATE INDEX messages_case ON messages (case_id, sent_at);
CREATE INDEX messages_reply_to ON messages (channel_account_id, in_reply_to) WHERE in_reply_to IS NOT NULL;

CREATE TABLE api_tokens (
    id              UUID PRIMARY KEY,
    name            TEXT NOT NULL,
    role            TEXT NOT NULL CHECK (role IN ('admin','teamlead','agent','department','integration')),
    token_hash      TEXT NOT NULL UNIQUE,
    created_at      BIGINT NOT NULL,
    revoked_at      BIGINT
);

CREATE TABLE audit_events (
    id              UUID PRIMARY KEY,
    at              BIGINT NOT NULL,
    actor           TEXT NOT NULL,
    action          TEXT NOT NULL,
    case_id         UUID,
    detail          JSONB NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_events_case ON audit_events (case_id, at);
CREATE INDEX audit_events_at ON audit_events (at);
