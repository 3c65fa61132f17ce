-- Citizen satisfaction surveys (issue 16): at most one per case, scheduled with the resolve as an
-- outbox reply (sent by the outbox worker like any reply, at `next_attempt_at` = resolved + the
-- account's delay), and the citizen's score, read from the next message, stored here.
CREATE TABLE case_surveys (
    case_id             UUID PRIMARY KEY REFERENCES cases (id),
    reply_id            UUID NOT NULL REFERENCES outbox_replies (id),
    contact_id          UUID NOT NULL,
    channel_account_id  UUID NOT NULL,
    kind                TEXT NOT NULL CHECK (kind IN ('csat','nps')),
    answer_days         BIGINT NOT NULL,
    created_at          BIGINT NOT NULL,
    score               BIGINT,
    comment             TEXT,
    answered_at         BIGINT,
    answer_message_id   UUID
);
-- "At most once per contact per period" looks up the contact's latest survey.
CREATE INDEX case_surveys_contact ON case_surveys (contact_id, created_at);
