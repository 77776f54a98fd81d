//! `loadgen`: Parley's load generator, a placeholder until the real-time release.
//!
//! The budgets in DESIGN.md §3 (durable messages per second with acknowledgement latency,
//! idle WebSockets per process, conversation-list and search latency) are measured against
//! real WebSocket delivery and the group-commit writer, which do not exist yet. Rather than
//! print figures that measure something else, this binary says so and exits non-zero. The
//! start-up figures that can be measured today come from `scripts/startup.py`.

use std::process::ExitCode;

use clap::Parser;

/// Load generator for Parley's benchmarks (docs/benchmarks.md).
///
/// Not implemented yet: it arrives with the real-time issue (WebSocket delivery, group
/// commit), when messages per second, acknowledgement latency and idle-connection memory
/// can be measured honestly. Until then it runs no load and reports no numbers.
/// Cold start, idle memory and binary size are measured by crates/loadgen/scripts/startup.py.
#[derive(Parser, Debug)]
#[command(name = "loadgen", version, about, long_about)]
struct Args {}

fn main() -> ExitCode {
    let _ = Args::parse();
    eprintln!(
        "loadgen: not implemented yet; it arrives with the real-time issue. \
         No load was generated and no figures are reported. See docs/benchmarks.md."
    );
    ExitCode::from(2)
}
