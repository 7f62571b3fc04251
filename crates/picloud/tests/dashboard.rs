//! The embedded dashboard at /admin: the single-page app's fallback, cache
//! headers, ETags, and a Content-Security-Policy that allows exactly the
//! page's own inline scripts.
#![cfg(feature = "dashboard")]

mod common;

use base64::Engine as _;
use common::TestApp;
use reqwest::header;
use sha2::{Digest, Sha256};

async fn get(t: &TestApp, path: &str) -> reqwest::Response {
    t.client.get(t.url(path)).send().await.unwrap()
}

#[tokio::test]
async fn the_dashboard_is_served_from_the_binary() {
    let t = TestApp::spawn().await;

    let r = get(&t, "/admin").await;
    assert_eq!(r.status(), 308);
    assert_eq!(r.headers()[header::LOCATION], "/admin/");

    // The app's page, for its root and for any of its own paths.
    let index = get(&t, "/admin/").await;
    assert_eq!(index.status(), 200);
    let h = index.headers().clone();
    assert!(
        h[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    assert_eq!(h[header::CACHE_CONTROL], "no-cache");
    assert_eq!(h[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
    assert_eq!(h[header::X_FRAME_OPTIONS], "DENY");
    let html = index.text().await.unwrap();
    assert!(html.contains("/admin/_app/immutable/"), "{html}");
    for deep in [
        "/admin/login",
        "/admin/apps/shop",
        "/admin/apps/shop/scripts/x",
    ] {
        let r = get(&t, deep).await;
        assert_eq!(r.status(), 200, "{deep}");
        assert_eq!(r.text().await.unwrap(), html, "{deep} is the app's page");
    }

    // The policy allows scripts from this origin and the page's inline
    // scripts by hash, and nothing inline otherwise.
    let csp = h[header::CONTENT_SECURITY_POLICY]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(csp.contains("default-src 'none'"), "{csp}");
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    // Nothing inline but what is hashed, no data: URLs: the editor's
    // styles are constructed stylesheets, its icons CSS.
    assert!(!csp.contains("unsafe-inline"), "{csp}");
    assert!(!csp.contains("data:"), "{csp}");
    let meta = picloud::dashboard::meta_csp(&html).expect("the build writes its policy");
    assert_eq!(csp, format!("{meta}; frame-ancestors 'none'"));
    assert!(csp.contains("object-src 'none'"), "{csp}");
    let script_src = csp
        .split(';')
        .map(str::trim)
        .find(|d| d.starts_with("script-src"))
        .unwrap();
    assert!(!script_src.contains("unsafe-inline"), "{csp}");
    let inline = inline_scripts(&html);
    assert!(!inline.is_empty());
    for script in inline {
        let hash = base64::engine::general_purpose::STANDARD.encode(Sha256::digest(script));
        assert!(script_src.contains(&format!("'sha256-{hash}'")), "{csp}");
    }

    // A hashed asset: its type, cached for a year; revalidation by ETag.
    let start = html.find("/admin/_app/immutable/").unwrap();
    let end = start + html[start..].find('"').unwrap();
    let asset = &html[start..end];
    let r = get(&t, asset).await;
    assert_eq!(r.status(), 200, "{asset}");
    assert_eq!(
        r.headers()[header::CACHE_CONTROL],
        "public, max-age=31536000, immutable"
    );
    let ty = r.headers()[header::CONTENT_TYPE]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        ty.contains("javascript") || ty.contains("css"),
        "{asset}: {ty}"
    );
    let etag = r.headers()[header::ETAG].clone();
    let again = t
        .client
        .get(t.url(asset))
        .header(header::IF_NONE_MATCH, etag)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 304);
    assert!(again.bytes().await.unwrap().is_empty());

    // A missing asset is 404, not the app's page.
    let r = get(&t, "/admin/_app/immutable/nope.js").await;
    assert_eq!(r.status(), 404);
}

/// The contents of the `<script>` elements without a `src`.
fn inline_scripts(html: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = html;
    while let Some(start) = rest.find("<script") {
        let after = &rest[start..];
        let Some(open_end) = after.find('>') else {
            break;
        };
        let tag = &after[..open_end];
        let body = &after[open_end + 1..];
        let Some(close) = body.find("</script>") else {
            break;
        };
        if !tag.contains(" src=") {
            out.push(&body[..close]);
        }
        rest = &body[close + "</script>".len()..];
    }
    out
}

#[test]
fn inline_scripts_are_found_and_external_ones_skipped() {
    let html = r#"<head><script src="/a.js"></script><script type="module">x()</script></head>
                  <body><script>
  y();
</script></body>"#;
    assert_eq!(inline_scripts(html), vec!["x()", "\n  y();\n"]);
}
