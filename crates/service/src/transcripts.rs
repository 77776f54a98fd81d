//! Conversation transcripts (Chatwoot's `POST conversations/{id}/transcript`): the
//! public part of a conversation — what the customer and the team said to each other,
//! without private notes and activity lines — as a text file, or e-mailed to an address
//! through the server's outgoing mail (`smtp_url`), queued as a durable job so a relay
//! that is down for a while delays the letter instead of losing it.
//!
//! Anyone who may see the conversation may have its transcript. Headings are in the
//! account's language. Bounded: at most [`MAX_TRANSCRIPT_MESSAGES`] messages and
//! [`MAX_TRANSCRIPT_BYTES`] of text (a longer conversation's transcript says it stops
//! there), and each user may e-mail
//! [`TRANSCRIPT_MAILS_PER_HOUR`](crate::exports::TRANSCRIPT_MAILS_PER_HOUR) a hour.

use parley_core::MessageType;
use parley_core::texts::Lang;
use parley_core::validate::{self, FieldError};

use crate::context::AccountCtx;
use crate::exports::{status_name, utc_time};
use crate::mail::Email;
use crate::{Result, Services};

/// Messages a transcript holds at most.
pub const MAX_TRANSCRIPT_MESSAGES: usize = 5_000;
/// Text a transcript holds at most (bytes of UTF-8).
pub const MAX_TRANSCRIPT_BYTES: usize = 2 * 1024 * 1024;
const PAGE: i64 = 200;

/// A transcript: its file name, e-mail subject and text.
#[derive(Debug, Clone)]
pub struct Transcript {
    pub filename: String,
    pub subject: String,
    pub text: String,
}

struct Words {
    title: &'static str,
    inbox: &'static str,
    contact: &'static str,
    started: &'static str,
    status: &'static str,
    attachment: &'static str,
    customer: &'static str,
    team: &'static str,
    truncated: &'static str,
}

fn words(lang: Lang) -> Words {
    match lang {
        Lang::Ru => Words {
            title: "Переписка по диалогу",
            inbox: "Канал связи",
            contact: "Клиент",
            started: "Начат",
            status: "Статус",
            attachment: "вложение",
            customer: "Клиент",
            team: "Сотрудник",
            truncated: "Переписка длиннее, чем помещается в расшифровку; здесь её начало.",
        },
        Lang::En => Words {
            title: "Transcript of conversation",
            inbox: "Inbox",
            contact: "Contact",
            started: "Started",
            status: "Status",
            attachment: "attachment",
            customer: "Customer",
            team: "Agent",
            truncated: "The conversation is longer than a transcript holds; this is its beginning.",
        },
    }
}

impl Services {
    /// The transcript of conversation `display_id`, if the caller may see it.
    pub async fn transcript(&self, ctx: &AccountCtx, display_id: i64) -> Result<Transcript> {
        let c = self.visible_conversation(ctx, display_id).await?;
        let lang = self.account_lang(ctx.account_id).await;
        let w = words(lang);
        let inbox = self.store.inbox(ctx.account_id, c.inbox_id).await?;
        let contact = self.store.contact(ctx.account_id, c.contact_id).await?;
        let mut who = contact.name.clone().unwrap_or_default();
        for extra in [&contact.email, &contact.phone_number]
            .into_iter()
            .flatten()
        {
            if who.is_empty() {
                who = extra.clone();
            } else {
                who.push_str(&format!(" <{extra}>"));
                break;
            }
        }
        let mut text = format!(
            "{} #{}\n{}: {}\n{}: {}\n{}: {} UTC\n{}: {}\n\n",
            w.title,
            c.display_id,
            w.inbox,
            inbox.name,
            w.contact,
            who,
            w.started,
            utc_time(c.created_at),
            w.status,
            status_name(lang, &c.status),
        );
        let mut after = 0;
        let mut count = 0;
        'pages: loop {
            let page = self
                .store
                .messages_page(c.id, None, Some(after), PAGE, true)
                .await?;
            let n = page.len();
            for m in page {
                let msg = &m.message;
                after = msg.id;
                if count >= MAX_TRANSCRIPT_MESSAGES || text.len() >= MAX_TRANSCRIPT_BYTES {
                    text.push_str(&format!("\n{}\n", w.truncated));
                    break 'pages;
                }
                count += 1;
                let role = if msg.message_type == MessageType::Incoming.code() {
                    w.customer
                } else {
                    w.team
                };
                let name = msg
                    .sender_display_name
                    .clone()
                    .or_else(|| msg.sender_name.clone())
                    .unwrap_or_else(|| role.to_string());
                let name = if name == role {
                    name
                } else {
                    format!("{name} ({})", role.to_lowercase())
                };
                text.push_str(&format!("[{} UTC] {name}:\n", utc_time(msg.created_at)));
                if let Some(body) = msg.content.as_deref().filter(|s| !s.is_empty()) {
                    for l in body.lines() {
                        text.push_str("  ");
                        text.push_str(l);
                        text.push('\n');
                    }
                }
                for a in &m.attachments {
                    text.push_str(&format!("  [{}: {}]\n", w.attachment, a.file_name));
                }
                text.push('\n');
            }
            if n < PAGE as usize {
                break;
            }
        }
        Ok(Transcript {
            filename: format!("conversation-{}-transcript.txt", c.display_id),
            subject: format!("{} #{} — {}", w.title, c.display_id, inbox.name),
            text,
        })
    }

    /// E-mails the transcript of `display_id` to `email` (queued; the job runner sends
    /// it). 422 when the server has no outgoing mail configured.
    pub async fn send_transcript(
        &self,
        ctx: &AccountCtx,
        display_id: i64,
        email: &str,
    ) -> Result<()> {
        let to = validate::email("email", email)?;
        if !self.mailer.is_configured() {
            return Err(FieldError::new(
                "email",
                "outgoing e-mail is not configured on this server (set smtp_url)",
            )
            .into());
        }
        let t = self.transcript(ctx, display_id).await?;
        let key = format!("{}:{}", ctx.account_id, ctx.user_id);
        self.export_limits.transcript_mails.take(&key)?;
        let email = Email::new([to], t.subject, t.text);
        self.queue_email(
            &format!("transcript:{display_id}:{}", parley_store::random_token(8)),
            email,
        )
        .await
    }
}
