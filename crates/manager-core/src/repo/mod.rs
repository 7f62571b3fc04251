//! Queries, written once for both backends (see [`crate::db`]), one file
//! per table family; the types they answer are re-exported here.

mod apps;
mod audit;
mod buckets;
mod domains;
mod executions;
mod members;
mod routes;
mod scripts;
mod users;
mod versions;

use picloud_shared::AppId;
use time::OffsetDateTime;
use uuid::Uuid;

pub use apps::App;
pub use audit::{AuditEntry, AuditScope};
pub(crate) use buckets::{BUCKET_TRIM, BUCKET_UPSERT, BucketsOf};
pub use domains::Domain;
pub use executions::{ExecutionFilter, ScriptStats};
pub use members::Member;
pub use routes::Route;
pub(crate) use routes::{methods_column, stored_methods};
pub use users::{ApiToken, User, UserRole};
pub(crate) use versions::{DELETE_VERSIONS, INSERT_VERSION, TRIM_VERSIONS};
pub use versions::{ScriptVersion, ScriptVersionSummary};

/// The id the first migration gives the `default` app.
pub const DEFAULT_APP_ID: AppId = AppId(Uuid::from_u128(0x0000_0000_0000_4000_8000_0000_0000_0000));

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
