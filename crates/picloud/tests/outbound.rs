//! Scripts' outbound HTTP (`http::request`, `http::get`, `http::post`)
//! through the real server: calls to a local server on loopback that the
//! test allows explicitly, and the SSRF guard's refusals, which never
//! connect.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect};
use axum::routing::{any, get};
use common::TestApp;
use picloud_executor_core::outbound::Allow;
use serde_json::{Value, json};

/// A local server counting the requests it gets.
struct Upstream {
    base: String,
    hits: Arc<AtomicUsize>,
}

async fn upstream() -> Upstream {
    let hits = Arc::new(AtomicUsize::new(0));
    let counted = Arc::clone(&hits);
    let app = Router::new()
        .route(
            "/hello",
            get(|| async {
                let mut headers = HeaderMap::new();
                headers.append("x-test", "1".parse().unwrap());
                headers.append("x-test", "2".parse().unwrap());
                (headers, "hi")
            }),
        )
        .route(
            "/echo",
            any(
                |method: axum::http::Method, headers: HeaderMap, body: Bytes| async move {
                    axum::Json(json!({
                        "method": method.as_str(),
                        "content_type": headers.get("content-type").map(|v| v.to_str().unwrap()),
                        "x_key": headers.get("x-key").map(|v| v.to_str().unwrap()),
                        "agent": headers.get("user-agent").map(|v| v.to_str().unwrap()),
                        "body": String::from_utf8_lossy(&body),
                    }))
                },
            ),
        )
        .route("/bytes", get(|| async { vec![0u8, 159, 146, 150] }))
        .route(
            "/slow",
            get(|| async {
                tokio::time::sleep(Duration::from_secs(5)).await;
                "late"
            }),
        )
        .route("/big", get(|| async { "x".repeat(2 << 20) }))
        .route("/to-hello", get(|| async { Redirect::temporary("/hello") }))
        .route(
            "/to-metadata",
            get(|| async { Redirect::temporary("http://169.254.169.254/latest/meta-data/") }),
        )
        .route("/loop", get(|| async { Redirect::temporary("/loop") }))
        .route(
            "/teapot",
            get(|| async { (StatusCode::IM_A_TEAPOT, "short and stout").into_response() }),
        )
        .layer(axum::middleware::from_fn(
            move |req: axum::extract::Request, next: axum::middleware::Next| {
                let counted = Arc::clone(&counted);
                async move {
                    counted.fetch_add(1, Ordering::SeqCst);
                    next.run(req).await
                }
            },
        ));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    Upstream {
        base: format!("http://{addr}"),
        hits,
    }
}

/// A server whose scripts may call 127.0.0.1 (only).
async fn allowing_loopback(max_calls: u32) -> TestApp {
    TestApp::spawn_with(|args| {
        args.http_allow = Some(Allow::parse("127.0.0.1").unwrap());
        args.http_max_calls = max_calls;
        args.http_max_response_bytes = 1 << 20;
    })
    .await
}

/// Runs `source` (with `BASE` replaced by the upstream's URL) and returns
/// its answer as JSON.
async fn run(app: &TestApp, name: &str, source: &str, base: &str) -> Value {
    let s = app
        .deploy_with(json!({"name": name, "source": source.replace("BASE", base)}))
        .await;
    let a = app.invoke(s["id"].as_str().unwrap()).await;
    assert_eq!(a.status, 200, "{}", a.text);
    a.json()
}

/// A script that answers `{"e": message}`: the message of the error `call`
/// throws, caught.
fn caught(call: &str) -> String {
    format!(r#"let out = "no error"; try {{ {call}; }} catch (e) {{ out = e; }} #{{ e: out }}"#)
}

#[tokio::test]
async fn scripts_call_an_allowed_server_and_read_its_answer() {
    let up = upstream().await;
    let app = allowing_loopback(50).await;

    let v = run(
        &app,
        "get",
        r#"let r = http::get("BASE/hello"); #{ status: r.status, body: r.body, h: r.headers["x-test"], has_json: "json" in r }"#,
        &up.base,
    )
    .await;
    assert_eq!(
        v,
        json!({"status": 200, "body": "hi", "h": "1, 2", "has_json": false})
    );

    // A map body goes as JSON; headers are sent; the answer's JSON is parsed.
    let v = run(
        &app,
        "post",
        r#"let r = http::request(#{ method: "put", url: "BASE/echo", headers: #{ "x-key": "k1" },
                                   body: #{ n: 1 }, timeout_ms: 2000 });
           r.json"#,
        &up.base,
    )
    .await;
    assert_eq!(v["method"], "PUT");
    assert_eq!(v["content_type"], "application/json");
    assert_eq!(v["x_key"], "k1");
    assert_eq!(v["body"], r#"{"n":1}"#);
    assert!(v["agent"].as_str().unwrap().starts_with("PiCloud/"), "{v}");
    let v = run(
        &app,
        "post-text",
        r#"http::post("BASE/echo", "plain").json"#,
        &up.base,
    )
    .await;
    assert_eq!(
        (v["method"].clone(), v["body"].clone()),
        (json!("POST"), json!("plain"))
    );

    // A status the server chose is an answer, not an error; bytes that are
    // not UTF-8 come back as a blob; a redirect to an allowed place is followed.
    let v = run(
        &app,
        "misc",
        r#"#{ teapot: http::get("BASE/teapot").status, bytes: type_of(http::get("BASE/bytes").body),
              followed: http::get("BASE/to-hello").body }"#,
        &up.base,
    )
    .await;
    assert_eq!(v, json!({"teapot": 418, "bytes": "blob", "followed": "hi"}));

    // The record lists each call: method, host, status, outcome, duration;
    // never bodies or headers.
    let id = app
        .deploy_with(json!({"name": "recorded", "source": format!(
            r#"http::request(#{{ method: "POST", url: "{}/echo", headers: #{{ "x-key": "hidden-header" }}, body: "hidden-body" }});
               try {{ http::get("http://10.0.0.1/") }} catch {{ }}
               "done""#, up.base)}))
        .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(app.invoke(&id).await.text, "done");
    let record = app.executions(&id, 1).await.remove(0);
    let host = up.base.trim_start_matches("http://");
    let calls = record["outbound"]
        .as_array()
        .expect("outbound calls")
        .clone();
    assert_eq!(calls.len(), 2, "{record}");
    assert_eq!(
        (
            &calls[0]["method"],
            &calls[0]["host"],
            &calls[0]["status"],
            &calls[0]["outcome"]
        ),
        (&json!("POST"), &json!(host), &json!(200), &json!("ok"))
    );
    assert!(calls[0]["duration_ms"].as_f64().unwrap() >= 0.0);
    assert_eq!(
        (&calls[1]["host"], &calls[1]["status"], &calls[1]["outcome"]),
        (&json!("10.0.0.1"), &Value::Null, &json!("refused"))
    );
    let text = record.to_string();
    assert!(
        !text.contains("hidden-header") && !text.contains("hidden-body"),
        "{text}"
    );
    // A record without calls has no `outbound`.
    let plain = app.deploy_id("plain", "1").await;
    app.invoke(&plain).await;
    assert!(app.executions(&plain, 1).await[0].get("outbound").is_none());

    // /metrics counts them by app and outcome.
    let scrape = common::scrape_until(&app, |s| {
        common::value(
            s,
            "picloud_outbound_requests_total",
            &[("app", "default"), ("outcome", "refused")],
        )
        .is_some()
    })
    .await;
    let ok = common::value(
        &scrape,
        "picloud_outbound_requests_total",
        &[("app", "default"), ("outcome", "ok")],
    );
    assert!(ok.unwrap_or(0.0) >= 7.0, "{ok:?}");
    assert_eq!(
        common::value(
            &scrape,
            "picloud_outbound_requests_total",
            &[("app", "default"), ("outcome", "refused")]
        ),
        Some(1.0)
    );
}

#[tokio::test]
async fn the_guard_refuses_inward_addresses_without_connecting() {
    let app = TestApp::spawn().await;
    for (i, url) in [
        "http://127.0.0.1:9/",
        "http://localhost:9/",
        "http://[::1]:9/",
        "http://[::ffff:127.0.0.1]:9/",
        "http://0x7f000001:9/",
        "http://10.0.0.1/",
        "http://172.16.5.4/",
        "http://192.168.0.1/",
        "http://169.254.169.254/latest/meta-data/",
        "http://100.64.0.1/",
        "http://0.0.0.0/",
        "http://[fd00::1]/",
        "http://[fe80::1]/",
        "http://224.0.0.1/",
        "http://255.255.255.255/",
    ]
    .into_iter()
    .enumerate()
    {
        let name = format!("refused-{i}");
        let v = run(&app, &name, &caught(&format!(r#"http::get("{url}")"#)), "").await;
        let message = v["e"].as_str().unwrap();
        assert!(
            message.starts_with("http::request: refused:"),
            "{url}: {message}"
        );
        assert!(message.contains("PICLOUD_HTTP_ALLOW"), "{url}: {message}");
    }
    // Only http and https.
    let v = run(
        &app,
        "scheme",
        &caught(r#"http::get("file:///etc/passwd")"#),
        "",
    )
    .await;
    assert!(
        v["e"].as_str().unwrap().contains("only http and https"),
        "{v}"
    );
}

#[tokio::test]
async fn redirects_are_checked_again_and_bounded() {
    let up = upstream().await;
    let app = allowing_loopback(50).await;
    let v = run(
        &app,
        "to-metadata",
        &caught(r#"http::get("BASE/to-metadata")"#),
        &up.base,
    )
    .await;
    assert!(
        v["e"]
            .as_str()
            .unwrap()
            .contains("refused: 169.254.169.254"),
        "{v}"
    );
    let v = run(&app, "loop", &caught(r#"http::get("BASE/loop")"#), &up.base).await;
    assert!(
        v["e"].as_str().unwrap().contains("more than 5 redirects"),
        "{v}"
    );
}

#[tokio::test]
async fn calls_are_bounded_by_time_size_and_count() {
    let up = upstream().await;
    let app = allowing_loopback(3).await;

    // The call's own timeout: a catchable error.
    let s = app
        .deploy_with(json!({
            "name": "own-timeout",
            "source": caught(&format!(
                r#"http::request(#{{ url: "{}/slow", timeout_ms: 200 }})"#,
                up.base
            )),
        }))
        .await;
    let id = s["id"].as_str().unwrap();
    let v = app.invoke(id).await.json();
    assert!(v["e"].as_str().unwrap().contains("timed out"), "{v}");
    // Waiting on the server is wall time, not CPU time.
    let record = &app.executions(id, 1).await[0];
    let (wall, cpu) = (
        record["duration_ms"].as_f64().unwrap(),
        record["cpu_ms"].as_f64().unwrap(),
    );
    assert!(wall >= 200.0 && cpu < wall / 2.0, "{record}");

    // The execution's deadline: the script ends as a timeout, waiting or not.
    let s = app
        .deploy_with(json!({
            "name": "deadline",
            "source": caught(&format!(r#"http::get("{}/slow")"#, up.base)),
            "sandbox": {"timeout_ms": 500},
        }))
        .await;
    let started = std::time::Instant::now();
    app.invoke(s["id"].as_str().unwrap())
        .await
        .error(504, "timeout");
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "{:?}",
        started.elapsed()
    );

    // A body over PICLOUD_HTTP_MAX_RESPONSE_BYTES.
    let v = run(&app, "big", &caught(r#"http::get("BASE/big")"#), &up.base).await;
    assert!(
        v["e"]
            .as_str()
            .unwrap()
            .contains("PICLOUD_HTTP_MAX_RESPONSE_BYTES"),
        "{v}"
    );

    // A body the script's string limit could not hold is not read past it.
    let s = app
        .deploy_with(json!({
            "name": "small-strings",
            "source": caught(&format!(r#"http::get("{}/big")"#, up.base)),
            "sandbox": {"max_string_size": 4096},
        }))
        .await;
    let v = app.invoke(s["id"].as_str().unwrap()).await.json();
    assert!(
        v["e"]
            .as_str()
            .unwrap()
            .contains("over 4096 bytes (the sandbox's max_string_size)"),
        "{v}"
    );

    // PICLOUD_HTTP_MAX_CALLS per execution.
    let v = run(
        &app,
        "many",
        r#"let n = 0; let err = ();
           for i in 0..5 { try { http::get("BASE/hello"); n += 1; } catch (e) { err = e; break; } }
           #{ n: n, err: err }"#,
        &up.base,
    )
    .await;
    assert_eq!(v["n"], 3, "{v}");
    assert!(
        v["err"].as_str().unwrap().contains("at most 3 calls"),
        "{v}"
    );
}

static BAD: AtomicUsize = AtomicUsize::new(0);

#[tokio::test]
async fn bad_requests_are_script_errors_and_send_nothing() {
    let up = upstream().await;
    let app = allowing_loopback(50).await;
    let before = up.hits.load(Ordering::SeqCst);
    for (call, says) in [
        (r#"http::get("example.com/x")"#, "not an absolute"),
        (r#"http::get(42)"#, "`url` is a string"),
        (
            r#"http::request(#{ url: "BASE/echo", headers: #{ "x-a": "1\r\nx-b: 2" } })"#,
            "a header cannot",
        ),
        (
            r#"http::request(#{ url: "BASE/echo", headers: #{ "bad name": "1" } })"#,
            "not a header name",
        ),
        (
            r#"http::request(#{ url: "BASE/echo", body: 42 })"#,
            "`body` is a string",
        ),
        (
            r#"http::request(#{ url: "BASE/echo", method: "GE T" })"#,
            "not an HTTP method",
        ),
        (
            r#"http::request(#{ url: "BASE/echo", verb: "GET" })"#,
            "unknown key `verb`",
        ),
        (
            r#"http::request(#{ url: "BASE/echo", timeout_ms: -1 })"#,
            "`timeout_ms`",
        ),
        (r#"http::request(#{ method: "GET" })"#, "`url` is required"),
    ] {
        let name = format!("bad-{}", BAD.fetch_add(1, Ordering::Relaxed));
        let v = run(&app, &name, &caught(call), &up.base).await;
        assert!(
            v["e"].as_str().unwrap().contains(says),
            "{call}: {v} should say {says}"
        );
    }
    assert_eq!(up.hits.load(Ordering::SeqCst), before, "nothing was sent");
}
