-- A token belongs to a user (issue 12): its caller is that user, with the user's id, role and
-- teams. Tokens without a user (the bootstrap admin, integrations) keep working as before.
-- `last_used_at` is written at most about once a minute per token, not on every request.
ALTER TABLE api_tokens ADD COLUMN user_id BLOB REFERENCES users (id);
ALTER TABLE api_tokens ADD COLUMN last_used_at INTEGER;
-- Listing a user's live tokens, and all live tokens for the admin, in id order.
CREATE INDEX api_tokens_live_by_user ON api_tokens (user_id, id) WHERE revoked_at IS NULL;
CREATE INDEX api_tokens_live ON api_tokens (id) WHERE revoked_at IS NULL;
