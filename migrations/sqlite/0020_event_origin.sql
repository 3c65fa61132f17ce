-- Which node (process) appended an event, so each node's live relay hands the other nodes'
-- events to its own streams and not its own twice. NULL for events logged before.
ALTER TABLE events ADD COLUMN origin BLOB;
