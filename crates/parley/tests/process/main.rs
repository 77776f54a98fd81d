//! Tests that run the real `parley` binary as an operator would (the command line, the
//! configuration sources, `kill -9` under load), one test binary with a module per area.
//! One binary rather than one per file because each links the whole server, and CI builds
//! on two cores (docs/benchmarks.md, "Build and CI").

mod cli;
#[path = "../cli_support/mod.rs"]
mod cli_support;
mod config;
mod crash;
