-- PiCloud schema step 5 (PostgreSQL): the scripts' KV store and instance
-- settings. The same step exists for SQLite in ../sqlite/0005_kv.sql.

-- One row per key. COLLATE "C" orders keys by their UTF-8 bytes whatever
-- the database's locale, as SQLite's BINARY collation does.
CREATE TABLE kv (
    app_id     UUID NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
    collection TEXT COLLATE "C" NOT NULL,
    key        TEXT COLLATE "C" NOT NULL,
    value      JSONB NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (app_id, collection, key)
);

-- Values the instance makes once and keeps (e.g. the key that signs KV
-- list cursors). Never shown through the API.
CREATE TABLE settings (
    name  TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
