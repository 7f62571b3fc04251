//! Script history through the real server: every saved version is kept
//! with who saved it and their message, listed newest first and readable
//! with its source, up to `PICLOUD_SCRIPT_HISTORY`; bad input is refused
//! and changes nothing. (Who may read it: roles.rs.)

#[macro_use]
mod common;

use common::{ADMIN, TestApp};
use reqwest::Method;
use serde_json::{Value, json};

async fn put(t: &TestApp, id: &str, body: Value) -> common::Answer {
    t.admin(Method::PUT, &format!("/scripts/{id}"), Some(body))
        .await
}

async fn versions(t: &TestApp, id: &str) -> Vec<Value> {
    let a = t
        .admin(Method::GET, &format!("/scripts/{id}/versions"), None)
        .await;
    assert_eq!(a.status, 200, "{}", a.text);
    a.json()["items"].as_array().unwrap().clone()
}

async fn every_version_is_kept_with_its_author_and_message(t: TestApp) {
    let s = t
        .deploy_with(json!({"name": "greet", "source": r#""v1""#, "message": "first cut"}))
        .await;
    let id = s["id"].as_str().unwrap();
    let a = put(
        &t,
        id,
        json!({"source": r#""v2""#, "message": "say v2\nwith a reason"}),
    )
    .await;
    assert_eq!(a.status, 200, "{}", a.text);
    let a = put(&t, id, json!({"sandbox": {"timeout_ms": 1000}})).await;
    assert_eq!(a.json()["version"], 3);

    let list = versions(&t, id).await;
    let numbers: Vec<i64> = list
        .iter()
        .map(|v| v["version"].as_i64().unwrap())
        .collect();
    assert_eq!(numbers, [3, 2, 1], "newest first");
    assert_eq!(list[0]["live"], true);
    assert_eq!(list[1]["live"], false);
    assert_eq!(list[0]["message"], "");
    assert_eq!(list[0]["sandbox"], json!({"timeout_ms": 1000}));
    assert_eq!(list[1]["message"], "say v2\nwith a reason");
    assert_eq!(list[2]["message"], "first cut");
    assert_eq!(list[2]["source_bytes"], 4);
    assert!(list.iter().all(|v| v["created_by"] == ADMIN));
    assert!(
        list.iter().all(|v| v.get("source").is_none()),
        "no sources in the list"
    );

    let one = t
        .admin(Method::GET, &format!("/scripts/{id}/versions/1"), None)
        .await;
    assert_eq!(one.status, 200, "{}", one.text);
    let one = one.json();
    assert_eq!(one["source"], r#""v1""#);
    assert_eq!(one["script_id"], id);
    assert_eq!(one["live"], false);
    assert_eq!(one["sandbox"], json!({}));

    // Restoring is saving the old source again: a new version.
    let a = put(
        &t,
        id,
        json!({"source": one["source"], "message": "restore version 1"}),
    )
    .await;
    assert_eq!(a.json()["version"], 4);
    assert_eq!(t.invoke(id).await.text, "v1");
    assert_eq!(versions(&t, id).await[0]["message"], "restore version 1");
}
both_backends!(every_version_is_kept_with_its_author_and_message);

async fn bad_version_requests_are_refused_and_change_nothing(t: TestApp) {
    let s = t.deploy("bad", "1").await;
    let id = s["id"].as_str().unwrap();
    for v in ["0", "-1", "one", "1.5", "99999999999999999999"] {
        t.admin(Method::GET, &format!("/scripts/{id}/versions/{v}"), None)
            .await
            .error(400, "bad_request");
    }
    t.admin(Method::GET, &format!("/scripts/{id}/versions/2"), None)
        .await
        .error(404, "not_found");
    let nobody = uuid::Uuid::new_v4();
    t.admin(Method::GET, &format!("/scripts/{nobody}/versions"), None)
        .await
        .error(404, "not_found");

    // A message alone changes nothing; a message too long or with control
    // characters is refused, and the script stays as it was.
    put(&t, id, json!({"message": "just a note"}))
        .await
        .error(400, "bad_request");
    put(&t, id, json!({"source": "2", "message": "x".repeat(1025)}))
        .await
        .error(400, "bad_request");
    put(&t, id, json!({"source": "2", "message": "a\u{7}bell"}))
        .await
        .error(400, "bad_request");
    t.admin(
        Method::POST,
        "/scripts",
        Some(json!({"name": "other", "source": "1", "message": 7})),
    )
    .await
    .error(400, "bad_request");
    let list = versions(&t, id).await;
    assert_eq!(list.len(), 1, "{list:?}");
    assert_eq!(t.invoke(id).await.text, "1");

    // Deleted with its script.
    let a = t
        .admin(Method::DELETE, &format!("/scripts/{id}"), None)
        .await;
    assert_eq!(a.status, 204);
    let script = picloud_shared::ScriptId(uuid::Uuid::parse_str(id).unwrap());
    assert!(
        picloud_manager_core::testing::stored_versions(&t.manager, script)
            .await
            .unwrap()
            .is_empty()
    );
}
both_backends!(bad_version_requests_are_refused_and_change_nothing);

#[tokio::test]
async fn the_history_keeps_the_newest_up_to_its_bound() {
    let t = TestApp::spawn_with(|a| a.script_history = 2).await;
    let s = t.deploy("bounded", "1").await;
    let id = s["id"].as_str().unwrap();
    for n in 2..=4 {
        let a = put(&t, id, json!({"source": n.to_string()})).await;
        assert_eq!(a.status, 200, "{}", a.text);
    }
    let numbers: Vec<i64> = versions(&t, id)
        .await
        .iter()
        .map(|v| v["version"].as_i64().unwrap())
        .collect();
    assert_eq!(numbers, [4, 3]);
    t.admin(Method::GET, &format!("/scripts/{id}/versions/2"), None)
        .await
        .error(404, "not_found");
}
