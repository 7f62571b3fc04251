//! Many all-in-one nodes on one PostgreSQL behave as one instance: what is
//! changed through one node is served by the others within a second
//! (announced by the database, LISTEN/NOTIFY, no polling), a node that lost
//! its LISTEN connection reloads what it caches, cron fires once per tick
//! across nodes, and sign-in throttling counts over every node.
//!
//! Each node is a real server on its own port and runtime; the nodes share
//! nothing but the database.

mod common;

use std::time::Duration;

use common::{ADMIN, TestApp, assert_stays, within};
use reqwest::Method;
use serde_json::{Value, json};
use sqlx::Connection as _;

/// How soon a change through one node is served by another.
const FRESH: Duration = Duration::from_secs(1);

async fn nodes(test: &str) -> (TestApp, TestApp) {
    let a = TestApp::spawn_postgres(test).await;
    let b = a.node().await;
    (a, b)
}

/// Waits until `node` answers `path` (on `host`) with `status` and `body`.
async fn serves(node: &TestApp, path: &str, host: Option<&str>, status: u16, body: &str) {
    within(
        FRESH,
        &format!("{path} answered {status} {body:?}"),
        || async {
            let a = node.on_host(Method::GET, path, host).await;
            (a.status == status && (body.is_empty() || a.text == body)).then_some(())
        },
    )
    .await;
}

async fn update_source(node: &TestApp, id: &str, source: &str) {
    let a = node
        .admin(
            Method::PUT,
            &format!("/scripts/{id}"),
            Some(json!({ "source": source })),
        )
        .await;
    assert_eq!(a.status, 200, "{}", a.text);
}

#[tokio::test]
#[cfg_attr(
    not(picloud_postgres),
    ignore = "no PostgreSQL here: set PICLOUD_TEST_DATABASE_URL or install PostgreSQL (README)"
)]
async fn what_one_node_changes_the_other_serves_within_a_second() {
    let (a, b) = nodes("cluster::changes").await;
    // B has loaded its (empty) routes and cached nothing.
    b.on_host(Method::GET, "/greet", None)
        .await
        .error(404, "not_found");

    // A new script and route.
    let id = a.deploy_at("greet", r#""v1""#, "/greet").await;
    serves(&b, "/greet", None, 200, "v1").await;
    assert_eq!(b.invoke(&id).await.text, "v1");

    // An update replaces the version B has cached (and compiled).
    update_source(&a, &id, r#""v2""#).await;
    serves(&b, "/greet", None, 200, "v2").await;
    // And B's own update is seen by A, which cached v2.
    update_source(&b, &id, r#""v3""#).await;
    serves(&a, "/greet", None, 200, "v3").await;

    // A second route, and a route deleted.
    let route = a
        .admin(
            Method::POST,
            &format!("/scripts/{id}/routes"),
            Some(json!({ "path": "/hi/:name" })),
        )
        .await;
    assert_eq!(route.status, 201, "{}", route.text);
    serves(&b, "/hi/ann", None, 200, "v3").await;
    let deleted = a
        .admin(
            Method::DELETE,
            &format!("/routes/{}", route.json()["id"].as_str().unwrap()),
            None,
        )
        .await;
    assert_eq!(deleted.status, 204, "{}", deleted.text);
    serves(&b, "/hi/ann", None, 404, "").await;

    // An app, a script of its own and a domain claim made through B.
    assert_eq!(
        b.admin(Method::POST, "/apps", Some(json!({"name": "shop"})))
            .await
            .status,
        201
    );
    let shop = b
        .deploy_with(json!({"name": "home", "app": "shop", "source": r#""shop""#}))
        .await;
    let shop_id = shop["id"].as_str().unwrap().to_owned();
    assert_eq!(
        b.admin(
            Method::POST,
            &format!("/scripts/{shop_id}/routes"),
            Some(json!({"path": "/greet"}))
        )
        .await
        .status,
        201
    );
    assert_eq!(
        b.admin(
            Method::POST,
            "/apps/shop/domains",
            Some(json!({"pattern": "shop.example.com"}))
        )
        .await
        .status,
        201
    );
    serves(&a, "/greet", Some("shop.example.com"), 200, "shop").await;
    serves(&a, "/greet", None, 200, "v3").await;

    // KV written by a script on one node is read by a script on the other.
    let writer = a
        .deploy_at(
            "put",
            r#"kv::collection("c").set("k", ctx.request.query.v); "ok""#,
            "/put",
        )
        .await;
    let reader = a
        .deploy_at("get", r#"kv::collection("c").get("k")"#, "/get")
        .await;
    serves(&b, "/put?v=42", None, 200, "ok").await;
    assert_eq!(a.on_host(Method::GET, "/get", None).await.text, "42");
    assert_eq!(b.invoke(&reader).await.text, "42");
    assert_eq!(b.invoke(&writer).await.status, 200);

    // Deleting the app through A takes its script and claim off B.
    assert_eq!(
        a.admin(Method::DELETE, "/apps/shop", None).await.status,
        204
    );
    serves(&b, "/greet", Some("shop.example.com"), 200, "v3").await;
    b.send(
        Method::GET,
        &format!("/api/v1/execute/{shop_id}"),
        None,
        None,
    )
    .await
    .error(404, "not_found");

    // Deleting a script B has cached.
    assert_eq!(
        a.admin(Method::DELETE, &format!("/scripts/{id}"), None)
            .await
            .status,
        204
    );
    serves(&b, "/greet", None, 404, "").await;
    within(FRESH, "the deleted script is gone from B", || async {
        (b.invoke(&id).await.status == 404).then_some(())
    })
    .await;
}

/// A change the database did not announce (as when it happened while a
/// node's LISTEN connection was down) is picked up once that node listens
/// again: it reloads everything it caches before trusting it.
#[tokio::test]
#[cfg_attr(
    not(picloud_postgres),
    ignore = "no PostgreSQL here: set PICLOUD_TEST_DATABASE_URL or install PostgreSQL (README)"
)]
async fn a_node_that_lost_its_listen_connection_reloads_its_caches() {
    let (a, b) = nodes("cluster::relisten").await;
    let id = a.deploy_at("greet", r#""v1""#, "/greet").await;
    serves(&b, "/greet", None, 200, "v1").await;

    // Changes behind the announcements' back: a new version and a new route,
    // written with triggers off (as a replica applies changes).
    let url = a.database_url().unwrap().to_owned();
    let mut db = sqlx::PgConnection::connect(&url).await.unwrap();
    sqlx::query("SET session_replication_role = replica")
        .execute(&mut db)
        .await
        .unwrap();
    sqlx::query("UPDATE scripts SET source = '\"v2\"', version = version + 1 WHERE id = $1::uuid")
        .bind(&id)
        .execute(&mut db)
        .await
        .unwrap();
    sqlx::query(
        "INSERT INTO routes (id, app_id, script_id, path, methods, created_at) \
         SELECT gen_random_uuid(), app_id, id, '/unannounced', NULL, now() FROM scripts WHERE id = $1::uuid",
    )
    .bind(&id)
    .execute(&mut db)
    .await
    .unwrap();
    // B serves from its caches: it was not told (watched for 200 ms, in
    // which it would have heard an announcement).
    assert_stays(
        Duration::from_millis(200),
        "B serves v1 and no /unannounced",
        || async {
            let greet = b.on_host(Method::GET, "/greet", None).await;
            let unannounced = b.on_host(Method::GET, "/unannounced", None).await;
            if greet.text == "v1" && unannounced.status == 404 {
                Ok(())
            } else {
                Err(format!("{:?}, {}", greet.text, unannounced.status))
            }
        },
    )
    .await;
    assert_eq!(b.on_host(Method::GET, "/greet", None).await.text, "v1");
    b.on_host(Method::GET, "/unannounced", None)
        .await
        .error(404, "not_found");

    // Every node's LISTEN connection is cut (they are named in
    // pg_stat_activity: "picloud <role> <host> <pid> listen").
    let cut: Vec<i32> = sqlx::query_scalar(
        "SELECT pid FROM pg_stat_activity \
         WHERE datname = current_database() AND application_name LIKE 'picloud all-in-one % listen'",
    )
    .fetch_all(&mut db)
    .await
    .unwrap();
    assert_eq!(cut.len(), 2, "one LISTEN connection per node");
    for pid in &cut {
        sqlx::query("SELECT pg_terminate_backend($1)")
            .bind(pid)
            .execute(&mut db)
            .await
            .unwrap();
    }
    serves(&b, "/greet", None, 200, "v2").await;
    serves(&b, "/unannounced", None, 200, "v2").await;
    serves(&a, "/unannounced", None, 200, "v2").await;

    // They listen again: announced changes arrive as before.
    let listening: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM pg_stat_activity \
         WHERE datname = current_database() AND application_name LIKE 'picloud all-in-one % listen'",
    )
    .fetch_one(&mut db)
    .await
    .unwrap();
    assert_eq!(listening, 2);
    update_source(&a, &id, r#""v4""#).await;
    serves(&b, "/greet", None, 200, "v4").await;
}

#[tokio::test]
#[cfg_attr(
    not(picloud_postgres),
    ignore = "no PostgreSQL here: set PICLOUD_TEST_DATABASE_URL or install PostgreSQL (README)"
)]
async fn cron_fires_once_per_tick_across_nodes_and_survives_the_node_that_made_it() {
    let (a, b) = nodes("cluster::cron").await;
    let c = a.node().await;
    // Each run leaves a key of its own holding the tick it ran for.
    let handler = a
        .deploy(
            "tick",
            r#"kv::collection("runs").set(uuid::v4(), ctx.event.scheduled_at);"#,
        )
        .await;
    let trigger = a
        .admin(
            Method::POST,
            "/apps/default/triggers",
            Some(json!({"kind": "cron", "schedule": "* * * * * *", "script_id": handler["id"]})),
        )
        .await;
    assert_eq!(trigger.status, 201, "{}", trigger.text);
    // The node that made the trigger stops: the others learned of it.
    a.stop().await.unwrap();

    let runs = within(Duration::from_secs(10), "four ticks ran", || async {
        let runs = runs(&b).await;
        (runs.len() >= 4).then_some(runs)
    })
    .await;
    let mut ticks: Vec<&str> = runs.iter().map(|v| v.as_str().unwrap()).collect();
    let all = ticks.len();
    ticks.sort_unstable();
    ticks.dedup();
    assert_eq!(ticks.len(), all, "a tick ran twice: {runs:?}");
    drop(c);
}

async fn runs(node: &TestApp) -> Vec<Value> {
    let page = node
        .admin(Method::GET, "/apps/default/kv/runs?limit=1000", None)
        .await
        .json();
    page["items"]
        .as_array()
        .map(|items| items.iter().map(|i| i["value"].clone()).collect())
        .unwrap_or_default()
}

#[tokio::test]
#[cfg_attr(
    not(picloud_postgres),
    ignore = "no PostgreSQL here: set PICLOUD_TEST_DATABASE_URL or install PostgreSQL (README)"
)]
async fn failed_sign_ins_count_over_every_node() {
    let (a, b) = nodes("cluster::throttle").await;
    // Five free failures, spread over the two nodes.
    for i in 0..5 {
        let node = if i % 2 == 0 { &a } else { &b };
        node.login(ADMIN, "wrong password")
            .await
            .error(401, "invalid_credentials");
    }
    // The sixth, on either node, starts the refusals for both.
    a.login(ADMIN, "wrong password")
        .await
        .error(401, "invalid_credentials");
    b.login(ADMIN, common::PASSWORD)
        .await
        .error(429, "too_many_attempts");
}

#[tokio::test]
#[cfg_attr(
    not(picloud_postgres),
    ignore = "no PostgreSQL here: set PICLOUD_TEST_DATABASE_URL or install PostgreSQL (README)"
)]
async fn without_postgresql_a_node_serves_what_it_cached_and_recovers() {
    use sqlx::ConnectOptions as _;
    let a = TestApp::spawn_postgres("cluster::postgres_down").await;
    a.deploy_at("greet", r#""hi""#, "/greet").await;
    a.deploy_at(
        "count",
        r#"kv::collection("c").set("k", 1); "stored""#,
        "/count",
    )
    .await;
    a.deploy("helper", r#""helped""#).await;
    a.deploy_at("calls", r#"invoke("helper", ())"#, "/calls")
        .await;
    for (path, body) in [("/greet", "hi"), ("/count", "stored"), ("/calls", "helped")] {
        serves(&a, path, None, 200, body).await;
    }

    // The database goes: no new connection is let in, and every open one
    // (the node's pool and its LISTEN connection) is cut.
    let options: sqlx::postgres::PgConnectOptions = a.database_url().unwrap().parse().unwrap();
    let name = options.get_database().unwrap().to_owned();
    let mut admin = options
        .clone()
        .database("postgres")
        .connect()
        .await
        .unwrap();
    let allow = |on: bool| format!("ALTER DATABASE {name} WITH ALLOW_CONNECTIONS {on}");
    sqlx::query(&allow(false))
        .execute(&mut admin)
        .await
        .unwrap();
    sqlx::query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1")
        .bind(&name)
        .execute(&mut admin)
        .await
        .unwrap();

    // Cached scripts and routes are served, `invoke` of a cached script
    // too; KV fails as the script's error, and the node stays up.
    for _ in 0..3 {
        let g = a.on_host(Method::GET, "/greet", None).await;
        assert_eq!((g.status.as_u16(), g.text.as_str()), (200, "hi"));
        let c = a.on_host(Method::GET, "/calls", None).await;
        assert_eq!((c.status.as_u16(), c.text.as_str()), (200, "helped"));
    }
    let kv = a.on_host(Method::GET, "/count", None).await;
    assert_eq!(kv.status, 500, "{}", kv.text);
    assert_eq!(
        a.send(Method::GET, "/healthz", None, None).await.status,
        200
    );

    // Back: the node reconnects by itself, KV works and changes are
    // announced again.
    sqlx::query(&allow(true)).execute(&mut admin).await.unwrap();
    within(Duration::from_secs(10), "KV works again", || async {
        (a.on_host(Method::GET, "/count", None).await.status == 200).then_some(())
    })
    .await;
    let b = a.node().await;
    let id = b.deploy_at("later", r#""new""#, "/later").await;
    serves(&a, "/later", None, 200, "new").await;
    update_source(&b, &id, r#""newer""#).await;
    serves(&a, "/later", None, 200, "newer").await;
}
