//! Execution records: the batched insert for both backends, the retention trim, the counters; listing and finding them.

use std::collections::HashMap;
use std::sync::Arc;

use picloud_shared::{
    AppId, ExecStatus, ExecutionId, ExecutionRecord, InvocationType, LogEntry, RequestId, ScriptId,
};
use serde::Serialize;
use sqlx::types::Json;
use time::OffsetDateTime;
use uuid::Uuid;

use super::rfc3339;
use crate::db::Db;
use crate::error::{Error, Result};
use crate::sqlite_writer::{Applied, Change};
use crate::usage;
use crate::with_db;

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
const EXECUTION_COLUMNS: &str = "id, app_id, script_id, request_id, invocation_type, \
     status, status_code, started_at, duration_ms, error, logs, event, outbound, script_version, \
     operations, cpu_ms, request, replay_of, dry_run";

impl From<ExecutionRow> for ExecutionRecord {
    fn from(r: ExecutionRow) -> Self {
        ExecutionRecord {
            id: r.id.into(),
            app_id: AppId(r.app_id),
            script_id: ScriptId(r.script_id),
            request_id: r.request_id.into(),
            invocation_type: InvocationType::parse(&r.invocation_type)
                .unwrap_or(InvocationType::Http),
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
                bind(&r.invocation_type.as_str())?;
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
            conn.prepare_cached(super::BUCKET_TRIM)?
                .execute((st.script_id.0.as_bytes().as_slice(), self.first_kept))?;
        }
        for b in &self.buckets {
            conn.prepare_cached(super::BUCKET_UPSERT)?.execute((
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

/// Keeps a script's newest records: deletes everything older than the
/// (`$2` + 1)-th newest. Like every statement the records writer runs on
/// both backends (rusqlite on SQLite, sqlx on PostgreSQL), written once:
/// SQLite numbers `$N` parameters in order of first appearance, so binding
/// by position works there too.
const TRIM: &str = "DELETE FROM executions WHERE script_id = $1 AND id < \
     (SELECT id FROM executions WHERE script_id = $1 ORDER BY id DESC LIMIT 1 OFFSET $2)";

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

impl Db {
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
    pub(crate) async fn insert_executions(
        &self,
        batch: Arc<[ExecutionRecord]>,
        keep: u32,
    ) -> Result<()> {
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
                    sqlx::query(super::BUCKET_TRIM)
                        .bind(st.script_id.0)
                        .bind(first_kept)
                        .execute(&mut *tx)
                        .await?;
                }
                for b in &buckets {
                    sqlx::query(super::BUCKET_UPSERT)
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
    pub(crate) async fn script_stats(&self, app: AppId) -> Result<HashMap<ScriptId, ScriptStats>> {
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
    pub(crate) async fn executions_of(
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
    pub(crate) async fn execution(&self, id: ExecutionId) -> Result<Option<ExecutionRecord>> {
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
