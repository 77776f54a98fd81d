//! The Parley binary's library part: configuration, wiring and the server lifecycle, so
//! tests start exactly what `parley serve` starts.

pub mod config;
pub mod fdlimit;
pub mod lock;

use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use parley_bus::{EventBus, LocalBus, NatsBus};
use parley_http::{AppState, HttpConfig, NodeState};
use parley_service::{ServiceConfig, Services};
use parley_store::{Store, StoreOptions};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub use config::Config;

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Config(#[from] config::ConfigError),
    #[error("database: {0}")]
    Store(#[from] parley_store::StoreError),
    /// The database cannot be written: named with its cause, not as a timeout.
    #[error("cannot write the database {url}: {cause} ({detail})")]
    Storage {
        url: String,
        cause: &'static str,
        detail: String,
    },
    #[error(transparent)]
    Lock(#[from] lock::LockError),
    #[error("cannot create data directory {0}: {1}")]
    DataDir(String, std::io::Error),
    #[error("cannot listen on {0}: {1}")]
    Listen(String, std::io::Error),
    #[error("event bus: {0}")]
    Bus(#[from] parley_bus::BusError),
    #[error("channels: {0}")]
    Channel(String),
}

/// The process-wide Prometheus recorder (a process has one global recorder).
pub fn metrics_handle() -> Option<PrometheusHandle> {
    static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            // Latencies as real histograms (not the exporter's default summaries) so that
            // several nodes' series can be summed and quantiles taken across them.
            let builder = PrometheusBuilder::new()
                .set_buckets_for_metric(
                    Matcher::Suffix("_duration_seconds".into()),
                    &[
                        0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
                        5.0,
                    ],
                )
                .unwrap_or_else(|_| PrometheusBuilder::new());
            let recorder = builder.build_recorder();
            let handle = recorder.handle();
            metrics::set_global_recorder(recorder).ok().map(|_| handle)
        })
        .clone()
}

/// Opens the database of a configuration and applies migrations.
pub async fn open_store(cfg: &Config) -> Result<Store, StartError> {
    open_store_with(cfg, parley_core::time::system_clock()).await
}

/// [`open_store`] with the clock every timestamp and timer reads.
///
/// A database that cannot be written fails at once with its cause ("no space left on the
/// device holding the database", "the database is read-only"), and a SQLite file this call
/// created but could not initialise (0 bytes on a full disk) is removed again, so the next
/// start does not find an empty database.
pub async fn open_store_with(
    cfg: &Config,
    clock: parley_core::time::SharedClock,
) -> Result<Store, StartError> {
    let url = cfg.database_url();
    let sqlite_file = sqlite_path(&url);
    if url.starts_with("sqlite:") {
        std::fs::create_dir_all(&cfg.data_dir)
            .map_err(|e| StartError::DataDir(cfg.data_dir.display().to_string(), e))?;
    }
    let existed = sqlite_file.as_deref().is_some_and(|p| p.exists());
    let opened = async {
        let store = Store::connect(
            &url,
            StoreOptions {
                max_connections: cfg.db_max_connections,
                clock,
            },
        )
        .await?;
        if let Err(e) = store.migrate().await {
            store.close().await;
            return Err(e);
        }
        Ok(store)
    }
    .await;
    match opened {
        Ok(store) => Ok(store),
        Err(e) => {
            if let Some(p) = sqlite_file.as_deref().filter(|_| !existed) {
                remove_empty_database(p);
            }
            Err(start_error(&url, sqlite_file.as_deref(), e))
        }
    }
}

/// A store error at start, with the cause named when the database cannot be written.
/// For a SQLite file, what the operating system says about writing it ("Read-only file
/// system", "Permission denied") is added: SQLite itself only says it cannot open it.
fn start_error(
    url: &str,
    sqlite_file: Option<&std::path::Path>,
    e: parley_store::StoreError,
) -> StartError {
    match e.unavailable() {
        Some(cause) => {
            let mut detail = e.to_string();
            if let Some(p) = sqlite_file
                && let Err(os) = std::fs::OpenOptions::new().append(true).open(p)
                && os.kind() != std::io::ErrorKind::NotFound
            {
                detail.push_str(&format!("; opening {} for writing: {os}", p.display()));
            }
            StartError::Storage {
                url: url.to_string(),
                cause: cause.describe(),
                detail,
            }
        }
        None => StartError::Store(e),
    }
}

/// The file of a `sqlite:` URL (`None` for other databases and in-memory ones).
fn sqlite_path(url: &str) -> Option<std::path::PathBuf> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next().unwrap_or_default();
    if path.is_empty() || path == ":memory:" {
        return None;
    }
    Some(std::path::PathBuf::from(path))
}

/// Removes a database file left with 0 bytes (and its empty WAL companions) by a start
/// that could not write its first page.
fn remove_empty_database(path: &std::path::Path) {
    let mut files = vec![path.to_path_buf()];
    for suffix in ["-wal", "-shm"] {
        let mut name = path.as_os_str().to_owned();
        name.push(suffix);
        files.push(name.into());
    }
    for f in files {
        if std::fs::metadata(&f).is_ok_and(|m| m.len() == 0) {
            let _ = std::fs::remove_file(&f);
        }
    }
}

/// The event bus of a server: NATS when `nats_url` is set (so nodes share events), else
/// in-process. An unreachable NATS is a startup error rather than a silent fallback, which
/// would split the deployment into nodes that cannot hear each other.
pub async fn event_bus(cfg: &Config) -> Result<Arc<dyn EventBus>, StartError> {
    Ok(match &cfg.nats_url {
        Some(url) => Arc::new(
            NatsBus::connect_with(
                url,
                &parley_bus::nats::random_node_id(),
                parley_bus::NatsOptions {
                    subject_prefix: cfg.nats_subject_prefix.clone(),
                    ..parley_bus::NatsOptions::default()
                },
            )
            .await?,
        ),
        None => Arc::new(LocalBus::default()),
    })
}

/// Builds the use-case layer over a store with an in-process bus: enough for one-shot CLI
/// commands, which serve no clients.
pub fn services(cfg: &Config, store: Store) -> Result<Services, StartError> {
    services_with_bus(cfg, store, Arc::new(LocalBus::default()))
}

/// Builds the use-case layer over a store and an event bus, with the mailer of the
/// configuration. A malformed `smtp_url` or `smtp_from` is refused here, at startup,
/// rather than on the first e-mail.
pub fn services_with_bus(
    cfg: &Config,
    store: Store,
    bus: Arc<dyn EventBus>,
) -> Result<Services, StartError> {
    let mailer = parley_service::mail::mailer_from_config(&cfg.mail_config())
        .map_err(config::mail_config_error)?;
    let svc_cfg = ServiceConfig {
        files_dir: cfg.data_dir.join("files"),
        public_url: cfg.public_url(),
        max_upload_bytes: cfg.max_upload_bytes,
        visitor_messages_per_minute: cfg.visitor_messages_per_minute,
        visitor_contacts_per_minute: cfg.visitor_contacts_per_minute,
        visitor_conversations_per_minute: cfg.visitor_conversations_per_minute,
        ws_queue_events: cfg.ws_queue_events,
        password_hash_concurrency: cfg.password_hash_concurrency,
        password_hash_queue: std::time::Duration::from_millis(cfg.password_hash_queue_ms),
        signin: parley_service::signin_limits::SignInLimits {
            attempts_per_address: cfg.login_attempts_per_address,
            failures_per_email: cfg.login_failures_per_email,
            free_failures: cfg.login_free_failures,
            max_delay: std::time::Duration::from_secs(cfg.login_max_delay_secs),
        },
        max_account_storage_bytes: cfg.max_account_storage_bytes,
        event_retention_ms: i64::from(cfg.event_retention_days) * 86_400_000,
        webhooks: parley_service::webhooks::WebhookSettings {
            allow_private_targets: cfg.private_webhook_targets(),
            ..Default::default()
        },
        ..ServiceConfig::default()
    };
    Ok(Services::new(store, bus, svc_cfg).with_mailer(mailer))
}

/// A running server.
pub struct Server {
    /// The address actually bound (useful with port 0).
    pub addr: SocketAddr,
    /// The use cases behind it, for tests and the CLI.
    pub services: Services,
    /// The database the use cases run on (the same handle), for the binary's wiring and
    /// for tests that set up fixtures below the use cases. Nothing serving requests uses it.
    pub store: Store,
    shutdown: Option<oneshot::Sender<()>>,
    task: JoinHandle<std::io::Result<()>>,
    /// Background jobs (snooze expiry), stopped with the server.
    workers: Vec<JoinHandle<()>>,
    /// The data directory's lock (SQLite only), released when the server is dropped.
    _lock: Option<lock::DataDirLock>,
}

impl Server {
    /// Stops accepting, finishes in-flight requests and closes the database.
    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        let _ = (&mut self.task).await;
        for w in &self.workers {
            w.abort();
        }
        // Channels this node polled are free for the next start or another node at once.
        if let Err(e) = self.services.release_channel_leases().await {
            tracing::warn!(error = %e, "releasing channel leases failed");
        }
        // Deliveries cut off mid-request go out again at the next start or on another node.
        if let Err(e) = self.services.release_webhook_leases().await {
            tracing::warn!(error = %e, "releasing webhook leases failed");
        }
        self.services.close_store().await;
    }

    /// Waits until the server ends (on Ctrl-C for `parley serve`).
    pub async fn wait(self) -> std::io::Result<()> {
        match self.task.await {
            Ok(r) => r,
            Err(e) => Err(std::io::Error::other(e)),
        }
    }
}

/// What a test may change about a server beyond its configuration.
#[derive(Debug, Clone)]
pub struct StartOptions {
    /// Where "now" comes from (a test moves a manual clock instead of sleeping).
    pub clock: parley_core::time::SharedClock,
    /// How often the job runner looks for due timers when idle (also the webhook worker).
    pub job_poll: std::time::Duration,
    /// Replaces the webhook retry policy (tests retry in milliseconds, not minutes); the
    /// target check stays the configuration's.
    pub webhook_retry: Option<parley_service::webhooks::WebhookSettings>,
}

impl Default for StartOptions {
    fn default() -> Self {
        Self {
            clock: parley_core::time::system_clock(),
            job_poll: std::time::Duration::from_millis(500),
            webhook_retry: None,
        }
    }
}

/// Opens the database, migrates, binds the listener and serves until stopped.
pub async fn start(cfg: &Config) -> Result<Server, StartError> {
    start_with(cfg, StartOptions::default()).await
}

/// [`start`] with a clock and job polling chosen by the caller (tests).
pub async fn start_with(cfg: &Config, opts: StartOptions) -> Result<Server, StartError> {
    cfg.check()?;
    let listener = TcpListener::bind(&cfg.listen)
        .await
        .map_err(|e| StartError::Listen(cfg.listen.clone(), e))?;
    let addr = listener
        .local_addr()
        .map_err(|e| StartError::Listen(cfg.listen.clone(), e))?;
    // Before the database, so a missing NATS fails fast without touching storage.
    let bus = event_bus(cfg).await?;
    // One server per data directory (SQLite); before the database is opened, so a second
    // process is refused without touching it. PostgreSQL nodes share a database by design.
    let data_lock = if cfg.database_url().starts_with("sqlite:") {
        std::fs::create_dir_all(&cfg.data_dir)
            .map_err(|e| StartError::DataDir(cfg.data_dir.display().to_string(), e))?;
        match lock::DataDirLock::acquire(&cfg.data_dir) {
            Ok(l) => Some(l),
            Err(e @ lock::LockError::Busy { .. }) => return Err(e.into()),
            // No lock file can be made (a read-only or full directory): the database
            // check below fails with the cause in the database's own words.
            Err(e) => {
                tracing::warn!(error = %e, "data directory not locked");
                None
            }
        }
    } else {
        None
    };
    let store = open_store_with(cfg, opts.clock.clone()).await?;
    // Decided on the configuration as given: the effective one below always has a
    // public URL.
    let private_webhook_targets = cfg.private_webhook_targets();
    // Without a configured public URL, links use the address actually bound (a port of 0
    // in the configuration means "any free port").
    let mut effective = cfg.clone();
    if effective.public_url.is_none() {
        effective.public_url = Some(format!("http://{addr}"));
    }
    let cfg = &effective;
    let mut services = services_with_bus(cfg, store.clone(), bus)?;
    {
        let mut svc_cfg = (*services.config).clone();
        if let Some(retry) = &opts.webhook_retry {
            svc_cfg.webhooks = retry.clone();
        }
        svc_cfg.webhooks.allow_private_targets = private_webhook_targets;
        services.config = Arc::new(svc_cfg);
    }
    // Uploads cut off by a previous run's crash are never coming back.
    parley_service::uploads::clear_staging(&services.config.files_dir);
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let state = AppState::new(NodeState {
        svc: services.clone(),
        cfg: Arc::new(HttpConfig {
            json_body_limit: cfg.max_body_bytes,
            secure_cookies: cfg.public_url().starts_with("https://"),
            trust_proxy: cfg.trust_proxy,
            ws_heartbeat: std::time::Duration::from_secs(cfg.ws_heartbeat_secs),
        }),
        metrics: metrics_handle(),
        shutdown: stop_rx,
        ws_slots: Arc::new(parley_http::ws_slots::SocketSlots::new(
            cfg.ws_max_per_credential,
            cfg.ws_max_per_address,
        )),
        heartbeat: parley_http::ws::Heartbeat::start(std::time::Duration::from_secs(
            cfg.ws_heartbeat_secs,
        )),
    });
    let app = parley_http::app(state);
    let limits = parley_http::listen::ConnLimits {
        header_timeout: std::time::Duration::from_secs(cfg.http_header_timeout_secs),
        // A WebSocket leaves the idle watch at its upgrade; before it, nothing may stall
        // longer than the idle timeout.
        idle_timeout: std::time::Duration::from_secs(cfg.http_idle_timeout_secs),
        max_connections: fdlimit::connection_cap(cfg.max_connections),
        max_per_address: cfg.max_connections_per_address,
    };
    let (tx, rx) = oneshot::channel::<()>();
    let task = tokio::spawn(parley_http::listen::serve(
        listener,
        app,
        limits,
        async move {
            let _ = rx.await;
            // WebSockets are not requests the server waits for: tell them to close.
            let _ = stop_tx.send(true);
        },
    ));
    // The channel providers: the outbox delivers through them, their runtime imports.
    let telegram = parley_channels::telegram::install(
        &services,
        parley_channels::telegram::TelegramConfig {
            api_url: cfg.telegram_api_url.clone(),
            poll_timeout: std::time::Duration::from_secs(cfg.telegram_poll_timeout_secs),
            public_url: cfg.public_url(),
        },
    )
    .map_err(|e| StartError::Channel(e.to_string()))?;
    let email = parley_channels::email::provider::install(&services);
    let workers = vec![
        telegram,
        email,
        services.spawn_job_runner(opts.job_poll),
        services.spawn_webhook_worker(opts.job_poll),
        services.spawn_automation_worker(opts.job_poll),
        store.spawn_write_probe(std::time::Duration::from_secs(1)),
    ];
    Ok(Server {
        addr,
        services,
        store,
        workers,
        shutdown: Some(tx),
        task,
        _lock: data_lock,
    })
}
