//! The NATS event bus between two "nodes" (two `NatsBus` instances in one process, each with
//! its own connection and node id). Needs a NATS server: `PARLEY_TEST_NATS_URL`, e.g.
//! `nats://127.0.0.1:4222`; without it the tests that need one print why and pass.
//!
//! Every test uses its own random subject prefix, so parallel tests (and other people's
//! runs on the same server) never see each other's events.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use parley_bus::nats::{NODE_HEADER, random_node_id};
use parley_bus::{BusError, Event, EventBus, NatsBus, NatsOptions};
use tokio::sync::broadcast::{self, error::TryRecvError};

/// Upper bound on any single wait; a healthy local NATS answers in milliseconds.
const WAIT: Duration = Duration::from_secs(10);

fn nats_url() -> Option<String> {
    match std::env::var("PARLEY_TEST_NATS_URL") {
        Ok(url) if !url.is_empty() => Some(url),
        _ => {
            assert!(
                std::env::var_os("PARLEY_REQUIRE_SERVICES").is_none(),
                "PARLEY_REQUIRE_SERVICES is set: this test must not be skipped"
            );
            eprintln!("skipped: PARLEY_TEST_NATS_URL is not set (e.g. nats://127.0.0.1:4222)");
            None
        }
    }
}

fn options() -> NatsOptions {
    NatsOptions {
        subject_prefix: format!("parley-test-{}", random_node_id()),
        ..NatsOptions::default()
    }
}

/// Event number `seq` of node `origin`, spread over five accounts.
fn event(origin: &str, seq: i64) -> Event {
    Event {
        account_id: 1 + seq % 5,
        name: "message.created".into(),
        conversation_id: Some(seq),
        inbox_id: None,
        contact_id: None,
        public: false,
        cursor: None,
        data: serde_json::json!({ "origin": origin, "seq": seq }),
    }
}

fn marker(name: &str) -> Event {
    Event {
        account_id: 1,
        name: name.into(),
        conversation_id: None,
        inbox_id: None,
        contact_id: None,
        public: false,
        cursor: None,
        data: serde_json::json!({}),
    }
}

async fn recv(rx: &mut broadcast::Receiver<Arc<Event>>) -> Arc<Event> {
    match tokio::time::timeout(WAIT, rx.recv()).await {
        Ok(Ok(ev)) => ev,
        Ok(Err(e)) => panic!("receiver failed: {e}"),
        Err(_) => panic!("no event within {WAIT:?}"),
    }
}

/// Receives into `into` until an event named `name` arrives (included).
async fn recv_until(rx: &mut broadcast::Receiver<Arc<Event>>, name: &str, into: &mut Vec<Event>) {
    loop {
        let ev = recv(rx).await;
        let done = ev.name == name;
        into.push((*ev).clone());
        if done {
            return;
        }
    }
}

/// Waits a moment, then asserts nothing more arrived (no late duplicate).
async fn assert_quiet(rx: &mut broadcast::Receiver<Arc<Event>>, node: &str) {
    tokio::time::sleep(Duration::from_millis(200)).await;
    match rx.try_recv() {
        Err(TryRecvError::Empty) => {}
        other => panic!("node {node}: unexpected extra delivery {other:?}"),
    }
}

/// Asserts that `got` holds node `origin`'s events `0..n`, each exactly once and in order.
fn assert_sequence(got: &[Event], origin: &str, n: i64, node: &str) {
    let from: Vec<&Event> = got
        .iter()
        .filter(|e| e.name == "message.created" && e.data["origin"] == origin)
        .collect();
    assert_eq!(
        from.len() as i64,
        n,
        "node {node}: events from {origin} received {} times for {n} published",
        from.len()
    );
    for (i, ev) in from.iter().enumerate() {
        assert_eq!(
            **ev,
            event(origin, i as i64),
            "node {node}: event {i} from {origin} out of order or altered"
        );
    }
}

fn count_named(got: &[Event], name: &str) -> usize {
    got.iter().filter(|e| e.name == name).count()
}

#[tokio::test]
async fn unreachable_nats_is_a_clear_startup_error() {
    // Port 1 on loopback: nothing listens there, the connection is refused at once.
    let opts = NatsOptions {
        connect_timeout: Duration::from_secs(3),
        ..NatsOptions::default()
    };
    let started = Instant::now();
    let err = match NatsBus::connect_with("nats://user:hunter2@127.0.0.1:1", "n1", opts).await {
        Ok(_) => panic!("connected to a port where nothing listens"),
        Err(e) => e,
    };
    assert!(started.elapsed() < Duration::from_secs(10));
    assert!(matches!(err, BusError::Connect { .. }), "{err:?}");
    let msg = err.to_string();
    assert!(msg.contains("nats://127.0.0.1:1"), "{msg}");
    assert!(!msg.contains("hunter2"), "credentials leaked: {msg}");
}

#[tokio::test]
async fn invalid_prefix_or_node_id_is_refused() {
    let opts = NatsOptions {
        subject_prefix: "parley.*".into(),
        ..NatsOptions::default()
    };
    // Checked before connecting, so this needs no server.
    let res = NatsBus::connect_with("nats://127.0.0.1:1", "n1", opts).await;
    assert!(matches!(res, Err(BusError::InvalidPrefix(_))));
    let res = NatsBus::connect_with("nats://127.0.0.1:1", " ", NatsOptions::default()).await;
    assert!(matches!(res, Err(BusError::InvalidNodeId(_))));
}

#[tokio::test]
async fn two_nodes_deliver_every_event_once_in_order() {
    let Some(url) = nats_url() else { return };
    let opts = options();
    let a = NatsBus::connect_with(&url, "node-a", opts.clone())
        .await
        .expect("connect a");
    let b = NatsBus::connect_with(&url, "node-b", opts)
        .await
        .expect("connect b");
    let mut rx_a = a.subscribe();
    let mut rx_b = b.subscribe();

    // Both nodes publish at once, 1,000 events each over five accounts.
    const N: i64 = 1000;
    for seq in 0..N {
        a.publish(event("a", seq));
        b.publish(event("b", seq));
        if seq % 100 == 99 {
            tokio::task::yield_now().await;
        }
    }

    let mut got_a = Vec::new();
    let mut got_b = Vec::new();
    for _ in 0..2 * N {
        got_a.push((*recv(&mut rx_a).await).clone());
    }
    for _ in 0..2 * N {
        got_b.push((*recv(&mut rx_b).await).clone());
    }

    // A ping-pong of markers: NATS delivers to a connection in the order the server
    // handled the messages, so once a node hears the other's marker — sent only after the
    // other heard everything before it — any echo of its own events would already be here.
    a.publish(marker("done-a"));
    recv_until(&mut rx_b, "done-a", &mut got_b).await;
    b.publish(marker("done-b"));
    recv_until(&mut rx_a, "done-b", &mut got_a).await;
    a.publish(marker("done-a2"));
    recv_until(&mut rx_b, "done-a2", &mut got_b).await;
    // A's own markers were delivered locally at publish time, before done-b arrived.
    while let Ok(ev) = rx_a.try_recv() {
        got_a.push((*ev).clone());
    }
    assert_quiet(&mut rx_a, "a").await;
    assert_quiet(&mut rx_b, "b").await;

    for (node, got) in [("a", &got_a), ("b", &got_b)] {
        assert_sequence(got, "a", N, node);
        assert_sequence(got, "b", N, node);
        for m in ["done-a", "done-b", "done-a2"] {
            assert_eq!(count_named(got, m), 1, "node {node}: marker {m}");
        }
        assert_eq!(got.len() as i64, 2 * N + 3, "node {node}: extra events");
    }
    assert_eq!(a.dropped(), 0);
    assert_eq!(b.dropped(), 0);
}

/// A metrics recorder that counts `parley_bus_dropped_total`, whatever its labels.
#[derive(Default)]
struct DroppedCounter(Arc<AtomicU64>);

impl metrics::Recorder for DroppedCounter {
    fn describe_counter(
        &self,
        _: metrics::KeyName,
        _: Option<metrics::Unit>,
        _: metrics::SharedString,
    ) {
    }
    fn describe_gauge(
        &self,
        _: metrics::KeyName,
        _: Option<metrics::Unit>,
        _: metrics::SharedString,
    ) {
    }
    fn describe_histogram(
        &self,
        _: metrics::KeyName,
        _: Option<metrics::Unit>,
        _: metrics::SharedString,
    ) {
    }
    fn register_counter(&self, key: &metrics::Key, _: &metrics::Metadata<'_>) -> metrics::Counter {
        if key.name() == "parley_bus_dropped_total" {
            metrics::Counter::from_arc(self.0.clone())
        } else {
            metrics::Counter::noop()
        }
    }
    fn register_gauge(&self, _: &metrics::Key, _: &metrics::Metadata<'_>) -> metrics::Gauge {
        metrics::Gauge::noop()
    }
    fn register_histogram(
        &self,
        _: &metrics::Key,
        _: &metrics::Metadata<'_>,
    ) -> metrics::Histogram {
        metrics::Histogram::noop()
    }
}

// One thread: the burst runs without yielding, so the forwarding task cannot drain the
// queue meanwhile and exactly `queue_capacity` events get through.
#[tokio::test(flavor = "current_thread")]
async fn a_burst_beyond_the_queue_drops_instead_of_blocking() {
    let Some(url) = nats_url() else { return };
    const QUEUE: usize = 8;
    const BURST: i64 = 3000;
    let opts = options();
    let a = NatsBus::connect_with(
        &url,
        "node-a",
        NatsOptions {
            queue_capacity: QUEUE,
            ..opts.clone()
        },
    )
    .await
    .expect("connect a");
    let b = NatsBus::connect_with(&url, "node-b", opts)
        .await
        .expect("connect b");
    let mut rx_a = a.subscribe();
    let mut rx_b = b.subscribe();

    let recorder = DroppedCounter::default();
    let started = Instant::now();
    metrics::with_local_recorder(&recorder, || {
        for seq in 0..BURST {
            a.publish(event("a", seq));
        }
    });
    let took = started.elapsed();
    assert!(
        took < Duration::from_secs(2),
        "publishing blocked: {took:?}"
    );

    let expected_drops = BURST as u64 - QUEUE as u64;
    assert_eq!(a.dropped(), expected_drops);
    assert_eq!(recorder.0.load(Ordering::Relaxed), expected_drops);

    // Local subscribers still hear everything: local delivery does not wait for NATS.
    let mut got_a = Vec::new();
    for _ in 0..BURST {
        got_a.push((*recv(&mut rx_a).await).clone());
    }
    assert_sequence(&got_a, "a", BURST, "a");

    // The other node hears exactly what fit in the queue, then the marker.
    a.publish(marker("done-a"));
    let mut got_b = Vec::new();
    recv_until(&mut rx_b, "done-a", &mut got_b).await;
    assert_quiet(&mut rx_b, "b").await;
    assert_sequence(&got_b, "a", QUEUE as i64, "b");
    assert_eq!(got_b.len(), QUEUE + 1);
}

#[tokio::test]
async fn events_from_elsewhere_are_checked() {
    let Some(url) = nats_url() else { return };
    let opts = options();
    let prefix = opts.subject_prefix.clone();
    let a = NatsBus::connect_with(&url, "node-a", opts.clone())
        .await
        .expect("connect a");
    let b = NatsBus::connect_with(&url, "node-b", opts)
        .await
        .expect("connect b");
    let mut rx_a = a.subscribe();
    let mut rx_b = b.subscribe();
    let raw = async_nats::connect(url.as_str()).await.expect("raw client");
    let json = |e: &Event| serde_json::to_vec(e).expect("encode").into();

    // Not JSON: ignored by both, and the subscription survives it.
    raw.publish(format!("{prefix}.events.1"), "not json".into())
        .await
        .expect("publish");
    // Body says account 1, subject says account 2: ignored by both.
    raw.publish(format!("{prefix}.events.2"), json(&marker("wrong-account")))
        .await
        .expect("publish");
    // Carries node A's id: A treats it as its own echo and skips it; B delivers it.
    let mut headers = async_nats::HeaderMap::new();
    headers.insert(NODE_HEADER, "node-a");
    raw.publish_with_headers(
        format!("{prefix}.events.1"),
        headers,
        json(&marker("as-node-a")),
    )
    .await
    .expect("publish");
    // No node header (a tool or another service): everyone delivers it.
    raw.publish(format!("{prefix}.events.1"), json(&marker("foreign")))
        .await
        .expect("publish");
    raw.flush().await.expect("flush");

    assert_eq!(recv(&mut rx_a).await.name, "foreign");
    assert_eq!(recv(&mut rx_b).await.name, "as-node-a");
    assert_eq!(recv(&mut rx_b).await.name, "foreign");
    assert_quiet(&mut rx_a, "a").await;
    assert_quiet(&mut rx_b, "b").await;
}

#[tokio::test]
async fn deployments_with_different_prefixes_never_hear_each_other() {
    let Some(url) = nats_url() else { return };
    // Three deployments on one NATS server; the third's prefix starts with the first's
    // (`x` and `x.events`), the case a `<prefix>.>` subscription would get wrong.
    let base = format!("iso-{}", random_node_id());
    let prefixes = [
        base.clone(),
        format!("iso-{}", random_node_id()),
        format!("{base}.events"),
    ];
    let mut nodes = Vec::new();
    for (i, prefix) in prefixes.iter().enumerate() {
        let opts = NatsOptions {
            subject_prefix: prefix.clone(),
            ..NatsOptions::default()
        };
        let a = NatsBus::connect_with(&url, &format!("{i}-a"), opts.clone())
            .await
            .expect("connect a");
        let b = NatsBus::connect_with(&url, &format!("{i}-b"), opts)
            .await
            .expect("connect b");
        let rx = b.subscribe();
        nodes.push((a, b, rx));
    }
    for (i, (a, _, _)) in nodes.iter().enumerate() {
        a.publish(marker(&format!("from-{i}")));
    }
    for (i, (_, _, rx)) in nodes.iter_mut().enumerate() {
        assert_eq!(recv(rx).await.name, format!("from-{i}"), "deployment {i}");
        assert_quiet(rx, &format!("deployment {i}")).await;
    }
}
