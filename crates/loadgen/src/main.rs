//! `loadgen`: Parley's load generator for the budgets of DESIGN.md §3 (docs/benchmarks.md).
//!
//! Modes: `idle` (idle visitor WebSockets and the server's memory per connection),
//! `messages` (durable messages per second, deliveries, send→ack and send→deliver
//! latency), `commit-baseline` (the database's own commit rate, for comparison), and
//! `list-seed` + `list` (conversation-list latency and queries per page over a seeded
//! account), `abuse` (peak RSS, /healthz latency and legitimate traffic under one abuse),
//! `telegram` (Telegram ingest at a fixed rate through loadgen's own Bot API server),
//! `email-backlog` (importing a mailbox's backlog over IMAP).
//! Every
//! mode is bounded in connections, messages and seconds and loads loopback only.
//!
//! Exit status: 0 after a report, 1 when the run failed, 2 when the command line was
//! refused (nothing was sent).

mod abuse;
mod api;
mod baseline;
mod cli;
mod cluster;
mod conn;
mod email;
mod error;
#[cfg(test)]
mod fake;
mod hooks;
mod idle;
mod limits;
mod list;
mod messages;
mod pacing;
mod procfs;
mod reports;
mod search;
mod seed;
mod sightings;
mod stats;
mod target;
mod telegram;
mod walstats;
mod writer;
mod ws;

use std::process::ExitCode;

use clap::Parser;
use serde::Serialize;

use crate::cli::{Cli, Mode};
use crate::error::Error;

/// As the server's (`crates/parley/src/main.rs`): loadgen shares the machine's cores with
/// the server it measures, so its own allocation costs come out of the server's figures.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("loadgen: cannot start the runtime: {e}");
            return ExitCode::from(1);
        }
    };
    let json = cli.json;
    let result = rt.block_on(async move {
        match &cli.mode {
            Mode::Idle(a) => idle::run(a).await.map(|r| emit(json, &r, || r.print())),
            Mode::Messages(a) => messages::run(a).await.map(|r| emit(json, &r, || r.print())),
            Mode::CommitBaseline(a) => baseline::run(a).await.map(|r| emit(json, &r, || r.print())),
            Mode::ListSeed(a) => seed::run(a).await.map(|r| emit(json, &r, || r.print())),
            Mode::List(a) => list::run(a).await.map(|r| emit(json, &r, || r.print())),
            Mode::SearchSeed(a) => search::seed(a).await.map(|r| emit(json, &r, || r.print())),
            Mode::Search(a) => search::run(a).await.map(|r| emit(json, &r, || r.print())),
            Mode::ReportsSeed(a) => reports::seed(a).await.map(|r| emit(json, &r, || r.print())),
            Mode::Reports(a) => reports::run(a).await.map(|r| emit(json, &r, || r.print())),
            Mode::Abuse(a) => abuse::run(a).await.map(|r| emit(json, &r, || r.print())),
            Mode::Telegram(a) => telegram::run(a).await.map(|r| emit(json, &r, || r.print())),
            Mode::EmailBacklog(a) => email::run(a).await.map(|r| emit(json, &r, || r.print())),
            Mode::Writer(a) => writer::run(a).await.map(|r| emit(json, &r, || r.print())),
        }
    });
    // Idle and message runs leave sockets and tasks behind; do not wait for them.
    rt.shutdown_background();
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e @ Error::Usage(_)) => {
            eprintln!("loadgen: {e}");
            ExitCode::from(2)
        }
        Err(e) => {
            eprintln!("loadgen: {e}");
            ExitCode::from(1)
        }
    }
}

fn emit<R: Serialize>(json: bool, report: &R, table: impl FnOnce()) {
    if json {
        match serde_json::to_string_pretty(report) {
            Ok(s) => println!("{s}"),
            Err(e) => eprintln!("loadgen: cannot serialise the report: {e}"),
        }
    } else {
        table();
    }
}
