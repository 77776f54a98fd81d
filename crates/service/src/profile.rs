//! The signed-in user's own profile: name, e-mail, password, API token.

use parley_core::validate;
use parley_store::users::UserRow;

use crate::access::{AccessChange, EVERY_ACCOUNT};
use crate::auth::new_secret;
use crate::{Result, ServiceError, Services};

/// Changes to one's own profile; `None` leaves a field as it is.
#[derive(Debug, Default, Clone)]
pub struct ProfileUpdate {
    pub name: Option<String>,
    pub display_name: Option<String>,
    pub email: Option<String>,
    pub password: Option<String>,
    pub password_confirmation: Option<String>,
    pub current_password: Option<String>,
}

impl Services {
    /// Updates the profile. A new e-mail or password requires the current password; a new
    /// password ends the user's other sessions.
    pub async fn update_profile(
        &self,
        user: &UserRow,
        up: ProfileUpdate,
        keep_session: Option<&str>,
    ) -> Result<UserRow> {
        let name = up
            .name
            .as_deref()
            .map(|n| validate::required_text("name", n, 255))
            .transpose()?;
        let display_name =
            validate::optional_text("display_name", up.display_name.as_deref(), 255)?;
        let email = up
            .email
            .as_deref()
            .map(|e| validate::email("email", e))
            .transpose()?;
        let email = email.filter(|e| *e != user.email);
        if let Some(pw) = up.password.as_deref() {
            validate::password("password", pw)?;
            if up.password_confirmation.as_deref().is_some_and(|c| c != pw) {
                return Err(validate::FieldError::new(
                    "password_confirmation",
                    "does not match password",
                )
                .into());
            }
        }
        if email.is_some() || up.password.is_some() {
            let current = up.current_password.as_deref().unwrap_or("");
            if !self.verify_password(&user.password_hash, current).await? {
                return Err(validate::FieldError::new("current_password", "is incorrect").into());
            }
        }
        let hash = match up.password.as_deref() {
            Some(pw) => Some(self.hash_password(pw).await?),
            None => None,
        };
        let updated = self
            .store
            .update_user(
                user.id,
                name.as_deref(),
                display_name.as_deref(),
                email.as_deref(),
                hash.as_deref(),
            )
            .await
            .map_err(|e| match e {
                parley_store::StoreError::Conflict(_) => {
                    ServiceError::Conflict("this e-mail is already in use".into())
                }
                other => other.into(),
            })?;
        if hash.is_some() {
            self.store
                .delete_user_sessions(user.id, keep_session)
                .await?;
            self.access_changed(AccessChange::user(EVERY_ACCOUNT, user.id));
        }
        Ok(updated)
    }

    /// Replaces the user's API access tokens with a new one, returned once.
    pub async fn reset_access_token(&self, user_id: i64) -> Result<String> {
        let token = new_secret();
        self.store.replace_access_tokens(user_id, &token).await?;
        self.access_changed(AccessChange::user(EVERY_ACCOUNT, user_id));
        Ok(token)
    }
}
