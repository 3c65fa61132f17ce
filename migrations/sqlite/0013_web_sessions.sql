-- The web app's local sign-in (issue 13): a password per user, set by the admin, stored as an
-- argon2id PHC string (salt and parameters inside). Its own table, so reading a user for the API
-- never reads a password hash.
CREATE TABLE user_passwords (
    user_id     BLOB PRIMARY KEY NOT NULL REFERENCES users (id),
    hash        TEXT NOT NULL,
    updated_at  INTEGER NOT NULL
);

-- A browser session: the cookie holds 32 random bytes; only their SHA-256 is stored, so a leaked
-- database does not leak live sessions. The CSRF token is per session (checked on every POST).
CREATE TABLE web_sessions (
    id_hash       TEXT PRIMARY KEY NOT NULL,
    user_id       BLOB NOT NULL REFERENCES users (id),
    csrf_token    TEXT NOT NULL,
    created_at    INTEGER NOT NULL,
    expires_at    INTEGER NOT NULL,
    last_seen_at  INTEGER NOT NULL
);
-- Signing a user out everywhere (password change) and sweeping expired sessions.
CREATE INDEX web_sessions_by_user ON web_sessions (user_id);
CREATE INDEX web_sessions_by_expiry ON web_sessions (expires_at);
