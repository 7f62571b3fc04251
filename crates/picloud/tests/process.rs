//! The `picloud` binary as a process: settings, `admin create-user`,
//! signals, and the idle promise.

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

#[path = "support/admin.rs"]
mod admin;
#[path = "support/os.rs"]
mod os;
#[path = "common/wait.rs"]
mod wait;
use admin::{create, login};
use os::{clean_command, context_switches, free_port};
use wait::within_blocking;

fn picloud() -> Command {
    clean_command(env!("CARGO_BIN_EXE_picloud"))
}

#[test]
fn a_bad_setting_stops_start_up_with_one_line_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        ("PICLOUD_BIND", "not-an-address"),
        ("PICLOUD_MAX_CONCURRENT_EXECUTIONS", "0"),
        ("PICLOUD_SESSION_TTL_HOURS", "soon"),
        ("PICLOUD_MAX_BODY_BYTES", "-1"),
        ("PICLOUD_SANDBOX_MAX_TIMEOUT_MS", "999999999"),
        ("PICLOUD_SANDBOX_MAX_ARRAY_SIZE", "10000001"),
        ("PICLOUD_SANDBOX_MAX_CALL_LEVELS", "129"),
        ("PICLOUD_PUBLIC_BASE_URL", "ftp://x"),
        ("PICLOUD_LOG", "[[nope"),
        ("DATABASE_URL", "mysql://x"),
        ("PICLOUD_ADMIN_USER", "admin"),
    ];
    for (var, value) in cases {
        let out = picloud()
            .env(var, value)
            .env("PICLOUD_DATA_DIR", dir.path())
            .env(
                "PICLOUD_BIND",
                if var == "PICLOUD_BIND" {
                    value.to_owned()
                } else {
                    format!("127.0.0.1:{}", free_port())
                },
            )
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{var}={value} started");
        let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
        assert_eq!(lines.len(), 1, "{var}={value}: {stderr}");
        assert!(lines[0].contains(var), "{var}={value}: {stderr}");
    }
}

/// Starts the server and waits for /healthz; returns the child and the time it took.
// The child is returned to the caller, which waits for it.
#[allow(clippy::zombie_processes)]
fn start(
    data_dir: &std::path::Path,
    extra: &[(&str, &str)],
) -> (std::process::Child, u16, Duration) {
    let port = free_port();
    let mut cmd = picloud();
    cmd.env("PICLOUD_DATA_DIR", data_dir)
        .env("PICLOUD_BIND", format!("127.0.0.1:{port}"))
        .env("PICLOUD_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    for (k, v) in extra {
        cmd.env(k, v);
    }
    let started = Instant::now();
    let child = cmd.spawn().unwrap();
    within_blocking(
        Duration::from_secs(30),
        "the server becomes healthy",
        || healthy(port).then_some(()),
    );
    (child, port, started.elapsed())
}

/// Whether the server on `port` answers `/healthz`.
fn healthy(port: u16) -> bool {
    use std::io::Read;
    let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    s.write_all(b"GET /healthz HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n")
        .unwrap();
    let mut buf = String::new();
    let _ = s.read_to_string(&mut buf);
    buf.ends_with("ok")
}

fn sigterm(child: &std::process::Child) {
    let status = Command::new("kill")
        .arg("-TERM")
        .arg(child.id().to_string())
        .status()
        .unwrap();
    assert!(status.success());
}

#[test]
fn sigterm_stops_gracefully_with_exit_0() {
    let dir = tempfile::tempdir().unwrap();
    let (mut child, _, _) = start(dir.path(), &[]);
    sigterm(&child);
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(0));
}

#[test]
#[cfg(target_os = "linux")]
fn an_idle_server_makes_no_wake_ups() {
    let dir = tempfile::tempdir().unwrap();
    let (mut child, _, _) = start(dir.path(), &[]);
    // Let start-up work (the health check's connection) settle.
    std::thread::sleep(Duration::from_millis(500));
    let before = context_switches(child.id());
    std::thread::sleep(Duration::from_secs(3));
    let after = context_switches(child.id());
    sigterm(&child);
    child.wait().unwrap();
    assert_eq!(
        after - before,
        0,
        "an idle server woke up {} times in 3 s",
        after - before
    );
}

#[test]
fn admin_create_user_reads_the_password_from_stdin() {
    let dir = tempfile::tempdir().unwrap();
    let create = |name: &str, password: &str| {
        let mut child = picloud()
            .args([
                "admin",
                "create-user",
                "--username",
                name,
                "--password-stdin",
            ])
            .env("PICLOUD_DATA_DIR", dir.path())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(format!("{password}\n").as_bytes())
            .unwrap();
        child.wait_with_output().unwrap()
    };
    let out = create("ops", "a long enough password");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("created admin user ops"));
    // The same name again, and a short password, are refused in one line.
    let out = create("ops", "a long enough password");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("taken"));
    let out = create("other", "short");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("password"));

    // The user can sign in to a server on that data dir.
    let (mut child, port, _) = start(dir.path(), &[]);
    let body = r#"{"username":"ops","password":"a long enough password"}"#;
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    write!(
        s,
        "POST /api/v1/admin/auth/login HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut resp = String::new();
    use std::io::Read;
    s.read_to_string(&mut resp).unwrap();
    sigterm(&child);
    child.wait().unwrap();
    assert!(resp.starts_with("HTTP/1.1 200"), "{resp}");
    assert!(resp.contains("\"token\""), "{resp}");
}

/// A server on loopback that answers `reply` to every request, and the
/// number of connections it accepted.
fn counting_server(reply: &'static str) -> (u16, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    use std::io::Read;
    use std::sync::atomic::{AtomicUsize, Ordering};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let accepted = std::sync::Arc::new(AtomicUsize::new(0));
    let count = accepted.clone();
    std::thread::spawn(move || {
        for mut conn in listener.incoming().flatten() {
            count.fetch_add(1, Ordering::SeqCst);
            let mut buf = [0u8; 4096];
            let _ = conn.read(&mut buf);
            let _ = write!(
                conn,
                "HTTP/1.1 200 OK\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{reply}",
                reply.len()
            );
        }
    });
    (port, accepted)
}

/// `HTTP_PROXY` and its kin in the server's environment do not send
/// scripts' calls through a proxy, which would resolve names beyond the
/// SSRF guard (docs/http.md).
#[tokio::test]
async fn scripts_calls_ignore_proxies_in_the_environment() {
    use std::sync::atomic::Ordering;
    let (upstream, served) = counting_server("direct");
    let (proxy_port, proxied) = counting_server("proxied");
    let proxy = format!("http://127.0.0.1:{proxy_port}");
    let dir = tempfile::tempdir().unwrap();
    let (mut child, port, _) = start(
        dir.path(),
        &[
            ("PICLOUD_HTTP_ALLOW", "127.0.0.1"),
            ("PICLOUD_ADMIN_USER", "admin"),
            ("PICLOUD_ADMIN_PASSWORD", "a password for the proxy test"),
            ("HTTP_PROXY", &proxy),
            ("http_proxy", &proxy),
            ("HTTPS_PROXY", &proxy),
            ("ALL_PROXY", &proxy),
        ],
    );
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::builder().no_proxy().build().unwrap();
    let token = login(&client, &base, "admin", "a password for the proxy test").await;
    let script = create(
        &client,
        &base,
        &token,
        "/scripts",
        serde_json::json!({
            "name": "call",
            "source": format!(r#"http::get("http://127.0.0.1:{upstream}/").body"#),
        }),
    )
    .await;
    let id = script["id"].as_str().expect("a script id");
    let answer = client
        .post(format!("{base}/api/v1/execute/{id}"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    sigterm(&child);
    child.wait().unwrap();
    assert_eq!(answer, "direct");
    assert_eq!(served.load(Ordering::SeqCst), 1);
    assert_eq!(proxied.load(Ordering::SeqCst), 0);
}

/// A first start listens while it hashes the first admin's password: a
/// server stopped as soon as it is healthy still stores that admin before
/// it exits, and the next start (without the variables) signs it in.
#[tokio::test]
async fn a_first_start_stopped_at_once_keeps_its_first_admin() {
    let dir = tempfile::tempdir().unwrap();
    let password = "a password for the first start";
    let port = free_port();
    let mut child = picloud()
        .env("PICLOUD_DATA_DIR", dir.path())
        .env("PICLOUD_BIND", format!("127.0.0.1:{port}"))
        .env("PICLOUD_LOG", "warn")
        .env("PICLOUD_ADMIN_USER", "first")
        .env("PICLOUD_ADMIN_PASSWORD", password)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Stopped as soon as it answers (polled every millisecond, not as
    // `start` does): most often while the hash is still being made.
    let began = Instant::now();
    while !healthy(port) {
        assert!(began.elapsed() < Duration::from_secs(30), "never healthy");
        std::thread::sleep(Duration::from_millis(1));
    }
    sigterm(&child);
    assert_eq!(child.wait().unwrap().code(), Some(0));

    let (mut child, port, _) = start(dir.path(), &[]);
    let client = reqwest::Client::builder().no_proxy().build().unwrap();
    let answer = client
        .post(format!("http://127.0.0.1:{port}/api/v1/admin/auth/login"))
        .json(&serde_json::json!({"username": "first", "password": password}))
        .send()
        .await
        .unwrap();
    let status = answer.status();
    let text = answer.text().await.unwrap();
    sigterm(&child);
    child.wait().unwrap();
    assert_eq!(status, 200, "the first admin was lost: {text}");
}
