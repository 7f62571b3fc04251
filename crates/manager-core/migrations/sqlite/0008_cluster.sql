-- PiCloud schema step 8 (SQLite): failed sign-ins, kept in the database so
-- that every process sharing it refuses the same guesses (and a restart
-- does not forgive them). The same step exists for PostgreSQL in
-- ../postgres/0008_cluster.sql, which also announces changes to what nodes
-- cache (one process owns an SQLite file, so SQLite needs no announcing).
-- Times are milliseconds since the epoch.
CREATE TABLE login_failures (
    username      TEXT NOT NULL,
    addr          TEXT NOT NULL,
    failures      INTEGER NOT NULL,
    last_failure  INTEGER NOT NULL,
    blocked_until INTEGER,
    PRIMARY KEY (username, addr)
);
CREATE INDEX login_failures_last ON login_failures (last_failure);
