-- People, teams, departments, case work (notes, forwards, merges), canned answers and search.
-- SQLite flavour: ids BLOB, times epoch ms INTEGER, JSON TEXT.

CREATE TABLE teams (
    id                  BLOB PRIMARY KEY NOT NULL,
    name                TEXT NOT NULL UNIQUE,
    auto_assign         TEXT NOT NULL DEFAULT 'off' CHECK (auto_assign IN ('off','round_robin','least_loaded')),
    max_open_per_agent  INTEGER,
    created_at          INTEGER NOT NULL,
    updated_at          INTEGER NOT NULL
);

CREATE TABLE departments (
    id              BLOB PRIMARY KEY NOT NULL,
    name            TEXT NOT NULL UNIQUE,
    contact_persons TEXT NOT NULL DEFAULT '[]',
    answer_minutes  INTEGER NOT NULL CHECK (answer_minutes > 0),
    calendar_id     BLOB,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL
);

CREATE TABLE users (
    id              BLOB PRIMARY KEY NOT NULL,
    name            TEXT NOT NULL,
    email           TEXT NOT NULL UNIQUE,
    subject         TEXT UNIQUE,
    role            TEXT NOT NULL CHECK (role IN ('agent','teamlead','department','admin')),
    teams           TEXT NOT NULL DEFAULT '[]',
    department_id   BLOB REFERENCES departments (id),
    active          INTEGER NOT NULL DEFAULT 1,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL
);

CREATE TABLE case_notes (
    id          BLOB PRIMARY KEY NOT NULL,
    case_id     BLOB NOT NULL REFERENCES cases (id),
    author      TEXT NOT NULL,
    text        TEXT NOT NULL,
    created_at  INTEGER NOT NULL
);
CREATE INDEX case_notes_case ON case_notes (case_id, id);

-- One row per forward of a case to a department; the open one has no answer and no return yet.
CREATE TABLE case_forwards (
    id              BLOB PRIMARY KEY NOT NULL,
    case_id         BLOB NOT NULL REFERENCES cases (id),
    department_id   BLOB NOT NULL REFERENCES departments (id),
    question        TEXT NOT NULL,
    forwarded_by    TEXT NOT NULL,
    forwarded_at    INTEGER NOT NULL,
    answer          TEXT,
    answered_by     TEXT,
    answered_at     INTEGER,
    return_reason   TEXT,
    returned_at     INTEGER
);
CREATE INDEX case_forwards_case ON case_forwards (case_id, forwarded_at);
CREATE INDEX case_forwards_department ON case_forwards (department_id, forwarded_at);

ALTER TABLE cases ADD COLUMN merged_into BLOB;
ALTER TABLE cases ADD COLUMN department_answer TEXT;
CREATE INDEX cases_department ON cases (department_id, id);
CREATE INDEX cases_priority ON cases (priority, id);

CREATE TABLE canned_answers (
    id          BLOB PRIMARY KEY NOT NULL,
    team        TEXT,
    title       TEXT NOT NULL,
    text        TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);

CREATE INDEX audit_events_actor ON audit_events (actor, at);

-- Full-text search over message text and contact names (FTS5 external content, kept in sync by
-- triggers so the ingest transaction needs no change).
CREATE VIRTUAL TABLE messages_fts USING fts5 (text, content = 'messages', content_rowid = 'rowid', tokenize = 'unicode61 remove_diacritics 2');
CREATE TRIGGER messages_fts_ai AFTER INSERT ON messages BEGIN
    INSERT INTO messages_fts (rowid, text) VALUES (new.rowid, new.text);
END;
CREATE TRIGGER messages_fts_ad AFTER DELETE ON messages BEGIN
    INSERT INTO messages_fts (messages_fts, rowid, text) VALUES ('delete', old.rowid, old.text);
END;
CREATE TRIGGER messages_fts_au AFTER UPDATE OF text ON messages BEGIN
    INSERT INTO messages_fts (messages_fts, rowid, text) VALUES ('delete', old.rowid, old.text);
    INSERT INTO messages_fts (rowid, text) VALUES (new.rowid, new.text);
END;
INSERT INTO messages_fts (messages_fts) VALUES ('rebuild');

CREATE VIRTUAL TABLE contacts_fts USING fts5 (contact_id UNINDEXED, name, tokenize = 'unicode61 remove_diacritics 2');
CREATE TRIGGER contacts_fts_ai AFTER INSERT ON contact_identities BEGIN
    INSERT INTO contacts_fts (rowid, contact_id, name)
    VALUES (new.rowid, new.contact_id, coalesce(new.display_name, '') || ' ' || coalesce(new.handle, ''));
END;
CREATE TRIGGER contacts_fts_au AFTER UPDATE ON contact_identities BEGIN
    DELETE FROM contacts_fts WHERE rowid = old.rowid;
    INSERT INTO contacts_fts (rowid, contact_id, name)
    VALUES (new.rowid, new.contact_id, coalesce(new.display_name, '') || ' ' || coalesce(new.handle, ''));
END;
CREATE TRIGGER contacts_fts_ad AFTER DELETE ON contact_identities BEGIN
    DELETE FROM contacts_fts WHERE rowid = old.rowid;
END;
INSERT INTO contacts_fts (rowid, contact_id, name)
    SELECT rowid, contact_id, coalesce(display_name, '') || ' ' || coalesce(handle, '') FROM contact_identities;

-- Live events: a persisted log (resume with Last-Event-ID) and outbound webhooks.
CREATE TABLE events (
    seq             INTEGER PRIMARY KEY AUTOINCREMENT,
    at              INTEGER NOT NULL,
    kind            TEXT NOT NULL,
    case_id         BLOB,
    team            TEXT,
    assignee        TEXT,
    department_id   BLOB,
    payload         TEXT NOT NULL DEFAULT '{}'
);

CREATE TABLE webhooks (
    id          BLOB PRIMARY KEY NOT NULL,
    url         TEXT NOT NULL,
    event_types TEXT NOT NULL DEFAULT '[]',
    secret      TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    deleted_at  INTEGER
);

-- One row per (webhook, event): the primary key makes enqueueing idempotent, and a delivery that
-- succeeded is never picked up again.
CREATE TABLE webhook_deliveries (
    webhook_id      BLOB NOT NULL REFERENCES webhooks (id),
    event_seq       INTEGER NOT NULL,
    status          TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending','succeeded','failed')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    last_status     INTEGER,
    last_error      TEXT,
    created_at      INTEGER NOT NULL,
    delivered_at    INTEGER,
    PRIMARY KEY (webhook_id, event_seq)
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (status, next_attempt_at);
