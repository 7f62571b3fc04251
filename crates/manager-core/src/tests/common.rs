//! Shared by the suites that run on both backends.

/// Runs `$body(db)` on a fresh SQLite file and on a fresh PostgreSQL database.
macro_rules! both_backends {
    ($name:ident, $body:ident) => {
        mod $name {
            #[tokio::test]
            async fn sqlite() {
                let dir = tempfile::tempdir().unwrap();
                let db = super::Db::connect(&super::DbTarget::Sqlite(dir.path().join("t.db")))
                    .await
                    .unwrap();
                db.migrate().await.unwrap();
                super::$body(db).await;
            }

            #[tokio::test]
            #[cfg_attr(not(picloud_postgres), ignore = "no PostgreSQL here: set PICLOUD_TEST_DATABASE_URL or install PostgreSQL (README)")]
            async fn postgres() {
                let url =
                    super::fresh_postgres_url(concat!(stringify!($name), "::postgres")).await;
                let db = super::Db::connect(&super::DbTarget::Postgres(url))
                    .await
                    .unwrap();
                db.migrate().await.unwrap();
                super::$body(db).await;
            }
        }
    };
}
