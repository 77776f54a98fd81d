//! The first-run guide's stored state and the facts its steps are derived from.

use sqlx::FromRow;

use crate::{Result, Store};

/// What the guide's steps are derived from: counted, not remembered, so a step done
/// elsewhere (the API, the CLI) shows as done too.
#[derive(Debug, Clone, Copy, Default, FromRow)]
pub struct OnboardingFacts {
    /// Website (web widget) inboxes.
    pub website_inboxes: i64,
    /// Conversations that arrived through a website inbox.
    pub website_conversations: i64,
    /// Members of the account (the owner is one).
    pub agents: i64,
    /// Inboxes with working hours switched on.
    pub inboxes_with_hours: i64,
}

impl Store {
    /// The account's stored guide state (a JSON object, `{}` when nothing was recorded).
    pub async fn account_onboarding(&self, account_id: i64) -> Result<String> {
        let (s,): (String,) = sqlx::query_as("SELECT onboarding FROM accounts WHERE id = $1")
            .bind(account_id)
            .fetch_one(self.reader())
            .await?;
        Ok(s)
    }

    /// Replaces the account's guide state.
    pub async fn set_account_onboarding(&self, account_id: i64, json: &str) -> Result<()> {
        sqlx::query("UPDATE accounts SET onboarding = $2, updated_at = $3 WHERE id = $1")
            .bind(account_id)
            .bind(json)
            .bind(self.now())
            .execute(self.writer())
            .await?;
        Ok(())
    }

    /// Counts what the guide's steps look at, in one statement.
    pub async fn onboarding_facts(&self, account_id: i64) -> Result<OnboardingFacts> {
        Ok(sqlx::query_as::<_, OnboardingFacts>(
            "SELECT
               (SELECT COUNT(*) FROM inboxes WHERE account_id = $1 AND channel_type = $2) AS website_inboxes,
               (SELECT COUNT(*) FROM conversations c JOIN inboxes i ON i.id = c.inbox_id
                  WHERE c.account_id = $1 AND i.channel_type = $2) AS website_conversations,
               (SELECT COUNT(*) FROM account_users WHERE account_id = $1) AS agents,
               (SELECT COUNT(*) FROM inboxes WHERE account_id = $1 AND working_hours_enabled <> 0) AS inboxes_with_hours",
        )
        .bind(account_id)
        .bind(parley_core::ChannelType::WebWidget.as_str())
        .fetch_one(self.reader())
        .await?)
    }
}
