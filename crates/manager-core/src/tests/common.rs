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

/// What a script's SDK call carries: `app`'s, with fresh ids.
pub(super) fn cx(app: picloud_shared::AppId) -> picloud_shared::SdkCallCx {
    picloud_shared::SdkCallCx {
        app_id: app,
        script_id: picloud_shared::ScriptId::new(),
        execution_id: picloud_shared::ExecutionId::new(),
        request_id: picloud_shared::RequestId::new(),
        depth: 0,
        grant: None,
    }
}
