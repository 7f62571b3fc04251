-- PiCloud schema step 6 (SQLite): triggers, the event outbox, dead letters,
-- and the event of trigger executions. The same step exists for PostgreSQL
-- in ../postgres/0006_events.sql. Times the dispatcher compares (due_at,
-- lease_until) are milliseconds since the epoch on both backends.

-- A KV trigger (collection, on_set/on_delete, max_attempts, an optional
-- dead-letter handler) or a cron trigger (schedule, and next_due: the next
-- tick, ms since the epoch). It goes with its app and its handler script; a
-- deleted dead-letter handler is just unset.
-- delivered/retried/dead_lettered count what the dispatcher did.
CREATE TABLE triggers (
    id                    BLOB PRIMARY KEY NOT NULL,
    app_id                BLOB NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
    kind                  TEXT NOT NULL CHECK (kind IN ('kv', 'cron')),
    script_id             BLOB NOT NULL REFERENCES scripts (id) ON DELETE CASCADE,
    collection            TEXT,
    on_set                INTEGER NOT NULL DEFAULT 0,
    on_delete             INTEGER NOT NULL DEFAULT 0,
    max_attempts          INTEGER NOT NULL DEFAULT 3,
    dead_letter_script_id BLOB REFERENCES scripts (id) ON DELETE SET NULL,
    schedule              TEXT,
    next_due              INTEGER,
    created_at            TEXT NOT NULL,
    delivered             INTEGER NOT NULL DEFAULT 0,
    retried               INTEGER NOT NULL DEFAULT 0,
    dead_lettered         INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX triggers_collection ON triggers (app_id, collection);
CREATE INDEX triggers_script ON triggers (script_id);
CREATE INDEX triggers_dead_letter_script ON triggers (dead_letter_script_id);

-- The outbox: one row per event still to deliver, written in the same
-- transaction as the KV write that fired it. seq orders the events of one
-- key (trigger_id, collection, key). event is ctx.event (JSON).
CREATE TABLE events (
    seq          INTEGER PRIMARY KEY AUTOINCREMENT,
    app_id       BLOB NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
    trigger_id   BLOB NOT NULL REFERENCES triggers (id) ON DELETE CASCADE,
    kind         TEXT NOT NULL CHECK (kind IN ('kv', 'dead_letter', 'cron')),
    script_id    BLOB NOT NULL REFERENCES scripts (id) ON DELETE CASCADE,
    collection   TEXT NOT NULL,
    key          TEXT NOT NULL,
    event        TEXT NOT NULL,
    depth        INTEGER NOT NULL,
    attempts     INTEGER NOT NULL DEFAULT 0,
    max_attempts INTEGER NOT NULL,
    due_at       INTEGER NOT NULL,
    lease_until  INTEGER,
    last_error   TEXT
);
CREATE INDEX events_key ON events (trigger_id, collection, key, seq);
CREATE INDEX events_due ON events (due_at);
CREATE INDEX events_app ON events (app_id);
CREATE INDEX events_script ON events (script_id);

-- Events that failed every attempt (or were cut off), for a look, a retry
-- or deletion. event is the original ctx.event.
CREATE TABLE dead_letters (
    id         BLOB PRIMARY KEY NOT NULL,
    app_id     BLOB NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
    trigger_id BLOB NOT NULL REFERENCES triggers (id) ON DELETE CASCADE,
    collection TEXT NOT NULL,
    key        TEXT NOT NULL,
    event      TEXT NOT NULL,
    depth      INTEGER NOT NULL,
    error      TEXT NOT NULL,
    attempts   INTEGER NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX dead_letters_app ON dead_letters (app_id, id);
CREATE INDEX dead_letters_trigger ON dead_letters (trigger_id);

-- ctx.event of a trigger execution (NULL for other executions).
ALTER TABLE executions ADD COLUMN event TEXT;
