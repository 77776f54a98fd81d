//! The signed-in user as they see themselves (profile, sign-in answers).

use serde::Serialize;
use utoipa::ToSchema;

use super::json_obj;
use crate::Principal;

/// One of the user's accounts.
#[derive(Serialize, ToSchema)]
pub struct ProfileAccount {
    pub id: i64,
    pub name: String,
    pub role: String,
    pub availability: String,
    pub availability_status: String,
    pub auto_offline: bool,
}

/// The signed-in user, with Chatwoot's field names.
#[derive(Serialize, ToSchema)]
pub struct ProfileView {
    pub id: i64,
    /// Chatwoot's sign-in identity (`uid`), which is the e-mail address.
    pub uid: String,
    pub name: String,
    pub display_name: Option<String>,
    pub available_name: String,
    pub email: String,
    pub avatar_url: String,
    pub thumbnail: String,
    pub confirmed: bool,
    /// Role in the first account (Chatwoot's single-account clients read this).
    pub role: Option<String>,
    pub account_id: Option<i64>,
    pub accounts: Vec<ProfileAccount>,
    pub ui_settings: serde_json::Value,
    /// Present only right after the token was (re)issued; tokens are stored hashed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub access_token: Option<String>,
}

/// Builds the profile view of a principal.
pub fn profile_view(p: &Principal, access_token: Option<String>) -> ProfileView {
    let u = &p.user;
    let first = p.memberships.first();
    ProfileView {
        id: u.id,
        uid: u.email.clone(),
        name: u.name.clone(),
        display_name: u.display_name.clone(),
        available_name: u.display_name.clone().unwrap_or_else(|| u.name.clone()),
        email: u.email.clone(),
        avatar_url: u.avatar_url.clone().unwrap_or_default(),
        thumbnail: u.avatar_url.clone().unwrap_or_default(),
        confirmed: true,
        role: first.map(|m| m.role.clone()),
        account_id: first.map(|m| m.account_id),
        accounts: p
            .memberships
            .iter()
            .map(|m| ProfileAccount {
                id: m.account_id,
                name: m.account_name.clone(),
                role: m.role.clone(),
                availability: m.availability.clone(),
                availability_status: m.availability.clone(),
                auto_offline: m.auto_offline != 0,
            })
            .collect(),
        ui_settings: json_obj(&u.ui_settings),
        access_token,
    }
}
