//! The WebSocket endpoints of agents and visitors (docs/realtime.md): authentication before
//! the upgrade, replay of missed events from a cursor, then live events from the node's hub,
//! with heartbeats and a bounded queue per connection.
//!
//! Why one task per connection and small buffers: a node must hold ~19,000 idle sockets in
//! well under 200 MB, so a connection owns one future (no reader/writer task pair), a 1 KiB
//! read buffer instead of tungstenite's 128 KiB default, and shares each event's rendered
//! frame with every other agent connection instead of serialising it again.

use std::pin::Pin;
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket, WebSocketUpgrade};
use axum::extract::{FromRequestParts, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::Response;
use axum::routing::get;
use futures::stream::FuturesUnordered;
use futures::{SinkExt, StreamExt};
use parley_service::AccountCtx;
use parley_service::access::{Credential, Grant};
use parley_service::messages::{Audience, CreateMessage};
use parley_service::public::PublicIdentity;
use parley_service::realtime::{Delivery, PAGE, PresenceKey, Replay, Subscription, Viewer};
use serde::Deserialize;
use serde_json::{Value, json};
use tracing::Instrument;

use crate::AppState;
use crate::auth::Auth;
use crate::error::ApiError;
use crate::extract::Query;
use crate::public_auth::ClientIp;

/// Largest text frame a client may send.
const MAX_FRAME: usize = 64 * 1024;

/// The node's heartbeat clock: one task ticks every `ws_heartbeat` and every live socket
/// waits on the same watch channel, instead of each socket holding an interval timer of
/// its own (memory for every idle connection, and one timer wheel entry each).
#[derive(Clone)]
pub struct Heartbeat(tokio::sync::watch::Receiver<()>);

impl Heartbeat {
    /// Starts the clock on the current runtime; it stops once every receiver is gone.
    pub fn start(period: Duration) -> Self {
        let (tx, rx) = tokio::sync::watch::channel(());
        tokio::spawn(async move {
            let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                if tx.send(()).is_err() {
                    break;
                }
            }
        });
        Self(rx)
    }

    /// A receiver that wakes at the next tick (not for ticks before now).
    fn subscribe(&self) -> tokio::sync::watch::Receiver<()> {
        let mut rx = self.0.clone();
        rx.mark_unchanged();
        rx
    }
}
/// Client requests (sends, typing, read) a connection may have in flight at once; beyond
/// it the server stops reading that socket until one finishes.
const MAX_IN_FLIGHT: usize = 32;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/accounts/{account_id}/realtime", get(agent_socket))
        .route("/public/api/v1/realtime", get(visitor_socket))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AgentParams {
    cursor: Option<i64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct VisitorParams {
    pubsub_token: String,
    cursor: Option<i64>,
}

/// An agent authenticated for a WebSocket: like `Acct`, and when the credential is the
/// session cookie the `Origin` must be Parley's own (a page on another site could
/// otherwise open a socket with the operator's cookie). Keeps the credential, which the
/// hub re-checks whenever the user's access changes.
struct WsAgent(AccountCtx, Credential, u64);

impl FromRequestParts<AppState> for WsAgent {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        // Read before the credential is checked (see `Hub::access_epoch`).
        let epoch = state.svc.hub.access_epoch();
        let account = crate::auth::Acct::from_request_parts(parts, state).await?;
        let auth = Auth::from_request_parts(parts, state).await?;
        if auth.session.is_some() && !crate::auth::same_origin(parts) {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "csrf",
                "a cookie-authenticated WebSocket must come from Parley's own origin",
            ));
        }
        let credential = match (crate::auth::header_token(parts), auth.session) {
            (Some(token), _) => Credential::Token(token),
            (None, Some(session)) => Credential::Session(session),
            (None, None) => return Err(ApiError::unauthorized()),
        };
        Ok(WsAgent(account.0, credential, epoch))
    }
}

fn upgrade(
    ws: Result<WebSocketUpgrade, axum::extract::ws::rejection::WebSocketUpgradeRejection>,
) -> Result<WebSocketUpgrade, ApiError> {
    let ws = ws.map_err(|_| {
        ApiError::new(
            StatusCode::UPGRADE_REQUIRED,
            "upgrade_required",
            "this endpoint speaks WebSocket only",
        )
    })?;
    Ok(ws
        // Client frames are small (a message, a typing notice): a 512-byte read buffer
        // grows for a larger one and keeps idle sockets cheap.
        .read_buffer_size(512)
        .write_buffer_size(0)
        .max_write_buffer_size(1024 * 1024)
        .max_message_size(MAX_FRAME)
        .max_frame_size(MAX_FRAME))
}

fn check_cursor(cursor: Option<i64>) -> Result<(), ApiError> {
    if cursor.is_some_and(|c| c < 0) {
        let mut e = ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_field",
            "cursor must not be negative",
        );
        e.field = Some("cursor".into());
        return Err(e);
    }
    Ok(())
}

async fn agent_socket(
    State(st): State<AppState>,
    WsAgent(ctx, credential, epoch): WsAgent,
    ClientIp(address): ClientIp,
    Query(p): Query<AgentParams>,
    ws: Result<WebSocketUpgrade, axum::extract::ws::rejection::WebSocketUpgradeRejection>,
) -> Result<Response, ApiError> {
    check_cursor(p.cursor)?;
    let ws = upgrade(ws)?;
    let slot = st
        .ws_slots
        .admit(format!("agent:{}", ctx.user_id), &address)?;
    let viewer = st.svc.agent_viewer(&ctx).await?;
    let grant = Grant::Agent {
        credential,
        user_id: ctx.user_id,
        role: ctx.role,
    };
    let presence = PresenceKey::User(ctx.user_id);
    let account_id = ctx.account_id;
    let admitted = Admitted {
        slot,
        account_id,
        viewer,
        grant,
        epoch,
        presence,
        cursor: p.cursor,
    };
    admitted.upgrade(st, ws, Side::Agent(ctx)).await
}

async fn visitor_socket(
    State(st): State<AppState>,
    ClientIp(address): ClientIp,
    Query(p): Query<VisitorParams>,
    ws: Result<WebSocketUpgrade, axum::extract::ws::rejection::WebSocketUpgradeRejection>,
) -> Result<Response, ApiError> {
    check_cursor(p.cursor)?;
    // Read before the credential is checked (see `Hub::access_epoch`).
    let epoch = st.svc.hub.access_epoch();
    let token = p.pubsub_token.trim();
    if token.is_empty() || token.len() > 128 {
        return Err(ApiError::unauthorized());
    }
    let ident = st
        .svc
        .identity_by_pubsub_token(token)
        .await?
        .ok_or_else(ApiError::unauthorized)?;
    let ws = upgrade(ws)?;
    let slot = st
        .ws_slots
        .admit(format!("visitor:{}", ident.contact_inbox_id), &address)?;
    let audience = st.svc.public_audience(&ident).await?;
    let viewer = Viewer::Visitor {
        contact_id: ident.contact_id,
        inbox_id: ident.inbox_id,
    };
    let grant = Grant::Visitor {
        pubsub_token: token.to_string(),
        contact_id: ident.contact_id,
    };
    let presence = PresenceKey::Contact {
        contact_id: ident.contact_id,
        inbox_id: ident.inbox_id,
    };
    let admitted = Admitted {
        slot,
        account_id: ident.account_id,
        viewer,
        grant,
        epoch,
        presence,
        cursor: p.cursor,
    };
    admitted
        .upgrade(st, ws, Side::Visitor { ident, audience })
        .await
}

/// A socket that passed its checks (credential, slot, cursor): what both kinds of socket
/// need to subscribe and run.
struct Admitted {
    slot: crate::ws_slots::SocketSlot,
    account_id: i64,
    viewer: Viewer,
    grant: Grant,
    /// The access epoch read before the credential was checked.
    epoch: u64,
    presence: PresenceKey,
    cursor: Option<i64>,
}

impl Admitted {
    /// Subscribes to the account's events and answers the upgrade; the connection then
    /// runs with its slot and presence held until it closes.
    async fn upgrade(
        self,
        st: AppState,
        ws: WebSocketUpgrade,
        side: Side,
    ) -> Result<Response, ApiError> {
        let sub = st
            .svc
            .hub
            .subscribe(self.account_id, self.viewer, self.grant, self.epoch)
            .await?;
        let (slot, account_id, presence, cursor) =
            (self.slot, self.account_id, self.presence, self.cursor);
        // No tracing span is held open per socket (it would cost memory for every idle
        // connection); each frame's work gets its own span (`Connection::span`).
        Ok(ws.on_upgrade(move |socket| async move {
            let _slot = slot;
            let _present = st.svc.connected(account_id, presence);
            Connection::new(st, side, sub, socket, cursor).run().await
        }))
    }
}

/// Who is on the other end.
enum Side {
    Agent(AccountCtx),
    Visitor {
        ident: PublicIdentity,
        audience: Audience,
    },
}

/// A frame from the client.
#[derive(Deserialize)]
#[serde(tag = "type")]
enum ClientFrame {
    #[serde(rename = "ping")]
    Ping,
    #[serde(rename = "message.create")]
    MessageCreate {
        conversation_id: i64,
        content: Option<String>,
        echo_id: Option<String>,
        #[serde(default)]
        private: bool,
    },
    #[serde(rename = "typing")]
    Typing {
        conversation_id: i64,
        status: String,
    },
    #[serde(rename = "read")]
    Read { conversation_id: i64 },
}

/// An answer to a client frame; `None` when there is nothing to say (typing, read).
type Reply = Pin<Box<dyn Future<Output = Option<String>> + Send>>;

/// Why a connection ends, with the close frame sent for it.
enum End {
    /// The peer went away; nothing more to send.
    Gone,
    /// The peer sent a close frame: the answering one (RFC 6455 §5.5.1, queued by the
    /// protocol layer with the peer's code) must still be flushed, or browsers report an
    /// unclean close (1006).
    PeerClosed,
    Close(u16, &'static str),
}

struct Connection {
    st: AppState,
    side: Side,
    sub: Subscription,
    socket: WebSocket,
    /// The last cursor sent: replayed and live events at or below it are duplicates.
    last_sent: i64,
    /// A visitor's conversations, looked up once: a conversation never changes hands, so
    /// sending needs no database read per message.
    conversations: ConversationCache,
    cursor: Option<i64>,
}

impl Connection {
    fn new(
        st: AppState,
        side: Side,
        sub: Subscription,
        socket: WebSocket,
        cursor: Option<i64>,
    ) -> Self {
        Self {
            st,
            side,
            sub,
            socket,
            last_sent: 0,
            conversations: ConversationCache::default(),
            cursor,
        }
    }

    /// A span naming this connection for one piece of work (the replay, a client frame):
    /// made per use, so an idle socket holds none.
    fn span(&self, work: &'static str) -> tracing::Span {
        match &self.side {
            Side::Agent(ctx) => tracing::info_span!(
                "websocket",
                side = "agent",
                work,
                account_id = ctx.account_id,
                user_id = ctx.user_id
            ),
            Side::Visitor { ident, .. } => tracing::info_span!(
                "websocket",
                side = "visitor",
                work,
                account_id = ident.account_id,
                contact_id = ident.contact_id
            ),
        }
    }

    async fn run(mut self) {
        metrics::gauge!("parley_ws_connections").increment(1.0);
        let span = self.span("replay");
        // Boxed: the replay's database futures are large and needed once; inline, every
        // idle socket's task would keep room for them for its whole life.
        let replay = Box::pin(self.replay().instrument(span));
        let end = match replay.await {
            Ok(()) => self.live().await,
            Err(end) => end,
        };
        match end {
            End::Close(code, reason) => {
                let close = Message::Close(Some(CloseFrame {
                    code,
                    reason: Utf8Bytes::from_static(reason),
                }));
                // Best effort, and never stuck behind a peer that stopped reading.
                let _ = tokio::time::timeout(Duration::from_secs(1), self.socket.send(close)).await;
            }
            End::PeerClosed => {
                let _ = tokio::time::timeout(Duration::from_secs(1), self.socket.flush()).await;
            }
            End::Gone => {}
        }
        metrics::gauge!("parley_ws_connections").decrement(1.0);
    }

    fn heartbeat(&self) -> Duration {
        self.st.cfg.ws_heartbeat
    }

    async fn send(&mut self, text: String) -> Result<(), End> {
        self.send_message(Message::Text(text.into())).await
    }

    /// The frame a live delivery becomes for this client: none for a cursor already sent
    /// (it came with the replay) or for an event this side does not see.
    fn frame_of(&mut self, d: &Delivery) -> Option<String> {
        if let Some(seq) = d.event.cursor {
            if seq <= self.last_sent {
                return None;
            }
            self.last_sent = seq;
        }
        self.render(d)
    }

    /// Writes several frames and flushes once, within the same limit as one frame.
    async fn send_batch(&mut self, frames: Vec<String>) -> Result<(), End> {
        if frames.is_empty() {
            return Ok(());
        }
        let socket = &mut self.socket;
        let write = async move {
            for f in frames {
                socket.feed(Message::Text(f.into())).await?;
            }
            socket.flush().await
        };
        match tokio::time::timeout(self.st.cfg.ws_heartbeat * 2, write).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(_)) => Err(End::Gone),
            Err(_) => Err(End::Close(4008, "slow_consumer")),
        }
    }

    /// Sends a frame; a peer that takes longer than two heartbeats to accept it is a slow
    /// consumer (its TCP window stayed full).
    async fn send_message(&mut self, m: Message) -> Result<(), End> {
        let limit = self.heartbeat() * 2;
        match tokio::time::timeout(limit, self.socket.send(m)).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(_)) => Err(End::Gone),
            Err(_) => Err(End::Close(4008, "slow_consumer")),
        }
    }

    fn render(&self, d: &Delivery) -> Option<String> {
        if d.event.cursor.is_none() && self.is_own(&d.event.data) {
            // Nobody needs their own typing indicator or read receipt echoed back.
            return None;
        }
        match &self.side {
            Side::Agent(_) => Some(d.agent_frame().to_string()),
            Side::Visitor { audience, .. } => {
                d.visitor_frame(&self.st.svc.config.public_url, audience)
            }
        }
    }

    /// Whether an ephemeral event's `user` is this connection's own identity.
    fn is_own(&self, data: &Value) -> bool {
        let user = &data["user"];
        match &self.side {
            Side::Agent(ctx) => user["type"] == "user" && user["id"] == ctx.user_id,
            Side::Visitor { ident, .. } => {
                user["type"] == "contact" && user["id"] == ident.contact_id
            }
        }
    }

    /// Sends what the client missed since its cursor, then `ready`.
    async fn replay(&mut self) -> Result<(), End> {
        if let Some(cursor) = self.cursor {
            self.last_sent = cursor;
            loop {
                let page = self
                    .st
                    .svc
                    .replay(self.sub.account_id(), self.sub.viewer(), self.last_sent)
                    .await;
                match page {
                    Ok(Replay::Resync) => {
                        self.send(
                            json!({"event": "resync", "reason": "cursor_expired"}).to_string(),
                        )
                        .await?;
                        self.last_sent = 0;
                        self.cursor = None;
                        break;
                    }
                    Ok(Replay::Events(events)) => {
                        let n = events.len();
                        for e in events {
                            let seq = e.cursor.unwrap_or(0);
                            let d = Delivery::new(e);
                            if let Some(text) = self.render(&d) {
                                self.send(text).await?;
                            }
                            self.last_sent = seq;
                        }
                        if n < PAGE as usize {
                            break;
                        }
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "replay failed");
                        return Err(End::Close(1011, "replay_failed"));
                    }
                }
            }
        }
        // Everything up to the subscription's start was replayed (or predates a client that
        // came without a cursor), and everything after it arrives live: that is the cursor
        // to resume from, even if no event has been sent yet.
        self.last_sent = self.last_sent.max(self.sub.start);
        self.send(json!({"event": "ready", "cursor": self.last_sent}).to_string())
            .await
    }

    async fn live(&mut self) -> End {
        let heartbeat = self.heartbeat();
        // The node's one heartbeat clock (see `Heartbeat`), not a timer per socket.
        let mut tick = self.st.heartbeat.subscribe();
        let mut last_heard = Instant::now();
        let mut in_flight: FuturesUnordered<Reply> = FuturesUnordered::new();
        let mut shutdown = self.st.shutdown.clone();
        if *shutdown.borrow() {
            return End::Close(1001, "going_away");
        }
        loop {
            tokio::select! {
                msg = self.socket.recv(), if in_flight.len() < MAX_IN_FLIGHT => {
                    last_heard = Instant::now();
                    match msg {
                        None => return End::Gone,
                        // A protocol violation or an oversized frame.
                        Some(Err(_)) => return End::Close(1002, "protocol_error"),
                        Some(Ok(Message::Text(t))) => {
                            let span = self.span("frame");
                            if let Some(reply) = span.in_scope(|| self.client_frame(t.as_str())) {
                                in_flight.push(Box::pin(reply.instrument(span)));
                            }
                        }
                        Some(Ok(Message::Binary(_))) => return End::Close(1003, "text_frames_only"),
                        Some(Ok(Message::Close(_))) => return End::PeerClosed,
                        Some(Ok(_)) => {}
                    }
                }
                d = self.sub.rx.recv() => match d {
                    Some(d) => {
                        // Whatever else is already queued goes out with it: one flush (one
                        // write to the socket) for a burst, such as a committed batch.
                        let mut frames = Vec::new();
                        frames.extend(self.frame_of(&d));
                        while frames.len() < 64 {
                            match self.sub.rx.try_recv() {
                                Some(d) => frames.extend(self.frame_of(&d)),
                                None => break,
                            }
                        }
                        // The sends below are boxed: awaited inline, their futures (a write
                        // with its timeout) would be part of every idle socket's task.
                        if let Err(end) = Box::pin(self.send_batch(frames)).await {
                            return end;
                        }
                    }
                    None => {
                        return match (self.sub.overflowed(), self.sub.revoked()) {
                            (true, _) => End::Close(4008, "slow_consumer"),
                            (false, Some(code)) => End::Close(code.code(), code.reason()),
                            (false, None) => End::Close(1011, "hub_stopped"),
                        };
                    }
                },
                Some(reply) = in_flight.next(), if !in_flight.is_empty() => {
                    if let Some(text) = reply
                        && let Err(end) = Box::pin(self.send(text)).await
                    {
                        return end;
                    }
                }
                Ok(()) = tick.changed() => {
                    if last_heard.elapsed() > heartbeat * 2 {
                        return End::Close(4000, "heartbeat_timeout");
                    }
                    if let Err(end) = Box::pin(self.send_message(Message::Ping(Default::default()))).await {
                        return end;
                    }
                }
                _ = shutdown.changed() => return End::Close(1001, "going_away"),
            }
        }
    }

    /// Handles a client frame: an immediate answer, or a future answering later (sends
    /// are acknowledged only after the commit).
    fn client_frame(&mut self, text: &str) -> Option<Reply> {
        let parsed: ClientFrame = match serde_json::from_str(text) {
            Ok(f) => f,
            Err(e) => {
                let echo = serde_json::from_str::<Value>(text)
                    .ok()
                    .and_then(|v| v.get("echo_id").cloned())
                    .unwrap_or(Value::Null);
                let reply = error_frame(echo, "invalid_request", &e.to_string(), None);
                return Some(Box::pin(async move { Some(reply) }));
            }
        };
        // A NUL is refused here as on every other entry point (see `crate::input`).
        if parley_core::validate::json_has_nul_escape(text.as_bytes()) {
            let echo = serde_json::from_str::<Value>(text)
                .ok()
                .and_then(|v| v.get("echo_id").cloned())
                .unwrap_or(Value::Null);
            let reply = error_frame(
                echo,
                "invalid_characters",
                "the frame must not contain NUL characters (\\u0000)",
                None,
            );
            return Some(Box::pin(async move { Some(reply) }));
        }
        let svc = self.st.svc.clone();
        match (parsed, &self.side) {
            (ClientFrame::Ping, _) => Some(Box::pin(async {
                Some(json!({"event": "pong"}).to_string())
            })),
            (
                ClientFrame::MessageCreate {
                    conversation_id,
                    content,
                    echo_id,
                    private,
                },
                Side::Agent(ctx),
            ) => {
                let ctx = ctx.clone();
                Some(Box::pin(async move {
                    let echo = echo_id.clone();
                    let req = CreateMessage {
                        content,
                        message_type: None,
                        private: Some(private),
                        content_type: None,
                        content_attributes: None,
                        echo_id,
                        source_id: None,
                        uploads: Vec::new(),
                    };
                    Some(
                        match svc.agent_create_message(&ctx, conversation_id, req).await {
                            Ok(m) => ack(echo, &m),
                            Err(e) => service_error(echo, e),
                        },
                    )
                }))
            }
            (
                ClientFrame::MessageCreate {
                    conversation_id,
                    content,
                    echo_id,
                    private,
                },
                Side::Visitor { ident, audience },
            ) => {
                let ident = ident.clone();
                let audience = audience.clone();
                let convs = self.conversations.clone();
                Some(Box::pin(async move {
                    let echo = echo_id.clone();
                    if private {
                        return Some(error_frame(
                            echo.map_or(Value::Null, Value::from),
                            "invalid_field",
                            "visitors cannot send private notes",
                            Some("private"),
                        ));
                    }
                    let cached = convs
                        .lock()
                        .ok()
                        .and_then(|c| c.get(&conversation_id).cloned());
                    let conv = match cached {
                        Some(c) => c,
                        None => match svc.public_conversation_row(&ident, conversation_id).await {
                            Ok(c) => {
                                if let Ok(mut map) = convs.lock() {
                                    if map.len() >= 32 {
                                        map.clear();
                                    }
                                    map.insert(conversation_id, c.clone());
                                }
                                c
                            }
                            Err(e) => return Some(service_error(echo, e)),
                        },
                    };
                    Some(
                        match svc
                            .public_write(&ident, &conv, &audience, content, echo_id, Vec::new())
                            .await
                        {
                            Ok(m) => ack(echo, &m),
                            Err(e) => service_error(echo, e),
                        },
                    )
                }))
            }
            (
                ClientFrame::Typing {
                    conversation_id,
                    status,
                },
                side,
            ) => {
                let side = side_ref(side);
                Some(Box::pin(async move {
                    let r = match &side {
                        SideRef::Agent(ctx) => {
                            svc.agent_typing(ctx, conversation_id, &status, false).await
                        }
                        SideRef::Visitor(ident) => {
                            svc.public_typing(ident, conversation_id, &status).await
                        }
                    };
                    r.err().map(|e| service_error(None, e))
                }))
            }
            (ClientFrame::Read { conversation_id }, side) => {
                let side = side_ref(side);
                Some(Box::pin(async move {
                    let r = match &side {
                        SideRef::Agent(ctx) => {
                            svc.agent_seen(ctx, conversation_id).await.map(|_| ())
                        }
                        SideRef::Visitor(ident) => svc.public_seen(ident, conversation_id).await,
                    };
                    r.err().map(|e| service_error(None, e))
                }))
            }
        }
    }
}

type ConversationCache = std::sync::Arc<
    std::sync::Mutex<
        std::collections::HashMap<i64, parley_service::conversations::ConversationRow>,
    >,
>;

/// An owned copy of the side's identity, for a reply future.
enum SideRef {
    Agent(AccountCtx),
    Visitor(PublicIdentity),
}

fn side_ref(side: &Side) -> SideRef {
    match side {
        Side::Agent(ctx) => SideRef::Agent(ctx.clone()),
        Side::Visitor { ident, .. } => SideRef::Visitor(ident.clone()),
    }
}

fn ack<T: serde::Serialize>(echo_id: Option<String>, m: &T) -> String {
    json!({"event": "message.ack", "echo_id": echo_id, "data": m}).to_string()
}

fn service_error(echo_id: Option<String>, e: parley_service::ServiceError) -> String {
    let api = ApiError::from(e);
    error_frame(
        echo_id.map_or(Value::Null, Value::from),
        api.code,
        &api.message,
        api.field.as_deref(),
    )
}

fn error_frame(echo_id: Value, code: &str, message: &str, field: Option<&str>) -> String {
    let mut error = json!({"code": code, "message": message});
    if let Some(f) = field {
        error["field"] = Value::from(f);
    }
    json!({"event": "error", "echo_id": echo_id, "error": error}).to_string()
}
