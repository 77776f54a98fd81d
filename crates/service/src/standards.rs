//! Response standards and working hours in action: reply targets that start when a
//! customer starts waiting and turn overdue when nobody answers in time, escalation, the
//! off-hours auto-reply and the e-mail to the inbox's managers about off-hours questions.

use parley_core::activity::Activity;
use parley_core::{ConversationStatus, MessageType, Priority};
use parley_store::conversations::ConversationRow;
use parley_store::inboxes::InboxRow;
use parley_store::jobs::{NewJob, OnExisting};
use parley_store::messages::Waiting;
use parley_store::routing::RouteOptions;
use serde_json::json;

use crate::conversations::secs;
use crate::mail::Email;
use crate::messages::{MessageInput, Sender};
use crate::routing_config::{InboxRouting, inbox_calendar};
use crate::texts::InboxTexts;
use crate::{Result, Services};
use parley_core::texts::{self, Lang};

/// Digest e-mails go out at most this often per inbox.
const DIGEST_EVERY_MS: i64 = 60 * 60_000;

fn raised(p: Option<&str>) -> Priority {
    match p.and_then(Priority::parse).unwrap_or(Priority::None) {
        Priority::None | Priority::Low => Priority::Medium,
        Priority::Medium => Priority::High,
        Priority::High | Priority::Urgent => Priority::Urgent,
    }
}

/// A time for a manager's e-mail: in words of `lang`, in the inbox's zone, and naming the
/// zone (a manager may sit elsewhere), e.g. «чт, 03.12 в 09:00 (Europe/Moscow)».
fn manager_time(lang: Lang, inbox: &InboxRow, at: i64) -> String {
    format!(
        "{} ({})",
        texts::when_label(lang, &inbox.timezone, at),
        inbox.timezone
    )
}

impl Services {
    /// After a message is stored: start a reply target when the customer started waiting,
    /// handle off-hours questions, route a conversation the message reopened; after an
    /// agent's reply, the end of its reply target and the check that e-mails it to a
    /// visitor who left. `had_target`: a reply target ran before this message;
    /// `auto_reply`: the message may be answered automatically (not an automatic letter).
    pub(crate) async fn on_message_stored(
        &self,
        before: &ConversationRow,
        after: &ConversationRow,
        waiting: Waiting,
        had_target: bool,
        auto_reply: bool,
    ) -> Result<()> {
        if waiting == Waiting::Stop {
            // An agent's public reply: it ended a running reply target (tell the lists), and
            // it is e-mailed later if the visitor never sees it.
            if had_target && after.sla_due_at.is_none() {
                self.publish_changed("conversation.updated", after).await?;
            }
            if let Some(at) = after.last_reply_at {
                self.schedule_unseen_reply_mail(after, at).await?;
            }
            return Ok(());
        }
        if waiting != Waiting::Start {
            return Ok(());
        }
        let reopened = before.status() != ConversationStatus::Open
            && after.status() == ConversationStatus::Open;
        // The writer sets `waiting_since` to the message's time only when the customer was
        // not already waiting: that is the moment a reply target starts.
        let started_waiting = after.waiting_since.is_some()
            && after.waiting_since == after.last_incoming_at
            && after.sla_due_at.is_none();
        if !(reopened || started_waiting) {
            return Ok(());
        }
        let inbox = self.store.inbox(after.account_id, after.inbox_id).await?;
        let routing = InboxRouting::of_inbox(&inbox);
        if started_waiting {
            self.start_reply_target(after, &inbox, &routing).await?;
            if auto_reply && after.offhours_at.is_none() && after.first_reply_created_at.is_none() {
                self.offhours_if_closed(after, &inbox, &routing).await?;
            }
            if after.assignee_id.is_some() {
                self.schedule_reassign(after).await?;
            }
        }
        if reopened && after.assignee_id.is_none() && inbox.enable_auto_assignment != 0 {
            self.route(after, RouteOptions::default()).await?;
        }
        Ok(())
    }

    async fn start_reply_target(
        &self,
        c: &ConversationRow,
        inbox: &InboxRow,
        routing: &InboxRouting,
    ) -> Result<()> {
        let Some(policy) = routing
            .sla_policy
            .as_ref()
            .and_then(|p| p.policy_for(c.priority.as_deref()))
        else {
            return Ok(());
        };
        let Some(start) = c.waiting_since else {
            return Ok(());
        };
        let calendar = inbox_calendar(inbox);
        let (kind, due) = if c.first_reply_created_at.is_none() {
            (
                "first_response",
                policy.first_response_due(start, calendar.as_ref()),
            )
        } else {
            (
                "next_response",
                policy.next_response_due(start, calendar.as_ref()),
            )
        };
        let Some(due) = due else { return Ok(()) };
        let Some(row) = self.store.start_sla(c.id, kind, due).await? else {
            return Ok(());
        };
        let key = format!("sla:{}", c.id);
        self.store
            .schedule_job(
                &NewJob {
                    key: &key,
                    kind: "sla",
                    account_id: Some(c.account_id),
                    payload: json!({"conversation_id": c.id, "due_at": due}).to_string(),
                    run_at: due,
                },
                OnExisting::Replace,
            )
            .await?;
        self.publish_changed("conversation.updated", &row).await?;
        Ok(())
    }

    /// The reply-target timer fired: mark the conversation overdue (if the target still
    /// runs), tell agents, escalate as the inbox says.
    pub async fn sla_due(&self, conversation_id: i64, due_at: i64) -> Result<()> {
        let Some(row) = self.store.mark_sla_overdue(conversation_id, due_at).await? else {
            return Ok(());
        };
        metrics::counter!("parley_sla_breaches_total").increment(1);
        let inbox = self.store.inbox(row.account_id, row.inbox_id).await?;
        let routing = InboxRouting::of_inbox(&inbox);
        let (due_secs, time_zone) = (secs(due_at), inbox.timezone.clone());
        let missed = match row.sla_kind.as_deref() {
            Some("next_response") => Activity::NextResponseMissed {
                due_at: due_secs,
                time_zone,
            },
            _ => Activity::FirstResponseMissed {
                due_at: due_secs,
                time_zone,
            },
        };
        self.activity(&row, missed).await?;
        let view = self
            .conversation_view(row.account_id, row.display_id)
            .await?;
        self.publish_conversation("conversation.sla_overdue", &row, &view)
            .await;
        self.publish_conversation("conversation.updated", &row, &view)
            .await;
        let escalation = routing
            .sla_policy
            .as_ref()
            .map(|p| p.escalation)
            .unwrap_or_default();
        let mut row = row;
        if escalation.raise_priority {
            let p = raised(row.priority.as_deref());
            let (_, after) = self
                .store
                .set_conversation_priority(row.id, Some(p.as_str()))
                .await?;
            self.activity(
                &after,
                Activity::PriorityRaised {
                    priority: p.as_str().into(),
                },
            )
            .await?;
            self.publish_changed("conversation.updated", &after).await?;
            row = after;
        }
        if escalation.notify_supervisors {
            let to: Vec<String> = self
                .store
                .routing_agents(row.account_id)
                .await?
                .into_iter()
                .filter(|a| a.role == "administrator" || a.role == "supervisor")
                .map(|a| a.email)
                .collect();
            if !to.is_empty() {
                let lang = self.inbox_lang(&inbox).await;
                let texts = InboxTexts::of_inbox(&inbox);
                let next = row.sla_kind.as_deref() == Some("next_response");
                let vars = [
                    ("target", texts::target_label(lang, next).to_string()),
                    ("inbox_name", inbox.name.clone()),
                    ("conversation_id", row.display_id.to_string()),
                    ("due", manager_time(lang, &inbox, due_at)),
                    ("link", self.console_link(&row)),
                ];
                self.queue_email(
                    &format!("sla-notice:{}:{due_at}", row.id),
                    Email {
                        to,
                        subject: texts.render(lang, "sla_alert_subject", &vars),
                        text: texts.render(lang, "sla_alert_body", &vars),
                        html: None,
                        reply_to: None,
                    },
                )
                .await?;
            }
        }
        if escalation.reassign
            && let (Some(agent), Some(at)) = (row.assignee_id, row.assigned_at)
        {
            let name = self.agent_name(row.account_id, agent).await;
            self.requeue(&row, agent, at, Activity::TakenMissed { agent: name })
                .await?;
        }
        Ok(())
    }

    pub(crate) fn console_link(&self, c: &ConversationRow) -> String {
        format!(
            "{}/app/#/conversations/{}",
            self.config.public_url.trim_end_matches('/'),
            c.display_id
        )
    }

    /// Schedules an e-mail; the job runner sends it and retries while the server is down.
    pub(crate) async fn queue_email(&self, key: &str, email: Email) -> Result<()> {
        let payload = json!({
            "to": email.to, "subject": email.subject, "text": email.text,
            "html": email.html, "reply_to": email.reply_to,
        });
        let key = format!("mail:{key}");
        self.store
            .schedule_job(
                &NewJob {
                    key: &key,
                    kind: "mail",
                    account_id: None,
                    payload: payload.to_string(),
                    run_at: self.store.now(),
                },
                OnExisting::Keep,
            )
            .await?;
        Ok(())
    }

    /// A customer's first question arrived while the inbox is closed: answer with when
    /// they will hear from us, and tell the managers (now, or in the hourly digest).
    async fn offhours_if_closed(
        &self,
        c: &ConversationRow,
        inbox: &InboxRow,
        routing: &InboxRouting,
    ) -> Result<()> {
        let Some(calendar) = inbox_calendar(inbox) else {
            return Ok(());
        };
        let now = self.store.now();
        if calendar.is_open(now) || !self.store.mark_offhours(c.id).await? {
            return Ok(());
        }
        metrics::counter!("parley_offhours_questions_total").increment(1);
        let next_open = calendar.next_open(now);
        let lang = self.inbox_lang(inbox).await;
        let texts = InboxTexts::of_inbox(inbox);
        let when = next_open.map(|t| texts::when_label(lang, &inbox.timezone, t));
        let mut vars = vec![("inbox_name", inbox.name.clone())];
        if let Some(w) = &when {
            vars.push(("next_open", w.clone()));
        }
        let own = inbox
            .out_of_office_message
            .as_deref()
            .map(str::trim)
            .filter(|m| !m.is_empty());
        let text = match (own, &when) {
            (Some(m), Some(_)) => format!("{m}\n{}", texts.render(lang, "offhours_tail", &vars)),
            (Some(m), None) => m.to_string(),
            (None, Some(_)) => texts.render(lang, "offhours_reply", &vars),
            (None, None) => texts.render(lang, "offhours_reply_later", &vars),
        };
        // A built-in bot that tells the hours itself answers instead (docs/bots.md).
        if !self.bot_tells_hours(c).await? {
            let mut input = MessageInput::text(MessageType::Template, text);
            input.content_attributes =
                Some(json!({"offhours": true, "next_open_at": next_open.map(secs)}));
            self.create_message(c, Sender::System, input).await?;
        }

        if routing.offhours_notify_emails.is_empty() {
            return Ok(());
        }
        if routing.offhours_digest {
            let key = format!("offhours-digest:{}", inbox.id);
            self.store
                .schedule_job(
                    &NewJob {
                        key: &key,
                        kind: "offhours_digest",
                        account_id: Some(c.account_id),
                        payload: json!({"inbox_id": inbox.id, "account_id": c.account_id, "since": now - 1})
                            .to_string(),
                        run_at: now + DIGEST_EVERY_MS,
                    },
                    OnExisting::Keep,
                )
                .await?;
            return Ok(());
        }
        let vars = [
            ("inbox_name", inbox.name.clone()),
            ("contact", self.contact_label(c).await),
            ("question", self.first_question(c).await?),
            (
                "next_open",
                next_open.map_or_else(|| "-".into(), |t| manager_time(lang, inbox, t)),
            ),
            ("link", self.console_link(c)),
        ];
        self.queue_email(
            &format!("offhours:{}", c.id),
            Email {
                to: routing.offhours_notify_emails.clone(),
                subject: texts.render(lang, "offhours_notice_subject", &vars),
                text: texts.render(lang, "offhours_notice_body", &vars),
                html: None,
                reply_to: None,
            },
        )
        .await
    }

    async fn contact_label(&self, c: &ConversationRow) -> String {
        match self.store.contact(c.account_id, c.contact_id).await {
            Ok(ct) => {
                let name = ct
                    .name
                    .clone()
                    .unwrap_or_else(|| format!("Contact {}", ct.id));
                match ct.email.or(ct.phone_number) {
                    Some(reach) => format!("{name} <{reach}>"),
                    None => name,
                }
            }
            Err(_) => format!("Contact {}", c.contact_id),
        }
    }

    async fn first_question(&self, c: &ConversationRow) -> Result<String> {
        let page = self.store.messages_page(c.id, None, None, 20, true).await?;
        Ok(page
            .iter()
            .rev()
            .find(|m| m.message.message_type == MessageType::Incoming.code())
            .and_then(|m| m.message.content.clone())
            .unwrap_or_default()
            .chars()
            .take(2000)
            .collect())
    }

    /// The hourly digest of an inbox's off-hours questions.
    pub async fn offhours_digest(&self, account_id: i64, inbox_id: i64, since: i64) -> Result<()> {
        let inbox = self.store.inbox(account_id, inbox_id).await?;
        let routing = InboxRouting::of_inbox(&inbox);
        if routing.offhours_notify_emails.is_empty() {
            return Ok(());
        }
        let now = self.store.now();
        let convs = self
            .store
            .offhours_conversations(inbox_id, since, now)
            .await?;
        if convs.is_empty() {
            return Ok(());
        }
        let lang = self.inbox_lang(&inbox).await;
        let texts = InboxTexts::of_inbox(&inbox);
        let mut questions = String::new();
        for c in &convs {
            let q = self.first_question(c).await?;
            let who = self.contact_label(c).await;
            questions.push_str(&format!(
                "#{} {who}: {q}\n{}\n\n",
                c.display_id,
                self.console_link(c)
            ));
        }
        let vars = [
            ("inbox_name", inbox.name.clone()),
            ("count", convs.len().to_string()),
            ("questions", questions),
        ];
        self.queue_email(
            &format!("offhours-digest:{inbox_id}:{now}"),
            Email {
                to: routing.offhours_notify_emails,
                subject: texts.render(lang, "offhours_digest_subject", &vars),
                text: texts.render(lang, "offhours_digest_body", &vars),
                html: None,
                reply_to: None,
            },
        )
        .await
    }
}
