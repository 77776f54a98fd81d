//! The real mail system of the tests ([`parley_channels::email::testing::MailSystem`]:
//! Dovecot and OpenSMTPD on free loopback ports) as a process of its own, for the browser
//! tests, which cannot link Rust: it prints one JSON line with what a client needs (or
//! `{"error": …}` and exits 2 when the system cannot start), then runs until its standard
//! input closes and stops the servers. Closing stdin rather than a signal ends it, so the
//! servers are stopped even when the test runner dies.

use std::io::Write as _;
use std::process::ExitCode;

use parley_channels::email::testing::{DOMAINS, HOST, MailSystem, Options, PASSWORD};
use serde_json::json;

fn main() -> ExitCode {
    let sys = match MailSystem::start(Options { smtp: true }) {
        Ok(sys) => sys,
        Err(why) => {
            println!("{}", json!({ "error": why }));
            return ExitCode::from(2);
        }
    };
    let line = json!({
        "host": HOST,
        // Any address of these domains logs in with `password` and has its own mailbox.
        "domains": DOMAINS,
        "password": PASSWORD,
        "imap_port": sys.imap_port,
        "imaps_port": sys.imaps_port,
        // Dovecot's submission service (AUTH PLAIN/LOGIN): STARTTLS offered, or TLS from
        // the first byte; it relays to the SMTP server below.
        "submission_port": sys.submission_port,
        "submissions_port": sys.submissions_port,
        // Plain SMTP without AUTH that delivers into the mailboxes: how a customer's letter
        // arrives.
        "smtp_port": sys.smtp_port,
        // The test CA that signed the servers' certificate (for 127.0.0.1 and localhost).
        "ca_file": sys.dir().join("ca.pem"),
    });
    let mut out = std::io::stdout().lock();
    if writeln!(out, "{line}").and_then(|()| out.flush()).is_err() {
        return ExitCode::FAILURE;
    }
    drop(out);
    // Until stdin closes; whatever arrives on it is discarded.
    let _ = std::io::copy(&mut std::io::stdin().lock(), &mut std::io::sink());
    drop(sys);
    ExitCode::SUCCESS
}
