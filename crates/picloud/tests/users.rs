//! Instance users: created, listed and deleted by instance admins.

#[macro_use]
mod common;

use common::{Answer, TestApp};
use reqwest::Method;
use serde_json::{Value, json};

async fn created(a: Answer) -> Value {
    assert_eq!(a.status, 201, "{}", a.text);
    a.json()
}

both_backends!(instance_admins_manage_users);
async fn instance_admins_manage_users(app: TestApp) {
    let create = |body: Value| {
        let app = &app;
        async move { app.admin(Method::POST, "/users", Some(body)).await }
    };
    let member = created(
        create(json!({"username": "mia", "password": "mia password", "role": "member"})).await,
    )
    .await;
    assert_eq!(member["role"], "member");
    assert!(member.get("password_hash").is_none() && member.get("password").is_none());
    let second = created(
        create(json!({"username": "ada", "password": "ada password", "role": "admin"})).await,
    )
    .await;
    create(json!({"username": "mia", "password": "another one", "role": "member"}))
        .await
        .error(409, "conflict");
    create(json!({"username": "bad name", "password": "long enough", "role": "member"}))
        .await
        .error(400, "invalid_name");
    create(json!({"username": "short", "password": "short", "role": "member"}))
        .await
        .error(400, "bad_request");
    create(json!({"username": "x", "password": "long enough", "role": "owner"}))
        .await
        .error(400, "bad_request");
    let names: Vec<String> = app.admin(Method::GET, "/users", None).await.json()["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["username"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(names, ["ada", "admin", "mia"]);

    // Members cannot manage users.
    let mia = app.login("mia", "mia password").await.json()["token"]
        .as_str()
        .unwrap()
        .to_owned();
    app.send(Method::GET, "/api/v1/admin/users", Some(&mia), None)
        .await
        .error(403, "forbidden");
    // Deleting a user ends their sessions at once.
    let id = member["id"].as_str().unwrap();
    assert_eq!(
        app.admin(Method::DELETE, &format!("/users/{id}"), None)
            .await
            .status,
        204
    );
    app.send(Method::GET, "/api/v1/admin/auth/me", Some(&mia), None)
        .await
        .error(401, "unauthorized");
    app.admin(Method::DELETE, &format!("/users/{id}"), None)
        .await
        .error(404, "not_found");
    app.admin(Method::DELETE, "/users/not-a-uuid", None)
        .await
        .error(400, "invalid_id");
    // The last instance admin stays: with two, one can go.
    let ada = second["id"].as_str().unwrap();
    assert_eq!(
        app.admin(Method::DELETE, &format!("/users/{ada}"), None)
            .await
            .status,
        204
    );
    let me = app.admin(Method::GET, "/auth/me", None).await.json();
    let admin_id = me["user"]["id"].as_str().unwrap();
    app.admin(Method::DELETE, &format!("/users/{admin_id}"), None)
        .await
        .error(409, "conflict");
    assert_eq!(
        app.admin(Method::GET, "/users", None).await.json()["items"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

both_backends!(api_tokens_act_as_their_creator_until_revoked);
async fn api_tokens_act_as_their_creator_until_revoked(app: TestApp) {
    let t = created(
        app.admin(
            Method::POST,
            "/tokens",
            Some(json!({"name": "ci", "expires_in_days": 30})),
        )
        .await,
    )
    .await;
    let secret = t["token"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("pct_"), "{secret}");
    assert_eq!(t["name"], "ci");
    assert!(t["expires_at"].is_string() && t["last_used_at"].is_null());
    let forever = created(
        app.admin(Method::POST, "/tokens", Some(json!({"name": "cli"})))
            .await,
    )
    .await;
    assert!(forever["expires_at"].is_null());

    // It acts as its creator.
    let me = app
        .send(Method::GET, "/api/v1/admin/auth/me", Some(&secret), None)
        .await
        .json();
    assert_eq!(me["user"]["username"], common::ADMIN);
    let s = app
        .send(
            Method::POST,
            "/api/v1/admin/scripts",
            Some(&secret),
            Some(json!({"name": "by-token", "source": "1"})),
        )
        .await;
    assert_eq!(s.status, 201, "{}", s.text);

    // Listed without the secret, with its last use.
    let list = app.admin(Method::GET, "/tokens", None).await.json();
    let items = list["items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    assert!(
        !list.to_string().contains(&secret[4..]),
        "no secret in the list"
    );
    let ci = items.iter().find(|i| i["name"] == "ci").unwrap();
    assert!(ci["last_used_at"].is_string(), "{ci}");
    assert!(ci.get("token").is_none());

    // Bad input changes nothing.
    for body in [
        json!({"name": ""}),
        json!({"name": "x".repeat(65)}),
        json!({"name": "x", "expires_in_days": 0}),
        json!({"name": "x", "expires_in_days": 4000}),
        json!({"name": "x", "secret": "mine"}),
    ] {
        app.admin(Method::POST, "/tokens", Some(body))
            .await
            .error(400, "bad_request");
    }
    assert_eq!(
        app.admin(Method::GET, "/tokens", None).await.json()["items"]
            .as_array()
            .unwrap()
            .len(),
        2
    );

    // Another user cannot see or revoke it.
    created(
        app.admin(
            Method::POST,
            "/users",
            Some(json!({"username": "mo", "password": "mo password", "role": "member"})),
        )
        .await,
    )
    .await;
    let mo = app.login("mo", "mo password").await.json()["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let theirs = app
        .send(Method::GET, "/api/v1/admin/tokens", Some(&mo), None)
        .await
        .json();
    assert_eq!(theirs["items"], json!([]));
    let id = t["id"].as_str().unwrap();
    app.send(
        Method::DELETE,
        &format!("/api/v1/admin/tokens/{id}"),
        Some(&mo),
        None,
    )
    .await
    .error(404, "not_found");

    // Revoking takes effect at once.
    assert_eq!(
        app.admin(Method::DELETE, &format!("/tokens/{id}"), None)
            .await
            .status,
        204
    );
    app.send(Method::GET, "/api/v1/admin/auth/me", Some(&secret), None)
        .await
        .error(401, "unauthorized");
    app.admin(Method::DELETE, &format!("/tokens/{id}"), None)
        .await
        .error(404, "not_found");
    app.admin(Method::DELETE, "/tokens/nope", None)
        .await
        .error(400, "invalid_id");
    // A made-up token of the right shape is just unauthorized.
    app.send(
        Method::GET,
        "/api/v1/admin/auth/me",
        Some("pct_madeup"),
        None,
    )
    .await
    .error(401, "unauthorized");
}

/// Runs one statement on the server's database (to age a credential).
async fn execute(app: &TestApp, sql: &str) {
    use picloud_manager_core::Db;
    match picloud_manager_core::testing::database(&app.manager) {
        Db::Sqlite(pool, _) => sqlx::query(sql).execute(pool).await.map(drop),
        Db::Postgres(pool) => sqlx::query(sql).execute(pool).await.map(drop),
    }
    .unwrap();
}

async fn count(app: &TestApp, sql: &str) -> i64 {
    use picloud_manager_core::Db;
    match picloud_manager_core::testing::database(&app.manager) {
        Db::Sqlite(pool, _) => sqlx::query_scalar(sql).fetch_one(pool).await,
        Db::Postgres(pool) => sqlx::query_scalar(sql).fetch_one(pool).await,
    }
    .unwrap()
}

both_backends!(tampered_and_expired_credentials_are_refused);
async fn tampered_and_expired_credentials_are_refused(app: TestApp) {
    let me = "/api/v1/admin/auth/me";
    let unauthorized = |a: Answer| {
        a.error(401, "unauthorized");
    };
    // A tampered session token, as Bearer and as cookie.
    let mut tampered = app.token.clone();
    let last = tampered.pop().unwrap();
    tampered.push(if last == 'A' { 'B' } else { 'A' });
    unauthorized(app.send(Method::GET, me, Some(&tampered), None).await);
    let resp = app
        .client
        .get(app.url(me))
        .header("cookie", format!("picloud_session={tampered}"))
        .send()
        .await
        .unwrap();
    unauthorized(common::answer(resp).await);
    unauthorized(app.send(Method::GET, me, Some("pct_"), None).await);
    unauthorized(
        app.send(Method::GET, me, Some(&"x".repeat(10_000)), None)
            .await,
    );

    // An API token past its expiry.
    let made = app
        .admin(
            Method::POST,
            "/tokens",
            Some(json!({"name": "short", "expires_in_days": 1})),
        )
        .await
        .json();
    let token = made["token"].as_str().unwrap();
    assert_eq!(
        app.send(Method::GET, me, Some(token), None).await.status,
        200
    );
    execute(
        &app,
        "UPDATE api_tokens SET expires_at = '2020-01-01T00:00:00Z'",
    )
    .await;
    unauthorized(app.send(Method::GET, me, Some(token), None).await);

    // A session past its expiry is refused, and purged at the next login
    // (no timer does it).
    let second = app.login(common::ADMIN, common::PASSWORD).await.json()["token"]
        .as_str()
        .unwrap()
        .to_owned();
    execute(
        &app,
        "UPDATE sessions SET expires_at = '2020-01-01T00:00:00Z'",
    )
    .await;
    unauthorized(app.send(Method::GET, me, Some(&second), None).await);
    unauthorized(app.send(Method::GET, me, Some(&app.token), None).await);
    assert_eq!(count(&app, "SELECT COUNT(*) FROM sessions").await, 2);
    let third = app.login(common::ADMIN, common::PASSWORD).await.json()["token"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        count(&app, "SELECT COUNT(*) FROM sessions").await,
        1,
        "only the new session is left"
    );
    assert_eq!(
        app.send(Method::GET, me, Some(&third), None).await.status,
        200
    );
}

both_backends!(a_sign_in_waits_for_the_first_admin_being_created);
/// A first start creates the admin from PICLOUD_ADMIN_USER while the
/// server already listens: a sign-in meanwhile waits for it, rather than
/// being refused (and counted as a failure) for a user not there yet.
async fn a_sign_in_waits_for_the_first_admin_being_created(app: TestApp) {
    execute(&app, "DELETE FROM users").await;
    let (hashing, release) = picloud_manager_core::testing::held_prehash(common::PASSWORD);
    let creating = app
        .manager
        .begin_bootstrap_admin("first", common::PASSWORD, Some(hashing))
        .await
        .unwrap()
        .expect("no user exists: the admin is being created");
    let app = std::sync::Arc::new(app);
    let signing_in = tokio::spawn({
        let app = std::sync::Arc::clone(&app);
        async move { app.login("first", common::PASSWORD).await }
    });
    common::assert_stays(
        std::time::Duration::from_millis(300),
        "the sign-in waits while the admin is being created",
        || async { (!signing_in.is_finished()).then_some(()) },
    )
    .await;
    release.send(()).unwrap();
    let answer = signing_in.await.unwrap();
    assert_eq!(answer.status, 200, "{}", answer.text);
    assert!(creating.await.unwrap().unwrap(), "it created the admin");
    // A bad name or password is the caller's error at once, and creates
    // nothing.
    execute(&app, "DELETE FROM users").await;
    for (name, password) in [("bad name!", common::PASSWORD), ("second", "short")] {
        let refused = app
            .manager
            .begin_bootstrap_admin(name, password, None)
            .await;
        assert!(refused.is_err(), "{name}/{password} is refused");
    }
    assert_eq!(count(&app, "SELECT COUNT(*) FROM users").await, 0);
}
