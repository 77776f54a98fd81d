//! Every API route, one module per resource. Each module's `routes()` registers its
//! handlers with their OpenAPI descriptions.

use utoipa_axum::router::OpenApiRouter;

use crate::AppState;

pub mod account_webhooks;
pub mod agent_bots;
pub mod agents;
pub mod automation;
pub mod campaigns;
pub mod canned;
pub mod contact_merge;
pub mod contacts;
pub mod conversations;
pub mod exports;
pub mod inboxes;
pub mod invitations;
pub mod labels;
pub mod messages;
pub mod notes;
pub mod notifications;
pub mod onboarding;
pub mod profile;
pub mod public;
pub mod public_contacts;
pub mod public_conversations;
pub mod reports;
pub mod routing;
pub mod schema_enums;
pub mod search;
pub mod session;
pub mod teams;
pub mod transfer;
pub mod webhooks;
pub mod widget_public;

/// All API routes.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .merge(session::routes())
        .merge(profile::routes())
        .merge(invitations::routes())
        .merge(agents::routes())
        .merge(inboxes::routes())
        .merge(teams::routes())
        .merge(labels::routes())
        .merge(canned::routes())
        .merge(contacts::routes())
        .merge(contact_merge::routes())
        .merge(conversations::routes())
        .merge(messages::routes())
        .merge(notes::routes())
        .merge(notifications::routes())
        .merge(public::routes())
        .merge(public_contacts::routes())
        .merge(public_conversations::routes())
        .merge(widget_public::routes())
        .merge(routing::routes())
        .merge(onboarding::routes())
        .merge(transfer::routes())
        .merge(webhooks::routes())
        .merge(account_webhooks::routes())
        .merge(search::routes())
        .merge(reports::routes())
        .merge(exports::routes())
        .merge(automation::routes())
        .merge(campaigns::routes())
        .merge(agent_bots::routes())
}

/// Stored milliseconds to Chatwoot's epoch seconds, and stored JSON text to an object:
/// the service's own renderers, so the HTTP-only views read stored columns the same way.
pub use parley_service::views::{json_obj, secs};
