//! Agents' replies to Telegram: text split under the Bot API's 4,096-character limit,
//! attachments as photos or documents, and the Bot API's failures as the outbox's
//! permanent or transient errors.

use std::time::Duration;

use parley_service::delivery::{DeliveryError, OutgoingMessage, Receipt};

use super::api::{ApiError, BotApi, UploadFile};

/// The Bot API's limit of one text message, counted in UTF-16 code units.
pub const MAX_TEXT_UTF16: usize = 4096;
/// Largest photo `sendPhoto` takes; bigger images go as documents.
const MAX_PHOTO_BYTES: u64 = 10 * 1024 * 1024;
/// Largest file a bot may send.
const MAX_FILE_BYTES: u64 = 50 * 1024 * 1024;

/// Splits `text` into parts of at most `limit` UTF-16 units (how the Bot API counts),
/// preferring to cut after a line break, then after a space, and never inside a
/// character (so never between the halves of a surrogate pair). The parts joined are
/// exactly the text.
pub fn split_text(text: &str, limit: usize) -> Vec<String> {
    let limit = limit.max(2);
    let mut parts = Vec::new();
    let mut rest = text;
    while !rest.is_empty() {
        let mut units = 0usize;
        let mut hard_end = rest.len();
        let mut last_newline = None;
        let mut last_space = None;
        for (i, c) in rest.char_indices() {
            if units + c.len_utf16() > limit {
                hard_end = i;
                break;
            }
            units += c.len_utf16();
            let after = i + c.len_utf8();
            if c == '\n' {
                last_newline = Some(after);
            } else if c.is_whitespace() {
                last_space = Some(after);
            }
        }
        let end = if hard_end == rest.len() {
            rest.len()
        } else {
            last_newline.or(last_space).unwrap_or(hard_end)
        };
        parts.push(rest[..end].to_string());
        rest = &rest[end..];
    }
    parts
}

/// The outbox's error of a Bot API failure.
pub fn delivery_error(e: ApiError) -> DeliveryError {
    match e {
        ApiError::RateLimited {
            retry_after,
            description,
        } => DeliveryError::transient(
            format!("Telegram rate limit: {description}"),
            Some(Duration::from_secs(retry_after.max(1))),
        ),
        ApiError::Refused { .. } => DeliveryError::permanent(e.to_string()),
        ApiError::Unavailable(_) => DeliveryError::transient(e.to_string(), None),
    }
}

/// One thing to send: a text part or an attachment.
enum Part<'a> {
    Text(String),
    File(&'a parley_service::delivery::OutgoingAttachment),
}

/// Delivers a message: text parts first, then each attachment; parts an earlier attempt
/// delivered (`m.accepted`) are skipped, so a retry never repeats them.
pub async fn deliver(
    api: &BotApi,
    token: &str,
    m: &OutgoingMessage,
) -> Result<Receipt, DeliveryError> {
    let mut parts: Vec<Part<'_>> = match m.content.as_deref() {
        Some(t) if !t.trim().is_empty() => split_text(t, MAX_TEXT_UTF16)
            .into_iter()
            // Telegram refuses a blank message; only a pathological text has such a part.
            .filter(|p| !p.trim().is_empty())
            .map(Part::Text)
            .collect(),
        _ => Vec::new(),
    };
    parts.extend(m.attachments.iter().map(Part::File));
    if parts.is_empty() {
        return Err(DeliveryError::permanent(
            "the message has no text and no attachment",
        ));
    }
    let reply_to = m
        .in_reply_to
        .as_deref()
        .and_then(|s| s.rsplit(':').next())
        .and_then(|s| s.parse::<i64>().ok());
    let mut accepted = m.accepted.clone();
    for (i, part) in parts.iter().enumerate().skip(m.accepted.len()) {
        let sent = match part {
            Part::Text(t) => {
                api.send_message(token, &m.recipient, t, reply_to.filter(|_| i == 0))
                    .await
            }
            Part::File(a) => {
                let bytes = match tokio::fs::read(&a.path).await {
                    Ok(b) => b,
                    Err(e) => {
                        return Err(DeliveryError::permanent(format!(
                            "attachment {} cannot be read: {e}",
                            a.file_name
                        ))
                        .with_accepted(accepted));
                    }
                };
                let size = bytes.len() as u64;
                if size > MAX_FILE_BYTES {
                    return Err(DeliveryError::permanent(format!(
                        "attachment {} is larger than Telegram's 50 MB",
                        a.file_name
                    ))
                    .with_accepted(accepted));
                }
                let photo = matches!(
                    a.content_type.as_str(),
                    "image/jpeg" | "image/png" | "image/webp"
                ) && size <= MAX_PHOTO_BYTES;
                let (method, field) = if photo {
                    ("sendPhoto", "photo")
                } else {
                    ("sendDocument", "document")
                };
                let file = UploadFile {
                    name: a.file_name.clone(),
                    content_type: a.content_type.clone(),
                    bytes,
                };
                api.send_file(token, method, field, &m.recipient, file)
                    .await
            }
        };
        match sent {
            Ok(msg) => accepted.push(format!("{}:{}", msg.chat.id, msg.message_id)),
            Err(e) => return Err(delivery_error(e).with_accepted(accepted)),
        }
    }
    Ok(Receipt {
        external_ids: accepted,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utf16(s: &str) -> usize {
        s.encode_utf16().count()
    }

    #[test]
    fn splits_at_words_within_the_limit() {
        let text = "word ".repeat(2000);
        let parts = split_text(&text, MAX_TEXT_UTF16);
        assert_eq!(parts.len(), 3);
        assert_eq!(parts.concat(), text);
        for p in &parts {
            assert!(utf16(p) <= MAX_TEXT_UTF16);
        }
        assert!(parts[0].ends_with(' '));
        assert!(parts[1].starts_with("word"));
    }

    #[test]
    fn never_splits_a_surrogate_pair() {
        // Each emoji is two UTF-16 units; an odd limit forces a cut between characters.
        let text = "😀".repeat(10);
        let parts = split_text(&text, 5);
        assert_eq!(parts.concat(), text);
        for p in &parts {
            assert!(utf16(p) <= 5);
            assert!(!p.is_empty());
        }
    }

    #[test]
    fn short_text_is_one_part() {
        assert_eq!(
            split_text("привет", MAX_TEXT_UTF16),
            vec!["привет".to_string()]
        );
        let long_word = "x".repeat(5000);
        let parts = split_text(&long_word, MAX_TEXT_UTF16);
        assert_eq!(parts.len(), 2);
        assert_eq!(utf16(&parts[0]), MAX_TEXT_UTF16);
    }
}
