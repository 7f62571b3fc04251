//! The outbox, written with KV writes: a KV write and the events it fires
//! go in one transaction.

use picloud_shared::AppId;
use sqlx::PgPool;
use time::OffsetDateTime;

use crate::repo;

use super::*;

/// SQLite's outbox statement, bound by position (`?N`: rusqlite binds by
/// index, and SQLite numbers `$N` parameters in order of appearance).
const FIRE_SQLITE: &str = "INSERT INTO events (app_id, trigger_id, kind, script_id, collection, \
     key, event, depth, max_attempts, due_at) \
     SELECT t.app_id, t.id, 'kv', t.script_id, ?2, ?3, \
     json_object('kind', 'kv', 'op', ?4, 'collection', ?2, 'key', ?3, 'value', json(?5), 'at', ?6), \
     ?7, t.max_attempts, ?8 FROM triggers t \
     WHERE t.app_id = ?1 AND t.kind = 'kv' AND t.collection = ?2 \
     AND (CASE ?4 WHEN 'set' THEN t.on_set ELSE t.on_delete END)";

/// PostgreSQL: a KV delete and the events it fires, in one statement: $1
/// app, $2 collection, $3 key, $4 the time (text), $5 the events' depth,
/// $6 their due time (ms). Answers whether the key was there, and the
/// events fired.
const DELETE_AND_FIRE_POSTGRES: &str = "WITH gone AS (\
     DELETE FROM kv WHERE app_id = $1 AND collection = $2 AND key = $3 RETURNING 1), \
     fired AS (INSERT INTO events (app_id, trigger_id, kind, script_id, collection, \
     key, event, depth, max_attempts, due_at) \
     SELECT t.app_id, t.id, 'kv', t.script_id, $2, $3, \
     jsonb_build_object('kind', 'kv', 'op', 'delete', 'collection', $2::text, 'key', $3::text, \
     'value', NULL::jsonb, 'at', $4::text), \
     $5, t.max_attempts, $6 FROM triggers t \
     WHERE t.app_id = $1 AND t.kind = 'kv' AND t.collection = $2 AND t.on_delete \
     AND EXISTS (SELECT 1 FROM gone) RETURNING 1) \
     SELECT (SELECT count(*) FROM gone) > 0, (SELECT count(*) FROM fired)";

/// A KV write to fire events for, inside its own transaction.
pub(crate) struct KvWrite<'a> {
    pub app: AppId,
    pub collection: &'a str,
    pub key: &'a str,
    /// The new value's JSON, or `None` for a delete.
    pub value: Option<&'a str>,
    pub at: OffsetDateTime,
    /// The writer's trigger depth; its events are one deeper.
    pub depth: u32,
}

impl KvWrite<'_> {
    fn op(&self) -> &'static str {
        picloud_shared::KvEvent::of_write(self.value.is_some()).as_str()
    }
}

/// Writes the events `w` fires, in the caller's SQLite transaction (the
/// KV store's writer connection); returns how many.
pub(crate) fn fire_kv_sqlite(
    conn: &rusqlite::Connection,
    w: &KvWrite<'_>,
) -> rusqlite::Result<usize> {
    conn.prepare_cached(FIRE_SQLITE)?.execute((
        w.app.0.as_bytes().as_slice(),
        w.collection,
        w.key,
        w.op(),
        w.value,
        repo::rfc3339(w.at),
        i32::try_from(w.depth + 1).unwrap_or(i32::MAX),
        now_ms(),
    ))
}

/// The PostgreSQL channel that says events were added, for the dispatchers
/// of every process sharing the database.
pub const EVENTS_CHANNEL: &str = "picloud_events";

/// Tells every process's dispatcher that events were added, when the
/// caller's transaction commits (at once on a pool).
pub(crate) async fn notify_postgres<'c>(conn: impl sqlx::PgExecutor<'c>) -> sqlx::Result<()> {
    sqlx::query("SELECT pg_notify($1, '')")
        .bind(EVENTS_CHANNEL)
        .execute(conn)
        .await
        .map(drop)
}

/// PostgreSQL: KV sets and the events they fire, in one statement (one
/// round trip, one commit): $1 apps, $2 collections, $3 keys, $4 values (JSON text),
/// $5 times, $6 the times as text, $7 the events' depths (arrays, one
/// element per write, no key twice), $8 the events' due time (ms). The rows
/// are written, and their events queued, in the arrays' order.
const SET_AND_FIRE_POSTGRES: &str = "WITH input AS (\
     SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::timestamptz[], \
     $6::text[], $7::integer[]) WITH ORDINALITY \
     AS i(app_id, collection, key, value, updated_at, at_text, depth, ord)), \
     written AS (\
     INSERT INTO kv (app_id, collection, key, value, updated_at) \
     SELECT app_id, collection, key, value::jsonb, updated_at FROM input ORDER BY ord \
     ON CONFLICT (app_id, collection, key) \
     DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at RETURNING 1), \
     fired AS (INSERT INTO events (app_id, trigger_id, kind, script_id, collection, \
     key, event, depth, max_attempts, due_at) \
     SELECT t.app_id, t.id, 'kv', t.script_id, i.collection, i.key, \
     jsonb_build_object('kind', 'kv', 'op', 'set', 'collection', i.collection, 'key', i.key, \
     'value', i.value::jsonb, 'at', i.at_text), \
     i.depth, t.max_attempts, $8 FROM input i JOIN triggers t \
     ON t.app_id = i.app_id AND t.kind = 'kv' AND t.collection = i.collection COLLATE \"C\" \
     AND t.on_set \
     WHERE EXISTS (SELECT 1 FROM written) ORDER BY i.ord, t.id RETURNING 1) \
     SELECT count(*) FROM fired";

/// PostgreSQL: the sets `ws` (no key twice; one or a batch) and the events
/// they fire, in one statement, telling every process's dispatcher when
/// they fired any; returns how many. All or none are made.
pub(crate) async fn set_kv_postgres(pool: &PgPool, ws: &[KvWrite<'_>]) -> sqlx::Result<u64> {
    let depth = |w: &KvWrite<'_>| i32::try_from(w.depth + 1).unwrap_or(i32::MAX);
    let fired: i64 = sqlx::query_scalar(SET_AND_FIRE_POSTGRES)
        .bind(ws.iter().map(|w| w.app.0).collect::<Vec<_>>())
        .bind(ws.iter().map(|w| w.collection).collect::<Vec<_>>())
        .bind(ws.iter().map(|w| w.key).collect::<Vec<_>>())
        .bind(
            ws.iter()
                .map(|w| w.value.unwrap_or("null"))
                .collect::<Vec<_>>(),
        )
        .bind(ws.iter().map(|w| w.at).collect::<Vec<_>>())
        .bind(ws.iter().map(|w| repo::rfc3339(w.at)).collect::<Vec<_>>())
        .bind(ws.iter().map(depth).collect::<Vec<_>>())
        .bind(now_ms())
        .fetch_one(pool)
        .await?;
    notify_fired(pool, fired).await
}

/// PostgreSQL: deletes `w.key` and writes the events it fires, in one
/// statement, as [`set_kv_postgres`] does for sets; returns whether the key was there,
/// and how many events it fired.
pub(crate) async fn delete_kv_postgres(
    pool: &PgPool,
    w: &KvWrite<'_>,
) -> sqlx::Result<(bool, u64)> {
    let (removed, fired): (bool, i64) = sqlx::query_as(DELETE_AND_FIRE_POSTGRES)
        .bind(w.app.0)
        .bind(w.collection)
        .bind(w.key)
        .bind(repo::rfc3339(w.at))
        .bind(i32::try_from(w.depth + 1).unwrap_or(i32::MAX))
        .bind(now_ms())
        .fetch_one(pool)
        .await?;
    Ok((removed, notify_fired(pool, fired).await?))
}

/// After a commit that fired `fired` events, tells every process's
/// dispatcher (rarely: only writes that KV triggers watch fire any).
async fn notify_fired(pool: &PgPool, fired: i64) -> sqlx::Result<u64> {
    if fired > 0 {
        notify_postgres(pool).await?;
    }
    Ok(u64::try_from(fired).unwrap_or(0))
}
