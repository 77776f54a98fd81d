//! The command line: three modes and the options they share, with every number checked
//! before any request is made.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::error::{Error, Result};
use crate::target::{self, Target};

/// Load generator for Parley's benchmarks (docs/benchmarks.md).
///
/// Loads only a Parley server on this machine (loopback addresses; anything else is
/// refused), for a bounded number of connections, messages and seconds, then prints a
/// table (or JSON with --json) and exits.
///
/// One process can hold at most the open-file limit minus 64 sockets (20,000 on the
/// reference machine, so ~19,900). For more, run several loadgen processes at once, each
/// with its own source addresses and its own slice of a shared setup file, e.g.:
///
///   loadgen idle … --connections 19000 --source-addrs 127.0.0.2 --setup-file s.json
///   loadgen idle … --connections 19000 --source-addrs 127.0.0.3 --setup-file s.json --skip 19000
///
/// (create the setup file first with the larger --skip + --connections, or run the
/// processes one after another; the server side needs one node per ~19,900 sockets too.)
#[derive(Parser, Debug)]
#[command(name = "loadgen", version, about, long_about, after_long_help = EXAMPLES)]
pub struct Cli {
    /// Print the report as one JSON object instead of a table.
    #[arg(long, global = true)]
    pub json: bool,
    #[command(subcommand)]
    pub mode: Mode,
}

const EXAMPLES: &str = "\
Examples:
  loadgen idle --url http://127.0.0.1:8080 --token T --account 1 --connections 19000 \\
      --source-addrs 127.0.0.2,127.0.0.3 --server-pid $(pgrep -n parley) --hold 60
  loadgen messages --url http://127.0.0.1:8080 --token T --account 1 --visitors 10000 \\
      --agents 3 --rate 10000 --duration 30 --source-addrs 127.0.0.2 --server-pid P
  loadgen messages … --transport rest --visitors 1000 --rate 500 --duration 20
  loadgen messages --url http://127.0.0.1:18081 --token T --visitors 1000 --agents 5 \\
      --visitor-nodes http://127.0.0.1:18081,http://127.0.0.1:18082,http://127.0.0.1:18083 \\
      --agent-nodes http://127.0.0.1:18084,http://127.0.0.1:18085 --rate 200 --duration 60
  PARLEY_TELEGRAM_API_URL=http://127.0.0.1:18091 parley serve …   # then:
  loadgen telegram --url http://127.0.0.1:8080 --token T --account 1 --rate 500 --duration 30
  loadgen commit-baseline --database-url sqlite:///tmp/baseline.db --rows 2000
  loadgen commit-baseline --database-url postgres://postgres@127.0.0.1/bench --rows 2000
  loadgen list-seed --database-url sqlite:///tmp/list/parley.db --conversations 1000000
  loadgen list --url http://127.0.0.1:8080 --token ADMIN --account 1 --agent-token AGENT \\
      --inbox 1 --team 1 --label label-03 --rounds 200 --pages 4";

#[derive(Subcommand, Debug)]
pub enum Mode {
    /// Hold idle visitor WebSockets and measure the server's memory per connection.
    ///
    /// Creates visitor contacts (Application API, then the Client API for each pubsub
    /// token), opens --connections visitor sockets in --steps steps, reads the server's
    /// VmRSS after each step (--server-pid), holds them for --hold seconds and reports
    /// connections held, disconnects, RSS per connection (delta / N and the slope over
    /// the steps) and the time to connect them all.
    Idle(IdleArgs),
    /// Durable messages per second and latency: visitors send, agents receive.
    ///
    /// Opens --agents agent sockets and --visitors visitor sockets (each visitor with one
    /// open conversation), then the visitors send message.create at an aggregate --rate,
    /// open-loop (each message has a scheduled time; latency counts from it). Reports
    /// messages acknowledged per second, deliveries per second (each message should reach
    /// every agent socket), send→ack and send→deliver latency percentiles, errors and
    /// disconnects. The first --warmup seconds are not counted.
    Messages(MessagesArgs),
    /// One-row-per-commit and 100-rows-per-commit insert rates of a database, for
    /// comparison with the server's group commit.
    ///
    /// Uses a table of its own (loadgen_baseline), dropped afterwards; SQLite in WAL mode
    /// with synchronous=FULL, PostgreSQL with synchronous_commit=on: the durability the
    /// server promises.
    CommitBaseline(BaselineArgs),
    /// Fill a database with one large account for the conversation-list benchmark.
    ///
    /// Writes straight into a database migrated by Parley (run with the server stopped):
    /// inboxes, teams, labels, agents with API tokens, contacts, conversations (70 %
    /// resolved, 20 % open, the rest pending or snoozed; 70 % assigned; 60 % in a team),
    /// one or two messages each and labels on some. Deterministic for the same arguments.
    /// Prints the tokens and ids `loadgen list` needs.
    ListSeed(SeedArgs),
    /// Conversation-list latency and queries per page over a seeded account.
    ///
    /// For each filter (open, unassigned, all statuses, resolved, an inbox, a team, a
    /// label, an agent's own and all views) fetches the first page and walks --pages more
    /// by cursor, --rounds times, from --clients concurrent clients; reports end-to-end
    /// latency percentiles per filter and the read round trips per page from the server's
    /// parley_store_reads_total (keep other load off the server while it runs).
    List(ListArgs),
    /// Fill a database with an account of --messages messages of generated Russian and
    /// English text (Zipf-like word frequencies, inflected forms, phones, e-mails, order
    /// numbers, a rare word) with their search-index rows, for `loadgen search`. Run with
    /// the server stopped. Prints the tokens and the index size per message.
    SearchSeed(SearchSeedArgs),
    /// Archive-search latency per kind of query (RU morphology, common, rare, phrase,
    /// phone, e-mail, order number; with and without filters), as an administrator and
    /// as an agent, through `search/messages`, and the conversation search
    /// (`conversations/search`, common word with and without filters); p50/p99 per kind.
    Search(SearchArgs),
    /// Fill a database with a year of an account's conversations, messages and report
    /// facts (as the live path writes them) for --agents agents, for `loadgen reports`.
    ReportsSeed(ReportsSeedArgs),
    /// Reports latency over the seeded year: reports/summary, the time series,
    /// summary_reports per agent, team and inbox, the traffic heat map; p50/p99 each.
    Reports(ReportsArgs),
    /// One abuse at a time, with the server's peak RSS, /healthz latency and a legitimate
    /// agent's API calls measured alongside (docs/benchmarks.md, "Under abuse").
    ///
    /// Scenarios: signin (rounds of --attackers concurrent sign-ins with made-up e-mails),
    /// idle (--attackers TCP connections that send nothing), slowloris (--attackers
    /// connections trickling header lines), uploads (--attackers concurrent multipart
    /// uploads of --upload-mib MiB). Attackers use --source-addrs; /healthz and the
    /// legitimate calls come from --probe-addr.
    Abuse(AbuseArgs),
    /// Telegram ingest at a fixed rate through loadgen's own Bot API server.
    ///
    /// Serves the Bot API on --bot-api-listen (start the server with telegram_api_url
    /// set to it), creates a Telegram inbox, opens --agents agent sockets and queues
    /// private text messages from --users people at --rate per second for --duration
    /// seconds. Reports imported per second, missing and duplicate messages, the
    /// queued→agent latency, getUpdates calls and the server's CPU. Run `loadgen
    /// messages` alongside to see the widget's path under it.
    Telegram(TelegramArgs),
    /// How fast the server imports a mailbox's backlog over IMAP.
    ///
    /// With --maildir, first writes --letters letters into that Dovecot maildir's new/;
    /// then creates an e-mail inbox reading the mailbox (--imap-host, --imap-port,
    /// --login, --password) and counts the letters as an agent socket sees them: letters
    /// per second from the inbox's creation, missing, duplicates, the server's CPU and
    /// peak RSS (--server-pid).
    EmailBacklog(EmailBacklogArgs),
    /// The group-commit message writer's ceiling, in process, without HTTP or sockets.
    ///
    /// Migrates --database-url (a fresh database), creates --conversations open
    /// conversations, then --senders in-process senders store visitor messages through the
    /// store's writer as fast as it acknowledges them (closed loop) for --duration seconds
    /// after --warmup. Reports messages per second, ack percentiles, the process's CPU and
    /// the share of SQLite's worker threads.
    Writer(WriterArgs),
}

#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scenario {
    Signin,
    Idle,
    Slowloris,
    Uploads,
}

#[derive(Args, Debug, Clone)]
pub struct TelegramArgs {
    #[command(flatten)]
    pub server: ServerArgs,
    /// Where loadgen serves the Bot API (loopback); the server's telegram_api_url.
    #[arg(long, default_value = "127.0.0.1:18091")]
    pub bot_api_listen: String,
    /// Updates queued per second.
    #[arg(long, default_value_t = 500, value_parser = clap::value_parser!(u64).range(1..=100_000))]
    pub rate: u64,
    /// Seconds of sending.
    #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub duration: u64,
    /// Different Telegram users writing (each gets a contact and a conversation).
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    pub users: u64,
    /// Agent sockets that must see every message.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..=100))]
    pub agents: u64,
}

#[derive(Args, Debug, Clone)]
pub struct EmailBacklogArgs {
    #[command(flatten)]
    pub server: ServerArgs,
    /// The IMAP server (loopback).
    #[arg(long, default_value = "127.0.0.1")]
    pub imap_host: String,
    #[arg(long)]
    pub imap_port: u16,
    /// IMAP over TLS from the first byte (the server must trust its certificate).
    #[arg(long)]
    pub imap_tls: bool,
    #[arg(long)]
    pub login: String,
    #[arg(long, env = "LOADGEN_IMAP_PASSWORD")]
    pub password: String,
    /// The inbox's address (default: the login).
    #[arg(long)]
    pub address: Option<String>,
    /// The mailbox's maildir to fill first (its root, holding cur/new/tmp).
    #[arg(long)]
    pub maildir: Option<PathBuf>,
    /// Letters in the backlog.
    #[arg(long, default_value_t = 10_000, value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    pub letters: u64,
    /// Different customers writing them.
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    pub senders: u64,
}

#[derive(Args, Debug, Clone)]
pub struct AbuseArgs {
    #[command(flatten)]
    pub server: ServerArgs,
    #[arg(long, value_enum)]
    pub scenario: Scenario,
    /// Concurrent attackers (sign-ins, connections or uploads).
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=100_000))]
    pub attackers: u64,
    /// Seconds the abuse lasts.
    #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub duration: u64,
    /// Size of each upload, MiB (uploads scenario).
    #[arg(long, default_value_t = 40, value_parser = clap::value_parser!(u64).range(1..=1024))]
    pub upload_mib: u64,
    /// Loopback address the /healthz probe and the legitimate agent connect from.
    #[arg(long, default_value = "127.0.0.2")]
    pub probe_addr: String,
}

#[derive(Args, Debug, Clone)]
pub struct SeedArgs {
    /// sqlite:///path/to/parley.db or postgres://user@127.0.0.1/db (loopback only); the
    /// database is migrated first, and a new account is added to whatever it holds.
    #[arg(long, env = "LOADGEN_DATABASE_URL")]
    pub database_url: String,
    #[arg(long, default_value_t = 1_000_000, value_parser = clap::value_parser!(u64).range(1..=50_000_000))]
    pub conversations: u64,
    #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u64).range(1..=10_000))]
    pub inboxes: u64,
    #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(u64).range(1..=100_000))]
    pub agents: u64,
    /// Inboxes each agent is a member of.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u64).range(1..=10_000))]
    pub agent_inboxes: u64,
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u64).range(0..=10_000))]
    pub teams: u64,
    #[arg(long, default_value_t = 12, value_parser = clap::value_parser!(u64).range(0..=1_000))]
    pub labels: u64,
    /// Share of conversations with a label (a third of those get a second one).
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u8).range(0..=100))]
    pub labelled_percent: u8,
}

#[derive(Args, Debug, Clone)]
pub struct SearchSeedArgs {
    /// sqlite:///path/to/parley.db or postgres://user@127.0.0.1/db (loopback only).
    #[arg(long, env = "LOADGEN_DATABASE_URL")]
    pub database_url: String,
    #[arg(long, default_value_t = 10_000_000, value_parser = clap::value_parser!(u64).range(1..=100_000_000))]
    pub messages: u64,
    #[arg(long, default_value_t = 1_000_000, value_parser = clap::value_parser!(u64).range(1..=50_000_000))]
    pub conversations: u64,
    #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u64).range(1..=10_000))]
    pub inboxes: u64,
}

#[derive(Args, Debug, Clone)]
pub struct SearchArgs {
    /// Parley's base URL; must be a loopback address.
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    pub url: String,
    /// An administrator's api_access_token (`loadgen search-seed` prints one).
    #[arg(long, env = "LOADGEN_TOKEN")]
    pub token: String,
    /// An agent's token (member of two inboxes), for the restricted view.
    #[arg(long)]
    pub agent_token: Option<String>,
    #[arg(long, default_value_t = 1)]
    pub account: u64,
    /// An inbox id for the filtered queries.
    #[arg(long)]
    pub inbox: Option<i64>,
    /// Requests per kind of query and role.
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub rounds: u32,
}

#[derive(Args, Debug, Clone)]
pub struct ReportsSeedArgs {
    /// sqlite:///path/to/parley.db or postgres://user@127.0.0.1/db (loopback only).
    #[arg(long, env = "LOADGEN_DATABASE_URL")]
    pub database_url: String,
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u64).range(1..=10_000))]
    pub agents: u64,
    /// Conversations per day over the year.
    #[arg(long, default_value_t = 1_000, value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    pub per_day: u64,
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=1_000))]
    pub inboxes: u64,
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u64).range(1..=1_000))]
    pub teams: u64,
}

#[derive(Args, Debug, Clone)]
pub struct ReportsArgs {
    /// Parley's base URL; must be a loopback address.
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    pub url: String,
    /// An administrator's api_access_token (`loadgen reports-seed` prints one).
    #[arg(long, env = "LOADGEN_TOKEN")]
    pub token: String,
    #[arg(long, default_value_t = 1)]
    pub account: u64,
    /// An agent, team and inbox id for the per-target reports.
    #[arg(long)]
    pub agent: Option<i64>,
    #[arg(long)]
    pub team: Option<i64>,
    #[arg(long)]
    pub inbox: Option<i64>,
    /// Requests per endpoint.
    #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub rounds: u32,
}

#[derive(Args, Debug, Clone)]
pub struct ListArgs {
    /// Parley's base URL; must be a loopback address.
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    pub url: String,
    /// An administrator's api_access_token (`loadgen list-seed` prints one).
    #[arg(long, env = "LOADGEN_TOKEN")]
    pub token: String,
    /// An agent's token, for the agent's own and restricted views.
    #[arg(long)]
    pub agent_token: Option<String>,
    #[arg(long, default_value_t = 1)]
    pub account: u64,
    /// An inbox id to filter by.
    #[arg(long)]
    pub inbox: Option<i64>,
    /// A team id to filter by.
    #[arg(long)]
    pub team: Option<i64>,
    /// A label to filter by.
    #[arg(long)]
    pub label: Option<String>,
    /// First-page fetches per filter (each followed by --pages cursor pages).
    #[arg(long, default_value_t = 200, value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub rounds: u32,
    /// Cursor pages after each first page.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u32).range(0..=10_000))]
    pub pages: u32,
    /// Concurrent clients, each walking its share of the rounds.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=256))]
    pub clients: u32,
}

/// The server and the account to load.
#[derive(Args, Debug, Clone)]
pub struct ServerArgs {
    /// Parley's base URL; must be a loopback address.
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    pub url: String,
    /// An administrator's api_access_token (`parley admin create` prints one).
    #[arg(long, env = "LOADGEN_TOKEN")]
    pub token: String,
    /// Account id.
    #[arg(long, default_value_t = 1)]
    pub account: u64,
    /// Loopback source addresses to spread connections over (round-robin), e.g.
    /// 127.0.0.2,127.0.0.3; each gives ~28,000 ephemeral ports. Default: the system's
    /// choice.
    #[arg(long, value_name = "IP,IP…")]
    pub source_addrs: Option<String>,
    /// The server's process id, to read its VmRSS and CPU time from /proc.
    #[arg(long, value_name = "PID")]
    pub server_pid: Option<u32>,
    /// Save the setup (inbox, visitors, conversations) here and reuse it on later runs.
    #[arg(long, value_name = "FILE")]
    pub setup_file: Option<PathBuf>,
    /// Use the setup's visitors from this index on (another process uses the ones
    /// before).
    #[arg(long, default_value_t = 0)]
    pub skip: usize,
    /// REST requests in flight at once during setup.
    #[arg(long, default_value_t = 16, value_parser = clap::value_parser!(u32).range(1..=512))]
    pub setup_concurrency: u32,
    /// WebSocket handshakes in flight at once.
    #[arg(long, default_value_t = 64, value_parser = clap::value_parser!(u32).range(1..=4096))]
    pub connect_concurrency: u32,
}

#[derive(Args, Debug, Clone)]
pub struct IdleArgs {
    #[command(flatten)]
    pub server: ServerArgs,
    /// Idle visitor sockets to open and hold (bounded by the open-file limit).
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    pub connections: u64,
    /// Open them in this many equal steps, reading the server's RSS after each.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u32).range(1..=100))]
    pub steps: u32,
    /// Seconds to wait after each step before reading RSS.
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u64).range(0..=600))]
    pub settle: u64,
    /// Seconds to hold all connections idle at the end (60 covers two server
    /// heartbeats). SIGINT (Ctrl-C) ends the hold early, still with the report.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(0..=3600))]
    pub hold: u64,
}

#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    /// `message.create` over each visitor's WebSocket, answered by `message.ack`.
    Ws,
    /// `POST …/conversations/{id}/messages` on the Client API; the 200 is the ack.
    Rest,
}

#[derive(Args, Debug, Clone)]
pub struct MessagesArgs {
    #[command(flatten)]
    pub server: ServerArgs,
    /// Visitors, each with an open conversation (and, with --transport ws, a socket).
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    pub visitors: u64,
    /// Agent sockets; every message should be delivered to each.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u64).range(0..=10_000))]
    pub agents: u64,
    /// Cluster run: the nodes visitor sockets start on (base URLs, comma-separated;
    /// visitor i on the (i mod n)-th). Default: --url. The setup (REST) always uses --url.
    #[arg(long, value_name = "URL,URL…")]
    pub visitor_nodes: Option<String>,
    /// Cluster run: the nodes agent sockets start on (agent j on the (j mod n)-th).
    /// Default: --url.
    ///
    /// A socket whose node goes away (closed, refused, killed) reconnects to another node of
    /// --url, --visitor-nodes and --agent-nodes together, spread by client, with the
    /// cursor of the last event it received. A visitor then re-sends what was not yet
    /// acknowledged with the same echo_id (Parley stores a repeated echo_id once and
    /// acknowledges it again), so every acknowledged message must reach every agent
    /// exactly once. Delivery latency is reported across nodes and on the same node.
    #[arg(long, value_name = "URL,URL…")]
    pub agent_nodes: Option<String>,
    /// Aggregate messages per second, spread round-robin over the visitors.
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    pub rate: u64,
    /// Measured seconds (after the warm-up).
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub duration: u64,
    /// Seconds sent before the measured window, not counted.
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u64).range(0..=600))]
    pub warmup: u64,
    /// At most this many messages in all (warm-up included).
    #[arg(long, default_value_t = 10_000_000, value_parser = clap::value_parser!(u64).range(1..=100_000_000))]
    pub messages: u64,
    /// Seconds to wait after the last send for outstanding acks and deliveries.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(0..=600))]
    pub drain: u64,
    #[arg(long, value_enum, default_value_t = Transport::Ws)]
    pub transport: Transport,
    /// With --transport rest: requests in flight at once (each is a socket).
    #[arg(long, default_value_t = 256, value_parser = clap::value_parser!(u64).range(1..=10_000))]
    pub max_inflight: u64,
    /// Bytes of text per message.
    #[arg(long, default_value_t = 64, value_parser = clap::value_parser!(u64).range(1..=16_384))]
    pub content_bytes: u64,
    /// The server's per-visitor message budget per minute (its
    /// `visitor_messages_per_minute`, 60 by default); a run that would exceed it is
    /// refused. 0 = do not check.
    #[arg(long, default_value_t = 60)]
    pub visitor_limit_per_min: u64,
    /// Also subscribe a webhook to `message_created` at loadgen's own receiver on this
    /// address (port 0: any), and count the deliveries (the server must allow private
    /// webhook targets, as a loopback `listen` does).
    #[arg(long)]
    pub webhook_listen: Option<std::net::SocketAddr>,
    /// Active automation rules on `message_created` during the run (created before it,
    /// removed after); none of them matches the run's messages.
    #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(u64).range(0..=100))]
    pub rules: u64,
    /// The server's PostgreSQL (postgres://…, loopback): read its WAL and commit counters
    /// before the first message and after the drain, and report them per acknowledged
    /// message. The counters are the whole database server's: use one nothing else writes to.
    #[arg(long, value_name = "URL")]
    pub wal_stats_url: Option<String>,
    /// The server's PostgreSQL (postgres://…, loopback): `ANALYZE` the tables the setup
    /// filled (contacts, conversations) before the first message, as autovacuum does
    /// within a minute of such growth. Without it a fresh database plans the run's
    /// statements with the statistics of empty tables (docs/benchmarks.md, session 21).
    #[arg(long, value_name = "URL")]
    pub analyze_url: Option<String>,
}

#[derive(Args, Debug, Clone)]
pub struct BaselineArgs {
    /// sqlite:///path/to/file.db or postgres://user@127.0.0.1/db (loopback or a Unix
    /// socket only).
    #[arg(long, env = "LOADGEN_DATABASE_URL")]
    pub database_url: String,
    /// Rows of the one-row-per-commit measurement (each costs an fsync).
    #[arg(long, default_value_t = 2000, value_parser = clap::value_parser!(u64).range(100..=10_000_000))]
    pub rows: u64,
    /// Rows of the batched measurement (enough commits to be timed meaningfully).
    #[arg(long, default_value_t = 100_000, value_parser = clap::value_parser!(u64).range(100..=100_000_000))]
    pub batched_rows: u64,
    /// Rows per commit of the batched measurement.
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u64).range(2..=100_000))]
    pub batch: u64,
    /// Keep the loadgen_baseline table afterwards.
    #[arg(long)]
    pub keep: bool,
}

impl ServerArgs {
    pub fn target(&self) -> Result<Target> {
        Target::parse(&self.url)
    }

    pub fn sources(&self, target: &Target) -> Result<Option<target::SourceRotation>> {
        self.source_addrs
            .as_deref()
            .map(|s| target::parse_source_addrs(s, target).map(target::SourceRotation::new))
            .transpose()
    }

    /// Checks the server pid names a process we can read, before any work.
    pub fn check_pid(&self) -> Result<()> {
        if let Some(pid) = self.server_pid {
            crate::procfs::rss_bytes(pid).map_err(|e| {
                Error::usage(format!("--server-pid {pid}: cannot read its memory: {e}"))
            })?;
        }
        Ok(())
    }
}

impl MessagesArgs {
    /// The whole sending time, warm-up included.
    pub fn send_time(&self) -> Duration {
        Duration::from_secs(self.warmup + self.duration)
    }

    /// Refuses a run whose visitors would exceed the server's per-visitor budget: visitor
    /// `j` sends messages `j, j+V, j+2V…`, one every `V/R` s, so a fixed one-minute window
    /// sees `ceil(60·R/V)` of them (fewer if the run is shorter).
    pub fn check_visitor_budget(&self, total: u64) -> Result<()> {
        if self.visitor_limit_per_min == 0 {
            return Ok(());
        }
        let per_visitor_total = total.div_ceil(self.visitors);
        let per_minute = (60 * self.rate).div_ceil(self.visitors);
        let worst = per_visitor_total.min(per_minute);
        if worst > self.visitor_limit_per_min {
            let need = (60 * self.rate).div_ceil(self.visitor_limit_per_min);
            let need_short = total.div_ceil(self.visitor_limit_per_min);
            return Err(Error::usage(format!(
                "{} visitors at {} msg/s would each send up to {worst} messages a minute; the \
                 server allows {} per visitor. Use --visitors {} or more (or {} for this \
                 run's length), or the server's visitor_messages_per_minute with --visitor-limit-per-min",
                self.visitors,
                self.rate,
                self.visitor_limit_per_min,
                need,
                need.min(need_short)
            )));
        }
        Ok(())
    }
}

/// Loopback check for database URLs: `sqlite:` files are local by nature; PostgreSQL must
/// name a loopback host or a Unix socket directory.
pub fn check_database_url(url: &str) -> Result<()> {
    if url.starts_with("sqlite:") {
        return Ok(());
    }
    if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
        return Err(Error::usage(
            "--database-url must be sqlite://… or postgres://…",
        ));
    }
    let u = reqwest::Url::parse(url)
        .map_err(|e| Error::usage(format!("--database-url is not a URL: {e}")))?;
    let is_local = |host: &str| {
        let bare = host.trim_start_matches('[').trim_end_matches(']');
        // No host: a Unix socket (libpq's default); `/dir`: a Unix socket directory.
        host.is_empty()
            || host.starts_with('/')
            || host.eq_ignore_ascii_case("localhost")
            || bare
                .parse::<std::net::IpAddr>()
                .is_ok_and(|ip| ip.is_loopback())
    };
    let mut hosts = vec![u.host_str().unwrap_or("").to_string()];
    hosts.extend(
        u.query_pairs()
            .filter(|(k, _)| k == "host" || k == "hostaddr")
            .map(|(_, v)| v.into_owned()),
    );
    match hosts.iter().find(|h| !is_local(h)) {
        Some(host) => Err(Error::usage(format!(
            "--database-url host {host} is not loopback; loadgen only loads this machine"
        ))),
        None => Ok(()),
    }
}

#[derive(Args, Debug)]
pub struct WriterArgs {
    /// sqlite:///path/to/new.db or postgres://user@127.0.0.1/db (a fresh database).
    #[arg(long, env = "LOADGEN_DATABASE_URL")]
    pub database_url: String,
    /// Open conversations the messages go to, one contact each.
    #[arg(long, default_value_t = 2000, value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    pub conversations: u64,
    /// Concurrent senders, each waiting for its acknowledgement before the next message.
    #[arg(long, default_value_t = 2000, value_parser = clap::value_parser!(u64).range(1..=100_000))]
    pub senders: u64,
    /// Messages per transaction at most (the server uses 256).
    #[arg(long, default_value_t = 256, value_parser = clap::value_parser!(u64).range(1..=10_000))]
    pub max_batch: u64,
    /// Bytes of each message's text (as `loadgen messages --content-bytes`).
    #[arg(long, default_value_t = 64, value_parser = clap::value_parser!(u64).range(1..=65_536))]
    pub content_bytes: u64,
    /// Seconds of sending before the measurement.
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u64).range(0..=600))]
    pub warmup: u64,
    /// Seconds measured.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub duration: u64,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    fn parse(args: &[&str]) -> std::result::Result<Cli, clap::Error> {
        Cli::try_parse_from(std::iter::once("loadgen").chain(args.iter().copied()))
    }

    fn messages(extra: &[&str]) -> MessagesArgs {
        let mut a = vec![
            "messages",
            "--token",
            "t",
            "--rate",
            "100",
            "--duration",
            "10",
        ];
        a.extend_from_slice(extra);
        match parse(&a).unwrap().mode {
            Mode::Messages(m) => m,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn command_line_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn rejects_bad_numbers() {
        let base = ["idle", "--token", "t"];
        for bad in [
            &["--connections", "0"][..],
            &["--connections", "-5"],
            &["--connections", "ten"],
            &["--connections", "10", "--steps", "0"],
            &["--connections", "10", "--connect-concurrency", "0"],
        ] {
            let mut a = base.to_vec();
            a.extend_from_slice(bad);
            assert!(parse(&a).is_err(), "{a:?} should be refused");
        }
        for bad in [
            &["--rate", "0", "--duration", "1"][..],
            &["--rate", "10", "--duration", "0"],
            &["--rate", "10"],
            &["--rate", "10", "--duration", "5", "--visitors", "0"],
            &[
                "--rate",
                "10",
                "--duration",
                "5",
                "--transport",
                "carrier-pigeon",
            ],
        ] {
            let mut a = vec!["messages", "--token", "t"];
            a.extend_from_slice(bad);
            assert!(parse(&a).is_err(), "{a:?} should be refused");
        }
        assert!(
            parse(&[
                "commit-baseline",
                "--database-url",
                "sqlite://x",
                "--rows",
                "5"
            ])
            .is_err()
        );
    }

    #[test]
    fn accepts_a_full_messages_command() {
        let m = messages(&[
            "--visitors",
            "50",
            "--agents",
            "3",
            "--transport",
            "rest",
            "--source-addrs",
            "127.0.0.2,127.0.0.3",
        ]);
        assert_eq!(m.visitors, 50);
        assert_eq!(m.transport, Transport::Rest);
        assert_eq!(m.send_time(), Duration::from_secs(12));
        let t = m.server.target().unwrap();
        assert_eq!(m.server.sources(&t).unwrap().unwrap().len(), 2);
    }

    #[test]
    fn refuses_non_loopback_hosts_and_sources() {
        let m = messages(&["--url", "http://192.168.0.10:8080"]);
        assert!(matches!(m.server.target(), Err(Error::Usage(_))));
        let m = messages(&["--source-addrs", "10.1.1.1"]);
        let t = m.server.target().unwrap();
        assert!(m.server.sources(&t).is_err());
    }

    #[test]
    fn visitor_budget() {
        // 100 visitors at 100 msg/s: one a second each, 60 a minute: allowed.
        let m = messages(&["--visitors", "100"]);
        assert!(m.check_visitor_budget(1200).is_ok());
        // 50 visitors at 100 msg/s for 12 s: 24 each in all, under 60: allowed.
        let m = messages(&["--visitors", "50"]);
        assert!(m.check_visitor_budget(1200).is_ok());
        // ...but not for a long run: 120 a minute each.
        let e = m.check_visitor_budget(60_000).unwrap_err().to_string();
        assert!(e.contains("--visitors 100"), "{e}");
        // Unchecked when the limit is 0.
        let m = messages(&["--visitors", "1", "--visitor-limit-per-min", "0"]);
        assert!(m.check_visitor_budget(60_000).is_ok());
    }

    #[test]
    fn database_urls_must_be_local() {
        assert!(check_database_url("sqlite:///tmp/x.db").is_ok());
        assert!(check_database_url("sqlite://x.db?mode=rwc").is_ok());
        assert!(check_database_url("postgres://u@127.0.0.1/db").is_ok());
        assert!(check_database_url("postgres://u@localhost:5433/db").is_ok());
        assert!(check_database_url("postgresql://u@[::1]/db").is_ok());
        assert!(check_database_url("postgres:///db?host=/var/run/postgresql").is_ok());
        assert!(check_database_url("postgres://u@db.example.com/db").is_err());
        assert!(check_database_url("postgres://u@10.0.0.5/db").is_err());
        assert!(check_database_url("mysql://u@127.0.0.1/db").is_err());
        assert!(check_database_url("postgres:///db?host=db.example.com").is_err());
        assert!(check_database_url("postgres://u@127.0.0.1/db?hostaddr=10.0.0.5").is_err());
    }
}
