-- PiCloud schema step 14 (PostgreSQL): releases, immutable snapshots of an
-- app (its scripts, each at a version; routes; domain claims; triggers),
-- the state a rollback restores. number counts an app's releases from 1;
-- kind is 'manual' (the admin API, the dashboard), 'deploy' (picloud
-- deploy) or 'rollback'; snapshot and changes are JSON (releases.rs). The
-- same step exists in ../sqlite/0014_releases.sql.
CREATE TABLE releases (
    id          UUID PRIMARY KEY,
    app_id      UUID NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
    number      BIGINT NOT NULL,
    kind        TEXT NOT NULL CHECK (kind IN ('manual', 'deploy', 'rollback')),
    message     TEXT NOT NULL DEFAULT '',
    created_by  TEXT NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL,
    rollback_of UUID,
    snapshot    JSONB NOT NULL,
    changes     JSONB NOT NULL,
    UNIQUE (app_id, number)
);

-- The script versions a release names: kept in the scripts' history past
-- its bound, and past their script's deletion, while the release is.
CREATE TABLE release_scripts (
    release_id UUID NOT NULL REFERENCES releases (id) ON DELETE CASCADE,
    script_id  UUID NOT NULL,
    version    BIGINT NOT NULL,
    PRIMARY KEY (release_id, script_id)
);
CREATE INDEX release_scripts_version ON release_scripts (script_id, version);
