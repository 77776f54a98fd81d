//! Use cases of Parley. Every entry point (REST, Client API, WebSocket, channel adapters,
//! CLI) goes through these functions, so a rule is enforced in one place whatever the door.

pub mod access;
mod auth;
mod context;
mod error;
pub mod hashing;
pub mod ratelimit;
pub mod signin_limits;

pub mod agent_bots;
pub mod agents;
pub mod automation;
pub mod campaigns;
pub mod canned;
pub mod channel_status;
pub mod channels;
pub mod contact_merge;
pub mod contacts;
pub mod continuity;
pub mod conversations;
pub mod delivery;
pub mod exports;
pub mod health;
pub mod http_client;
pub mod inboxes;
pub mod jobs;
pub mod labels;
pub mod live_metrics;
pub mod mail;
pub mod mentions;
pub mod messages;
pub mod notes;
pub mod onboarding;
pub mod profile;
pub mod public;
pub mod realtime;
pub mod report_csv;
pub mod reports;
pub mod routing;
pub mod routing_config;
pub mod search;
pub mod settings;
pub mod socket_queue;
pub mod standards;
pub mod teams;
pub mod texts;
pub mod transcripts;
pub mod transfer;
mod typing_hooks;
pub mod uploads;
pub mod views;
pub mod webhooks;
pub mod widget;

use std::path::PathBuf;
use std::sync::Arc;

use parley_bus::EventBus;
use parley_store::Store;

pub use auth::{AdminCreated, Principal, SetupDone};
pub use context::{AccountCtx, BotActor};
pub use error::{OrNotFound, ServiceError};

/// Result of a use case.
pub type Result<T> = std::result::Result<T, ServiceError>;

/// Settings the use cases need.
#[derive(Debug, Clone)]
pub struct ServiceConfig {
    /// Where attachments are stored.
    pub files_dir: PathBuf,
    /// Public base URL, used in links and the widget snippet.
    pub public_url: String,
    /// Largest accepted attachment, in bytes.
    pub max_upload_bytes: usize,
    /// How long a browser session lives, in milliseconds.
    pub session_ttl_ms: i64,
    /// Messages a visitor may send per minute (Client API and WebSocket).
    pub visitor_messages_per_minute: u32,
    /// New visitor contacts one client address may create per minute (Client API).
    pub visitor_contacts_per_minute: u32,
    /// New conversations one visitor may start per minute (Client API).
    pub visitor_conversations_per_minute: u32,
    /// Events a WebSocket may have queued before it is cut as a slow consumer.
    pub ws_queue_events: usize,
    /// Password hashes computed at once (0 = from the cores, 2 to 4).
    pub password_hash_concurrency: usize,
    /// How long a sign-in waits for a hashing slot before it gets 503 `busy`.
    pub password_hash_queue: std::time::Duration,
    /// The sign-in limiter's budgets.
    pub signin: signin_limits::SignInLimits,
    /// Bytes of attachments one account may store (0 = unlimited).
    pub max_account_storage_bytes: u64,
    /// How long stored events are kept for resuming clients (`event_retention_days`).
    pub event_retention_ms: i64,
    /// Outgoing webhooks: target checks and the retry policy.
    pub webhooks: webhooks::WebhookSettings,
}

impl Default for ServiceConfig {
    fn default() -> Self {
        Self {
            files_dir: PathBuf::from("./parley-data/files"),
            public_url: "http://127.0.0.1:8080".into(),
            max_upload_bytes: 40 * 1024 * 1024,
            session_ttl_ms: 30 * 24 * 3600 * 1000,
            visitor_messages_per_minute: 60,
            visitor_contacts_per_minute: 30,
            visitor_conversations_per_minute: 10,
            ws_queue_events: realtime::CONNECTION_QUEUE,
            password_hash_concurrency: 0,
            password_hash_queue: std::time::Duration::from_secs(2),
            signin: signin_limits::SignInLimits::default(),
            event_retention_ms: 7 * 86_400_000,
            max_account_storage_bytes: 10 * 1024 * 1024 * 1024,
            webhooks: webhooks::WebhookSettings::default(),
        }
    }
}

/// The use cases, sharing one store and one event bus.
#[derive(Clone)]
pub struct Services {
    /// The database. Private: every layer above reaches it through a use case, so tenancy,
    /// roles and validation cannot be skipped (`http` never talks to the store).
    pub(crate) store: Store,
    pub bus: Arc<dyn EventBus>,
    pub config: Arc<ServiceConfig>,
    /// Sign-in attempts per address, e-mail and (address, e-mail) pair, reserved before
    /// any password is hashed.
    pub login_limiter: Arc<signin_limits::SignInLimiter>,
    /// The bounded pool every argon2 computation runs in.
    pub hashing: Arc<hashing::PasswordHashing>,
    /// Budgets of the public Client API, where anyone can write.
    pub public_limits: Arc<PublicLimits>,
    /// The group-commit writer every message goes through (one transaction and one fsync
    /// per batch; each sender is answered after the commit).
    pub message_writer: parley_store::messages::MessageWriter,
    /// How a stored message becomes its `message.created` payload inside the transaction
    /// that stores it (the writer's, and a transfer's).
    pub message_renderer: Arc<dyn parley_store::messages::MessageRenderer>,
    /// This node's real-time fan-out (WebSocket subscriptions).
    /// This process's name in the cluster (presence rows, job leases).
    pub node_id: Arc<str>,
    pub hub: realtime::Hub,
    /// Who has a socket open on this node, for `presence.update`.
    pub presence: Arc<realtime::Presence>,
    /// Outgoing e-mail (off-hours notices, answers to visitors who left); `NoMailer` until
    /// the binary configures SMTP with [`Services::with_mailer`].
    pub mailer: Arc<dyn mail::Mailer>,
    /// The channel providers (Telegram…) the binary registered: the outbox delivers
    /// through them, inbox creation checks settings with them.
    pub providers: Arc<delivery::Providers>,
    /// Running exports and the transcript e-mail budget (bounds what a user can start).
    pub export_limits: Arc<exports::ExportLimits>,
    /// Signals the channel runtime that an inbox was created, changed or deleted.
    /// A counter that moves on every change: each channel's runtime watches it (a
    /// `Notify` would wake only one of several runtimes).
    channels_changed: Arc<tokio::sync::watch::Sender<u64>>,
    /// Which typing events go on to webhooks (a change of state, or a slow repeat).
    pub(crate) typing_gate: Arc<typing_hooks::TypingGate>,
}

/// Rate limits of the public Client API. Generous for a person typing, tight for a script.
pub struct PublicLimits {
    /// New visitor contacts per client IP (`visitor_contacts_per_minute`, 30 by default).
    pub contacts_per_ip: ratelimit::RateLimiter,
    /// New conversations per visitor identity (`visitor_conversations_per_minute`, 10).
    pub conversations_per_visitor: ratelimit::RateLimiter,
    /// Messages per visitor identity (`visitor_messages_per_minute`, 60).
    pub messages_per_visitor: ratelimit::RateLimiter,
}

impl PublicLimits {
    /// Budgets per minute: new contacts per client address, new conversations and
    /// messages per visitor (each at least one).
    pub fn new(
        contacts_per_minute: u32,
        conversations_per_minute: u32,
        messages_per_minute: u32,
    ) -> Self {
        let minute = std::time::Duration::from_secs(60);
        Self {
            contacts_per_ip: ratelimit::RateLimiter::new(contacts_per_minute.max(1), minute),
            conversations_per_visitor: ratelimit::RateLimiter::new(
                conversations_per_minute.max(1),
                minute,
            ),
            messages_per_visitor: ratelimit::RateLimiter::new(messages_per_minute.max(1), minute),
        }
    }
}

impl Default for PublicLimits {
    fn default() -> Self {
        Self::new(30, 10, 60)
    }
}

impl Services {
    pub fn new(store: Store, bus: Arc<dyn EventBus>, config: ServiceConfig) -> Self {
        let login_limiter = Arc::new(signin_limits::SignInLimiter::new(
            config.signin.clone(),
            store.clock().clone(),
        ));
        let hashing = Arc::new(hashing::PasswordHashing::new(
            config.password_hash_concurrency,
            config.password_hash_queue,
        ));
        let base_url = config.public_url.clone();
        let renderer = move |m: &parley_store::messages::MessageWithAttachments| {
            let view = messages::render_message(&base_url, m, &messages::Audience::Agent);
            serde_json::to_string(&view).unwrap_or_else(|_| "null".into())
        };
        let message_renderer: Arc<dyn parley_store::messages::MessageRenderer> = Arc::new(renderer);
        let message_writer = parley_store::messages::MessageWriter::spawn(
            store.clone(),
            256,
            message_renderer.clone(),
        );
        let hub = realtime::Hub::spawn(store.clone(), &bus, config.ws_queue_events);
        // Report facts measure working time with the inboxes' calendars.
        store.set_working_time(Arc::new(reports::InboxWorkingTime));
        let public_limits = Arc::new(PublicLimits::new(
            config.visitor_contacts_per_minute,
            config.visitor_conversations_per_minute,
            config.visitor_messages_per_minute,
        ));
        Self {
            store,
            bus,
            config: Arc::new(config),
            login_limiter,
            hashing,
            public_limits,
            message_writer,
            message_renderer,
            node_id: parley_store::random_token(8).into(),
            hub,
            presence: Arc::default(),
            mailer: Arc::new(mail::NoMailer),
            providers: Arc::default(),
            export_limits: Arc::default(),
            channels_changed: Arc::new(tokio::sync::watch::Sender::new(0)),
            typing_gate: Arc::default(),
        }
    }

    /// Read round trips to the database so far (the `parley_store_reads_total` metric, and
    /// tests that count the queries of a page).
    pub fn store_reads(&self) -> u64 {
        self.store.reads()
    }

    /// Records in the store's write state that a request met `503 storage_unavailable`, so
    /// `/healthz` and the `parley_store_writable` gauge see it whatever path met it.
    pub fn note_store_unavailable(&self, cause: health::Unavailable, detail: &str) {
        self.store.note_unavailable(cause, detail);
    }

    /// Closes the database's connections (at shutdown, after the last request).
    pub async fn close_store(&self) {
        self.store.close().await;
    }

    /// Replaces the mailer (SMTP from the configuration, or a test's).
    pub fn with_mailer(mut self, m: Arc<dyn mail::Mailer>) -> Self {
        self.mailer = m;
        self
    }
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, BTreeSet};
    use std::path::Path;

    /// The modules of this crate a source text names through `crate::…` paths (its tests
    /// left out: they may use anything).
    fn named_modules(text: &str, modules: &BTreeSet<String>) -> BTreeSet<String> {
        let code = text.split("#[cfg(test)]").next().unwrap_or_default();
        let mut found = BTreeSet::new();
        let mut rest = code;
        while let Some(i) = rest.find("crate::") {
            rest = &rest[i + "crate::".len()..];
            let mut names = vec![];
            if let Some(group) = rest.strip_prefix('{') {
                // `use crate::{a, b::c}`.
                let end = group.find('}').unwrap_or(group.len());
                names.extend(group[..end].split(',').map(str::trim));
            } else {
                names.push(rest);
            }
            for n in names {
                let name: String = n
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect();
                if modules.contains(&name) {
                    found.insert(name);
                }
            }
        }
        found
    }

    /// Every `.rs` text of a module (its file, or the files of its folder).
    fn module_text(src: &Path, name: &str) -> String {
        let file = src.join(format!("{name}.rs"));
        if file.is_file() {
            return std::fs::read_to_string(file).unwrap_or_default();
        }
        let mut text = String::new();
        for e in std::fs::read_dir(src.join(name))
            .into_iter()
            .flatten()
            .flatten()
        {
            text += &std::fs::read_to_string(e.path()).unwrap_or_default();
        }
        text
    }

    /// The modules form layers: no module reaches itself through `crate::` imports
    /// (docs/architecture.md, "Inside `service`").
    #[test]
    fn modules_have_no_import_cycle() {
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let modules: BTreeSet<String> = std::fs::read_dir(&src)
            .expect("src")
            .flatten()
            .filter_map(|e| {
                let name = e.file_name().to_string_lossy().to_string();
                let module = name.strip_suffix(".rs").unwrap_or(&name).to_string();
                (module != "lib" && (name.ends_with(".rs") || e.path().is_dir())).then_some(module)
            })
            .collect();
        assert!(modules.contains("views") && modules.contains("conversations"));
        let deps: BTreeMap<String, BTreeSet<String>> = modules
            .iter()
            .map(|m| {
                let mut d = named_modules(&module_text(&src, m), &modules);
                d.remove(m);
                (m.clone(), d)
            })
            .collect();
        assert!(deps["conversations"].contains("views"));
        // Depth-first search; a module met again while still on the path closes a cycle.
        fn visit(
            m: &str,
            deps: &BTreeMap<String, BTreeSet<String>>,
            path: &mut Vec<String>,
            done: &mut BTreeSet<String>,
        ) -> Option<Vec<String>> {
            if let Some(i) = path.iter().position(|p| p == m) {
                let mut cycle = path[i..].to_vec();
                cycle.push(m.to_string());
                return Some(cycle);
            }
            if done.contains(m) {
                return None;
            }
            path.push(m.to_string());
            for d in &deps[m] {
                if let Some(c) = visit(d, deps, path, done) {
                    return Some(c);
                }
            }
            path.pop();
            done.insert(m.to_string());
            None
        }
        let mut done = BTreeSet::new();
        for m in &modules {
            let cycle = visit(m, &deps, &mut Vec::new(), &mut done);
            assert!(
                cycle.is_none(),
                "import cycle: {}",
                cycle.unwrap_or_default().join(" → ")
            );
        }
    }
}
