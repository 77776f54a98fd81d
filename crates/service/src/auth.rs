//! Credentials: passwords (argon2), API access tokens and browser sessions (random,
//! stored as hashes), first-run setup and the CLI's administrator creation.

use parley_core::{Role, validate};
use parley_store::random_token;
use parley_store::users::{MembershipRow, NewUser, SignedIn, UserRow};

use crate::{AccountCtx, Result, ServiceError, Services};

/// A verified user with the accounts they belong to.
#[derive(Debug, Clone)]
pub struct Principal {
    pub user: UserRow,
    pub memberships: Vec<MembershipRow>,
}

impl From<SignedIn> for Principal {
    fn from(s: SignedIn) -> Self {
        Principal {
            user: s.user,
            memberships: s.memberships,
        }
    }
}

impl Principal {
    /// The user's context inside `account_id`, or `None` when they are not a member
    /// (callers answer 404 so other accounts' existence does not leak).
    pub fn in_account(&self, account_id: i64) -> Option<AccountCtx> {
        self.memberships
            .iter()
            .find(|m| m.account_id == account_id)
            .map(|m| AccountCtx {
                account_id,
                user_id: self.user.id,
                role: m.role(),
                user_name: self.user.name.clone(),
                bot: None,
            })
    }
}

/// What first-run setup created.
#[derive(Debug, Clone)]
pub struct SetupDone {
    pub user: UserRow,
    pub account_id: i64,
    pub access_token: String,
    pub session_token: String,
}

/// What `parley admin create` created or updated.
#[derive(Debug, Clone)]
pub struct AdminCreated {
    pub account_id: i64,
    pub user_id: i64,
    pub access_token: String,
    pub created_account: bool,
    pub created_user: bool,
}

/// A new random secret for tokens and sessions: 256 bits, hex.
pub fn new_secret() -> String {
    random_token(32)
}

/// Sign-in refusals held at once by [`Services::hold_refusal`], across the process.
static TARPITTED: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
/// The most refusals held at once: a few KiB each, far below the connection limit.
const MAX_TARPITTED: usize = 4096;

/// A hash of a random password nobody knows, verified when the e-mail is unknown so a
/// failed login takes as long whether or not the account exists.
const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$2oKcLgwYy1PuVQb8WuPXwQlwd0r1rRMBKN4ZVmQ/8zs";

impl Services {
    /// The user behind an API access token.
    pub async fn authenticate_token(&self, token: &str) -> Result<Option<Principal>> {
        if token.is_empty() || token.len() > 256 {
            return Ok(None);
        }
        Ok(self
            .store
            .user_by_access_token(token)
            .await?
            .map(Principal::from))
    }

    /// The user behind a browser session cookie.
    pub async fn authenticate_session(&self, token: &str) -> Result<Option<Principal>> {
        if token.is_empty() || token.len() > 256 {
            return Ok(None);
        }
        Ok(self
            .store
            .user_by_session(token)
            .await?
            .map(Principal::from))
    }

    async fn principal(&self, user: UserRow) -> Result<Principal> {
        let memberships = self.store.memberships(user.id).await?;
        Ok(Principal { user, memberships })
    }

    /// Hashes a new password in the bounded hashing pool ([`crate::hashing`]).
    pub async fn hash_password(&self, password: &str) -> Result<String> {
        self.hashing.hash(password).await
    }

    /// Checks a password against a stored hash in the bounded hashing pool; `Err` only
    /// when the pool is saturated.
    pub async fn verify_password(&self, hash: &str, password: &str) -> Result<bool> {
        self.hashing.verify(hash, password).await
    }

    /// Checks e-mail and password from the client at `address` and opens a session. The
    /// same error for an unknown e-mail and a wrong password. The attempt is counted by
    /// the sign-in limiter before anything is hashed (see [`crate::signin_limits`]).
    pub async fn login(
        &self,
        email: &str,
        password: &str,
        address: &str,
    ) -> Result<(Principal, String)> {
        let email = email.trim().to_lowercase();
        if email.is_empty() || password.is_empty() || password.len() > 1024 {
            return Err(ServiceError::Unauthorized);
        }
        let attempt = match self.login_limiter.reserve(address, &email) {
            Ok(a) => a,
            Err(e) => {
                self.hold_refusal(address).await;
                return Err(e);
            }
        };
        // A full hashing queue refuses before the database lookup, the one other cost of
        // an attempt (the address keeps the attempt counted, see `not_evaluated`).
        if let Err(e) = self.hashing.check_room() {
            self.login_limiter.not_evaluated(attempt);
            return Err(e);
        }
        let user = self.store.user_by_email(&email).await?;
        let hash = user
            .as_ref()
            .map(|u| u.password_hash.as_str())
            .unwrap_or(DUMMY_HASH);
        let ok = match self.verify_password(hash, password).await {
            Ok(ok) => ok,
            Err(e) => {
                self.login_limiter.not_evaluated(attempt);
                return Err(e);
            }
        };
        let Some(user) = user.filter(|_| ok) else {
            metrics::counter!("parley_signin_failures_total").increment(1);
            return Err(ServiceError::Unauthorized);
        };
        self.login_limiter.succeeded(attempt);
        let token = new_secret();
        self.store
            .create_session(
                user.id,
                &token,
                self.store.now() + self.config.session_ttl_ms,
            )
            .await?;
        Ok((self.principal(user).await?, token))
    }

    /// Holds the refusal of a flooding address for [`signin_limits::TARPIT`], for at most
    /// [`MAX_TARPITTED`] requests at once (beyond that the refusal is immediate, so the
    /// holding itself stays bounded).
    async fn hold_refusal(&self, address: &str) {
        use std::sync::atomic::Ordering;
        let Some(hold) = self.login_limiter.tarpit(address) else {
            return;
        };
        /// Gives the place back however the wait ends (a cancelled request included).
        struct Held;
        impl Drop for Held {
            fn drop(&mut self) {
                TARPITTED.fetch_sub(1, Ordering::SeqCst);
            }
        }
        let before = TARPITTED.fetch_add(1, Ordering::SeqCst);
        let _held = Held;
        if before < MAX_TARPITTED {
            tokio::time::sleep(hold).await;
        }
    }

    /// Ends a browser session.
    /// Its sockets close (crate::access).
    pub async fn logout(&self, session_token: &str) -> Result<()> {
        let user = self.authenticate_session(session_token).await?;
        self.store.delete_session(session_token).await?;
        if let Some(p) = user {
            self.access_changed(crate::access::AccessChange::user(
                crate::access::EVERY_ACCOUNT,
                p.user.id,
            ));
        }
        Ok(())
    }

    /// True while the installation has no user: the console shows its setup page.
    pub async fn setup_needed(&self) -> Result<bool> {
        Ok(self.store.count_users().await? == 0)
    }

    /// Creates the first administrator and account. Refused once any user exists.
    pub async fn setup(
        &self,
        name: &str,
        email: &str,
        password: &str,
        account_name: &str,
        locale: &str,
    ) -> Result<SetupDone> {
        let name = validate::required_text("name", name, 255)?;
        let email = validate::email("email", email)?;
        validate::password("password", password)?;
        let account_name = validate::required_text("account_name", account_name, 255)?;
        let locale = if locale == "ru" { "ru" } else { "en" };
        if !self.setup_needed().await? {
            return Err(ServiceError::Conflict(
                "setup is already done; sign in instead".into(),
            ));
        }
        let hash = self.hash_password(password).await?;
        let new = NewUser {
            name: &name,
            display_name: None,
            email: &email,
            password_hash: &hash,
        };
        let Some((user, account_id)) = self
            .store
            .create_first_admin(&new, &account_name, locale)
            .await?
        else {
            return Err(ServiceError::Conflict(
                "setup is already done; sign in instead".into(),
            ));
        };
        let access_token = new_secret();
        self.store.add_access_token(user.id, &access_token).await?;
        let session_token = new_secret();
        self.store
            .create_session(
                user.id,
                &session_token,
                self.store.now() + self.config.session_ttl_ms,
            )
            .await?;
        Ok(SetupDone {
            user,
            account_id,
            access_token,
            session_token,
        })
    }

    /// `parley admin create`: makes sure the account (by name, created if missing) and the
    /// user (by e-mail, created if missing, password set either way) exist, makes the user
    /// an administrator of the account and issues a fresh API access token.
    pub async fn admin_create(
        &self,
        email: &str,
        password: &str,
        name: Option<&str>,
        account_name: &str,
    ) -> Result<AdminCreated> {
        let email = validate::email("email", email)?;
        validate::password("password", password)?;
        let account_name = validate::required_text("account", account_name, 255)?;
        let default_name = email
            .split('@')
            .next()
            .unwrap_or("Administrator")
            .to_string();
        let name = validate::required_text("name", name.unwrap_or(&default_name), 255)?;
        let hash = self.hash_password(password).await?;

        let (account_id, created_account) = match self.store.account_by_name(&account_name).await? {
            Some(a) => (a.id, false),
            None => (
                self.store.create_account(&account_name, "en").await?.id,
                true,
            ),
        };
        let (user_id, created_user) = match self.store.user_by_email(&email).await? {
            Some(u) => {
                self.store
                    .update_user(u.id, None, None, None, Some(&hash))
                    .await?;
                (u.id, false)
            }
            None => {
                let new = NewUser {
                    name: &name,
                    display_name: None,
                    email: &email,
                    password_hash: &hash,
                };
                (self.store.create_user(&new).await?.id, true)
            }
        };
        self.store
            .upsert_membership(account_id, user_id, Role::Administrator)
            .await?;
        let access_token = new_secret();
        self.store.add_access_token(user_id, &access_token).await?;
        Ok(AdminCreated {
            account_id,
            user_id,
            access_token,
            created_account,
            created_user,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn dummy_hash_parses_and_matches_nothing() {
        let h = crate::hashing::PasswordHashing::new(1, std::time::Duration::from_secs(30));
        assert!(!h.verify(DUMMY_HASH, "anything").await.unwrap());
        assert!(argon2::password_hash::PasswordHash::new(DUMMY_HASH).is_ok());
    }
}
