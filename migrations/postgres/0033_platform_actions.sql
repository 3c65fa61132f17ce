-- Issue 15: what the desk asks a platform to do besides replying: hide a citizen's public comment
-- that shows a BSN (Facebook, Instagram), and later delete the desk's own public replies when a
-- contact is erased. A durable job per action, queued by the agent's request and sent by the
-- platform-action worker beside the outbox, with the job tables' life cycle (see jobs.rs).
CREATE TABLE platform_actions (
    id                  UUID PRIMARY KEY,
    -- No foreign keys: an erase removes the case while its platform deletions still wait.
    case_id             UUID NOT NULL,
    message_id          UUID,
    channel_account_id  UUID NOT NULL,
    kind                TEXT NOT NULL CHECK (kind IN ('hide','delete')),
    -- The comment or post on the platform (a path segment of the request).
    platform_id         TEXT NOT NULL,
    state               TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending','done','failed')),
    attempts            BIGINT NOT NULL DEFAULT 0,
    next_attempt_at     BIGINT NOT NULL,
    lease_until         BIGINT,
    last_error          TEXT,
    requested_by        TEXT NOT NULL,
    created_at          BIGINT NOT NULL,
    updated_at          BIGINT NOT NULL
);
CREATE INDEX platform_actions_due ON platform_actions (state, next_attempt_at);
CREATE INDEX platform_actions_case ON platform_actions (case_id, id);
-- One pending or done action of a kind per platform object: asking twice queues nothing new.
CREATE UNIQUE INDEX platform_actions_once ON platform_actions (channel_account_id, platform_id, kind) WHERE state <> 'failed';
