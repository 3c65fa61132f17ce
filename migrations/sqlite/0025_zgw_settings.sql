-- Issue 14: the `[zgw]` settings as the admin API stores them (they take precedence over the
-- configuration file; every change a new version, which each node's settings cache notices), and
-- the desk's abonnement at Open Notificaties. Both one row (id 1).
CREATE TABLE zgw_settings (
    id         INTEGER PRIMARY KEY CHECK (id = 1),
    settings   TEXT NOT NULL,
    version    INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    updated_by TEXT NOT NULL
);

CREATE TABLE zgw_abonnement (
    id               INTEGER PRIMARY KEY CHECK (id = 1),
    url              TEXT NOT NULL,
    callback_url     TEXT NOT NULL,
    notificaties_url TEXT NOT NULL,
    registered_at    INTEGER NOT NULL
);
