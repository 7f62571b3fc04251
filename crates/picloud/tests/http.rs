//! The HTTP API against the real server on port 0, a fresh database each.

mod common;

use std::time::Duration;

use common::*;
use reqwest::Method;
use serde_json::{Value, json};

#[tokio::test]
async fn surfaces_outside_the_api() {
    let app = TestApp::spawn().await;
    let a = app.send(Method::GET, "/healthz", None, None).await;
    assert_eq!((a.status.as_u16(), a.text.as_str()), (200, "ok"));
    assert!(
        a.headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain")
    );

    let v = app.send(Method::GET, "/version", None, None).await.json();
    assert_eq!(v["product"], env!("CARGO_PKG_VERSION"));
    assert_eq!(v["sdk"], "1.1");
    assert_eq!(v["api"], 1);
    assert_eq!(v["wire"], picloud_shared::version::WIRE_VERSION);
    assert_eq!(v["schema"], picloud_manager_core::schema_version());
    assert_eq!(v["public_base_url"], serde_json::Value::Null);

    for path in [
        "/api",
        "/api/v2/admin/scripts",
        "/api/v0",
        "/api/v1/nope",
        "/api/v1/admin/nope",
    ] {
        app.send(Method::GET, path, None, None)
            .await
            .error(404, "not_found");
    }
    app.send(Method::GET, "/some/user/path", None, None)
        .await
        .error(404, "not_found");
    app.send(Method::DELETE, "/healthz", None, None)
        .await
        .error(405, "method_not_allowed");
    app.stop().await.unwrap();
}

#[tokio::test]
async fn public_base_url_is_reported() {
    let app =
        TestApp::spawn_with(|a| a.public_base_url = Some("https://pi.example.com".into())).await;
    let v = app.send(Method::GET, "/version", None, None).await.json();
    assert_eq!(v["public_base_url"], "https://pi.example.com");
}

#[tokio::test]
async fn admin_api_needs_a_session() {
    let app = TestApp::spawn().await;
    for (method, path) in [
        (Method::GET, "/api/v1/admin/scripts"),
        (Method::POST, "/api/v1/admin/scripts"),
        (Method::GET, "/api/v1/admin/auth/me"),
        (Method::POST, "/api/v1/admin/auth/logout"),
    ] {
        app.send(method.clone(), path, None, None)
            .await
            .error(401, "unauthorized");
        app.send(method, path, Some("pcs_not-a-real-token"), None)
            .await
            .error(401, "unauthorized");
    }
    app.login(ADMIN, "wrong password")
        .await
        .error(401, "invalid_credentials");
    app.login("nobody", PASSWORD)
        .await
        .error(401, "invalid_credentials");
}

#[tokio::test]
async fn repeated_failed_logins_get_429_per_username_and_address() {
    use picloud_manager_core::throttle::FREE_FAILURES;
    let app = TestApp::spawn().await;
    for _ in 0..FREE_FAILURES + 1 {
        app.login(common::ADMIN, "wrong password")
            .await
            .error(401, "invalid_credentials");
    }
    // Now refused, even with the right password, and said when to retry.
    let a = app.login(common::ADMIN, common::PASSWORD).await;
    a.error(429, "too_many_attempts");
    assert_eq!(a.headers["retry-after"], "1");
    // The same holds for a username that does not exist: nothing tells.
    for _ in 0..FREE_FAILURES + 1 {
        app.login("nobody", "wrong password")
            .await
            .error(401, "invalid_credentials");
    }
    app.login("nobody", "x")
        .await
        .error(429, "too_many_attempts");
    // Another address is not locked out.
    let elsewhere = reqwest::Client::builder()
        .local_address("127.0.0.2".parse::<std::net::IpAddr>().unwrap())
        .build()
        .unwrap();
    let a = answer(
        elsewhere
            .post(app.url("/api/v1/admin/auth/login"))
            .json(&json!({"username": common::ADMIN, "password": common::PASSWORD}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(a.status, 200, "{}", a.text);
    // The refusal ends; a success resets the count.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(app.login(common::ADMIN, common::PASSWORD).await.status, 200);
    app.login(common::ADMIN, "wrong password")
        .await
        .error(401, "invalid_credentials");
}

/// Wrong passwords sent at once are checked no more often than sent one by
/// one: each attempt is counted as it begins, so the ones past the free
/// failures are refused though none has been answered yet.
#[tokio::test]
async fn failed_logins_sent_at_once_are_throttled_as_one_by_one() {
    use picloud_manager_core::throttle::FREE_FAILURES;
    let app = TestApp::spawn().await;
    let mut attempts = tokio::task::JoinSet::new();
    for _ in 0..24 {
        let (client, url) = (app.client.clone(), app.url("/api/v1/admin/auth/login"));
        attempts.spawn(async move {
            let body = json!({"username": common::ADMIN, "password": "wrong password"});
            client.post(url).json(&body).send().await.unwrap().status()
        });
    }
    let statuses = attempts.join_all().await;
    let checked = statuses.iter().filter(|s| s.as_u16() == 401).count() as u32;
    let refused = statuses.iter().filter(|s| s.as_u16() == 429).count() as u32;
    assert_eq!(checked + refused, 24, "{statuses:?}");
    // The free failures and the one that starts the refusal; a slow machine
    // may see the 1 s and 2 s refusals end while the attempts still arrive.
    assert!(
        (FREE_FAILURES + 1..=FREE_FAILURES + 3).contains(&checked),
        "{checked} of 24 checked: {statuses:?}"
    );
}

#[tokio::test]
async fn cookie_sessions_need_a_same_origin_header_to_change_anything() {
    let app =
        TestApp::spawn_with(|a| a.public_base_url = Some("https://pi.example.org/".into())).await;
    let token = app.token.clone();
    let cookie = format!("picloud_session={token}");
    let create = |origin: Option<&str>, name: &'static str| {
        let mut req = app
            .client
            .post(app.url("/api/v1/admin/scripts"))
            .header("cookie", cookie.clone())
            .json(&json!({"name": name, "source": "1"}));
        if let Some(o) = origin {
            req = req.header("origin", o.to_owned());
        }
        async move { answer(req.send().await.unwrap()).await }
    };
    create(None, "a").await.error(403, "forbidden");
    create(Some("http://evil.example"), "a")
        .await
        .error(403, "forbidden");
    create(Some("null"), "a").await.error(403, "forbidden");
    let own = format!("http://{}", app.addr);
    assert_eq!(create(Some(&own), "a").await.status, 201);
    assert_eq!(
        create(Some("https://pi.example.org"), "b").await.status,
        201
    );
    // Reads need no Origin; Bearer requests never do.
    let resp = app
        .client
        .get(app.url("/api/v1/admin/scripts"))
        .header("cookie", cookie.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(app.deploy("c", "1").await["name"], "c");
    assert_eq!(
        app.script_count().await,
        3,
        "refused requests changed nothing"
    );
}

#[tokio::test]
async fn login_me_logout_with_bearer_and_cookie() {
    let app = TestApp::spawn().await;
    let a = app.login(ADMIN, PASSWORD).await;
    assert_eq!(a.status, 200);
    let v = a.json();
    let token = v["token"].as_str().unwrap().to_owned();
    assert!(token.starts_with("pcs_"));
    assert!(v["expires_at"].as_str().unwrap().contains('T'));
    assert_eq!(v["user"]["username"], ADMIN);
    assert_eq!(v["user"]["role"], "admin");
    assert!(v["user"].get("password_hash").is_none());
    let cookie = a.headers["set-cookie"].to_str().unwrap().to_owned();
    assert!(
        cookie.starts_with(&format!("picloud_session={token}")),
        "{cookie}"
    );
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );
    assert!(
        !cookie.contains("Secure"),
        "plain-http instances cannot use Secure cookies"
    );

    let me = app
        .send(Method::GET, "/api/v1/admin/auth/me", Some(&token), None)
        .await
        .json();
    assert_eq!(me["user"]["username"], ADMIN);
    assert!(me["roles"].is_array());

    // The cookie alone authenticates.
    let resp = app
        .client
        .get(app.url("/api/v1/admin/auth/me"))
        .header("cookie", format!("other=1; picloud_session={token}"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);

    let out = app
        .send(
            Method::POST,
            "/api/v1/admin/auth/logout",
            Some(&token),
            None,
        )
        .await;
    assert_eq!(out.status, 204);
    assert!(
        out.headers["set-cookie"]
            .to_str()
            .unwrap()
            .contains("Max-Age=0")
    );
    app.send(Method::GET, "/api/v1/admin/auth/me", Some(&token), None)
        .await
        .error(401, "unauthorized");
    // The other session is unaffected.
    assert_eq!(app.admin(Method::GET, "/auth/me", None).await.status, 200);
}

#[tokio::test]
async fn script_lifecycle_and_live_updates() {
    let app = TestApp::spawn().await;
    let s = app
        .deploy_with(json!({"name": "greet", "source": "\"v1\"", "description": "says hi", "sandbox": {"timeout_ms": 1000}}))
        .await;
    for field in [
        "id",
        "app_id",
        "name",
        "source",
        "version",
        "description",
        "sandbox",
        "created_at",
        "updated_at",
    ] {
        assert!(s.get(field).is_some(), "{field} in {s}");
    }
    assert_eq!(s["version"], 1);
    assert_eq!(s["sandbox"], json!({"timeout_ms": 1000}));
    let id = s["id"].as_str().unwrap();
    assert_eq!(app.invoke(id).await.text, "v1");

    let got = app
        .admin(Method::GET, &format!("/scripts/{id}"), None)
        .await
        .json();
    assert_eq!(got, s);
    let list = app.admin(Method::GET, "/scripts", None).await.json();
    assert_eq!(list["items"][0]["id"], id);
    let list = app
        .admin(Method::GET, "/scripts?app=default", None)
        .await
        .json();
    assert_eq!(list["items"].as_array().unwrap().len(), 1);

    let up = app
        .admin(
            Method::PUT,
            &format!("/scripts/{id}"),
            Some(json!({"source": "\"v2\""})),
        )
        .await;
    assert_eq!(up.status, 200, "{}", up.text);
    let up = up.json();
    assert_eq!(up["version"], 2);
    assert_eq!(up["description"], "says hi", "fields not sent stay");
    assert_eq!(app.invoke(id).await.text, "v2", "live for the next request");

    let a = app
        .admin(Method::DELETE, &format!("/scripts/{id}"), None)
        .await;
    assert_eq!(a.status, 204);
    app.invoke(id).await.error(404, "not_found");
    app.admin(Method::GET, &format!("/scripts/{id}"), None)
        .await
        .error(404, "not_found");
    app.admin(Method::DELETE, &format!("/scripts/{id}"), None)
        .await
        .error(404, "not_found");
    app.admin(
        Method::PUT,
        &format!("/scripts/{id}"),
        Some(json!({"source": "1"})),
    )
    .await
    .error(404, "not_found");
}

#[tokio::test]
async fn bad_input_gets_a_4xx_and_changes_nothing() {
    let app = TestApp::spawn().await;
    let s = app.deploy("keep", "1").await;
    let id = s["id"].as_str().unwrap().to_owned();
    let before = app.script_count().await;

    let cases: Vec<(serde_json::Value, u16, &str)> = vec![
        (json!({"name": "x"}), 400, "bad_request"),
        (json!({"name": 5, "source": "1"}), 400, "bad_request"),
        (
            json!({"name": "x", "source": "1", "sandbox": {"max_fun": 1}}),
            400,
            "bad_request",
        ),
        (
            json!({"name": "x", "source": "1", "sandbox": {"timeout_ms": -1}}),
            400,
            "bad_request",
        ),
        (
            json!({"name": "x", "source": "1", "sandbox": {"timeout_ms": 0}}),
            400,
            "bad_request",
        ),
        (
            json!({"name": "x", "source": "1", "sandbox": {"timeout_ms": 60001}}),
            400,
            "sandbox_ceiling",
        ),
        (
            json!({"name": "x", "source": "1", "extra": true}),
            400,
            "bad_request",
        ),
        (json!({"name": "", "source": "1"}), 400, "invalid_name"),
        (
            json!({"name": "x".repeat(65), "source": "1"}),
            400,
            "invalid_name",
        ),
        (
            json!({"name": "x".repeat(100_000), "source": "1"}),
            400,
            "invalid_name",
        ),
        (
            json!({"name": "Bad Name", "source": "1"}),
            400,
            "invalid_name",
        ),
        (json!({"name": "keep", "source": "2"}), 409, "conflict"),
        (
            json!({"name": "x", "source": "1", "app": "no-such-app"}),
            404,
            "not_found",
        ),
        (
            json!({"name": "x", "source": "x".repeat(262_145)}),
            400,
            "source_too_large",
        ),
        (
            json!({"name": "x", "source": "1", "description": "d".repeat(5000)}),
            400,
            "bad_request",
        ),
        (json!([1, 2]), 400, "bad_request"),
    ];
    for (body, status, code) in cases {
        let a = app
            .admin(Method::POST, "/scripts", Some(body.clone()))
            .await;
        a.error(status, code);
    }

    // A compile error: line and column, nothing stored.
    let v = app
        .admin(
            Method::POST,
            "/scripts",
            Some(json!({"name": "broken", "source": "let x = 1;\nlet y = ;"})),
        )
        .await
        .error(400, "compile_error");
    assert_eq!(
        (v["error"]["line"].as_u64(), v["error"]["column"].as_u64()),
        (Some(2), Some(9))
    );

    // Malformed JSON, no JSON content type, an oversized body.
    let raw = |body: &'static str, ct: Option<&'static str>| {
        let mut r = app
            .client
            .post(app.url("/api/v1/admin/scripts"))
            .bearer_auth(&app.token)
            .body(body);
        if let Some(ct) = ct {
            r = r.header("content-type", ct);
        }
        r
    };
    answer(
        raw("{\"name\": ", Some("application/json"))
            .send()
            .await
            .unwrap(),
    )
    .await
    .error(400, "bad_request");
    answer(raw("{}", None).send().await.unwrap())
        .await
        .error(415, "unsupported_media_type");
    // Just over the 1 MiB default (the client writes it all before it reads
    // the answer; far more could fill the socket buffers of a server that
    // has stopped reading).
    let big = format!(
        "{{\"name\":\"big\",\"source\":\"{}\"}}",
        "x".repeat(1 << 20)
    );
    let resp = app
        .client
        .post(app.url("/api/v1/admin/scripts"))
        .bearer_auth(&app.token)
        .header("content-type", "application/json")
        .body(big)
        .send()
        .await
        .unwrap();
    let a = answer(resp).await;
    a.error(413, "payload_too_large");
    assert_eq!(a.headers["connection"], "close");

    // Bad ids in paths, bad updates and queries.
    app.admin(Method::GET, "/scripts/not-a-uuid", None)
        .await
        .error(400, "invalid_id");
    app.send(Method::GET, "/api/v1/execute/not-a-uuid", None, None)
        .await
        .error(400, "invalid_id");
    app.admin(Method::PUT, &format!("/scripts/{id}"), Some(json!({})))
        .await
        .error(400, "bad_request");
    app.admin(
        Method::PUT,
        &format!("/scripts/{id}"),
        Some(json!({"source": "let = ;"})),
    )
    .await
    .error(400, "compile_error");
    app.admin(
        Method::PUT,
        &format!("/scripts/{id}"),
        Some(json!({"name": "other"})),
    )
    .await
    .error(400, "bad_request");
    app.admin(
        Method::PUT,
        &format!("/scripts/{id}"),
        Some(json!({"sandbox": {"max_call_levels": 100000}})),
    )
    .await
    .error(400, "sandbox_ceiling");
    app.admin(
        Method::GET,
        &format!("/scripts/{id}/executions?limit=0"),
        None,
    )
    .await
    .error(400, "bad_request");
    app.admin(
        Method::GET,
        &format!("/scripts/{id}/executions?limit=abc"),
        None,
    )
    .await
    .error(400, "bad_request");

    assert_eq!(app.script_count().await, before, "nothing was created");
    let still = app
        .admin(Method::GET, &format!("/scripts/{id}"), None)
        .await
        .json();
    assert_eq!(still, s, "nothing was changed");
    assert_eq!(app.invoke(&id).await.text, "1");
}

#[tokio::test]
async fn the_response_convention_over_http() {
    let app = TestApp::spawn().await;
    let run = |src: &'static str| {
        let app = &app;
        async move {
            let name = format!("s{}", uuid::Uuid::new_v4().simple());
            let s = app.deploy(&name, src).await;
            app.invoke(s["id"].as_str().unwrap()).await
        }
    };
    let a = run("()").await;
    assert_eq!((a.status.as_u16(), a.text.as_str()), (204, ""));
    let a = run("\"hi\"").await;
    assert_eq!((a.status.as_u16(), a.text.as_str()), (200, "hi"));
    assert_eq!(a.headers["content-type"], "text/plain; charset=utf-8");
    let a = run("#{statusCode: 201, headers: #{\"x-one\": \"1\", \"content-type\": \"text/html\"}, body: \"<b>\"}").await;
    assert_eq!((a.status.as_u16(), a.text.as_str()), (201, "<b>"));
    assert_eq!(a.headers["x-one"], "1");
    assert_eq!(a.headers["content-type"], "text/html");
    let a = run("#{statusCode: 418, body: #{tea: true}}").await;
    assert_eq!(a.status, 418);
    assert_eq!(a.headers["content-type"], "application/json");
    assert_eq!(a.json(), json!({"tea": true}));
    let a = run("#{statusCode: 302, headers: #{location: \"/x\"}}").await;
    assert_eq!(
        (a.status.as_u16(), a.headers["location"].to_str().unwrap()),
        (302, "/x")
    );
    for src in ["#{a: 1}", "[1, 2]", "42", "true", "1.5"] {
        let a = run(src).await;
        assert_eq!(a.status, 200, "{src}");
        assert_eq!(a.headers["content-type"], "application/json", "{src}");
    }
    assert_eq!(run("[1, ()]").await.json(), json!([1, null]));
    run("#{statusCode: \"200\"}")
        .await
        .error(500, "invalid_response");
    run("#{statusCode: 99}")
        .await
        .error(500, "invalid_response");
    let a = run("#{statusCode: 503, body: \"down for maintenance\"}").await;
    assert_eq!(
        (a.status.as_u16(), a.text.as_str()),
        (503, "down for maintenance")
    );
    run("#{statusCode: 200, headers: #{\"bad name\": \"x\"}}")
        .await
        .error(500, "invalid_response");
    let v = run("let a = 1;\nthrow \"boom\";")
        .await
        .error(500, "script_error");
    assert_eq!(
        (v["error"]["message"].as_str(), v["error"]["line"].as_u64()),
        (Some("boom"), Some(2))
    );
    run("let s = \"x\"; loop { s += s; }")
        .await
        .error(500, "limit_exceeded");
}

#[tokio::test]
async fn timeouts_answer_504_and_the_server_keeps_serving() {
    let app = TestApp::spawn().await;
    let slow = app
        .deploy_with(json!({"name": "slow", "source": "loop {}", "sandbox": {"timeout_ms": 1500, "max_operations": 1000000000}}))
        .await;
    let hello = app.deploy("hello", "\"hello\"").await;
    let slow_id = slow["id"].as_str().unwrap().to_owned();
    let client = app.client.clone();
    let url = app.url(&format!("/api/v1/execute/{slow_id}"));
    let slow_call =
        tokio::spawn(async move { answer(client.get(url).send().await.unwrap()).await });
    // Once the slow one runs (a loaded machine may take a while to start
    // it), another call is still answered.
    scrape_until(&app, |s| {
        value(s, "picloud_executions_in_flight", &[]) == Some(1.0)
    })
    .await;
    assert_eq!(
        app.invoke(hello["id"].as_str().unwrap()).await.text,
        "hello"
    );
    assert!(
        !slow_call.is_finished(),
        "hello answered while the slow script ran"
    );
    slow_call.await.unwrap().error(504, "timeout");
}

#[tokio::test]
async fn an_operator_can_raise_the_ceilings_to_real_workloads() {
    let raised = json!({"max_operations": 100_000_000_000_u64, "timeout_ms": 300_000,
        "max_array_size": 10_000_000, "max_map_size": 1_000_000,
        "max_string_size": 268_435_456});
    // Out of the box, scripts cannot ask for that much.
    let app = TestApp::spawn().await;
    let a = app
        .admin(
            Method::POST,
            "/scripts",
            Some(json!({"name": "sieve", "source": "1", "sandbox": raised})),
        )
        .await;
    a.error(400, "sandbox_ceiling");
    assert_eq!(app.script_count().await, 0);
    // With every ceiling at its built-in maximum, they can.
    let app = TestApp::spawn_with(|a| {
        let max = picloud_shared::SandboxLimits::MAX_CEILINGS;
        a.sandbox.sandbox_max_operations = max.max_operations;
        a.sandbox.sandbox_max_timeout_ms = max.timeout_ms;
        a.sandbox.sandbox_max_array_size = max.max_array_size;
        a.sandbox.sandbox_max_map_size = max.max_map_size;
        a.sandbox.sandbox_max_string_size = max.max_string_size;
    })
    .await;
    let sieve = "const N = 200_000; let mask = []; mask.pad(N + 1, true);
        let found = 0;
        for p in 2..=N { if !mask[p] { continue; } found += 1;
            for i in range(2 * p, N + 1, p) { mask[i] = false; } }
        found";
    let s = app
        .deploy_with(json!({"name": "sieve", "source": sieve, "sandbox": raised}))
        .await;
    assert_eq!(s["sandbox"], raised);
    let a = app.invoke(s["id"].as_str().unwrap()).await;
    assert_eq!((a.status.as_u16(), a.text.as_str()), (200, "17984"));
    // Raising a ceiling raises no default: the same sieve without
    // overrides is over the default array size.
    let s = app.deploy("plain-sieve", sieve).await;
    app.invoke(s["id"].as_str().unwrap())
        .await
        .error(500, "limit_exceeded");
}

#[tokio::test]
async fn operator_ceilings_bound_overrides_and_lower_defaults() {
    let app = TestApp::spawn_with(|a| a.sandbox.sandbox_max_timeout_ms = 200).await;
    let v = app
        .admin(
            Method::POST,
            "/scripts",
            Some(json!({"name": "x", "source": "1", "sandbox": {"timeout_ms": 201}})),
        )
        .await
        .error(400, "sandbox_ceiling");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("PICLOUD_SANDBOX_MAX_TIMEOUT_MS")
    );
    // The 5 s default is lowered to the 200 ms ceiling.
    let s = app
        .deploy_with(
            json!({"name": "spin", "source": "loop {}", "sandbox": {"max_operations": 1000000000}}),
        )
        .await;
    let v = app
        .invoke(s["id"].as_str().unwrap())
        .await
        .error(504, "timeout");
    assert!(
        v["error"]["message"].as_str().unwrap().contains("200 ms"),
        "{v}"
    );
}

#[tokio::test]
async fn the_request_reaches_ctx() {
    let app = TestApp::spawn().await;
    let s = app
        .deploy("echo", "#{method: ctx.request.method, path: ctx.request.path, q: ctx.request.query, h: ctx.request.headers[\"x-hi\"], body: ctx.request.body, rest: ctx.request.rest, host: ctx.request.host, t: ctx.invocation_type}")
        .await;
    let id = s["id"].as_str().unwrap();
    let resp = app
        .client
        .post(app.url(&format!("/api/v1/execute/{id}/a/b?x=1&y=two")))
        .header("x-hi", "there")
        .header("host", "Example.COM:8080")
        .json(&json!({"n": 1}))
        .send()
        .await
        .unwrap();
    let v = answer(resp).await.json();
    assert_eq!(
        v,
        json!({"method": "POST", "path": format!("/api/v1/execute/{id}/a/b"), "q": {"x": "1", "y": "two"},
               "h": "there", "body": {"n": 1}, "rest": "a/b", "host": "example.com", "t": "http"})
    );
    // A body sent as JSON that is not JSON is the caller's mistake.
    let resp = app
        .client
        .post(app.url(&format!("/api/v1/execute/{id}")))
        .header("content-type", "application/json")
        .body("{oops")
        .send()
        .await
        .unwrap();
    answer(resp).await.error(400, "bad_request");
    let resp = app
        .client
        .put(app.url(&format!("/api/v1/execute/{id}")))
        .body("plain text")
        .send()
        .await
        .unwrap();
    assert_eq!(answer(resp).await.json()["body"], "plain text");
}

#[tokio::test]
async fn oversized_bodies_get_413() {
    let app = TestApp::spawn_with(|a| a.max_body_bytes = 1000).await;
    let s = app.deploy("any", "1").await;
    let url = app.url(&format!("/api/v1/execute/{}", s["id"].as_str().unwrap()));
    let resp = app
        .client
        .post(&url)
        .body("x".repeat(1001))
        .send()
        .await
        .unwrap();
    let a = answer(resp).await;
    a.error(413, "payload_too_large");
    // The body is left unread, so the connection closes: the client is told.
    assert_eq!(a.headers["connection"], "close");
    // The next requests go through (on a new connection).
    for _ in 0..3 {
        app.admin(Method::GET, "/scripts", None).await.json();
    }
    let resp = app
        .client
        .post(&url)
        .body("x".repeat(1000))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
}

#[tokio::test]
async fn over_the_concurrency_cap_answers_503_at_once() {
    let app = TestApp::spawn_with(|a| a.max_concurrent_executions = 1).await;
    let slow = app
        .deploy_with(json!({"name": "slow", "source": "loop {}", "sandbox": {"timeout_ms": 1500, "max_operations": 1000000000}}))
        .await;
    let hello = app.deploy("hello", "\"hello\"").await;
    let client = app.client.clone();
    let url = app.url(&format!("/api/v1/execute/{}", slow["id"].as_str().unwrap()));
    let slow_call =
        tokio::spawn(async move { answer(client.get(url).send().await.unwrap()).await });
    // Once the slow one holds the only slot (a loaded machine may take a
    // while to start it), the next call is refused at once.
    scrape_until(&app, |s| {
        value(s, "picloud_executions_in_flight", &[]) == Some(1.0)
    })
    .await;
    let a = app.invoke(hello["id"].as_str().unwrap()).await;
    a.error(503, "overloaded");
    assert_eq!(a.headers["retry-after"], "1");
    assert!(!slow_call.is_finished());
    slow_call.await.unwrap().error(504, "timeout");
    assert_eq!(
        app.invoke(hello["id"].as_str().unwrap()).await.text,
        "hello",
        "the slot is free again"
    );
}

#[tokio::test]
async fn a_caller_that_hangs_up_leaves_the_script_running_and_recorded() {
    let app = TestApp::spawn_with(|a| a.max_concurrent_executions = 1).await;
    let slow = app
        .deploy_with(json!({"name": "slow", "source": "log::info(\"started\"); loop {}", "sandbox": {"timeout_ms": 1500, "max_operations": 1000000000}}))
        .await;
    let slow_id = slow["id"].as_str().unwrap();
    let hello = app.deploy("hello", "\"hello\"").await;
    let impatient = reqwest::Client::builder()
        .timeout(Duration::from_millis(300))
        .build()
        .unwrap();
    let gone = impatient
        .get(app.url(&format!("/api/v1/execute/{slow_id}")))
        .send()
        .await;
    assert!(gone.unwrap_err().is_timeout(), "the caller gave up first");
    // The script still runs and holds the only slot...
    scrape_until(&app, |s| {
        value(s, "picloud_executions_in_flight", &[]) == Some(1.0)
    })
    .await;
    app.invoke(hello["id"].as_str().unwrap())
        .await
        .error(503, "overloaded");
    // ...until its own timeout, and then it is recorded as such.
    let items = app.executions(slow_id, 1).await;
    assert_eq!(items[0]["status"], "timeout");
    assert_eq!(items[0]["logs"][0]["message"], "started");
    assert_eq!(
        app.invoke(hello["id"].as_str().unwrap()).await.text,
        "hello",
        "the slot is free again"
    );
}

#[tokio::test]
async fn executions_are_recorded_with_status_and_logs_newest_first() {
    let app = TestApp::spawn().await;
    let s = app
        .deploy("rec", "log::info(\"start\", #{q: ctx.request.query}); if ctx.request.query.fail == \"1\" { throw \"failed\" } \"fine\"")
        .await;
    let id = s["id"].as_str().unwrap();
    assert_eq!(app.invoke(id).await.text, "fine");
    app.send(
        Method::GET,
        &format!("/api/v1/execute/{id}?fail=1"),
        None,
        None,
    )
    .await
    .error(500, "script_error");
    let items = app.executions(id, 2).await;
    let (newest, oldest) = (&items[0], &items[1]);
    assert_eq!(newest["status"], "error");
    assert_eq!(newest["status_code"], 500);
    assert!(newest["error"].as_str().unwrap().contains("failed"));
    assert_eq!(
        newest["logs"][0]["data"],
        json!({"q": {"fail": "1"}}),
        "logs before the failure are kept"
    );
    assert_eq!(oldest["status"], "ok");
    assert_eq!(oldest["status_code"], 200);
    assert_eq!(oldest["error"], serde_json::Value::Null);
    assert_eq!(oldest["invocation_type"], "http");
    assert_eq!(oldest["logs"][0]["level"], "info");
    assert_eq!(oldest["logs"][0]["message"], "start");
    for field in ["id", "script_id", "request_id", "started_at", "duration_ms"] {
        assert!(!oldest[field].is_null(), "{field}");
    }
    let one = app
        .admin(
            Method::GET,
            &format!("/scripts/{id}/executions?limit=1"),
            None,
        )
        .await
        .json();
    assert_eq!(one["items"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn a_status_the_script_chose_is_recorded_as_ok_and_a_bad_response_as_error() {
    let app = TestApp::spawn().await;
    let s = app
        .deploy(
            "chooser",
            "if ctx.request.query.bad == \"1\" { #{statusCode: 1000} } else { #{statusCode: 503} }",
        )
        .await;
    let id = s["id"].as_str().unwrap();
    assert_eq!(app.invoke(id).await.status, 503);
    app.send(
        Method::GET,
        &format!("/api/v1/execute/{id}?bad=1"),
        None,
        None,
    )
    .await
    .error(500, "invalid_response");
    let items = app.executions(id, 2).await;
    assert_eq!(
        (
            items[1]["status"].as_str(),
            items[1]["status_code"].as_u64()
        ),
        (Some("ok"), Some(503))
    );
    assert_eq!(
        (
            items[0]["status"].as_str(),
            items[0]["status_code"].as_u64()
        ),
        (Some("error"), Some(500))
    );
    assert!(items[0]["error"].as_str().unwrap().contains("statusCode"));
}

#[tokio::test]
async fn retention_keeps_the_newest_n_per_script() {
    let app = TestApp::spawn_with(|a| a.execution_retention = 3).await;
    let s = app.deploy("many", "ctx.request.query.n").await;
    let id = s["id"].as_str().unwrap();
    let mut last = String::new();
    for n in 0..6 {
        let a = app
            .send(
                Method::GET,
                &format!("/api/v1/execute/{id}?n={n}"),
                None,
                None,
            )
            .await;
        assert_eq!(a.text, n.to_string());
        last = a.headers["picloud-execution-id"]
            .to_str()
            .expect("an execution id")
            .to_owned();
        // Let each record land so retention is exercised across batches.
        app.executions(id, (n + 1).min(3)).await;
    }
    // Once the last record has landed (and the batch that wrote it trimmed
    // the rest), the newest 3 are kept.
    let items = within(
        Duration::from_secs(5),
        "the last execution's record",
        || async {
            let items = app.executions(id, 3).await;
            items
                .iter()
                .any(|r| r["id"] == last.as_str())
                .then_some(items)
        },
    )
    .await;
    assert_eq!(items.len(), 3);
}

#[tokio::test]
async fn shutdown_flushes_queued_execution_records() {
    let app = TestApp::spawn().await;
    let s = app.deploy("flush", "1").await;
    let id: picloud_shared::ScriptId = s["id"].as_str().unwrap().parse().unwrap();
    for _ in 0..20 {
        assert_eq!(app.invoke(&id.to_string()).await.status, 200);
    }
    let (stopped, dir) = app.stop_keeping_data().await;
    stopped.unwrap();
    let app_dir = dir.path().to_path_buf();
    let db = picloud_manager_core::Db::connect(&picloud_manager_core::DbTarget::Sqlite(
        app_dir.join("picloud.db"),
    ))
    .await
    .unwrap();
    let picloud_manager_core::Db::Sqlite(pool, _) = &db else {
        unreachable!("an SQLite file")
    };
    let kept: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM executions WHERE script_id = ?")
        .bind(id.0)
        .fetch_one(pool)
        .await
        .unwrap();
    assert_eq!(kept, 20);
}

#[tokio::test]
#[cfg_attr(
    not(picloud_postgres),
    ignore = "no PostgreSQL here: set PICLOUD_TEST_DATABASE_URL or install PostgreSQL (README)"
)]
async fn the_same_flow_on_postgres() {
    let app = TestApp::spawn_postgres("the_same_flow_on_postgres").await;
    let s = app
        .deploy(
            "pg",
            "log::warn(\"w\"); #{statusCode: 202, body: ctx.request.query}",
        )
        .await;
    let id = s["id"].as_str().unwrap();
    let a = app
        .send(
            Method::GET,
            &format!("/api/v1/execute/{id}?a=b"),
            None,
            None,
        )
        .await;
    assert_eq!((a.status.as_u16(), a.json()), (202, json!({"a": "b"})));
    let up = app
        .admin(
            Method::PUT,
            &format!("/scripts/{id}"),
            Some(json!({"source": "\"v2\""})),
        )
        .await
        .json();
    assert_eq!(up["version"], 2);
    assert_eq!(app.invoke(id).await.text, "v2");
    let items = app.executions(id, 2).await;
    assert_eq!(items[1]["status_code"], 202);
    assert_eq!(items[1]["logs"][0]["level"], "warn");
    app.admin(
        Method::POST,
        "/scripts",
        Some(json!({"name": "pg", "source": "1"})),
    )
    .await
    .error(409, "conflict");
}

#[tokio::test]
async fn the_readme_walkthrough_works_as_written() {
    // The script from README.md's curl walkthrough, verbatim.
    let app = TestApp::spawn().await;
    let s = app
        .deploy(
            "hello",
            "let name = ctx.request.query.name ?? \"world\";\nlog::info(\"greeting\", #{ name: name });\n#{ hello: name }",
        )
        .await;
    let id = s["id"].as_str().unwrap();
    let a = app
        .send(
            Method::GET,
            &format!("/api/v1/execute/{id}?name=pi"),
            None,
            None,
        )
        .await;
    assert_eq!(a.json(), json!({"hello": "pi"}));
    assert_eq!(app.invoke(id).await.json(), json!({"hello": "world"}));
    let items = app.executions(id, 2).await;
    assert_eq!(items[1]["logs"][0]["data"], json!({"name": "pi"}));
}

/// `GET /` where no route is: a browser is sent to the dashboard, an API
/// client told where to look; a user's own `/` route, even one answering
/// 404, is never shadowed; where the dashboard is not served
/// (`PICLOUD_ADMIN_HOST` elsewhere), `/` is the plain 404.
#[tokio::test]
async fn the_root_points_to_the_dashboard_until_a_route_takes_it() {
    let browser = |t: &TestApp, host: Option<&str>| {
        let mut r = t
            .client
            .get(t.url("/"))
            .header("accept", "text/html,application/xhtml+xml,*/*;q=0.8");
        if let Some(host) = host {
            r = r.header("host", host);
        }
        r.send()
    };
    let t = TestApp::spawn().await;
    let resp = browser(&t, None).await.unwrap();
    assert_eq!(resp.status(), 303);
    assert_eq!(resp.headers()["location"], "/admin/");
    let resp = t.client.get(t.url("/")).send().await.unwrap();
    assert_eq!(resp.status(), 404);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"]["code"], "not_found");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("/admin/") && message.contains("/api/v1/openapi.json"),
        "{message}"
    );
    // Other paths are the ordinary 404.
    let resp = t
        .client
        .get(t.url("/nothing"))
        .header("accept", "text/html")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 404);

    // A route at `/` is the user's, whatever it answers.
    t.deploy_at("root", "#{ statusCode: 404, body: \"mine\" }", "/")
        .await;
    let resp = browser(&t, None).await.unwrap();
    assert_eq!(resp.status(), 404);
    assert_eq!(resp.text().await.unwrap(), "mine");

    let t = TestApp::spawn_with(|a| {
        a.admin_host = Some(picloud_shared::web::AdminHost::parse("admin.example.test").unwrap())
    })
    .await;
    let resp = browser(&t, Some("admin.example.test")).await.unwrap();
    assert_eq!(resp.status(), 303);
    let resp = browser(&t, Some("elsewhere.example.test")).await.unwrap();
    assert_eq!(resp.status(), 404);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"]["message"], "no route matches GET /");
}
