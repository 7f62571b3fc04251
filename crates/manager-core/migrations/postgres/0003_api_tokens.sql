-- PiCloud schema step 3 (PostgreSQL): API tokens. The same step exists for
-- SQLite in ../sqlite/0003_api_tokens.sql.

-- A long-lived token for the CLI and CI, acting as its creator with the
-- creator's current rights. Only the SHA-256 of the token is stored.
-- expires_at NULL: it does not expire.
CREATE TABLE api_tokens (
    id           UUID PRIMARY KEY,
    user_id      UUID NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name         TEXT NOT NULL,
    token_hash   BYTEA NOT NULL UNIQUE,
    created_at   TIMESTAMPTZ NOT NULL,
    last_used_at TIMESTAMPTZ,
    expires_at   TIMESTAMPTZ
);
CREATE INDEX api_tokens_user ON api_tokens (user_id);
