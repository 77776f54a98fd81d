//! Sending a composed letter through the inbox's SMTP server, with STARTTLS, TLS or plain
//! as configured and AUTH LOGIN or PLAIN, one connection per letter (a failure then belongs
//! to exactly one letter, which the outbox's retry needs). The result separates a permanent
//! refusal (5xx: the message is `failed` with the server's words) from a transient failure
//! (4xx, connection, TLS, timeout: retry later).

use std::fmt;
use std::time::Duration;

use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::transport::smtp::extension::ClientId;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use parley_service::mail::error_chain;
use tracing::Instrument;

use super::probe::ProbeError;
use super::tls;

/// How the SMTP connection is secured (Chatwoot's `smtp_enable_ssl_tls`,
/// `smtp_enable_starttls_auto`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmtpSecurity {
    /// No TLS (a relay on the same host or network).
    Plain,
    /// STARTTLS after connecting; required: a server that does not offer it is an error
    /// rather than a silent plain-text login.
    StartTls,
    /// TLS from the first byte (port 465).
    Tls,
}

/// AUTH mechanism (Chatwoot's `smtp_authentication`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SmtpAuth {
    /// AUTH PLAIN.
    #[default]
    Plain,
    /// AUTH LOGIN (Office 365 and some older servers).
    Login,
}

/// An inbox's SMTP settings.
#[derive(Clone)]
pub struct SmtpSettings {
    /// Server host name.
    pub host: String,
    /// Port (587 STARTTLS, 465 TLS, 25 plain).
    pub port: u16,
    /// Security.
    pub security: SmtpSecurity,
    /// Login and password; `None` sends without AUTH.
    pub credentials: Option<(String, String)>,
    /// Mechanism used with the credentials.
    pub auth: SmtpAuth,
    /// Name sent in EHLO (Chatwoot's `smtp_domain`); the host's name when `None`.
    pub helo: Option<String>,
    /// Extra trusted root certificates (PEM), besides the system's.
    pub extra_roots_pem: Option<Vec<u8>>,
    /// Per-command timeout.
    pub timeout: Duration,
}

/// The password never reaches logs through `{:?}`.
impl fmt::Debug for SmtpSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmtpSettings")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("security", &self.security)
            .field("login", &self.credentials.as_ref().map(|c| &c.0))
            .field("auth", &self.auth)
            .finish()
    }
}

impl SmtpSettings {
    /// Settings with defaults: no credentials, AUTH PLAIN, 60 s timeout.
    pub fn new(host: impl Into<String>, port: u16, security: SmtpSecurity) -> Self {
        Self {
            host: host.into(),
            port,
            security,
            credentials: None,
            auth: SmtpAuth::Plain,
            helo: None,
            extra_roots_pem: None,
            timeout: Duration::from_secs(60),
        }
    }

    fn transport(&self) -> Result<AsyncSmtpTransport<Tokio1Executor>, ProbeError> {
        let tls_params = || {
            let mut b = TlsParameters::builder(self.host.clone());
            if let Some(pem) = &self.extra_roots_pem {
                let roots = tls::lettre_roots(pem).map_err(|e| ProbeError::Settings {
                    detail: e.to_string(),
                })?;
                b = b.add_root_certificate(roots);
            }
            b.build_rustls().map_err(|e| ProbeError::Settings {
                detail: format!("TLS setup: {e}"),
            })
        };
        let mut b = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&self.host)
            .port(self.port)
            .timeout(Some(self.timeout));
        b = match self.security {
            SmtpSecurity::Plain => b.tls(Tls::None),
            SmtpSecurity::StartTls => b.tls(Tls::Required(tls_params()?)),
            SmtpSecurity::Tls => b.tls(Tls::Wrapper(tls_params()?)),
        };
        if let Some(helo) = &self.helo {
            b = b.hello_name(ClientId::Domain(helo.clone()));
        }
        if let Some((user, pass)) = &self.credentials {
            b = b
                .credentials(Credentials::new(user.clone(), pass.clone()))
                .authentication(vec![match self.auth {
                    SmtpAuth::Plain => Mechanism::Plain,
                    SmtpAuth::Login => Mechanism::Login,
                }]);
        }
        Ok(b.build())
    }
}

/// Why a letter was not sent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    /// The server refused for good (5xx, or a client-side refusal such as no common AUTH
    /// mechanism, or unusable settings): the message is `failed` with this text.
    #[error("refused: {text}")]
    Permanent {
        /// SMTP reply code, when the server gave one.
        code: Option<u16>,
        /// The server's words.
        text: String,
    },
    /// Worth retrying: 4xx, connection refused or dropped, TLS, timeout.
    #[error("not sent, will retry: {text}")]
    Transient {
        /// SMTP reply code, when the server gave one.
        code: Option<u16>,
        /// What happened.
        text: String,
    },
}

/// The server's acceptance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Accepted {
    /// The final reply's text (often the server's queue id).
    pub reply: String,
}

/// Sends `message` to the recipients in its headers.
pub async fn send(settings: &SmtpSettings, message: &Message) -> Result<Accepted, SendError> {
    let span = tracing::info_span!("email.smtp.send", host = %settings.host, port = settings.port);
    async move {
        let transport = settings.transport().map_err(|e| SendError::Permanent {
            code: None,
            text: e.to_string(),
        })?;
        match transport.send(message.clone()).await {
            Ok(resp) => {
                let reply = resp.message().collect::<Vec<_>>().join(" ");
                tracing::info!(%reply, "letter accepted");
                Ok(Accepted { reply })
            }
            Err(e) => {
                let err = classify(&e);
                tracing::warn!(error = %err, "letter not sent");
                Err(err)
            }
        }
    }
    .instrument(span)
    .await
}

fn code_of(e: &lettre::transport::smtp::Error) -> Option<u16> {
    e.status().and_then(|c| c.to_string().parse().ok())
}

fn classify(e: &lettre::transport::smtp::Error) -> SendError {
    let text = error_chain(e);
    let code = code_of(e);
    if e.is_permanent() || e.is_client() {
        SendError::Permanent { code, text }
    } else {
        SendError::Transient { code, text }
    }
}

/// Connects, secures, logs in and says NOOP: the console's "test connection" for SMTP.
pub async fn test_connection(settings: &SmtpSettings) -> Result<(), ProbeError> {
    let span = tracing::info_span!("email.smtp.probe", host = %settings.host, port = settings.port);
    async move {
        let transport = settings.transport()?;
        match transport.test_connection().await {
            Ok(true) => Ok(()),
            Ok(false) => Err(ProbeError::Protocol {
                detail: "the server did not answer NOOP".into(),
            }),
            Err(e) => Err(probe_error(&e, settings.credentials.is_some())),
        }
    }
    .instrument(span)
    .await
}

fn probe_error(e: &lettre::transport::smtp::Error, with_credentials: bool) -> ProbeError {
    let detail = error_chain(e);
    let lower = detail.to_lowercase();
    if e.is_tls() {
        return ProbeError::Tls { detail };
    }
    if e.is_timeout() {
        return ProbeError::Timeout { detail };
    }
    if lower.contains("starttls") && e.is_client() {
        return ProbeError::StartTlsUnsupported { detail };
    }
    if let Some(code) = code_of(e)
        && with_credentials
        && matches!(code, 535 | 534 | 530 | 454)
    {
        return ProbeError::LoginRejected { detail };
    }
    if lower.contains("refused") {
        return ProbeError::Refused { detail };
    }
    if lower.contains("failed to lookup")
        || lower.contains("name or service not known")
        || lower.contains("no address")
        || lower.contains("resolve")
    {
        return ProbeError::HostNotFound { detail };
    }
    if lower.contains("certificate") || lower.contains("handshake") || lower.contains("tls") {
        return ProbeError::Tls { detail };
    }
    if lower.contains("timed out") {
        return ProbeError::Timeout { detail };
    }
    ProbeError::Protocol { detail }
}
