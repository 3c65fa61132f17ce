-- A survey that never reached the citizen is kept on the case with what became of it (issue 16):
-- withdrawn (the case reopened before it went out) or skipped (it could not be sent, e.g. a
-- closed WhatsApp window and no approved template). Its outbox reply is removed then, so
-- `reply_id` may be empty; the next resolve may schedule a survey again in its place.
--
-- SQLite cannot drop a NOT NULL in place: case_surveys is rebuilt (nothing refers to it).
CREATE TABLE case_surveys_new (
    case_id             BLOB PRIMARY KEY NOT NULL REFERENCES cases (id),
    reply_id            BLOB REFERENCES outbox_replies (id),
    contact_id          BLOB NOT NULL,
    channel_account_id  BLOB NOT NULL,
    kind                TEXT NOT NULL CHECK (kind IN ('csat','nps')),
    answer_days         INTEGER NOT NULL,
    created_at          INTEGER NOT NULL,
    score               INTEGER,
    comment             TEXT,
    answered_at         INTEGER,
    answer_message_id   BLOB,
    withdrawn_at        INTEGER,
    skipped_at          INTEGER,
    skip_reason         TEXT
);
INSERT INTO case_surveys_new (case_id, reply_id, contact_id, channel_account_id, kind, answer_days,
    created_at, score, comment, answered_at, answer_message_id)
SELECT case_id, reply_id, contact_id, channel_account_id, kind, answer_days, created_at, score,
    comment, answered_at, answer_message_id FROM case_surveys;
DROP TABLE case_surveys;
ALTER TABLE case_surveys_new RENAME TO case_surveys;
CREATE INDEX case_surveys_contact ON case_surveys (contact_id, created_at);
