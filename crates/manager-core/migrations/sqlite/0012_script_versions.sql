-- PiCloud schema step 12 (SQLite): every saved version of a script, up to
-- the bound PICLOUD_SCRIPT_HISTORY per script (the live one is always
-- kept). created_by is the username of who saved it (NULL for versions
-- saved before this step); message is theirs, '' when none. The same step
-- exists in ../postgres/0012_script_versions.sql.
--
-- Deliberately no foreign key to scripts: a version outlives its script
-- while a release of the app still names it (a rollback brings the script
-- back); deleting a script deletes the versions nothing names.
CREATE TABLE script_versions (
    script_id   BLOB NOT NULL,
    app_id      BLOB NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
    version     INTEGER NOT NULL,
    name        TEXT NOT NULL,
    source      TEXT NOT NULL,
    description TEXT NOT NULL,
    sandbox     TEXT NOT NULL,
    message     TEXT NOT NULL DEFAULT '',
    created_by  TEXT,
    created_at  TEXT NOT NULL,
    PRIMARY KEY (script_id, version)
) WITHOUT ROWID;
CREATE INDEX script_versions_app ON script_versions (app_id);

-- The live version of every script there is.
INSERT INTO script_versions
    (script_id, app_id, version, name, source, description, sandbox, created_at)
SELECT id, app_id, version, name, source, description, sandbox, updated_at FROM scripts;
