//! Releases through the real server: a snapshot of the app (scripts at
//! their versions, routes, domain claims, triggers), numbered, with what
//! changed since the one before; none when nothing changed; the versions a
//! release names outlive the history's bound and their script. (Who may
//! list and make them: roles.rs.)

#[macro_use]
mod common;

use common::TestApp;
use reqwest::Method;
use serde_json::{Value, json};

async fn release(t: &TestApp, app: &str, body: Value) -> common::Answer {
    t.admin(Method::POST, &format!("/apps/{app}/releases"), Some(body))
        .await
}

async fn a_release_holds_the_app_and_says_what_changed(t: TestApp) {
    t.admin(Method::POST, "/apps", Some(json!({"name": "shop"})))
        .await;
    let deploy = |name: &str, source: &str| {
        t.deploy_with(json!({"app": "shop", "name": name, "source": source}))
    };
    let api = deploy("api", "1").await;
    let api = api["id"].as_str().unwrap().to_owned();
    let old = deploy("old", "2").await;
    let old = old["id"].as_str().unwrap().to_owned();
    let a = t
        .admin(
            Method::POST,
            &format!("/scripts/{old}/routes"),
            Some(json!({"path": "/old", "methods": ["GET"]})),
        )
        .await;
    assert_eq!(a.status, 201, "{}", a.text);
    let a = t
        .admin(
            Method::POST,
            "/apps/shop/domains",
            Some(json!({"pattern": "shop.example.com"})),
        )
        .await;
    assert_eq!(a.status, 201, "{}", a.text);
    let a = t
        .admin(
            Method::POST,
            "/apps/shop/triggers",
            Some(json!({"kind": "cron", "schedule": "0 * * * *", "script_id": api})),
        )
        .await;
    assert_eq!(a.status, 201, "{}", a.text);

    let first = release(&t, "shop", json!({"message": "first"})).await;
    assert_eq!(first.status, 201, "{}", first.text);
    let first = first.json();
    assert_eq!(first["number"], 1);
    assert_eq!(first["kind"], "manual");
    assert_eq!(first["message"], "first");
    assert_eq!(first["created_by"], common::ADMIN);
    assert_eq!(first["rollback_of"], Value::Null);
    let snap = &first["snapshot"];
    let names: Vec<&str> = snap["scripts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["api", "old"]);
    assert_eq!(snap["routes"][0]["path"], "/old");
    assert_eq!(snap["domains"][0]["pattern"], "shop.example.com");
    assert_eq!(snap["triggers"][0]["schedule"], "0 * * * *");
    assert_eq!(
        first["changes"],
        json!([
            "script api added (version 1)",
            "script old added (version 1)",
            "route GET /old → old added",
            "domain shop.example.com added",
            "cron trigger \"0 * * * *\" → api added",
        ])
    );

    // Nothing changed: the same release, 200.
    let again = release(&t, "shop", json!({"message": "again"})).await;
    assert_eq!(again.status, 200, "{}", again.text);
    assert_eq!(again.json()["id"], first["id"]);

    // A new version of one script, the other deleted (its route with it).
    let a = t
        .admin(
            Method::PUT,
            &format!("/scripts/{api}"),
            Some(json!({"source": "10"})),
        )
        .await;
    assert_eq!(a.status, 200, "{}", a.text);
    let a = t
        .admin(Method::DELETE, &format!("/scripts/{old}"), None)
        .await;
    assert_eq!(a.status, 204);
    let second = release(&t, "shop", json!({"kind": "deploy"})).await;
    assert_eq!(second.status, 201, "{}", second.text);
    let second = second.json();
    assert_eq!(second["number"], 2);
    assert_eq!(second["kind"], "deploy");
    assert_eq!(
        second["changes"],
        json!([
            "script api: version 1 → 2",
            "script old removed",
            "route GET /old → old removed",
        ])
    );

    let list = t.admin(Method::GET, "/apps/shop/releases", None).await;
    assert_eq!(list.status, 200, "{}", list.text);
    let numbers: Vec<i64> = list.json()["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["number"].as_i64().unwrap())
        .collect();
    assert_eq!(numbers, [2, 1], "newest first");

    // The deleted script's version is kept while release 1 names it.
    let kept = t
        .manager
        .db
        .script_versions(picloud_shared::ScriptId(old.parse().unwrap()))
        .await
        .unwrap();
    assert_eq!(kept.iter().map(|v| v.version).collect::<Vec<_>>(), [1]);

    // Bad input changes nothing.
    release(&t, "shop", json!({"kind": "rollback"}))
        .await
        .error(400, "bad_request");
    release(&t, "shop", json!({"message": "x".repeat(2000)}))
        .await
        .error(400, "bad_request");
    release(&t, "shop", json!({"nope": 1}))
        .await
        .error(400, "bad_request");
    release(&t, "nowhere", json!({}))
        .await
        .error(404, "not_found");
    let list = t.admin(Method::GET, "/apps/shop/releases", None).await;
    assert_eq!(list.json()["items"].as_array().unwrap().len(), 2);
}
both_backends!(a_release_holds_the_app_and_says_what_changed);

/// The history's bound never drops a version a release names.
#[tokio::test]
async fn released_versions_outlive_the_history_bound() {
    let t = TestApp::spawn_with(|a| a.script_history = 2).await;
    let s = t.deploy("kept", "1").await;
    let id = s["id"].as_str().unwrap();
    assert_eq!(release(&t, "default", json!({})).await.status, 201);
    for n in 2..=5 {
        let a = t
            .admin(
                Method::PUT,
                &format!("/scripts/{id}"),
                Some(json!({"source": n.to_string()})),
            )
            .await;
        assert_eq!(a.status, 200, "{}", a.text);
    }
    let versions: Vec<i64> = t
        .admin(Method::GET, &format!("/scripts/{id}/versions"), None)
        .await
        .json()["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["version"].as_i64().unwrap())
        .collect();
    assert_eq!(versions, [5, 4, 1], "the newest two, and the released one");
    let one = t
        .admin(Method::GET, &format!("/scripts/{id}/versions/1"), None)
        .await;
    assert_eq!(one.json()["source"], "1");
}
