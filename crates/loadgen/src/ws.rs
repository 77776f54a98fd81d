//! Opening WebSockets from a chosen loopback source address, with small buffers, and
//! reading the few fields of the server's frames that the workloads need.
//!
//! Each socket is bound to its source address before `connect`, so a run can spread tens
//! of thousands of connections over 127.0.0.2, 127.0.0.3… (about 28,000 ephemeral ports
//! each). Buffers are 4 KiB instead of tungstenite's 128 KiB default, so loadgen's own
//! memory stays small next to the server's when holding ~19,000 sockets.

use std::borrow::Cow;
use std::net::{IpAddr, SocketAddr};

use serde::Deserialize;
use tokio::net::{TcpSocket, TcpStream};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

use crate::error::{Error, Result};

pub type Ws = WebSocketStream<TcpStream>;

/// Read and write buffers of a few KiB; frames here are well under that.
pub fn config() -> WebSocketConfig {
    WebSocketConfig::default()
        .read_buffer_size(4096)
        .write_buffer_size(0)
        .max_write_buffer_size(1 << 20)
        .max_message_size(Some(1 << 20))
        .max_frame_size(Some(1 << 20))
}

/// Connects `url` (a `ws://` URL on `server`) from `source`, with an optional
/// `api_access_token` header, and completes the WebSocket handshake.
pub async fn connect(
    server: SocketAddr,
    source: Option<IpAddr>,
    url: &str,
    api_access_token: Option<&str>,
) -> Result<Ws> {
    let fail = |what: &str, e: &dyn std::fmt::Display| Error::Ws {
        what: what.to_string(),
        message: e.to_string(),
    };
    let socket = if server.is_ipv4() {
        TcpSocket::new_v4()
    } else {
        TcpSocket::new_v6()
    }
    .map_err(|e| fail("socket", &e))?;
    if let Some(src) = source {
        // Lets a new run reuse ports still in TIME_WAIT from the previous one.
        socket
            .set_reuseaddr(true)
            .map_err(|e| fail("SO_REUSEADDR", &e))?;
        socket
            .bind(SocketAddr::new(src, 0))
            .map_err(|e| fail(&format!("bind {src}"), &e))?;
    }
    let stream = socket
        .connect(server)
        .await
        .map_err(|e| fail("connect", &e))?;
    stream
        .set_nodelay(true)
        .map_err(|e| fail("TCP_NODELAY", &e))?;
    let mut req = url.into_client_request().map_err(|e| fail("request", &e))?;
    if let Some(t) = api_access_token {
        let v = HeaderValue::from_str(t).map_err(|e| fail("api_access_token header", &e))?;
        req.headers_mut().insert("api_access_token", v);
    }
    let (ws, _) = tokio_tungstenite::client_async_with_config(req, stream, Some(config()))
        .await
        .map_err(|e| fail("handshake", &e))?;
    Ok(ws)
}

/// The fields of a server frame the workloads look at; the rest of the frame is skipped
/// without being built into a JSON tree.
#[derive(Debug, Deserialize)]
pub struct Frame<'a> {
    #[serde(borrow)]
    pub event: Cow<'a, str>,
    #[serde(borrow, default)]
    pub echo_id: Option<Cow<'a, str>>,
    /// Stored events' position in the account's stream, for resuming.
    #[serde(default)]
    pub cursor: Option<i64>,
    #[serde(borrow, default)]
    pub data: Option<FrameData<'a>>,
    #[serde(borrow, default)]
    pub error: Option<FrameError<'a>>,
}

#[derive(Debug, Deserialize)]
pub struct FrameData<'a> {
    #[serde(borrow, default)]
    pub echo_id: Option<Cow<'a, str>>,
}

#[derive(Debug, Deserialize)]
pub struct FrameError<'a> {
    #[serde(borrow, default)]
    pub code: Option<Cow<'a, str>>,
}

impl<'a> Frame<'a> {
    pub fn parse(text: &'a str) -> Option<Self> {
        serde_json::from_str(text).ok()
    }

    /// The `echo_id` of a `message.ack` / `error` (top level) or `message.created`
    /// (inside `data`).
    pub fn any_echo_id(&self) -> Option<&str> {
        self.echo_id
            .as_deref()
            .or_else(|| self.data.as_ref().and_then(|d| d.echo_id.as_deref()))
    }
}

/// `echo_id`s are `<run>-<index>`: the run tag tells this run's messages from any other
/// traffic on the account, and the index gives the message's scheduled send time, so a
/// receiver computes latency without a shared table.
pub fn echo_id(run: &str, index: u64) -> String {
    format!("{run}-{index}")
}

/// The index of an `echo_id` of run `run`, or `None` for someone else's message.
pub fn echo_index(run: &str, echo: &str) -> Option<u64> {
    echo.strip_prefix(run)?.strip_prefix('-')?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_ack_created_and_error_frames() {
        let ack = r#"{"event":"message.ack","echo_id":"r1-5","data":{"id":9,"content":"x","echo_id":"r1-5"}}"#;
        let f = Frame::parse(ack).unwrap();
        assert_eq!(f.event, "message.ack");
        assert_eq!(f.any_echo_id(), Some("r1-5"));

        let created = r#"{"event":"message.created","cursor":42,"data":{"id":9,"content":"a \"quoted\" \u00e9","echo_id":"r1-6","sender":{"id":1}}}"#;
        let f = Frame::parse(created).unwrap();
        assert_eq!(f.event, "message.created");
        assert_eq!(f.cursor, Some(42));
        assert_eq!(f.any_echo_id(), Some("r1-6"));

        let err = r#"{"event":"error","echo_id":"r1-7","error":{"code":"rate_limited","message":"slow down"}}"#;
        let f = Frame::parse(err).unwrap();
        assert_eq!(f.error.unwrap().code.as_deref(), Some("rate_limited"));

        let ready = r#"{"event":"ready","cursor":0}"#;
        let f = Frame::parse(ready).unwrap();
        assert_eq!(f.event, "ready");
        assert_eq!(f.any_echo_id(), None);

        let no_echo = r#"{"event":"message.created","data":{"id":1,"echo_id":null}}"#;
        assert_eq!(Frame::parse(no_echo).unwrap().any_echo_id(), None);
        assert!(Frame::parse("not json").is_none());
    }

    #[test]
    fn echo_ids_carry_the_run_and_index() {
        let e = echo_id("lg7f3a", 12345);
        assert_eq!(e, "lg7f3a-12345");
        assert_eq!(echo_index("lg7f3a", &e), Some(12345));
        assert_eq!(echo_index("lg7f3b", &e), None);
        assert_eq!(echo_index("lg7f3", &e), None);
        assert_eq!(echo_index("lg7f3a", "lg7f3a-x"), None);
        assert_eq!(echo_index("lg7f3a", "c-1"), None);
    }

    #[test]
    fn buffers_are_small() {
        let c = config();
        assert_eq!(c.read_buffer_size, 4096);
        assert!(c.max_write_buffer_size > c.write_buffer_size);
    }
}
