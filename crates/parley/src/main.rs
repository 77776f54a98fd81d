//! `parley`: the command line. `parley` alone serves.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use parley::Config;
use tracing_subscriber::EnvFilter;

/// Parley: a self-hosted omnichannel customer-communication platform.
///
/// Settings come from defaults, then a TOML file (--config, or ./parley.toml if present),
/// then PARLEY_* environment variables, then these flags.
#[derive(Parser, Debug)]
#[command(name = "parley", version, about, long_about)]
struct Cli {
    /// TOML configuration file [env: PARLEY_CONFIG]
    #[arg(long, global = true, env = "PARLEY_CONFIG")]
    config: Option<PathBuf>,
    #[command(flatten)]
    settings: Settings,
    #[command(subcommand)]
    command: Option<Command>,
}

/// Settings that flags can override.
#[derive(Args, Debug, Default)]
struct Settings {
    /// Address to listen on [default: 127.0.0.1:8080] [env: PARLEY_LISTEN]
    #[arg(long, global = true)]
    listen: Option<String>,
    /// Data directory for the SQLite database and files [default: ./parley-data] [env: PARLEY_DATA_DIR]
    #[arg(long, global = true)]
    data_dir: Option<PathBuf>,
    /// Database URL, sqlite://… or postgres://… [default: <data-dir>/parley.db] [env: PARLEY_DATABASE_URL]
    #[arg(long, global = true)]
    database_url: Option<String>,
    /// NATS URL for several nodes sharing events; unset = single node [env: PARLEY_NATS_URL]
    #[arg(long, global = true)]
    nats_url: Option<String>,
    /// Public base URL used in links and the widget snippet [default: http://<listen>] [env: PARLEY_PUBLIC_URL]
    #[arg(long, global = true)]
    public_url: Option<String>,
    /// Log format: text or json [default: text] [env: PARLEY_LOG_FORMAT]
    #[arg(long, global = true)]
    log_format: Option<String>,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run the server (the default when no command is given): REST API, Client API, docs.
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
    /// e-mail gets the new password and becomes an administrator of the account.
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
    if let Some(v) = s.public_url {
        cfg.public_url = Some(v);
    }
    if let Some(v) = s.log_format {
        cfg.log_format = v;
    }
}

fn init_logging(cfg: &Config) {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(&cfg.log_level));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if cfg.log_format == "json" {
        builder.json().flatten_event(true).init();
    } else {
        builder.init();
    }
}

#[tokio::main]
async fn main() -> ExitCode {
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
            eprintln!("parley: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn serve(cfg: Config) -> Result<(), String> {
    let server = parley::start(&cfg).await.map_err(|e| e.to_string())?;
    let public = cfg.public_url();
    tracing::info!(addr = %server.addr, database = %redact(&cfg.database_url()), "parley is serving");
    eprintln!(
        "Parley is serving on http://{} (API docs: {public}/api/docs)",
        server.addr
    );
    if server
        .services
        .setup_needed()
        .await
        .map_err(|e| e.to_string())?
    {
        eprintln!(
            "No user exists yet. Create the first administrator with\n  parley admin create --email you@example.com --password '<password>' --account 'My shop'\nor POST {public}/api/v1/setup with name, email, password and account_name."
        );
    }
    let services = server.services.clone();
    let stop = tokio::spawn(async move {
        let _ = tokio::signal::ctrl_c().await;
    });
    tokio::select! {
        r = server.wait() => r.map_err(|e| e.to_string()),
        _ = stop => {
            tracing::info!("shutting down");
            services.store.close().await;
            Ok(())
        }
    }
}

async fn migrate(cfg: Config) -> Result<(), String> {
    let store = parley::open_store(&cfg).await.map_err(|e| e.to_string())?;
    store.close().await;
    eprintln!("Migrations applied to {}", redact(&cfg.database_url()));
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
    let svc = parley::services(&cfg, store.clone());
    let done = svc
        .admin_create(email, password, name, account)
        .await
        .map_err(|e| e.to_string())?;
    store.close().await;
    eprintln!(
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
    println!("account_id={}", done.account_id);
    println!("user_id={}", done.user_id);
    println!("api_access_token={}", done.access_token);
    Ok(())
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
