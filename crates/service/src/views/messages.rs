//! Messages and their attachments, as agents and as the visitor see them.

use parley_core::FileType;
use parley_store::messages::{AttachmentRow, MessageWithAttachments};
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

use super::agents::AgentSummary;
use super::conversations::ContactSummary;
use super::{json_obj, secs};

/// Who a rendering is for; decides attachment URLs and whether e-mails are shown.
#[derive(Debug, Clone)]
pub enum Audience {
    /// Agents of the account (API responses, agent events).
    Agent,
    /// The visitor identified by these public identifiers.
    Public {
        inbox_identifier: String,
        contact_identifier: String,
    },
}

/// An attachment as Chatwoot renders one.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = Attachment)]
pub struct AttachmentView {
    pub id: i64,
    pub message_id: i64,
    /// `image`, `audio`, `video` or `file`.
    pub file_type: String,
    pub account_id: i64,
    pub extension: Option<String>,
    /// Authenticated download URL.
    pub data_url: String,
    pub thumb_url: String,
    pub file_size: i64,
    /// Image size in pixels "when available" (Chatwoot); Parley does not measure images,
    /// so always `null`.
    pub width: Option<i64>,
    pub height: Option<i64>,
    pub file_name: String,
    pub content_type: String,
}

/// The sender of a message.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = MessageSender)]
pub struct SenderView {
    pub id: i64,
    pub name: Option<String>,
    pub available_name: Option<String>,
    pub avatar_url: String,
    pub thumbnail: String,
    /// `user` or `contact`, as in Chatwoot's push payloads.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// Only in agents' views.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
}

/// A message with Chatwoot's field names (`message_type` is the integer code), as in
/// Chatwoot's `push_event_data`.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = Message)]
pub struct MessageView {
    pub id: i64,
    pub content: Option<String>,
    pub account_id: i64,
    pub inbox_id: i64,
    /// The conversation's `display_id`.
    pub conversation_id: i64,
    /// 0 incoming, 1 outgoing, 2 activity, 3 template.
    pub message_type: i64,
    pub content_type: String,
    pub content_attributes: Value,
    pub additional_attributes: Value,
    pub private: bool,
    /// `sent`, `delivered`, `read` or `failed`.
    pub status: String,
    pub source_id: Option<String>,
    pub echo_id: Option<String>,
    /// `User`, `Contact` or null.
    pub sender_type: Option<String>,
    pub sender_id: Option<i64>,
    pub sender: Option<SenderView>,
    pub external_error: Option<String>,
    /// Epoch seconds.
    pub created_at: i64,
    pub updated_at: i64,
    pub attachments: Vec<AttachmentView>,
}

/// A message as the visitor sees it on the Client API.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = PublicMessage)]
pub struct PublicMessageView {
    pub id: i64,
    pub content: Option<String>,
    pub message_type: i64,
    pub content_type: String,
    pub content_attributes: Value,
    pub status: String,
    pub created_at: i64,
    pub conversation_id: i64,
    pub echo_id: Option<String>,
    pub attachments: Vec<AttachmentView>,
    pub sender: Option<SenderView>,
}

/// `meta` of the message list: the conversation's context, as Chatwoot sends it.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = MessageListMeta)]
pub struct MessagesMeta {
    pub labels: Vec<String>,
    pub additional_attributes: Value,
    pub contact: ContactSummary,
    pub assignee: Option<AgentSummary>,
    pub agent_last_seen_at: i64,
    pub assignee_last_seen_at: i64,
}

/// A page of messages.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = MessageList)]
pub struct MessagesPage {
    pub meta: MessagesMeta,
    pub payload: Vec<MessageView>,
}

fn extension(file_name: &str) -> Option<String> {
    let (_, ext) = file_name.rsplit_once('.')?;
    (!ext.is_empty() && ext.len() <= 10).then(|| ext.to_ascii_lowercase())
}

fn attachment_view(base_url: &str, a: &AttachmentRow, audience: &Audience) -> AttachmentView {
    let base = base_url.trim_end_matches('/');
    let data_url = match audience {
        Audience::Agent => format!(
            "{base}/api/v1/accounts/{}/attachments/{}",
            a.account_id, a.id
        ),
        Audience::Public {
            inbox_identifier,
            contact_identifier,
        } => format!(
            "{base}/public/api/v1/inboxes/{inbox_identifier}/contacts/{contact_identifier}/attachments/{}",
            a.id
        ),
    };
    let thumb_url = if a.file_type == FileType::Image.as_str() {
        data_url.clone()
    } else {
        String::new()
    };
    AttachmentView {
        id: a.id,
        message_id: a.message_id,
        file_type: a.file_type.clone(),
        account_id: a.account_id,
        extension: extension(&a.file_name),
        data_url,
        thumb_url,
        file_size: a.file_size,
        width: None,
        height: None,
        file_name: a.file_name.clone(),
        content_type: a.content_type.clone(),
    }
}

fn sender_view(m: &MessageWithAttachments, audience: &Audience) -> Option<SenderView> {
    let r = &m.message;
    let id = r.sender_id?;
    let kind = match r.sender_type.as_deref() {
        Some("User") => "user",
        Some("Contact") => "contact",
        Some("AgentBot") => "agent_bot",
        _ => return None,
    };
    let avatar = r.sender_avatar_url.clone().unwrap_or_default();
    Some(SenderView {
        id,
        name: r.sender_name.clone(),
        available_name: r.sender_display_name.clone().or(r.sender_name.clone()),
        avatar_url: avatar.clone(),
        thumbnail: avatar,
        kind,
        email: match audience {
            Audience::Agent => r.sender_email.clone(),
            Audience::Public { .. } => None,
        },
    })
}

/// Renders a message as the Application API serves it; a free function because the
/// group-commit writer renders each message's event inside its transaction.
pub fn render_message(
    base_url: &str,
    m: &MessageWithAttachments,
    audience: &Audience,
) -> MessageView {
    let r = &m.message;
    MessageView {
        id: r.id,
        content: r.content.clone(),
        account_id: r.account_id,
        inbox_id: r.inbox_id,
        conversation_id: r.display_id,
        message_type: r.message_type,
        content_type: r.content_type.clone(),
        content_attributes: json_obj(&r.content_attributes),
        additional_attributes: json_obj(&r.additional_attributes),
        private: r.private != 0,
        status: r.status.clone(),
        source_id: r.source_id.clone(),
        echo_id: r.echo_id.clone(),
        sender_type: r.sender_type.clone(),
        sender_id: r.sender_id,
        sender: sender_view(m, audience),
        external_error: r.external_error.clone(),
        created_at: secs(r.created_at),
        updated_at: secs(r.updated_at),
        attachments: m
            .attachments
            .iter()
            .map(|a| attachment_view(base_url, a, audience))
            .collect(),
    }
}

/// Renders a message as the Client API serves it to the visitor.
pub fn render_public_message(
    base_url: &str,
    m: &MessageWithAttachments,
    audience: &Audience,
) -> PublicMessageView {
    let r = &m.message;
    PublicMessageView {
        id: r.id,
        content: r.content.clone(),
        message_type: r.message_type,
        content_type: r.content_type.clone(),
        content_attributes: json_obj(&r.content_attributes),
        status: r.status.clone(),
        created_at: secs(r.created_at),
        conversation_id: r.display_id,
        echo_id: r.echo_id.clone(),
        attachments: m
            .attachments
            .iter()
            .map(|a| attachment_view(base_url, a, audience))
            .collect(),
        sender: sender_view(m, audience),
    }
}
