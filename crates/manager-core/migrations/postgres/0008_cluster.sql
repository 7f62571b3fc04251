-- PiCloud schema step 8 (PostgreSQL): cluster mode. The same step exists for
-- SQLite in ../sqlite/0008_cluster.sql (the table only).

-- Failed sign-ins, shared by every process on the database, so a guesser
-- gets no more tries by spreading them over nodes. Times are milliseconds
-- since the epoch.
CREATE TABLE login_failures (
    username      TEXT NOT NULL,
    addr          TEXT NOT NULL,
    failures      INTEGER NOT NULL,
    last_failure  BIGINT NOT NULL,
    blocked_until BIGINT,
    PRIMARY KEY (username, addr)
);
CREATE INDEX login_failures_last ON login_failures (last_failure);

-- Every change to what a process caches is announced on the channel
-- picloud_changes by the database itself, in the writing transaction (so
-- it is delivered when, and only when, the change commits, whichever code
-- path or process made it). Payloads (see manager-core's bus.rs):
--   'script <id> <version>'  a script was updated (its new version)
--   'script <id> deleted'    a script was deleted (also by its app's deletion)
--   'routing'                routes or domain claims changed
--   'triggers'               triggers changed (cron schedules to look at again)
CREATE FUNCTION picloud_script_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        PERFORM pg_notify('picloud_changes', 'script ' || OLD.id::text || ' deleted');
    ELSE
        PERFORM pg_notify('picloud_changes', 'script ' || NEW.id::text || ' ' || NEW.version::text);
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER scripts_changed AFTER UPDATE OR DELETE ON scripts
    FOR EACH ROW EXECUTE FUNCTION picloud_script_changed();

CREATE FUNCTION picloud_announce() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('picloud_changes', TG_ARGV[0]);
    RETURN NULL;
END
$$;
CREATE TRIGGER routes_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON routes
    FOR EACH STATEMENT EXECUTE FUNCTION picloud_announce('routing');
CREATE TRIGGER domains_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON domains
    FOR EACH STATEMENT EXECUTE FUNCTION picloud_announce('routing');
CREATE TRIGGER triggers_changed AFTER INSERT OR UPDATE OF schedule, kind OR DELETE OR TRUNCATE ON triggers
    FOR EACH STATEMENT EXECUTE FUNCTION picloud_announce('triggers');
