//! The `script_buckets` table: per script and minute, counts and
//! histograms of its executions (what they mean is in `usage.rs`).

use picloud_shared::{AppId, ScriptId};
use uuid::Uuid;

use crate::db::Db;
use crate::error::Result;
use crate::with_db;

/// Adds one row's share, unless the script is gone. The same statement on
/// both backends.
pub(crate) const BUCKET_UPSERT: &str = "INSERT INTO script_buckets \
     (script_id, app_id, minute, metric, bucket, count) \
     SELECT $1, $2, $3, $4, $5, $6 WHERE EXISTS (SELECT 1 FROM scripts WHERE id = $1) \
     ON CONFLICT (script_id, minute, metric, bucket) DO UPDATE SET \
     count = script_buckets.count + excluded.count";

/// Drops a script's buckets older than a day: `$2` is the first minute kept.
pub(crate) const BUCKET_TRIM: &str =
    "DELETE FROM script_buckets WHERE script_id = $1 AND minute < $2";

#[derive(sqlx::FromRow)]
pub(crate) struct BucketRow {
    pub script_id: Uuid,
    pub minute: i64,
    pub metric: String,
    pub bucket: i64,
    pub count: i64,
}

/// Whose buckets to read.
#[derive(Clone, Copy, Debug)]
pub(crate) enum BucketsOf {
    Script(ScriptId),
    App(AppId),
}

impl Db {
    /// The buckets of a script or of an app's scripts from minute `from` on.
    pub(crate) async fn bucket_rows(&self, of: BucketsOf, from: i64) -> Result<Vec<BucketRow>> {
        const BY_SCRIPT: &str = "SELECT script_id, minute, metric, bucket, count \
             FROM script_buckets WHERE script_id = $1 AND minute >= $2";
        const BY_APP: &str = "SELECT script_id, minute, metric, bucket, count \
             FROM script_buckets WHERE app_id = $1 AND minute >= $2";
        let (sql, id) = match of {
            BucketsOf::Script(s) => (BY_SCRIPT, s.0),
            BucketsOf::App(a) => (BY_APP, a.0),
        };
        let rows: Vec<BucketRow> = with_db!(self, pool => sqlx::query_as(sql)
            .bind(id).bind(from).fetch_all(pool).await)?;
        Ok(rows)
    }
}
