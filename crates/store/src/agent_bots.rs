//! Agent bots: the bots, which inbox each handles, and the built-in bot's per-conversation
//! state. A bot's `outgoing_url` is delivered by the webhook machine: attaching a bot to an
//! inbox creates a receiver row (`webhooks.agent_bot_id`) that follows that inbox's events
//! from the log's head, so nothing here sends anything.

use sqlx::FromRow;

use crate::{Result, Store, StoreError, token_hash};

/// A stored bot.
#[derive(Debug, Clone, FromRow, PartialEq)]
pub struct AgentBotRow {
    pub id: i64,
    pub account_id: i64,
    pub name: String,
    pub description: Option<String>,
    pub outgoing_url: Option<String>,
    pub avatar_url: Option<String>,
    /// `webhook` or `builtin`.
    pub bot_type: String,
    /// JSON object.
    pub bot_config: String,
    pub secret: String,
    pub created_at: i64,
    pub updated_at: i64,
}

const BOT_COLS: &str = "id, account_id, name, description, outgoing_url, avatar_url, bot_type, \
     bot_config, secret, created_at, updated_at";

/// The fields of a bot as the service checked them.
#[derive(Debug, Clone)]
pub struct BotFields {
    pub name: String,
    pub description: Option<String>,
    pub outgoing_url: Option<String>,
    pub avatar_url: Option<String>,
    pub bot_type: String,
    pub bot_config: String,
}

impl Store {
    /// The account's bots, oldest first.
    pub async fn agent_bots(&self, account_id: i64) -> Result<Vec<AgentBotRow>> {
        let sql = format!("SELECT {BOT_COLS} FROM agent_bots WHERE account_id = $1 ORDER BY id");
        Ok(sqlx::query_as::<_, AgentBotRow>(sqlx::AssertSqlSafe(sql))
            .bind(account_id)
            .fetch_all(self.reader())
            .await?)
    }

    /// One bot of the account.
    pub async fn agent_bot(&self, account_id: i64, id: i64) -> Result<Option<AgentBotRow>> {
        crate::fetch_in_account(self.writer(), "agent_bots", BOT_COLS, account_id, id).await
    }

    /// Creates a bot with its API token (stored hashed) and signing secret.
    pub async fn create_agent_bot(
        &self,
        account_id: i64,
        f: &BotFields,
        token: &str,
        secret: &str,
    ) -> Result<AgentBotRow> {
        let sql = format!(
            "INSERT INTO agent_bots (account_id, name, description, outgoing_url, avatar_url,
                bot_type, bot_config, token_hash, secret, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10) RETURNING {BOT_COLS}"
        );
        Ok(sqlx::query_as::<_, AgentBotRow>(sqlx::AssertSqlSafe(sql))
            .bind(account_id)
            .bind(f.name.clone())
            .bind(f.description.clone())
            .bind(f.outgoing_url.clone())
            .bind(f.avatar_url.clone())
            .bind(f.bot_type.clone())
            .bind(f.bot_config.clone())
            .bind(token_hash(token))
            .bind(secret.to_string())
            .bind(self.now())
            .fetch_one(self.writer())
            .await?)
    }

    /// Replaces a bot's fields, and re-points its receivers at the new `outgoing_url`
    /// (removing them when it has none), in one transaction.
    pub async fn update_agent_bot(
        &self,
        account_id: i64,
        id: i64,
        f: &BotFields,
    ) -> Result<AgentBotRow> {
        let now = self.now();
        let mut tx = self.writer().begin().await?;
        let sql = format!(
            "UPDATE agent_bots SET name = $3, description = $4, outgoing_url = $5,
                avatar_url = $6, bot_type = $7, bot_config = $8, updated_at = $9
             WHERE account_id = $1 AND id = $2 RETURNING {BOT_COLS}"
        );
        let row = sqlx::query_as::<_, AgentBotRow>(sqlx::AssertSqlSafe(sql))
            .bind(account_id)
            .bind(id)
            .bind(f.name.clone())
            .bind(f.description.clone())
            .bind(f.outgoing_url.clone())
            .bind(f.avatar_url.clone())
            .bind(f.bot_type.clone())
            .bind(f.bot_config.clone())
            .bind(now)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or(StoreError::NotFound)?;
        match &row.outgoing_url {
            Some(url) => {
                sqlx::query(
                    "UPDATE webhooks SET url = $2, updated_at = $3 WHERE agent_bot_id = $1",
                )
                .bind(id)
                .bind(url.clone())
                .bind(now)
                .execute(&mut *tx)
                .await?;
            }
            None => {
                sqlx::query("DELETE FROM webhooks WHERE agent_bot_id = $1")
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
            }
        }
        tx.commit().await?;
        Ok(row)
    }

    /// Deletes a bot; its inboxes go back to agents (their receivers and links go with it).
    pub async fn delete_agent_bot(&self, account_id: i64, id: i64) -> Result<()> {
        let mut tx = self.writer().begin().await?;
        // Explicit: SQLite's foreign keys may be off for a connection.
        sqlx::query("DELETE FROM webhooks WHERE agent_bot_id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM agent_bot_inboxes WHERE agent_bot_id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        crate::delete_in_account(&mut *tx, "agent_bots", account_id, id).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Replaces a bot's API token; the old one stops at once.
    pub async fn set_agent_bot_token(&self, account_id: i64, id: i64, token: &str) -> Result<()> {
        let r = sqlx::query(
            "UPDATE agent_bots SET token_hash = $3, updated_at = $4
             WHERE account_id = $1 AND id = $2",
        )
        .bind(account_id)
        .bind(id)
        .bind(token_hash(token))
        .bind(self.now())
        .execute(self.writer())
        .await?;
        if r.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    /// The bot a token belongs to, with the inboxes it handles.
    pub async fn agent_bot_by_token(&self, token: &str) -> Result<Option<(AgentBotRow, Vec<i64>)>> {
        let sql = format!("SELECT {BOT_COLS} FROM agent_bots WHERE token_hash = $1");
        let Some(bot) = sqlx::query_as::<_, AgentBotRow>(sqlx::AssertSqlSafe(sql))
            .bind(token_hash(token))
            .fetch_optional(self.reader())
            .await?
        else {
            return Ok(None);
        };
        let inboxes = self.agent_bot_inbox_ids(bot.id).await?;
        Ok(Some((bot, inboxes)))
    }

    /// The inboxes a bot handles.
    pub async fn agent_bot_inbox_ids(&self, bot_id: i64) -> Result<Vec<i64>> {
        let rows: Vec<(i64,)> = sqlx::query_as(
            "SELECT inbox_id FROM agent_bot_inboxes WHERE agent_bot_id = $1 ORDER BY inbox_id",
        )
        .bind(bot_id)
        .fetch_all(self.reader())
        .await?;
        Ok(rows.into_iter().map(|(i,)| i).collect())
    }

    /// The bot handling an inbox, if any.
    pub async fn inbox_agent_bot(&self, inbox_id: i64) -> Result<Option<AgentBotRow>> {
        let cols = BOT_COLS
            .split(", ")
            .map(|c| format!("b.{}", c.trim()))
            .collect::<Vec<_>>()
            .join(", ");
        let sql = format!(
            "SELECT {cols} FROM agent_bot_inboxes x JOIN agent_bots b ON b.id = x.agent_bot_id
             WHERE x.inbox_id = $1"
        );
        Ok(sqlx::query_as::<_, AgentBotRow>(sqlx::AssertSqlSafe(sql))
            .bind(inbox_id)
            .fetch_optional(self.reader())
            .await?)
    }

    /// The account's inboxes that have a bot: `(inbox_id, bot_type)`.
    pub async fn bot_inboxes(&self, account_id: i64) -> Result<Vec<(i64, String)>> {
        Ok(sqlx::query_as(
            "SELECT x.inbox_id, b.bot_type FROM agent_bot_inboxes x
             JOIN agent_bots b ON b.id = x.agent_bot_id WHERE x.account_id = $1",
        )
        .bind(account_id)
        .fetch_all(self.reader())
        .await?)
    }

    /// Attaches `bot` to an inbox (replacing another), or detaches the inbox's bot
    /// (`None`); its receiver follows, from the log's head, in the same transaction.
    pub async fn set_inbox_agent_bot(
        &self,
        account_id: i64,
        inbox_id: i64,
        bot: Option<&AgentBotRow>,
        subscriptions: &str,
    ) -> Result<()> {
        let now = self.now();
        let mut tx = self.writer().begin().await?;
        sqlx::query("DELETE FROM webhooks WHERE inbox_id = $1 AND agent_bot_id IS NOT NULL")
            .bind(inbox_id)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM agent_bot_inboxes WHERE inbox_id = $1")
            .bind(inbox_id)
            .execute(&mut *tx)
            .await?;
        if let Some(bot) = bot {
            // The automation scan schedules the bot's jobs: it follows the account's log
            // from now on (a no-op when rules already made it do so).
            sqlx::query(
                "INSERT INTO automation_cursors (account_id, cursor)
                 VALUES ($1, COALESCE((SELECT seq FROM event_heads WHERE account_id = $1), 0))
                 ON CONFLICT (account_id) DO NOTHING",
            )
            .bind(account_id)
            .execute(&mut *tx)
            .await?;
            // Conversations already pending there are the bot's from their next message:
            // what was written before is not its to answer.
            sqlx::query(
                "INSERT INTO agent_bot_dialogs (conversation_id, state, handled_message_id,
                    updated_at)
                 SELECT c.id, '{}', COALESCE((SELECT MAX(m.id) FROM messages m
                                              WHERE m.conversation_id = c.id), 0), $2
                 FROM conversations c WHERE c.inbox_id = $1 AND c.status = 'pending'
                 ON CONFLICT (conversation_id) DO NOTHING",
            )
            .bind(inbox_id)
            .bind(now)
            .execute(&mut *tx)
            .await?;
            sqlx::query(
                "INSERT INTO agent_bot_inboxes (inbox_id, agent_bot_id, account_id, created_at)
                 VALUES ($1, $2, $3, $4)",
            )
            .bind(inbox_id)
            .bind(bot.id)
            .bind(account_id)
            .bind(now)
            .execute(&mut *tx)
            .await?;
            if let Some(url) = &bot.outgoing_url {
                sqlx::query(
                    "INSERT INTO webhooks (account_id, inbox_id, agent_bot_id, name, url,
                        subscriptions, secret, cursor, created_at, updated_at)
                     VALUES ($1, $2, $3, $4, $5, $6, '',
                        COALESCE((SELECT seq FROM event_heads WHERE account_id = $1), 0), $7, $7)",
                )
                .bind(account_id)
                .bind(inbox_id)
                .bind(bot.id)
                .bind(bot.name.clone())
                .bind(url.clone())
                .bind(subscriptions.to_string())
                .bind(now)
                .execute(&mut *tx)
                .await?;
            }
        }
        tx.commit().await?;
        Ok(())
    }

    /// Creates the receivers of a bot that got an `outgoing_url` for the inboxes it
    /// already handles (from the log's head).
    pub async fn add_agent_bot_receivers(
        &self,
        bot: &AgentBotRow,
        subscriptions: &str,
    ) -> Result<()> {
        let Some(url) = &bot.outgoing_url else {
            return Ok(());
        };
        sqlx::query(
            "INSERT INTO webhooks (account_id, inbox_id, agent_bot_id, name, url, subscriptions,
                secret, cursor, created_at, updated_at)
             SELECT x.account_id, x.inbox_id, x.agent_bot_id, $2, $3, $4, '',
                COALESCE((SELECT seq FROM event_heads WHERE account_id = x.account_id), 0), $5, $5
             FROM agent_bot_inboxes x
             WHERE x.agent_bot_id = $1
               AND NOT EXISTS (SELECT 1 FROM webhooks w
                               WHERE w.agent_bot_id = $1 AND w.inbox_id = x.inbox_id)",
        )
        .bind(bot.id)
        .bind(bot.name.clone())
        .bind(url.clone())
        .bind(subscriptions.to_string())
        .bind(self.now())
        .execute(self.writer())
        .await?;
        Ok(())
    }

    /// The bot's state in a conversation: the built-in bot's dialogue (JSON) and the last
    /// customer message it handled; `None` before its first turn there.
    pub async fn bot_dialog(&self, conversation_id: i64) -> Result<Option<BotDialogRow>> {
        Ok(sqlx::query_as::<_, BotDialogRow>(
            "SELECT state, handled_message_id FROM agent_bot_dialogs WHERE conversation_id = $1",
        )
        .bind(conversation_id)
        .fetch_optional(self.writer())
        .await?)
    }

    /// Stores the bot's state after it handled message `handled`, only if the state is
    /// still the one it read (`read`, `None` for no row yet): one statement moves the
    /// dialogue and the mark together, so a run that lost a race (another node's run of the
    /// same conversation, a restart of the dialogue) changes nothing and learns it (`false`).
    pub async fn save_bot_turn(
        &self,
        conversation_id: i64,
        read: Option<i64>,
        handled: i64,
        state: &str,
    ) -> Result<bool> {
        let r = match read {
            None => {
                sqlx::query(
                    "INSERT INTO agent_bot_dialogs (conversation_id, state, handled_message_id,
                        updated_at) VALUES ($1, $2, $3, $4)
                     ON CONFLICT (conversation_id) DO NOTHING",
                )
                .bind(conversation_id)
                .bind(state.to_string())
                .bind(handled)
                .bind(self.now())
                .execute(self.writer())
                .await?
            }
            Some(mark) => {
                sqlx::query(
                    "UPDATE agent_bot_dialogs SET state = $2, handled_message_id = $3,
                        updated_at = $4
                     WHERE conversation_id = $1 AND handled_message_id = $5",
                )
                .bind(conversation_id)
                .bind(state.to_string())
                .bind(handled)
                .bind(self.now())
                .bind(mark)
                .execute(self.writer())
                .await?
            }
        };
        Ok(r.rows_affected() == 1)
    }

    /// The customer's public messages in a conversation after message `after`, oldest
    /// first, at most `limit`: what the bot has not handled yet (`(id, content)`).
    pub async fn customer_messages_after(
        &self,
        conversation_id: i64,
        after: i64,
        limit: i64,
    ) -> Result<Vec<(i64, Option<String>)>> {
        Ok(sqlx::query_as(
            "SELECT id, content FROM messages
             WHERE conversation_id = $1 AND id > $2 AND message_type = 0 AND private = 0
             ORDER BY id LIMIT $3",
        )
        .bind(conversation_id)
        .bind(after)
        .bind(limit)
        .fetch_all(self.writer())
        .await?)
    }

    /// Starts the bot's dialogue in a conversation afresh (it came back to the bot): the
    /// messages up to now are not the bot's to answer.
    pub async fn restart_bot_dialog(&self, conversation_id: i64) -> Result<()> {
        let mut conn = self.writer().acquire().await?;
        let (mark,): (Option<i64>,) =
            sqlx::query_as("SELECT MAX(id) FROM messages WHERE conversation_id = $1")
                .bind(conversation_id)
                .fetch_one(&mut *conn)
                .await?;
        restart_bot_dialog_in(&mut conn, conversation_id, mark.unwrap_or(0), self.now()).await
    }
}

/// The bot's state in a conversation.
#[derive(Debug, Clone, FromRow)]
pub struct BotDialogRow {
    /// The built-in bot's dialogue (JSON).
    pub state: String,
    /// The last customer message the bot handled (`0`: none).
    pub handled_message_id: i64,
}

/// Starts the bot's dialogue in a conversation afresh on `conn` (inside the caller's
/// transaction): an empty state, and `handled` as the last message it is not to answer.
pub(crate) async fn restart_bot_dialog_in(
    conn: &mut sqlx::AnyConnection,
    conversation_id: i64,
    handled: i64,
    now: i64,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO agent_bot_dialogs (conversation_id, state, handled_message_id, updated_at)
         VALUES ($1, '{}', $2, $3)
         ON CONFLICT (conversation_id) DO UPDATE SET state = excluded.state,
            handled_message_id = excluded.handled_message_id, updated_at = excluded.updated_at",
    )
    .bind(conversation_id)
    .bind(handled)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(())
}
