-- Routing rules (issue 14): each change stores the whole ordered rule set as the next version
-- (the primary key makes two concurrent changes conflict instead of overwriting each other).
CREATE TABLE routing_rule_sets (
    version         BIGINT PRIMARY KEY,
    effective_from  BIGINT NOT NULL,
    rules           JSONB NOT NULL,
    created_by      TEXT NOT NULL,
    created_at      BIGINT NOT NULL
);
