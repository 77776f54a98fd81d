//! A real mail system for tests: Dovecot (IMAP, IMAPS, LMTP delivery, submission with
//! STARTTLS and implicit TLS relaying to OpenSMTPD) and OpenSMTPD (SMTP, delivering over
//! LMTP into Dovecot), started from a temporary directory on free loopback ports with their
//! own configuration files and a certificate signed by a CA made for the test, and stopped
//! when the [`MailSystem`] is dropped.
//!
//! Any address logs in with [`PASSWORD`]; each has its own mailbox. Letters to
//! `@shop.test`, `@customer.test` and `@example.org` are delivered; other domains are
//! refused with a 5xx. `user+detail@domain` is delivered to `user@domain` (plus addresses).
//!
//! Needs root (Dovecot's mail processes switch to the `mail` user), the Debian packages
//! `dovecot-imapd dovecot-lmtpd dovecot-submissiond opensmtpd` and `openssl`. Without them
//! [`MailSystem::start_or_skip`] prints why and the test skips, unless
//! `PARLEY_REQUIRE_SERVICES=1` (set by `.ci/run`), which turns the skip into a failure.
//! OpenSMTPD's queue and control socket are system-wide, so systems with SMTP are started
//! one at a time across processes (a lock file); IMAP-only systems run in parallel.
//! OpenSMTPD's own TLS fails with this Debian's OpenSSL 3, which is why TLS on the sending
//! side is tested through Dovecot's submission service.

use std::fs;
use std::io::Write as _;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::imap::{ImapSecurity, ImapSettings};
use super::smtp::{SmtpSecurity, SmtpSettings};

/// The password of every test account.
pub const PASSWORD: &str = "secret";
/// The host the servers listen on (the certificate names this IP address).
pub const HOST: &str = "127.0.0.1";
/// Domains the SMTP server delivers for.
pub const DOMAINS: [&str; 3] = ["shop.test", "customer.test", "example.org"];

/// Which servers to start.
#[derive(Debug, Clone, Copy, Default)]
pub struct Options {
    /// Also start OpenSMTPD (and so the submission relay); serialised across processes.
    pub smtp: bool,
}

/// The running servers. Dropping it stops them and removes their files.
pub struct MailSystem {
    dir: tempfile::TempDir,
    dovecot: Child,
    smtpd: Option<Child>,
    _smtp_lock: Option<fs::File>,
    /// IMAP without TLS.
    pub imap_port: u16,
    /// IMAP with TLS from the first byte.
    pub imaps_port: u16,
    /// LMTP (delivery into mailboxes).
    pub lmtp_port: u16,
    /// Dovecot submission: STARTTLS offered, AUTH PLAIN/LOGIN, relays to OpenSMTPD.
    pub submission_port: u16,
    /// Dovecot submission with TLS from the first byte.
    pub submissions_port: u16,
    /// OpenSMTPD, plain SMTP without AUTH (when started with [`Options::smtp`]).
    pub smtp_port: Option<u16>,
    /// The test CA's certificate (PEM): the extra root clients must trust.
    pub ca_pem: Vec<u8>,
}

impl std::fmt::Debug for MailSystem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MailSystem")
            .field("dir", &self.dir.path())
            .field("imap_port", &self.imap_port)
            .field("smtp_port", &self.smtp_port)
            .finish()
    }
}

fn free_port() -> Result<u16, String> {
    let l = TcpListener::bind((HOST, 0)).map_err(|e| format!("no free port: {e}"))?;
    l.local_addr().map(|a| a.port()).map_err(|e| e.to_string())
}

fn run(cmd: &mut Command) -> Result<(), String> {
    let out = cmd.output().map_err(|e| format!("{cmd:?}: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{cmd:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

fn wait_port(port: u16, deadline: Instant) -> bool {
    while Instant::now() < deadline {
        if std::net::TcpStream::connect((HOST, port)).is_ok() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    false
}

/// What is missing for the mail system, if anything.
pub fn missing() -> Option<String> {
    for bin in [
        "/usr/sbin/dovecot",
        "/usr/lib/dovecot/imap",
        "/usr/lib/dovecot/lmtp",
        "/usr/lib/dovecot/submission",
        "/usr/sbin/smtpd",
    ] {
        if !Path::new(bin).exists() {
            return Some(format!(
                "{bin} is missing (apt-get install dovecot-imapd dovecot-lmtpd dovecot-submissiond opensmtpd)"
            ));
        }
    }
    if Command::new("openssl").arg("version").output().is_err() {
        return Some("openssl is missing".into());
    }
    let uid = Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default();
    if uid != "0" {
        return Some("the test mail system runs Dovecot and OpenSMTPD as root".into());
    }
    None
}

impl MailSystem {
    /// Starts the servers, or says why it cannot.
    pub fn start(opts: Options) -> Result<MailSystem, String> {
        if let Some(why) = missing() {
            return Err(why);
        }
        let dir = tempfile::Builder::new()
            .prefix("parley-mail-")
            .tempdir()
            .map_err(|e| e.to_string())?;
        let d = dir.path().to_path_buf();
        // Dovecot's mail and login processes run as other users and must traverse it.
        run(Command::new("chmod").arg("755").arg(&d))?;
        let ca_pem = make_certs(&d)?;
        let mail = d.join("mail");
        fs::create_dir(&mail).map_err(|e| e.to_string())?;
        run(Command::new("chown").arg("mail:mail").arg(&mail))?;
        let (imap_port, imaps_port, lmtp_port, submission_port, submissions_port) = (
            free_port()?,
            free_port()?,
            free_port()?,
            free_port()?,
            free_port()?,
        );
        let smtp_lock = if opts.smtp {
            let f = fs::OpenOptions::new()
                .create(true)
                .truncate(false)
                .write(true)
                .open(std::env::temp_dir().join("parley-test-opensmtpd.lock"))
                .map_err(|e| e.to_string())?;
            f.lock().map_err(|e| format!("lock: {e}"))?;
            Some(f)
        } else {
            None
        };
        let smtp_port = if opts.smtp { Some(free_port()?) } else { None };
        let conf = dovecot_conf(
            &d,
            imap_port,
            imaps_port,
            lmtp_port,
            submission_port,
            submissions_port,
            smtp_port,
        );
        let conf_path = d.join("dovecot.conf");
        fs::write(&conf_path, conf).map_err(|e| e.to_string())?;
        let dovecot = Command::new("/usr/sbin/dovecot")
            .arg("-F")
            .arg("-c")
            .arg(&conf_path)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("dovecot: {e}"))?;
        let mut sys = MailSystem {
            dir,
            dovecot,
            smtpd: None,
            _smtp_lock: smtp_lock,
            imap_port,
            imaps_port,
            lmtp_port,
            submission_port,
            submissions_port,
            smtp_port,
            ca_pem,
        };
        if let Some(port) = smtp_port {
            let vusers = DOMAINS
                .iter()
                .map(|dom| format!("@{dom} mail\n"))
                .collect::<String>();
            fs::write(d.join("vusers"), vusers).map_err(|e| e.to_string())?;
            let conf = format!(
                "table vusers file:{dir}/vusers\n\
                 listen on {HOST} port {port} hostname localhost\n\
                 action \"to_dovecot\" lmtp \"{HOST}:{lmtp_port}\" rcpt-to virtual <vusers>\n\
                 match from any for any action \"to_dovecot\"\n",
                dir = d.display()
            );
            let path = d.join("smtpd.conf");
            fs::write(&path, conf).map_err(|e| e.to_string())?;
            let log = fs::File::create(d.join("smtpd.log")).map_err(|e| e.to_string())?;
            let child = Command::new("/usr/sbin/smtpd")
                .arg("-d")
                .arg("-f")
                .arg(&path)
                .stdin(Stdio::null())
                .stdout(log.try_clone().map_err(|e| e.to_string())?)
                .stderr(log)
                .spawn()
                .map_err(|e| format!("smtpd: {e}"))?;
            sys.smtpd = Some(child);
        }
        let deadline = Instant::now() + Duration::from_secs(20);
        let mut ports = vec![
            imap_port,
            imaps_port,
            lmtp_port,
            submission_port,
            submissions_port,
        ];
        ports.extend(smtp_port);
        for p in ports {
            if !wait_port(p, deadline) {
                let log = fs::read_to_string(d.join("dovecot.log")).unwrap_or_default();
                let slog = fs::read_to_string(d.join("smtpd.log")).unwrap_or_default();
                return Err(format!(
                    "port {p} did not open; dovecot.log:\n{log}\nsmtpd.log:\n{slog}"
                ));
            }
        }
        Ok(sys)
    }

    /// Starts the servers; when that is impossible, prints why and returns `None` (the test
    /// then returns early) unless `PARLEY_REQUIRE_SERVICES` is set, when it panics.
    pub fn start_or_skip(test: &str, opts: Options) -> Option<MailSystem> {
        match MailSystem::start(opts) {
            Ok(s) => Some(s),
            Err(why) => {
                assert!(
                    std::env::var_os("PARLEY_REQUIRE_SERVICES").is_none(),
                    "PARLEY_REQUIRE_SERVICES is set: {test} cannot start the mail system: {why}"
                );
                eprintln!("skipping {test}: {why}");
                None
            }
        }
    }

    /// The directory holding the configuration, logs and mailboxes.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// IMAP settings for `user`, over TLS or plain, trusting the test CA.
    pub fn imap(&self, user: &str, tls: bool) -> ImapSettings {
        let (port, security) = if tls {
            (self.imaps_port, ImapSecurity::Tls)
        } else {
            (self.imap_port, ImapSecurity::Plain)
        };
        let mut s = ImapSettings::new(HOST, port, security, user, PASSWORD);
        s.extra_roots_pem = Some(self.ca_pem.clone());
        s
    }

    /// SMTP settings for sending as `user` through the submission service (STARTTLS on
    /// the submission port, or TLS on the submissions port), trusting the test CA.
    pub fn submission(&self, user: &str, security: SmtpSecurity) -> SmtpSettings {
        let port = match security {
            SmtpSecurity::Tls => self.submissions_port,
            _ => self.submission_port,
        };
        let mut s = SmtpSettings::new(HOST, port, security);
        s.credentials = Some((user.to_string(), PASSWORD.to_string()));
        s.extra_roots_pem = Some(self.ca_pem.clone());
        s.helo = Some("localhost".into());
        s
    }

    /// Plain SMTP settings for OpenSMTPD (no AUTH): how an outside sender reaches us.
    pub fn smtp_plain(&self) -> Option<SmtpSettings> {
        let mut s = SmtpSettings::new(HOST, self.smtp_port?, SmtpSecurity::Plain);
        s.helo = Some("localhost".into());
        Some(s)
    }

    /// Puts `raw` into `user`'s INBOX over IMAP (APPEND): the fastest way to fill a mailbox.
    pub async fn append(&self, user: &str, raw: &[u8]) -> Result<(), String> {
        let mut s = super::imap::connect(&self.imap(user, false))
            .await
            .map_err(|e| e.to_string())?;
        s.append("INBOX", None, None, raw)
            .await
            .map_err(|e| e.to_string())?;
        let _ = s.logout().await;
        Ok(())
    }

    /// APPENDs many letters over one connection.
    pub async fn append_many<I>(&self, user: &str, letters: I) -> Result<(), String>
    where
        I: IntoIterator,
        I::Item: AsRef<[u8]>,
    {
        let mut s = super::imap::connect(&self.imap(user, false))
            .await
            .map_err(|e| e.to_string())?;
        for raw in letters {
            s.append("INBOX", None, None, raw.as_ref())
                .await
                .map_err(|e| e.to_string())?;
        }
        let _ = s.logout().await;
        Ok(())
    }

    /// Every letter in `user`'s INBOX, in UID order.
    pub async fn letters(&self, user: &str) -> Result<Vec<Vec<u8>>, String> {
        use futures::TryStreamExt;
        let mut s = super::imap::connect(&self.imap(user, false))
            .await
            .map_err(|e| e.to_string())?;
        let mb = s.examine("INBOX").await.map_err(|e| e.to_string())?;
        let mut out: Vec<(u32, Vec<u8>)> = Vec::new();
        if mb.exists > 0 {
            let fetches: Vec<_> = s
                .uid_fetch("1:*", "(UID BODY.PEEK[])")
                .await
                .map_err(|e| e.to_string())?
                .try_collect()
                .await
                .map_err(|e| e.to_string())?;
            for f in &fetches {
                if let (Some(uid), Some(body)) = (f.uid, f.body()) {
                    out.push((uid, body.to_vec()));
                }
            }
        }
        let _ = s.logout().await;
        out.sort_by_key(|l| l.0);
        Ok(out.into_iter().map(|l| l.1).collect())
    }

    /// Waits until `user`'s INBOX holds at least `n` letters (delivery is asynchronous),
    /// at most `limit`; returns them. An error names what arrived.
    pub async fn wait_letters(
        &self,
        user: &str,
        n: usize,
        limit: Duration,
    ) -> Result<Vec<Vec<u8>>, String> {
        let deadline = Instant::now() + limit;
        loop {
            let l = self.letters(user).await.unwrap_or_default();
            if l.len() >= n {
                return Ok(l);
            }
            if Instant::now() > deadline {
                let slog = fs::read_to_string(self.dir().join("smtpd.log")).unwrap_or_default();
                return Err(format!(
                    "{user} has {} letters, expected {n}; smtpd.log:\n{slog}",
                    l.len()
                ));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

impl Drop for MailSystem {
    fn drop(&mut self) {
        if let Some(mut smtpd) = self.smtpd.take() {
            let _ = Command::new("kill")
                .arg("-TERM")
                .arg(smtpd.id().to_string())
                .status();
            wait_or_kill(&mut smtpd);
        }
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.dovecot.id().to_string())
            .status();
        wait_or_kill(&mut self.dovecot);
    }
}

fn wait_or_kill(child: &mut Child) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline {
        if let Ok(Some(_)) = child.try_wait() {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    let _ = child.wait();
}

/// A CA and a server certificate for 127.0.0.1 and localhost; returns the CA's PEM.
fn make_certs(d: &Path) -> Result<Vec<u8>, String> {
    let p = |f: &str| d.join(f);
    run(Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-days",
            "2",
        ])
        .args(["-subj", "/CN=Parley test CA"])
        .args(["-addext", "basicConstraints=critical,CA:TRUE"])
        .args(["-addext", "keyUsage=critical,keyCertSign,cRLSign"])
        .arg("-keyout")
        .arg(p("ca.key"))
        .arg("-out")
        .arg(p("ca.pem")))?;
    run(Command::new("openssl")
        .args([
            "req",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
        ])
        .args(["-subj", "/CN=localhost"])
        .arg("-keyout")
        .arg(p("key.pem"))
        .arg("-out")
        .arg(p("req.csr")))?;
    let mut ext = fs::File::create(p("ext.cnf")).map_err(|e| e.to_string())?;
    ext.write_all(
        b"subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\nkeyUsage=digitalSignature\n",
    )
    .map_err(|e| e.to_string())?;
    run(Command::new("openssl")
        .args(["x509", "-req", "-days", "2", "-set_serial", "1"])
        .arg("-in")
        .arg(p("req.csr"))
        .arg("-CA")
        .arg(p("ca.pem"))
        .arg("-CAkey")
        .arg(p("ca.key"))
        .arg("-extfile")
        .arg(p("ext.cnf"))
        .arg("-out")
        .arg(p("cert.pem")))?;
    fs::read(p("ca.pem")).map_err(|e| e.to_string())
}

fn dovecot_conf(
    d: &Path,
    imap: u16,
    imaps: u16,
    lmtp: u16,
    submission: u16,
    submissions: u16,
    relay: Option<u16>,
) -> String {
    let d: PathBuf = d.to_path_buf();
    let d = d.display();
    // Without OpenSMTPD the submission service relays to a port nothing listens on.
    let relay = relay.unwrap_or(9);
    format!(
        r#"protocols = imap lmtp submission
listen = {HOST}
base_dir = {d}/run
state_dir = {d}/state
log_path = {d}/dovecot.log
hostname = localhost
ssl = yes
ssl_cert = <{d}/cert.pem
ssl_key = <{d}/key.pem
disable_plaintext_auth = no
auth_mechanisms = plain login
passdb {{
  driver = static
  args = password={PASSWORD}
}}
userdb {{
  driver = static
  args = uid=mail gid=mail home={d}/mail/%u
}}
first_valid_uid = 8
mail_location = maildir:{d}/mail/%u
recipient_delimiter = +
mailbox_idle_check_interval = 1 secs
lmtp_save_to_detail_mailbox = no
submission_relay_host = {HOST}
submission_relay_port = {relay}
submission_relay_trusted = yes
service imap-login {{
  inet_listener imap {{
    address = {HOST}
    port = {imap}
  }}
  inet_listener imaps {{
    address = {HOST}
    port = {imaps}
    ssl = yes
  }}
}}
service lmtp {{
  inet_listener lmtp {{
    address = {HOST}
    port = {lmtp}
  }}
}}
service submission-login {{
  inet_listener submission {{
    address = {HOST}
    port = {submission}
  }}
  inet_listener submissions {{
    address = {HOST}
    port = {submissions}
    ssl = yes
  }}
}}
"#
    )
}

/// An [`ImportTarget`](super::imap::ImportTarget) in memory that behaves like the real one
/// must: the cursor moves with each letter atomically, a Message-ID already stored is not
/// stored again (UIDVALIDITY re-sync), and a letter at or below the cursor counts as a
/// duplicate (which the tests assert never happens). Keeps the letters' raw bytes unless
/// built with [`MemoryTarget::counting`].
#[derive(Default)]
pub struct MemoryTarget {
    state: std::sync::Mutex<MemoryState>,
    keep_raw: bool,
    /// Fail (as a crash would) when asked to import this many-th letter (1-based).
    pub fail_at: std::sync::atomic::AtomicU64,
    /// Called after each stored letter with the number stored so far.
    #[allow(clippy::type_complexity)]
    pub on_import: Option<Box<dyn Fn(u64) + Send + Sync>>,
}

/// What a [`MemoryTarget`] holds.
#[derive(Debug, Default, Clone)]
pub struct MemoryState {
    /// The cursor.
    pub cursor: Option<super::imap::Cursor>,
    /// Letters stored, in order: their UID, Message-ID and raw bytes (empty when counting).
    pub letters: Vec<(u32, Option<String>, bytes::Bytes)>,
    /// Message-IDs stored.
    pub ids: std::collections::HashSet<String>,
    /// Letters offered at or below the cursor (must stay 0).
    pub duplicates: u64,
    /// Letters skipped because their Message-ID was known.
    pub deduplicated: u64,
    /// Bytes offered.
    pub bytes: u64,
    /// Letters offered (calls of import that succeeded).
    pub offered: u64,
}

impl MemoryTarget {
    /// A target that keeps every letter.
    pub fn new() -> Self {
        Self {
            keep_raw: true,
            ..Self::default()
        }
    }

    /// A target that only counts (for the benchmark): no raw bytes kept.
    pub fn counting() -> Self {
        Self::default()
    }

    /// A copy of the state.
    pub fn state(&self) -> MemoryState {
        self.lock().clone()
    }

    /// Sets the stored cursor and known Message-IDs (as after an earlier import).
    pub fn preset(&self, cursor: super::imap::Cursor, ids: &[&str]) {
        let mut s = self.lock();
        s.cursor = Some(cursor);
        s.ids.extend(ids.iter().map(|i| i.to_string()));
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, MemoryState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The Message-ID of a raw letter, from a cheap scan of its header.
pub fn header_message_id(raw: &[u8]) -> Option<String> {
    let end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or(raw.len());
    let head = String::from_utf8_lossy(&raw[..end]);
    head.lines().find_map(|l| {
        let (name, value) = l.split_once(':')?;
        name.trim()
            .eq_ignore_ascii_case("message-id")
            .then(|| super::inbound::clean_id(value))
    })
}

impl super::imap::ImportTarget for MemoryTarget {
    async fn cursor(&self) -> Result<Option<super::imap::Cursor>, super::imap::TargetError> {
        Ok(self.lock().cursor)
    }

    async fn import(
        &self,
        at: super::imap::Cursor,
        letter: super::imap::Letter,
    ) -> Result<(), super::imap::TargetError> {
        use std::sync::atomic::Ordering;
        let mut s = self.lock();
        let fail_at = self.fail_at.load(Ordering::SeqCst);
        if fail_at != 0 && s.offered + 1 == fail_at {
            return Err(super::imap::TargetError("simulated crash".into()));
        }
        s.offered += 1;
        s.bytes += letter.raw.len() as u64;
        if let Some(c) = s.cursor
            && c.uidvalidity == at.uidvalidity
            && at.last_uid <= c.last_uid
        {
            s.duplicates += 1;
        }
        let id = header_message_id(&letter.raw);
        if let Some(id) = &id
            && s.ids.contains(id)
        {
            s.deduplicated += 1;
        } else {
            if let Some(id) = &id {
                s.ids.insert(id.clone());
            }
            let raw = if self.keep_raw {
                letter.raw
            } else {
                bytes::Bytes::new()
            };
            s.letters.push((letter.uid, id, raw));
        }
        s.cursor = Some(at);
        let n = s.letters.len() as u64;
        drop(s);
        if let Some(f) = &self.on_import {
            f(n);
        }
        Ok(())
    }

    async fn reset(&self, to: super::imap::Cursor) -> Result<(), super::imap::TargetError> {
        self.lock().cursor = Some(to);
        Ok(())
    }
}
