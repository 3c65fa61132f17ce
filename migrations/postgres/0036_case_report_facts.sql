-- Pre-aggregated report facts (issue 16, docs/REPORTS.md "Pre-aggregation"): per case what the
-- reports derive from its clocks, message counts and forwards, so a year's report need not walk
-- every clock's segments again. `facts` is NULL until a report computes it from the raw rows.
-- Every write to those rows bumps `gen` and clears `facts` in its own transaction (the triggers
-- below, so no write path can forget it); a report stores what it computed only when `gen` is
-- still what it read before the raw rows, so a row is either current or empty, never stale.
-- `version` is the layout of `facts` (a row of another layout is read as empty).
CREATE TABLE case_report_facts (
    case_id     UUID PRIMARY KEY,
    gen         BIGINT NOT NULL DEFAULT 0,
    version     INTEGER,
    facts       JSONB
);

CREATE FUNCTION case_report_facts_stale() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'DELETE' THEN
        INSERT INTO case_report_facts (case_id, gen) VALUES (NEW.case_id, 1)
        ON CONFLICT (case_id) DO UPDATE SET gen = case_report_facts.gen + 1, facts = NULL;
    END IF;
    IF TG_OP = 'DELETE' OR (TG_OP = 'UPDATE' AND OLD.case_id <> NEW.case_id) THEN
        INSERT INTO case_report_facts (case_id, gen) VALUES (OLD.case_id, 1)
        ON CONFLICT (case_id) DO UPDATE SET gen = case_report_facts.gen + 1, facts = NULL;
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER sla_clocks_report_facts AFTER INSERT OR UPDATE OR DELETE ON sla_clocks
    FOR EACH ROW EXECUTE FUNCTION case_report_facts_stale();
CREATE TRIGGER messages_report_facts AFTER INSERT OR DELETE OR UPDATE OF case_id, direction
    ON messages FOR EACH ROW EXECUTE FUNCTION case_report_facts_stale();
CREATE TRIGGER case_forwards_report_facts AFTER INSERT OR UPDATE OR DELETE ON case_forwards
    FOR EACH ROW EXECUTE FUNCTION case_report_facts_stale();

-- Business time is measured on the calendars: a calendar change empties every row (rare).
CREATE FUNCTION case_report_facts_all_stale() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE case_report_facts SET gen = gen + 1, facts = NULL;
    RETURN NULL;
END
$$;
CREATE TRIGGER sla_calendar_versions_report_facts
    AFTER INSERT OR UPDATE OR DELETE ON sla_calendar_versions
    FOR EACH STATEMENT EXECUTE FUNCTION case_report_facts_all_stale();

CREATE FUNCTION case_report_facts_gone() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM case_report_facts WHERE case_id = OLD.id;
    RETURN NULL;
END
$$;
CREATE TRIGGER cases_report_facts AFTER DELETE ON cases
    FOR EACH ROW EXECUTE FUNCTION case_report_facts_gone();

-- Every existing case gets its (empty) row: a report fills only rows that exist.
INSERT INTO case_report_facts (case_id) SELECT id FROM cases;
