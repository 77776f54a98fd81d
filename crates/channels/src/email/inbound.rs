//! A raw letter parsed into what the channel needs: threading headers, sender and
//! recipients, the customer's new text (plain preferred, HTML turned into text), the
//! collapsed quote and signature, bounded attachments, and what kind of letter it is
//! (a person, an auto-reply, a mailing list, a mailer daemon, our own letter, a bounce).

use mail_parser::{Address, HeaderValue, MessageParser, MessagePart, MimeHeaders, PartType};

use super::{html, quote};

/// The header Parley puts on every letter it sends (the id of the message it carries), so a
/// copy that comes back (a mailbox that receives its own mail, a forward loop) is recognised.
pub const PARLEY_ID_HEADER: &str = "X-Parley-Id";

/// Limits on what one letter may make the server keep. A stranger controls the letter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Attachments kept per letter; more are listed in [`InboundEmail::skipped`].
    pub max_attachments: usize,
    /// Largest attachment kept, bytes.
    pub max_attachment_bytes: usize,
    /// All attachments of one letter together, bytes.
    pub max_total_attachment_bytes: usize,
    /// Characters of text kept (the rest is cut with a note).
    pub max_text_chars: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_attachments: 20,
            max_attachment_bytes: 10 << 20,
            max_total_attachment_bytes: 25 << 20,
            max_text_chars: 100_000,
        }
    }
}

/// How a letter is parsed: the limits, and what makes a letter "ours".
#[derive(Debug, Clone, Default)]
pub struct ParseOptions {
    /// Bounds on text and attachments.
    pub limits: Limits,
    /// Domains of the Message-IDs Parley generates (lowercase): a letter with such an id
    /// is one of ours coming back.
    pub own_message_id_domains: Vec<String>,
}

/// A name and an address, as in `Иван Петров <ivan@example.ru>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmailAddress {
    /// Display name, decoded; `None` when the header had none.
    pub name: Option<String>,
    /// The address, lowercase domain, local part as written.
    pub address: String,
}

/// A file attached to a letter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attachment {
    /// File name from the letter (sanitised: no path), or `attachment-N`.
    pub name: String,
    /// `type/subtype`, lowercase.
    pub content_type: String,
    /// Decoded bytes.
    pub bytes: Vec<u8>,
}

/// An attachment that was not kept, and why, so the agent can be told.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    /// File name.
    pub name: String,
    /// Its size, bytes.
    pub size: usize,
    /// Which limit it hit.
    pub reason: SkipReason,
}

/// Which limit an attachment hit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SkipReason {
    /// Larger than [`Limits::max_attachment_bytes`].
    TooLarge,
    /// Beyond [`Limits::max_attachments`] or [`Limits::max_total_attachment_bytes`].
    TooMany,
}

/// A delivery status notification (RFC 3464): a letter of ours that could not be delivered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bounce {
    /// Message-ID (without `<>`) of the letter that failed, from the returned copy or headers.
    pub original_message_id: Option<String>,
    /// The recipient that failed (`Final-Recipient`).
    pub recipient: Option<String>,
    /// `Action` (`failed`, `delayed`, …), lowercase.
    pub action: Option<String>,
    /// Enhanced status code, e.g. `5.1.1`.
    pub status: Option<String>,
    /// The remote server's words (`Diagnostic-Code` without its type prefix).
    pub diagnostic: Option<String>,
}

impl Bounce {
    /// True for a final failure (action `failed` or a 5.x.x status), not a delay warning.
    pub fn is_permanent(&self) -> bool {
        self.action.as_deref() == Some("failed")
            || self.status.as_deref().is_some_and(|s| s.starts_with('5'))
    }
}

/// What kind of letter this is; any of these but a person's letter must never get an
/// automatic answer (that is how mail loops start).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Classification {
    /// `Auto-Submitted` present and not `no` (vacation replies, notifications).
    pub auto_submitted: bool,
    /// `Precedence: bulk/list/junk`, or a `List-Id` / `List-Unsubscribe` header.
    pub bulk: bool,
    /// From `mailer-daemon@`, `postmaster@` or with an empty return path.
    pub mailer_daemon: bool,
    /// Carries our `X-Parley-Id` header or one of our Message-ID domains.
    pub own: bool,
    /// A delivery status notification.
    pub bounce: Option<Bounce>,
}

impl Classification {
    /// True when an automatic reply (off-hours, acknowledgement) must not be sent.
    pub fn suppress_auto_reply(&self) -> bool {
        self.auto_submitted || self.bulk || self.mailer_daemon || self.own || self.bounce.is_some()
    }
}

/// One parsed letter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboundEmail {
    /// `Message-ID` without angle brackets; `None` when missing (rare, spam).
    pub message_id: Option<String>,
    /// `In-Reply-To` ids, without brackets.
    pub in_reply_to: Vec<String>,
    /// `References` ids, oldest first, without brackets.
    pub references: Vec<String>,
    /// Decoded subject ("" when none).
    pub subject: String,
    /// The sender (`From`; `Sender` when `From` is missing).
    pub from: Option<EmailAddress>,
    /// `Reply-To`, when the sender asked for answers elsewhere.
    pub reply_to: Option<EmailAddress>,
    /// `To` recipients.
    pub to: Vec<EmailAddress>,
    /// `Cc` recipients.
    pub cc: Vec<EmailAddress>,
    /// `Date`, epoch milliseconds.
    pub date_ms: Option<i64>,
    /// The customer's new text: plain text, never HTML.
    pub text: String,
    /// Quoted history and signature, collapsed in the console.
    pub collapsed: Option<String>,
    /// True when the text came from an HTML part (there was no plain one).
    pub from_html: bool,
    /// Attachments kept.
    pub attachments: Vec<Attachment>,
    /// Attachments dropped by the limits.
    pub skipped: Vec<Skipped>,
    /// Auto-reply, list, daemon, own, bounce.
    pub class: Classification,
    /// Our `X-Parley-Id` header, when present.
    pub parley_id: Option<String>,
}

/// Why a letter could not be parsed at all.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ParseError {
    /// Not a message: no header could be read.
    #[error("not an e-mail message")]
    NotAMessage,
}

/// Parses a raw RFC 5322 letter.
pub fn parse(raw: &[u8], opts: &ParseOptions) -> Result<InboundEmail, ParseError> {
    let msg = MessageParser::default()
        .parse(raw)
        .ok_or(ParseError::NotAMessage)?;
    if msg.headers().is_empty() {
        return Err(ParseError::NotAMessage);
    }
    let from = msg
        .from()
        .or_else(|| msg.sender())
        .and_then(|a| addresses(a).into_iter().next());
    let (text, from_html) = body_text(&msg);
    let mut text = text.replace("\r\n", "\n");
    if text.chars().count() > opts.limits.max_text_chars {
        text = text.chars().take(opts.limits.max_text_chars).collect();
        text.push_str("\n[…]");
    }
    let split = quote::split(&text);
    let (attachments, skipped) = attachments(&msg, &opts.limits);
    let parley_id = header_text(&msg, PARLEY_ID_HEADER);
    let message_id = msg.message_id().map(clean_id);
    let class = classify(
        &msg,
        raw,
        from.as_ref(),
        message_id.as_deref(),
        parley_id.is_some(),
        opts,
    );
    Ok(InboundEmail {
        in_reply_to: ids(msg.in_reply_to()),
        references: ids(msg.references()),
        subject: msg.subject().map(one_line).unwrap_or_default(),
        reply_to: msg.reply_to().and_then(|a| addresses(a).into_iter().next()),
        to: msg.to().map(addresses).unwrap_or_default(),
        cc: msg.cc().map(addresses).unwrap_or_default(),
        date_ms: msg.date().map(|d| d.to_timestamp().saturating_mul(1000)),
        text: split.text,
        collapsed: split.collapsed,
        from_html,
        attachments,
        skipped,
        class,
        parley_id,
        message_id,
        from,
    })
}

/// The plain-text parts joined; else the HTML parts converted. `true` when from HTML.
fn body_text(msg: &mail_parser::Message<'_>) -> (String, bool) {
    let plain: Vec<&str> = msg
        .text_body
        .iter()
        .filter_map(|&i| match &msg.parts.get(i as usize)?.body {
            PartType::Text(t) => Some(t.as_ref()),
            _ => None,
        })
        .collect();
    if !plain.is_empty() {
        return (plain.join("\n"), false);
    }
    let html: Vec<String> = msg
        .html_body
        .iter()
        .filter_map(|&i| match &msg.parts.get(i as usize)?.body {
            PartType::Html(h) => Some(html::to_text(h)),
            _ => None,
        })
        .collect();
    if html.is_empty() {
        (String::new(), false)
    } else {
        (html.join("\n"), true)
    }
}

fn attachments(msg: &mail_parser::Message<'_>, limits: &Limits) -> (Vec<Attachment>, Vec<Skipped>) {
    let mut kept = Vec::new();
    let mut skipped = Vec::new();
    let mut total = 0usize;
    for (n, part) in msg.attachments().enumerate() {
        let name = part
            .attachment_name()
            .map(sanitize_name)
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| format!("attachment-{}", n + 1));
        let content_type = content_type(part);
        let bytes: &[u8] = match &part.body {
            PartType::Message(m) => m.raw_message(),
            _ => part.contents(),
        };
        let size = bytes.len();
        let reason = if size > limits.max_attachment_bytes {
            Some(SkipReason::TooLarge)
        } else if kept.len() >= limits.max_attachments
            || total + size > limits.max_total_attachment_bytes
        {
            Some(SkipReason::TooMany)
        } else {
            None
        };
        match reason {
            Some(reason) => skipped.push(Skipped { name, size, reason }),
            None => {
                total += size;
                kept.push(Attachment {
                    name,
                    content_type,
                    bytes: bytes.to_vec(),
                });
            }
        }
    }
    (kept, skipped)
}

fn content_type(part: &MessagePart<'_>) -> String {
    match part.content_type() {
        Some(ct) => match ct.subtype() {
            Some(sub) => format!("{}/{}", ct.ctype(), sub).to_ascii_lowercase(),
            None => ct.ctype().to_ascii_lowercase(),
        },
        None => "application/octet-stream".into(),
    }
}

/// A file name without directories or control characters, at most 200 characters.
fn sanitize_name(name: &str) -> String {
    let base = name.rsplit(['/', '\\']).next().unwrap_or(name);
    base.chars()
        .filter(|c| !c.is_control())
        .take(200)
        .collect::<String>()
        .trim()
        .trim_start_matches('.')
        .to_string()
}

fn classify(
    msg: &mail_parser::Message<'_>,
    raw: &[u8],
    from: Option<&EmailAddress>,
    message_id: Option<&str>,
    has_parley_id: bool,
    opts: &ParseOptions,
) -> Classification {
    let auto_submitted =
        header_text(msg, "Auto-Submitted").is_some_and(|v| !v.trim().eq_ignore_ascii_case("no"));
    let precedence = header_text(msg, "Precedence").map(|v| v.trim().to_ascii_lowercase());
    let bulk = matches!(precedence.as_deref(), Some("bulk" | "list" | "junk"))
        || !msg.list_id().is_empty()
        || msg.header("List-Unsubscribe").is_some();
    let local = from
        .map(|f| {
            f.address
                .split('@')
                .next()
                .unwrap_or("")
                .to_ascii_lowercase()
        })
        .unwrap_or_default();
    let empty_return_path = header_text(msg, "Return-Path").is_some_and(|v| v.trim() == "<>");
    let mailer_daemon = matches!(
        local.as_str(),
        "mailer-daemon" | "postmaster" | "mail-daemon"
    ) || empty_return_path;
    let own = has_parley_id
        || message_id.is_some_and(|id| {
            let domain = id.rsplit('@').next().unwrap_or("").to_ascii_lowercase();
            opts.own_message_id_domains.contains(&domain)
        });
    Classification {
        auto_submitted,
        bulk,
        mailer_daemon,
        own,
        bounce: bounce(msg, raw),
    }
}

/// Reads a `multipart/report; report-type=delivery-status` letter.
fn bounce(msg: &mail_parser::Message<'_>, raw: &[u8]) -> Option<Bounce> {
    let ct = msg.content_type()?;
    let is_report = ct.ctype().eq_ignore_ascii_case("multipart")
        && ct
            .subtype()
            .is_some_and(|s| s.eq_ignore_ascii_case("report"))
        && ct
            .attribute("report-type")
            .is_some_and(|t| t.eq_ignore_ascii_case("delivery-status"));
    if !is_report {
        return None;
    }
    let mut out = Bounce {
        original_message_id: None,
        recipient: None,
        action: None,
        status: None,
        diagnostic: None,
    };
    for part in msg.parts.iter().skip(1) {
        let ctype = content_type(part);
        let body = part_raw(part, raw);
        match ctype.as_str() {
            "message/delivery-status" | "message/global-delivery-status" => {
                read_status_fields(&String::from_utf8_lossy(body), &mut out);
            }
            "message/rfc822" | "text/rfc822-headers" | "message/rfc822-headers"
                if out.original_message_id.is_none() =>
            {
                out.original_message_id = match &part.body {
                    PartType::Message(m) => m.message_id().map(clean_id),
                    _ => None,
                }
                .or_else(|| message_id_in_headers(&String::from_utf8_lossy(body)));
            }
            _ => {}
        }
    }
    Some(out)
}

/// The raw bytes of a part's body (before any transfer decoding).
fn part_raw<'a>(part: &MessagePart<'_>, raw: &'a [u8]) -> &'a [u8] {
    let start = part.offset_body as usize;
    let end = (part.offset_end as usize).min(raw.len());
    raw.get(start..end).unwrap_or(&[])
}

fn read_status_fields(text: &str, out: &mut Bounce) {
    // Unfold continuation lines first.
    let mut fields: Vec<String> = Vec::new();
    for line in text.lines() {
        if line.starts_with([' ', '\t']) {
            if let Some(last) = fields.last_mut() {
                last.push(' ');
                last.push_str(line.trim());
            }
        } else if !line.trim().is_empty() {
            fields.push(line.trim().to_string());
        }
    }
    for f in fields {
        let Some((name, value)) = f.split_once(':') else {
            continue;
        };
        let value = value.trim();
        let after_type = |v: &str| v.split_once(';').map_or(v, |(_, r)| r).trim().to_string();
        match name.trim().to_ascii_lowercase().as_str() {
            "final-recipient" if out.recipient.is_none() => out.recipient = Some(after_type(value)),
            "action" if out.action.is_none() => out.action = Some(value.to_ascii_lowercase()),
            "status" if out.status.is_none() => out.status = Some(value.to_string()),
            "diagnostic-code" if out.diagnostic.is_none() => {
                out.diagnostic = Some(after_type(value))
            }
            _ => {}
        }
    }
}

fn message_id_in_headers(text: &str) -> Option<String> {
    text.lines()
        .find_map(|l| {
            let (name, value) = l.split_once(':')?;
            name.trim()
                .eq_ignore_ascii_case("message-id")
                .then(|| value.trim())
        })
        .map(clean_id)
        .filter(|id| !id.is_empty())
}

fn header_text(msg: &mail_parser::Message<'_>, name: &str) -> Option<String> {
    match msg.header(name)? {
        HeaderValue::Text(t) => Some(t.to_string()),
        HeaderValue::TextList(l) => Some(l.join(" ")),
        _ => msg.header_raw(name).map(|r| r.trim().to_string()),
    }
}

fn ids(v: &HeaderValue<'_>) -> Vec<String> {
    match v {
        HeaderValue::Text(t) => vec![clean_id(t)],
        HeaderValue::TextList(l) => l.iter().map(|t| clean_id(t)).collect(),
        _ => Vec::new(),
    }
    .into_iter()
    .filter(|s| !s.is_empty())
    .collect()
}

/// A Message-ID without surrounding whitespace and angle brackets.
pub fn clean_id(id: &str) -> String {
    id.trim()
        .trim_start_matches('<')
        .trim_end_matches('>')
        .trim()
        .to_string()
}

fn addresses(a: &Address<'_>) -> Vec<EmailAddress> {
    a.iter()
        .filter_map(|addr| {
            let address = addr.address.as_deref()?.trim();
            if !address.contains('@') {
                return None;
            }
            let (local, domain) = address.rsplit_once('@')?;
            Some(EmailAddress {
                name: addr
                    .name
                    .as_deref()
                    .map(one_line)
                    .filter(|n| !n.is_empty() && n != address),
                address: format!("{local}@{}", domain.to_ascii_lowercase()),
            })
        })
        .collect()
}

fn one_line(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect::<String>()
        .trim()
        .to_string()
}
