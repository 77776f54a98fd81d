//! Teams (departments) and their members. Administrators manage them; every member of
//! the account may list them, since agents transfer conversations to teams.

use parley_core::validate;
use parley_store::StoreError;
use parley_store::agents::MemberOp;
use parley_store::teams::TeamPatch;

/// The record these use cases return.
pub use parley_store::teams::TeamRow;
use parley_store::users::AgentRow;

use crate::agents::change_members;
use crate::error::taken_or_not_found;
use crate::{AccountCtx, OrNotFound, Result, ServiceError, Services};

/// Longest team description.
pub const MAX_DESCRIPTION_CHARS: usize = 1_000;

/// Team fields of a create or update request; `None` means "not given".
#[derive(Debug, Clone, Default)]
pub struct TeamInput {
    pub name: Option<String>,
    pub description: Option<String>,
    pub allow_auto_assign: Option<bool>,
}

fn name_taken(e: StoreError) -> ServiceError {
    taken_or_not_found(e, "team", "a team with this name already exists")
}

impl Services {
    /// The account's teams.
    pub async fn list_teams(&self, ctx: &AccountCtx) -> Result<Vec<TeamRow>> {
        Ok(self.store.teams(ctx.account_id).await?)
    }

    /// Ids of the teams the caller belongs to (Chatwoot's `is_member`).
    pub async fn my_team_ids(&self, ctx: &AccountCtx) -> Result<Vec<i64>> {
        Ok(self
            .store
            .team_ids_for_user(ctx.account_id, ctx.user_id)
            .await?)
    }

    /// One team of the account.
    pub async fn team(&self, ctx: &AccountCtx, id: i64) -> Result<TeamRow> {
        self.store
            .team(ctx.account_id, id)
            .await
            .or_not_found("team")
    }

    /// Creates a team; `Conflict` if the name is taken.
    pub async fn create_team(&self, ctx: &AccountCtx, input: TeamInput) -> Result<TeamRow> {
        ctx.require_admin()?;
        let name = validate::required_text("name", input.name.as_deref().unwrap_or(""), 255)?;
        let description = validate::optional_text(
            "description",
            input.description.as_deref(),
            MAX_DESCRIPTION_CHARS,
        )?;
        self.store
            .create_team(
                ctx.account_id,
                &name,
                description.as_deref(),
                input.allow_auto_assign.unwrap_or(true),
            )
            .await
            .map_err(name_taken)
    }

    /// Updates a team; an empty description clears it.
    pub async fn update_team(
        &self,
        ctx: &AccountCtx,
        id: i64,
        input: TeamInput,
    ) -> Result<TeamRow> {
        ctx.require_admin()?;
        let patch = TeamPatch {
            name: input
                .name
                .as_deref()
                .map(|n| validate::required_text("name", n, 255))
                .transpose()?,
            description: input
                .description
                .as_deref()
                .map(|d| validate::optional_text("description", Some(d), MAX_DESCRIPTION_CHARS))
                .transpose()?,
            allow_auto_assign: input.allow_auto_assign,
        };
        self.store
            .update_team(ctx.account_id, id, &patch)
            .await
            .map_err(name_taken)
    }

    /// Deletes a team; its conversations stay, without a team.
    pub async fn delete_team(&self, ctx: &AccountCtx, id: i64) -> Result<()> {
        ctx.require_admin()?;
        self.store
            .delete_team(ctx.account_id, id)
            .await
            .or_not_found("team")
    }

    /// Agents of a team.
    pub async fn team_members(&self, ctx: &AccountCtx, team_id: i64) -> Result<Vec<AgentRow>> {
        self.store
            .team_members(ctx.account_id, team_id)
            .await
            .or_not_found("team")
    }

    /// Adds, replaces or removes agents of a team; users who are not agents of the
    /// account are refused with a 422 and nothing changes.
    pub async fn change_team_members(
        &self,
        ctx: &AccountCtx,
        team_id: i64,
        op: MemberOp,
        user_ids: &[i64],
    ) -> Result<Vec<AgentRow>> {
        let change = (self.store).change_team_members(ctx.account_id, team_id, op, user_ids);
        change_members(ctx, user_ids, "team", change).await
    }
}
