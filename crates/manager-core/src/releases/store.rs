//! Releases as stored: the rows, reading an app's snapshot, listing, finding and inserting releases.

use crate::events::TriggerKind;
use picloud_shared::{AppId, DomainId, RouteId, ScriptId, TriggerId};
use sqlx::types::Json;
use time::OffsetDateTime;
use uuid::Uuid;

use super::{
    NewRelease, Release, ReleaseKind, ReleasedDomain, ReleasedRoute, ReleasedScript,
    ReleasedTrigger, Snapshot,
};
use crate::db::Db;
use crate::error::{Error, Result, is_unique_violation};
use crate::repo::stored_methods;
use crate::with_db;

#[derive(sqlx::FromRow)]
pub(super) struct ScriptRow {
    pub(super) id: Uuid,
    pub(super) name: String,
    pub(super) version: i64,
}

#[derive(sqlx::FromRow)]
pub(super) struct RouteRow {
    pub(super) id: Uuid,
    pub(super) script_id: Uuid,
    pub(super) path: String,
    pub(super) methods: Option<String>,
}

#[derive(sqlx::FromRow)]
pub(super) struct DomainRow {
    pub(super) id: Uuid,
    pub(super) pattern: String,
}

#[derive(sqlx::FromRow)]
pub(super) struct TriggerRow {
    pub(super) id: Uuid,
    pub(super) kind: String,
    pub(super) script_id: Uuid,
    pub(super) collection: Option<String>,
    pub(super) on_set: bool,
    pub(super) on_delete: bool,
    pub(super) max_attempts: i32,
    pub(super) dead_letter_script_id: Option<Uuid>,
    pub(super) schedule: Option<String>,
}

#[derive(sqlx::FromRow)]
pub(super) struct ReleaseRow {
    pub(super) id: Uuid,
    pub(super) app_id: Uuid,
    pub(super) number: i64,
    pub(super) kind: String,
    pub(super) message: String,
    pub(super) created_by: String,
    pub(super) created_at: OffsetDateTime,
    pub(super) rollback_of: Option<Uuid>,
    pub(super) snapshot: Json<Snapshot>,
    pub(super) changes: Json<Vec<String>>,
}

impl From<ReleaseRow> for Release {
    fn from(r: ReleaseRow) -> Release {
        Release {
            id: r.id,
            app_id: AppId(r.app_id),
            number: r.number,
            kind: ReleaseKind::parse(&r.kind).unwrap_or(ReleaseKind::Manual),
            message: r.message,
            created_by: r.created_by,
            created_at: r.created_at,
            rollback_of: r.rollback_of,
            changes: r.changes.0,
            snapshot: r.snapshot.0,
        }
    }
}

pub(super) const RELEASE_COLUMNS: &str = "id, app_id, number, kind, message, created_by, created_at, \
     rollback_of, snapshot, changes";

impl Db {
    /// What `app` is made of now, read in one transaction (on PostgreSQL
    /// a repeatable-read one, so every table is read at the same moment).
    pub(crate) async fn app_snapshot(&self, app: AppId) -> Result<Snapshot> {
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
                Ok(ReleasedRoute {
                    id: RouteId(r.id),
                    script_id: ScriptId(r.script_id),
                    methods: stored_methods(r.id, r.methods)?,
                    path: r.path,
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
                    kind: TriggerKind::of_column(&t.kind),
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
    pub(crate) async fn releases(&self, app: AppId) -> Result<Vec<Release>> {
        let sql = format!(
            "SELECT {RELEASE_COLUMNS} FROM releases WHERE app_id = $1 ORDER BY number DESC"
        );
        let rows: Vec<ReleaseRow> =
            with_db!(self, pool => sqlx::query_as(&sql).bind(app.0).fetch_all(pool).await)?;
        Ok(rows.into_iter().map(Release::from).collect())
    }

    /// An app's newest release, if it has one.
    pub(crate) async fn latest_release(&self, app: AppId) -> Result<Option<Release>> {
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
    pub(crate) async fn insert_release(
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

    /// A release of `app` by id or number.
    pub(crate) async fn release_of(&self, app: AppId, which: &str) -> Result<Option<Release>> {
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
