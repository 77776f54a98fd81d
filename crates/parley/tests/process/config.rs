//! Configuration through the real binary: precedence (defaults < TOML file < `PARLEY_*`
//! variables < flags) and clear errors with a non-zero exit for values that cannot work.

use crate::cli_support;

use std::path::Path;

use cli_support::{parley, run, stderr};
use parley::config::KEYS;

/// Exit status of a configuration error (distinct from 1, a failure while running).
const CONFIG_ERROR: i32 = 2;

fn assert_config_error(out: &std::process::Output, mentions: &[&str]) {
    let err = stderr(out);
    assert_eq!(
        out.status.code(),
        Some(CONFIG_ERROR),
        "expected a configuration error, got {:?}: {err}",
        out.status
    );
    assert!(
        err.starts_with("parley: configuration:"),
        "unclear error: {err}"
    );
    for m in mentions {
        assert!(err.contains(m), "error does not mention {m:?}: {err}");
    }
    assert!(
        err.lines().count() <= 8,
        "an error should be short, not a trace: {err}"
    );
}

#[test]
fn bad_listen_variable_is_a_clear_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = run(parley(dir.path()).env("PARLEY_LISTEN", "not-an-address"));
    assert_config_error(&out, &["listen", "not-an-address"]);
    assert!(
        !dir.path().join("parley-data").exists(),
        "nothing may be created before the configuration is valid"
    );
    let out = run(parley(dir.path()).args(["--listen", "127.0.0.1:99999", "migrate"]));
    assert_config_error(&out, &["listen", "99999"]);
}

#[test]
fn other_bad_values_are_clear_errors() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = run(parley(dir.path()).env("PARLEY_LOG_FORMAT", "xml"));
    assert_config_error(&out, &["log_format", "xml"]);
    let out = run(parley(dir.path()).env("PARLEY_DATABASE_URL", "mysql://x/y"));
    assert_config_error(&out, &["database_url"]);
    let out = run(parley(dir.path()).env("PARLEY_MAX_BODY_BYTES", "lots"));
    assert_config_error(&out, &["MAX_BODY_BYTES", "lots"]);
    let out = run(parley(dir.path()).env("PARLEY_MAX_BODY_BYTES", "10"));
    assert_config_error(&out, &["max_body_bytes"]);
}

#[test]
fn real_time_settings_out_of_range_are_clear_errors() {
    let dir = tempfile::tempdir().expect("tempdir");
    for (var, value, key) in [
        ("PARLEY_WS_HEARTBEAT_SECS", "0", "ws_heartbeat_secs"),
        ("PARLEY_WS_HEARTBEAT_SECS", "99999", "ws_heartbeat_secs"),
        (
            "PARLEY_VISITOR_MESSAGES_PER_MINUTE",
            "0",
            "visitor_messages_per_minute",
        ),
        (
            "PARLEY_VISITOR_CONTACTS_PER_MINUTE",
            "0",
            "visitor_contacts_per_minute",
        ),
        (
            "PARLEY_VISITOR_CONVERSATIONS_PER_MINUTE",
            "0",
            "visitor_conversations_per_minute",
        ),
        ("PARLEY_EVENT_RETENTION_DAYS", "0", "event_retention_days"),
        ("PARLEY_WS_QUEUE_EVENTS", "2", "ws_queue_events"),
        (
            "PARLEY_NATS_SUBJECT_PREFIX",
            "shop.>",
            "nats_subject_prefix",
        ),
        ("PARLEY_NATS_SUBJECT_PREFIX", "a..b", "nats_subject_prefix"),
    ] {
        let out = run(parley(dir.path()).env(var, value));
        assert_config_error(&out, &[key]);
    }
    assert!(
        !dir.path().join("parley-data").exists(),
        "a refused configuration creates nothing"
    );
}

#[test]
fn bad_toml_files_are_clear_errors() {
    let dir = tempfile::tempdir().expect("tempdir");
    let write = |name: &str, text: &str| {
        std::fs::write(dir.path().join(name), text).expect("write");
        name.to_string()
    };
    let syntax = write("syntax.toml", "listen = \n");
    let out = run(parley(dir.path()).args(["--config", &syntax, "migrate"]));
    assert_config_error(&out, &["syntax.toml", "line 1"]);

    let wrong_type = write("type.toml", "listen = 5\n");
    let out = run(parley(dir.path()).args(["--config", &wrong_type, "migrate"]));
    assert_config_error(&out, &["type.toml", "listen"]);

    let typo = write("typo.toml", "listn = \"127.0.0.1:9000\"\n");
    let out = run(parley(dir.path()).args(["--config", &typo, "migrate"]));
    assert_config_error(&out, &["typo.toml", "listn"]);

    let out = run(parley(dir.path()).args(["--config", "missing.toml", "migrate"]));
    assert_config_error(&out, &["missing.toml", "does not exist"]);

    // ./parley.toml is read by default, so a broken one there is reported too.
    write("parley.toml", "listen = \"nowhere\"\n");
    let out = run(parley(dir.path()).arg("migrate"));
    assert_config_error(&out, &["listen", "nowhere"]);
    assert!(!dir.path().join("parley-data").exists());
}

/// Runs `parley migrate` and says which of the candidate data directories got the database.
fn data_dir_used(cwd: &Path, cmd: &mut std::process::Command) -> String {
    let out = run(cmd.arg("migrate"));
    assert!(out.status.success(), "migrate failed: {}", stderr(&out));
    let used: Vec<&str> = ["parley-data", "from-file", "from-env", "from-flag"]
        .into_iter()
        .filter(|d| cwd.join(d).join("parley.db").exists())
        .collect();
    assert_eq!(used.len(), 1, "exactly one data directory: {used:?}");
    for d in &used {
        std::fs::remove_dir_all(cwd.join(d)).expect("clean");
    }
    used[0].to_string()
}

#[test]
fn file_then_environment_then_flag_each_override_the_one_before() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cwd = dir.path();
    std::fs::write(cwd.join("conf.toml"), "data_dir = \"from-file\"\n").expect("write");

    let mut cmd = parley(cwd);
    assert_eq!(data_dir_used(cwd, &mut cmd), "parley-data", "the default");

    let mut cmd = parley(cwd);
    cmd.args(["--config", "conf.toml"]);
    assert_eq!(data_dir_used(cwd, &mut cmd), "from-file");

    let mut cmd = parley(cwd);
    cmd.env("PARLEY_CONFIG", "conf.toml");
    assert_eq!(data_dir_used(cwd, &mut cmd), "from-file", "PARLEY_CONFIG");

    let mut cmd = parley(cwd);
    cmd.args(["--config", "conf.toml"])
        .env("PARLEY_DATA_DIR", "from-env");
    assert_eq!(data_dir_used(cwd, &mut cmd), "from-env");

    let mut cmd = parley(cwd);
    cmd.args(["--config", "conf.toml", "--data-dir", "from-flag"])
        .env("PARLEY_DATA_DIR", "from-env");
    assert_eq!(data_dir_used(cwd, &mut cmd), "from-flag");

    // Without --config, ./parley.toml is the file.
    std::fs::write(cwd.join("parley.toml"), "data_dir = \"from-file\"\n").expect("write");
    let mut cmd = parley(cwd);
    assert_eq!(data_dir_used(cwd, &mut cmd), "from-file", "./parley.toml");
    let mut cmd = parley(cwd);
    cmd.env("PARLEY_DATA_DIR", "from-env");
    assert_eq!(data_dir_used(cwd, &mut cmd), "from-env");
}

#[test]
fn a_file_with_every_setting_is_accepted() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = r#"
listen = "127.0.0.1:18080"
data_dir = "every"
database_url = "sqlite://every/custom.db"
nats_url = "nats://127.0.0.1:4222"
nats_subject_prefix = "shop-a.parley"
public_url = "https://chat.shop.example"
log_format = "json"
log_level = "warn"
max_body_bytes = 65536
max_upload_bytes = 1048576
db_max_connections = 4
trust_proxy = true
ws_heartbeat_secs = 10
visitor_messages_per_minute = 120
visitor_contacts_per_minute = 50
visitor_conversations_per_minute = 20
event_retention_days = 3
ws_queue_events = 1024
smtp_url = "smtp://parley:secret@127.0.0.1:2525"
smtp_from = "Магазин <shop@shop.example>"
password_hash_concurrency = 2
password_hash_queue_ms = 1500
login_attempts_per_address = 20
login_failures_per_email = 50
login_free_failures = 3
login_max_delay_secs = 600
http_header_timeout_secs = 15
http_idle_timeout_secs = 30
max_connections = 5000
max_connections_per_address = 500
ws_max_per_credential = 8
ws_max_per_address = 1000
max_account_storage_bytes = 1073741824
telegram_api_url = "http://127.0.0.1:1"
telegram_poll_timeout_secs = 5
allow_private_webhook_targets = false
"#;
    for key in KEYS {
        assert!(
            file.contains(&format!("\n{key} = ")),
            "test file lacks {key}"
        );
    }
    std::fs::write(dir.path().join("every.toml"), file).expect("write");
    std::fs::create_dir_all(dir.path().join("every")).expect("mkdir");
    let out = run(parley(dir.path()).args(["--config", "every.toml", "migrate"]));
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        dir.path().join("every/custom.db").exists(),
        "database_url ignored"
    );
}

/// The README's configuration table must name every setting with its variable and flag,
/// so the documentation cannot fall behind the code.
#[test]
fn readme_documents_every_setting() {
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../README.md"))
            .expect("README.md at the workspace root");
    for key in KEYS {
        let row = readme
            .lines()
            .find(|l| l.starts_with('|') && l.contains(&format!("`{key}`")))
            .unwrap_or_else(|| panic!("README's configuration table has no row for `{key}`"));
        let var = format!("PARLEY_{}", key.to_uppercase());
        let flag = format!("--{}", key.replace('_', "-"));
        assert!(row.contains(&var), "README row for {key} lacks {var}");
        assert!(row.contains(&flag), "README row for {key} lacks {flag}");
    }
}
