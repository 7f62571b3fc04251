-- PiCloud schema step 10 (PostgreSQL): the outbound HTTP calls an
-- execution made (method, host, status, outcome, duration; never bodies or
-- headers), as a JSON array; NULL when it made none. The same step exists
-- in ../sqlite/0010_outbound.sql.
ALTER TABLE executions ADD COLUMN outbound JSONB;
