-- PiCloud schema step 2 (PostgreSQL): user routes and domain claims. The same
-- step exists for PostgreSQL in ../sqlite/0002_routes_domains.sql.

-- A route binds a path pattern (and optionally methods) to a script, within
-- the script's app. path is the normalised pattern text; methods a JSON
-- array of upper-case methods, NULL for any method. Conflicts (same shape,
-- overlapping methods) are checked by the manager, which is the only writer.
CREATE TABLE routes (
    id         UUID PRIMARY KEY,
    app_id     UUID NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
    script_id  UUID NOT NULL REFERENCES scripts (id) ON DELETE CASCADE,
    path       TEXT NOT NULL,
    methods    TEXT,
    created_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX routes_app ON routes (app_id);
CREATE INDEX routes_script ON routes (script_id);

-- A domain pattern an app claims (api.example.com, {tenant}.example.com),
-- lower-case; one app per pattern.
CREATE TABLE domains (
    id         UUID PRIMARY KEY,
    app_id     UUID NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
    pattern    TEXT NOT NULL UNIQUE,
    created_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX domains_app ON domains (app_id);
