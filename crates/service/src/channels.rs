//! Inbound messages of external channels (Telegram now, e-mail next): the single ingest
//! call every channel adapter makes, so routing, reply targets, off-hours replies, search
//! and notifications work for every channel exactly as for the widget — the message is
//! stored through [`Services::create_message`], the same path the widget's messages take.
//!
//! Identity is the contact's identity in the inbox (`contact_inboxes.source_id`: a
//! Telegram user id); the conversation is the contact's newest one that is not resolved
//! (or the newest at all with `lock_to_single_conversation`), else a new one, routed like a
//! widget conversation. A message carries the provider's id as its `source_id`, unique per
//! inbox, so a redelivered update is never imported twice; the channel's cursor moves in
//! the same transaction as the message.

use parley_core::{ChannelType, ContentType, ConversationStatus, MessageType};
use parley_store::StoreError;
use parley_store::contacts::{ContactFields, NewContactInbox};
use parley_store::conversations::{ConversationRow, NewConversation};
use parley_store::inboxes::InboxRow;
use serde_json::{Map, Value};

use crate::messages::{MessageInput, Sender, StoredMessage, Upload};
use crate::views::json_obj;
use crate::{Result, ServiceError, Services};

/// The person who wrote, as the channel knows them.
#[derive(Debug, Clone, Default)]
pub struct InboundSender {
    /// The channel's id of the person (a Telegram user id, an e-mail address).
    pub source_id: String,
    pub name: Option<String>,
    /// Stored in the new contact's `additional_attributes` (username, language…).
    pub additional_attributes: Map<String, Value>,
    /// The person's e-mail address (lowercase), stored as a new contact's `email`; a
    /// contact of the account that already has it gets this identity instead of a new
    /// contact being made.
    pub email: Option<String>,
}

/// Which conversation an inbound message joins.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ConversationChoice {
    /// The contact's newest conversation in the inbox that is not resolved (the newest at
    /// all with `lock_to_single_conversation`), else a new one: a chat (Telegram).
    #[default]
    Latest,
    /// This conversation of the inbox's account, reopened if it was resolved (a letter
    /// threaded by its headers or reply address). It may belong to another inbox of the
    /// account (an answer by e-mail to a website conversation).
    Existing(i64),
    /// Always a new conversation (a letter with a new subject).
    New,
}

/// One inbound message of an external channel.
#[derive(Debug, Clone, Default)]
pub struct InboundMessage {
    /// The provider's id of the message, unique in the inbox (`source_id`).
    pub source_id: String,
    pub sender: InboundSender,
    pub content: Option<String>,
    pub uploads: Vec<Upload>,
    /// The provider's id of the message this one answers.
    pub in_reply_to: Option<String>,
    /// Extra `content_attributes` of the message.
    pub content_attributes: Map<String, Value>,
    /// `additional_attributes` of a conversation this message starts (a Telegram chat id).
    pub conversation_attributes: Map<String, Value>,
    /// The channel's cursor after this message, stored with it.
    pub cursor: Option<String>,
    /// Which conversation it joins.
    pub conversation: ConversationChoice,
    /// The message must not get Parley's automatic replies (an automatic letter).
    pub suppress_auto_reply: bool,
}

/// Longest contact name taken from a channel.
const MAX_NAME_CHARS: usize = 255;

impl Services {
    /// Every inbox of a channel type, all accounts (the channel runtime's work list).
    pub async fn channel_inboxes(&self, t: ChannelType) -> Result<Vec<InboxRow>> {
        Ok(self.store.inboxes_of_channel(t).await?)
    }

    /// An inbox by id alone, for the channel runtime and provider webhooks.
    pub async fn channel_inbox(&self, inbox_id: i64) -> Result<Option<InboxRow>> {
        Ok(self.store.inbox_by_id(inbox_id).await?)
    }

    /// Takes or renews this node's lease on polling an inbox's provider; `false` while
    /// another node holds it.
    pub async fn take_channel_lease(
        &self,
        inbox_id: i64,
        ttl: std::time::Duration,
    ) -> Result<bool> {
        let ttl_ms = i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX / 4);
        Ok(self
            .store
            .take_channel_lease(inbox_id, &self.node_id, ttl_ms)
            .await?)
    }

    /// Gives up this node's lease of an inbox.
    pub async fn release_channel_lease(&self, inbox_id: i64) -> Result<()> {
        Ok(self
            .store
            .release_channel_lease(inbox_id, &self.node_id)
            .await?)
    }

    /// The stored position of an inbox's inbound stream.
    pub async fn channel_cursor(&self, inbox_id: i64) -> Result<Option<String>> {
        Ok(self.store.channel_cursor(inbox_id).await?)
    }

    /// Moves the cursor past updates that stored no message.
    pub async fn advance_channel_cursor(&self, inbox_id: i64, cursor: &str) -> Result<()> {
        Ok(self.store.set_channel_cursor(inbox_id, cursor).await?)
    }

    /// Wakes the channel runtime after an inbox was created, changed or deleted.
    pub(crate) fn channels_changed(&self) {
        self.channels_changed
            .send_modify(|n| *n = n.wrapping_add(1));
    }

    /// A watch that changes whenever an inbox is created, changed or deleted (a channel
    /// runtime's signal); every runtime holds its own, so each one wakes.
    pub fn watch_channels(&self) -> tokio::sync::watch::Receiver<u64> {
        self.channels_changed.subscribe()
    }

    /// Gives up every channel lease of this node (at shutdown), so another node or the
    /// next start takes the channels over at once instead of waiting for expiry.
    pub async fn release_channel_leases(&self) -> Result<()> {
        Ok(self.store.release_node_leases(&self.node_id).await?)
    }

    /// A provider's webhook call for `inbox_id`: the inbox must be of channel `t` and the
    /// call must carry the inbox's secret (`Unauthorized` without one, `Forbidden` with a
    /// wrong one); nothing is stored otherwise.
    pub async fn channel_webhook(
        &self,
        t: ChannelType,
        inbox_id: i64,
        secret: Option<&str>,
        body: &[u8],
    ) -> Result<()> {
        let inbox = self
            .store
            .inbox_by_id(inbox_id)
            .await?
            .filter(|i| i.channel() == Some(t))
            .ok_or(ServiceError::NotFound("inbox"))?;
        let expected = inbox.setting_str("webhook_secret").unwrap_or_default();
        let Some(given) = secret else {
            return Err(ServiceError::Unauthorized);
        };
        if expected.is_empty() || !same_secret(given, &expected) {
            return Err(ServiceError::Forbidden("wrong webhook secret".into()));
        }
        let p = self
            .providers
            .get(t)
            .ok_or(ServiceError::NotFound("inbox"))?;
        p.webhook(self, &inbox, body).await
    }

    /// Imports one inbound message of an external channel (see the module's text). A
    /// message already imported (same `source_id`) is returned as it is, not stored again.
    pub async fn ingest_channel_message(
        &self,
        inbox: &InboxRow,
        m: InboundMessage,
    ) -> Result<StoredMessage> {
        if let Some((id, conv)) = self.store.message_by_source(inbox.id, &m.source_id).await? {
            if let Some(c) = &m.cursor {
                self.store.set_channel_cursor(inbox.id, c).await?;
            }
            let message = self
                .store
                .message(conv, id)
                .await?
                .ok_or(ServiceError::NotFound("message"))?;
            return Ok(StoredMessage {
                message,
                created: false,
            });
        }
        let (conv, contact_id) = match m.conversation {
            ConversationChoice::Existing(id) => match self.store.conversation_by_id(id).await? {
                Some(c) if c.account_id == inbox.account_id && c.inbox_id != inbox.id => {
                    // Another inbox's conversation (its reply address proved it): the
                    // message is its contact's.
                    let contact = c.contact_id;
                    (c, contact)
                }
                Some(c) if c.account_id == inbox.account_id => {
                    let (contact_id, _) = self.channel_contact(inbox, &m.sender).await?;
                    (c, contact_id)
                }
                _ => return Err(ServiceError::NotFound("conversation")),
            },
            _ => {
                let (contact_id, identity_id) = self.channel_contact(inbox, &m.sender).await?;
                let conv = self
                    .channel_conversation(inbox, contact_id, identity_id, &m)
                    .await?;
                (conv, contact_id)
            }
        };
        let mut attrs = m.content_attributes;
        if let Some(reply) = &m.in_reply_to
            && let Some((id, _)) = self.store.message_by_source(inbox.id, reply).await?
        {
            attrs.insert("in_reply_to".into(), Value::from(id));
        }
        let has_uploads = !m.uploads.is_empty();
        let content = match m.content {
            Some(c) if !c.trim().is_empty() => Some(
                c.chars()
                    .take(crate::messages::MAX_CONTENT_CHARS)
                    .collect::<String>(),
            ),
            _ if has_uploads => None,
            // Nothing Parley can show (a service message): a placeholder keeps the
            // conversation's order readable instead of losing the update.
            _ => Some("[unsupported message]".to_string()),
        };
        let input = MessageInput {
            message_type: MessageType::Incoming,
            content,
            private: false,
            content_type: ContentType::Text,
            content_attributes: (!attrs.is_empty()).then_some(Value::Object(attrs)),
            echo_id: None,
            source_id: Some(m.source_id),
            uploads: m.uploads,
            cursor: m.cursor,
            cursor_inbox_id: (conv.inbox_id != inbox.id).then_some(inbox.id),
            suppress_auto_reply: m.suppress_auto_reply,
        };
        self.create_message(&conv, Sender::Contact(contact_id), input)
            .await
    }

    /// The conversation of the inbox's message with this provider id (a letter's
    /// Message-ID, imported or sent), for threading.
    pub async fn channel_message_conversation(
        &self,
        inbox: &InboxRow,
        source_id: &str,
    ) -> Result<Option<i64>> {
        Ok(self
            .store
            .message_by_source(inbox.id, source_id)
            .await?
            .map(|(_, conv)| conv))
    }

    /// Whether a conversation of this id belongs to the inbox's account (a reply address's
    /// token names one; tokens of another account's inbox are never honoured).
    pub async fn channel_conversation_in_account(
        &self,
        inbox: &InboxRow,
        conversation_id: i64,
    ) -> Result<bool> {
        Ok(self
            .store
            .conversation_by_id(conversation_id)
            .await?
            .is_some_and(|c| c.account_id == inbox.account_id))
    }

    /// A provider reported after the fact that an outgoing message of the inbox (found by
    /// its provider id) was not delivered (an e-mail bounce): it becomes `failed` with
    /// `reason` (`message.updated`). `false` when no outgoing message has that id.
    pub async fn channel_delivery_failed(
        &self,
        inbox: &InboxRow,
        source_id: &str,
        reason: &str,
    ) -> Result<bool> {
        let Some((id, conv_id)) = self.store.message_by_source(inbox.id, source_id).await? else {
            return Ok(false);
        };
        let (Some(conv), Some(m)) = (
            self.store.conversation_by_id(conv_id).await?,
            self.store.message(conv_id, id).await?,
        ) else {
            return Ok(false);
        };
        if m.message.message_type == MessageType::Incoming.code() {
            return Ok(false);
        }
        let reason: String = reason.chars().take(1000).collect();
        let mut attrs = json_obj(&m.message.content_attributes);
        if let Value::Object(map) = &mut attrs {
            map.insert("external_error".into(), Value::from(reason.clone()));
        }
        self.store
            .set_message_delivery(
                id,
                &parley_store::channels::DeliveryUpdate {
                    status: "failed".into(),
                    content_attributes: attrs.to_string(),
                    external_error: Some(reason),
                    source_id: None,
                },
            )
            .await?;
        self.publish_updated(&conv, id).await?;
        Ok(true)
    }

    /// An inbound edit: the stored message with this provider id gets the new text
    /// (`message.updated`). `false` when no such message was imported.
    pub async fn ingest_channel_edit(
        &self,
        inbox: &InboxRow,
        source_id: &str,
        content: Option<String>,
    ) -> Result<bool> {
        let Some((id, conv_id)) = self.store.message_by_source(inbox.id, source_id).await? else {
            return Ok(false);
        };
        let Some(conv) = self.store.conversation_by_id(conv_id).await? else {
            return Ok(false);
        };
        let Some(m) = self.store.message(conv_id, id).await? else {
            return Ok(false);
        };
        let content = content
            .filter(|c| !c.trim().is_empty())
            .map(|c| {
                c.chars()
                    .take(crate::messages::MAX_CONTENT_CHARS)
                    .collect::<String>()
            })
            .or(m.message.content.clone());
        let mut attrs = json_obj(&m.message.content_attributes);
        if let Value::Object(map) = &mut attrs {
            map.insert("edited".into(), Value::Bool(true));
        }
        self.store
            .update_message(id, content.as_deref(), &attrs.to_string())
            .await?;
        self.publish_updated(&conv, id).await?;
        Ok(true)
    }

    /// The contact with this channel identity in the inbox, created on first contact.
    /// Returns the contact id and the identity (`contact_inboxes`) id.
    async fn channel_contact(&self, inbox: &InboxRow, s: &InboundSender) -> Result<(i64, i64)> {
        for _ in 0..2 {
            if let Some(found) = self
                .store
                .contact_identity_by_source(inbox.id, &s.source_id)
                .await?
            {
                return Ok(found);
            }
            let name = s
                .name
                .as_deref()
                .map(str::trim)
                .filter(|n| !n.is_empty())
                .map(|n| n.chars().take(MAX_NAME_CHARS).collect::<String>());
            let identity = NewContactInbox {
                inbox_id: inbox.id,
                source_id: s.source_id.clone(),
                pubsub_token: parley_store::random_token(24),
                hmac_verified: false,
            };
            if let Some(email) = &s.email
                && let Some(existing) = self
                    .store
                    .contact_id_by_email(inbox.account_id, email)
                    .await?
            {
                // The person is known by this address (from the widget, another inbox):
                // one contact, one history.
                match self
                    .store
                    .add_contact_inbox(inbox.account_id, existing, &identity)
                    .await
                {
                    Ok(ci) => return Ok((existing, ci.id)),
                    Err(StoreError::Conflict(_) | StoreError::NotFound) => continue,
                    Err(e) => return Err(e.into()),
                }
            }
            let fields = ContactFields {
                name,
                email: s.email.clone(),
                additional_attributes: Value::Object(s.additional_attributes.clone()).to_string(),
                custom_attributes: "{}".into(),
                ..Default::default()
            };
            match self
                .store
                .create_contact(inbox.account_id, &fields, Some(&identity))
                .await
            {
                Ok((contact, Some(ci))) => {
                    self.announce_contact("contact.created", &contact, Some(inbox.id))
                        .await;
                    return Ok((contact.id, ci.id));
                }
                Ok((_, None)) => {
                    return Err(ServiceError::Internal("identity was not created".into()));
                }
                // Two updates of a new person raced: the loser finds the winner's row.
                Err(StoreError::Conflict(_)) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(ServiceError::Conflict(
            "the contact is being created, retry".into(),
        ))
    }

    /// The conversation an inbound message joins (see the module's text).
    async fn channel_conversation(
        &self,
        inbox: &InboxRow,
        contact_id: i64,
        identity_id: i64,
        m: &InboundMessage,
    ) -> Result<ConversationRow> {
        let single = crate::settings::InboxSettings::of(inbox)
            .raw()
            .get("lock_to_single_conversation")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        if let Some(c) = self.store.latest_conversation(inbox.id, contact_id).await? {
            let joins = match m.conversation {
                ConversationChoice::Latest => single || c.status() != ConversationStatus::Resolved,
                // A conversation made for this very message whose message was never stored
                // (the server stopped in between): the message comes again and takes it,
                // rather than leaving it empty and starting another.
                _ => {
                    c.last_incoming_at.is_none()
                        && json_obj(&c.additional_attributes)
                            == Value::Object(m.conversation_attributes.clone())
                }
            };
            if joins {
                return Ok(c);
            }
        }
        let row = self
            .store
            .create_conversation(&NewConversation {
                account_id: inbox.account_id,
                inbox_id: inbox.id,
                contact_id,
                contact_inbox_id: Some(identity_id),
                source_id: None,
                status: ConversationStatus::Open,
                assignee_id: None,
                team_id: None,
                custom_attributes: "{}".into(),
                additional_attributes: Value::Object(m.conversation_attributes.clone()).to_string(),
            })
            .await?;
        self.publish_new_conversation(&row).await?;
        Ok(row)
    }
}

/// Compares two secrets through their SHA-256 digests, so the time taken says nothing
/// about how much of a guess was right.
fn same_secret(a: &str, b: &str) -> bool {
    use sha2::{Digest, Sha256};
    Sha256::digest(a.as_bytes()) == Sha256::digest(b.as_bytes())
}
