-- Retention (issue 15): the terms per case kind (and theme), versioned like the routing rules
-- (each change stores the whole set as the next version; the primary key makes two concurrent
-- changes conflict); a legal hold on a case or a contact; when a case was anonymised.
CREATE TABLE retention_term_sets (
    version         INTEGER PRIMARY KEY NOT NULL,
    effective_from  INTEGER NOT NULL,
    terms           TEXT NOT NULL,
    created_by      TEXT NOT NULL,
    created_at      INTEGER NOT NULL
);

ALTER TABLE cases ADD COLUMN anonymised_at INTEGER;
ALTER TABLE cases ADD COLUMN legal_hold_at INTEGER;
ALTER TABLE cases ADD COLUMN legal_hold_reason TEXT;
ALTER TABLE contacts ADD COLUMN legal_hold_at INTEGER;
ALTER TABLE contacts ADD COLUMN legal_hold_reason TEXT;

-- The retention run reads the finished cases not yet anonymised by closing time; anonymised
-- cases leave the index, so it stays as small as what is still to come.
CREATE INDEX cases_retention ON cases (kind, COALESCE(closed_at, resolved_at), id)
    WHERE anonymised_at IS NULL AND status IN ('resolved', 'closed');
-- Anonymising (and erasing) a case blanks its live events' payloads: found by case, not by a
-- scan of the whole log.
CREATE INDEX events_case ON events (case_id) WHERE case_id IS NOT NULL;
-- Raw deliveries past their short term are found by age.
CREATE INDEX webhook_journal_received ON webhook_journal (received_at) WHERE length(body) > 0;

-- The privacy officer (issue 15): reads the access log, exports, previews retention and sets
-- legal holds; no agent work. SQLite cannot change a CHECK constraint, so `users` and
-- `api_tokens` are rebuilt after SQLite's procedure for other table changes
-- (https://www.sqlite.org/lang_altertable.html#otheralter), adapted to sqlx, which runs each
-- migration in a transaction where `PRAGMA foreign_keys = OFF` does nothing: foreign keys are
-- deferred instead, and the rows go out to a copy and back into a table of the same name (not a
-- renamed one), so the parent rows put back resolve the violations the DROP counted, and the
-- commit checks that none is left. Every column, index and foreign key is kept.
PRAGMA defer_foreign_keys = ON;

CREATE TEMP TABLE users_copy AS SELECT * FROM users;
DROP TABLE users;
CREATE TABLE users (
    id              BLOB PRIMARY KEY NOT NULL,
    name            TEXT NOT NULL,
    email           TEXT NOT NULL UNIQUE,
    subject         TEXT UNIQUE,
    role            TEXT NOT NULL CHECK (role IN ('agent','teamlead','department','admin','privacy_officer')),
    teams           TEXT NOT NULL DEFAULT '[]',
    department_id   BLOB REFERENCES departments (id),
    active          INTEGER NOT NULL DEFAULT 1,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL
);
INSERT INTO users SELECT * FROM users_copy;
DROP TABLE users_copy;

CREATE TEMP TABLE api_tokens_copy AS SELECT * FROM api_tokens;
DROP TABLE api_tokens;
CREATE TABLE api_tokens (
    id              BLOB PRIMARY KEY NOT NULL,
    name            TEXT NOT NULL,
    role            TEXT NOT NULL CHECK (role IN ('admin','teamlead','agent','department','integration','privacy_officer')),
    token_hash      TEXT NOT NULL UNIQUE,
    created_at      INTEGER NOT NULL,
    revoked_at      INTEGER,
    user_id         BLOB REFERENCES users (id),
    last_used_at    INTEGER
);
INSERT INTO api_tokens SELECT * FROM api_tokens_copy;
DROP TABLE api_tokens_copy;
CREATE INDEX api_tokens_live_by_user ON api_tokens (user_id, id) WHERE revoked_at IS NULL;
CREATE INDEX api_tokens_live ON api_tokens (id) WHERE revoked_at IS NULL;
