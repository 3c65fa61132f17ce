-- Routing rules (issue 14): each change stores the whole ordered rule set as the next version
-- (the primary key makes two concurrent changes conflict instead of overwriting each other).
CREATE TABLE routing_rule_sets (
    version         INTEGER PRIMARY KEY NOT NULL,
    effective_from  INTEGER NOT NULL,
    rules           TEXT NOT NULL,
    created_by      TEXT NOT NULL,
    created_at      INTEGER NOT NULL
);
