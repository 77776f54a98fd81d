//! Conformance of the contacts store on both backends: uniqueness per account, search
//! (through the archive index),
//! ordering and paging, identities, labels, cascading delete and tenant scoping.

use crate::common;

use parley_store::contacts::{ContactFields, ContactQuery, ContactSort, NewContactInbox};
use parley_store::{Store, StoreError};

macro_rules! both_backends {
    ($($name:ident),+ $(,)?) => {
        mod sqlite { $( #[tokio::test] async fn $name() { super::$name(&super::common::sqlite().await.store).await } )+ }
        mod postgres { $( #[tokio::test] async fn $name() { if let Some(db) = super::common::postgres().await { super::$name(&db.store).await } } )+ }
    };
}

both_backends!(
    create_read_update_delete,
    uniqueness_is_per_account,
    search_is_case_insensitive_and_escaped,
    sorting_paging_and_counting,
    identities_and_inbox_ownership,
    labels_replace_and_scope,
    delete_cascades
);

fn fields(name: &str, email: Option<&str>) -> ContactFields {
    ContactFields {
        name: Some(name.into()),
        email: email.map(Into::into),
        custom_attributes: "{}".into(),
        additional_attributes: "{}".into(),
        ..Default::default()
    }
}

fn query(s: &Store, search: Option<&str>) -> ContactQuery {
    ContactQuery {
        search: search.map(|q| {
            s.search_match(&parley_core::search_query::ParsedQuery::parse(q).expect("query"))
        }),
        resolved_only: false,
        sort: ContactSort::CreatedAt,
        descending: true,
        limit: 15,
        offset: 0,
    }
}

fn identity(inbox_id: i64, source_id: &str) -> NewContactInbox {
    NewContactInbox {
        inbox_id,
        source_id: source_id.into(),
        pubsub_token: parley_store::random_token(16),
        hmac_verified: false,
    }
}

async fn create_read_update_delete(s: &Store) {
    let a = s.create_account("Shop", "en").await.unwrap();
    let mut f = fields("Ivan", Some("ivan@shop.test"));
    f.phone_number = Some("+7 999 123-45-67".into());
    f.custom_attributes = r#"{"plan":"gold"}"#.into();
    let (c, ci) = s.create_contact(a.id, &f, None).await.unwrap();
    assert!(ci.is_none());
    assert_eq!(c.account_id, a.id);
    assert_eq!(c.name.as_deref(), Some("Ivan"));
    assert_eq!(c.custom_attributes, r#"{"plan":"gold"}"#);
    assert_eq!(c.blocked, 0);
    assert_eq!(ContactFields::from_row(&c), f);

    let read = s.contact(a.id, c.id).await.unwrap();
    assert_eq!(read.email.as_deref(), Some("ivan@shop.test"));

    let mut g = ContactFields::from_row(&read);
    g.name = Some("Ivan P".into());
    g.email = None;
    g.blocked = true;
    let up = s.update_contact(a.id, c.id, &g).await.unwrap();
    assert_eq!(up.name.as_deref(), Some("Ivan P"));
    assert_eq!(up.email, None);
    assert_eq!(up.blocked, 1);
    assert!(up.updated_at >= c.updated_at);

    let other = s.create_account("Other", "en").await.unwrap();
    assert!(matches!(
        s.contact(other.id, c.id).await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        s.update_contact(other.id, c.id, &g).await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        s.delete_contact(other.id, c.id).await,
        Err(StoreError::NotFound)
    ));
    s.delete_contact(a.id, c.id).await.unwrap();
    assert!(matches!(
        s.contact(a.id, c.id).await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        s.delete_contact(a.id, c.id).await,
        Err(StoreError::NotFound)
    ));
}

async fn uniqueness_is_per_account(s: &Store) {
    let a = s.create_account("A", "en").await.unwrap();
    let b = s.create_account("B", "en").await.unwrap();
    let mut f = fields("One", Some("same@x.test"));
    f.identifier = Some("crm-1".into());
    let (one, _) = s.create_contact(a.id, &f, None).await.unwrap();
    // The same e-mail and identifier are fine in another account.
    s.create_contact(b.id, &f, None).await.unwrap();

    let dup_email = fields("Two", Some("same@x.test"));
    match s.create_contact(a.id, &dup_email, None).await {
        Err(StoreError::Conflict(c)) => assert_eq!(c, "email"),
        other => panic!("expected an e-mail conflict, got {other:?}"),
    }
    let mut dup_ident = fields("Two", None);
    dup_ident.identifier = Some("crm-1".into());
    match s.create_contact(a.id, &dup_ident, None).await {
        Err(StoreError::Conflict(c)) => assert_eq!(c, "identifier"),
        other => panic!("expected an identifier conflict, got {other:?}"),
    }
    // Updating a contact onto another's e-mail is refused; keeping its own is fine.
    let (two, _) = s
        .create_contact(a.id, &fields("Two", Some("two@x.test")), None)
        .await
        .unwrap();
    let mut g = ContactFields::from_row(&two);
    g.email = Some("same@x.test".into());
    match s.update_contact(a.id, two.id, &g).await {
        Err(StoreError::Conflict(c)) => assert_eq!(c, "email"),
        other => panic!("expected an e-mail conflict, got {other:?}"),
    }
    assert_eq!(
        s.contact(a.id, two.id).await.unwrap().email.as_deref(),
        Some("two@x.test")
    );
    s.update_contact(a.id, one.id, &ContactFields::from_row(&one))
        .await
        .unwrap();
    // Contacts without e-mail or identifier do not collide with each other.
    s.create_contact(a.id, &fields("Anon", None), None)
        .await
        .unwrap();
    s.create_contact(a.id, &fields("Anon", None), None)
        .await
        .unwrap();
    let found = s
        .contact_by_identifier(a.id, "crm-1")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found.id, one.id);
    assert!(
        s.contact_by_identifier(a.id, "crm-2")
            .await
            .unwrap()
            .is_none()
    );
}

async fn search_is_case_insensitive_and_escaped(s: &Store) {
    let a = s.create_account("A", "en").await.unwrap();
    let b = s.create_account("B", "en").await.unwrap();
    let mut f = fields("Пётр Иванов", Some("petr@shop.test"));
    f.phone_number = Some("+7 900 555-12-34".into());
    f.identifier = Some("CRM_42".into());
    let (petr, _) = s.create_contact(a.id, &f, None).await.unwrap();
    s.create_contact(
        a.id,
        &fields("100% Cotton Ltd", Some("cotton@x.test")),
        None,
    )
    .await
    .unwrap();
    s.create_contact(b.id, &fields("Петр из другого аккаунта", None), None)
        .await
        .unwrap();

    for q in ["петр", "ПЁТР", "иванов", "PETR@", "555-12", "crm_42"] {
        let found = s.list_contacts(a.id, &query(s, Some(q))).await.unwrap();
        assert_eq!(
            found.iter().map(|c| c.id).collect::<Vec<_>>(),
            vec![petr.id],
            "query {q:?}"
        );
        assert_eq!(
            s.count_contacts(a.id, &query(s, Some(q)), 100)
                .await
                .unwrap(),
            1
        );
    }
    // Search goes by words of the index: punctuation alone matches nothing, and `%`
    // or `_` only separate words (no LIKE wildcards).
    assert_eq!(
        s.list_contacts(a.id, &query(s, Some("%")))
            .await
            .unwrap()
            .len(),
        0
    );
    assert_eq!(
        s.list_contacts(a.id, &query(s, Some("crm%42")))
            .await
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        s.list_contacts(a.id, &query(s, Some("100%")))
            .await
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        s.list_contacts(a.id, &query(s, Some("c_m")))
            .await
            .unwrap()
            .len(),
        0
    );
    // Updates refresh what search sees.
    let mut g = ContactFields::from_row(&petr);
    g.name = Some("Сидор".into());
    s.update_contact(a.id, petr.id, &g).await.unwrap();
    assert!(
        s.list_contacts(a.id, &query(s, Some("иванов")))
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        s.list_contacts(a.id, &query(s, Some("сидор")))
            .await
            .unwrap()
            .len(),
        1
    );
}

async fn sorting_paging_and_counting(s: &Store) {
    let a = s.create_account("A", "en").await.unwrap();
    let mut ids = Vec::new();
    for (name, email) in [
        ("Charlie", Some("c@x.test")),
        ("alice", Some("a@x.test")),
        ("Bob", None),
        ("dave", Some("d@x.test")),
    ] {
        ids.push(
            s.create_contact(a.id, &fields(name, email), None)
                .await
                .unwrap()
                .0
                .id,
        );
    }
    let names = |rows: Vec<parley_store::contacts::ContactRow>| {
        rows.into_iter()
            .map(|c| c.name.unwrap_or_default())
            .collect::<Vec<_>>()
    };
    let mut q = query(s, None);
    q.sort = ContactSort::Newest;
    assert_eq!(
        names(s.list_contacts(a.id, &q).await.unwrap()),
        ["dave", "Bob", "alice", "Charlie"]
    );
    // Activity order: NULLs last in both directions, ties newest first. Activity never
    // moves back in time, and another account cannot touch these contacts.
    for (id, at) in [(ids[0], 5_i64), (ids[2], 10), (ids[2], 7)] {
        assert!(s.touch_contact_activity(a.id, id, at).await.unwrap());
    }
    let other_account = s.create_account("Other", "en").await.unwrap();
    assert!(
        !s.touch_contact_activity(other_account.id, ids[3], 99)
            .await
            .unwrap()
    );
    assert_eq!(
        s.contact(a.id, ids[2]).await.unwrap().last_activity_at,
        Some(10)
    );
    assert_eq!(
        s.contact(a.id, ids[3]).await.unwrap().last_activity_at,
        None
    );
    q.sort = ContactSort::LastActivityAt;
    assert_eq!(
        names(s.list_contacts(a.id, &q).await.unwrap()),
        ["Bob", "Charlie", "dave", "alice"]
    );
    q.descending = false;
    assert_eq!(
        names(s.list_contacts(a.id, &q).await.unwrap()),
        ["Charlie", "Bob", "dave", "alice"]
    );
    q.sort = ContactSort::Name;
    assert_eq!(
        names(s.list_contacts(a.id, &q).await.unwrap()),
        ["alice", "Bob", "Charlie", "dave"]
    );
    q.descending = true;
    assert_eq!(
        names(s.list_contacts(a.id, &q).await.unwrap()),
        ["dave", "Charlie", "Bob", "alice"]
    );
    // NULL e-mails go last in both directions.
    q.sort = ContactSort::Email;
    q.descending = false;
    assert_eq!(
        names(s.list_contacts(a.id, &q).await.unwrap()),
        ["alice", "Charlie", "dave", "Bob"]
    );
    q.descending = true;
    assert_eq!(
        names(s.list_contacts(a.id, &q).await.unwrap()),
        ["dave", "Charlie", "alice", "Bob"]
    );
    // Paging.
    q.sort = ContactSort::Name;
    q.descending = false;
    q.limit = 3;
    q.offset = 3;
    assert_eq!(names(s.list_contacts(a.id, &q).await.unwrap()), ["dave"]);
    q.offset = 30;
    assert!(s.list_contacts(a.id, &q).await.unwrap().is_empty());
    // Counting and its cap; "resolved" leaves out the contact without e-mail.
    assert_eq!(s.count_contacts(a.id, &q, 100).await.unwrap(), 4);
    assert_eq!(s.count_contacts(a.id, &q, 2).await.unwrap(), 2);
    q.resolved_only = true;
    assert_eq!(s.count_contacts(a.id, &q, 100).await.unwrap(), 3);
    q.offset = 0;
    q.limit = 15;
    assert_eq!(
        names(s.list_contacts(a.id, &q).await.unwrap()),
        ["alice", "Charlie", "dave"]
    );
    let other = s.create_account("B", "en").await.unwrap();
    assert_eq!(s.count_contacts(other.id, &q, 100).await.unwrap(), 0);
}

async fn identities_and_inbox_ownership(s: &Store) {
    let a = s.create_account("A", "en").await.unwrap();
    let b = s.create_account("B", "en").await.unwrap();
    let (inbox_a, ident_a, _) = s
        .insert_inbox_for_contact_tests(a.id, "Site", "Channel::WebWidget", false, None)
        .await
        .unwrap();
    let (inbox_b, _, _) = s
        .insert_inbox_for_contact_tests(b.id, "Other site", "Channel::WebWidget", false, None)
        .await
        .unwrap();

    let (c, ci) = s
        .create_contact(
            a.id,
            &fields("Ivan", None),
            Some(&identity(inbox_a, "src-1")),
        )
        .await
        .unwrap();
    let ci = ci.unwrap();
    assert_eq!(ci.contact_id, c.id);
    assert_eq!(ci.inbox_id, inbox_a);
    assert_eq!(ci.source_id, "src-1");
    assert_eq!(ci.inbox_name, "Site");
    assert_eq!(ci.channel_type, "Channel::WebWidget");
    assert_eq!(ci.hmac_verified, 0);

    // Another account's inbox: refused, and the contact of that request is not kept.
    let before = s.count_contacts(a.id, &query(s, None), 100).await.unwrap();
    assert!(matches!(
        s.create_contact(
            a.id,
            &fields("Eve", None),
            Some(&identity(inbox_b, "src-x"))
        )
        .await,
        Err(StoreError::NotFound)
    ));
    assert_eq!(
        s.count_contacts(a.id, &query(s, None), 100).await.unwrap(),
        before
    );

    // A second identity; the same source id in the same inbox is a conflict.
    let mut second = identity(inbox_a, "src-2");
    second.hmac_verified = true;
    let ci2 = s.add_contact_inbox(a.id, c.id, &second).await.unwrap();
    assert_eq!(ci2.hmac_verified, 1);
    match s
        .add_contact_inbox(a.id, c.id, &identity(inbox_a, "src-1"))
        .await
    {
        Err(StoreError::Conflict(f)) => assert_eq!(f, "source_id"),
        other => panic!("expected a source_id conflict, got {other:?}"),
    }
    assert!(matches!(
        s.add_contact_inbox(a.id, c.id, &identity(inbox_b, "src-3"))
            .await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        s.add_contact_inbox(b.id, c.id, &identity(inbox_b, "src-3"))
            .await,
        Err(StoreError::NotFound)
    ));
    let all = s.contact_inboxes_of(&[c.id]).await.unwrap();
    assert_eq!(
        all.iter().map(|r| r.source_id.as_str()).collect::<Vec<_>>(),
        ["src-1", "src-2"]
    );
    assert!(s.contact_inboxes_of(&[]).await.unwrap().is_empty());

    // The Client API's lookup sees the identity only under its own inbox.
    let found = s.public_identity(&ident_a, "src-1").await.unwrap().unwrap();
    assert_eq!(found.contact_id, c.id);
    assert_eq!(found.account_id, a.id);
}

async fn labels_replace_and_scope(s: &Store) {
    let a = s.create_account("A", "en").await.unwrap();
    let b = s.create_account("B", "en").await.unwrap();
    let (c, _) = s
        .create_contact(a.id, &fields("Ivan", None), None)
        .await
        .unwrap();
    assert!(s.contact_labels(a.id, c.id).await.unwrap().is_empty());
    let set = s
        .set_contact_labels(a.id, c.id, &["vip".into(), "delivery".into(), "vip".into()])
        .await
        .unwrap();
    assert_eq!(set, ["delivery", "vip"]);
    let set = s
        .set_contact_labels(a.id, c.id, &["refund".into()])
        .await
        .unwrap();
    assert_eq!(set, ["refund"]);
    assert_eq!(s.contact_labels(a.id, c.id).await.unwrap(), ["refund"]);
    assert!(matches!(
        s.contact_labels(b.id, c.id).await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        s.set_contact_labels(b.id, c.id, &["x".into()]).await,
        Err(StoreError::NotFound)
    ));
    assert_eq!(s.contact_labels(a.id, c.id).await.unwrap(), ["refund"]);
    s.set_contact_labels(a.id, c.id, &[]).await.unwrap();
    assert!(s.contact_labels(a.id, c.id).await.unwrap().is_empty());
}

async fn delete_cascades(s: &Store) {
    let a = s.create_account("A", "en").await.unwrap();
    let (inbox, ident, _) = s
        .insert_inbox_for_contact_tests(a.id, "Site", "Channel::WebWidget", false, None)
        .await
        .unwrap();
    let (c, _) = s
        .create_contact(a.id, &fields("Ivan", None), Some(&identity(inbox, "src-1")))
        .await
        .unwrap();
    let (keep, _) = s
        .create_contact(a.id, &fields("Keep", None), Some(&identity(inbox, "src-2")))
        .await
        .unwrap();
    s.set_contact_labels(a.id, c.id, &["vip".into()])
        .await
        .unwrap();
    s.set_contact_labels(a.id, keep.id, &["vip".into()])
        .await
        .unwrap();
    // A conversation with a message, written directly: the conversations feature owns
    // their API, this only proves the schema's cascade on both backends.
    let (conv_id,): (i64,) = sqlx::query_as(
        "INSERT INTO conversations (account_id, display_id, uuid, inbox_id, contact_id, last_activity_at, created_at, updated_at)
         VALUES ($1, 1, $2, $3, $4, 0, 0, 0) RETURNING id",
    )
    .bind(a.id)
    .bind(parley_store::random_token(8))
    .bind(inbox)
    .bind(c.id)
    .fetch_one(s.writer())
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO messages (account_id, inbox_id, conversation_id, message_type, content, created_at, updated_at)
         VALUES ($1, $2, $3, 0, 'hi', 0, 0)",
    )
    .bind(a.id)
    .bind(inbox)
    .bind(conv_id)
    .execute(s.writer())
    .await
    .unwrap();
    s.delete_contact(a.id, c.id).await.unwrap();
    for table in ["conversations", "messages"] {
        let col = if table == "conversations" {
            "id"
        } else {
            "conversation_id"
        };
        let (n,): (i64,) = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT COUNT(*) FROM {table} WHERE {col} = $1"
        )))
        .bind(conv_id)
        .fetch_one(s.reader())
        .await
        .unwrap();
        assert_eq!(n, 0, "{table} not deleted with the contact");
    }
    assert!(s.public_identity(&ident, "src-1").await.unwrap().is_none());
    assert!(s.contact_inboxes_of(&[c.id]).await.unwrap().is_empty());
    let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM contact_labels WHERE contact_id = $1")
        .bind(c.id)
        .fetch_one(s.reader())
        .await
        .unwrap();
    assert_eq!(n, 0);
    // The other contact is untouched.
    assert!(s.public_identity(&ident, "src-2").await.unwrap().is_some());
    assert_eq!(s.contact_labels(a.id, keep.id).await.unwrap(), ["vip"]);
}
