-- Retention (issue 15): the terms per case kind (and theme), versioned like the routing rules
-- (each change stores the whole set as the next version; the primary key makes two concurrent
-- changes conflict); a legal hold on a case or a contact; when a case was anonymised.
CREATE TABLE retention_term_sets (
    version         BIGINT PRIMARY KEY,
    effective_from  BIGINT NOT NULL,
    terms           JSONB NOT NULL,
    created_by      TEXT NOT NULL,
    created_at      BIGINT NOT NULL
);

ALTER TABLE cases ADD COLUMN anonymised_at BIGINT;
ALTER TABLE cases ADD COLUMN legal_hold_at BIGINT;
ALTER TABLE cases ADD COLUMN legal_hold_reason TEXT;
ALTER TABLE contacts ADD COLUMN legal_hold_at BIGINT;
ALTER TABLE contacts ADD COLUMN legal_hold_reason TEXT;

-- The retention run reads the finished cases not yet anonymised by closing time; anonymised
-- cases leave the index, so it stays as small as what is still to come.
CREATE INDEX cases_retention ON cases (kind, (COALESCE(closed_at, resolved_at)), id)
    WHERE anonymised_at IS NULL AND status IN ('resolved', 'closed');
-- Anonymising (and erasing) a case blanks its live events' payloads: found by case, not by a
-- scan of the whole log.
CREATE INDEX events_case ON events (case_id) WHERE case_id IS NOT NULL;
-- Raw deliveries past their short term are found by age.
CREATE INDEX webhook_journal_received ON webhook_journal (received_at) WHERE octet_length(body) > 0;

-- The privacy officer (issue 15): reads the access log, exports, previews retention and sets
-- legal holds; no agent work.
ALTER TABLE api_tokens DROP CONSTRAINT api_tokens_role_check;
ALTER TABLE api_tokens ADD CONSTRAINT api_tokens_role_check
    CHECK (role IN ('admin','teamlead','agent','department','integration','privacy_officer'));
ALTER TABLE users DROP CONSTRAINT users_role_check;
ALTER TABLE users ADD CONSTRAINT users_role_check
    CHECK (role IN ('agent','teamlead','department','admin','privacy_officer'));
