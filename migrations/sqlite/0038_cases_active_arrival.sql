-- The board's "oldest unanswered message" walks the new and open cases in arrival order and stops
-- early (`oldest_unanswered` in webcare-store's agent.rs); this index gives it that order without
-- reading every active case. Partial: only the cases waiting for the desk are in it.
CREATE INDEX cases_active_arrival ON cases (first_message_at, id)
    WHERE status IN ('new', 'open');
