//! Fixture letters under `email/testdata/`, written for these tests: encodings, the quoting
//! styles of Gmail, Outlook, Yandex Mail and Mail.ru, attachments, a DSN, noise.

use crate::email::inbound::{self, InboundEmail, Limits, ParseOptions, SkipReason};

fn fixture(name: &str) -> Vec<u8> {
    let path = format!("{}/src/email/testdata/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn opts() -> ParseOptions {
    ParseOptions {
        limits: Limits::default(),
        own_message_id_domains: vec!["parley.shop.test".into()],
    }
}

fn parse(name: &str) -> InboundEmail {
    inbound::parse(&fixture(name), &opts()).unwrap_or_else(|e| panic!("{name}: {e}"))
}

#[test]
fn koi8r_letter_with_russian_attribution() {
    let m = parse("koi8r.eml");
    let from = m.from.as_ref().expect("from");
    assert_eq!(from.name.as_deref(), Some("Иван Петров"));
    assert_eq!(from.address, "ivan@customer.test");
    assert_eq!(m.subject, "Где заказ?");
    assert_eq!(m.text, "Здравствуйте!\nКогда придёт мой заказ N1234?");
    let collapsed = m.collapsed.as_deref().expect("quote collapsed");
    assert!(
        collapsed.starts_with("02.12.2026 15:30, Поддержка пишет:"),
        "{collapsed}"
    );
    assert_eq!(m.message_id.as_deref(), Some("koi8-1@customer.test"));
    assert_eq!(m.in_reply_to, vec!["out-1@shop.test"]);
    assert_eq!(m.references, vec!["first@customer.test", "out-1@shop.test"]);
    assert_eq!(m.date_ms, Some(1_796_216_400_000));
    assert!(!m.class.suppress_auto_reply());
}

#[test]
fn windows_1251_quoted_printable_outlook_block() {
    let m = parse("cp1251_qp_outlook.eml");
    assert_eq!(m.subject, "RE: Счёт");
    assert_eq!(
        m.from.as_ref().and_then(|f| f.name.as_deref()),
        Some("Анна")
    );
    assert_eq!(
        m.text,
        "Добрый день.\nПрошу выставить счёт на ООО «Ромашка».\n\nС уважением,\nАнна"
    );
    assert!(
        m.collapsed
            .as_deref()
            .is_some_and(|c| c.starts_with("От: Поддержка"))
    );
}

#[test]
fn base64_gmail_english_wrapped_attribution() {
    let m = parse("base64_gmail_en.eml");
    assert_eq!(m.text, "Thanks, that works.");
    let c = m.collapsed.expect("collapsed");
    assert!(
        c.starts_with("On Wed, Dec 2, 2026 at 3:30 PM Shop Support"),
        "{c}"
    );
    assert!(c.contains("> Try clearing the cache."));
    assert_eq!(m.cc.len(), 1);
    assert_eq!(m.to[0].name.as_deref(), Some("Shop Support"));
}

#[test]
fn html_only_becomes_safe_text_and_blockquote_collapses() {
    let m = parse("html_only_yandex.eml");
    assert!(m.from_html);
    assert_eq!(
        m.text,
        "Добрый вечер!\nТовар пришёл «битым», фото во вложении — нет, забыл."
    );
    let c = m.collapsed.expect("collapsed");
    assert!(
        c.starts_with("02.12.2026, 15:30, \"Поддержка\" <support@shop.test>:"),
        "{c}"
    );
    assert!(c.contains("> Напишите, если будут вопросы."), "{c}");
    for bad in ["<", "alert", "color:red"] {
        assert!(!m.text.contains(bad), "{bad} in {:?}", m.text);
    }
}

#[test]
fn plain_part_is_preferred_and_russian_gmail_quote_collapses() {
    let m = parse("gmail_ru_alternative.eml");
    assert!(!m.from_html);
    assert_eq!(m.text, "Да, адрес верный.");
    assert!(
        m.collapsed
            .is_some_and(|c| c.contains("Подтвердите адрес доставки."))
    );
    assert_eq!(m.to[0].address, "support+c42-0000@shop.test");
}

#[test]
fn mailru_attribution() {
    let m = parse("mailru.eml");
    assert_eq!(m.text, "Спасибо!");
    assert!(
        m.collapsed
            .is_some_and(|c| c.starts_with("Среда, 2 декабря 2026"))
    );
    assert_eq!(
        m.from.map(|f| (f.name, f.address)),
        Some((None, "user@mail.ru".into()))
    );
}

#[test]
fn outlook_original_message_and_signature() {
    let m = parse("outlook_en.eml");
    assert_eq!(m.text, "Please cancel order 77.");
    let c = m.collapsed.expect("collapsed");
    assert!(c.starts_with("-- \nMark Brown"), "{c}");
    assert!(c.contains("-----Original Message-----"));
    assert_eq!(m.from.and_then(|f| f.name).as_deref(), Some("Brown, Mark"));
}

#[test]
fn attachments_are_decoded_named_and_sanitised() {
    let m = parse("attachments.eml");
    assert_eq!(m.text, "See the files.");
    let names: Vec<_> = m.attachments.iter().map(|a| a.name.as_str()).collect();
    assert_eq!(names, ["invoice.pdf", "фото.png", "passwd"]);
    assert_eq!(m.attachments[0].content_type, "application/pdf");
    assert!(m.attachments[0].bytes.starts_with(b"%PDF-1.4\n"));
    assert_eq!(m.attachments[0].bytes.len(), 16 + 256);
    assert_eq!(m.attachments[1].content_type, "image/png");
    assert_eq!(m.attachments[1].bytes.len(), 72);
    assert!(m.skipped.is_empty());
}

#[test]
fn attachment_limits_skip_and_say_why() {
    let raw = fixture("attachments.eml");
    let mut o = opts();
    o.limits.max_attachment_bytes = 100;
    o.limits.max_attachments = 1;
    let m = inbound::parse(&raw, &o).expect("parse");
    assert_eq!(m.attachments.len(), 1);
    assert_eq!(m.attachments[0].name, "фото.png");
    assert_eq!(m.skipped.len(), 2);
    assert_eq!(
        (m.skipped[0].name.as_str(), m.skipped[0].reason),
        ("invoice.pdf", SkipReason::TooLarge)
    );
    assert_eq!(
        (m.skipped[1].name.as_str(), m.skipped[1].reason),
        ("passwd", SkipReason::TooMany)
    );
}

#[test]
fn text_limit_cuts_with_a_mark() {
    let mut raw =
        b"From: a@customer.test\r\nTo: support@shop.test\r\nSubject: long\r\n\r\n".to_vec();
    raw.extend(std::iter::repeat_n(b'x', 5_000));
    let mut o = opts();
    o.limits.max_text_chars = 1_000;
    let m = inbound::parse(&raw, &o).expect("parse");
    assert_eq!(m.text.chars().count(), 1_000 + 4);
    assert!(m.text.ends_with("[…]"));
}

#[test]
fn postfix_dsn_names_the_failed_letter() {
    let m = parse("dsn_postfix.eml");
    let b = m.class.bounce.as_ref().expect("bounce");
    assert_eq!(
        b.original_message_id.as_deref(),
        Some("0a1b2c3d@parley.shop.test")
    );
    assert_eq!(b.recipient.as_deref(), Some("nobody@customer.test"));
    assert_eq!(b.status.as_deref(), Some("5.1.1"));
    assert_eq!(b.action.as_deref(), Some("failed"));
    assert!(b.is_permanent());
    let d = b.diagnostic.as_deref().expect("diagnostic");
    assert!(
        d.starts_with("550 5.1.1 <nobody@customer.test>: Recipient address rejected"),
        "{d}"
    );
    assert!(m.class.mailer_daemon);
    assert!(m.class.suppress_auto_reply());
}

#[test]
fn noise_is_classified() {
    let auto = parse("autoreply.eml");
    assert!(auto.class.auto_submitted && !auto.class.bulk && auto.class.bounce.is_none());
    assert!(auto.class.suppress_auto_reply());
    let bulk = parse("bulk_list.eml");
    assert!(bulk.class.bulk && !bulk.class.auto_submitted);
    assert!(bulk.class.suppress_auto_reply());
    let own = parse("own.eml");
    assert!(own.class.own);
    assert_eq!(own.parley_id.as_deref(), Some("555"));
    // A person's letter is none of these.
    let person = parse("mailru.eml");
    assert_eq!(person.class, Default::default());
}

#[test]
fn auto_submitted_no_is_a_person() {
    let raw = b"From: a@customer.test\r\nAuto-Submitted: no\r\nSubject: hi\r\n\r\nhello\r\n";
    let m = inbound::parse(raw, &opts()).expect("parse");
    assert!(!m.class.auto_submitted);
}

#[test]
fn garbage_is_refused_or_harmless() {
    assert!(inbound::parse(b"", &opts()).is_err());
    // Whatever the bytes, parsing never panics and never yields markup-free guarantees less.
    for raw in [
        &b"\xff\xfe\x00garbage"[..],
        b"Subject: \r\n\r\n",
        b"From: <>\r\n\r\n<script>x</script>",
    ] {
        let _ = inbound::parse(raw, &opts());
    }
}
