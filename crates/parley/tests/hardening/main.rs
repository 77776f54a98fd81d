//! Issue 12's hardening suite, one test binary (one link step) with a module per class of
//! finding: the write path under a failing disk or database, resource bounds under abuse,
//! authorisation rechecked where it can change, and the API's conformance to its document.
//! Each module says which findings it covers; every test runs a real server.

mod access;
mod bounds;
#[path = "../cli_support/mod.rs"]
mod cli_support;
#[path = "../common/mod.rs"]
mod common;
mod conformance;
mod input;
mod lifecycle;
mod matrix;
mod write_path;
