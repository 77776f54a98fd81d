//! Outgoing e-mail: `SmtpMailer` against the loopback SMTP sink (Cyrillic subject and
//! body intact, several recipients, Reply-To, authentication), how failures are
//! classified for retries (451, 550, connection refused, bad addresses), startup
//! validation of `smtp_url` / `smtp_from`, and that the password never reaches the output.

use crate::cli_support;
use crate::common;

use std::time::Duration;

use cli_support::{Served, parley, run, stderr};
use common::TestServer;
use common::smtp::{SinkMode, SmtpSink};
use parley_service::mail::{Email, MailConfig, MailError, Mailer, SmtpMailer, mailer_from_config};

const FROM: &str = "Отдел заботы <care@shop.example>";

fn mailer(url: &str) -> SmtpMailer {
    SmtpMailer::new(url, FROM).expect("mailer")
}

#[tokio::test]
async fn cyrillic_subject_and_bodies_arrive_intact() {
    let sink = SmtpSink::start().await;
    let m = mailer(&sink.url());
    // Long enough to need several encoded words and folded header lines; a body line that
    // starts with a dot (SMTP dot-stuffing), long lines (quoted-printable soft breaks), ё.
    let subject = "Вопрос вне рабочего времени: «Где мой заказ №1234?» — клиент ждёт ответа 🦔";
    let text = "Здравствуйте, Мария!\n\n\
        Клиент написал в 23:40, когда отдел доставки уже не работал. Ёжик в тумане, съешь же ещё этих мягких французских булок да выпей чаю.\n\
        .точка в начале строки\n\
        ..две точки\n\
        Спасибо.";
    let html = "<p>Здравствуйте, <b>Мария</b>!</p>\n<p>Клиент ждёт ответа &mdash; ёлка.</p>";
    let email = Email {
        to: vec!["Мария Петрова <maria@shop.example>".into()],
        subject: subject.into(),
        text: text.into(),
        html: Some(html.into()),
        reply_to: None,
    };
    m.send(email).await.expect("sent");

    let got = sink.next().await;
    assert_eq!(got.from, "care@shop.example");
    assert_eq!(got.to, vec!["maria@shop.example".to_string()]);
    assert_eq!(got.subject(), subject);
    assert_eq!(got.text(), text);
    assert_eq!(got.html().as_deref(), Some(html));
    let from = got.header_decoded("From").expect("From");
    assert!(
        from.contains("Отдел заботы") && from.contains("<care@shop.example>"),
        "{from}"
    );
    let to = got.header_decoded("To").expect("To");
    assert!(
        to.contains("Мария Петрова") && to.contains("maria@shop.example"),
        "{to}"
    );
    let id = got.header("Message-ID").expect("Message-ID");
    assert!(
        id.starts_with('<') && id.ends_with("@shop.example>"),
        "{id}"
    );
    assert!(got.header("Date").is_some(), "no Date:\n{}", got.raw());
    assert!(got.header("Reply-To").is_none());
    assert!(got.auth.is_none(), "no credentials in the URL, no AUTH");
    // Every header line is 7-bit: the Cyrillic went through RFC 2047, not raw UTF-8.
    let raw = got.raw();
    let head = raw.split("\r\n\r\n").next().unwrap_or_default();
    assert!(head.is_ascii(), "raw UTF-8 in headers:\n{head}");
}

#[tokio::test]
async fn several_recipients_reply_to_and_plain_text_only() {
    let sink = SmtpSink::start().await;
    let m = mailer(&sink.url());
    let mut email = Email::new(
        [
            "first@shop.example",
            "Второй <second@shop.example>",
            "third@shop.example",
        ],
        "Сводка за ночь",
        "Три вопроса пришли ночью.",
    );
    email.reply_to = Some("Диалог 42 <reply+42@shop.example>".into());
    m.send(email).await.expect("sent");

    let got = sink.next().await;
    assert_eq!(
        got.to,
        [
            "first@shop.example",
            "second@shop.example",
            "third@shop.example"
        ]
    );
    let to = got.header_decoded("To").expect("To");
    for a in ["first@", "Второй <second@", "third@"] {
        assert!(to.contains(a), "To lacks {a}: {to}");
    }
    let reply_to = got.header_decoded("Reply-To").expect("Reply-To");
    assert!(
        reply_to.contains("Диалог 42") && reply_to.contains("<reply+42@shop.example>"),
        "{reply_to}"
    );
    assert_eq!(got.subject(), "Сводка за ночь");
    assert_eq!(got.text(), "Три вопроса пришли ночью.");
    assert!(got.html().is_none());
    let ct = got.header("Content-Type").expect("Content-Type");
    assert!(
        ct.to_ascii_lowercase()
            .starts_with("text/plain; charset=utf-8"),
        "{ct}"
    );

    // A second e-mail is a second message, in order.
    m.send(Email::new(["x@shop.example"], "2", "второе"))
        .await
        .expect("sent");
    assert_eq!(sink.next().await.text(), "второе");
    assert_eq!(sink.wait_for(2).await.len(), 2);
}

#[tokio::test]
async fn mostly_ascii_bodies_survive_smtp_framing() {
    let sink = SmtpSink::start().await;
    let m = mailer(&sink.url());
    // 7-bit text: lines of dots must be dot-stuffed by the client (a lone "." would end
    // the DATA) and unstuffed by the server.
    let dots = "line one\n.\n..two dots\n.leading dot\nend";
    m.send(Email::new(["a@shop.example"], "dots", dots))
        .await
        .expect("sent");
    // Mostly ASCII with a few Cyrillic letters and a long line: quoted-printable with
    // soft line breaks.
    let mixed = format!(
        "Order #1234 (заказ) is late: {}\n.ещё строка с точкой",
        "x".repeat(150)
    );
    m.send(Email::new(
        ["a@shop.example"],
        "Order #1234 — заказ",
        mixed.as_str(),
    ))
    .await
    .expect("sent");
    let first = sink.next().await;
    assert_eq!(first.text(), dots, "raw:\n{}", first.raw());
    let second = sink.next().await;
    assert_eq!(second.text(), mixed, "raw:\n{}", second.raw());
    assert_eq!(second.subject(), "Order #1234 — заказ");
}

#[tokio::test]
async fn credentials_in_the_url_are_used_for_auth() {
    let sink = SmtpSink::start().await;
    let m = mailer(&sink.url_with_auth("relay-user", "p@ss:w/rd"));
    m.send(Email::new(["a@shop.example"], "s", "t"))
        .await
        .expect("sent");
    let got = sink.next().await;
    assert_eq!(sink.auths().len(), 1);
    assert_eq!(
        got.auth,
        Some(("relay-user".to_string(), "p@ss:w/rd".to_string()))
    );
    let shown = format!("{m:?}");
    assert!(
        !shown.contains("p@ss") && !shown.contains("p%40ss"),
        "{shown}"
    );
}

#[tokio::test]
async fn required_tls_never_falls_back_to_plain_text() {
    // The sink speaks plain SMTP only and does not offer STARTTLS.
    let sink = SmtpSink::start().await;
    let starttls = format!("{}?tls=starttls", sink.url_with_auth("u", "secret"));
    let err = mailer(&starttls)
        .send(Email::new(["a@shop.example"], "s", "t"))
        .await
        .expect_err("no STARTTLS offered");
    assert!(
        matches!(err, MailError::Permanent(_)),
        "a server without STARTTLS will not grow it by retrying: {err:?}"
    );
    assert!(!err.to_string().contains("secret"), "{err}");
    let implicit = format!("smtps://u:secret@{}", sink.addr());
    let err = mailer(&implicit)
        .send(Email::new(["a@shop.example"], "s", "t"))
        .await
        .expect_err("no TLS handshake possible");
    assert!(!err.to_string().contains("secret"), "{err}");
    assert!(
        sink.auths().is_empty(),
        "the password crossed in clear text"
    );
    assert_eq!(sink.attempts(), 0, "nothing may be sent without TLS");
}

#[tokio::test]
async fn greylisting_451_is_transient_and_a_retry_goes_through() {
    let sink = SmtpSink::start_with(SinkMode::TempFailFirst).await;
    let m = mailer(&sink.url());
    let email = Email::new(["late@shop.example"], "Повтор", "со второй попытки");
    let err = m.send(email.clone()).await.expect_err("451 first");
    assert!(matches!(err, MailError::Transient(_)), "{err:?}");
    assert!(!err.is_permanent());
    assert!(err.to_string().contains("451"), "{err}");
    assert!(sink.received().is_empty());

    m.send(email).await.expect("the retry is accepted");
    assert_eq!(sink.next().await.text(), "со второй попытки");
    assert_eq!(sink.attempts(), 2);
}

#[tokio::test]
async fn rejection_550_is_permanent() {
    let sink = SmtpSink::start_with(SinkMode::RejectAll).await;
    let m = mailer(&sink.url());
    let err = m
        .send(Email::new(["nobody@shop.example"], "s", "t"))
        .await
        .expect_err("550");
    assert!(matches!(err, MailError::Permanent(_)), "{err:?}");
    assert!(err.is_permanent());
    assert!(err.to_string().contains("550"), "{err}");
    assert!(sink.received().is_empty());
}

#[tokio::test]
async fn connection_refused_is_transient() {
    // A port that was free a moment ago and that nothing listens on now.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        l.local_addr().expect("addr").port()
    };
    let m = mailer(&format!("smtp://user:secret@127.0.0.1:{port}"));
    let err = m
        .send(Email::new(["a@shop.example"], "s", "t"))
        .await
        .expect_err("nothing listens");
    assert!(matches!(err, MailError::Transient(_)), "{err:?}");
    assert!(!err.is_permanent());
    assert!(!err.to_string().contains("secret"), "{err}");
}

#[tokio::test]
async fn bad_addresses_fail_before_connecting() {
    let sink = SmtpSink::start().await;
    let m = mailer(&sink.url());
    for email in [
        Email::new(["not an address"], "s", "t"),
        Email::new(Vec::<String>::new(), "s", "t"),
        Email {
            reply_to: Some("@@".into()),
            ..Email::new(["ok@shop.example"], "s", "t")
        },
    ] {
        let err = m.send(email.clone()).await.expect_err("refused");
        assert!(
            matches!(err, MailError::BadAddress(_)),
            "{email:?}: {err:?}"
        );
        assert!(err.is_permanent());
    }
    assert_eq!(sink.attempts(), 0, "no SMTP transaction for a bad address");
}

#[tokio::test]
async fn mailer_from_config_validates_at_startup() {
    let off = mailer_from_config(&MailConfig::default()).expect("no URL = mail off");
    assert!(!off.is_configured());
    let err = off
        .send(Email::new(["a@shop.example"], "s", "t"))
        .await
        .expect_err("not configured");
    assert!(matches!(err, MailError::NotConfigured) && err.is_permanent());

    let blank = MailConfig {
        url: Some(String::new()),
        ..MailConfig::default()
    };
    assert!(
        !mailer_from_config(&blank)
            .expect("blank = off")
            .is_configured()
    );

    for url in [
        "smtp://relay.local",
        "smtp://user:pass@relay.local:2525",
        "smtp://smtp.example.com:587?tls=starttls",
        "smtps://smtp.example.com:465",
    ] {
        let cfg = MailConfig {
            url: Some(url.into()),
            ..MailConfig::default()
        };
        assert!(
            mailer_from_config(&cfg).expect(url).is_configured(),
            "{url}"
        );
    }

    for url in [
        "http://relay.local",
        "smtp://relay.local?tls=sometimes",
        "smtp://user:secret@",
        "relay.local:25",
    ] {
        let cfg = MailConfig {
            url: Some(url.into()),
            ..MailConfig::default()
        };
        let err = mailer_from_config(&cfg).expect_err(url);
        assert!(matches!(err, MailError::BadUrl(_)), "{url}: {err:?}");
        assert!(!err.to_string().contains("secret"), "{err}");
    }

    let cfg = MailConfig {
        url: Some("smtp://relay.local".into()),
        from: "Parley <no-at-sign>".into(),
    };
    let err = mailer_from_config(&cfg).expect_err("bad sender");
    assert!(matches!(err, MailError::BadAddress(_)), "{err:?}");
}

#[tokio::test]
async fn the_server_wires_the_configured_mailer() {
    let sink = SmtpSink::start().await;
    let url = sink.url();
    let s = TestServer::sqlite_with(|c| {
        c.smtp_url = Some(url.as_str().into());
        c.smtp_from = "Поддержка <help@shop.example>".into();
    })
    .await;
    let mailer = s.svc().mailer.clone();
    assert!(mailer.is_configured());
    mailer
        .send(Email::new(
            ["manager@shop.example"],
            "Ночной вопрос",
            "Текст",
        ))
        .await
        .expect("sent");
    let got = sink.next().await;
    assert_eq!(got.from, "help@shop.example");
    assert_eq!(got.subject(), "Ночной вопрос");
    s.stop().await;

    let s = TestServer::sqlite().await;
    assert!(!s.svc().mailer.is_configured(), "no smtp_url, no mail");
    s.stop().await;
}

/// The sink's decoder on a hand-written message, so the Cyrillic assertions above do not
/// rest on the decoder merely agreeing with the encoder: Q and B encoded words split over
/// folded lines, a quoted-printable part with soft line breaks, a base64 part.
#[test]
fn the_sink_decodes_hand_written_mime() {
    let raw = "From: a@b.example\r\n\
        Subject: =?utf-8?q?=D0=9F=D1=80=D0=B8?=\r\n =?UTF-8?B?0LLQtdGC?= =?utf-8?q?_?=\r\n \
        world_1\r\n\
        Content-Type: multipart/alternative; boundary=\"XyZ\"\r\n\
        \r\n\
        preamble\r\n\
        --XyZ\r\n\
        Content-Type: text/plain; charset=UTF-8\r\n\
        Content-Transfer-Encoding: quoted-printable\r\n\
        \r\n\
        =D0=9F=D1=80=D0=B8=\r\n\
        =D0=B2=D0=B5=D1=82, a_b =3D c\r\n\
        second line\r\n\
        --XyZ\r\n\
        Content-Type: text/html; charset=utf-8\r\n\
        Content-Transfer-Encoding: base64\r\n\
        \r\n\
        PHA+0IHQtjwvcD4=\r\n\
        --XyZ--\r\n";
    let got = common::smtp::Received {
        from: "a@b.example".into(),
        to: vec!["c@d.example".into()],
        data: raw.as_bytes().to_vec(),
        auth: None,
    };
    assert_eq!(got.subject(), "Привет  world_1");
    assert_eq!(got.text(), "Привет, a_b = c\nsecond line");
    assert_eq!(got.html().as_deref(), Some("<p>Ёж</p>"));
}

/// Exit status of a configuration error.
const CONFIG_ERROR: i32 = 2;

#[test]
fn malformed_mail_settings_stop_the_binary_naming_the_key() {
    let dir = tempfile::tempdir().expect("tempdir");
    for (var, value, key) in [
        (
            "PARLEY_SMTP_URL",
            "smtp://user:hunter2@relay.local?tls=bogus",
            "smtp_url",
        ),
        (
            "PARLEY_SMTP_URL",
            "mailto:user:hunter2@relay.local",
            "smtp_url",
        ),
        (
            "PARLEY_SMTP_URL",
            "smtp://user:hunter2@relay.local/x",
            "smtp_url",
        ),
        ("PARLEY_SMTP_FROM", "Parley <nobody>", "smtp_from"),
    ] {
        let out = run(parley(dir.path()).env(var, value));
        let err = stderr(&out);
        assert_eq!(
            out.status.code(),
            Some(CONFIG_ERROR),
            "{var}={value}: {err}"
        );
        assert!(
            err.starts_with(&format!("parley: configuration: {key}:")),
            "{var}={value}: {err}"
        );
        assert!(!err.contains("hunter2"), "the password leaked: {err}");
        assert!(err.lines().count() <= 2, "{err}");
    }
    // The flag and the TOML key are checked the same way.
    let out = run(parley(dir.path()).args(["--smtp-url", "smtps://h?tls=starttls", "migrate"]));
    assert_eq!(out.status.code(), Some(CONFIG_ERROR), "{}", stderr(&out));
    assert!(stderr(&out).contains("smtp_url"));
    std::fs::write(dir.path().join("p.toml"), "smtp_url = \"ftp://h\"\n").expect("write");
    let out = run(parley(dir.path()).args(["--config", "p.toml", "migrate"]));
    assert_eq!(out.status.code(), Some(CONFIG_ERROR), "{}", stderr(&out));
    assert!(stderr(&out).contains("smtp_url"));
    assert!(
        !dir.path().join("parley-data").exists(),
        "a refused configuration creates nothing"
    );
}

#[test]
fn the_serving_line_shows_the_mail_server_without_its_password() {
    for format in ["text", "json"] {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut cmd = parley(dir.path());
        cmd.env("PARLEY_LISTEN", "127.0.0.1:0")
            .env("PARLEY_LOG_FORMAT", format)
            .env(
                "PARLEY_SMTP_URL",
                "smtp://relay-user:hunter2@127.0.0.1:2525",
            );
        let mut server = Served::start(cmd);
        let seen = server.drain(Duration::from_millis(200)).join("\n");
        assert!(
            seen.contains("smtp://relay-user:***@127.0.0.1:2525"),
            "{format}: the mail server is not shown:\n{seen}"
        );
        assert!(
            !seen.contains("hunter2"),
            "{format}: the password leaked:\n{seen}"
        );
        server.terminate();
        let all = server.seen.join("\n");
        assert!(
            !all.contains("hunter2"),
            "{format}: the password leaked:\n{all}"
        );
    }
}

#[test]
fn config_debug_hides_the_password() {
    let cfg = parley::Config {
        smtp_url: Some("smtps://me:hunter2@smtp.example.com".into()),
        ..parley::Config::default()
    };
    let shown = format!("{cfg:?}");
    assert!(!shown.contains("hunter2"), "{shown}");
    assert!(shown.contains("smtps://me:***@smtp.example.com"), "{shown}");
    assert_eq!(
        cfg.mail_config().url.as_deref(),
        Some("smtps://me:hunter2@smtp.example.com")
    );
}
