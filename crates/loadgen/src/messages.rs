//! `loadgen messages`: visitors send at a fixed aggregate rate, agents receive, and the
//! run reports durable messages per second, deliveries per second and latencies.
//!
//! Open loop: message `i` is scheduled at `i / rate` seconds and goes to visitor
//! `i % visitors`. Its `echo_id` is `<run>-<i>`, so whoever sees it (the sender's
//! `message.ack`, an agent's `message.created`) knows its scheduled time without a shared
//! table, and latency is measured from the schedule: a stall delays every message that was
//! due meanwhile, as it would for real users. The service time from the actual send is
//! reported too, so a loadgen that cannot keep up shows as the gap between the two.
//!
//! Counting: a message is *acknowledged* when its sender gets `message.ack` (WebSocket) or
//! a 200 (REST), which the server sends only after the commit. It is *delivered* once per
//! agent socket that receives its `message.created`. Rates count arrivals inside the
//! measured window (after the warm-up); latencies count messages scheduled in it.

use std::collections::{BTreeMap, VecDeque};
use std::net::IpAddr;
use std::sync::atomic::{AtomicU8, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use futures::{SinkExt, StreamExt, stream};
use serde::Serialize;
use tokio::sync::{Semaphore, mpsc, watch};
use tokio_tungstenite::tungstenite::Message;

use crate::api::{self, Api, SetupNeeds, Visitor};
use crate::cli::{MessagesArgs, Transport};
use crate::cluster::Cluster;
use crate::conn::{self, Tally};
use crate::error::{Error, Result};
use crate::hooks;
use crate::limits;
use crate::pacing::Schedule;
use crate::procfs::{self, CpuMark, CpuUse};
use crate::stats::{Latency, LatencySummary};
use crate::target::Target;
use crate::ws::{Frame, Ws, echo_index};

/// A fixed-size set of message indices, shared between tasks.
pub struct AtomicBits(Vec<AtomicU64>, u64);

impl AtomicBits {
    pub fn new(n: u64) -> Self {
        Self((0..n.div_ceil(64)).map(|_| AtomicU64::new(0)).collect(), n)
    }

    /// Sets bit `i`; true if it was not set before. Out of range: false.
    pub fn set(&self, i: u64) -> bool {
        if i >= self.1 {
            return false;
        }
        let Some(w) = self.0.get((i / 64) as usize) else {
            return false;
        };
        let m = 1u64 << (i % 64);
        w.fetch_or(m, Ordering::Relaxed) & m == 0
    }

    #[cfg(test)]
    pub fn get(&self, i: u64) -> bool {
        self.0
            .get((i / 64) as usize)
            .is_some_and(|w| w.load(Ordering::Relaxed) & (1u64 << (i % 64)) != 0)
    }

    fn words(&self) -> impl Iterator<Item = u64> + '_ {
        self.0.iter().map(|w| w.load(Ordering::Relaxed))
    }

    /// How many of `other`'s bits are not set here.
    pub fn missing_from(&self, other: &AtomicBits) -> u64 {
        self.words()
            .zip(other.words())
            .map(|(mine, theirs)| (theirs & !mine).count_ones() as u64)
            .sum()
    }
}

/// A plain bitset for one agent's deliveries (only its own task touches it).
pub struct Bits(Vec<u64>, u64);

impl Bits {
    pub fn new(n: u64) -> Self {
        Self(vec![0; n.div_ceil(64) as usize], n)
    }

    /// Sets bit `i`; true if it was not set before. Out of range: false.
    pub fn set(&mut self, i: u64) -> bool {
        if i >= self.1 {
            return false;
        }
        let Some(w) = self.0.get_mut((i / 64) as usize) else {
            return false;
        };
        let m = 1u64 << (i % 64);
        let fresh = *w & m == 0;
        *w |= m;
        fresh
    }

    /// (in `acked` but not here, here but not in `acked`).
    pub fn diff(&self, acked: &AtomicBits) -> (u64, u64) {
        let mut missing = 0;
        let mut unacked = 0;
        for (mine, a) in self.0.iter().zip(acked.words()) {
            missing += (a & !mine).count_ones() as u64;
            unacked += (mine & !a).count_ones() as u64;
        }
        (missing, unacked)
    }
}

/// State shared by the pacer, the visitor tasks and the agent tasks.
struct Shared {
    run: String,
    schedule: Schedule,
    start: OnceLock<Instant>,
    /// First message index of the measured window.
    warm_index: u64,
    window: (Duration, Duration),
    acked: AtomicBits,
    acked_count: AtomicU64,
    acked_in_window: AtomicU64,
    failed_count: AtomicU64,
    delivered_count: AtomicU64,
    delivered_in_window: AtomicU64,
    sent: AtomicU64,
    errors: Tally,
    disconnects: Tally,
    ack_latency: Mutex<Latency>,
    service_latency: Mutex<Latency>,
    open_visitors: AtomicU64,
    open_agents: AtomicU64,
    agent_reconnects: AtomicU64,
    visitor_reconnects: AtomicU64,
    /// Unacknowledged messages sent again (same echo_id) after their visitor reconnected.
    resent: AtomicU64,
    /// The node each message was last sent through (`NO_NODE` before it is sent), so an
    /// agent can tell a delivery across nodes from one on its own node.
    sent_node: Vec<AtomicU8>,
    /// Messages whose `message_created` reached loadgen's webhook receiver.
    hook_seen: AtomicBits,
    hook_count: AtomicU64,
    hook_in_window: AtomicU64,
    hook_duplicates: AtomicU64,
    hook_latency: Mutex<Latency>,
}

impl Shared {
    fn new(run: String, schedule: Schedule, warmup: u64, duration: u64) -> Self {
        let total = schedule.total();
        Shared {
            run,
            schedule,
            start: OnceLock::new(),
            warm_index: schedule.first_at_or_after(warmup * 1_000_000_000),
            window: (
                Duration::from_secs(warmup),
                Duration::from_secs(warmup + duration),
            ),
            acked: AtomicBits::new(total),
            acked_count: AtomicU64::new(0),
            acked_in_window: AtomicU64::new(0),
            failed_count: AtomicU64::new(0),
            delivered_count: AtomicU64::new(0),
            delivered_in_window: AtomicU64::new(0),
            sent: AtomicU64::new(0),
            errors: Tally::default(),
            disconnects: Tally::default(),
            ack_latency: Mutex::new(Latency::new()),
            service_latency: Mutex::new(Latency::new()),
            open_visitors: AtomicU64::new(0),
            open_agents: AtomicU64::new(0),
            agent_reconnects: AtomicU64::new(0),
            visitor_reconnects: AtomicU64::new(0),
            resent: AtomicU64::new(0),
            sent_node: (0..total).map(|_| AtomicU8::new(NO_NODE)).collect(),
            hook_seen: AtomicBits::new(total),
            hook_count: AtomicU64::new(0),
            hook_in_window: AtomicU64::new(0),
            hook_duplicates: AtomicU64::new(0),
            hook_latency: Mutex::new(Latency::new()),
        }
    }

    fn in_window(&self, now: Instant) -> bool {
        self.start.get().is_some_and(|s| {
            let e = now.saturating_duration_since(*s);
            e >= self.window.0 && e < self.window.1
        })
    }

    /// Latency of message `i` seen at `now`, from its scheduled time.
    fn since_scheduled(&self, i: u64, now: Instant) -> Option<Duration> {
        let s = self.start.get()?;
        Some(now.saturating_duration_since(*s + self.schedule.offset(i)))
    }

    fn on_ack(&self, i: u64, now: Instant, sent_at: Option<Instant>) {
        if !self.acked.set(i) {
            self.errors.add("duplicate ack");
            return;
        }
        self.acked_count.fetch_add(1, Ordering::Relaxed);
        if self.in_window(now) {
            self.acked_in_window.fetch_add(1, Ordering::Relaxed);
        }
        if i >= self.warm_index {
            if let (Some(d), Ok(mut h)) = (self.since_scheduled(i, now), self.ack_latency.lock()) {
                h.record(d);
            }
            if let (Some(t), Ok(mut h)) = (sent_at, self.service_latency.lock()) {
                h.record(now.saturating_duration_since(t));
            }
        }
    }

    /// A webhook delivery of message `echo` arrived at `now`.
    fn on_webhook(&self, echo: &str, now: Instant) {
        let Some(i) = echo_index(&self.run, echo) else {
            return;
        };
        if !self.hook_seen.set(i) {
            self.hook_duplicates.fetch_add(1, Ordering::Relaxed);
            return;
        }
        self.hook_count.fetch_add(1, Ordering::Relaxed);
        if self.in_window(now) {
            self.hook_in_window.fetch_add(1, Ordering::Relaxed);
        }
        if i >= self.warm_index
            && let (Some(d), Ok(mut h)) = (self.since_scheduled(i, now), self.hook_latency.lock())
        {
            h.record(d);
        }
    }

    /// Message `i` goes out through node `node`.
    fn sending_through(&self, i: u64, node: usize) {
        if let Some(n) = self.sent_node.get(i as usize) {
            n.store(node.min(NO_NODE as usize - 1) as u8, Ordering::Relaxed);
        }
    }

    /// Whether message `i` reached an agent on `node` from another node (`None`: unknown).
    fn crossed(&self, i: u64, node: usize) -> Option<bool> {
        let from = self.sent_node.get(i as usize)?.load(Ordering::Relaxed);
        (from != NO_NODE).then_some(from as usize != node)
    }

    fn on_failure(&self, code: &str) {
        self.failed_count.fetch_add(1, Ordering::Relaxed);
        self.errors.add(code.to_string());
    }
}

/// `Shared::sent_node` of a message not sent yet.
const NO_NODE: u8 = u8::MAX;

#[derive(Debug, Serialize)]
pub struct MessagesReport {
    pub mode: &'static str,
    pub transport: &'static str,
    pub visitors: u64,
    pub agents: u64,
    pub offered_rate: u64,
    pub warmup_seconds: u64,
    pub measured_seconds: u64,
    pub visitor_sockets_held: u64,
    pub agent_sockets_held: u64,
    /// Nodes the sockets were spread over (--url, --visitor-nodes, --agent-nodes).
    pub nodes: usize,
    /// Agent sockets reopened with their last cursor after the server closed them (or
    /// their node went away: then on another node).
    pub agent_reconnects: u64,
    /// Visitor sockets reopened (on another node when there is one) after losing theirs.
    pub visitor_reconnects: u64,
    /// Unacknowledged messages sent again with the same echo_id after a reconnect.
    pub resent: u64,
    pub connect_seconds: f64,
    pub scheduled: u64,
    pub sent: u64,
    pub acked: u64,
    pub failed: u64,
    /// Sent but neither acknowledged nor refused when the drain time ran out.
    pub unanswered: u64,
    /// Every answer and every delivery arrived before --drain ran out; when false,
    /// `unanswered` and `deliveries_missing` may include messages still on their way.
    pub drained: bool,
    pub errors: BTreeMap<String, u64>,
    pub disconnects: BTreeMap<String, u64>,
    /// Acknowledgements arriving in the measured window, per second.
    pub acked_per_second: f64,
    /// Agent deliveries arriving in the measured window, per second.
    pub delivered_per_second: f64,
    pub deliveries: u64,
    /// Acknowledged messages × agents.
    pub deliveries_expected: u64,
    /// Acknowledged messages an agent never received, summed over agents.
    pub deliveries_missing: u64,
    pub deliveries_duplicate: u64,
    /// Messages an agent received but whose sender never got an ack.
    pub delivered_unacked: u64,
    pub ack_latency: LatencySummary,
    pub ack_service_time: LatencySummary,
    pub deliver_latency: LatencySummary,
    /// Deliveries to an agent on another node than the one the message was sent through
    /// (a cluster run only).
    pub cross_node_deliver_latency: Option<LatencySummary>,
    /// Deliveries to an agent on the node the message was sent through (a cluster run).
    pub same_node_deliver_latency: Option<LatencySummary>,
    /// The furthest loadgen fell behind its own schedule (its own overload, not the
    /// server's).
    pub max_pacer_lag_ms: f64,
    pub cpu_in_window: CpuUse,
    pub server_rss_before_bytes: Option<u64>,
    pub server_rss_after_bytes: Option<u64>,
    pub loadavg_1m: Option<f64>,
    /// Active automation rules during the run (`--rules`).
    pub automation_rules: u64,
    /// Deliveries to loadgen's webhook receiver (`--webhook-listen`).
    pub webhook: Option<WebhookReport>,
    /// What PostgreSQL wrote per message (`--wal-stats-url`).
    pub wal: Option<crate::walstats::WalReport>,
}

/// The webhook fan-out of a run: every acknowledged message should reach the receiver once.
#[derive(Debug, Serialize)]
pub struct WebhookReport {
    pub received: u64,
    /// Acknowledged messages the receiver never got (when the drain time ran out).
    pub missing: u64,
    pub duplicates: u64,
    /// Deliveries arriving in the measured window, per second.
    pub delivered_per_second: f64,
    /// From each message's scheduled time to its delivery.
    pub latency: LatencySummary,
}

/// What an agent task hands back.
struct AgentResult {
    latency: Latency,
    cross_node: Latency,
    same_node: Latency,
    delivered: Bits,
    duplicates: u64,
}

pub async fn run(args: &MessagesArgs) -> Result<MessagesReport> {
    let s = &args.server;
    let target = s.target()?;
    let sources = s.sources(&target)?;
    let cluster = Arc::new(Cluster::parse(
        &target,
        args.visitor_nodes.as_deref(),
        args.agent_nodes.as_deref(),
    )?);
    s.check_pid()?;
    let schedule = Schedule::for_duration(args.rate, args.send_time(), args.messages);
    args.check_visitor_budget(schedule.total())?;
    let ws_transport = args.transport == Transport::Ws;
    let sockets = args.agents
        + if ws_transport {
            args.visitors
        } else {
            args.max_inflight
        };
    let lim = limits::raise_nofile()?;
    limits::check_fds(
        sockets + s.setup_concurrency as u64 + s.connect_concurrency as u64,
        lim,
    )?;
    let ips: Vec<std::net::IpAddr> = match &sources {
        Some(r) => (0..r.len()).map(|i| r.for_connection(i)).collect(),
        None => vec![target.addr.ip()],
    };
    crate::target::check_port_capacity(sockets as usize, &ips, crate::target::ephemeral_ports())?;

    let concurrency =
        (s.setup_concurrency as u64).max(if ws_transport { 0 } else { args.max_inflight });
    let api = Api::new(&target, &s.token, s.account, concurrency as usize)?;
    let setup = api::prepare(
        &api,
        s.setup_file.as_deref(),
        &SetupNeeds {
            skip: s.skip,
            count: args.visitors as usize,
            conversations: true,
            concurrency: s.setup_concurrency as usize,
        },
    )
    .await?;
    let visitors: Arc<Vec<Visitor>> =
        Arc::new(setup.visitors[s.skip..s.skip + args.visitors as usize].to_vec());
    let inbox_identifier: Arc<str> = setup.inbox_identifier.clone().into();
    drop(setup);

    let run = format!("lg{:x}{:x}", std::process::id(), now_millis() % 0xffff_ffff);
    let shared = Arc::new(Shared::new(run, schedule, args.warmup, args.duration));
    let rules = hooks::create_rules(&api, args.rules).await?;
    let receiver = match args.webhook_listen {
        Some(listen) => {
            let sh = shared.clone();
            let on: hooks::OnDelivery = Arc::new(move |echo, at| sh.on_webhook(echo, at));
            Some(hooks::start_receiver(&api, listen, on).await?)
        }
        None => None,
    };
    let (stop_tx, stop_rx) = watch::channel(false);
    let content: Arc<str> = content_text(args.content_bytes as usize).into();

    // Agents first, so they see every message from the first one on.
    let connect_started = Instant::now();
    let agent_path = format!("/api/v1/accounts/{}/realtime", s.account);
    let mut agent_handles = Vec::new();
    for a in 0..args.agents as usize {
        let dial = Dial {
            cluster: cluster.clone(),
            client: a,
            source: sources.as_ref().map(|r| r.for_connection(a)),
            path: agent_path.clone(),
            token: Some(api.token().to_string()),
            node: cluster.agent_home(a),
        };
        let ws = conn::open_ready(
            dial.target().addr,
            sources.as_ref(),
            a,
            &dial.url(dial.node, None),
            Some(api.token()),
        )
        .await?;
        shared.open_agents.fetch_add(1, Ordering::Relaxed);
        agent_handles.push(tokio::spawn(agent(
            ws,
            dial,
            shared.clone(),
            stop_rx.clone(),
        )));
    }

    let mut senders: Vec<mpsc::UnboundedSender<u64>> = Vec::new();
    if ws_transport {
        let opened: Vec<(Dial, Result<Ws>)> = stream::iter(0..args.visitors as usize)
            .map(|i| {
                let n = args.agents as usize + i;
                let dial = Dial {
                    cluster: cluster.clone(),
                    client: i,
                    source: sources.as_ref().map(|r| r.for_connection(n)),
                    path: format!(
                        "/public/api/v1/realtime?pubsub_token={}",
                        visitors[i].pubsub_token
                    ),
                    token: None,
                    node: cluster.visitor_home(i),
                };
                let sources = sources.as_ref();
                async move {
                    let url = dial.url(dial.node, None);
                    let ws = conn::open_ready(dial.target().addr, sources, n, &url, None).await;
                    (dial, ws)
                }
            })
            .buffered(s.connect_concurrency as usize)
            .collect()
            .await;
        for (dial, r) in opened {
            let i = dial.client;
            let ws = r?;
            let conv = visitors[i].conversation_id.ok_or_else(|| {
                Error::Protocol(format!("visitor {i} has no conversation after setup"))
            })?;
            let (tx, rx) = mpsc::unbounded_channel();
            senders.push(tx);
            shared.open_visitors.fetch_add(1, Ordering::Relaxed);
            tokio::spawn(visitor(
                ws,
                dial,
                conv,
                rx,
                shared.clone(),
                content.clone(),
                stop_rx.clone(),
            ));
        }
    }
    let connect_seconds = connect_started.elapsed().as_secs_f64();
    if let Some(url) = &args.analyze_url {
        crate::walstats::analyze_setup(url).await?;
    }
    eprintln!(
        "messages: {} agent and {} visitor sockets open in {connect_seconds:.1} s; sending {} \
         messages at {}/s ({} s warm-up + {} s measured)",
        shared.open_agents.load(Ordering::Relaxed),
        shared.open_visitors.load(Ordering::Relaxed),
        schedule.total(),
        args.rate,
        args.warmup,
        args.duration
    );

    let rss = || s.server_pid.and_then(|p| procfs::rss_bytes(p).ok());
    let rss_before = rss();
    let mut wal_probe = match &args.wal_stats_url {
        Some(url) => {
            let mut probe = crate::walstats::WalProbe::connect(url).await?;
            let before = probe.read().await?;
            Some((probe, before))
        }
        None => None,
    };
    let start = Instant::now();
    let _ = shared.start.set(start);
    let sem = Arc::new(Semaphore::new(args.max_inflight as usize));
    let mut cpu_mark: Option<CpuMark> = None;
    let mut cpu = CpuUse::default();
    let mut max_lag = Duration::ZERO;
    let mut next = 0u64;
    let total = schedule.total();
    let vcount = args.visitors;
    while next < total {
        let now = Instant::now();
        let due = schedule.due_by(now.saturating_duration_since(start).as_nanos() as u64);
        if next < due {
            max_lag = max_lag.max(now.saturating_duration_since(start + schedule.offset(next)));
        }
        while next < due {
            if next == shared.warm_index {
                cpu_mark = Some(CpuMark::now(s.server_pid));
            }
            let v = (next % vcount) as usize;
            shared.sent.fetch_add(1, Ordering::Relaxed);
            if ws_transport {
                if senders[v].send(next).is_err() {
                    shared.on_failure("visitor socket closed before send");
                }
            } else {
                tokio::spawn(rest_send(
                    api.clone(),
                    inbox_identifier.clone(),
                    visitors.clone(),
                    v,
                    next,
                    shared.clone(),
                    content.clone(),
                    sem.clone(),
                ));
            }
            next += 1;
        }
        if next < total {
            tokio::time::sleep_until((start + schedule.offset(next)).into()).await;
        }
    }
    if let Some(m) = &cpu_mark {
        cpu = m.since();
    }
    drop(senders);

    // Drain: wait for every answer and every delivery, or the drain time.
    let drain_until = Instant::now() + Duration::from_secs(args.drain);
    let drained = loop {
        let sent = shared.sent.load(Ordering::Relaxed);
        let acked = shared.acked_count.load(Ordering::Relaxed);
        let failed = shared.failed_count.load(Ordering::Relaxed);
        let delivered = shared.delivered_count.load(Ordering::Relaxed);
        let agents_open = shared.open_agents.load(Ordering::Relaxed);
        let hooked = receiver.is_none() || shared.hook_count.load(Ordering::Relaxed) >= acked;
        if acked + failed >= sent && delivered >= acked * agents_open && hooked {
            break true;
        }
        if Instant::now() >= drain_until {
            break false;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let rss_after = rss();
    let wal = match wal_probe.as_mut() {
        Some((probe, before)) => {
            // Backends report their WAL counters at most about once a second.
            tokio::time::sleep(Duration::from_millis(1500)).await;
            let after = probe.read().await?;
            Some(crate::walstats::report(
                *before,
                after,
                shared.acked_count.load(Ordering::Relaxed),
            ))
        }
        None => None,
    };
    let visitor_sockets_held = shared.open_visitors.load(Ordering::Relaxed);
    let agent_sockets_held = shared.open_agents.load(Ordering::Relaxed);
    let _ = stop_tx.send(true);

    let mut deliver_latency = Latency::new();
    let mut cross_node = Latency::new();
    let mut same_node = Latency::new();
    let mut missing = 0;
    let mut unacked = 0;
    let mut duplicates = 0;
    for h in agent_handles {
        if let Ok(r) = h.await {
            deliver_latency.merge(&r.latency);
            cross_node.merge(&r.cross_node);
            same_node.merge(&r.same_node);
            let (m, u) = r.delivered.diff(&shared.acked);
            missing += m;
            unacked += u;
            duplicates += r.duplicates;
        }
    }
    let sent = shared.sent.load(Ordering::Relaxed);
    let acked = shared.acked_count.load(Ordering::Relaxed);
    let failed = shared.failed_count.load(Ordering::Relaxed);
    let secs = args.duration as f64;
    let summary = |m: &Mutex<Latency>| m.lock().map(|h| h.summary()).unwrap_or_default();
    let webhook = receiver.as_ref().map(|_| WebhookReport {
        received: shared.hook_count.load(Ordering::Relaxed),
        missing: shared.hook_seen.missing_from(&shared.acked),
        duplicates: shared.hook_duplicates.load(Ordering::Relaxed),
        delivered_per_second: shared.hook_in_window.load(Ordering::Relaxed) as f64 / secs,
        latency: summary(&shared.hook_latency),
    });
    hooks::clean_up(&api, &rules, receiver.as_ref()).await;
    Ok(MessagesReport {
        mode: "messages",
        transport: if ws_transport { "ws" } else { "rest" },
        visitors: args.visitors,
        agents: args.agents,
        offered_rate: args.rate,
        warmup_seconds: args.warmup,
        measured_seconds: args.duration,
        visitor_sockets_held,
        agent_sockets_held,
        nodes: cluster.nodes.len(),
        agent_reconnects: shared.agent_reconnects.load(Ordering::Relaxed),
        visitor_reconnects: shared.visitor_reconnects.load(Ordering::Relaxed),
        resent: shared.resent.load(Ordering::Relaxed),
        connect_seconds,
        scheduled: total,
        sent,
        acked,
        failed,
        unanswered: sent.saturating_sub(acked + failed),
        drained,
        errors: shared.errors.snapshot(),
        disconnects: shared.disconnects.snapshot(),
        acked_per_second: shared.acked_in_window.load(Ordering::Relaxed) as f64 / secs,
        delivered_per_second: shared.delivered_in_window.load(Ordering::Relaxed) as f64 / secs,
        deliveries: shared.delivered_count.load(Ordering::Relaxed),
        deliveries_expected: acked * args.agents,
        deliveries_missing: missing,
        deliveries_duplicate: duplicates,
        delivered_unacked: unacked,
        ack_latency: summary(&shared.ack_latency),
        ack_service_time: summary(&shared.service_latency),
        deliver_latency: deliver_latency.summary(),
        cross_node_deliver_latency: cluster.is_multi().then(|| cross_node.summary()),
        same_node_deliver_latency: cluster.is_multi().then(|| same_node.summary()),
        max_pacer_lag_ms: max_lag.as_secs_f64() * 1000.0,
        cpu_in_window: cpu,
        server_rss_before_bytes: rss_before,
        server_rss_after_bytes: rss_after,
        loadavg_1m: procfs::loadavg(),
        automation_rules: args.rules,
        webhook,
        wal,
    })
}

fn now_millis() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// `n` bytes of plain ASCII text (no characters that need JSON escaping).
pub fn content_text(n: usize) -> String {
    let head = "loadgen message ";
    let mut s: String = head.chars().take(n).collect();
    while s.len() < n {
        s.push((b'a' + (s.len() % 26) as u8) as char);
    }
    s
}

/// The `message.create` frame for message `i`.
pub fn create_frame(conversation_id: i64, content: &str, run: &str, i: u64) -> String {
    format!(
        r#"{{"type":"message.create","conversation_id":{conversation_id},"content":"{content}","echo_id":"{run}-{i}"}}"#
    )
}

/// How a socket (re)connects: which node it is on, where it may go, and as whom.
struct Dial {
    cluster: Arc<Cluster>,
    /// The client's number among its kind: spreads the clients of a dead node over the
    /// others.
    client: usize,
    source: Option<IpAddr>,
    /// Path and query on any node, without the cursor.
    path: String,
    /// An agent's api_access_token (visitors authenticate by the path's pubsub token).
    token: Option<String>,
    /// The node it is connected to (an index into `cluster.nodes`).
    node: usize,
}

/// Connection attempts after losing a socket before the client gives up; with five nodes
/// that is every other node twice, and more than a whole node being down needs.
const DIAL_ATTEMPTS: u32 = 10;

/// Reconnections one socket may make in a run before it gives up.
const MAX_RECONNECTS: u32 = 20;

impl Dial {
    fn target(&self) -> &Target {
        &self.cluster.nodes[self.node]
    }

    /// The socket's URL on `node`, resuming after `cursor` when there is one.
    fn url(&self, node: usize, cursor: Option<i64>) -> String {
        let t = &self.cluster.nodes[node];
        match cursor {
            Some(c) => {
                let sep = if self.path.contains('?') { '&' } else { '?' };
                t.ws_url(&format!("{}{sep}cursor={c}", self.path))
            }
            None => t.ws_url(&self.path),
        }
    }

    /// Reconnects after the socket on `self.node` was lost: tries the other nodes in turn
    /// (the same node on a one-node run), pausing a little longer after each refusal.
    /// `Ok(None)`: the run stopped meanwhile; `Err`: no node took it (the last error).
    async fn redial(
        &mut self,
        cursor: Option<i64>,
        stop: &mut watch::Receiver<bool>,
    ) -> std::result::Result<Option<Ws>, String> {
        let lost = self.node;
        let mut last = String::new();
        for attempt in 0..DIAL_ATTEMPTS {
            let node = self.cluster.failover(lost, self.client, attempt);
            let url = self.url(node, cursor);
            let addr = self.cluster.nodes[node].addr;
            let tried = tokio::select! {
                w = crate::ws::connect(addr, self.source, &url, self.token.as_deref()) => w,
                _ = stop.changed() => return Ok(None),
            };
            match tried {
                Ok(ws) => {
                    self.node = node;
                    return Ok(Some(ws));
                }
                Err(e) => last = conn::error_key(&e),
            }
            let pause = Duration::from_millis(50 * u64::from(attempt + 1));
            tokio::select! {
                _ = tokio::time::sleep(pause) => {}
                _ = stop.changed() => return Ok(None),
            }
        }
        Err(last)
    }
}

/// One visitor socket: sends the messages the pacer hands it, matches `message.ack` and
/// `error` frames to them.
///
/// When the socket is lost (its node killed, say), it reconnects to another node with the
/// cursor of the last event it received and sends again, with the same `echo_id`, every
/// message not yet answered: Parley stores a repeated `echo_id` of a conversation once and
/// acknowledges it again, so a message the dead node had committed is neither lost nor
/// stored twice. What is still unanswered when no node takes the visitor counts as failed.
#[allow(clippy::too_many_arguments)]
async fn visitor(
    ws: Ws,
    mut dial: Dial,
    conversation_id: i64,
    mut rx: mpsc::UnboundedReceiver<u64>,
    shared: Arc<Shared>,
    content: Arc<str>,
    mut stop: watch::Receiver<bool>,
) {
    let mut ws = ws;
    // Messages sent and not yet answered, oldest first, with the first send time.
    let mut outstanding: VecDeque<(u64, Instant)> = VecDeque::new();
    let mut rx_open = true;
    let mut cursor: Option<i64> = None;
    let mut reconnects = 0u32;
    let gave_up = loop {
        let (mut sink, mut stream) = ws.split();
        let mut ended = None;
        // After a reconnect: what the lost socket left unanswered goes out again first.
        for &(i, _) in &outstanding {
            shared.resent.fetch_add(1, Ordering::Relaxed);
            shared.sending_through(i, dial.node);
            let frame = create_frame(conversation_id, &content, &shared.run, i);
            if let Err(e) = sink.send(Message::text(frame)).await {
                ended = Some(format!("send error: {e}"));
                break;
            }
        }
        let ended = match ended {
            Some(e) => Some(e),
            None => loop {
                if !rx_open && outstanding.is_empty() {
                    break None;
                }
                tokio::select! {
                    i = rx.recv(), if rx_open => match i {
                        Some(i) => {
                            let frame = create_frame(conversation_id, &content, &shared.run, i);
                            outstanding.push_back((i, Instant::now()));
                            shared.sending_through(i, dial.node);
                            if let Err(e) = sink.send(Message::text(frame)).await {
                                break Some(format!("send error: {e}"));
                            }
                        }
                        None => rx_open = false,
                    },
                    m = stream.next() => match m {
                        Some(Ok(Message::Text(t))) => {
                            let now = Instant::now();
                            let Some(f) = Frame::parse(&t) else { continue };
                            if let Some(c) = f.cursor {
                                cursor = Some(cursor.map_or(c, |old| old.max(c)));
                            }
                            let ev = f.event.as_ref();
                            if ev != "message.ack" && ev != "error" {
                                continue;
                            }
                            let Some(i) = f.echo_id.as_deref().and_then(|e| echo_index(&shared.run, e)) else {
                                if ev == "error" {
                                    let code = f.error.as_ref().and_then(|e| e.code.as_deref()).unwrap_or("?");
                                    shared.errors.add(format!("error frame without our echo_id: {code}"));
                                }
                                continue;
                            };
                            let Some(p) = outstanding.iter().position(|(j, _)| *j == i) else {
                                // An answer to a message this visitor no longer waits for.
                                continue;
                            };
                            let sent_at = outstanding.remove(p).map(|(_, t)| t);
                            if ev == "message.ack" {
                                shared.on_ack(i, now, sent_at);
                            } else {
                                let code = f.error.as_ref().and_then(|e| e.code.as_deref()).unwrap_or("?");
                                shared.on_failure(&format!("error {code}"));
                            }
                        }
                        Some(Ok(Message::Close(c))) => break Some(conn::close_reason(c.as_ref())),
                        Some(Ok(_)) => {}
                        Some(Err(e)) => break Some(format!("error: {e}")),
                        None => break Some("eof".into()),
                    },
                    _ = stop.changed() => break None,
                }
            },
        };
        drop((sink, stream));
        let Some(reason) = ended else { return };
        shared.open_visitors.fetch_sub(1, Ordering::Relaxed);
        shared.disconnects.add(format!("visitor {reason}"));
        if reconnects >= MAX_RECONNECTS {
            break "visitor gave up reconnecting".to_string();
        }
        reconnects += 1;
        match dial.redial(cursor, &mut stop).await {
            Ok(Some(w)) => {
                ws = w;
                shared.open_visitors.fetch_add(1, Ordering::Relaxed);
                shared.visitor_reconnects.fetch_add(1, Ordering::Relaxed);
            }
            Ok(None) => return,
            Err(e) => break format!("visitor could not reconnect: {e}"),
        }
    };
    shared.disconnects.add(gave_up);
    for _ in &outstanding {
        shared.on_failure("visitor disconnected before ack");
    }
    // Whatever the pacer still hands this visitor fails too.
    rx.close();
    while rx.recv().await.is_some() {
        shared.on_failure("visitor socket closed before send");
    }
}

/// One agent socket: counts `message.created` of this run's messages. When the server
/// closes it (a slow consumer, say) or its node goes away, it reconnects (to another node
/// when there is one) with the cursor of the last stored event it received, as a real
/// client does, so the run checks that resuming loses nothing: the replayed events count
/// as deliveries (once), and anything still missing at the end is reported as missing.
async fn agent(
    mut ws: Ws,
    mut dial: Dial,
    shared: Arc<Shared>,
    mut stop: watch::Receiver<bool>,
) -> AgentResult {
    let mut r = AgentResult {
        latency: Latency::new(),
        cross_node: Latency::new(),
        same_node: Latency::new(),
        delivered: Bits::new(shared.schedule.total()),
        duplicates: 0,
    };
    let mut cursor: Option<i64> = None;
    let mut reconnects = 0u32;
    loop {
        let ended = loop {
            tokio::select! {
                m = ws.next() => match m {
                    Some(Ok(Message::Text(t))) => {
                        let now = Instant::now();
                        let Some(f) = Frame::parse(&t) else { continue };
                        if let Some(c) = f.cursor {
                            cursor = Some(cursor.map_or(c, |old| old.max(c)));
                        }
                        if f.event == "resync" {
                            shared.errors.add("agent got resync after reconnecting");
                            continue;
                        }
                        if f.event != "message.created" {
                            continue;
                        }
                        let Some(i) = f.any_echo_id().and_then(|e| echo_index(&shared.run, e)) else {
                            continue;
                        };
                        if !r.delivered.set(i) {
                            r.duplicates += 1;
                            continue;
                        }
                        shared.delivered_count.fetch_add(1, Ordering::Relaxed);
                        if shared.in_window(now) {
                            shared.delivered_in_window.fetch_add(1, Ordering::Relaxed);
                        }
                        if i >= shared.warm_index && let Some(d) = shared.since_scheduled(i, now) {
                            r.latency.record(d);
                            match shared.crossed(i, dial.node) {
                                Some(true) => r.cross_node.record(d),
                                Some(false) => r.same_node.record(d),
                                None => {}
                            }
                        }
                    }
                    Some(Ok(Message::Close(c))) => break Some(conn::close_reason(c.as_ref())),
                    Some(Ok(_)) => {}
                    Some(Err(e)) => break Some(format!("error: {e}")),
                    None => break Some("eof".into()),
                },
                _ = stop.changed() => break None,
            }
        };
        let Some(reason) = ended else { return r };
        shared.disconnects.add(format!("agent {reason}"));
        shared.open_agents.fetch_sub(1, Ordering::Relaxed);
        if reconnects >= MAX_RECONNECTS {
            shared.disconnects.add("agent gave up reconnecting");
            return r;
        }
        reconnects += 1;
        match dial.redial(cursor, &mut stop).await {
            Ok(Some(w)) => {
                ws = w;
                shared.open_agents.fetch_add(1, Ordering::Relaxed);
                shared.agent_reconnects.fetch_add(1, Ordering::Relaxed);
            }
            Ok(None) => return r,
            Err(e) => {
                shared
                    .disconnects
                    .add(format!("agent could not reconnect: {e}"));
                return r;
            }
        }
    }
}

/// One message over the Client API's REST endpoint.
#[allow(clippy::too_many_arguments)]
async fn rest_send(
    api: Api,
    inbox_identifier: Arc<str>,
    visitors: Arc<Vec<Visitor>>,
    v: usize,
    i: u64,
    shared: Arc<Shared>,
    content: Arc<str>,
    sem: Arc<Semaphore>,
) {
    let Ok(_permit) = sem.acquire().await else {
        return;
    };
    let visitor = &visitors[v];
    let Some(conv) = visitor.conversation_id else {
        shared.on_failure("no conversation");
        return;
    };
    let echo = crate::ws::echo_id(&shared.run, i);
    let sent_at = Instant::now();
    match api
        .send_message(&inbox_identifier, visitor, conv, &content, &echo)
        .await
    {
        Ok(()) => shared.on_ack(i, Instant::now(), Some(sent_at)),
        Err(code) => shared.on_failure(&code),
    }
}

impl MessagesReport {
    pub fn print(&self) {
        let mib = |b: Option<u64>| {
            b.map_or("n/a".to_string(), |b| {
                format!("{:.1} MiB", b as f64 / 1048576.0)
            })
        };
        let cores = |c: Option<f64>| c.map_or("n/a".to_string(), |c| format!("{c:.2} cores"));
        println!(
            "messages over {} ({} visitors, {} agents), offered {} msg/s, {} s measured after {} s warm-up",
            self.transport,
            self.visitors,
            self.agents,
            self.offered_rate,
            self.measured_seconds,
            self.warmup_seconds
        );
        println!(
            "  sockets held         {} visitor, {} agent over {} node(s) (connected in {:.1} s)",
            self.visitor_sockets_held, self.agent_sockets_held, self.nodes, self.connect_seconds
        );
        println!(
            "  reconnects           {} agent, {} visitor (with cursor); {} unacked messages re-sent with their echo_id",
            self.agent_reconnects, self.visitor_reconnects, self.resent
        );
        println!(
            "  messages             {} scheduled, {} sent, {} acked, {} failed, {} unanswered",
            self.scheduled, self.sent, self.acked, self.failed, self.unanswered
        );
        if !self.drained {
            println!(
                "  (the drain time ran out: unanswered and missing may still have been on their way)"
            );
        }
        println!("  durable (acked)      {:.0} msg/s", self.acked_per_second);
        println!(
            "  delivered            {:.0} deliveries/s ({} of {} expected; {} missing, {} duplicate, {} without ack)",
            self.delivered_per_second,
            self.deliveries,
            self.deliveries_expected,
            self.deliveries_missing,
            self.deliveries_duplicate,
            self.delivered_unacked
        );
        for (k, v) in &self.errors {
            println!("    error              {v} × {k}");
        }
        for (k, v) in &self.disconnects {
            println!("    disconnect         {v} × {k}");
        }
        println!("  {}", LatencySummary::header());
        println!("  {}", self.ack_latency.row("send→ack"));
        println!("  {}", self.deliver_latency.row("send→deliver"));
        if let Some(l) = &self.cross_node_deliver_latency {
            println!("  {}", l.row("…across nodes"));
        }
        if let Some(l) = &self.same_node_deliver_latency {
            println!("  {}", l.row("…same node"));
        }
        println!("  {}", self.ack_service_time.row("ack from send"));
        println!("  (send→… count from the scheduled time; 'ack from send' from the actual send)");
        println!("  max pacer lag        {:.2} ms", self.max_pacer_lag_ms);
        println!(
            "  CPU in window        server {}, loadgen {}",
            cores(self.cpu_in_window.server_cores),
            cores(self.cpu_in_window.loadgen_cores)
        );
        println!(
            "  server RSS           {} before, {} after",
            mib(self.server_rss_before_bytes),
            mib(self.server_rss_after_bytes)
        );
        println!(
            "  load average (1 min) {}",
            self.loadavg_1m.map_or("n/a".into(), |l| format!("{l:.2}"))
        );
        if let Some(w) = &self.wal {
            w.print();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bitsets_count_missing_and_extra() {
        let acked = AtomicBits::new(200);
        assert!(acked.set(0));
        assert!(!acked.set(0), "second set reports a duplicate");
        acked.set(63);
        acked.set(64);
        acked.set(199);
        assert!(!acked.set(200), "out of range");
        assert!(acked.get(64) && !acked.get(65));
        let mut mine = Bits::new(200);
        mine.set(0);
        mine.set(64);
        mine.set(100);
        assert!(!mine.set(100));
        assert!(!mine.set(5000));
        // Missing: 63 and 199. Extra: 100.
        assert_eq!(mine.diff(&acked), (2, 1));
    }

    #[test]
    fn frames_and_content_are_valid_json() {
        let c = content_text(64);
        assert_eq!(c.len(), 64);
        assert!(c.starts_with("loadgen message "));
        assert_eq!(content_text(3), "loa");
        let f = create_frame(17, &c, "lgabc", 42);
        let v: serde_json::Value = serde_json::from_str(&f).unwrap();
        assert_eq!(v["type"], "message.create");
        assert_eq!(v["conversation_id"], 17);
        assert_eq!(v["content"], c.as_str());
        assert_eq!(v["echo_id"], "lgabc-42");
    }

    fn shared(rate: u64, total: u64, warmup: u64, duration: u64) -> Shared {
        Shared::new("r".into(), Schedule::new(rate, total), warmup, duration)
    }

    #[test]
    fn acks_are_timed_from_the_schedule_and_warm_up_is_not_counted() {
        // 10 msg/s, 1 s warm-up, 2 s measured: messages 0..10 are warm-up.
        let s = shared(10, 30, 1, 2);
        let start = Instant::now();
        s.start.set(start).unwrap();
        assert_eq!(s.warm_index, 10);
        // Message 5 (warm-up), acked at 0.5 s + 3 ms: counted as acked, not timed.
        s.on_ack(5, start + Duration::from_millis(503), None);
        // Message 12 is due at 1.2 s; acked 7 ms later, sent 2 ms late.
        s.on_ack(
            12,
            start + Duration::from_millis(1207),
            Some(start + Duration::from_millis(1202)),
        );
        // A duplicate ack is an error, not a second sample.
        s.on_ack(12, start + Duration::from_millis(1300), None);
        assert_eq!(s.acked_count.load(Ordering::Relaxed), 2);
        assert_eq!(s.acked_in_window.load(Ordering::Relaxed), 1);
        let ack = s.ack_latency.lock().unwrap().summary();
        assert_eq!(ack.count, 1);
        assert!((ack.max_ms - 7.0).abs() < 0.01, "{ack:?}");
        let svc = s.service_latency.lock().unwrap().summary();
        assert!((svc.max_ms - 5.0).abs() < 0.01, "{svc:?}");
        assert_eq!(s.errors.snapshot().get("duplicate ack"), Some(&1));
        // The window is [1 s, 3 s).
        assert!(!s.in_window(start + Duration::from_millis(999)));
        assert!(s.in_window(start + Duration::from_secs(1)));
        assert!(!s.in_window(start + Duration::from_secs(3)));
    }

    fn args(url: &str, setup: &std::path::Path, extra: &[&str]) -> MessagesArgs {
        let mut a = vec![
            "loadgen",
            "messages",
            "--url",
            url,
            "--token",
            "t",
            "--setup-file",
            setup.to_str().unwrap(),
        ];
        a.extend_from_slice(extra);
        match <crate::cli::Cli as clap::Parser>::try_parse_from(a)
            .unwrap()
            .mode
        {
            crate::cli::Mode::Messages(m) => m,
            other => panic!("{other:?}"),
        }
    }

    fn temp_setup(name: &str, url: &str, n: usize) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("loadgen-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("setup.json");
        crate::api::write_test_setup(&p, url, n);
        p
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn every_scheduled_message_is_acked_and_delivered_to_each_agent() {
        let addr = crate::fake::start(0).await;
        let url = format!("http://{addr}");
        let setup = temp_setup("msgs", &url, 5);
        let a = args(
            &url,
            &setup,
            &[
                "--visitors",
                "5",
                "--agents",
                "3",
                "--rate",
                "200",
                "--warmup",
                "1",
                "--duration",
                "1",
                "--drain",
                "30",
                "--visitor-limit-per-min",
                "0",
            ],
        );
        let r = run(&a).await.unwrap();
        assert_eq!(r.scheduled, 400);
        assert_eq!(r.sent, 400);
        assert_eq!(r.acked, 400, "{r:?}");
        assert_eq!(r.failed, 0, "{r:?}");
        assert_eq!(r.deliveries, 1200);
        assert_eq!(r.deliveries_expected, 1200);
        assert_eq!(r.deliveries_missing, 0);
        assert_eq!(r.deliveries_duplicate, 0);
        assert!(r.drained);
        // Only the 200 messages scheduled after the 1 s warm-up are timed.
        assert_eq!(r.ack_latency.count, 200);
        assert_eq!(r.deliver_latency.count, 600);
        assert_eq!(r.visitor_sockets_held, 5);
        assert_eq!(r.agent_sockets_held, 3);
        assert!(r.disconnects.is_empty(), "{r:?}");
        std::fs::remove_dir_all(setup.parent().unwrap()).unwrap();
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn messages_the_server_never_answers_are_reported_unanswered() {
        let addr = crate::fake::start(10).await;
        let url = format!("http://{addr}");
        let setup = temp_setup("lost", &url, 4);
        let a = args(
            &url,
            &setup,
            &[
                "--visitors",
                "4",
                "--agents",
                "2",
                "--rate",
                "100",
                "--warmup",
                "0",
                "--duration",
                "1",
                "--drain",
                "1",
            ],
        );
        let r = run(&a).await.unwrap();
        assert_eq!(r.scheduled, 100);
        assert_eq!(r.acked, 90, "{r:?}");
        assert_eq!(r.unanswered, 10);
        assert!(!r.drained, "the lost messages never arrive");
        assert_eq!(r.deliveries, 180);
        assert_eq!(r.deliveries_missing, 0);
        std::fs::remove_dir_all(setup.parent().unwrap()).unwrap();
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_killed_node_loses_nothing_its_clients_move_and_resend() {
        // Three nodes over one log; node 1 dies after storing its 40th message without
        // acknowledging it (its visitor must send it again elsewhere, and it must reach each
        // agent once), taking one agent and a third of the visitors with it.
        let addrs = crate::fake::start_cluster(3, (1, 40)).await;
        let urls: Vec<String> = addrs.iter().map(|a| format!("http://{a}")).collect();
        let all = urls.join(",");
        let setup = temp_setup("cluster", &urls[0], 6);
        let a = args(
            &urls[0],
            &setup,
            &[
                "--visitors",
                "6",
                "--agents",
                "3",
                "--visitor-nodes",
                &all,
                "--agent-nodes",
                &all,
                "--rate",
                "200",
                "--warmup",
                "0",
                "--duration",
                "2",
                "--drain",
                "30",
                "--visitor-limit-per-min",
                "0",
            ],
        );
        let r = run(&a).await.unwrap();
        assert_eq!(r.nodes, 3);
        assert_eq!(r.scheduled, 400);
        assert_eq!(r.acked, 400, "{r:?}");
        assert_eq!(r.failed, 0, "{r:?}");
        assert_eq!(
            r.visitor_reconnects, 2,
            "two of six visitors were on node 1: {r:?}"
        );
        assert_eq!(r.agent_reconnects, 1, "{r:?}");
        assert!(
            r.resent >= 1,
            "the unacknowledged message went out again: {r:?}"
        );
        assert_eq!(r.deliveries, 1200, "{r:?}");
        assert_eq!(r.deliveries_missing, 0);
        assert_eq!(
            r.deliveries_duplicate, 0,
            "the re-sent message was stored once"
        );
        assert_eq!(r.delivered_unacked, 0);
        assert_eq!((r.visitor_sockets_held, r.agent_sockets_held), (6, 3));
        assert!(r.drained);
        let cross = r.cross_node_deliver_latency.unwrap();
        let same = r.same_node_deliver_latency.unwrap();
        assert_eq!(cross.count + same.count, 1200);
        assert!(cross.count > same.count, "{cross:?} {same:?}");
        std::fs::remove_dir_all(setup.parent().unwrap()).unwrap();
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_agent_closed_as_slow_resumes_from_its_cursor_and_misses_nothing() {
        let addr = crate::fake::start_with(0, 50).await;
        let url = format!("http://{addr}");
        let setup = temp_setup("resume", &url, 4);
        let a = args(
            &url,
            &setup,
            &[
                "--visitors",
                "4",
                "--agents",
                "2",
                "--rate",
                "200",
                "--warmup",
                "0",
                "--duration",
                "1",
                "--drain",
                "30",
                "--visitor-limit-per-min",
                "0",
            ],
        );
        let r = run(&a).await.unwrap();
        assert_eq!(r.acked, 200, "{r:?}");
        assert_eq!(r.agent_reconnects, 1, "{r:?}");
        assert_eq!(
            r.disconnects.get("agent close 4008 slow_consumer"),
            Some(&1)
        );
        assert_eq!(r.deliveries, 400, "{r:?}");
        assert_eq!(r.deliveries_missing, 0);
        assert_eq!(r.agent_sockets_held, 2);
        assert!(r.drained);
        std::fs::remove_dir_all(setup.parent().unwrap()).unwrap();
    }
}
