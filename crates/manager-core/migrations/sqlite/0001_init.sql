-- PiCloud schema step 1 (SQLite). The same step exists for PostgreSQL in
-- ../postgres/0001_init.sql; the two must stay equivalent.
-- Ids are UUIDs (16-byte BLOBs here), timestamps RFC 3339 text in UTC,
-- JSON as text. Every app-owned table has app_id ... ON DELETE CASCADE.

CREATE TABLE apps (
    id          BLOB PRIMARY KEY NOT NULL,
    name        TEXT NOT NULL UNIQUE,
    description TEXT NOT NULL DEFAULT '',
    created_at  TEXT NOT NULL
);

-- The default app serves every host that no other app claims.
INSERT INTO apps (id, name, description, created_at)
VALUES (X'00000000000040008000000000000000', 'default',
        'Serves every host that no other app claims',
        strftime('%Y-%m-%dT%H:%M:%fZ', 'now'));

-- Users of the admin API. role: 'admin' (instance admin) or 'member'
-- (rights come from per-app memberships, added in a later step).
CREATE TABLE users (
    id            BLOB PRIMARY KEY NOT NULL,
    username      TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    role          TEXT NOT NULL CHECK (role IN ('admin', 'member')),
    created_at    TEXT NOT NULL
);

-- Login sessions. Only the SHA-256 of the token is stored.
CREATE TABLE sessions (
    id           BLOB PRIMARY KEY NOT NULL,
    user_id      BLOB NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    token_hash   BLOB NOT NULL UNIQUE,
    created_at   TEXT NOT NULL,
    last_used_at TEXT NOT NULL,
    expires_at   TEXT NOT NULL
);
CREATE INDEX sessions_user ON sessions (user_id);

CREATE TABLE scripts (
    id          BLOB PRIMARY KEY NOT NULL,
    app_id      BLOB NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
    name        TEXT NOT NULL,
    source      TEXT NOT NULL,
    version     INTEGER NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    sandbox     TEXT NOT NULL DEFAULT '{}',
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL,
    UNIQUE (app_id, name)
);

-- One row per execution; ids are UUIDv7, so id order is time order.
-- Clustered by (script_id, id): records of a script sit together, newest
-- last, so writing, trimming to the retention bound and listing are all
-- range operations on one B-tree.
CREATE TABLE executions (
    id              BLOB NOT NULL,
    app_id          BLOB NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
    script_id       BLOB NOT NULL REFERENCES scripts (id) ON DELETE CASCADE,
    request_id      BLOB NOT NULL,
    invocation_type TEXT NOT NULL,
    status          TEXT NOT NULL,
    status_code     INTEGER,
    started_at      TEXT NOT NULL,
    duration_ms     REAL NOT NULL,
    error           TEXT,
    logs            TEXT NOT NULL DEFAULT '[]',
    PRIMARY KEY (script_id, id)
) WITHOUT ROWID;
CREATE INDEX executions_app ON executions (app_id);
