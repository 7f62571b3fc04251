//! User routes, apps and domain claims, against the real server.

#[macro_use]
mod common;

use std::time::Duration;

use common::{Answer, TestApp, within};
use reqwest::Method;
use serde_json::{Value, json};

/// A script that answers with what it was routed with.
const ECHO: &str = "#{script: ctx.script_name, app: ctx.app_id, method: ctx.request.method, \
     path: ctx.request.path, params: ctx.request.params, rest: ctx.request.rest, \
     host: ctx.request.host, host_params: ctx.request.host_params}";

async fn deploy_in(app: &TestApp, app_name: Option<&str>, name: &str) -> String {
    let mut body = json!({"name": name, "source": ECHO});
    if let Some(a) = app_name {
        body["app"] = json!(a);
    }
    let a = app.admin(Method::POST, "/scripts", Some(body)).await;
    assert_eq!(a.status, 201, "{}", a.text);
    a.json()["id"].as_str().unwrap().to_owned()
}

async fn route(app: &TestApp, script: &str, path: &str, methods: Option<&[&str]>) -> Answer {
    let mut body = json!({ "path": path });
    if let Some(m) = methods {
        body["methods"] = json!(m);
    }
    app.admin(
        Method::POST,
        &format!("/scripts/{script}/routes"),
        Some(body),
    )
    .await
}

async fn created(a: Answer) -> Value {
    assert_eq!(a.status, 201, "{}", a.text);
    a.json()
}

/// A request sent byte for byte (HTTP clients normalise `..` and `%2e`
/// away): returns the status and the body.
async fn raw_get(app: &TestApp, target: &str) -> (u16, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(app.addr).await.unwrap();
    let request = format!("GET {target} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut bytes = Vec::new();
    stream.read_to_end(&mut bytes).await.unwrap();
    let text = String::from_utf8_lossy(&bytes).into_owned();
    let status = text[9..12].parse().unwrap();
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    (status, body)
}

async fn route_count(app: &TestApp, app_name: &str) -> usize {
    app.admin(Method::GET, &format!("/routes?app={app_name}"), None)
        .await
        .json()["items"]
        .as_array()
        .unwrap()
        .len()
}

#[tokio::test]
async fn routes_reach_scripts_with_params_rest_and_precedence() {
    let app = TestApp::spawn().await;
    let users = deploy_in(&app, None, "users").await;
    let me = deploy_in(&app, None, "me").await;
    let files = deploy_in(&app, None, "files").await;
    let root = deploy_in(&app, None, "root").await;

    let r = created(route(&app, &users, "/users/:id/", None).await).await;
    assert_eq!(r["path"], "/users/:id", "stored normalised");
    assert_eq!(r["methods"], Value::Null);
    assert_eq!(r["script_id"], users.as_str());
    assert_eq!(r["app_id"], "00000000-0000-4000-8000-000000000000");
    created(route(&app, &me, "/users/me", Some(&["get", "HEAD"])).await).await;
    created(route(&app, &files, "/files/*path", None).await).await;
    created(route(&app, &root, "/", Some(&["GET"])).await).await;

    let a = app.on_host(Method::GET, "/users/42", None).await.json();
    assert_eq!(a["script"], "users");
    assert_eq!(a["params"], json!({"id": "42"}));
    assert_eq!(a["rest"], "");
    assert_eq!(a["path"], "/users/42");
    assert_eq!(a["host"], "127.0.0.1");
    assert_eq!(a["host_params"], json!({}));
    // Static beats :param; a trailing slash does not matter.
    assert_eq!(
        app.on_host(Method::GET, "/users/me/", None).await.json()["script"],
        "me"
    );
    // The static route answers GET only: POST falls through to :id.
    let a = app.on_host(Method::POST, "/users/me", None).await.json();
    assert_eq!(
        (a["script"].as_str(), a["params"]["id"].as_str()),
        (Some("users"), Some("me"))
    );
    // The rest, possibly empty, in params and in rest.
    let a = app
        .on_host(Method::PUT, "/files/a/b/c.txt", None)
        .await
        .json();
    assert_eq!(a["params"], json!({"path": "a/b/c.txt"}));
    assert_eq!(a["rest"], "a/b/c.txt");
    assert_eq!(
        app.on_host(Method::GET, "/files", None).await.json()["rest"],
        ""
    );
    assert_eq!(
        app.on_host(Method::GET, "/", None).await.json()["script"],
        "root"
    );
    // No match: JSON 404, also for a method the only route does not answer.
    app.on_host(Method::GET, "/nothing/here", None)
        .await
        .error(404, "not_found");
    app.on_host(Method::DELETE, "/", None)
        .await
        .error(404, "not_found");
    // Built-in paths are never user routes.
    assert_eq!(app.on_host(Method::GET, "/healthz", None).await.text, "ok");
    app.on_host(Method::GET, "/api/v2/x", None)
        .await
        .error(404, "not_found");

    // What /routes/match says agrees.
    let m = app
        .admin(Method::GET, "/routes/match?method=get&path=/users/7", None)
        .await
        .json();
    assert_eq!(m["matched"], true);
    assert_eq!(m["script_id"], users.as_str());
    assert_eq!(m["params"], json!({"id": "7"}));
    assert_eq!(m["rest"], "");
    let m = app
        .admin(Method::GET, "/routes/match?path=/nope/x", None)
        .await
        .json();
    assert_eq!(m["matched"], false);
}

both_backends!(conflicts_are_refused_and_checked_without_creating);
async fn conflicts_are_refused_and_checked_without_creating(app: TestApp) {
    let a = deploy_in(&app, None, "a").await;
    let b = deploy_in(&app, None, "b").await;
    let first = created(route(&app, &a, "/items/:id", Some(&["GET", "PUT"])).await).await;

    let err = route(&app, &b, "/items/:other", Some(&["put"]))
        .await
        .error(409, "route_conflict");
    let conflicts = err["error"]["conflicts"].as_array().unwrap();
    assert_eq!(conflicts.len(), 1);
    assert_eq!(conflicts[0]["id"], first["id"]);
    assert_eq!(conflicts[0]["path"], "/items/:id");
    assert_eq!(conflicts[0]["methods"], json!(["GET", "PUT"]));
    route(&app, &b, "/items/:x", None)
        .await
        .error(409, "route_conflict");
    assert_eq!(route_count(&app, "default").await, 1, "nothing was added");
    // Another method, or another shape, is fine.
    created(route(&app, &b, "/items/:x", Some(&["DELETE"])).await).await;
    created(route(&app, &b, "/items/:x/tags", None).await).await;

    let check = |body: Value| {
        let app = &app;
        async move {
            app.admin(Method::POST, "/routes/check", Some(body))
                .await
                .json()
        }
    };
    let c = check(json!({"path": "/items/:q", "methods": ["GET"]})).await;
    assert_eq!(c["ok"], false);
    assert_eq!(c["conflicts"][0]["id"], first["id"]);
    assert_eq!(c["error"], Value::Null);
    let c = check(json!({"path": "/items/:q", "methods": ["PATCH"]})).await;
    assert_eq!(
        (c["ok"].clone(), c["conflicts"].clone()),
        (json!(true), json!([]))
    );
    let c = check(json!({"path": "/api/x"})).await;
    assert_eq!(c["ok"], false);
    assert!(c["error"].as_str().unwrap().contains("/api/"));
    assert_eq!(
        route_count(&app, "default").await,
        3,
        "checks create nothing"
    );
}

both_backends!(bad_routes_get_a_4xx_and_change_nothing);
async fn bad_routes_get_a_4xx_and_change_nothing(app: TestApp) {
    let s = deploy_in(&app, None, "s").await;
    for path in ["/api/things", "/admin", "/healthz", "/version/", "/metrics"] {
        route(&app, &s, path, None)
            .await
            .error(400, "reserved_path");
    }
    for (path, needle) in [
        ("users", "start with '/'"),
        ("/a//b", "empty segment"),
        ("/*rest/x", "last segment"),
        ("/:id/:id", "used twice"),
        ("/a b", "not allowed"),
        ("/:", "not a parameter"),
    ] {
        let e = route(&app, &s, path, None).await.error(400, "bad_request");
        assert!(
            e["error"]["message"].as_str().unwrap().contains(needle),
            "{path}: {e}"
        );
    }
    route(&app, &s, "/x", Some(&[]))
        .await
        .error(400, "bad_request");
    route(&app, &s, "/x", Some(&["GE T"]))
        .await
        .error(400, "bad_request");
    let unknown = "00000000-0000-7000-8000-000000000000";
    route(&app, unknown, "/x", None)
        .await
        .error(404, "not_found");
    route(&app, "not-a-uuid", "/x", None)
        .await
        .error(400, "invalid_id");
    app.admin(
        Method::POST,
        &format!("/scripts/{s}/routes"),
        Some(json!({"path": "/x", "extra": 1})),
    )
    .await
    .error(400, "bad_request");
    app.admin(
        Method::POST,
        &format!("/scripts/{s}/routes"),
        Some(json!({"path": 5})),
    )
    .await
    .error(400, "bad_request");
    app.admin(Method::DELETE, &format!("/routes/{unknown}"), None)
        .await
        .error(404, "not_found");
    app.admin(Method::GET, "/routes?app=nope", None)
        .await
        .error(404, "not_found");
    assert_eq!(route_count(&app, "default").await, 0);
}

#[tokio::test]
async fn hostile_paths_are_matched_exactly() {
    let app = TestApp::spawn().await;
    let s = deploy_in(&app, None, "s").await;
    created(route(&app, &s, "/a/:x", None).await).await;
    created(route(&app, &s, "/files/*path", None).await).await;
    // An encoded slash stays inside its segment; it is decoded in params.
    let a = app.on_host(Method::GET, "/a/b%2Fc", None).await.json();
    assert_eq!(a["params"]["x"], "b/c");
    // Dots are segments like any other: nothing climbs out of a route.
    let (status, body) = raw_get(&app, "/files/%2e%2e/%2e%2e/etc").await;
    assert_eq!(status, 200, "{body}");
    let rest = |body: &str| serde_json::from_str::<Value>(body).unwrap()["rest"].clone();
    assert_eq!(rest(&body), "../../etc", "{body}");
    let (_, body) = raw_get(&app, "/files/../a/x").await;
    assert_eq!(rest(&body), "../a/x", "{body}");
    let (status, body) = raw_get(&app, "/a/../files").await;
    assert_eq!(status, 404, "{body}");
    app.on_host(Method::GET, "/a/b/c", None)
        .await
        .error(404, "not_found");
    // Thousands of segments, a very long segment, invalid UTF-8.
    let deep = "/x".repeat(3000);
    app.on_host(Method::GET, &deep, None)
        .await
        .error(404, "not_found");
    let a = app
        .on_host(Method::GET, &format!("/files{deep}"), None)
        .await
        .json();
    assert_eq!(a["rest"].as_str().unwrap().len(), deep.len() - 1);
    let long = "y".repeat(20_000);
    assert_eq!(
        app.on_host(Method::GET, &format!("/a/{long}"), None)
            .await
            .json()["params"]["x"],
        long.as_str()
    );
    app.on_host(Method::GET, "/a/%ff", None)
        .await
        .error(400, "bad_request");
    assert_eq!(app.on_host(Method::GET, "/healthz", None).await.text, "ok");
}

both_backends!(apps_own_their_scripts_routes_and_domains);
async fn apps_own_their_scripts_routes_and_domains(app: TestApp) {
    let shop = created(
        app.admin(
            Method::POST,
            "/apps",
            Some(json!({"name": "shop", "description": "d"})),
        )
        .await,
    )
    .await;
    let shop_id = shop["id"].as_str().unwrap().to_owned();
    assert_eq!(shop["name"], "shop");
    app.admin(Method::POST, "/apps", Some(json!({"name": "shop"})))
        .await
        .error(409, "conflict");
    app.admin(Method::POST, "/apps", Some(json!({"name": "Bad Name"})))
        .await
        .error(400, "invalid_name");
    app.admin(Method::POST, "/apps", Some(json!({"name": ""})))
        .await
        .error(400, "invalid_name");
    app.admin(Method::POST, "/apps", Some(json!({"nam": "x"})))
        .await
        .error(400, "bad_request");
    let names: Vec<String> = app.admin(Method::GET, "/apps", None).await.json()["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["name"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(names, ["default", "shop"]);
    assert_eq!(
        app.admin(Method::GET, "/apps/shop", None).await.json()["id"],
        shop_id.as_str()
    );
    assert_eq!(
        app.admin(Method::GET, &format!("/apps/{shop_id}"), None)
            .await
            .json()["name"],
        "shop"
    );

    // The same script name in two apps; routes are per app.
    let in_default = deploy_in(&app, None, "home").await;
    let in_shop = deploy_in(&app, Some("shop"), "home").await;
    assert_eq!(
        app.admin(Method::GET, &format!("/scripts/{in_shop}"), None)
            .await
            .json()["app_id"],
        shop_id.as_str()
    );
    created(route(&app, &in_default, "/home", None).await).await;
    created(route(&app, &in_shop, "/home", None).await).await;
    created(
        app.admin(
            Method::POST,
            "/apps/shop/domains",
            Some(json!({"pattern": "shop.example.com"})),
        )
        .await,
    )
    .await;
    assert_eq!(route_count(&app, "shop").await, 1);
    assert_eq!(
        app.on_host(Method::GET, "/home", Some("shop.example.com"))
            .await
            .json()["app"],
        shop_id.as_str()
    );

    // The default app cannot go; shop goes with everything it owns.
    app.admin(Method::DELETE, "/apps/default", None)
        .await
        .error(409, "conflict");
    assert_eq!(
        app.admin(Method::DELETE, "/apps/shop", None).await.status,
        204
    );
    app.admin(Method::GET, "/apps/shop", None)
        .await
        .error(404, "not_found");
    app.admin(Method::GET, &format!("/scripts/{in_shop}"), None)
        .await
        .error(404, "not_found");
    app.admin(Method::DELETE, &format!("/apps/{shop_id}"), None)
        .await
        .error(404, "not_found");
    // Its domain is free again and its host falls back to the default app.
    assert_eq!(
        app.on_host(Method::GET, "/home", Some("shop.example.com"))
            .await
            .json()["script"],
        "home"
    );
    assert_ne!(
        app.on_host(Method::GET, "/home", Some("shop.example.com"))
            .await
            .json()["app"],
        shop_id.as_str()
    );
    created(
        app.admin(
            Method::POST,
            "/apps/default/domains",
            Some(json!({"pattern": "shop.example.com"})),
        )
        .await,
    )
    .await;
}

both_backends!(hosts_dispatch_to_the_most_specific_claim);
async fn hosts_dispatch_to_the_most_specific_claim(app: TestApp) {
    for name in ["tenants", "api"] {
        created(
            app.admin(Method::POST, "/apps", Some(json!({"name": name})))
                .await,
        )
        .await;
    }
    let t = deploy_in(&app, Some("tenants"), "t").await;
    let a = deploy_in(&app, Some("api"), "a").await;
    let d = deploy_in(&app, None, "d").await;
    for s in [&t, &a, &d] {
        created(route(&app, s, "/whoami", None).await).await;
    }
    let claim = |app_name: &'static str, pattern: &'static str| {
        let app = &app;
        async move {
            app.admin(
                Method::POST,
                &format!("/apps/{app_name}/domains"),
                Some(json!({ "pattern": pattern })),
            )
            .await
        }
    };
    let wild = created(claim("tenants", "{tenant}.Example.com").await).await;
    assert_eq!(wild["pattern"], "{tenant}.example.com", "lower-cased");
    created(claim("api", "api.example.com").await).await;
    claim("api", "api.example.com").await.error(409, "conflict");
    claim("tenants", "api.example.com")
        .await
        .error(409, "conflict");
    for bad in [
        "example",
        "{a}.com",
        "a..b.com",
        "127.0.0.1",
        "localhost",
        "x_y.com",
    ] {
        claim("api", bad).await.error(400, "bad_request");
    }
    claim("nope", "x.example.com").await.error(404, "not_found");
    let listed = app
        .admin(Method::GET, "/apps/api/domains", None)
        .await
        .json();
    assert_eq!(listed["items"].as_array().unwrap().len(), 1);

    let who = |host: &'static str| {
        let app = &app;
        async move { app.on_host(Method::GET, "/whoami", Some(host)).await.json() }
    };
    // Exact beats wildcard; a port and case do not matter.
    assert_eq!(who("API.example.com:8443").await["script"], "a");
    let w = who("acme.example.com").await;
    assert_eq!(w["script"], "t");
    assert_eq!(w["host"], "acme.example.com");
    assert_eq!(w["host_params"], json!({"tenant": "acme"}));
    // Unclaimed hosts go to the default app.
    assert_eq!(who("other.org").await["script"], "d");
    assert_eq!(
        who("a.b.example.com").await["script"],
        "d",
        "a wildcard is one label"
    );
    // Only the claiming app's routes: /only-default exists in default alone.
    created(route(&app, &d, "/only-default", None).await).await;
    app.on_host(Method::GET, "/only-default", Some("acme.example.com"))
        .await
        .error(404, "not_found");
    let m = app
        .admin(
            Method::GET,
            "/routes/match?host=acme.example.com&method=GET&path=/whoami",
            None,
        )
        .await
        .json();
    assert_eq!(m["script_id"], t.as_str());
    assert_eq!(m["host_params"], json!({"tenant": "acme"}));

    // Releasing the claim sends the host back to default.
    let id = wild["id"].as_str().unwrap();
    assert_eq!(
        app.admin(Method::DELETE, &format!("/apps/tenants/domains/{id}"), None)
            .await
            .status,
        204
    );
    assert_eq!(who("acme.example.com").await["script"], "d");
    app.admin(Method::DELETE, &format!("/apps/tenants/domains/{id}"), None)
        .await
        .error(404, "not_found");
}

both_backends!(routes_are_live_and_survive_a_restart);
async fn routes_are_live_and_survive_a_restart(app: TestApp) {
    let s = deploy_in(&app, None, "live").await;
    app.on_host(Method::GET, "/live/1", None)
        .await
        .error(404, "not_found");
    let r = created(route(&app, &s, "/live/:n", Some(&["GET"])).await).await;
    assert_eq!(
        app.on_host(Method::GET, "/live/1", None).await.json()["params"]["n"],
        "1"
    );
    created(
        app.admin(Method::POST, "/apps", Some(json!({"name": "other"})))
            .await,
    )
    .await;
    created(
        app.admin(
            Method::POST,
            "/apps/other/domains",
            Some(json!({"pattern": "{who}.other.test"})),
        )
        .await,
    )
    .await;
    let o = deploy_in(&app, Some("other"), "o").await;
    created(route(&app, &o, "/live/:n", None).await).await;

    let app = app.restart().await;
    assert_eq!(
        app.on_host(Method::GET, "/live/2", None).await.json()["script"],
        "live"
    );
    let w = app
        .on_host(Method::GET, "/live/3", Some("x.other.test"))
        .await
        .json();
    assert_eq!(
        (w["script"].as_str(), w["host_params"]["who"].as_str()),
        (Some("o"), Some("x"))
    );

    // Deleting the route, or the script, takes effect at once.
    let id = r["id"].as_str().unwrap();
    assert_eq!(
        app.admin(Method::DELETE, &format!("/routes/{id}"), None)
            .await
            .status,
        204
    );
    app.on_host(Method::GET, "/live/2", None)
        .await
        .error(404, "not_found");
    assert_eq!(
        app.admin(Method::DELETE, &format!("/scripts/{o}"), None)
            .await
            .status,
        204
    );
    app.on_host(Method::GET, "/live/3", Some("x.other.test"))
        .await
        .error(404, "not_found");
    assert_eq!(
        route_count(&app, "other").await,
        0,
        "its routes went with it"
    );
}

/// A connection holding the database's write lock on `apps` (SQLite: the
/// file's; PostgreSQL: the table's) until it is released.
enum HeldWrites {
    Sqlite(sqlx::SqliteConnection),
    Postgres(sqlx::PgConnection),
}

impl HeldWrites {
    async fn hold(app: &TestApp) -> HeldWrites {
        use sqlx::Connection as _;
        match app.database_url() {
            Some(url) => {
                let mut conn = sqlx::PgConnection::connect(url).await.unwrap();
                sqlx::raw_sql("BEGIN; LOCK TABLE apps IN EXCLUSIVE MODE")
                    .execute(&mut conn)
                    .await
                    .unwrap();
                HeldWrites::Postgres(conn)
            }
            None => {
                let path = app.data_dir.path().join("picloud.db");
                let mut conn =
                    sqlx::SqliteConnection::connect(&format!("sqlite://{}", path.display()))
                        .await
                        .unwrap();
                sqlx::raw_sql("BEGIN IMMEDIATE")
                    .execute(&mut conn)
                    .await
                    .unwrap();
                HeldWrites::Sqlite(conn)
            }
        }
    }

    async fn release(self) {
        let rolled_back = match self {
            HeldWrites::Sqlite(mut c) => sqlx::raw_sql("ROLLBACK").execute(&mut c).await.map(drop),
            HeldWrites::Postgres(mut c) => {
                sqlx::raw_sql("ROLLBACK").execute(&mut c).await.map(drop)
            }
        };
        rolled_back.expect("the lock released");
    }
}

/// Sends `DELETE path` while the database's write lock is held, and leaves
/// once the call has begun (it waits for the lock); the lock is still held.
async fn abandoned_delete(app: &TestApp, path: &str) -> HeldWrites {
    use tokio::io::AsyncWriteExt;
    let held = HeldWrites::hold(app).await;
    let mut client = tokio::net::TcpStream::connect(app.addr).await.unwrap();
    let request = format!(
        "DELETE {path} HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer {}\r\n\r\n",
        app.token
    );
    client.write_all(request.as_bytes()).await.unwrap();
    // A second is ample for the call to begin (had it not, nothing would
    // have begun, and the tests would fail, never pass wrongly).
    tokio::time::sleep(Duration::from_secs(1)).await;
    drop(client);
    tokio::time::sleep(Duration::from_millis(300)).await;
    held
}

async fn audited(app: &TestApp, action: &str) -> bool {
    let log = app.admin(Method::GET, "/audit", None).await.json();
    log["items"]
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["action"] == action)
}

// A client that closes its connection while its call waits does not cut
// the call short: the change, and what follows its commit (the routing
// table reloaded, the audit entry), is carried out whole. Before, hyper
// dropped the handler with the connection.
both_backends!(an_admin_call_is_carried_out_when_its_client_leaves);
async fn an_admin_call_is_carried_out_when_its_client_leaves(app: TestApp) {
    created(
        app.admin(Method::POST, "/apps", Some(json!({"name": "shop"})))
            .await,
    )
    .await;
    let script = deploy_in(&app, Some("shop"), "home").await;
    created(route(&app, &script, "/home", None).await).await;
    let shop = "shop.example.com";
    created(
        app.admin(
            Method::POST,
            "/apps/shop/domains",
            Some(json!({ "pattern": shop })),
        )
        .await,
    )
    .await;
    assert_eq!(
        app.on_host(Method::GET, "/home", Some(shop)).await.status,
        200
    );

    let held = abandoned_delete(&app, "/api/v1/admin/apps/shop").await;
    held.release().await;

    within(Duration::from_secs(10), "the app deleted", || async {
        let status = app.admin(Method::GET, "/apps/shop", None).await.status;
        (status == 404)
            .then_some(())
            .ok_or(format!("GET /apps/shop: {status}"))
    })
    .await;
    within(Duration::from_secs(10), "the deletion audited", || async {
        audited(&app, "app.delete").await.then_some(())
    })
    .await;
    // The routing table was reloaded: the host no longer reaches the app.
    app.on_host(Method::GET, "/home", Some(shop))
        .await
        .error(404, "not_found");
}

// A shutdown waits for a call whose client left before it closes the
// database: after the restart the call is found carried out whole.
both_backends!(a_shutdown_waits_for_an_admin_call_whose_client_left);
async fn a_shutdown_waits_for_an_admin_call_whose_client_left(app: TestApp) {
    created(
        app.admin(Method::POST, "/apps", Some(json!({"name": "shop"})))
            .await,
    )
    .await;
    let held = abandoned_delete(&app, "/api/v1/admin/apps/shop").await;
    let (app, ()) = tokio::join!(app.restart(), async {
        // The shutdown has begun meanwhile.
        tokio::time::sleep(Duration::from_millis(300)).await;
        held.release().await;
    });
    app.admin(Method::GET, "/apps/shop", None)
        .await
        .error(404, "not_found");
    assert!(audited(&app, "app.delete").await, "the deletion audited");
}
