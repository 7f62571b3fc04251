//! `invoke(name, args)` through the real server: values as is, `ctx` of a
//! function call, nesting, the shared budget, catchable failures, app
//! isolation, and a record per call.

#[macro_use]
mod common;

use common::TestApp;
use reqwest::Method;
use serde_json::{Value, json};

async fn ok(t: &TestApp, id: &str) -> Value {
    let a = t.invoke(id).await;
    assert_eq!(a.status, 200, "{}", a.text);
    a.json()
}

async fn values_pass_as_is_and_the_callee_sees_a_function_ctx(t: TestApp) {
    t.deploy_id(
        "callee",
        r#"log::info("in the callee");
           #{ statusCode: 201, args: ctx.args, type: ctx.invocation_type,
              has_request: "request" in ctx, request_id: ctx.request_id,
              execution_id: ctx.execution_id, name: ctx.script_name,
              float: 2.0, unit: () }"#,
    )
    .await;
    let caller = t
        .deploy_id(
            "caller",
            r#"log::info("in the caller");
           let got = invoke("callee", #{ n: 1, list: [1.5, ()], s: "x" });
           #{ got: got, types: [type_of(got.statusCode), type_of(got.float), type_of(got.unit)],
              same_request: got.request_id == ctx.request_id,
              other_execution: got.execution_id != ctx.execution_id }"#,
        )
        .await;
    let v = ok(&t, &caller).await;
    // The callee's map is a value, not an HTTP response.
    assert_eq!(v["got"]["statusCode"], 201);
    assert_eq!(
        v["got"]["args"],
        json!({"n": 1, "list": [1.5, null], "s": "x"})
    );
    assert_eq!(v["got"]["type"], "function");
    assert_eq!(v["got"]["has_request"], false);
    assert_eq!(v["got"]["name"], "callee");
    assert_eq!(v["types"], json!(["i64", "f64", "()"]));
    assert_eq!(
        (v["same_request"].clone(), v["other_execution"].clone()),
        (json!(true), json!(true))
    );

    // Each call is an execution of its own, under the caller's request id,
    // with its own logs.
    let callee_id = t
        .admin(Method::GET, "/scripts?app=default", None)
        .await
        .json()["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "callee")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let calls = t.executions(&callee_id, 1).await;
    let own = t.executions(&caller, 1).await;
    assert_eq!(calls[0]["invocation_type"], "function");
    assert_eq!(calls[0]["status"], "ok");
    assert_eq!(calls[0]["status_code"], Value::Null);
    assert_eq!(calls[0]["request_id"], own[0]["request_id"]);
    assert_eq!(calls[0]["id"], v["got"]["execution_id"]);
    assert_eq!(calls[0]["logs"][0]["message"], "in the callee");
    assert_eq!(own[0]["logs"].as_array().unwrap().len(), 1);
    assert_eq!(own[0]["logs"][0]["message"], "in the caller");
}
both_backends!(values_pass_as_is_and_the_callee_sees_a_function_ctx);

async fn failures_in_the_callee_are_catchable(t: TestApp) {
    t.deploy_id("thrower", r#"throw #{ code: 42, why: "boom" }"#)
        .await;
    t.deploy_id("divider", "let x = 1;\nx / 0").await;
    t.deploy_with_id(json!({"name": "slow", "source": "loop {}", "sandbox": {"timeout_ms": 100}}))
        .await;
    let caller = t
        .deploy_id(
            "catcher",
            r#"let out = [];
           for name in ["thrower", "divider", "slow", "missing", "Not A Name"] {
               try { invoke(name, ()); out.push("no error"); } catch (e) { out.push(e); }
           }
           out"#,
        )
        .await;
    let v = ok(&t, &caller).await;
    assert_eq!(
        v[0],
        json!({"code": 42, "why": "boom"}),
        "thrown values arrive as thrown"
    );
    let divider = v[1].as_str().unwrap();
    assert!(
        divider.starts_with("invoke(\"divider\"): ") && divider.contains("line 2"),
        "{divider}"
    );
    let slow = v[2].as_str().unwrap();
    assert!(slow.contains("ran longer than 100 ms"), "{slow}");
    for missing in [&v[3], &v[4]] {
        assert!(
            missing
                .as_str()
                .unwrap()
                .contains("there is no script named"),
            "{missing}"
        );
    }
    // Each failed call is recorded with its status.
    let scripts = t.admin(Method::GET, "/scripts", None).await.json();
    let id_of = |name: &str| {
        scripts["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["name"] == name)
            .unwrap()["id"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    assert_eq!(
        t.executions(&id_of("slow"), 1).await[0]["status"],
        "timeout"
    );
    assert_eq!(
        t.executions(&id_of("divider"), 1).await[0]["status"],
        "error"
    );
}
both_backends!(failures_in_the_callee_are_catchable);

async fn calls_nest_at_most_8_deep(t: TestApp) {
    t.deploy_id("dive",
        r#"let depth = ctx.args;
           if depth == 20 { return depth; }
           let r = ();
           try { r = invoke("dive", depth + 1); } catch (e) { r = #{ stopped_at: depth, error: e }; }
           r"#,
    )
    .await;
    let top = t.deploy_id("top", r#"invoke("dive", 1)"#).await;
    let v = ok(&t, &top).await;
    // top is level 0; dive runs at levels 1..=8, and the 8th cannot call on.
    assert_eq!(v["stopped_at"], 8, "{v}");
    assert!(
        v["error"].as_str().unwrap().contains("at most 8 deep"),
        "{v}"
    );
}
both_backends!(calls_nest_at_most_8_deep);

async fn the_callee_spends_the_callers_budget(t: TestApp) {
    // Operations: each alone fits the caller's budget, together they do not.
    t.deploy_id("work", "let i = 0; while i < 30000 { i += 1; } i")
        .await;
    let caller = t.deploy_with_id(json!({
            "name": "budget",
            "source": r#"let done = invoke("work", ()); let i = 0; while i < 30000 { i += 1; } done"#,
            "sandbox": {"max_operations": 150000},
        }),
    )
    .await;
    t.invoke(&caller).await.error(500, "limit_exceeded");
    // ... and a caller with room for both succeeds.
    let roomy = t.deploy_with_id(json!({
            "name": "roomy",
            "source": r#"let done = invoke("work", ()); let i = 0; while i < 30000 { i += 1; } done"#,
            "sandbox": {"max_operations": 1000000},
        }),
    )
    .await;
    assert_eq!(ok(&t, &roomy).await, 30000);

    // Time: a callee with a long timeout cannot outlive its caller, and
    // catching does not help the caller.
    t.deploy_with_id(
        json!({"name": "forever", "source": "loop {}", "sandbox": {"timeout_ms": 5000}}),
    )
    .await;
    let hasty = t
        .deploy_with_id(json!({
            "name": "hasty",
            "source": r#"let r = (); try { invoke("forever", ()); } catch (e) { r = "caught"; } r"#,
            "sandbox": {"timeout_ms": 200},
        }))
        .await;
    let started = std::time::Instant::now();
    t.invoke(&hasty).await.error(504, "timeout");
    assert!(started.elapsed() < std::time::Duration::from_secs(3));
}
both_backends!(the_callee_spends_the_callers_budget);

async fn only_scripts_of_the_same_app_can_be_invoked(t: TestApp) {
    assert_eq!(
        t.admin(Method::POST, "/apps", Some(json!({"name": "other"})))
            .await
            .status,
        201
    );
    t.deploy_with(json!({"name": "secret", "source": "\"other app's secret\"", "app": "other"}))
        .await;
    let prober = t
        .deploy_id(
            "prober",
            r#"let r = (); try { r = invoke("secret", ()); } catch (e) { r = e; } r"#,
        )
        .await;
    let a = t.invoke(&prober).await;
    assert!(
        a.text.contains("there is no script named \"secret\""),
        "{}",
        a.text
    );

    // Within its app, a callee reaches the same KV store as its caller.
    t.deploy_with(json!({"name": "store", "source": r#"kv::collection("c").set("k", ctx.args); ()"#, "app": "other"}))
        .await;
    let main = t
        .deploy_with_id(json!({"name": "main", "source": r#"invoke("store", 7); kv::collection("c").get("k")"#, "app": "other"})).await;
    assert_eq!(ok(&t, &main).await, 7);
    let default_view = t.admin(Method::GET, "/apps/default/kv", None).await.json();
    assert_eq!(default_view["items"], json!([]));
}
both_backends!(only_scripts_of_the_same_app_can_be_invoked);

async fn an_execution_makes_at_most_1000_calls(t: TestApp) {
    t.deploy_id("noop", "()").await;
    let looper = t
        .deploy_id(
            "looper",
            r#"let n = 0;
           let r = ();
           try { loop { invoke("noop", ()); n += 1; } } catch (e) { r = #{ n: n, e: e }; }
           r"#,
        )
        .await;
    let v = ok(&t, &looper).await;
    assert_eq!(v["n"], 1000);
    assert!(
        v["e"].as_str().unwrap().contains("at most 1000 calls"),
        "{v}"
    );
}
both_backends!(an_execution_makes_at_most_1000_calls);

async fn every_level_of_nesting_has_a_whole_stack(t: TestApp) {
    // Each level recurses as deep as the ceilings allow, with deep
    // expressions in every frame, and calls the next level from the bottom
    // of its recursion: eight such levels do not fit on one script thread's
    // stack; each call gets a whole stack of its own.
    let nest = 60;
    let expr = format!("{}f(n - 1, d){}", "(1 + ".repeat(nest), ")".repeat(nest));
    let source = format!(
        r#"fn f(n, d) {{
               if n == 0 {{
                   return if d < 8 {{ invoke("deep", d + 1) }} else {{ d }};
               }}
               {expr} - {nest}
           }}
           f(120, ctx.args)"#
    );
    let sandbox = json!({"max_call_levels": 128, "max_expr_depth": 128});
    t.deploy_with_id(json!({"name": "deep", "source": source, "sandbox": sandbox}))
        .await;
    let top = t.deploy_id("deep-top", r#"invoke("deep", 1)"#).await;
    assert_eq!(ok(&t, &top).await, 8);
    // The server is still here.
    assert_eq!(ok(&t, &top).await, 8);
}
both_backends!(every_level_of_nesting_has_a_whole_stack);
