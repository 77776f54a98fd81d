//! A stand-in for Parley's real-time endpoints, for tests of the workloads' own counting:
//! it answers the token check, greets every socket with `ready`, acknowledges each
//! visitor `message.create` and broadcasts it to every agent socket as `message.created`.
//! `drop_every` makes it forget one message in N (no ack, no broadcast), so tests can
//! check that losses are reported; `kick_agent_after` closes the first agent socket with
//! 4008 after that many events, and an agent reconnecting with `?cursor=N` gets the events
//! after N replayed before `ready`, as the real server does.
//!
//! `start_cluster` runs several such nodes over one log (a shared database and bus), and
//! stores a repeated `echo_id` once, acknowledging it again, as Parley does. One node can
//! die: after it has stored and broadcast its N-th message it drops every connection
//! without sending that message's ack and stops accepting, as a `kill -9` would leave it.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::handshake::server::{Request, Response};
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

/// The event log (cursor = index + 1), the live agent sockets and the stored messages by
/// echo_id, under one lock so a reconnecting agent's replay and its registration see the
/// same log.
type Log = (
    Vec<String>,
    Vec<mpsc::UnboundedSender<String>>,
    HashMap<String, Value>,
);

#[derive(Default)]
struct State {
    log_and_agents: Mutex<Log>,
    received: AtomicU64,
    /// Per node: set once the node is dead.
    dead: Vec<watch::Sender<bool>>,
    /// (node, n): that node dies after storing its n-th message.
    die: Option<(usize, u64)>,
    received_on: Vec<AtomicU64>,
    drop_every: u64,
    kick_agent_after: u64,
    kicked: std::sync::atomic::AtomicBool,
}

/// Starts the fake server on 127.0.0.1 and returns its address.
pub async fn start(drop_every: u64) -> SocketAddr {
    start_with(drop_every, 0).await
}

/// [`start`], closing the first agent socket with 4008 after `kick_agent_after` events.
pub async fn start_with(drop_every: u64, kick_agent_after: u64) -> SocketAddr {
    let state = State {
        drop_every,
        kick_agent_after,
        ..State::default()
    };
    start_nodes(state, 1).await[0]
}

/// `nodes` fake nodes over one log; node `die.0` dies after storing its `die.1`-th message
/// (`die.1` = 0: none dies).
pub async fn start_cluster(nodes: usize, die: (usize, u64)) -> Vec<SocketAddr> {
    let state = State {
        die: (die.1 > 0).then_some(die),
        ..State::default()
    };
    start_nodes(state, nodes).await
}

async fn start_nodes(mut state: State, nodes: usize) -> Vec<SocketAddr> {
    state.dead = (0..nodes).map(|_| watch::channel(false).0).collect();
    state.received_on = (0..nodes).map(|_| AtomicU64::new(0)).collect();
    let state = Arc::new(state);
    let mut addrs = Vec::new();
    for node in 0..nodes {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        addrs.push(listener.local_addr().unwrap());
        let state = state.clone();
        let mut dead = state.dead[node].subscribe();
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    a = listener.accept() => match a {
                        Ok((s, _)) => {
                            let state = state.clone();
                            let mut dead = state.dead[node].subscribe();
                            // A dead node's connections all drop at once.
                            tokio::spawn(async move {
                                tokio::select! {
                                    _ = serve(s, state.clone(), node) => {}
                                    _ = dead.wait_for(|d| *d) => {}
                                }
                            });
                        }
                        Err(_) => return,
                    },
                    // The listener is dropped: new connections are refused.
                    _ = dead.wait_for(|d| *d) => return,
                }
            }
        });
    }
    addrs
}

async fn serve(mut s: TcpStream, state: Arc<State>, node: usize) {
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
    let mut cursor: Option<usize> = None;
    // The callback's signature is tungstenite's; its error type is not ours to shrink.
    #[allow(clippy::result_large_err)]
    let cb = |req: &Request, resp: Response| {
        path = req.uri().path().to_string();
        cursor = req
            .uri()
            .query()
            .and_then(|q| q.strip_prefix("cursor="))
            .and_then(|c| c.parse().ok());
        Ok(resp)
    };
    let Ok(ws) = tokio_tungstenite::accept_hdr_async(s, cb).await else {
        return;
    };
    let (mut sink, mut stream) = ws.split();
    if path.starts_with("/api/v1/accounts/") {
        let (tx, mut rx) = mpsc::unbounded_channel::<String>();
        let replay: Vec<String> = {
            let Ok(mut g) = state.log_and_agents.lock() else {
                return;
            };
            g.1.push(tx);
            g.0[cursor.unwrap_or(g.0.len()).min(g.0.len())..].to_vec()
        };
        for t in replay {
            if sink.send(Message::text(t)).await.is_err() {
                return;
            }
        }
        if sink
            .send(Message::text(r#"{"event":"ready","cursor":0}"#))
            .await
            .is_err()
        {
            return;
        }
        let mut sent = 0u64;
        loop {
            tokio::select! {
                m = rx.recv() => match m {
                    Some(t) => {
                        if sink.send(Message::text(t)).await.is_err() { return }
                        sent += 1;
                        if state.kick_agent_after > 0
                            && sent >= state.kick_agent_after
                            && !state.kicked.swap(true, Ordering::Relaxed)
                        {
                            let close = CloseFrame { code: CloseCode::Library(4008), reason: "slow_consumer".into() };
                            let _ = sink.send(Message::Close(Some(close))).await;
                            return;
                        }
                    }
                    None => return,
                },
                m = stream.next() => if !matches!(m, Some(Ok(_))) { return },
            }
        }
    }
    if sink
        .send(Message::text(r#"{"event":"ready","cursor":0}"#))
        .await
        .is_err()
    {
        return;
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
        let here = state.received_on[node].fetch_add(1, Ordering::Relaxed) + 1;
        let echo = v["echo_id"].clone();
        let data = {
            let Ok(mut g) = state.log_and_agents.lock() else {
                return;
            };
            let key = echo.as_str().unwrap_or_default().to_string();
            match g.2.get(&key) {
                // A retry: the stored message, acknowledged again, not broadcast again.
                Some(d) => d.clone(),
                None => {
                    let cursor = g.0.len() + 1;
                    let data = json!({"id": cursor, "content": v["content"], "echo_id": echo});
                    let created =
                        json!({"event": "message.created", "cursor": cursor, "data": data})
                            .to_string();
                    g.0.push(created.clone());
                    g.1.retain(|a| a.send(created.clone()).is_ok());
                    g.2.insert(key, data.clone());
                    data
                }
            }
        };
        if state.die == Some((node, here)) {
            // Stored and broadcast, but the ack never leaves: the node dies here.
            state.dead[node].send_replace(true);
            return;
        }
        let ack = json!({"event": "message.ack", "echo_id": echo, "data": data}).to_string();
        if sink.send(Message::text(ack)).await.is_err() {
            return;
        }
    }
}
