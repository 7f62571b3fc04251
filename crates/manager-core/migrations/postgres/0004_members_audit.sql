-- PiCloud schema step 4 (PostgreSQL): per-app roles and the audit log. The
-- same step exists for SQLite in ../sqlite/0004_members_audit.sql.

-- A user's role in an app: 'owner', 'editor' or 'viewer'. Instance admins
-- need no row here. Deleting the app or the user deletes the membership.
CREATE TABLE memberships (
    app_id     UUID NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
    user_id    UUID NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role       TEXT NOT NULL CHECK (role IN ('owner', 'editor', 'viewer')),
    created_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (app_id, user_id)
);
CREATE INDEX memberships_user ON memberships (user_id);

-- Who changed what, and when. Ids are UUIDv7 (id order is time order).
-- app_id is the app the change was in (NULL for users and tokens); it is
-- deliberately not a foreign key: the record of an app's deletion outlives
-- the app. actor_name keeps the username for when the user is gone. detail
-- is a JSON object and never holds a secret.
CREATE TABLE audit_log (
    id         UUID PRIMARY KEY,
    at         TIMESTAMPTZ NOT NULL,
    actor_id   UUID,
    actor_name TEXT NOT NULL,
    app_id     UUID,
    action     TEXT NOT NULL,
    target_id  TEXT,
    detail     JSONB NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_log_app ON audit_log (app_id, id);

-- Expired sessions are purged by expiry at each sign-in.
CREATE INDEX sessions_expiry ON sessions (expires_at);
