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
