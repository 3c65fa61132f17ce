-- Issue 14: a case becomes a zaak in the municipality's zaaksysteem (ZGW Zaken API). Every call
-- is a durable job, enqueued in the transaction of the case change that causes it and sent in
-- order per case by the zaak worker. `zaak_url` already exists on cases; the identificatie is
-- what a citizen quotes (`{{zaaknummer}}`).
ALTER TABLE cases ADD COLUMN zaak_identificatie TEXT;

CREATE TABLE zaak_jobs (
    id              UUID PRIMARY KEY,
    case_id         UUID NOT NULL REFERENCES cases (id),
    kind            TEXT NOT NULL CHECK (kind IN ('create','status','rol','close')),
    payload         JSONB NOT NULL,
    state           TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending','done','failed')),
    attempts        BIGINT NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    lease_until     BIGINT,
    last_error      TEXT,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL
);
CREATE INDEX zaak_jobs_due ON zaak_jobs (state, next_attempt_at);
CREATE INDEX zaak_jobs_case ON zaak_jobs (case_id, id);
-- One live create per case: a second request while one is pending or done is refused by the
-- database, also from two nodes at once.
CREATE UNIQUE INDEX zaak_jobs_one_create ON zaak_jobs (case_id) WHERE kind = 'create' AND state <> 'failed';
