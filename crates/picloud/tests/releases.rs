//! Releases through the real server: a snapshot of the app (scripts at
//! their versions, routes, domain claims, triggers), numbered, with what
//! changed since the one before; none when nothing changed; the versions a
//! release names outlive the history's bound and their script. (Who may
//! list and make them: roles.rs.)

#[macro_use]
mod common;

use std::time::Duration;

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
    let api = t.deploy_in("shop", "api", "1").await;
    let old = t.deploy_in("shop", "old", "2").await;
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
    let kept = picloud_manager_core::testing::stored_versions(
        &t.manager,
        picloud_shared::ScriptId(old.parse().unwrap()),
    )
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

async fn get_on(t: &TestApp, path: &str) -> (u16, String) {
    let a = t.on_host(Method::GET, path, Some("shop.example.com")).await;
    (a.status.as_u16(), a.text)
}

/// App `shop` on shop.example.com with a script per name answering
/// `source(name)` at `/{name}`; their ids.
async fn shop_with_routes(
    t: &TestApp,
    names: &[&str],
    source: impl Fn(&str) -> String,
) -> Vec<String> {
    t.admin(Method::POST, "/apps", Some(json!({"name": "shop"})))
        .await;
    let a = t
        .admin(
            Method::POST,
            "/apps/shop/domains",
            Some(json!({"pattern": "shop.example.com"})),
        )
        .await;
    assert_eq!(a.status, 201, "{}", a.text);
    let mut ids = Vec::new();
    for name in names {
        let id = t.deploy_in("shop", name, &source(name)).await;
        let r = t
            .admin(
                Method::POST,
                &format!("/scripts/{id}/routes"),
                Some(json!({"path": format!("/{name}")})),
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.text);
        ids.push(id);
    }
    ids
}

/// A rollback makes the app match the release: scripts at its versions
/// (saved again as new ones, deleted ones brought back under their id),
/// routes, domains and triggers; recorded as a release of its own.
async fn rollback_restores_the_release_and_records_it(t: TestApp) {
    let ids = shop_with_routes(&t, &["a", "b", "gone"], |name| format!("\"{name} v1\"")).await;
    let kv_trigger = t
        .admin(
            Method::POST,
            "/apps/shop/triggers",
            Some(json!({"kind": "kv", "collection": "orders", "events": ["set"], "script_id": ids[0]})),
        )
        .await;
    assert_eq!(kv_trigger.status, 201, "{}", kv_trigger.text);
    let first = release(&t, "shop", json!({"message": "good"})).await.json();

    // The bad deploy: new versions, a script deleted, another added, the
    // trigger gone.
    for id in &ids[..2] {
        let a = t
            .admin(
                Method::PUT,
                &format!("/scripts/{id}"),
                Some(json!({"source": "\"broken\""})),
            )
            .await;
        assert_eq!(a.status, 200, "{}", a.text);
    }
    assert_eq!(
        t.admin(Method::DELETE, &format!("/scripts/{}", ids[2]), None)
            .await
            .status,
        204
    );
    let extra = t.deploy_in("shop", "extra", "1").await;
    let trigger_id = kv_trigger.json()["id"].as_str().unwrap().to_owned();
    assert_eq!(
        t.admin(Method::DELETE, &format!("/triggers/{trigger_id}"), None)
            .await
            .status,
        204
    );
    let bad = release(&t, "shop", json!({"message": "bad"})).await.json();
    assert_eq!(bad["number"], 2);
    assert_eq!(get_on(&t, "/a").await, (200, "broken".into()));
    assert_eq!(get_on(&t, "/gone").await.0, 404);

    // By number; a UUID works too (below).
    let back = t
        .admin(Method::POST, "/apps/shop/releases/1/rollback", None)
        .await;
    assert_eq!(back.status, 201, "{}", back.text);
    let back = back.json();
    assert_eq!(back["number"], 3);
    assert_eq!(back["kind"], "rollback");
    assert_eq!(back["rollback_of"], first["id"]);
    assert_eq!(back["message"], "rollback to release 1");
    let changes: Vec<&str> = back["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap())
        .collect();
    assert!(changes.contains(&"script a: version 2 → 3"), "{changes:?}");
    assert!(
        changes.contains(&"script gone added (version 2)"),
        "{changes:?}"
    );
    assert!(changes.contains(&"script extra removed"), "{changes:?}");

    // The data plane serves the release's state at once.
    assert_eq!(get_on(&t, "/a").await, (200, "a v1".into()));
    assert_eq!(get_on(&t, "/b").await, (200, "b v1".into()));
    assert_eq!(get_on(&t, "/gone").await, (200, "gone v1".into()));
    // The same ids, new versions with the old sources, the reason kept.
    let a = t
        .admin(Method::GET, &format!("/scripts/{}", ids[0]), None)
        .await
        .json();
    assert_eq!(
        (a["version"].clone(), a["source"].clone()),
        (json!(3), json!("\"a v1\""))
    );
    let v3 = t
        .admin(
            Method::GET,
            &format!("/scripts/{}/versions/3", ids[0]),
            None,
        )
        .await
        .json();
    assert_eq!(v3["message"], "rollback to release 1");
    let gone = t
        .admin(Method::GET, &format!("/scripts/{}", ids[2]), None)
        .await;
    assert_eq!(gone.status, 200, "brought back under its id: {}", gone.text);
    assert_eq!(gone.json()["version"], 2);
    t.admin(Method::GET, &format!("/scripts/{extra}"), None)
        .await
        .error(404, "not_found");
    let triggers = t
        .admin(Method::GET, "/apps/shop/triggers", None)
        .await
        .json();
    assert_eq!(
        triggers["items"][0]["id"],
        trigger_id.as_str(),
        "{triggers}"
    );
    assert_eq!(triggers["items"].as_array().unwrap().len(), 1);

    // Rolling back to what the app already is changes nothing.
    let again = t
        .admin(Method::POST, "/apps/shop/releases/3/rollback", None)
        .await;
    assert_eq!(again.status, 200, "{}", again.text);
    assert_eq!(again.json()["number"], 3);
    // Forward again, by id: the bad release's state.
    let path = format!(
        "/apps/shop/releases/{}/rollback",
        bad["id"].as_str().unwrap()
    );
    let forward = t.admin(Method::POST, &path, None).await;
    assert_eq!(forward.status, 201, "{}", forward.text);
    assert_eq!(get_on(&t, "/a").await, (200, "broken".into()));
    assert_eq!(get_on(&t, "/gone").await.0, 404);

    // Bad input changes nothing.
    for (path, status, code) in [
        ("/apps/shop/releases/99/rollback", 404, "not_found"),
        ("/apps/shop/releases/nope/rollback", 400, "bad_request"),
        ("/apps/nowhere/releases/1/rollback", 404, "not_found"),
    ] {
        t.admin(Method::POST, path, None).await.error(status, code);
    }
    t.admin(Method::POST, "/apps", Some(json!({"name": "other"})))
        .await;
    let theirs = t
        .admin(Method::POST, "/apps/other/releases/1/rollback", None)
        .await;
    theirs.error(404, "not_found");
    let list = t
        .admin(Method::GET, "/apps/shop/releases", None)
        .await
        .json();
    assert_eq!(list["items"].as_array().unwrap().len(), 4);
}
both_backends!(rollback_restores_the_release_and_records_it);

/// A domain another app claimed since the release: the rollback is
/// refused and changes nothing.
async fn a_rollback_that_cannot_claim_a_domain_changes_nothing(t: TestApp) {
    t.admin(Method::POST, "/apps", Some(json!({"name": "shop"})))
        .await;
    t.admin(Method::POST, "/apps", Some(json!({"name": "rival"})))
        .await;
    let d = t
        .admin(
            Method::POST,
            "/apps/shop/domains",
            Some(json!({"pattern": "shop.example.com"})),
        )
        .await
        .json();
    let s = t
        .deploy_with(json!({"app": "shop", "name": "a", "source": "1"}))
        .await;
    assert_eq!(release(&t, "shop", json!({})).await.status, 201);
    let id = d["id"].as_str().unwrap();
    assert_eq!(
        t.admin(Method::DELETE, &format!("/apps/shop/domains/{id}"), None)
            .await
            .status,
        204
    );
    let a = t
        .admin(
            Method::PUT,
            &format!("/scripts/{}", s["id"].as_str().unwrap()),
            Some(json!({"source": "2"})),
        )
        .await;
    assert_eq!(a.status, 200);
    let a = t
        .admin(
            Method::POST,
            "/apps/rival/domains",
            Some(json!({"pattern": "shop.example.com"})),
        )
        .await;
    assert_eq!(a.status, 201, "{}", a.text);
    // An editor may roll back, but not to a release that claims a domain
    // the app no longer has: claims are the owner's.
    let editor = t
        .admin(
            Method::POST,
            "/users",
            Some(json!({"username": "ed", "password": "an editor's password", "role": "member"})),
        )
        .await
        .json();
    let a = t
        .admin(
            Method::POST,
            "/apps/shop/members",
            Some(json!({"user_id": editor["id"], "role": "editor"})),
        )
        .await;
    assert_eq!(a.status, 201, "{}", a.text);
    let token = t.login("ed", "an editor's password").await.json()["token"]
        .as_str()
        .unwrap()
        .to_owned();
    t.send(
        Method::POST,
        "/api/v1/admin/apps/shop/releases/1/rollback",
        Some(&token),
        None,
    )
    .await
    .error(403, "forbidden");
    let refused = t
        .admin(Method::POST, "/apps/shop/releases/1/rollback", None)
        .await;
    let v = refused.error(409, "conflict");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("shop.example.com"),
        "{v}"
    );
    let script = t
        .admin(
            Method::GET,
            &format!("/scripts/{}", s["id"].as_str().unwrap()),
            None,
        )
        .await;
    assert_eq!(script.json()["version"], 2, "unchanged");
    let list = t
        .admin(Method::GET, "/apps/shop/releases", None)
        .await
        .json();
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
}
both_backends!(a_rollback_that_cannot_claim_a_domain_changes_nothing);

/// Clients hammering two routes while the app rolls back see each route
/// answer the new version or the old, never a 404 or an error, and once
/// one of them has seen the rolled-back state it never sees the other.
async fn a_rollback_under_load_switches_between_two_requests(t: TestApp) {
    let ids = shop_with_routes(&t, &["x", "y"], |_| "\"old\"".to_owned()).await;
    assert_eq!(release(&t, "shop", json!({})).await.status, 201);
    for id in &ids {
        t.admin(
            Method::PUT,
            &format!("/scripts/{id}"),
            Some(json!({"source": "\"new\""})),
        )
        .await;
    }
    assert_eq!(get_on(&t, "/x").await.1, "new");

    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    let t = Arc::new(t);
    let stop = Arc::new(AtomicBool::new(false));
    // Answers of each version seen so far, by all clients.
    let (new, old) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let mut clients = Vec::new();
    for c in 0..4 {
        let (t, stop) = (Arc::clone(&t), Arc::clone(&stop));
        let (new, old) = (Arc::clone(&new), Arc::clone(&old));
        clients.push(tokio::spawn(async move {
            let mut seen = Vec::new();
            let mut i = c;
            while !stop.load(Ordering::Relaxed) {
                let path = if i % 2 == 0 { "/x" } else { "/y" };
                let answer = get_on(&t, path).await;
                match answer.1.as_str() {
                    "new" => new.fetch_add(1, Ordering::Relaxed),
                    _ => old.fetch_add(1, Ordering::Relaxed),
                };
                seen.push(answer);
                i += 1;
            }
            seen
        }));
    }
    // Every client is under way before the rollback, and they go on until
    // they have seen plenty after it.
    let at_least = |n: &Arc<AtomicUsize>, count: usize| {
        let n = Arc::clone(n);
        move || {
            let n = Arc::clone(&n);
            async move { (n.load(Ordering::Relaxed) >= count).then_some(()) }
        }
    };
    common::within(
        Duration::from_secs(20),
        "answers before",
        at_least(&new, 40),
    )
    .await;
    let back = t
        .admin(Method::POST, "/apps/shop/releases/1/rollback", None)
        .await;
    assert_eq!(back.status, 201, "{}", back.text);
    common::within(Duration::from_secs(20), "answers after", at_least(&old, 40)).await;
    stop.store(true, Ordering::Relaxed);
    for client in clients {
        let seen = client.await.unwrap();
        assert!(seen.iter().all(|(s, _)| *s == 200), "{seen:?}");
        // new… then old…: one switch, never back.
        // (A client the scheduler starved may have seen no old answer.)
        let first_old = seen
            .iter()
            .position(|(_, b)| b == "old")
            .unwrap_or(seen.len());
        assert!(
            seen[..first_old].iter().all(|(_, b)| b == "new"),
            "{seen:?}"
        );
        assert!(
            seen[first_old..].iter().all(|(_, b)| b == "old"),
            "{seen:?}"
        );
    }
}
both_backends!(a_rollback_under_load_switches_between_two_requests);
