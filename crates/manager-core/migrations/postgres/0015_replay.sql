-- PiCloud schema step 15 (PostgreSQL): replay. Each app says which of its
-- requests are kept with their execution records ('off', 'failed', 'all')
-- and which headers, besides the built-in ones, are taken out of them (a
-- JSON array of lower-case names). A record keeps its request (NULL when
-- not kept), and a replay names the execution it replayed and whether it
-- was a dry run. Records are found by id alone for replay. The same step
-- exists in ../sqlite/0015_replay.sql.
ALTER TABLE apps ADD COLUMN record_requests TEXT NOT NULL DEFAULT 'off'
    CHECK (record_requests IN ('off', 'failed', 'all'));
ALTER TABLE apps ADD COLUMN redact_headers JSONB NOT NULL DEFAULT '[]';
ALTER TABLE executions ADD COLUMN request JSONB;
ALTER TABLE executions ADD COLUMN replay_of UUID;
ALTER TABLE executions ADD COLUMN dry_run BOOLEAN NOT NULL DEFAULT false;
CREATE INDEX executions_id ON executions (id);
-- What each app keeps of its requests is part of what the data plane
-- caches with routing: announce it the same way (0008_cluster.sql).
CREATE TRIGGER apps_recording_changed AFTER UPDATE OF record_requests, redact_headers ON apps
    FOR EACH STATEMENT EXECUTE FUNCTION picloud_announce('routing');
