-- PiCloud schema step 9 (SQLite): secrets per app. The same step
-- exists in ../postgres/0009_secrets.sql. `value` is sealed with the
-- instance's key (ChaCha20-Poly1305, with the app and the name as
-- associated data: crates/manager-core/src/secrets.rs); it is never stored
-- in the clear. `updated_by` is the username of who set it last.
CREATE TABLE secrets (
    app_id     BLOB NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
    name       TEXT NOT NULL,
    value      BLOB NOT NULL,
    updated_at TEXT NOT NULL,
    updated_by TEXT NOT NULL,
    PRIMARY KEY (app_id, name)
);
