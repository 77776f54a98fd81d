//! What went wrong when the console's "test connection" button (or a running importer or
//! sender) talks to a mail server: a stable code the console translates, and the server's
//! own words for the details line.

/// A failed connection check. [`ProbeError::code`] is stable (the console's RU/EN
/// dictionaries are keyed by it); `detail` carries the server's or the system's text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProbeError {
    /// The host name does not resolve.
    #[error("host not found: {detail}")]
    HostNotFound {
        /// Resolver's text.
        detail: String,
    },
    /// Nothing listens there, or a firewall refused.
    #[error("connection refused: {detail}")]
    Refused {
        /// System's text.
        detail: String,
    },
    /// No answer in time.
    #[error("timed out: {detail}")]
    Timeout {
        /// What was being waited for.
        detail: String,
    },
    /// TLS failed: wrong port for TLS, bad or untrusted certificate, name mismatch.
    #[error("TLS handshake failed: {detail}")]
    Tls {
        /// The TLS library's text.
        detail: String,
    },
    /// The server does not offer STARTTLS although the settings require it.
    #[error("the server does not offer STARTTLS: {detail}")]
    StartTlsUnsupported {
        /// Client's text.
        detail: String,
    },
    /// Login or password rejected.
    #[error("login rejected: {detail}")]
    LoginRejected {
        /// The server's answer.
        detail: String,
    },
    /// The mailbox (folder) cannot be opened.
    #[error("mailbox cannot be opened: {detail}")]
    Mailbox {
        /// The server's answer.
        detail: String,
    },
    /// Anything else the server said or did (protocol error, connection dropped).
    #[error("mail server error: {detail}")]
    Protocol {
        /// The text.
        detail: String,
    },
    /// The settings themselves are unusable (bad extra root certificate, bad host name).
    #[error("bad settings: {detail}")]
    Settings {
        /// What is wrong.
        detail: String,
    },
}

impl ProbeError {
    /// Stable code for the console and the API: `host_not_found`, `connection_refused`,
    /// `timeout`, `tls_handshake`, `starttls_unsupported`, `login_rejected`,
    /// `mailbox_unavailable`, `protocol`, `bad_settings`.
    pub fn code(&self) -> &'static str {
        match self {
            ProbeError::HostNotFound { .. } => "host_not_found",
            ProbeError::Refused { .. } => "connection_refused",
            ProbeError::Timeout { .. } => "timeout",
            ProbeError::Tls { .. } => "tls_handshake",
            ProbeError::StartTlsUnsupported { .. } => "starttls_unsupported",
            ProbeError::LoginRejected { .. } => "login_rejected",
            ProbeError::Mailbox { .. } => "mailbox_unavailable",
            ProbeError::Protocol { .. } => "protocol",
            ProbeError::Settings { .. } => "bad_settings",
        }
    }

    /// The server's or the system's words.
    pub fn detail(&self) -> &str {
        match self {
            ProbeError::HostNotFound { detail }
            | ProbeError::Refused { detail }
            | ProbeError::Timeout { detail }
            | ProbeError::Tls { detail }
            | ProbeError::StartTlsUnsupported { detail }
            | ProbeError::LoginRejected { detail }
            | ProbeError::Mailbox { detail }
            | ProbeError::Protocol { detail }
            | ProbeError::Settings { detail } => detail,
        }
    }

    /// A sentence for a manager, in English or Russian (`ru`), naming what to check.
    pub fn message(&self, ru: bool) -> &'static str {
        match (self, ru) {
            (ProbeError::HostNotFound { .. }, false) => {
                "The server's host name is not found. Check the address."
            }
            (ProbeError::HostNotFound { .. }, true) => {
                "Адрес сервера не найден. Проверьте имя сервера."
            }
            (ProbeError::Refused { .. }, false) => {
                "The server refused the connection. Check the address and the port."
            }
            (ProbeError::Refused { .. }, true) => {
                "Сервер отказал в соединении. Проверьте адрес и порт."
            }
            (ProbeError::Timeout { .. }, false) => {
                "The server did not answer in time. Check the address, the port and the firewall."
            }
            (ProbeError::Timeout { .. }, true) => {
                "Сервер не ответил вовремя. Проверьте адрес, порт и сетевой экран."
            }
            (ProbeError::Tls { .. }, false) => {
                "The secure (TLS) connection failed. Check the port and the SSL/TLS setting."
            }
            (ProbeError::Tls { .. }, true) => {
                "Не удалось установить защищённое (TLS) соединение. Проверьте порт и настройку SSL/TLS."
            }
            (ProbeError::StartTlsUnsupported { .. }, false) => {
                "The server does not offer STARTTLS. Use SSL/TLS or another port."
            }
            (ProbeError::StartTlsUnsupported { .. }, true) => {
                "Сервер не поддерживает STARTTLS. Включите SSL/TLS или выберите другой порт."
            }
            (ProbeError::LoginRejected { .. }, false) => {
                "The login or password was rejected. Many providers need an app password."
            }
            (ProbeError::LoginRejected { .. }, true) => {
                "Логин или пароль отклонён. Многим почтовым сервисам нужен пароль приложения."
            }
            (ProbeError::Mailbox { .. }, false) => "The mailbox folder cannot be opened.",
            (ProbeError::Mailbox { .. }, true) => "Не удаётся открыть папку почтового ящика.",
            (ProbeError::Protocol { .. }, false) => "The mail server answered with an error.",
            (ProbeError::Protocol { .. }, true) => "Почтовый сервер ответил ошибкой.",
            (ProbeError::Settings { .. }, false) => "The connection settings are invalid.",
            (ProbeError::Settings { .. }, true) => "Настройки подключения неверны.",
        }
    }

    /// Sorts an I/O error of connecting or talking to the server.
    pub(crate) fn from_io(e: &std::io::Error, during: &str) -> ProbeError {
        use std::io::ErrorKind as K;
        let detail = format!("{during}: {e}");
        match e.kind() {
            K::ConnectionRefused => ProbeError::Refused { detail },
            K::TimedOut => ProbeError::Timeout { detail },
            K::InvalidData if during.contains("TLS") => ProbeError::Tls { detail },
            _ if during.contains("TLS") => ProbeError::Tls { detail },
            _ if during.contains("resolv") => ProbeError::HostNotFound { detail },
            _ => ProbeError::Protocol { detail },
        }
    }
}
