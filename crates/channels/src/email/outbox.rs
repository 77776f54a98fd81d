//! An agent's reply (or Parley's automatic one) in an e-mail conversation, sent by the
//! outbox job: composed as a threaded letter and handed to the inbox's SMTP server. The
//! letter's Message-ID becomes the message's provider id (its `source_id`), so the
//! customer's answer, which names it in `In-Reply-To`, threads back.

use parley_core::texts::{Lang as TextLang, when_label};
use parley_service::delivery::{DeliveryError, Notice, OutgoingMessage, Receipt};
use parley_service::inboxes::InboxRow;
use serde_json::Value;

use super::compose::{self, Lang, OutAttachment, QuotedLetter, Reply};
use super::provider::{inbox_address, message_id_domain, reply_tokens, smtp_settings};
use super::smtp::{self, SendError, SmtpSettings};

/// The reason of a reply that cannot be sent because the inbox has no SMTP settings.
fn no_smtp(lang: TextLang) -> &'static str {
    match lang {
        TextLang::Ru => "Отправка почты для этих входящих не настроена (нет настроек SMTP)",
        TextLang::En => "Sending is not configured for this inbox (no SMTP settings)",
    }
}

/// Sends one message as a letter (see the module's text). A 5xx answer is permanent, a
/// 4xx answer or a connection failure transient (the outbox retries with backoff).
pub async fn deliver(m: &OutgoingMessage) -> Result<Receipt, DeliveryError> {
    if !m.accepted.is_empty() {
        // An earlier attempt was accepted; only its recording failed.
        return Ok(Receipt {
            external_ids: m.accepted.clone(),
        });
    }
    let address = inbox_address(&m.settings)
        .ok_or_else(|| DeliveryError::permanent("the inbox has no e-mail address"))?;
    let smtp =
        smtp_settings(&m.settings).ok_or_else(|| DeliveryError::permanent(no_smtp(m.lang)))?;
    let lang = lang_of(m.lang);
    let mut attachments = Vec::with_capacity(m.attachments.len());
    for a in &m.attachments {
        let bytes = tokio::fs::read(&a.path).await.map_err(|e| {
            DeliveryError::permanent(format!("attachment {} cannot be read: {e}", a.file_name))
        })?;
        attachments.push(OutAttachment {
            name: a.file_name.clone(),
            content_type: a.content_type.clone(),
            bytes,
        });
    }
    let subject = m
        .conversation_attributes
        .get("mail_subject")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let reply = Reply {
        inbox_address: address.clone(),
        from_name: m.sender_name.clone(),
        reply_to: reply_tokens(&m.inbox_secret).address(&address, m.conversation_id),
        to: m.recipient.clone(),
        cc: Vec::new(),
        subject,
        text: m.content.clone().unwrap_or_default(),
        attachments,
        in_reply_to: m.in_reply_to.clone().or_else(|| m.thread.last().cloned()),
        references: m.thread.clone(),
        quoted: m.quoted.as_ref().map(|q| QuotedLetter {
            author: q.author.clone(),
            when: when_label(m.lang, "UTC", q.at_ms),
            text: q.text.clone(),
        }),
        automatic: m.automatic,
        parley_id: m.message_id.to_string(),
        message_id_domain: message_id_domain(&address),
        lang,
    };
    let message_id = send(&smtp, &reply).await?;
    Ok(Receipt {
        external_ids: vec![message_id],
    })
}

/// Parley's own letter about a conversation (the replies a website visitor did not see),
/// from the inbox's address and name, with the reply address of that conversation.
pub async fn notice(inbox: &InboxRow, n: &Notice) -> Result<(), DeliveryError> {
    let settings = inbox.settings_map();
    let address = inbox_address(&settings)
        .ok_or_else(|| DeliveryError::permanent("the inbox has no e-mail address"))?;
    let smtp = smtp_settings(&settings).ok_or_else(|| DeliveryError::permanent(no_smtp(n.lang)))?;
    let reply = Reply {
        inbox_address: address.clone(),
        from_name: Some(inbox.name.clone()),
        reply_to: reply_tokens(&inbox.hmac_token).address(&address, n.conversation_id),
        to: n.to.clone(),
        cc: Vec::new(),
        subject: n.subject.clone(),
        text: n.text.clone(),
        attachments: Vec::new(),
        in_reply_to: None,
        references: Vec::new(),
        quoted: None,
        automatic: false,
        parley_id: format!("conversation-{}", n.conversation_id),
        message_id_domain: message_id_domain(&address),
        lang: lang_of(n.lang),
    };
    send(&smtp, &reply).await.map(|_| ())
}

fn lang_of(lang: TextLang) -> Lang {
    match lang {
        TextLang::Ru => Lang::Ru,
        TextLang::En => Lang::En,
    }
}

/// Composes and sends a letter; its Message-ID, or the outbox's error.
async fn send(smtp: &SmtpSettings, reply: &Reply) -> Result<String, DeliveryError> {
    let composed = compose::compose(reply).map_err(|e| DeliveryError::permanent(e.to_string()))?;
    match smtp::send(smtp, &composed.message).await {
        Ok(_) => Ok(composed.message_id),
        Err(SendError::Permanent { text, .. }) => Err(DeliveryError::permanent(text)),
        Err(SendError::Transient { text, .. }) => Err(DeliveryError::transient(text, None)),
    }
}
