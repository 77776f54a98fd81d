//! The archive search index behaves the same on SQLite and PostgreSQL: what the
//! group-commit writer stores is found exactly as the Rust reference
//! (`ParsedQuery::matches_index` and `phrases_match`) says, newest first, within the
//! account, and the index follows edits, deletions and the background reindex.

use std::sync::Arc;

use crate::common;

use parley_core::ConversationStatus;
use parley_core::search_query::ParsedQuery;
use parley_core::search_text::index_text;
use parley_store::Store;
use parley_store::conversations::{NewConversation, fixtures};
use parley_store::messages::{
    ConversationEffects, MessageInsert, MessageWriter, NewMessage, Waiting,
};
use parley_store::search::MessageSearch;

macro_rules! both_backends {
    ($($name:ident),+ $(,)?) => {
        mod sqlite { $( #[tokio::test(flavor = "multi_thread", worker_threads = 2)] async fn $name() { super::$name(&super::common::sqlite().await.store).await } )+ }
        mod postgres { $( #[tokio::test(flavor = "multi_thread", worker_threads = 2)] async fn $name() { if let Some(db) = super::common::postgres().await { super::$name(&db.store).await } } )+ }
    };
}

both_backends!(
    writer_batches_are_indexed_as_the_reference_says,
    edits_deletions_and_reindex,
    common_probe,
    inbox_filter_outside_the_allowed_inboxes,
    phrase_scan_reads_past_its_first_chunk_and_stops_at_its_bound,
    many_matching_contacts_walk_and_find_the_same
);

const KEEP: ConversationEffects = ConversationEffects {
    first_reply: false,
    waiting: Waiting::Keep,
    reopen: false,
};

const TEXTS: &[&str] = &[
    "Доставка курьером завтра",
    "доставки не будет, ДОСТАВКУ перенесли",
    "Ёлочные игрушки и ёлка",
    "Deliveries delayed; delivery tomorrow",
    "Звоните +7 (999) 123-45-67 или 8 912 000 11 22",
    "Заказ A-1234, трек RA123456789RU, #55123",
    "Пишите на Ivan.Petrov@Mail.ru",
    "café crème",
    "NEAR(a b) \"quoted\" col:val * ^ OR -x & | ! ' :*",
    "курьером доставка",
];

const QUERIES: &[&str] = &[
    "доставка",
    "ДОСТАВКИ",
    "достав",
    "елка",
    "ЁЛОЧН",
    "delivery",
    "deliv",
    "89991234567",
    "+7 999 1234567",
    "123-45-67",
    "9120001122",
    "a-1234",
    "#55123",
    "ivan.petrov@mail.ru",
    "petrov",
    "cafe",
    "café",
    "near",
    "quoted col val",
    "\"доставка курьером\"",
    "\"курьером доставка\"",
    "nothing-here",
    ":*",
    "'",
];

async fn conversation(
    s: &Store,
    account: i64,
) -> (i64, parley_store::conversations::ConversationRow) {
    let (inbox, _) = fixtures::inbox(s, account, "Site", "Channel::WebWidget")
        .await
        .unwrap();
    let (contact, ci, _) = fixtures::contact(s, account, inbox, "Ivan").await.unwrap();
    let c = open_conversation(s, account, inbox, (contact, ci), "{}").await;
    (inbox, c)
}

/// An open conversation of `contact` (its id and contact-inbox id) with these custom
/// attributes.
async fn open_conversation(
    s: &Store,
    account: i64,
    inbox: i64,
    (contact, ci): (i64, i64),
    custom_attributes: &str,
) -> parley_store::conversations::ConversationRow {
    s.create_conversation(&NewConversation {
        account_id: account,
        inbox_id: inbox,
        contact_id: contact,
        contact_inbox_id: Some(ci),
        source_id: None,
        status: ConversationStatus::Open,
        assignee_id: None,
        team_id: None,
        custom_attributes: custom_attributes.into(),
        additional_attributes: "{}".into(),
    })
    .await
    .unwrap()
}

fn msg(c: &parley_store::conversations::ConversationRow, content: &str) -> NewMessage {
    NewMessage {
        account_id: c.account_id,
        inbox_id: c.inbox_id,
        conversation_id: c.id,
        message_type: 0,
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

fn created(r: MessageInsert) -> i64 {
    match r {
        MessageInsert::Created { message_id, .. } => message_id,
        MessageInsert::Duplicate { .. } => panic!("duplicate"),
    }
}

async fn search(s: &Store, account: i64, q: &str) -> Vec<i64> {
    let hits = s
        .search_messages(&MessageSearch {
            account_id: account,
            query: ParsedQuery::parse(q).unwrap(),
            limit: 100,
            ..Default::default()
        })
        .await
        .unwrap();
    hits.messages.iter().map(|m| m.message.id).collect()
}

/// The ids the reference finds among `(id, text)`, newest first.
fn reference(docs: &[(i64, String)], q: &str) -> Vec<i64> {
    let p = ParsedQuery::parse(q).unwrap();
    let mut ids: Vec<i64> = docs
        .iter()
        .filter(|(_, t)| p.matches_index(&index_text(t)) && p.phrases_match(t))
        .map(|(id, _)| *id)
        .collect();
    ids.sort_unstable_by(|a, b| b.cmp(a));
    ids
}

async fn writer_batches_are_indexed_as_the_reference_says(s: &Store) {
    let a = s.create_account("A", "en").await.unwrap();
    let b = s.create_account("B", "en").await.unwrap();
    let (_, c) = conversation(s, a.id).await;
    let (_, other) = conversation(s, b.id).await;
    // Concurrent senders: batches of several messages in one transaction.
    let writer = MessageWriter::spawn(
        s.clone(),
        8,
        Arc::new(|_: &parley_store::messages::MessageWithAttachments| "{}".to_string()),
    );
    let mut tasks = Vec::new();
    for t in TEXTS.iter().chain(TEXTS.iter()) {
        let w = writer.clone();
        let m = msg(&c, t);
        tasks.push(tokio::spawn(async move {
            (m.content.clone().unwrap(), w.insert(m, KEEP).await)
        }));
    }
    let mut docs = Vec::new();
    for t in tasks {
        let (text, r) = t.await.unwrap();
        docs.push((created(r.unwrap()), text));
    }
    // Another account's copy is never found.
    for t in TEXTS {
        created(s.insert_message(&msg(&other, t), KEEP).await.unwrap());
    }
    // An activity line is not indexed.
    let mut activity = msg(&c, "доставка назначена");
    activity.message_type = 2;
    created(s.insert_message(&activity, KEEP).await.unwrap());
    for q in QUERIES {
        assert_eq!(search(s, a.id, q).await, reference(&docs, q), "query {q:?}");
    }
    assert!(!search(s, a.id, "доставка").await.is_empty());
    assert_eq!(search(s, a.id, "89991234567").await.len(), 2);
}

async fn edits_deletions_and_reindex(s: &Store) {
    let a = s.create_account("A", "en").await.unwrap();
    let (_, c) = conversation(s, a.id).await;
    let mut docs = Vec::new();
    for (n, t) in TEXTS.iter().enumerate() {
        let id = created(s.insert_message(&msg(&c, t), KEEP).await.unwrap());
        docs.push((id, t.to_string()));
        if n == 0 {
            s.update_message(id, Some("бандероль пришла"), "{}")
                .await
                .unwrap();
            docs[0].1 = "бандероль пришла".into();
        }
    }
    assert_eq!(search(s, a.id, "бандероли").await, vec![docs[0].0]);
    assert_eq!(
        search(s, a.id, "\"доставка курьером\"").await,
        Vec::<i64>::new()
    );
    s.delete_message(docs[1].0, "This message was deleted", r#"{"deleted":true}"#)
        .await
        .unwrap();
    docs[1].1 = String::new();
    assert_eq!(
        search(s, a.id, "доставка").await,
        reference(&docs, "доставка")
    );

    // The background reindex: an emptied index finds nothing, then batch by batch
    // (position stored after each) everything again.
    assert!(s.reindex_status().await.unwrap().complete());
    s.restart_reindex().await.unwrap();
    assert!(!s.reindex_status().await.unwrap().complete());
    assert!(search(s, a.id, "доставка").await.is_empty());
    let mut last = 0;
    let mut steps = 0;
    loop {
        let st = s.reindex_step(3).await.unwrap();
        steps += 1;
        assert!(st.messages_position >= last);
        last = st.messages_position;
        if st.complete() {
            break;
        }
        assert!(steps < 100);
    }
    assert!(steps >= TEXTS.len() / 3, "{steps} batches");
    for q in QUERIES {
        assert_eq!(search(s, a.id, q).await, reference(&docs, q), "query {q:?}");
    }
    // Once complete a step changes nothing.
    assert!(s.reindex_step(3).await.unwrap().complete());
}

/// Which plan the conversation search picks for a word: SQLite counts the matches up to
/// `COMMON_MESSAGE_MATCHES`, PostgreSQL samples the newest `COMMON_SAMPLE` index rows and
/// calls a word common from `COMMON_SAMPLE_MATCHES` matches among them.
async fn common_probe(s: &Store) {
    use parley_store::search::COMMON_SAMPLE_MATCHES;
    let a = s.create_account("A", "en").await.unwrap();
    let (_, c) = conversation(s, a.id).await;
    // Fewer than SQLite's count threshold, all within PostgreSQL's sample.
    let dense = COMMON_SAMPLE_MATCHES + 5;
    for n in 0..dense {
        created(
            s.insert_message(&msg(&c, &format!("заказ {n}")), KEEP)
                .await
                .unwrap(),
        );
    }
    created(s.insert_message(&msg(&c, "фламинго"), KEEP).await.unwrap());
    let sized = |q: &'static str| async move {
        s.search_match_sized(&ParsedQuery::parse(q).unwrap())
            .await
            .unwrap()
            .common
    };
    // Every one of the newest messages matches: dense for PostgreSQL's sample, far below
    // SQLite's count.
    assert_eq!(
        sized("заказ").await,
        s.backend() == parley_store::Backend::Postgres
    );
    assert!(!sized("фламинго").await, "one match is never common");
    assert!(!sized("бандероль").await);

    // A word frequent in old messages and absent from the newest: sparse in PostgreSQL's
    // sample, but counted past the common threshold too, so it walks instead of
    // collecting every match into one array. Both plans find the same messages.
    s.set_search_common_matches(Some(20));
    let mut old = Vec::new();
    for n in 0..25 {
        old.push(created(
            s.insert_message(&msg(&c, &format!("патефон {n}")), KEEP)
                .await
                .unwrap(),
        ));
    }
    for n in 0..COMMON_SAMPLE_MATCHES + 10 {
        created(
            s.insert_message(&msg(&c, &format!("новости {n}")), KEEP)
                .await
                .unwrap(),
        );
    }
    assert!(sized("патефон").await, "25 matches of a threshold of 20");
    assert!(!sized("фламинго").await);
    old.reverse();
    assert_eq!(search(s, a.id, "патефон").await, old);
    s.set_search_common_matches(None);
    assert!(!sized("патефон").await);
    assert_eq!(search(s, a.id, "патефон").await, old);
}

/// An agent filtering on an inbox that is not theirs finds nothing, and on one of theirs
/// finds its messages.
async fn inbox_filter_outside_the_allowed_inboxes(s: &Store) {
    let a = s.create_account("A", "en").await.unwrap();
    let (inbox, c) = conversation(s, a.id).await;
    let (other, _) = conversation(s, a.id).await;
    let id = created(s.insert_message(&msg(&c, "доставка"), KEEP).await.unwrap());
    let find = |inboxes: Option<Vec<i64>>, inbox_id: Option<i64>| async move {
        s.search_messages(&MessageSearch {
            account_id: a.id,
            query: ParsedQuery::parse("доставка").unwrap(),
            inboxes,
            inbox_id,
            limit: 20,
            ..Default::default()
        })
        .await
        .unwrap()
        .messages
        .iter()
        .map(|m| m.message.id)
        .collect::<Vec<_>>()
    };
    assert_eq!(find(Some(vec![inbox]), Some(inbox)).await, vec![id]);
    assert_eq!(find(None, Some(inbox)).await, vec![id]);
    assert!(find(Some(vec![other]), Some(inbox)).await.is_empty());
    assert!(find(Some(vec![inbox]), Some(other)).await.is_empty());
}

/// A phrase's candidates (messages holding its words) are read newest first: past a first
/// chunk without a hit, and no further than `MAX_PHRASE_SCAN` per page, whose cursor then
/// continues the scan where it stopped.
async fn phrase_scan_reads_past_its_first_chunk_and_stops_at_its_bound(s: &Store) {
    use parley_store::search::MAX_PHRASE_SCAN;
    let a = s.create_account("A", "en").await.unwrap();
    let (_, c) = conversation(s, a.id).await;
    let writer = MessageWriter::spawn(
        s.clone(),
        64,
        Arc::new(|_: &parley_store::messages::MessageWithAttachments| "{}".to_string()),
    );
    // Writes `n` messages through the writer, in batches, and returns their ids in order.
    let write = |text: &'static str, n: usize| {
        let writer = writer.clone();
        let c = c.clone();
        async move {
            let mut ids = Vec::new();
            for chunk in (0..n).collect::<Vec<_>>().chunks(200) {
                let tasks: Vec<_> = chunk
                    .iter()
                    .map(|_| {
                        let w = writer.clone();
                        let m = msg(&c, text);
                        tokio::spawn(async move { w.insert(m, KEEP).await })
                    })
                    .collect();
                for t in tasks {
                    ids.push(created(t.await.unwrap().unwrap()));
                }
            }
            ids
        }
    };
    let page = |before: Option<i64>| async move {
        let hits = s
            .search_messages(&MessageSearch {
                account_id: a.id,
                query: ParsedQuery::parse("\"где мой заказ\"").unwrap(),
                before_id: before,
                limit: 2,
                ..Default::default()
            })
            .await
            .unwrap();
        let ids: Vec<i64> = hits.messages.iter().map(|m| m.message.id).collect();
        (ids, hits.next_cursor)
    };
    let mut hits = write("где мой заказ?", 3).await;
    hits.sort_unstable();
    // Newer than the hits: the words, never next to each other, more than a first chunk.
    write("заказ: где он, мой курьер?", 20).await;
    let (first, cursor) = page(None).await;
    assert_eq!(first, vec![hits[2], hits[1]]);
    assert_eq!(cursor, Some(hits[1]));
    assert_eq!(page(cursor).await, (vec![hits[0]], None));
    // Past the scan bound: a page ends early with the cursor of the last candidate read,
    // and the next page goes on from there.
    let mut misses = write("мой заказ где?", MAX_PHRASE_SCAN as usize + 5).await;
    misses.sort_unstable();
    let (first, cursor) = page(None).await;
    assert!(first.is_empty());
    let bound = misses[misses.len() - MAX_PHRASE_SCAN as usize];
    assert_eq!(cursor, Some(bound));
    let (second, _) = page(cursor).await;
    assert_eq!(second, vec![hits[2], hits[1]]);
}

/// A word in many contacts' names (or conversations' attributes) and in few messages makes
/// the conversation search walk, probing each conversation's contact and attributes by
/// key instead of collecting every matching contact's conversations first, and both plans
/// list the same conversations in the same order.
async fn many_matching_contacts_walk_and_find_the_same(s: &Store) {
    use parley_store::conversations::{ConversationFilter, ListStart};
    let a = s.create_account("A", "en").await.unwrap();
    let (inbox, _) = fixtures::inbox(s, a.id, "Site", "Channel::WebWidget")
        .await
        .unwrap();
    let open = |contact: i64, ci: i64, attributes: &'static str| {
        open_conversation(s, a.id, inbox, (contact, ci), attributes)
    };
    let mut expected = Vec::new();
    for n in 0..25 {
        let (contact, ci, _) = fixtures::contact(s, a.id, inbox, &format!("Патефонов {n}"))
            .await
            .unwrap();
        expected.push(open(contact, ci, "{}").await.id);
        // Contacts and conversations that do not match, in between.
        let (other, oci, _) = fixtures::contact(s, a.id, inbox, &format!("Иван {n}"))
            .await
            .unwrap();
        open(other, oci, "{}").await;
    }
    // One match by a message, one by a custom attribute.
    let (other, oci, _) = fixtures::contact(s, a.id, inbox, "Пётр").await.unwrap();
    let by_message = open(other, oci, "{}").await;
    created(
        s.insert_message(&msg(&by_message, "патефонов привезли"), KEEP)
            .await
            .unwrap(),
    );
    expected.push(by_message.id);
    let (other, oci, _) = fixtures::contact(s, a.id, inbox, "Анна").await.unwrap();
    expected.push(open(other, oci, r#"{"gift":"патефонов"}"#).await.id);
    let list = || async {
        let q = ParsedQuery::parse("патефонов ").unwrap();
        let m = s.search_match_sized(&q).await.unwrap();
        let mut f = ConversationFilter::all(a.id, 0);
        let common = m.common;
        f.search = Some(m);
        let rows = s
            .list_conversations(&f, 100, ListStart::Offset(0))
            .await
            .unwrap();
        (common, rows.iter().map(|r| r.conv.id).collect::<Vec<_>>())
    };
    let (common, collected) = list().await;
    assert!(!common, "27 matches of the default thresholds");
    let mut sorted = expected.clone();
    sorted.sort_unstable();
    let mut found = collected.clone();
    found.sort_unstable();
    assert_eq!(found, sorted);
    // Past the contacts' threshold (and far from the messages'), the walk finds the same.
    s.set_search_common_matches(Some(20));
    let (common, walked) = list().await;
    s.set_search_common_matches(None);
    assert!(common, "25 matching contacts of a threshold of 20");
    assert_eq!(walked, collected);
}
