-- SLA engine, PostgreSQL flavour: calendars with versions, policies with versions, per-case clocks,
-- alerts (case events; one per clock run and status) with notification leases.

CREATE TABLE sla_calendars (
    id              UUID PRIMARY KEY,
    name            TEXT NOT NULL,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL
);

-- A version applies from effective_from on; earlier instants keep the older version.
CREATE TABLE sla_calendar_versions (
    calendar_id     UUID NOT NULL REFERENCES sla_calendars (id),
    effective_from  BIGINT NOT NULL,
    spec            JSONB NOT NULL,
    created_at      BIGINT NOT NULL,
    PRIMARY KEY (calendar_id, effective_from)
);

-- Versioned by (name, effective_from); `policy` is the whole policy as JSON.
CREATE TABLE sla_policies (
    id              UUID PRIMARY KEY,
    name            TEXT NOT NULL,
    effective_from  BIGINT NOT NULL,
    ord             INTEGER NOT NULL,
    policy          JSONB NOT NULL,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL,
    UNIQUE (name, effective_from)
);

-- Bumped on every calendar or policy change, so every node's cache notices.
CREATE TABLE sla_config_rev (
    id              INTEGER PRIMARY KEY CHECK (id = 1),
    rev             BIGINT NOT NULL
);
INSERT INTO sla_config_rev (id, rev) VALUES (1, 0);

-- One clock run per (case, kind, run). `status` is the highest status fired so far (alerts
-- recorded); `next_fire_at` is the instant the next warning or breach falls due (NULL: nothing
-- left to fire), which the timer worker sleeps until.
CREATE TABLE sla_clocks (
    id                  UUID PRIMARY KEY,
    case_id             UUID NOT NULL REFERENCES cases (id),
    kind                TEXT NOT NULL CHECK (kind IN ('reaction','next_reaction','resolution','department')),
    run                 INTEGER NOT NULL,
    segments            JSONB NOT NULL,
    budget_seconds      BIGINT NOT NULL,
    minutes_kind        TEXT NOT NULL CHECK (minutes_kind IN ('business','calendar')),
    warning_fraction    DOUBLE PRECISION NOT NULL,
    calendar_id         UUID,
    policy_name         TEXT,
    state               TEXT NOT NULL CHECK (state IN ('running','paused','met','missed')),
    status              TEXT NOT NULL CHECK (status IN ('within','warning','breached')),
    started_at          BIGINT NOT NULL,
    due_at              BIGINT,
    warning_at          BIGINT,
    stopped_at          BIGINT,
    next_fire_at        BIGINT,
    updated_at          BIGINT NOT NULL,
    UNIQUE (case_id, kind, run)
);
CREATE INDEX sla_clocks_next_fire ON sla_clocks (next_fire_at) WHERE next_fire_at IS NOT NULL;

-- Warnings and breaches as case events: exactly one per (case, clock, run, status).
CREATE TABLE sla_alerts (
    id              UUID PRIMARY KEY,
    case_id         UUID NOT NULL REFERENCES cases (id),
    clock_id        UUID NOT NULL REFERENCES sla_clocks (id),
    clock           TEXT NOT NULL CHECK (clock IN ('reaction','next_reaction','resolution','department')),
    run             INTEGER NOT NULL,
    status          TEXT NOT NULL CHECK (status IN ('warning','breached')),
    due_at          BIGINT NOT NULL,
    fired_at        BIGINT NOT NULL,
    notify_at       BIGINT NOT NULL,
    notified_at     BIGINT,
    lease_owner     TEXT,
    lease_until     BIGINT,
    UNIQUE (case_id, clock, run, status)
);
CREATE INDEX sla_alerts_status ON sla_alerts (status, id);
CREATE INDEX sla_alerts_pending ON sla_alerts (notify_at) WHERE notified_at IS NULL;

-- The inbox sorts and filters on SLA: due_sort is due_at with NULL as the largest value, so the
-- keyset (due_sort, id) is total and index-friendly on both backends.
ALTER TABLE cases ADD COLUMN sla_status TEXT CHECK (sla_status IN ('within','warning','breached'));
ALTER TABLE cases ADD COLUMN due_sort BIGINT NOT NULL DEFAULT 9223372036854775807;
CREATE INDEX cases_due ON cases (due_sort, id);
CREATE INDEX cases_sla_status ON cases (sla_status, due_sort, id);
