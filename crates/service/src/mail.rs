//! Outgoing e-mail over SMTP: notices to managers (questions that arrived off-hours) and
//! answers to visitors who left. The rest of Parley sees only the [`Mailer`] trait, so jobs
//! can be tested against a local SMTP sink or run with mail switched off ([`NoMailer`]).
//!
//! Sending is one SMTP session per e-mail (no pool): the volume is a few notices and answers
//! a minute, and a fresh connection makes every failure belong to exactly one message, which
//! is what the job runner needs to decide between retrying ([`MailError::Transient`]) and
//! giving up ([`MailError::is_permanent`]).

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;
use lettre::message::header::ContentType;
use lettre::message::{Mailbox, MultiPart, SinglePart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use tracing::Instrument;

/// The default sender, used when `smtp_from` is not configured.
pub const DEFAULT_FROM: &str = "Parley <parley@localhost>";

/// How long one SMTP command may take before the attempt counts as failed (and transient).
/// Generous because relays greylist and do DNS checks while the client waits.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(60);

/// One e-mail to send. Addresses are `user@example.com` or `Name <user@example.com>`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Email {
    /// Recipients (at least one), all in `To:`.
    pub to: Vec<String>,
    /// Subject line; any Unicode (encoded per RFC 2047). Line breaks become spaces.
    pub subject: String,
    /// Plain-text body, always sent (mail clients without HTML show it).
    pub text: String,
    /// Optional HTML alternative of `text`; the caller sanitises customer content in it.
    pub html: Option<String>,
    /// Where replies go, e.g. a conversation's reply address, instead of the sender.
    pub reply_to: Option<String>,
}

impl Email {
    /// A plain-text e-mail to the given recipients.
    pub fn new(
        to: impl IntoIterator<Item = impl Into<String>>,
        subject: impl Into<String>,
        text: impl Into<String>,
    ) -> Self {
        Self {
            to: to.into_iter().map(Into::into).collect(),
            subject: subject.into(),
            text: text.into(),
            html: None,
            reply_to: None,
        }
    }
}

/// Why an e-mail was not sent. [`MailError::is_permanent`] tells a job runner whether a
/// later attempt can succeed. No variant ever carries the SMTP password.
#[derive(Debug, thiserror::Error)]
pub enum MailError {
    /// No SMTP server is configured (`smtp_url` unset): nothing can be sent until it is.
    #[error("e-mail is not configured (set smtp_url)")]
    NotConfigured,
    /// An address (recipient, reply-to or sender) is malformed, or there is no recipient.
    /// Retrying the same e-mail cannot help.
    #[error("bad e-mail address {0}")]
    BadAddress(String),
    /// The SMTP URL cannot be used (startup validation).
    #[error("bad SMTP URL: {0}")]
    BadUrl(String),
    /// Worth retrying later: the server could not be reached, the connection or TLS broke,
    /// a command timed out, or the server answered 4xx (greylisting, mailbox busy).
    #[error("mail not sent, will retry: {0}")]
    Transient(String),
    /// The server refused for good (5xx: unknown recipient, rejected content, failed
    /// authentication), does not offer the STARTTLS the URL requires, or the message could
    /// not be built.
    #[error("mail refused: {0}")]
    Permanent(String),
}

impl MailError {
    /// True when sending the same e-mail again cannot succeed without someone changing the
    /// e-mail or the configuration first: everything but [`MailError::Transient`].
    pub fn is_permanent(&self) -> bool {
        !matches!(self, MailError::Transient(_))
    }
}

/// Sends e-mail. Behind a trait so the use cases and jobs do not depend on SMTP and tests
/// can substitute a sink.
pub trait Mailer: Send + Sync + fmt::Debug {
    /// Sends one e-mail; resolves once the server accepted it (or definitely did not).
    fn send(&self, email: Email) -> BoxFuture<'_, Result<(), MailError>>;
    /// False when mail is switched off, so callers can skip composing e-mails at all (and
    /// e.g. not schedule off-hours notices that would only fail).
    fn is_configured(&self) -> bool;
}

/// Mail settings: `smtp_url` and `smtp_from` of the configuration.
#[derive(Clone, PartialEq, Eq)]
pub struct MailConfig {
    /// `smtp://[user:pass@]host[:port]` (plain, for local relays; port 25),
    /// `smtp://host[:port]?tls=starttls` (STARTTLS required; port 587) or
    /// `smtps://host[:port]` (implicit TLS; port 465). `None` switches mail off.
    pub url: Option<String>,
    /// Sender, `Name <address>` or a bare address.
    pub from: String,
}

impl Default for MailConfig {
    fn default() -> Self {
        Self {
            url: None,
            from: DEFAULT_FROM.into(),
        }
    }
}

/// The password never reaches logs or error output through `{:?}`.
impl fmt::Debug for MailConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MailConfig")
            .field("url", &self.url.as_deref().map(redact_url))
            .field("from", &self.from)
            .finish()
    }
}

impl MailConfig {
    /// Checks the URL and the sender without building a transport (no certificates loaded,
    /// nothing connected): what configuration validation runs before anything starts.
    pub fn check(&self) -> Result<(), MailError> {
        parse_mailbox(&self.from)?;
        if let Some(url) = self.url() {
            Endpoint::parse(url)?;
        }
        Ok(())
    }

    /// The URL when mail is on: an empty or blank `smtp_url` counts as unset, so an empty
    /// environment variable switches mail off rather than failing.
    fn url(&self) -> Option<&str> {
        self.url.as_deref().map(str::trim).filter(|u| !u.is_empty())
    }
}

/// Replaces the password of a `scheme://user:password@host…` URL with `***`, for logs.
pub fn redact_url(url: &str) -> String {
    let Some(start) = url.find("://").map(|i| i + 3) else {
        return url.to_string();
    };
    let rest = &url[start..];
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let Some(at) = rest[..authority_end].rfind('@') else {
        return url.to_string();
    };
    match rest[..at].split_once(':') {
        Some((user, _)) => format!("{}{user}:***{}", &url[..start], &rest[at..]),
        None => url.to_string(),
    }
}

/// Builds the mailer of a configuration: [`NoMailer`] without a URL, else an
/// [`SmtpMailer`]. Called at startup so a malformed URL or sender stops the server with a
/// clear error instead of failing on the first e-mail hours later. Connects to nothing.
pub fn mailer_from_config(cfg: &MailConfig) -> Result<Arc<dyn Mailer>, MailError> {
    match cfg.url() {
        None => {
            parse_mailbox(&cfg.from)?;
            Ok(Arc::new(NoMailer))
        }
        Some(url) => Ok(Arc::new(SmtpMailer::new(url, &cfg.from)?)),
    }
}

/// Mail switched off: every send fails with [`MailError::NotConfigured`].
#[derive(Debug, Clone, Copy, Default)]
pub struct NoMailer;

impl Mailer for NoMailer {
    fn send(&self, _email: Email) -> BoxFuture<'_, Result<(), MailError>> {
        Box::pin(async { Err(MailError::NotConfigured) })
    }

    fn is_configured(&self) -> bool {
        false
    }
}

/// How the connection to the server is secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Security {
    /// No TLS at all (a relay on the same host or network).
    Plain,
    /// Plain connect, then STARTTLS, which must succeed.
    StartTls,
    /// TLS from the first byte.
    Implicit,
}

/// A parsed SMTP URL.
#[derive(Clone)]
struct Endpoint {
    host: String,
    port: u16,
    security: Security,
    credentials: Option<(String, String)>,
}

impl Endpoint {
    /// Parses and validates an SMTP URL. Error texts never include the URL itself, which
    /// may hold a password.
    fn parse(raw: &str) -> Result<Endpoint, MailError> {
        let url = url::Url::parse(raw).map_err(|e| MailError::BadUrl(e.to_string()))?;
        let mut tls: Option<String> = None;
        for (k, v) in url.query_pairs() {
            match k.as_ref() {
                "tls" if tls.is_none() => tls = Some(v.into_owned()),
                "tls" => return Err(MailError::BadUrl("tls is given twice".into())),
                other => {
                    return Err(MailError::BadUrl(format!(
                        "unknown parameter {other:?}; the only parameter is tls=starttls"
                    )));
                }
            }
        }
        let security = match (url.scheme(), tls.as_deref()) {
            ("smtp", None | Some("none")) => Security::Plain,
            ("smtp", Some("starttls" | "required")) => Security::StartTls,
            ("smtp", Some(other)) => {
                return Err(MailError::BadUrl(format!(
                    "tls={other:?} is not supported; use tls=starttls, or smtps:// for implicit TLS"
                )));
            }
            ("smtps", None | Some("implicit")) => Security::Implicit,
            ("smtps", Some(_)) => {
                return Err(MailError::BadUrl(
                    "smtps:// is implicit TLS and takes no tls parameter".into(),
                ));
            }
            (other, _) => {
                return Err(MailError::BadUrl(format!(
                    "scheme {other:?} is not supported; use smtp:// (plain or ?tls=starttls) or smtps://"
                )));
            }
        };
        let host = match url.host() {
            Some(url::Host::Domain(d)) if !d.is_empty() => d.to_string(),
            Some(url::Host::Ipv4(a)) => a.to_string(),
            Some(url::Host::Ipv6(a)) => a.to_string(),
            _ => return Err(MailError::BadUrl("no host".into())),
        };
        if !matches!(url.path(), "" | "/") {
            return Err(MailError::BadUrl(
                "unexpected path after the host; the form is smtp://user:pass@host:port".into(),
            ));
        }
        if url.fragment().is_some() {
            return Err(MailError::BadUrl("unexpected #fragment".into()));
        }
        let port = url.port().unwrap_or(match security {
            Security::Plain => 25,
            Security::StartTls => 587,
            Security::Implicit => 465,
        });
        let decode = |s: &str| {
            percent_encoding::percent_decode_str(s)
                .decode_utf8()
                .map(|c| c.into_owned())
                .map_err(|_| MailError::BadUrl("user or password is not valid UTF-8".into()))
        };
        let user = decode(url.username())?;
        let credentials = match url.password() {
            Some(p) if !user.is_empty() => Some((user, decode(p)?)),
            Some(_) => return Err(MailError::BadUrl("a password without a user".into())),
            None if !user.is_empty() => {
                return Err(MailError::BadUrl(
                    "a user without a password; the form is smtp://user:pass@host".into(),
                ));
            }
            None => None,
        };
        Ok(Endpoint {
            host,
            port,
            security,
            credentials,
        })
    }
}

/// Sends through an SMTP server (a local relay or a provider's submission port).
pub struct SmtpMailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    /// Right-hand side of generated Message-IDs: the sender's domain, which the sender
    /// controls (the host name of a container says nothing to the recipient).
    id_domain: String,
    /// `host:port (security)`, for logs and `Debug`; no credentials.
    server: String,
}

impl fmt::Debug for SmtpMailer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmtpMailer")
            .field("server", &self.server)
            .field("from", &self.from.to_string())
            .finish()
    }
}

impl SmtpMailer {
    /// Validates `url` and `from` and prepares the transport; connects to nothing yet.
    pub fn new(url: &str, from: &str) -> Result<SmtpMailer, MailError> {
        let from = parse_mailbox(from)?;
        let ep = Endpoint::parse(url.trim())?;
        let tls_params = || {
            TlsParameters::new(ep.host.clone())
                .map_err(|e| MailError::BadUrl(format!("TLS setup for the host failed: {e}")))
        };
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&ep.host)
            .port(ep.port)
            .timeout(Some(COMMAND_TIMEOUT));
        builder = match ep.security {
            Security::Plain => builder.tls(Tls::None),
            Security::StartTls => builder.tls(Tls::Required(tls_params()?)),
            Security::Implicit => builder.tls(Tls::Wrapper(tls_params()?)),
        };
        if let Some((user, pass)) = &ep.credentials {
            builder = builder.credentials(Credentials::new(user.clone(), pass.clone()));
        }
        let security = match ep.security {
            Security::Plain => "plain",
            Security::StartTls => "starttls",
            Security::Implicit => "tls",
        };
        Ok(SmtpMailer {
            transport: builder.build(),
            id_domain: from.email.domain().to_string(),
            from,
            server: format!("{}:{} ({security})", ep.host, ep.port),
        })
    }

    /// Builds the MIME message: UTF-8 text (and HTML alternative), RFC 2047 subject,
    /// Date and a Message-ID on the sender's domain.
    fn message(&self, email: &Email) -> Result<(Message, String), MailError> {
        if email.to.is_empty() {
            return Err(MailError::BadAddress("(no recipient)".into()));
        }
        let message_id = format!("<{:032x}@{}>", rand::random::<u128>(), self.id_domain);
        let mut b = Message::builder()
            .from(self.from.clone())
            .subject(one_line(&email.subject))
            .message_id(Some(message_id.clone()));
        for to in &email.to {
            b = b.to(parse_mailbox(to)?);
        }
        if let Some(r) = &email.reply_to {
            b = b.reply_to(parse_mailbox(r)?);
        }
        let text = SinglePart::builder()
            .header(ContentType::TEXT_PLAIN)
            .body(email.text.clone());
        let built = match &email.html {
            None => b.singlepart(text),
            Some(html) => b.multipart(
                MultiPart::alternative().singlepart(text).singlepart(
                    SinglePart::builder()
                        .header(ContentType::TEXT_HTML)
                        .body(html.clone()),
                ),
            ),
        };
        let message =
            built.map_err(|e| MailError::Permanent(format!("cannot build e-mail: {e}")))?;
        Ok((message, message_id))
    }
}

impl Mailer for SmtpMailer {
    fn send(&self, email: Email) -> BoxFuture<'_, Result<(), MailError>> {
        let span = tracing::info_span!(
            "mail.send",
            server = %self.server,
            recipients = email.to.len(),
            message_id = tracing::field::Empty,
        );
        Box::pin(
            async move {
                let (message, id) = self.message(&email)?;
                tracing::Span::current().record("message_id", id.as_str());
                match self.transport.send(message).await {
                    Ok(_) => {
                        tracing::info!("mail sent");
                        Ok(())
                    }
                    Err(e) => {
                        let err = classify(&e);
                        tracing::warn!(error = %err, permanent = err.is_permanent(), "mail not sent");
                        Err(err)
                    }
                }
            }
            .instrument(span),
        )
    }

    fn is_configured(&self) -> bool {
        true
    }
}

/// Sorts an SMTP failure into retry-later or give-up. Only 5xx replies (and client-side
/// refusals such as a missing authentication mechanism) are permanent; everything about
/// reaching the server (refused, reset, TLS, timeout) may heal by itself.
fn classify(e: &lettre::transport::smtp::Error) -> MailError {
    let text = error_chain(e);
    if e.is_permanent() || e.is_client() {
        MailError::Permanent(text)
    } else {
        MailError::Transient(text)
    }
}

/// The error with its sources, e.g. "permanent error (550): no such user": lettre's
/// top-level message alone hides the server's reply. Shared with the e-mail channel.
pub fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let s_text = s.to_string();
        if !out.contains(&s_text) {
            out.push_str(": ");
            out.push_str(&s_text);
        }
        source = s.source();
    }
    out
}

fn parse_mailbox(s: &str) -> Result<Mailbox, MailError> {
    s.trim()
        .parse::<Mailbox>()
        .map_err(|e| MailError::BadAddress(format!("{s:?}: {e}")))
}

/// A header value on one line: CR, LF and other control characters become spaces, so text
/// from a customer can never start a header of its own.
fn one_line(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ep(url: &str) -> Endpoint {
        Endpoint::parse(url).unwrap_or_else(|e| panic!("{url}: {e}"))
    }

    fn bad(url: &str) -> String {
        match Endpoint::parse(url) {
            Ok(_) => panic!("{url} was accepted"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn urls_and_their_defaults() {
        let e = ep("smtp://relay.local");
        assert_eq!((e.port, e.security), (25, Security::Plain));
        assert!(e.credentials.is_none());
        let e = ep("smtp://u%40x:p%3Ass@mail.example:2525");
        assert_eq!((e.host.as_str(), e.port), ("mail.example", 2525));
        assert_eq!(e.credentials, Some(("u@x".into(), "p:ss".into())));
        let e = ep("smtp://mail.example?tls=starttls");
        assert_eq!((e.port, e.security), (587, Security::StartTls));
        let e = ep("smtps://mail.example");
        assert_eq!((e.port, e.security), (465, Security::Implicit));
        let e = ep("smtp://[::1]:25/");
        assert_eq!(e.host, "::1");
    }

    #[test]
    fn bad_urls_say_why_without_the_password() {
        for (url, why) in [
            ("http://mail.example", "scheme"),
            ("smtp://mail.example?tls=maybe", "tls="),
            ("smtp://mail.example?tsl=starttls", "unknown parameter"),
            ("smtps://mail.example?tls=starttls", "implicit"),
            ("smtp://user:secret@/", "host"),
            ("smtp://user:secret@mail.example/path", "path"),
            ("smtp://user@mail.example", "without a password"),
            ("smtp://:secret@mail.example", "without a user"),
            ("smtp://user:secret@mail.example:99999", "port"),
            ("not a url", "relative URL"),
        ] {
            let msg = bad(url);
            assert!(msg.contains(why), "{url}: {msg}");
            assert!(!msg.contains("secret"), "{url} leaks: {msg}");
        }
    }

    #[test]
    fn redaction_hides_only_the_password() {
        assert_eq!(
            redact_url("smtp://me:pa:ss@host:25?tls=starttls"),
            "smtp://me:***@host:25?tls=starttls"
        );
        assert_eq!(redact_url("smtps://host"), "smtps://host");
        assert_eq!(redact_url("smtp://me@host"), "smtp://me@host");
        let cfg = MailConfig {
            url: Some("smtp://me:hunter2@host".into()),
            from: DEFAULT_FROM.into(),
        };
        assert!(!format!("{cfg:?}").contains("hunter2"));
    }

    #[test]
    fn config_checks_sender_and_url() {
        let mut cfg = MailConfig::default();
        cfg.check().expect("defaults are valid");
        cfg.url = Some("  ".into());
        cfg.check().expect("blank URL = off");
        cfg.from = "not an address".into();
        assert!(matches!(cfg.check(), Err(MailError::BadAddress(_))));
        cfg.from = "Отдел продаж <sales@shop.example>".into();
        cfg.check().expect("Cyrillic display name");
        cfg.url = Some("smtp://host?tls=bogus".into());
        assert!(matches!(cfg.check(), Err(MailError::BadUrl(_))));
    }

    #[test]
    fn permanence() {
        assert!(!MailError::Transient("451".into()).is_permanent());
        for e in [
            MailError::NotConfigured,
            MailError::BadAddress("x".into()),
            MailError::BadUrl("x".into()),
            MailError::Permanent("550".into()),
        ] {
            assert!(e.is_permanent(), "{e}");
        }
    }

    #[test]
    fn subject_cannot_inject_headers() {
        let m = SmtpMailer::new("smtp://127.0.0.1:25", DEFAULT_FROM).expect("mailer");
        let email = Email::new(["a@example.com"], "Hi\r\nBcc: victim@example.com", "body");
        let (msg, id) = m.message(&email).expect("message");
        let raw = String::from_utf8_lossy(&msg.formatted()).into_owned();
        assert!(!raw.contains("\r\nBcc:"), "{raw}");
        assert!(raw.contains(&format!("Message-ID: {id}")), "{raw}");
        assert!(id.ends_with("@localhost>"));
        assert!(raw.contains("\r\nDate: "), "{raw}");
    }
}
