-- The team lead's board counts the active cases per status, assignee and SLA status in one pass
-- (`AgentStore::board`); this index answers it without reading the case rows. Partial: resolved
-- and closed cases (most of a year) are never in it, and are not written to it.
CREATE INDEX cases_board ON cases (status, assignee, sla_status)
    WHERE status NOT IN ('resolved', 'closed');
