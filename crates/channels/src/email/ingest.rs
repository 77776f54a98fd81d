//! Letters of an inbox's mailbox into Parley's single ingest call, as the importer's
//! [`ImportTarget`]: each letter is parsed, our own letters coming back are skipped, a
//! bounce marks the message it reports `failed`, and any other letter is threaded
//! ([`thread`]) into its conversation — or starts a new one — and stored with the
//! importer's cursor in the same transaction.

use std::collections::HashMap;

use parley_core::validate;
use parley_service::Services;
use parley_service::channels::{ConversationChoice, InboundMessage, InboundSender};
use parley_service::delivery::ProbeFailure;
use parley_service::inboxes::InboxRow;
use parley_service::messages::{MAX_ATTACHMENTS, Upload};
use parley_service::uploads::UploadData;
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

use super::imap::{Cursor, ImportError, ImportTarget, Letter, TargetError};
use super::inbound::{self, EmailAddress, InboundEmail, Limits, ParseOptions, SkipReason};
use super::probe::ProbeError;
use super::provider::{inbox_address, message_id_domain, probe_failure, reply_tokens};
use super::threading::{Thread, thread};
use super::token::ReplyTokens;

/// Longest provider id Parley stores (`messages.source_id`).
const MAX_SOURCE_ID: usize = 255;
/// Message-IDs of `In-Reply-To` and `References` looked up per letter (the newest).
const MAX_THREAD_LOOKUPS: usize = 50;
/// Recipients (`To`, `Cc`) and references kept with a message: a stranger's letter may
/// name thousands.
const MAX_LISTED: usize = 50;
/// Characters kept of a subject or an address (a header line's 998).
const MAX_HEADER_CHARS: usize = 998;

/// The provider id of a letter's Message-ID: the id itself, or a digest of one too long
/// to store, so lookups and stores always agree.
pub fn source_key(message_id: &str) -> String {
    let id = inbound::clean_id(message_id);
    if id.len() <= MAX_SOURCE_ID && !id.chars().any(char::is_control) {
        id
    } else {
        format!("sha256:{}", hex::encode(Sha256::digest(id.as_bytes())))
    }
}

/// The cursor as stored in `channel_cursors`: `UIDVALIDITY:UID`.
fn cursor_text(c: Cursor) -> String {
    format!("{}:{}", c.uidvalidity, c.last_uid)
}

fn parse_cursor(s: &str) -> Option<Cursor> {
    let (v, u) = s.split_once(':')?;
    Some(Cursor {
        uidvalidity: v.parse().ok()?,
        last_uid: u.parse().ok()?,
    })
}

/// `Name <address>` of a letter's header, for the agent (bounded like a header line).
fn show(a: &EmailAddress) -> String {
    let shown = match &a.name {
        Some(n) if !n.is_empty() => format!("{n} <{}>", a.address),
        _ => a.address.clone(),
    };
    shown.chars().take(MAX_HEADER_CHARS).collect()
}

/// One inbox's import target.
pub struct Target {
    svc: Services,
    inbox: InboxRow,
    address: String,
    tokens: ReplyTokens,
    opts: ParseOptions,
}

impl Target {
    /// The target of `inbox` (an e-mail inbox with an address).
    pub fn new(svc: Services, inbox: InboxRow) -> Self {
        let address = inbox_address(&inbox.settings_map()).unwrap_or_default();
        let max_file = svc.config.max_upload_bytes;
        let opts = ParseOptions {
            limits: Limits {
                max_attachments: MAX_ATTACHMENTS,
                max_attachment_bytes: Limits::default().max_attachment_bytes.min(max_file),
                ..Limits::default()
            },
            own_message_id_domains: vec![message_id_domain(&address)],
        };
        Self {
            tokens: reply_tokens(&inbox.hmac_token),
            svc,
            inbox,
            address,
            opts,
        }
    }

    /// Moves the cursor past a letter that stores no message.
    async fn skip(&self, at: Cursor) -> parley_service::Result<()> {
        self.svc
            .advance_channel_cursor(self.inbox.id, &cursor_text(at))
            .await
    }

    /// The conversation a letter joins (see the threading module): a token must name a
    /// conversation of the inbox's own account, or it is ignored.
    async fn choose(&self, email: &InboundEmail) -> parley_service::Result<ConversationChoice> {
        let mut ids: Vec<&String> = email.in_reply_to.iter().chain(&email.references).collect();
        if ids.len() > MAX_THREAD_LOOKUPS {
            ids.drain(..ids.len() - MAX_THREAD_LOOKUPS);
        }
        let mut known: HashMap<String, i64> = HashMap::new();
        for id in ids {
            let key = source_key(id);
            if let Some(conv) = self
                .svc
                .channel_message_conversation(&self.inbox, &key)
                .await?
            {
                known.insert(inbound::clean_id(id), conv);
            }
        }
        let lookup = |id: &str| known.get(&inbound::clean_id(id)).copied();
        let mut t = thread(email, &self.address, &self.tokens, lookup);
        if let Thread::Existing { conversation, by } = t
            && by == super::threading::ThreadedBy::ReplyToken
            && !self
                .svc
                .channel_conversation_in_account(&self.inbox, conversation)
                .await?
        {
            let mut headers_only = email.clone();
            headers_only.to.clear();
            headers_only.cc.clear();
            t = thread(&headers_only, &self.address, &self.tokens, lookup);
        }
        Ok(match t {
            Thread::Existing { conversation, .. } => ConversationChoice::Existing(conversation),
            Thread::New => ConversationChoice::New,
        })
    }

    async fn import_letter(&self, at: Cursor, letter: Letter) -> parley_service::Result<()> {
        let email = match inbound::parse(&letter.raw, &self.opts) {
            Ok(e) => e,
            Err(e) => {
                tracing::warn!(uid = letter.uid, error = %e, "letter skipped");
                return self.skip(at).await;
            }
        };
        if email.class.own {
            tracing::info!(uid = letter.uid, "our own letter came back; skipped");
            return self.skip(at).await;
        }
        if let Some(b) = &email.class.bounce {
            if b.is_permanent()
                && let Some(original) = &b.original_message_id
            {
                let reason = [
                    b.status.clone(),
                    b.diagnostic.clone(),
                    b.recipient.as_ref().map(|r| format!("<{r}>")),
                ]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join(" ");
                let reason = if reason.is_empty() {
                    "the letter bounced".to_string()
                } else {
                    format!("the letter bounced: {reason}")
                };
                let marked = self
                    .svc
                    .channel_delivery_failed(&self.inbox, &source_key(original), &reason)
                    .await?;
                tracing::info!(uid = letter.uid, marked, "bounce imported");
            }
            return self.skip(at).await;
        }
        let Some(from) = email.from.clone().or(email.reply_to.clone()) else {
            tracing::warn!(uid = letter.uid, "letter without a sender skipped");
            return self.skip(at).await;
        };
        let address = from.address.to_lowercase();
        let conversation = self.choose(&email).await?;
        let source_id = email.message_id.as_deref().map_or_else(
            || format!("imap:{}:{}", at.uidvalidity, at.last_uid),
            source_key,
        );
        let mut details = Map::new();
        let subject: String = email.subject.chars().take(MAX_HEADER_CHARS).collect();
        details.insert("subject".into(), json!(subject));
        details.insert("from".into(), json!(show(&from)));
        let listed = |list: &[EmailAddress]| -> Vec<String> {
            list.iter().take(MAX_LISTED).map(show).collect()
        };
        details.insert("to".into(), json!(listed(&email.to)));
        details.insert("cc".into(), json!(listed(&email.cc)));
        details.insert("message_id".into(), json!(email.message_id));
        details.insert("in_reply_to".into(), json!(email.in_reply_to.first()));
        if !email.references.is_empty() {
            let skip = email.references.len().saturating_sub(MAX_LISTED);
            details.insert("references".into(), json!(email.references[skip..]));
        }
        details.insert("quoted_text".into(), json!(email.collapsed));
        details.insert("truncated".into(), json!(letter.truncated));
        if !email.skipped.is_empty() {
            let skipped: Vec<Value> = email
                .skipped
                .iter()
                .map(|s| {
                    json!({"name": s.name, "size": s.size, "reason": match s.reason {
                        SkipReason::TooLarge => "too_large",
                        SkipReason::TooMany => "too_many",
                    }})
                })
                .collect();
            details.insert("skipped_attachments".into(), Value::Array(skipped));
        }
        let mut content_attributes = Map::new();
        content_attributes.insert("email".into(), Value::Object(details));
        let mut conversation_attributes = Map::new();
        conversation_attributes.insert("mail_subject".into(), json!(subject));
        let uploads = email
            .attachments
            .into_iter()
            .map(|a| Upload {
                file_name: a.name,
                content_type: a.content_type,
                data: UploadData::Memory(a.bytes.into()),
            })
            .collect();
        let content = if email.text.trim().is_empty() && letter.truncated {
            Some(subject)
        } else {
            Some(email.text)
        };
        let m = InboundMessage {
            source_id,
            sender: InboundSender {
                source_id: address.clone(),
                name: from.name.clone(),
                additional_attributes: Map::new(),
                email: validate::email("email", &address).ok(),
            },
            content,
            uploads,
            in_reply_to: None,
            content_attributes,
            conversation_attributes,
            cursor: Some(cursor_text(at)),
            conversation,
            suppress_auto_reply: email.class.suppress_auto_reply(),
        };
        self.svc.ingest_channel_message(&self.inbox, m).await?;
        Ok(())
    }
}

impl ImportTarget for Target {
    async fn cursor(&self) -> Result<Option<Cursor>, TargetError> {
        self.svc
            .channel_cursor(self.inbox.id)
            .await
            .map(|c| c.as_deref().and_then(parse_cursor))
            .map_err(|e| TargetError(e.to_string()))
    }

    async fn import(&self, at: Cursor, letter: Letter) -> Result<(), TargetError> {
        self.import_letter(at, letter)
            .await
            .map_err(|e| TargetError(e.to_string()))
    }

    async fn reset(&self, to: Cursor) -> Result<(), TargetError> {
        self.skip(to).await.map_err(|e| TargetError(e.to_string()))
    }

    async fn connected(&self) {
        if let Err(e) = self.svc.channel_connected(self.inbox.id).await {
            tracing::warn!(error = %e, "recording the connection state failed");
        }
    }

    async fn interrupted(&self, error: &ImportError) {
        let failure: ProbeFailure = match error {
            ImportError::Connect(p) => probe_failure("imap", p),
            ImportError::Imap(t) => {
                probe_failure("imap", &ProbeError::Protocol { detail: t.clone() })
            }
            ImportError::Timeout(what) => probe_failure(
                "imap",
                &ProbeError::Timeout {
                    detail: (*what).to_string(),
                },
            ),
            // Parley's own database: not the mailbox's state.
            ImportError::Target(_) => return,
        };
        if let Err(e) = self
            .svc
            .channel_connection_failed(self.inbox.id, &failure)
            .await
        {
            tracing::warn!(error = %e, "recording the connection state failed");
        }
    }
}
