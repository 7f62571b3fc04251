//! Inputs the API fuzzer (`.ci/schemathesis`) found answering 5xx. Bad
//! input is a 4xx JSON error, on both backends.

#[macro_use]
mod common;

use common::TestApp;
use reqwest::Method;
use serde_json::json;

/// Asserts a 4xx with the JSON error shape.
fn refused(a: &common::Answer, what: &str) {
    assert!(
        a.status.is_client_error(),
        "{what}: {} {}",
        a.status,
        a.text
    );
    let v = a.json();
    assert!(v["error"]["code"].is_string(), "{what}: {}", a.text);
    assert!(v["error"]["message"].is_string(), "{what}: {}", a.text);
}

/// PostgreSQL cannot store NUL (U+0000) in text: a NUL in a query, a path
/// or a JSON string was a database error, a 500 (`GET /scripts?app=%00`).
/// Where a NUL is merely looked up, SQLite answers 404; where it would be
/// stored, SQLite stores it and PostgreSQL answers 400.
async fn nul_characters_are_not_server_errors(app: TestApp) {
    let lookups = [
        "/scripts?app=%00",
        "/scripts?app=a%00b",
        "/routes?app=%00",
        "/audit?app=%00",
        "/apps/%00",
        "/apps/%00/kv",
        "/apps/default/kv/things/%00",
        "/apps/%00/members",
    ];
    for path in lookups {
        refused(&app.admin(Method::GET, path, None).await, path);
    }
    let a = app
        .send(
            Method::POST,
            "/api/v1/admin/auth/login",
            None,
            Some(json!({"username": "ad\u{0}min", "password": "x"})),
        )
        .await;
    refused(&a, "login");
    let a = app
        .admin(
            Method::POST,
            "/apps/%00/members",
            Some(json!({"user_id": "\u{0}", "role": "viewer"})),
        )
        .await;
    refused(&a, "member of a NUL app");

    // Stored text: accepted by SQLite, refused by PostgreSQL, never a 500.
    let writes = [
        (
            "/scripts",
            json!({"name": "n", "source": "1", "description": "a\u{0}b"}),
        ),
        ("/apps", json!({"name": "nul", "description": "\u{0}"})),
        ("/tokens", json!({"name": "t\u{0}"})),
    ];
    for (path, body) in writes {
        let a = app.admin(Method::POST, path, Some(body)).await;
        assert!(
            a.status == 201 || a.status == 400,
            "POST {path}: {} {}",
            a.status,
            a.text
        );
        if a.status == 400 {
            a.error(400, "bad_request");
        }
    }
    for (key, value) in [
        ("%00", json!(1)),
        ("k", json!("\u{0}")),
        ("k2", json!({"\u{0}": 1})),
    ] {
        let path = format!("/apps/default/kv/things/{key}");
        let a = app.admin(Method::PUT, &path, Some(value)).await;
        assert!(
            a.status == 201 || a.status == 400,
            "PUT {path}: {} {}",
            a.status,
            a.text
        );
    }
    // The server is still fine.
    assert_eq!(app.admin(Method::GET, "/scripts", None).await.status, 200);
}
both_backends!(nul_characters_are_not_server_errors);

/// Found beside them: on PostgreSQL, a script that logged a NUL made the
/// whole batch of execution records fail, everyone's. The NUL is kept on
/// SQLite and becomes U+FFFD on PostgreSQL; no record is lost.
async fn a_nul_in_a_log_loses_no_record(app: TestApp) {
    let nul = app.deploy("nul", r#"log::info("a\x00b"); "ok""#).await;
    let other = app.deploy("other", "1").await;
    let (nul, other) = (nul["id"].as_str().unwrap(), other["id"].as_str().unwrap());
    assert_eq!(app.invoke(nul).await.status, 200);
    assert_eq!(app.invoke(other).await.status, 200);
    let records = app.executions(nul, 1).await;
    let message = records[0]["logs"][0]["message"].as_str().unwrap();
    assert!(
        message == "a\u{0}b" || message == "a\u{fffd}b",
        "{message:?}"
    );
    app.executions(other, 1).await;
}
both_backends!(a_nul_in_a_log_loses_no_record);
