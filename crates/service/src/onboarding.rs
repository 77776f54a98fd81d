//! The console's first-run guide: three steps a new shop needs (connect the website, invite
//! an operator, set working hours). Each step is derived from the account's real state so
//! that work done through the API or the CLI counts; only what cannot be derived (the owner
//! copied the snippet or opened the demo page, or dismissed the guide) is stored, per
//! account, so the guide looks the same in every browser.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::{AccountCtx, Result, Services};

/// What the owner did that the database cannot show, as stored.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct OnboardingFlags {
    /// The guide was closed; it stays closed until reopened.
    #[serde(default)]
    pub dismissed: bool,
    /// The embed snippet was copied from the guide.
    #[serde(default)]
    pub snippet_copied: bool,
    /// The demo page was opened from the guide.
    #[serde(default)]
    pub demo_opened: bool,
}

/// Which steps are done.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, ToSchema)]
pub struct OnboardingSteps {
    /// A website inbox exists and either a visitor wrote through it or the owner copied its
    /// snippet or tried it on the demo page.
    pub website: bool,
    /// Someone besides the owner belongs to the account.
    pub operator: bool,
    /// An inbox has working hours switched on.
    pub hours: bool,
}

/// The guide's state as the console reads it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
pub struct OnboardingView {
    #[serde(flatten)]
    pub flags: OnboardingFlags,
    pub steps: OnboardingSteps,
    /// All three steps are done (the guide then gets out of the way by itself).
    pub completed: bool,
}

/// A change to the stored flags; absent fields stay as they are. Unknown fields are
/// rejected so that a typo does not pass silently.
#[derive(Debug, Clone, Copy, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OnboardingPatch {
    pub dismissed: Option<bool>,
    pub snippet_copied: Option<bool>,
    pub demo_opened: Option<bool>,
}

impl Services {
    /// The account's guide state (any member may read it).
    #[tracing::instrument(skip(self, ctx), fields(account_id = ctx.account_id))]
    pub async fn onboarding(&self, ctx: &AccountCtx) -> Result<OnboardingView> {
        let flags = self.onboarding_flags(ctx.account_id).await?;
        self.onboarding_view(ctx.account_id, flags).await
    }

    /// Records what the owner did or dismissed (administrators).
    #[tracing::instrument(skip(self, ctx, patch), fields(account_id = ctx.account_id))]
    pub async fn update_onboarding(
        &self,
        ctx: &AccountCtx,
        patch: OnboardingPatch,
    ) -> Result<OnboardingView> {
        ctx.require_admin()?;
        let mut flags = self.onboarding_flags(ctx.account_id).await?;
        if let Some(v) = patch.dismissed {
            flags.dismissed = v;
        }
        if let Some(v) = patch.snippet_copied {
            flags.snippet_copied = v;
        }
        if let Some(v) = patch.demo_opened {
            flags.demo_opened = v;
        }
        let json = serde_json::to_string(&flags)
            .map_err(|e| crate::ServiceError::Internal(e.to_string()))?;
        self.store
            .set_account_onboarding(ctx.account_id, &json)
            .await?;
        self.onboarding_view(ctx.account_id, flags).await
    }

    /// The stored flags; a malformed stored value reads as nothing done.
    async fn onboarding_flags(&self, account_id: i64) -> Result<OnboardingFlags> {
        let raw = self.store.account_onboarding(account_id).await?;
        Ok(serde_json::from_str(&raw).unwrap_or_default())
    }

    async fn onboarding_view(
        &self,
        account_id: i64,
        flags: OnboardingFlags,
    ) -> Result<OnboardingView> {
        let f = self.store.onboarding_facts(account_id).await?;
        let steps = OnboardingSteps {
            website: f.website_inboxes > 0
                && (f.website_conversations > 0 || flags.snippet_copied || flags.demo_opened),
            operator: f.agents > 1,
            hours: f.inboxes_with_hours > 0,
        };
        Ok(OnboardingView {
            flags,
            steps,
            completed: steps.website && steps.operator && steps.hours,
        })
    }
}
