-- PiCloud schema step 7 (PostgreSQL): per-script counters for the
-- dashboard's scripts list, kept by the execution-record writer in the same
-- transaction as the records (so they count every execution, not only the
-- retained ones). The same step exists for SQLite in ../sqlite/0007_script_stats.sql.
-- last_run_at is milliseconds since the epoch.
CREATE TABLE script_stats (
    script_id   UUID PRIMARY KEY REFERENCES scripts (id) ON DELETE CASCADE,
    app_id      UUID NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
    invocations BIGINT NOT NULL DEFAULT 0,
    errors      BIGINT NOT NULL DEFAULT 0,
    last_status TEXT,
    last_run_at BIGINT
);
CREATE INDEX script_stats_app ON script_stats (app_id);
