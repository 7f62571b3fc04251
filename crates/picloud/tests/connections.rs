//! Slow, idle and greedy clients cannot hold the server (src/conn.rs):
//! header, body and keep-alive timeouts, a bound on open connections, and
//! a 413 that a client writing its whole body before reading can read.
//! Raw sockets, so the client does exactly what a hostile one would.

#[macro_use]
mod common;

use std::time::{Duration, Instant};

use common::{TestApp, scrape, value, within};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// A parsed answer read off a raw socket.
#[derive(Debug)]
struct Raw {
    status: u16,
    head: String,
    body: String,
}

impl Raw {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("{e}: {self:?}"))
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.head.lines().find_map(|l| {
            let (n, v) = l.split_once(':')?;
            n.eq_ignore_ascii_case(name).then(|| v.trim())
        })
    }
}

/// Reads one answer: the head, then `content-length` bytes of body. A
/// server that never answers fails the test rather than hanging it.
async fn read_answer(s: &mut TcpStream) -> Raw {
    tokio::time::timeout(Duration::from_secs(20), read_answer_unbounded(s))
        .await
        .expect("an answer within 20 s")
}

async fn read_answer_unbounded(s: &mut TcpStream) -> Raw {
    let mut bytes = Vec::new();
    let mut chunk = [0u8; 8192];
    let head_end = loop {
        if let Some(i) = bytes.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        let n = s.read(&mut chunk).await.expect("the answer is readable");
        assert!(
            n > 0,
            "closed before an answer: {:?}",
            String::from_utf8_lossy(&bytes)
        );
        bytes.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&bytes[..head_end]).into_owned();
    let mut raw = Raw {
        status: head[9..12].parse().unwrap(),
        head,
        body: String::new(),
    };
    let len: usize = raw
        .header("content-length")
        .map_or(0, |v| v.parse().unwrap());
    while bytes.len() < head_end + len {
        let n = s.read(&mut chunk).await.unwrap();
        assert!(n > 0, "closed mid-body");
        bytes.extend_from_slice(&chunk[..n]);
    }
    raw.body = String::from_utf8_lossy(&bytes[head_end..head_end + len]).into_owned();
    raw
}

/// Waits until the server closes `s` (a read of 0 bytes or a reset);
/// returns how long that took. Panics if it is still open after `bound`.
async fn closed_within(s: &mut TcpStream, bound: Duration) -> Duration {
    let started = Instant::now();
    let mut buf = [0u8; 1024];
    loop {
        match tokio::time::timeout_at(
            tokio::time::Instant::from_std(started + bound),
            s.read(&mut buf),
        )
        .await
        {
            Err(_) => panic!("still open after {bound:?}"),
            Ok(Ok(0)) | Ok(Err(_)) => return started.elapsed(),
            Ok(Ok(_)) => {} // an answer (a 408, say): read on to the close
        }
    }
}

async fn connect(app: &TestApp) -> TcpStream {
    TcpStream::connect(app.addr).await.unwrap()
}

/// Sends `bytes` one at a time, `gap` before each.
async fn drip(s: &mut TcpStream, bytes: &[u8], gap: Duration) {
    for b in bytes {
        tokio::time::sleep(gap).await;
        s.write_all(&[*b]).await.unwrap();
    }
}

/// A script at `/echo` (and by id) that answers with the size of its body.
async fn echo(app: &TestApp) -> String {
    app.deploy_at("echo", "`${ctx.request.body}`.len()", "/echo")
        .await
}

#[tokio::test]
async fn unfinished_headers_are_closed_within_the_header_timeout() {
    let app = TestApp::spawn_with(|a| a.header_timeout_secs = 1).await;
    let bound = Duration::from_secs(4);
    // Headers that never end.
    let unfinished = async {
        let mut s = connect(&app).await;
        s.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n").await.unwrap();
        closed_within(&mut s, bound).await
    };
    // Nothing at all.
    let silent = async {
        let mut s = connect(&app).await;
        closed_within(&mut s, bound).await
    };
    // A byte of header every 200 ms: activity does not extend the timeout.
    let dripping = async {
        let mut s = connect(&app).await;
        let started = Instant::now();
        let header =
            b"GET / HTTP/1.1\r\nHost: x\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
        for b in header {
            if s.write_all(&[*b]).await.is_err() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
            assert!(started.elapsed() < bound, "still open after {bound:?}");
        }
        closed_within(&mut s, bound).await
    };
    // A second request on a kept-alive connection has its own timeout.
    let second = async {
        let mut s = connect(&app).await;
        s.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            .await
            .unwrap();
        assert_eq!(read_answer(&mut s).await.status, 200);
        s.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
            .await
            .unwrap();
        closed_within(&mut s, bound).await
    };
    let (a, b, c, d) = tokio::join!(unfinished, silent, dripping, second);
    for (what, took) in [("unfinished", a), ("silent", b), ("second", d)] {
        assert!(
            took >= Duration::from_millis(900),
            "{what} closed early: {took:?}"
        );
    }
    assert!(c < bound, "{c:?}");
}

#[tokio::test]
async fn a_stalled_body_is_answered_408() {
    let app = TestApp::spawn_with(|a| a.body_timeout_secs = 2).await;
    let id = echo(&app).await;
    let requests = [
        format!("POST /api/v1/execute/{id} HTTP/1.1\r\nHost: x\r\n"),
        "POST /echo HTTP/1.1\r\nHost: x\r\n".to_owned(),
        format!(
            "POST /api/v1/admin/scripts HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\ncontent-type: application/json\r\n",
            app.token
        ),
    ];
    for head in requests {
        let mut s = connect(&app).await;
        let started = Instant::now();
        s.write_all(format!("{head}Content-Length: 1000\r\n\r\n{{\"name\":").as_bytes())
            .await
            .unwrap();
        let raw = read_answer(&mut s).await;
        assert_eq!(raw.status, 408, "{head}: {raw:?}");
        assert_eq!(raw.json()["error"]["code"], "request_timeout", "{raw:?}");
        assert_eq!(raw.header("connection"), Some("close"), "{raw:?}");
        assert!(started.elapsed() >= Duration::from_millis(1900), "{head}");
        closed_within(&mut s, Duration::from_secs(7)).await;
    }
    // A body that keeps coming, slowly but within the timeout, is read whole.
    let mut s = connect(&app).await;
    s.write_all(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 6\r\n\r\n")
        .await
        .unwrap();
    drip(&mut s, b"abcdef", Duration::from_millis(500)).await;
    let raw = read_answer(&mut s).await;
    assert_eq!((raw.status, raw.body.as_str()), (200, "6"), "{raw:?}");
    // Nothing was created by the stalled admin call.
    assert_eq!(app.script_count().await, 1);
}

#[tokio::test]
async fn a_request_longer_than_the_header_timeout_keeps_its_connection_until_idle_too_long() {
    // The watchdog's timer, armed for the headers' deadline, fires while the
    // request is busy (its body arrives over 1.5 s): that closes nothing.
    // Then the idle connection gets the keep-alive's deadline, counted from
    // the answer.
    let app = TestApp::spawn_with(|a| {
        a.header_timeout_secs = 1;
        a.keepalive_timeout_secs = 2;
    })
    .await;
    echo(&app).await;
    let mut s = connect(&app).await;
    s.write_all(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\n")
        .await
        .unwrap();
    drip(&mut s, b"abcde", Duration::from_millis(300)).await;
    let raw = read_answer(&mut s).await;
    assert_eq!((raw.status, raw.body.as_str()), (200, "5"), "{raw:?}");
    let took = closed_within(&mut s, Duration::from_secs(5)).await;
    assert!(
        took >= Duration::from_millis(1900),
        "closed early: {took:?}"
    );
}

#[tokio::test]
async fn a_thousand_idle_keep_alive_connections_do_not_stop_the_server() {
    let app = TestApp::spawn_with(|a| a.keepalive_timeout_secs = 10).await;
    let id = echo(&app).await;
    let mut idle = Vec::new();
    for _ in 0..1000 {
        let mut s = connect(&app).await;
        s.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            .await
            .unwrap();
        assert_eq!(read_answer(&mut s).await.status, 200);
        idle.push(s);
    }
    // Everyone else is still served, and the connections are counted.
    for _ in 0..20 {
        let a = app.invoke(&id).await;
        assert_eq!(a.status, 200, "{}", a.text);
    }
    let s = scrape(&app).await;
    let open = value(&s, "picloud_connections_open", &[]).unwrap();
    assert!(open >= 1000.0, "{open}");
    // Past the keep-alive timeout the server closes them all.
    let started = Instant::now();
    for s in &mut idle {
        closed_within(s, Duration::from_secs(20)).await;
    }
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "closed too early"
    );
}

#[tokio::test]
async fn past_the_connection_bound_new_connections_are_refused_at_once() {
    let app = TestApp::spawn_with(|a| a.max_connections = 20).await;
    // The test's own client holds a pooled connection: fill up to the bound.
    let mut held = Vec::new();
    loop {
        let mut s = connect(&app).await;
        s.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            .await
            .unwrap();
        let mut buf = [0u8; 1024];
        let n = s.read(&mut buf).await.unwrap_or(0);
        let text = String::from_utf8_lossy(&buf[..n]).into_owned();
        if text.starts_with("HTTP/1.1 200") {
            held.push(s);
            assert!(held.len() <= 20, "more than 20 connections were served");
            continue;
        }
        // The first one past the bound: a clear answer, then the close.
        assert!(text.starts_with("HTTP/1.1 503"), "{text}");
        assert!(text.contains(r#""code":"overloaded""#), "{text}");
        closed_within(&mut s, Duration::from_secs(2)).await;
        break;
    }
    assert!(held.len() >= 18, "{}", held.len());
    let s = scrape_on_a_free_slot(&app, &mut held).await;
    assert!(value(&s, "picloud_connections_refused_total", &[]).unwrap() >= 1.0);
    // Closed connections free their slots: a new one is served.
    held.truncate(5);
    within(Duration::from_secs(2), "a slot came free", || async {
        let mut s = connect(&app).await;
        s.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            .await
            .unwrap();
        (read_answer(&mut s).await.status == 200).then_some(())
    })
    .await;
}

/// Scrapes `/metrics` after closing one held connection (so there is a
/// slot for the scrape).
async fn scrape_on_a_free_slot(
    app: &TestApp,
    held: &mut Vec<TcpStream>,
) -> prometheus_parse::Scrape {
    held.pop();
    within(
        Duration::from_secs(2),
        "a slot came free for /metrics",
        || async {
            let mut s = connect(app).await;
            s.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
                .await
                .ok()?;
            let raw = read_answer(&mut s).await;
            let lines = raw.body.lines().map(|l| Ok(l.to_owned()));
            (raw.status == 200).then(|| prometheus_parse::Scrape::parse(lines).unwrap())
        },
    )
    .await
}

/// Sends `head` and an 8 MiB body whole before reading, as urllib or
/// `curl --data-binary @big` do, and reads the answer.
async fn send_whole(app: &TestApp, head: &str, chunked: bool) -> Raw {
    const SIZE: usize = 8 << 20;
    let mut s = connect(app).await;
    let mut request = head.as_bytes().to_vec();
    if chunked {
        request.extend_from_slice(b"Transfer-Encoding: chunked\r\n\r\n");
        for chunk in vec![b'x'; SIZE].chunks(64 << 10) {
            request.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
            request.extend_from_slice(chunk);
            request.extend_from_slice(b"\r\n");
        }
        request.extend_from_slice(b"0\r\n\r\n");
    } else {
        request.extend_from_slice(format!("Content-Length: {SIZE}\r\n\r\n").as_bytes());
        request.extend(std::iter::repeat_n(b'x', SIZE));
    }
    s.write_all(&request)
        .await
        .unwrap_or_else(|e| panic!("{head}: the server stopped reading: {e}"));
    read_answer(&mut s).await
}

#[tokio::test]
async fn a_body_far_over_the_limit_sent_whole_gets_a_readable_413() {
    let app = TestApp::spawn().await;
    let id = echo(&app).await;
    let heads = [
        format!("POST /api/v1/execute/{id} HTTP/1.1\r\nHost: x\r\n"),
        "POST /echo HTTP/1.1\r\nHost: x\r\n".to_owned(),
        format!(
            "POST /api/v1/admin/scripts HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\ncontent-type: application/json\r\n",
            app.token
        ),
    ];
    for head in &heads {
        for chunked in [false, true] {
            let raw = send_whole(&app, head, chunked).await;
            assert_eq!(raw.status, 413, "{head} chunked={chunked}: {raw:?}");
            assert_eq!(raw.json()["error"]["code"], "payload_too_large");
            assert_eq!(raw.header("connection"), Some("close"));
        }
    }
    assert_eq!(app.script_count().await, 1, "nothing was created");
    // The server is fine and answers everyone else.
    assert_eq!(app.invoke(&id).await.status, 200);
}

// Bodies being received share one budget (four bodies of the limit, at
// least 64 MiB): connections each holding a body just short of the limit
// cannot take the server's memory. Past it a body is refused with 503
// `overloaded` and the connection closed; a holder that leaves gives its
// bytes back.
#[tokio::test]
async fn bodies_being_received_share_one_budget() {
    const LIMIT: usize = 16 << 20;
    let app = TestApp::spawn_with(|a| a.max_body_bytes = LIMIT as u32).await;
    echo(&app).await;
    // Four bodies just short of the limit: 64 MiB less 4 bytes, held.
    let mut holders = Vec::new();
    for _ in 0..4 {
        let mut s = connect(&app).await;
        let head = format!("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: {LIMIT}\r\n\r\n");
        s.write_all(head.as_bytes()).await.unwrap();
        s.write_all(&vec![b'x'; LIMIT - 1]).await.unwrap();
        holders.push(s);
    }
    let small = format!(
        "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 1024\r\n\r\n{}",
        "y".repeat(1024)
    );
    let send_small = || async {
        let mut s = connect(&app).await;
        s.write_all(small.as_bytes()).await.unwrap();
        read_answer(&mut s).await
    };
    let refused = within(Duration::from_secs(30), "the budget spent", || async {
        let a = send_small().await;
        (a.status == 503).then_some(a)
    })
    .await;
    assert_eq!(refused.json()["error"]["code"], "overloaded", "{refused:?}");
    assert_eq!(refused.header("connection"), Some("close"), "{refused:?}");
    assert_eq!(refused.header("retry-after"), Some("1"), "{refused:?}");

    // One holder leaves: its bytes come back, and the small body is read.
    drop(holders.pop());
    let read = within(Duration::from_secs(30), "the budget given back", || async {
        let a = send_small().await;
        (a.status == 200).then_some(a)
    })
    .await;
    assert_eq!(read.body, "1024");
}

// The admin API's JSON bodies have a budget of their own, the same size,
// spent only by signed-in callers: an anonymous body is refused (401)
// before it is read.
#[tokio::test]
async fn admin_bodies_being_received_share_a_budget_of_their_own() {
    const LIMIT: usize = 16 << 20;
    let app = TestApp::spawn_with(|a| a.max_body_bytes = LIMIT as u32).await;
    echo(&app).await;
    let hold = |token: Option<String>| {
        let app = &app;
        async move {
            let mut s = connect(app).await;
            let auth = token.map_or_else(String::new, |t| format!("Authorization: Bearer {t}\r\n"));
            let head = format!(
                "POST /api/v1/admin/scripts HTTP/1.1\r\nHost: x\r\n{auth}\
                 Content-Type: application/json\r\nContent-Length: {LIMIT}\r\n\r\n"
            );
            s.write_all(head.as_bytes()).await.unwrap();
            s.write_all(&vec![b' '; LIMIT - 1]).await.unwrap();
            s
        }
    };
    // Each call names a new app (the ones made before the budget is spent
    // are made).
    let made = std::sync::atomic::AtomicUsize::new(0);
    let small = || async {
        let mut s = connect(&app).await;
        let n = made.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let body = format!(r#"{{"name": "shop-{n}"}}"#);
        let request = format!(
            "POST /api/v1/admin/apps HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\n\
             Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            app.token,
            body.len()
        );
        s.write_all(request.as_bytes()).await.unwrap();
        read_answer(&mut s).await
    };
    // Anonymous bodies are not read: they hold nothing.
    let mut anonymous = Vec::new();
    for _ in 0..4 {
        anonymous.push(hold(None).await);
    }
    let a = small().await;
    assert_eq!(a.status, 201, "anonymous bodies spent nothing: {a:?}");
    let mut signed_in = Vec::new();
    for _ in 0..4 {
        signed_in.push(hold(Some(app.token.clone())).await);
    }
    let refused = within(Duration::from_secs(30), "the budget spent", || async {
        let a = small().await;
        (a.status == 503).then_some(a)
    })
    .await;
    assert_eq!(refused.json()["error"]["code"], "overloaded", "{refused:?}");
    assert_eq!(refused.header("connection"), Some("close"), "{refused:?}");
    // Scripts' bodies are not refused for it: their budget is another.
    let mut s = connect(&app).await;
    s.write_all(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello")
        .await
        .unwrap();
    let echoed = read_answer(&mut s).await;
    assert_eq!(
        (echoed.status, echoed.body.as_str()),
        (200, "5"),
        "{echoed:?}"
    );

    drop(signed_in.pop());
    let created = within(Duration::from_secs(30), "the budget given back", || async {
        let a = small().await;
        if a.status == 201 {
            Ok(a)
        } else {
            Err(format!("{a:?}"))
        }
    })
    .await;
    assert!(
        created.json()["name"]
            .as_str()
            .is_some_and(|n| n.starts_with("shop-")),
        "{created:?}"
    );
    drop(anonymous);
}
