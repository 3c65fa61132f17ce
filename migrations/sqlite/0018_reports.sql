-- Reports select the cases that arrived in a period, in arrival order (keyset pages).
CREATE INDEX cases_arrival ON cases (first_message_at, id);
