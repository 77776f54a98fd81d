//! Composing replies and threading answers (no servers needed).

use crate::email::compose::{self, Lang, OutAttachment, QuotedLetter, Reply};
use crate::email::inbound::{self, ParseOptions};
use crate::email::threading::{Thread, ThreadedBy, thread};
use crate::email::token::ReplyTokens;

fn tokens() -> ReplyTokens {
    ReplyTokens::new(b"test secret of thirty-two bytes!")
}

pub(super) fn reply(conversation: i64, to: &str, in_reply_to: Option<&str>) -> Reply {
    Reply {
        inbox_address: "support@shop.test".into(),
        from_name: Some("Мария Иванова".into()),
        reply_to: tokens().address("support@shop.test", conversation),
        to: to.into(),
        cc: vec![],
        subject: "Где заказ?".into(),
        text: "Здравствуйте!\nЗаказ <b>уже</b> в пути & скоро будет.".into(),
        attachments: vec![],
        in_reply_to: in_reply_to.map(String::from),
        references: vec!["first@customer.test".into()],
        quoted: Some(QuotedLetter {
            author: "Иван".into(),
            when: "2 дек. 2026, 16:00".into(),
            text: "Когда придёт заказ?".into(),
        }),
        automatic: false,
        parley_id: "981".into(),
        message_id_domain: "parley.shop.test".into(),
        lang: Lang::Ru,
    }
}

#[test]
fn subjects_get_one_re() {
    assert_eq!(compose::reply_subject("Где заказ?"), "Re: Где заказ?");
    assert_eq!(compose::reply_subject("Re: Где заказ?"), "Re: Где заказ?");
    assert_eq!(compose::reply_subject("RE: x"), "RE: x");
    assert_eq!(compose::reply_subject("Ответ: x"), "Ответ: x");
    assert_eq!(compose::reply_subject("Re[2]: x"), "Re[2]: x");
    assert_eq!(compose::reply_subject(""), "Re:");
    assert_eq!(compose::reply_subject("a\r\nBcc: x@y"), "Re: a  Bcc: x@y");
}

#[test]
fn composed_reply_has_threading_headers_and_safe_html() {
    let r = reply(42, "ivan@customer.test", Some("<koi8-1@customer.test>"));
    let c = compose::compose(&r).expect("compose");
    let raw = c.message.formatted();
    let text = String::from_utf8_lossy(&raw);
    assert!(c.message_id.ends_with("@parley.shop.test"));
    assert!(
        text.contains(&format!("Message-ID: <{}>", c.message_id)),
        "{text}"
    );
    assert!(
        text.contains("In-Reply-To: <koi8-1@customer.test>"),
        "{text}"
    );
    assert!(
        text.contains("References: <first@customer.test> <koi8-1@customer.test>"),
        "{text}"
    );
    assert!(text.contains("X-Parley-Id: 981"));
    assert!(
        !text.contains("Auto-Submitted"),
        "an agent's reply is not automatic"
    );
    // Read back as a mail client would.
    let opts = ParseOptions {
        own_message_id_domains: vec!["parley.shop.test".into()],
        ..ParseOptions::default()
    };
    let back = inbound::parse(&raw, &opts).expect("parse back");
    let from = back.from.expect("from");
    assert_eq!(
        (from.name.as_deref(), from.address.as_str()),
        (Some("Мария Иванова"), "support@shop.test")
    );
    let reply_to = back.reply_to.expect("reply-to").address;
    assert_eq!(
        tokens().conversation("support@shop.test", &reply_to),
        Some(42)
    );
    assert_eq!(back.subject, "Re: Где заказ?");
    assert_eq!(
        back.text,
        "Здравствуйте!\nЗаказ <b>уже</b> в пути & скоро будет."
    );
    assert!(
        back.collapsed
            .is_some_and(|q| q.contains("2 дек. 2026, 16:00, Иван пишет:\n> Когда придёт заказ?"))
    );
    assert!(back.class.own);
    // The HTML alternative shows the agent's text escaped, never as markup.
    let msg = mail_parser::MessageParser::default()
        .parse(&raw)
        .expect("mime");
    let html = msg.body_html(0).expect("html part");
    assert!(
        html.contains("Заказ &lt;b&gt;уже&lt;/b&gt; в пути &amp; скоро"),
        "{html}"
    );
    assert!(html.contains("<blockquote"));
}

#[test]
fn automatic_replies_say_so_and_attachments_travel() {
    let mut r = reply(7, "ivan@customer.test", None);
    r.automatic = true;
    r.quoted = None;
    r.lang = Lang::En;
    r.attachments = vec![OutAttachment {
        name: "счёт.pdf".into(),
        content_type: "application/pdf".into(),
        bytes: b"%PDF-1.4 test".to_vec(),
    }];
    let c = compose::compose(&r).expect("compose");
    let raw = c.message.formatted();
    let text = String::from_utf8_lossy(&raw);
    assert!(text.contains("Auto-Submitted: auto-replied"));
    assert!(!text.contains("In-Reply-To"));
    let back = inbound::parse(&raw, &ParseOptions::default()).expect("parse");
    assert!(back.class.auto_submitted);
    assert_eq!(back.attachments.len(), 1);
    assert_eq!(back.attachments[0].name, "счёт.pdf");
    assert_eq!(back.attachments[0].bytes, b"%PDF-1.4 test");
}

#[test]
fn bad_addresses_are_refused() {
    let r = reply(1, "not an address", None);
    assert!(matches!(
        compose::compose(&r),
        Err(compose::ComposeError::BadAddress(_))
    ));
    let mut r = reply(1, "ivan@customer.test", None);
    r.inbox_address = "support".into();
    assert!(compose::compose(&r).is_err());
}

fn letter(to: &str, in_reply_to: &[&str], references: &[&str]) -> inbound::InboundEmail {
    let mut raw = format!(
        "From: ivan@customer.test\r\nTo: {to}\r\nSubject: x\r\nMessage-ID: <n@customer.test>\r\n"
    );
    if !in_reply_to.is_empty() {
        raw.push_str(&format!("In-Reply-To: {}\r\n", in_reply_to.join(" ")));
    }
    if !references.is_empty() {
        raw.push_str(&format!("References: {}\r\n", references.join(" ")));
    }
    raw.push_str("\r\nhello\r\n");
    inbound::parse(raw.as_bytes(), &ParseOptions::default()).expect("parse")
}

#[test]
fn threading_rules() {
    let t = tokens();
    let known = |id: &str| match id {
        "a@parley.shop.test" => Some(10),
        "b@parley.shop.test" => Some(20),
        _ => None,
    };
    let inbox = "support@shop.test";
    // 1. The token wins over headers.
    let to = t.address(inbox, 99).expect("address");
    assert_eq!(
        thread(
            &letter(&to, &["<a@parley.shop.test>"], &[]),
            inbox,
            &t,
            known
        ),
        Thread::Existing {
            conversation: 99,
            by: ThreadedBy::ReplyToken
        }
    );
    // A forged token is ignored.
    let forged = to.replace("+c99-", "+c98-");
    assert_eq!(
        thread(&letter(&forged, &[], &[]), inbox, &t, known),
        Thread::New
    );
    // 2. In-Reply-To, then References newest first.
    assert_eq!(
        thread(
            &letter(inbox, &["<a@parley.shop.test>"], &["<b@parley.shop.test>"]),
            inbox,
            &t,
            known
        ),
        Thread::Existing {
            conversation: 10,
            by: ThreadedBy::InReplyTo
        }
    );
    assert_eq!(
        thread(
            &letter(
                inbox,
                &["<unknown@x>"],
                &["<a@parley.shop.test>", "<b@parley.shop.test>", "<c@x>"]
            ),
            inbox,
            &t,
            known
        ),
        Thread::Existing {
            conversation: 20,
            by: ThreadedBy::References
        }
    );
    // 3. Nothing known: a new conversation, whatever the subject.
    assert_eq!(
        thread(&letter(inbox, &["<zzz@x>"], &[]), inbox, &t, known),
        Thread::New
    );
}
