//! `GET /metrics` through the real server: it parses as Prometheus text (by
//! an independent parser), and each metric moves with the work it counts.

#[macro_use]
mod common;

use common::{TestApp, scrape, scrape_until, value};
use reqwest::Method;
use serde_json::json;

async fn metrics_count_the_work(t: TestApp) {
    let before = scrape(&t).await;
    assert_eq!(
        value(&before, "picloud_executions_in_flight", &[]),
        Some(0.0)
    );
    assert_eq!(value(&before, "picloud_overloaded_total", &[]), Some(0.0));
    assert_eq!(value(&before, "picloud_events_pending", &[]), Some(0.0));
    assert_eq!(value(&before, "picloud_dead_letters", &[]), Some(0.0));
    assert_eq!(
        value(&before, "picloud_execution_records_dropped_total", &[]),
        Some(0.0)
    );
    let ok_before =
        value(&before, "picloud_http_requests_total", &[("class", "2xx")]).unwrap_or(0.0);

    let ok = t
        .deploy(
            "counted",
            r#"let c = kv::collection("things"); c.set("a", 1); c.get("a"); c.get("b"); "fine""#,
        )
        .await;
    let bad = t.deploy("broken", r#"throw "no""#).await;
    let handler = t.deploy("handler", r#"throw "always""#).await;
    t.admin(
        Method::POST,
        "/apps/default/triggers",
        Some(
            json!({"kind": "kv", "collection": "things", "events": ["set"],
                    "script_id": handler["id"], "max_attempts": 1}),
        ),
    )
    .await;
    for _ in 0..2 {
        assert_eq!(t.invoke(ok["id"].as_str().unwrap()).await.status, 200);
    }
    assert_eq!(t.invoke(bad["id"].as_str().unwrap()).await.status, 500);
    assert_eq!(
        t.send(Method::GET, "/no/such/route", None, None)
            .await
            .status,
        404
    );

    let s = scrape_until(&t, |s| {
        value(s, "picloud_dead_letters", &[]) == Some(2.0)
            && value(
                s,
                "picloud_executions_total",
                &[("script", "handler"), ("status", "error")],
            ) == Some(2.0)
    })
    .await;
    let exec = |script: &str, status: &str| {
        value(
            &s,
            "picloud_executions_total",
            &[("app", "default"), ("script", script), ("status", status)],
        )
    };
    assert_eq!(exec("counted", "ok"), Some(2.0));
    assert_eq!(exec("counted", "error"), Some(0.0));
    assert_eq!(exec("broken", "error"), Some(1.0));
    // Operations and CPU time per script: the histogram holds the counts
    // the records carry.
    let counted = [("app", "default"), ("script", "counted")];
    assert_eq!(
        value(&s, "picloud_script_operations_count", &counted),
        Some(2.0)
    );
    let recorded: f64 = t
        .executions(ok["id"].as_str().unwrap(), 2)
        .await
        .iter()
        .map(|r| r["operations"].as_f64().unwrap())
        .sum();
    assert!(recorded > 0.0);
    assert_eq!(
        value(&s, "picloud_script_operations_sum", &counted),
        Some(recorded)
    );
    assert!(value(&s, "picloud_script_cpu_seconds_total", &counted).unwrap() > 0.0);
    assert_eq!(
        exec("handler", "error"),
        Some(2.0),
        "trigger executions count too"
    );
    assert_eq!(
        value(
            &s,
            "picloud_execution_duration_seconds_count",
            &[("type", "http")]
        ),
        Some(3.0)
    );
    assert_eq!(
        value(
            &s,
            "picloud_execution_duration_seconds_count",
            &[("type", "trigger")]
        ),
        Some(2.0)
    );
    assert_eq!(
        value(&s, "picloud_kv_operations_total", &[("op", "set")]),
        Some(2.0)
    );
    assert_eq!(
        value(&s, "picloud_kv_operations_total", &[("op", "get")]),
        Some(4.0)
    );
    assert_eq!(
        value(&s, "picloud_kv_operations_total", &[("op", "list")]),
        Some(0.0)
    );
    assert_eq!(value(&s, "picloud_events_pending", &[]), Some(0.0));
    assert!(
        value(&s, "picloud_http_requests_total", &[("class", "2xx")]).unwrap() >= ok_before + 2.0
    );
    assert!(value(&s, "picloud_http_requests_total", &[("class", "4xx")]).unwrap() >= 1.0);
    assert!(value(&s, "picloud_http_requests_total", &[("class", "5xx")]).unwrap() >= 1.0);
}
both_backends!(metrics_count_the_work);

/// A cache hit never reads the database: served again and again, a route's
/// script and the script it invokes are read once; a change is read once.
async fn a_cache_hit_never_reads_the_database(t: TestApp) {
    let misses = |s: &prometheus_parse::Scrape| {
        value(s, "picloud_script_cache_misses_total", &[]).expect("the metric")
    };
    t.deploy("helper", r#""helped""#).await;
    let id = t
        .deploy_at("calls", r#"invoke("helper", ())"#, "/calls")
        .await;
    // What a process stores it caches as it goes: a restart starts empty.
    let t = t.restart().await;
    assert_eq!(misses(&scrape(&t).await), 0.0);
    let first = t.on_host(Method::GET, "/calls", None).await;
    assert_eq!(first.text, "helped");
    let warm = misses(&scrape(&t).await);
    assert_eq!(warm, 2.0, "the first request read both scripts");
    for _ in 0..20 {
        assert_eq!(t.on_host(Method::GET, "/calls", None).await.text, "helped");
        assert_eq!(t.invoke(&id).await.text, "helped");
    }
    assert_eq!(misses(&scrape(&t).await), warm, "hits read nothing");
}
both_backends!(a_cache_hit_never_reads_the_database);

#[tokio::test]
async fn rejections_and_slots_in_use_are_counted() {
    let t = TestApp::spawn_with(|a| a.max_concurrent_executions = 1).await;
    // Busy for about a second, well inside its limits.
    let slow = t
        .deploy_with(json!({"name": "slow",
            "source": "let n = 0; while n < 3_000_000 { n += 1; } n",
            "sandbox": {"max_operations": 100_000_000, "timeout_ms": 20_000}}))
        .await;
    let id = slow["id"].as_str().unwrap().to_owned();
    let running = {
        let url = t.url(&format!("/api/v1/execute/{id}"));
        let client = t.client.clone();
        tokio::spawn(async move { client.get(url).send().await.unwrap().status() })
    };
    // While it runs: one slot in use, and the next request is refused.
    let s = scrape_until(&t, |s| {
        value(s, "picloud_executions_in_flight", &[]) == Some(1.0)
    })
    .await;
    assert_eq!(value(&s, "picloud_overloaded_total", &[]), Some(0.0));
    let refused = t.invoke(&id).await;
    refused.error(503, "overloaded");
    assert_eq!(running.await.unwrap(), 200);
    let s = scrape(&t).await;
    assert_eq!(value(&s, "picloud_overloaded_total", &[]), Some(1.0));
    assert_eq!(value(&s, "picloud_executions_in_flight", &[]), Some(0.0));
}

#[tokio::test]
async fn metrics_is_reserved_for_user_routes() {
    let t = TestApp::spawn().await;
    let s = t.deploy("x", "1").await;
    t.admin(
        Method::POST,
        &format!("/scripts/{}/routes", s["id"].as_str().unwrap()),
        Some(json!({"path": "/metrics"})),
    )
    .await
    .error(400, "reserved_path");
}
