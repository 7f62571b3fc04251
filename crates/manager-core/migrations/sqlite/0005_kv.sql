-- PiCloud schema step 5 (SQLite): the scripts' KV store and instance
-- settings. The same step exists for PostgreSQL in ../postgres/0005_kv.sql.

-- One row per key. Keys order by their UTF-8 bytes (BINARY collation), as
-- on PostgreSQL (COLLATE "C"). value is JSON text.
CREATE TABLE kv (
    app_id     BLOB NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
    collection TEXT NOT NULL,
    key        TEXT NOT NULL,
    value      TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (app_id, collection, key)
);

-- Values the instance makes once and keeps (e.g. the key that signs KV
-- list cursors). Never shown through the API.
CREATE TABLE settings (
    name  TEXT PRIMARY KEY NOT NULL,
    value TEXT NOT NULL
);
