//! Invitations of existing users into an account (issue 12, finding 8). Adding an e-mail
//! that belongs to an existing user must not attach that user to a stranger's account, nor
//! tell the stranger who they are: the administrator's request only records an invitation,
//! and the membership is created when the invited user accepts.

use parley_core::{Availability, Role};
use sqlx::FromRow;

use crate::{Result, Store, StoreError};

/// A pending invitation, as the invited user sees it.
#[derive(Debug, Clone, FromRow)]
pub struct InvitationRow {
    pub id: i64,
    pub account_id: i64,
    pub account_name: String,
    pub user_id: i64,
    pub role: String,
    pub created_at: i64,
}

/// What the inviting administrator chose for the future membership.
#[derive(Debug, Clone, Copy)]
pub struct NewInvitation {
    pub account_id: i64,
    pub user_id: i64,
    pub role: Role,
    pub availability: Availability,
    pub auto_offline: bool,
    pub invited_by: i64,
}

const INVITATION_COLS: &str =
    "i.id, i.account_id, a.name AS account_name, i.user_id, i.role, i.created_at";

impl Store {
    /// Records (or renews, with the new role) an invitation. `Conflict` when the user is
    /// already a member of the account.
    pub async fn invite(&self, n: &NewInvitation) -> Result<i64> {
        let mut tx = self.writer().begin().await?;
        let member: Option<(i64,)> = sqlx::query_as(
            "SELECT user_id FROM account_users WHERE account_id = $1 AND user_id = $2",
        )
        .bind(n.account_id)
        .bind(n.user_id)
        .fetch_optional(&mut *tx)
        .await?;
        if member.is_some() {
            return Err(StoreError::Conflict("member".into()));
        }
        let (id,): (i64,) = sqlx::query_as(
            "INSERT INTO invitations (account_id, user_id, role, availability, auto_offline, invited_by, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7)
             ON CONFLICT (account_id, user_id) DO UPDATE SET role = excluded.role,
                 availability = excluded.availability, auto_offline = excluded.auto_offline,
                 invited_by = excluded.invited_by, created_at = excluded.created_at
             RETURNING id",
        )
        .bind(n.account_id)
        .bind(n.user_id)
        .bind(n.role.as_str())
        .bind(n.availability.as_str())
        .bind(i64::from(n.auto_offline))
        .bind(n.invited_by)
        .bind(self.now())
        .fetch_one(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(id)
    }

    /// The user's pending invitations, oldest first.
    pub async fn invitations_of(&self, user_id: i64) -> Result<Vec<InvitationRow>> {
        let sql = format!(
            "SELECT {INVITATION_COLS} FROM invitations i JOIN accounts a ON a.id = i.account_id
             WHERE i.user_id = $1 ORDER BY i.id"
        );
        Ok(sqlx::query_as::<_, InvitationRow>(sqlx::AssertSqlSafe(sql))
            .bind(user_id)
            .fetch_all(self.reader())
            .await?)
    }

    /// Accepts an invitation of `user_id`: the membership is created with the invited role
    /// and the invitation is removed, in one transaction. `NotFound` when there is no such
    /// invitation for this user; an existing membership is kept as it is.
    pub async fn accept_invitation(&self, user_id: i64, id: i64) -> Result<InvitationRow> {
        let mut tx = self.writer().begin().await?;
        let sql = format!(
            "SELECT {INVITATION_COLS} FROM invitations i JOIN accounts a ON a.id = i.account_id
             WHERE i.id = $1 AND i.user_id = $2"
        );
        let inv = sqlx::query_as::<_, InvitationRow>(sqlx::AssertSqlSafe(sql))
            .bind(id)
            .bind(user_id)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or(StoreError::NotFound)?;
        sqlx::query(
            "INSERT INTO account_users (account_id, user_id, role, availability, auto_offline, created_at)
             SELECT account_id, user_id, role, availability, auto_offline, $3 FROM invitations
             WHERE id = $1 AND user_id = $2
             ON CONFLICT (account_id, user_id) DO NOTHING",
        )
        .bind(id)
        .bind(user_id)
        .bind(self.now())
        .execute(&mut *tx)
        .await?;
        sqlx::query("DELETE FROM invitations WHERE id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(inv)
    }

    /// Declines (deletes) an invitation of `user_id`. `NotFound` when there is none.
    pub async fn decline_invitation(&self, user_id: i64, id: i64) -> Result<()> {
        let done = sqlx::query("DELETE FROM invitations WHERE id = $1 AND user_id = $2")
            .bind(id)
            .bind(user_id)
            .execute(self.writer())
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }
}
