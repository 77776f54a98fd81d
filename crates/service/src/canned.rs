//! Canned responses: saved replies. Administrators manage them; every agent may list and
//! search them from the composer, and have one rendered for a conversation with the
//! server's values of its variables (`{{contact.name}}`, `{{agent.name}}`…), so the
//! console needs no copy of the template language.

use parley_core::{template, validate};
use parley_store::StoreError;
/// The record these use cases return.
pub use parley_store::canned::CannedRow;
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

use crate::error::taken_or_not_found;
use crate::{AccountCtx, OrNotFound, Result, ServiceError, Services};

/// Longest short code.
pub const MAX_SHORT_CODE_CHARS: usize = 100;
/// Longest reply text.
pub const MAX_CONTENT_CHARS: usize = 10_000;
/// Variables a canned response may use, as the API documents them. The names are
/// Chatwoot's (its composer's and its message templates'); `*.custom_attributes.KEY` and
/// `contact.phone` are accepted as aliases. `agent` is the agent who inserts the reply.
pub const VARIABLES: &[&str] = &[
    "contact.id",
    "contact.name",
    "contact.first_name",
    "contact.last_name",
    "contact.email",
    "contact.phone_number",
    "contact.custom_attribute.KEY",
    "agent.name",
    "agent.first_name",
    "agent.last_name",
    "agent.email",
    "conversation.id",
    "conversation.display_id",
    "conversation.custom_attribute.KEY",
    "inbox.name",
    "account.name",
];

/// A rendered canned response.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RenderedCanned {
    /// The text with every known variable filled in; variables without a value stay as
    /// written, so the agent sees them before sending.
    pub content: String,
    /// Variables that had no value and no default, each once, in order of first use.
    pub missing: Vec<String>,
}

/// What to render: a saved canned response, or a template text (a preview while editing).
#[derive(Debug, Clone)]
pub enum CannedSource {
    Saved(i64),
    Text(String),
}

/// First and last word of a name, as Chatwoot splits names (`None` for a one-word name's
/// last name).
fn name_part(name: Option<&str>, last: bool) -> Option<String> {
    let mut words = name?.split_whitespace();
    if last {
        let first = words.next();
        let rest = words.last();
        first.and(rest).map(str::to_string)
    } else {
        words.next().map(str::to_string)
    }
}

/// A custom attribute as text: scalars only (an object or a list has no one-line form).
fn attribute(attrs: &Value, key: &str) -> Option<String> {
    match attrs.get(key)? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// Longest search string.
pub const MAX_SEARCH_CHARS: usize = 200;

fn code_taken(e: StoreError) -> ServiceError {
    taken_or_not_found(
        e,
        "canned response",
        "a canned response with this short code already exists",
    )
}

/// Short codes are typed after a slash in the composer, so they cannot hold spaces.
fn short_code(v: &str) -> Result<String> {
    let v = validate::required_text("short_code", v, MAX_SHORT_CODE_CHARS)?;
    if v.contains(char::is_whitespace) {
        return Err(validate::FieldError::new("short_code", "must not contain spaces").into());
    }
    Ok(v)
}

impl Services {
    /// The account's canned responses, optionally filtered by a case-insensitive search
    /// of short code and content.
    pub async fn list_canned(
        &self,
        ctx: &AccountCtx,
        search: Option<&str>,
    ) -> Result<Vec<CannedRow>> {
        if let Some(s) = search {
            validate::bounded_text("search", s, MAX_SEARCH_CHARS)?;
        }
        Ok(self.store.canned_responses(ctx.account_id, search).await?)
    }

    /// One canned response.
    pub async fn canned(&self, ctx: &AccountCtx, id: i64) -> Result<CannedRow> {
        self.store
            .canned_response(ctx.account_id, id)
            .await
            .or_not_found("canned response")
    }

    /// Creates a canned response; `Conflict` if the short code is taken.
    pub async fn create_canned(
        &self,
        ctx: &AccountCtx,
        code: Option<&str>,
        content: Option<&str>,
    ) -> Result<CannedRow> {
        ctx.require_admin()?;
        let code = short_code(code.unwrap_or(""))?;
        let content = validate::required_text("content", content.unwrap_or(""), MAX_CONTENT_CHARS)?;
        self.store
            .create_canned(ctx.account_id, &code, &content)
            .await
            .map_err(code_taken)
    }

    /// Updates a canned response.
    pub async fn update_canned(
        &self,
        ctx: &AccountCtx,
        id: i64,
        code: Option<&str>,
        content: Option<&str>,
    ) -> Result<CannedRow> {
        ctx.require_admin()?;
        let code = code.map(short_code).transpose()?;
        let content = content
            .map(|c| validate::required_text("content", c, MAX_CONTENT_CHARS))
            .transpose()?;
        self.store
            .update_canned(ctx.account_id, id, code.as_deref(), content.as_deref())
            .await
            .map_err(code_taken)
    }

    /// Renders a canned response (or a template text) for a conversation the caller may
    /// see, with the values the server has: the conversation's contact, inbox and account,
    /// and the calling agent. Template rules: [`parley_core::template`].
    pub async fn render_canned(
        &self,
        ctx: &AccountCtx,
        display_id: i64,
        source: CannedSource,
    ) -> Result<RenderedCanned> {
        self.visible_conversation(ctx, display_id).await?;
        let text = match source {
            CannedSource::Saved(id) => {
                self.store
                    .canned_response(ctx.account_id, id)
                    .await
                    .map_err(|e| match e {
                        StoreError::NotFound => ServiceError::Invalid(validate::FieldError::new(
                            "canned_response_id",
                            "no such canned response",
                        )),
                        other => other.into(),
                    })?
                    .content
            }
            CannedSource::Text(t) => {
                validate::required_text("content", &t, MAX_CONTENT_CHARS)?;
                t
            }
        };
        let conv = self
            .store
            .conversation_detail(ctx.account_id, display_id)
            .await?
            .ok_or(ServiceError::NotFound("conversation"))?;
        let agent = self.store.agent(ctx.account_id, ctx.user_id).await?;
        let account = self.store.account(ctx.account_id).await?;
        let agent_name = agent.display_name.clone().unwrap_or(agent.name.clone());
        let contact_attrs = crate::conversations::json_obj(&conv.contact_custom_attributes);
        let conv_attrs = crate::conversations::json_obj(&conv.conv.custom_attributes);
        let contact_name = conv.contact_name.as_deref();
        let lookup = |path: &str| -> Option<String> {
            let custom = |prefix: &str| {
                path.strip_prefix(prefix)
                    .and_then(|rest| rest.strip_prefix("s.").or(rest.strip_prefix('.')))
            };
            if let Some(key) = custom("contact.custom_attribute") {
                return attribute(&contact_attrs, key);
            }
            if let Some(key) = custom("conversation.custom_attribute") {
                return attribute(&conv_attrs, key);
            }
            match path {
                "contact.id" => Some(conv.conv.contact_id.to_string()),
                "contact.name" => conv.contact_name.clone(),
                "contact.first_name" => name_part(contact_name, false),
                "contact.last_name" => name_part(contact_name, true),
                "contact.email" => conv.contact_email.clone(),
                "contact.phone_number" | "contact.phone" => conv.contact_phone_number.clone(),
                "agent.name" => Some(agent_name.clone()),
                "agent.first_name" => name_part(Some(&agent_name), false),
                "agent.last_name" => name_part(Some(&agent_name), true),
                "agent.email" => Some(agent.email.clone()),
                "conversation.id" | "conversation.display_id" => {
                    Some(conv.conv.display_id.to_string())
                }
                "inbox.name" => Some(conv.inbox_name.clone()),
                "account.name" => Some(account.name.clone()),
                _ => None,
            }
        };
        let out = template::render(&text, &lookup);
        Ok(RenderedCanned {
            content: out.text,
            missing: out.missing,
        })
    }

    /// Deletes a canned response.
    pub async fn delete_canned(&self, ctx: &AccountCtx, id: i64) -> Result<()> {
        ctx.require_admin()?;
        self.store
            .delete_canned(ctx.account_id, id)
            .await
            .or_not_found("canned response")
    }
}
