//! Replay through the real server: an app keeps its failed (or all)
//! requests with their records, without the headers that carry
//! credentials; an editor replays one against the fix, as a dry run that
//! leaves the KV store, the triggers and outbound servers untouched
//! (checked in the store, in the handler's records and at the server), or
//! for real; a chosen version; trigger executions too; and what cannot be
//! replayed says why. (Who may: roles.rs.)

#[macro_use]
mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use common::{TestApp, within};
use picloud_executor_core::outbound::Allow;
use reqwest::Method;
use serde_json::{Value, json};

/// A local server counting the requests it gets.
async fn upstream() -> (String, Arc<AtomicUsize>) {
    let hits = Arc::new(AtomicUsize::new(0));
    let counted = Arc::clone(&hits);
    let app = axum::Router::new().route(
        "/hello",
        axum::routing::get(move || {
            let counted = Arc::clone(&counted);
            async move {
                counted.fetch_add(1, Ordering::SeqCst);
                "hi"
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (format!("http://{addr}"), hits)
}

fn allowing_loopback(args: &mut picloud::config::ServeArgs) {
    args.http_allow = Some(Allow::parse("127.0.0.1").unwrap());
    args.record_redact_headers = vec!["x-instance-secret".into()];
}

/// The orders script: v1 refuses large amounts (the bug), v2 does not.
/// Either writes the order, bumps a counter, deletes `stale`, calls the
/// upstream and lists what the collection holds then, one key a page.
fn orders(base: &str, buggy: bool) -> String {
    let check = if buggy {
        r#"if ctx.request.body.amount > 100 { throw "amount too large: " + ctx.request.body.amount; }"#
    } else {
        ""
    };
    format!(
        r#"
        {check}
        let c = kv::collection("orders");
        let n = c.get("count");
        c.set("count", n + 1);
        c.set("order-" + ctx.request.body.id, ctx.request.body);
        let deleted = c.delete("stale");
        let sent = "sent";
        try {{ http::get("{base}/hello"); }} catch (e) {{ sent = e; }}
        let keys = [];
        let cursor = ();
        loop {{
            let page = c.list(#{{ limit: 1, cursor: cursor }});
            for item in page.items {{ keys.push(item.key); }}
            cursor = page.cursor;
            if cursor == () {{ break; }}
        }}
        #{{ statusCode: 201, body: #{{ count: c.get("count"), stale: c.has("stale"), deleted: deleted,
                                 sent: sent, keys: keys }} }}
        "#
    )
}

/// The KV trigger's handler: notes each run under its execution's id.
const AUDIT: &str = r#"
    kv::collection("audit").set(ctx.execution_id, ctx.event.key);
    ctx.event.key
"#;

/// How many times the handler wrote to the store.
async fn audited(t: &TestApp) -> usize {
    let page = t
        .admin(Method::GET, "/apps/default/kv/audit?limit=1000", None)
        .await
        .json();
    page["items"].as_array().map_or(0, Vec::len)
}

async fn kv_value(t: &TestApp, collection: &str, key: &str) -> Option<Value> {
    let a = t
        .admin(
            Method::GET,
            &format!("/apps/default/kv/{collection}/{key}"),
            None,
        )
        .await;
    match a.status.as_u16() {
        200 => Some(a.json()["value"].clone()),
        404 => None,
        _ => panic!("{}", a.text),
    }
}

async fn post_order(t: &TestApp, body: Value, headers: &[(&str, &str)]) -> common::Answer {
    let mut req = t.client.post(t.url("/orders")).json(&body);
    for (name, value) in headers {
        req = req.header(*name, *value);
    }
    common::answer(req.send().await.unwrap()).await
}

fn execution_id(a: &common::Answer) -> String {
    a.headers["picloud-execution-id"]
        .to_str()
        .unwrap()
        .to_owned()
}

/// Sets which of the default app's requests are kept.
async fn keep(t: &TestApp, mode: &str) {
    let a = t
        .admin(
            Method::PATCH,
            "/apps/default",
            Some(json!({ "record_requests": mode })),
        )
        .await;
    assert_eq!(a.status, 200, "{}", a.text);
    assert_eq!(a.json()["record_requests"], mode);
}

async fn replay(t: &TestApp, id: &str, body: Value) -> common::Answer {
    t.admin(
        Method::POST,
        &format!("/executions/{id}/replay"),
        Some(body),
    )
    .await
}

async fn a_failed_request_is_kept_and_replayed_against_the_fix(t: TestApp) {
    let (base, hits) = upstream().await;
    let script = t.deploy_at("orders", &orders(&base, true), "/orders").await;
    let audit = t.deploy_id("audit", AUDIT).await;
    let a = t
        .admin(
            Method::POST,
            "/apps/default/triggers",
            Some(json!({"kind": "kv", "collection": "orders", "events": ["set"], "script_id": audit})),
        )
        .await;
    assert_eq!(a.status, 201, "{}", a.text);
    for (key, value) in [("count", json!(5)), ("stale", json!(true))] {
        let a = t
            .admin(
                Method::PUT,
                &format!("/apps/default/kv/orders/{key}"),
                Some(value),
            )
            .await;
        assert!(a.status.is_success(), "{}", a.text);
    }
    // Those two writes fired the handler twice.
    within(Duration::from_secs(10), "the handler ran twice", || async {
        (audited(&t).await == 2).then_some(())
    })
    .await;

    // Nothing is kept before the app says so.
    let before = post_order(&t, json!({"id": 0, "amount": 500}), &[]).await;
    assert_eq!(before.status, 500, "{}", before.text);
    let unkept = execution_id(&before);

    // Bad settings are refused and change nothing.
    for bad in [
        json!({"record_requests": "sometimes"}),
        json!({"redact_headers": ["not a header"]}),
        json!({"redact_headers": "x-api-key"}),
        json!({"record": "all"}),
    ] {
        let a = t.admin(Method::PATCH, "/apps/default", Some(bad)).await;
        a.error(400, "bad_request");
    }
    let app = t.admin(Method::GET, "/apps/default", None).await.json();
    assert_eq!(app["record_requests"], "off");
    assert_eq!(app["redact_headers"], json!([]));

    let a = t
        .admin(
            Method::PATCH,
            "/apps/default",
            Some(
                json!({"record_requests": "failed", "redact_headers": ["X-Api-Key", "x-api-key"]}),
            ),
        )
        .await;
    assert_eq!(a.status, 200, "{}", a.text);
    assert_eq!(a.json()["record_requests"], "failed");
    assert_eq!(a.json()["redact_headers"], json!(["x-api-key"]));

    // A request that succeeds is not kept; one that fails is, redacted.
    let fine = post_order(&t, json!({"id": 7, "amount": 5}), &[]).await;
    assert_eq!(fine.status, 201, "{}", fine.text);
    let fine = execution_id(&fine);
    // It deleted `stale`: put it back (one more event for the handler).
    let a = t
        .admin(
            Method::PUT,
            "/apps/default/kv/orders/stale",
            Some(json!(true)),
        )
        .await;
    assert!(a.status.is_success(), "{}", a.text);
    let failed = post_order(
        &t,
        json!({"id": 1, "amount": 150}),
        &[
            ("authorization", "Bearer user-secret"),
            ("cookie", "theme=dark"),
            ("x-api-key", "key-secret"),
            ("x-instance-secret", "inst-value"),
            ("x-trace", "trace-1"),
        ],
    )
    .await;
    assert_eq!(failed.status, 500, "{}", failed.text);
    let failed = execution_id(&failed);
    let record = t
        .admin(Method::GET, &format!("/executions/{fine}"), None)
        .await
        .json();
    assert_eq!(record["status"], "ok");
    assert!(record.get("request").is_none(), "{record}");
    let record = t
        .admin(Method::GET, &format!("/executions/{failed}"), None)
        .await;
    assert_eq!(record.status, 200, "{}", record.text);
    for secret in ["user-secret", "theme=dark", "key-secret", "inst-value"] {
        assert!(
            !record.text.contains(secret),
            "{secret} kept: {}",
            record.text
        );
    }
    let record = record.json();
    assert_eq!(record["script_id"], script);
    let kept = &record["request"];
    assert_eq!(kept["method"], "POST");
    assert_eq!(kept["path"], "/orders");
    assert_eq!(kept["headers"]["x-trace"], "trace-1");
    assert_eq!(
        kept["redacted_headers"],
        json!(["authorization", "cookie", "x-api-key", "x-instance-secret"])
    );
    assert_eq!(
        kept["body"],
        json!({"kind": "json", "value": {"id": 1, "amount": 150}})
    );
    // The order was never written: v1 threw first.
    assert_eq!(kv_value(&t, "orders", "count").await, Some(json!(6)));
    assert_eq!(kv_value(&t, "orders", "order-1").await, None);
    let hits_before = hits.load(Ordering::SeqCst);

    // The fix.
    let a = t
        .admin(
            Method::PUT,
            &format!("/scripts/{script}"),
            Some(json!({"source": orders(&base, false)})),
        )
        .await;
    assert_eq!(a.status, 200, "{}", a.text);
    within(
        Duration::from_secs(10),
        "the handler ran for the fine order",
        || async { (audited(&t).await == 5).then_some(()) },
    )
    .await;

    // A dry run (the default, no body at all): the script sees its own
    // writes, and nothing else does.
    let dry = t
        .send(
            Method::POST,
            &format!("/api/v1/admin/executions/{failed}/replay"),
            Some(&t.token),
            None,
        )
        .await;
    assert_eq!(dry.status, 200, "{}", dry.text);
    let dry = dry.json();
    let response = &dry["response"];
    assert_eq!(response["status"], 201, "{dry}");
    let body: Value = serde_json::from_str(response["body"].as_str().unwrap()).unwrap();
    assert_eq!(body["count"], 7, "{body}");
    assert_eq!(body["stale"], false);
    assert_eq!(body["deleted"], true);
    assert!(
        body["sent"].as_str().unwrap().contains("was not sent"),
        "{body}"
    );
    assert_eq!(
        body["keys"],
        json!(["count", "order-1", "order-7"]),
        "the listing merges the run's writes with the store"
    );
    let replayed = &dry["execution"];
    assert_eq!(replayed["replay_of"], failed.as_str());
    assert_eq!(replayed["dry_run"], true);
    assert_eq!(replayed["script_version"], 2);
    assert_eq!(replayed["status"], "ok");
    assert_eq!(replayed["status_code"], 201);
    assert_eq!(replayed["outbound"][0]["outcome"], "not_sent");
    // The record as stored says the same.
    let stored = t
        .admin(
            Method::GET,
            &format!("/executions/{}", replayed["id"].as_str().unwrap()),
            None,
        )
        .await
        .json();
    assert_eq!(stored["replay_of"], failed.as_str());
    assert_eq!(stored["dry_run"], true);
    // Untouched: the store, the upstream, the handler.
    assert_eq!(kv_value(&t, "orders", "count").await, Some(json!(6)));
    assert_eq!(kv_value(&t, "orders", "order-1").await, None);
    assert_eq!(kv_value(&t, "orders", "stale").await, Some(json!(true)));
    assert_eq!(hits.load(Ordering::SeqCst), hits_before);

    // The version that failed, chosen: it fails again, as a dry run.
    let old = replay(&t, &failed, json!({"version": 1})).await;
    assert_eq!(old.status, 200, "{}", old.text);
    let old = old.json();
    assert_eq!(old["execution"]["status"], "error");
    assert_eq!(old["execution"]["script_version"], 1);
    assert_eq!(old["response"]["status"], 500);
    assert!(
        old["execution"]["error"]
            .as_str()
            .unwrap()
            .contains("amount too large"),
        "{old}"
    );
    replay(&t, &failed, json!({"version": 99}))
        .await
        .error(404, "not_found");

    // For real: the writes land, the handler runs for them, the call goes.
    let real = replay(&t, &failed, json!({"dry_run": false})).await;
    assert_eq!(real.status, 200, "{}", real.text);
    let real = real.json();
    assert_eq!(real["execution"]["dry_run"], Value::Null);
    assert_eq!(real["execution"]["outbound"][0]["outcome"], "ok");
    assert_eq!(hits.load(Ordering::SeqCst), hits_before + 1);
    assert_eq!(kv_value(&t, "orders", "count").await, Some(json!(7)));
    assert_eq!(
        kv_value(&t, "orders", "order-1").await,
        Some(json!({"id": 1, "amount": 150}))
    );
    assert_eq!(kv_value(&t, "orders", "stale").await, None);
    // Its two writes' events, and no more: the dry runs fired none (the
    // same keys' events are delivered in order, so theirs would be in).
    // The queue is written with the writes that fill it: once it is empty,
    // every event queued so far has been handled.
    within(
        Duration::from_secs(10),
        "the handler ran for the replay and the queue is empty",
        || async {
            let (queued, _) = t.manager.event_backlog().await.unwrap();
            (queued == 0 && audited(&t).await >= 7).then_some(())
        },
    )
    .await;
    assert_eq!(audited(&t).await, 7);

    // A handler's execution replays with its event, as a dry run.
    let handled = t.executions(&audit, 7).await;
    let last = &handled[0];
    assert_eq!(last["invocation_type"], "trigger");
    let again = replay(&t, last["id"].as_str().unwrap(), json!({})).await;
    assert_eq!(again.status, 200, "{}", again.text);
    let again = again.json();
    assert_eq!(again["execution"]["invocation_type"], "trigger");
    assert_eq!(again["execution"]["status"], "ok", "{again}");
    assert_eq!(again["execution"]["event"], last["event"]);
    assert!(again.get("response").is_none());
    assert_eq!(audited(&t).await, 7);

    // What cannot be replayed says why, and bad input is refused.
    replay(&t, &unkept, json!({})).await.error(409, "conflict");
    replay(&t, &fine, json!({})).await.error(409, "conflict");
    replay(&t, &failed, json!({"dry_run": "yes"}))
        .await
        .error(400, "bad_request");
    replay(&t, &failed, json!({"dryrun": true}))
        .await
        .error(400, "bad_request");
    replay(&t, "not-an-id", json!({}))
        .await
        .error(400, "invalid_id");
    replay(&t, &uuid::Uuid::now_v7().to_string(), json!({}))
        .await
        .error(404, "not_found");
}

#[tokio::test]
async fn replay_on_sqlite() {
    a_failed_request_is_kept_and_replayed_against_the_fix(
        TestApp::spawn_with(allowing_loopback).await,
    )
    .await;
}

#[tokio::test]
#[cfg_attr(
    not(picloud_postgres),
    ignore = "no PostgreSQL here: set PICLOUD_TEST_DATABASE_URL or install PostgreSQL (README)"
)]
async fn replay_on_postgres() {
    a_failed_request_is_kept_and_replayed_against_the_fix(
        TestApp::spawn_postgres_with("replay::replay_on_postgres", allowing_loopback).await,
    )
    .await;
}

/// A dry run's listing, page by page, is the store's with the run's own
/// writes on top, in key order, whatever the page size.
async fn a_dry_runs_listing_merges_its_writes(t: TestApp) {
    for key in ["a1", "a2", "a3", "a4", "a5", "b1"] {
        let a = t
            .admin(
                Method::PUT,
                &format!("/apps/default/kv/things/{key}"),
                Some(json!("stored")),
            )
            .await;
        assert!(a.status.is_success(), "{}", a.text);
    }
    t.deploy_at(
        "lister",
        r#"
            let c = kv::collection("things");
            c.delete("a2");
            c.set("a3", "written");
            c.set("a0", "written");
            c.set("a6", "written");
            c.set("b0", "written");
            let out = #{};
            for limit in [1, 2, 3, 100] {
                let seen = [];
                let cursor = ();
                loop {
                    let page = c.list(#{ prefix: "a", limit: limit, cursor: cursor });
                    for item in page.items { seen.push(item.key + "=" + item.value); }
                    cursor = page.cursor;
                    if cursor == () { break; }
                }
                out["" + limit] = seen;
            }
            out
            "#,
        "/list",
    )
    .await;
    keep(&t, "all").await;
    // Run for real once to have a request to replay, then put the store
    // back as it was.
    let first = t.on_host(Method::GET, "/list", None).await;
    assert_eq!(first.status, 200, "{}", first.text);
    let first_id = execution_id(&first);
    for key in ["a0", "a6", "b0"] {
        t.admin(
            Method::DELETE,
            &format!("/apps/default/kv/things/{key}"),
            None,
        )
        .await;
    }
    for key in ["a2", "a3"] {
        t.admin(
            Method::PUT,
            &format!("/apps/default/kv/things/{key}"),
            Some(json!("stored")),
        )
        .await;
    }
    let want = json!([
        "a0=written",
        "a1=stored",
        "a3=written",
        "a4=stored",
        "a5=stored",
        "a6=written"
    ]);
    let real: Value = first.json();
    let dry = replay(&t, &first_id, json!({})).await;
    assert_eq!(dry.status, 200, "{}", dry.text);
    let dry: Value =
        serde_json::from_str(dry.json()["response"]["body"].as_str().unwrap()).unwrap();
    for limit in ["1", "2", "3", "100"] {
        assert_eq!(real[limit], want, "the real run, {limit} a page");
        assert_eq!(dry[limit], want, "the dry run, {limit} a page");
    }
    // And the store is as it was put back.
    let page = t
        .admin(Method::GET, "/apps/default/kv/things?limit=100", None)
        .await
        .json();
    let keys: Vec<&str> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["key"].as_str().unwrap())
        .collect();
    assert_eq!(keys, ["a1", "a2", "a3", "a4", "a5", "b1"]);
}
both_backends!(a_dry_runs_listing_merges_its_writes);

#[tokio::test]
async fn a_body_over_the_bound_is_not_kept_and_cannot_be_replayed() {
    let t = TestApp::spawn_with(|args| args.record_max_body_bytes = 16).await;
    t.deploy_at("echo", "ctx.request.body", "/echo").await;
    keep(&t, "all").await;
    let small = t
        .client
        .post(t.url("/echo"))
        .body("0123456789")
        .send()
        .await
        .unwrap();
    let small = common::answer(small).await;
    let big = t
        .client
        .post(t.url("/echo"))
        .body("0123456789abcdefghij")
        .send()
        .await
        .unwrap();
    let big = common::answer(big).await;
    let record = t
        .admin(
            Method::GET,
            &format!("/executions/{}", execution_id(&big)),
            None,
        )
        .await
        .json();
    assert_eq!(record["request"]["body_dropped"], 20);
    assert_eq!(record["request"]["body"], json!({"kind": "empty"}));
    replay(&t, &execution_id(&big), json!({}))
        .await
        .error(409, "conflict");
    let again = replay(&t, &execution_id(&small), json!({})).await;
    assert_eq!(again.status, 200, "{}", again.text);
    assert_eq!(again.json()["response"]["body"], "0123456789");
}

#[tokio::test]
#[cfg_attr(
    not(picloud_postgres),
    ignore = "no PostgreSQL here: set PICLOUD_TEST_DATABASE_URL or install PostgreSQL (README)"
)]
async fn what_an_app_keeps_reaches_every_node() {
    let a = TestApp::spawn_postgres("replay::what_an_app_keeps_reaches_every_node").await;
    let b = a.node().await;
    a.deploy_at("boom", "throw \"boom\"", "/boom").await;
    keep(&a, "failed").await;
    // Node b learns it from the database's announcement.
    within(
        Duration::from_secs(2),
        "node b keeps failed requests",
        || async {
            let answer = b.on_host(Method::GET, "/boom?n=1", None).await;
            let id = execution_id(&answer);
            // (Asked of b, which writes its records: it flushes them first.)
            let record = b
                .admin(Method::GET, &format!("/executions/{id}"), None)
                .await
                .json();
            record["request"]["query"]["n"].as_str().map(drop)
        },
    )
    .await;
}
