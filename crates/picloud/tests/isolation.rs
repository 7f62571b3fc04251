//! Script content never acts with a signed-in admin's rights
//! (docs/security.md, "Script content and the admin session"): scripts
//! never see the session, cannot set it, and their answers are sandboxed
//! wherever the dashboard is served; with `PICLOUD_ADMIN_HOST` the dashboard
//! and the cookie session live on that host alone. The browser's side of
//! the same promise is `dashboard/e2e/isolation.e2e.mjs`.

#[macro_use]
mod common;

use common::{Answer, TestApp, answer};
use picloud_shared::web::{AdminHost, SCRIPT_SANDBOX_CSP, SESSION_COOKIE};
use reqwest::Method;
use reqwest::header::HeaderMap;
use serde_json::json;

/// A script whose answer sets the headers given as JSON in `?h=`.
const SETS_HEADERS: &str = r#"#{ statusCode: 200,
    headers: json::parse(ctx.request.query.h ?? "{}"),
    body: "<!doctype html><p>hello" }"#;

/// A script that answers with the request headers it was given.
const SEES_HEADERS: &str = "ctx.request.headers";

/// A request with extra headers (a `host` among them, maybe).
async fn call(app: &TestApp, method: Method, path: &str, headers: &[(&str, &str)]) -> Answer {
    let mut req = app.client.request(method, app.url(path));
    for (name, value) in headers {
        req = req.header(*name, *value);
    }
    answer(req.send().await.unwrap()).await
}

fn csp(headers: &HeaderMap) -> Vec<String> {
    headers
        .get_all("content-security-policy")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect()
}

fn sandboxed(headers: &HeaderMap) -> bool {
    csp(headers).iter().any(|p| p == SCRIPT_SANDBOX_CSP)
}

/// Deploys `source` as `name` in `default` with a route at `/name`.
async fn deploy_routed(app: &TestApp, name: &str, source: &str) -> String {
    app.deploy_at(name, source, &format!("/{name}")).await
}

/// The session cookie a login on `host` set, if it set one.
async fn login_cookie(app: &TestApp, host: &str) -> Option<String> {
    let a = answer(
        app.client
            .post(app.url("/api/v1/admin/auth/login"))
            .header("host", host)
            .json(&json!({"username": common::ADMIN, "password": common::PASSWORD}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(a.status, 200, "{}", a.text);
    a.headers
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .find(|c| c.starts_with(&format!("{SESSION_COOKIE}=")))
        .map(|c| c.split(';').next().unwrap().to_owned())
}

#[tokio::test]
async fn by_default_every_script_answer_is_sandboxed() {
    let app = TestApp::spawn().await;
    let id = deploy_routed(&app, "page", SETS_HEADERS).await;
    // The script's own policy (even one that allows the same origin) stays,
    // and PiCloud's sandbox is added beside it: browsers enforce both.
    let own = r#"{"content-security-policy": "sandbox allow-same-origin allow-scripts", "clear-site-data": "\"*\""}"#;
    let q = format!("?h={}", urlencode(own));
    for path in [format!("/page{q}"), format!("/api/v1/execute/{id}{q}")] {
        for host in ["localhost", "admin.example.com", "127.0.0.1"] {
            let a = call(&app, Method::GET, &path, &[("host", host)]).await;
            assert_eq!(a.status, 200, "{path} on {host}: {}", a.text);
            assert!(sandboxed(&a.headers), "{path} on {host}: {:?}", a.headers);
            assert!(
                csp(&a.headers)
                    .iter()
                    .any(|p| p == "sandbox allow-same-origin allow-scripts"),
                "{:?}",
                a.headers
            );
            // It cannot wipe the dashboard's cookies and storage either.
            assert!(
                a.headers.get("clear-site-data").is_none(),
                "{:?}",
                a.headers
            );
        }
    }
    // Failures and errors of scripts are sandboxed too (they are the
    // script's answer); the dashboard itself is not.
    let failing = app.deploy("fails", r#"throw "no""#).await;
    let a = app.invoke(failing["id"].as_str().unwrap()).await;
    assert_eq!(a.status, 500);
    assert!(sandboxed(&a.headers), "{:?}", a.headers);
    let a = call(&app, Method::GET, "/admin/", &[]).await;
    assert_eq!(a.status, 200);
    assert!(!sandboxed(&a.headers), "{:?}", a.headers);
}

#[tokio::test]
async fn scripts_cannot_set_replace_or_clear_the_session_cookie() {
    let app = TestApp::spawn().await;
    deploy_routed(&app, "cookies", SETS_HEADERS).await;
    for cookie in [
        "picloud_session=pcs_planted; Path=/",
        "picloud_session=; Max-Age=0; Path=/",
        "PICLOUD_SESSION=x; Path=/api/v1/admin",
        " picloud_session =x; Domain=example.com",
    ] {
        let h = json!({ "set-cookie": cookie }).to_string();
        let a = call(
            &app,
            Method::GET,
            &format!("/cookies?h={}", urlencode(&h)),
            &[],
        )
        .await;
        assert_eq!(a.status, 200, "{}", a.text);
        assert!(
            a.headers.get("set-cookie").is_none(),
            "{cookie}: {:?}",
            a.headers
        );
    }
    // The script's own cookies are its business.
    let h = json!({ "set-cookie": "theme=dark; Path=/" }).to_string();
    let a = call(
        &app,
        Method::GET,
        &format!("/cookies?h={}", urlencode(&h)),
        &[],
    )
    .await;
    assert_eq!(a.headers["set-cookie"], "theme=dark; Path=/");
}

#[tokio::test]
async fn scripts_never_see_the_session_cookie_or_a_picloud_token() {
    let app = TestApp::spawn().await;
    let id = deploy_routed(&app, "headers", SEES_HEADERS).await;
    let cookie = login_cookie(&app, "localhost")
        .await
        .expect("a session cookie");
    let session = cookie.split_once('=').unwrap().1.to_owned();
    let api_token = app
        .admin(Method::POST, "/tokens", Some(json!({"name": "ci"})))
        .await
        .json()["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let with_cookie = format!("theme=dark; {cookie}; lang=en");
    for path in ["/headers".to_owned(), format!("/api/v1/execute/{id}")] {
        for auth in [format!("Bearer {session}"), format!("Bearer {api_token}")] {
            let a = call(
                &app,
                Method::GET,
                &path,
                &[("cookie", &with_cookie), ("authorization", &auth)],
            )
            .await;
            assert_eq!(a.status, 200, "{}", a.text);
            let seen = a.json();
            assert_eq!(seen["cookie"], "theme=dark; lang=en", "{seen}");
            assert!(seen.get("authorization").is_none(), "{seen}");
            assert!(!a.text.contains(&session) && !a.text.contains(&api_token));
        }
        // Only the session cookie: no cookie header at all.
        let a = call(&app, Method::GET, &path, &[("cookie", &cookie)]).await;
        assert!(a.json().get("cookie").is_none(), "{}", a.text);
        // Other credentials are the script's to read.
        let a = call(
            &app,
            Method::GET,
            &path,
            &[("authorization", "Bearer sk_live_1")],
        )
        .await;
        assert_eq!(a.json()["authorization"], "Bearer sk_live_1");
    }
    // The session still works where it belongs.
    let a = call(
        &app,
        Method::GET,
        "/api/v1/admin/auth/me",
        &[("cookie", &cookie)],
    )
    .await;
    assert_eq!(a.status, 200, "{}", a.text);
}

async fn admin_host_keeps_the_dashboard_and_the_session_apart(app: TestApp) {
    const ADMIN_HOST: &str = "admin.example.test";
    const APPS_HOST: &str = "apps.example.test";
    let id = deploy_routed(&app, "cats", SETS_HEADERS).await;

    // The dashboard answers on its host only.
    let a = call(&app, Method::GET, "/admin/", &[("host", ADMIN_HOST)]).await;
    assert_eq!(a.status, 200);
    assert!(a.text.contains("<html"), "{}", a.text);
    let a = call(&app, Method::GET, "/admin/", &[("host", APPS_HOST)]).await;
    a.error(404, "not_found");
    let a = call(
        &app,
        Method::GET,
        "/admin/_app/x.js",
        &[("host", APPS_HOST)],
    )
    .await;
    a.error(404, "not_found");

    // User routes never answer on the dashboard's host; elsewhere scripts
    // keep their own origin (no sandbox).
    let a = call(
        &app,
        Method::GET,
        "/cats",
        &[("host", "Admin.Example.Test:8080")],
    )
    .await;
    a.error(404, "not_found");
    let a = call(&app, Method::GET, "/cats", &[("host", APPS_HOST)]).await;
    assert_eq!(a.status, 200, "{}", a.text);
    assert!(!sandboxed(&a.headers), "{:?}", a.headers);
    // The test runner's path on the dashboard's host is sandboxed.
    let exec = format!("/api/v1/execute/{id}");
    let a = call(&app, Method::GET, &exec, &[("host", ADMIN_HOST)]).await;
    assert_eq!(a.status, 200);
    assert!(sandboxed(&a.headers), "{:?}", a.headers);
    let a = call(&app, Method::GET, &exec, &[("host", APPS_HOST)]).await;
    assert!(!sandboxed(&a.headers), "{:?}", a.headers);

    // The cookie is set and accepted on the dashboard's host only.
    assert_eq!(login_cookie(&app, APPS_HOST).await, None);
    let cookie = login_cookie(&app, ADMIN_HOST).await.expect("a cookie");
    let me = "/api/v1/admin/auth/me";
    let a = call(
        &app,
        Method::GET,
        me,
        &[("host", ADMIN_HOST), ("cookie", &cookie)],
    )
    .await;
    assert_eq!(a.status, 200, "{}", a.text);
    let a = call(
        &app,
        Method::GET,
        me,
        &[("host", APPS_HOST), ("cookie", &cookie)],
    )
    .await;
    a.error(401, "unauthorized");
    // A token works from anywhere (the CLI, CI).
    let bearer = format!("Bearer {}", app.token);
    let a = call(
        &app,
        Method::GET,
        me,
        &[("host", APPS_HOST), ("authorization", &bearer)],
    )
    .await;
    assert_eq!(a.status, 200, "{}", a.text);
    // A cookie write needs the dashboard's own origin.
    let create = |origin: &'static str, name: &'static str| {
        let cookie = cookie.clone();
        let app = &app;
        async move {
            answer(
                app.client
                    .post(app.url("/api/v1/admin/apps"))
                    .header("host", ADMIN_HOST)
                    .header("origin", origin)
                    .header("cookie", cookie)
                    .json(&json!({"name": name}))
                    .send()
                    .await
                    .unwrap(),
            )
            .await
        }
    };
    create("http://apps.example.test", "from-apps")
        .await
        .error(403, "forbidden");
    create("null", "from-sandbox").await.error(403, "forbidden");
    let a = create("http://admin.example.test", "from-admin").await;
    assert_eq!(a.status, 201, "{}", a.text);

    // No app can claim the dashboard's host; nothing is stored.
    let a = app
        .admin(Method::POST, "/apps", Some(json!({"name": "shop"})))
        .await;
    assert_eq!(a.status, 201, "{}", a.text);
    for pattern in [
        "admin.example.test",
        "ADMIN.example.test.",
        " admin.example.test ",
    ] {
        let a = app
            .admin(
                Method::POST,
                "/apps/shop/domains",
                Some(json!({"pattern": pattern})),
            )
            .await;
        let e = a.error(400, "bad_request");
        assert!(
            e["error"]["message"]
                .as_str()
                .unwrap()
                .contains("PICLOUD_ADMIN_HOST"),
            "{e}"
        );
    }
    let a = app.admin(Method::GET, "/apps/shop/domains", None).await;
    assert_eq!(a.json()["items"], json!([]));
    // A wildcard that covers it may be claimed, but the dashboard's host
    // stays the dashboard's: the app answers on its other hosts only.
    let a = app
        .admin(
            Method::POST,
            "/apps/shop/domains",
            Some(json!({"pattern": "{who}.example.test"})),
        )
        .await;
    assert_eq!(a.status, 201, "{}", a.text);
    let shop = app
        .deploy_with(json!({"name": "shop-page", "app": "shop", "source": "`shop`"}))
        .await;
    let a = app
        .admin(
            Method::POST,
            &format!("/scripts/{}/routes", shop["id"].as_str().unwrap()),
            Some(json!({"path": "/shop-page"})),
        )
        .await;
    assert_eq!(a.status, 201, "{}", a.text);
    let a = call(&app, Method::GET, "/shop-page", &[("host", APPS_HOST)]).await;
    assert_eq!((a.status.as_u16(), a.text.as_str()), (200, "shop"));
    let a = call(&app, Method::GET, "/shop-page", &[("host", ADMIN_HOST)]).await;
    a.error(404, "not_found");
}

mod admin_host {
    use super::*;

    fn configure(args: &mut picloud::config::ServeArgs) {
        args.admin_host = Some(AdminHost::parse("admin.example.test").unwrap());
        // The scripts' public URL is not an origin the dashboard trusts.
        args.public_base_url = Some("http://apps.example.test".into());
    }

    #[tokio::test]
    async fn sqlite() {
        super::admin_host_keeps_the_dashboard_and_the_session_apart(
            TestApp::spawn_with(configure).await,
        )
        .await;
    }

    #[tokio::test]
    #[cfg_attr(
        not(picloud_postgres),
        ignore = "no PostgreSQL here: set PICLOUD_TEST_DATABASE_URL or install PostgreSQL (README)"
    )]
    async fn postgres() {
        let app = TestApp::spawn_postgres_with("isolation::admin_host::postgres", configure).await;
        super::admin_host_keeps_the_dashboard_and_the_session_apart(app).await;
    }
}

/// Percent-encodes a query value.
fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}
