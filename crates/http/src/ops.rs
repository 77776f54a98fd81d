//! Operations endpoints: liveness with database reachability, and Prometheus metrics; plus
//! the connection-counting listener that feeds the open-connections gauge.
//!
//! Metrics exposed (see docs/operations.md):
//! - `parley_http_requests_total{method,path,status}` and
//!   `parley_http_request_duration_seconds{method,path,status}` (recorded in `track_metrics`),
//! - `parley_http_connections_open` (this module's [`CountingListener`]),
//! - `parley_build_info{version}` = 1,
//! - `parley_messages_stored_total` (incremented by the message service),
//! - `parley_store_reads_total`: read round trips to the database (taken from the store's
//!   counter at scrape time),
//! - `parley_store_writable` and `parley_store_write_failures_total{cause}` (the store's
//!   write state, `parley_store::health`).

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::serve::Listener;
use serde_json::json;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use crate::AppState;

/// Name of the open-connections gauge.
pub const CONNECTIONS_OPEN: &str = "parley_http_connections_open";

pub fn router() -> Router<AppState> {
    // Set once per application: a constant series whose labels say which build is running,
    // the usual Prometheus way to join a version onto other series.
    metrics::gauge!("parley_build_info", "version" => env!("CARGO_PKG_VERSION")).set(1.0);
    // Registered up front so the gauge reads 0 rather than being absent before the first
    // connection through a counting listener.
    metrics::gauge!(CONNECTIONS_OPEN).increment(0.0);
    Router::new()
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
}

/// 200 when the process is up, the database answers and takes writes; 503 otherwise.
/// When writes are refused (a full disk, a read-only file, a lost server) the body says
/// why with a stable `reason` (`disk_full`, `read_only`, `io_error`, `cannot_open`,
/// `database_unreachable`, `database_exhausted`), so a load balancer takes the node out
/// and an operator sees the cause; the database's own error text goes to the log only.
async fn healthz(State(st): State<AppState>) -> impl IntoResponse {
    let h = st.svc.health().await;
    if h.ok() {
        (
            StatusCode::OK,
            axum::Json(json!({"status": "ok", "database": "ok", "backend": h.backend})),
        )
    } else if !h.database_ok {
        tracing::warn!(
            error = h.error.as_deref().unwrap_or(""),
            "health check: database unreachable"
        );
        // The failed ping marked the store unwritable with its cause.
        let (reason, message) = h
            .not_writable
            .as_ref()
            .map(|n| (n.cause.as_str(), n.cause.describe()))
            .unwrap_or((
                "database_unreachable",
                "the database server cannot be reached",
            ));
        (
            StatusCode::SERVICE_UNAVAILABLE,
            axum::Json(json!({
                "status": "error",
                "database": "unreachable",
                "reason": reason,
                "message": message,
                "backend": h.backend,
            })),
        )
    } else {
        let (reason, message) = h
            .not_writable
            .as_ref()
            .map(|n| (n.cause.as_str(), n.cause.describe()))
            .unwrap_or(("unknown", "unknown"));
        (
            StatusCode::SERVICE_UNAVAILABLE,
            axum::Json(json!({
                "status": "error",
                "database": "not_writable",
                "reason": reason,
                "message": message,
                "backend": h.backend,
            })),
        )
    }
}

async fn metrics(State(st): State<AppState>) -> impl IntoResponse {
    metrics::counter!("parley_store_reads_total").absolute(st.svc.store_reads());
    let body = st.metrics.as_ref().map(|h| h.render()).unwrap_or_default();
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], body)
}

/// A listener that counts its open connections in the `parley_http_connections_open` gauge:
/// +1 when a connection is accepted, -1 when its stream is dropped (closed by either side,
/// including WebSockets, which keep the same stream after the upgrade). Costs one atomic
/// add per connection, nothing per request.
pub struct CountingListener<L> {
    inner: L,
}

impl<L> CountingListener<L> {
    pub fn new(inner: L) -> Self {
        Self { inner }
    }
}

impl<L: Listener> Listener for CountingListener<L> {
    type Io = Counted<L::Io>;
    type Addr = L::Addr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        let (io, addr) = self.inner.accept().await;
        metrics::gauge!(CONNECTIONS_OPEN).increment(1.0);
        (Counted { io }, addr)
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        self.inner.local_addr()
    }
}

/// A connection's stream that takes itself off the gauge when dropped.
pub struct Counted<T> {
    io: T,
}

impl<T> Drop for Counted<T> {
    fn drop(&mut self) {
        metrics::gauge!(CONNECTIONS_OPEN).decrement(1.0);
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for Counted<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_read(cx, buf)
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for Counted<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.io).poll_write(cx, buf)
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
        Pin::new(&mut self.io).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }
}

/// The TCP peer of a connection accepted by a [`CountingListener`], made available to
/// handlers as `ConnectInfo<PeerAddr>` (per-client rate limits need it).
#[derive(Clone, Copy, Debug)]
pub struct PeerAddr(pub std::net::SocketAddr);

impl<'a, L>
    axum::extract::connect_info::Connected<axum::serve::IncomingStream<'a, CountingListener<L>>>
    for PeerAddr
where
    L: Listener<Addr = std::net::SocketAddr>,
{
    fn connect_info(stream: axum::serve::IncomingStream<'a, CountingListener<L>>) -> Self {
        PeerAddr(*stream.remote_addr())
    }
}
