-- PiCloud schema step 3 (SQLite): API tokens. The same step exists for
-- PostgreSQL in ../postgres/0003_api_tokens.sql.

-- A long-lived token for the CLI and CI, acting as its creator with the
-- creator's current rights. Only the SHA-256 of the token is stored.
-- expires_at NULL: it does not expire.
CREATE TABLE api_tokens (
    id           BLOB PRIMARY KEY NOT NULL,
    user_id      BLOB NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name         TEXT NOT NULL,
    token_hash   BLOB NOT NULL UNIQUE,
    created_at   TEXT NOT NULL,
    last_used_at TEXT,
    expires_at   TEXT
);
CREATE INDEX api_tokens_user ON api_tokens (user_id);
