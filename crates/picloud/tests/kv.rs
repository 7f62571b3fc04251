//! The KV store through real scripts on the real server, and the admin KV
//! view, on both backends: isolation between apps, the script-facing rules
//! (contract.md, "KV"), and the admin endpoints.

#[macro_use]
mod common;

use common::TestApp;
use reqwest::Method;
use serde_json::{Value, json};

/// Runs a script and returns its JSON answer, which must be a 200.
async fn run(t: &TestApp, id: &str) -> Value {
    let a = t.invoke(id).await;
    assert_eq!(a.status, 200, "{}", a.text);
    a.json()
}

async fn apps_with_the_same_collections_never_see_each_other(t: TestApp) {
    for app in ["shop", "blog"] {
        let a = t
            .admin(Method::POST, "/apps", Some(json!({"name": app})))
            .await;
        assert_eq!(a.status, 201, "{}", a.text);
    }
    let writer = r#"
        let c = kv::collection("orders");
        c.set("o1", ctx.app_id);
        c.set("only-here-" + ctx.script_name, true);
        #{ list: c.list().items.map(|e| e.key), o1: c.get("o1") }
    "#;
    let shop = t.deploy_in("shop", "shop-writer", writer).await;
    let blog = t.deploy_in("blog", "blog-writer", writer).await;
    let from_shop = run(&t, &shop).await;
    let from_blog = run(&t, &blog).await;
    let shop_id = t.admin(Method::GET, "/apps/shop", None).await.json()["id"].clone();
    let blog_id = t.admin(Method::GET, "/apps/blog", None).await.json()["id"].clone();
    assert_eq!(from_shop["o1"], shop_id);
    assert_eq!(from_blog["o1"], blog_id);
    assert_eq!(from_shop["list"], json!(["o1", "only-here-shop-writer"]));
    assert_eq!(from_blog["list"], json!(["o1", "only-here-blog-writer"]));

    // A cursor made in one app is refused in the other, even for the same
    // collection name: it cannot be used to read across.
    let pager = r#"#{ cursor: kv::collection("orders").list(#{limit: 1}).cursor }"#;
    let cursor = run(&t, &t.deploy_in("shop", "shop-pager", pager).await).await;
    let cursor = cursor["cursor"].as_str().unwrap();
    let thief = format!(
        r#"let e = "read";
           try {{ kv::collection("orders").list(#{{cursor: "{cursor}"}}); }} catch (err) {{ e = err; }}
           #{{ e: e }}"#
    );
    let stolen = run(&t, &t.deploy_in("blog", "blog-thief", &thief).await).await;
    assert!(
        stolen["e"]
            .as_str()
            .unwrap()
            .contains("cursor is not valid"),
        "{stolen}"
    );

    // The admin view agrees, app by app.
    let keys = |app: &str| {
        let t = &t;
        let path = format!("/apps/{app}/kv/orders");
        async move {
            t.admin(Method::GET, &path, None).await.json()["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e["key"].as_str().unwrap().to_owned())
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(keys("shop").await, ["o1", "only-here-shop-writer"]);
    assert_eq!(keys("blog").await, ["o1", "only-here-blog-writer"]);

    // Deleting an app deletes its store, and only its.
    assert_eq!(
        t.admin(Method::DELETE, "/apps/shop", None).await.status,
        204
    );
    assert_eq!(run(&t, &blog).await["o1"], blog_id);
}
both_backends!(apps_with_the_same_collections_never_see_each_other);

async fn values_keep_their_json_types_between_executions(t: TestApp) {
    let write = t
        .deploy(
            "write",
            r#"let c = kv::collection("types");
               c.set("v", #{int: 1, float: 1.5, whole: 2.0, unit: (), s: "é", list: [1, [2, #{x: true}]]});
               c.set("scalar", 42);
               c.set("nothing", ());
               ()"#,
        )
        .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(t.invoke(&write).await.status, 204);
    let read = t
        .deploy(
            "read",
            r#"let c = kv::collection("types");
               let v = c.get("v");
               #{ v: v, types: [type_of(v.int), type_of(v.float), type_of(v.whole), type_of(v.unit)],
                  scalar: c.get("scalar"), nothing_is_there: c.has("nothing"),
                  nothing: type_of(c.get("nothing")), absent: type_of(c.get("absent")) }"#,
        )
        .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let v = run(&t, &read).await;
    assert_eq!(
        v["v"],
        json!({"int": 1, "float": 1.5, "whole": 2.0, "unit": null, "s": "é", "list": [1, [2, {"x": true}]]})
    );
    assert_eq!(v["types"], json!(["i64", "f64", "f64", "()"]));
    assert_eq!(v["scalar"], 42);
    assert_eq!(
        v["nothing_is_there"], true,
        "null is a value like any other"
    );
    assert_eq!((&v["nothing"], &v["absent"]), (&json!("()"), &json!("()")));
}
both_backends!(values_keep_their_json_types_between_executions);

/// Each case: a script expression, and words its caught error must contain.
const BAD_INPUT: &[(&str, &str)] = &[
    (r#"kv::collection("")"#, "collection name cannot be empty"),
    (r#"kv::collection("a/b")"#, "A-Z, a-z, 0-9"),
    (
        r#"let n = ""; n.pad(65, 'x'); kv::collection(n)"#,
        "at most 64",
    ),
    (r#"kv::collection("c").set("", 1)"#, "a key cannot be empty"),
    (
        r#"let k = ""; k.pad(513, 'k'); kv::collection("c").set(k, 1)"#,
        "at most 512 bytes",
    ),
    (
        r#"kv::collection("c").set(42, 1)"#,
        "a key is a string; got i64",
    ),
    (r#"kv::collection("c").get(())"#, "a key is a string"),
    (r#"kv::collection("c").has(["k"])"#, "a key is a string"),
    (r#"kv::collection("c").delete(#{})"#, "a key is a string"),
    (r#"kv::collection("c").set("k", Fn("f"))"#, "no JSON form"),
    (
        r#"kv::collection("c").set("k", kv::collection("c"))"#,
        "no JSON form",
    ),
    (
        r#"let s = ""; s.pad(600000, '"'); kv::collection("c").set("k", s)"#,
        "at most 1048576 bytes",
    ),
    (
        r#"kv::collection("c").list(#{limit: 0})"#,
        "limit is 1 to 1000",
    ),
    (
        r#"kv::collection("c").list(#{limit: 1001})"#,
        "limit is 1 to 1000",
    ),
    (
        r#"kv::collection("c").list(#{limit: "10"})"#,
        "limit is an integer",
    ),
    (
        r#"kv::collection("c").list(#{cursor: "forged"})"#,
        "cursor is not valid",
    ),
    (
        r#"kv::collection("c").list(#{cursor: 5})"#,
        "cursor is a string",
    ),
    (
        r#"kv::collection("c").list(#{sort: "desc"})"#,
        "unknown option",
    ),
    (
        r#"let p = kv::collection("c"); p.set("a", 1); p.set("b", 2);
           let cur = p.list(#{limit: 1}).cursor;
           kv::collection("d").list(#{cursor: cur})"#,
        "belongs to collection \"c\"",
    ),
];

async fn bad_input_is_a_catchable_error_that_changes_nothing(t: TestApp) {
    for (i, (expr, words)) in BAD_INPUT.iter().enumerate() {
        let source = format!(
            r#"let outcome = "no error";
               try {{ {expr}; }} catch (e) {{ outcome = e; }}
               #{{ outcome: outcome, keys: kv::collection("c").list().items.map(|e| e.key) }}"#
        );
        let id = t.deploy_id(&format!("bad-{i}"), &source).await;
        let v = run(&t, &id).await;
        let outcome = v["outcome"].as_str().unwrap_or_default();
        assert!(outcome.contains(words), "{expr}: {v}");
        // Only the cursor case writes (a and b) before its error.
        let expected = if expr.contains("p.set") {
            json!(["a", "b"])
        } else {
            json!([])
        };
        assert_eq!(v["keys"], expected, "{expr} changed nothing");
        if expr.contains("p.set") {
            let cleaner = t
                .deploy(
                    &format!("clean-{i}"),
                    r#"let c = kv::collection("c"); #{ a: c.delete("a"), b: c.delete("b") }"#,
                )
                .await;
            let cleaned = run(&t, cleaner["id"].as_str().unwrap()).await;
            assert_eq!(cleaned, json!({"a": true, "b": true}));
        }
    }
    // Uncaught, a bad call is a script error with its position.
    let id = t
        .deploy_id("uncaught", "let c = kv::collection(\"c\");\nc.set(1, 2)")
        .await;
    let a = t.invoke(&id).await;
    let e = a.error(500, "script_error");
    assert!(
        e["error"]["message"]
            .as_str()
            .unwrap()
            .contains("a key is a string"),
        "{e}"
    );
    assert_eq!(e["error"]["line"], 2);
}
both_backends!(bad_input_is_a_catchable_error_that_changes_nothing);

async fn the_admin_view_reads_and_writes_what_scripts_see(t: TestApp) {
    let script = t
        .deploy_id(
            "counter",
            r#"let c = kv::collection("counters");
               let n = c.get("hits") ?? 0;
               c.set("hits", n + 1);
               c.get("note")"#,
        )
        .await;
    assert_eq!(t.invoke(&script).await.status, 204);

    // Read what the script wrote.
    let collections = t.admin(Method::GET, "/apps/default/kv", None).await;
    assert_eq!(
        collections.json(),
        json!({"items": [{"name": "counters", "keys": 1}]})
    );
    let hits = t
        .admin(Method::GET, "/apps/default/kv/counters/hits", None)
        .await;
    assert_eq!(hits.status, 200, "{}", hits.text);
    assert_eq!(
        (hits.json()["key"].clone(), hits.json()["value"].clone()),
        (json!("hits"), json!(1))
    );
    assert!(hits.json()["updated_at"].as_str().unwrap().ends_with('Z'));

    // Write what the script reads: the body is the value.
    let put = t
        .admin(
            Method::PUT,
            "/apps/default/kv/counters/note",
            Some(json!({"text": "hello", "n": 2})),
        )
        .await;
    assert_eq!(put.status, 201, "{}", put.text);
    assert_eq!(put.json()["value"], json!({"text": "hello", "n": 2}));
    let again = t
        .admin(
            Method::PUT,
            "/apps/default/kv/counters/note",
            Some(json!("replaced")),
        )
        .await;
    assert_eq!(again.status, 200, "{}", again.text);
    let seen = t.invoke(&script).await;
    assert_eq!(
        (seen.status.as_u16(), seen.text.as_str()),
        (200, "replaced")
    );
    assert_eq!(
        t.admin(Method::GET, "/apps/default/kv/counters/hits", None)
            .await
            .json()["value"],
        2
    );

    // Keys with any characters, percent-encoded in the path.
    let odd = t
        .admin(
            Method::PUT,
            "/apps/default/kv/counters/a%2Fb%20c%3F",
            Some(json!(1)),
        )
        .await;
    assert_eq!(odd.status, 201, "{}", odd.text);
    assert_eq!(odd.json()["key"], "a/b c?");

    // Pages and prefixes, as in the SDK.
    let page = t
        .admin(Method::GET, "/apps/default/kv/counters?limit=2", None)
        .await
        .json();
    assert_eq!(page["items"].as_array().unwrap().len(), 2);
    let cursor = page["cursor"].as_str().unwrap().to_owned();
    let rest = t
        .admin(
            Method::GET,
            &format!("/apps/default/kv/counters?limit=2&cursor={cursor}"),
            None,
        )
        .await
        .json();
    assert_eq!(rest["items"][0]["key"], "note");
    assert_eq!(rest["cursor"], Value::Null);
    let prefixed = t
        .admin(Method::GET, "/apps/default/kv/counters?prefix=h", None)
        .await
        .json();
    assert_eq!(prefixed["items"][0]["key"], "hits");
    assert_eq!(prefixed["items"].as_array().unwrap().len(), 1);

    // Delete; then it is gone for the script too.
    let deleted = t
        .admin(Method::DELETE, "/apps/default/kv/counters/note", None)
        .await;
    assert_eq!(deleted.status, 204);
    assert_eq!(t.invoke(&script).await.status, 204);
    t.admin(Method::DELETE, "/apps/default/kv/counters/note", None)
        .await
        .error(404, "not_found");
    t.admin(Method::GET, "/apps/default/kv/counters/note", None)
        .await
        .error(404, "not_found");

    // The audit log names the keys, never the values.
    let audit = t
        .admin(Method::GET, "/audit?app=default", None)
        .await
        .json();
    let actions: Vec<&str> = audit["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions.iter().filter(|a| **a == "kv.put").count(),
        3,
        "{actions:?}"
    );
    assert!(actions.contains(&"kv.delete"));
    assert!(
        !audit.to_string().contains("hello"),
        "no values in the audit log"
    );
}
both_backends!(the_admin_view_reads_and_writes_what_scripts_see);

async fn the_admin_view_refuses_bad_input(t: TestApp) {
    let before = t.admin(Method::GET, "/apps/default/kv", None).await.json();
    t.admin(Method::PUT, "/apps/default/kv/bad%20name/k", Some(json!(1)))
        .await
        .error(400, "bad_request");
    t.admin(Method::GET, "/apps/default/kv/bad%20name", None)
        .await
        .error(400, "bad_request");
    let long_key = "k".repeat(513);
    t.admin(
        Method::PUT,
        &format!("/apps/default/kv/c/{long_key}"),
        Some(json!(1)),
    )
    .await
    .error(400, "bad_request");
    // A value over 1 MiB is over the body limit too.
    t.admin(
        Method::PUT,
        "/apps/default/kv/c/k",
        Some(Value::String("x".repeat(1 << 20))),
    )
    .await
    .error(413, "payload_too_large");
    for query in [
        "limit=0",
        "limit=1001",
        "limit=x",
        "cursor=forged",
        "sort=desc",
    ] {
        let a = t
            .admin(Method::GET, &format!("/apps/default/kv/c?{query}"), None)
            .await;
        assert_eq!(a.status, 400, "{query}: {}", a.text);
    }
    let raw = t
        .client
        .put(t.url("/api/v1/admin/apps/default/kv/c/k"))
        .bearer_auth(&t.token)
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(raw.status(), 400);
    t.admin(Method::GET, "/apps/nope/kv", None)
        .await
        .error(404, "not_found");
    assert_eq!(
        t.admin(Method::GET, "/apps/default/kv", None).await.json(),
        before,
        "nothing was written"
    );
}
both_backends!(the_admin_view_refuses_bad_input);

async fn a_script_busy_with_kv_calls_still_meets_its_deadline(t: TestApp) {
    // Each call blocks the script thread on the store; the deadline bounds
    // the calls as it bounds the script's own operations.
    let id = t
        .deploy_with_id(json!({
            "name": "spin",
            "source": r#"let c = kv::collection("spin"); let i = 0;
                         loop { c.set("k" + i, i); c.get("k" + i); i += 1; }"#,
            "sandbox": {"timeout_ms": 300},
        }))
        .await;
    let started = std::time::Instant::now();
    let a = t.invoke(&id).await;
    a.error(504, "timeout");
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
    // What was acknowledged before the deadline stays written.
    let page = t
        .admin(Method::GET, "/apps/default/kv/spin?limit=1", None)
        .await
        .json();
    assert_eq!(page["items"][0]["key"], "k0");
}
both_backends!(a_script_busy_with_kv_calls_still_meets_its_deadline);
