//! Per-app roles over HTTP: members, visibility, revocation, the audit log,
//! and no secret in the clear in the database. Both backends.

#[macro_use]
mod common;

use common::{PASSWORD, TestApp};
use reqwest::Method;
use serde_json::{Value, json};

/// A signed-in member user.
struct User {
    id: String,
    token: String,
}

async fn user(app: &TestApp, name: &str) -> User {
    let password = format!("{name}-password-123");
    let created = app
        .admin(
            Method::POST,
            "/users",
            Some(json!({"username": name, "password": password, "role": "member"})),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.text);
    let token = app.login(name, &password).await.json()["token"]
        .as_str()
        .unwrap()
        .to_owned();
    User {
        id: created.json()["id"].as_str().unwrap().to_owned(),
        token,
    }
}

async fn call(
    app: &TestApp,
    u: &User,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> common::Answer {
    app.send(
        method,
        &format!("/api/v1/admin{path}"),
        Some(&u.token),
        body,
    )
    .await
}

async fn make_app(app: &TestApp, name: &str) -> String {
    let a = app
        .admin(Method::POST, "/apps", Some(json!({"name": name})))
        .await;
    assert_eq!(a.status, 201, "{}", a.text);
    a.json()["id"].as_str().unwrap().to_owned()
}

async fn grant(app: &TestApp, app_name: &str, user: &str, role: &str) -> common::Answer {
    app.admin(
        Method::POST,
        &format!("/apps/{app_name}/members"),
        Some(json!({"user_id": user, "role": role})),
    )
    .await
}

fn names(v: &Value, field: &str) -> Vec<String> {
    v["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i[field].as_str().unwrap().to_owned())
        .collect()
}

async fn outsiders_cannot_tell_an_app_exists(app: TestApp) {
    make_app(&app, "secret-app").await;
    let olga = user(&app, "olga").await;
    let hidden = call(&app, &olga, Method::GET, "/apps/secret-app", None).await;
    let absent = call(&app, &olga, Method::GET, "/apps/no-such-app", None).await;
    hidden.error(404, "not_found");
    assert_eq!(hidden.text, absent.text, "the same answer, exists or not");
    // The same for an app's scripts, by id.
    let s = app
        .deploy_with(json!({"name": "s", "source": "1", "app": "secret-app"}))
        .await;
    let id = s["id"].as_str().unwrap();
    let hidden = call(&app, &olga, Method::GET, &format!("/scripts/{id}"), None).await;
    let absent = call(
        &app,
        &olga,
        Method::GET,
        &format!("/scripts/{}", uuid::Uuid::now_v7()),
        None,
    )
    .await;
    hidden.error(404, "not_found");
    assert_eq!(hidden.text, absent.text);
    // A member addition to an app that does not exist: 404, nothing made.
    grant(&app, "no-such-app", &olga.id, "viewer")
        .await
        .error(404, "not_found");
    // Lists show only the caller's apps.
    let listed = call(&app, &olga, Method::GET, "/apps", None).await.json();
    assert!(names(&listed, "name").is_empty(), "{listed}");
    make_app(&app, "shared").await;
    assert_eq!(grant(&app, "shared", "olga", "viewer").await.status, 201);
    let listed = call(&app, &olga, Method::GET, "/apps", None).await.json();
    assert_eq!(names(&listed, "name"), ["shared"]);
    // The admin sees every app.
    let all = app.admin(Method::GET, "/apps", None).await.json();
    assert_eq!(names(&all, "name"), ["default", "secret-app", "shared"]);
}
both_backends!(outsiders_cannot_tell_an_app_exists);

async fn roles_are_granted_changed_and_revoked_at_once(app: TestApp) {
    make_app(&app, "acme").await;
    let vera = user(&app, "vera").await;
    let s = app
        .deploy_with(json!({"name": "s", "source": "1", "app": "acme"}))
        .await;
    let script = format!("/scripts/{}", s["id"].as_str().unwrap());
    // An API token made before the role was granted acts with the role the
    // user has at each request.
    let made = call(
        &app,
        &vera,
        Method::POST,
        "/tokens",
        Some(json!({"name": "ci"})),
    )
    .await;
    let ci = User {
        id: vera.id.clone(),
        token: made.json()["token"].as_str().unwrap().to_owned(),
    };
    call(&app, &ci, Method::GET, &script, None)
        .await
        .error(404, "not_found");

    // By username; 201 when new.
    let added = grant(&app, "acme", "vera", "viewer").await;
    assert_eq!(added.status, 201, "{}", added.text);
    let m = added.json();
    assert_eq!(
        (m["username"].as_str(), m["role"].as_str()),
        (Some("vera"), Some("viewer"))
    );
    assert_eq!(
        call(&app, &ci, Method::GET, &script, None).await.status,
        200
    );
    call(
        &app,
        &vera,
        Method::PUT,
        &script,
        Some(json!({"source": "2"})),
    )
    .await
    .error(403, "forbidden");
    let me = call(&app, &vera, Method::GET, "/auth/me", None)
        .await
        .json();
    assert_eq!(
        me["roles"],
        json!([{"app_id": m["app_id"], "app": "acme", "role": "viewer"}])
    );

    // By id; 200 when the role changes.
    let changed = grant(&app, "acme", &vera.id, "editor").await;
    assert_eq!(changed.status, 200, "{}", changed.text);
    assert_eq!(changed.json()["created_at"], m["created_at"]);
    let updated = call(
        &app,
        &ci,
        Method::PUT,
        &script,
        Some(json!({"source": "2"})),
    )
    .await;
    assert_eq!(updated.status, 200, "{}", updated.text);

    // Bad input changes nothing.
    grant(&app, "acme", "vera", "superuser")
        .await
        .error(400, "bad_request");
    grant(&app, "acme", "nobody-by-that-name", "viewer")
        .await
        .error(404, "not_found");
    let members = app
        .admin(Method::GET, "/apps/acme/members", None)
        .await
        .json();
    assert_eq!(names(&members, "role"), ["editor"]);

    // Removing the role revokes it for the next request, sessions and
    // tokens alike.
    let removed = app
        .admin(
            Method::DELETE,
            &format!("/apps/acme/members/{}", vera.id),
            None,
        )
        .await;
    assert_eq!(removed.status, 204, "{}", removed.text);
    call(&app, &vera, Method::GET, &script, None)
        .await
        .error(404, "not_found");
    call(&app, &ci, Method::GET, &script, None)
        .await
        .error(404, "not_found");
    app.admin(
        Method::DELETE,
        &format!("/apps/acme/members/{}", vera.id),
        None,
    )
    .await
    .error(404, "not_found");
}
both_backends!(roles_are_granted_changed_and_revoked_at_once);

async fn an_app_with_owners_keeps_one(app: TestApp) {
    make_app(&app, "acme").await;
    let oscar = user(&app, "oscar").await;
    let olive = user(&app, "olive").await;
    assert_eq!(grant(&app, "acme", "oscar", "owner").await.status, 201);
    // The only owner can be neither demoted nor removed...
    grant(&app, "acme", "oscar", "editor")
        .await
        .error(409, "conflict");
    call(
        &app,
        &oscar,
        Method::DELETE,
        &format!("/apps/acme/members/{}", oscar.id),
        None,
    )
    .await
    .error(409, "conflict");
    // ...until there is another. Owners manage members themselves.
    let added = call(
        &app,
        &oscar,
        Method::POST,
        "/apps/acme/members",
        Some(json!({"user_id": olive.id, "role": "owner"})),
    )
    .await;
    assert_eq!(added.status, 201, "{}", added.text);
    let left = call(
        &app,
        &olive,
        Method::DELETE,
        &format!("/apps/acme/members/{}", oscar.id),
        None,
    )
    .await;
    assert_eq!(left.status, 204, "{}", left.text);
    let members = app
        .admin(Method::GET, "/apps/acme/members", None)
        .await
        .json();
    assert_eq!(names(&members, "username"), ["olive"]);
    // Deleting the app takes its memberships with it.
    let deleted = call(&app, &olive, Method::DELETE, "/apps/acme", None).await;
    assert_eq!(deleted.status, 204, "{}", deleted.text);
    let me = call(&app, &olive, Method::GET, "/auth/me", None)
        .await
        .json();
    assert_eq!(me["roles"], json!([]));
}
both_backends!(an_app_with_owners_keeps_one);

async fn the_audit_log_says_who_changed_what(app: TestApp) {
    let acme = make_app(&app, "acme").await;
    make_app(&app, "other").await;
    let oscar = user(&app, "oscar").await;
    let ed = user(&app, "ed").await;
    grant(&app, "acme", &oscar.id, "owner").await;
    grant(&app, "acme", &ed.id, "editor").await;
    let created = call(
        &app,
        &ed,
        Method::POST,
        "/scripts",
        Some(json!({"name": "hello", "source": "1", "app": "acme"})),
    )
    .await;
    assert_eq!(created.status, 201, "{}", created.text);
    let script = created.json()["id"].as_str().unwrap().to_owned();
    call(
        &app,
        &ed,
        Method::PUT,
        &format!("/scripts/{script}"),
        Some(json!({"source": "2"})),
    )
    .await;
    call(
        &app,
        &ed,
        Method::POST,
        &format!("/scripts/{script}/routes"),
        Some(json!({"path": "/hi"})),
    )
    .await;
    app.deploy_with(json!({"name": "elsewhere", "source": "1", "app": "other"}))
        .await;

    // The owner reads the app's log, newest first; the editor may not.
    let log = call(&app, &oscar, Method::GET, "/audit?app=acme", None)
        .await
        .json();
    let actions = names(&log, "action");
    assert_eq!(
        actions,
        [
            "route.create",
            "script.update",
            "script.create",
            "member.set",
            "member.set",
            "app.create"
        ]
    );
    let newest = &log["items"][0];
    assert_eq!(newest["actor"], "ed");
    assert_eq!(newest["actor_id"], json!(ed.id));
    assert_eq!(newest["app_id"], json!(acme));
    assert_eq!(newest["detail"]["path"], "/hi");
    assert_eq!(log["items"][1]["detail"]["changed"], json!(["source"]));
    assert_eq!(log["items"][1]["detail"]["version"], 2);
    call(&app, &ed, Method::GET, "/audit?app=acme", None)
        .await
        .error(403, "forbidden");
    // Without ?app=, an owner sees the apps they own, nothing else.
    let mine = call(&app, &oscar, Method::GET, "/audit", None).await.json();
    assert_eq!(names(&mine, "action"), actions);
    // An instance admin sees everything: users, and the other app.
    let all = app.admin(Method::GET, "/audit", None).await.json();
    let all_actions = names(&all, "action");
    for a in ["user.create", "script.create", "app.create"] {
        assert!(all_actions.iter().any(|x| x == a), "{a} in {all_actions:?}");
    }
    assert!(all_actions.len() > actions.len());
    // Paging: ?before= the last id seen, ?limit=.
    let page = app
        .admin(Method::GET, "/audit?app=acme&limit=2", None)
        .await
        .json();
    assert_eq!(names(&page, "action"), actions[..2]);
    let last = page["items"][1]["id"].as_str().unwrap();
    let next = app
        .admin(
            Method::GET,
            &format!("/audit?app=acme&limit=2&before={last}"),
            None,
        )
        .await
        .json();
    assert_eq!(names(&next, "action"), actions[2..4]);
    app.admin(Method::GET, "/audit?limit=0", None)
        .await
        .error(400, "bad_request");
    app.admin(Method::GET, "/audit?before=yesterday", None)
        .await
        .error(400, "bad_request");
}
both_backends!(the_audit_log_says_who_changed_what);

/// Every row of every table, as text, for a search.
async fn database_text(app: &TestApp) -> String {
    use picloud_manager_core::Db;
    match picloud_manager_core::testing::database(&app.manager) {
        Db::Postgres(pool) => {
            let tables: Vec<String> = sqlx::query_scalar(
                "SELECT table_name::text FROM information_schema.tables WHERE table_schema = 'public'",
            )
            .fetch_all(pool)
            .await
            .unwrap();
            assert!(tables.len() >= 8, "{tables:?}");
            let mut all = String::new();
            for t in tables {
                let rows: Vec<String> =
                    sqlx::query_scalar(&format!("SELECT t::text FROM \"{t}\" t"))
                        .fetch_all(pool)
                        .await
                        .unwrap();
                all.push_str(&rows.join("\n"));
            }
            all
        }
        // The raw bytes of the database and its write-ahead log: what is in
        // there in the clear, in any table, index or freed page.
        Db::Sqlite(..) => {
            let mut all = String::new();
            for suffix in ["", "-wal"] {
                let path = app.data_dir.path().join(format!("picloud.db{suffix}"));
                if let Ok(bytes) = std::fs::read(&path) {
                    all.push_str(&String::from_utf8_lossy(&bytes));
                }
            }
            assert!(all.contains("hello-script"), "the scan sees the data");
            all
        }
    }
}

async fn no_secret_is_stored_in_the_clear(app: TestApp) {
    make_app(&app, "acme").await;
    let vera = user(&app, "vera").await;
    grant(&app, "acme", &vera.id, "editor").await;
    let api = call(
        &app,
        &vera,
        Method::POST,
        "/tokens",
        Some(json!({"name": "ci"})),
    )
    .await
    .json();
    let api_token = api["token"].as_str().unwrap().to_owned();
    let ci = User {
        id: vera.id.clone(),
        token: api_token.clone(),
    };
    let made = call(
        &app,
        &ci,
        Method::POST,
        "/scripts",
        Some(json!({"name": "hello-script", "source": "1", "app": "acme"})),
    )
    .await;
    assert_eq!(made.status, 201, "{}", made.text);
    let session = app.login("vera", "vera-password-123").await.json()["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let text = database_text(&app).await;
    for (what, secret) in [
        ("the admin's password", PASSWORD),
        ("a member's password", "vera-password-123"),
        ("the admin's session token", app.token.as_str()),
        ("a member's session token", vera.token.as_str()),
        ("another session token", session.as_str()),
        ("an API token", api_token.as_str()),
    ] {
        assert!(
            !text.contains(secret),
            "{what} is in the database in the clear"
        );
    }
    // The tokens still work: they are stored, as hashes.
    assert_eq!(
        call(&app, &ci, Method::GET, "/auth/me", None).await.status,
        200
    );
    assert_eq!(
        call(&app, &vera, Method::GET, "/auth/me", None)
            .await
            .status,
        200
    );
}
both_backends!(no_secret_is_stored_in_the_clear);
