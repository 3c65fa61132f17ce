-- Issue 14: every social message is registered in the municipality's klantbeeld (Open Klant 2,
-- Klantinteracties API) as a klantcontact; a forward hands the question to the department as an
-- internetaak; a zaak made later is linked to the klantcontacten registered before it. Each is a durable job, enqueued (when Open Klant is configured) in the transaction
-- that stores the message or the forward, and sent in order per case by the Open Klant worker.
CREATE TABLE klantcontact_jobs (
    id                UUID PRIMARY KEY,
    case_id           UUID NOT NULL REFERENCES cases (id),
    -- The message a 'klantcontact' job registers; NULL for an 'internetaak'.
    message_id        UUID REFERENCES messages (id),
    kind              TEXT NOT NULL CHECK (kind IN ('klantcontact','internetaak','zaak')),
    payload           JSONB NOT NULL,
    state             TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending','done','failed')),
    attempts          BIGINT NOT NULL DEFAULT 0,
    next_attempt_at   BIGINT NOT NULL,
    lease_until       BIGINT,
    last_error        TEXT,
    -- The klantcontact in Open Klant, recorded as soon as it exists (a retry goes on from it).
    klantcontact_url  TEXT,
    -- The internetaak in Open Klant, once made.
    internetaak_url   TEXT,
    created_at        BIGINT NOT NULL,
    updated_at        BIGINT NOT NULL
);
CREATE INDEX klantcontact_jobs_due ON klantcontact_jobs (state, next_attempt_at);
CREATE INDEX klantcontact_jobs_case ON klantcontact_jobs (case_id, id);
-- A message is registered once.
CREATE UNIQUE INDEX klantcontact_jobs_message ON klantcontact_jobs (message_id) WHERE kind = 'klantcontact';

-- The contact's partij in Open Klant: made once per contact, then reused.
ALTER TABLE contacts ADD COLUMN partij_url TEXT;
