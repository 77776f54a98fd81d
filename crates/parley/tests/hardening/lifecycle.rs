//! Findings 10 and 11 of issue 12, with the real binary: a database that cannot be written
//! stops the start at once with its cause (no 30-second retry ending in "pool timed out",
//! no empty `parley.db` left behind), SIGTERM ends a start that is still waiting, and a
//! second server on a data directory in use is refused, naming the holder.

use std::path::Path;
use std::process::{Command, ExitStatus, Output, Stdio};
use std::time::{Duration, Instant};

use crate::cli_support::{Served, parley, run, stderr};

/// A tmpfs of `mib` MiB on a fresh directory, unmounted when dropped; `None` (with a
/// printed reason) where mounting is not permitted.
struct Tmpfs {
    dir: tempfile::TempDir,
}

impl Tmpfs {
    fn mount(mib: u32) -> Option<Tmpfs> {
        let dir = tempfile::tempdir().expect("tempdir");
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={mib}m"), "tmpfs"])
            .arg(dir.path())
            .status()
            .is_ok_and(|s| s.success());
        if !ok {
            assert!(
                std::env::var_os("PARLEY_REQUIRE_SERVICES").is_none(),
                "PARLEY_REQUIRE_SERVICES is set but a tmpfs cannot be mounted (run as root)"
            );
            eprintln!("skipping: cannot mount a tmpfs here (needs root)");
            return None;
        }
        Some(Tmpfs { dir })
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn remount_read_only(&self) {
        let ok = Command::new("mount")
            .args(["-o", "remount,ro"])
            .arg(self.path())
            .status()
            .is_ok_and(|s| s.success());
        assert!(ok, "remount read-only");
    }

    fn fill(&self) {
        use std::io::Write;
        let mut f = std::fs::File::create(self.path().join("filler")).expect("filler");
        let chunk = vec![0u8; 64 * 1024];
        while f.write_all(&chunk).is_ok() {}
        while f.write_all(&[0u8; 512]).is_ok() {}
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount")
            .arg("-l")
            .arg(self.dir.path())
            .status();
    }
}

/// `parley serve` on `data_dir`, run to its end (it must end by itself).
fn serve_until_exit(cwd: &Path, data_dir: &Path) -> Output {
    let mut cmd = parley(cwd);
    cmd.args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(data_dir);
    run(&mut cmd)
}

/// Finding 10: an existing database on a read-only file system.
#[test]
fn a_read_only_database_stops_the_start_naming_the_cause() {
    let Some(fs) = Tmpfs::mount(64) else {
        return;
    };
    let data = fs.path().join("data");
    let mut migrate = parley(fs.path());
    migrate.args(["migrate", "--data-dir"]).arg(&data);
    let out = run(&mut migrate);
    assert!(out.status.success(), "{}", stderr(&out));
    fs.remount_read_only();

    let out = serve_until_exit(fs.path(), &data);
    let err = stderr(&out);
    assert!(
        !out.status.success(),
        "served on a read-only database: {err}"
    );
    assert!(
        err.contains("read-only") || err.contains("Read-only file system"),
        "the cause is not named: {err}"
    );
    assert!(!err.contains("pool timed out"), "{err}");
}

/// Finding 10: a fresh data directory on a full disk.
#[test]
fn a_full_disk_stops_the_start_and_leaves_no_empty_database() {
    let Some(fs) = Tmpfs::mount(2) else {
        return;
    };
    fs.fill();
    let data = fs.path().join("data");
    let out = serve_until_exit(fs.path(), &data);
    let err = stderr(&out);
    assert!(!out.status.success(), "served on a full disk: {err}");
    assert!(
        err.contains("no space left"),
        "the cause is not named: {err}"
    );
    assert!(!err.contains("pool timed out"), "{err}");
    let db = data.join("parley.db");
    assert!(
        std::fs::metadata(&db).map_or(true, |m| m.len() > 0),
        "an empty parley.db was left behind"
    );
}

/// Waits for the child's exit, killing it after `bound` (which only turns a hang into a
/// failure; the assertion is on how it ended, not on how long it took).
fn wait_exit(child: &mut std::process::Child, bound: Duration) -> Option<ExitStatus> {
    let deadline = Instant::now() + bound;
    loop {
        if let Some(st) = child.try_wait().expect("wait") {
            return Some(st);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            return None;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Finding 10: SIGTERM while the start waits for a database that does not answer (a
/// PostgreSQL address that accepts connections and says nothing) ends the process
/// cleanly, instead of being ignored until the connection attempts give up.
#[test]
fn sigterm_during_start_up_ends_the_process() {
    let silent = std::net::TcpListener::bind("127.0.0.1:0").expect("listener");
    let addr = silent.local_addr().expect("addr");
    let dir = tempfile::tempdir().expect("tempdir");
    let mut cmd = parley(dir.path());
    cmd.args(["serve", "--listen", "127.0.0.1:0", "--database-url"])
        .arg(format!("postgres://postgres@{addr}/parley"))
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("spawn");
    // The server is inside its start once it connects to the database.
    let (conn, _) = silent.accept().expect("the server connects");
    let pid = child.id().to_string();
    let _ = Command::new("kill").args(["-TERM", &pid]).status();
    let status = wait_exit(&mut child, Duration::from_secs(60))
        .expect("parley did not end after SIGTERM during start-up");
    let mut err = String::new();
    if let Some(mut e) = child.stderr.take() {
        use std::io::Read;
        let _ = e.read_to_string(&mut err);
    }
    drop(conn);
    assert!(status.success(), "ended with {status}: {err}");
    assert!(!err.contains("pool timed out"), "{err}");
}

/// Finding 11: a second server on a data directory in use is refused with a message that
/// names the directory and the first server's pid; the first keeps serving.
#[test]
fn a_second_server_on_the_same_data_directory_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut first = parley(dir.path());
    first.args(["serve", "--listen", "127.0.0.1:0", "--data-dir", "data"]);
    let mut first = Served::start(first);

    let out = serve_until_exit(dir.path(), Path::new("data"));
    let err = stderr(&out);
    assert!(!out.status.success(), "a second server started: {err}");
    assert!(err.contains("already in use"), "{err}");
    assert!(
        err.contains(&format!("pid {}", first.child.id())),
        "the holder is not named: {err}"
    );
    let (status, body) = first.get("/healthz", &[]);
    assert_eq!(status, 200, "{body}");

    // Once the first has stopped, the directory is free again.
    assert!(first.terminate().success());
    let mut again = parley(dir.path());
    again.args(["serve", "--listen", "127.0.0.1:0", "--data-dir", "data"]);
    let mut again = Served::start(again);
    assert!(again.terminate().success());
}
