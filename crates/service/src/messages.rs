//! Messages: the one path every message takes into Parley, whatever the door (REST API,
//! Client API, WebSocket, channel adapters) — validate, deduplicate on `echo_id`, store the
//! message with its attachments and the conversation's bookkeeping in one transaction,
//! then publish events and count it.

use std::path::PathBuf;

use parley_core::activity::Activity;
use parley_core::{ContentType, ConversationStatus, FileType, MessageType, validate};
use parley_store::conversations::ConversationRow;
use parley_store::messages::{
    ConversationEffects, MessageInsert, MessageWithAttachments, NewAttachment, NewMessage, Waiting,
};

/// An attachment as these use cases return it.
pub use parley_store::messages::AttachmentRow;
use parley_store::public::PublicIdentity;
use parley_store::random_token;
use serde_json::Value;
use tracing::Instrument;

use crate::views::json_obj;
/// The message views live with the other wire views; named here as before.
pub use crate::views::messages::{
    AttachmentView, Audience, MessageView, MessagesMeta, MessagesPage, PublicMessageView,
    SenderView, render_message, render_public_message,
};
use crate::{AccountCtx, Result, ServiceError, Services};

/// Messages per page of a conversation, as in Chatwoot.
pub const PAGE_SIZE: i64 = 20;
/// Longest message text, in characters. Chatwoot's limit too: long enough for a pasted
/// e-mail or log, short enough that one message cannot bloat every list that shows it.
pub const MAX_CONTENT_CHARS: usize = 150_000;
/// Most attachments on one message (Chatwoot's limit).
pub const MAX_ATTACHMENTS: usize = 15;
/// Content of a deleted message, as Chatwoot writes it.
pub const DELETED_CONTENT: &str = "This message was deleted";

/// Who sends a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sender {
    /// An agent (user id).
    User(i64),
    /// The contact (contact id).
    Contact(i64),
    /// Parley itself: activity messages, templates.
    System,
    /// An agent bot (its id): an external bot answering through the API with its token,
    /// or the built-in bot. Shown as Chatwoot shows bots (`sender_type` `AgentBot`).
    AgentBot(i64),
}

/// An uploaded file, already bounded in size by the HTTP layer.
#[derive(Debug, Clone)]
pub struct Upload {
    /// As the client named it; only its last path component is kept.
    pub file_name: String,
    /// MIME type (`type/subtype`).
    pub content_type: String,
    /// In memory, or staged on disk by the HTTP layer while the body streamed in.
    pub data: crate::uploads::UploadData,
}

/// A message to store, independent of where it came from.
#[derive(Debug, Clone)]
pub struct MessageInput {
    pub message_type: MessageType,
    pub content: Option<String>,
    pub private: bool,
    pub content_type: ContentType,
    pub content_attributes: Option<Value>,
    pub echo_id: Option<String>,
    pub source_id: Option<String>,
    pub uploads: Vec<Upload>,
    /// A channel's inbound cursor after this message, stored in its transaction.
    pub cursor: Option<String>,
    /// The inbox the cursor belongs to when not the conversation's (an e-mail answer
    /// threaded into a website conversation).
    pub cursor_inbox_id: Option<i64>,
    /// The message must not trigger Parley's automatic replies (the off-hours answer): a
    /// letter that is itself automatic (`Auto-Submitted`, a list, a mailer daemon), so two
    /// robots never answer each other.
    pub suppress_auto_reply: bool,
}

impl MessageInput {
    /// A plain text message.
    pub fn text(message_type: MessageType, content: impl Into<String>) -> Self {
        Self {
            message_type,
            content: Some(content.into()),
            private: false,
            content_type: ContentType::Text,
            content_attributes: None,
            echo_id: None,
            source_id: None,
            uploads: Vec::new(),
            cursor: None,
            cursor_inbox_id: None,
            suppress_auto_reply: false,
        }
    }
}

/// Fields of `POST /conversations/{id}/messages`, as the API names them.
#[derive(Debug, Clone, Default)]
pub struct CreateMessage {
    pub content: Option<String>,
    pub message_type: Option<String>,
    pub private: Option<bool>,
    pub content_type: Option<String>,
    pub content_attributes: Option<Value>,
    pub echo_id: Option<String>,
    pub source_id: Option<String>,
    pub uploads: Vec<Upload>,
}

/// A stored message and whether this call created it (false: an `echo_id` retry).
#[derive(Debug, Clone)]
pub struct StoredMessage {
    pub message: MessageWithAttachments,
    pub created: bool,
}

/// Checks message text: at most [`MAX_CONTENT_CHARS`]; blank text reads as none unless
/// `keep_blank`. Returns the text as typed (not trimmed) when kept.
pub fn check_content(content: Option<&str>, keep_blank: bool) -> Result<Option<String>> {
    match content {
        None => Ok(None),
        Some(c) if c.trim().is_empty() && !keep_blank => Ok(None),
        Some(c) => {
            if c.chars().count() > MAX_CONTENT_CHARS {
                return Err(validate::FieldError::new(
                    "content",
                    format!("must be at most {MAX_CONTENT_CHARS} characters"),
                )
                .into());
            }
            Ok(Some(c.to_string()))
        }
    }
}

fn check_id(field: &str, v: Option<&str>, max: usize) -> Result<Option<String>> {
    match v {
        None => Ok(None),
        Some(s) if s.is_empty() || s.len() > max || s.chars().any(char::is_control) => Err(
            validate::FieldError::new(field, format!("must be 1 to {max} printable characters"))
                .into(),
        ),
        Some(s) => Ok(Some(s.to_string())),
    }
}

/// The last path component of a client's file name, without control characters, bounded.
fn clean_file_name(name: &str) -> String {
    let base = name.rsplit(['/', '\\']).next().unwrap_or("");
    let cleaned: String = base
        .chars()
        .filter(|c| !c.is_control() && *c != '"')
        .take(200)
        .collect();
    let cleaned = cleaned.trim().trim_start_matches('.').to_string();
    if cleaned.is_empty() {
        "file".into()
    } else {
        cleaned
    }
}

fn clean_mime(m: &str) -> String {
    let m = m
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    let ok = m.len() <= 100
        && m.split_once('/').is_some_and(|(a, b)| {
            !a.is_empty()
                && !b.is_empty()
                && m.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "/.+-_".contains(c))
        });
    if ok {
        m
    } else {
        "application/octet-stream".into()
    }
}

fn is_deleted(m: &MessageWithAttachments) -> bool {
    json_obj(&m.message.content_attributes)
        .get("deleted")
        .and_then(Value::as_bool)
        .unwrap_or(false)
}

impl Services {
    /// Where an attachment's bytes live. Storage keys are generated by us (hex and one
    /// slash), checked again here so a corrupt row can never point outside the directory.
    pub fn attachment_path(&self, storage_key: &str) -> Result<PathBuf> {
        let ok = !storage_key.is_empty()
            && storage_key
                .chars()
                .all(|c| c.is_ascii_hexdigit() || c == '/')
            && !storage_key.starts_with('/');
        if !ok {
            return Err(ServiceError::Internal(format!(
                "bad storage key {storage_key:?}"
            )));
        }
        Ok(self.config.files_dir.join(storage_key))
    }

    /// Puts uploads in place under random names (a rename for staged files), within the
    /// account's storage quota; on error removes what was written.
    async fn write_uploads(
        &self,
        account_id: i64,
        uploads: &[Upload],
    ) -> Result<Vec<NewAttachment>> {
        let incoming = uploads.iter().map(|u| u.data.len()).sum::<u64>();
        self.check_storage_quota(account_id, incoming).await?;
        let mut out: Vec<NewAttachment> = Vec::with_capacity(uploads.len());
        for u in uploads {
            let key = random_token(16);
            let storage_key = format!("{}/{}", &key[..2], key);
            let res = async {
                let path = self.attachment_path(&storage_key)?;
                if let Some(dir) = path.parent() {
                    tokio::fs::create_dir_all(dir)
                        .await
                        .map_err(|e| ServiceError::Internal(format!("creating {dir:?}: {e}")))?;
                }
                u.data
                    .store_at(&path)
                    .await
                    .map_err(|e| ServiceError::Internal(format!("writing {path:?}: {e}")))
            }
            .await;
            if let Err(e) = res {
                self.remove_files(out.iter().map(|a| a.storage_key.as_str()))
                    .await;
                return Err(e);
            }
            let content_type = clean_mime(&u.content_type);
            out.push(NewAttachment {
                file_type: FileType::from_mime(&content_type).as_str().into(),
                file_name: clean_file_name(&u.file_name),
                content_type,
                file_size: u.data.len() as i64,
                storage_key,
            });
        }
        Ok(out)
    }

    async fn remove_files<'a>(&self, keys: impl Iterator<Item = &'a str>) {
        for k in keys {
            if let Ok(p) = self.attachment_path(k)
                && let Err(e) = tokio::fs::remove_file(&p).await
            {
                tracing::warn!(path = ?p, error = %e, "could not remove attachment file");
            }
        }
    }

    /// Stores a message in `conv` from `sender`: the single write path of every message.
    ///
    /// A retry with an `echo_id` already used in this conversation (or a channel
    /// `source_id` already used in this inbox) returns the stored message and changes
    /// nothing. Events are published only after the transaction committed.
    ///
    /// Boxed as a `Send` future: routing may store an activity message from inside the
    /// follow-up of this one, and the box is what lets the compiler see that recursion
    /// through the spawned follow-up is `Send`.
    pub fn create_message<'a>(
        &'a self,
        conv: &'a ConversationRow,
        sender: Sender,
        input: MessageInput,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<StoredMessage>> + Send + 'a>>
    {
        Box::pin(self.create_message_here(conv, sender, input))
    }

    async fn create_message_here(
        &self,
        conv: &ConversationRow,
        sender: Sender,
        input: MessageInput,
    ) -> Result<StoredMessage> {
        let content = check_content(input.content.as_deref(), false)?;
        if content.is_none() && input.uploads.is_empty() && input.content_type == ContentType::Text
        {
            return Err(validate::FieldError::new("content", "must not be empty").into());
        }
        let content_attributes = check_note_and_attributes(&input)?;
        let echo_id = check_id("echo_id", input.echo_id.as_deref(), 128)?;
        let source_id = check_id("source_id", input.source_id.as_deref(), 255)?;
        if input.uploads.len() > MAX_ATTACHMENTS {
            return Err(validate::FieldError::new(
                "attachments",
                format!("at most {MAX_ATTACHMENTS} files per message"),
            )
            .into());
        }
        if input
            .uploads
            .iter()
            .any(|u| u.data.len() > self.config.max_upload_bytes as u64)
        {
            return Err(validate::FieldError::new("attachments", "file is too large").into());
        }
        let fx = match (input.message_type, sender) {
            // A muted conversation takes the contact's message and stays as it is.
            (MessageType::Incoming, _) if conv.muted_at(self.store.now()) => ConversationEffects {
                first_reply: false,
                waiting: Waiting::Keep,
                reopen: false,
            },
            (MessageType::Incoming, _) => ConversationEffects {
                first_reply: false,
                waiting: Waiting::Start,
                reopen: true,
            },
            (MessageType::Outgoing, Sender::User(_)) if !input.private => ConversationEffects {
                first_reply: true,
                waiting: Waiting::Stop,
                reopen: false,
            },
            _ => ConversationEffects {
                first_reply: false,
                waiting: Waiting::Keep,
                reopen: false,
            },
        };
        let (sender_type, sender_id) = sender_columns(sender);
        let (deliver, awaits_webhook) = self.delivers_through_provider(conv, &input).await?;
        let attachments = self.write_uploads(conv.account_id, &input.uploads).await?;
        let new = NewMessage {
            account_id: conv.account_id,
            inbox_id: conv.inbox_id,
            conversation_id: conv.id,
            message_type: input.message_type.code(),
            content,
            content_type: input.content_type.as_str().into(),
            content_attributes,
            additional_attributes: "{}".into(),
            private: input.private,
            // An external channel's reply is `progress` until its provider accepts it
            // (delivery.rs), an API inbox's until its `webhook_url` answers 2xx
            // (webhooks.rs); everything else is read from Parley itself.
            status: if deliver || awaits_webhook {
                "progress"
            } else {
                "sent"
            }
            .into(),
            sender_type,
            sender_id,
            echo_id,
            source_id,
            attachments,
            deliver,
            cursor: input.cursor.clone(),
            cursor_inbox_id: input.cursor_inbox_id,
        };
        // The commit and everything that belongs to it (the live event, the counter, the
        // status change of a reopened conversation, routing and reply targets) run in a
        // task of their own: a client that disconnects while waiting (a closed socket, a
        // dropped HTTP request) cancels only its wait, never the follow-up of a commit
        // (issue 12, finding 13). A retry by `echo_id` then finds it all done.
        let svc = self.clone();
        let had_sla = conv.sla_due_at.is_some();
        let conversation_id = conv.id;
        let auto_reply = !input.suppress_auto_reply;
        let work: std::pin::Pin<
            Box<dyn std::future::Future<Output = Result<StoredMessage>> + Send>,
        > = Box::pin(async move {
            svc.store_and_follow(new, fx, conversation_id, had_sla, auto_reply)
                .await
        });
        match tokio::spawn(work.in_current_span()).await {
            Ok(r) => r,
            Err(e) => Err(ServiceError::Internal(format!("message task failed: {e}"))),
        }
    }

    /// Whether a message leaves through its inbox's provider (the outbox): a public
    /// outgoing or template message in an external channel's inbox; and whether it waits
    /// for an API inbox's `webhook_url` to accept it. Only such messages cost the inbox
    /// lookup; the contact's own messages never do.
    async fn delivers_through_provider(
        &self,
        conv: &ConversationRow,
        input: &MessageInput,
    ) -> Result<(bool, bool)> {
        if input.private
            || !matches!(
                input.message_type,
                MessageType::Outgoing | MessageType::Template
            )
        {
            return Ok((false, false));
        }
        let inbox = self.store.inbox_ref(conv.account_id, conv.inbox_id).await?;
        let t = inbox
            .as_ref()
            .and_then(|i| parley_core::ChannelType::parse(&i.channel_type));
        let deliver = t.is_some_and(parley_core::ChannelType::delivers_through_provider);
        let awaits_webhook = t == Some(parley_core::ChannelType::Api)
            && self.store.inbox_webhook(conv.inbox_id).await?.is_some();
        Ok((deliver, awaits_webhook))
    }

    /// The part of [`Services::create_message`] that must not be cancelled: the commit by
    /// the writer, then the work that follows a committed message.
    async fn store_and_follow(
        &self,
        new: NewMessage,
        fx: ConversationEffects,
        conversation_id: i64,
        had_sla: bool,
        auto_reply: bool,
    ) -> Result<StoredMessage> {
        let outcome = self.message_writer.insert(new.clone(), fx).await;
        let keys = || new.attachments.iter().map(|a| a.storage_key.as_str());
        let outcome = match outcome {
            Ok(o) => o,
            Err(e) => {
                self.remove_files(keys()).await;
                return Err(match e {
                    parley_store::StoreError::Conflict(_) => ServiceError::Conflict(
                        "source_id is already used by a message of another conversation".into(),
                    ),
                    other => other.into(),
                });
            }
        };
        match outcome {
            MessageInsert::Duplicate { message_id } => {
                self.remove_files(keys()).await;
                let message = self.message_of(conversation_id, message_id).await?;
                Ok(StoredMessage {
                    message,
                    created: false,
                })
            }
            MessageInsert::Created {
                before,
                after,
                message,
                event,
                ..
            } => {
                metrics::counter!("parley_messages_stored_total").increment(1);
                self.bus.publish(crate::realtime::event_of_row(*event));
                let message = *message;
                if before.status != after.status
                    && let Err(e) = self
                        .publish_changed("conversation.status_changed", &after)
                        .await
                {
                    // The message is stored: its sender gets it whatever became of the
                    // event (the conversation's state is already committed).
                    tracing::warn!(conversation = after.id, error = %e, "status change event failed");
                }
                // The message is stored and acknowledged whatever routing and reply targets
                // make of it; their failures are logged, not returned to the sender.
                let hook = self.on_message_stored(&before, &after, fx.waiting, had_sla, auto_reply);
                // Boxed: routing may write an activity message, which comes back here.
                if let Err(e) = Box::pin(hook).await {
                    tracing::warn!(conversation = after.id, error = %e, "after-message routing failed");
                }
                Ok(StoredMessage {
                    message,
                    created: true,
                })
            }
        }
    }

    /// An activity line ("Conversation was marked resolved by Maria"), stored as its
    /// English text with its description in `content_attributes.activity`.
    pub(crate) async fn activity(&self, conv: &ConversationRow, activity: Activity) -> Result<()> {
        self.create_message(conv, Sender::System, activity_input(&activity))
            .await?;
        Ok(())
    }

    /// Stores and publishes a message event other than `message.created` (which the
    /// writer stores with the message).
    pub(crate) async fn emit_message(
        &self,
        name: &str,
        conv: &ConversationRow,
        m: &MessageWithAttachments,
    ) {
        let data = serde_json::to_string(&self.message_view(m, &Audience::Agent))
            .unwrap_or_else(|_| "null".into());
        self.emit(parley_store::events::EventDraft {
            account_id: conv.account_id,
            name: name.into(),
            conversation_id: Some(conv.id),
            inbox_id: Some(conv.inbox_id),
            contact_id: Some(conv.contact_id),
            public: parley_store::messages::visitor_sees(&m.message),
            payload: data,
            origin: None,
        })
        .await;
    }

    /// An agent (or an API client with an agent's token) posts a message.
    pub async fn agent_create_message(
        &self,
        ctx: &AccountCtx,
        display_id: i64,
        req: CreateMessage,
    ) -> Result<MessageView> {
        let conv = self.visible_conversation(ctx, display_id).await?;
        let message_type = match req.message_type.as_deref() {
            None => MessageType::Outgoing,
            Some(s) => MessageType::parse(s).ok_or_else(|| {
                validate::FieldError::new("message_type", "must be outgoing, incoming or template")
            })?,
        };
        let sender = match message_type {
            MessageType::Outgoing => match &ctx.bot {
                Some(b) => Sender::AgentBot(b.bot_id),
                None => Sender::User(ctx.user_id),
            },
            MessageType::Template => Sender::System,
            MessageType::Incoming => {
                // Only API inboxes take incoming messages posted by an integration on the
                // contact's behalf; other channels receive them from the contact directly.
                let inbox = self
                    .store
                    .inbox_ref(ctx.account_id, conv.inbox_id)
                    .await?
                    .ok_or(ServiceError::NotFound("inbox"))?;
                if inbox.channel_type != parley_core::ChannelType::Api.as_str() {
                    return Err(validate::FieldError::new(
                        "message_type",
                        "incoming messages can be created only in API inboxes",
                    )
                    .into());
                }
                Sender::Contact(conv.contact_id)
            }
            MessageType::Activity => {
                return Err(validate::FieldError::new(
                    "message_type",
                    "must be outgoing, incoming or template",
                )
                .into());
            }
        };
        let content_type = match req.content_type.as_deref() {
            None => ContentType::Text,
            Some(s) => ContentType::parse(s).ok_or_else(|| {
                validate::FieldError::new(
                    "content_type",
                    format!("must be one of {}", ContentType::expected()),
                )
            })?,
        };
        let input = MessageInput {
            message_type,
            content: req.content,
            private: req.private.unwrap_or(false),
            content_type,
            content_attributes: req.content_attributes,
            echo_id: req.echo_id,
            source_id: req.source_id,
            uploads: req.uploads,
            cursor: None,
            cursor_inbox_id: None,
            suppress_auto_reply: false,
        };
        let private = input.private;
        let stored = self.create_message(&conv, sender, input).await?;
        let mentioned = match stored.message.message.content.as_deref() {
            Some(c) if stored.created && private && message_type == MessageType::Outgoing => {
                parley_core::mention::mentioned_ids(c)
            }
            _ => Vec::new(),
        };
        if !mentioned.is_empty() {
            // In a task of its own, like the message's follow-up: a client that goes away
            // does not cancel the notifications of a note that is stored.
            let (svc, ctx, conv, m) = (
                self.clone(),
                ctx.clone(),
                conv.clone(),
                stored.message.clone(),
            );
            let work = async move { svc.note_stored(&ctx, &conv, &m, &mentioned).await };
            if let Err(e) = tokio::spawn(work.in_current_span()).await {
                tracing::warn!(error = %e, "mention task failed");
            }
        }
        Ok(self.message_view(&stored.message, &Audience::Agent))
    }

    /// A page of a conversation's messages with the conversation's context.
    pub async fn list_messages(
        &self,
        ctx: &AccountCtx,
        display_id: i64,
        before: Option<i64>,
        after: Option<i64>,
    ) -> Result<MessagesPage> {
        let conv = self.visible_conversation(ctx, display_id).await?;
        let rows = self
            .store
            .messages_page(conv.id, before, after, PAGE_SIZE, false)
            .await?;
        let view = self
            .conversation_view(conv.account_id, conv.display_id)
            .await?;
        Ok(MessagesPage {
            meta: MessagesMeta {
                labels: view.labels,
                additional_attributes: view.additional_attributes,
                contact: view.meta.sender,
                assignee: view.meta.assignee,
                agent_last_seen_at: view.agent_last_seen_at,
                assignee_last_seen_at: view.assignee_last_seen_at,
            },
            payload: rows
                .iter()
                .map(|m| self.message_view(m, &Audience::Agent))
                .collect(),
        })
    }

    /// One message of a conversation; `NotFound("message")` if it is not there.
    async fn message_of(
        &self,
        conversation_id: i64,
        message_id: i64,
    ) -> Result<MessageWithAttachments> {
        self.store
            .message(conversation_id, message_id)
            .await?
            .ok_or(ServiceError::NotFound("message"))
    }

    /// Reloads a changed message, announces `message.updated` and returns the agent's
    /// view: an edit and a delete report the stored row, not what was asked for.
    pub(crate) async fn publish_updated(
        &self,
        conv: &ConversationRow,
        message_id: i64,
    ) -> Result<MessageView> {
        let updated = self.message_of(conv.id, message_id).await?;
        self.emit_message("message.updated", conv, &updated).await;
        Ok(self.message_view(&updated, &Audience::Agent))
    }

    async fn visible_message(
        &self,
        ctx: &AccountCtx,
        display_id: i64,
        message_id: i64,
    ) -> Result<(ConversationRow, MessageWithAttachments)> {
        let conv = self.visible_conversation(ctx, display_id).await?;
        let m = self.message_of(conv.id, message_id).await?;
        Ok((conv, m))
    }

    /// Edits the content or content attributes of one's own outgoing message.
    pub async fn update_message(
        &self,
        ctx: &AccountCtx,
        display_id: i64,
        message_id: i64,
        content: Option<String>,
        content_attributes: Option<Value>,
    ) -> Result<MessageView> {
        let (conv, m) = self.visible_message(ctx, display_id, message_id).await?;
        let own = m.message.message_type == MessageType::Outgoing.code()
            && m.message.sender_type.as_deref() == Some("User")
            && m.message.sender_id == Some(ctx.user_id);
        if !own {
            return Err(ServiceError::Forbidden(
                "only your own outgoing messages can be edited".into(),
            ));
        }
        if is_deleted(&m) {
            return Err(validate::FieldError::new("content", "the message was deleted").into());
        }
        if content.is_none() && content_attributes.is_none() {
            return Err(validate::FieldError::new(
                "content",
                "content or content_attributes is required",
            )
            .into());
        }
        let new_content = match content {
            Some(c) => {
                let c = check_content(Some(&c), false)?;
                if c.is_none() && m.attachments.is_empty() {
                    return Err(validate::FieldError::new("content", "must not be empty").into());
                }
                c
            }
            None => m.message.content.clone(),
        };
        let attrs = match content_attributes {
            Some(v) => {
                validate::attributes("content_attributes", &v)?;
                v.to_string()
            }
            None => m.message.content_attributes.clone(),
        };
        self.store
            .update_message(m.message.id, new_content.as_deref(), &attrs)
            .await?;
        self.publish_updated(&conv, message_id).await
    }

    /// Puts a failed outgoing message back in the outbox (`POST …/messages/{id}/retry`).
    pub async fn retry_message(
        &self,
        ctx: &AccountCtx,
        display_id: i64,
        message_id: i64,
    ) -> Result<MessageView> {
        let conv = self.visible_conversation(ctx, display_id).await?;
        let m = self
            .store
            .message(conv.id, message_id)
            .await?
            .ok_or(ServiceError::NotFound("message"))?;
        if m.message.status != "failed" {
            return Err(parley_core::validate::FieldError::new(
                "status",
                "only a failed message can be retried",
            )
            .into());
        }
        let mut attrs = json_obj(&m.message.content_attributes);
        if let Value::Object(map) = &mut attrs {
            map.remove("external_error");
        }
        // An API inbox's reply goes back to its `webhook_url` (webhooks.rs), any other
        // channel's to the outbox.
        let api_inbox = self
            .store
            .inbox_ref(conv.account_id, conv.inbox_id)
            .await?
            .is_some_and(|i| i.channel_type == parley_core::ChannelType::Api.as_str());
        let requeued = if api_inbox {
            self.store
                .requeue_webhook_message(conv.inbox_id, m.message.id, &attrs.to_string())
                .await
                .map_err(|e| match e {
                    parley_store::StoreError::NotFound => {
                        parley_store::StoreError::Conflict("no webhook delivery to retry".into())
                    }
                    other => other,
                })
        } else {
            self.store
                .requeue_delivery(conv.account_id, m.message.id, &attrs.to_string())
                .await
        };
        match requeued {
            Err(parley_store::StoreError::Conflict(_)) => {
                return Err(parley_core::validate::FieldError::new(
                    "status",
                    "only a failed message can be retried",
                )
                .into());
            }
            other => other?,
        }
        self.publish_updated(&conv, message_id).await
    }

    /// Deletes a message the way Chatwoot does: the row stays (so the thread keeps its
    /// shape) with "This message was deleted" and `content_attributes.deleted = true`;
    /// its attachments and their files are removed. Administrators and supervisors may
    /// delete any message, agents their own.
    pub async fn delete_message(
        &self,
        ctx: &AccountCtx,
        display_id: i64,
        message_id: i64,
    ) -> Result<MessageView> {
        let (conv, m) = self.visible_message(ctx, display_id, message_id).await?;
        let own = m.message.sender_type.as_deref() == Some("User")
            && m.message.sender_id == Some(ctx.user_id);
        if !own && !ctx.sees_all_inboxes() {
            return Err(ServiceError::Forbidden(
                "agents can delete only their own messages".into(),
            ));
        }
        let mut attrs = json_obj(&m.message.content_attributes);
        if let Value::Object(map) = &mut attrs {
            map.insert("deleted".into(), Value::Bool(true));
        }
        let removed = self
            .store
            .delete_message(m.message.id, DELETED_CONTENT, &attrs.to_string())
            .await?;
        self.remove_files(removed.iter().map(|a| a.storage_key.as_str()))
            .await;
        self.publish_updated(&conv, message_id).await
    }

    /// An attachment the agent may see, with the path of its bytes.
    pub async fn attachment_file(
        &self,
        ctx: &AccountCtx,
        attachment_id: i64,
    ) -> Result<(AttachmentRow, PathBuf)> {
        let (att, conv, _) = self
            .store
            .attachment(ctx.account_id, attachment_id)
            .await?
            .ok_or(ServiceError::NotFound("attachment"))?;
        self.visible_conversation(ctx, conv.display_id)
            .await
            .map_err(|_| ServiceError::NotFound("attachment"))?;
        let path = self.attachment_path(&att.storage_key)?;
        Ok((att, path))
    }

    /// An attachment of the visitor's own conversation (never of a private note).
    pub async fn public_attachment_file(
        &self,
        ident: &PublicIdentity,
        attachment_id: i64,
    ) -> Result<(AttachmentRow, PathBuf)> {
        let (att, conv, private) = self
            .store
            .attachment(ident.account_id, attachment_id)
            .await?
            .ok_or(ServiceError::NotFound("attachment"))?;
        if private || conv.contact_id != ident.contact_id || conv.inbox_id != ident.inbox_id {
            return Err(ServiceError::NotFound("attachment"));
        }
        let path = self.attachment_path(&att.storage_key)?;
        Ok((att, path))
    }

    /// The visitor's public identifiers, for attachment URLs in their responses.
    pub async fn public_audience(&self, ident: &PublicIdentity) -> Result<Audience> {
        let inbox = self
            .store
            .inbox_ref(ident.account_id, ident.inbox_id)
            .await?
            .ok_or(ServiceError::NotFound("inbox"))?;
        Ok(Audience::Public {
            inbox_identifier: inbox.identifier,
            contact_identifier: ident.source_id.clone(),
        })
    }

    /// Messages of the visitor's conversation, without private notes.
    pub async fn public_messages(
        &self,
        ident: &PublicIdentity,
        display_id: i64,
        before: Option<i64>,
        after: Option<i64>,
    ) -> Result<Vec<PublicMessageView>> {
        let conv = self.public_conversation_row(ident, display_id).await?;
        let rows = self
            .store
            .messages_page(conv.id, before, after, PAGE_SIZE, true)
            .await?;
        let audience = self.public_audience(ident).await?;
        Ok(rows
            .iter()
            .map(|m| self.public_message_view(m, &audience))
            .collect())
    }

    /// The visitor writes in their conversation (an incoming message).
    pub async fn public_create_message(
        &self,
        ident: &PublicIdentity,
        display_id: i64,
        content: Option<String>,
        echo_id: Option<String>,
        uploads: Vec<Upload>,
    ) -> Result<PublicMessageView> {
        let conv = self.public_conversation_row(ident, display_id).await?;
        let audience = self.public_audience(ident).await?;
        self.public_write(ident, &conv, &audience, content, echo_id, uploads)
            .await
    }

    /// The visitor writes in `conv`, which the caller got from
    /// [`Services::public_conversation_row`] for this `ident` (a WebSocket keeps it, and the
    /// visitor's `audience`, for its lifetime: a conversation never changes hands).
    pub async fn public_write(
        &self,
        ident: &PublicIdentity,
        conv: &ConversationRow,
        audience: &Audience,
        content: Option<String>,
        echo_id: Option<String>,
        uploads: Vec<Upload>,
    ) -> Result<PublicMessageView> {
        if conv.contact_id != ident.contact_id || conv.inbox_id != ident.inbox_id {
            return Err(ServiceError::NotFound("conversation"));
        }
        self.public_limits
            .messages_per_visitor
            .take(&ident.contact_inbox_id.to_string())?;
        let input = MessageInput {
            message_type: MessageType::Incoming,
            content,
            private: false,
            content_type: ContentType::Text,
            content_attributes: None,
            echo_id,
            source_id: None,
            uploads,
            cursor: None,
            cursor_inbox_id: None,
            suppress_auto_reply: false,
        };
        let stored = self
            .create_message(conv, Sender::Contact(ident.contact_id), input)
            .await?;
        Ok(self.public_message_view(&stored.message, audience))
    }

    /// Renders a message for agents.
    pub fn message_view(&self, m: &MessageWithAttachments, audience: &Audience) -> MessageView {
        render_message(&self.config.public_url, m, audience)
    }

    /// Renders a message for the visitor.
    pub fn public_message_view(
        &self,
        m: &MessageWithAttachments,
        audience: &Audience,
    ) -> PublicMessageView {
        render_public_message(&self.config.public_url, m, audience)
    }
}

/// The stored `sender_type` and `sender_id` of a sender.
fn sender_columns(sender: Sender) -> (Option<String>, Option<i64>) {
    match sender {
        Sender::User(id) => (Some("User".to_string()), Some(id)),
        Sender::Contact(id) => (Some("Contact".to_string()), Some(id)),
        Sender::System => (None, None),
        Sender::AgentBot(id) => (Some("AgentBot".to_string()), Some(id)),
    }
}

/// The checks every stored message shares: only outgoing messages may be private notes,
/// and content attributes are a bounded JSON object. Returns the attributes as stored.
fn check_note_and_attributes(input: &MessageInput) -> Result<String> {
    if input.private && input.message_type != MessageType::Outgoing {
        return Err(validate::FieldError::new(
            "private",
            "only outgoing messages can be private notes",
        )
        .into());
    }
    match &input.content_attributes {
        None | Some(Value::Null) => Ok("{}".to_string()),
        Some(v) => {
            validate::attributes("content_attributes", v)?;
            Ok(v.to_string())
        }
    }
}

/// A text message (no uploads, no echo or source id) checked as
/// [`Services::create_message`] checks one, for storing inside a larger transaction (a
/// transfer's) instead of through the writer.
pub(crate) fn text_message(
    conv: &ConversationRow,
    sender: Sender,
    input: &MessageInput,
) -> Result<NewMessage> {
    let content = check_content(input.content.as_deref(), false)?
        .ok_or_else(|| validate::FieldError::new("content", "must not be empty"))?;
    let content_attributes = check_note_and_attributes(input)?;
    let (sender_type, sender_id) = sender_columns(sender);
    Ok(NewMessage {
        account_id: conv.account_id,
        inbox_id: conv.inbox_id,
        conversation_id: conv.id,
        message_type: input.message_type.code(),
        content: Some(content),
        content_type: input.content_type.as_str().into(),
        content_attributes,
        additional_attributes: "{}".into(),
        private: input.private,
        status: "sent".into(),
        sender_type,
        sender_id,
        echo_id: None,
        source_id: None,
        attachments: Vec::new(),
        deliver: false,
        cursor: None,
        cursor_inbox_id: None,
    })
}

/// The message of an activity line: the English text (bounded like any message) and the
/// machine-readable description, made from one value so they always agree.
///
/// A line written while an automation rule acts says the rule did it
/// ([`Activity::by_rule`]).
pub(crate) fn activity_input(activity: &Activity) -> MessageInput {
    let by_rule = crate::context::acting_rule().map(|rule| activity.clone().by_rule(rule));
    let activity = by_rule.as_ref().unwrap_or(activity);
    let text: String = activity.text().chars().take(MAX_CONTENT_CHARS).collect();
    let mut input = MessageInput::text(MessageType::Activity, text);
    input.content_attributes = Some(activity.attributes());
    input
}

/// Whether a status counts as closed for reopening rules (used by channel adapters).
pub fn is_closed(status: ConversationStatus) -> bool {
    matches!(
        status,
        ConversationStatus::Resolved | ConversationStatus::Snoozed
    )
}
