-- Routing at ingest (issue 14): which version of the rule set routed a case, and which rule of it
-- matched (NULL: no rule matched, or the case predates routing).
ALTER TABLE cases ADD COLUMN routing_version INTEGER;
ALTER TABLE cases ADD COLUMN routing_rule_id BLOB;
