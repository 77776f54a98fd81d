//! IMAP in: letters of an inbox's mailbox imported in UID order, exactly once.
//!
//! The position is a [`Cursor`] (UIDVALIDITY, last imported UID) that the caller's
//! [`ImportTarget`] stores in the same transaction as each imported letter, so a crash or a
//! dropped connection at any moment re-imports nothing and skips nothing. When UIDVALIDITY
//! changes (the mailbox was recreated), every letter is offered again from UID 1 and the
//! target drops those whose Message-ID it already has.
//!
//! A backlog is fetched in chunks (at most [`ImapSettings::chunk_letters`] letters and
//! [`ImapSettings::chunk_bytes`] bytes), so memory stays bounded and a 10,000-letter
//! mailbox streams steadily. After the backlog the importer waits with IDLE when the
//! server offers it (renewed before the 29-minute limit) or polls, and reconnects with
//! backoff when the connection breaks.

use std::fmt;
use std::future::Future;
use std::time::Duration;

use bytes::Bytes;
use futures::TryStreamExt;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::rustls::pki_types::ServerName;
use tracing::Instrument;

use super::probe::ProbeError;
use super::tls;

/// How the IMAP connection is secured (Chatwoot's `imap_enable_ssl`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImapSecurity {
    /// TLS from the first byte (port 993).
    Tls,
    /// No TLS (port 143 on a trusted network).
    Plain,
}

/// An inbox's IMAP settings and the importer's bounds.
#[derive(Clone)]
pub struct ImapSettings {
    /// Server host name.
    pub host: String,
    /// Port.
    pub port: u16,
    /// Security.
    pub security: ImapSecurity,
    /// Login.
    pub login: String,
    /// Password.
    pub password: String,
    /// Folder to import (`INBOX`).
    pub mailbox: String,
    /// Extra trusted root certificates (PEM), besides the system's.
    pub extra_roots_pem: Option<Vec<u8>>,
    /// Letters per FETCH.
    pub chunk_letters: usize,
    /// Bytes per FETCH (by the server's RFC822.SIZE); one larger letter is fetched alone.
    pub chunk_bytes: u64,
    /// Letters larger than this are imported as their header only ([`Letter::truncated`]).
    pub max_letter_bytes: u32,
    /// UIDs listed per round while walking a backlog.
    pub list_window: u32,
    /// Pause between checks when the server has no IDLE.
    pub poll_interval: Duration,
    /// IDLE is renewed after this long (servers drop it after 30 minutes).
    pub idle_renew: Duration,
    /// Connecting (TCP and TLS) may take this long.
    pub connect_timeout: Duration,
    /// One command (a FETCH of a chunk included) may take this long.
    pub command_timeout: Duration,
    /// Longest pause between reconnection attempts.
    pub max_backoff: Duration,
}

/// The password never reaches logs through `{:?}`.
impl fmt::Debug for ImapSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ImapSettings")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("security", &self.security)
            .field("login", &self.login)
            .field("mailbox", &self.mailbox)
            .finish()
    }
}

impl ImapSettings {
    /// Settings with the default bounds: INBOX, 50 letters or 8 MiB per chunk, letters up
    /// to 25 MiB, poll every 60 s, IDLE renewed every 25 min.
    pub fn new(
        host: impl Into<String>,
        port: u16,
        security: ImapSecurity,
        login: impl Into<String>,
        password: impl Into<String>,
    ) -> Self {
        Self {
            host: host.into(),
            port,
            security,
            login: login.into(),
            password: password.into(),
            mailbox: "INBOX".into(),
            extra_roots_pem: None,
            chunk_letters: 50,
            chunk_bytes: 8 << 20,
            max_letter_bytes: 25 << 20,
            list_window: 2_000,
            poll_interval: Duration::from_secs(60),
            idle_renew: Duration::from_secs(25 * 60),
            connect_timeout: Duration::from_secs(20),
            command_timeout: Duration::from_secs(120),
            max_backoff: Duration::from_secs(300),
        }
    }
}

/// Where the import stands: the mailbox's UIDVALIDITY and the last UID imported under it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Cursor {
    /// The mailbox's UIDVALIDITY.
    pub uidvalidity: u32,
    /// The highest UID imported (0: none yet).
    pub last_uid: u32,
}

/// One letter as the server has it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Letter {
    /// Its UID.
    pub uid: u32,
    /// The raw letter; only its header when [`Letter::truncated`].
    pub raw: Bytes,
    /// The server's RFC822.SIZE.
    pub size: u32,
    /// True when the letter was over [`ImapSettings::max_letter_bytes`] and only its header
    /// was fetched (the target tells the agent to open it in a mail client).
    pub truncated: bool,
}

/// The target's failure (a database error): the importer stops the pass and retries.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct TargetError(pub String);

/// What the importer feeds: the channel framework implements it with its ingest call.
pub trait ImportTarget: Send + Sync {
    /// The stored cursor, `None` before the first import.
    fn cursor(&self) -> impl Future<Output = Result<Option<Cursor>, TargetError>> + Send;
    /// Imports `letter` and stores `at` (its UID) as the cursor in the same transaction.
    /// A letter whose Message-ID is already stored (after a UIDVALIDITY change) is not
    /// imported again, but the cursor still moves.
    fn import(
        &self,
        at: Cursor,
        letter: Letter,
    ) -> impl Future<Output = Result<(), TargetError>> + Send;
    /// Stores `to` as the cursor: the first cursor, or a new UIDVALIDITY from UID 0.
    fn reset(&self, to: Cursor) -> impl Future<Output = Result<(), TargetError>> + Send;
    /// [`Importer::run`] connected and logged in (the server's connection state for
    /// the console); nothing by default.
    fn connected(&self) -> impl Future<Output = ()> + Send {
        async {}
    }
    /// [`Importer::run`] lost its connection or could not connect, and will retry;
    /// nothing by default.
    fn interrupted(&self, error: &ImportError) -> impl Future<Output = ()> + Send {
        let _ = error;
        async {}
    }
}

/// A shared target imports like the target itself.
impl<T: ImportTarget> ImportTarget for std::sync::Arc<T> {
    fn cursor(&self) -> impl Future<Output = Result<Option<Cursor>, TargetError>> + Send {
        (**self).cursor()
    }
    fn import(
        &self,
        at: Cursor,
        letter: Letter,
    ) -> impl Future<Output = Result<(), TargetError>> + Send {
        (**self).import(at, letter)
    }
    fn reset(&self, to: Cursor) -> impl Future<Output = Result<(), TargetError>> + Send {
        (**self).reset(to)
    }
    fn connected(&self) -> impl Future<Output = ()> + Send {
        (**self).connected()
    }
    fn interrupted(&self, error: &ImportError) -> impl Future<Output = ()> + Send {
        (**self).interrupted(error)
    }
}

/// Why an import pass stopped.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// Connecting or logging in failed.
    #[error("{0}")]
    Connect(#[from] ProbeError),
    /// The server failed or the connection broke during the pass.
    #[error("IMAP: {0}")]
    Imap(String),
    /// A command did not finish within [`ImapSettings::command_timeout`].
    #[error("IMAP command timed out: {0}")]
    Timeout(&'static str),
    /// The target could not store a letter or the cursor.
    #[error("import target: {0}")]
    Target(#[from] TargetError),
}

impl From<async_imap::error::Error> for ImportError {
    fn from(e: async_imap::error::Error) -> Self {
        ImportError::Imap(e.to_string())
    }
}

/// What one pass did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PassReport {
    /// Letters handed to the target.
    pub imported: u64,
    /// Of these, imported as header only.
    pub truncated: u64,
    /// The cursor after the pass.
    pub cursor: Option<Cursor>,
}

/// The byte stream under the IMAP session: plain TCP or TLS.
pub trait Io: AsyncRead + AsyncWrite + Unpin + Send + fmt::Debug {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send + fmt::Debug> Io for T {}

/// A logged-in IMAP session.
pub type Session = async_imap::Session<Box<dyn Io>>;

/// Connects, secures and logs in. Errors say which step failed.
pub async fn connect(s: &ImapSettings) -> Result<Session, ProbeError> {
    let addrs: Vec<_> = tokio::time::timeout(
        s.connect_timeout,
        tokio::net::lookup_host((s.host.as_str(), s.port)),
    )
    .await
    .map_err(|_| ProbeError::Timeout {
        detail: format!("resolving {}", s.host),
    })?
    .map_err(|e| ProbeError::HostNotFound {
        detail: format!("{}: {e}", s.host),
    })?
    .collect();
    if addrs.is_empty() {
        return Err(ProbeError::HostNotFound {
            detail: s.host.clone(),
        });
    }
    let tcp = tokio::time::timeout(s.connect_timeout, TcpStream::connect(&addrs[..]))
        .await
        .map_err(|_| ProbeError::Timeout {
            detail: format!("connecting to {}:{}", s.host, s.port),
        })?
        .map_err(|e| ProbeError::from_io(&e, &format!("connecting to {}:{}", s.host, s.port)))?;
    let _ = tcp.set_nodelay(true);
    let stream: Box<dyn Io> = match s.security {
        ImapSecurity::Plain => Box::new(tcp),
        ImapSecurity::Tls => {
            let config = tls::client_config(s.extra_roots_pem.as_deref()).map_err(|e| {
                ProbeError::Settings {
                    detail: e.to_string(),
                }
            })?;
            let name = ServerName::try_from(s.host.clone()).map_err(|e| ProbeError::Settings {
                detail: format!("host name {:?}: {e}", s.host),
            })?;
            let tls = tokio::time::timeout(
                s.connect_timeout,
                TlsConnector::from(config).connect(name, tcp),
            )
            .await
            .map_err(|_| ProbeError::Timeout {
                detail: "TLS handshake".into(),
            })?
            .map_err(|e| ProbeError::Tls {
                detail: e.to_string(),
            })?;
            Box::new(tls)
        }
    };
    let mut client = async_imap::Client::new(stream);
    let greeting = tokio::time::timeout(s.connect_timeout, client.read_response())
        .await
        .map_err(|_| ProbeError::Timeout {
            detail: "waiting for the server's greeting".into(),
        })?;
    match greeting {
        Ok(Some(_)) => {}
        Ok(None) => {
            return Err(ProbeError::Protocol {
                detail: "the server closed the connection before greeting".into(),
            });
        }
        Err(e) => {
            let during = match s.security {
                ImapSecurity::Tls => "reading the greeting over TLS",
                ImapSecurity::Plain => "reading the greeting (is this a TLS port?)",
            };
            return Err(ProbeError::from_io(&e, during));
        }
    }
    match tokio::time::timeout(s.command_timeout, client.login(&s.login, &s.password)).await {
        Err(_) => Err(ProbeError::Timeout {
            detail: "LOGIN".into(),
        }),
        Ok(Ok(session)) => Ok(session),
        Ok(Err((e, _))) => Err(match e {
            async_imap::error::Error::No(t) | async_imap::error::Error::Bad(t) => {
                ProbeError::LoginRejected { detail: t }
            }
            async_imap::error::Error::Io(io) => ProbeError::from_io(&io, "LOGIN"),
            other => ProbeError::Protocol {
                detail: other.to_string(),
            },
        }),
    }
}

/// What the console's "test connection" shows when IMAP works.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImapProbe {
    /// Letters in the mailbox.
    pub messages: u32,
    /// Its UIDVALIDITY.
    pub uidvalidity: Option<u32>,
    /// The server offers IDLE (new letters arrive at once rather than at the next poll).
    pub idle: bool,
}

/// Connects, logs in and opens the mailbox read-only: the console's "test connection".
pub async fn test_connection(s: &ImapSettings) -> Result<ImapProbe, ProbeError> {
    let span = tracing::info_span!("email.imap.probe", host = %s.host, port = s.port);
    async move {
        let mut session = connect(s).await?;
        let caps = with_timeout(s, "CAPABILITY", session.capabilities())
            .await
            .map_err(|e| ProbeError::Protocol {
                detail: e.to_string(),
            })?;
        let mailbox = tokio::time::timeout(s.command_timeout, session.examine(&s.mailbox))
            .await
            .map_err(|_| ProbeError::Timeout {
                detail: "EXAMINE".into(),
            })?
            .map_err(|e| ProbeError::Mailbox {
                detail: e.to_string(),
            })?;
        let _ = tokio::time::timeout(s.command_timeout, session.logout()).await;
        Ok(ImapProbe {
            messages: mailbox.exists,
            uidvalidity: mailbox.uid_validity,
            idle: caps.has_str("IDLE"),
        })
    }
    .instrument(span)
    .await
}

async fn with_timeout<T, F>(s: &ImapSettings, what: &'static str, f: F) -> Result<T, ImportError>
where
    F: Future<Output = async_imap::error::Result<T>>,
{
    match tokio::time::timeout(s.command_timeout, f).await {
        Err(_) => Err(ImportError::Timeout(what)),
        Ok(r) => Ok(r?),
    }
}

/// Imports one mailbox into one target.
pub struct Importer<T> {
    settings: ImapSettings,
    target: T,
}

impl<T: ImportTarget> Importer<T> {
    /// An importer; connects to nothing yet.
    pub fn new(settings: ImapSettings, target: T) -> Self {
        Self { settings, target }
    }

    /// The target (for the caller's bookkeeping and the tests).
    pub fn target(&self) -> &T {
        &self.target
    }

    /// Connects, imports every letter after the cursor, logs out.
    pub async fn sync_once(&self) -> Result<PassReport, ImportError> {
        let span = tracing::info_span!("email.imap.sync", host = %self.settings.host, login = %self.settings.login);
        async {
            let mut session = connect(&self.settings).await?;
            let report = self.pass(&mut session).await?;
            let _ = tokio::time::timeout(self.settings.command_timeout, session.logout()).await;
            Ok(report)
        }
        .instrument(span)
        .await
    }

    /// Imports forever: the backlog, then each new letter as IDLE (or polling) reports it;
    /// reconnects with exponential backoff (1 s doubling to [`ImapSettings::max_backoff`])
    /// when anything fails. Stop it by dropping (aborting) the future: the cursor is stored
    /// with every letter, so stopping at any point loses and duplicates nothing.
    pub async fn run(&self) {
        let mut backoff = Duration::from_secs(1);
        loop {
            let span = tracing::info_span!("email.imap.session", host = %self.settings.host, login = %self.settings.login);
            let result = self.session(&mut backoff).instrument(span).await;
            if let Err(e) = result {
                tracing::warn!(error = %e, retry_in_ms = backoff.as_millis() as u64, "IMAP import interrupted");
                self.target.interrupted(&e).await;
            }
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(self.settings.max_backoff);
        }
    }

    /// One connection's life: passes separated by IDLE or polling, until an error.
    async fn session(&self, backoff: &mut Duration) -> Result<(), ImportError> {
        let s = &self.settings;
        let mut session = connect(s).await?;
        let idle = with_timeout(s, "CAPABILITY", session.capabilities())
            .await?
            .has_str("IDLE");
        self.target.connected().await;
        loop {
            let report = self.pass(&mut session).await?;
            *backoff = Duration::from_secs(1);
            if report.imported > 0 {
                tracing::info!(imported = report.imported, "letters imported");
            }
            if idle {
                let mut handle = session.idle();
                with_timeout(s, "IDLE", handle.init()).await?;
                let (wait, _stop) = handle.wait_with_timeout(s.idle_renew);
                // The library's timeout restarts with every keepalive the server sends, so
                // the renewal before the 30-minute limit is bounded here.
                match tokio::time::timeout(s.idle_renew, wait).await {
                    Ok(outcome) => tracing::debug!(outcome = ?outcome?, "IDLE ended"),
                    Err(_) => tracing::debug!("IDLE renewed"),
                }
                session = with_timeout(s, "DONE", handle.done()).await?;
            } else {
                tokio::time::sleep(s.poll_interval).await;
            }
        }
    }

    /// Selects the mailbox and imports every letter after the cursor, in UID order.
    async fn pass(&self, session: &mut Session) -> Result<PassReport, ImportError> {
        let s = &self.settings;
        let mailbox = with_timeout(s, "SELECT", session.select(&s.mailbox)).await?;
        let uidvalidity = mailbox
            .uid_validity
            .ok_or_else(|| ImportError::Imap("the server gave no UIDVALIDITY".into()))?;
        let mut cursor = match self.target.cursor().await? {
            Some(c) if c.uidvalidity == uidvalidity => c,
            old => {
                if let Some(old) = old {
                    tracing::warn!(
                        old = old.uidvalidity,
                        new = uidvalidity,
                        "UIDVALIDITY changed: re-reading the mailbox, known letters are skipped by Message-ID"
                    );
                }
                let c = Cursor {
                    uidvalidity,
                    last_uid: 0,
                };
                self.target.reset(c).await?;
                c
            }
        };
        let mut report = PassReport {
            cursor: Some(cursor),
            ..PassReport::default()
        };
        // UIDNEXT bounds the walk; letters arriving meanwhile are found by the next pass.
        let end = mailbox.uid_next.unwrap_or(u32::MAX);
        let mut from = cursor.last_uid.saturating_add(1);
        while from < end {
            let to = from
                .saturating_add(s.list_window - 1)
                .min(end.saturating_sub(1));
            let range = if mailbox.uid_next.is_some() {
                format!("{from}:{to}")
            } else {
                format!("{from}:*")
            };
            let mut pending: Vec<(u32, u32)> = {
                let stream = with_timeout(
                    s,
                    "UID FETCH sizes",
                    session.uid_fetch(&range, "(UID RFC822.SIZE)"),
                )
                .await?;
                let fetches: Vec<_> =
                    tokio::time::timeout(s.command_timeout, stream.try_collect::<Vec<_>>())
                        .await
                        .map_err(|_| ImportError::Timeout("UID FETCH sizes"))??;
                fetches
                    .iter()
                    .filter_map(|f| Some((f.uid?, f.size.unwrap_or(0))))
                    .filter(|(uid, _)| *uid > cursor.last_uid)
                    .collect()
            };
            pending.sort_unstable();
            pending.dedup_by_key(|p| p.0);
            // A letter over the size limit is always a chunk of its own (fetched as header only).
            let max_bytes = s.chunk_bytes.min(u64::from(s.max_letter_bytes));
            for chunk in chunks(&pending, s.chunk_letters, max_bytes) {
                for letter in self.fetch_chunk(session, chunk).await? {
                    let at = Cursor {
                        uidvalidity,
                        last_uid: letter.uid,
                    };
                    let truncated = letter.truncated;
                    self.target.import(at, letter).await?;
                    cursor = at;
                    report.imported += 1;
                    report.truncated += u64::from(truncated);
                    report.cursor = Some(cursor);
                }
            }
            if mailbox.uid_next.is_none() || to == u32::MAX {
                break;
            }
            from = to.saturating_add(1);
        }
        Ok(report)
    }

    /// Fetches one chunk (ascending UIDs): whole letters, or the header of one too large.
    async fn fetch_chunk(
        &self,
        session: &mut Session,
        chunk: &[(u32, u32)],
    ) -> Result<Vec<Letter>, ImportError> {
        let s = &self.settings;
        let too_large = chunk.len() == 1 && chunk[0].1 > s.max_letter_bytes;
        let set = chunk
            .iter()
            .map(|(uid, _)| uid.to_string())
            .collect::<Vec<_>>()
            .join(",");
        let query = if too_large {
            "(UID RFC822.SIZE BODY.PEEK[HEADER])"
        } else {
            "(UID RFC822.SIZE BODY.PEEK[])"
        };
        let stream = with_timeout(s, "UID FETCH letters", session.uid_fetch(&set, query)).await?;
        let fetches: Vec<_> =
            tokio::time::timeout(s.command_timeout, stream.try_collect::<Vec<_>>())
                .await
                .map_err(|_| ImportError::Timeout("UID FETCH letters"))??;
        let mut letters: Vec<Letter> = fetches
            .iter()
            .filter_map(|f| {
                let uid = f.uid?;
                let raw = if too_large { f.header()? } else { f.body()? };
                Some(Letter {
                    uid,
                    raw: Bytes::copy_from_slice(raw),
                    size: f.size.unwrap_or(raw.len() as u32),
                    truncated: too_large,
                })
            })
            .filter(|l| chunk.binary_search_by_key(&l.uid, |c| c.0).is_ok())
            .collect();
        letters.sort_by_key(|l| l.uid);
        letters.dedup_by_key(|l| l.uid);
        Ok(letters)
    }
}

/// Splits ascending `(uid, size)` pairs into chunks of at most `max_letters` letters and
/// `max_bytes` bytes; a letter over `max_bytes` forms a chunk of its own.
fn chunks(pending: &[(u32, u32)], max_letters: usize, max_bytes: u64) -> Vec<&[(u32, u32)]> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut bytes = 0u64;
    for (i, &(_, size)) in pending.iter().enumerate() {
        let size = u64::from(size);
        let n = i - start;
        if n > 0 && (n >= max_letters.max(1) || bytes + size > max_bytes) {
            out.push(&pending[start..i]);
            start = i;
            bytes = 0;
        }
        bytes += size;
    }
    if start < pending.len() {
        out.push(&pending[start..]);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::chunks;

    #[test]
    fn chunks_bound_letters_and_bytes() {
        let p: Vec<(u32, u32)> = (1..=7).map(|u| (u, 10)).collect();
        let c = chunks(&p, 3, 1_000);
        assert_eq!(c.iter().map(|c| c.len()).collect::<Vec<_>>(), vec![3, 3, 1]);
        let p = vec![(1, 10), (2, 500), (3, 10), (4, 10)];
        let c = chunks(&p, 50, 100);
        assert_eq!(c, vec![&p[0..1], &p[1..2], &p[2..4]]);
        assert!(chunks(&[], 50, 100).is_empty());
    }
}
