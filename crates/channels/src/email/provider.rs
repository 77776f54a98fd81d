//! The e-mail channel as the server runs it: an inbox's stored settings (Chatwoot's
//! `imap_*` / `smtp_*` fields) read into the library's IMAP and SMTP settings, and the
//! [`ChannelProvider`] the outbox and the console's "test connection" call.
//!
//! Saving an inbox does not wait for the mail servers ([`ChannelProvider::checks_on_save`]
//! is false): a host may be briefly unreachable, the settings are kept as given and the
//! runtime reports the connection state in the inbox view.

use std::sync::Arc;

use futures::FutureExt;
use futures::future::BoxFuture;
use parley_core::ChannelType;
use parley_service::Services;
use parley_service::delivery::{
    ChannelProvider, DeliveryError, Notice, OutgoingMessage, ProbeFailure, ProbeTexts, Receipt,
};
use parley_service::inboxes::InboxRow;
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

use super::imap::{self, ImapSecurity, ImapSettings};
use super::probe::ProbeError;
use super::smtp::{self, SmtpAuth, SmtpSecurity, SmtpSettings};
use super::token::ReplyTokens;

/// A non-empty text setting.
fn text<'a>(s: &'a Map<String, Value>, key: &str) -> Option<&'a str> {
    s.get(key)
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|v| !v.is_empty())
}

fn flag(s: &Map<String, Value>, key: &str, default: bool) -> bool {
    s.get(key).and_then(Value::as_bool).unwrap_or(default)
}

fn port(s: &Map<String, Value>, key: &str) -> Option<u16> {
    s.get(key)
        .and_then(Value::as_u64)
        .and_then(|p| u16::try_from(p).ok())
}

/// The inbox's own address (`email`), lowercase.
pub fn inbox_address(s: &Map<String, Value>) -> Option<String> {
    text(s, "email").map(str::to_ascii_lowercase)
}

/// The IMAP settings of an inbox; `None` when it does not receive (no host or password,
/// or `imap_enabled: false`). The login defaults to the inbox's address; port 993 with
/// SSL, 143 without.
pub fn imap_settings(s: &Map<String, Value>) -> Option<ImapSettings> {
    if !flag(s, "imap_enabled", true) {
        return None;
    }
    let host = text(s, "imap_address")?;
    let password = text(s, "imap_password")?;
    let login = text(s, "imap_login").or(text(s, "email"))?;
    let tls = flag(s, "imap_enable_ssl", true);
    let (security, default_port) = if tls {
        (ImapSecurity::Tls, 993)
    } else {
        (ImapSecurity::Plain, 143)
    };
    let p = port(s, "imap_port").unwrap_or(default_port);
    Some(ImapSettings::new(host, p, security, login, password))
}

/// The SMTP settings of an inbox; `None` when it does not send (no host, or
/// `smtp_enabled: false`). `smtp_enable_ssl_tls` means TLS from the first byte (465);
/// otherwise STARTTLS is required unless `smtp_enable_starttls_auto` is false (plain, 25).
pub fn smtp_settings(s: &Map<String, Value>) -> Option<SmtpSettings> {
    if !flag(s, "smtp_enabled", true) {
        return None;
    }
    let host = text(s, "smtp_address")?;
    let (security, default_port) = if flag(s, "smtp_enable_ssl_tls", false) {
        (SmtpSecurity::Tls, 465)
    } else if flag(s, "smtp_enable_starttls_auto", true) {
        (SmtpSecurity::StartTls, 587)
    } else {
        (SmtpSecurity::Plain, 25)
    };
    let mut out = SmtpSettings::new(host, port(s, "smtp_port").unwrap_or(default_port), security);
    if let Some(password) = text(s, "smtp_password")
        && let Some(login) = text(s, "smtp_login").or(text(s, "email"))
    {
        out.credentials = Some((login.to_string(), password.to_string()));
    }
    if text(s, "smtp_authentication") == Some("login") {
        out.auth = SmtpAuth::Login;
    }
    out.helo = text(s, "smtp_domain").map(str::to_string);
    Some(out)
}

/// What the import task of an inbox depends on: a change restarts it (the password is
/// hashed, so the supervisor keeps no copy of it).
pub fn import_key(inbox: &InboxRow) -> Option<String> {
    let s = inbox.settings_map();
    let i = imap_settings(&s)?;
    let digest = hex::encode(Sha256::digest(i.password.as_bytes()));
    Some(format!(
        "{}|{}|{:?}|{}|{digest}|{}",
        i.host,
        i.port,
        i.security,
        i.login,
        inbox_address(&s).unwrap_or_default()
    ))
}

/// The reply-address tokens of an inbox: keyed by its stored secret (the inbox's HMAC
/// token), so they survive restarts and differ between inboxes.
pub fn reply_tokens(inbox_secret: &str) -> ReplyTokens {
    ReplyTokens::new(inbox_secret.as_bytes())
}

/// The right-hand side of the Message-IDs Parley makes for an inbox: a name under the
/// inbox's domain that no person's mail uses, so our own letters coming back are known.
pub fn message_id_domain(inbox_address: &str) -> String {
    let domain = inbox_address.rsplit('@').next().unwrap_or("localhost");
    format!("parley.{}", domain.to_ascii_lowercase())
}

/// A failed check of one side, with the library's own sentence in both languages.
pub fn probe_failure(step: &'static str, e: &ProbeError) -> ProbeFailure {
    ProbeFailure {
        step,
        code: e.code(),
        detail: e.detail().to_string(),
        texts: Some(ProbeTexts {
            en: e.message(false),
            ru: e.message(true),
        }),
    }
}

/// The e-mail provider.
#[derive(Debug, Default)]
pub struct Email;

impl ChannelProvider for Email {
    fn channel(&self) -> ChannelType {
        ChannelType::Email
    }

    fn deliver<'a>(
        &'a self,
        m: &'a OutgoingMessage,
    ) -> BoxFuture<'a, Result<Receipt, DeliveryError>> {
        super::outbox::deliver(m).boxed()
    }

    fn typing<'a>(
        &'a self,
        _settings: &'a Map<String, Value>,
        _recipient: &'a str,
    ) -> BoxFuture<'a, ()> {
        // Mail has no "typing…".
        async {}.boxed()
    }

    fn test_connection<'a>(
        &'a self,
        settings: &'a Map<String, Value>,
    ) -> BoxFuture<'a, Result<Map<String, Value>, ProbeFailure>> {
        async move {
            let (imap, smtp) = (imap_settings(settings), smtp_settings(settings));
            if imap.is_none() && smtp.is_none() {
                return Err(probe_failure(
                    "imap",
                    &ProbeError::Settings {
                        detail: "neither IMAP nor SMTP is configured".into(),
                    },
                ));
            }
            let mut details = Map::new();
            if let Some(i) = &imap {
                let p = imap::test_connection(i)
                    .await
                    .map_err(|e| probe_failure("imap", &e))?;
                details.insert("imap_messages".into(), json!(p.messages));
                details.insert("imap_idle".into(), json!(p.idle));
            }
            if let Some(s) = &smtp {
                smtp::test_connection(s)
                    .await
                    .map_err(|e| probe_failure("smtp", &e))?;
            }
            details.insert("imap".into(), json!(imap.is_some()));
            details.insert("smtp".into(), json!(smtp.is_some()));
            Ok(details)
        }
        .boxed()
    }

    fn checks_on_save(&self) -> bool {
        false
    }

    fn receives(&self, settings: &Map<String, Value>) -> bool {
        imap_settings(settings).is_some()
    }

    fn sends_notices(&self, settings: &Map<String, Value>) -> bool {
        inbox_address(settings).is_some() && smtp_settings(settings).is_some()
    }

    fn send_notice<'a>(
        &'a self,
        inbox: &'a InboxRow,
        notice: &'a Notice,
    ) -> BoxFuture<'a, Result<(), DeliveryError>> {
        super::outbox::notice(inbox, notice).boxed()
    }

    fn webhook<'a>(
        &'a self,
        _svc: &'a Services,
        _inbox: &'a InboxRow,
        _body: &'a [u8],
    ) -> BoxFuture<'a, parley_service::Result<()>> {
        async { Err(parley_service::ServiceError::NotFound("inbox")) }.boxed()
    }
}

/// Registers the e-mail provider with `svc` and starts the runtime that imports every
/// e-mail inbox with IMAP settings. Aborting the returned task stops every import.
pub fn install(svc: &Services) -> tokio::task::JoinHandle<()> {
    svc.providers.register(Arc::new(Email));
    tokio::spawn(super::runtime::run(svc.clone()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn settings_defaults_and_switches() {
        let s = map(
            json!({"email": "Support@Shop.test", "imap_address": "imap.shop.test",
            "imap_password": "p", "smtp_address": "smtp.shop.test", "smtp_password": "q"}),
        );
        assert_eq!(inbox_address(&s).as_deref(), Some("support@shop.test"));
        let i = imap_settings(&s).expect("imap");
        assert_eq!((i.port, i.security), (993, ImapSecurity::Tls));
        assert_eq!(
            i.login, "Support@Shop.test",
            "the login defaults to the address"
        );
        let o = smtp_settings(&s).expect("smtp");
        assert_eq!((o.port, o.security), (587, SmtpSecurity::StartTls));
        assert_eq!(
            o.credentials.as_ref().map(|c| c.0.as_str()),
            Some("Support@Shop.test")
        );
        assert_eq!(o.auth, SmtpAuth::Plain);

        let plain = map(
            json!({"email": "a@b.test", "imap_address": "h", "imap_password": "p",
            "imap_enable_ssl": false, "smtp_address": "h", "smtp_enable_starttls_auto": false,
            "smtp_authentication": "login", "smtp_domain": "mx.b.test"}),
        );
        assert_eq!(imap_settings(&plain).map(|i| i.port), Some(143));
        let o = smtp_settings(&plain).expect("smtp");
        assert_eq!((o.port, o.security), (25, SmtpSecurity::Plain));
        assert!(o.credentials.is_none(), "no password, no AUTH");
        assert_eq!(o.auth, SmtpAuth::Login);
        assert_eq!(o.helo.as_deref(), Some("mx.b.test"));
        let tls = map(json!({"smtp_address": "h", "smtp_enable_ssl_tls": true}));
        assert_eq!(
            smtp_settings(&tls).map(|o| (o.port, o.security)),
            Some((465, SmtpSecurity::Tls))
        );

        // Not configured: no host or password, or switched off.
        assert!(imap_settings(&map(json!({"email": "a@b.test", "imap_address": "h"}))).is_none());
        let off = map(
            json!({"email": "a@b.test", "imap_address": "h", "imap_password": "p",
            "imap_enabled": false, "smtp_address": "h", "smtp_enabled": false}),
        );
        assert!(imap_settings(&off).is_none() && smtp_settings(&off).is_none());
    }

    #[test]
    fn our_message_ids_and_probe_texts() {
        assert_eq!(message_id_domain("support@Shop.test"), "parley.shop.test");
        let f = probe_failure(
            "smtp",
            &ProbeError::LoginRejected {
                detail: "535 5.7.8".into(),
            },
        );
        assert_eq!(
            (f.step, f.code, f.detail.as_str()),
            ("smtp", "login_rejected", "535 5.7.8")
        );
        let t = f.texts.expect("texts");
        assert!(t.ru.contains("пароль") && t.en.contains("password"));
    }
}
