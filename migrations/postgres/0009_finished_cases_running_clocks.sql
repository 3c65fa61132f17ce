-- The SLA worker's repair looks for resolved or closed cases whose clocks still run (a lost SLA
-- update). Normally there are none, so this partial index is near empty and the look-up is one
-- probe, instead of a walk over every case with a running clock.
CREATE INDEX cases_finished_running ON cases (id)
    WHERE sla_status IS NOT NULL AND status IN ('resolved', 'closed');
