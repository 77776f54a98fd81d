//! The event bus across nodes, over core NATS publish/subscribe.
//!
//! Every node publishes each event as JSON on `<prefix>.<account_id>` (default prefix
//! `parley.events`) with its node id in the [`NODE_HEADER`] header, and listens on
//! `<prefix>.>` to hear the other nodes. Whatever a node hears ends up in one local
//! broadcast channel, the same one [`EventBus::subscribe`] hands out, so WebSocket and
//! webhook code neither knows nor cares which node an event came from.
//!
//! Delivery is at most once: core NATS keeps nothing for a node that is disconnected or too
//! slow, and the publish queue sheds load when NATS cannot keep up. That is deliberate —
//! events are published only after the change is durable, and a client that missed one
//! catches up from the database through its resume cursor. The bus carries the live tail
//! cheaply; the store is the source of truth.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_nats::{Client, ConnectOptions, HeaderMap, Subscriber};
use futures::StreamExt;
use tokio::sync::{broadcast, mpsc};
use tokio::task::AbortHandle;
use tracing::Instrument;

use crate::{Event, EventBus};

/// Header naming the node that published an event: how a node recognises (and skips) its
/// own events coming back from NATS, and how an operator watching `nats sub` sees where an
/// event came from.
pub const NODE_HEADER: &str = "Parley-Node";

/// Deployment prefix used unless configured otherwise (`nats_subject_prefix`): events go
/// out on `parley.events.<account_id>`.
pub const DEFAULT_SUBJECT_PREFIX: &str = "parley";

/// The subject of an account's events under a deployment prefix. Events have their own
/// token after the prefix and the account number is exactly one token after that, so the
/// subscription `<prefix>.events.*` matches no subject of another prefix, not even one that
/// starts with ours (`parley` and `parley.events` stay apart).
pub fn events_subject(prefix: &str, account_id: i64) -> String {
    format!("{prefix}.events.{account_id}")
}

/// Why the NATS bus could not start.
#[derive(Debug, thiserror::Error)]
pub enum BusError {
    /// The server could not be reached, refused us, or the address is malformed. The URL
    /// in the message has any credentials removed.
    #[error("cannot connect to NATS at {url}: {source}")]
    Connect {
        url: String,
        #[source]
        source: async_nats::ConnectError,
    },
    /// The subscription to other nodes' events failed.
    #[error("cannot subscribe to {subject} on NATS: {source}")]
    Subscribe {
        subject: String,
        #[source]
        source: async_nats::SubscribeError,
    },
    /// The server did not confirm the subscription, so events from other nodes could be
    /// missed from the start.
    #[error("NATS did not confirm the subscription: {0}")]
    Confirm(String),
    /// The node id is empty or cannot travel in a header (line breaks).
    #[error("invalid node id {0:?}")]
    InvalidNodeId(String),
    /// The subject prefix is not a plain dot-separated NATS subject.
    #[error(
        "invalid NATS subject prefix {0:?}: use dot-separated tokens without spaces or wildcards"
    )]
    InvalidPrefix(String),
}

/// Tuning of a [`NatsBus`]; the defaults suit a production node.
#[derive(Debug, Clone)]
pub struct NatsOptions {
    /// Events waiting to go out to NATS. Bounded so that a NATS outage costs dropped
    /// events (counted in `parley_bus_dropped_total`), not unbounded memory.
    pub queue_capacity: usize,
    /// Capacity of the local broadcast channel; a subscriber further behind is told it
    /// lagged, as with [`crate::LocalBus`].
    pub local_capacity: usize,
    /// The deployment's prefix: events go out on `<subject_prefix>.events.<account_id>` and
    /// the connection's reply inboxes live under `<subject_prefix>._INBOX`. Separate
    /// deployments (or test runs) sharing one NATS server use different prefixes to stay
    /// apart.
    pub subject_prefix: String,
    /// Bound on the initial connection, so a server that cannot reach NATS fails to start
    /// promptly instead of hanging.
    pub connect_timeout: Duration,
}

impl Default for NatsOptions {
    fn default() -> Self {
        Self {
            queue_capacity: 8192,
            local_capacity: 4096,
            subject_prefix: DEFAULT_SUBJECT_PREFIX.to_string(),
            connect_timeout: Duration::from_secs(5),
        }
    }
}

/// Counters shared between the publishing side and the background tasks.
#[derive(Default)]
struct Stats {
    dropped: AtomicU64,
    /// Second (since the epoch) of the last "dropping events" warning, so a burst of drops
    /// logs about once a second instead of once per event.
    last_warn_sec: AtomicU64,
}

impl Stats {
    fn dropped(&self, reason: &'static str) {
        metrics::counter!("parley_bus_dropped_total", "reason" => reason).increment(1);
        let total = self.dropped.fetch_add(1, Ordering::Relaxed) + 1;
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        let last = self.last_warn_sec.load(Ordering::Relaxed);
        if last != now
            && self
                .last_warn_sec
                .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
        {
            tracing::warn!(
                reason,
                dropped_total = total,
                "event bus is dropping events for other nodes; their clients will catch up from storage"
            );
        }
    }
}

/// [`EventBus`] shared by every node connected to the same NATS server (or cluster).
///
/// Local delivery happens first: `publish` hands the event to this node's subscribers at
/// once, then queues it for NATS; the copy NATS would echo back is suppressed (the
/// connection asks the server not to echo, and anything that still carries this node's id
/// in [`NODE_HEADER`] is skipped). So every node delivers each event exactly once, the
/// publishing node without a round trip through NATS — the common case of a visitor and
/// an agent on the same node pays no network latency, and local delivery keeps working
/// while NATS is down.
///
/// Order: events published by one node reach every node in publication order (one queue,
/// one connection, and NATS keeps per-connection order). Events of different nodes may
/// interleave differently on different nodes.
pub struct NatsBus {
    node_id: Arc<str>,
    local: broadcast::Sender<Arc<Event>>,
    queue: mpsc::Sender<Arc<Event>>,
    stats: Arc<Stats>,
    client: Client,
    receiver: AbortHandle,
}

impl NatsBus {
    /// Connects with the default [`NatsOptions`]. Fails if NATS is unreachable: a node that
    /// silently ran alone would split the deployment without anyone noticing.
    pub async fn connect(url: &str, node_id: &str) -> Result<Self, BusError> {
        Self::connect_with(url, node_id, NatsOptions::default()).await
    }

    /// Connects, subscribes to the other nodes' events and starts the background tasks.
    /// When this returns, the subscription is confirmed by the server, so no event
    /// published afterwards by another node is missed.
    pub async fn connect_with(
        url: &str,
        node_id: &str,
        options: NatsOptions,
    ) -> Result<Self, BusError> {
        let prefix = options.subject_prefix.trim_end_matches('.').to_string();
        if !valid_prefix(&prefix) {
            return Err(BusError::InvalidPrefix(options.subject_prefix));
        }
        if node_id.trim().is_empty() || node_id.contains(['\r', '\n']) {
            return Err(BusError::InvalidNodeId(node_id.to_string()));
        }
        let node_id: Arc<str> = Arc::from(node_id);
        let cb_node = node_id.clone();
        let client = ConnectOptions::new()
            .name(format!("parley-{node_id}"))
            // Our own events were delivered locally at publish time; not having the
            // server send them back saves a copy of all our traffic.
            .no_echo()
            // Reply subjects under our prefix too, so NATS permissions can confine a
            // deployment to `<prefix>.>`.
            .custom_inbox_prefix(format!("{prefix}._INBOX"))
            .connection_timeout(options.connect_timeout)
            .event_callback(move |event| {
                let node = cb_node.clone();
                async move { log_connection_event(&node, event) }
            })
            .connect(url)
            .await
            .map_err(|source| BusError::Connect {
                url: redact(url),
                source,
            })?;

        let wildcard = format!("{prefix}.events.*");
        let subscriber =
            client
                .subscribe(wildcard.clone())
                .await
                .map_err(|source| BusError::Subscribe {
                    subject: wildcard.clone(),
                    source,
                })?;
        confirm_round_trip(&client, options.connect_timeout).await?;

        let (local, _) = broadcast::channel(options.local_capacity.max(16));
        let (queue, queue_rx) = mpsc::channel(options.queue_capacity.max(1));
        let stats = Arc::new(Stats::default());

        let receiver = tokio::spawn(
            receive(subscriber, local.clone(), node_id.clone(), prefix.clone())
                .instrument(tracing::info_span!("nats_bus_receive", node = %node_id)),
        )
        .abort_handle();
        tokio::spawn(
            forward(
                client.clone(),
                queue_rx,
                node_id.clone(),
                prefix.clone(),
                stats.clone(),
            )
            .instrument(tracing::info_span!("nats_bus_forward", node = %node_id)),
        );
        tracing::info!(node = %node_id, url = %redact(url), subjects = %wildcard, "event bus connected to NATS");

        Ok(Self {
            node_id,
            local,
            queue,
            stats,
            client,
            receiver,
        })
    }

    /// This node's id, as sent in [`NODE_HEADER`].
    pub fn node_id(&self) -> &str {
        &self.node_id
    }

    /// Events that never left this node (queue full, or NATS refused them) since start.
    pub fn dropped(&self) -> u64 {
        self.stats.dropped.load(Ordering::Relaxed)
    }

    /// Whether the NATS connection is up right now (for health reporting).
    pub fn is_connected(&self) -> bool {
        self.client.connection_state() == async_nats::connection::State::Connected
    }
}

impl Drop for NatsBus {
    fn drop(&mut self) {
        // The forwarding task ends by itself once the queue's sender is gone (after sending
        // what is queued); the receiving task would listen forever, so stop it.
        self.receiver.abort();
    }
}

impl EventBus for NatsBus {
    fn publish(&self, event: Event) {
        let event = Arc::new(event);
        // No local subscribers is not an error: nobody on this node is listening.
        let _ = self.local.send(event.clone());
        match self.queue.try_send(event) {
            Ok(()) => {}
            Err(mpsc::error::TrySendError::Full(_)) => self.stats.dropped("queue_full"),
            Err(mpsc::error::TrySendError::Closed(_)) => self.stats.dropped("closed"),
        }
    }

    fn subscribe(&self) -> broadcast::Receiver<Arc<Event>> {
        self.local.subscribe()
    }
}

/// A random node id, different for every process: events must be told apart from another
/// node's even when two processes run on one host. Randomness comes from the standard
/// library's per-process hash keys, mixed with the process id and the clock.
pub fn random_node_id() -> String {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u32(std::process::id());
    h.write_u128(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0),
    );
    format!("{:016x}", h.finish())
}

/// Waits until the server has processed everything this connection sent so far, the
/// subscription included. `Client::flush` only writes the socket; without a real round trip
/// another node's first events can reach the server before our SUB does and be lost. A
/// request to a fresh inbox nobody listens on is answered by the server itself ("no
/// responders"), after it handled our earlier commands in order.
async fn confirm_round_trip(client: &Client, limit: Duration) -> Result<(), BusError> {
    use async_nats::client::RequestErrorKind;
    let probe = client.new_inbox();
    match tokio::time::timeout(limit, client.request(probe, Default::default())).await {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(e)) if e.kind() == RequestErrorKind::NoResponders => Ok(()),
        Ok(Err(e)) => Err(BusError::Confirm(e.to_string())),
        Err(_) => Err(BusError::Confirm(format!("no answer within {limit:?}"))),
    }
}

/// Drains the publish queue into NATS. Runs until the bus is dropped, then sends what is
/// still queued and flushes, so a clean shutdown does not lose the tail.
async fn forward(
    client: Client,
    mut queue: mpsc::Receiver<Arc<Event>>,
    node_id: Arc<str>,
    prefix: String,
    stats: Arc<Stats>,
) {
    while let Some(event) = queue.recv().await {
        let payload = match serde_json::to_vec(&*event) {
            Ok(p) => p,
            Err(e) => {
                tracing::warn!(error = %e, name = %event.name, "cannot encode event");
                stats.dropped("encode");
                continue;
            }
        };
        let mut headers = HeaderMap::new();
        headers.insert(NODE_HEADER, &*node_id);
        let subject = events_subject(&prefix, event.account_id);
        // While NATS is disconnected this waits on the client's own bounded buffer; our
        // queue then fills and `publish` drops instead of blocking anyone.
        if let Err(e) = client
            .publish_with_headers(subject, headers, payload.into())
            .await
        {
            tracing::warn!(error = %e, "cannot publish event to NATS");
            stats.dropped("publish");
        }
    }
    if let Err(e) = client.flush().await {
        tracing::debug!(error = %e, "final flush to NATS failed");
    }
}

/// Fans events from other nodes into the local broadcast channel.
async fn receive(
    mut subscriber: Subscriber,
    local: broadcast::Sender<Arc<Event>>,
    node_id: Arc<str>,
    prefix: String,
) {
    while let Some(msg) = subscriber.next().await {
        let origin = msg
            .headers
            .as_ref()
            .and_then(|h| h.get(NODE_HEADER))
            .map(|v| v.as_str());
        if origin == Some(&*node_id) {
            // Already delivered locally at publish time.
            continue;
        }
        let event: Event = match serde_json::from_slice(&msg.payload) {
            Ok(e) => e,
            Err(e) => {
                tracing::warn!(error = %e, subject = %msg.subject, "ignoring undecodable event from NATS");
                continue;
            }
        };
        // The subject is what NATS permissions and routing act on; an event whose body
        // claims another account than its subject is suspect, and tenants must never mix.
        if msg.subject.as_str() != events_subject(&prefix, event.account_id) {
            tracing::warn!(subject = %msg.subject, account_id = event.account_id, "ignoring event whose account does not match its subject");
            continue;
        }
        let _ = local.send(Arc::new(event));
    }
    tracing::info!("NATS subscription ended");
}

fn log_connection_event(node: &str, event: async_nats::Event) {
    use async_nats::Event as E;
    match event {
        E::Connected => tracing::info!(node, "NATS connected"),
        E::Disconnected => tracing::warn!(
            node,
            "NATS disconnected; reconnecting (events for other nodes are dropped meanwhile)"
        ),
        E::SlowConsumer(_) => {
            tracing::warn!(
                node,
                "NATS dropped events for this node: it reads too slowly"
            )
        }
        other => tracing::warn!(node, event = %other, "NATS connection event"),
    }
}

/// Whether `prefix` is a plain subject: dot-separated tokens of ASCII letters, digits, `-`
/// and `_` (no wildcards, spaces or empty tokens), at most 100 bytes.
pub fn valid_prefix(prefix: &str) -> bool {
    !prefix.is_empty()
        && prefix.len() <= 100
        && prefix.split('.').all(|token| {
            !token.is_empty()
                && token
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        })
}

/// The URL without user information, for logs and error messages.
fn redact(url: &str) -> String {
    let (scheme, rest) = match url.split_once("://") {
        Some((s, r)) => (Some(s), r),
        None => (None, url),
    };
    let authority_end = rest.find('/').unwrap_or(rest.len());
    let rest = match rest[..authority_end].rfind('@') {
        Some(at) => &rest[at + 1..],
        None => rest,
    };
    match scheme {
        Some(s) => format!("{s}://{rest}"),
        None => rest.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redact_removes_credentials() {
        assert_eq!(
            redact("nats://user:secret@127.0.0.1:4222"),
            "nats://127.0.0.1:4222"
        );
        assert_eq!(redact("nats://127.0.0.1:4222"), "nats://127.0.0.1:4222");
        assert_eq!(redact("tok@localhost"), "localhost");
    }

    #[test]
    fn prefixes_are_plain_subjects() {
        assert!(valid_prefix("parley"));
        assert!(valid_prefix("shop_a.parley"));
        assert!(valid_prefix("t-1.events"));
        assert!(!valid_prefix("a.b\u{e9}"));
        assert!(!valid_prefix(""));
        assert!(!valid_prefix("a..b"));
        assert!(!valid_prefix("a.*"));
        assert!(!valid_prefix("a.>"));
        assert!(!valid_prefix("a b"));
    }

    #[test]
    fn node_ids_differ() {
        assert_ne!(random_node_id(), random_node_id());
    }
}
