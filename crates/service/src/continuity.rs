//! Answers by e-mail to website visitors who left: when an agent replies in a website
//! conversation and the visitor has not seen the reply a little later (they closed the tab,
//! or left an offline request), the reply goes to the visitor's e-mail address, so the
//! question asked at night still gets its answer in the morning. When the account has an
//! e-mail inbox that sends, the letter goes through that mailbox with a reply address of
//! the website conversation, so the visitor's answer by e-mail lands back in it; otherwise
//! through the server's mailer (`smtp_url`).

use parley_core::ChannelType;
use parley_store::conversations::ConversationRow;
use parley_store::jobs::{NewJob, OnExisting};
use serde_json::json;

use std::sync::Arc;

use parley_store::inboxes::InboxRow;

use crate::delivery::{ChannelProvider, DeliveryError, Notice};
use crate::mail::Email;
use crate::settings::InboxSettings;
use crate::{Result, ServiceError, Services};

/// How long a reply may stay unseen in the widget before it is e-mailed. Long enough that
/// a visitor who is still on the page reads it there, short enough that one who left gets
/// it while the question is fresh.
pub const UNSEEN_REPLY_DELAY_MS: i64 = 2 * 60_000;

/// Replies in one e-mail at most.
const MAX_REPLIES: usize = 20;

impl Services {
    /// The account's first e-mail inbox that can send (SMTP configured), with its
    /// provider: answers to website visitors go through it when there is one.
    async fn notice_inbox(
        &self,
        account_id: i64,
    ) -> Result<Option<(InboxRow, Arc<dyn ChannelProvider>)>> {
        let Some(p) = self.providers.get(ChannelType::Email) else {
            return Ok(None);
        };
        let inboxes = self.store.inboxes(account_id).await?;
        Ok(inboxes
            .into_iter()
            .find(|i| i.channel() == Some(ChannelType::Email) && p.sends_notices(&i.settings_map()))
            .map(|i| (i, p)))
    }

    /// An agent replied publicly: check, after the delay, whether the visitor saw it.
    /// Replies in quick succession share one check (and one e-mail).
    pub(crate) async fn schedule_unseen_reply_mail(
        &self,
        c: &ConversationRow,
        reply_at: i64,
    ) -> Result<()> {
        if !self.mailer.is_configured() && self.notice_inbox(c.account_id).await?.is_none() {
            return Ok(());
        }
        let key = format!("unseen-reply:{}", c.id);
        self.store
            .schedule_job(
                &NewJob {
                    key: &key,
                    kind: "unseen_reply",
                    account_id: Some(c.account_id),
                    payload: json!({"conversation_id": c.id, "since": reply_at - 1}).to_string(),
                    run_at: reply_at + UNSEEN_REPLY_DELAY_MS,
                },
                OnExisting::Keep,
            )
            .await?;
        Ok(())
    }

    /// The delayed check: e-mails the agent replies after `since` that the visitor has not
    /// seen, if the conversation is a website one and the visitor left an address.
    pub async fn mail_unseen_replies(&self, conversation_id: i64, since: i64) -> Result<()> {
        let Some(c) = self.store.conversation_by_id(conversation_id).await? else {
            return Ok(());
        };
        let inbox = self.store.inbox(c.account_id, c.inbox_id).await?;
        if inbox.channel() != Some(ChannelType::WebWidget) {
            return Ok(());
        }
        let contact = self.store.contact(c.account_id, c.contact_id).await?;
        let Some(email) = contact.email.clone() else {
            return Ok(());
        };
        let seen = c.contact_last_seen_at.unwrap_or(0);
        let page = self.store.messages_page(c.id, None, None, 50, true).await?;
        let mut replies: Vec<String> = page
            .iter()
            .filter(|m| {
                m.message.message_type == parley_core::MessageType::Outgoing.code()
                    && m.message.sender_type.as_deref() == Some("User")
                    && m.message.created_at > since
                    && m.message.created_at > seen
            })
            .filter_map(|m| m.message.content.clone())
            .collect();
        if replies.is_empty() {
            return Ok(());
        }
        replies.truncate(MAX_REPLIES);
        let settings = InboxSettings::of(&inbox);
        let site = settings.channel.website_url.unwrap_or_default();
        let lang = self.inbox_lang(&inbox).await;
        let texts = settings.texts;
        let vars = [
            ("inbox_name", inbox.name.clone()),
            ("replies", replies.join("\n\n")),
            ("website_url", site),
        ];
        let subject = texts.render(lang, "unseen_reply_subject", &vars);
        let body = texts.render(lang, "unseen_reply_body", &vars);
        metrics::counter!("parley_unseen_reply_mails_total").increment(1);
        if let Some((mail_inbox, p)) = self.notice_inbox(c.account_id).await? {
            // Through the account's mailbox, with its reply address for this conversation:
            // the visitor's answer by e-mail lands back here. This job is the retry unit.
            let notice = Notice {
                conversation_id: c.id,
                to: email,
                subject,
                text: body,
                lang,
            };
            return p
                .send_notice(&mail_inbox, &notice)
                .await
                .map_err(|e| match e {
                    DeliveryError::Permanent { reason, .. } => ServiceError::Invalid(
                        parley_core::validate::FieldError::new("email", reason),
                    ),
                    DeliveryError::Transient { reason, .. } => ServiceError::Internal(reason),
                });
        }
        self.queue_email(
            &format!("unseen-reply:{}:{since}", c.id),
            Email {
                to: vec![email],
                subject,
                text: body,
                html: None,
                reply_to: None,
            },
        )
        .await
    }
}
