//! Releases: immutable snapshots of an app, its scripts (each at a
//! version), routes, domain claims and triggers, numbered per app. Each
//! names the script versions it holds in `release_scripts`, so the scripts'
//! history keeps them past its bound and past a script's deletion
//! (history.rs). KV data and secrets are not part of a release.

use std::collections::{BTreeMap, BTreeSet};

use picloud_shared::{AppId, DomainId, RouteId, ScriptId, TriggerId};
use serde::{Deserialize, Serialize};
use sqlx::types::Json;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::db::Db;
use crate::error::{Error, Result, is_unique_violation};
use crate::with_db;

/// A script as a release holds it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ReleasedScript {
    pub id: ScriptId,
    pub name: String,
    pub version: i64,
}

/// A route as a release holds it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ReleasedRoute {
    pub id: RouteId,
    pub script_id: ScriptId,
    pub path: String,
    /// Upper-case methods; null for any method.
    pub methods: Option<Vec<String>>,
}

/// A domain claim as a release holds it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ReleasedDomain {
    pub id: DomainId,
    pub pattern: String,
}

/// A trigger as a release holds it (its counters and next tick are not
/// part of it).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ReleasedTrigger {
    pub id: TriggerId,
    /// `kv` or `cron`.
    pub kind: String,
    pub script_id: ScriptId,
    pub collection: Option<String>,
    pub on_set: bool,
    pub on_delete: bool,
    pub max_attempts: i32,
    pub dead_letter_script_id: Option<ScriptId>,
    pub schedule: Option<String>,
}

/// What an app is made of at one moment.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Snapshot {
    /// By name.
    pub scripts: Vec<ReleasedScript>,
    /// By path.
    pub routes: Vec<ReleasedRoute>,
    /// By pattern.
    pub domains: Vec<ReleasedDomain>,
    /// Oldest first.
    pub triggers: Vec<ReleasedTrigger>,
}

/// How a release came to be.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReleaseKind {
    /// The admin API or the dashboard.
    Manual,
    /// `picloud deploy`.
    Deploy,
    /// A rollback to an earlier release.
    Rollback,
}

impl ReleaseKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ReleaseKind::Manual => "manual",
            ReleaseKind::Deploy => "deploy",
            ReleaseKind::Rollback => "rollback",
        }
    }

    pub fn parse(text: &str) -> Option<ReleaseKind> {
        match text {
            "manual" => Some(ReleaseKind::Manual),
            "deploy" => Some(ReleaseKind::Deploy),
            "rollback" => Some(ReleaseKind::Rollback),
            _ => None,
        }
    }
}

/// A release.
#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Release {
    pub id: Uuid,
    pub app_id: AppId,
    /// The app's releases are numbered from 1.
    pub number: i64,
    /// `manual`, `deploy` or `rollback`.
    #[schema(value_type = String, pattern = "^(manual|deploy|rollback)$")]
    pub kind: &'static str,
    pub message: String,
    /// The username of who made it.
    pub created_by: String,
    #[serde(with = "picloud_shared::timestamp")]
    pub created_at: OffsetDateTime,
    /// The release a rollback restored.
    pub rollback_of: Option<Uuid>,
    /// What changed since the release before it, in words.
    pub changes: Vec<String>,
    pub snapshot: Snapshot,
}

/// The parts of a snapshot that make a difference to what the app does
/// (ids of routes, domains and triggers are left out: recreating one the
/// same is no change), each route, domain and trigger in words.
#[derive(PartialEq, Eq)]
struct Meaning {
    scripts: BTreeMap<ScriptId, (String, i64)>,
    routes: BTreeSet<String>,
    domains: BTreeSet<String>,
    triggers: BTreeSet<String>,
}

fn meaning(s: &Snapshot) -> Meaning {
    let names: BTreeMap<ScriptId, &str> =
        s.scripts.iter().map(|x| (x.id, x.name.as_str())).collect();
    let name = |id: &ScriptId| {
        names
            .get(id)
            .copied()
            .unwrap_or("(deleted script)")
            .to_owned()
    };
    let scripts = s
        .scripts
        .iter()
        .map(|x| (x.id, (x.name.clone(), x.version)))
        .collect();
    let routes = s
        .routes
        .iter()
        .map(|r| {
            let methods = r.methods.as_ref().map_or("ANY".to_owned(), |m| m.join(","));
            format!("route {methods} {} → {}", r.path, name(&r.script_id))
        })
        .collect();
    let domains = s
        .domains
        .iter()
        .map(|d| format!("domain {}", d.pattern))
        .collect();
    let triggers = s
        .triggers
        .iter()
        .map(|t| {
            let what = match t.kind.as_str() {
                // A tick is delivered once: attempts do not apply.
                "cron" => {
                    return format!(
                        "cron trigger \"{}\" → {}",
                        t.schedule.as_deref().unwrap_or(""),
                        name(&t.script_id)
                    );
                }
                _ => {
                    let events: Vec<&str> = [("set", t.on_set), ("delete", t.on_delete)]
                        .into_iter()
                        .filter_map(|(e, on)| on.then_some(e))
                        .collect();
                    format!(
                        "kv trigger on {} ({})",
                        t.collection.as_deref().unwrap_or(""),
                        events.join(", ")
                    )
                }
            };
            let dead = t
                .dead_letter_script_id
                .as_ref()
                .map(|d| format!(", dead letters → {}", name(d)))
                .unwrap_or_default();
            format!(
                "{what} → {}, {} attempts{dead}",
                name(&t.script_id),
                t.max_attempts
            )
        })
        .collect();
    Meaning {
        scripts,
        routes,
        domains,
        triggers,
    }
}

/// Whether two snapshots make the app do the same.
pub fn same_state(a: &Snapshot, b: &Snapshot) -> bool {
    meaning(a) == meaning(b)
}

/// What changed from `old` to `new`, in words, scripts first.
pub fn changes(old: &Snapshot, new: &Snapshot) -> Vec<String> {
    let (old, new) = (meaning(old), meaning(new));
    let mut out = Vec::new();
    for (id, (name, version)) in &new.scripts {
        match old.scripts.get(id) {
            None => out.push(format!("script {name} added (version {version})")),
            Some((_, was)) if was != version => {
                out.push(format!("script {name}: version {was} → {version}"));
            }
            Some(_) => {}
        }
    }
    for (id, (name, _)) in &old.scripts {
        if !new.scripts.contains_key(id) {
            out.push(format!("script {name} removed"));
        }
    }
    for (was, now) in [
        (&old.routes, &new.routes),
        (&old.domains, &new.domains),
        (&old.triggers, &new.triggers),
    ] {
        out.extend(now.difference(was).map(|x| format!("{x} added")));
        out.extend(was.difference(now).map(|x| format!("{x} removed")));
    }
    out
}

#[derive(sqlx::FromRow)]
struct ScriptRow {
    id: Uuid,
    name: String,
    version: i64,
}

#[derive(sqlx::FromRow)]
struct RouteRow {
    id: Uuid,
    script_id: Uuid,
    path: String,
    methods: Option<String>,
}

#[derive(sqlx::FromRow)]
struct DomainRow {
    id: Uuid,
    pattern: String,
}

#[derive(sqlx::FromRow)]
struct TriggerRow {
    id: Uuid,
    kind: String,
    script_id: Uuid,
    collection: Option<String>,
    on_set: bool,
    on_delete: bool,
    max_attempts: i32,
    dead_letter_script_id: Option<Uuid>,
    schedule: Option<String>,
}

#[derive(sqlx::FromRow)]
struct ReleaseRow {
    id: Uuid,
    app_id: Uuid,
    number: i64,
    kind: String,
    message: String,
    created_by: String,
    created_at: OffsetDateTime,
    rollback_of: Option<Uuid>,
    snapshot: Json<Snapshot>,
    changes: Json<Vec<String>>,
}

impl From<ReleaseRow> for Release {
    fn from(r: ReleaseRow) -> Release {
        Release {
            id: r.id,
            app_id: AppId(r.app_id),
            number: r.number,
            kind: ReleaseKind::parse(&r.kind).map_or("manual", ReleaseKind::as_str),
            message: r.message,
            created_by: r.created_by,
            created_at: r.created_at,
            rollback_of: r.rollback_of,
            changes: r.changes.0,
            snapshot: r.snapshot.0,
        }
    }
}

const RELEASE_COLUMNS: &str = "id, app_id, number, kind, message, created_by, created_at, \
     rollback_of, snapshot, changes";

/// A new release, before it is stored.
pub struct NewRelease<'a> {
    pub app: AppId,
    pub kind: ReleaseKind,
    pub message: &'a str,
    pub created_by: &'a str,
    pub rollback_of: Option<Uuid>,
}

impl Db {
    /// What `app` is made of now, read in one transaction (on PostgreSQL
    /// a repeatable-read one, so every table is read at the same moment).
    pub async fn app_snapshot(&self, app: AppId) -> Result<Snapshot> {
        let postgres = matches!(self, Db::Postgres(_));
        let (scripts, routes, domains, triggers) = with_db!(self, pool => async {
            let mut tx = pool.begin().await?;
            if postgres {
                sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
                    .execute(&mut *tx)
                    .await?;
            }
            let scripts: Vec<ScriptRow> = sqlx::query_as(
                "SELECT id, name, version FROM scripts WHERE app_id = $1 ORDER BY name",
            )
            .bind(app.0).fetch_all(&mut *tx).await?;
            let routes: Vec<RouteRow> = sqlx::query_as(
                "SELECT id, script_id, path, methods FROM routes WHERE app_id = $1 ORDER BY path, id",
            )
            .bind(app.0).fetch_all(&mut *tx).await?;
            let domains: Vec<DomainRow> = sqlx::query_as(
                "SELECT id, pattern FROM domains WHERE app_id = $1 ORDER BY pattern",
            )
            .bind(app.0).fetch_all(&mut *tx).await?;
            let triggers: Vec<TriggerRow> = sqlx::query_as(
                "SELECT id, kind, script_id, collection, on_set, on_delete, max_attempts, \
                 dead_letter_script_id, schedule FROM triggers WHERE app_id = $1 \
                 ORDER BY created_at, id",
            )
            .bind(app.0).fetch_all(&mut *tx).await?;
            tx.commit().await?;
            Ok::<_, sqlx::Error>((scripts, routes, domains, triggers))
        }.await)?;
        let routes = routes
            .into_iter()
            .map(|r| {
                let methods = r
                    .methods
                    .map(|m| serde_json::from_str(&m))
                    .transpose()
                    .map_err(|e| Error::Internal(format!("route {}: bad methods: {e}", r.id)))?;
                Ok(ReleasedRoute {
                    id: RouteId(r.id),
                    script_id: ScriptId(r.script_id),
                    path: r.path,
                    methods,
                })
            })
            .collect::<Result<_>>()?;
        Ok(Snapshot {
            scripts: scripts
                .into_iter()
                .map(|s| ReleasedScript {
                    id: ScriptId(s.id),
                    name: s.name,
                    version: s.version,
                })
                .collect(),
            routes,
            domains: domains
                .into_iter()
                .map(|d| ReleasedDomain {
                    id: DomainId(d.id),
                    pattern: d.pattern,
                })
                .collect(),
            triggers: triggers
                .into_iter()
                .map(|t| ReleasedTrigger {
                    id: TriggerId(t.id),
                    kind: t.kind,
                    script_id: ScriptId(t.script_id),
                    collection: t.collection,
                    on_set: t.on_set,
                    on_delete: t.on_delete,
                    max_attempts: t.max_attempts,
                    dead_letter_script_id: t.dead_letter_script_id.map(ScriptId),
                    schedule: t.schedule,
                })
                .collect(),
        })
    }

    /// An app's releases, newest first.
    pub async fn releases(&self, app: AppId) -> Result<Vec<Release>> {
        let sql = format!(
            "SELECT {RELEASE_COLUMNS} FROM releases WHERE app_id = $1 ORDER BY number DESC"
        );
        let rows: Vec<ReleaseRow> =
            with_db!(self, pool => sqlx::query_as(&sql).bind(app.0).fetch_all(pool).await)?;
        Ok(rows.into_iter().map(Release::from).collect())
    }

    /// An app's newest release, if it has one.
    pub async fn latest_release(&self, app: AppId) -> Result<Option<Release>> {
        let sql = format!(
            "SELECT {RELEASE_COLUMNS} FROM releases WHERE app_id = $1 ORDER BY number DESC LIMIT 1"
        );
        let row: Option<ReleaseRow> =
            with_db!(self, pool => sqlx::query_as(&sql).bind(app.0).fetch_optional(pool).await)?;
        Ok(row.map(Release::from))
    }

    /// Stores a release of `snapshot`, numbered after `previous` (the
    /// app's newest, whose number it takes the next of). Refused with a
    /// conflict when another release took that number meanwhile, or when a
    /// version the snapshot names is no longer kept (the app changed
    /// meanwhile).
    pub async fn insert_release(
        &self,
        new: &NewRelease<'_>,
        snapshot: &Snapshot,
        changes: &[String],
        previous: Option<&Release>,
    ) -> Result<Release> {
        let id = Uuid::now_v7();
        let number = previous.map_or(1, |p| p.number + 1);
        let now = crate::repo::now();
        let sql = format!(
            "INSERT INTO releases ({RELEASE_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) \
             RETURNING {RELEASE_COLUMNS}"
        );
        const NAME: &str = "INSERT INTO release_scripts (release_id, script_id, version) \
             VALUES ($1, $2, $3)";
        const KEPT: &str = "SELECT count(*) FROM release_scripts r JOIN script_versions v \
             ON v.script_id = r.script_id AND v.version = r.version WHERE r.release_id = $1";
        let stored: std::result::Result<Option<ReleaseRow>, sqlx::Error> = with_db!(self, pool => async {
            let mut tx = pool.begin().await?;
            let row: ReleaseRow = sqlx::query_as(&sql)
                .bind(id).bind(new.app.0).bind(number).bind(new.kind.as_str())
                .bind(new.message).bind(new.created_by).bind(now).bind(new.rollback_of)
                .bind(Json(snapshot)).bind(Json(changes))
                .fetch_one(&mut *tx).await?;
            for s in &snapshot.scripts {
                sqlx::query(NAME).bind(id).bind(s.id.0).bind(s.version)
                    .execute(&mut *tx).await?;
            }
            let kept: i64 = sqlx::query_scalar(KEPT).bind(id).fetch_one(&mut *tx).await?;
            if usize::try_from(kept).ok() != Some(snapshot.scripts.len()) {
                return Ok(None);
            }
            tx.commit().await?;
            Ok(Some(row))
        }.await);
        match stored {
            Ok(Some(row)) => Ok(row.into()),
            Ok(None) => Err(Error::Conflict(
                "the app changed while the release was made; try again".into(),
            )),
            Err(e) if is_unique_violation(&e) => Err(Error::Conflict(
                "another release of this app was made at the same time; try again".into(),
            )),
            Err(e) => Err(e.into()),
        }
    }
}

/// What a rollback's transaction did: the app's new snapshot, the
/// scripts it saved again and those it deleted.
type Applied = (Snapshot, Vec<ScriptId>, Vec<ScriptId>);

/// What a rollback changed, for the caches.
pub struct RolledBack {
    /// The release that records the rollback.
    pub release: Release,
    /// Scripts given a new version (restored, or brought back).
    pub saved: Vec<ScriptId>,
    /// Scripts deleted (not in the release).
    pub deleted: Vec<ScriptId>,
}

#[derive(sqlx::FromRow)]
struct VersionRow {
    name: String,
    source: String,
    description: String,
    sandbox: Json<picloud_shared::SandboxOverrides>,
}

/// The source of a script version a release names, for the compile check
/// before a rollback.
#[derive(Clone, Debug)]
pub struct RestoredSource {
    pub id: ScriptId,
    /// The version it will be saved as.
    pub version: i64,
    pub name: String,
    pub source: String,
    pub sandbox: picloud_shared::SandboxOverrides,
}

impl Db {
    /// The sources of the script versions `release` names that differ from
    /// the app's live ones (those a rollback to it would save again).
    pub async fn restored_sources(&self, release: &Release) -> Result<Vec<RestoredSource>> {
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
    pub async fn rollback_to(
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
                    sqlx::query(crate::history::DELETE_VERSIONS).bind(c.id).execute(&mut *tx).await?;
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
                sqlx::query(crate::history::INSERT_VERSION)
                    .bind(s.id.0).bind(app.0).bind(version).bind(&v.name).bind(&v.source)
                    .bind(&v.description).bind(v.sandbox).bind(&message).bind(by).bind(now)
                    .execute(&mut *tx).await?;
                s.version = version;
                saved.push(s.id);
            }

            sqlx::query("DELETE FROM routes WHERE app_id = $1").bind(app.0).execute(&mut *tx).await?;
            for r in &snapshot.routes {
                let methods = r.methods.as_ref().map(|m| serde_json::to_string(m).unwrap_or_default());
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
                            .bind(w.id.0).bind(&w.kind).bind(w.script_id.0).bind(&w.collection)
                            .bind(w.on_set).bind(w.on_delete).bind(w.max_attempts)
                            .bind(w.dead_letter_script_id.map(|d| d.0)).bind(&w.schedule)
                            .bind(schedule_changed).bind(next_due(w))
                            .execute(&mut *tx).await?;
                    }
                    None => {
                        sqlx::query("INSERT INTO triggers (id, app_id, kind, script_id, collection, \
                             on_set, on_delete, max_attempts, dead_letter_script_id, schedule, next_due, \
                             created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)")
                            .bind(w.id.0).bind(app.0).bind(&w.kind).bind(w.script_id.0).bind(&w.collection)
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
                kind: ReleaseKind::Rollback.as_str(),
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

    /// A release of `app` by id or number.
    pub async fn release_of(&self, app: AppId, which: &str) -> Result<Option<Release>> {
        let by_number = which.parse::<i64>().ok();
        let by_id = which.parse::<Uuid>().ok();
        if by_number.is_none() && by_id.is_none() {
            return Err(Error::invalid(
                picloud_shared::api_error::ErrorCode::BadRequest,
                format!("{which:?} names no release: give its id or its number"),
            ));
        }
        let sql = format!(
            "SELECT {RELEASE_COLUMNS} FROM releases WHERE app_id = $1 AND (id = $2 OR number = $3)"
        );
        let row: Option<ReleaseRow> = with_db!(self, pool => sqlx::query_as(&sql)
            .bind(app.0).bind(by_id.unwrap_or_else(Uuid::nil)).bind(by_number.unwrap_or(-1))
            .fetch_optional(pool).await)?;
        Ok(row.map(Release::from))
    }
}

// ----- the admin API's side -----

impl crate::service::Manager {
    /// Makes a release of the app as it is now, unless it is the same as
    /// the app's newest release: then that one, and `false`. Editors and
    /// owners (they change what a release holds).
    pub async fn create_release(
        &self,
        p: &crate::authz::Principal,
        app: &str,
        kind: ReleaseKind,
        message: Option<String>,
    ) -> Result<(Release, bool)> {
        let app = self.resolve_app(Some(app)).await?;
        crate::authz::require(p, crate::authz::Capability::WriteScripts, app.id, "app")?;
        let message = message.unwrap_or_default();
        crate::history::check_message(&message)
            .map_err(|e| Error::invalid(picloud_shared::api_error::ErrorCode::BadRequest, e))?;
        let _write = self.write_lock.lock().await;
        let snapshot = self.db.app_snapshot(app.id).await?;
        let previous = self.db.latest_release(app.id).await?;
        if let Some(latest) = previous
            .as_ref()
            .filter(|l| same_state(&l.snapshot, &snapshot))
        {
            return Ok((latest.clone(), false));
        }
        let changes = changes(
            previous
                .as_ref()
                .map_or(&Snapshot::default(), |l| &l.snapshot),
            &snapshot,
        );
        let release = self
            .db
            .insert_release(
                &NewRelease {
                    app: app.id,
                    kind,
                    message: &message,
                    created_by: &p.user.username,
                    rollback_of: None,
                },
                &snapshot,
                &changes,
                previous.as_ref(),
            )
            .await?;
        self.audit(
            p,
            Some(app.id),
            "release.create",
            Some(release.id.to_string()),
            serde_json::json!({ "number": release.number, "kind": release.kind }),
        )
        .await;
        Ok((release, true))
    }

    /// Makes the app match one of its releases (by id or number), in one
    /// transaction, and switches the data plane to it between two lookups
    /// (see `DataCache::close_gate`); records the rollback as a new
    /// release and answers it. When the app already matches the release,
    /// changes nothing and answers the newest release, and `false`.
    /// Editors and owners.
    pub async fn rollback(
        &self,
        p: &crate::authz::Principal,
        app: &str,
        which: &str,
    ) -> Result<(Release, bool)> {
        let app = self.resolve_app(Some(app)).await?;
        crate::authz::require(p, crate::authz::Capability::WriteScripts, app.id, "app")?;
        let _write = self.write_lock.lock().await;
        let target = self
            .db
            .release_of(app.id, which)
            .await?
            .ok_or(Error::NotFound("release"))?;
        let previous = self
            .db
            .latest_release(app.id)
            .await?
            .ok_or(Error::NotFound("release"))?;
        // Already there: the app is as the release holds it, or as the
        // newest release, a rollback to it, left it.
        let now = self.db.app_snapshot(app.id).await?;
        if same_state(&now, &target.snapshot)
            || (previous.rollback_of == Some(target.id) && same_state(&now, &previous.snapshot))
        {
            return Ok((previous, false));
        }
        // Domain claims are the owner's to make and release: a rollback
        // that would change them needs that right, not an editor's.
        let patterns = |s: &Snapshot| {
            s.domains
                .iter()
                .map(|d| d.pattern.clone())
                .collect::<BTreeSet<_>>()
        };
        if patterns(&now) != patterns(&target.snapshot) {
            crate::authz::require(p, crate::authz::Capability::ManageDomains, app.id, "app")?;
        }
        // What comes back must compile under today's ceilings.
        for s in self.db.restored_sources(&target).await? {
            let name = picloud_shared::ScriptName::parse(&s.name)
                .map_err(|e| Error::Internal(format!("stored script name: {e}")))?;
            let now = crate::repo::now();
            let script = std::sync::Arc::new(picloud_shared::Script {
                id: s.id,
                app_id: app.id,
                name,
                source: s.source,
                version: s.version,
                description: String::new(),
                sandbox: s.sandbox,
                created_at: now,
                updated_at: now,
            });
            self.compiler
                .compile(script)
                .await
                .map_err(Error::Compile)?;
        }
        let cache = self.cache();
        let gate = cache.close_gate().await;
        let done = self
            .db
            .rollback_to(&target, &p.user.username, &previous)
            .await?;
        for id in &done.deleted {
            cache.remove(*id);
            self.compiler.forget(*id);
        }
        for id in &done.saved {
            if let Some(script) = self.db.script_by_id(*id).await? {
                cache.put(std::sync::Arc::new(script));
            }
        }
        cache.reload_routing().await?;
        drop(gate);
        self.cron.changed.notify_one();
        self.audit(
            p,
            Some(app.id),
            "release.rollback",
            Some(done.release.id.to_string()),
            serde_json::json!({ "number": done.release.number, "to": target.number }),
        )
        .await;
        Ok((done.release, true))
    }

    /// An app's releases, newest first. Viewers and up.
    pub async fn releases(&self, p: &crate::authz::Principal, app: &str) -> Result<Vec<Release>> {
        let app = self.resolve_app(Some(app)).await?;
        crate::authz::require(p, crate::authz::Capability::ReadScripts, app.id, "app")?;
        self.db.releases(app.id).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn script(n: u128, name: &str, version: i64) -> ReleasedScript {
        ReleasedScript {
            id: ScriptId(Uuid::from_u128(n)),
            name: name.into(),
            version,
        }
    }

    #[test]
    fn changes_are_said_in_words_and_ids_of_the_rest_do_not_count() {
        let route = |id: u128, script: u128| ReleasedRoute {
            id: RouteId(Uuid::from_u128(id)),
            script_id: ScriptId(Uuid::from_u128(script)),
            path: "/orders/{id}".into(),
            methods: Some(vec!["GET".into()]),
        };
        let old = Snapshot {
            scripts: vec![script(1, "api", 3), script(2, "old", 1)],
            routes: vec![route(10, 1)],
            domains: vec![ReleasedDomain {
                id: DomainId(Uuid::from_u128(20)),
                pattern: "shop.example.com".into(),
            }],
            triggers: vec![],
        };
        // The same route made again (another id): no change.
        let mut same = old.clone();
        same.routes = vec![route(11, 1)];
        assert!(same_state(&old, &same));
        assert!(changes(&old, &same).is_empty());

        let new = Snapshot {
            scripts: vec![script(1, "api", 5), script(3, "new", 1)],
            routes: vec![],
            domains: old.domains.clone(),
            triggers: vec![ReleasedTrigger {
                id: TriggerId(Uuid::from_u128(30)),
                kind: "cron".into(),
                script_id: ScriptId(Uuid::from_u128(3)),
                collection: None,
                on_set: false,
                on_delete: false,
                max_attempts: 3,
                dead_letter_script_id: None,
                schedule: Some("*/5 * * * *".into()),
            }],
        };
        assert!(!same_state(&old, &new));
        assert_eq!(
            changes(&old, &new),
            [
                "script api: version 3 → 5",
                "script new added (version 1)",
                "script old removed",
                "route GET /orders/{id} → api removed",
                "cron trigger \"*/5 * * * *\" → new added",
            ]
        );
        assert_eq!(
            changes(&Snapshot::default(), &old),
            [
                "script api added (version 3)",
                "script old added (version 1)",
                "route GET /orders/{id} → api added",
                "domain shop.example.com added",
            ]
        );
    }
}
