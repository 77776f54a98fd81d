//! Opening many WebSockets and keeping count of what happens to them.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Mutex;
use std::time::Duration;

use futures::StreamExt;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;

use crate::error::{Error, Result};
use crate::target::SourceRotation;
use crate::ws::{self, Frame, Ws};

/// How long one connection may take from `connect` to the server's `ready` frame.
pub const READY_TIMEOUT: Duration = Duration::from_secs(30);

/// Counts of named outcomes (error codes, close reasons), for the report.
#[derive(Debug, Default)]
pub struct Tally(Mutex<BTreeMap<String, u64>>);

impl Tally {
    pub fn add(&self, key: impl Into<String>) {
        if let Ok(mut m) = self.0.lock() {
            *m.entry(key.into()).or_default() += 1;
        }
    }

    pub fn snapshot(&self) -> BTreeMap<String, u64> {
        self.0.lock().map(|m| m.clone()).unwrap_or_default()
    }

    pub fn total(&self) -> u64 {
        self.0.lock().map(|m| m.values().sum()).unwrap_or(0)
    }
}

/// Connects and waits for the server's `ready` frame, so a connection counts as held only
/// once the server has registered it.
pub async fn open_ready(
    server: SocketAddr,
    sources: Option<&SourceRotation>,
    index: usize,
    url: &str,
    api_access_token: Option<&str>,
) -> Result<Ws> {
    let source = sources.map(|s| s.for_connection(index));
    let fut = async {
        let mut ws = ws::connect(server, source, url, api_access_token).await?;
        loop {
            match ws.next().await {
                Some(Ok(Message::Text(t))) => {
                    if Frame::parse(&t).is_some_and(|f| f.event == "ready") {
                        return Ok(ws);
                    }
                }
                Some(Ok(Message::Close(c))) => {
                    return Err(Error::Ws {
                        what: "waiting for ready".into(),
                        message: close_reason(c.as_ref()),
                    });
                }
                Some(Ok(_)) => {}
                Some(Err(e)) => {
                    return Err(Error::Ws {
                        what: "waiting for ready".into(),
                        message: e.to_string(),
                    });
                }
                None => {
                    return Err(Error::Ws {
                        what: "waiting for ready".into(),
                        message: "connection closed".into(),
                    });
                }
            }
        }
    };
    tokio::time::timeout(READY_TIMEOUT, fut)
        .await
        .map_err(|_| Error::Ws {
            what: "waiting for ready".into(),
            message: format!("no ready frame within {READY_TIMEOUT:?}"),
        })?
}

/// `close 4008 slow_consumer` for the report.
pub fn close_reason(c: Option<&CloseFrame>) -> String {
    match c {
        Some(f) if f.reason.is_empty() => format!("close {}", u16::from(f.code)),
        Some(f) => format!("close {} {}", u16::from(f.code), f.reason),
        None => "close (no code)".to_string(),
    }
}

/// A short, stable key for an error (without addresses or ports), for tallies.
pub fn error_key(e: &Error) -> String {
    let s = e.to_string();
    let s = s.split(" (os error").next().unwrap_or(&s);
    s.chars().take(120).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

    #[test]
    fn tally_counts_keys() {
        let t = Tally::default();
        t.add("a");
        t.add("b");
        t.add("a");
        assert_eq!(t.total(), 3);
        assert_eq!(t.snapshot().get("a"), Some(&2));
    }

    #[test]
    fn close_reasons_name_code_and_reason() {
        let f = CloseFrame {
            code: CloseCode::Library(4008),
            reason: "slow_consumer".into(),
        };
        assert_eq!(close_reason(Some(&f)), "close 4008 slow_consumer");
        let f = CloseFrame {
            code: CloseCode::Away,
            reason: "".into(),
        };
        assert_eq!(close_reason(Some(&f)), "close 1001");
        assert_eq!(close_reason(None), "close (no code)");
    }

    #[test]
    fn error_keys_drop_os_error_numbers() {
        let e = Error::Ws {
            what: "connect".into(),
            message: "Connection refused (os error 111)".into(),
        };
        assert_eq!(error_key(&e), "WebSocket connect: Connection refused");
    }
}
