//! THE SDK 1.1 CONTRACT, stateful half: what scripts can rely on from the
//! KV store, from `invoke` and in triggered runs (contract.md, "What a
//! script sees": KV, Functions, Events), the client's address and
//! `secrets::get` and `http::*` (1.1),
//! pinned through the real server and store. The stateless half (ctx, the response convention's inputs, log,
//! the standard library) is pinned in
//! crates/executor-core/tests/sdk_contract.rs.
//!
//! Changing an expectation here is an SDK version bump (docs/versioning.md).

#[macro_use]
mod common;

use std::time::Duration;

use common::{TestApp, within};
use picloud::config::ServeArgs;
use serde_json::json;

/// Retries that come quickly (10 ms, 20 ms, ...), for `both_backends!`.
fn quick_retries(args: &mut ServeArgs) {
    args.event_retry_base_ms = 10;
}

async fn run(t: &TestApp, name: &str, source: &str) -> serde_json::Value {
    let id = t.deploy_id(name, source).await;
    let a = t.invoke(&id).await;
    assert_eq!(a.status, 200, "{}", a.text);
    a.json()
}

#[tokio::test]
async fn request_ip_is_the_client_address_as_sdk_1_1_says() {
    let t = TestApp::spawn().await;
    let v = run(
        &t,
        "ip-contract",
        r#"#{ version: ctx.sdk_version, ip: ctx.request.ip, kind: type_of(ctx.request.ip) }"#,
    )
    .await;
    assert_eq!(
        v,
        json!({"version": "1.1", "ip": "127.0.0.1", "kind": "string"})
    );
}

async fn kv_behaves_as_sdk_1_0_says(t: TestApp) {
    let v = run(
        &t,
        "kv-contract",
        r#"
        let c = kv::collection("Orders_2026.v1-x");
        let out = #{};
        out.type = type_of(c);
        out.absent = c.get("k");
        out.has_absent = c.has("k");
        out.set = c.set("k", #{ i: 1, f: 1.5, w: 2.0, n: (), s: "é", a: [1, [true]] });
        let got = c.get("k");
        out.got = got;
        out.types = [type_of(got.i), type_of(got.f), type_of(got.w), type_of(got.n)];
        out.has = c.has("k");
        out.delete = c.delete("k");
        out.delete_again = c.delete("k");
        out.after_delete = c.get("k");

        // 101 keys: the default page is 100, ascending; then a cursor.
        for i in 0..101 { c.set(`key:${if i < 10 { "00" } else if i < 100 { "0" } else { "" }}${i}`, i); }
        let first = c.list();
        out.first_len = first.items.len();
        out.first_item = first.items[0];
        out.first_cursor_type = type_of(first.cursor);
        let second = c.list(#{ cursor: first.cursor });
        out.second = second;

        // Limit and prefix, paged to the end as the docs show.
        let keys = [];
        let cursor = ();
        loop {
            let page = c.list(#{ prefix: "key:05", limit: 3, cursor: cursor });
            for item in page.items { keys.push(item.key); }
            cursor = page.cursor;
            if cursor == () { break; }
        }
        out.prefixed = keys;
        out
        "#,
    )
    .await;
    assert_eq!(
        v,
        json!({
            "type": "kv::Collection",
            "absent": null, "has_absent": false,
            "set": null,
            "got": {"i": 1, "f": 1.5, "w": 2.0, "n": null, "s": "é", "a": [1, [true]]},
            "types": ["i64", "f64", "f64", "()"],
            "has": true, "delete": true, "delete_again": false, "after_delete": null,
            "first_len": 100,
            "first_item": {"key": "key:000", "value": 0},
            "first_cursor_type": "string",
            "second": {"items": [{"key": "key:100", "value": 100}], "cursor": null},
            "prefixed": ["key:050", "key:051", "key:052", "key:053", "key:054",
                         "key:055", "key:056", "key:057", "key:058", "key:059"],
        })
    );

    // Names: 1-64 of [A-Za-z0-9_.-]; other names throw, catchably.
    let names = run(
        &t,
        "kv-names",
        r#"
        let results = [];
        for name in ["a", "A-Z_0.9", "", "a b", "a/b", "é", "x".to_upper() + "1234567890123456789012345678901234567890123456789012345678901234"] {
            let ok = true;
            try { kv::collection(name); } catch { ok = false; }
            results.push(ok);
        }
        results
        "#,
    )
    .await;
    assert_eq!(
        names,
        json!([true, true, false, false, false, false, false])
    );
}
both_backends!(kv_behaves_as_sdk_1_0_says);

async fn secrets_behave_as_sdk_1_1_says(t: TestApp) {
    let put = t
        .admin(
            reqwest::Method::PUT,
            "/apps/default/secrets/API_KEY",
            Some(json!({"value": "k-123"})),
        )
        .await;
    assert_eq!(put.status, 201, "{}", put.text);
    let v = run(
        &t,
        "secrets-contract",
        r#"
        let errors = [];
        for name in ["api_key", "1KEY", "", "A-B", 7] {
            try { secrets::get(name); errors.push("none"); } catch (e) { errors.push(type_of(e)); }
        }
        #{ value: secrets::get("API_KEY"), type: type_of(secrets::get("API_KEY")),
           unset: secrets::get("UNSET"), errors: errors }
        "#,
    )
    .await;
    assert_eq!(
        v,
        json!({"value": "k-123", "type": "string", "unset": null,
               "errors": ["string", "string", "string", "string", "string"]})
    );
}
both_backends!(secrets_behave_as_sdk_1_1_says);

#[tokio::test]
async fn http_behaves_as_sdk_1_1_says() {
    // No server is needed to pin the shape of a refusal and of bad input:
    // catchable strings naming the function, nothing sent.
    let t = TestApp::spawn().await;
    let v = run(
        &t,
        "http-contract",
        r#"
        let out = [];
        for f in [|| http::get("http://127.0.0.1/"), || http::post("not a url", "x"),
                  || http::request(#{ url: "https://example.com/", nope: 1 })] {
            try { f.call(); out.push("none"); } catch (e) { out.push([type_of(e), e.sub_string(0, 14)]); }
        }
        out
        "#,
    )
    .await;
    assert_eq!(
        v,
        json!([
            ["string", "http::request:"],
            ["string", "http::request:"],
            ["string", "http::request:"]
        ])
    );

    // An answer, from a server on loopback that the operator allowed:
    // `#{ status, headers, body, json }`, `json` only when the body is JSON.
    let app = axum::Router::new()
        .route(
            "/json",
            axum::routing::get(|| async {
                (
                    [(axum::http::header::CONTENT_TYPE, "application/json")],
                    r#"{"ok":true,"n":[1,2]}"#,
                )
            }),
        )
        .route(
            "/text",
            axum::routing::post(|body: String| async move { format!("got {body}") }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    let t = TestApp::spawn_with(|args| {
        args.http_allow = Some(picloud_executor_core::outbound::Allow::parse("127.0.0.1").unwrap())
    })
    .await;
    let v = run(
        &t,
        "http-answer",
        &r#"
        let r = http::get("BASE/json");
        let p = http::post("BASE/text", #{ a: 1 });
        #{ keys: r.keys(), status: r.status, status_type: type_of(r.status),
           content_type: r.headers["content-type"], body: r.body, json: r.json,
           text_keys: p.keys(), text: p.body }
        "#
        .replace("BASE", &base),
    )
    .await;
    assert_eq!(
        v,
        json!({
            "keys": ["body", "headers", "json", "status"],
            "status": 200, "status_type": "i64",
            "content_type": "application/json",
            "body": r#"{"ok":true,"n":[1,2]}"#, "json": {"ok": true, "n": [1, 2]},
            "text_keys": ["body", "headers", "status"], "text": r#"got {"a":1}"#,
        })
    );
}

async fn invoke_behaves_as_sdk_1_0_says(t: TestApp) {
    t.deploy(
        "echo",
        r#"if ctx.args == "throw" { throw #{ thrown: true }; }
           #{ statusCode: 418, type: ctx.invocation_type, args: ctx.args,
              has_request: "request" in ctx, has_event: "event" in ctx }"#,
    )
    .await;
    t.deploy(
        "mutate",
        r#"ctx.args[1][0] = 9; ctx.args.push("added"); ctx.args"#,
    )
    .await;
    t.deploy(
        "nest",
        r#"let r = ctx.args;
           try { r = invoke("nest", ctx.args + 1); } catch (e) { r = ctx.args; }
           r"#,
    )
    .await;
    let v = run(
        &t,
        "invoke-contract",
        r#"
        let out = #{};
        out.value = invoke("echo", [1, 2.5, (), "s"]);
        try { invoke("echo", "throw"); } catch (e) { out.thrown = e; }
        try { invoke("no-such-script", ()); } catch (e) { out.missing = type_of(e); }
        out.deepest = invoke("nest", 1);
        const PARTS = [1, [2]];
        out.mutated = invoke("mutate", PARTS);
        // `global::` hands over the constant itself, read-only throughout.
        fn pass() { invoke("mutate", global::PARTS) }
        out.from_global = pass();
        out.kept = PARTS;
        out
        "#,
    )
    .await;
    assert_eq!(
        v,
        json!({
            "value": {"statusCode": 418, "type": "function", "args": [1, 2.5, null, "s"],
                      "has_request": false, "has_event": false},
            "thrown": {"thrown": true},
            "missing": "string",
            "deepest": 8,
            "mutated": [1, [9], "added"],
            "from_global": [1, [9], "added"],
            "kept": [1, [2]],
        })
    );
}
both_backends!(invoke_behaves_as_sdk_1_0_says);

/// `ctx` of triggered runs: a KV event, a dead letter, a cron tick.
async fn events_behave_as_sdk_1_0_says(t: TestApp) {
    let keep = t
        .deploy_id(
            "keep",
            r#"let e = ctx.event;
               let name = if e.kind == "kv" { "kv-" + e.op } else { e.kind };
               let keys = ctx.keys().filter(|k| k != "execution_id" && k != "request_id"
                   && k != "script_id" && k != "app_id");
               keys.sort();
               kv::collection("ctx").set(name, #{ type: ctx.invocation_type, event: e, keys: keys });"#,
        ).await;
    let fail = t.deploy_id("fail", r#"throw "no""#).await;
    for body in [
        json!({"kind": "kv", "collection": "c", "events": ["set", "delete"], "script_id": keep}),
        json!({"kind": "kv", "collection": "d", "events": ["set"], "script_id": fail,
               "max_attempts": 1, "dead_letter_script_id": keep}),
        json!({"kind": "cron", "schedule": "* * * * * *", "script_id": keep}),
    ] {
        let a = t
            .admin(reqwest::Method::POST, "/apps/default/triggers", Some(body))
            .await;
        assert_eq!(a.status, 201, "{}", a.text);
    }
    run(
        &t,
        "writer",
        r#"kv::collection("c").set("k", 1.5); kv::collection("c").delete("k");
           kv::collection("d").set("x", ()); #{}"#,
    )
    .await;
    // The triggered runs (a set, a delete, a dead letter, a cron tick)
    // write what they saw after the writer's answer.
    let seen = within(
        Duration::from_secs(10),
        "the four triggered runs wrote their ctx",
        || async {
            let page = t
                .admin(reqwest::Method::GET, "/apps/default/kv/ctx", None)
                .await
                .json();
            let seen: serde_json::Map<String, serde_json::Value> = page["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| (e["key"].as_str().unwrap().to_owned(), e["value"].clone()))
                .collect();
            if seen.len() == 4 {
                Ok(seen)
            } else {
                Err(format!("{:?}", seen.keys().collect::<Vec<_>>()))
            }
        },
    )
    .await;
    let keys = json!(["event", "invocation_type", "script_name", "sdk_version"]);
    let set = &seen["kv-set"];
    assert_eq!(set["type"], "trigger");
    assert_eq!(set["keys"], keys);
    let e = &set["event"];
    assert_eq!(
        e.as_object().unwrap().keys().collect::<Vec<_>>(),
        ["at", "collection", "key", "kind", "op", "value"]
    );
    assert_eq!(
        (&e["op"], &e["collection"], &e["key"], &e["value"]),
        (&json!("set"), &json!("c"), &json!("k"), &json!(1.5))
    );
    assert_eq!(seen["kv-delete"]["event"]["value"], serde_json::Value::Null);
    let dl = &seen["dead_letter"];
    assert_eq!(dl["type"], "trigger");
    assert_eq!(
        dl["event"].as_object().unwrap().keys().collect::<Vec<_>>(),
        ["attempts", "error", "event", "kind"]
    );
    assert_eq!(dl["event"]["attempts"], 1);
    assert_eq!(dl["event"]["event"]["key"], "x");
    let cron = &seen["cron"];
    assert_eq!(cron["type"], "scheduled");
    assert_eq!(cron["keys"], keys);
    assert_eq!(
        cron["event"]
            .as_object()
            .unwrap()
            .keys()
            .collect::<Vec<_>>(),
        ["kind", "schedule", "scheduled_at"]
    );
}

both_backends!(events_behave_as_sdk_1_0_says, quick_retries);
