use parley_core::Role;

use crate::{Result, ServiceError};

tokio::task_local! {
    /// Set while an automation rule's actions run (`automation_rule:<id>`): the events the
    /// task stores carry it as their origin, so they never trigger rules again.
    pub(crate) static EVENT_ORIGIN: String;
}

tokio::task_local! {
    /// Set (to the rule's name) while an automation rule's actions run: the activity lines
    /// those actions write name the rule as what did it, in a form consoles say in the
    /// operator's language, instead of a person's name.
    pub(crate) static ACTING_RULE: String;
}

/// The rule whose actions the current task runs, if any.
pub(crate) fn acting_rule() -> Option<String> {
    ACTING_RULE.try_with(Clone::clone).ok()
}

/// The origin of the events the current task stores, when a rule's actions cause them.
pub(crate) fn event_origin() -> Option<String> {
    EVENT_ORIGIN.try_with(Clone::clone).ok()
}

/// Who is acting inside which account. Built only from a verified credential and a real
/// membership, so holding one proves the user belongs to `account_id`.
#[derive(Debug, Clone)]
pub struct AccountCtx {
    pub account_id: i64,
    pub user_id: i64,
    pub role: Role,
    pub user_name: String,
    /// Set when an agent bot acts with its own token: it reaches only the conversations of
    /// the inboxes it handles, and what it sends is the bot's (docs/bots.md).
    pub bot: Option<BotActor>,
}

/// An agent bot acting through the Application API.
#[derive(Debug, Clone)]
pub struct BotActor {
    pub bot_id: i64,
    /// The inboxes the bot handles when its token was checked.
    pub inbox_ids: Vec<i64>,
}

impl AccountCtx {
    /// Only administrators change the account's configuration.
    pub fn require_admin(&self) -> Result<()> {
        if self.role == Role::Administrator && self.bot.is_none() {
            Ok(())
        } else {
            Err(ServiceError::Forbidden(
                "only administrators may do this".into(),
            ))
        }
    }

    /// An administrator's read of one setting of the account (a rule, a campaign, a bot):
    /// refused to anyone else before `fetch` runs (a future does nothing until awaited),
    /// `NotFound(what)` when the account has no such row.
    pub(crate) async fn admin_one<T>(
        &self,
        what: &'static str,
        fetch: impl std::future::Future<Output = parley_store::Result<Option<T>>>,
    ) -> Result<T> {
        self.require_admin()?;
        crate::OrNotFound::or_not_found(fetch.await, what)
    }

    /// Administrators and supervisors see every inbox; agents only those they are members of.
    pub fn sees_all_inboxes(&self) -> bool {
        self.bot.is_none() && self.role.sees_all_inboxes()
    }
}
