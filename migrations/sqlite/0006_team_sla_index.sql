-- The team lead's view "breaches in my team" filters on team and SLA status and pages by id.
CREATE INDEX cases_team_sla ON cases (team, sla_status, id);
