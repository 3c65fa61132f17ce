-- The classification lists and theme rules (issue 16): themes, kinds and target groups as the
-- admin configures them, "a theme before resolving" and the spike rule, stored as one document
-- versioned like the cost model (each change the next version; the primary key makes two
-- concurrent changes conflict). No row: DESIGN section 3's defaults apply.
CREATE TABLE classification_versions (
    version         BIGINT PRIMARY KEY,
    effective_from  BIGINT NOT NULL,
    classification  JSONB NOT NULL,
    created_by      TEXT NOT NULL,
    created_at      BIGINT NOT NULL
);

-- Spike episodes: a theme's arrivals far above its usual level for the hour. At most one open
-- episode per theme (the partial unique index), so two nodes never alert one episode twice.
CREATE TABLE theme_spikes (
    id              UUID PRIMARY KEY,
    theme           TEXT NOT NULL,
    started_at      BIGINT NOT NULL,
    ended_at        BIGINT,
    last_hour       BIGINT NOT NULL,
    usual           DOUBLE PRECISION NOT NULL
);
CREATE UNIQUE INDEX theme_spikes_open ON theme_spikes (theme) WHERE ended_at IS NULL;
CREATE INDEX theme_spikes_started ON theme_spikes (started_at);
