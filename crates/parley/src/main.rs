//! `parley`: the command line. `parley` alone serves.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use parley::Config;
use tracing_subscriber::EnvFilter;

/// mimalloc instead of glibc's allocator. Why: on the durable message path a message's
/// buffers are allocated on one thread and freed on another (socket task, writer, SQLite's
/// connection thread), and glibc's arenas spent a quarter of the socket workers' time in
/// `malloc`/`free` with lock waits; with mimalloc the saturated SQLite server carried
/// 15–20 % more messages on less CPU (docs/benchmarks.md, session 20). Tuned as below, an
/// idle server keeps less resident than with glibc (25 against 30 MiB).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// mimalloc's `arena_eager_commit` and `purge_delay` options (the same numbers in its v2
/// and v3 headers; libmimalloc-sys names neither).
const MI_OPTION_ARENA_EAGER_COMMIT: libmimalloc_sys::mi_option_t = 4;
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// Makes mimalloc give freed memory back to the system at once and commit its arenas as
/// they are used. Why: with its defaults an idle server kept ~48 MiB resident against the
/// 30 MB budget (DESIGN.md §3); with these, ~26 MiB, and the message path's throughput held
/// (docs/benchmarks.md, session 20). `MIMALLOC_ARENA_EAGER_COMMIT` and
/// `MIMALLOC_PURGE_DELAY` in the environment still decide when set.
///
/// It must run before the first allocation, which reserves mimalloc's first arena with the
/// options of that moment (set from `main`, an idle server still kept ~37 MiB), so on Linux
/// it is a constructor of the executable, and it allocates nothing itself.
extern "C" fn tune_allocator() {
    for (option, var) in [
        (MI_OPTION_ARENA_EAGER_COMMIT, c"MIMALLOC_ARENA_EAGER_COMMIT"),
        (MI_OPTION_PURGE_DELAY, c"MIMALLOC_PURGE_DELAY"),
    ] {
        // SAFETY: getenv reads the environment the C runtime set up before constructors
        // run (nothing writes it yet); mi_option_set stores one of mimalloc's option values.
        unsafe {
            if libc::getenv(var.as_ptr()).is_null() {
                libmimalloc_sys::mi_option_set(option, 0);
            }
        }
    }
}

#[cfg(target_os = "linux")]
#[used]
#[unsafe(link_section = ".init_array")]
static TUNE_ALLOCATOR: extern "C" fn() = tune_allocator;

/// Parley: a self-hosted omnichannel customer-communication platform.
///
/// Settings come from defaults, then a TOML file (--config, or ./parley.toml if present),
/// then PARLEY_* environment variables, then these flags; each overrides the one before.
/// A setting's TOML key is its flag name with `_` for `-` (listen, data_dir, database_url…)
/// and its variable is PARLEY_ followed by the key in capitals.
#[derive(Parser, Debug)]
#[command(
    name = "parley",
    version,
    about,
    long_about,
    after_long_help = EXAMPLES
)]
struct Cli {
    /// TOML configuration file [default: ./parley.toml if it exists]
    #[arg(long, global = true, env = "PARLEY_CONFIG", value_name = "FILE")]
    config: Option<PathBuf>,
    #[command(flatten)]
    settings: Settings,
    #[command(subcommand)]
    command: Option<Command>,
}

/// Settings that flags can override. Every one is also a TOML key (the flag's name with
/// `_` for `-`) and a `PARLEY_<KEY>` variable; the defaults live in `Config::default`.
#[derive(Args, Debug, Default)]
struct Settings {
    /// Address to listen on, IP:port [default: 127.0.0.1:8080] [env: PARLEY_LISTEN]
    #[arg(long, global = true, value_name = "IP:PORT")]
    listen: Option<String>,
    /// Data directory for the SQLite database and stored files [default: ./parley-data] [env: PARLEY_DATA_DIR]
    #[arg(long, global = true, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// Database URL, sqlite://… or postgres://… [default: sqlite://<data-dir>/parley.db] [env: PARLEY_DATABASE_URL]
    #[arg(long, global = true, value_name = "URL")]
    database_url: Option<String>,
    /// NATS URL for several nodes sharing events; unset = single node [env: PARLEY_NATS_URL]
    #[arg(long, global = true, value_name = "URL")]
    nats_url: Option<String>,
    /// First subject token(s) of this deployment on NATS; clusters sharing a NATS server use different ones [default: parley] [env: PARLEY_NATS_SUBJECT_PREFIX]
    #[arg(long, global = true, value_name = "PREFIX")]
    nats_subject_prefix: Option<String>,
    /// Public base URL used in links and the widget snippet [default: http://<listen>] [env: PARLEY_PUBLIC_URL]
    #[arg(long, global = true, value_name = "URL")]
    public_url: Option<String>,
    /// Log format: text or json (one JSON object per line) [default: text] [env: PARLEY_LOG_FORMAT]
    #[arg(long, global = true, value_name = "FORMAT")]
    log_format: Option<String>,
    /// Log filter, e.g. info or parley=debug,info; RUST_LOG wins if set [default: info] [env: PARLEY_LOG_LEVEL]
    #[arg(long, global = true, value_name = "FILTER")]
    log_level: Option<String>,
    /// Largest JSON request body in bytes; larger ones get 413 [default: 1048576] [env: PARLEY_MAX_BODY_BYTES]
    #[arg(long, global = true, value_name = "BYTES")]
    max_body_bytes: Option<usize>,
    /// Largest attachment upload in bytes [default: 41943040] [env: PARLEY_MAX_UPLOAD_BYTES]
    #[arg(long, global = true, value_name = "BYTES")]
    max_upload_bytes: Option<usize>,
    /// Database connections per pool [default: 8] [env: PARLEY_DB_MAX_CONNECTIONS]
    #[arg(long, global = true, value_name = "N")]
    db_max_connections: Option<u32>,
    /// Behind a reverse proxy: client address from the last X-Forwarded-For hop (for rate limits) [default: false] [env: PARLEY_TRUST_PROXY]
    #[arg(long, global = true, value_name = "BOOL")]
    trust_proxy: Option<bool>,
    /// Seconds between WebSocket pings; silent for two intervals = closed [default: 25] [env: PARLEY_WS_HEARTBEAT_SECS]
    #[arg(long, global = true, value_name = "SECS")]
    ws_heartbeat_secs: Option<u64>,
    /// Messages one visitor may send per minute [default: 60] [env: PARLEY_VISITOR_MESSAGES_PER_MINUTE]
    #[arg(long, global = true, value_name = "N")]
    visitor_messages_per_minute: Option<u32>,
    /// New visitor contacts one client address may create per minute [default: 30] [env: PARLEY_VISITOR_CONTACTS_PER_MINUTE]
    #[arg(long, global = true, value_name = "N")]
    visitor_contacts_per_minute: Option<u32>,
    /// New conversations one visitor may start per minute [default: 10] [env: PARLEY_VISITOR_CONVERSATIONS_PER_MINUTE]
    #[arg(long, global = true, value_name = "N")]
    visitor_conversations_per_minute: Option<u32>,
    /// Days the event log keeps events for reconnecting clients [default: 7] [env: PARLEY_EVENT_RETENTION_DAYS]
    #[arg(long, global = true, value_name = "DAYS")]
    event_retention_days: Option<u32>,
    /// Events a WebSocket may have queued before it is cut as a slow consumer [default: 4096] [env: PARLEY_WS_QUEUE_EVENTS]
    #[arg(long, global = true, value_name = "N")]
    ws_queue_events: Option<usize>,
    /// Outgoing mail server: smtp://user:pass@host:port (plain, local relay), smtp://host:587?tls=starttls or smtps://host:465; unset = no e-mail. Prefer the variable or file for a password: flags show in `ps` [env: PARLEY_SMTP_URL]
    #[arg(long, global = true, value_name = "URL")]
    smtp_url: Option<String>,
    /// Sender of outgoing e-mail, "Name <address>" or an address [default: Parley <parley@localhost>] [env: PARLEY_SMTP_FROM]
    #[arg(long, global = true, value_name = "ADDRESS")]
    smtp_from: Option<String>,
    /// Password hashes (argon2, 19 MiB each) computed at once; 0 = from the cores, 2 to 4 [default: 0] [env: PARLEY_PASSWORD_HASH_CONCURRENCY]
    #[arg(long, global = true, value_name = "N")]
    password_hash_concurrency: Option<usize>,
    /// Milliseconds a sign-in waits for a hashing slot before 503 busy [default: 2000] [env: PARLEY_PASSWORD_HASH_QUEUE_MS]
    #[arg(long, global = true, value_name = "MS")]
    password_hash_queue_ms: Option<u64>,
    /// Sign-in attempts per client address per minute; 0 = unlimited [default: 30] [env: PARLEY_LOGIN_ATTEMPTS_PER_ADDRESS]
    #[arg(long, global = true, value_name = "N")]
    login_attempts_per_address: Option<u32>,
    /// Failed sign-ins per e-mail per 15 minutes from all addresses; 0 = unlimited [default: 100] [env: PARLEY_LOGIN_FAILURES_PER_EMAIL]
    #[arg(long, global = true, value_name = "N")]
    login_failures_per_email: Option<u32>,
    /// Failed sign-ins per address and e-mail before delays of 1 s, 2 s, 4 s… [default: 5] [env: PARLEY_LOGIN_FREE_FAILURES]
    #[arg(long, global = true, value_name = "N")]
    login_free_failures: Option<u32>,
    /// Longest delay between sign-in attempts of one address and e-mail [default: 900] [env: PARLEY_LOGIN_MAX_DELAY_SECS]
    #[arg(long, global = true, value_name = "SECS")]
    login_max_delay_secs: Option<u64>,
    /// Seconds to send a request's headers (also the keep-alive idle time) [default: 10] [env: PARLEY_HTTP_HEADER_TIMEOUT_SECS]
    #[arg(long, global = true, value_name = "SECS")]
    http_header_timeout_secs: Option<u64>,
    /// Seconds a connection may stall mid-request before it is closed [default: 60] [env: PARLEY_HTTP_IDLE_TIMEOUT_SECS]
    #[arg(long, global = true, value_name = "SECS")]
    http_idle_timeout_secs: Option<u64>,
    /// Open connections in all; 0 = from the open-file limit [default: 0] [env: PARLEY_MAX_CONNECTIONS]
    #[arg(long, global = true, value_name = "N")]
    max_connections: Option<usize>,
    /// Open connections per client address; 0 = unlimited [default: 0] [env: PARLEY_MAX_CONNECTIONS_PER_ADDRESS]
    #[arg(long, global = true, value_name = "N")]
    max_connections_per_address: Option<usize>,
    /// WebSockets per visitor token or agent [default: 32] [env: PARLEY_WS_MAX_PER_CREDENTIAL]
    #[arg(long, global = true, value_name = "N")]
    ws_max_per_credential: Option<usize>,
    /// WebSockets per client address; 0 = unlimited [default: 0] [env: PARLEY_WS_MAX_PER_ADDRESS]
    #[arg(long, global = true, value_name = "N")]
    ws_max_per_address: Option<usize>,
    /// Bytes of attachments one account may store; 0 = unlimited [default: 10737418240] [env: PARLEY_MAX_ACCOUNT_STORAGE_BYTES]
    #[arg(long, global = true, value_name = "BYTES")]
    max_account_storage_bytes: Option<u64>,
    /// Base URL of the Telegram Bot API [default: https://api.telegram.org] [env: PARLEY_TELEGRAM_API_URL]
    #[arg(long, global = true, value_name = "URL")]
    telegram_api_url: Option<String>,
    /// Seconds one long poll of a bot's updates waits, 1 to 50 [default: 25] [env: PARLEY_TELEGRAM_POLL_TIMEOUT_SECS]
    #[arg(long, global = true, value_name = "SECS")]
    telegram_poll_timeout_secs: Option<u64>,
    /// Let webhooks reach loopback, private, link-local… addresses: true, false, or unset = only for a local server (loopback listen, no public_url) [env: PARLEY_ALLOW_PRIVATE_WEBHOOK_TARGETS]
    #[arg(long, global = true, value_name = "BOOL")]
    allow_private_webhook_targets: Option<bool>,
}

const EXAMPLES: &str = "\
Examples:
  parley                         serve on 127.0.0.1:8080 with SQLite in ./parley-data
  parley admin create --email you@shop.example --password 'long secret' --account 'My shop'
                                 first administrator; prints account_id= and api_access_token=
  PARLEY_DATABASE_URL=postgres://parley@127.0.0.1/parley parley migrate
                                 prepare a PostgreSQL database
  PARLEY_LOG_FORMAT=json parley --listen 0.0.0.0:8080
                                 JSON logs, all interfaces";

#[derive(Subcommand, Debug)]
enum Command {
    /// Run the server (the default when no command is given): REST API, Client API, docs.
    ///
    /// Applies migrations, then serves the REST API, the Client API, /healthz, /metrics and
    /// the API docs at /api/docs. Stops cleanly on Ctrl-C or SIGTERM. While no user exists
    /// it prints how to create the first administrator.
    Serve,
    /// Apply database migrations and exit (serve also applies them at start).
    Migrate,
    /// Administration from the shell.
    #[command(subcommand)]
    Admin(AdminCommand),
}

#[derive(Subcommand, Debug)]
enum AdminCommand {
    /// Create (or update) an administrator and print the account id and a new API token.
    ///
    /// The account is found by name and created if missing; an existing user with the
    /// e-mail gets the new password and becomes an administrator of the account. Prints
    /// account_id=…, user_id=… and api_access_token=… lines on stdout for scripts.
    Create {
        /// E-mail address to sign in with.
        #[arg(long)]
        email: String,
        /// Password (at least 8 characters).
        #[arg(long)]
        password: String,
        /// Display name [default: the part of the e-mail before @].
        #[arg(long)]
        name: Option<String>,
        /// Account name [default: "Default"].
        #[arg(long, default_value = "Default")]
        account: String,
    },
}

fn apply_flags(cfg: &mut Config, s: Settings) {
    if let Some(v) = s.listen {
        cfg.listen = v;
    }
    if let Some(v) = s.data_dir {
        cfg.data_dir = v;
    }
    if let Some(v) = s.database_url {
        cfg.database_url = Some(v);
    }
    if let Some(v) = s.nats_url {
        cfg.nats_url = Some(v);
    }
    if let Some(v) = s.nats_subject_prefix {
        cfg.nats_subject_prefix = v;
    }
    if let Some(v) = s.public_url {
        cfg.public_url = Some(v);
    }
    if let Some(v) = s.log_format {
        cfg.log_format = v;
    }
    if let Some(v) = s.log_level {
        cfg.log_level = v;
    }
    if let Some(v) = s.max_body_bytes {
        cfg.max_body_bytes = v;
    }
    if let Some(v) = s.max_upload_bytes {
        cfg.max_upload_bytes = v;
    }
    if let Some(v) = s.db_max_connections {
        cfg.db_max_connections = v;
    }
    if let Some(v) = s.trust_proxy {
        cfg.trust_proxy = v;
    }
    if let Some(v) = s.ws_heartbeat_secs {
        cfg.ws_heartbeat_secs = v;
    }
    if let Some(v) = s.visitor_messages_per_minute {
        cfg.visitor_messages_per_minute = v;
    }
    if let Some(v) = s.visitor_contacts_per_minute {
        cfg.visitor_contacts_per_minute = v;
    }
    if let Some(v) = s.visitor_conversations_per_minute {
        cfg.visitor_conversations_per_minute = v;
    }
    if let Some(v) = s.event_retention_days {
        cfg.event_retention_days = v;
    }
    if let Some(v) = s.ws_queue_events {
        cfg.ws_queue_events = v;
    }
    if let Some(v) = s.smtp_url {
        cfg.smtp_url = Some(v.into());
    }
    if let Some(v) = s.smtp_from {
        cfg.smtp_from = v;
    }
    if let Some(v) = s.password_hash_concurrency {
        cfg.password_hash_concurrency = v;
    }
    if let Some(v) = s.password_hash_queue_ms {
        cfg.password_hash_queue_ms = v;
    }
    if let Some(v) = s.login_attempts_per_address {
        cfg.login_attempts_per_address = v;
    }
    if let Some(v) = s.login_failures_per_email {
        cfg.login_failures_per_email = v;
    }
    if let Some(v) = s.login_free_failures {
        cfg.login_free_failures = v;
    }
    if let Some(v) = s.login_max_delay_secs {
        cfg.login_max_delay_secs = v;
    }
    if let Some(v) = s.http_header_timeout_secs {
        cfg.http_header_timeout_secs = v;
    }
    if let Some(v) = s.http_idle_timeout_secs {
        cfg.http_idle_timeout_secs = v;
    }
    if let Some(v) = s.max_connections {
        cfg.max_connections = v;
    }
    if let Some(v) = s.max_connections_per_address {
        cfg.max_connections_per_address = v;
    }
    if let Some(v) = s.ws_max_per_credential {
        cfg.ws_max_per_credential = v;
    }
    if let Some(v) = s.ws_max_per_address {
        cfg.ws_max_per_address = v;
    }
    if let Some(v) = s.max_account_storage_bytes {
        cfg.max_account_storage_bytes = v;
    }
    if let Some(v) = s.telegram_api_url.clone() {
        cfg.telegram_api_url = v;
    }
    if let Some(v) = s.telegram_poll_timeout_secs {
        cfg.telegram_poll_timeout_secs = v;
    }
    if let Some(v) = s.allow_private_webhook_targets {
        cfg.allow_private_webhook_targets = Some(v);
    }
}

/// Text logs for people (coloured only on a terminal, so files and pipes stay clean), or
/// one JSON object per line for log collectors.
fn init_logging(cfg: &Config) {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(&cfg.log_level));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if cfg.log_format == "json" {
        builder.json().flatten_event(true).init();
    } else {
        builder.with_ansi(std::io::stderr().is_terminal()).init();
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    #[cfg(not(target_os = "linux"))]
    tune_allocator();
    let cli = Cli::parse();
    let mut cfg = match Config::load(cli.config.as_deref()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("parley: {e}");
            return ExitCode::from(2);
        }
    };
    apply_flags(&mut cfg, cli.settings);
    if let Err(e) = cfg.check() {
        eprintln!("parley: {e}");
        return ExitCode::from(2);
    }
    init_logging(&cfg);
    let json_logs = cfg.log_format == "json";
    let result = match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve(cfg).await,
        Command::Migrate => migrate(cfg).await,
        Command::Admin(AdminCommand::Create {
            email,
            password,
            name,
            account,
        }) => admin_create(cfg, &email, &password, name.as_deref(), &account).await,
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            if json_logs {
                tracing::error!(error = %e, "parley failed");
            } else {
                eprintln!("parley: {e}");
            }
            ExitCode::FAILURE
        }
    }
}

async fn serve(cfg: Config) -> Result<(), String> {
    let stop = shutdown_signal();
    tokio::pin!(stop);
    // A signal during start-up (a database or NATS that does not answer yet) ends the
    // process at once instead of after the connection attempts give up.
    let server = tokio::select! {
        started = parley::start(&cfg) => started.map_err(|e| e.to_string())?,
        signal = &mut stop => {
            tracing::info!(signal, "stopped during start-up");
            return Ok(());
        }
    };
    // With port 0 the configured address is not the one to visit: use the bound one.
    let public = cfg
        .public_url
        .as_deref()
        .map(|u| u.trim_end_matches('/').to_string())
        .unwrap_or_else(|| format!("http://{}", server.addr));
    let json = cfg.log_format == "json";
    // The hint comes before the "serving" line so that a script (or test) that waits for
    // "serving on" has already seen everything start-up prints.
    if server
        .services
        .setup_needed()
        .await
        .map_err(|e| e.to_string())?
    {
        if json {
            tracing::warn!(
                open_url = %format!("{public}/app/"),
                setup_url = %format!("{public}/api/v1/setup"),
                "no user exists yet: open {public}/app/ in a browser to create the first administrator (or use `parley admin create` or POST /api/v1/setup)"
            );
        } else {
            // The page comes first: a new owner opens a browser, not a terminal.
            eprintln!(
                "No user exists yet. Open {public}/app/ in a browser to create the first administrator and your shop.\nWithout a browser: parley admin create --email you@example.com --password '<password>' --account 'My shop'\nor POST {public}/api/v1/setup with name, email, password and account_name."
            );
        }
    }
    // The mail server as `Secret` shows it: password replaced by ***.
    let mail = cfg
        .smtp_url
        .as_ref()
        .filter(|u| !u.expose().trim().is_empty())
        .map_or_else(|| "off".to_string(), |u| u.to_string());
    tracing::info!(addr = %server.addr, database = %redact(&cfg.database_url()), mail = %mail, "parley is serving");
    if !json {
        eprintln!(
            "Parley is serving on http://{} (API docs: {public}/api/docs)",
            server.addr
        );
    }
    // axum's accept loop does not end by itself (accept errors are retried), so the signal
    // is the only way out. Stopping is graceful: no new connections, in-flight requests
    // finish, then the database is closed. Long-lived connections get a bounded wait;
    // nothing acknowledged depends on it, since every acknowledged write is already durable.
    let signal = (&mut stop).await;
    tracing::info!(signal, "shutting down");
    if tokio::time::timeout(SHUTDOWN_GRACE, server.stop())
        .await
        .is_err()
    {
        tracing::warn!(
            grace_secs = SHUTDOWN_GRACE.as_secs(),
            "connections still open after the grace period; exiting anyway"
        );
    }
    Ok(())
}

/// How long a stopping server waits for open requests and connections.
const SHUTDOWN_GRACE: std::time::Duration = std::time::Duration::from_secs(10);

/// Resolves on Ctrl-C or, on Unix, SIGTERM (what systemd, Docker and Kubernetes send), so
/// the database is closed cleanly instead of the process being cut off. The handlers are
/// installed when this is called, not when the future is first polled, so a signal that
/// arrives right after start-up is not lost to the default action.
fn shutdown_signal() -> impl std::future::Future<Output = &'static str> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let term = signal(SignalKind::terminate()).ok();
        let int = signal(SignalKind::interrupt()).ok();
        async move {
            match (term, int) {
                (Some(mut term), Some(mut int)) => tokio::select! {
                    _ = int.recv() => "SIGINT",
                    _ = term.recv() => "SIGTERM",
                },
                _ => {
                    let _ = tokio::signal::ctrl_c().await;
                    "SIGINT"
                }
            }
        }
    }
    #[cfg(not(unix))]
    {
        async {
            let _ = tokio::signal::ctrl_c().await;
            "Ctrl-C"
        }
    }
}

async fn migrate(cfg: Config) -> Result<(), String> {
    let store = parley::open_store(&cfg).await.map_err(|e| e.to_string())?;
    store.close().await;
    say(
        &cfg,
        &format!("Migrations applied to {}", redact(&cfg.database_url())),
    );
    Ok(())
}

async fn admin_create(
    cfg: Config,
    email: &str,
    password: &str,
    name: Option<&str>,
    account: &str,
) -> Result<(), String> {
    let store = parley::open_store(&cfg).await.map_err(|e| e.to_string())?;
    let svc = parley::services(&cfg, store.clone()).map_err(|e| e.to_string())?;
    let done = svc
        .admin_create(email, password, name, account)
        .await
        .map_err(|e| e.to_string())?;
    store.close().await;
    let msg = format!(
        "{} administrator {email} in {} account \"{account}\".",
        if done.created_user {
            "Created"
        } else {
            "Updated"
        },
        if done.created_account {
            "new"
        } else {
            "existing"
        }
    );
    say(&cfg, &msg);
    // The machine-readable part goes to stdout as KEY=VALUE lines, so a script can
    // `eval "$(parley admin create …)"` or grep for the token.
    println!("account_id={}", done.account_id);
    println!("user_id={}", done.user_id);
    println!("api_access_token={}", done.access_token);
    Ok(())
}

/// A message for the person at the terminal: plain text, or a log event when logs are JSON
/// so that stderr stays one JSON object per line.
fn say(cfg: &Config, msg: &str) {
    if cfg.log_format == "json" {
        tracing::info!("{msg}");
    } else {
        eprintln!("{msg}");
    }
}

/// Hides a password in a database URL before logging it.
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let creds = &url[s + 3..at];
            match creds.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..s + 3], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::redact;

    #[test]
    fn redact_hides_only_the_password() {
        assert_eq!(
            redact("postgres://parley:s3cret@db:5432/parley"),
            "postgres://parley:***@db:5432/parley"
        );
        assert_eq!(
            redact("postgres://parley@db/parley"),
            "postgres://parley@db/parley"
        );
        assert_eq!(
            redact("sqlite://./parley-data/parley.db"),
            "sqlite://./parley-data/parley.db"
        );
        // An @ in the password must not leave part of it visible.
        assert_eq!(redact("postgres://u:p@ss@db/x"), "postgres://u:***@db/x");
    }
}
