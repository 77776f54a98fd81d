//! WebSocket clients for the real-time tests: agents and visitors of a [`TestServer`], and
//! a visitor's setup through the Client API.

use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use super::{Actor, TestServer};

type Stream = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// What the server said last on a socket.
#[derive(Debug)]
pub enum Frame {
    Json(Value),
    Closed(Option<(u16, String)>),
}

/// One client socket.
pub struct WsClient {
    stream: Stream,
}

fn ws_url(base: &str, path: &str) -> String {
    format!("{}{}", base.replacen("http://", "ws://", 1), path)
}

impl WsClient {
    /// Opens `path` with extra request headers; returns the HTTP status on refusal.
    pub async fn open(
        base: &str,
        path: &str,
        headers: &[(&str, &str)],
    ) -> Result<WsClient, (u16, Value)> {
        let mut req = ws_url(base, path).into_client_request().expect("request");
        for (k, v) in headers {
            req.headers_mut().insert(
                tokio_tungstenite::tungstenite::http::HeaderName::from_bytes(k.as_bytes())
                    .expect("header name"),
                v.parse().expect("header value"),
            );
        }
        match tokio_tungstenite::connect_async(req).await {
            Ok((stream, _)) => Ok(WsClient { stream }),
            Err(tokio_tungstenite::tungstenite::Error::Http(res)) => {
                let status = res.status().as_u16();
                let body = res
                    .body()
                    .as_ref()
                    .and_then(|b| serde_json::from_slice(b).ok())
                    .unwrap_or(Value::Null);
                Err((status, body))
            }
            Err(e) => panic!("websocket connect failed: {e}"),
        }
    }

    /// An agent's socket (token header), resuming after `cursor` when given.
    pub async fn agent(s: &TestServer, who: &Actor, cursor: Option<i64>) -> WsClient {
        let mut path = format!("/api/v1/accounts/{}/realtime", who.account_id);
        if let Some(c) = cursor {
            path.push_str(&format!("?cursor={c}"));
        }
        Self::open(&s.base, &path, &[("api_access_token", &who.token)])
            .await
            .expect("agent socket opens")
    }

    /// A visitor's socket, resuming after `cursor` when given.
    pub async fn visitor(s: &TestServer, v: &Visitor, cursor: Option<i64>) -> WsClient {
        Self::visitor_at(&s.base, v, cursor).await
    }

    /// A visitor's socket on the server at `base` (another node).
    pub async fn visitor_at(base: &str, v: &Visitor, cursor: Option<i64>) -> WsClient {
        let mut path = format!("/public/api/v1/realtime?pubsub_token={}", v.pubsub_token);
        if let Some(c) = cursor {
            path.push_str(&format!("&cursor={c}"));
        }
        Self::open(base, &path, &[])
            .await
            .expect("visitor socket opens")
    }

    /// Sends a JSON frame.
    pub async fn send(&mut self, v: Value) {
        self.stream
            .send(Message::Text(v.to_string().into()))
            .await
            .expect("send");
    }

    /// Sends a raw frame.
    pub async fn send_raw(&mut self, m: Message) {
        self.stream.send(m).await.expect("send raw");
    }

    /// The next JSON frame or the close; pings are answered by the library.
    pub async fn next(&mut self) -> Frame {
        loop {
            match self.stream.next().await {
                None => return Frame::Closed(None),
                Some(Err(_)) => return Frame::Closed(None),
                Some(Ok(Message::Text(t))) => {
                    return Frame::Json(serde_json::from_str(t.as_str()).expect("JSON frame"));
                }
                Some(Ok(Message::Close(c))) => {
                    return Frame::Closed(
                        c.map(|CloseFrame { code, reason }| (u16::from(code), reason.to_string())),
                    );
                }
                Some(Ok(_)) => {}
            }
        }
    }

    /// The next JSON frame; panics on a close.
    pub async fn json(&mut self) -> Value {
        match self.next().await {
            Frame::Json(v) => v,
            Frame::Closed(c) => panic!("socket closed: {c:?}"),
        }
    }

    /// The next frame whose `event` is `name`, skipping others.
    pub async fn until(&mut self, name: &str) -> Value {
        loop {
            let v = self.json().await;
            if v["event"] == name {
                return v;
            }
        }
    }

    /// Reads up to `ready` and returns what came before it, and the ready frame.
    pub async fn until_ready(&mut self) -> (Vec<Value>, Value) {
        let mut before = Vec::new();
        loop {
            let v = self.json().await;
            if v["event"] == "ready" {
                return (before, v);
            }
            before.push(v);
        }
    }

    /// Drops the TCP connection without a close handshake (a network cut).
    pub fn cut(self) {
        drop(self.stream);
    }
}

/// A visitor with a contact and one conversation in an inbox, made through the Client API.
#[derive(Debug, Clone)]
pub struct Visitor {
    pub inbox_identifier: String,
    pub source_id: String,
    pub pubsub_token: String,
    pub conversation_id: i64,
}

impl Visitor {
    pub async fn new(s: &TestServer, inbox_identifier: &str) -> Visitor {
        let res = s
            .http
            .post(s.url(&format!(
                "/public/api/v1/inboxes/{inbox_identifier}/contacts"
            )))
            .json(&json!({"name": "Visitor"}))
            .send()
            .await
            .expect("contact");
        assert!(res.status().is_success());
        let contact: Value = res.json().await.expect("json");
        let source_id = contact["source_id"]
            .as_str()
            .expect("source_id")
            .to_string();
        let pubsub_token = contact["pubsub_token"]
            .as_str()
            .expect("pubsub_token")
            .to_string();
        let res = s
            .http
            .post(s.url(&format!(
                "/public/api/v1/inboxes/{inbox_identifier}/contacts/{source_id}/conversations"
            )))
            .json(&json!({}))
            .send()
            .await
            .expect("conversation");
        assert!(res.status().is_success());
        let conv: Value = res.json().await.expect("json");
        Visitor {
            inbox_identifier: inbox_identifier.into(),
            source_id,
            pubsub_token,
            conversation_id: conv["id"].as_i64().expect("id"),
        }
    }

    /// Another conversation of the same visitor.
    pub async fn new_conversation(&self, s: &TestServer) -> i64 {
        let res = s
            .http
            .post(s.url(&format!(
                "/public/api/v1/inboxes/{}/contacts/{}/conversations",
                self.inbox_identifier, self.source_id
            )))
            .json(&json!({}))
            .send()
            .await
            .expect("conversation");
        let conv: Value = res.json().await.expect("json");
        conv["id"].as_i64().expect("id")
    }

    /// Posts a message over REST; returns its id.
    pub async fn post(&self, s: &TestServer, conversation_id: i64, text: &str) -> i64 {
        let res = s
            .http
            .post(s.url(&format!(
                "/public/api/v1/inboxes/{}/contacts/{}/conversations/{conversation_id}/messages",
                self.inbox_identifier, self.source_id
            )))
            .json(&json!({"content": text}))
            .send()
            .await
            .expect("message");
        assert!(res.status().is_success(), "{}", res.status());
        let m: Value = res.json().await.expect("json");
        m["id"].as_i64().expect("id")
    }
}

/// An API inbox of the actor's account; returns (id, inbox_identifier).
pub async fn api_inbox(s: &TestServer, admin: &Actor, name: &str) -> (i64, String) {
    let (st, inbox) = s
        .post(
            &admin.token,
            &format!("/api/v1/accounts/{}/inboxes", admin.account_id),
            json!({"name": name, "channel": {"type": "api"}}),
        )
        .await;
    assert!(st.is_success(), "{st} {inbox}");
    (
        inbox["id"].as_i64().expect("id"),
        inbox["inbox_identifier"]
            .as_str()
            .expect("identifier")
            .to_string(),
    )
}
