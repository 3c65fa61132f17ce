-- A survey that never reached the citizen is kept on the case with what became of it (issue 16):
-- withdrawn (the case reopened before it went out) or skipped (it could not be sent, e.g. a
-- closed WhatsApp window and no approved template). Its outbox reply is removed then, so
-- `reply_id` may be empty; the next resolve may schedule a survey again in its place.
ALTER TABLE case_surveys ALTER COLUMN reply_id DROP NOT NULL;
ALTER TABLE case_surveys ADD COLUMN withdrawn_at BIGINT;
ALTER TABLE case_surveys ADD COLUMN skipped_at BIGINT;
ALTER TABLE case_surveys ADD COLUMN skip_reason TEXT;
