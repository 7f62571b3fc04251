//! The admin API of a `picloud` process, for the tests that start the real
//! binaries (`common::TestApp` runs the server inside the test's process).
#![allow(dead_code)]

use reqwest::{Client, Method};
use serde_json::{Value, json};

/// Signs in; the session's token.
pub async fn login(client: &Client, base: &str, username: &str, password: &str) -> String {
    let answer: Value = client
        .post(format!("{base}/api/v1/admin/auth/login"))
        .json(&json!({"username": username, "password": password}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    answer["token"].as_str().expect("a token").to_owned()
}

/// An admin call (`/api/v1/admin{path}`) that must answer `status`; its
/// JSON body, if any (else null).
pub async fn call(
    client: &Client,
    base: &str,
    token: &str,
    method: Method,
    path: &str,
    body: Option<Value>,
    status: u16,
) -> Value {
    let mut req = client
        .request(method, format!("{base}/api/v1/admin{path}"))
        .bearer_auth(token);
    if let Some(body) = body {
        req = req.json(&body);
    }
    let r = req.send().await.unwrap();
    let got = r.status().as_u16();
    let text = r.text().await.unwrap();
    assert_eq!(got, status, "{path}: {text}");
    serde_json::from_str(&text).unwrap_or(Value::Null)
}

/// Creates something (`POST`, which must answer 201); its JSON body.
pub async fn create(client: &Client, base: &str, token: &str, path: &str, body: Value) -> Value {
    call(client, base, token, Method::POST, path, Some(body), 201).await
}
