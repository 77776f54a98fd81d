//! Everything that runs Parley in process (a real server on a random loopback port with a
//! fresh database, SQLite always and PostgreSQL when `PARLEY_TEST_POSTGRES_URL` is set) and
//! talks to it over HTTP and WebSockets, one test binary with a module per area. One binary
//! rather than one per file because each links the whole server, and CI builds on two cores
//! (docs/benchmarks.md, "Build and CI"). The modules' tests run in parallel threads of this
//! one process: a test that must not overlap another says so with a lock below.

// First, so that `both_backends!` is in scope in every module declared after it.
#[macro_use]
#[path = "../common/mod.rs"]
mod common;

mod agent_bots;
mod automation;
mod campaigns;
mod canned_render;
mod channel_support;
mod chatwoot_compat;
mod chatwoot_swagger;
#[path = "../cli_support/mod.rs"]
mod cli_support;
mod config;
mod console_assets;
mod contact_merge;
mod contacts;
mod conversations;
mod docs;
mod email;
mod exports;
mod mail;
mod multinode;
mod multinode_timers;
mod notes;
mod periodic;
mod public_limits;
mod realtime;
mod reports;
mod routing;
mod search;
mod session;
mod telegram;
mod texts;
mod transfer;
mod webhooks;
mod widget_assets;
