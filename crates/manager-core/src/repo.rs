//! Queries, written once for both backends (see [`crate::db`]).

use std::collections::HashMap;
use std::sync::Arc;

use picloud_shared::{
    AppId, DomainId, ExecStatus, ExecutionId, ExecutionRecord, LogEntry, RecordRequests, RequestId,
    RouteId, SandboxOverrides, Script, ScriptId, ScriptName, UserId,
};
use serde::Serialize;
use sqlx::types::Json;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::db::Db;
use crate::error::{Error, Result, is_unique_violation};
use crate::history::{self, VersionNote};
use crate::sqlite_writer::{Applied, Change};
use crate::usage;
use crate::with_db;

/// The id the first migration gives the `default` app.
pub const DEFAULT_APP_ID: AppId = AppId(Uuid::from_u128(0x0000_0000_0000_4000_8000_0000_0000_0000));

#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema)]
pub struct App {
    pub id: AppId,
    pub name: String,
    pub description: String,
    #[serde(with = "picloud_shared::timestamp")]
    pub created_at: OffsetDateTime,
    /// Which requests are kept with their execution records, for replay.
    pub record_requests: RecordRequests,
    /// Headers taken out of kept requests besides `authorization`,
    /// `proxy-authorization`, `cookie` and `PICLOUD_RECORD_REDACT_HEADERS`
    /// (lower-case names).
    pub redact_headers: Vec<String>,
}

#[derive(sqlx::FromRow)]
struct AppRow {
    id: Uuid,
    name: String,
    description: String,
    created_at: OffsetDateTime,
    record_requests: String,
    redact_headers: Json<Vec<String>>,
}

impl From<AppRow> for App {
    fn from(r: AppRow) -> Self {
        App {
            id: AppId(r.id),
            name: r.name,
            description: r.description,
            created_at: r.created_at,
            record_requests: RecordRequests::parse(&r.record_requests).unwrap_or_default(),
            redact_headers: r.redact_headers.0,
        }
    }
}

const APP_COLUMNS: &str = "id, name, description, created_at, record_requests, redact_headers";

/// A user route as stored.
#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Route {
    pub id: RouteId,
    pub app_id: AppId,
    pub script_id: ScriptId,
    /// The normalised pattern text.
    pub path: String,
    /// Upper-case methods; `None` for any method.
    pub methods: Option<Vec<String>>,
    #[serde(with = "picloud_shared::timestamp")]
    pub created_at: OffsetDateTime,
}

#[derive(sqlx::FromRow)]
struct RouteRow {
    id: Uuid,
    app_id: Uuid,
    script_id: Uuid,
    path: String,
    methods: Option<String>,
    created_at: OffsetDateTime,
}

impl TryFrom<RouteRow> for Route {
    type Error = Error;
    fn try_from(r: RouteRow) -> Result<Self> {
        let methods = r
            .methods
            .map(|m| serde_json::from_str(&m))
            .transpose()
            .map_err(|e| Error::Internal(format!("route {}: bad methods: {e}", r.id)))?;
        Ok(Route {
            id: RouteId(r.id),
            app_id: AppId(r.app_id),
            script_id: ScriptId(r.script_id),
            path: r.path,
            methods,
            created_at: r.created_at,
        })
    }
}

/// A domain claim as stored.
#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Domain {
    pub id: DomainId,
    pub app_id: AppId,
    pub pattern: String,
    #[serde(with = "picloud_shared::timestamp")]
    pub created_at: OffsetDateTime,
}

#[derive(sqlx::FromRow)]
struct DomainRow {
    id: Uuid,
    app_id: Uuid,
    pattern: String,
    created_at: OffsetDateTime,
}

impl From<DomainRow> for Domain {
    fn from(r: DomainRow) -> Self {
        Domain {
            id: DomainId(r.id),
            app_id: AppId(r.app_id),
            pattern: r.pattern,
            created_at: r.created_at,
        }
    }
}

/// JSON text with every NUL escape (`\u0000`) turned into U+FFFD:
/// PostgreSQL's `jsonb` refuses NUL, and one script logging a NUL would
/// otherwise cost the whole batch of records (everyone's). SQLite keeps
/// NULs as they are.
fn without_nul_escapes(json: &str) -> std::borrow::Cow<'_, str> {
    if !json.contains("\\u0000") {
        return json.into();
    }
    let mut out = String::with_capacity(json.len());
    let mut rest = json;
    while let Some(i) = rest.find('\\') {
        out.push_str(&rest[..i]);
        let escape = &rest[i..];
        if let Some(after) = escape.strip_prefix("\\u0000") {
            out.push_str("\\ufffd");
            rest = after;
        } else {
            // Any other escape, `\\` included, is two characters or more;
            // copying its first two keeps `\\u0000` (a backslash, then
            // text) as it is.
            let end = escape
                .char_indices()
                .nth(2)
                .map_or(escape.len(), |(j, _)| j);
            out.push_str(&escape[..end]);
            rest = &escape[end..];
        }
    }
    out.push_str(rest);
    out.into()
}

const ROUTE_COLUMNS: &str = "id, app_id, script_id, path, methods, created_at";
const DOMAIN_COLUMNS: &str = "id, app_id, pattern, created_at";

/// An API token as listed (never with its secret).
#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema)]
pub struct ApiToken {
    pub id: Uuid,
    #[serde(skip)]
    pub user_id: UserId,
    pub name: String,
    #[serde(with = "picloud_shared::timestamp")]
    pub created_at: OffsetDateTime,
    #[serde(with = "picloud_shared::timestamp::option")]
    pub last_used_at: Option<OffsetDateTime>,
    #[serde(with = "picloud_shared::timestamp::option")]
    pub expires_at: Option<OffsetDateTime>,
}

#[derive(sqlx::FromRow)]
struct ApiTokenRow {
    id: Uuid,
    user_id: Uuid,
    name: String,
    created_at: OffsetDateTime,
    last_used_at: Option<OffsetDateTime>,
    expires_at: Option<OffsetDateTime>,
}

impl From<ApiTokenRow> for ApiToken {
    fn from(r: ApiTokenRow) -> Self {
        ApiToken {
            id: r.id,
            user_id: UserId(r.user_id),
            name: r.name,
            created_at: r.created_at,
            last_used_at: r.last_used_at,
            expires_at: r.expires_at,
        }
    }
}

/// Instance role of a user.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum UserRole {
    Admin,
    Member,
}

impl UserRole {
    pub fn as_str(self) -> &'static str {
        match self {
            UserRole::Admin => "admin",
            UserRole::Member => "member",
        }
    }
    fn parse(s: &str) -> Self {
        if s == "admin" {
            UserRole::Admin
        } else {
            UserRole::Member
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema)]
pub struct User {
    pub id: UserId,
    pub username: String,
    pub role: UserRole,
    #[serde(with = "picloud_shared::timestamp")]
    pub created_at: OffsetDateTime,
}

#[derive(sqlx::FromRow)]
struct UserRow {
    id: Uuid,
    username: String,
    role: String,
    created_at: OffsetDateTime,
}

impl From<UserRow> for User {
    fn from(r: UserRow) -> Self {
        User {
            id: UserId(r.id),
            username: r.username,
            role: UserRole::parse(&r.role),
            created_at: r.created_at,
        }
    }
}

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

#[derive(sqlx::FromRow)]
struct ExecutionRow {
    id: Uuid,
    app_id: Uuid,
    script_id: Uuid,
    request_id: Uuid,
    invocation_type: String,
    status: String,
    status_code: Option<i32>,
    started_at: OffsetDateTime,
    duration_ms: f64,
    error: Option<String>,
    logs: Json<Vec<LogEntry>>,
    event: Option<Json<serde_json::Value>>,
    outbound: Option<Json<Vec<picloud_shared::OutboundCall>>>,
    script_version: Option<i64>,
    operations: Option<i64>,
    cpu_ms: Option<f64>,
    request: Option<Json<picloud_shared::RecordedRequest>>,
    replay_of: Option<Uuid>,
    dry_run: bool,
}

/// The columns of an [`ExecutionRow`].
pub(crate) const EXECUTION_COLUMNS: &str = "id, app_id, script_id, request_id, invocation_type, \
     status, status_code, started_at, duration_ms, error, logs, event, outbound, script_version, \
     operations, cpu_ms, request, replay_of, dry_run";

impl From<ExecutionRow> for ExecutionRecord {
    fn from(r: ExecutionRow) -> Self {
        ExecutionRecord {
            id: r.id.into(),
            app_id: AppId(r.app_id),
            script_id: ScriptId(r.script_id),
            request_id: r.request_id.into(),
            invocation_type: r.invocation_type,
            status: ExecStatus::parse(&r.status).unwrap_or(ExecStatus::Error),
            status_code: r.status_code.and_then(|c| u16::try_from(c).ok()),
            started_at: r.started_at,
            duration_ms: r.duration_ms,
            error: r.error,
            logs: r.logs.0,
            event: r.event.map(|e| e.0),
            outbound: r.outbound.map(|o| o.0).unwrap_or_default(),
            script_version: r.script_version,
            operations: r.operations.and_then(|o| u64::try_from(o).ok()),
            cpu_ms: r.cpu_ms,
            request: r.request.map(|r| r.0),
            replay_of: r.replay_of.map(Into::into),
            dry_run: r.dry_run,
        }
    }
}

/// Execution records per SQLite insert statement (19 bound values each).
const SQLITE_CHUNK: usize = 64;

/// Execution records per SQLite transaction at most: a batch is written in
/// several, so the KV writes that share the writer (sqlite_writer.rs) wait
/// for a few hundred inserts at most, not for thousands.
const SQLITE_RECORDS_PER_COMMIT: usize = 4 * SQLITE_CHUNK;

/// The SQLite insert for `rows` execution records: rows whose script was
/// deleted meanwhile are skipped, and so are rows written already (a batch
/// written in several commits is tried again whole after a failure).
/// Built once per row count.
fn sqlite_insert_sql(rows: usize) -> &'static str {
    static SQL: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();
    let all = SQL.get_or_init(|| {
        (0..=SQLITE_CHUNK)
            .map(|n| {
                let row = "(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)";
                let values = vec![row; n].join(",");
                format!(
                    "INSERT INTO executions (id, app_id, script_id, request_id, invocation_type, \
                     status, status_code, started_at, duration_ms, error, logs, event, outbound, \
                     script_version, operations, cpu_ms, request, replay_of, dry_run) \
                     SELECT * FROM (VALUES {values}) AS v \
                     WHERE EXISTS (SELECT 1 FROM scripts s WHERE s.id = v.column3) \
                     ON CONFLICT (script_id, id) DO NOTHING"
                )
            })
            .collect()
    });
    &all[rows]
}

/// The records of a batch that survive its own trim: the newest `keep` of
/// each script (ids are time-ordered). The rest would be deleted by the
/// same transaction that wrote them, so they are not written at all: under
/// a flood the writer's work per batch is bounded by scripts × `keep`, not
/// by the request rate. The rows left in the table are the same.
/// Returned as indices into `batch`.
fn newest_per_script(batch: &[ExecutionRecord], keep: u32) -> Vec<usize> {
    let keep = usize::try_from(keep.max(1)).unwrap_or(usize::MAX);
    let mut sorted: Vec<usize> = (0..batch.len()).collect();
    if sorted.len() <= keep {
        return sorted;
    }
    let at = |i: usize| &batch[i];
    sorted.sort_unstable_by(|&a, &b| (at(a).script_id, at(b).id).cmp(&(at(b).script_id, at(a).id)));
    let mut taken = 0;
    let mut current = None;
    sorted.retain(|&i| {
        if current != Some(at(i).script_id) {
            current = Some(at(i).script_id);
            taken = 0;
        }
        taken += 1;
        taken <= keep
    });
    // Oldest first, as they were queued.
    sorted.sort_unstable_by_key(|&i| at(i).id);
    sorted
}

/// Some of a batch's records as the SQLite writer applies them: inserted,
/// their scripts trimmed to the newest `keep`, and (the batch's last
/// share) the batch's counters added.
struct RecordsChange {
    batch: Arc<[ExecutionRecord]>,
    rows: Vec<usize>,
    /// `keep` - 1, the offset of the oldest record kept.
    keep_offset: i64,
    stats: Vec<BatchStats>,
    /// The batch's share of the usage buckets (usage.rs), with its counters.
    buckets: Vec<usage::BucketCount>,
    /// The first minute of buckets kept.
    first_kept: i64,
}

impl Change for RecordsChange {
    fn apply(&self, conn: &rusqlite::Connection) -> rusqlite::Result<Result<Applied>> {
        const TRIM: &str = "DELETE FROM executions WHERE script_id = ?1 AND id < \
             (SELECT id FROM executions WHERE script_id = ?1 ORDER BY id DESC LIMIT 1 OFFSET ?2)";
        let mut logs = Vec::new();
        for chunk in self.rows.chunks(SQLITE_CHUNK) {
            let mut insert = conn.prepare_cached(sqlite_insert_sql(chunk.len()))?;
            let mut at = 0;
            let mut bind = |value: &dyn rusqlite::ToSql| {
                at += 1;
                insert.raw_bind_parameter(at, value)
            };
            for &i in chunk {
                let r = &self.batch[i];
                logs.clear();
                serde_json::to_writer(&mut logs, &r.logs)
                    .map_err(|e| rusqlite::Error::ToSqlConversionFailure(Box::new(e)))?;
                let logs = std::str::from_utf8(&logs)
                    .map_err(|e| rusqlite::Error::ToSqlConversionFailure(Box::new(e)))?;
                bind(&r.id.0.as_bytes().as_slice())?;
                bind(&r.app_id.0.as_bytes().as_slice())?;
                bind(&r.script_id.0.as_bytes().as_slice())?;
                bind(&r.request_id.0.as_bytes().as_slice())?;
                bind(&r.invocation_type)?;
                bind(&r.status.as_str())?;
                bind(&r.status_code)?;
                bind(&rfc3339(r.started_at))?;
                bind(&r.duration_ms)?;
                bind(&r.error)?;
                bind(&logs)?;
                bind(&r.event.as_ref().map(|e| e.to_string()))?;
                bind(&match r.outbound.is_empty() {
                    true => None,
                    false => Some(
                        serde_json::to_string(&r.outbound)
                            .map_err(|e| rusqlite::Error::ToSqlConversionFailure(Box::new(e)))?,
                    ),
                })?;
                bind(&r.script_version)?;
                bind(&r.operations.map(|o| i64::try_from(o).unwrap_or(i64::MAX)))?;
                bind(&r.cpu_ms)?;
                bind(&match &r.request {
                    None => None,
                    Some(request) => Some(
                        serde_json::to_string(request)
                            .map_err(|e| rusqlite::Error::ToSqlConversionFailure(Box::new(e)))?,
                    ),
                })?;
                bind(&r.replay_of.map(|id| id.0.as_bytes().to_vec()))?;
                bind(&r.dry_run)?;
            }
            insert.raw_execute()?;
        }
        let mut scripts: Vec<ScriptId> =
            self.rows.iter().map(|&i| self.batch[i].script_id).collect();
        scripts.sort_unstable();
        scripts.dedup();
        for s in &scripts {
            conn.prepare_cached(TRIM)?
                .execute((s.0.as_bytes().as_slice(), self.keep_offset))?;
        }
        for st in &self.stats {
            conn.prepare_cached(STATS_UPSERT)?.execute((
                st.script_id.0.as_bytes().as_slice(),
                st.app_id.0.as_bytes().as_slice(),
                st.invocations,
                st.errors,
                st.last_status,
                st.last_run_at,
            ))?;
            conn.prepare_cached(usage::BUCKET_TRIM)?
                .execute((st.script_id.0.as_bytes().as_slice(), self.first_kept))?;
        }
        for b in &self.buckets {
            conn.prepare_cached(usage::BUCKET_UPSERT)?.execute((
                b.script_id.0.as_bytes().as_slice(),
                b.app_id.0.as_bytes().as_slice(),
                b.minute,
                b.metric,
                b.bucket,
                b.count,
            ))?;
        }
        Ok(Ok(Applied::default()))
    }
}

/// Which of a script's executions to list.
#[derive(Clone, Copy, Debug, Default)]
pub struct ExecutionFilter {
    pub status: Option<ExecStatus>,
    pub request_id: Option<RequestId>,
}

/// What a script's executions add up to (`script_stats`), as the scripts
/// list shows it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, utoipa::ToSchema)]
pub struct ScriptStats {
    /// Executions ever recorded, of every kind.
    pub invocations: i64,
    /// Of those, the ones that did not end `ok`.
    pub errors: i64,
    pub last_status: Option<ExecStatus>,
    #[serde(with = "picloud_shared::timestamp::option")]
    pub last_run_at: Option<OffsetDateTime>,
    /// The last 24 hours: executions, errors, and percentiles of duration
    /// and operations (usage.rs).
    pub last_day: usage::DayUsage,
}

#[derive(sqlx::FromRow)]
struct StatsRow {
    script_id: Uuid,
    invocations: i64,
    errors: i64,
    last_status: Option<String>,
    last_run_at: Option<i64>,
}

/// One script's share of a batch of records, for `script_stats`.
struct BatchStats {
    script_id: ScriptId,
    app_id: AppId,
    invocations: i64,
    errors: i64,
    last_status: &'static str,
    /// Milliseconds since the epoch.
    last_run_at: i64,
}

/// Sums a batch per script; the last status is the newest record's.
fn batch_stats(batch: &[ExecutionRecord]) -> Vec<BatchStats> {
    let mut by_script: HashMap<ScriptId, (BatchStats, ExecutionId)> = HashMap::new();
    for r in batch {
        let at = i64::try_from(r.started_at.unix_timestamp_nanos() / 1_000_000).unwrap_or(0);
        let error = i64::from(r.status != ExecStatus::Ok);
        let entry = by_script.entry(r.script_id).or_insert_with(|| {
            let first = BatchStats {
                script_id: r.script_id,
                app_id: r.app_id,
                invocations: 0,
                errors: 0,
                last_status: r.status.as_str(),
                last_run_at: at,
            };
            (first, r.id)
        });
        entry.0.invocations += 1;
        entry.0.errors += error;
        if r.id >= entry.1 {
            entry.0.last_status = r.status.as_str();
            entry.0.last_run_at = at;
            entry.1 = r.id;
        }
    }
    let mut stats: Vec<BatchStats> = by_script.into_values().map(|(s, _)| s).collect();
    // In key order: concurrent writers on PostgreSQL lock rows alike.
    stats.sort_unstable_by_key(|s| s.script_id);
    stats
}

/// Adds a batch's share to a script's counters, unless the script is gone.
/// The same statement on both backends (the ids are bound as UUIDs).
const STATS_UPSERT: &str = "INSERT INTO script_stats \
     (script_id, app_id, invocations, errors, last_status, last_run_at) \
     SELECT $1, $2, $3, $4, $5, $6 WHERE EXISTS (SELECT 1 FROM scripts WHERE id = $1) \
     ON CONFLICT (script_id) DO UPDATE SET \
     invocations = script_stats.invocations + excluded.invocations, \
     errors = script_stats.errors + excluded.errors, \
     last_status = CASE WHEN script_stats.last_run_at IS NULL \
         OR excluded.last_run_at >= script_stats.last_run_at \
         THEN excluded.last_status ELSE script_stats.last_status END, \
     last_run_at = CASE WHEN script_stats.last_run_at IS NULL \
         OR excluded.last_run_at >= script_stats.last_run_at \
         THEN excluded.last_run_at ELSE script_stats.last_run_at END";

/// A timestamp as RFC 3339 text, in the one fixed format
/// ([`picloud_shared::timestamp`]).
pub fn rfc3339(at: OffsetDateTime) -> String {
    picloud_shared::timestamp::format(at)
}

/// Timestamps are stored at microsecond precision on both backends.
pub fn now() -> OffsetDateTime {
    let now = OffsetDateTime::now_utc();
    now.replace_nanosecond(now.nanosecond() / 1000 * 1000)
        .unwrap_or(now)
}

/// Writes `$s` as a version of its script, saved by `$note`, in
/// transaction `$tx` (a macro: the same code for either backend's
/// transaction type).
macro_rules! insert_version {
    ($tx:ident, $s:expr, $note:expr) => {
        sqlx::query(history::INSERT_VERSION)
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
    // ----- apps -----

    pub async fn app_by_id(&self, id: AppId) -> Result<Option<App>> {
        let sql = format!("SELECT {APP_COLUMNS} FROM apps WHERE id = $1");
        let row: Option<AppRow> =
            with_db!(self, pool => sqlx::query_as(&sql).bind(id.0).fetch_optional(pool).await)?;
        Ok(row.map(App::from))
    }

    pub async fn app_by_name(&self, name: &str) -> Result<Option<App>> {
        let sql = format!("SELECT {APP_COLUMNS} FROM apps WHERE name = $1");
        let row: Option<AppRow> =
            with_db!(self, pool => sqlx::query_as(&sql).bind(name).fetch_optional(pool).await)?;
        Ok(row.map(App::from))
    }

    pub async fn apps(&self) -> Result<Vec<App>> {
        let sql = format!("SELECT {APP_COLUMNS} FROM apps ORDER BY name");
        let rows: Vec<AppRow> = with_db!(self, pool => sqlx::query_as(&sql).fetch_all(pool).await)?;
        Ok(rows.into_iter().map(App::from).collect())
    }

    pub async fn insert_app(&self, app: &App) -> Result<App> {
        let sql = format!(
            "INSERT INTO apps (id, name, description, created_at) \
             VALUES ($1, $2, $3, $4) RETURNING {APP_COLUMNS}"
        );
        let row: std::result::Result<AppRow, sqlx::Error> = with_db!(self, pool => sqlx::query_as(&sql)
            .bind(app.id.0).bind(&app.name).bind(&app.description).bind(app.created_at)
            .fetch_one(pool).await);
        match row {
            Ok(r) => Ok(r.into()),
            Err(e) if is_unique_violation(&e) => Err(Error::Conflict(format!(
                "an app named {:?} already exists",
                app.name
            ))),
            Err(e) => Err(e.into()),
        }
    }

    /// What the apps that keep requests keep (for the data plane's routing
    /// snapshot).
    pub async fn app_recordings(&self) -> Result<Vec<(AppId, picloud_shared::Recording)>> {
        let sql = format!("SELECT {APP_COLUMNS} FROM apps WHERE record_requests <> 'off'");
        let rows: Vec<AppRow> = with_db!(self, pool => sqlx::query_as(&sql).fetch_all(pool).await)?;
        Ok(rows
            .into_iter()
            .map(App::from)
            .map(|a| {
                let recording = picloud_shared::Recording {
                    mode: a.record_requests,
                    redact: a.redact_headers,
                };
                (a.id, recording)
            })
            .collect())
    }

    /// Sets what an app keeps of its requests and its description; the app
    /// as it is now, `None` when it is gone.
    pub async fn update_app(
        &self,
        id: AppId,
        description: &str,
        record_requests: RecordRequests,
        redact_headers: &[String],
    ) -> Result<Option<App>> {
        let sql = format!(
            "UPDATE apps SET description = $2, record_requests = $3, redact_headers = $4 \
             WHERE id = $1 RETURNING {APP_COLUMNS}"
        );
        let row: Option<AppRow> = with_db!(self, pool => sqlx::query_as(&sql)
            .bind(id.0)
            .bind(description)
            .bind(record_requests.as_str())
            .bind(Json(redact_headers))
            .fetch_optional(pool)
            .await)?;
        Ok(row.map(App::from))
    }

    /// Runs a `DELETE ... WHERE id = $1`; whether a row went.
    async fn delete_by_id(&self, sql: &'static str, id: Uuid) -> Result<bool> {
        let n = with_db!(self, pool => sqlx::query(sql).bind(id).execute(pool).await
            .map(|r| r.rows_affected()))?;
        Ok(n > 0)
    }

    /// Deletes an app and, by cascade, everything it owns.
    pub async fn delete_app(&self, id: AppId) -> Result<bool> {
        self.delete_by_id("DELETE FROM apps WHERE id = $1", id.0)
            .await
    }

    // ----- routes -----

    pub async fn insert_route(&self, r: &Route) -> Result<Route> {
        let sql = format!(
            "INSERT INTO routes ({ROUTE_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6) RETURNING {ROUTE_COLUMNS}"
        );
        let methods = r
            .methods
            .as_ref()
            .map(|m| serde_json::to_string(m).unwrap_or_else(|_| "[]".into()));
        let row: RouteRow = with_db!(self, pool => sqlx::query_as(&sql)
            .bind(r.id.0).bind(r.app_id.0).bind(r.script_id.0).bind(&r.path).bind(methods)
            .bind(r.created_at).fetch_one(pool).await)?;
        row.try_into()
    }

    /// Every route of every app, oldest first.
    pub async fn routes(&self) -> Result<Vec<Route>> {
        let sql = format!("SELECT {ROUTE_COLUMNS} FROM routes ORDER BY id");
        let rows: Vec<RouteRow> =
            with_db!(self, pool => sqlx::query_as(&sql).fetch_all(pool).await)?;
        rows.into_iter().map(Route::try_from).collect()
    }

    pub async fn routes_in_app(&self, app: AppId) -> Result<Vec<Route>> {
        let sql = format!("SELECT {ROUTE_COLUMNS} FROM routes WHERE app_id = $1 ORDER BY path, id");
        let rows: Vec<RouteRow> =
            with_db!(self, pool => sqlx::query_as(&sql).bind(app.0).fetch_all(pool).await)?;
        rows.into_iter().map(Route::try_from).collect()
    }

    pub async fn route_by_id(&self, id: RouteId) -> Result<Option<Route>> {
        let sql = format!("SELECT {ROUTE_COLUMNS} FROM routes WHERE id = $1");
        let row: Option<RouteRow> =
            with_db!(self, pool => sqlx::query_as(&sql).bind(id.0).fetch_optional(pool).await)?;
        row.map(Route::try_from).transpose()
    }

    pub async fn delete_route(&self, id: RouteId) -> Result<bool> {
        self.delete_by_id("DELETE FROM routes WHERE id = $1", id.0)
            .await
    }

    // ----- domains -----

    pub async fn insert_domain(&self, d: &Domain) -> Result<Domain> {
        let sql = format!(
            "INSERT INTO domains ({DOMAIN_COLUMNS}) VALUES ($1, $2, $3, $4) RETURNING {DOMAIN_COLUMNS}"
        );
        let row: std::result::Result<DomainRow, sqlx::Error> = with_db!(self, pool => sqlx::query_as(&sql)
            .bind(d.id.0).bind(d.app_id.0).bind(&d.pattern).bind(d.created_at)
            .fetch_one(pool).await);
        match row {
            Ok(r) => Ok(r.into()),
            Err(e) if is_unique_violation(&e) => Err(Error::Conflict(format!(
                "the domain {:?} is already claimed",
                d.pattern
            ))),
            Err(e) => Err(e.into()),
        }
    }

    /// Every claim of every app.
    pub async fn domains(&self) -> Result<Vec<Domain>> {
        let sql = format!("SELECT {DOMAIN_COLUMNS} FROM domains ORDER BY id");
        let rows: Vec<DomainRow> =
            with_db!(self, pool => sqlx::query_as(&sql).fetch_all(pool).await)?;
        Ok(rows.into_iter().map(Domain::from).collect())
    }

    pub async fn domains_of_app(&self, app: AppId) -> Result<Vec<Domain>> {
        let sql =
            format!("SELECT {DOMAIN_COLUMNS} FROM domains WHERE app_id = $1 ORDER BY pattern");
        let rows: Vec<DomainRow> =
            with_db!(self, pool => sqlx::query_as(&sql).bind(app.0).fetch_all(pool).await)?;
        Ok(rows.into_iter().map(Domain::from).collect())
    }

    /// Deletes a claim of `app` (a claim of another app is not touched);
    /// the released pattern, if there was such a claim.
    pub async fn delete_domain(&self, app: AppId, id: DomainId) -> Result<Option<String>> {
        const SQL: &str = "DELETE FROM domains WHERE id = $1 AND app_id = $2 RETURNING pattern";
        Ok(
            with_db!(self, pool => sqlx::query_scalar(SQL).bind(id.0).bind(app.0)
            .fetch_optional(pool).await)?,
        )
    }

    // ----- users and sessions -----

    pub async fn count_users(&self) -> Result<i64> {
        const SQL: &str = "SELECT COUNT(*) FROM users";
        Ok(with_db!(self, pool => sqlx::query_scalar(SQL).fetch_one(pool).await)?)
    }

    /// Every user, by username.
    pub async fn users(&self) -> Result<Vec<User>> {
        const SQL: &str = "SELECT id, username, role, created_at FROM users ORDER BY username";
        let rows: Vec<UserRow> = with_db!(self, pool => sqlx::query_as(SQL).fetch_all(pool).await)?;
        Ok(rows.into_iter().map(User::from).collect())
    }

    pub async fn user_by_id(&self, id: UserId) -> Result<Option<User>> {
        const SQL: &str = "SELECT id, username, role, created_at FROM users WHERE id = $1";
        let row: Option<UserRow> =
            with_db!(self, pool => sqlx::query_as(SQL).bind(id.0).fetch_optional(pool).await)?;
        Ok(row.map(User::from))
    }

    pub async fn user_by_name(&self, username: &str) -> Result<Option<User>> {
        const SQL: &str = "SELECT id, username, role, created_at FROM users WHERE username = $1";
        let row: Option<UserRow> =
            with_db!(self, pool => sqlx::query_as(SQL).bind(username).fetch_optional(pool).await)?;
        Ok(row.map(User::from))
    }

    pub async fn count_admins(&self) -> Result<i64> {
        const SQL: &str = "SELECT COUNT(*) FROM users WHERE role = 'admin'";
        Ok(with_db!(self, pool => sqlx::query_scalar(SQL).fetch_one(pool).await)?)
    }

    /// Deletes a user; their sessions go with them (cascade).
    pub async fn delete_user(&self, id: UserId) -> Result<bool> {
        self.delete_by_id("DELETE FROM users WHERE id = $1", id.0)
            .await
    }

    /// Creates a user; a taken username is a conflict.
    pub async fn insert_user(
        &self,
        username: &str,
        password_hash: &str,
        role: UserRole,
    ) -> Result<User> {
        const SQL: &str = "INSERT INTO users (id, username, password_hash, role, created_at) \
                           VALUES ($1, $2, $3, $4, $5) RETURNING id, username, role, created_at";
        let id = UserId::new();
        let row: std::result::Result<UserRow, sqlx::Error> = with_db!(self, pool => sqlx::query_as(SQL)
            .bind(id.0).bind(username).bind(password_hash).bind(role.as_str()).bind(now())
            .fetch_one(pool).await);
        match row {
            Ok(r) => Ok(r.into()),
            Err(e) if is_unique_violation(&e) => Err(Error::Conflict(format!(
                "the username {username:?} is taken"
            ))),
            Err(e) => Err(e.into()),
        }
    }

    /// The user and their password hash, by username.
    pub async fn user_credentials(&self, username: &str) -> Result<Option<(User, String)>> {
        const SQL: &str =
            "SELECT id, username, role, created_at, password_hash FROM users WHERE username = $1";
        #[derive(sqlx::FromRow)]
        struct Row {
            #[sqlx(flatten)]
            user: UserRow,
            password_hash: String,
        }
        let row: Option<Row> =
            with_db!(self, pool => sqlx::query_as(SQL).bind(username).fetch_optional(pool).await)?;
        Ok(row.map(|r| (r.user.into(), r.password_hash)))
    }

    pub async fn insert_session(
        &self,
        user: UserId,
        token_hash: &[u8],
        expires_at: OffsetDateTime,
    ) -> Result<()> {
        const SQL: &str = "INSERT INTO sessions (id, user_id, token_hash, created_at, last_used_at, expires_at) \
                           VALUES ($1, $2, $3, $4, $4, $5)";
        let now = now();
        with_db!(self, pool => sqlx::query(SQL).bind(Uuid::now_v7()).bind(user.0).bind(token_hash)
            .bind(now).bind(expires_at).execute(pool).await.map(drop))?;
        Ok(())
    }

    /// The session's user, its last use and expiry, if the token hash is
    /// known and the session has not expired.
    pub async fn session_user(
        &self,
        token_hash: &[u8],
        at: OffsetDateTime,
    ) -> Result<Option<(User, OffsetDateTime, OffsetDateTime)>> {
        const SQL: &str = "SELECT u.id, u.username, u.role, u.created_at, s.last_used_at, s.expires_at \
                           FROM sessions s JOIN users u ON u.id = s.user_id \
                           WHERE s.token_hash = $1 AND s.expires_at > $2";
        #[derive(sqlx::FromRow)]
        struct Row {
            #[sqlx(flatten)]
            user: UserRow,
            last_used_at: OffsetDateTime,
            expires_at: OffsetDateTime,
        }
        let row: Option<Row> = with_db!(self, pool => sqlx::query_as(SQL)
            .bind(token_hash).bind(at).fetch_optional(pool).await)?;
        Ok(row.map(|r| (r.user.into(), r.last_used_at, r.expires_at)))
    }

    /// Slides a session's expiry.
    pub async fn touch_session(
        &self,
        token_hash: &[u8],
        at: OffsetDateTime,
        expires_at: OffsetDateTime,
    ) -> Result<()> {
        const SQL: &str =
            "UPDATE sessions SET last_used_at = $2, expires_at = $3 WHERE token_hash = $1";
        with_db!(self, pool => sqlx::query(SQL).bind(token_hash).bind(at).bind(expires_at)
            .execute(pool).await.map(drop))?;
        Ok(())
    }

    pub async fn delete_session(&self, token_hash: &[u8]) -> Result<bool> {
        const SQL: &str = "DELETE FROM sessions WHERE token_hash = $1";
        let done = with_db!(self, pool => sqlx::query(SQL).bind(token_hash).execute(pool).await
            .map(|r| r.rows_affected()))?;
        Ok(done > 0)
    }

    // ----- API tokens -----

    pub async fn insert_api_token(&self, t: &ApiToken, token_hash: &[u8]) -> Result<()> {
        const SQL: &str = "INSERT INTO api_tokens (id, user_id, name, token_hash, created_at, expires_at) \
                           VALUES ($1, $2, $3, $4, $5, $6)";
        with_db!(self, pool => sqlx::query(SQL).bind(t.id).bind(t.user_id.0).bind(&t.name)
            .bind(token_hash).bind(t.created_at).bind(t.expires_at).execute(pool).await.map(drop))?;
        Ok(())
    }

    /// A user's tokens, newest first.
    pub async fn api_tokens_of(&self, user: UserId) -> Result<Vec<ApiToken>> {
        const SQL: &str = "SELECT id, user_id, name, created_at, last_used_at, expires_at \
                           FROM api_tokens WHERE user_id = $1 ORDER BY id DESC";
        let rows: Vec<ApiTokenRow> =
            with_db!(self, pool => sqlx::query_as(SQL).bind(user.0).fetch_all(pool).await)?;
        Ok(rows.into_iter().map(ApiToken::from).collect())
    }

    /// The token's user and its last use, if it is known and not expired.
    pub async fn api_token_user(
        &self,
        token_hash: &[u8],
        at: OffsetDateTime,
    ) -> Result<Option<(User, Option<OffsetDateTime>)>> {
        const SQL: &str = "SELECT u.id, u.username, u.role, u.created_at, t.last_used_at \
                           FROM api_tokens t JOIN users u ON u.id = t.user_id \
                           WHERE t.token_hash = $1 AND (t.expires_at IS NULL OR t.expires_at > $2)";
        #[derive(sqlx::FromRow)]
        struct Row {
            #[sqlx(flatten)]
            user: UserRow,
            last_used_at: Option<OffsetDateTime>,
        }
        let row: Option<Row> = with_db!(self, pool => sqlx::query_as(SQL)
            .bind(token_hash).bind(at).fetch_optional(pool).await)?;
        Ok(row.map(|r| (r.user.into(), r.last_used_at)))
    }

    pub async fn touch_api_token(&self, token_hash: &[u8], at: OffsetDateTime) -> Result<()> {
        const SQL: &str = "UPDATE api_tokens SET last_used_at = $2 WHERE token_hash = $1";
        with_db!(self, pool => sqlx::query(SQL).bind(token_hash).bind(at)
            .execute(pool).await.map(drop))?;
        Ok(())
    }

    /// Revokes one of `user`'s tokens (another user's is not touched).
    pub async fn delete_api_token(&self, user: UserId, id: Uuid) -> Result<bool> {
        const SQL: &str = "DELETE FROM api_tokens WHERE id = $1 AND user_id = $2";
        let n = with_db!(self, pool => sqlx::query(SQL).bind(id).bind(user.0).execute(pool).await
            .map(|r| r.rows_affected()))?;
        Ok(n > 0)
    }

    /// Removes every expired session (done at each sign-in, so they never
    /// pile up and no timer is needed; an expired token is refused anyway).
    pub async fn purge_expired_sessions(&self, at: OffsetDateTime) -> Result<()> {
        const SQL: &str = "DELETE FROM sessions WHERE expires_at <= $1";
        with_db!(self, pool => sqlx::query(SQL).bind(at).execute(pool).await.map(drop))?;
        Ok(())
    }

    // ----- scripts -----

    /// Stores a new script and its first version, in one transaction.
    pub async fn insert_script(&self, s: &Script, note: &VersionNote) -> Result<Script> {
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
    pub async fn update_script(
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
            sqlx::query(history::TRIM_VERSIONS)
                .bind(s.id.0).bind(s.version - i64::from(keep.max(1)))
                .execute(&mut *tx).await?;
            tx.commit().await?;
            Ok(row)
        }.await)?;
        row.map(Script::try_from).transpose()
    }

    pub async fn script_by_id(&self, id: ScriptId) -> Result<Option<Script>> {
        let sql = format!("SELECT {SCRIPT_COLUMNS} FROM scripts WHERE id = $1");
        let row: Option<ScriptRow> =
            with_db!(self, pool => sqlx::query_as(&sql).bind(id.0).fetch_optional(pool).await)?;
        row.map(Script::try_from).transpose()
    }

    pub async fn script_by_name(&self, app: AppId, name: &str) -> Result<Option<Script>> {
        let sql = format!("SELECT {SCRIPT_COLUMNS} FROM scripts WHERE app_id = $1 AND name = $2");
        let row: Option<ScriptRow> = with_db!(self, pool => sqlx::query_as(&sql)
            .bind(app.0).bind(name).fetch_optional(pool).await)?;
        row.map(Script::try_from).transpose()
    }

    pub async fn scripts_in_app(&self, app: AppId) -> Result<Vec<Script>> {
        let sql = format!("SELECT {SCRIPT_COLUMNS} FROM scripts WHERE app_id = $1 ORDER BY name");
        let rows: Vec<ScriptRow> =
            with_db!(self, pool => sqlx::query_as(&sql).bind(app.0).fetch_all(pool).await)?;
        rows.into_iter().map(Script::try_from).collect()
    }

    /// Deletes a script and its history.
    pub async fn delete_script(&self, id: ScriptId) -> Result<bool> {
        let deleted = with_db!(self, pool => async {
            let mut tx = pool.begin().await?;
            sqlx::query(history::DELETE_VERSIONS).bind(id.0).execute(&mut *tx).await?;
            let n = sqlx::query("DELETE FROM scripts WHERE id = $1")
                .bind(id.0).execute(&mut *tx).await?.rows_affected();
            tx.commit().await?;
            Ok::<_, sqlx::Error>(n > 0)
        }.await)?;
        Ok(deleted)
    }

    // ----- executions -----

    /// Writes a batch of records, trims each touched script to its newest
    /// `keep` records and adds the batch to the scripts' counters. Records
    /// whose script was deleted meanwhile are skipped.
    ///
    /// On PostgreSQL one transaction, the batch bound as one JSON array and
    /// unpacked by the database itself (one statement and one encoding, not
    /// one per value). On SQLite through the file's one writer
    /// (sqlite_writer.rs), in commits of a few hundred records shared with
    /// the KV writes waiting then, bound column by column (unpacking JSON
    /// in SQL cost more than the inserts there); the counters come with
    /// the last commit, and a batch tried again after a failure skips the
    /// records written already.
    pub async fn insert_executions(&self, batch: Arc<[ExecutionRecord]>, keep: u32) -> Result<()> {
        const POSTGRES_INSERT: &str = "INSERT INTO executions (id, app_id, script_id, request_id, \
             invocation_type, status, status_code, started_at, duration_ms, error, logs, event, outbound, \
             script_version, operations, cpu_ms, request, replay_of, dry_run) \
             SELECT j.id, j.app_id, j.script_id, j.request_id, j.invocation_type, j.status, j.status_code, \
             j.started_at, j.duration_ms, j.error, j.logs, j.event, j.outbound, \
             j.script_version, j.operations, j.cpu_ms, j.request, j.replay_of, coalesce(j.dry_run, false) \
             FROM jsonb_to_recordset($1::jsonb) AS j(id uuid, app_id uuid, script_id uuid, request_id uuid, \
             invocation_type text, status text, status_code integer, started_at timestamptz, \
             duration_ms double precision, error text, logs jsonb, event jsonb, outbound jsonb, \
             script_version bigint, operations bigint, cpu_ms double precision, request jsonb, \
             replay_of uuid, dry_run boolean) \
             WHERE EXISTS (SELECT 1 FROM scripts s WHERE s.id = j.script_id)";
        // Keep the newest `keep`: delete everything older than the keep-th newest.
        const TRIM: &str = "DELETE FROM executions WHERE script_id = $1 AND id < \
             (SELECT id FROM executions WHERE script_id = $1 ORDER BY id DESC LIMIT 1 OFFSET $2)";
        if batch.is_empty() {
            return Ok(());
        }
        let mut stats = batch_stats(&batch);
        let mut buckets = usage::batch_buckets(&batch);
        let first_kept = usage::first_kept(OffsetDateTime::now_utc());
        let kept = newest_per_script(&batch, keep);
        let keep_offset = i64::from(keep.max(1)) - 1;
        match self {
            Db::Sqlite(_, writer) => {
                let mut shares = kept.chunks(SQLITE_RECORDS_PER_COMMIT).peekable();
                while let Some(rows) = shares.next() {
                    let change = Box::new(RecordsChange {
                        batch: Arc::clone(&batch),
                        rows: rows.to_vec(),
                        keep_offset,
                        stats: if shares.peek().is_none() {
                            std::mem::take(&mut stats)
                        } else {
                            Vec::new()
                        },
                        buckets: if shares.peek().is_none() {
                            std::mem::take(&mut buckets)
                        } else {
                            Vec::new()
                        },
                        first_kept,
                    });
                    writer.write_from_async(change).await?;
                }
            }
            Db::Postgres(pool) => {
                let rows: Vec<&ExecutionRecord> = kept.iter().map(|&i| &batch[i]).collect();
                let mut scripts: Vec<ScriptId> = rows.iter().map(|r| r.script_id).collect();
                scripts.sort_unstable();
                scripts.dedup();
                let json = serde_json::to_string(&rows)
                    .map_err(|e| Error::Internal(format!("encoding execution records: {e}")))?;
                let json = without_nul_escapes(&json);
                let mut tx = pool.begin().await?;
                sqlx::query(POSTGRES_INSERT)
                    .bind(json.as_ref())
                    .execute(&mut *tx)
                    .await?;
                for s in &scripts {
                    sqlx::query(TRIM)
                        .bind(s.0)
                        .bind(keep_offset)
                        .execute(&mut *tx)
                        .await?;
                }
                for st in &stats {
                    sqlx::query(STATS_UPSERT)
                        .bind(st.script_id.0)
                        .bind(st.app_id.0)
                        .bind(st.invocations)
                        .bind(st.errors)
                        .bind(st.last_status)
                        .bind(st.last_run_at)
                        .execute(&mut *tx)
                        .await?;
                    sqlx::query(usage::BUCKET_TRIM)
                        .bind(st.script_id.0)
                        .bind(first_kept)
                        .execute(&mut *tx)
                        .await?;
                }
                for b in &buckets {
                    sqlx::query(usage::BUCKET_UPSERT)
                        .bind(b.script_id.0)
                        .bind(b.app_id.0)
                        .bind(b.minute)
                        .bind(b.metric)
                        .bind(b.bucket)
                        .bind(b.count)
                        .execute(&mut *tx)
                        .await?;
                }
                tx.commit().await?;
            }
        }
        Ok(())
    }

    /// The counters of an app's scripts (`script_stats`); scripts that
    /// never ran have no entry.
    pub async fn script_stats(&self, app: AppId) -> Result<HashMap<ScriptId, ScriptStats>> {
        const SQL: &str = "SELECT script_id, invocations, errors, last_status, last_run_at \
             FROM script_stats WHERE app_id = $1";
        let rows: Vec<StatsRow> =
            with_db!(self, pool => sqlx::query_as(SQL).bind(app.0).fetch_all(pool).await)?;
        Ok(rows
            .into_iter()
            .map(|r| {
                let stats = ScriptStats {
                    invocations: r.invocations,
                    errors: r.errors,
                    last_status: r.last_status.as_deref().and_then(ExecStatus::parse),
                    last_run_at: r.last_run_at.and_then(|ms| {
                        OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000).ok()
                    }),
                    last_day: usage::DayUsage::default(),
                };
                (ScriptId(r.script_id), stats)
            })
            .collect())
    }

    /// A script's newest executions, newest first, optionally only those
    /// that ended in `status` or belong to one request.
    pub async fn executions_of(
        &self,
        script: ScriptId,
        limit: u32,
        filter: &ExecutionFilter,
    ) -> Result<Vec<ExecutionRecord>> {
        let uuid = match self {
            Db::Sqlite(..) => "",
            Db::Postgres(_) => "::uuid",
        };
        let mut sql = format!("SELECT {EXECUTION_COLUMNS} FROM executions WHERE script_id = $1");
        let mut next = 2;
        if filter.status.is_some() {
            sql.push_str(&format!(" AND status = ${next}"));
            next += 1;
        }
        if filter.request_id.is_some() {
            sql.push_str(&format!(" AND request_id = ${next}{uuid}"));
            next += 1;
        }
        sql.push_str(&format!(" ORDER BY id DESC LIMIT ${next}"));
        let rows: Vec<ExecutionRow> = with_db!(self, pool => {
            let mut q = sqlx::query_as(&sql).bind(script.0);
            if let Some(status) = filter.status {
                q = q.bind(status.as_str());
            }
            if let Some(request) = filter.request_id {
                q = q.bind(request.0);
            }
            q.bind(i64::from(limit)).fetch_all(pool).await
        })?;
        Ok(rows.into_iter().map(ExecutionRecord::from).collect())
    }

    /// One execution record, by id.
    pub async fn execution(&self, id: ExecutionId) -> Result<Option<ExecutionRecord>> {
        let sql = format!("SELECT {EXECUTION_COLUMNS} FROM executions WHERE id = $1");
        let row: Option<ExecutionRow> =
            with_db!(self, pool => sqlx::query_as(&sql).bind(id.0).fetch_optional(pool).await)?;
        Ok(row.map(ExecutionRecord::from))
    }
}

#[cfg(test)]
mod tests {
    use super::without_nul_escapes;

    #[test]
    fn nul_escapes_become_replacement_characters() {
        let json = serde_json::to_string(&serde_json::json!({
            "a": "x\u{0}y",
            "b": "\\u0000 is text",
            "c": "\\\u{0}",
            "d": "é\"\u{0}",
        }))
        .unwrap();
        let out = without_nul_escapes(&json);
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(v["a"], "x\u{fffd}y");
        assert_eq!(v["b"], "\\u0000 is text");
        assert_eq!(v["c"], "\\\u{fffd}");
        assert_eq!(v["d"], "é\"\u{fffd}");
        let clean = r#"{"a":"\\u0000"}"#;
        assert!(
            matches!(without_nul_escapes(clean), std::borrow::Cow::Borrowed(_))
                || without_nul_escapes(clean) == clean
        );
        assert_eq!(without_nul_escapes(clean), clean);
    }
}
