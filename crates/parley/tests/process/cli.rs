//! The command line as an operator meets it: the real binary, run in a temporary directory.

use crate::cli_support;

use std::time::Duration;

use cli_support::{Served, key_values, parley, run, stderr, stdout};
use parley::config::KEYS;
use serde_json::Value;

#[test]
fn help_explains_every_command_and_setting() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = run(parley(dir.path()).arg("--help"));
    assert!(out.status.success(), "--help failed: {}", stderr(&out));
    let help = stdout(&out);
    for cmd in ["serve", "migrate", "admin"] {
        assert!(
            help.lines().any(|l| l.trim_start().starts_with(cmd)),
            "--help does not list the {cmd} command:\n{help}"
        );
    }
    for key in KEYS {
        let flag = format!("--{}", key.replace('_', "-"));
        let var = format!("PARLEY_{}", key.to_uppercase());
        assert!(help.contains(&flag), "--help lacks {flag}:\n{help}");
        assert!(help.contains(&var), "--help lacks {var}:\n{help}");
    }
    assert!(help.contains("--config") && help.contains("PARLEY_CONFIG"));
    assert!(
        help.contains("parley.toml"),
        "--help should name the default file"
    );

    let out = run(parley(dir.path()).args(["admin", "create", "--help"]));
    assert!(out.status.success());
    let help = stdout(&out);
    for flag in [
        "--email",
        "--password",
        "--account",
        "--name",
        "api_access_token",
    ] {
        assert!(
            help.contains(flag),
            "admin create --help lacks {flag}:\n{help}"
        );
    }

    let out = run(parley(dir.path()).args(["help", "serve"]));
    assert!(out.status.success());
    assert!(stdout(&out).contains("SIGTERM"));
}

#[test]
fn version_is_printed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = run(parley(dir.path()).arg("--version"));
    assert!(out.status.success());
    assert_eq!(
        stdout(&out).trim(),
        format!("parley {}", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn unknown_command_fails_with_usage() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = run(parley(dir.path()).arg("frobnicate"));
    assert!(!out.status.success());
    assert!(stderr(&out).contains("Usage"), "{}", stderr(&out));
}

fn admin_create(dir: &std::path::Path, email: &str, account: &str) -> (i64, String) {
    let out = run(parley(dir).args([
        "--data-dir",
        "data",
        "admin",
        "create",
        "--email",
        email,
        "--password",
        "password123",
        "--account",
        account,
    ]));
    assert!(
        out.status.success(),
        "admin create failed: {}",
        stderr(&out)
    );
    let kv = key_values(&stdout(&out));
    let account_id = kv
        .get("account_id")
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no account_id= line in {:?}", stdout(&out)));
    let token = kv
        .get("api_access_token")
        .cloned()
        .unwrap_or_else(|| panic!("no api_access_token= line in {:?}", stdout(&out)));
    assert!(token.len() >= 20, "token too short: {token}");
    (account_id, token)
}

#[test]
fn admin_create_prints_a_token_that_works_against_the_server() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (_account, token) = admin_create(dir.path(), "owner@shop.test", "Shop");
    assert!(dir.path().join("data/parley.db").exists());

    let mut cmd = parley(dir.path());
    cmd.args(["--data-dir", "data", "--listen", "127.0.0.1:0"]);
    let mut server = Served::start(cmd);
    // A user exists now, so no first-run hint.
    assert!(
        !server.seen.iter().any(|l| l.contains("No user exists yet")),
        "first-run hint printed although a user exists: {:?}",
        server.seen
    );
    let (status, body) = server.get("/api/v1/profile", &[("api_access_token", &token)]);
    assert_eq!(status, 200, "{body}");
    let profile: Value = serde_json::from_str(&body).expect("json");
    assert_eq!(profile["email"], "owner@shop.test");

    let (status, _) = server.get("/api/v1/profile", &[("api_access_token", "wrong")]);
    assert_eq!(status, 401);
    assert!(server.terminate().success());
}

#[test]
fn admin_create_twice_reuses_the_account() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (first, t1) = admin_create(dir.path(), "a@shop.test", "Shop");
    let (again, t2) = admin_create(dir.path(), "b@shop.test", "Shop");
    assert_eq!(first, again, "same account name must reuse the account");
    assert_ne!(t1, t2, "each run issues a new token");
    let (same_user, _) = admin_create(dir.path(), "a@shop.test", "Shop");
    assert_eq!(first, same_user);
    let (other, _) = admin_create(dir.path(), "c@other.test", "Other shop");
    assert_ne!(first, other, "another name is another account");
}

#[test]
fn admin_create_rejects_bad_input_without_printing_a_token() {
    let dir = tempfile::tempdir().expect("tempdir");
    for (email, password) in [
        ("owner@shop.test", "short"),
        ("not-an-email", "password123"),
    ] {
        let out = run(parley(dir.path()).args([
            "--data-dir",
            "data",
            "admin",
            "create",
            "--email",
            email,
            "--password",
            password,
        ]));
        assert!(!out.status.success(), "accepted {email} / {password}");
        assert!(!stdout(&out).contains("api_access_token"));
        assert!(stderr(&out).contains("parley:"), "{}", stderr(&out));
    }
    let out = run(parley(dir.path()).args(["admin", "create", "--email", "x@y.test"]));
    assert!(!out.status.success(), "a missing --password must fail");
}

#[test]
fn migrate_creates_the_database_and_is_repeatable() {
    let dir = tempfile::tempdir().expect("tempdir");
    for _ in 0..2 {
        let out = run(parley(dir.path()).args(["--data-dir", "d", "migrate"]));
        assert!(out.status.success(), "migrate failed: {}", stderr(&out));
        assert!(
            stderr(&out).contains("Migrations applied"),
            "{}",
            stderr(&out)
        );
    }
    assert!(dir.path().join("d/parley.db").exists());
}

#[test]
fn migrate_and_serve_on_postgres() {
    let Ok(base) = std::env::var("PARLEY_TEST_POSTGRES_URL") else {
        assert!(
            std::env::var_os("PARLEY_REQUIRE_SERVICES").is_none(),
            "PARLEY_REQUIRE_SERVICES is set: this test must not be skipped"
        );
        eprintln!("skipping: PARLEY_TEST_POSTGRES_URL is not set");
        return;
    };
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let (url, name) = rt
        .block_on(parley_store::Store::create_test_database(&base))
        .expect("create test database");
    let dir = tempfile::tempdir().expect("tempdir");
    let out = run(parley(dir.path())
        .env("PARLEY_DATABASE_URL", &url)
        .arg("migrate"));
    assert!(out.status.success(), "migrate failed: {}", stderr(&out));
    assert!(
        !dir.path().join("parley-data").exists(),
        "PostgreSQL mode must not create a SQLite data directory"
    );
    let mut cmd = parley(dir.path());
    cmd.env("PARLEY_DATABASE_URL", &url)
        .args(["--listen", "127.0.0.1:0"]);
    let mut server = Served::start(cmd);
    let (status, body) = server.get("/healthz", &[]);
    assert_eq!(status, 200, "{body}");
    let v: Value = serde_json::from_str(&body).expect("json");
    assert_eq!(v["backend"], "postgres");

    // Take the database away under the running server: health must say so with a 503
    // (and the server must keep answering). Needs psql, which a PostgreSQL host has.
    let dropped = std::process::Command::new("psql")
        .args([
            base.as_str(),
            "-qc",
            &format!("DROP DATABASE {name} WITH (FORCE)"),
        ])
        .status();
    match dropped {
        Ok(st) if st.success() => {
            let (status, body) = server.get("/healthz", &[]);
            assert_eq!(status, 503, "{body}");
            let v: Value = serde_json::from_str(&body).expect("json");
            assert_eq!(v["status"], "error");
            assert_eq!(v["database"], "unreachable");
            assert!(
                !body.contains(&name),
                "the body must not leak details: {body}"
            );
        }
        other => eprintln!("skipping the unreachable-database check (psql: {other:?})"),
    }
    assert!(server.terminate().success());
}

#[test]
fn no_subcommand_serves_with_first_run_hint_health_and_metrics() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut cmd = parley(dir.path());
    cmd.env("PARLEY_LISTEN", "127.0.0.1:0");
    let mut server = Served::start(cmd);
    assert!(
        server.seen.iter().any(|l| l.contains("No user exists yet")),
        "no first-run hint: {:?}",
        server.seen
    );
    assert!(
        server
            .seen
            .iter()
            .any(|l| l.contains("parley admin create")),
        "the hint should name the command"
    );
    // The first thing the hint names is the console page to open, at the served address.
    let hint = server
        .seen
        .iter()
        .find(|l| l.contains("No user exists yet"))
        .cloned()
        .unwrap_or_default();
    let port = server.addr.port();
    assert!(
        hint.contains(&format!("Open http://127.0.0.1:{port}/app/ in a browser")),
        "the hint should name the setup page's URL: {hint}"
    );
    // The default data directory is relative to the working directory.
    assert!(dir.path().join("parley-data/parley.db").exists());

    let (status, body) = server.get("/healthz", &[]);
    assert_eq!(status, 200, "{body}");
    let v: Value = serde_json::from_str(&body).expect("json");
    assert_eq!(v["status"], "ok");
    assert_eq!(v["database"], "ok");
    assert_eq!(v["backend"], "sqlite");

    let (status, metrics) = server.get("/metrics", &[]);
    assert_eq!(status, 200);
    for series in [
        "parley_build_info{version=\"",
        "parley_http_requests_total{method=\"GET\",path=\"/healthz\",status=\"200\"} 1",
        "parley_http_request_duration_seconds_bucket{",
    ] {
        assert!(
            metrics.contains(series),
            "/metrics lacks {series}:\n{metrics}"
        );
    }
    // This very request's connection is open while the page is rendered.
    let open: f64 = metrics
        .lines()
        .find_map(|l| l.strip_prefix("parley_http_connections_open "))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("/metrics lacks parley_http_connections_open:\n{metrics}"));
    assert!(open >= 1.0, "open connections {open}");

    let status = server.terminate();
    assert!(
        status.success(),
        "SIGTERM should end serve cleanly: {status:?}"
    );
    assert!(
        server.seen.iter().any(|l| l.contains("shutting down")),
        "{:?}",
        server.seen
    );
}

fn connections_open(server: &Served) -> f64 {
    let (_, metrics) = server.get("/metrics", &[]);
    metrics
        .lines()
        .find_map(|l| l.strip_prefix("parley_http_connections_open "))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no parley_http_connections_open in:\n{metrics}"))
}

#[test]
fn open_connections_gauge_follows_connections() {
    use std::io::{Read, Write};
    let dir = tempfile::tempdir().expect("tempdir");
    let mut cmd = parley(dir.path());
    cmd.args(["--listen", "127.0.0.1:0"]);
    let mut server = Served::start(cmd);
    // Three keep-alive connections that each made a request and stay open, idle.
    let mut held = Vec::new();
    for _ in 0..3 {
        let mut c = std::net::TcpStream::connect(server.addr).expect("connect");
        c.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            .expect("send");
        let mut buf = [0u8; 12];
        c.read_exact(&mut buf).expect("response");
        assert_eq!(&buf, b"HTTP/1.1 200");
        held.push(c);
    }
    // Those three plus the one asking for /metrics.
    assert_eq!(connections_open(&server), 4.0);
    drop(held);
    // The server notices the closes asynchronously.
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    loop {
        let open = connections_open(&server);
        if open == 1.0 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "gauge stuck at {open} after the clients closed"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(server.terminate().success());
}

#[test]
fn json_log_format_makes_every_stderr_line_a_json_object() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut cmd = parley(dir.path());
    cmd.env("PARLEY_LOG_FORMAT", "json")
        .args(["--listen", "127.0.0.1:0"]);
    let mut server = Served::start(cmd);
    let (status, _) = server.get("/healthz", &[]);
    assert_eq!(status, 200);
    assert!(server.terminate().success());
    let lines = server.drain(Duration::from_millis(100)).to_vec();
    assert!(lines.len() >= 3, "too few log lines: {lines:?}");
    let mut messages = Vec::new();
    for line in &lines {
        let v: Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("not a JSON line ({e}): {line}"));
        assert!(v["level"].is_string(), "no level: {line}");
        assert!(v["timestamp"].is_string(), "no timestamp: {line}");
        messages.push(v["message"].as_str().unwrap_or_default().to_string());
    }
    assert!(
        messages.iter().any(|m| m.contains("no user exists yet")),
        "{messages:?}"
    );
    assert!(
        messages.iter().any(|m| m == "parley is serving"),
        "{messages:?}"
    );
    assert!(
        messages.iter().any(|m| m == "shutting down"),
        "{messages:?}"
    );

    // The same setting as a flag, for a one-shot command.
    let out = run(parley(dir.path()).args(["--log-format", "json", "migrate"]));
    assert!(out.status.success());
    for line in stderr(&out).lines() {
        serde_json::from_str::<Value>(line)
            .unwrap_or_else(|e| panic!("migrate printed a non-JSON line ({e}): {line}"));
    }
}
