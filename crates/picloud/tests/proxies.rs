//! Behind a reverse proxy (`PICLOUD_TRUSTED_PROXIES`): scripts and the
//! login throttle see the real client, and only headers from trusted
//! proxies are believed; `/metrics` is not served to the Internet.

#[macro_use]
mod common;

use common::{Answer, TestApp, answer};
use picloud_shared::web::TrustedProxies;
use serde_json::json;

const TOKEN: &str = "metrics-token-0123456789";

fn behind_caddy(args: &mut picloud::config::ServeArgs) {
    args.trusted_proxies = Some(TrustedProxies::parse("127.0.0.1, ::1").unwrap());
}

/// A GET with extra headers.
async fn get(app: &TestApp, path: &str, headers: &[(&str, &str)]) -> Answer {
    let mut req = app.client.get(app.url(path));
    for (name, value) in headers {
        req = req.header(*name, *value);
    }
    answer(req.send().await.unwrap()).await
}

async fn login_from(app: &TestApp, client: &str, password: &str) -> Answer {
    answer(
        app.client
            .post(app.url("/api/v1/admin/auth/login"))
            .header("x-forwarded-for", client)
            .json(&json!({"username": common::ADMIN, "password": password}))
            .send()
            .await
            .unwrap(),
    )
    .await
}

async fn ip_script(app: &TestApp) -> String {
    let id = app.deploy_id("ip", "ctx.request.ip").await;
    format!("/api/v1/execute/{id}")
}

#[tokio::test]
async fn forwarding_headers_are_ignored_unless_a_proxy_is_trusted() {
    let app = TestApp::spawn().await;
    let path = ip_script(&app).await;
    assert_eq!(get(&app, &path, &[]).await.text, "127.0.0.1");
    // Any client could send these: they change nothing.
    let a = get(
        &app,
        &path,
        &[
            ("x-forwarded-for", "203.0.113.7"),
            ("forwarded", "for=203.0.113.8"),
        ],
    )
    .await;
    assert_eq!(a.text, "127.0.0.1");
}

#[tokio::test]
async fn behind_a_trusted_proxy_scripts_see_the_client() {
    let app = TestApp::spawn_with(behind_caddy).await;
    let path = ip_script(&app).await;
    for (xff, client) in [
        ("203.0.113.7", "203.0.113.7"),
        // What the client itself sent is left of what the proxy added.
        ("6.6.6.6, 203.0.113.7", "203.0.113.7"),
        ("2001:db8::7", "2001:db8::7"),
    ] {
        let a = get(&app, &path, &[("x-forwarded-for", xff)]).await;
        assert_eq!(a.text, client, "{xff}");
    }
    let a = get(&app, &path, &[("forwarded", "for=\"[2001:db8::9]:443\"")]).await;
    assert_eq!(a.text, "2001:db8::9");
    // Through a user route too.
    app.deploy_at("whoami", "ctx.request.ip", "/whoami").await;
    let a = get(&app, "/whoami", &[("x-forwarded-for", "198.51.100.4")]).await;
    assert_eq!(a.text, "198.51.100.4");
}

#[tokio::test]
async fn behind_a_trusted_proxy_one_client_s_failures_do_not_lock_out_another() {
    let app = TestApp::spawn_with(behind_caddy).await;
    let attacker = "203.0.113.66";
    for _ in 0..6 {
        login_from(&app, attacker, "wrong password")
            .await
            .error(401, "invalid_credentials");
    }
    // Refused for a second now (docs/security.md), even with the right
    // password, and claiming another address in the header does not help:
    // the proxy appends the one it saw.
    let a = login_from(&app, attacker, common::PASSWORD).await;
    a.error(429, "too_many_attempts");
    assert!(a.headers.get("retry-after").is_some());
    login_from(&app, &format!("198.51.100.1, {attacker}"), common::PASSWORD)
        .await
        .error(429, "too_many_attempts");
    // The real admin, from another address, signs in.
    let a = login_from(&app, "198.51.100.20", common::PASSWORD).await;
    assert_eq!(a.status, 200, "{}", a.text);
}

#[tokio::test]
async fn metrics_are_served_to_this_machine_only_unless_a_token_is_given() {
    let app = TestApp::spawn().await;
    assert_eq!(get(&app, "/metrics", &[]).await.status, 200);
    // Forwarded by a proxy (whatever the address): not this machine's.
    for (h, v) in [
        ("x-forwarded-for", "127.0.0.1"),
        ("forwarded", "for=127.0.0.1"),
        ("x-real-ip", "127.0.0.1"),
    ] {
        get(&app, "/metrics", &[(h, v)])
            .await
            .error(401, "unauthorized");
    }

    // With a token: it opens /metrics from anywhere; a wrong one does not.
    let app = TestApp::spawn_with(|a| {
        behind_caddy(a);
        a.metrics_token = Some(TOKEN.into());
    })
    .await;
    let bearer = format!("Bearer {TOKEN}");
    let through_caddy = ("x-forwarded-for", "203.0.113.7");
    let a = get(
        &app,
        "/metrics",
        &[through_caddy, ("authorization", &bearer)],
    )
    .await;
    assert_eq!(a.status, 200, "{}", a.text);
    assert!(a.text.contains("picloud_http_requests_total"));
    for wrong in ["Bearer metrics-token-0123456788", "Bearer ", TOKEN] {
        get(&app, "/metrics", &[through_caddy, ("authorization", wrong)])
            .await
            .error(401, "unauthorized");
    }
    get(&app, "/metrics", &[through_caddy])
        .await
        .error(401, "unauthorized");
    // An admin's session is not the metrics token.
    let admin = format!("Bearer {}", app.token);
    get(
        &app,
        "/metrics",
        &[through_caddy, ("authorization", &admin)],
    )
    .await
    .error(401, "unauthorized");
}
