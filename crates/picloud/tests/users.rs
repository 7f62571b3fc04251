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
