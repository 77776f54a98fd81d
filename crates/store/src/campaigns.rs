//! Proactive invitations (campaigns), who saw them when, and their counters.
//!
//! Why counters this way: `shown` is a column bumped in the transaction that records the
//! showing (so it can neither be lost nor counted twice for one showing); `accepted` and
//! `converted` are counted from the conversations that carry the campaign and their
//! `conversion` report fact, so they agree with the reports by construction.

use sqlx::FromRow;

use crate::{Result, Store, StoreError};

/// A stored campaign with its counters; `trigger_rules` is a JSON object.
#[derive(Debug, Clone, FromRow, PartialEq)]
pub struct CampaignRow {
    pub id: i64,
    pub account_id: i64,
    pub inbox_id: i64,
    pub sender_id: Option<i64>,
    pub title: String,
    pub description: Option<String>,
    pub message: String,
    pub enabled: i64,
    pub trigger_only_during_business_hours: i64,
    pub only_when_agents_available: i64,
    pub show_again_after_days: i64,
    pub trigger_rules: String,
    pub shown_count: i64,
    /// Conversations started by answering the invitation.
    pub accepted_count: i64,
    /// Of those, the ones that converted (a `conversion` report fact).
    pub converted_count: i64,
    pub created_at: i64,
    pub updated_at: i64,
}

const COLS: &str = "id, account_id, inbox_id, sender_id, title, description, message, enabled,
        trigger_only_during_business_hours, only_when_agents_available, show_again_after_days,
        trigger_rules, shown_count,
        (SELECT COUNT(*) FROM conversations c WHERE c.campaign_id = campaigns.id) AS accepted_count,
        (SELECT COUNT(*) FROM conversations c WHERE c.campaign_id = campaigns.id AND EXISTS
            (SELECT 1 FROM report_facts f WHERE f.conversation_id = c.id AND f.name = 'conversion'))
            AS converted_count,
        created_at, updated_at";

/// A campaign's fields as written.
#[derive(Debug, Clone)]
pub struct CampaignFields {
    pub inbox_id: i64,
    pub sender_id: Option<i64>,
    pub title: String,
    pub description: Option<String>,
    pub message: String,
    pub enabled: bool,
    pub trigger_only_during_business_hours: bool,
    pub only_when_agents_available: bool,
    pub show_again_after_days: i64,
    pub trigger_rules: String,
}

impl Store {
    /// The account's campaigns, oldest first.
    pub async fn campaigns(&self, account_id: i64) -> Result<Vec<CampaignRow>> {
        let sql = format!("SELECT {COLS} FROM campaigns WHERE account_id = $1 ORDER BY id");
        Ok(sqlx::query_as::<_, CampaignRow>(sqlx::AssertSqlSafe(sql))
            .bind(account_id)
            .fetch_all(self.reader())
            .await?)
    }

    /// The enabled campaigns of an inbox, oldest first (what its widget may show; read on
    /// every widget's config refresh, so without the counters, which read as 0).
    pub async fn inbox_campaigns(&self, inbox_id: i64) -> Result<Vec<CampaignRow>> {
        Ok(sqlx::query_as::<_, CampaignRow>(
            "SELECT id, account_id, inbox_id, sender_id, title, description, message, enabled,
                trigger_only_during_business_hours, only_when_agents_available,
                show_again_after_days, trigger_rules, shown_count, 0 AS accepted_count,
                0 AS converted_count, created_at, updated_at
             FROM campaigns WHERE inbox_id = $1 AND enabled = 1 ORDER BY id",
        )
        .bind(inbox_id)
        .fetch_all(self.reader())
        .await?)
    }

    /// One campaign of the account.
    pub async fn campaign(&self, account_id: i64, id: i64) -> Result<Option<CampaignRow>> {
        crate::fetch_in_account(self.writer(), "campaigns", COLS, account_id, id).await
    }

    /// Stores a new campaign, unless the account already has `max` (then `None`).
    pub async fn create_campaign(
        &self,
        account_id: i64,
        f: &CampaignFields,
        max: i64,
    ) -> Result<Option<CampaignRow>> {
        let now = self.now();
        let mut tx = self.writer().begin().await?;
        let (count,): (i64,) =
            sqlx::query_as("SELECT COUNT(*) FROM campaigns WHERE account_id = $1")
                .bind(account_id)
                .fetch_one(&mut *tx)
                .await?;
        if count >= max {
            return Ok(None);
        }
        let (id,): (i64,) = sqlx::query_as(
            "INSERT INTO campaigns (account_id, inbox_id, sender_id, title, description, message,
                enabled, trigger_only_during_business_hours, only_when_agents_available,
                show_again_after_days, trigger_rules, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12) RETURNING id",
        )
        .bind(account_id)
        .bind(f.inbox_id)
        .bind(f.sender_id)
        .bind(f.title.clone())
        .bind(f.description.clone())
        .bind(f.message.clone())
        .bind(i64::from(f.enabled))
        .bind(i64::from(f.trigger_only_during_business_hours))
        .bind(i64::from(f.only_when_agents_available))
        .bind(f.show_again_after_days)
        .bind(f.trigger_rules.clone())
        .bind(now)
        .fetch_one(&mut *tx)
        .await?;
        tx.commit().await?;
        self.campaign(account_id, id).await
    }

    /// Replaces a campaign's fields.
    pub async fn update_campaign(
        &self,
        account_id: i64,
        id: i64,
        f: &CampaignFields,
    ) -> Result<CampaignRow> {
        let r = sqlx::query(
            "UPDATE campaigns SET inbox_id = $3, sender_id = $4, title = $5, description = $6,
                message = $7, enabled = $8, trigger_only_during_business_hours = $9,
                only_when_agents_available = $10, show_again_after_days = $11,
                trigger_rules = $12, updated_at = $13
             WHERE account_id = $1 AND id = $2",
        )
        .bind(account_id)
        .bind(id)
        .bind(f.inbox_id)
        .bind(f.sender_id)
        .bind(f.title.clone())
        .bind(f.description.clone())
        .bind(f.message.clone())
        .bind(i64::from(f.enabled))
        .bind(i64::from(f.trigger_only_during_business_hours))
        .bind(i64::from(f.only_when_agents_available))
        .bind(f.show_again_after_days)
        .bind(f.trigger_rules.clone())
        .bind(self.now())
        .execute(self.writer())
        .await?;
        if r.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        self.campaign(account_id, id)
            .await?
            .ok_or(StoreError::NotFound)
    }

    /// Deletes a campaign (its conversations keep existing, without it).
    pub async fn delete_campaign(&self, account_id: i64, id: i64) -> Result<()> {
        crate::delete_in_account(self.writer(), "campaigns", account_id, id).await?;
        Ok(())
    }

    /// Records that the visitor is shown the invitation now, unless they were shown it
    /// at or after `not_before` (then `false`, nothing changes). The check and the record
    /// are one statement, so two tabs asking at once show it once.
    pub async fn record_campaign_shown(
        &self,
        campaign_id: i64,
        contact_inbox_id: i64,
        not_before: i64,
    ) -> Result<bool> {
        let now = self.now();
        let mut tx = self.writer().begin().await?;
        let won: Option<(i64,)> = sqlx::query_as(
            "INSERT INTO campaign_views (campaign_id, contact_inbox_id, shown_at) VALUES ($1, $2, $3)
             ON CONFLICT (campaign_id, contact_inbox_id) DO UPDATE SET shown_at = excluded.shown_at
             WHERE campaign_views.shown_at < $4
             RETURNING campaign_id",
        )
        .bind(campaign_id)
        .bind(contact_inbox_id)
        .bind(now)
        .bind(not_before)
        .fetch_optional(&mut *tx)
        .await?;
        if won.is_none() {
            return Ok(false);
        }
        sqlx::query("UPDATE campaigns SET shown_count = shown_count + 1 WHERE id = $1")
            .bind(campaign_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(true)
    }

    /// When the visitor was last shown the invitation, if ever.
    pub async fn campaign_shown_at(
        &self,
        campaign_id: i64,
        contact_inbox_id: i64,
    ) -> Result<Option<i64>> {
        let r: Option<(i64,)> = sqlx::query_as(
            "SELECT shown_at FROM campaign_views WHERE campaign_id = $1 AND contact_inbox_id = $2",
        )
        .bind(campaign_id)
        .bind(contact_inbox_id)
        .fetch_optional(self.writer())
        .await?;
        Ok(r.map(|r| r.0))
    }

    /// Records the campaign a conversation answered.
    pub async fn set_conversation_campaign(
        &self,
        conversation_id: i64,
        campaign_id: i64,
    ) -> Result<()> {
        sqlx::query("UPDATE conversations SET campaign_id = $2 WHERE id = $1")
            .bind(conversation_id)
            .bind(campaign_id)
            .execute(self.writer())
            .await?;
        Ok(())
    }
}
