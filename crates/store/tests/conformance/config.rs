//! Conformance of the account configuration tables (inboxes and their members, teams,
//! labels, canned responses, agents) on both backends: every case runs on SQLite, and on
//! PostgreSQL when `PARLEY_TEST_POSTGRES_URL` is set.

use crate::common;

use parley_core::{Availability, ChannelType, Role};
use parley_store::agents::{AgentPatch, LAST_ADMINISTRATOR, MemberOp, MembersOutcome};
use parley_store::inboxes::{InboxPatch, NewInbox};
use parley_store::labels::LabelPatch;
use parley_store::teams::TeamPatch;
use parley_store::users::{AgentRow, NewUser};
use parley_store::{Store, StoreError};
use serde_json::json;

macro_rules! both_backends {
    ($($name:ident),+ $(,)?) => {
        mod sqlite { $( #[tokio::test] async fn $name() { super::$name(&super::common::sqlite().await.store).await } )+ }
        mod postgres { $( #[tokio::test] async fn $name() { if let Some(db) = super::common::postgres().await { super::$name(&db.store).await } } )+ }
    };
}

both_backends!(
    inbox_crud_and_scoping,
    inbox_settings_patch_merges,
    inbox_members_add_replace_remove,
    inbox_membership_helpers,
    teams_crud_and_members,
    labels_crud_unique_titles,
    label_rename_retags_conversations_and_contacts,
    canned_search_case_insensitive,
    agents_create_add_update_remove,
    last_administrator_is_kept,
);

/// Two accounts, each with an administrator and an agent.
struct World {
    a: i64,
    b: i64,
    admin_a: i64,
    agent_a: i64,
    agent_b: i64,
}

async fn world(s: &Store) -> World {
    let a = s.create_account("A", "en").await.unwrap().id;
    let b = s.create_account("B", "en").await.unwrap().id;
    let mut ids = Vec::new();
    for (email, acc, role) in [
        ("admin@a.test", a, Role::Administrator),
        ("agent@a.test", a, Role::Agent),
        ("agent@b.test", b, Role::Agent),
    ] {
        let user = NewUser {
            name: email,
            display_name: None,
            email,
            password_hash: "x",
        };
        let (u, _) = s
            .create_agent(acc, &user, role, Availability::Offline, true)
            .await
            .unwrap();
        ids.push(u.id);
    }
    World {
        a,
        b,
        admin_a: ids[0],
        agent_a: ids[1],
        agent_b: ids[2],
    }
}

fn ids(agents: &[AgentRow]) -> Vec<i64> {
    let mut v: Vec<i64> = agents.iter().map(|a| a.id).collect();
    v.sort();
    v
}

fn updated(o: MembersOutcome) -> Vec<AgentRow> {
    match o {
        MembersOutcome::Updated(v) => v,
        MembersOutcome::NotAccountMembers(ids) => panic!("unexpected outsiders {ids:?}"),
    }
}

async fn inbox_crud_and_scoping(s: &Store) {
    let w = world(s).await;
    let mut new = NewInbox::new("Website", ChannelType::WebWidget);
    new.greeting_enabled = true;
    new.greeting_message = Some("Hello".into());
    new.settings
        .insert("website_url".into(), json!("https://shop.test"));
    let i = s.create_inbox(w.a, &new).await.unwrap();
    assert_eq!(i.account_id, w.a);
    assert_eq!(i.channel(), Some(ChannelType::WebWidget));
    assert_eq!(i.identifier.len(), 24);
    assert_eq!(i.hmac_token.len(), 48);
    assert_eq!(i.greeting_enabled, 1);
    assert_eq!(i.enable_auto_assignment, 1);
    assert_eq!(i.timezone, "UTC");
    assert_eq!(
        i.setting_str("website_url").as_deref(),
        Some("https://shop.test")
    );

    let api = s
        .create_inbox(w.a, &NewInbox::new("API", ChannelType::Api))
        .await
        .unwrap();
    assert_ne!(api.identifier, i.identifier);
    let list = s.inboxes(w.a).await.unwrap();
    assert_eq!(
        list.iter().map(|x| x.id).collect::<Vec<_>>(),
        vec![i.id, api.id]
    );
    assert!(s.inboxes(w.b).await.unwrap().is_empty());

    // Scoped by account: B can neither see, change nor delete A's inbox.
    assert!(matches!(
        s.inbox(w.b, i.id).await,
        Err(StoreError::NotFound)
    ));
    let patch = InboxPatch {
        name: Some("Hijacked".into()),
        ..Default::default()
    };
    assert!(matches!(
        s.update_inbox(w.b, i.id, &patch).await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        s.delete_inbox(w.b, i.id).await,
        Err(StoreError::NotFound)
    ));
    assert_eq!(s.inbox(w.a, i.id).await.unwrap().name, "Website");

    let by_id = s.inbox_by_identifier(&i.identifier).await.unwrap().unwrap();
    assert_eq!(by_id.id, i.id);
    assert!(s.inbox_by_identifier("nope").await.unwrap().is_none());

    s.delete_inbox(w.a, api.id).await.unwrap();
    assert!(matches!(
        s.inbox(w.a, api.id).await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        s.delete_inbox(w.a, api.id).await,
        Err(StoreError::NotFound)
    ));
}

async fn inbox_settings_patch_merges(s: &Store) {
    let w = world(s).await;
    let mut new = NewInbox::new("Website", ChannelType::WebWidget);
    new.greeting_message = Some("Hi".into());
    new.settings
        .insert("website_url".into(), json!("https://a.test"));
    new.settings.insert("widget_color".into(), json!("#000000"));
    new.settings.insert("welcome_title".into(), json!("Hey"));
    let i = s.create_inbox(w.a, &new).await.unwrap();

    let mut patch = InboxPatch {
        name: Some("Site".into()),
        greeting_enabled: Some(true),
        greeting_message: Some(None),
        timezone: Some("Europe/Moscow".into()),
        ..Default::default()
    };
    patch
        .settings
        .insert("widget_color".into(), json!("#ffffff"));
    patch.settings.insert("welcome_title".into(), json!(null));
    let u = s.update_inbox(w.a, i.id, &patch).await.unwrap();
    assert_eq!(u.name, "Site");
    assert_eq!(u.greeting_enabled, 1);
    assert_eq!(u.greeting_message, None);
    assert_eq!(u.timezone, "Europe/Moscow");
    assert_eq!(u.identifier, i.identifier, "identifier never changes");
    assert_eq!(u.hmac_token, i.hmac_token);
    let m = u.settings_map();
    assert_eq!(m.get("website_url"), Some(&json!("https://a.test")));
    assert_eq!(m.get("widget_color"), Some(&json!("#ffffff")));
    assert!(!m.contains_key("welcome_title"));

    // An empty patch changes nothing but the update time.
    let same = s
        .update_inbox(w.a, i.id, &InboxPatch::default())
        .await
        .unwrap();
    assert_eq!(same.name, "Site");
    assert_eq!(same.settings_map(), m);
}

async fn inbox_members_add_replace_remove(s: &Store) {
    let w = world(s).await;
    let i = s
        .create_inbox(w.a, &NewInbox::new("Site", ChannelType::WebWidget))
        .await
        .unwrap();
    assert!(s.inbox_members(w.a, i.id).await.unwrap().is_empty());

    let v = updated(
        s.change_inbox_members(w.a, i.id, MemberOp::Add, &[w.agent_a, w.agent_a])
            .await
            .unwrap(),
    );
    assert_eq!(ids(&v), vec![w.agent_a]);
    assert_eq!(v[0].account_id, w.a);
    // Adding again is harmless.
    let v = updated(
        s.change_inbox_members(w.a, i.id, MemberOp::Add, &[w.admin_a, w.agent_a])
            .await
            .unwrap(),
    );
    assert_eq!(ids(&v), vec![w.admin_a, w.agent_a]);

    // A user of another account is refused and nothing changes.
    match s
        .change_inbox_members(w.a, i.id, MemberOp::Replace, &[w.admin_a, w.agent_b])
        .await
        .unwrap()
    {
        MembersOutcome::NotAccountMembers(bad) => assert_eq!(bad, vec![w.agent_b]),
        MembersOutcome::Updated(_) => panic!("foreign user accepted"),
    }
    assert!(matches!(
        s.change_inbox_members(w.a, i.id, MemberOp::Add, &[999_999])
            .await
            .unwrap(),
        MembersOutcome::NotAccountMembers(_)
    ));
    assert_eq!(
        ids(&s.inbox_members(w.a, i.id).await.unwrap()),
        vec![w.admin_a, w.agent_a]
    );

    let v = updated(
        s.change_inbox_members(w.a, i.id, MemberOp::Replace, &[w.agent_a])
            .await
            .unwrap(),
    );
    assert_eq!(ids(&v), vec![w.agent_a]);
    let v = updated(
        s.change_inbox_members(w.a, i.id, MemberOp::Remove, &[w.agent_a, w.admin_a])
            .await
            .unwrap(),
    );
    assert!(v.is_empty());
    let v = updated(
        s.change_inbox_members(w.a, i.id, MemberOp::Replace, &[])
            .await
            .unwrap(),
    );
    assert!(v.is_empty());

    // Another account cannot list or change the members.
    assert!(matches!(
        s.inbox_members(w.b, i.id).await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        s.change_inbox_members(w.b, i.id, MemberOp::Add, &[w.agent_b])
            .await,
        Err(StoreError::NotFound)
    ));
    assert!(s.inbox_members(w.a, i.id).await.unwrap().is_empty());
}

async fn inbox_membership_helpers(s: &Store) {
    let w = world(s).await;
    let i1 = s
        .create_inbox(w.a, &NewInbox::new("One", ChannelType::Api))
        .await
        .unwrap();
    let i2 = s
        .create_inbox(w.a, &NewInbox::new("Two", ChannelType::Api))
        .await
        .unwrap();
    for i in [i1.id, i2.id] {
        s.change_inbox_members(w.a, i, MemberOp::Add, &[w.agent_a])
            .await
            .unwrap();
    }
    assert!(s.is_inbox_member(i1.id, w.agent_a).await.unwrap());
    assert!(!s.is_inbox_member(i1.id, w.admin_a).await.unwrap());
    assert_eq!(
        s.inbox_ids_for_user(w.a, w.agent_a).await.unwrap(),
        vec![i1.id, i2.id]
    );
    assert!(
        s.inbox_ids_for_user(w.b, w.agent_a)
            .await
            .unwrap()
            .is_empty()
    );
    // Leaving the account drops the inbox memberships too.
    s.remove_agent(w.a, w.agent_a).await.unwrap();
    assert!(
        s.inbox_ids_for_user(w.a, w.agent_a)
            .await
            .unwrap()
            .is_empty()
    );
    // Deleting an inbox drops its memberships.
    s.change_inbox_members(w.a, i1.id, MemberOp::Add, &[w.admin_a])
        .await
        .unwrap();
    s.delete_inbox(w.a, i1.id).await.unwrap();
    assert!(!s.is_inbox_member(i1.id, w.admin_a).await.unwrap());
}

async fn teams_crud_and_members(s: &Store) {
    let w = world(s).await;
    let t = s
        .create_team(w.a, "Delivery", Some("Couriers"), true)
        .await
        .unwrap();
    assert_eq!(t.allow_auto_assign, 1);
    assert!(matches!(
        s.create_team(w.a, "Delivery", None, false).await,
        Err(StoreError::Conflict(_))
    ));
    // The same name in another account is fine.
    let tb = s.create_team(w.b, "Delivery", None, false).await.unwrap();
    let t2 = s.create_team(w.a, "Billing", None, false).await.unwrap();
    assert_eq!(
        s.teams(w.a)
            .await
            .unwrap()
            .iter()
            .map(|t| t.name.as_str())
            .collect::<Vec<_>>(),
        vec!["Billing", "Delivery"]
    );
    assert!(matches!(s.team(w.b, t.id).await, Err(StoreError::NotFound)));

    let u = s
        .update_team(
            w.a,
            t.id,
            &TeamPatch {
                description: Some(None),
                allow_auto_assign: Some(false),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(u.name, "Delivery");
    assert_eq!(u.description, None);
    assert_eq!(u.allow_auto_assign, 0);
    assert!(matches!(
        s.update_team(
            w.a,
            t2.id,
            &TeamPatch {
                name: Some("Delivery".into()),
                ..Default::default()
            }
        )
        .await,
        Err(StoreError::Conflict(_))
    ));
    assert!(matches!(
        s.update_team(
            w.b,
            t.id,
            &TeamPatch {
                name: Some("X".into()),
                ..Default::default()
            }
        )
        .await,
        Err(StoreError::NotFound)
    ));

    let v = updated(
        s.change_team_members(w.a, t.id, MemberOp::Add, &[w.agent_a, w.admin_a])
            .await
            .unwrap(),
    );
    assert_eq!(ids(&v), vec![w.admin_a, w.agent_a]);
    assert!(matches!(
        s.change_team_members(w.a, t.id, MemberOp::Add, &[w.agent_b])
            .await
            .unwrap(),
        MembersOutcome::NotAccountMembers(_)
    ));
    assert!(matches!(
        s.change_team_members(w.a, tb.id, MemberOp::Add, &[w.agent_a])
            .await,
        Err(StoreError::NotFound)
    ));
    assert_eq!(
        s.team_ids_for_user(w.a, w.agent_a).await.unwrap(),
        vec![t.id]
    );
    let v = updated(
        s.change_team_members(w.a, t.id, MemberOp::Replace, &[w.admin_a])
            .await
            .unwrap(),
    );
    assert_eq!(ids(&v), vec![w.admin_a]);
    let v = updated(
        s.change_team_members(w.a, t.id, MemberOp::Remove, &[w.admin_a])
            .await
            .unwrap(),
    );
    assert!(v.is_empty());
    assert!(matches!(
        s.team_members(w.b, t.id).await,
        Err(StoreError::NotFound)
    ));

    assert!(matches!(
        s.delete_team(w.b, t.id).await,
        Err(StoreError::NotFound)
    ));
    s.delete_team(w.a, t.id).await.unwrap();
    assert!(matches!(s.team(w.a, t.id).await, Err(StoreError::NotFound)));
    assert_eq!(s.teams(w.b).await.unwrap().len(), 1);
}

async fn labels_crud_unique_titles(s: &Store) {
    let w = world(s).await;
    let l = s
        .create_label(w.a, "delivery", Some("Where is my order"), "#1f93ff", true)
        .await
        .unwrap();
    assert_eq!(l.show_on_sidebar, 1);
    assert!(matches!(
        s.create_label(w.a, "delivery", None, "#000000", false)
            .await,
        Err(StoreError::Conflict(_))
    ));
    s.create_label(w.b, "delivery", None, "#000000", false)
        .await
        .unwrap();
    let l2 = s
        .create_label(w.a, "billing", None, "#ff0000", false)
        .await
        .unwrap();
    assert_eq!(
        s.labels(w.a)
            .await
            .unwrap()
            .iter()
            .map(|l| l.title.as_str())
            .collect::<Vec<_>>(),
        vec!["billing", "delivery"]
    );
    let u = s
        .update_label(
            w.a,
            l.id,
            &LabelPatch {
                color: Some("#00ff00".into()),
                show_on_sidebar: Some(false),
                description: Some(None),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(
        (u.title.as_str(), u.color.as_str(), u.show_on_sidebar),
        ("delivery", "#00ff00", 0)
    );
    assert_eq!(u.description, None);
    assert!(matches!(
        s.update_label(
            w.a,
            l2.id,
            &LabelPatch {
                title: Some("delivery".into()),
                ..Default::default()
            }
        )
        .await,
        Err(StoreError::Conflict(_))
    ));
    assert!(matches!(
        s.label(w.b, l.id).await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        s.update_label(w.b, l.id, &LabelPatch::default()).await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        s.delete_label(w.b, l.id).await,
        Err(StoreError::NotFound)
    ));
    s.delete_label(w.a, l.id).await.unwrap();
    assert_eq!(s.labels(w.a).await.unwrap().len(), 1);
    assert_eq!(s.labels(w.b).await.unwrap().len(), 1);
}

async fn canned_search_case_insensitive(s: &Store) {
    let w = world(s).await;
    let c1 = s
        .create_canned(w.a, "delivery", "Доставка занимает 2 дня")
        .await
        .unwrap();
    let c2 = s
        .create_canned(w.a, "thanks", "Thank you for the DELIVERY question")
        .await
        .unwrap();
    let c3 = s
        .create_canned(w.a, "hello", "Здравствуйте!")
        .await
        .unwrap();
    assert!(matches!(
        s.create_canned(w.a, "hello", "again").await,
        Err(StoreError::Conflict(_))
    ));
    s.create_canned(w.b, "delivery", "B's delivery")
        .await
        .unwrap();

    let all = s.canned_responses(w.a, None).await.unwrap();
    assert_eq!(
        all.iter().map(|c| c.id).collect::<Vec<_>>(),
        vec![c1.id, c3.id, c2.id]
    );
    let hits = s.canned_responses(w.a, Some("Deliv")).await.unwrap();
    assert_eq!(
        hits.iter().map(|c| c.id).collect::<Vec<_>>(),
        vec![c1.id, c2.id],
        "short-code prefix first, then content matches"
    );
    let hits = s.canned_responses(w.a, Some("ДОСТАВКА")).await.unwrap();
    assert_eq!(hits.iter().map(|c| c.id).collect::<Vec<_>>(), vec![c1.id]);
    assert!(
        s.canned_responses(w.a, Some("%")).await.unwrap().is_empty(),
        "no LIKE wildcards"
    );
    assert_eq!(s.canned_responses(w.a, Some("  ")).await.unwrap().len(), 3);

    let u = s
        .update_canned(w.a, c3.id, None, Some("Привет"))
        .await
        .unwrap();
    assert_eq!(
        (u.short_code.as_str(), u.content.as_str()),
        ("hello", "Привет")
    );
    assert!(matches!(
        s.update_canned(w.a, c3.id, Some("thanks"), None).await,
        Err(StoreError::Conflict(_))
    ));
    assert!(matches!(
        s.update_canned(w.b, c3.id, None, Some("x")).await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        s.canned_response(w.b, c3.id).await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        s.delete_canned(w.b, c3.id).await,
        Err(StoreError::NotFound)
    ));
    s.delete_canned(w.a, c3.id).await.unwrap();
    assert_eq!(s.canned_responses(w.a, None).await.unwrap().len(), 2);
    assert_eq!(s.canned_responses(w.b, None).await.unwrap().len(), 1);
}

async fn agents_create_add_update_remove(s: &Store) {
    let w = world(s).await;
    // Creating a user whose e-mail exists is a conflict and leaves nothing behind.
    let dup = NewUser {
        name: "Dup",
        display_name: None,
        email: "agent@b.test",
        password_hash: "x",
    };
    assert!(matches!(
        s.create_agent(w.a, &dup, Role::Agent, Availability::Online, false)
            .await,
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(s.agents(w.a).await.unwrap().len(), 2);

    // Adding the existing user of B to A.
    let ag = s
        .add_agent(w.a, w.agent_b, Role::Supervisor, Availability::Busy, false)
        .await
        .unwrap();
    assert_eq!(
        (
            ag.account_id,
            ag.role.as_str(),
            ag.availability.as_str(),
            ag.auto_offline
        ),
        (w.a, "supervisor", "busy", 0)
    );
    assert!(matches!(
        s.add_agent(w.a, w.agent_b, Role::Agent, Availability::Busy, false)
            .await,
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(s.agents(w.a).await.unwrap().len(), 3);
    assert_eq!(
        s.non_members(w.a, &[w.agent_b, 424_242]).await.unwrap(),
        vec![424_242]
    );

    let up = s
        .update_agent(
            w.a,
            w.agent_b,
            &AgentPatch {
                role: Some(Role::Agent),
                availability: Some(Availability::Online),
                auto_offline: None,
            },
        )
        .await
        .unwrap();
    assert_eq!(
        (up.role.as_str(), up.availability.as_str(), up.auto_offline),
        ("agent", "online", 0)
    );
    // B's membership of the same user is untouched.
    assert_eq!(s.agent(w.b, w.agent_b).await.unwrap().role, "agent");
    assert_eq!(
        s.agent(w.b, w.agent_b).await.unwrap().availability,
        "offline"
    );

    assert!(matches!(
        s.update_agent(w.b, w.agent_a, &AgentPatch::default()).await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        s.remove_agent(w.b, w.agent_a).await,
        Err(StoreError::NotFound)
    ));
    s.remove_agent(w.a, w.agent_b).await.unwrap();
    assert!(s.agent(w.b, w.agent_b).await.is_ok());
    assert_eq!(s.agents(w.a).await.unwrap().len(), 2);
}

async fn last_administrator_is_kept(s: &Store) {
    let w = world(s).await;
    let demote = AgentPatch {
        role: Some(Role::Agent),
        ..Default::default()
    };
    match s.update_agent(w.a, w.admin_a, &demote).await {
        Err(StoreError::Conflict(c)) => assert_eq!(c, LAST_ADMINISTRATOR),
        other => panic!("expected conflict, got {other:?}"),
    }
    assert!(matches!(
        s.remove_agent(w.a, w.admin_a).await,
        Err(StoreError::Conflict(_))
    ));
    // Availability changes of the last admin are fine.
    s.update_agent(
        w.a,
        w.admin_a,
        &AgentPatch {
            availability: Some(Availability::Online),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    // With a second administrator, the first may step down.
    s.update_agent(
        w.a,
        w.agent_a,
        &AgentPatch {
            role: Some(Role::Administrator),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    s.update_agent(w.a, w.admin_a, &demote).await.unwrap();
    s.remove_agent(w.a, w.admin_a).await.unwrap();
    assert_eq!(s.agents(w.a).await.unwrap().len(), 1);
}

/// A contact and a conversation in `account`, tagged with `labels`; returns their ids.
async fn tagged(s: &Store, account: i64, inbox: i64, labels: &[&str]) -> (i64, i64) {
    let now = parley_core::now_ms();
    let (contact,): (i64,) = sqlx::query_as(
        "INSERT INTO contacts (account_id, name, created_at, updated_at) VALUES ($1, 'C', $2, $2) RETURNING id",
    )
    .bind(account)
    .bind(now)
    .fetch_one(s.writer())
    .await
    .unwrap();
    let display = Store::next_display_id(s.writer(), account).await.unwrap();
    let (conv,): (i64,) = sqlx::query_as(
        "INSERT INTO conversations (account_id, display_id, uuid, inbox_id, contact_id, last_activity_at, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $6, $6) RETURNING id",
    )
    .bind(account)
    .bind(display)
    .bind(parley_store::random_token(16))
    .bind(inbox)
    .bind(contact)
    .bind(now)
    .fetch_one(s.writer())
    .await
    .unwrap();
    for l in labels {
        for (sql, id) in [
            (
                "INSERT INTO conversation_labels (conversation_id, label) VALUES ($1, $2)",
                conv,
            ),
            (
                "INSERT INTO contact_labels (contact_id, label) VALUES ($1, $2)",
                contact,
            ),
        ] {
            sqlx::query(sql)
                .bind(id)
                .bind(*l)
                .execute(s.writer())
                .await
                .unwrap();
        }
    }
    (contact, conv)
}

async fn labels_of(s: &Store, table: &str, key: &str, id: i64) -> Vec<String> {
    let sql = format!("SELECT label FROM {table} WHERE {key} = $1 ORDER BY label");
    sqlx::query_as::<_, (String,)>(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .fetch_all(s.reader())
        .await
        .unwrap()
        .into_iter()
        .map(|(l,)| l)
        .collect()
}

async fn label_rename_retags_conversations_and_contacts(s: &Store) {
    let w = world(s).await;
    let ia = s
        .create_inbox(w.a, &NewInbox::new("A", ChannelType::Api))
        .await
        .unwrap();
    let ib = s
        .create_inbox(w.b, &NewInbox::new("B", ChannelType::Api))
        .await
        .unwrap();
    let l = s
        .create_label(w.a, "delivery", None, "#000000", true)
        .await
        .unwrap();
    s.create_label(w.b, "delivery", None, "#000000", true)
        .await
        .unwrap();
    let (ca, va) = tagged(s, w.a, ia.id, &["delivery", "vip"]).await;
    let (ca2, va2) = tagged(s, w.a, ia.id, &["delivery", "shipping"]).await;
    let (cb, vb) = tagged(s, w.b, ib.id, &["delivery"]).await;

    // Changing only the colour touches no tags.
    s.update_label(
        w.a,
        l.id,
        &LabelPatch {
            color: Some("#ffffff".into()),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(
        labels_of(s, "conversation_labels", "conversation_id", va).await,
        vec!["delivery", "vip"]
    );

    s.update_label(
        w.a,
        l.id,
        &LabelPatch {
            title: Some("shipping".into()),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(
        labels_of(s, "conversation_labels", "conversation_id", va).await,
        vec!["shipping", "vip"]
    );
    assert_eq!(
        labels_of(s, "contact_labels", "contact_id", ca).await,
        vec!["shipping", "vip"]
    );
    assert_eq!(
        labels_of(s, "conversation_labels", "conversation_id", va2).await,
        vec!["shipping"]
    );
    assert_eq!(
        labels_of(s, "contact_labels", "contact_id", ca2).await,
        vec!["shipping"]
    );
    // Another account's tags with the same title are untouched.
    assert_eq!(
        labels_of(s, "conversation_labels", "conversation_id", vb).await,
        vec!["delivery"]
    );
    assert_eq!(
        labels_of(s, "contact_labels", "contact_id", cb).await,
        vec!["delivery"]
    );
}
