-- PiCloud schema step 7 (SQLite): per-script counters for the dashboard's
-- scripts list, kept by the execution-record writer in the same transaction
-- as the records (so they count every execution, not only the retained
-- ones). The same step exists for PostgreSQL in ../postgres/0007_script_stats.sql.
-- last_run_at is milliseconds since the epoch.
CREATE TABLE script_stats (
    script_id   BLOB PRIMARY KEY NOT NULL REFERENCES scripts (id) ON DELETE CASCADE,
    app_id      BLOB NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
    invocations INTEGER NOT NULL DEFAULT 0,
    errors      INTEGER NOT NULL DEFAULT 0,
    last_status TEXT,
    last_run_at INTEGER
);
CREATE INDEX script_stats_app ON script_stats (app_id);
