//! An agent's reply (or an automatic one) as a MIME letter: the agent's name on the inbox
//! address, a reply address that threads the answer back, `Re:` subject, our Message-ID,
//! `In-Reply-To`/`References`, text and HTML alternatives (HTML escaped from the agent's
//! text, never the agent's markup), attachments, and the quoted history below.

use lettre::Message;
use lettre::message::header::{ContentType, HeaderName, HeaderValue};
use lettre::message::{Attachment as MimeAttachment, Mailbox, MultiPart, SinglePart};

use super::inbound::PARLEY_ID_HEADER;

/// A file to attach.
#[derive(Debug, Clone)]
pub struct OutAttachment {
    /// File name shown to the customer.
    pub name: String,
    /// `type/subtype`; `application/octet-stream` when unknown or malformed.
    pub content_type: String,
    /// Contents.
    pub bytes: Vec<u8>,
}

/// The earlier letter shown below the reply, as mail clients do.
#[derive(Debug, Clone)]
pub struct QuotedLetter {
    /// Who wrote it (a name or an address).
    pub author: String,
    /// When, already formatted for the reader (e.g. "2 Dec 2026, 15:30").
    pub when: String,
    /// Its text.
    pub text: String,
}

/// Language of the few words Parley adds itself (the quote's attribution line).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Lang {
    /// English.
    #[default]
    En,
    /// Russian.
    Ru,
}

/// Everything a reply is made of.
#[derive(Debug, Clone)]
pub struct Reply {
    /// The inbox's address (`support@shop.example`): the `From` address.
    pub inbox_address: String,
    /// Display name in `From`: the agent's name for an agent's reply, the inbox's name for
    /// an automatic one.
    pub from_name: Option<String>,
    /// Where the customer's answer goes: the conversation's token address
    /// ([`super::token::ReplyTokens::address`]); `None` for the inbox address itself.
    pub reply_to: Option<String>,
    /// The customer.
    pub to: String,
    /// Other recipients.
    pub cc: Vec<String>,
    /// The subject being answered (the customer's, or the conversation's).
    pub subject: String,
    /// The agent's text (plain).
    pub text: String,
    /// Files.
    pub attachments: Vec<OutAttachment>,
    /// Message-ID (without `<>`) of the letter answered.
    pub in_reply_to: Option<String>,
    /// The thread's Message-IDs so far (oldest first, without `<>`), the answered one last.
    pub references: Vec<String>,
    /// The earlier letter to quote below.
    pub quoted: Option<QuotedLetter>,
    /// True for automatic replies (off-hours, acknowledgements): adds
    /// `Auto-Submitted: auto-replied` so other robots do not answer them.
    pub automatic: bool,
    /// Our id of the message this letter carries (`X-Parley-Id`), to recognise it if it
    /// comes back.
    pub parley_id: String,
    /// Right-hand side of the Message-ID: a domain Parley's letters are known by.
    pub message_id_domain: String,
    /// Language of the attribution line.
    pub lang: Lang,
}

/// A letter ready to send.
#[derive(Debug, Clone)]
pub struct Composed {
    /// The letter.
    pub message: Message,
    /// Its Message-ID without `<>`, to store with the message for threading.
    pub message_id: String,
}

/// Why a reply could not be composed. Permanent: sending it again cannot help.
#[derive(Debug, thiserror::Error)]
pub enum ComposeError {
    /// An address is malformed.
    #[error("bad e-mail address {0:?}")]
    BadAddress(String),
    /// lettre refused the letter.
    #[error("cannot build the letter: {0}")]
    Build(String),
}

/// `Re: <subject>` unless it already starts with a reply prefix (`Re:`, `RE:`, `Ответ:`,
/// `Re[2]:`), so threads do not grow `Re: Re: Re:`.
pub fn reply_subject(subject: &str) -> String {
    let s = one_line(subject);
    let s = s.trim();
    let lower = s.to_lowercase();
    let prefixed = ["re:", "ответ:", "re[", "aw:", "отв:"]
        .iter()
        .any(|p| lower.starts_with(p));
    if prefixed {
        s.to_string()
    } else if s.is_empty() {
        "Re:".to_string()
    } else {
        format!("Re: {s}")
    }
}

/// Builds the letter.
pub fn compose(r: &Reply) -> Result<Composed, ComposeError> {
    let from_addr = parse_address(&r.inbox_address)?;
    let from = Mailbox::new(r.from_name.as_deref().map(one_line), from_addr);
    let message_id = format!(
        "{:032x}@{}",
        rand::random::<u128>(),
        r.message_id_domain.trim().to_ascii_lowercase()
    );
    let mut b = Message::builder()
        .from(from)
        .to(Mailbox::new(None, parse_address(&r.to)?))
        .subject(reply_subject(&r.subject))
        .message_id(Some(format!("<{message_id}>")))
        .date_now();
    for cc in &r.cc {
        b = b.cc(Mailbox::new(None, parse_address(cc)?));
    }
    if let Some(reply_to) = &r.reply_to {
        b = b.reply_to(Mailbox::new(None, parse_address(reply_to)?));
    }
    if let Some(id) = &r.in_reply_to {
        b = b.in_reply_to(format!("<{}>", clean(id)));
    }
    let mut refs: Vec<String> = r
        .references
        .iter()
        .map(|i| clean(i))
        .filter(|i| !i.is_empty())
        .collect();
    if let Some(id) = &r.in_reply_to
        && refs.last().map(String::as_str) != Some(clean(id).as_str())
    {
        refs.push(clean(id));
    }
    // Long threads: the first and the last ids are what clients need (RFC 5322 3.6.4 allows
    // trimming the middle).
    if refs.len() > 20 {
        let first = refs[0].clone();
        let tail = refs.split_off(refs.len() - 19);
        refs = std::iter::once(first).chain(tail).collect();
    }
    if !refs.is_empty() {
        b = b.references(
            refs.iter()
                .map(|i| format!("<{i}>"))
                .collect::<Vec<_>>()
                .join(" "),
        );
    }
    b = b.raw_header(HeaderValue::new(
        header_name(PARLEY_ID_HEADER)?,
        one_line(&r.parley_id),
    ));
    if r.automatic {
        b = b.raw_header(HeaderValue::new(
            header_name("Auto-Submitted")?,
            "auto-replied".to_string(),
        ));
    }
    let (text, html) = bodies(r);
    let alternative = MultiPart::alternative()
        .singlepart(
            SinglePart::builder()
                .header(ContentType::TEXT_PLAIN)
                .body(text),
        )
        .singlepart(
            SinglePart::builder()
                .header(ContentType::TEXT_HTML)
                .body(html),
        );
    let built = if r.attachments.is_empty() {
        b.multipart(alternative)
    } else {
        let mut mixed = MultiPart::mixed().multipart(alternative);
        for a in &r.attachments {
            let ct = ContentType::parse(&a.content_type).unwrap_or_else(|_| {
                ContentType::parse("application/octet-stream").unwrap_or(ContentType::TEXT_PLAIN)
            });
            mixed =
                mixed.singlepart(MimeAttachment::new(one_line(&a.name)).body(a.bytes.clone(), ct));
        }
        b.multipart(mixed)
    };
    let message = built.map_err(|e| ComposeError::Build(e.to_string()))?;
    Ok(Composed {
        message,
        message_id,
    })
}

/// The text and HTML bodies: the reply, then the quoted letter.
fn bodies(r: &Reply) -> (String, String) {
    let mut text = r.text.replace("\r\n", "\n");
    let mut html = format!(
        "<!DOCTYPE html><html><body><div style=\"white-space:pre-wrap\">{}</div>",
        escape_html(&text)
    );
    if let Some(q) = &r.quoted {
        let attribution = match r.lang {
            Lang::En => format!("On {}, {} wrote:", q.when, q.author),
            Lang::Ru => format!("{}, {} пишет:", q.when, q.author),
        };
        text.push_str("\n\n");
        text.push_str(&attribution);
        text.push('\n');
        for line in q.text.replace("\r\n", "\n").lines() {
            text.push('>');
            if !line.is_empty() {
                text.push(' ');
            }
            text.push_str(line);
            text.push('\n');
        }
        html.push_str(&format!(
            "<br><div>{}</div><blockquote style=\"margin:0 0 0 .8ex;border-left:1px solid #ccc;padding-left:1ex;white-space:pre-wrap\">{}</blockquote>",
            escape_html(&attribution),
            escape_html(&q.text)
        ));
    }
    html.push_str("</body></html>");
    (text, html)
}

/// Text made safe inside HTML: `& < > " '` escaped. Line breaks are kept by `pre-wrap`.
pub fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn parse_address(s: &str) -> Result<lettre::Address, ComposeError> {
    s.trim()
        .parse::<lettre::Address>()
        .map_err(|_| ComposeError::BadAddress(s.to_string()))
}

fn header_name(name: &str) -> Result<HeaderName, ComposeError> {
    HeaderName::new_from_ascii(name.to_string()).map_err(|e| ComposeError::Build(e.to_string()))
}

fn clean(id: &str) -> String {
    id.trim()
        .trim_start_matches('<')
        .trim_end_matches('>')
        .trim()
        .to_string()
}

/// A header value on one line: control characters (CR, LF) become spaces, so text from a
/// customer or an agent can never start a header of its own.
fn one_line(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}
