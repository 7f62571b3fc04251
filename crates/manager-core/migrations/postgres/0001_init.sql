-- PiCloud schema step 1 (PostgreSQL 15+). The same step exists for SQLite in
-- ../sqlite/0001_init.sql; the two must stay equivalent.
-- Every app-owned table has app_id ... ON DELETE CASCADE.

CREATE TABLE apps (
    id          UUID PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    description TEXT NOT NULL DEFAULT '',
    created_at  TIMESTAMPTZ NOT NULL
);

-- The default app serves every host that no other app claims.
INSERT INTO apps (id, name, description, created_at)
VALUES ('00000000-0000-4000-8000-000000000000', 'default',
        'Serves every host that no other app claims', now());

-- Users of the admin API. role: 'admin' (instance admin) or 'member'
-- (rights come from per-app memberships, added in a later step).
CREATE TABLE users (
    id            UUID PRIMARY KEY,
    username      TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    role          TEXT NOT NULL CHECK (role IN ('admin', 'member')),
    created_at    TIMESTAMPTZ NOT NULL
);

-- Login sessions. Only the SHA-256 of the token is stored.
CREATE TABLE sessions (
    id           UUID PRIMARY KEY,
    user_id      UUID NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    token_hash   BYTEA NOT NULL UNIQUE,
    created_at   TIMESTAMPTZ NOT NULL,
    last_used_at TIMESTAMPTZ NOT NULL,
    expires_at   TIMESTAMPTZ NOT NULL
);
CREATE INDEX sessions_user ON sessions (user_id);

CREATE TABLE scripts (
    id          UUID PRIMARY KEY,
    app_id      UUID NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
    name        TEXT NOT NULL,
    source      TEXT NOT NULL,
    version     BIGINT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    sandbox     JSONB NOT NULL DEFAULT '{}',
    created_at  TIMESTAMPTZ NOT NULL,
    updated_at  TIMESTAMPTZ NOT NULL,
    UNIQUE (app_id, name)
);

-- One row per execution; ids are UUIDv7, so id order is time order.
-- Keyed by (script_id, id): writing, trimming to the retention bound and
-- listing are range operations on one index.
CREATE TABLE executions (
    id              UUID NOT NULL,
    app_id          UUID NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
    script_id       UUID NOT NULL REFERENCES scripts (id) ON DELETE CASCADE,
    request_id      UUID NOT NULL,
    invocation_type TEXT NOT NULL,
    status          TEXT NOT NULL,
    status_code     INTEGER,
    started_at      TIMESTAMPTZ NOT NULL,
    duration_ms     DOUBLE PRECISION NOT NULL,
    error           TEXT,
    logs            JSONB NOT NULL DEFAULT '[]',
    PRIMARY KEY (script_id, id)
);
CREATE INDEX executions_app ON executions (app_id);
