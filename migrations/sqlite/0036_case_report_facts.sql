-- Pre-aggregated report facts (issue 16, docs/REPORTS.md "Pre-aggregation"): per case what the
-- reports derive from its clocks, message counts and forwards, so a year's report need not walk
-- every clock's segments again. `facts` is NULL until a report computes it from the raw rows.
-- Every write to those rows bumps `gen` and clears `facts` in its own transaction (the triggers
-- below, so no write path can forget it); a report stores what it computed only when `gen` is
-- still what it read before the raw rows, so a row is either current or empty, never stale.
-- `version` is the layout of `facts` (a row of another layout is read as empty).
CREATE TABLE case_report_facts (
    case_id     BLOB PRIMARY KEY,
    gen         INTEGER NOT NULL DEFAULT 0,
    version     INTEGER,
    facts       TEXT
);

CREATE TRIGGER sla_clocks_report_facts_ai AFTER INSERT ON sla_clocks BEGIN
    INSERT INTO case_report_facts (case_id, gen) VALUES (new.case_id, 1)
    ON CONFLICT (case_id) DO UPDATE SET gen = gen + 1, facts = NULL;
END;
CREATE TRIGGER sla_clocks_report_facts_au AFTER UPDATE ON sla_clocks BEGIN
    INSERT INTO case_report_facts (case_id, gen) VALUES (new.case_id, 1)
    ON CONFLICT (case_id) DO UPDATE SET gen = gen + 1, facts = NULL;
    INSERT INTO case_report_facts (case_id, gen) SELECT old.case_id, 1 WHERE old.case_id <> new.case_id
    ON CONFLICT (case_id) DO UPDATE SET gen = gen + 1, facts = NULL;
END;
CREATE TRIGGER sla_clocks_report_facts_ad AFTER DELETE ON sla_clocks BEGIN
    INSERT INTO case_report_facts (case_id, gen) VALUES (old.case_id, 1)
    ON CONFLICT (case_id) DO UPDATE SET gen = gen + 1, facts = NULL;
END;

CREATE TRIGGER messages_report_facts_ai AFTER INSERT ON messages BEGIN
    INSERT INTO case_report_facts (case_id, gen) VALUES (new.case_id, 1)
    ON CONFLICT (case_id) DO UPDATE SET gen = gen + 1, facts = NULL;
END;
CREATE TRIGGER messages_report_facts_au AFTER UPDATE OF case_id, direction ON messages BEGIN
    INSERT INTO case_report_facts (case_id, gen) VALUES (new.case_id, 1)
    ON CONFLICT (case_id) DO UPDATE SET gen = gen + 1, facts = NULL;
    INSERT INTO case_report_facts (case_id, gen) SELECT old.case_id, 1 WHERE old.case_id <> new.case_id
    ON CONFLICT (case_id) DO UPDATE SET gen = gen + 1, facts = NULL;
END;
CREATE TRIGGER messages_report_facts_ad AFTER DELETE ON messages BEGIN
    INSERT INTO case_report_facts (case_id, gen) VALUES (old.case_id, 1)
    ON CONFLICT (case_id) DO UPDATE SET gen = gen + 1, facts = NULL;
END;

CREATE TRIGGER case_forwards_report_facts_ai AFTER INSERT ON case_forwards BEGIN
    INSERT INTO case_report_facts (case_id, gen) VALUES (new.case_id, 1)
    ON CONFLICT (case_id) DO UPDATE SET gen = gen + 1, facts = NULL;
END;
CREATE TRIGGER case_forwards_report_facts_au AFTER UPDATE ON case_forwards BEGIN
    INSERT INTO case_report_facts (case_id, gen) VALUES (new.case_id, 1)
    ON CONFLICT (case_id) DO UPDATE SET gen = gen + 1, facts = NULL;
    INSERT INTO case_report_facts (case_id, gen) SELECT old.case_id, 1 WHERE old.case_id <> new.case_id
    ON CONFLICT (case_id) DO UPDATE SET gen = gen + 1, facts = NULL;
END;
CREATE TRIGGER case_forwards_report_facts_ad AFTER DELETE ON case_forwards BEGIN
    INSERT INTO case_report_facts (case_id, gen) VALUES (old.case_id, 1)
    ON CONFLICT (case_id) DO UPDATE SET gen = gen + 1, facts = NULL;
END;

-- Business time is measured on the calendars: a calendar change empties every row (rare).
CREATE TRIGGER sla_calendar_versions_report_facts_ai AFTER INSERT ON sla_calendar_versions BEGIN
    UPDATE case_report_facts SET gen = gen + 1, facts = NULL;
END;
CREATE TRIGGER sla_calendar_versions_report_facts_au AFTER UPDATE ON sla_calendar_versions BEGIN
    UPDATE case_report_facts SET gen = gen + 1, facts = NULL;
END;
CREATE TRIGGER sla_calendar_versions_report_facts_ad AFTER DELETE ON sla_calendar_versions BEGIN
    UPDATE case_report_facts SET gen = gen + 1, facts = NULL;
END;

CREATE TRIGGER cases_report_facts_ad AFTER DELETE ON cases BEGIN
    DELETE FROM case_report_facts WHERE case_id = old.id;
END;

-- Every existing case gets its (empty) row: a report fills only rows that exist.
INSERT INTO case_report_facts (case_id) SELECT id FROM cases;
