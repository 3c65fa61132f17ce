-- An admin can switch a channel account off without deleting it (issue 13): a disabled account
-- is not polled and nothing is sent through it; deliveries its platform pushes are still
-- journaled and become cases, so no citizen's message is lost (docs/ARCHITECTURE.md).
ALTER TABLE channel_accounts ADD COLUMN enabled BOOLEAN NOT NULL DEFAULT TRUE;
