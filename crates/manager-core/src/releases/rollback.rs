//! Rolling an app back to a release: the sources it restores, and the one transaction that makes the app match it.

use std::collections::BTreeMap;

use picloud_shared::ScriptId;
use sqlx::types::Json;
use uuid::Uuid;

use super::store::{RELEASE_COLUMNS, ScriptRow, TriggerRow};
use super::{Release, ReleaseKind, ReleasedTrigger, RestoredSource, RolledBack, Snapshot, changes};
use crate::db::Db;
use crate::error::{Error, Result, is_unique_violation};
use crate::with_db;

/// What a rollback's transaction did: the app's new snapshot, the
/// scripts it saved again and those it deleted.
type Applied = (Snapshot, Vec<ScriptId>, Vec<ScriptId>);

#[derive(sqlx::FromRow)]
struct VersionRow {
    name: String,
    source: String,
    description: String,
    sandbox: Json<picloud_shared::SandboxOverrides>,
}

impl Db {
    /// The sources of the script versions `release` names that differ from
    /// the app's live ones (those a rollback to it would save again).
    pub(crate) async fn restored_sources(&self, release: &Release) -> Result<Vec<RestoredSource>> {
        let mut out = Vec::new();
        for s in &release.snapshot.scripts {
            let live: Option<i64> = with_db!(self, pool => sqlx::query_scalar(
                "SELECT version FROM scripts WHERE id = $1")
                .bind(s.id.0).fetch_optional(pool).await)?;
            if live == Some(s.version) {
                continue;
            }
            let row: Option<VersionRow> = with_db!(self, pool => sqlx::query_as(
                "SELECT name, source, description, sandbox FROM script_versions \
                 WHERE script_id = $1 AND version = $2")
                .bind(s.id.0).bind(s.version).fetch_optional(pool).await)?;
            let row = row.ok_or_else(|| {
                Error::Conflict(format!(
                    "version {} of script {} is no longer kept",
                    s.version, s.name
                ))
            })?;
            let version = match live {
                Some(live) => live + 1,
                None => {
                    let newest: Option<i64> = with_db!(self, pool => sqlx::query_scalar(
                        "SELECT max(version) FROM script_versions WHERE script_id = $1")
                        .bind(s.id.0).fetch_one(pool).await)?;
                    newest.unwrap_or(s.version) + 1
                }
            };
            out.push(RestoredSource {
                id: s.id,
                version,
                name: row.name,
                source: row.source,
                sandbox: row.sandbox.0,
            });
        }
        Ok(out)
    }

    /// Makes the app match `target` in one transaction: scripts it does
    /// not hold are deleted, those at another version get `target`'s again
    /// as a new version (deleted ones come back under their id), and the
    /// routes, domain claims and triggers become `target`'s (a trigger kept
    /// keeps its counters and queued events). The rollback is recorded as a
    /// new release, numbered after `previous`.
    pub(crate) async fn rollback_to(
        &self,
        target: &Release,
        by: &str,
        previous: &Release,
    ) -> Result<RolledBack> {
        const CURRENT: &str = "SELECT id, name, version FROM scripts WHERE app_id = $1";
        const VERSION: &str = "SELECT name, source, description, sandbox FROM script_versions \
             WHERE script_id = $1 AND version = $2";
        const NEWEST: &str = "SELECT max(version) FROM script_versions WHERE script_id = $1";
        const UPDATE: &str = "UPDATE scripts SET source = $2, description = $3, sandbox = $4, \
             version = $5, updated_at = $6 WHERE id = $1";
        const INSERT: &str = "INSERT INTO scripts (id, app_id, name, source, version, description, \
             sandbox, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8)";
        const TRIGGERS: &str = "SELECT id, kind, script_id, collection, on_set, on_delete, \
             max_attempts, dead_letter_script_id, schedule FROM triggers WHERE app_id = $1";
        let app = target.app_id;
        let now = crate::repo::now();
        let now_ms = i64::try_from(now.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX);
        let message = format!("rollback to release {}", target.number);
        let next_due = |t: &ReleasedTrigger| {
            t.schedule
                .as_deref()
                .and_then(|s| crate::cron::parse(s).ok())
                .and_then(|c| crate::cron::next_after(&c, now_ms))
        };
        let id = Uuid::now_v7();
        let number = previous.number + 1;

        let outcome: std::result::Result<std::result::Result<Applied, Error>, sqlx::Error> = with_db!(self, pool => async {
            let mut tx = pool.begin().await?;
            let current: Vec<ScriptRow> =
                sqlx::query_as(CURRENT).bind(app.0).fetch_all(&mut *tx).await?;
            let wanted: BTreeMap<ScriptId, i64> = target
                .snapshot
                .scripts
                .iter()
                .map(|s| (s.id, s.version))
                .collect();
            let mut deleted = Vec::new();
            for c in &current {
                if !wanted.contains_key(&ScriptId(c.id)) {
                    sqlx::query(crate::repo::DELETE_VERSIONS).bind(c.id).execute(&mut *tx).await?;
                    sqlx::query("DELETE FROM scripts WHERE id = $1").bind(c.id).execute(&mut *tx).await?;
                    deleted.push(ScriptId(c.id));
                }
            }
            let mut saved = Vec::new();
            let mut snapshot = target.snapshot.clone();
            for s in &mut snapshot.scripts {
                let live = current.iter().find(|c| c.id == s.id.0).map(|c| c.version);
                if live == Some(s.version) {
                    continue;
                }
                let Some(v): Option<VersionRow> = sqlx::query_as(VERSION)
                    .bind(s.id.0).bind(s.version).fetch_optional(&mut *tx).await?
                else {
                    return Ok(Err(Error::Conflict(format!(
                        "version {} of script {} is no longer kept", s.version, s.name
                    ))));
                };
                let version = match live {
                    Some(live) => live + 1,
                    None => {
                        let newest: Option<i64> =
                            sqlx::query_scalar(NEWEST).bind(s.id.0).fetch_one(&mut *tx).await?;
                        newest.unwrap_or(s.version) + 1
                    }
                };
                if live.is_some() {
                    sqlx::query(UPDATE)
                        .bind(s.id.0).bind(&v.source).bind(&v.description).bind(v.sandbox)
                        .bind(version).bind(now)
                        .execute(&mut *tx).await?;
                } else {
                    sqlx::query(INSERT)
                        .bind(s.id.0).bind(app.0).bind(&v.name).bind(&v.source).bind(version)
                        .bind(&v.description).bind(v.sandbox).bind(now)
                        .execute(&mut *tx).await?;
                }
                sqlx::query(crate::repo::INSERT_VERSION)
                    .bind(s.id.0).bind(app.0).bind(version).bind(&v.name).bind(&v.source)
                    .bind(&v.description).bind(v.sandbox).bind(&message).bind(by).bind(now)
                    .execute(&mut *tx).await?;
                s.version = version;
                saved.push(s.id);
            }

            sqlx::query("DELETE FROM routes WHERE app_id = $1").bind(app.0).execute(&mut *tx).await?;
            for r in &snapshot.routes {
                let methods = crate::repo::methods_column(r.methods.as_ref());
                sqlx::query("INSERT INTO routes (id, app_id, script_id, path, methods, created_at) \
                     VALUES ($1, $2, $3, $4, $5, $6)")
                    .bind(r.id.0).bind(app.0).bind(r.script_id.0).bind(&r.path).bind(methods).bind(now)
                    .execute(&mut *tx).await?;
            }
            sqlx::query("DELETE FROM domains WHERE app_id = $1").bind(app.0).execute(&mut *tx).await?;
            for d in &snapshot.domains {
                let claimed = sqlx::query("INSERT INTO domains (id, app_id, pattern, created_at) \
                     VALUES ($1, $2, $3, $4)")
                    .bind(d.id.0).bind(app.0).bind(&d.pattern).bind(now)
                    .execute(&mut *tx).await;
                match claimed {
                    Err(e) if is_unique_violation(&e) => {
                        return Ok(Err(Error::Conflict(format!(
                            "{} is claimed by another app now; release it there first",
                            d.pattern
                        ))));
                    }
                    other => { other?; }
                }
            }
            let triggers: Vec<TriggerRow> =
                sqlx::query_as(TRIGGERS).bind(app.0).fetch_all(&mut *tx).await?;
            for t in &triggers {
                if !snapshot.triggers.iter().any(|w| w.id.0 == t.id) {
                    sqlx::query("DELETE FROM triggers WHERE id = $1").bind(t.id).execute(&mut *tx).await?;
                }
            }
            for w in &snapshot.triggers {
                match triggers.iter().find(|t| t.id == w.id.0) {
                    Some(t) => {
                        let schedule_changed = t.schedule != w.schedule;
                        sqlx::query("UPDATE triggers SET kind = $2, script_id = $3, collection = $4, \
                             on_set = $5, on_delete = $6, max_attempts = $7, dead_letter_script_id = $8, \
                             schedule = $9, next_due = CASE WHEN $10 THEN $11 ELSE next_due END WHERE id = $1")
                            .bind(w.id.0).bind(w.kind.as_str()).bind(w.script_id.0).bind(&w.collection)
                            .bind(w.on_set).bind(w.on_delete).bind(w.max_attempts)
                            .bind(w.dead_letter_script_id.map(|d| d.0)).bind(&w.schedule)
                            .bind(schedule_changed).bind(next_due(w))
                            .execute(&mut *tx).await?;
                    }
                    None => {
                        sqlx::query("INSERT INTO triggers (id, app_id, kind, script_id, collection, \
                             on_set, on_delete, max_attempts, dead_letter_script_id, schedule, next_due, \
                             created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)")
                            .bind(w.id.0).bind(app.0).bind(w.kind.as_str()).bind(w.script_id.0).bind(&w.collection)
                            .bind(w.on_set).bind(w.on_delete).bind(w.max_attempts)
                            .bind(w.dead_letter_script_id.map(|d| d.0)).bind(&w.schedule)
                            .bind(next_due(w)).bind(now)
                            .execute(&mut *tx).await?;
                    }
                }
            }

            let changes = changes(&previous.snapshot, &snapshot);
            sqlx::query(&format!(
                "INSERT INTO releases ({RELEASE_COLUMNS}) VALUES ($1, $2, $3, 'rollback', $4, $5, $6, $7, $8, $9)"
            ))
                .bind(id).bind(app.0).bind(number).bind(&message).bind(by).bind(now)
                .bind(target.id).bind(Json(&snapshot)).bind(Json(&changes))
                .execute(&mut *tx).await?;
            for s in &snapshot.scripts {
                sqlx::query("INSERT INTO release_scripts (release_id, script_id, version) VALUES ($1, $2, $3)")
                    .bind(id).bind(s.id.0).bind(s.version)
                    .execute(&mut *tx).await?;
            }
            tx.commit().await?;
            Ok(Ok((snapshot, saved, deleted)))
        }.await);
        let (snapshot, saved, deleted) = match outcome {
            Ok(done) => done?,
            Err(e) if is_unique_violation(&e) => {
                return Err(Error::Conflict(
                    "another release of this app was made at the same time; try again".into(),
                ));
            }
            Err(e) => return Err(e.into()),
        };
        let changes = changes(&previous.snapshot, &snapshot);
        Ok(RolledBack {
            release: Release {
                id,
                app_id: app,
                number,
                kind: ReleaseKind::Rollback,
                message,
                created_by: by.to_owned(),
                created_at: now,
                rollback_of: Some(target.id),
                changes,
                snapshot,
            },
            saved,
            deleted,
        })
    }
}
