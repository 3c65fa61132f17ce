-- Issue 14: notifications from the Notificaties API (Open Notificaties) about zaken. The callback
-- stores each one in its request's transaction and answers 204; the notificaties worker
-- processes it after (fetching its resource), so a crash loses none. A retried delivery has the
-- same key (kanaal, resourceUrl, actie, aanmaakdatum) and is recorded once.
CREATE TABLE notificaties (
    id              BLOB PRIMARY KEY,
    dedup_key       TEXT NOT NULL UNIQUE,
    kanaal          TEXT NOT NULL,
    hoofd_object    TEXT NOT NULL,
    resource        TEXT NOT NULL,
    resource_url    TEXT NOT NULL,
    actie           TEXT NOT NULL,
    body            TEXT NOT NULL,
    state           TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending','done','failed')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    lease_until     INTEGER,
    last_error      TEXT,
    received_at     INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL
);
CREATE INDEX notificaties_due ON notificaties (state, next_attempt_at);
-- The callback finds a notification's case by its zaak.
CREATE INDEX cases_zaak_url ON cases (zaak_url);
