//! A small SMTP server on loopback for tests of outgoing mail: it speaks enough ESMTP for
//! a real client (EHLO/HELO, AUTH PLAIN and LOGIN accepting any credentials, MAIL, RCPT,
//! DATA with dot-unstuffing, RSET, NOOP, QUIT), keeps every accepted message, and lets a
//! test wait for the next one. Modes refuse recipients with 451 once (greylisting) or with
//! 550 always, for retry tests. Decoding helpers turn the raw message back into subject,
//! text and HTML (RFC 2047 words, quoted-printable, base64, multipart), so tests can
//! compare Cyrillic text with what was sent.
//!
//! ```ignore
//! let sink = SmtpSink::start().await;
//! let mailer = SmtpMailer::new(&sink.url(), "Parley <parley@shop.example>")?;
//! mailer.send(email).await?;
//! let got = sink.next().await;
//! assert_eq!(got.subject(), "Привет");
//! ```

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// How long [`SmtpSink::next`] and [`SmtpSink::wait_for`] wait before failing the test.
/// A safety net against a hung test, not a performance limit.
pub const SINK_PATIENCE: Duration = Duration::from_secs(30);

/// Largest DATA the sink accepts (a runaway client ends the connection).
const MAX_DATA: usize = 32 * 1024 * 1024;

/// How the sink answers `RCPT TO`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SinkMode {
    /// Accept every recipient.
    #[default]
    Accept,
    /// `451 4.7.1` to every recipient of the first transaction (a greylisting relay), then
    /// accept: the first send fails transiently, a retry goes through.
    TempFailFirst,
    /// `550 5.1.1` to every recipient: permanent refusal.
    RejectAll,
}

/// One message the sink accepted.
#[derive(Debug, Clone)]
pub struct Received {
    /// Envelope sender (`MAIL FROM`), without angle brackets.
    pub from: String,
    /// Envelope recipients (`RCPT TO`), without angle brackets, in order.
    pub to: Vec<String>,
    /// The message as transmitted, dot-unstuffed, lines ending in CRLF.
    pub data: Vec<u8>,
    /// User and password the client authenticated with, if it did.
    pub auth: Option<(String, String)>,
}

struct Shared {
    mode: SinkMode,
    messages: Mutex<Vec<Received>>,
    /// Messages handed out by [`SmtpSink::next`].
    read: Mutex<usize>,
    /// Transactions begun (`MAIL FROM` commands), refused ones included.
    attempts: Mutex<usize>,
    /// Every AUTH the sink accepted, with or without a message after it.
    auths: Mutex<Vec<(String, String)>>,
    /// Number of messages stored, for waiters.
    count: watch::Sender<usize>,
}

/// A running sink; stops when dropped.
pub struct SmtpSink {
    addr: SocketAddr,
    shared: Arc<Shared>,
    task: JoinHandle<()>,
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl SmtpSink {
    /// A sink that accepts everything, on 127.0.0.1 and a free port.
    pub async fn start() -> SmtpSink {
        Self::start_with(SinkMode::Accept).await
    }

    /// A sink answering recipients as `mode` says.
    pub async fn start_with(mode: SinkMode) -> SmtpSink {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the SMTP sink");
        let addr = listener.local_addr().expect("sink address");
        let (count, _) = watch::channel(0usize);
        let shared = Arc::new(Shared {
            mode,
            messages: Mutex::default(),
            read: Mutex::default(),
            attempts: Mutex::default(),
            auths: Mutex::default(),
            count,
        });
        let s = shared.clone();
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let s = s.clone();
                tokio::spawn(async move {
                    // A client that hangs up mid-session is not the sink's problem.
                    let _ = session(stream, s).await;
                });
            }
        });
        SmtpSink { addr, shared, task }
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `smtp://127.0.0.1:PORT`: plain SMTP, no credentials.
    pub fn url(&self) -> String {
        format!("smtp://{}", self.addr)
    }

    /// `smtp://USER:PASS@127.0.0.1:PORT`, user and password percent-encoded.
    pub fn url_with_auth(&self, user: &str, pass: &str) -> String {
        format!("smtp://{}:{}@{}", pct(user), pct(pass), self.addr)
    }

    /// Every message accepted so far.
    pub fn received(&self) -> Vec<Received> {
        self.shared.messages.lock().expect("sink lock").clone()
    }

    /// Transactions begun so far (`MAIL FROM`), refused ones included.
    pub fn attempts(&self) -> usize {
        *self.shared.attempts.lock().expect("sink lock")
    }

    /// Every user and password a client authenticated with, in order (also those of
    /// sessions that sent no message), to prove what did or did not cross the wire.
    pub fn auths(&self) -> Vec<(String, String)> {
        self.shared.auths.lock().expect("sink lock").clone()
    }

    /// Waits for the next message not yet returned by `next` (fails the test after
    /// [`SINK_PATIENCE`]).
    pub async fn next(&self) -> Received {
        let want = *self.shared.read.lock().expect("sink lock") + 1;
        let all = self.wait_until(want).await;
        let mut read = self.shared.read.lock().expect("sink lock");
        let m = all[*read].clone();
        *read += 1;
        m
    }

    /// Waits until `n` messages in total have arrived and returns all of them (fails the
    /// test after [`SINK_PATIENCE`]). Does not move the cursor of [`SmtpSink::next`].
    pub async fn wait_for(&self, n: usize) -> Vec<Received> {
        self.wait_until(n).await
    }

    async fn wait_until(&self, n: usize) -> Vec<Received> {
        let mut rx = self.shared.count.subscribe();
        let ok = tokio::time::timeout(SINK_PATIENCE, rx.wait_for(|c| *c >= n)).await;
        let all = self.received();
        assert!(
            matches!(ok, Ok(Ok(_))),
            "the SMTP sink at {} expected {n} message(s) but got {} within {} s ({} transaction(s) begun)",
            self.addr,
            all.len(),
            SINK_PATIENCE.as_secs(),
            self.attempts()
        );
        all
    }
}

fn pct(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// Reads one line (up to LF) without its line ending; `None` at end of stream.
async fn read_line(r: &mut BufReader<TcpStream>) -> std::io::Result<Option<Vec<u8>>> {
    let mut buf = Vec::new();
    if r.read_until(b'\n', &mut buf).await? == 0 {
        return Ok(None);
    }
    while matches!(buf.last(), Some(b'\n' | b'\r')) {
        buf.pop();
    }
    Ok(Some(buf))
}

async fn reply(r: &mut BufReader<TcpStream>, text: &str) -> std::io::Result<()> {
    let w = r.get_mut();
    w.write_all(text.as_bytes()).await?;
    w.write_all(b"\r\n").await?;
    w.flush().await
}

/// The address inside `<…>` after `FROM:` / `TO:` (parameters after it ignored).
fn path_arg(rest: &str) -> String {
    let rest = rest.trim();
    match (rest.find('<'), rest.find('>')) {
        (Some(a), Some(b)) if b > a => rest[a + 1..b].to_string(),
        _ => rest.split_whitespace().next().unwrap_or("").to_string(),
    }
}

fn b64_text(s: &[u8]) -> String {
    let bytes = B64.decode(s.trim_ascii()).unwrap_or_default();
    String::from_utf8_lossy(&bytes).into_owned()
}

async fn session(stream: TcpStream, shared: Arc<Shared>) -> std::io::Result<()> {
    let mut r = BufReader::new(stream);
    reply(&mut r, "220 sink.test ESMTP parley test sink").await?;
    let mut auth: Option<(String, String)> = None;
    let mut from: Option<String> = None;
    let mut to: Vec<String> = Vec::new();
    while let Some(line) = read_line(&mut r).await? {
        let line = String::from_utf8_lossy(&line).into_owned();
        let (verb, rest) = line.split_once(' ').unwrap_or((line.as_str(), ""));
        match verb.to_ascii_uppercase().as_str() {
            "EHLO" => {
                reply(
                    &mut r,
                    "250-sink.test\r\n250-8BITMIME\r\n250-SMTPUTF8\r\n250-AUTH PLAIN LOGIN\r\n250 SIZE 33554432",
                )
                .await?
            }
            "HELO" => reply(&mut r, "250 sink.test").await?,
            "AUTH" => {
                let mut parts = rest.split_whitespace();
                let mech = parts.next().unwrap_or("").to_ascii_uppercase();
                let initial = parts.next().map(str::to_string);
                match mech.as_str() {
                    "PLAIN" => {
                        let token = match initial {
                            Some(t) => t.into_bytes(),
                            None => {
                                reply(&mut r, "334 ").await?;
                                read_line(&mut r).await?.unwrap_or_default()
                            }
                        };
                        let decoded = b64_text(&token);
                        let mut f = decoded.split('\0');
                        let _authzid = f.next();
                        let user = f.next().unwrap_or("").to_string();
                        let pass = f.next().unwrap_or("").to_string();
                        shared.auths.lock().expect("sink lock").push((user.clone(), pass.clone()));
                        auth = Some((user, pass));
                        reply(&mut r, "235 2.7.0 Authentication successful").await?;
                    }
                    "LOGIN" => {
                        let user = match initial {
                            Some(t) => b64_text(t.as_bytes()),
                            None => {
                                reply(&mut r, "334 VXNlcm5hbWU6").await?;
                                b64_text(&read_line(&mut r).await?.unwrap_or_default())
                            }
                        };
                        reply(&mut r, "334 UGFzc3dvcmQ6").await?;
                        let pass = b64_text(&read_line(&mut r).await?.unwrap_or_default());
                        shared.auths.lock().expect("sink lock").push((user.clone(), pass.clone()));
                        auth = Some((user, pass));
                        reply(&mut r, "235 2.7.0 Authentication successful").await?;
                    }
                    _ => reply(&mut r, "504 5.5.4 Unrecognized authentication type").await?,
                }
            }
            "MAIL" => {
                let arg = rest.get(5..).unwrap_or("");
                from = Some(path_arg(arg));
                to.clear();
                *shared.attempts.lock().expect("sink lock") += 1;
                reply(&mut r, "250 2.1.0 Ok").await?;
            }
            "RCPT" => {
                if from.is_none() {
                    reply(&mut r, "503 5.5.1 Need MAIL first").await?;
                    continue;
                }
                let first = *shared.attempts.lock().expect("sink lock") == 1;
                match shared.mode {
                    SinkMode::TempFailFirst if first => {
                        reply(&mut r, "451 4.7.1 Greylisted, try again later").await?
                    }
                    SinkMode::RejectAll => {
                        reply(&mut r, "550 5.1.1 No such user here").await?
                    }
                    _ => {
                        to.push(path_arg(rest.get(3..).unwrap_or("")));
                        reply(&mut r, "250 2.1.5 Ok").await?;
                    }
                }
            }
            "DATA" => {
                let Some(sender) = from.take() else {
                    reply(&mut r, "503 5.5.1 Need MAIL first").await?;
                    continue;
                };
                if to.is_empty() {
                    reply(&mut r, "554 5.5.1 No valid recipients").await?;
                    continue;
                }
                reply(&mut r, "354 End data with <CR><LF>.<CR><LF>").await?;
                let mut data = Vec::new();
                loop {
                    let Some(l) = read_line(&mut r).await? else {
                        return Ok(()); // cut off mid-message: nothing stored
                    };
                    if l == b"." {
                        break;
                    }
                    let l = if l.first() == Some(&b'.') { &l[1..] } else { &l[..] };
                    data.extend_from_slice(l);
                    data.extend_from_slice(b"\r\n");
                    if data.len() > MAX_DATA {
                        reply(&mut r, "552 5.3.4 Message too big").await?;
                        return Ok(());
                    }
                }
                let msg = Received {
                    from: sender,
                    to: std::mem::take(&mut to),
                    data,
                    auth: auth.clone(),
                };
                let n = {
                    let mut all = shared.messages.lock().expect("sink lock");
                    all.push(msg);
                    all.len()
                };
                shared.count.send_replace(n);
                reply(&mut r, "250 2.0.0 Ok: queued").await?;
            }
            "RSET" => {
                from = None;
                to.clear();
                reply(&mut r, "250 2.0.0 Ok").await?;
            }
            "NOOP" => reply(&mut r, "250 2.0.0 Ok").await?,
            "VRFY" => reply(&mut r, "252 2.0.0 Cannot VRFY user").await?,
            "STARTTLS" => reply(&mut r, "454 4.7.0 TLS not available").await?,
            "QUIT" => {
                reply(&mut r, "221 2.0.0 Bye").await?;
                return Ok(());
            }
            _ => reply(&mut r, "500 5.5.2 Command not recognized").await?,
        }
    }
    Ok(())
}

// ---- Decoding what arrived ----

impl Received {
    /// The message as text (the sink stores what was transmitted; mail from Parley is
    /// 7-bit or UTF-8).
    pub fn raw(&self) -> String {
        String::from_utf8_lossy(&self.data).into_owned()
    }

    /// The first header called `name` (case-insensitive), unfolded, still encoded.
    pub fn header(&self, name: &str) -> Option<String> {
        let (head, _) = split_head(&self.raw());
        header_in(&head, name)
    }

    /// A header with RFC 2047 encoded words decoded (`Subject`, names in `From`/`To`).
    pub fn header_decoded(&self, name: &str) -> Option<String> {
        self.header(name).map(|v| decode_words(&v))
    }

    /// The decoded subject; panics if there is none.
    pub fn subject(&self) -> String {
        self.header_decoded("Subject")
            .unwrap_or_else(|| panic!("no Subject header in:\n{}", self.raw()))
    }

    /// The decoded `text/plain` body, CRLF turned back into LF and trailing line breaks
    /// dropped (SMTP framing adds them); panics if there is none.
    pub fn text(&self) -> String {
        self.body_of("text/plain")
            .unwrap_or_else(|| panic!("no text/plain part in:\n{}", self.raw()))
    }

    /// The decoded `text/html` body (as [`Received::text`]), if there is one.
    pub fn html(&self) -> Option<String> {
        self.body_of("text/html")
    }

    fn body_of(&self, mime: &str) -> Option<String> {
        let mut found = Vec::new();
        collect_parts(&self.raw(), &mut found);
        found
            .into_iter()
            .find(|(ct, _)| ct == mime)
            .map(|(_, body)| body)
    }
}

/// Splits a message or part at the empty line after its headers.
fn split_head(raw: &str) -> (String, String) {
    for sep in ["\r\n\r\n", "\n\n"] {
        if let Some(i) = raw.find(sep) {
            return (raw[..i].to_string(), raw[i + sep.len()..].to_string());
        }
    }
    (raw.to_string(), String::new())
}

fn header_in(head: &str, name: &str) -> Option<String> {
    let mut unfolded: Vec<String> = Vec::new();
    for line in head.lines() {
        if line.starts_with([' ', '\t']) {
            if let Some(last) = unfolded.last_mut() {
                last.push_str(line);
            }
        } else {
            unfolded.push(line.to_string());
        }
    }
    unfolded.into_iter().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.trim()
            .eq_ignore_ascii_case(name)
            .then(|| v.trim().to_string())
    })
}

/// A parameter of a header value, e.g. `boundary` of a Content-Type.
fn param(value: &str, name: &str) -> Option<String> {
    value.split(';').skip(1).find_map(|p| {
        let (k, v) = p.split_once('=')?;
        k.trim()
            .eq_ignore_ascii_case(name)
            .then(|| v.trim().trim_matches('"').to_string())
    })
}

/// Walks a (possibly multipart) entity and collects `(content type, decoded text)` of
/// its leaves.
fn collect_parts(entity: &str, out: &mut Vec<(String, String)>) {
    let (head, body) = split_head(entity);
    let ct = header_in(&head, "Content-Type").unwrap_or_else(|| "text/plain".into());
    let mime = ct
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    if mime.starts_with("multipart/") {
        let boundary = param(&ct, "boundary").expect("multipart without boundary");
        let delim = format!("--{boundary}");
        for chunk in body.split(&delim).skip(1) {
            if chunk.starts_with("--") {
                break;
            }
            let part = chunk.trim_start_matches(['\r', '\n']);
            let part = part.strip_suffix("\r\n").unwrap_or(part);
            collect_parts(part, out);
        }
        return;
    }
    if let Some(cs) = param(&ct, "charset") {
        assert!(
            cs.eq_ignore_ascii_case("utf-8") || cs.eq_ignore_ascii_case("us-ascii"),
            "unexpected charset {cs}"
        );
    }
    let cte = header_in(&head, "Content-Transfer-Encoding")
        .unwrap_or_else(|| "7bit".into())
        .to_ascii_lowercase();
    let bytes = match cte.as_str() {
        "quoted-printable" => decode_qp(&body),
        "base64" => {
            let clean: String = body.chars().filter(|c| !c.is_whitespace()).collect();
            B64.decode(clean).expect("valid base64 body")
        }
        _ => body.as_bytes().to_vec(),
    };
    let text = String::from_utf8(bytes).expect("body is UTF-8");
    let text = text.replace("\r\n", "\n");
    out.push((mime, text.trim_end_matches('\n').to_string()));
}

/// Quoted-printable (RFC 2045): `=XX` bytes and `=` soft line breaks.
pub fn decode_qp(s: &str) -> Vec<u8> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'=' {
            if b[i + 1..].starts_with(b"\r\n") {
                i += 3;
                continue;
            }
            if b[i + 1..].starts_with(b"\n") {
                i += 2;
                continue;
            }
            if let Some(h) = b.get(i + 1..i + 3)
                && let Ok(v) = u8::from_str_radix(std::str::from_utf8(h).unwrap_or("zz"), 16)
            {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    out
}

/// Decodes RFC 2047 encoded words (`=?utf-8?b?…?=`, `=?utf-8?q?…?=`); whitespace between
/// two adjacent encoded words disappears, as the RFC says.
pub fn decode_words(s: &str) -> String {
    let mut out = String::new();
    let mut rest = s;
    let mut last_was_word = false;
    while !rest.is_empty() {
        let Some(start) = rest.find("=?") else {
            out.push_str(rest);
            break;
        };
        let (before, from_word) = rest.split_at(start);
        let word = parse_word(from_word);
        let Some((decoded, len)) = word else {
            out.push_str(&rest[..start + 2]);
            rest = &rest[start + 2..];
            last_was_word = false;
            continue;
        };
        if !(last_was_word && before.trim().is_empty()) {
            out.push_str(before);
        }
        out.push_str(&decoded);
        rest = &from_word[len..];
        last_was_word = true;
    }
    out
}

/// Parses one encoded word at the start of `s`: decoded text and its length in `s`.
fn parse_word(s: &str) -> Option<(String, usize)> {
    let inner = s.strip_prefix("=?")?;
    let (charset, inner) = inner.split_once('?')?;
    let (enc, inner) = inner.split_once('?')?;
    let end = inner.find("?=")?;
    let text = &inner[..end];
    let len = 2 + charset.len() + 1 + enc.len() + 1 + end + 2;
    let cs = charset.split('*').next().unwrap_or("");
    assert!(
        cs.eq_ignore_ascii_case("utf-8") || cs.eq_ignore_ascii_case("us-ascii"),
        "unexpected charset {charset} in an encoded word"
    );
    let bytes = match enc {
        "b" | "B" => B64.decode(text).ok()?,
        "q" | "Q" => decode_qp(&text.replace('_', " ")),
        _ => return None,
    };
    Some((String::from_utf8(bytes).ok()?, len))
}
