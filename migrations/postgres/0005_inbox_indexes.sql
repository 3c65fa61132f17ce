-- Inbox pages sorted by due time (DESIGN 13: a page of 50, filtered, sorted by due time, p99 <= 10 ms
-- with 1,000,000 cases). 0001 has (status, id), (assignee, id) and (team, id), which serve the
-- newest/oldest orders; a due-time order over a filter needs the filter column, then due_at, then id
-- (the tie-breaker of the keyset cursor), or the database sorts every matching case per page.
-- "Unassigned" is `assignee IS NULL`, which PostgreSQL cannot use to order by the second column of
-- (assignee, due_sort, id): it gets a partial index of its own (the query must say `assignee IS NULL`).
-- Measured with webcare-bench inbox (BENCHMARKS.md).
CREATE INDEX cases_unassigned_due ON cases (due_sort, id) WHERE assignee IS NULL;
CREATE INDEX cases_assignee_due ON cases (assignee, due_sort, id);
CREATE INDEX cases_team_due ON cases (team, due_sort, id);
CREATE INDEX cases_status_due ON cases (status, due_sort, id);
