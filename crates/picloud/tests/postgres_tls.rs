//! PostgreSQL over a network: TLS (rustls, no OpenSSL) as `sslmode` and
//! `sslrootcert` in `DATABASE_URL` say, on every connection a node opens,
//! and a refusal, at start, of a server whose certificate does not verify.
//!
//! The server is a throwaway PostgreSQL with TLS on 127.0.0.1 whose
//! certificate names `localhost`, signed by a CA of its own
//! (`picloud_manager_core::testing::TlsPostgres`).

mod common;

use common::TestApp;
use picloud_manager_core::db::{Db, DbTarget};
use picloud_manager_core::testing::TlsPostgres;
use reqwest::Method;
use sqlx::Connection as _;

fn server() -> &'static TlsPostgres {
    TlsPostgres::get().unwrap_or_else(|why| panic!("the TLS PostgreSQL: {why}"))
}

fn url(host: &str, db: &str, query: &str) -> String {
    format!("postgres://postgres@{host}:{}/{db}?{query}", server().port)
}

/// Whether this connection is encrypted, in the server's own view.
async fn encrypted(db: &Db) -> bool {
    let Db::Postgres(pool) = db else {
        panic!("a PostgreSQL database")
    };
    sqlx::query_scalar("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
        .fetch_one(pool)
        .await
        .expect("read pg_stat_ssl")
}

#[tokio::test]
#[cfg_attr(
    not(picloud_postgres_programs),
    ignore = "no PostgreSQL programs (initdb, pg_ctl) here to start a TLS server: install PostgreSQL (README)"
)]
async fn a_node_with_verify_full_uses_tls_on_every_connection() {
    let pg = server();
    let db = pg.fresh_database().await;
    let database_url = url(
        "localhost",
        &db,
        &format!("sslmode=verify-full&sslrootcert={}", pg.ca.display()),
    );
    let app = TestApp::spawn_with(|a| a.storage.database_url = Some(database_url.clone())).await;
    app.deploy_at(
        "counter",
        r#"let c = kv::collection("n"); c.set("k", (c.get("k") ?? 0) + 1); c.get("k")"#,
        "/count",
    )
    .await;
    for n in 1..=3 {
        let a = app.on_host(Method::GET, "/count", None).await;
        assert_eq!((a.status.as_u16(), a.text.as_str()), (200, &*n.to_string()));
    }

    // Every connection of the node, its LISTEN connection included, is
    // encrypted; and there are some (the query would be vacuous without).
    let mut watcher = sqlx::PgConnection::connect(&database_url)
        .await
        .expect("connect");
    let (all, tls): (i64, i64) = sqlx::query_as(
        "SELECT count(*), count(*) FILTER (WHERE s.ssl) FROM pg_stat_activity a \
         JOIN pg_stat_ssl s ON s.pid = a.pid \
         WHERE a.datname = current_database() AND a.application_name LIKE 'picloud %'",
    )
    .fetch_one(&mut watcher)
    .await
    .unwrap();
    let listening: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() \
         AND application_name LIKE 'picloud % listen'",
    )
    .fetch_one(&mut watcher)
    .await
    .unwrap();
    assert!(
        all >= 2 && listening == 1,
        "{all} connections, {listening} listening"
    );
    assert_eq!(tls, all, "every connection of the node is encrypted");
}

#[tokio::test]
#[cfg_attr(
    not(picloud_postgres_programs),
    ignore = "no PostgreSQL programs (initdb, pg_ctl) here to start a TLS server: install PostgreSQL (README)"
)]
async fn sslmode_is_honoured_and_a_certificate_that_does_not_verify_is_refused() {
    let pg = server();
    let db = pg.fresh_database().await;
    let connect = |url: String| async move { Db::connect(&DbTarget::Postgres(url)).await };
    let ca = format!("sslrootcert={}", pg.ca.display());

    // Encrypted, unverified; verified against the CA (by name, then
    // without the name); and plain when asked.
    for (host, query, tls) in [
        ("127.0.0.1", "sslmode=require".to_owned(), true),
        ("localhost", format!("sslmode=verify-full&{ca}"), true),
        ("localhost", format!("sslmode=verify-ca&{ca}"), true),
        ("127.0.0.1", "sslmode=disable".to_owned(), false),
    ] {
        let db = connect(url(host, &db, &query))
            .await
            .unwrap_or_else(|e| panic!("{host} {query}: {e}"));
        assert_eq!(encrypted(&db).await, tls, "{host} {query}");
        db.close().await;
    }

    // Refused: a CA the public roots do not hold, and a name the
    // certificate does not carry (it names localhost only). verify-ca
    // checks the name too in this build (sqlx 0.8.6 with rustls 0.23.24+,
    // launchbadge/sqlx#3793), as docs/configuration.md says: stricter than
    // libpq, never looser.
    for (host, query) in [
        ("localhost", "sslmode=verify-full".to_owned()),
        ("127.0.0.1", format!("sslmode=verify-full&{ca}")),
        ("127.0.0.1", format!("sslmode=verify-ca&{ca}")),
    ] {
        let err = match connect(url(host, &db, &query)).await {
            Ok(_) => panic!("{host} {query}: connected to a server it cannot verify"),
            Err(e) => e.to_string(),
        };
        assert!(
            err.contains("failed to connect") && err.to_lowercase().contains("certificate"),
            "{host} {query}: {err}"
        );
        assert!(
            !err.contains("postgres@"),
            "the URL is not echoed whole: {err}"
        );
    }
}
