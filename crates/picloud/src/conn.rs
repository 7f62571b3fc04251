//! The server's connection loop: what `axum::serve` does, plus what a server
//! facing the Internet needs (docs/configuration.md, "Connections"):
//!
//! - **A bound on open connections** (`PICLOUD_MAX_CONNECTIONS`, lowered to
//!   what the open-file limit allows): past it a new connection is answered
//!   503 and closed at once, so descriptors never run out.
//! - **A header timeout** (`PICLOUD_HEADER_TIMEOUT_SECS`): a request's
//!   headers must all arrive within it, counted from the connection's start
//!   for the first request and from a request's first byte after that.
//! - **A body timeout** (`PICLOUD_BODY_TIMEOUT_SECS`): a request body may
//!   pause at most this long between reads; then it is answered 408.
//! - **A keep-alive timeout** (`PICLOUD_KEEPALIVE_TIMEOUT_SECS`): an idle
//!   connection, or one whose client stopped reading its answer, is closed.
//! - **A lingering close**: a connection answered before its request body was
//!   read (a 413 for a body over the limit, a 401, ...) is closed as nginx
//!   does: its write side first, then what the client still sends is read
//!   and discarded, up to [`LINGER_BYTES`] and [`LINGER_TIME`], so that a
//!   client that writes its whole body before reading gets the answer
//!   rather than a reset.
//!
//! Nothing here wakes an idle server: a connection's watchdog sleeps until
//! its deadline, and a busy connection has none.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU64, Ordering};
use std::task::{Context, Poll, ready};
use std::time::Duration;

use axum::body::Body;
use axum::http::{HeaderMap, HeaderName, header};
use bytes::Bytes;
use http_body::{Frame, SizeHint};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use picloud_shared::web::{BodyTimedOut, ClientIp, TrustedProxies};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, Semaphore, watch};
use tokio::time::{Instant, Sleep};

/// The most a lingering close reads and discards.
pub const LINGER_BYTES: u64 = 64 << 20;
/// The longest a lingering close lasts (nginx's `lingering_time`).
pub const LINGER_TIME: Duration = Duration::from_secs(30);
/// The longest a lingering close waits for the client's next bytes
/// (nginx's `lingering_timeout`).
pub const LINGER_TIMEOUT: Duration = Duration::from_secs(5);

/// Descriptors kept for the database, files and the listener when the
/// connection bound follows the open-file limit.
pub const RESERVED_DESCRIPTORS: u64 = 128;

/// The settings of the connection loop.
#[derive(Clone, Copy, Debug)]
pub struct ConnectionLimits {
    pub max_connections: usize,
    pub header_timeout: Duration,
    pub body_timeout: Duration,
    pub keepalive_timeout: Duration,
}

/// What the connection loop counts, for `/metrics`.
#[derive(Debug, Default)]
pub struct ConnectionStats {
    open: AtomicU64,
    refused: AtomicU64,
}

impl ConnectionStats {
    /// Connections open now.
    pub fn open(&self) -> u64 {
        self.open.load(Ordering::Relaxed)
    }

    /// Connections refused at once because the bound was reached.
    pub fn refused(&self) -> u64 {
        self.refused.load(Ordering::Relaxed)
    }
}

/// Raises the soft limit on open files to the hard limit (each connection
/// is a descriptor) and returns the limit in force, if it can be read.
pub fn raise_open_file_limit() -> Option<u64> {
    match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(limit) => Some(limit),
        Err(e) => {
            tracing::debug!(error = %e, "could not raise the open-file limit");
            rlimit::getrlimit(rlimit::Resource::NOFILE)
                .ok()
                .map(|(soft, _)| soft)
        }
    }
}

/// The answer to a connection over the bound, written without waiting.
static REFUSAL: std::sync::LazyLock<Vec<u8>> = std::sync::LazyLock::new(|| {
    let body = r#"{"error":{"code":"overloaded","message":"too many open connections; retry in a second"}}"#;
    format!(
        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\n\
         retry-after: 1\r\nconnection: close\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
});

/// What a connection's requests go to (the process's `edge::Edge`).
pub(crate) trait Answer: Send + Sync + 'static {
    fn answer(
        &self,
        req: axum::extract::Request,
    ) -> impl Future<Output = axum::response::Response> + Send;
}

/// Serves `edge` on `listener` until `shutdown` resolves; then stops
/// accepting, lets each connection finish the request it is in, and waits
/// up to `drain` for them to close. Returns when the shutdown began.
pub(crate) async fn serve(
    listener: TcpListener,
    edge: impl Answer,
    limits: ConnectionLimits,
    proxies: Arc<TrustedProxies>,
    stats: Arc<ConnectionStats>,
    shutdown: impl Future<Output = ()>,
    drain: Duration,
) -> Instant {
    let edge = Arc::new(edge);
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let (closing_tx, closing) = watch::channel(false);
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) if is_connection_error(&e) => continue,
                Err(e) => {
                    // Out of descriptors or memory: give the system a moment
                    // (a sleep after an error, not a polling loop).
                    tracing::error!(error = %e, "could not accept a connection");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
        };
        let Ok(slot) = Arc::clone(&slots).try_acquire_owned() else {
            stats.refused.fetch_add(1, Ordering::Relaxed);
            // Best effort, never waiting: the client learns why.
            let _ = stream.try_write(&REFUSAL);
            continue;
        };
        let _ = stream.set_nodelay(true);
        let edge = Arc::clone(&edge);
        let stats = Arc::clone(&stats);
        let closing = closing.clone();
        let proxies = Arc::clone(&proxies);
        tokio::spawn(async move {
            stats.open.fetch_add(1, Ordering::Relaxed);
            connection(stream, peer, edge, limits, proxies, closing).await;
            stats.open.fetch_sub(1, Ordering::Relaxed);
            drop(slot);
        });
    }
    let began = Instant::now();
    drop(listener);
    let _ = closing_tx.send(true);
    let all = u32::try_from(limits.max_connections).unwrap_or(u32::MAX);
    if tokio::time::timeout(drain, slots.acquire_many(all))
        .await
        .is_err()
    {
        tracing::warn!("some connections were still open at shutdown");
    }
    began
}

/// Errors of one connection that `accept` reports; the listener is fine.
fn is_connection_error(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
    )
}

async fn connection(
    stream: TcpStream,
    peer: SocketAddr,
    edge: Arc<impl Answer>,
    limits: ConnectionLimits,
    proxies: Arc<TrustedProxies>,
    mut closing: watch::Receiver<bool>,
) {
    let state = Arc::new(ConnState::new(&limits));
    let watched = Arc::clone(&state);
    let io = GuardedIo {
        stream,
        state: Arc::clone(&state),
        timer: None,
        armed: None,
        linger: None,
    };
    let service = hyper::service::service_fn(move |req: hyper::Request<Incoming>| {
        state.begin_request();
        let (mut parts, body) = req.into_parts();
        // The client's address, behind trusted proxies the real client's:
        // every reader of the peer takes this (axum's `ConnectInfo` is not
        // inserted; each extension costs a map insert per request).
        parts
            .extensions
            .insert(client_ip(&proxies, peer, &parts.headers));
        let body = Body::new(WatchedBody::new(
            body,
            Arc::clone(&state),
            limits.body_timeout,
        ));
        let req = axum::http::Request::from_parts(parts, body);
        let (edge, state) = (Arc::clone(&edge), Arc::clone(&state));
        async move {
            let response = edge.answer(req).await;
            state.end_request();
            Ok::<_, std::convert::Infallible>(response)
        }
    });
    let conn =
        hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(io), service);
    tokio::pin!(conn);
    tokio::select! {
        result = conn.as_mut() => log_end(result),
        // Out of time for headers, or idle too long: dropping the connection
        // closes it.
        () = watchdog(&watched, &limits) => {}
        () = async { drop(closing.wait_for(|closing| *closing).await) } => {
            conn.as_mut().graceful_shutdown();
            tokio::select! {
                result = conn.as_mut() => log_end(result),
                () = watchdog(&watched, &limits) => {}
            }
        }
    }
}

/// Resolves when the connection has waited past its phase's deadline: the
/// headers' (`HEAD`) or the keep-alive's (`IDLE`). A busy connection has
/// none.
///
/// Lazily: its one timer stays armed for the deadline it last saw, and
/// when it fires the deadline is looked up again (a later one re-arms it).
/// A phase change wakes it only when it brings the deadline forward of
/// the armed one (or gives one to a watchdog waiting without), so a
/// request on a kept-alive connection usually costs it nothing; it used to
/// be woken, and to re-arm its timer, at every phase change. An idle
/// connection's timer is armed no later than the next request's headers
/// could be due, so the next request does not have to wake it: where the
/// header timeout is the shorter, an idle connection wakes once per header
/// timeout until its keep-alive ends (once with the defaults, 30 s and
/// 60 s); only while a client holds the connection open.
async fn watchdog(state: &ConnState, limits: &ConnectionLimits) {
    let timer = tokio::time::sleep_until(Instant::now());
    tokio::pin!(timer);
    let mut armed = None;
    loop {
        let now = Instant::now();
        match state.read_deadline(limits) {
            None => {
                state.arm(None);
                state.changed.notified().await;
            }
            Some(deadline) if now >= deadline => return,
            Some(deadline) => {
                let wake = deadline.min(now + limits.header_timeout);
                state.arm(Some(wake));
                if armed != Some(wake) {
                    timer.as_mut().reset(wake);
                    armed = Some(wake);
                }
                tokio::select! {
                    () = timer.as_mut() => {}
                    () = state.changed.notified() => {}
                }
            }
        }
    }
}

/// Who the client is: the peer, or behind a trusted proxy the address it
/// forwarded for (headers are only read when a proxy is trusted).
fn client_ip(proxies: &TrustedProxies, peer: SocketAddr, headers: &HeaderMap) -> ClientIp {
    if proxies.is_empty() {
        return ClientIp(peer.ip().to_canonical());
    }
    let values = |name| {
        headers
            .get_all(name)
            .into_iter()
            .filter_map(|v| v.to_str().ok())
    };
    ClientIp(proxies.client(
        peer.ip(),
        values(X_FORWARDED_FOR),
        values(header::FORWARDED),
    ))
}

const X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");

fn log_end(result: Result<(), hyper::Error>) {
    if let Err(e) = result {
        tracing::debug!(error = %e, "connection ended with an error");
    }
}

/// Where a connection is between requests.
const HEAD: u8 = 0;
const BUSY: u8 = 1;
const IDLE: u8 = 2;

/// One connection's state, shared by its I/O and its requests.
struct ConnState {
    start: Instant,
    /// `HEAD`: reading a request's headers; `BUSY`: a request is being
    /// read or answered; `IDLE`: waiting for the next request.
    phase: AtomicU8,
    /// When the phase began, in nanoseconds since `start`.
    since: AtomicU64,
    /// When bytes were last written, in nanoseconds since `start`: an idle
    /// connection still sending its last answer is not idle.
    last_write: AtomicU64,
    /// Whether the current request's body was read to its end.
    body_done: AtomicBool,
    /// Whether the connection ends with a request body left unread, so its
    /// close lingers.
    linger: AtomicBool,
    /// The deadline the watchdog waits for, in nanoseconds since `start`
    /// (`u64::MAX`: none, it waits for a change).
    armed: AtomicU64,
    /// Wakes the watchdog when a phase change brings its deadline forward
    /// (one waiter; a permit is kept if it is not waiting yet, so no change
    /// is missed).
    changed: Notify,
    header_timeout: u64,
    keepalive_timeout: u64,
}

impl ConnState {
    fn new(limits: &ConnectionLimits) -> Self {
        let nanos = |d: Duration| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX);
        ConnState {
            start: Instant::now(),
            // The first request's headers are timed from the connection's start.
            phase: AtomicU8::new(HEAD),
            since: AtomicU64::new(0),
            last_write: AtomicU64::new(0),
            body_done: AtomicBool::new(false),
            linger: AtomicBool::new(false),
            armed: AtomicU64::new(u64::MAX),
            changed: Notify::new(),
            header_timeout: nanos(limits.header_timeout),
            keepalive_timeout: nanos(limits.keepalive_timeout),
        }
    }

    /// The watchdog waits for `deadline` (`None`: for a change).
    fn arm(&self, deadline: Option<Instant>) {
        let nanos = deadline.map_or(u64::MAX, |d| {
            u64::try_from(d.saturating_duration_since(self.start).as_nanos()).unwrap_or(u64::MAX)
        });
        self.armed.store(nanos, Ordering::Relaxed);
    }

    /// Wakes the watchdog if the phase's new deadline (`now + timeout`) is
    /// before the one it waits for; a later one it finds when it wakes.
    fn deadline_moved(&self, now: u64, timeout: u64) {
        if now.saturating_add(timeout) < self.armed.load(Ordering::Relaxed) {
            self.changed.notify_one();
        }
    }

    fn now(&self) -> u64 {
        u64::try_from(self.start.elapsed().as_nanos()).unwrap_or(u64::MAX)
    }

    fn at(&self, nanos: u64) -> Instant {
        self.start + Duration::from_nanos(nanos)
    }

    fn begin_request(&self) {
        self.phase.store(BUSY, Ordering::Relaxed);
        self.body_done.store(false, Ordering::Relaxed);
        // An earlier request's unread body was drained by hyper, or this
        // request would not have been read.
        self.linger.store(false, Ordering::Relaxed);
        // A busy connection has no deadline: nothing comes forward.
    }

    fn end_request(&self) {
        if !self.body_done.load(Ordering::Relaxed) {
            self.linger.store(true, Ordering::Relaxed);
        }
        let now = self.now();
        self.since.store(now, Ordering::Relaxed);
        self.phase.store(IDLE, Ordering::Relaxed);
        self.deadline_moved(now, self.keepalive_timeout);
    }

    /// A read brought bytes: an idle connection is now reading headers.
    fn read_some(&self) {
        if self.phase.load(Ordering::Relaxed) == IDLE {
            let now = self.now();
            self.since.store(now, Ordering::Relaxed);
            self.phase.store(HEAD, Ordering::Relaxed);
            self.deadline_moved(now, self.header_timeout);
        }
    }

    /// When a read that is waiting must give up, if ever.
    fn read_deadline(&self, limits: &ConnectionLimits) -> Option<Instant> {
        let since = self.since.load(Ordering::Relaxed);
        match self.phase.load(Ordering::Relaxed) {
            HEAD => Some(self.at(since) + limits.header_timeout),
            IDLE => {
                let last = since.max(self.last_write.load(Ordering::Relaxed));
                Some(self.at(last) + limits.keepalive_timeout)
            }
            _ => None,
        }
    }
}

/// A lingering close in progress.
struct Linger {
    started: Instant,
    last_read: Instant,
    discarded: u64,
    write_closed: bool,
    buf: Box<[u8]>,
}

/// The connection's socket: it tells the connection's state when bytes
/// come and go, and closes lingering.
struct GuardedIo {
    stream: TcpStream,
    state: Arc<ConnState>,
    /// Armed only while a lingering close waits for the client.
    timer: Option<Pin<Box<Sleep>>>,
    armed: Option<Instant>,
    linger: Option<Linger>,
}

impl GuardedIo {
    /// Polls a timer for `deadline`, re-arming it when the deadline moved.
    fn poll_deadline(&mut self, cx: &mut Context<'_>, deadline: Instant) -> Poll<()> {
        if self.armed != Some(deadline) {
            match &mut self.timer {
                Some(timer) => timer.as_mut().reset(deadline),
                None => self.timer = Some(Box::pin(tokio::time::sleep_until(deadline))),
            }
            self.armed = Some(deadline);
        }
        match &mut self.timer {
            Some(timer) => timer.as_mut().poll(cx),
            None => Poll::Pending,
        }
    }

    /// Reads and discards what the client still sends, within the bounds;
    /// ready when done.
    fn poll_linger(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        let linger = self.linger.get_or_insert_with(|| {
            let now = Instant::now();
            Linger {
                started: now,
                last_read: now,
                discarded: 0,
                write_closed: false,
                buf: vec![0; 16 << 10].into_boxed_slice(),
            }
        });
        if !linger.write_closed {
            // The answer is complete: say so (FIN) before draining.
            if ready!(Pin::new(&mut self.stream).poll_shutdown(cx)).is_err() {
                return Poll::Ready(());
            }
            linger.write_closed = true;
        }
        loop {
            let now = Instant::now();
            if linger.discarded >= LINGER_BYTES || now >= linger.started + LINGER_TIME {
                return Poll::Ready(());
            }
            let mut buf = ReadBuf::new(&mut linger.buf);
            match Pin::new(&mut self.stream).poll_read(cx, &mut buf) {
                Poll::Ready(Ok(())) if buf.filled().is_empty() => return Poll::Ready(()),
                Poll::Ready(Ok(())) => {
                    linger.discarded += buf.filled().len() as u64;
                    linger.last_read = now;
                }
                Poll::Ready(Err(_)) => return Poll::Ready(()),
                Poll::Pending => {
                    let deadline =
                        (linger.last_read + LINGER_TIMEOUT).min(linger.started + LINGER_TIME);
                    return self.poll_deadline(cx, deadline);
                }
            }
        }
    }
}

impl AsyncRead for GuardedIo {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        match Pin::new(&mut this.stream).poll_read(cx, buf) {
            Poll::Ready(Ok(())) => {
                if buf.filled().len() > before {
                    this.state.read_some();
                }
                Poll::Ready(Ok(()))
            }
            other => other,
        }
    }
}

impl GuardedIo {
    fn wrote(&self, n: usize) {
        if n > 0 {
            self.state
                .last_write
                .store(self.state.now(), Ordering::Relaxed);
        }
    }
}

impl AsyncWrite for GuardedIo {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let n = ready!(Pin::new(&mut this.stream).poll_write(cx, buf))?;
        this.wrote(n);
        Poll::Ready(Ok(n))
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let n = ready!(Pin::new(&mut this.stream).poll_write_vectored(cx, bufs))?;
        this.wrote(n);
        Poll::Ready(Ok(n))
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.state.linger.load(Ordering::Relaxed) {
            ready!(this.poll_linger(cx));
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut this.stream).poll_shutdown(cx)
    }
}

/// A request body that notes when it was read to its end, and fails with
/// [`BodyTimedOut`] when the client pauses longer than the body timeout.
struct WatchedBody {
    inner: Incoming,
    state: Arc<ConnState>,
    timeout: Duration,
    timer: Option<Pin<Box<Sleep>>>,
}

impl WatchedBody {
    fn new(inner: Incoming, state: Arc<ConnState>, timeout: Duration) -> Self {
        if http_body::Body::is_end_stream(&inner) {
            state.body_done.store(true, Ordering::Relaxed);
        }
        WatchedBody {
            inner,
            state,
            timeout,
            timer: None,
        }
    }
}

impl http_body::Body for WatchedBody {
    type Data = Bytes;
    type Error = Box<dyn std::error::Error + Send + Sync>;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let this = self.get_mut();
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => {
                // The next pause is timed from now.
                if let Some(timer) = &mut this.timer {
                    timer.as_mut().reset(Instant::now() + this.timeout);
                }
                if http_body::Body::is_end_stream(&this.inner) {
                    this.state.body_done.store(true, Ordering::Relaxed);
                }
                Poll::Ready(Some(Ok(frame)))
            }
            Poll::Ready(Some(Err(e))) => Poll::Ready(Some(Err(Box::new(e)))),
            Poll::Ready(None) => {
                this.state.body_done.store(true, Ordering::Relaxed);
                Poll::Ready(None)
            }
            Poll::Pending => {
                let timeout = this.timeout;
                let timer = this
                    .timer
                    .get_or_insert_with(|| Box::pin(tokio::time::sleep(timeout)));
                match timer.as_mut().poll(cx) {
                    Poll::Ready(()) => Poll::Ready(Some(Err(Box::new(BodyTimedOut)))),
                    Poll::Pending => Poll::Pending,
                }
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
