//! One conformance suite for both backends: every case runs on SQLite, and on PostgreSQL
//! when `PARLEY_TEST_POSTGRES_URL` is set.

use crate::common;

use parley_core::Role;
use parley_store::users::NewUser;
use parley_store::{Store, StoreError};

macro_rules! both_backends {
    ($($name:ident),+ $(,)?) => {
        mod sqlite { $( #[tokio::test] async fn $name() { super::$name(&super::common::sqlite().await.store).await } )+ }
        mod postgres { $( #[tokio::test] async fn $name() { if let Some(db) = super::common::postgres().await { super::$name(&db.store).await } } )+ }
    };
}

both_backends!(
    users_and_memberships,
    first_admin_only_once,
    tokens_and_sessions,
    display_ids_are_per_account
);

fn new_user<'a>(email: &'a str) -> NewUser<'a> {
    NewUser {
        name: "Maria",
        display_name: Some("Masha"),
        email,
        password_hash: "x",
    }
}

async fn users_and_memberships(s: &Store) {
    let a = s.create_account("Shop", "ru").await.unwrap();
    let u = s.create_user(&new_user("maria@shop.test")).await.unwrap();
    assert_eq!(u.display_name.as_deref(), Some("Masha"));
    assert!(matches!(
        s.create_user(&new_user("maria@shop.test")).await,
        Err(StoreError::Conflict(_))
    ));
    s.upsert_membership(a.id, u.id, Role::Agent).await.unwrap();
    s.upsert_membership(a.id, u.id, Role::Supervisor)
        .await
        .unwrap();
    let m = s.memberships(u.id).await.unwrap();
    assert_eq!(m.len(), 1);
    assert_eq!(m[0].role(), Role::Supervisor);
    assert_eq!(m[0].account_name, "Shop");
    let u2 = s
        .update_user(u.id, Some("Maria P"), None, None, None)
        .await
        .unwrap();
    assert_eq!(u2.name, "Maria P");
    assert_eq!(u2.display_name.as_deref(), Some("Masha"));
    assert_eq!(s.agents(a.id).await.unwrap().len(), 1);
    s.remove_membership(a.id, u.id).await.unwrap();
    assert!(matches!(
        s.agent(a.id, u.id).await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        s.remove_membership(a.id, u.id).await,
        Err(StoreError::NotFound)
    ));
}

async fn first_admin_only_once(s: &Store) {
    assert_eq!(s.count_users().await.unwrap(), 0);
    let (u, account_id) = s
        .create_first_admin(&new_user("a@b.test"), "Shop", "en")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(s.memberships(u.id).await.unwrap()[0].account_id, account_id);
    assert!(
        s.create_first_admin(&new_user("c@d.test"), "Shop 2", "en")
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(s.count_users().await.unwrap(), 1);
}

async fn tokens_and_sessions(s: &Store) {
    let u = s.create_user(&new_user("t@shop.test")).await.unwrap();
    s.add_access_token(u.id, "secret-token").await.unwrap();
    assert_eq!(
        s.user_by_access_token("secret-token")
            .await
            .unwrap()
            .unwrap()
            .user
            .id,
        u.id
    );
    assert!(s.user_by_access_token("other").await.unwrap().is_none());
    s.replace_access_tokens(u.id, "new-token").await.unwrap();
    assert!(
        s.user_by_access_token("secret-token")
            .await
            .unwrap()
            .is_none()
    );
    let now = parley_core::now_ms();
    s.create_session(u.id, "sess", now + 60_000).await.unwrap();
    s.create_session(u.id, "old", now - 1).await.unwrap();
    assert!(s.user_by_session("sess").await.unwrap().is_some());
    assert!(
        s.user_by_session("old").await.unwrap().is_none(),
        "expired session must not authenticate"
    );
    s.delete_session("sess").await.unwrap();
    assert!(s.user_by_session("sess").await.unwrap().is_none());
}

async fn display_ids_are_per_account(s: &Store) {
    let a = s.create_account("A", "en").await.unwrap();
    let b = s.create_account("B", "en").await.unwrap();
    assert_eq!(Store::next_display_id(s.writer(), a.id).await.unwrap(), 1);
    assert_eq!(Store::next_display_id(s.writer(), a.id).await.unwrap(), 2);
    assert_eq!(Store::next_display_id(s.writer(), b.id).await.unwrap(), 1);
}
