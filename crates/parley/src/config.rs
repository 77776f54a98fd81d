//! Configuration: defaults, then a TOML file, then `PARLEY_*` environment variables, then
//! command-line flags, each overriding the one before.

use std::path::{Path, PathBuf};

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use parley_service::mail::{MailConfig, MailError};
use serde::{Deserialize, Serialize};

/// Every setting of a Parley node. Each field is also a `PARLEY_<NAME>` variable.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct Config {
    /// Address to listen on (`PARLEY_LISTEN`).
    pub listen: String,
    /// Directory for the SQLite database and stored files (`PARLEY_DATA_DIR`).
    pub data_dir: PathBuf,
    /// `sqlite://…` or `postgres://…`; default: `parley.db` in the data directory.
    pub database_url: Option<String>,
    /// NATS server shared by several nodes; unset means a single node.
    pub nats_url: Option<String>,
    /// First subject token(s) of this deployment on NATS, so two clusters sharing one NATS
    /// server never hear each other (`PARLEY_NATS_SUBJECT_PREFIX`).
    pub nats_subject_prefix: String,
    /// Base URL users reach this server at, used in links and the widget snippet.
    pub public_url: Option<String>,
    /// `text` or `json`.
    pub log_format: String,
    /// Log filter, e.g. `info` or `parley=debug,info` (overridden by `RUST_LOG`).
    pub log_level: String,
    /// Largest JSON request body, in bytes.
    pub max_body_bytes: usize,
    /// Largest attachment upload, in bytes.
    pub max_upload_bytes: usize,
    /// Database connections per pool.
    pub db_max_connections: u32,
    /// Behind a reverse proxy: take the client address for per-client rate limits from
    /// the last `X-Forwarded-For` hop instead of the TCP peer.
    pub trust_proxy: bool,
    /// Seconds between WebSocket pings; a socket silent for two intervals is closed.
    pub ws_heartbeat_secs: u64,
    /// Messages one visitor may send per minute (Client API and WebSocket).
    pub visitor_messages_per_minute: u32,
    /// New visitor contacts one client address may create per minute (Client API).
    pub visitor_contacts_per_minute: u32,
    /// New conversations one visitor may start per minute (Client API).
    pub visitor_conversations_per_minute: u32,
    /// Days the event log keeps events for reconnecting clients; older cursors resync.
    pub event_retention_days: u32,
    /// Events a WebSocket may have queued before it is cut as a slow consumer.
    pub ws_queue_events: usize,
    /// Outgoing mail server (`smtp://user:pass@host:port`, `smtp://host:587?tls=starttls`,
    /// `smtps://host:465`); unset = no e-mail. Holds a password, so never printed as is.
    pub smtp_url: Option<Secret>,
    /// Sender of outgoing e-mail, `Name <address>` or an address.
    pub smtp_from: String,
    /// Password hashes (argon2, 19 MiB each) computed at once; 0 = from the cores (2 to 4).
    pub password_hash_concurrency: usize,
    /// Milliseconds a sign-in waits for a hashing slot before it gets 503 `busy`.
    pub password_hash_queue_ms: u64,
    /// Sign-in attempts one client address may make per minute, any e-mail (0 = unlimited).
    pub login_attempts_per_address: u32,
    /// Failed sign-ins one e-mail may collect per 15 minutes from all addresses (0 = unlimited).
    pub login_failures_per_email: u32,
    /// Failed sign-ins a (client address, e-mail) pair may make before each further attempt
    /// must wait 1 s, 2 s, 4 s … after the previous one.
    pub login_free_failures: u32,
    /// The longest such wait, in seconds.
    pub login_max_delay_secs: u64,
    /// Seconds a client has to send a request's headers, counted from the start of the
    /// connection or the end of the previous response (so also the keep-alive idle time).
    pub http_header_timeout_secs: u64,
    /// Seconds a connection may transfer nothing in either direction in the middle of a
    /// request (a stalled body) before it is closed. WebSockets are exempt (heartbeats).
    pub http_idle_timeout_secs: u64,
    /// Open connections in all (0 = from the open-file limit, keeping 256 descriptors for
    /// the database and files).
    pub max_connections: usize,
    /// Open connections from one client address (0 = unlimited; behind a reverse proxy
    /// every connection comes from the proxy).
    pub max_connections_per_address: usize,
    /// WebSockets one credential (a visitor's pubsub token, an agent) may hold open.
    pub ws_max_per_credential: usize,
    /// WebSockets one client address may hold open (0 = unlimited).
    pub ws_max_per_address: usize,
    /// Bytes of attachments one account may store (0 = unlimited).
    pub max_account_storage_bytes: u64,
    /// Base URL of the Telegram Bot API (a local Bot API server, or a test's fake one).
    pub telegram_api_url: String,
    /// Seconds one long poll of a bot's updates (`getUpdates`) waits for news.
    pub telegram_poll_timeout_secs: u64,
    /// Let webhooks reach loopback, private (RFC 1918, ULA), link-local, CGNAT, unspecified
    /// and multicast addresses. Unset: allowed only for a local server (a loopback `listen`
    /// and no `public_url`: the quick start); a deployment refuses them.
    pub allow_private_webhook_targets: Option<bool>,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: "127.0.0.1:8080".into(),
            data_dir: PathBuf::from("./parley-data"),
            database_url: None,
            nats_url: None,
            nats_subject_prefix: "parley".into(),
            public_url: None,
            log_format: "text".into(),
            log_level: "info".into(),
            max_body_bytes: 1024 * 1024,
            max_upload_bytes: 40 * 1024 * 1024,
            db_max_connections: 8,
            trust_proxy: false,
            ws_heartbeat_secs: 25,
            visitor_messages_per_minute: 60,
            visitor_contacts_per_minute: 30,
            visitor_conversations_per_minute: 10,
            event_retention_days: 7,
            ws_queue_events: 4096,
            smtp_url: None,
            smtp_from: parley_service::mail::DEFAULT_FROM.into(),
            password_hash_concurrency: 0,
            password_hash_queue_ms: 2000,
            login_attempts_per_address: 30,
            login_failures_per_email: 100,
            login_free_failures: 5,
            login_max_delay_secs: 900,
            http_header_timeout_secs: 10,
            http_idle_timeout_secs: 60,
            max_connections: 0,
            max_connections_per_address: 0,
            ws_max_per_credential: 32,
            ws_max_per_address: 0,
            max_account_storage_bytes: 10 * 1024 * 1024 * 1024,
            telegram_api_url: "https://api.telegram.org".into(),
            telegram_poll_timeout_secs: 25,
            allow_private_webhook_targets: None,
        }
    }
}

/// Every TOML key (and, in capitals after `PARLEY_`, every variable). A key outside this list
/// in a configuration file is an error rather than silently ignored, so a typo such as
/// `listn = …` cannot leave a server on its default address unnoticed.
pub const KEYS: &[&str] = &[
    "listen",
    "data_dir",
    "database_url",
    "nats_url",
    "nats_subject_prefix",
    "public_url",
    "log_format",
    "log_level",
    "max_body_bytes",
    "max_upload_bytes",
    "db_max_connections",
    "trust_proxy",
    "ws_heartbeat_secs",
    "visitor_messages_per_minute",
    "visitor_contacts_per_minute",
    "visitor_conversations_per_minute",
    "event_retention_days",
    "ws_queue_events",
    "smtp_url",
    "smtp_from",
    "password_hash_concurrency",
    "password_hash_queue_ms",
    "login_attempts_per_address",
    "login_failures_per_email",
    "login_free_failures",
    "login_max_delay_secs",
    "http_header_timeout_secs",
    "http_idle_timeout_secs",
    "max_connections",
    "max_connections_per_address",
    "ws_max_per_credential",
    "ws_max_per_address",
    "max_account_storage_bytes",
    "telegram_api_url",
    "telegram_poll_timeout_secs",
    "allow_private_webhook_targets",
];

/// A setting that may hold a password (`smtp_url`). `Debug` and `Display` show it with the
/// password replaced by `***`, so printing a `Config` or logging the setting cannot leak
/// it; [`Secret::expose`] is the one way to the real value. Serialises as the real value
/// (the configuration loader round-trips settings through serde).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    /// The real value, for the code that connects with it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl From<String> for Secret {
    fn from(s: String) -> Self {
        Secret(s)
    }
}

impl From<&str> for Secret {
    fn from(s: &str) -> Self {
        Secret(s.to_string())
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}", parley_service::mail::redact_url(&self.0))
    }
}

impl std::fmt::Display for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&parley_service::mail::redact_url(&self.0))
    }
}

/// A mail setting refused, as a configuration error naming the key: a bad address can
/// only be `smtp_from` (recipients are not configured), anything else is `smtp_url`. The
/// mail module's messages never contain the URL, so no password reaches the terminal.
pub fn mail_config_error(e: MailError) -> ConfigError {
    match e {
        MailError::BadAddress(_) => ConfigError::Invalid(format!("smtp_from: {e}")),
        other => ConfigError::Invalid(format!("smtp_url: {other}")),
    }
}

/// Why configuration could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("configuration: {0}")]
    Invalid(String),
}

/// Parses a TOML file alone and rejects keys Parley does not know. Environment variables
/// are not checked this way: `PARLEY_*` names belong to other tools too (test suites, CI).
fn check_file_keys(f: &Path) -> Result<(), ConfigError> {
    let dict: figment::value::Dict = Figment::from(Toml::file_exact(f))
        .extract()
        .map_err(|e| ConfigError::Invalid(format!("{}: {e}", f.display())))?;
    for key in dict.keys() {
        if !KEYS.contains(&key.as_str()) {
            return Err(ConfigError::Invalid(format!(
                "{}: unknown setting {key:?}; known settings: {}",
                f.display(),
                KEYS.join(", ")
            )));
        }
    }
    Ok(())
}

impl Config {
    /// Loads defaults, the TOML file (if given, or `./parley.toml` if present) and
    /// `PARLEY_*` variables. Flags are applied by the caller afterwards.
    pub fn load(file: Option<&Path>) -> Result<Config, ConfigError> {
        let mut fig = Figment::from(Serialized::defaults(Config::default()));
        match file {
            Some(f) => {
                if !f.exists() {
                    return Err(ConfigError::Invalid(format!(
                        "config file {} does not exist",
                        f.display()
                    )));
                }
                check_file_keys(f)?;
                fig = fig.merge(Toml::file(f));
            }
            None => {
                let f = Path::new("parley.toml");
                if f.exists() {
                    check_file_keys(f)?;
                    fig = fig.merge(Toml::file(f));
                }
            }
        }
        fig = fig.merge(Env::prefixed("PARLEY_").ignore(&["config"]));
        let cfg: Config = fig
            .extract()
            .map_err(|e| ConfigError::Invalid(e.to_string()))?;
        cfg.check()?;
        Ok(cfg)
    }

    /// Rejects values that cannot work, with the setting's name in the message.
    pub fn check(&self) -> Result<(), ConfigError> {
        if self.listen.parse::<std::net::SocketAddr>().is_err() {
            return Err(ConfigError::Invalid(format!(
                "listen: {:?} is not an address like 127.0.0.1:8080",
                self.listen
            )));
        }
        if !matches!(self.log_format.as_str(), "text" | "json") {
            return Err(ConfigError::Invalid(format!(
                "log_format: {:?} must be text or json",
                self.log_format
            )));
        }
        if let Some(url) = &self.database_url
            && !(url.starts_with("sqlite:")
                || url.starts_with("postgres://")
                || url.starts_with("postgresql://"))
        {
            return Err(ConfigError::Invalid(
                "database_url: must start with sqlite: or postgres://".into(),
            ));
        }
        if !(1..=3600).contains(&self.ws_heartbeat_secs) {
            return Err(ConfigError::Invalid(
                "ws_heartbeat_secs: must be between 1 and 3600".into(),
            ));
        }
        if self.visitor_messages_per_minute == 0 {
            return Err(ConfigError::Invalid(
                "visitor_messages_per_minute: must be at least 1".into(),
            ));
        }
        if self.visitor_contacts_per_minute == 0 {
            return Err(ConfigError::Invalid(
                "visitor_contacts_per_minute: must be at least 1".into(),
            ));
        }
        if self.visitor_conversations_per_minute == 0 {
            return Err(ConfigError::Invalid(
                "visitor_conversations_per_minute: must be at least 1".into(),
            ));
        }
        if !(16..=1_000_000).contains(&self.ws_queue_events) {
            return Err(ConfigError::Invalid(
                "ws_queue_events: must be between 16 and 1000000".into(),
            ));
        }
        if !parley_bus::nats::valid_prefix(&self.nats_subject_prefix) {
            return Err(ConfigError::Invalid(
                "nats_subject_prefix: use dot-separated tokens of letters, digits, '-' or '_'"
                    .into(),
            ));
        }
        if self.event_retention_days == 0 {
            return Err(ConfigError::Invalid(
                "event_retention_days: must be at least 1".into(),
            ));
        }
        if self.max_body_bytes < 1024 {
            return Err(ConfigError::Invalid(
                "max_body_bytes: must be at least 1024".into(),
            ));
        }
        if self.password_hash_concurrency > 64 {
            return Err(ConfigError::Invalid(
                "password_hash_concurrency: must be between 0 (automatic) and 64".into(),
            ));
        }
        if self.password_hash_queue_ms > 60_000 {
            return Err(ConfigError::Invalid(
                "password_hash_queue_ms: must be at most 60000".into(),
            ));
        }
        if !(1..=86_400).contains(&self.login_max_delay_secs) {
            return Err(ConfigError::Invalid(
                "login_max_delay_secs: must be between 1 and 86400".into(),
            ));
        }
        if !(1..=3600).contains(&self.http_header_timeout_secs) {
            return Err(ConfigError::Invalid(
                "http_header_timeout_secs: must be between 1 and 3600".into(),
            ));
        }
        if !(1..=86_400).contains(&self.http_idle_timeout_secs) {
            return Err(ConfigError::Invalid(
                "http_idle_timeout_secs: must be between 1 and 86400".into(),
            ));
        }
        if self.ws_max_per_credential == 0 {
            return Err(ConfigError::Invalid(
                "ws_max_per_credential: must be at least 1".into(),
            ));
        }
        if !(self.telegram_api_url.starts_with("https://")
            || self.telegram_api_url.starts_with("http://"))
        {
            return Err(ConfigError::Invalid(
                "telegram_api_url: must be an http(s) URL".into(),
            ));
        }
        if !(1..=50).contains(&self.telegram_poll_timeout_secs) {
            return Err(ConfigError::Invalid(
                "telegram_poll_timeout_secs: must be between 1 and 50".into(),
            ));
        }
        self.mail_config().check().map_err(mail_config_error)?;
        Ok(())
    }

    /// The mail settings in effect.
    pub fn mail_config(&self) -> MailConfig {
        MailConfig {
            url: self.smtp_url.as_ref().map(|s| s.expose().to_string()),
            from: self.smtp_from.clone(),
        }
    }

    /// The database URL in effect.
    pub fn database_url(&self) -> String {
        self.database_url
            .clone()
            .unwrap_or_else(|| format!("sqlite://{}", self.data_dir.join("parley.db").display()))
    }

    /// Whether webhooks may reach private addresses: as set, or when unset only for a
    /// local server (a loopback `listen` address and no `public_url`).
    pub fn private_webhook_targets(&self) -> bool {
        self.allow_private_webhook_targets.unwrap_or_else(|| {
            self.public_url.is_none()
                && self
                    .listen
                    .parse::<std::net::SocketAddr>()
                    .is_ok_and(|a| a.ip().is_loopback())
        })
    }

    /// The public URL in effect.
    pub fn public_url(&self) -> String {
        self.public_url
            .clone()
            .unwrap_or_else(|| format!("http://{}", self.listen))
            .trim_end_matches('/')
            .to_string()
    }
}
