use parley_core::Role;

use crate::{Result, ServiceError};

/// Who is acting inside which account. Built only from a verified credential and a real
/// membership, so holding one proves the user belongs to `account_id`.
#[derive(Debug, Clone)]
pub struct AccountCtx {
    pub account_id: i64,
    pub user_id: i64,
    pub role: Role,
    pub user_name: String,
}

impl AccountCtx {
    /// Only administrators change the account's configuration.
    pub fn require_admin(&self) -> Result<()> {
        if self.role == Role::Administrator {
            Ok(())
        } else {
            Err(ServiceError::Forbidden(
                "only administrators may do this".into(),
            ))
        }
    }

    /// Administrators and supervisors see every inbox; agents only those they are members of.
    pub fn sees_all_inboxes(&self) -> bool {
        self.role.sees_all_inboxes()
    }
}
