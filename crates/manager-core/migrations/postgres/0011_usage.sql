-- PiCloud schema step 11 (PostgreSQL): what an execution used: the version
-- of the script that ran, the Rhai operations it spent and its thread's CPU
-- time in milliseconds (the scripts it invoked included). NULL in records
-- written before this step. The same step exists in ../sqlite/0011_usage.sql.
ALTER TABLE executions ADD COLUMN script_version BIGINT;
ALTER TABLE executions ADD COLUMN operations BIGINT;
ALTER TABLE executions ADD COLUMN cpu_ms DOUBLE PRECISION;
