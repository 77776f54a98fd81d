//! Telegram updates into Parley's single ingest call: a private chat's message becomes an
//! incoming message of the contact (text or caption, files as attachments, a location or
//! a shared contact as descriptive text), an edited message updates the stored one, and
//! anything from a group, supergroup or channel is ignored with a log line.

use parley_service::Services;
use parley_service::channels::{ConversationChoice, InboundMessage, InboundSender};
use parley_service::inboxes::InboxRow;
use parley_service::messages::Upload;
use parley_service::uploads::UploadData;
use serde_json::{Map, Value, json};

use super::api::{ApiError, BotApi};
use super::types::{FileRef, Message, Update};

/// The Bot API's limit of a file a bot may download.
const BOT_DOWNLOAD_LIMIT: u64 = 20 * 1024 * 1024;

/// What one update did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// A message was stored (or found already stored); its cursor moved with it.
    Stored,
    /// Something other than a new message (an edit, an ignored chat): the cursor still
    /// has to move past it.
    Other,
}

/// The provider's id of a message: unique per chat, so the chat is part of it.
pub fn message_source_id(m: &Message) -> String {
    format!("{}:{}", m.chat.id, m.message_id)
}

/// Handles one update of `inbox`. `cursor` is stored with the message it creates.
pub async fn handle_update(
    svc: &Services,
    api: &BotApi,
    inbox: &InboxRow,
    token: &str,
    update: Update,
    cursor: Option<String>,
) -> parley_service::Result<Outcome> {
    if let Some(m) = update.edited_message {
        if m.chat.kind != "private" {
            return Ok(Outcome::Other);
        }
        let text = m.text.clone().or(m.caption.clone());
        svc.ingest_channel_edit(inbox, &message_source_id(&m), text)
            .await?;
        return Ok(Outcome::Other);
    }
    let Some(m) = update.message else {
        return Ok(Outcome::Other);
    };
    if m.chat.kind != "private" {
        tracing::info!(inbox = inbox.id, chat = m.chat.id, kind = %m.chat.kind, "Telegram update from a group or channel ignored");
        return Ok(Outcome::Other);
    }
    let max = (svc.config.max_upload_bytes as u64).min(BOT_DOWNLOAD_LIMIT);
    let mut uploads = Vec::new();
    let mut notes: Vec<String> = Vec::new();
    for (file, default_name, default_type) in files_of(&m) {
        match fetch(api, token, &file, max).await {
            Ok(bytes) => uploads.push(Upload {
                file_name: file
                    .file_name
                    .clone()
                    .unwrap_or_else(|| default_name.to_string()),
                content_type: file
                    .mime_type
                    .clone()
                    .unwrap_or_else(|| default_type.to_string()),
                data: UploadData::Memory(bytes.into()),
            }),
            // A file Parley cannot fetch (too large) is named, so the agent knows it exists.
            Err(ApiError::Refused { description, .. }) => notes.push(format!(
                "[{}: {description}]",
                file.file_name.as_deref().unwrap_or(default_name)
            )),
            Err(e) => return Err(parley_service::ServiceError::Internal(e.to_string())),
        }
    }
    let mut text: Vec<String> = Vec::new();
    if let Some(t) = m.text.as_deref().or(m.caption.as_deref()) {
        text.push(t.to_string());
    }
    if let Some(s) = &m.sticker
        && uploads.is_empty()
    {
        text.push(format!("[sticker {}]", s.emoji.as_deref().unwrap_or("")).replace(" ]", "]"));
    }
    if let Some(l) = &m.location {
        text.push(format!(
            "📍 https://maps.google.com/?q={},{}",
            l.latitude, l.longitude
        ));
    }
    if let Some(c) = &m.contact {
        let name = [Some(c.first_name.as_str()), c.last_name.as_deref()]
            .into_iter()
            .flatten()
            .filter(|s| !s.is_empty())
            .collect::<Vec<_>>()
            .join(" ");
        text.push(format!("☎ {name} {}", c.phone_number).trim().to_string());
    }
    text.extend(notes);
    let from = m.from.clone();
    let name = from.as_ref().map(|u| {
        [Some(u.first_name.as_str()), u.last_name.as_deref()]
            .into_iter()
            .flatten()
            .filter(|s| !s.is_empty())
            .collect::<Vec<_>>()
            .join(" ")
    });
    let mut attrs = Map::new();
    if let Some(u) = &from {
        attrs.insert("social_telegram_user_id".into(), json!(u.id));
        if let Some(un) = &u.username {
            attrs.insert("username".into(), json!(un));
            attrs.insert("social_telegram_user_name".into(), json!(un));
        }
        if let Some(lc) = &u.language_code {
            attrs.insert("language_code".into(), json!(lc));
        }
    }
    let mut conv_attrs = Map::new();
    conv_attrs.insert("chat_id".into(), json!(m.chat.id));
    let mut content_attributes = Map::new();
    content_attributes.insert("external_id".into(), Value::from(message_source_id(&m)));
    let inbound = InboundMessage {
        source_id: message_source_id(&m),
        sender: InboundSender {
            source_id: m.chat.id.to_string(),
            name,
            additional_attributes: attrs,
            email: None,
        },
        content: (!text.is_empty()).then(|| text.join("\n")),
        uploads,
        in_reply_to: m.reply_to_message.as_deref().map(message_source_id),
        content_attributes,
        conversation_attributes: conv_attrs,
        cursor,
        conversation: ConversationChoice::Latest,
        suppress_auto_reply: false,
    };
    svc.ingest_channel_message(inbox, inbound).await?;
    Ok(Outcome::Stored)
}

/// The files of a message with a default name and type: the largest photo size, or the
/// document, voice note, audio, video, video note or sticker.
fn files_of(m: &Message) -> Vec<(FileRef, &'static str, &'static str)> {
    let mut out = Vec::new();
    if let Some(p) = m
        .photo
        .as_ref()
        .and_then(|sizes| sizes.iter().max_by_key(|s| s.width * s.height))
    {
        out.push((
            FileRef {
                file_id: p.file_id.clone(),
                file_name: None,
                mime_type: None,
                file_size: p.file_size,
                emoji: None,
                is_animated: false,
                is_video: false,
            },
            "photo.jpg",
            "image/jpeg",
        ));
    }
    let plain: [(&Option<FileRef>, &str, &str); 5] = [
        (&m.document, "document", "application/octet-stream"),
        (&m.voice, "voice.ogg", "audio/ogg"),
        (&m.audio, "audio.mp3", "audio/mpeg"),
        (&m.video, "video.mp4", "video/mp4"),
        (&m.video_note, "video_note.mp4", "video/mp4"),
    ];
    for (f, name, t) in plain {
        if let Some(f) = f {
            out.push((f.clone(), name, t));
        }
    }
    if let Some(s) = &m.sticker {
        // Static stickers are WebP images; animated (TGS) and video stickers are not
        // shown by browsers, so they stay a line of text.
        if !s.is_animated && !s.is_video {
            out.push((s.clone(), "sticker.webp", "image/webp"));
        }
    }
    out
}

/// Downloads one file through `getFile`, bounded by `max` bytes.
async fn fetch(api: &BotApi, token: &str, f: &FileRef, max: u64) -> Result<Vec<u8>, ApiError> {
    if f.file_size.is_some_and(|n| n > max) {
        return Err(ApiError::Refused {
            code: 413,
            description: format!("file too large ({} bytes)", f.file_size.unwrap_or(0)),
        });
    }
    let file = api.get_file(token, &f.file_id).await?;
    let path = file.file_path.ok_or_else(|| ApiError::Refused {
        code: 400,
        description: "file is not available for download".into(),
    })?;
    api.download(token, &path, max).await
}
