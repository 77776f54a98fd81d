//! Real-time streams: the node's hub that turns bus events into per-connection deliveries,
//! and the replay of missed events from the event log (docs/realtime.md).
//!
//! Why a hub per node rather than one bus subscription per connection: events of an account
//! may reach a node out of order (two commits published by different tasks, or NATS
//! delivering late) or not at all (a lagging receiver, a dropped NATS message). The hub puts
//! every account's stored events back into cursor order, fills holes from the database, and
//! only then fans out; so a connection sees a gap-free stream and can resume from any cursor.
//! Fan-out is indexed (agents per account, visitors per contact), so a message costs the same
//! whether the node holds ten connections or nineteen thousand.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use parley_bus::{Event, EventBus};
use parley_store::Store;
use parley_store::events::{EventDraft, EventRow, EventScope};
use serde_json::Value;
use tokio::sync::{broadcast, mpsc, oneshot};

use crate::socket_queue::{QueueRx, QueueTx, SendError};
use tracing::Instrument;

use crate::access::{AccessChange, CloseCode, Grant, Verdict};
/// The visitor's projection of an event lives with the other wire views; named here as before.
pub use crate::views::events::visitor_payload;
use crate::views::messages::Audience;
use crate::{Result, ServiceError, Services};

/// How long a hole in an account's cursor sequence may stay open before the hub reads the
/// missing events from the database (they are committed: cursors follow commit order).
const GAP_WAIT: Duration = Duration::from_millis(100);
/// Events a connection may have queued before it counts as a slow consumer, by default.
pub const CONNECTION_QUEUE: usize = 4096;
/// Rows per replay page.
pub const PAGE: i64 = 500;

/// One event on its way to connections, with its agent frame rendered once and shared.
#[derive(Debug)]
pub struct Delivery {
    pub event: Arc<Event>,
    agent_frame: OnceLock<Arc<str>>,
}

impl Delivery {
    pub fn new(event: Event) -> Arc<Self> {
        Self::shared(Arc::new(event))
    }

    /// Wraps an event as the bus hands it over, without copying its payload.
    pub fn shared(event: Arc<Event>) -> Arc<Self> {
        Arc::new(Self {
            event,
            agent_frame: OnceLock::new(),
        })
    }

    /// The frame agents receive: `{"event","cursor"?,"data"}`.
    pub fn agent_frame(&self) -> Arc<str> {
        self.agent_frame
            .get_or_init(|| frame(&self.event.name, self.event.cursor, &self.event.data).into())
            .clone()
    }

    /// The frame the visitor of `audience` receives: the same event in the Client API's
    /// shape, or `None` when the visitor may not see it.
    pub fn visitor_frame(&self, base_url: &str, audience: &Audience) -> Option<String> {
        if !self.event.public {
            return None;
        }
        let data = visitor_payload(&self.event.name, &self.event.data, base_url, audience);
        Some(frame(&self.event.name, self.event.cursor, &data))
    }
}

/// A server frame as text.
pub fn frame(name: &str, cursor: Option<i64>, data: &Value) -> String {
    // Written by hand so the payload is serialised straight into the frame, not copied.
    let name = Value::String(name.into());
    match cursor {
        Some(c) => format!(r#"{{"event":{name},"cursor":{c},"data":{data}}}"#),
        None => format!(r#"{{"event":{name},"data":{data}}}"#),
    }
}

/// Named here as before; the type lives with the access rules that re-check it.
pub use crate::access::Viewer;

impl Viewer {
    fn sees(&self, e: &Event) -> bool {
        match self {
            Viewer::Agent { inboxes, .. } => match (inboxes, e.inbox_id) {
                (None, _) => true,
                (Some(set), Some(i)) => set.contains(&i),
                // Account-wide events (presence) reach every agent.
                (Some(_), None) => e.conversation_id.is_none(),
            },
            Viewer::Visitor {
                contact_id,
                inbox_id,
            } => e.public && e.contact_id == Some(*contact_id) && e.inbox_id == Some(*inbox_id),
        }
    }

    /// A visitor's contact (the hub indexes visitors' connections by it); none for agents.
    fn visitor_contact(&self) -> Option<i64> {
        match self {
            Viewer::Visitor { contact_id, .. } => Some(*contact_id),
            Viewer::Agent { .. } => None,
        }
    }

    fn scope(&self) -> EventScope {
        match self {
            Viewer::Agent { inboxes: None, .. } => EventScope::Account,
            Viewer::Agent {
                inboxes: Some(set), ..
            } => EventScope::Inboxes(set.iter().copied().collect()),
            Viewer::Visitor {
                contact_id,
                inbox_id,
            } => EventScope::Visitor {
                contact_id: *contact_id,
                inbox_id: *inbox_id,
            },
        }
    }
}

/// A connection's registration with the hub. Dropping it unregisters.
pub struct Subscription {
    id: u64,
    account_id: i64,
    viewer: Viewer,
    /// Live events in cursor order (ephemeral ones interleaved).
    pub rx: QueueRx<Arc<Delivery>>,
    /// The account's cursor when the subscription started: every later event is delivered
    /// on `rx`, every earlier one was committed before (and is in the log).
    pub start: i64,
    hub: Hub,
}

impl Subscription {
    /// Whether the hub dropped this connection because its queue was full.
    pub fn overflowed(&self) -> bool {
        self.rx.overflowed()
    }

    /// Why the hub dropped this connection after re-authorising it, if it did.
    pub fn revoked(&self) -> Option<CloseCode> {
        CloseCode::from_code(self.rx.closed_code())
    }

    pub fn viewer(&self) -> &Viewer {
        &self.viewer
    }

    pub fn account_id(&self) -> i64 {
        self.account_id
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        let _ = self.hub.cmds.send(Cmd::Unregister {
            id: self.id,
            account_id: self.account_id,
            contact_id: self.viewer.visitor_contact(),
        });
    }
}

enum Cmd {
    Register {
        id: u64,
        account_id: i64,
        sub: Sub,
        /// [`Hub::access_epoch`] before the connection was authenticated.
        authorised_at: u64,
        reply: oneshot::Sender<Result<i64>>,
    },
    Unregister {
        id: u64,
        account_id: i64,
        /// The visitor's contact, under which the connection is indexed.
        contact_id: Option<i64>,
    },
    /// Re-authorisation results for held connections.
    Verdicts(Vec<Decided>),
}

/// A connection to re-authorise: account, connection id, the visitor's contact it is
/// indexed under, and the credential it was admitted with.
type Recheck = (i64, u64, Option<i64>, Grant);

/// One connection's re-authorisation, for the access change numbered `generation`.
struct Decided {
    account_id: i64,
    id: u64,
    /// The visitor's contact, under which the connection is indexed.
    contact_id: Option<i64>,
    generation: u64,
    verdict: Verdict,
}

struct Sub {
    viewer: Viewer,
    tx: QueueTx<Arc<Delivery>>,
    grant: Grant,
    /// Live events held back while the connection is re-authorised (`None`: not held).
    held: Option<Vec<Arc<Delivery>>>,
    /// The latest access change that concerns this connection; only its verdict counts.
    generation: u64,
}

impl Sub {
    /// Queues `d` if the viewer sees it; false when the connection must be dropped.
    fn offer(&mut self, d: &Arc<Delivery>, queue: usize) -> bool {
        if let Some(held) = &mut self.held {
            // Filtered when released, with what the connection sees by then.
            if held.len() >= queue {
                return self.overflow();
            }
            held.push(d.clone());
            return true;
        }
        if !self.viewer.sees(&d.event) {
            return true;
        }
        match self.tx.try_send(d.clone()) {
            Ok(()) => true,
            Err(SendError::Full) => self.overflow(),
            Err(SendError::Closed) => false,
        }
    }

    /// The visitor's contact, under which a visitor's connection is indexed.
    fn contact_id(&self) -> Option<i64> {
        self.viewer.visitor_contact()
    }

    fn overflow(&self) -> bool {
        self.tx.mark_overflowed();
        metrics::counter!("parley_ws_slow_consumers_total").increment(1);
        false
    }

    /// Applies a verdict: new visibility and the held events it allows, or the close.
    fn decide(&mut self, verdict: Verdict, queue: usize) -> bool {
        let held = self.held.take().unwrap_or_default();
        match verdict {
            Verdict::Keep(viewer) => {
                self.viewer = viewer;
                held.iter().all(|d| self.offer(d, queue))
            }
            Verdict::Close(code) => {
                metrics::counter!("parley_ws_revoked_total", "reason" => code.reason())
                    .increment(1);
                self.tx.mark_closed(code.code());
                false
            }
        }
    }
}

/// The node's fan-out point; cheap to clone.
#[derive(Clone)]
pub struct Hub {
    cmds: mpsc::UnboundedSender<Cmd>,
    next_id: Arc<AtomicU64>,
    /// Events a connection may have queued before it is cut as a slow consumer.
    queue: usize,
    /// Access changes the hub has processed (see [`Hub::access_epoch`]).
    epoch: Arc<AtomicU64>,
}

impl Hub {
    /// Starts the hub task over `bus` and `store`.
    pub fn spawn(store: Store, bus: &Arc<dyn EventBus>, queue: usize) -> Hub {
        let (cmds, cmd_rx) = mpsc::unbounded_channel();
        let rx = bus.subscribe();
        let epoch = Arc::new(AtomicU64::new(0));
        let task = HubTask {
            store,
            accounts: HashMap::new(),
            queue: queue.max(1),
            cmds: cmds.downgrade(),
            generation: 0,
            epoch: epoch.clone(),
        };
        tokio::spawn(
            task.run(cmd_rx, rx)
                .instrument(tracing::info_span!("job", name = "realtime_hub")),
        );
        Hub {
            cmds,
            next_id: Arc::new(AtomicU64::new(1)),
            queue,
            epoch,
        }
    }

    /// How many access changes this node's hub has processed. A socket handler reads it
    /// before authenticating and passes it to [`Hub::subscribe`]: if an access change was
    /// processed in between (its check may have read the database before the change), the
    /// hub re-authorises the new connection at once, so no socket slips through the window
    /// between its upgrade's check and its registration.
    pub fn access_epoch(&self) -> u64 {
        self.epoch.load(Ordering::Acquire)
    }

    /// Registers a connection of `viewer` in `account_id`. When this returns, every stored
    /// event of the account after the database's current head will be delivered to the
    /// subscription in cursor order; earlier ones are read with [`Services::replay`].
    /// `grant` is the credential the connection was authorised with: the hub re-checks it
    /// when access changes (crate::access).
    pub async fn subscribe(
        &self,
        account_id: i64,
        viewer: Viewer,
        grant: Grant,
        authorised_at: u64,
    ) -> Result<Subscription> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = crate::socket_queue::queue(self.queue);
        let (reply, answer) = oneshot::channel();
        let stopped = || ServiceError::Internal("the real-time hub has stopped".into());
        self.cmds
            .send(Cmd::Register {
                id,
                account_id,
                sub: Sub {
                    viewer: viewer.clone(),
                    tx,
                    grant,
                    held: None,
                    generation: 0,
                },
                authorised_at,
                reply,
            })
            .map_err(|_| stopped())?;
        let start = answer.await.map_err(|_| stopped())??;
        Ok(Subscription {
            start,
            id,
            account_id,
            viewer,
            rx,
            hub: self.clone(),
        })
    }
}

/// Per-account state of the hub on this node.
struct AccountState {
    /// The next cursor to deliver.
    next: i64,
    /// Events that arrived ahead of `next`.
    pending: BTreeMap<i64, Arc<Delivery>>,
    /// Since when a hole has been open.
    gap_since: Option<Instant>,
    /// The bus lagged: events may be missing after `next` with nothing pending to show it.
    needs_fill: bool,
    agents: HashMap<u64, Sub>,
    /// A visitor's connections by contact: one or two each, so a vector rather than a map
    /// (an idle visitor's socket costs a map's worth of buckets otherwise).
    visitors: HashMap<i64, Vec<(u64, Sub)>>,
    /// Events a connection may have queued (or held) before it is cut as a slow consumer.
    queue: usize,
}

impl AccountState {
    fn is_empty(&self) -> bool {
        self.agents.is_empty() && self.visitors.is_empty()
    }

    /// Hands `d` to every connection that may see it; a full queue disconnects that one.
    fn fan_out(&mut self, d: &Arc<Delivery>) {
        let queue = self.queue;
        self.agents.retain(|_, s| s.offer(d, queue));
        if let Some(c) = d.event.contact_id
            && let Some(subs) = self.visitors.get_mut(&c)
        {
            subs.retain_mut(|(_, s)| s.offer(d, queue));
            if subs.is_empty() {
                self.visitors.remove(&c);
            }
        }
    }

    /// Hands an ephemeral `d` to the connections of agent `user_id` only (if they see its
    /// inbox); a full queue disconnects that one.
    fn fan_out_to_agent(&mut self, user_id: i64, d: &Arc<Delivery>) {
        let queue = self.queue;
        self.agents.retain(|_, s| match s.viewer {
            Viewer::Agent { user_id: u, .. } if u == user_id => s.offer(d, queue),
            _ => true,
        });
    }

    /// Delivers `d` if it is the next cursor (and whatever was waiting behind it), parks it
    /// if it is early, drops it if it was already delivered.
    fn accept(&mut self, d: Arc<Delivery>) {
        let Some(seq) = d.event.cursor else {
            self.fan_out(&d);
            return;
        };
        if seq < self.next {
            return;
        }
        if seq > self.next {
            self.pending.insert(seq, d);
            self.gap_since.get_or_insert_with(Instant::now);
            return;
        }
        self.fan_out(&d);
        self.next += 1;
        self.drain();
    }

    fn drain(&mut self) {
        while let Some(entry) = self.pending.first_entry() {
            let seq = *entry.key();
            if seq < self.next {
                entry.remove();
            } else if seq == self.next {
                let d = entry.remove();
                self.fan_out(&d);
                self.next += 1;
            } else {
                break;
            }
        }
        if self.pending.is_empty() {
            self.gap_since = None;
        }
    }
}

struct HubTask {
    store: Store,
    accounts: HashMap<i64, AccountState>,
    queue: usize,
    /// For re-authorisation tasks to report back; weak so the hub still stops when the
    /// last [`Hub`] handle is dropped.
    cmds: mpsc::WeakUnboundedSender<Cmd>,
    /// Numbers access changes, so a late verdict never overrides a newer one.
    generation: u64,
    /// `generation`, shared with [`Hub::access_epoch`].
    epoch: Arc<AtomicU64>,
}

impl HubTask {
    async fn run(
        mut self,
        mut cmds: mpsc::UnboundedReceiver<Cmd>,
        mut bus: broadcast::Receiver<Arc<Event>>,
    ) {
        let mut tick = tokio::time::interval(GAP_WAIT / 2);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                cmd = cmds.recv() => match cmd {
                    Some(c) => self.command(c).await,
                    None => return,
                },
                ev = bus.recv() => match ev {
                    Ok(e) => self.event(&e),
                    Err(broadcast::error::RecvError::Lagged(n)) => {
                        tracing::warn!(missed = n, "real-time hub lagged behind the bus; refilling from the database");
                        for st in self.accounts.values_mut() {
                            st.needs_fill = true;
                        }
                    }
                    Err(broadcast::error::RecvError::Closed) => return,
                },
                _ = tick.tick() => self.fill_gaps().await,
            }
        }
    }

    async fn command(&mut self, cmd: Cmd) {
        match cmd {
            Cmd::Register {
                id,
                account_id,
                sub,
                authorised_at,
                reply,
            } => {
                if !self.accounts.contains_key(&account_id) {
                    match self.store.event_head(account_id).await {
                        Ok(head) => {
                            self.accounts.insert(
                                account_id,
                                AccountState {
                                    next: head + 1,
                                    pending: BTreeMap::new(),
                                    gap_since: None,
                                    needs_fill: false,
                                    agents: HashMap::new(),
                                    visitors: HashMap::new(),
                                    queue: self.queue,
                                },
                            );
                        }
                        Err(e) => {
                            let _ = reply.send(Err(e.into()));
                            return;
                        }
                    }
                }
                let mut start = 0;
                let stale = self.generation > authorised_at;
                let generation = self.generation;
                let mut recheck = None;
                if let Some(st) = self.accounts.get_mut(&account_id) {
                    start = st.next - 1;
                    let mut sub = sub;
                    if stale {
                        // An access change was processed after this connection's check.
                        sub.generation = generation;
                        sub.held = Some(Vec::new());
                        recheck = Some((account_id, id, sub.contact_id(), sub.grant.clone()));
                    }
                    match sub.viewer {
                        Viewer::Agent { .. } => {
                            st.agents.insert(id, sub);
                        }
                        Viewer::Visitor { contact_id, .. } => {
                            st.visitors
                                .entry(contact_id)
                                .or_insert_with(|| Vec::with_capacity(1))
                                .push((id, sub));
                        }
                    }
                }
                if let Some(one) = recheck {
                    self.reauthorise_later(vec![one], generation);
                }
                let _ = reply.send(Ok(start));
            }
            Cmd::Unregister {
                id,
                account_id,
                contact_id,
            } => {
                if let Some(st) = self.accounts.get_mut(&account_id) {
                    match contact_id {
                        None => {
                            st.agents.remove(&id);
                        }
                        Some(c) => {
                            if let Some(subs) = st.visitors.get_mut(&c) {
                                subs.retain(|(i, _)| *i != id);
                                if subs.is_empty() {
                                    st.visitors.remove(&c);
                                }
                            }
                        }
                    }
                    if st.is_empty() {
                        self.accounts.remove(&account_id);
                    }
                }
            }
            Cmd::Verdicts(list) => self.verdicts(list),
        }
    }

    fn event(&mut self, e: &Arc<Event>) {
        if let Some(change) = AccessChange::of_event(e) {
            self.access_changed(change);
            return;
        }
        if let Some((user_id, inner)) = crate::mentions::for_one_agent(e) {
            if let Some(st) = self.accounts.get_mut(&e.account_id) {
                st.fan_out_to_agent(user_id, &Delivery::new(inner));
            }
            return;
        }
        if let Some(st) = self.accounts.get_mut(&e.account_id) {
            st.accept(Delivery::shared(e.clone()));
        }
    }

    /// Holds back the live events of every connection `change` concerns and re-authorises
    /// them off the hub's task; [`HubTask::verdicts`] applies the answers. Holding (rather
    /// than deciding later) is what makes the change take effect at once: an event
    /// published after the change is never shown under the old access.
    fn access_changed(&mut self, change: AccessChange) {
        self.generation += 1;
        self.epoch.store(self.generation, Ordering::Release);
        let generation = self.generation;
        let mut todo = Vec::new();
        for (&account_id, st) in self.accounts.iter_mut() {
            if change.account_id != crate::access::EVERY_ACCOUNT && change.account_id != account_id
            {
                continue;
            }
            let mut hold = |id: u64, s: &mut Sub| {
                s.generation = generation;
                s.held.get_or_insert_with(Vec::new);
                todo.push((account_id, id, s.contact_id(), s.grant.clone()));
            };
            for (&id, s) in st.agents.iter_mut() {
                if let Viewer::Agent { user_id, .. } = s.viewer
                    && change.concerns_agent(user_id)
                {
                    hold(id, s);
                }
            }
            for subs in st.visitors.values_mut() {
                for (id, s) in subs.iter_mut() {
                    let id = *id;
                    if let Viewer::Visitor {
                        contact_id,
                        inbox_id,
                    } = s.viewer
                        && change.concerns_visitor(contact_id, inbox_id)
                    {
                        hold(id, s);
                    }
                }
            }
        }
        if todo.is_empty() {
            return;
        }
        self.reauthorise_later(todo, generation);
    }

    /// Re-authorises held connections off the hub's task; the verdicts come back as
    /// [`Cmd::Verdicts`].
    fn reauthorise_later(&self, todo: Vec<Recheck>, generation: u64) {
        let store = self.store.clone();
        let cmds = self.cmds.clone();
        tokio::spawn(
            async move {
                let mut out = Vec::with_capacity(todo.len());
                for (account_id, id, contact_id, grant) in todo {
                    let verdict = match crate::access::reauthorise(&store, account_id, &grant).await {
                        Ok(v) => v,
                        Err(e) => {
                            tracing::warn!(account_id, error = %e, "re-authorising a socket failed; closing it");
                            Verdict::Close(CloseCode::RetryLater)
                        }
                    };
                    out.push(Decided {
                        account_id,
                        id,
                        contact_id,
                        generation,
                        verdict,
                    });
                }
                if let Some(cmds) = cmds.upgrade() {
                    let _ = cmds.send(Cmd::Verdicts(out));
                }
            }
            .instrument(tracing::info_span!("job", name = "reauthorise_sockets")),
        );
    }

    /// Applies re-authorisation results; a result older than the connection's latest
    /// access change is ignored (the newer one's task will answer).
    fn verdicts(&mut self, list: Vec<Decided>) {
        for d in list {
            let Some(st) = self.accounts.get_mut(&d.account_id) else {
                continue;
            };
            let queue = st.queue;
            match d.contact_id {
                None => {
                    if let Some(s) = st.agents.get_mut(&d.id)
                        && s.generation == d.generation
                        && !s.decide(d.verdict, queue)
                    {
                        st.agents.remove(&d.id);
                    }
                }
                Some(c) => {
                    let Some(subs) = st.visitors.get_mut(&c) else {
                        continue;
                    };
                    if let Some(at) = subs.iter().position(|(i, _)| *i == d.id)
                        && subs[at].1.generation == d.generation
                        && !subs[at].1.decide(d.verdict, queue)
                    {
                        subs.swap_remove(at);
                    }
                    if subs.is_empty() {
                        st.visitors.remove(&c);
                    }
                }
            }
        }
    }

    /// Reads from the database the events behind holes that stayed open too long, and
    /// after a lag everything past the last delivered cursor.
    async fn fill_gaps(&mut self) {
        let due: Vec<i64> = self
            .accounts
            .iter()
            .filter(|(_, st)| {
                st.needs_fill || st.gap_since.is_some_and(|t| t.elapsed() >= GAP_WAIT)
            })
            .map(|(id, _)| *id)
            .collect();
        for account_id in due {
            if let Err(e) = self.fill(account_id).await {
                tracing::warn!(account_id, error = %e, "could not fill an event gap from the database");
            }
        }
    }

    /// Reads from the log what the account's stream lacks: after a lag, everything past the
    /// last delivered cursor; otherwise each hole below a parked event, one after another.
    async fn fill(&mut self, account_id: i64) -> Result<()> {
        loop {
            let Some(st) = self.accounts.get_mut(&account_id) else {
                return Ok(());
            };
            let until = if st.needs_fill {
                None
            } else {
                match st.pending.first_key_value() {
                    Some((k, _)) if *k > st.next => Some(*k),
                    _ => {
                        st.drain();
                        return Ok(());
                    }
                }
            };
            let after = st.next - 1;
            let rows = self
                .store
                .events_after(account_id, &EventScope::Account, after, until, PAGE)
                .await?;
            let Some(st) = self.accounts.get_mut(&account_id) else {
                return Ok(());
            };
            let n = rows.len() as i64;
            for row in rows {
                metrics::counter!("parley_ws_gap_filled_total").increment(1);
                st.accept(Delivery::new(event_of_row(row)));
            }
            if until.is_none() {
                if n < PAGE {
                    // Caught up with the log; parked events may still leave holes.
                    st.needs_fill = false;
                }
                continue;
            }
            if n == 0
                && let Some(k) = until
            {
                // The parked event is committed, so everything below it is too (cursors
                // follow commit order); finding nothing means those cursors were pruned.
                // Skip rather than wait forever: clients resuming that far back get `resync`.
                tracing::warn!(
                    account_id,
                    from = st.next,
                    to = k,
                    "event gap not in the database; skipping"
                );
                st.next = k;
                st.drain();
            }
        }
    }
}

/// A stored event as it travels on the bus.
pub fn event_of_row(row: EventRow) -> Event {
    let data = serde_json::from_str(&row.payload).unwrap_or(Value::Null);
    Event {
        account_id: row.account_id,
        name: row.name,
        conversation_id: row.conversation_id,
        inbox_id: row.inbox_id,
        contact_id: row.contact_id,
        public: row.public != 0,
        cursor: Some(row.seq),
        data,
    }
}

/// What a reconnecting client gets before live events resume.
pub enum Replay {
    /// Events after the cursor, oldest first (possibly empty).
    Events(Vec<Event>),
    /// The cursor is older than the retained history, or unknown: reload state.
    Resync,
}

impl Services {
    /// Stores a non-message event (a conversation change, an edited message) right after
    /// its change committed, then publishes it with its cursor. If the append fails the
    /// event still goes out live, without a cursor, and the failure is logged.
    pub(crate) async fn emit(&self, mut draft: EventDraft) {
        if draft.origin.is_none() {
            draft.origin = crate::context::event_origin();
        }
        let account_id = draft.account_id;
        match self.store.append_event(draft.clone()).await {
            Ok(row) => self.bus.publish(event_of_row(row)),
            Err(e) => {
                tracing::error!(account_id, event = %draft.name, error = %e, "could not store an event; sent live only");
                self.bus.publish(Event {
                    account_id,
                    name: draft.name,
                    conversation_id: draft.conversation_id,
                    inbox_id: draft.inbox_id,
                    contact_id: draft.contact_id,
                    public: draft.public,
                    cursor: None,
                    data: serde_json::from_str(&draft.payload).unwrap_or(Value::Null),
                });
            }
        }
    }

    /// Publishes an ephemeral event (typing, read receipt, presence): not stored, no cursor.
    pub(crate) fn emit_ephemeral(&self, event: Event) {
        self.bus.publish(Event {
            cursor: None,
            ..event
        });
    }

    /// One page of events of `viewer` after `cursor` (exclusive), at most [`PAGE`]; a
    /// shorter page means the replay caught up with the database.
    pub async fn replay(&self, account_id: i64, viewer: &Viewer, cursor: i64) -> Result<Replay> {
        let head = self.store.event_head(account_id).await?;
        if cursor > head {
            return Ok(Replay::Resync);
        }
        if cursor < head {
            // Events after the cursor must all still be stored.
            match self.store.oldest_event(account_id).await? {
                Some(oldest) if cursor + 1 >= oldest => {}
                _ => return Ok(Replay::Resync),
            }
        }
        let rows = self
            .store
            .events_after(account_id, &viewer.scope(), cursor, None, PAGE)
            .await?;
        Ok(Replay::Events(rows.into_iter().map(event_of_row).collect()))
    }

    /// Whom an agent's connection shows: every inbox for administrators and supervisors,
    /// their member inboxes for agents (read once, when the connection opens).
    pub async fn agent_viewer(&self, ctx: &crate::AccountCtx) -> Result<Viewer> {
        let inboxes = if ctx.sees_all_inboxes() {
            None
        } else {
            let ids = self
                .store
                .inbox_ids_for_user(ctx.account_id, ctx.user_id)
                .await?;
            Some(Arc::new(ids.into_iter().collect::<HashSet<i64>>()))
        };
        Ok(Viewer::Agent {
            user_id: ctx.user_id,
            inboxes,
        })
    }
}

/// Builds an event draft for a conversation change from its rendered view.
pub(crate) fn conversation_draft(
    name: &str,
    c: &parley_store::conversations::ConversationRow,
    data: &Value,
) -> EventDraft {
    EventDraft {
        account_id: c.account_id,
        name: name.into(),
        conversation_id: Some(c.id),
        inbox_id: Some(c.inbox_id),
        contact_id: Some(c.contact_id),
        public: true,
        payload: data.to_string(),
        origin: None,
    }
}

/// Connections per agent and per visitor on this node, for `presence.update`: an event when
/// someone's first connection opens or their last one closes. Per node for now — several
/// nodes each announce their own view (routing's presence, with a grace period and a
/// cluster-wide view, builds on this).
#[derive(Default)]
pub struct Presence {
    counts: std::sync::Mutex<HashMap<(i64, PresenceKey), usize>>,
}

/// Who is present: an agent (user id) or a visitor (contact id, inbox id).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PresenceKey {
    User(i64),
    Contact { contact_id: i64, inbox_id: i64 },
}

/// Marks a connection present until dropped.
pub struct PresenceGuard {
    svc: Services,
    account_id: i64,
    key: PresenceKey,
}

impl Drop for PresenceGuard {
    fn drop(&mut self) {
        let last = {
            let mut counts = match self.svc.presence.counts.lock() {
                Ok(c) => c,
                Err(p) => p.into_inner(),
            };
            let entry = (self.account_id, self.key);
            match counts.get_mut(&entry) {
                Some(n) if *n > 1 => {
                    *n -= 1;
                    false
                }
                Some(_) => {
                    counts.remove(&entry);
                    true
                }
                None => false,
            }
        };
        if last {
            self.svc
                .presence_changed(self.account_id, self.key, "offline");
        }
    }
}

impl Services {
    /// Records a connection of `key`; announces it when it is their first on this node.
    pub fn connected(&self, account_id: i64, key: PresenceKey) -> PresenceGuard {
        let first = {
            let mut counts = match self.presence.counts.lock() {
                Ok(c) => c,
                Err(p) => p.into_inner(),
            };
            let n = counts.entry((account_id, key)).or_insert(0);
            *n += 1;
            *n == 1
        };
        if first {
            self.presence_changed(account_id, key, "online");
        }
        PresenceGuard {
            svc: self.clone(),
            account_id,
            key,
        }
    }

    /// Connections on this node of this agent or visitor (0 when none).
    pub fn local_connections(&self, account_id: i64, key: PresenceKey) -> usize {
        let counts = match self.presence.counts.lock() {
            Ok(c) => c,
            Err(p) => p.into_inner(),
        };
        counts.get(&(account_id, key)).copied().unwrap_or(0)
    }

    /// A first connection opened or a last one closed on this node. Visitors are announced
    /// at once; agents go through routing's presence (cluster-wide, with a grace period),
    /// which announces them when their effective status changes.
    fn presence_changed(&self, account_id: i64, key: PresenceKey, status: &str) {
        match key {
            PresenceKey::User(user_id) => {
                let svc = self.clone();
                tokio::spawn(async move {
                    if let Err(e) = svc.agent_connections_changed(account_id, user_id).await {
                        tracing::warn!(account_id, user_id, error = %e, "agent presence update failed");
                    }
                });
            }
            PresenceKey::Contact { .. } => self.emit_presence(account_id, key, status),
        }
    }

    /// `presence.update` in Chatwoot's shape: `{account_id, users: {id: status}}` or
    /// `{account_id, contacts: {id: status}}`. Agents only (visitors never see it).
    fn emit_presence(&self, account_id: i64, key: PresenceKey, status: &str) {
        let (inbox_id, data) = match key {
            PresenceKey::User(id) => (
                None,
                serde_json::json!({"account_id": account_id, "users": {id.to_string(): status}}),
            ),
            PresenceKey::Contact {
                contact_id,
                inbox_id,
            } => (
                Some(inbox_id),
                serde_json::json!({"account_id": account_id, "contacts": {contact_id.to_string(): status}}),
            ),
        };
        self.emit_ephemeral(Event {
            account_id,
            name: "presence.update".into(),
            conversation_id: None,
            inbox_id,
            contact_id: None,
            public: false,
            cursor: None,
            data,
        });
    }
}
