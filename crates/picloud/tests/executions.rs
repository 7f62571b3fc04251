//! What the dashboard reads about executions, through the real server: the
//! `picloud-request-id` header of a data-plane answer, the `status` and
//! `request_id` filters of the executions list, and the per-script
//! counters in the scripts list (which outlive the records' retention).

#[macro_use]
mod common;

use std::time::Duration;

use common::{TestApp, within};
use reqwest::Method;
use serde_json::Value;

async fn executions(t: &TestApp, id: &str, query: &str) -> Vec<Value> {
    let a = t
        .admin(
            Method::GET,
            &format!("/scripts/{id}/executions?{query}"),
            None,
        )
        .await;
    assert_eq!(a.status, 200, "{}", a.text);
    a.json()["items"].as_array().unwrap().clone()
}

async fn request_id_header_names_the_execution_and_its_calls(t: TestApp) {
    let callee = t.deploy_id("callee", r#"log::info("called"); 2"#).await;
    let caller = t
        .deploy_id(
            "caller",
            r#"log::info("calling"); invoke("callee", #{}) + 1"#,
        )
        .await;
    let first = t.invoke(&caller).await;
    let second = t.invoke(&caller).await;
    assert_eq!(first.status, 200, "{}", first.text);
    let rid = |a: &common::Answer| {
        let v = a.headers["picloud-request-id"].to_str().unwrap().to_owned();
        uuid::Uuid::parse_str(&v).expect("a UUID");
        v
    };
    let (r1, r2) = (rid(&first), rid(&second));
    assert_ne!(r1, r2, "each request has its own id");
    t.executions(&caller, 2).await;
    t.executions(&callee, 2).await;

    let own = executions(&t, &caller, &format!("request_id={r1}")).await;
    assert_eq!(own.len(), 1, "{own:?}");
    assert_eq!(own[0]["request_id"], r1.as_str());
    assert_eq!(own[0]["invocation_type"], "http");
    assert_eq!(own[0]["logs"][0]["message"], "calling");
    let called = executions(&t, &callee, &format!("request_id={r1}")).await;
    assert_eq!(called.len(), 1, "{called:?}");
    assert_eq!(called[0]["invocation_type"], "function");
    assert_eq!(called[0]["request_id"], r1.as_str());

    let none = executions(&t, &caller, &format!("request_id={}", uuid::Uuid::nil())).await;
    assert!(none.is_empty(), "{none:?}");
    // An error answer names its execution too.
    let failing = t.deploy_id("failing", r#"throw "no""#).await;
    let a = t.invoke(&failing).await;
    assert_eq!(a.status, 500, "{}", a.text);
    let r = rid(&a);
    t.executions(&failing, 1).await;
    let rec = executions(&t, &failing, &format!("request_id={r}")).await;
    assert_eq!(rec.len(), 1);
    assert_eq!(rec[0]["status"], "error");
}
both_backends!(request_id_header_names_the_execution_and_its_calls);

/// Each record says which version ran, the Rhai operations it spent and
/// its CPU time: the same count for the same input, more for more work,
/// and a caller's count holds its callee's.
async fn records_carry_the_version_and_what_it_used(t: TestApp) {
    let callee = t
        .deploy_id("sum", "let s = 0; for i in 0..ctx.args.n { s += i; } s")
        .await;
    let source = r#"let n = parse_int(ctx.request.query.n); invoke("sum", #{ n: n })"#;
    let caller = t.deploy_id("caller", source).await;
    for n in [10, 10, 2000] {
        let a = t
            .send(
                Method::GET,
                &format!("/api/v1/execute/{caller}?n={n}"),
                None,
                None,
            )
            .await;
        assert_eq!(a.status, 200, "{}", a.text);
    }
    // Newest first.
    let records = t.executions(&caller, 3).await;
    let ops = |r: &Value| r["operations"].as_u64().expect("operations counted");
    assert_eq!(
        ops(&records[1]),
        ops(&records[2]),
        "the same input, the same count"
    );
    assert!(ops(&records[0]) > ops(&records[1]), "{records:?}");
    let calls = t.executions(&callee, 3).await;
    for r in records.iter().chain(&calls) {
        assert_eq!(r["script_version"], 1, "{r}");
        let (cpu, wall) = (
            r["cpu_ms"].as_f64().unwrap(),
            r["duration_ms"].as_f64().unwrap(),
        );
        assert!(cpu >= 0.0 && cpu <= wall, "{r}");
    }
    for r in &records {
        let call = calls
            .iter()
            .find(|c| c["request_id"] == r["request_id"])
            .expect("the call's record");
        assert!(
            ops(r) > ops(call),
            "the caller's count holds its callee's: {r} {call}"
        );
        assert!(ops(call) > 0);
    }

    // A new version: its records say so.
    let a = t
        .admin(
            Method::PUT,
            &format!("/scripts/{caller}"),
            Some(serde_json::json!({"source": format!("{source} ")})),
        )
        .await;
    assert_eq!(a.status, 200, "{}", a.text);
    let a = t
        .send(
            Method::GET,
            &format!("/api/v1/execute/{caller}?n=10"),
            None,
            None,
        )
        .await;
    assert_eq!(a.status, 200, "{}", a.text);
    let records = t.executions(&caller, 4).await;
    assert_eq!(records[0]["script_version"], 2, "{}", records[0]);
    assert_eq!(
        ops(&records[0]),
        ops(&records[2]),
        "the same work as before"
    );
}
both_backends!(records_carry_the_version_and_what_it_used);

async fn the_status_filter_lists_only_that_status(t: TestApp) {
    let id = t
        .deploy_id(
            "maybe",
            r#"if ctx.request.query.fail == "1" { throw "failed" } "fine""#,
        )
        .await;
    for path in ["", "?fail=1", "", "?fail=1", ""] {
        t.send(
            Method::GET,
            &format!("/api/v1/execute/{id}{path}"),
            None,
            None,
        )
        .await;
    }
    t.executions(&id, 5).await;
    let errors = executions(&t, &id, "status=error").await;
    assert_eq!(errors.len(), 2, "{errors:?}");
    assert!(errors.iter().all(|e| e["status"] == "error"));
    let oks = executions(&t, &id, "status=ok&limit=2").await;
    assert_eq!(oks.len(), 2, "the limit applies after the filter");
    assert!(oks.iter().all(|e| e["status"] == "ok"));
    assert!(executions(&t, &id, "status=timeout").await.is_empty());
    // Empty filters are no filters.
    assert_eq!(executions(&t, &id, "status=&request_id=").await.len(), 5);

    // Bad filters are the caller's mistake.
    t.admin(
        Method::GET,
        &format!("/scripts/{id}/executions?status=bad"),
        None,
    )
    .await
    .error(400, "bad_request");
    t.admin(
        Method::GET,
        &format!("/scripts/{id}/executions?request_id=nope"),
        None,
    )
    .await
    .error(400, "invalid_id");
    t.admin(
        Method::GET,
        &format!("/scripts/{id}/executions?colour=red"),
        None,
    )
    .await
    .error(400, "bad_request");
}
both_backends!(the_status_filter_lists_only_that_status);

/// The scripts list's `stats` of each script, waiting (up to 5 s) until
/// `name` has counted `n` invocations: they are counted as the records
/// are written, a moment after each answer.
async fn stats_after(t: &TestApp, name: &str, n: i64) -> Vec<Value> {
    within(
        Duration::from_secs(5),
        &format!("{name} counted {n} invocations"),
        || async {
            let items = t.admin(Method::GET, "/scripts", None).await.json()["items"]
                .as_array()
                .unwrap()
                .clone();
            let counted = items
                .iter()
                .find(|s| s["name"] == name)
                .and_then(|s| s["stats"]["invocations"].as_i64());
            if counted == Some(n) {
                Ok(items)
            } else {
                Err(format!("{counted:?}"))
            }
        },
    )
    .await
}

async fn stats_count_every_execution_past_retention(t: TestApp) {
    let id = t
        .deploy_id(
            "counted",
            r#"if ctx.request.query.fail == "1" { throw "failed" } "fine""#,
        )
        .await;
    t.deploy_id("idle", "1").await;
    for path in ["", "?fail=1", "", "?fail=1", "", ""] {
        t.send(
            Method::GET,
            &format!("/api/v1/execute/{id}{path}"),
            None,
            None,
        )
        .await;
    }
    let items = stats_after(&t, "counted", 6).await;
    let counted = items.iter().find(|s| s["name"] == "counted").unwrap();
    assert_eq!(counted["stats"]["errors"], 2, "{counted}");
    assert_eq!(counted["stats"]["last_status"], "ok", "{counted}");
    assert!(
        counted["stats"]["last_run_at"]
            .as_str()
            .is_some_and(|s| s.ends_with('Z')),
        "{counted}"
    );
    // The script fields are all there beside the stats.
    assert_eq!(counted["id"], id.as_str());
    assert_eq!(counted["version"], 1);
    let idle = items.iter().find(|s| s["name"] == "idle").unwrap();
    assert_eq!(idle["stats"]["invocations"], 0, "{idle}");
    assert_eq!(idle["stats"]["last_status"], Value::Null);
    // Retention keeps 2 records; the counters keep counting.
    assert_eq!(executions(&t, &id, "limit=1000").await.len(), 2);

    // The last status follows the newest execution.
    t.send(
        Method::GET,
        &format!("/api/v1/execute/{id}?fail=1"),
        None,
        None,
    )
    .await;
    let items = stats_after(&t, "counted", 7).await;
    let counted = items.iter().find(|s| s["name"] == "counted").unwrap();
    assert_eq!(counted["stats"]["last_status"], "error", "{counted}");
    assert_eq!(counted["stats"]["errors"], 3, "{counted}");

    // Deleting the script deletes its counters with it (and a new script
    // of the same name starts from zero).
    t.admin(Method::DELETE, &format!("/scripts/{id}"), None)
        .await;
    t.deploy_id("counted", "1").await;
    stats_after(&t, "counted", 0).await;
}

#[tokio::test]
async fn stats_count_every_execution_past_retention_sqlite() {
    stats_count_every_execution_past_retention(
        TestApp::spawn_with(|a| a.execution_retention = 2).await,
    )
    .await;
}

#[tokio::test]
#[cfg_attr(
    not(picloud_postgres),
    ignore = "no PostgreSQL here: set PICLOUD_TEST_DATABASE_URL or install PostgreSQL (README)"
)]
async fn stats_count_every_execution_past_retention_postgres() {
    let t =
        TestApp::spawn_postgres_with("stats_count_every_execution_past_retention_postgres", |a| {
            a.execution_retention = 2
        })
        .await;
    stats_count_every_execution_past_retention(t).await;
}
