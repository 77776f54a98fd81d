//! Helpers for tests that run the real `parley` binary as a user would: a clean environment
//! (no `PARLEY_*` or `RUST_LOG` from the developer's shell), a temporary working directory,
//! a served process that is killed when dropped, and a tiny HTTP/1.1 client over loopback.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

pub const BIN: &str = env!("CARGO_BIN_EXE_parley");

/// `parley` with a clean environment, run in `cwd` (so a stray `./parley.toml` or
/// `./parley-data` of the developer's never takes part).
pub fn parley(cwd: &Path) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.current_dir(cwd);
    for (k, _) in std::env::vars_os() {
        let k = k.to_string_lossy().into_owned();
        if k.starts_with("PARLEY_") || k == "RUST_LOG" {
            cmd.env_remove(k);
        }
    }
    cmd.stdin(Stdio::null());
    cmd
}

/// Runs to completion and returns the output (stdout and stderr captured).
pub fn run(cmd: &mut Command) -> Output {
    cmd.output().expect("parley runs")
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Parses `KEY=VALUE` lines (what `parley admin create` prints on stdout).
pub fn key_values(s: &str) -> std::collections::HashMap<String, String> {
    s.lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect()
}

/// A running `parley` server. Killed on drop; [`Served::terminate`] stops it with SIGTERM.
pub struct Served {
    pub child: Child,
    pub addr: SocketAddr,
    lines: mpsc::Receiver<String>,
    /// Every stderr line read so far.
    pub seen: Vec<String>,
}

impl Served {
    /// Spawns `cmd` (which must listen on 127.0.0.1:0 or a free port) and waits until it
    /// says where it serves: the text line "serving on http://ADDR" or the JSON log event
    /// "parley is serving" with its `addr` field.
    pub fn start(mut cmd: Command) -> Served {
        let mut child = cmd
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn parley");
        let err = child.stderr.take().expect("stderr piped");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(err).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut seen = Vec::new();
        let deadline = Instant::now() + Duration::from_secs(30);
        let addr = loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = match rx.recv_timeout(left) {
                Ok(l) => l,
                Err(_) => {
                    let _ = child.kill();
                    panic!(
                        "parley did not report its address; stderr:\n{}",
                        seen.join("\n")
                    );
                }
            };
            seen.push(line.clone());
            if let Some(rest) = line.split("serving on http://").nth(1) {
                let a = rest.split_whitespace().next().unwrap_or_default();
                break a.parse().expect("address in the serving line");
            }
            if let Ok(v) = serde_json::from_str::<serde_json::Value>(&line)
                && v["message"] == "parley is serving"
            {
                break v["addr"]
                    .as_str()
                    .expect("addr field")
                    .parse()
                    .expect("address");
            }
        };
        Served {
            child,
            addr,
            lines: rx,
            seen,
        }
    }

    /// Stderr lines printed until now (waits briefly for stragglers).
    pub fn drain(&mut self, wait: Duration) -> &[String] {
        while let Ok(l) = self.lines.recv_timeout(wait) {
            self.seen.push(l);
        }
        &self.seen
    }

    /// Sends SIGTERM and waits for the exit status (up to 10 s, then kills).
    pub fn terminate(&mut self) -> std::process::ExitStatus {
        let pid = self.child.id().to_string();
        let _ = Command::new("kill").args(["-TERM", &pid]).status();
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(st) = self.child.try_wait().expect("wait") {
                // Collect what it printed on the way out.
                self.drain(Duration::from_millis(200));
                return st;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!("parley did not stop within 10 s of SIGTERM");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn get(&self, path: &str, headers: &[(&str, &str)]) -> (u16, String) {
        http(self.addr, "GET", path, headers, None)
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One HTTP/1.1 request with `Connection: close`; returns status and body. Enough for
/// JSON endpoints on loopback, and it keeps these tests free of an async runtime.
pub fn http(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    json: Option<&str>,
) -> (u16, String) {
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(5)).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    let mut req = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    let body = json.unwrap_or("");
    if json.is_some() {
        req.push_str("Content-Type: application/json\r\n");
    }
    req.push_str(&format!("Content-Length: {}\r\n\r\n{body}", body.len()));
    s.write_all(req.as_bytes()).expect("send");
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).expect("read");
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, rest) = text.split_once("\r\n\r\n").expect("HTTP response");
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .expect("status code");
    let body = if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        dechunk(rest)
    } else {
        rest.to_string()
    };
    (status, body)
}

fn dechunk(mut s: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = s.split_once("\r\n") {
        let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if n == 0 || rest.len() < n {
            break;
        }
        out.push_str(&rest[..n]);
        s = rest[n..].trim_start_matches("\r\n");
    }
    out
}
