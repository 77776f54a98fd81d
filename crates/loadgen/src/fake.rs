//! A stand-in for Parley's real-time endpoints, for tests of the workloads' own counting:
//! it answers the token check, greets every socket with `ready`, acknowledges each
//! visitor `message.create` and broadcasts it to every agent socket as `message.created`.
//! `drop_every` makes it forget one message in N (no ack, no broadcast), so tests can
//! check that losses are reported.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::handshake::server::{Request, Response};

#[derive(Default)]
struct State {
    agents: Mutex<Vec<mpsc::UnboundedSender<String>>>,
    cursor: AtomicU64,
    received: AtomicU64,
    drop_every: u64,
}

/// Starts the fake server on 127.0.0.1 and returns its address.
pub async fn start(drop_every: u64) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let state = Arc::new(State {
        drop_every,
        ..State::default()
    });
    tokio::spawn(async move {
        while let Ok((s, _)) = listener.accept().await {
            tokio::spawn(serve(s, state.clone()));
        }
    });
    addr
}

async fn serve(mut s: TcpStream, state: Arc<State>) {
    // Peek at the request head: a WebSocket upgrade goes to tungstenite untouched.
    let mut buf = vec![0u8; 4096];
    let head = loop {
        let n = s.peek(&mut buf).await.unwrap_or(0);
        let text = String::from_utf8_lossy(&buf[..n]).to_string();
        if text.contains("\r\n\r\n") || n == 0 {
            break text;
        }
        tokio::task::yield_now().await;
    };
    if !head.to_ascii_lowercase().contains("upgrade: websocket") {
        // The token check (GET …/inboxes): read the head, answer, close.
        let mut sink = vec![0u8; head.len()];
        let _ = s.read_exact(&mut sink).await;
        let _ = s
            .write_all(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 14\r\nConnection: close\r\n\r\n{\"payload\":[]}")
            .await;
        return;
    }
    let mut path = String::new();
    // The callback's signature is tungstenite's; its error type is not ours to shrink.
    #[allow(clippy::result_large_err)]
    let cb = |req: &Request, resp: Response| {
        path = req.uri().path().to_string();
        Ok(resp)
    };
    let Ok(ws) = tokio_tungstenite::accept_hdr_async(s, cb).await else {
        return;
    };
    let (mut sink, mut stream) = ws.split();
    if sink
        .send(Message::text(r#"{"event":"ready","cursor":0}"#))
        .await
        .is_err()
    {
        return;
    }
    if path.starts_with("/api/v1/accounts/") {
        let (tx, mut rx) = mpsc::unbounded_channel::<String>();
        if let Ok(mut a) = state.agents.lock() {
            a.push(tx);
        }
        loop {
            tokio::select! {
                m = rx.recv() => match m {
                    Some(t) => if sink.send(Message::text(t)).await.is_err() { return },
                    None => return,
                },
                m = stream.next() => if !matches!(m, Some(Ok(_))) { return },
            }
        }
    }
    while let Some(Ok(m)) = stream.next().await {
        let Message::Text(t) = m else { continue };
        let Ok(v) = serde_json::from_str::<Value>(&t) else {
            continue;
        };
        if v["type"] != "message.create" {
            continue;
        }
        let n = state.received.fetch_add(1, Ordering::Relaxed) + 1;
        if state.drop_every > 0 && n.is_multiple_of(state.drop_every) {
            continue;
        }
        let echo = v["echo_id"].clone();
        let cursor = state.cursor.fetch_add(1, Ordering::Relaxed) + 1;
        let data = json!({"id": cursor, "content": v["content"], "echo_id": echo});
        let created =
            json!({"event": "message.created", "cursor": cursor, "data": data}).to_string();
        let agents: Vec<_> = state.agents.lock().map(|a| a.clone()).unwrap_or_default();
        for a in agents {
            let _ = a.send(created.clone());
        }
        let ack = json!({"event": "message.ack", "echo_id": echo, "data": data}).to_string();
        if sink.send(Message::text(ack)).await.is_err() {
            return;
        }
    }
}
