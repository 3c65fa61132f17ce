-- Replies: the canned answer used, an approved WhatsApp template (JSON: name, language,
-- parameters) for answers outside the 24-hour window, and out-of-hours auto-replies.
ALTER TABLE outbox_replies ADD COLUMN canned_answer_id BLOB;
ALTER TABLE outbox_replies ADD COLUMN whatsapp_template TEXT;
ALTER TABLE outbox_replies ADD COLUMN auto_reply BOOLEAN NOT NULL DEFAULT FALSE;
-- One out-of-hours auto-reply per case, whatever retries, duplicate deliveries or concurrent
-- ingest do: the database refuses a second one.
CREATE UNIQUE INDEX outbox_replies_one_auto_reply ON outbox_replies (case_id) WHERE auto_reply;
