-- The case tells the truth (issue 19): why each clock run stopped, a `cancelled` state for a run
-- stopped by something other than what it measures (resolved without a reply, "geen reactie
-- nodig", merged, a new forward), whether a department answered within its agreed time on its
-- department clock, and what became of a department answer (sent or set aside).
ALTER TABLE sla_clocks DROP CONSTRAINT sla_clocks_state_check;
ALTER TABLE sla_clocks ADD CONSTRAINT sla_clocks_state_check
    CHECK (state IN ('running','paused','met','missed','cancelled'));
ALTER TABLE sla_clocks ADD COLUMN stop_reason TEXT CHECK (stop_reason IN ('reply','holding_answer',
    'department_answer','resolved','resolved_without_reply','no_reply_needed','merged','reforwarded'));
ALTER TABLE sla_clocks ADD COLUMN stop_note TEXT;

-- Set from the department clock when the department answers: the report reads it.
ALTER TABLE case_forwards ADD COLUMN answered_in_time BOOLEAN;
-- What the agent did with the department's answer: sent (in a reply) or set aside (resolved
-- without sending it); NULL while it is pending or when there is none.
ALTER TABLE case_forwards ADD COLUMN answer_outcome TEXT CHECK (answer_outcome IN ('sent','set_aside'));
ALTER TABLE case_forwards ADD COLUMN answer_settled_at BIGINT;
