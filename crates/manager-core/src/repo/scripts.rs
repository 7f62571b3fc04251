//! Scripts: their rows, and saving them with their history.

use picloud_shared::{AppId, SandboxOverrides, Script, ScriptId, ScriptName};
use sqlx::types::Json;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::db::Db;
use crate::error::{Error, Result, is_unique_violation};
use crate::history::VersionNote;
use crate::with_db;

#[derive(sqlx::FromRow)]
struct ScriptRow {
    id: Uuid,
    app_id: Uuid,
    name: String,
    source: String,
    version: i64,
    description: String,
    sandbox: Json<SandboxOverrides>,
    created_at: OffsetDateTime,
    updated_at: OffsetDateTime,
}

impl TryFrom<ScriptRow> for Script {
    type Error = Error;
    fn try_from(r: ScriptRow) -> Result<Self> {
        Ok(Script {
            id: ScriptId(r.id),
            app_id: AppId(r.app_id),
            name: ScriptName::parse(&r.name)
                .map_err(|e| Error::Internal(format!("stored script name: {e}")))?,
            source: r.source,
            version: r.version,
            description: r.description,
            sandbox: r.sandbox.0,
            created_at: r.created_at,
            updated_at: r.updated_at,
        })
    }
}

/// Writes `$s` as a version of its script, saved by `$note`, in
/// transaction `$tx` (a macro: the same code for either backend's
/// transaction type).
macro_rules! insert_version {
    ($tx:ident, $s:expr, $note:expr) => {
        sqlx::query(super::INSERT_VERSION)
            .bind($s.id.0)
            .bind($s.app_id.0)
            .bind($s.version)
            .bind($s.name.as_str())
            .bind(&$s.source)
            .bind(&$s.description)
            .bind(Json($s.sandbox))
            .bind(&$note.message)
            .bind(&$note.by)
            .bind($s.updated_at)
            .execute(&mut *$tx)
            .await?;
    };
}

const SCRIPT_COLUMNS: &str =
    "id, app_id, name, source, version, description, sandbox, created_at, updated_at";

impl Db {
    // ----- scripts -----

    /// Stores a new script and its first version, in one transaction.
    pub(crate) async fn insert_script(&self, s: &Script, note: &VersionNote) -> Result<Script> {
        let sql = format!(
            "INSERT INTO scripts ({SCRIPT_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
             RETURNING {SCRIPT_COLUMNS}"
        );
        let row: std::result::Result<ScriptRow, sqlx::Error> = with_db!(self, pool => async {
            let mut tx = pool.begin().await?;
            let row: ScriptRow = sqlx::query_as(&sql)
                .bind(s.id.0).bind(s.app_id.0).bind(s.name.as_str()).bind(&s.source).bind(s.version)
                .bind(&s.description).bind(Json(s.sandbox)).bind(s.created_at).bind(s.updated_at)
                .fetch_one(&mut *tx).await?;
            insert_version!(tx, s, note);
            tx.commit().await?;
            Ok(row)
        }.await);
        match row {
            Ok(r) => r.try_into(),
            Err(e) if is_unique_violation(&e) => Err(Error::Conflict(format!(
                "a script named {:?} already exists in this app",
                s.name.as_str()
            ))),
            Err(e) => Err(e.into()),
        }
    }

    /// Writes a new version, only if the stored one is `s.version - 1`, and
    /// keeps it in the script's history, trimmed to the newest `keep`.
    /// Returns `None` when the script is gone or was changed meanwhile.
    pub(crate) async fn update_script(
        &self,
        s: &Script,
        note: &VersionNote,
        keep: u32,
    ) -> Result<Option<Script>> {
        let sql = format!(
            "UPDATE scripts SET source = $2, version = $3, description = $4, sandbox = $5, updated_at = $6 \
             WHERE id = $1 AND version = $7 RETURNING {SCRIPT_COLUMNS}"
        );
        let row: Option<ScriptRow> = with_db!(self, pool => async {
            let mut tx = pool.begin().await?;
            let row: Option<ScriptRow> = sqlx::query_as(&sql)
                .bind(s.id.0).bind(&s.source).bind(s.version).bind(&s.description)
                .bind(Json(s.sandbox)).bind(s.updated_at).bind(s.version - 1)
                .fetch_optional(&mut *tx).await?;
            if row.is_none() {
                return Ok::<_, sqlx::Error>(None);
            }
            insert_version!(tx, s, note);
            sqlx::query(super::TRIM_VERSIONS)
                .bind(s.id.0).bind(s.version - i64::from(keep.max(1)))
                .execute(&mut *tx).await?;
            tx.commit().await?;
            Ok(row)
        }.await)?;
        row.map(Script::try_from).transpose()
    }

    pub(crate) async fn script_by_id(&self, id: ScriptId) -> Result<Option<Script>> {
        let sql = format!("SELECT {SCRIPT_COLUMNS} FROM scripts WHERE id = $1");
        let row: Option<ScriptRow> =
            with_db!(self, pool => sqlx::query_as(&sql).bind(id.0).fetch_optional(pool).await)?;
        row.map(Script::try_from).transpose()
    }

    pub(crate) async fn script_by_name(&self, app: AppId, name: &str) -> Result<Option<Script>> {
        let sql = format!("SELECT {SCRIPT_COLUMNS} FROM scripts WHERE app_id = $1 AND name = $2");
        let row: Option<ScriptRow> = with_db!(self, pool => sqlx::query_as(&sql)
            .bind(app.0).bind(name).fetch_optional(pool).await)?;
        row.map(Script::try_from).transpose()
    }

    pub(crate) async fn scripts_in_app(&self, app: AppId) -> Result<Vec<Script>> {
        let sql = format!("SELECT {SCRIPT_COLUMNS} FROM scripts WHERE app_id = $1 ORDER BY name");
        let rows: Vec<ScriptRow> =
            with_db!(self, pool => sqlx::query_as(&sql).bind(app.0).fetch_all(pool).await)?;
        rows.into_iter().map(Script::try_from).collect()
    }

    /// Deletes a script and its history.
    pub(crate) async fn delete_script(&self, id: ScriptId) -> Result<bool> {
        let deleted = with_db!(self, pool => async {
            let mut tx = pool.begin().await?;
            sqlx::query(super::DELETE_VERSIONS).bind(id.0).execute(&mut *tx).await?;
            let n = sqlx::query("DELETE FROM scripts WHERE id = $1")
                .bind(id.0).execute(&mut *tx).await?.rows_affected();
            tx.commit().await?;
            Ok::<_, sqlx::Error>(n > 0)
        }.await)?;
        Ok(deleted)
    }
}
