//! Agents of an account: listing them, inviting new or existing users, changing roles and
//! availability, removing them. Only administrators change the list; an account always
//! keeps at least one administrator so nobody can lock a shop out of its own settings.
//!
//! An e-mail that already belongs to a user is only invited: that user is someone else's
//! too (another tenant's agent, say), and attaching them, or showing their name and id, to
//! whoever knows their address would let one tenant reach into another. They accept or
//! decline under `/api/v1/profile/invitations` (docs/api.md).

use parley_core::{Availability, Role, validate};
use parley_store::StoreError;
use parley_store::agents::{AgentPatch, LAST_ADMINISTRATOR, MembersOutcome};
use parley_store::invitations::NewInvitation;
use parley_store::users::NewUser;

/// The records these use cases return, and how a member list changes.
pub use parley_store::agents::MemberOp;
pub use parley_store::invitations::InvitationRow;
pub use parley_store::users::AgentRow;

use crate::access::AccessChange;
use crate::auth::new_secret;
use crate::{AccountCtx, OrNotFound, Result, ServiceError, Services};

/// Most user ids one member-list request may name.
pub const MAX_USER_IDS: usize = 500;

/// A request to add an agent.
#[derive(Debug, Clone, Default)]
pub struct NewAgent {
    pub name: String,
    pub email: String,
    pub role: String,
    pub availability_status: Option<String>,
    pub auto_offline: Option<bool>,
    /// Initial password of a new user. Without it the user gets a random one nobody
    /// knows and must reset it; ignored when the e-mail belongs to an existing user,
    /// whose password is theirs alone.
    pub password: Option<String>,
}

/// What adding an agent did.
#[derive(Debug, Clone)]
pub enum AgentAdded {
    /// A new user was created as a member of the account.
    Created(AgentRow),
    /// The e-mail belongs to an existing user, who was invited; nothing about them is
    /// returned beyond what the administrator sent.
    Invited(Invitation),
}

/// A pending invitation as the inviting administrator sees it: only what they sent.
#[derive(Debug, Clone)]
pub struct Invitation {
    pub id: i64,
    pub account_id: i64,
    pub name: String,
    pub email: String,
    pub role: Role,
    pub availability: Availability,
    pub auto_offline: bool,
}

/// Changes to an agent; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct AgentUpdate {
    pub role: Option<String>,
    pub availability_status: Option<String>,
    pub auto_offline: Option<bool>,
}

/// Parses a role name, as a field error.
pub fn parse_role(field: &str, v: &str) -> Result<Role> {
    Role::parse(v.trim()).ok_or_else(|| {
        validate::FieldError::new(field, format!("must be one of {}", Role::expected())).into()
    })
}

/// Parses an availability; Chatwoot's documentation also calls "online" "available".
pub fn parse_availability(field: &str, v: &str) -> Result<Availability> {
    match v.trim() {
        "available" => Ok(Availability::Online),
        other => Availability::parse(other).ok_or_else(|| {
            validate::FieldError::new(
                field,
                format!("must be one of {}", Availability::expected()),
            )
            .into()
        }),
    }
}

/// Checks a list of user ids from a member-list request.
pub fn check_user_ids(ids: &[i64]) -> Result<()> {
    if ids.len() > MAX_USER_IDS {
        return Err(validate::FieldError::new(
            "user_ids",
            format!("must name at most {MAX_USER_IDS} users"),
        )
        .into());
    }
    if ids.iter().any(|id| *id <= 0) {
        return Err(validate::FieldError::new("user_ids", "must be positive integers").into());
    }
    Ok(())
}

/// Runs a member-list change of an inbox or team (`what`) for an administrator: the ids
/// are checked before `change` (the store call, which does nothing until awaited) runs,
/// and its outcome becomes the members or a 422 naming the users who are not agents of
/// the account. Inboxes and teams differ only in the store call, so the rules live here.
pub(crate) async fn change_members(
    ctx: &AccountCtx,
    user_ids: &[i64],
    what: &'static str,
    change: impl Future<Output = std::result::Result<MembersOutcome, StoreError>>,
) -> Result<Vec<AgentRow>> {
    ctx.require_admin()?;
    check_user_ids(user_ids)?;
    members_or_invalid(change.await.or_not_found(what)?)
}

/// Turns the outcome of a member-list change into the members or a 422 naming the
/// users who are not agents of the account.
fn members_or_invalid(o: MembersOutcome) -> Result<Vec<AgentRow>> {
    match o {
        MembersOutcome::Updated(v) => Ok(v),
        MembersOutcome::NotAccountMembers(ids) => {
            let list = ids
                .iter()
                .map(i64::to_string)
                .collect::<Vec<_>>()
                .join(", ");
            Err(validate::FieldError::new(
                "user_ids",
                format!("not agents of this account: {list}"),
            )
            .into())
        }
    }
}

fn last_admin(e: StoreError) -> ServiceError {
    match e {
        StoreError::Conflict(c) if c == LAST_ADMINISTRATOR => {
            ServiceError::Conflict("the account must keep at least one administrator".into())
        }
        StoreError::NotFound => ServiceError::NotFound("agent"),
        other => other.into(),
    }
}

impl Services {
    /// All agents of the account; every member may see who their colleagues are.
    pub async fn list_agents(&self, ctx: &AccountCtx) -> Result<Vec<AgentRow>> {
        Ok(self.store.agents(ctx.account_id).await?)
    }

    /// Adds an agent: creates the user when the e-mail is new, otherwise invites the
    /// existing user (see the module's notes). `Conflict` when they already are an agent
    /// here.
    pub async fn create_agent(&self, ctx: &AccountCtx, req: NewAgent) -> Result<AgentAdded> {
        ctx.require_admin()?;
        let name = validate::required_text("name", &req.name, 255)?;
        let email = validate::email("email", &req.email)?;
        let role = parse_role("role", &req.role)?;
        let availability = req
            .availability_status
            .as_deref()
            .map(|a| parse_availability("availability_status", a))
            .transpose()?
            .unwrap_or(Availability::Online);
        let auto_offline = req.auto_offline.unwrap_or(true);
        if let Some(pw) = req.password.as_deref() {
            validate::password("password", pw)?;
        }
        let already =
            || ServiceError::Conflict("this user is already an agent of this account".into());
        let invite = |user_id: i64| NewInvitation {
            account_id: ctx.account_id,
            user_id,
            role,
            availability,
            auto_offline,
            invited_by: ctx.user_id,
        };
        let invited = |id: i64| {
            AgentAdded::Invited(Invitation {
                id,
                account_id: ctx.account_id,
                name: name.clone(),
                email: email.clone(),
                role,
                availability,
                auto_offline,
            })
        };
        if let Some(user) = self.store.user_by_email(&email).await? {
            let id = self
                .store
                .invite(&invite(user.id))
                .await
                .map_err(|e| match e {
                    StoreError::Conflict(_) => already(),
                    other => other.into(),
                })?;
            return Ok(invited(id));
        }
        let password = match req.password {
            Some(pw) => pw,
            None => new_secret(),
        };
        let hash = self.hash_password(&password).await?;
        let new = NewUser {
            name: &name,
            display_name: None,
            email: &email,
            password_hash: &hash,
        };
        match self
            .store
            .create_agent(ctx.account_id, &new, role, availability, auto_offline)
            .await
        {
            Ok((_, agent)) => Ok(AgentAdded::Created(agent)),
            // Someone registered the e-mail between our lookup and insert: invite them.
            Err(StoreError::Conflict(_)) => {
                let user = self
                    .store
                    .user_by_email(&email)
                    .await?
                    .ok_or_else(already)?;
                let id = self
                    .store
                    .invite(&invite(user.id))
                    .await
                    .map_err(|e| match e {
                        StoreError::Conflict(_) => already(),
                        other => other.into(),
                    })?;
                Ok(invited(id))
            }
            Err(other) => Err(other.into()),
        }
    }

    /// The signed-in user's pending invitations into other accounts.
    pub async fn my_invitations(&self, user_id: i64) -> Result<Vec<InvitationRow>> {
        Ok(self.store.invitations_of(user_id).await?)
    }

    /// Accepts one of the user's invitations: from now on they are a member of its
    /// account with the invited role.
    pub async fn accept_invitation(&self, user_id: i64, id: i64) -> Result<InvitationRow> {
        self.store
            .accept_invitation(user_id, id)
            .await
            .or_not_found("invitation")
    }

    /// Declines one of the user's invitations.
    pub async fn decline_invitation(&self, user_id: i64, id: i64) -> Result<()> {
        self.store
            .decline_invitation(user_id, id)
            .await
            .or_not_found("invitation")
    }

    /// Changes an agent's role, availability or auto-offline flag.
    pub async fn update_agent(
        &self,
        ctx: &AccountCtx,
        user_id: i64,
        up: AgentUpdate,
    ) -> Result<AgentRow> {
        ctx.require_admin()?;
        let patch = AgentPatch {
            role: up
                .role
                .as_deref()
                .map(|r| parse_role("role", r))
                .transpose()?,
            availability: up
                .availability_status
                .as_deref()
                .map(|a| parse_availability("availability_status", a))
                .transpose()?,
            auto_offline: up.auto_offline,
        };
        let role_changed = patch.role.is_some();
        let row = self
            .store
            .update_agent(ctx.account_id, user_id, &patch)
            .await
            .map_err(last_admin)?;
        if role_changed {
            // The hub closes their sockets only if the role really differs.
            self.access_changed(AccessChange::user(ctx.account_id, user_id));
        }
        Ok(row)
    }

    /// Removes an agent from the account (the user keeps their other accounts).
    pub async fn remove_agent(&self, ctx: &AccountCtx, user_id: i64) -> Result<()> {
        ctx.require_admin()?;
        self.store
            .remove_agent(ctx.account_id, user_id)
            .await
            .map_err(last_admin)?;
        self.access_changed(AccessChange::user(ctx.account_id, user_id));
        Ok(())
    }

    /// One agent of the account.
    pub async fn agent(&self, ctx: &AccountCtx, user_id: i64) -> Result<AgentRow> {
        self.store
            .agent(ctx.account_id, user_id)
            .await
            .or_not_found("agent")
    }
}
