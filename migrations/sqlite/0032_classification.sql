-- The classification lists and theme rules (issue 16): themes, kinds and target groups as the
-- admin configures them, "a theme before resolving" and the spike rule, stored as one document
-- versioned like the cost model (each change the next version; the primary key makes two
-- concurrent changes conflict). No row: DESIGN section 3's defaults apply.
CREATE TABLE classification_versions (
    version         INTEGER PRIMARY KEY NOT NULL,
    effective_from  INTEGER NOT NULL,
    classification  TEXT NOT NULL,
    created_by      TEXT NOT NULL,
    created_at      INTEGER NOT NULL
);

-- Spike episodes: a theme's arrivals far above its usual level for the hour. At most one open
-- episode per theme (the partial unique index), so two nodes never alert one episode twice.
CREATE TABLE theme_spikes (
    id              BLOB PRIMARY KEY NOT NULL,
    theme           TEXT NOT NULL,
    started_at      INTEGER NOT NULL,
    ended_at        INTEGER,
    last_hour       INTEGER NOT NULL,
    usual           REAL NOT NULL
);
CREATE UNIQUE INDEX theme_spikes_open ON theme_spikes (theme) WHERE ended_at IS NULL;
CREATE INDEX theme_spikes_started ON theme_spikes (started_at);
