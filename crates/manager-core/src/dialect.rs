//! What differs in SQL between the two backends, as data. A query's body is
//! written once inside `with_db!` (compiled once per backend, so it is
//! type-checked on both) and asks its pool or its connection for the few
//! fragments and steps that differ, rather than being written out twice.

use std::future::Future;

use sqlx::{PgConnection, PgPool, SqliteConnection, SqlitePool};

/// SQL fragments that differ between SQLite and PostgreSQL.
pub(crate) trait Dialect {
    /// Parameter `$n`, bound as JSON text, as a JSON column's value:
    /// `json($n)` (SQLite keeps the text, minified) or `$n::jsonb`.
    fn json_param(&self, n: u8) -> String;

    /// What a claim adds so concurrent claimers skip each other's rows
    /// (PostgreSQL); nothing on SQLite, where one writer runs at a time.
    fn skip_locked(&self) -> &'static str;

    /// The length in bytes of a text expression, as a 64-bit integer.
    fn byte_length(&self, expr: &str) -> String;
}

impl Dialect for SqlitePool {
    fn json_param(&self, n: u8) -> String {
        format!("json(${n})")
    }

    fn skip_locked(&self) -> &'static str {
        ""
    }

    fn byte_length(&self, expr: &str) -> String {
        format!("length(CAST({expr} AS BLOB))")
    }
}

impl Dialect for PgPool {
    fn json_param(&self, n: u8) -> String {
        format!("${n}::jsonb")
    }

    fn skip_locked(&self) -> &'static str {
        "FOR UPDATE SKIP LOCKED"
    }

    fn byte_length(&self, expr: &str) -> String {
        format!("octet_length({expr})::bigint")
    }
}

/// Steps a write takes on one backend only.
pub(crate) trait Announce {
    /// Tells every process's dispatcher that events were queued: a
    /// PostgreSQL `NOTIFY`, sent when the transaction commits; nothing on
    /// SQLite, where one process owns the file and wakes its own.
    fn announce_events(&mut self) -> impl Future<Output = sqlx::Result<()>> + Send;
}

impl Announce for SqliteConnection {
    fn announce_events(&mut self) -> impl Future<Output = sqlx::Result<()>> + Send {
        std::future::ready(Ok(()))
    }
}

impl Announce for PgConnection {
    fn announce_events(&mut self) -> impl Future<Output = sqlx::Result<()>> + Send {
        crate::events::notify_postgres(self)
    }
}
