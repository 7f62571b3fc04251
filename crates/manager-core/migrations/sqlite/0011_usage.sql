-- PiCloud schema step 11 (SQLite): what an execution used: the version of
-- the script that ran, the Rhai operations it spent and its thread's CPU
-- time in milliseconds (the scripts it invoked included). NULL in records
-- written before this step. The same step exists in ../postgres/0011_usage.sql.
ALTER TABLE executions ADD COLUMN script_version INTEGER;
ALTER TABLE executions ADD COLUMN operations INTEGER;
ALTER TABLE executions ADD COLUMN cpu_ms REAL;
