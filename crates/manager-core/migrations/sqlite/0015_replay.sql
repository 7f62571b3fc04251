-- PiCloud schema step 15 (SQLite): replay. Each app says which of its
-- requests are kept with their execution records ('off', 'failed', 'all')
-- and which headers, besides the built-in ones, are taken out of them (a
-- JSON array of lower-case names). A record keeps its request (JSON, NULL
-- when not kept), and a replay names the execution it replayed and whether
-- it was a dry run. Records are found by id alone for replay. The same step
-- exists in ../postgres/0015_replay.sql.
ALTER TABLE apps ADD COLUMN record_requests TEXT NOT NULL DEFAULT 'off';
ALTER TABLE apps ADD COLUMN redact_headers TEXT NOT NULL DEFAULT '[]';
ALTER TABLE executions ADD COLUMN request TEXT;
ALTER TABLE executions ADD COLUMN replay_of BLOB;
ALTER TABLE executions ADD COLUMN dry_run INTEGER NOT NULL DEFAULT 0;
CREATE INDEX executions_id ON executions (id);
