//! The store's conformance suite for both backends, one test binary (one link step) with a
//! module per area: every case runs on SQLite, and on PostgreSQL when
//! `PARLEY_TEST_POSTGRES_URL` is set. One binary rather than one per file because each
//! binary links the whole store and its drivers, and CI builds on two cores
//! (docs/benchmarks.md, "Build and CI").

mod accounts;
mod common;
mod config;
mod contacts;
mod conversations;
mod jobs;
mod search;
