//! Conversations and messages behave the same on SQLite and PostgreSQL.

use crate::common;

use parley_core::{AssigneeFilter, ConversationStatus, Role};
use parley_store::Store;
use parley_store::conversations::{ConversationFilter, ListStart, NewConversation, fixtures};
use parley_store::messages::{
    ConversationEffects, MessageInsert, MessageWriter, NewAttachment, NewMessage, Waiting,
};
use parley_store::users::NewUser;

macro_rules! both_backends {
    ($($name:ident),+ $(,)?) => {
        mod sqlite { $( #[tokio::test(flavor = "multi_thread", worker_threads = 2)] async fn $name() { super::$name(&super::common::sqlite().await.store).await } )+ }
        mod postgres { $( #[tokio::test(flavor = "multi_thread", worker_threads = 2)] async fn $name() { if let Some(db) = super::common::postgres().await { super::$name(&db.store).await } } )+ }
    };
}

both_backends!(
    create_assigns_display_ids_and_contact_identity,
    list_filters_counts_and_order,
    message_effects_on_conversation,
    echo_id_is_idempotent_even_when_racing,
    source_id_dedupes_per_inbox,
    message_pages_and_private_notes,
    last_messages_labels_and_deletion,
    status_priority_assignee_updates,
    tab_counters_follow_every_change,
    group_commit_writer,
    batched_messages_come_back_as_stored,
    writer_lanes_keep_order_and_commit_order,
    batch_ids_never_reuse_deleted_ones,
    batch_bookkeeping_applies_in_send_order,
    event_log_cursors_are_dense_and_scoped,
    labels_change_while_messages_arrive,
);

struct World {
    account: i64,
    inbox: i64,
    contact: i64,
    contact_inbox: i64,
}

async fn world(s: &Store, name: &str) -> World {
    let a = s.create_account(name, "en").await.unwrap();
    let (inbox, _) = fixtures::inbox(s, a.id, "Site", "Channel::WebWidget")
        .await
        .unwrap();
    let (contact, contact_inbox, _) = fixtures::contact(s, a.id, inbox, "Ivan").await.unwrap();
    World {
        account: a.id,
        inbox,
        contact,
        contact_inbox,
    }
}

fn new_conv(w: &World) -> NewConversation {
    NewConversation {
        account_id: w.account,
        inbox_id: w.inbox,
        contact_id: w.contact,
        contact_inbox_id: Some(w.contact_inbox),
        source_id: None,
        status: ConversationStatus::Open,
        assignee_id: None,
        team_id: None,
        custom_attributes: "{}".into(),
        additional_attributes: "{}".into(),
    }
}

fn msg(conv: &parley_store::conversations::ConversationRow, t: i64, content: &str) -> NewMessage {
    NewMessage {
        account_id: conv.account_id,
        inbox_id: conv.inbox_id,
        conversation_id: conv.id,
        message_type: t,
        content: Some(content.into()),
        content_type: "text".into(),
        content_attributes: "{}".into(),
        additional_attributes: "{}".into(),
        private: false,
        status: "sent".into(),
        sender_type: None,
        sender_id: None,
        echo_id: None,
        source_id: None,
        attachments: vec![],
        deliver: false,
        cursor: None,
        cursor_inbox_id: None,
    }
}

const KEEP: ConversationEffects = ConversationEffects {
    first_reply: false,
    waiting: Waiting::Keep,
    reopen: false,
};

/// A contact's message: the customer waits, and a resolved conversation reopens.
const INCOMING: ConversationEffects = ConversationEffects {
    first_reply: false,
    waiting: Waiting::Start,
    reopen: true,
};

/// An agent's public reply: it ends the wait and may be the first reply.
const REPLY: ConversationEffects = ConversationEffects {
    first_reply: true,
    waiting: Waiting::Stop,
    reopen: false,
};

async fn user(s: &Store, account: i64, email: &str, role: Role) -> i64 {
    let u = s
        .create_user(&NewUser {
            name: email,
            display_name: None,
            email,
            password_hash: "x",
        })
        .await
        .unwrap();
    s.upsert_membership(account, u.id, role).await.unwrap();
    u.id
}

fn created(r: MessageInsert) -> (i64, parley_store::conversations::ConversationRow) {
    match r {
        MessageInsert::Created {
            message_id, after, ..
        } => (message_id, *after),
        MessageInsert::Duplicate { .. } => panic!("expected a new message"),
    }
}

async fn create_assigns_display_ids_and_contact_identity(s: &Store) {
    let a = world(s, "A").await;
    let b = world(s, "B").await;
    let c1 = s.create_conversation(&new_conv(&a)).await.unwrap();
    let c2 = s.create_conversation(&new_conv(&a)).await.unwrap();
    let d1 = s.create_conversation(&new_conv(&b)).await.unwrap();
    assert_eq!((c1.display_id, c2.display_id, d1.display_id), (1, 2, 1));
    assert_ne!(c1.uuid, c2.uuid);
    assert_eq!(c1.status(), ConversationStatus::Open);
    // Another account's number reads as missing.
    assert!(s.conversation(b.account, 2).await.unwrap().is_none());
    assert_eq!(
        s.conversation(a.account, 2).await.unwrap().unwrap().id,
        c2.id
    );
    // Without an identity, the contact's identity in the inbox is found or created.
    let mut n = new_conv(&a);
    n.contact_inbox_id = None;
    let c3 = s.create_conversation(&n).await.unwrap();
    assert_eq!(c3.contact_inbox_id, Some(a.contact_inbox));
    n.source_id = Some("ext-42".into());
    let c4 = s.create_conversation(&n).await.unwrap();
    assert_ne!(c4.contact_inbox_id, Some(a.contact_inbox));
    let d = s
        .conversation_detail(a.account, c1.display_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(d.contact_name.as_deref(), Some("Ivan"));
    assert_eq!(d.channel_type, "Channel::WebWidget");
    assert_eq!(d.unread_count, 0);
}

async fn list_filters_counts_and_order(s: &Store) {
    let w = world(s, "A").await;
    let (inbox2, _) = fixtures::inbox(s, w.account, "Api", "Channel::Api")
        .await
        .unwrap();
    let (contact2, ci2, _) = fixtures::contact(s, w.account, inbox2, "Olga")
        .await
        .unwrap();
    let agent = user(s, w.account, "agent@x.test", Role::Agent).await;
    let other = user(s, w.account, "other@x.test", Role::Agent).await;
    fixtures::inbox_member(s, inbox2, agent).await.unwrap();
    let team = fixtures::team(s, w.account, "Delivery").await.unwrap();

    let mut ids = Vec::new();
    for i in 0..30 {
        let mut n = new_conv(&w);
        if i % 3 == 0 {
            n.inbox_id = inbox2;
            n.contact_id = contact2;
            n.contact_inbox_id = Some(ci2);
        }
        n.assignee_id = match i % 5 {
            0 => Some(agent),
            1 => Some(other),
            _ => None,
        };
        n.team_id = (i % 2 == 0).then_some(team);
        n.status = if i < 25 {
            ConversationStatus::Open
        } else {
            ConversationStatus::Resolved
        };
        let c = s.create_conversation(&n).await.unwrap();
        // Distinct activity times so the order is defined.
        s.insert_message(&msg(&c, 0, &format!("m{i}")), KEEP)
            .await
            .unwrap();
        tokio::time::sleep(std::time::Duration::from_millis(2)).await;
        ids.push(c);
    }
    let mut f = ConversationFilter::all(w.account, agent);
    f.status = Some(ConversationStatus::Open);
    let page1 = s
        .list_conversations(&f, 10, ListStart::Offset(0))
        .await
        .unwrap();
    assert_eq!(page1.len(), 10);
    assert_eq!(page1[0].conv.id, ids[24].id, "newest activity first");
    assert!(
        page1
            .windows(2)
            .all(|p| p[0].conv.last_activity_at >= p[1].conv.last_activity_at)
    );
    let page3 = s
        .list_conversations(&f, 10, ListStart::Offset(20))
        .await
        .unwrap();
    assert_eq!(page3.len(), 5);
    // Keyset pages continue exactly where offsets would.
    let after1 = s
        .list_conversations(&f, 10, ListStart::After(page1[9].cursor()))
        .await
        .unwrap();
    let page2 = s
        .list_conversations(&f, 10, ListStart::Offset(10))
        .await
        .unwrap();
    let ids_of = |v: &[parley_store::conversations::ConversationDetailRow]| {
        v.iter().map(|r| r.conv.id).collect::<Vec<_>>()
    };
    assert_eq!(ids_of(&after1), ids_of(&page2));
    let after2 = s
        .list_conversations(&f, 10, ListStart::After(after1[9].cursor()))
        .await
        .unwrap();
    assert_eq!(ids_of(&after2), ids_of(&page3));
    let after3 = s
        .list_conversations(&f, 10, ListStart::After(after2[4].cursor()))
        .await
        .unwrap();
    assert!(after3.is_empty(), "nothing after the last row");
    // Rows with the same activity time are ordered by id and none is skipped or repeated.
    sqlx::query("UPDATE conversations SET last_activity_at = 1000 WHERE account_id = $1")
        .bind(w.account)
        .execute(s.writer())
        .await
        .unwrap();
    let mut seen = Vec::new();
    let mut start = ListStart::Offset(0);
    loop {
        let page = s.list_conversations(&f, 4, start).await.unwrap();
        let Some(last) = page.last() else { break };
        start = ListStart::After(last.cursor());
        seen.extend(ids_of(&page));
    }
    let mut expected: Vec<i64> = ids.iter().take(25).map(|c| c.id).collect();
    expected.sort_unstable_by(|a, b| b.cmp(a));
    assert_eq!(
        seen, expected,
        "ties broken by id, newest first, each row once"
    );
    let counts = s.count_conversations(&f, 10_000).await.unwrap();
    assert_eq!(counts.all_count, 25);
    assert_eq!(
        counts.mine_count,
        (0..25).filter(|i| i % 5 == 0).count() as i64
    );
    assert_eq!(
        counts.unassigned_count,
        (0..25).filter(|i| i % 5 >= 2).count() as i64
    );
    assert_eq!(counts.assigned_count, 25 - counts.unassigned_count);
    // Status, inbox and team filters count exactly from the counters, whatever the cap.
    assert_eq!(counts.count_limit, None, "exact counts carry no limit");
    assert_eq!(s.count_conversations(&f, 6).await.unwrap(), counts);
    // A text search counts the tabs within its first `cap` matches, in one walk: exact
    // below the cap, and marked with it.
    f.search =
        Some(s.search_match(&parley_core::search_query::ParsedQuery::parse("m").expect("query")));
    let limited = |cap: i64| parley_store::conversations::ConversationCounts {
        count_limit: Some(cap),
        ..counts
    };
    assert_eq!(
        s.count_conversations(&f, 10_000).await.unwrap(),
        limited(10_000)
    );
    assert_eq!(s.count_conversations(&f, 25).await.unwrap(), limited(25));
    let capped = s.count_conversations(&f, 6).await.unwrap();
    assert_eq!((capped.all_count, capped.count_limit), (6, Some(6)));
    assert_eq!(capped.unassigned_count + capped.assigned_count, 6);
    assert!(
        capped.mine_count <= capped.assigned_count.min(5),
        "{capped:?}"
    );
    // Several labels (not text) still stop each count on its own.
    f.search = None;
    f.labels = vec!["nowhere".into(), "none".into()];
    assert_eq!(
        s.count_conversations(&f, 6).await.unwrap(),
        parley_store::conversations::ConversationCounts {
            count_limit: Some(6),
            ..Default::default()
        }
    );
    f.labels.clear();
    f.search =
        Some(s.search_match(&parley_core::search_query::ParsedQuery::parse("m").expect("query")));
    // A common word's plan (each conversation walked is checked against the index)
    // finds exactly what the rare word's plan (every match collected first) finds.
    let q = parley_core::search_query::ParsedQuery::parse("m").expect("query");
    let sized = s.search_match_sized(&q).await.unwrap();
    assert!(!sized.common, "a handful of matches is not common");
    let page = |f: &ConversationFilter| {
        let f = f.clone();
        async move {
            s.list_conversations(&f, 50, ListStart::Offset(0))
                .await
                .unwrap()
                .iter()
                .map(|c| c.conv.id)
                .collect::<Vec<_>>()
        }
    };
    let collected = page(&f).await;
    assert_eq!(collected.len(), 25);
    f.search = Some(parley_store::search::SearchMatch {
        common: true,
        ..sized
    });
    assert_eq!(page(&f).await, collected);
    assert_eq!(
        s.count_conversations(&f, 10_000).await.unwrap(),
        limited(10_000)
    );
    f.search = None;

    f.assignee = AssigneeFilter::Me;
    assert!(
        s.list_conversations(&f, 50, ListStart::Offset(0))
            .await
            .unwrap()
            .iter()
            .all(|c| c.conv.assignee_id == Some(agent)
                && c.assignee_name.as_deref() == Some("agent@x.test"))
    );
    f.assignee = AssigneeFilter::All;
    f.status = None;
    assert_eq!(
        s.count_conversations(&f, 10_000).await.unwrap().all_count,
        30
    );
    f.inbox_id = Some(inbox2);
    assert_eq!(
        s.count_conversations(&f, 10_000).await.unwrap().all_count,
        10
    );
    f.inbox_id = None;
    f.team_id = Some(team);
    let with_team = s
        .list_conversations(&f, 50, ListStart::Offset(0))
        .await
        .unwrap();
    assert_eq!(with_team.len(), 15);
    assert!(
        with_team
            .iter()
            .all(|c| c.team_name.as_deref() == Some("Delivery"))
    );
    f.team_id = None;
    // An agent sees only the inboxes they are a member of.
    f.inboxes = Some(vec![inbox2]);
    assert_eq!(
        s.count_conversations(&f, 10_000).await.unwrap().all_count,
        10
    );
    f.inboxes = Some(vec![]);
    assert_eq!(
        s.count_conversations(&f, 10_000).await.unwrap().all_count,
        0
    );
    f.inboxes = None;
    // Labels: any of them.
    s.replace_conversation_labels(ids[0].id, &["vip".into(), "billing".into()])
        .await
        .unwrap();
    s.replace_conversation_labels(ids[1].id, &["billing".into()])
        .await
        .unwrap();
    f.labels = vec!["vip".into()];
    assert_eq!(
        s.count_conversations(&f, 10_000).await.unwrap().all_count,
        1
    );
    f.labels = vec!["vip".into(), "billing".into()];
    let labelled = s
        .list_conversations(&f, 50, ListStart::Offset(0))
        .await
        .unwrap();
    assert_eq!(labelled.len(), 2);
    let first = labelled.iter().find(|r| r.conv.id == ids[0].id).unwrap();
    assert_eq!(
        first.labels(),
        vec!["billing".to_string(), "vip".to_string()]
    );
    // Unread: incoming messages after the agents' last visit.
    let d = s
        .conversation_detail(w.account, ids[0].display_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(d.unread_count, 1);
    s.touch_agent_last_seen(ids[0].id, agent).await.unwrap();
    let d = s
        .conversation_detail(w.account, ids[0].display_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(d.unread_count, 0);
    assert!(
        d.conv.assignee_last_seen_at.is_some(),
        "the assignee's visit is recorded too"
    );
    // Contact filter.
    let mut f = ConversationFilter::all(w.account, agent);
    f.contact_id = Some(contact2);
    assert_eq!(
        s.count_conversations(&f, 10_000).await.unwrap().all_count,
        10
    );
}

async fn message_effects_on_conversation(s: &Store) {
    let w = world(s, "A").await;
    let agent = user(s, w.account, "a@x.test", Role::Agent).await;
    let c = s.create_conversation(&new_conv(&w)).await.unwrap();
    let incoming = INCOMING;
    let reply = REPLY;
    let (_, after) = created(s.insert_message(&msg(&c, 0, "hi"), incoming).await.unwrap());
    let waiting = after.waiting_since.expect("waiting starts");
    assert!(after.first_reply_created_at.is_none());
    tokio::time::sleep(std::time::Duration::from_millis(3)).await;
    let (_, after) = created(
        s.insert_message(&msg(&c, 0, "hello?"), incoming)
            .await
            .unwrap(),
    );
    assert_eq!(
        after.waiting_since,
        Some(waiting),
        "waiting keeps its start"
    );
    // A private note does not count as the reply.
    let mut note = msg(&c, 1, "note");
    note.private = true;
    let (_, after) = created(s.insert_message(&note, KEEP).await.unwrap());
    assert!(after.first_reply_created_at.is_none());
    let mut r = msg(&c, 1, "answer");
    r.sender_type = Some("User".into());
    r.sender_id = Some(agent);
    let (_, after) = created(s.insert_message(&r, reply).await.unwrap());
    let first = after.first_reply_created_at.expect("first reply recorded");
    assert!(after.waiting_since.is_none());
    let (_, after) = created(s.insert_message(&r, reply).await.unwrap());
    assert_eq!(
        after.first_reply_created_at,
        Some(first),
        "only the first reply"
    );
    // An incoming message reopens a resolved conversation.
    s.set_conversation_status(c.id, ConversationStatus::Resolved, None)
        .await
        .unwrap();
    let res = s
        .insert_message(&msg(&c, 0, "again"), incoming)
        .await
        .unwrap();
    match res {
        MessageInsert::Created { before, after, .. } => {
            assert_eq!(before.status, "resolved");
            assert_eq!(after.status, "open");
            assert!(after.last_activity_at >= before.last_activity_at);
        }
        _ => panic!("expected created"),
    }
    let m = s.messages_page(c.id, None, None, 50, false).await.unwrap();
    let last = m.last().unwrap();
    assert_eq!(last.message.content.as_deref(), Some("again"));
    let replies: Vec<_> = m
        .iter()
        .filter(|m| m.message.sender_id == Some(agent))
        .collect();
    assert_eq!(replies[0].message.sender_name.as_deref(), Some("a@x.test"));
}

async fn echo_id_is_idempotent_even_when_racing(s: &Store) {
    let w = world(s, "A").await;
    let c = s.create_conversation(&new_conv(&w)).await.unwrap();
    let mut m = msg(&c, 0, "once");
    m.echo_id = Some("echo-1".into());
    let (id, _) = created(s.insert_message(&m, KEEP).await.unwrap());
    match s.insert_message(&m, KEEP).await.unwrap() {
        MessageInsert::Duplicate { message_id } => assert_eq!(message_id, id),
        _ => panic!("retry must not store a second message"),
    }
    // The same echo id in another conversation is a different message.
    let c2 = s.create_conversation(&new_conv(&w)).await.unwrap();
    let mut m2 = msg(&c2, 0, "other");
    m2.echo_id = Some("echo-1".into());
    created(s.insert_message(&m2, KEEP).await.unwrap());
    // Racing senders: exactly one row, everyone gets its id.
    let mut race = msg(&c, 0, "race");
    race.echo_id = Some("echo-race".into());
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let (s, race) = (s.clone(), race.clone());
        tasks.push(tokio::spawn(
            async move { s.insert_message(&race, KEEP).await },
        ));
    }
    let mut ids = Vec::new();
    let mut new = 0;
    for t in tasks {
        match t.await.unwrap().unwrap() {
            MessageInsert::Created { message_id, .. } => {
                new += 1;
                ids.push(message_id)
            }
            MessageInsert::Duplicate { message_id } => ids.push(message_id),
        }
    }
    assert_eq!(new, 1);
    assert!(ids.iter().all(|i| *i == ids[0]));
    assert_eq!(s.count_messages(c.id).await.unwrap(), 2);
}

async fn source_id_dedupes_per_inbox(s: &Store) {
    let w = world(s, "A").await;
    let c = s.create_conversation(&new_conv(&w)).await.unwrap();
    let c2 = s.create_conversation(&new_conv(&w)).await.unwrap();
    let mut m = msg(&c, 0, "from telegram");
    m.source_id = Some("tg-1".into());
    let (id, _) = created(s.insert_message(&m, KEEP).await.unwrap());
    match s.insert_message(&m, KEEP).await.unwrap() {
        MessageInsert::Duplicate { message_id } => assert_eq!(message_id, id),
        _ => panic!("a redelivered channel message must not be stored twice"),
    }
    let mut other = msg(&c2, 0, "x");
    other.source_id = Some("tg-1".into());
    assert!(matches!(
        s.insert_message(&other, KEEP).await,
        Err(parley_store::StoreError::Conflict(_))
    ));
}

async fn message_pages_and_private_notes(s: &Store) {
    let w = world(s, "A").await;
    let c = s.create_conversation(&new_conv(&w)).await.unwrap();
    let mut ids = Vec::new();
    for i in 0..45 {
        let mut m = msg(&c, 1, &format!("m{i}"));
        m.private = i % 10 == 9;
        ids.push(created(s.insert_message(&m, KEEP).await.unwrap()).0);
    }
    let newest = s.messages_page(c.id, None, None, 20, false).await.unwrap();
    let got: Vec<i64> = newest.iter().map(|m| m.message.id).collect();
    assert_eq!(got, ids[25..].to_vec(), "newest 20, oldest first");
    let before = s
        .messages_page(c.id, Some(ids[25]), None, 20, false)
        .await
        .unwrap();
    let got: Vec<i64> = before.iter().map(|m| m.message.id).collect();
    assert_eq!(got, ids[5..25].to_vec());
    let after = s
        .messages_page(c.id, None, Some(ids[39]), 20, false)
        .await
        .unwrap();
    let got: Vec<i64> = after.iter().map(|m| m.message.id).collect();
    assert_eq!(got, ids[40..].to_vec());
    let public = s.messages_page(c.id, None, None, 100, true).await.unwrap();
    assert_eq!(public.len(), 41);
    assert!(public.iter().all(|m| m.message.private == 0));
}

async fn last_messages_labels_and_deletion(s: &Store) {
    let w = world(s, "A").await;
    let c1 = s.create_conversation(&new_conv(&w)).await.unwrap();
    let c2 = s.create_conversation(&new_conv(&w)).await.unwrap();
    let mut m = msg(&c1, 0, "with files");
    m.attachments = vec![
        NewAttachment {
            file_type: "image".into(),
            file_name: "a.png".into(),
            content_type: "image/png".into(),
            file_size: 3,
            storage_key: "aa/aa01".into(),
        },
        NewAttachment {
            file_type: "file".into(),
            file_name: "b.pdf".into(),
            content_type: "application/pdf".into(),
            file_size: 5,
            storage_key: "bb/bb02".into(),
        },
    ];
    let (with_files, _) = created(s.insert_message(&m, KEEP).await.unwrap());
    created(
        s.insert_message(&msg(&c1, 2, "activity"), KEEP)
            .await
            .unwrap(),
    );
    created(s.insert_message(&msg(&c2, 1, "only"), KEEP).await.unwrap());
    let last = s.last_messages(&[c1.id, c2.id]).await.unwrap();
    assert_eq!(
        last.len(),
        3,
        "c1: last and last non-activity; c2: one message"
    );
    let files = last.iter().find(|m| m.message.id == with_files).unwrap();
    assert_eq!(files.attachments.len(), 2);
    assert_eq!(files.attachments[0].file_name, "a.png");
    assert!(s.last_messages(&[]).await.unwrap().is_empty());

    let labels = s
        .replace_conversation_labels(c1.id, &["b".into(), "a".into(), "a".into()])
        .await
        .unwrap();
    assert_eq!(labels, vec!["a", "b"]);
    s.replace_conversation_labels(c2.id, &["c".into()])
        .await
        .unwrap();
    let all = s.labels_of(&[c1.id, c2.id]).await.unwrap();
    assert_eq!(all.len(), 3);
    s.replace_conversation_labels(c1.id, &[]).await.unwrap();
    assert_eq!(s.labels_of(&[c1.id]).await.unwrap().len(), 0);

    // Attachments are account-scoped.
    let att_id = files.attachments[0].id;
    let other = s.create_account("B", "en").await.unwrap();
    assert!(s.attachment(other.id, att_id).await.unwrap().is_none());
    let (att, conv, private) = s.attachment(w.account, att_id).await.unwrap().unwrap();
    assert_eq!(
        (att.storage_key.as_str(), conv.id, private),
        ("aa/aa01", c1.id, false)
    );

    let removed = s
        .delete_message(with_files, "This message was deleted", "{\"deleted\":true}")
        .await
        .unwrap();
    assert_eq!(removed.len(), 2);
    assert_eq!(s.count_attachments(w.account).await.unwrap(), 0);
    let m = s.message(c1.id, with_files).await.unwrap().unwrap();
    assert_eq!(
        m.message.content.as_deref(),
        Some("This message was deleted")
    );
    assert!(m.attachments.is_empty());
    assert!(
        s.message(c2.id, with_files).await.unwrap().is_none(),
        "scoped to its conversation"
    );
}

async fn status_priority_assignee_updates(s: &Store) {
    let w = world(s, "A").await;
    let agent = user(s, w.account, "a@x.test", Role::Agent).await;
    let team = fixtures::team(s, w.account, "Payments").await.unwrap();
    let c = s.create_conversation(&new_conv(&w)).await.unwrap();
    let (b, a) = s
        .set_conversation_status(c.id, ConversationStatus::Snoozed, Some(5_000_000))
        .await
        .unwrap();
    assert_eq!((b.status.as_str(), a.status.as_str()), ("open", "snoozed"));
    assert_eq!(a.snoozed_until, Some(5_000_000));
    assert!(s.due_snoozed(4_999_999, 10).await.unwrap().is_empty());
    let due = s.due_snoozed(5_000_000, 10).await.unwrap();
    assert_eq!(due.len(), 1);
    assert_eq!(due[0].id, c.id);
    let (_, a) = s
        .set_conversation_status(c.id, ConversationStatus::Open, Some(7))
        .await
        .unwrap();
    assert_eq!(a.snoozed_until, None, "only snoozed keeps a deadline");
    assert!(s.due_snoozed(i64::MAX, 10).await.unwrap().is_empty());
    let (_, a) = s
        .set_conversation_priority(c.id, Some("urgent"))
        .await
        .unwrap();
    assert_eq!(a.priority.as_deref(), Some("urgent"));
    let (_, a) = s.set_conversation_priority(c.id, None).await.unwrap();
    assert_eq!(a.priority, None);
    let (_, a) = s
        .set_conversation_assignee(c.id, Some(agent))
        .await
        .unwrap();
    assert_eq!(a.assignee_id, Some(agent));
    let (_, a) = s.set_conversation_team(c.id, Some(team)).await.unwrap();
    assert_eq!(a.team_id, Some(team));
    let (_, a) = s.set_conversation_assignee(c.id, None).await.unwrap();
    assert_eq!(a.assignee_id, None);
    let (_, a) = s
        .set_conversation_custom_attributes(c.id, "{\"order\":42}")
        .await
        .unwrap();
    assert_eq!(a.custom_attributes, "{\"order\":42}");
    let a = s.touch_contact_last_seen(c.id).await.unwrap();
    assert!(a.contact_last_seen_at.is_some());
    assert!(!s.is_inbox_member(w.inbox, agent).await.unwrap());
    fixtures::inbox_member(s, w.inbox, agent).await.unwrap();
    assert!(s.is_inbox_member(w.inbox, agent).await.unwrap());
    assert!(s.team_ref(w.account, team).await.unwrap().is_some());
    assert!(s.team_ref(w.account + 1000, team).await.unwrap().is_none());
}

/// Counts straight from the rows, for comparison with the trigger-kept counters.
async fn brute_counts(s: &Store, f: &ConversationFilter) -> [i64; 4] {
    let mut sql = format!(
        "SELECT status, assignee_id, inbox_id, team_id FROM conversations WHERE account_id = {}",
        f.account_id
    );
    if let Some(st) = f.status {
        sql.push_str(&format!(" AND status = '{}'", st.as_str()));
    }
    if let Some(i) = f.inbox_id {
        sql.push_str(&format!(" AND inbox_id = {i}"));
    }
    if let Some(t) = f.team_id {
        sql.push_str(&format!(" AND team_id = {t}"));
    }
    if let Some(l) = f.labels.first() {
        sql.push_str(&format!(
            " AND id IN (SELECT conversation_id FROM conversation_labels WHERE label = '{l}')"
        ));
    }
    let rows: Vec<(String, Option<i64>, i64, Option<i64>)> =
        sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .fetch_all(s.reader())
            .await
            .unwrap();
    let rows: Vec<_> = rows
        .into_iter()
        .filter(|r| f.inboxes.as_ref().is_none_or(|ids| ids.contains(&r.2)))
        .collect();
    [
        rows.len() as i64,
        rows.iter().filter(|r| r.1.is_none()).count() as i64,
        rows.iter().filter(|r| r.1 == Some(f.user_id)).count() as i64,
        rows.iter().filter(|r| r.1.is_some()).count() as i64,
    ]
}

async fn assert_counters(s: &Store, w: &World, me: i64, inbox2: i64, team: i64, when: &str) {
    let mut filters = Vec::new();
    for label in ["vip", "billing"] {
        for status in [None, Some(ConversationStatus::Open)] {
            let mut f = ConversationFilter::all(w.account, me);
            f.status = status;
            f.labels = vec![label.into()];
            filters.push(f.clone());
            f.team_id = Some(team);
            filters.push(f);
        }
    }
    for status in [
        None,
        Some(ConversationStatus::Open),
        Some(ConversationStatus::Resolved),
    ] {
        let mut f = ConversationFilter::all(w.account, me);
        f.status = status;
        filters.push(f.clone());
        let mut g = f.clone();
        g.inbox_id = Some(inbox2);
        filters.push(g);
        let mut g = f.clone();
        g.team_id = Some(team);
        filters.push(g);
        let mut g = f.clone();
        g.inboxes = Some(vec![w.inbox]);
        filters.push(g);
    }
    for f in filters {
        let c = s.count_conversations(&f, 3).await.unwrap();
        assert_eq!(
            [
                c.all_count,
                c.unassigned_count,
                c.mine_count,
                c.assigned_count
            ],
            brute_counts(s, &f).await,
            "{when}: {f:?}"
        );
    }
}

async fn tab_counters_follow_every_change(s: &Store) {
    let w = world(s, "A").await;
    let other = world(s, "B").await;
    let me = user(s, w.account, "me@x.test", Role::Agent).await;
    let agent = user(s, w.account, "a@x.test", Role::Agent).await;
    let team = fixtures::team(s, w.account, "Payments").await.unwrap();
    let (inbox2, _) = fixtures::inbox(s, w.account, "Mail", "Channel::Email")
        .await
        .unwrap();
    let mut convs = Vec::new();
    for i in 0..12 {
        let mut n = new_conv(&w);
        if i % 3 == 0 {
            n.inbox_id = inbox2;
            n.contact_inbox_id = None;
        }
        n.assignee_id = [None, Some(me), Some(agent)][i % 3];
        n.team_id = (i % 2 == 0).then_some(team);
        convs.push(s.create_conversation(&n).await.unwrap());
    }
    // Another account's conversations never count here.
    let theirs = s.create_conversation(&new_conv(&other)).await.unwrap();
    s.replace_conversation_labels(theirs.id, &["vip".into()])
        .await
        .unwrap();
    for (i, c) in convs.iter().enumerate() {
        let labels: Vec<String> = match i % 4 {
            0 => vec!["vip".into()],
            1 => vec!["vip".into(), "billing".into()],
            2 => vec!["billing".into()],
            _ => vec![],
        };
        s.replace_conversation_labels(c.id, &labels).await.unwrap();
    }
    assert_counters(s, &w, me, inbox2, team, "after creation").await;
    for c in &convs[..5] {
        s.set_conversation_status(c.id, ConversationStatus::Resolved, None)
            .await
            .unwrap();
    }
    s.set_conversation_status(convs[0].id, ConversationStatus::Open, None)
        .await
        .unwrap();
    s.set_conversation_status(convs[1].id, ConversationStatus::Resolved, None)
        .await
        .unwrap();
    assert_counters(s, &w, me, inbox2, team, "after status changes").await;
    s.set_conversation_assignee(convs[2].id, Some(me))
        .await
        .unwrap();
    s.set_conversation_assignee(convs[3].id, None)
        .await
        .unwrap();
    s.set_conversation_team(convs[4].id, None).await.unwrap();
    s.set_conversation_team(convs[5].id, Some(team))
        .await
        .unwrap();
    // Unchanged values leave the counters alone.
    s.set_conversation_assignee(convs[6].id, convs[6].assignee_id)
        .await
        .unwrap();
    assert_counters(s, &w, me, inbox2, team, "after assignment and team changes").await;
    // Labels added and removed.
    s.replace_conversation_labels(convs[1].id, &["billing".into()])
        .await
        .unwrap();
    s.replace_conversation_labels(convs[3].id, &["vip".into()])
        .await
        .unwrap();
    s.replace_conversation_labels(convs[0].id, &[])
        .await
        .unwrap();
    assert_counters(s, &w, me, inbox2, team, "after label changes").await;
    // Deleting a team or a user clears the column (ON DELETE SET NULL); deleting an
    // inbox deletes its conversations (ON DELETE CASCADE).
    sqlx::query("DELETE FROM teams WHERE id = $1")
        .bind(team)
        .execute(s.writer())
        .await
        .unwrap();
    assert_counters(s, &w, me, inbox2, team, "after deleting the team").await;
    sqlx::query("DELETE FROM users WHERE id = $1")
        .bind(agent)
        .execute(s.writer())
        .await
        .unwrap();
    assert_counters(s, &w, me, inbox2, team, "after deleting an agent").await;
    sqlx::query("DELETE FROM inboxes WHERE id = $1")
        .bind(inbox2)
        .execute(s.writer())
        .await
        .unwrap();
    assert_counters(s, &w, me, inbox2, team, "after deleting an inbox").await;
}

async fn group_commit_writer(s: &Store) {
    let w = world(s, "A").await;
    let c1 = s.create_conversation(&new_conv(&w)).await.unwrap();
    let c2 = s.create_conversation(&new_conv(&w)).await.unwrap();
    let render = |m: &parley_store::messages::MessageWithAttachments| {
        format!(
            "{{\"content\":{:?}}}",
            m.message.content.clone().unwrap_or_default()
        )
    };
    let writer = MessageWriter::spawn(s.clone(), 16, std::sync::Arc::new(render));
    let incoming = INCOMING;
    let mut tasks = Vec::new();
    for i in 0..60 {
        let writer = writer.clone();
        let conv = if i % 2 == 0 { c1.clone() } else { c2.clone() };
        let mut m = msg(&conv, 0, &format!("m{i}"));
        // Pairs of senders share an echo id: one message each.
        m.echo_id = Some(format!("e{}", i / 4));
        if i == 31 {
            // A message that fails in the database (no such conversation) fails alone.
            m.conversation_id = 987_654_321;
            m.echo_id = None;
        }
        tasks.push(tokio::spawn(async move {
            (i, writer.insert(m, incoming).await)
        }));
    }
    let (mut created_n, mut dup_n, mut failed) = (0, 0, Vec::new());
    let mut cursors = Vec::new();
    for t in tasks {
        match t.await.unwrap() {
            (_, Ok(MessageInsert::Created { message, event, .. })) => {
                created_n += 1;
                // The event was stored with the message, rendered by the writer's renderer.
                assert_eq!(event.name, "message.created");
                assert_eq!(event.conversation_id, Some(message.message.conversation_id));
                assert_eq!(
                    event.payload,
                    format!(
                        "{{\"content\":{:?}}}",
                        message.message.content.clone().unwrap()
                    )
                );
                cursors.push(event.seq);
            }
            (_, Ok(MessageInsert::Duplicate { .. })) => dup_n += 1,
            (i, Err(_)) => failed.push(i),
        }
    }
    assert_eq!(failed, vec![31]);
    let stored = s.count_messages(c1.id).await.unwrap() + s.count_messages(c2.id).await.unwrap();
    assert_eq!(created_n, stored);
    assert_eq!(created_n + dup_n, 59);
    // Echo ids e0..e14, each used by two senders per conversation.
    assert_eq!(stored, 30);
    // One cursor per stored message, dense from 1: no duplicates, no holes.
    cursors.sort_unstable();
    assert_eq!(cursors, (1..=30).collect::<Vec<i64>>());
    assert_eq!(s.event_head(w.account).await.unwrap(), 30);
    let after = s
        .conversation(w.account, c1.display_id)
        .await
        .unwrap()
        .unwrap();
    assert!(
        after.waiting_since.is_some(),
        "effects applied in the batch"
    );
    // A retry after the fact is a duplicate, through the writer too.
    let mut again = msg(&c1, 0, "again");
    again.echo_id = Some("e0".into());
    assert!(matches!(
        writer.insert(again, incoming).await.unwrap(),
        MessageInsert::Duplicate { .. }
    ));
}

/// The writer builds a batch's text messages from what it inserted instead of reading
/// them back: what it returns (and renders into the events) must be the stored message,
/// sender details included, for each kind of sender and for one that does not exist.
async fn batched_messages_come_back_as_stored(s: &Store) {
    let w = world(s, "A").await;
    let conv = s.create_conversation(&new_conv(&w)).await.unwrap();
    let agent = user(s, w.account, "agent@example.com", Role::Agent).await;
    sqlx::query("UPDATE users SET display_name = 'Kate', avatar_url = 'https://a.example/k.png' WHERE id = $1")
        .bind(agent)
        .execute(s.writer())
        .await
        .unwrap();
    sqlx::query("UPDATE contacts SET email = 'ivan@example.com', avatar_url = 'https://a.example/i.png' WHERE id = $1")
        .bind(w.contact)
        .execute(s.writer())
        .await
        .unwrap();
    let (bot,): (i64,) = sqlx::query_as(
        "INSERT INTO agent_bots (account_id, name, description, outgoing_url, avatar_url, bot_type,
            bot_config, token_hash, secret, created_at, updated_at)
         VALUES ($1, 'Robo', '', NULL, 'https://a.example/r.png', 'webhook', '{}', 'h', 's', 0, 0) RETURNING id",
    )
    .bind(w.account)
    .fetch_one(s.writer())
    .await
    .unwrap();
    let render = |m: &parley_store::messages::MessageWithAttachments| {
        format!(
            "{}|{:?}|{:?}|{:?}|{:?}|{}",
            m.message.id,
            m.message.sender_name,
            m.message.sender_display_name,
            m.message.sender_avatar_url,
            m.message.sender_email,
            m.message.display_id
        )
    };
    let writer = MessageWriter::spawn(s.clone(), 8, std::sync::Arc::new(render));
    let senders: [(Option<&str>, Option<i64>, i64, ConversationEffects); 5] = [
        (Some("Contact"), Some(w.contact), 0, INCOMING),
        (Some("User"), Some(agent), 1, REPLY),
        (Some("AgentBot"), Some(bot), 1, REPLY),
        (Some("Contact"), Some(987_654_321), 0, INCOMING),
        (None, None, 2, KEEP),
    ];
    let sends = (0..40).map(|i| {
        let (kind, id, t, fx) = senders[i % senders.len()];
        let mut m = msg(&conv, t, &format!("m{i}"));
        m.sender_type = kind.map(String::from);
        m.sender_id = id;
        m.echo_id = Some(format!("b{i}"));
        m.content_attributes = format!("{{\"n\":{i}}}");
        let writer = writer.clone();
        async move { writer.insert(m, fx).await.unwrap() }
    });
    let mut named = 0;
    for r in futures::future::join_all(sends).await {
        let MessageInsert::Created { message, event, .. } = r else {
            panic!("created");
        };
        let stored = s
            .message(conv.id, message.message.id)
            .await
            .unwrap()
            .expect("stored");
        assert_eq!(
            format!("{:?}", message.message),
            format!("{:?}", stored.message)
        );
        assert!(stored.attachments.is_empty() && message.attachments.is_empty());
        assert_eq!(event.payload, render(&stored));
        named += usize::from(stored.message.sender_name.is_some());
    }
    assert_eq!(
        named, 24,
        "contact, agent and bot messages carry their sender's name"
    );
}

/// A conversation's message contents, oldest first (its first 100).
async fn contents_of(s: &Store, conversation_id: i64) -> Vec<String> {
    s.messages_page(conversation_id, None, None, 100, false)
        .await
        .unwrap()
        .iter()
        .map(|m| m.message.content.clone().unwrap())
        .collect()
}

/// The message writer's lanes (several on PostgreSQL): each conversation's messages keep
/// their arrival order, cursors stay dense, and an acknowledged cursor is never ahead of an
/// uncommitted one (the hub delivers in cursor order and fills holes from the log, so a
/// cursor committed before a smaller one would be skipped as pruned).
async fn writer_lanes_keep_order_and_commit_order(s: &Store) {
    use parley_store::events::EventScope;
    match s.backend() {
        parley_store::Backend::Postgres => assert!(s.write_lanes() > 1, "lanes on PostgreSQL"),
        parley_store::Backend::Sqlite => assert_eq!(s.write_lanes(), 1),
    }
    let w = world(s, "A").await;
    let mut convs = Vec::new();
    for _ in 0..4 {
        convs.push(s.create_conversation(&new_conv(&w)).await.unwrap());
    }
    let render =
        |m: &parley_store::messages::MessageWithAttachments| format!("{{\"id\":{}}}", m.message.id);
    let writer = MessageWriter::spawn(s.clone(), 3, std::sync::Arc::new(render));
    let incoming = INCOMING;
    const PER: usize = 60;
    let mut tasks = Vec::new();
    for conv in &convs {
        let (writer, conv, store) = (writer.clone(), conv.clone(), s.clone());
        tasks.push(tokio::spawn(async move {
            // All of a conversation's messages are handed to the writer at once, in order
            // (join_all polls them in order, and the writer's queue is first come, first
            // served); each sender checks its acknowledgement against the log.
            let sends = (0..PER).map(|i| {
                let (writer, store) = (writer.clone(), store.clone());
                let m = msg(&conv, 0, &format!("c{}-m{i}", conv.id));
                async move {
                    let MessageInsert::Created { message, event, .. } =
                        writer.insert(m, incoming).await.unwrap()
                    else {
                        panic!("created");
                    };
                    // Everything up to the acknowledged cursor is committed.
                    let seen = store
                        .events_after(
                            conv.account_id,
                            &EventScope::Account,
                            0,
                            Some(event.seq + 1),
                            10_000,
                        )
                        .await
                        .unwrap();
                    let seqs: Vec<i64> = seen.iter().map(|e| e.seq).collect();
                    assert_eq!(
                        seqs,
                        (1..=event.seq).collect::<Vec<i64>>(),
                        "committed up to {}",
                        event.seq
                    );
                    (message.message.id, event.seq)
                }
            });
            futures::future::join_all(sends).await
        }));
    }
    let mut all = Vec::new();
    for (conv, t) in convs.iter().zip(tasks) {
        let acks = t.await.unwrap();
        // Arrival order within the conversation: ids and cursors both increase.
        assert!(
            acks.windows(2).all(|p| p[0].0 < p[1].0 && p[0].1 < p[1].1),
            "conversation {} in order: {acks:?}",
            conv.id
        );
        let contents = contents_of(s, conv.id).await;
        let want: Vec<String> = (0..PER).map(|i| format!("c{}-m{i}", conv.id)).collect();
        assert_eq!(contents, want);
        all.extend(acks.into_iter().map(|a| a.1));
    }
    all.sort_unstable();
    assert_eq!(
        all,
        (1..=(4 * PER) as i64).collect::<Vec<i64>>(),
        "dense cursors, one per message"
    );
}

/// A batch's messages get their ids in one step (ascending, in the batch's order); ids of
/// messages deleted with their account are never given again, on either backend.
async fn batch_ids_never_reuse_deleted_ones(s: &Store) {
    let render =
        |m: &parley_store::messages::MessageWithAttachments| format!("{{\"id\":{}}}", m.message.id);
    let writer = MessageWriter::spawn(s.clone(), 64, std::sync::Arc::new(render));
    let incoming = INCOMING;
    let burst = |conv: parley_store::conversations::ConversationRow, tag: &'static str| {
        let writer = writer.clone();
        async move {
            let sends = (0..40).map(|i| {
                let writer = writer.clone();
                let mut m = msg(&conv, 0, &format!("{tag}{i}"));
                // Every fourth message repeats the previous one's echo id: a duplicate
                // inside the same batch.
                m.echo_id = Some(format!("{tag}-{}", i - i32::from(i % 4 == 3)));
                async move { writer.insert(m, incoming).await.unwrap() }
            });
            futures::future::join_all(sends).await
        }
    };
    let a = world(s, "A").await;
    let ca = s.create_conversation(&new_conv(&a)).await.unwrap();
    let first = burst(ca.clone(), "a").await;
    let created = |r: &[MessageInsert]| {
        r.iter()
            .filter_map(|x| match x {
                MessageInsert::Created { message_id, .. } => Some(*message_id),
                MessageInsert::Duplicate { .. } => None,
            })
            .collect::<Vec<i64>>()
    };
    let old = created(&first);
    assert_eq!(old.len(), 30, "10 of 40 repeat an echo id");
    assert_eq!(s.count_messages(ca.id).await.unwrap(), 30);
    // The duplicates name the message stored under their echo id.
    for r in &first {
        if let MessageInsert::Duplicate { message_id } = r {
            assert!(old.contains(message_id));
        }
    }
    let old_max = *old.iter().max().unwrap();
    sqlx::query("DELETE FROM accounts WHERE id = $1")
        .bind(a.account)
        .execute(s.writer())
        .await
        .unwrap();
    let b = world(s, "B").await;
    let cb = s.create_conversation(&new_conv(&b)).await.unwrap();
    let new = created(&burst(cb.clone(), "b").await);
    assert_eq!(new.len(), 30);
    assert!(
        new.iter().all(|id| *id > old_max),
        "ids after {old_max}: {new:?}"
    );
    // In the order they were sent.
    assert!(new.windows(2).all(|p| p[0] < p[1]), "{new:?}");
    let contents = contents_of(s, cb.id).await;
    let want: Vec<String> = (0..40)
        .filter(|i| i % 4 != 3)
        .map(|i| format!("b{i}"))
        .collect();
    assert_eq!(contents, want);
}

/// A batch's conversation bookkeeping is one statement per round (the k-th message of each
/// conversation), so several messages of one conversation in one batch must still apply one
/// after the other: each sees what the previous one left (reopening, the waiting clock,
/// the first reply), exactly as when they are sent one at a time.
async fn batch_bookkeeping_applies_in_send_order(s: &Store) {
    let render =
        |m: &parley_store::messages::MessageWithAttachments| format!("{{\"id\":{}}}", m.message.id);
    let writer = MessageWriter::spawn(s.clone(), 64, std::sync::Arc::new(render));
    let incoming = INCOMING;
    let reply = REPLY;
    let w = world(s, "A").await;
    let agent = user(s, w.account, "agent@example.com", Role::Agent).await;
    // Per conversation: the customer writes (reopening it), an agent answers, the
    // customer writes twice more. Conversation 0 is sent one message at a time, the others
    // all at once, interleaved, so the writer batches them.
    let mut convs = Vec::new();
    for _ in 0..4 {
        let c = s.create_conversation(&new_conv(&w)).await.unwrap();
        s.set_conversation_status(c.id, ConversationStatus::Resolved, None)
            .await
            .unwrap();
        convs.push(c);
    }
    let script = |c: &parley_store::conversations::ConversationRow| {
        let mut answer = msg(c, 1, "answer");
        answer.sender_type = Some("User".into());
        answer.sender_id = Some(agent);
        vec![
            (msg(c, 0, "q1"), incoming),
            (answer, reply),
            (msg(c, 0, "q2"), incoming),
            (msg(c, 0, "q3"), incoming),
        ]
    };
    let mut alone = Vec::new();
    for (m, fx) in script(&convs[0]) {
        alone.push(writer.insert(m, fx).await.unwrap());
    }
    let scripts: Vec<_> = convs[1..].iter().map(script).collect();
    let mut sends = Vec::new();
    for step in 0..4 {
        for sc in &scripts {
            let (m, fx) = sc[step].clone();
            let writer = writer.clone();
            sends.push(async move { writer.insert(m, fx).await.unwrap() });
        }
    }
    let together = futures::future::join_all(sends).await;
    // What each message saw: (status before, status after, waiting before, first reply set).
    let seen = |r: &MessageInsert| match r {
        MessageInsert::Created { before, after, .. } => (
            before.status.clone(),
            after.status.clone(),
            before.waiting_since.is_some(),
            before.first_reply_created_at.is_some(),
        ),
        MessageInsert::Duplicate { .. } => panic!("nothing repeats an echo id here"),
    };
    let want: Vec<_> = alone.iter().map(seen).collect();
    assert_eq!(
        want,
        vec![
            ("resolved".to_string(), "open".to_string(), true, false),
            ("open".into(), "open".into(), false, true),
            ("open".into(), "open".into(), true, true),
            ("open".into(), "open".into(), true, true),
        ]
    );
    for (k, _) in scripts.iter().enumerate() {
        let got: Vec<_> = (0..4).map(|step| seen(&together[step * 3 + k])).collect();
        assert_eq!(got, want, "conversation {k} of the batch");
    }
    for c in &convs {
        let row = s
            .conversation(c.account_id, c.display_id)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(row.status, "open");
        assert!(row.waiting_since.is_some(), "the customer wrote last");
        assert!(row.first_reply_created_at.is_some());
        assert!(row.last_reply_at.is_some());
        assert!(row.last_reply_at <= row.last_incoming_at);
        assert_eq!(contents_of(s, c.id).await, vec!["q1", "answer", "q2", "q3"]);
    }
}

async fn event_log_cursors_are_dense_and_scoped(s: &Store) {
    use parley_store::events::{EventDraft, EventScope};
    let a = world(s, "A").await;
    let b = world(s, "B").await;
    let draft = |w: &World, name: &str, inbox: i64, contact: i64, public: bool| EventDraft {
        account_id: w.account,
        name: name.into(),
        conversation_id: Some(1),
        inbox_id: Some(inbox),
        contact_id: Some(contact),
        public,
        payload: format!("{{\"n\":\"{name}\"}}"),
        origin: None,
    };
    assert_eq!(s.event_head(a.account).await.unwrap(), 0);
    assert_eq!(s.oldest_event(a.account).await.unwrap(), None);
    // Concurrent appends in two accounts: each account's cursors are 1..=n, no gaps.
    let mut tasks = Vec::new();
    for i in 0..40 {
        let s = s.clone();
        let d = if i % 2 == 0 {
            draft(&a, &format!("e{i}"), a.inbox, a.contact, i % 4 == 0)
        } else {
            draft(&b, &format!("e{i}"), b.inbox, b.contact, true)
        };
        tasks.push(tokio::spawn(
            async move { s.append_event(d).await.unwrap() },
        ));
    }
    let mut seqs_a = Vec::new();
    for t in tasks {
        let row = t.await.unwrap();
        if row.account_id == a.account {
            seqs_a.push(row.seq);
        }
    }
    seqs_a.sort_unstable();
    assert_eq!(seqs_a, (1..=20).collect::<Vec<i64>>());
    assert_eq!(s.event_head(a.account).await.unwrap(), 20);
    assert_eq!(s.event_head(b.account).await.unwrap(), 20);
    assert_eq!(s.oldest_event(a.account).await.unwrap(), Some(1));

    // Account scope: in cursor order, paged by `after`, bounded by `until`.
    let all = s
        .events_after(a.account, &EventScope::Account, 0, None, 100)
        .await
        .unwrap();
    assert_eq!(
        all.iter().map(|e| e.seq).collect::<Vec<_>>(),
        (1..=20).collect::<Vec<_>>()
    );
    assert!(all.iter().all(|e| e.account_id == a.account));
    let page = s
        .events_after(a.account, &EventScope::Account, 5, Some(9), 100)
        .await
        .unwrap();
    assert_eq!(
        page.iter().map(|e| e.seq).collect::<Vec<_>>(),
        vec![6, 7, 8]
    );
    let limited = s
        .events_after(a.account, &EventScope::Account, 0, None, 3)
        .await
        .unwrap();
    assert_eq!(limited.len(), 3);

    // Inbox scope: only the listed inboxes; an empty list sees nothing.
    let mine = s
        .events_after(a.account, &EventScope::Inboxes(vec![a.inbox]), 0, None, 100)
        .await
        .unwrap();
    assert_eq!(mine.len(), 20);
    let other = s
        .events_after(a.account, &EventScope::Inboxes(vec![b.inbox]), 0, None, 100)
        .await
        .unwrap();
    assert!(
        other.is_empty(),
        "another account's inbox id sees nothing in this account"
    );
    assert!(
        s.events_after(a.account, &EventScope::Inboxes(vec![]), 0, None, 100)
            .await
            .unwrap()
            .is_empty()
    );

    // Visitor scope: public events of that contact in that inbox only.
    let visitor = EventScope::Visitor {
        contact_id: a.contact,
        inbox_id: a.inbox,
    };
    let seen = s
        .events_after(a.account, &visitor, 0, None, 100)
        .await
        .unwrap();
    assert_eq!(seen.len(), 10, "only the public half");
    assert!(seen.iter().all(|e| e.public == 1));
    let wrong_inbox = EventScope::Visitor {
        contact_id: a.contact,
        inbox_id: b.inbox,
    };
    assert!(
        s.events_after(a.account, &wrong_inbox, 0, None, 100)
            .await
            .unwrap()
            .is_empty()
    );

    // Pruning removes old events but never resets the counter.
    assert_eq!(s.prune_events(parley_core::now_ms() + 1).await.unwrap(), 40);
    assert_eq!(s.oldest_event(a.account).await.unwrap(), None);
    let next = s
        .append_event(draft(&a, "after-prune", a.inbox, a.contact, true))
        .await
        .unwrap();
    assert_eq!(next.seq, 21);

    // One batch across both accounts, interleaved (as the message writer appends): each
    // account's drafts take its next cursors in the order given, and what comes back is
    // what was stored.
    let batch = vec![
        draft(&b, "m1", b.inbox, b.contact, true),
        draft(&a, "m2", a.inbox, a.contact, true),
        draft(&b, "m3", b.inbox, b.contact, false),
        draft(&a, "m4", a.inbox, a.contact, true),
        draft(&a, "m5", a.inbox, a.contact, true),
    ];
    let mut tx = s.writer().begin().await.unwrap();
    let rows = parley_store::events::append_in(&mut tx, batch, s.now())
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(
        rows.iter()
            .map(|r| (r.account_id, r.seq, r.name.as_str()))
            .collect::<Vec<_>>(),
        vec![
            (b.account, 21, "m1"),
            (a.account, 22, "m2"),
            (b.account, 22, "m3"),
            (a.account, 23, "m4"),
            (a.account, 24, "m5"),
        ]
    );
    for account in [a.account, b.account] {
        let stored = s
            .events_after(account, &EventScope::Account, 20, None, 10)
            .await
            .unwrap();
        let returned: Vec<_> = rows
            .iter()
            .filter(|r| r.account_id == account && r.seq > 20)
            .cloned()
            .collect();
        let stored: Vec<_> = stored
            .into_iter()
            .filter(|r| r.name != "after-prune")
            .collect();
        assert_eq!(stored, returned);
    }
    assert_eq!(s.event_head(a.account).await.unwrap(), 24);
    assert_eq!(s.event_head(b.account).await.unwrap(), 22);
}

/// Replacing a conversation's labels while its messages arrive: each message moves the
/// conversation's activity and, on PostgreSQL, its label rows with it (migration 0750), so
/// both writers must take the conversation's row before its label rows. Taken the other way
/// round the two deadlocked (seen as a 500 on an automation rule's `add_label`).
async fn labels_change_while_messages_arrive(s: &Store) {
    let w = world(s, "Race").await;
    let c = s.create_conversation(&new_conv(&w)).await.unwrap();
    s.replace_conversation_labels(c.id, &["vip".into()])
        .await
        .unwrap();
    let sets: [&[&str]; 3] = [&["vip", "billing"], &["vip"], &["billing", "delivery"]];
    for round in 0..60 {
        let labels: Vec<String> = sets[round % 3].iter().map(|l| l.to_string()).collect();
        let message = msg(&c, 0, &format!("m{round}"));
        let (m, l) = tokio::join!(
            s.insert_message(&message, KEEP),
            s.replace_conversation_labels(c.id, &labels),
        );
        m.unwrap_or_else(|e| panic!("round {round}: the message: {e}"));
        l.unwrap_or_else(|e| panic!("round {round}: the labels: {e}"));
    }
    let mut have: Vec<String> = s
        .labels_of(&[c.id])
        .await
        .unwrap()
        .into_iter()
        .map(|(_, l)| l)
        .collect();
    have.sort();
    assert_eq!(have, vec!["billing", "delivery"], "the last round's set");
}
