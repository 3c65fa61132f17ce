-- The case tells the truth (issue 19): why each clock run stopped, a `cancelled` state for a run
-- stopped by something other than what it measures (resolved without a reply, "geen reactie
-- nodig", merged, a new forward), whether a department answered within its agreed time on its
-- department clock, and what became of a department answer (sent or set aside).
--
-- SQLite cannot change a CHECK constraint in place: sla_clocks is rebuilt. sla_alerts refers to
-- it, and with foreign keys on a rename would carry that reference along to the old table, so
-- sla_alerts is set aside first (nothing refers to it) and rebuilt after, unchanged.
CREATE TABLE sla_alerts_keep AS SELECT * FROM sla_alerts;
DROP TABLE sla_alerts;

CREATE TABLE sla_clocks_new (
    id                  BLOB PRIMARY KEY NOT NULL,
    case_id             BLOB NOT NULL REFERENCES cases (id),
    kind                TEXT NOT NULL CHECK (kind IN ('reaction','next_reaction','resolution','department')),
    run                 INTEGER NOT NULL,
    segments            TEXT NOT NULL,
    budget_seconds      INTEGER NOT NULL,
    minutes_kind        TEXT NOT NULL CHECK (minutes_kind IN ('business','calendar')),
    warning_fraction    REAL NOT NULL,
    calendar_id         BLOB,
    policy_name         TEXT,
    state               TEXT NOT NULL CHECK (state IN ('running','paused','met','missed','cancelled')),
    status              TEXT NOT NULL CHECK (status IN ('within','warning','breached')),
    started_at          INTEGER NOT NULL,
    due_at              INTEGER,
    warning_at          INTEGER,
    stopped_at          INTEGER,
    next_fire_at        INTEGER,
    updated_at          INTEGER NOT NULL,
    generation          INTEGER NOT NULL DEFAULT 0,
    stop_reason         TEXT CHECK (stop_reason IN ('reply','holding_answer','department_answer',
                            'resolved','resolved_without_reply','no_reply_needed','merged','reforwarded')),
    stop_note           TEXT,
    UNIQUE (case_id, kind, run)
);
INSERT INTO sla_clocks_new (id, case_id, kind, run, segments, budget_seconds, minutes_kind,
                            warning_fraction, calendar_id, policy_name, state, status, started_at,
                            due_at, warning_at, stopped_at, next_fire_at, updated_at, generation)
    SELECT id, case_id, kind, run, segments, budget_seconds, minutes_kind, warning_fraction,
           calendar_id, policy_name, state, status, started_at, due_at, warning_at, stopped_at,
           next_fire_at, updated_at, generation
    FROM sla_clocks;
DROP TABLE sla_clocks;
ALTER TABLE sla_clocks_new RENAME TO sla_clocks;
CREATE INDEX sla_clocks_next_fire ON sla_clocks (next_fire_at) WHERE next_fire_at IS NOT NULL;

CREATE TABLE sla_alerts (
    id              BLOB PRIMARY KEY NOT NULL,
    case_id         BLOB NOT NULL REFERENCES cases (id),
    clock_id        BLOB NOT NULL REFERENCES sla_clocks (id),
    clock           TEXT NOT NULL CHECK (clock IN ('reaction','next_reaction','resolution','department')),
    run             INTEGER NOT NULL,
    generation      INTEGER NOT NULL DEFAULT 0,
    status          TEXT NOT NULL CHECK (status IN ('warning','breached')),
    due_at          INTEGER NOT NULL,
    fired_at        INTEGER NOT NULL,
    notify_at       INTEGER NOT NULL,
    notified_at     INTEGER,
    lease_owner     TEXT,
    lease_until     INTEGER,
    UNIQUE (case_id, clock, run, generation, status)
);
INSERT INTO sla_alerts (id, case_id, clock_id, clock, run, generation, status, due_at, fired_at,
                        notify_at, notified_at, lease_owner, lease_until)
    SELECT id, case_id, clock_id, clock, run, generation, status, due_at, fired_at, notify_at,
           notified_at, lease_owner, lease_until
    FROM sla_alerts_keep;
DROP TABLE sla_alerts_keep;
CREATE INDEX sla_alerts_status ON sla_alerts (status, id);
CREATE INDEX sla_alerts_pending ON sla_alerts (notify_at) WHERE notified_at IS NULL;
CREATE INDEX sla_alerts_leased ON sla_alerts (lease_until) WHERE notified_at IS NULL AND lease_until IS NOT NULL;

-- Set from the department clock when the department answers: the report reads it.
ALTER TABLE case_forwards ADD COLUMN answered_in_time INTEGER;
-- What the agent did with the department's answer: sent (in a reply) or set aside (resolved
-- without sending it); NULL while it is pending or when there is none.
ALTER TABLE case_forwards ADD COLUMN answer_outcome TEXT CHECK (answer_outcome IN ('sent','set_aside'));
ALTER TABLE case_forwards ADD COLUMN answer_settled_at INTEGER;
