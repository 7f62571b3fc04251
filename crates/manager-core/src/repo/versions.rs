//! The `script_versions` table: a script's saved versions (the rules for
//! what a version carries are in `history.rs`).

use picloud_shared::{SandboxOverrides, ScriptId};
use serde::Serialize;
use sqlx::types::Json;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::db::Db;
use crate::dialect::Dialect as _;
use crate::error::Result;
use crate::with_db;

/// One saved version of a script, with its source.
#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema)]
pub struct ScriptVersion {
    pub script_id: ScriptId,
    pub version: i64,
    pub source: String,
    pub description: String,
    pub sandbox: SandboxOverrides,
    /// Why it was saved; empty when no message was given.
    pub message: String,
    /// The username of who saved it; null for versions saved before
    /// PiCloud kept history.
    pub created_by: Option<String>,
    #[serde(with = "picloud_shared::timestamp")]
    pub created_at: OffsetDateTime,
    /// Whether it is the version that runs now.
    pub live: bool,
}

/// A version as the history lists it: without its source.
#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema)]
pub struct ScriptVersionSummary {
    pub version: i64,
    pub description: String,
    pub sandbox: SandboxOverrides,
    pub message: String,
    pub created_by: Option<String>,
    #[serde(with = "picloud_shared::timestamp")]
    pub created_at: OffsetDateTime,
    /// The source's size in bytes.
    pub source_bytes: i64,
    pub live: bool,
}

/// Writes a version; `$1`..`$10` are the script id, app id, version,
/// name, source, description, sandbox, message, author and time.
pub(crate) const INSERT_VERSION: &str = "INSERT INTO script_versions \
     (script_id, app_id, version, name, source, description, sandbox, message, created_by, created_at) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)";

/// Trims a script's history to its newest versions: `$2` is the newest
/// version minus the bound (versions are numbered without gaps). A version
/// a release names is kept.
pub(crate) const TRIM_VERSIONS: &str = "DELETE FROM script_versions WHERE script_id = $1 \
     AND version <= $2 AND NOT EXISTS (SELECT 1 FROM release_scripts r \
     WHERE r.script_id = script_versions.script_id AND r.version = script_versions.version)";

/// Deletes a script's history (the script is deleted), but for the
/// versions a release names: a rollback to it brings the script back.
pub(crate) const DELETE_VERSIONS: &str = "DELETE FROM script_versions WHERE script_id = $1 \
     AND NOT EXISTS (SELECT 1 FROM release_scripts r \
     WHERE r.script_id = script_versions.script_id AND r.version = script_versions.version)";

#[derive(sqlx::FromRow)]
struct VersionRow {
    script_id: Uuid,
    version: i64,
    source: String,
    description: String,
    sandbox: Json<SandboxOverrides>,
    message: String,
    created_by: Option<String>,
    created_at: OffsetDateTime,
    live: bool,
}

#[derive(sqlx::FromRow)]
struct SummaryRow {
    version: i64,
    description: String,
    sandbox: Json<SandboxOverrides>,
    message: String,
    created_by: Option<String>,
    created_at: OffsetDateTime,
    source_bytes: i64,
    live: bool,
}

/// `live`: whether the version is the script's current one.
const LIVE: &str =
    "EXISTS (SELECT 1 FROM scripts s WHERE s.id = v.script_id AND s.version = v.version)";

impl Db {
    /// A script's saved versions, newest first, without their sources.
    pub(crate) async fn script_versions(
        &self,
        script: ScriptId,
    ) -> Result<Vec<ScriptVersionSummary>> {
        let rows: Vec<SummaryRow> = with_db!(self, pool => {
            let sql = format!(
                "SELECT v.version, v.description, v.sandbox, v.message, v.created_by, \
                 v.created_at, {} AS source_bytes, {LIVE} AS live \
                 FROM script_versions v WHERE v.script_id = $1 ORDER BY v.version DESC",
                pool.byte_length("v.source")
            );
            sqlx::query_as(&sql).bind(script.0).fetch_all(pool).await
        })?;
        Ok(rows
            .into_iter()
            .map(|r| ScriptVersionSummary {
                version: r.version,
                description: r.description,
                sandbox: r.sandbox.0,
                message: r.message,
                created_by: r.created_by,
                created_at: r.created_at,
                source_bytes: r.source_bytes,
                live: r.live,
            })
            .collect())
    }

    /// One saved version of a script, if it is kept.
    pub(crate) async fn script_version(
        &self,
        script: ScriptId,
        version: i64,
    ) -> Result<Option<ScriptVersion>> {
        let sql = format!(
            "SELECT v.script_id, v.version, v.source, v.description, v.sandbox, v.message, \
             v.created_by, v.created_at, {LIVE} AS live \
             FROM script_versions v WHERE v.script_id = $1 AND v.version = $2"
        );
        let row: Option<VersionRow> = with_db!(self, pool => sqlx::query_as(&sql)
            .bind(script.0).bind(version).fetch_optional(pool).await)?;
        Ok(row.map(|r| ScriptVersion {
            script_id: ScriptId(r.script_id),
            version: r.version,
            source: r.source,
            description: r.description,
            sandbox: r.sandbox.0,
            message: r.message,
            created_by: r.created_by,
            created_at: r.created_at,
            live: r.live,
        }))
    }
}
