-- Two replies may carry the same platform message id: a platform's "already exists" answer, an
-- in-doubt lookup that finds the earlier post, or a receiver that acknowledges every callback
-- with the same id. The unique index turned recording such a send into an error, the reply stayed
-- in doubt, and the outbox sent it again and again (issue 12: one reply sent 161 times). Recording
-- must never fail on it, so the index that finds a reply by its platform id is no longer unique.
DROP INDEX outbox_replies_platform;
CREATE INDEX outbox_replies_platform ON outbox_replies (channel_account_id, platform_message_id)
    WHERE platform_message_id IS NOT NULL;
