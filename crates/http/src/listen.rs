//! The accept loop: every TCP connection the server holds is admitted, timed and counted
//! here.
//!
//! Why not `axum::serve`: it cannot set a header-read timeout, an idle timeout or a bound on
//! connections, and 1,100 idle TCP connections were enough to make `/healthz` fail with
//! "Too many open files". So connections are served with hyper-util's builder directly:
//! - a request's headers must arrive within `header_timeout`, counted from the start of
//!   the connection or the end of the previous response (hyper's header-read timer), which
//!   also closes idle keep-alive connections and slow-header (slowloris) clients;
//! - a connection that transfers nothing either way for `idle_timeout` in the middle of a
//!   request (a stalled body, a client that stopped reading) is closed; a WebSocket leaves
//!   this watch at its upgrade and is kept alive by its own heartbeat instead;
//! - at most `max_connections` in all and `max_per_address` per client address are open;
//!   one more is closed as soon as it is accepted, before anything is read from it;
//! - an accept error (EMFILE when the descriptors run out) makes the loop pause briefly
//!   rather than exit or spin.
//!
//! The peer address reaches handlers as `ConnectInfo<PeerAddr>`, and
//! `parley_http_connections_open` counts open connections as before (upgraded WebSockets
//! included: the count drops when the stream is dropped).

use std::collections::HashMap;
use std::future::Future;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::ConnectInfo;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tower::ServiceExt;

use crate::ops::{CONNECTIONS_OPEN, PeerAddr};

/// Counter of connections closed at accept, by `reason` (`max_connections`,
/// `max_per_address`).
pub const REFUSED: &str = "parley_http_connections_refused_total";
/// Counter of connections closed for transferring nothing mid-request.
pub const IDLE_CLOSED: &str = "parley_http_connections_idle_closed_total";
/// Counter of failed `accept` calls (descriptor exhaustion and the like).
pub const ACCEPT_ERRORS: &str = "parley_http_accept_errors_total";

/// How long the loop pauses after an accept error such as EMFILE: long enough not to spin
/// on a full descriptor table, short enough that `/healthz` is served soon after a
/// descriptor frees up.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(50);

/// Bounds on the connections of one server.
#[derive(Debug, Clone)]
pub struct ConnLimits {
    pub header_timeout: Duration,
    pub idle_timeout: Duration,
    /// Open connections in all.
    pub max_connections: usize,
    /// Open connections per client address; 0 = unlimited.
    pub max_per_address: usize,
}

impl Default for ConnLimits {
    fn default() -> Self {
        Self {
            header_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
            max_connections: 10_000,
            max_per_address: 0,
        }
    }
}

/// Open connections, in all and per address.
struct Table {
    limits: ConnLimits,
    total: AtomicUsize,
    per_address: Mutex<HashMap<IpAddr, usize>>,
}

/// One admitted connection's place in the [`Table`], given back when dropped.
struct Slot {
    table: Arc<Table>,
    ip: IpAddr,
}

impl Table {
    fn admit(self: &Arc<Self>, ip: IpAddr) -> Result<Slot, &'static str> {
        if self.total.fetch_add(1, Ordering::SeqCst) >= self.limits.max_connections {
            self.total.fetch_sub(1, Ordering::SeqCst);
            return Err("max_connections");
        }
        if self.limits.max_per_address > 0 {
            let Ok(mut map) = self.per_address.lock() else {
                self.total.fetch_sub(1, Ordering::SeqCst);
                return Err("max_per_address");
            };
            let n = map.entry(ip).or_insert(0);
            if *n >= self.limits.max_per_address {
                self.total.fetch_sub(1, Ordering::SeqCst);
                return Err("max_per_address");
            }
            *n += 1;
        }
        metrics::gauge!(CONNECTIONS_OPEN).increment(1.0);
        Ok(Slot {
            table: self.clone(),
            ip,
        })
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        metrics::gauge!(CONNECTIONS_OPEN).decrement(1.0);
        self.table.total.fetch_sub(1, Ordering::SeqCst);
        if self.table.limits.max_per_address > 0
            && let Ok(mut map) = self.table.per_address.lock()
            && let Some(n) = map.get_mut(&self.ip)
        {
            *n -= 1;
            if *n == 0 {
                map.remove(&self.ip);
            }
        }
    }
}

/// Milliseconds since the first call: a cheap monotonic clock for activity stamps.
fn now_ms() -> u64 {
    static START: OnceLock<Instant> = OnceLock::new();
    START.get_or_init(Instant::now).elapsed().as_millis() as u64
}

/// A connection's stream that remembers when it last moved bytes (0 until its first byte
/// arrives), and holds its [`Slot`].
struct Guarded {
    io: TcpStream,
    last_active: Arc<AtomicU64>,
    _slot: Slot,
}

impl Guarded {
    fn touch(&self) {
        self.last_active.store(now_ms().max(1), Ordering::Relaxed);
    }
}

impl AsyncRead for Guarded {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let r = Pin::new(&mut self.io).poll_read(cx, buf);
        if matches!(r, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.touch();
        }
        r
    }
}

impl AsyncWrite for Guarded {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let r = Pin::new(&mut self.io).poll_write(cx, buf);
        if matches!(r, Poll::Ready(Ok(n)) if n > 0) {
            self.touch();
        }
        r
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let r = Pin::new(&mut self.io).poll_write_vectored(cx, bufs);
        if matches!(r, Poll::Ready(Ok(n)) if n > 0) {
            self.touch();
        }
        r
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }
}

/// Resolves once `last_active` is older than `idle`, or, while the client has sent nothing
/// at all, once `first_byte` has passed since `opened` (hyper's header timer starts only
/// after the protocol is detected from the first bytes, so a silent connection would
/// otherwise wait for the idle timeout).
async fn stalled(last_active: Arc<AtomicU64>, opened: u64, first_byte: Duration, idle: Duration) {
    let idle_ms = idle.as_millis() as u64;
    let first_ms = first_byte.as_millis() as u64;
    loop {
        let last = last_active.load(Ordering::Relaxed);
        let due = if last == 0 {
            opened + first_ms
        } else {
            last + idle_ms
        };
        let now = now_ms();
        if now >= due {
            return;
        }
        tokio::time::sleep(Duration::from_millis(due - now)).await;
    }
}

/// Errors of `accept` that concern one connection only (it was reset before we took it):
/// take the next one at once.
fn is_connection_error(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
    )
}

/// Serves `app` on `listener` within `limits` until `shutdown` resolves, then stops
/// accepting and waits for requests in progress (idle connections close at once;
/// WebSockets are told to close by the application's own shutdown signal).
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: ConnLimits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        .keep_alive(true);
    builder.http2().timer(TokioTimer::new());
    let builder = Arc::new(builder);
    let idle = limits.idle_timeout;
    let header_timeout = limits.header_timeout;
    let table = Arc::new(Table {
        limits,
        total: AtomicUsize::new(0),
        per_address: Mutex::new(HashMap::new()),
    });
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    tokio::pin!(shutdown);
    loop {
        let (stream, peer): (TcpStream, SocketAddr) = tokio::select! {
            r = listener.accept() => match r {
                Ok(c) => c,
                Err(e) if is_connection_error(&e) => continue,
                Err(e) => {
                    metrics::counter!(ACCEPT_ERRORS).increment(1);
                    tracing::warn!(error = %e, "accept failed; pausing briefly");
                    tokio::time::sleep(ACCEPT_BACKOFF).await;
                    continue;
                }
            },
            _ = &mut shutdown => break,
        };
        let slot = match table.admit(peer.ip()) {
            Ok(s) => s,
            Err(reason) => {
                metrics::counter!(REFUSED, "reason" => reason).increment(1);
                tracing::debug!(peer = %peer, reason, "connection refused at accept");
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let opened = now_ms();
        let last_active = Arc::new(AtomicU64::new(0));
        let io = Guarded {
            io: stream,
            last_active: last_active.clone(),
            _slot: slot,
        };
        let svc =
            app.clone()
                .map_request(move |req: axum::http::Request<hyper::body::Incoming>| {
                    let mut req = req.map(axum::body::Body::new);
                    req.extensions_mut().insert(ConnectInfo(PeerAddr(peer)));
                    req
                });
        let conn = builder
            .serve_connection_with_upgrades(TokioIo::new(io), TowerToHyperService::new(svc))
            .into_owned();
        let conn = graceful.watch(conn);
        tokio::spawn(async move {
            tokio::select! {
                r = conn => {
                    if let Err(e) = r {
                        tracing::debug!(peer = %peer, error = %e, "connection ended with an error");
                    }
                }
                _ = stalled(last_active, opened, header_timeout, idle) => {
                    metrics::counter!(IDLE_CLOSED).increment(1);
                    tracing::debug!(peer = %peer, "connection closed: nothing transferred mid-request");
                }
            }
        });
    }
    drop(listener);
    graceful.shutdown().await;
    Ok(())
}
