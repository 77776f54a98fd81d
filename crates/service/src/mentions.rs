//! @mentions in private notes and the agents' notifications (issue 13).
//!
//! A private note mentions agents in Chatwoot's markup, `[@Maria](mention://user/7/Maria)`
//! (parsed in [`parley_core::mention`]). After the note is stored, each mentioned agent who
//! can see the conversation's inbox (administrators, supervisors and the inbox's members)
//! gets a stored mention, a notification (`conversation_mention`), the live
//! `conversation.mentioned` event on their own sockets only, and an e-mail when they chose
//! `email_conversation_mention`. A mention of anyone else — an agent without the inbox, a
//! user of another account, an id that does not exist, the author themself — is left as
//! text: not an error (the note is fine) and not a hint about who exists.
//!
//! The live event is ephemeral (not in the event log): a console that was offline reads
//! the unread notifications from the list instead, which is the durable record.

use std::collections::HashSet;

use parley_bus::Event;
use parley_core::mention;
use parley_core::validate;
use parley_store::conversations::ConversationRow;
use parley_store::mentions::{MentionableRow, NewMention, NotificationRow};
use parley_store::messages::MessageWithAttachments;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use utoipa::ToSchema;

use crate::mail::Email;
use crate::texts::InboxTexts;
use crate::views::agents::UserSummary;
use crate::{AccountCtx, OrNotFound, Result, ServiceError, Services};

/// Chatwoot's event name for a mention, sent to the mentioned agent only.
pub const MENTIONED_EVENT: &str = "conversation.mentioned";
/// The bus name of an event meant for one agent's sockets: the hub unwraps it and hands the
/// inner event to that agent's connections only (never stored, never seen by others).
pub(crate) const ONE_AGENT_EVENT: &str = "parley.one_agent";
/// Chatwoot's e-mail flag for mentions.
pub const EMAIL_MENTION_FLAG: &str = "email_conversation_mention";
/// The e-mail flags Parley knows (Chatwoot's names); others are refused.
pub const ALL_EMAIL_FLAGS: [&str; 1] = [EMAIL_MENTION_FLAG];

/// An agent the caller may mention: someone who can see the conversation.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MentionableAgent {
    pub id: i64,
    pub name: String,
    /// The display name when set, else the name.
    pub available_name: String,
    pub avatar_url: String,
    pub thumbnail: String,
    /// `administrator`, `supervisor` or `agent`.
    pub role: String,
    /// `online`, `busy` or `offline`.
    pub availability_status: String,
}

fn mentionable_view(a: &MentionableRow) -> MentionableAgent {
    let avatar = a.avatar_url.clone().unwrap_or_default();
    MentionableAgent {
        id: a.id,
        available_name: a.display_name.clone().unwrap_or_else(|| a.name.clone()),
        name: a.name.clone(),
        avatar_url: avatar.clone(),
        thumbnail: avatar,
        role: a.role.clone(),
        availability_status: a.availability.clone(),
    }
}

/// The conversation a notification is about.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct NotificationConversation {
    /// The conversation's number (what the API calls its `id`).
    pub id: i64,
    pub inbox_id: i64,
}

/// A notification as Chatwoot renders it; times are epoch seconds.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct NotificationView {
    pub id: i64,
    /// `conversation_mention`.
    pub notification_type: String,
    /// A one-line English summary for API clients (Chatwoot's field); the console writes
    /// its own text from the other fields in the agent's language.
    pub push_message_title: String,
    /// Always `Conversation`.
    pub primary_actor_type: String,
    /// The conversation's number.
    pub primary_actor_id: i64,
    pub primary_actor: NotificationConversation,
    /// The note's text with mentions as plain `@Name`, at most 300 characters.
    pub excerpt: String,
    /// `null` while unread.
    pub read_at: Option<i64>,
    /// Who mentioned the agent (`null` when that user was removed).
    pub secondary_actor: Option<UserSummary>,
    pub created_at: i64,
}

fn notification_view(n: NotificationRow) -> NotificationView {
    let secondary_actor = n.actor_id.map(|id| {
        UserSummary::new(
            id,
            n.actor_name.clone(),
            n.actor_display_name.clone(),
            n.actor_avatar_url.clone(),
        )
    });
    let who = secondary_actor
        .as_ref()
        .map_or_else(String::new, |a| format!(" by {}", a.available_name));
    NotificationView {
        id: n.id,
        push_message_title: format!(
            "You have been mentioned in conversation #{}{who}",
            n.display_id
        ),
        notification_type: n.notification_type,
        primary_actor_type: "Conversation".into(),
        primary_actor_id: n.display_id,
        primary_actor: NotificationConversation {
            id: n.display_id,
            inbox_id: n.inbox_id,
        },
        excerpt: mention::plain(n.message_content.as_deref().unwrap_or_default())
            .chars()
            .take(300)
            .collect(),
        read_at: n.read_at.map(crate::views::secs),
        secondary_actor,
        created_at: crate::views::secs(n.created_at),
    }
}

/// The list's counts (Chatwoot's `meta`).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct NotificationMeta {
    pub unread_count: i64,
    pub count: i64,
    pub current_page: i64,
}

/// A page of notifications.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct NotificationPage {
    pub meta: NotificationMeta,
    pub payload: Vec<NotificationView>,
}

/// The agent's notification choices (Chatwoot's `notification_settings`).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct NotificationSettingsView {
    pub account_id: i64,
    pub user_id: i64,
    /// Every e-mail flag Parley knows.
    pub all_email_flags: Vec<String>,
    pub selected_email_flags: Vec<String>,
    /// Push notifications are not offered (the console's live badge covers them).
    pub all_push_flags: Vec<String>,
    pub selected_push_flags: Vec<String>,
}

/// A change of the agent's notification choices.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
pub struct NotificationSettingsUpdate {
    /// Replaces the selected e-mail flags; each must be one of `all_email_flags`.
    pub selected_email_flags: Option<Vec<String>>,
    /// Accepted for Chatwoot's clients and ignored unless empty (no push flags exist).
    pub selected_push_flags: Option<Vec<String>>,
}

fn read_flags(stored: &str) -> Vec<String> {
    serde_json::from_str::<Vec<String>>(stored)
        .unwrap_or_default()
        .into_iter()
        .filter(|f| ALL_EMAIL_FLAGS.contains(&f.as_str()))
        .collect()
}

/// The bus event carrying `inner` to the sockets of agent `user_id` only.
fn one_agent_event(user_id: i64, inner: &Event) -> Event {
    Event {
        account_id: inner.account_id,
        name: ONE_AGENT_EVENT.into(),
        conversation_id: None,
        inbox_id: None,
        contact_id: None,
        public: false,
        cursor: None,
        data: json!({
            "user_id": user_id,
            "event": serde_json::to_value(inner).unwrap_or(Value::Null),
        }),
    }
}

/// The agent and inner event of a bus event meant for one agent, if `e` is one.
pub(crate) fn for_one_agent(e: &Event) -> Option<(i64, Event)> {
    if e.name != ONE_AGENT_EVENT {
        return None;
    }
    let user_id = e.data.get("user_id")?.as_i64()?;
    let inner: Event = serde_json::from_value(e.data.get("event")?.clone()).ok()?;
    // Never across accounts, whatever the payload says.
    (inner.account_id == e.account_id).then_some((user_id, inner))
}

impl Services {
    /// After a private note by `ctx`'s user is stored: mentions, notifications, live
    /// events and e-mails for the agents it mentions (see the module's notes). Failures
    /// after the note committed are logged, never returned: the note is stored. `ids` are
    /// the users its content mentions (`parley_core::mention::mentioned_ids`).
    pub(crate) async fn note_stored(
        &self,
        ctx: &AccountCtx,
        conv: &ConversationRow,
        m: &MessageWithAttachments,
        ids: &[i64],
    ) {
        if let Err(e) = self.notify_mentions(ctx, conv, m, ids).await {
            tracing::warn!(conversation = conv.id, message = m.message.id, error = %e, "mention notifications failed");
        }
    }

    async fn notify_mentions(
        &self,
        ctx: &AccountCtx,
        conv: &ConversationRow,
        m: &MessageWithAttachments,
        ids: &[i64],
    ) -> Result<()> {
        let wanted: HashSet<i64> = ids.iter().copied().filter(|&u| u != ctx.user_id).collect();
        let agents: Vec<MentionableRow> = self
            .store
            .mentionable_agents(conv.account_id, conv.inbox_id)
            .await?
            .into_iter()
            .filter(|a| wanted.contains(&a.id))
            .collect();
        let news: Vec<NewMention> = agents
            .iter()
            .map(|a| NewMention {
                account_id: conv.account_id,
                conversation_id: conv.id,
                message_id: m.message.id,
                user_id: a.id,
                actor_id: ctx.user_id,
            })
            .collect();
        let added = self.store.add_mentions(&news).await?;
        if added.is_empty() {
            return Ok(());
        }
        metrics::counter!("parley_mentions_total").increment(added.len() as u64);
        let view = self
            .conversation_view(conv.account_id, conv.display_id)
            .await?;
        let inner = Event {
            account_id: conv.account_id,
            name: MENTIONED_EVENT.into(),
            conversation_id: Some(conv.id),
            inbox_id: Some(conv.inbox_id),
            contact_id: Some(conv.contact_id),
            public: false,
            cursor: None,
            data: serde_json::to_value(&view).unwrap_or(Value::Null),
        };
        for user_id in &added {
            self.emit_ephemeral(one_agent_event(*user_id, &inner));
        }
        let mailed: Vec<&MentionableRow> = agents
            .iter()
            .filter(|a| added.contains(&a.id))
            .filter(|a| {
                read_flags(&a.email_flags)
                    .iter()
                    .any(|f| f == EMAIL_MENTION_FLAG)
            })
            .collect();
        if mailed.is_empty() {
            return Ok(());
        }
        let inbox = self.store.inbox(conv.account_id, conv.inbox_id).await?;
        let lang = self.inbox_lang(&inbox).await;
        let texts = InboxTexts::of_inbox(&inbox);
        let note: String = mention::plain(m.message.content.as_deref().unwrap_or_default())
            .chars()
            .take(2000)
            .collect();
        let vars = [
            ("agent", ctx.user_name.clone()),
            ("inbox_name", inbox.name.clone()),
            ("conversation_id", conv.display_id.to_string()),
            ("note", note),
            ("link", self.console_link(conv)),
        ];
        for a in mailed {
            self.queue_email(
                &format!("mention:{}:{}", m.message.id, a.id),
                Email {
                    to: vec![a.email.clone()],
                    subject: texts.render(lang, "mention_subject", &vars),
                    text: texts.render(lang, "mention_body", &vars),
                    html: None,
                    reply_to: None,
                },
            )
            .await?;
        }
        Ok(())
    }

    /// The agents who can see conversations of every inbox in `inbox_ids` (Chatwoot's
    /// `assignable_agents`): whom the caller may mention or assign there. The caller must
    /// see each inbox; otherwise it reads as missing.
    pub async fn assignable_agents(
        &self,
        ctx: &AccountCtx,
        inbox_ids: &[i64],
    ) -> Result<Vec<MentionableAgent>> {
        if inbox_ids.is_empty() {
            return Err(validate::FieldError::new("inbox_ids", "give at least one inbox").into());
        }
        if inbox_ids.len() > 50 {
            return Err(validate::FieldError::new("inbox_ids", "at most 50 inboxes").into());
        }
        let mut common: Option<Vec<MentionableRow>> = None;
        for &inbox_id in inbox_ids {
            self.inbox(ctx, inbox_id).await?;
            let rows = self
                .store
                .mentionable_agents(ctx.account_id, inbox_id)
                .await?;
            common = Some(match common {
                None => rows,
                Some(prev) => {
                    let ids: HashSet<i64> = rows.iter().map(|r| r.id).collect();
                    prev.into_iter().filter(|r| ids.contains(&r.id)).collect()
                }
            });
        }
        Ok(common
            .unwrap_or_default()
            .iter()
            .map(mentionable_view)
            .collect())
    }

    /// The caller's notifications in the account, newest first, 15 per page.
    pub async fn notifications(&self, ctx: &AccountCtx, page: i64) -> Result<NotificationPage> {
        if !(1..=10_000).contains(&page) {
            return Err(validate::FieldError::new("page", "must be between 1 and 10000").into());
        }
        let inboxes = self.visible_inbox_ids(ctx).await?;
        let rows = self
            .store
            .notifications(
                ctx.account_id,
                ctx.user_id,
                inboxes.as_deref(),
                (page - 1) * parley_store::mentions::NOTIFICATIONS_PAGE,
            )
            .await?;
        let (count, unread_count) = self
            .store
            .notification_counts(ctx.account_id, ctx.user_id, inboxes.as_deref())
            .await?;
        Ok(NotificationPage {
            meta: NotificationMeta {
                unread_count,
                count,
                current_page: page,
            },
            payload: rows.into_iter().map(notification_view).collect(),
        })
    }

    /// How many of the caller's notifications are unread.
    pub async fn unread_notifications(&self, ctx: &AccountCtx) -> Result<i64> {
        let inboxes = self.visible_inbox_ids(ctx).await?;
        let (_, unread) = self
            .store
            .notification_counts(ctx.account_id, ctx.user_id, inboxes.as_deref())
            .await?;
        Ok(unread)
    }

    /// Marks one of the caller's notifications read and returns it.
    pub async fn read_notification(&self, ctx: &AccountCtx, id: i64) -> Result<NotificationView> {
        self.store
            .read_notification(ctx.account_id, ctx.user_id, id)
            .await
            .or_not_found("notification")?;
        let row = self
            .store
            .notification(ctx.account_id, ctx.user_id, id)
            .await
            .or_not_found("notification")?;
        Ok(notification_view(row))
    }

    /// Marks the caller's notifications read: all, or those of conversation number
    /// `conversation` (which the caller must see).
    pub async fn read_all_notifications(
        &self,
        ctx: &AccountCtx,
        conversation: Option<i64>,
    ) -> Result<u64> {
        let internal = match conversation {
            None => None,
            Some(display_id) => Some(self.visible_conversation(ctx, display_id).await?.id),
        };
        Ok(self
            .store
            .read_notifications(ctx.account_id, ctx.user_id, internal)
            .await?)
    }

    /// The caller's notification choices.
    pub async fn notification_settings(
        &self,
        ctx: &AccountCtx,
    ) -> Result<NotificationSettingsView> {
        let flags = self.store.email_flags(ctx.account_id, ctx.user_id).await?;
        Ok(NotificationSettingsView {
            account_id: ctx.account_id,
            user_id: ctx.user_id,
            all_email_flags: ALL_EMAIL_FLAGS.iter().map(|f| f.to_string()).collect(),
            selected_email_flags: read_flags(&flags),
            all_push_flags: Vec::new(),
            selected_push_flags: Vec::new(),
        })
    }

    /// Changes the caller's notification choices; an unknown flag is a 422 and changes
    /// nothing.
    pub async fn update_notification_settings(
        &self,
        ctx: &AccountCtx,
        req: NotificationSettingsUpdate,
    ) -> Result<NotificationSettingsView> {
        if req
            .selected_push_flags
            .as_ref()
            .is_some_and(|p| !p.is_empty())
        {
            return Err(validate::FieldError::new(
                "selected_push_flags",
                "push notifications are not available",
            )
            .into());
        }
        if let Some(flags) = req.selected_email_flags {
            let mut clean: Vec<&str> = Vec::new();
            for f in &flags {
                let Some(known) = ALL_EMAIL_FLAGS.iter().find(|k| **k == f.as_str()) else {
                    return Err(validate::FieldError::new(
                        "selected_email_flags",
                        format!(
                            "unknown flag; expected any of {}",
                            ALL_EMAIL_FLAGS.join(", ")
                        ),
                    )
                    .into());
                };
                if !clean.contains(known) {
                    clean.push(known);
                }
            }
            let stored =
                serde_json::to_string(&clean).map_err(|e| ServiceError::Internal(e.to_string()))?;
            self.store
                .set_email_flags(ctx.account_id, ctx.user_id, &stored)
                .await?;
        }
        self.notification_settings(ctx).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mention_templates_exist() {
        for id in ["mention_subject", "mention_body"] {
            assert!(parley_core::texts::spec(id).is_some(), "{id}");
        }
    }

    #[test]
    fn one_agent_events_stay_in_their_account() {
        let inner = Event {
            account_id: 1,
            name: MENTIONED_EVENT.into(),
            conversation_id: Some(3),
            inbox_id: Some(2),
            contact_id: None,
            public: false,
            cursor: None,
            data: json!({"id": 5}),
        };
        let e = one_agent_event(7, &inner);
        assert_eq!(for_one_agent(&e), Some((7, inner.clone())));
        let mut other = e.clone();
        other.account_id = 2;
        assert_eq!(for_one_agent(&other), None);
        assert_eq!(for_one_agent(&inner), None);
    }

    #[test]
    fn unknown_stored_flags_read_as_unset() {
        assert_eq!(
            read_flags("[\"email_conversation_mention\",\"x\"]"),
            vec![EMAIL_MENTION_FLAG]
        );
        assert!(read_flags("not json").is_empty());
    }
}
