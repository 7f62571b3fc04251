//! What scripts' executions used over time, through the real server: the
//! per-minute series behind the script page's charts and the last day's
//! percentiles in the scripts list, against the records they add up.

#[macro_use]
mod common;

use common::TestApp;
use reqwest::Method;
use serde_json::Value;

/// Within 10% (a histogram bucket is a quarter of a doubling).
fn near(got: &Value, want: f64) -> bool {
    got.as_f64().is_some_and(|g| (g / want - 1.0).abs() <= 0.1)
}

async fn usage(t: &TestApp, id: &str, query: &str) -> Value {
    let a = t
        .admin(Method::GET, &format!("/scripts/{id}/usage{query}"), None)
        .await;
    assert_eq!(a.status, 200, "{}", a.text);
    a.json()
}

fn sum(series: &Value, field: &str) -> i64 {
    series["points"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p[field].as_i64().unwrap())
        .sum()
}

async fn series_and_percentiles_add_up_the_executions(t: TestApp) {
    let work = t
        .deploy(
            "work",
            "let n = parse_int(ctx.request.query.n); let s = 0; for i in 0..n { s += i; } s",
        )
        .await;
    let work = work["id"].as_str().unwrap();
    let fails = t.deploy("fails", r#"throw "no""#).await;
    let fails = fails["id"].as_str().unwrap();
    for n in [10, 10, 10, 10, 10, 20000] {
        let a = t
            .send(
                Method::GET,
                &format!("/api/v1/execute/{work}?n={n}"),
                None,
                None,
            )
            .await;
        assert_eq!(a.status, 200, "{}", a.text);
    }
    for _ in 0..2 {
        assert_eq!(t.invoke(fails).await.status, 500);
    }
    let records = t.executions(work, 6).await;
    let ops: Vec<f64> = records
        .iter()
        .map(|r| r["operations"].as_f64().unwrap())
        .collect();
    let (small, big) = (ops.iter().copied().fold(f64::MAX, f64::min), ops[0]);
    assert!(big > 100.0 * small, "{ops:?}");

    let hour = usage(&t, work, "").await;
    assert_eq!(hour["window"], "hour");
    // An empty value is as if absent, as the API's other filters.
    assert_eq!(usage(&t, work, "?window=").await["window"], "hour");
    assert_eq!(hour["step_seconds"], 60);
    let points = hour["points"].as_array().unwrap();
    assert_eq!(points.len(), 60);
    assert_eq!(sum(&hour, "invocations"), 6);
    assert_eq!(sum(&hour, "errors"), 0);
    // The runs are in the last point or two (a minute may have turned).
    let busy: Vec<&Value> = points.iter().filter(|p| p["invocations"] != 0).collect();
    assert!(!busy.is_empty() && busy.len() <= 2, "{busy:?}");
    let quiet = &points[0];
    assert_eq!(quiet["operations"]["p50"], Value::Null);
    assert_eq!(quiet["duration_ms"]["p99"], Value::Null);
    // Times are whole minutes, a minute apart, oldest first.
    let at = |p: &Value| {
        time::OffsetDateTime::parse(
            p["at"].as_str().unwrap(),
            &time::format_description::well_known::Rfc3339,
        )
        .unwrap()
    };
    assert_eq!((at(&points[1]) - at(&points[0])).whole_seconds(), 60);
    assert_eq!(at(&points[0]).second(), 0);

    let day = usage(&t, work, "?window=day").await;
    assert_eq!(day["step_seconds"], 900);
    assert_eq!(day["points"].as_array().unwrap().len(), 96);
    assert_eq!(sum(&day, "invocations"), 6);
    let last = day["points"]
        .as_array()
        .unwrap()
        .iter()
        .rev()
        .find(|p| p["invocations"] != 0)
        .unwrap();
    if last["invocations"] == 6 {
        assert!(near(&last["operations"]["p50"], small), "{last} vs {small}");
        assert!(near(&last["operations"]["p99"], big), "{last} vs {big}");
    }

    // The scripts list: the last day's share of each.
    let list = t
        .admin(Method::GET, "/scripts?app=default", None)
        .await
        .json();
    let item = |id: &str| {
        list["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["id"] == id)
            .unwrap()["stats"]["last_day"]
            .clone()
    };
    let w = item(work);
    assert_eq!(w["invocations"], 6);
    assert_eq!(w["errors"], 0);
    assert!(near(&w["operations"]["p50"], small), "{w} vs {small}");
    assert!(near(&w["operations"]["p99"], big), "{w} vs {big}");
    assert!(w["duration_ms"]["p50"].as_f64().unwrap() > 0.0, "{w}");
    let f = item(fails);
    assert_eq!(
        (f["invocations"].clone(), f["errors"].clone()),
        (2.into(), 2.into())
    );
    // Per hour, the last 24: what ran just now is in the current (last)
    // hour, or the one before when the hour turned meanwhile.
    for (usage, runs, errors) in [(&w, 6, 0), (&f, 2, 2)] {
        let hourly = usage["hourly"].as_array().unwrap();
        assert_eq!(hourly.len(), 24, "{usage}");
        let sum = |key: &str| -> i64 { hourly.iter().map(|h| h[key].as_i64().unwrap()).sum() };
        assert_eq!(
            (sum("invocations"), sum("errors")),
            (runs, errors),
            "{usage}"
        );
        assert!(
            hourly[..22].iter().all(|h| h["invocations"] == 0),
            "{usage}"
        );
    }

    // Bad input.
    t.admin(
        Method::GET,
        &format!("/scripts/{work}/usage?window=week"),
        None,
    )
    .await
    .error(400, "bad_request");
    t.admin(
        Method::GET,
        &format!("/scripts/{work}/usage?window=hour&x=1"),
        None,
    )
    .await
    .error(400, "bad_request");
    let nobody = uuid::Uuid::new_v4();
    t.admin(Method::GET, &format!("/scripts/{nobody}/usage"), None)
        .await
        .error(404, "not_found");
}
both_backends!(series_and_percentiles_add_up_the_executions);
