-- PiCloud schema step 13 (PostgreSQL): what each script's executions cost
-- over time, per minute, kept for a day (see
-- crates/manager-core/src/usage.rs). metric: 'n' executions and 'e' errors
-- (bucket 0), 'd' durations in microseconds and 'o' Rhai operations, as
-- histograms: bucket 0 below 1, then bucket b from 2^((b-1)/4). minute:
-- minutes since the Unix epoch. Written by the execution-record writer with
-- the records. The same step exists in ../sqlite/0013_script_buckets.sql.
CREATE TABLE script_buckets (
    script_id UUID NOT NULL REFERENCES scripts (id) ON DELETE CASCADE,
    app_id    UUID NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
    minute    BIGINT NOT NULL,
    metric    TEXT NOT NULL,
    bucket    BIGINT NOT NULL,
    count     BIGINT NOT NULL,
    PRIMARY KEY (script_id, minute, metric, bucket)
);
CREATE INDEX script_buckets_app ON script_buckets (app_id, minute);
