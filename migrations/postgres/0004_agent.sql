-- People, teams, departments, case work (notes, forwards, merges), canned answers and search.

CREATE TABLE teams (
    id                  UUID PRIMARY KEY,
    name                TEXT NOT NULL UNIQUE,
    auto_assign         TEXT NOT NULL DEFAULT 'off' CHECK (auto_assign IN ('off','round_robin','least_loaded')),
    max_open_per_agent  BIGINT,
    created_at          BIGINT NOT NULL,
    updated_at          BIGINT NOT NULL
);

CREATE TABLE departments (
    id              UUID PRIMARY KEY,
    name            TEXT NOT NULL UNIQUE,
    contact_persons JSONB NOT NULL DEFAULT '[]',
    answer_minutes  BIGINT NOT NULL CHECK (answer_minutes > 0),
    calendar_id     UUID,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL
);

CREATE TABLE users (
    id              UUID PRIMARY KEY,
    name            TEXT NOT NULL,
    email           TEXT NOT NULL UNIQUE,
    subject         TEXT UNIQUE,
    role            TEXT NOT NULL CHECK (role IN ('agent','teamlead','department','admin')),
    teams           JSONB NOT NULL DEFAULT '[]',
    department_id   UUID REFERENCES departments (id),
    active          BOOLEAN NOT NULL DEFAULT TRUE,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL
);

CREATE TABLE case_notes (
    id          UUID PRIMARY KEY,
    case_id     UUID NOT NULL REFERENCES cases (id),
    author      TEXT NOT NULL,
    text        TEXT NOT NULL,
    created_at  BIGINT NOT NULL
);
CREATE INDEX case_notes_case ON case_notes (case_id, id);

CREATE TABLE case_forwards (
    id              UUID PRIMARY KEY,
    case_id         UUID NOT NULL REFERENCES cases (id),
    department_id   UUID NOT NULL REFERENCES departments (id),
    question        TEXT NOT NULL,
    forwarded_by    TEXT NOT NULL,
    forwarded_at    BIGINT NOT NULL,
    answer          TEXT,
    answered_by     TEXT,
    answered_at     BIGINT,
    return_reason   TEXT,
    returned_at     BIGINT
);
CREATE INDEX case_forwards_case ON case_forwards (case_id, forwarded_at);
CREATE INDEX case_forwards_department ON case_forwards (department_id, forwarded_at);

ALTER TABLE cases ADD COLUMN merged_into UUID;
ALTER TABLE cases ADD COLUMN department_answer TEXT;
CREATE INDEX cases_department ON cases (department_id, id);
CREATE INDEX cases_priority ON cases (priority, id);

CREATE TABLE canned_answers (
    id          UUID PRIMARY KEY,
    team        TEXT,
    title       TEXT NOT NULL,
    text        TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL
);

CREATE INDEX audit_events_actor ON audit_events (actor, at);

-- Full-text search with the Dutch configuration, as expression indexes (no extra columns to keep
-- in sync): message text, and contact names (display name and handle of every identity).
CREATE INDEX messages_fts ON messages USING GIN (to_tsvector('dutch', text));
CREATE INDEX contact_identities_fts ON contact_identities
    USING GIN (to_tsvector('dutch', coalesce(display_name, '') || ' ' || coalesce(handle, '')));

-- Live events: a persisted log (resume with Last-Event-ID) and outbound webhooks.
CREATE TABLE events (
    seq             BIGSERIAL PRIMARY KEY,
    at              BIGINT NOT NULL,
    kind            TEXT NOT NULL,
    case_id         UUID,
    team            TEXT,
    assignee        TEXT,
    department_id   UUID,
    payload         JSONB NOT NULL DEFAULT '{}'
);

CREATE TABLE webhooks (
    id          UUID PRIMARY KEY,
    url         TEXT NOT NULL,
    event_types JSONB NOT NULL DEFAULT '[]',
    secret      TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    deleted_at  BIGINT
);

CREATE TABLE webhook_deliveries (
    webhook_id      UUID NOT NULL REFERENCES webhooks (id),
    event_seq       BIGINT NOT NULL,
    status          TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending','succeeded','failed')),
    attempts        BIGINT NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    last_status     BIGINT,
    last_error      TEXT,
    created_at      BIGINT NOT NULL,
    delivered_at    BIGINT,
    PRIMARY KEY (webhook_id, event_seq)
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (status, next_attempt_at);
