//! Migration replay: every step from empty, on both backends; the schema
//! version is the latest step and equal on both, and both backends end with
//! the same tables and columns.

use std::collections::BTreeMap;

use crate::db::{POSTGRES_MIGRATOR, SQLITE_MIGRATOR};
use crate::testing::fresh_postgres_url;
use crate::{Db, DbTarget, schema_version};

type Schema = BTreeMap<String, Vec<String>>;

async fn sqlite_schema(db: &Db) -> Schema {
    let Db::Sqlite(pool, _) = db else {
        unreachable!()
    };
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '_sqlx%'",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    let mut schema = Schema::new();
    for t in tables {
        let mut cols: Vec<String> =
            sqlx::query_scalar(&format!("SELECT name FROM pragma_table_info('{t}')"))
                .fetch_all(pool)
                .await
                .unwrap();
        cols.sort();
        schema.insert(t, cols);
    }
    schema
}

async fn postgres_schema(db: &Db) -> Schema {
    let Db::Postgres(pool) = db else {
        unreachable!()
    };
    let rows: Vec<(String, String)> = sqlx::query_as(
        "SELECT table_name::text, column_name::text FROM information_schema.columns \
         WHERE table_schema = 'public' AND table_name NOT LIKE '_sqlx%' ORDER BY 1, 2",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    let mut schema = Schema::new();
    for (t, c) in rows {
        schema.entry(t).or_default().push(c);
    }
    schema
}

#[test]
fn both_backends_have_the_same_numbered_steps() {
    let sqlite: Vec<i64> = SQLITE_MIGRATOR.iter().map(|m| m.version).collect();
    let postgres: Vec<i64> = POSTGRES_MIGRATOR.iter().map(|m| m.version).collect();
    assert_eq!(sqlite, postgres);
    assert_eq!(sqlite.last().copied(), Some(schema_version()));
    // Steps are numbered 1, 2, 3, ... with no gaps.
    assert_eq!(sqlite, (1..=sqlite.len() as i64).collect::<Vec<_>>());
}

/// A fresh SQLite database, migrated twice (the second a no-op), and its
/// tables.
async fn replayed_sqlite(dir: &tempfile::TempDir) -> (Db, Schema) {
    let sqlite = Db::connect(&DbTarget::Sqlite(dir.path().join("m.db")))
        .await
        .unwrap();
    sqlite.migrate().await.unwrap();
    assert_eq!(
        sqlite.applied_schema_version().await.unwrap(),
        schema_version()
    );
    // Migrating again is a no-op.
    sqlite.migrate().await.unwrap();
    let sqlite_tables = sqlite_schema(&sqlite).await;
    assert!(sqlite_tables.contains_key("scripts"), "{sqlite_tables:?}");
    // The first step creates the default app.
    assert!(sqlite.app_by_name("default").await.unwrap().is_some());
    (sqlite, sqlite_tables)
}

#[tokio::test]
async fn replay_from_empty_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    replayed_sqlite(&dir).await;
}

#[tokio::test]
#[cfg_attr(
    not(picloud_postgres),
    ignore = "no PostgreSQL here: set PICLOUD_TEST_DATABASE_URL or install PostgreSQL (README)"
)]
async fn replay_from_empty_on_postgres_gives_the_same_schema_as_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let (sqlite, sqlite_tables) = replayed_sqlite(&dir).await;
    let url =
        fresh_postgres_url("replay_from_empty_on_postgres_gives_the_same_schema_as_sqlite").await;
    let pg = Db::connect(&DbTarget::Postgres(url)).await.unwrap();
    pg.migrate().await.unwrap();
    pg.migrate().await.unwrap();
    assert_eq!(pg.applied_schema_version().await.unwrap(), schema_version());
    assert_eq!(postgres_schema(&pg).await, sqlite_tables);
    assert_eq!(
        pg.app_by_name("default").await.unwrap().unwrap().id,
        sqlite.app_by_name("default").await.unwrap().unwrap().id
    );
}

#[tokio::test]
async fn a_database_from_a_newer_picloud_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::connect(&DbTarget::Sqlite(dir.path().join("n.db")))
        .await
        .unwrap();
    db.migrate().await.unwrap();
    let Db::Sqlite(pool, _) = &db else {
        unreachable!()
    };
    sqlx::query(
        "INSERT INTO _sqlx_migrations (version, description, installed_on, success, checksum, execution_time) \
         VALUES (9999, 'future', CURRENT_TIMESTAMP, 1, X'00', 0)",
    )
    .execute(pool)
    .await
    .unwrap();
    let err = db.migrate().await.unwrap_err().to_string();
    assert!(err.contains("9999") && err.contains("newer"), "{err}");
}

#[tokio::test]
async fn the_pool_syncs_every_commit_after_migrating() {
    // The schema steps run on a connection with `synchronous = NORMAL`
    // (db.rs): it must never serve anything else. Every connection of the
    // pool, held at once so none is the same, syncs each commit (FULL = 2).
    let dir = tempfile::tempdir().unwrap();
    let db = Db::connect(&DbTarget::Sqlite(dir.path().join("s.db")))
        .await
        .unwrap();
    db.migrate().await.unwrap();
    let Db::Sqlite(pool, _) = &db else {
        unreachable!()
    };
    let mut held = Vec::new();
    for _ in 0..pool.options().get_max_connections() {
        held.push(pool.acquire().await.unwrap());
    }
    for conn in &mut held {
        let mode: i64 = sqlx::query_scalar("PRAGMA synchronous")
            .fetch_one(&mut **conn)
            .await
            .unwrap();
        assert_eq!(mode, 2, "a pooled connection does not sync every commit");
    }
}
