//! Against the real mail system (Dovecot, OpenSMTPD) of [`crate::email::testing`]: IMAP
//! import exactly once across restarts, disconnects and UIDVALIDITY changes, SMTP sending
//! with STARTTLS, TLS and plain, typed failures, and the whole round trip of a conversation.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::broadcast;

use crate::email::imap::{Cursor, Importer, test_connection as imap_probe};
use crate::email::inbound::{self, ParseOptions};
use crate::email::smtp::{self, SendError, SmtpSecurity};
use crate::email::testing::{MailSystem, MemoryTarget, Options};
use crate::email::threading::{Thread, ThreadedBy, thread};
use crate::email::token::ReplyTokens;
use crate::email::{compose, probe::ProbeError};

/// How long a test waits for asynchronous delivery before it fails (not a latency bound).
const PATIENCE: Duration = Duration::from_secs(30);

fn letter(n: usize, to: &str) -> Vec<u8> {
    format!(
        "From: Customer {n} <c{n}@customer.test>\r\nTo: {to}\r\nSubject: Question {n}\r\n\
         Message-ID: <q{n}@customer.test>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n\
         Вопрос номер {n}\r\n"
    )
    .into_bytes()
}

fn ids(t: &MemoryTarget) -> Vec<String> {
    t.state()
        .letters
        .iter()
        .filter_map(|l| l.1.clone())
        .collect()
}

fn expected(range: std::ops::RangeInclusive<usize>) -> Vec<String> {
    range.map(|n| format!("q{n}@customer.test")).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn imports_over_tls_and_plain_exactly_once() {
    let Some(sys) = MailSystem::start_or_skip(
        "imports_over_tls_and_plain_exactly_once",
        Options::default(),
    ) else {
        return;
    };
    let user = "support@shop.test";
    sys.append_many(user, (1..=5).map(|n| letter(n, user)))
        .await
        .expect("append");
    for tls in [true, false] {
        let importer = Importer::new(sys.imap(user, tls), MemoryTarget::new());
        let r = importer.sync_once().await.expect("sync");
        assert_eq!(r.imported, 5, "tls={tls}");
        assert_eq!(
            importer.sync_once().await.expect("again").imported,
            0,
            "nothing twice"
        );
        assert_eq!(ids(importer.target()), expected(1..=5));
        let parsed = inbound::parse(
            &importer.target().state().letters[0].2,
            &ParseOptions::default(),
        )
        .expect("parse");
        assert_eq!(parsed.text, "Вопрос номер 1");
    }
    // New letters after the cursor, and only they.
    let importer = Importer::new(sys.imap(user, true), MemoryTarget::new());
    importer.sync_once().await.expect("sync");
    sys.append_many(user, (6..=7).map(|n| letter(n, user)))
        .await
        .expect("append");
    assert_eq!(importer.sync_once().await.expect("sync").imported, 2);
    assert_eq!(ids(importer.target()), expected(1..=7));
    assert_eq!(importer.target().state().duplicates, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backlog_survives_crashes_and_dropped_connections() {
    let Some(sys) = MailSystem::start_or_skip(
        "a_backlog_survives_crashes_and_dropped_connections",
        Options::default(),
    ) else {
        return;
    };
    let user = "backlog@shop.test";
    let total = 300;
    sys.append_many(user, (1..=total).map(|n| letter(n, user)))
        .await
        .expect("append");
    let mut settings = sys.imap(user, true);
    settings.chunk_letters = 25;
    settings.list_window = 120;

    // A crash at the 57th letter (the target fails as a killed process would), then a new
    // importer on the same stored cursor.
    let target = Arc::new(MemoryTarget::new());
    target.fail_at.store(57, Ordering::SeqCst);
    let err = Importer::new(settings.clone(), target.clone())
        .sync_once()
        .await;
    assert!(err.is_err(), "the simulated crash stops the pass");
    assert_eq!(target.state().letters.len(), 56);
    target.fail_at.store(0, Ordering::SeqCst);

    // The rest through a proxy that drops every connection twice along the way; run()
    // reconnects and continues from the cursor.
    let (proxy_port, kill) = proxy(sys.imaps_port).await;
    let mut via_proxy = settings.clone();
    via_proxy.port = proxy_port;
    let kills = Arc::new(AtomicU64::new(0));
    let mut t = MemoryTarget::new();
    t.preset(target.state().cursor.expect("cursor"), &[]);
    let k = kills.clone();
    t.on_import = Some(Box::new(move |n| {
        if n == 40 || n == 150 {
            k.fetch_add(1, Ordering::SeqCst);
            let _ = kill.send(());
        }
    }));
    let t = Arc::new(t);
    let importer = Arc::new(Importer::new(via_proxy, t.clone()));
    let task = tokio::spawn({
        let importer = importer.clone();
        async move { importer.run().await }
    });
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while t.state().letters.len() < total - 56 && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    task.abort();
    let second = t.state();
    assert_eq!(
        kills.load(Ordering::SeqCst),
        2,
        "the connection was dropped twice"
    );
    let mut all = ids(&target);
    all.extend(second.letters.iter().filter_map(|l| l.1.clone()));
    assert_eq!(all, expected(1..=total), "every letter once, in order");
    assert_eq!(second.duplicates + target.state().duplicates, 0);
    assert_eq!(second.cursor.map(|c| c.last_uid), Some(total as u32));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_uidvalidity_re_reads_and_dedupes_by_message_id() {
    let Some(sys) = MailSystem::start_or_skip(
        "a_new_uidvalidity_re_reads_and_dedupes_by_message_id",
        Options::default(),
    ) else {
        return;
    };
    let user = "resync@shop.test";
    sys.append_many(user, (1..=4).map(|n| letter(n, user)))
        .await
        .expect("append");
    let target = MemoryTarget::new();
    // Imported earlier under another UIDVALIDITY: the first two letters.
    target.preset(
        Cursor {
            uidvalidity: 1,
            last_uid: 2,
        },
        &["q1@customer.test", "q2@customer.test"],
    );
    let importer = Importer::new(sys.imap(user, false), target);
    let r = importer.sync_once().await.expect("sync");
    assert_eq!(r.imported, 4, "all offered again");
    let s = importer.target().state();
    assert_eq!(s.deduplicated, 2);
    assert_eq!(ids(importer.target()), expected(3..=4));
    assert_ne!(s.cursor.map(|c| c.uidvalidity), Some(1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_imports_a_new_letter_without_polling() {
    let Some(sys) = MailSystem::start_or_skip(
        "idle_imports_a_new_letter_without_polling",
        Options::default(),
    ) else {
        return;
    };
    let user = "idle@shop.test";
    sys.append(user, &letter(1, user)).await.expect("append");
    let mut settings = sys.imap(user, true);
    // Polling would take an hour: only IDLE can bring the second letter in time.
    settings.poll_interval = Duration::from_secs(3600);
    let target = Arc::new(MemoryTarget::new());
    let importer = Arc::new(Importer::new(settings, target.clone()));
    let task = tokio::spawn({
        let importer = importer.clone();
        async move { importer.run().await }
    });
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while target.state().letters.is_empty() && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Give the importer a moment to enter IDLE, then deliver.
    tokio::time::sleep(Duration::from_millis(300)).await;
    sys.append(user, &letter(2, user)).await.expect("append");
    while target.state().letters.len() < 2 && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    task.abort();
    assert_eq!(ids(&target), expected(1..=2));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connection_checks_name_what_failed() {
    // With OpenSMTPD: the submission service connects to its relay when a client logs in.
    let Some(sys) =
        MailSystem::start_or_skip("connection_checks_name_what_failed", Options { smtp: true })
    else {
        return;
    };
    let user = "probe@shop.test";
    sys.append(user, &letter(1, user)).await.expect("append");
    let ok = imap_probe(&sys.imap(user, true))
        .await
        .expect("probe over TLS");
    assert_eq!(ok.messages, 1);
    assert!(ok.idle);

    let mut wrong = sys.imap(user, true);
    wrong.password = "wrong".into();
    assert_eq!(code(imap_probe(&wrong).await), Some("login_rejected"));

    // The test CA is not trusted without the extra root: verification is never skipped.
    let mut untrusted = sys.imap(user, true);
    untrusted.extra_roots_pem = None;
    assert_eq!(code(imap_probe(&untrusted).await), Some("tls_handshake"));

    // TLS to the plain port.
    let mut tls_to_plain = sys.imap(user, true);
    tls_to_plain.port = sys.imap_port;
    assert_eq!(code(imap_probe(&tls_to_plain).await), Some("tls_handshake"));

    let closed = free_closed_port();
    let mut refused = sys.imap(user, false);
    refused.port = closed;
    assert_eq!(code(imap_probe(&refused).await), Some("connection_refused"));

    let mut nohost = sys.imap(user, false);
    nohost.host = "no-such-host.invalid".into();
    assert_eq!(code(imap_probe(&nohost).await), Some("host_not_found"));

    let mut folder = sys.imap(user, false);
    folder.mailbox = "NoSuchFolder".into();
    assert_eq!(code(imap_probe(&folder).await), Some("mailbox_unavailable"));

    // SMTP: the submission service checks logins itself.
    smtp::test_connection(&sys.submission(user, SmtpSecurity::StartTls))
        .await
        .expect("STARTTLS + AUTH");
    smtp::test_connection(&sys.submission(user, SmtpSecurity::Tls))
        .await
        .expect("TLS + AUTH");
    let mut login = sys.submission(user, SmtpSecurity::StartTls);
    login.auth = smtp::SmtpAuth::Login;
    smtp::test_connection(&login).await.expect("AUTH LOGIN");
    login.credentials = Some((user.into(), "wrong".into()));
    assert_eq!(
        code(smtp::test_connection(&login).await),
        Some("login_rejected")
    );
    let mut untrusted = sys.submission(user, SmtpSecurity::Tls);
    untrusted.extra_roots_pem = None;
    assert_eq!(
        code(smtp::test_connection(&untrusted).await),
        Some("tls_handshake")
    );
    let mut refused = sys.submission(user, SmtpSecurity::StartTls);
    refused.port = closed;
    assert_eq!(
        code(smtp::test_connection(&refused).await),
        Some("connection_refused")
    );
    let mut bad_roots = sys.submission(user, SmtpSecurity::Tls);
    bad_roots.extra_roots_pem = Some(b"not a certificate".to_vec());
    assert_eq!(
        code(smtp::test_connection(&bad_roots).await),
        Some("bad_settings")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sending_failures_are_permanent_or_transient() {
    let Some(sys) = MailSystem::start_or_skip(
        "sending_failures_are_permanent_or_transient",
        Options { smtp: true },
    ) else {
        return;
    };
    let user = "support@shop.test";
    let c = compose::compose(&super::outgoing::reply(
        1,
        "nobody@unknown-domain.test",
        None,
    ))
    .expect("compose");
    // Dovecot's submission relays to OpenSMTPD, which refuses the unknown domain: a
    // permanent 5xx. On a busy machine the relay can answer `421` (transient) while it is
    // still starting, which is what a transient answer is for: try again, as the outbox
    // would.
    let submission = sys.submission(user, SmtpSecurity::StartTls);
    let mut outcome = smtp::send(&submission, &c.message).await;
    for _ in 0..20 {
        if !matches!(outcome, Err(SendError::Transient { .. })) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
        outcome = smtp::send(&submission, &c.message).await;
    }
    match outcome {
        Err(SendError::Permanent {
            code: Some(code),
            text,
        }) => {
            assert!((500..600).contains(&code), "{code} {text}");
        }
        other => panic!("expected a permanent refusal, got {other:?}"),
    }
    let mut closed = sys.submission(user, SmtpSecurity::StartTls);
    closed.port = free_closed_port();
    assert!(matches!(
        smtp::send(&closed, &c.message).await,
        Err(SendError::Transient { .. })
    ));
}

/// The whole conversation: a customer's letter through SMTP into the mailbox, imported once,
/// threaded as new; the agent's reply through submission (STARTTLS, then TLS) into the
/// customer's mailbox with threading headers; the customer's answers threaded back, by
/// headers and by the token alone; a new subject starts a new conversation.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn round_trip_of_a_conversation() {
    let Some(sys) =
        MailSystem::start_or_skip("round_trip_of_a_conversation", Options { smtp: true })
    else {
        return;
    };
    let inbox = "support@shop.test";
    let customer = "ivan@customer.test";
    let tokens = ReplyTokens::new(b"round trip secret, 32 bytes long");
    let opts = ParseOptions {
        own_message_id_domains: vec!["parley.shop.test".into()],
        ..ParseOptions::default()
    };
    let plain = sys.smtp_plain().expect("smtp");
    // Known Message-IDs -> conversation, as the store would keep them.
    let mut known: std::collections::HashMap<String, i64> = Default::default();

    // 1. The customer writes.
    let first = lettre::Message::builder()
        .from("Иван <ivan@customer.test>".parse().expect("from"))
        .to(inbox.parse().expect("to"))
        .subject("Где мой заказ?")
        .message_id(Some("<first@customer.test>".into()))
        .body("Добрый день! Заказ 1234 не пришёл.".to_string())
        .expect("letter");
    smtp::send(&plain, &first)
        .await
        .expect("customer's letter accepted");
    sys.wait_letters(inbox, 1, PATIENCE)
        .await
        .expect("delivered");

    let importer = Importer::new(sys.imap(inbox, true), MemoryTarget::new());
    assert_eq!(importer.sync_once().await.expect("import").imported, 1);
    assert_eq!(importer.sync_once().await.expect("again").imported, 0);
    let raw = importer.target().state().letters[0].2.clone();
    let email = inbound::parse(&raw, &opts).expect("parse");
    assert_eq!(email.text, "Добрый день! Заказ 1234 не пришёл.");
    assert_eq!(
        thread(&email, inbox, &tokens, |id| known.get(id).copied()),
        Thread::New
    );
    let conversation = 1;
    known.insert(email.message_id.clone().expect("id"), conversation);

    // 2. The agent answers, over STARTTLS with AUTH.
    let mut reply = super::outgoing::reply(conversation, customer, email.message_id.as_deref());
    reply.reply_to = tokens.address(inbox, conversation);
    reply.references = email.references.clone();
    reply.subject = email.subject.clone();
    let sent = compose::compose(&reply).expect("compose");
    smtp::send(
        &sys.submission(inbox, SmtpSecurity::StartTls),
        &sent.message,
    )
    .await
    .expect("reply accepted");
    known.insert(sent.message_id.clone(), conversation);
    let got = sys
        .wait_letters(customer, 1, PATIENCE)
        .await
        .expect("reply delivered");
    let received = inbound::parse(&got[0], &opts).expect("parse reply");
    assert_eq!(
        received.message_id.as_deref(),
        Some(sent.message_id.as_str())
    );
    assert_eq!(received.in_reply_to, vec!["first@customer.test"]);
    assert_eq!(received.references, vec!["first@customer.test"]);
    assert_eq!(received.subject, "Re: Где мой заказ?");
    let from = received.from.clone().expect("from");
    assert_eq!(
        (from.name.as_deref(), from.address.as_str()),
        (Some("Мария Иванова"), inbox)
    );
    let answer_to = received.reply_to.clone().expect("reply-to").address;
    assert!(answer_to.starts_with("support+c1-"), "{answer_to}");

    // 3. The customer answers the reply (to the Reply-To address, with threading headers).
    let answer = lettre::Message::builder()
        .from(customer.parse().expect("from"))
        .to(answer_to.parse().expect("to"))
        .subject(compose::reply_subject(&received.subject))
        .message_id(Some("<answer@customer.test>".into()))
        .in_reply_to(format!("<{}>", sent.message_id))
        .references(format!("<first@customer.test> <{}>", sent.message_id))
        .body("Спасибо, жду.\n\n> Здравствуйте!".to_string())
        .expect("answer");
    smtp::send(&plain, &answer).await.expect("answer accepted");
    // 4. A client that drops the threading headers: the token alone threads it.
    let bare = lettre::Message::builder()
        .from(customer.parse().expect("from"))
        .to(answer_to.parse().expect("to"))
        .subject("Re: Где мой заказ?")
        .message_id(Some("<bare@customer.test>".into()))
        .body("Ещё вопрос.".to_string())
        .expect("bare");
    smtp::send(&plain, &bare).await.expect("bare accepted");
    // 5. Same person, new subject, no references: a new conversation.
    let other = lettre::Message::builder()
        .from(customer.parse().expect("from"))
        .to(inbox.parse().expect("to"))
        .subject("Возврат товара")
        .message_id(Some("<other@customer.test>".into()))
        .body("Хочу вернуть товар.".to_string())
        .expect("other");
    smtp::send(&plain, &other).await.expect("other accepted");
    sys.wait_letters(inbox, 4, PATIENCE)
        .await
        .expect("all three delivered to the inbox");

    assert_eq!(importer.sync_once().await.expect("import").imported, 3);
    let state = importer.target().state();
    assert_eq!(state.letters.len(), 4, "each letter once");
    let mut by_id = std::collections::HashMap::new();
    for (_, id, raw) in &state.letters[1..] {
        let e = inbound::parse(raw, &opts).expect("parse");
        by_id.insert(
            id.clone().expect("id"),
            thread(&e, inbox, &tokens, |id| known.get(id).copied()),
        );
    }
    assert_eq!(
        by_id["answer@customer.test"],
        Thread::Existing {
            conversation,
            by: ThreadedBy::ReplyToken
        }
    );
    assert_eq!(
        by_id["bare@customer.test"],
        Thread::Existing {
            conversation,
            by: ThreadedBy::ReplyToken
        }
    );
    assert_eq!(by_id["other@customer.test"], Thread::New);
    // Headers alone thread it too (a provider that rewrites the recipient).
    let answer_raw = &state
        .letters
        .iter()
        .find(|l| l.1.as_deref() == Some("answer@customer.test"))
        .expect("answer")
        .2;
    let mut e = inbound::parse(answer_raw, &opts).expect("parse");
    e.to.clear();
    assert_eq!(
        thread(&e, inbox, &tokens, |id| known.get(id).copied()),
        Thread::Existing {
            conversation,
            by: ThreadedBy::InReplyTo
        }
    );

    // The reply again over implicit TLS (port 465 style).
    let again = compose::compose(&reply).expect("compose");
    smtp::send(&sys.submission(inbox, SmtpSecurity::Tls), &again.message)
        .await
        .expect("over TLS");
    sys.wait_letters(customer, 2, PATIENCE)
        .await
        .expect("second reply delivered");
}

fn code<T>(r: Result<T, ProbeError>) -> Option<&'static str> {
    r.err().map(|e| e.code())
}

/// A port nothing listens on.
fn free_closed_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    l.local_addr().expect("addr").port()
}

/// A TCP proxy to `upstream` whose connections all drop when the sender fires.
async fn proxy(upstream: u16) -> (u16, broadcast::Sender<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let (kill, _) = broadcast::channel::<()>(16);
    let k = kill.clone();
    tokio::spawn(async move {
        while let Ok((mut client, _)) = listener.accept().await {
            let mut killed = k.subscribe();
            tokio::spawn(async move {
                let Ok(mut server) = TcpStream::connect(("127.0.0.1", upstream)).await else {
                    return;
                };
                tokio::select! {
                    _ = tokio::io::copy_bidirectional(&mut client, &mut server) => {}
                    _ = killed.recv() => {}
                }
            });
        }
    });
    (port, kill)
}
