//! @mentions in private notes and the agents' notifications (Chatwoot's `mentions` and
//! `notifications`). Every lookup is scoped by account and user, so another agent's or
//! another tenant's notification id reads as missing.

use sqlx::FromRow;

use crate::{Result, Store, StoreError};

/// Chatwoot's notification type of a mention.
pub const CONVERSATION_MENTION: &str = "conversation_mention";

/// At most this many notifications are listed per page (Chatwoot's page size).
pub const NOTIFICATIONS_PAGE: i64 = 15;

/// An agent who may be mentioned in a conversation of an inbox: one who can see it.
#[derive(Debug, Clone, FromRow)]
pub struct MentionableRow {
    pub id: i64,
    pub name: String,
    pub display_name: Option<String>,
    pub email: String,
    pub avatar_url: Option<String>,
    pub role: String,
    pub availability: String,
    /// The agent's e-mail choices: a JSON array of Chatwoot's flag names.
    pub email_flags: String,
}

/// A notification with what the list shows of its conversation and actor.
#[derive(Debug, Clone, FromRow)]
pub struct NotificationRow {
    pub id: i64,
    pub account_id: i64,
    pub user_id: i64,
    pub notification_type: String,
    pub conversation_id: i64,
    pub display_id: i64,
    pub inbox_id: i64,
    pub message_id: Option<i64>,
    pub message_content: Option<String>,
    pub actor_id: Option<i64>,
    pub actor_name: Option<String>,
    pub actor_display_name: Option<String>,
    pub actor_avatar_url: Option<String>,
    pub read_at: Option<i64>,
    pub created_at: i64,
}

const NOTIFICATION_SELECT: &str = "SELECT n.id, n.account_id, n.user_id, n.notification_type,
        n.conversation_id, c.display_id, c.inbox_id, n.message_id, m.content AS message_content,
        n.actor_id, u.name AS actor_name, u.display_name AS actor_display_name,
        u.avatar_url AS actor_avatar_url, n.read_at, n.created_at
     FROM notifications n
     JOIN conversations c ON c.id = n.conversation_id
     LEFT JOIN messages m ON m.id = n.message_id
     LEFT JOIN users u ON u.id = n.actor_id";

/// One mention to store: `user_id` was mentioned in `message_id` by `actor_id`.
#[derive(Debug, Clone)]
pub struct NewMention {
    pub account_id: i64,
    pub conversation_id: i64,
    pub message_id: i64,
    pub user_id: i64,
    pub actor_id: i64,
}

impl Store {
    /// The agents of the account who can see conversations of `inbox_id`: administrators
    /// and supervisors, and the inbox's members. Ordered by name.
    pub async fn mentionable_agents(
        &self,
        account_id: i64,
        inbox_id: i64,
    ) -> Result<Vec<MentionableRow>> {
        Ok(sqlx::query_as::<_, MentionableRow>(
            "SELECT u.id, u.name, u.display_name, u.email, u.avatar_url, au.role, au.availability,
                    au.email_flags
             FROM account_users au JOIN users u ON u.id = au.user_id
             WHERE au.account_id = $1
               AND (au.role IN ('administrator', 'supervisor')
                    OR EXISTS (SELECT 1 FROM inbox_members im
                               WHERE im.inbox_id = $2 AND im.user_id = au.user_id))
             ORDER BY u.name, u.id",
        )
        .bind(account_id)
        .bind(inbox_id)
        .fetch_all(self.reader())
        .await?)
    }

    /// Stores mentions and a notification for each, in one transaction; a mention already
    /// stored for the message and user (a retried request) is skipped. Returns the users
    /// that were newly notified.
    pub async fn add_mentions(&self, mentions: &[NewMention]) -> Result<Vec<i64>> {
        if mentions.is_empty() {
            return Ok(Vec::new());
        }
        let now = self.now();
        let mut tx = self.writer().begin().await?;
        let mut added = Vec::new();
        for m in mentions {
            let r = sqlx::query(
                "INSERT INTO mentions (account_id, conversation_id, message_id, user_id, mentioned_by, created_at)
                 VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (message_id, user_id) DO NOTHING",
            )
            .bind(m.account_id)
            .bind(m.conversation_id)
            .bind(m.message_id)
            .bind(m.user_id)
            .bind(m.actor_id)
            .bind(now)
            .execute(&mut *tx)
            .await?;
            if r.rows_affected() == 0 {
                continue;
            }
            sqlx::query(
                "INSERT INTO notifications (account_id, user_id, notification_type, conversation_id, message_id, actor_id, created_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(m.account_id)
            .bind(m.user_id)
            .bind(CONVERSATION_MENTION)
            .bind(m.conversation_id)
            .bind(m.message_id)
            .bind(m.actor_id)
            .bind(now)
            .execute(&mut *tx)
            .await?;
            added.push(m.user_id);
        }
        tx.commit().await?;
        Ok(added)
    }

    /// The user's mentions stored for a message (tests and the message view).
    pub async fn mentions_of_message(&self, message_id: i64) -> Result<Vec<i64>> {
        let rows: Vec<(i64,)> =
            sqlx::query_as("SELECT user_id FROM mentions WHERE message_id = $1 ORDER BY user_id")
                .bind(message_id)
                .fetch_all(self.reader())
                .await?;
        Ok(rows.into_iter().map(|(u,)| u).collect())
    }

    /// A page of the user's notifications in the account, newest first; only those of
    /// conversations in `inboxes` when given (an agent who lost an inbox stops seeing them).
    pub async fn notifications(
        &self,
        account_id: i64,
        user_id: i64,
        inboxes: Option<&[i64]>,
        offset: i64,
    ) -> Result<Vec<NotificationRow>> {
        let sql = format!(
            "{NOTIFICATION_SELECT} WHERE n.account_id = $1 AND n.user_id = $2{} ORDER BY n.id DESC LIMIT {NOTIFICATIONS_PAGE} OFFSET $3",
            inbox_clause(inboxes)
        );
        Ok(
            sqlx::query_as::<_, NotificationRow>(sqlx::AssertSqlSafe(sql))
                .bind(account_id)
                .bind(user_id)
                .bind(offset.max(0))
                .fetch_all(self.reader())
                .await?,
        )
    }

    /// How many of the user's notifications there are, and how many are unread.
    pub async fn notification_counts(
        &self,
        account_id: i64,
        user_id: i64,
        inboxes: Option<&[i64]>,
    ) -> Result<(i64, i64)> {
        let sql = format!(
            "SELECT COUNT(*), COALESCE(SUM(CASE WHEN n.read_at IS NULL THEN 1 ELSE 0 END), 0)
             FROM notifications n JOIN conversations c ON c.id = n.conversation_id
             WHERE n.account_id = $1 AND n.user_id = $2{}",
            inbox_clause(inboxes)
        );
        let (count, unread): (i64, i64) = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(account_id)
            .bind(user_id)
            .fetch_one(self.reader())
            .await?;
        Ok((count, unread))
    }

    /// One of the user's notifications.
    pub async fn notification(
        &self,
        account_id: i64,
        user_id: i64,
        id: i64,
    ) -> Result<NotificationRow> {
        let sql = format!(
            "{NOTIFICATION_SELECT} WHERE n.account_id = $1 AND n.user_id = $2 AND n.id = $3"
        );
        sqlx::query_as::<_, NotificationRow>(sqlx::AssertSqlSafe(sql))
            .bind(account_id)
            .bind(user_id)
            .bind(id)
            .fetch_optional(self.reader())
            .await?
            .ok_or(StoreError::NotFound)
    }

    /// Marks one of the user's notifications read (kept read if it already was).
    pub async fn read_notification(&self, account_id: i64, user_id: i64, id: i64) -> Result<()> {
        let r = sqlx::query(
            "UPDATE notifications SET read_at = COALESCE(read_at, $4)
             WHERE account_id = $1 AND user_id = $2 AND id = $3",
        )
        .bind(account_id)
        .bind(user_id)
        .bind(id)
        .bind(self.now())
        .execute(self.writer())
        .await?;
        if r.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    /// Marks the user's unread notifications read: all of them, or those of one
    /// conversation (internal id). Returns how many changed.
    pub async fn read_notifications(
        &self,
        account_id: i64,
        user_id: i64,
        conversation_id: Option<i64>,
    ) -> Result<u64> {
        let r = sqlx::query(
            "UPDATE notifications SET read_at = $3
             WHERE account_id = $1 AND user_id = $2 AND read_at IS NULL
               AND ($4 = 0 OR conversation_id = $4)",
        )
        .bind(account_id)
        .bind(user_id)
        .bind(self.now())
        .bind(conversation_id.unwrap_or(0))
        .execute(self.writer())
        .await?;
        Ok(r.rows_affected())
    }

    /// The user's e-mail choices in the account (a JSON array of flag names).
    pub async fn email_flags(&self, account_id: i64, user_id: i64) -> Result<String> {
        let row: Option<(String,)> = sqlx::query_as(
            "SELECT email_flags FROM account_users WHERE account_id = $1 AND user_id = $2",
        )
        .bind(account_id)
        .bind(user_id)
        .fetch_optional(self.reader())
        .await?;
        row.map(|(f,)| f).ok_or(StoreError::NotFound)
    }

    /// Replaces the user's e-mail choices in the account.
    pub async fn set_email_flags(&self, account_id: i64, user_id: i64, flags: &str) -> Result<()> {
        let r = sqlx::query(
            "UPDATE account_users SET email_flags = $3 WHERE account_id = $1 AND user_id = $2",
        )
        .bind(account_id)
        .bind(user_id)
        .bind(flags)
        .execute(self.writer())
        .await?;
        if r.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }
}

/// The inbox restriction of an agent's notification queries; integers only, so inlining
/// them cannot inject SQL.
fn inbox_clause(inboxes: Option<&[i64]>) -> String {
    match inboxes {
        None => String::new(),
        Some([]) => " AND 1 = 0".into(),
        Some(ids) => format!(
            " AND c.inbox_id IN ({})",
            crate::conversations::id_list(ids)
        ),
    }
}
