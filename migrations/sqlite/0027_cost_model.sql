-- The cost model (issue 16, DESIGN 10): versioned like the retention terms (each change stores
-- the whole model as the next version, in force from its effective time; the primary key makes
-- two concurrent changes conflict). No row: the research's defaults apply.
CREATE TABLE cost_model_versions (
    version         INTEGER PRIMARY KEY NOT NULL,
    effective_from  INTEGER NOT NULL,
    model           TEXT NOT NULL,
    created_by      TEXT NOT NULL,
    created_at      INTEGER NOT NULL
);
