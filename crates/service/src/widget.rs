//! The website widget's use cases beyond the plain Client API: the public inbox view the
//! widget draws itself from (colours, greeting, working hours, who is online), the visitor
//! context shown to agents (page, trail, referrer, UTM, device), the pre-chat form
//! settings, and the satisfaction survey (CSAT) sent when a conversation is resolved.
//!
//! Visitor context is whatever the visitor's browser reports, so it is treated as untrusted
//! display data: only known keys are kept, every value is bounded, and it lives in the
//! conversation's `additional_attributes` (Chatwoot's place for `browser`, `referer`,
//! `initiated_at`), never in anything that decides access.

use parley_core::{ChannelType, ContentType, ConversationStatus, MessageType, validate};
use parley_store::conversations::{ConversationRow, NewConversation};
use parley_store::public::{PublicIdentity, PublicInbox};
use serde::Serialize;
use serde_json::{Map, Value, json};
use utoipa::ToSchema;

use crate::conversations::PublicConversationView;
use crate::messages::{MessageInput, PublicMessageView, Sender};
use crate::settings::{InboxSettings, WorkingDay};
use crate::{OrNotFound, Result, ServiceError, Services};

/// Longest CSAT comment, in characters.
pub const MAX_FEEDBACK_CHARS: usize = 2_000;
/// Pages kept in the visitor's trail.
pub const MAX_TRAIL: usize = 20;
const MAX_URL: usize = 2_048;
const MAX_TITLE: usize = 300;
const MAX_SHORT: usize = 64;
/// Agents shown in the widget's greeting.
const MAX_AGENTS_SHOWN: usize = 5;

/// An agent on duty, as the widget's greeting shows them (Chatwoot's `available_agents`).
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = WidgetAgent)]
pub struct WidgetAgent {
    pub id: i64,
    /// The agent's display name (or name).
    pub name: String,
    pub avatar_url: String,
    /// Always `online` here; offline agents are not listed.
    pub availability_status: String,
}

/// An enabled campaign as the widget sees it: what to match in the browser and what to
/// show (Chatwoot's widget `campaigns` list).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct WidgetCampaign {
    pub id: i64,
    /// The invitation's text.
    pub message: String,
    /// The agent the invitation comes from; null: the inbox itself.
    pub sender: Option<WidgetAgent>,
    /// `{url, time_on_page, time_on_site, pages_viewed, exit_intent, returning_visitor,
    /// utm_source}`; the widget waits until all that are set hold.
    #[schema(value_type = Object)]
    pub trigger_rules: Value,
    /// The visitor sees it at most once per this many days (0: whenever it triggers).
    pub show_again_after_days: i64,
}

/// An inbox as the public API shows it: Chatwoot's `public_inbox` fields, then the widget's
/// own settings and the live state it needs to decide between chat and offline form.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = PublicInbox)]
pub struct PublicInboxView {
    pub identifier: String,
    pub name: String,
    pub timezone: String,
    pub working_hours: Vec<WorkingDay>,
    pub working_hours_enabled: bool,
    pub csat_survey_enabled: bool,
    pub greeting_enabled: bool,
    /// Chatwoot's name for `hmac_mandatory`: `setUser` needs a valid `identifier_hash`.
    pub identity_validation_enabled: bool,
    /// `Channel::WebWidget`, `Channel::Api`, …
    pub channel_type: String,
    pub greeting_message: Option<String>,
    pub out_of_office_message: Option<String>,
    pub avatar_url: String,
    pub widget_color: Option<String>,
    pub welcome_title: Option<String>,
    pub welcome_tagline: Option<String>,
    /// `in_a_few_minutes`, `in_a_few_hours`, `in_a_day` or null.
    pub reply_time: Option<String>,
    /// `right` (default) or `left`: the corner of the bubble.
    pub widget_position: String,
    pub pre_chat_form_enabled: bool,
    /// `{pre_chat_message, pre_chat_fields: [{name, label, required, enabled}]}`.
    #[schema(value_type = Object)]
    pub pre_chat_form_options: Value,
    /// Show the offline form whenever no member agent is online, not only after hours.
    pub offline_form_when_no_agents: bool,
    /// The widget lists the weekly schedule (`working_hours`, in `timezone`): the inbox
    /// has working hours and chose to show them.
    pub show_working_hours: bool,
    /// Inside working hours now (always true without working hours).
    pub is_open_now: bool,
    /// When it opens next, epoch seconds; null while open or beyond the calendar horizon.
    pub next_open_at: Option<i64>,
    /// Member agents whose availability is `online`.
    pub available_agents: Vec<WidgetAgent>,
    /// Whether the widget offers a live chat (true) or the offline request form (false).
    pub is_online: bool,
    /// Departments (teams) the pre-chat form offers; the choice is sent as `team_id` when
    /// the conversation starts. Only teams with a member in this inbox, narrowed to the
    /// form's `department_team_ids` when set; empty when `department_choice` is off.
    pub departments: Vec<WidgetDepartment>,
    /// The language the inbox chose (`ru`, `en`); the widget speaks it whatever the page
    /// and browser say. Null: the page's `<html lang>`, else the browser's language.
    pub locale: Option<String>,
    /// The inbox's enabled proactive invitations (docs/campaigns.md).
    pub campaigns: Vec<WidgetCampaign>,
}

/// A department the visitor may choose.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct WidgetDepartment {
    pub id: i64,
    pub name: String,
}

fn bad(field: &str, msg: impl Into<String>) -> ServiceError {
    validate::FieldError::new(field, msg).into()
}

/// Which departments an inbox's pre-chat form offers, from its `pre_chat_form_options`:
/// `None` when the visitor gets no choice (`department_choice: false`), else the chosen
/// team ids (empty: every team with a member in the inbox).
fn offered_teams(pre_chat: Option<&Value>) -> Option<Vec<i64>> {
    let choice = pre_chat
        .and_then(|o| o.get("department_choice"))
        .and_then(Value::as_bool)
        .unwrap_or(true);
    choice.then(|| {
        pre_chat
            .and_then(|o| o.get("department_team_ids"))
            .and_then(Value::as_array)
            .map(|l| l.iter().filter_map(Value::as_i64).collect())
            .unwrap_or_default()
    })
}

/// Text of at most `max` characters, control characters removed (they only ever hide
/// things from the agent reading it).
fn short_text(field: &str, v: &Value, max: usize) -> Result<String> {
    let s = v.as_str().ok_or_else(|| bad(field, "must be a string"))?;
    let s: String = s.chars().filter(|c| !c.is_control()).collect();
    Ok(validate::bounded_text(field, s.trim(), max)?)
}

fn url_text(field: &str, v: &Value) -> Result<String> {
    let s = short_text(field, v, MAX_URL)?;
    if !(s.is_empty() || s.starts_with("https://") || s.starts_with("http://")) {
        return Err(bad(field, "must be an http(s) URL"));
    }
    Ok(s)
}

fn small_int(field: &str, v: &Value) -> Result<i64> {
    v.as_i64()
        .filter(|n| (0..=10_000_000_000_000).contains(n))
        .ok_or_else(|| bad(field, "must be a non-negative integer"))
}

/// An object of short strings with the given keys; other keys are dropped.
fn string_bag(field: &str, v: &Value, keys: &[&str], max: usize) -> Result<Value> {
    let obj = v
        .as_object()
        .ok_or_else(|| bad(field, "must be a JSON object"))?;
    let mut out = Map::new();
    for k in keys {
        if let Some(x) = obj.get(*k).filter(|x| !x.is_null()) {
            let s = short_text(&format!("{field}.{k}"), x, max)?;
            if !s.is_empty() {
                out.insert((*k).to_string(), Value::String(s));
            }
        }
    }
    Ok(Value::Object(out))
}

/// Checks the visitor context a widget reports and returns the keys to store in the
/// conversation's `additional_attributes`. Unknown keys are dropped (a newer widget may
/// send more); known keys with a wrong type or an oversized value are a 422.
pub fn clean_visitor_context(v: &Value) -> Result<Map<String, Value>> {
    const F: &str = "additional_attributes";
    let obj = v
        .as_object()
        .ok_or_else(|| bad(F, "must be a JSON object"))?;
    let mut out = Map::new();
    for (k, x) in obj {
        if x.is_null() {
            continue;
        }
        let field = format!("{F}.{k}");
        let value = match k.as_str() {
            "page_url" | "referer" | "visit_referrer" => Value::String(url_text(&field, x)?),
            "page_title" => Value::String(short_text(&field, x, MAX_TITLE)?),
            "browser_language" | "timezone" | "screen" => {
                Value::String(short_text(&field, x, MAX_SHORT)?)
            }
            "time_on_site" | "visit_started_at" => Value::from(small_int(&field, x)?),
            "offline_request" => Value::Bool(
                x.as_bool()
                    .ok_or_else(|| bad(&field, "must be a boolean"))?,
            ),
            "browser" => string_bag(
                &field,
                x,
                &[
                    "browser_name",
                    "browser_version",
                    "platform_name",
                    "platform_version",
                    "device_name",
                ],
                MAX_SHORT,
            )?,
            "utm" => string_bag(
                &field,
                x,
                &[
                    "utm_source",
                    "utm_medium",
                    "utm_campaign",
                    "utm_term",
                    "utm_content",
                ],
                255,
            )?,
            "page_trail" => {
                let list = x.as_array().ok_or_else(|| bad(&field, "must be a list"))?;
                if list.len() > MAX_TRAIL {
                    return Err(bad(&field, format!("must have at most {MAX_TRAIL} pages")));
                }
                let mut pages = Vec::with_capacity(list.len());
                for p in list {
                    let o = p
                        .as_object()
                        .ok_or_else(|| bad(&field, "pages must be objects"))?;
                    let mut page = Map::new();
                    if let Some(u) = o.get("url") {
                        page.insert("url".into(), Value::String(url_text(&field, u)?));
                    }
                    if let Some(t) = o.get("title").filter(|t| !t.is_null()) {
                        page.insert(
                            "title".into(),
                            Value::String(short_text(&field, t, MAX_TITLE)?),
                        );
                    }
                    if let Some(a) = o.get("at").filter(|a| !a.is_null()) {
                        page.insert("at".into(), Value::from(small_int(&field, a)?));
                    }
                    pages.push(Value::Object(page));
                }
                Value::Array(pages)
            }
            _ => continue,
        };
        out.insert(k.clone(), value);
    }
    Ok(out)
}

/// Chatwoot's CSAT answer, `{csat_survey_response: {rating, feedback_message}}`, checked:
/// a rating of 1 to 5 and an optional comment.
fn clean_csat(v: &Value) -> Result<Value> {
    const F: &str = "submitted_values.csat_survey_response";
    let r = v
        .get("csat_survey_response")
        .and_then(Value::as_object)
        .ok_or_else(|| {
            bad(
                F,
                "is required (an object with rating and feedback_message)",
            )
        })?;
    let rating = r
        .get("rating")
        .and_then(Value::as_i64)
        .filter(|n| (1..=5).contains(n))
        .ok_or_else(|| bad(&format!("{F}.rating"), "must be an integer from 1 to 5"))?;
    let feedback = match r.get("feedback_message") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => validate::optional_text(
            &format!("{F}.feedback_message"),
            Some(s),
            MAX_FEEDBACK_CHARS,
        )?,
        Some(_) => return Err(bad(&format!("{F}.feedback_message"), "must be a string")),
    };
    Ok(json!({"csat_survey_response": {"rating": rating, "feedback_message": feedback}}))
}

impl Services {
    /// The public view of the inbox behind a widget token.
    pub async fn public_inbox_view(&self, p: &PublicInbox) -> Result<PublicInboxView> {
        let inbox = self
            .store
            .inbox(p.account_id, p.inbox_id)
            .await
            .or_not_found("inbox")?;
        let settings = InboxSettings::of(&inbox);
        let week = settings.working_hours.clone();
        let hours_on = inbox.working_hours_enabled != 0;
        let now = self.store.now();
        // An unknown zone (stored by an older version) reads as open rather than as a
        // widget that never lets anyone chat.
        let holidays = &settings.routing.holidays;
        let (open_now, next_open) = match hours_on
            .then(|| crate::routing_config::calendar_of(&inbox.timezone, &week, holidays))
        {
            Some(Some(cal)) if !cal.is_open(now) => (false, cal.next_open(now)),
            _ => (true, None),
        };
        let members = self
            .store
            .inbox_members(p.account_id, p.inbox_id)
            .await
            .or_not_found("inbox")?;
        let available_agents: Vec<WidgetAgent> = members
            .iter()
            .filter(|a| a.presence == "online")
            .take(MAX_AGENTS_SHOWN)
            .map(|a| WidgetAgent {
                id: a.id,
                name: a.display_name.clone().unwrap_or_else(|| a.name.clone()),
                avatar_url: a.avatar_url.clone().unwrap_or_default(),
                availability_status: "online".into(),
            })
            .collect();
        let no_agents_offline = settings.channel.offline_form_when_no_agents;
        let is_online = open_now && !(no_agents_offline && available_agents.is_empty());
        let position = match settings.channel.widget_position.as_deref() {
            Some("left") => "left",
            _ => "right",
        };
        // Departments the visitor may choose: teams with someone who works this inbox.
        let member_ids: Vec<i64> = members.iter().map(|m| m.id).collect();
        let staffed: std::collections::HashSet<i64> = self
            .store
            .agent_teams(p.account_id)
            .await?
            .into_iter()
            .filter(|(user, _)| member_ids.contains(user))
            .map(|(_, team)| team)
            .collect();
        let offered = offered_teams(settings.channel.pre_chat_form_options.as_ref());
        let departments: Vec<WidgetDepartment> = self
            .store
            .teams(p.account_id)
            .await?
            .into_iter()
            .filter(|t| staffed.contains(&t.id))
            .filter(|t| {
                offered
                    .as_ref()
                    .is_some_and(|ids| ids.is_empty() || ids.contains(&t.id))
            })
            .map(|t| WidgetDepartment {
                id: t.id,
                name: t.name,
            })
            .collect();
        let pre_chat = (settings.channel.pre_chat_form_options.clone())
            .unwrap_or_else(|| json!({"pre_chat_fields": []}));
        Ok(PublicInboxView {
            identifier: inbox.identifier.clone(),
            name: inbox.name.clone(),
            timezone: inbox.timezone.clone(),
            working_hours: week,
            working_hours_enabled: hours_on,
            csat_survey_enabled: settings.flags.csat_survey_enabled,
            greeting_enabled: inbox.greeting_enabled != 0,
            identity_validation_enabled: inbox.hmac_mandatory != 0,
            channel_type: inbox.channel_type.clone(),
            greeting_message: inbox.greeting_message.clone(),
            out_of_office_message: inbox.out_of_office_message.clone(),
            avatar_url: inbox.avatar_url.clone().unwrap_or_default(),
            widget_color: settings.channel.widget_color.clone(),
            welcome_title: settings.channel.welcome_title.clone(),
            welcome_tagline: settings.channel.welcome_tagline.clone(),
            reply_time: settings.channel.reply_time.clone(),
            widget_position: position.into(),
            pre_chat_form_enabled: settings.channel.pre_chat_form_enabled,
            pre_chat_form_options: pre_chat,
            show_working_hours: hours_on && settings.channel.show_working_hours,
            offline_form_when_no_agents: no_agents_offline,
            is_open_now: open_now,
            next_open_at: next_open.map(crate::conversations::secs),
            locale: settings.texts.locale.map(|l| l.as_str().to_string()),
            available_agents,
            is_online,
            departments,
            campaigns: self.widget_campaigns(p.account_id, p.inbox_id).await?,
        })
    }

    /// Starts a visitor's conversation with the widget's visitor context in its
    /// `additional_attributes` (plus `initiated_at`, stamped here). Both attribute objects
    /// are checked before anything is written, so a refused request creates nothing.
    pub async fn public_start_conversation(
        &self,
        ident: &PublicIdentity,
        custom_attributes: Option<Value>,
        context: Option<Value>,
        team_id: Option<i64>,
    ) -> Result<PublicConversationView> {
        if let Some(t) = team_id {
            if self.store.team_ref(ident.account_id, t).await?.is_none() {
                return Err(validate::FieldError::new("team_id", "no such department").into());
            }
            // A department the inbox's form does not offer cannot be chosen through the API
            // either.
            let inbox = self
                .store
                .inbox(ident.account_id, ident.inbox_id)
                .await
                .or_not_found("inbox")?;
            let offered = offered_teams(
                InboxSettings::of(&inbox)
                    .channel
                    .pre_chat_form_options
                    .as_ref(),
            );
            if !offered.is_some_and(|ids| ids.is_empty() || ids.contains(&t)) {
                return Err(validate::FieldError::new(
                    "team_id",
                    "this department is not offered here",
                )
                .into());
            }
        }
        let custom = match custom_attributes {
            None | Some(Value::Null) => "{}".to_string(),
            Some(v) => {
                validate::attributes("custom_attributes", &v)?;
                v.to_string()
            }
        };
        let mut additional = match &context {
            None | Some(Value::Null) => Map::new(),
            Some(v) => clean_visitor_context(v)?,
        };
        additional.insert(
            "initiated_at".into(),
            json!({"timestamp": crate::conversations::secs(self.store.now())}),
        );
        let additional = Value::Object(additional);
        validate::attributes("additional_attributes", &additional)?;
        self.public_limits
            .conversations_per_visitor
            .take(&ident.contact_inbox_id.to_string())?;
        let row = self
            .store
            .create_conversation(&NewConversation {
                account_id: ident.account_id,
                inbox_id: ident.inbox_id,
                contact_id: ident.contact_id,
                contact_inbox_id: Some(ident.contact_inbox_id),
                source_id: None,
                status: ConversationStatus::Open,
                assignee_id: None,
                team_id,
                custom_attributes: custom,
                additional_attributes: additional.to_string(),
            })
            .await?;
        self.publish_new_conversation(&row).await?;
        self.public_conversation(ident, row.display_id).await
    }

    /// Records the visitor's current context (page, trail, time on site) on their
    /// conversation; agents get `conversation.updated` when something changed.
    pub async fn public_update_visitor_context(
        &self,
        ident: &PublicIdentity,
        display_id: i64,
        context: &Value,
    ) -> Result<()> {
        let c = self.public_conversation_row(ident, display_id).await?;
        let fresh = clean_visitor_context(context)?;
        let mut merged = crate::conversations::json_obj(&c.additional_attributes)
            .as_object()
            .cloned()
            .unwrap_or_default();
        let before = merged.clone();
        for (k, v) in fresh {
            merged.insert(k, v);
        }
        if merged == before {
            return Ok(());
        }
        let merged = Value::Object(merged);
        validate::attributes("additional_attributes", &merged)?;
        let after = self
            .store
            .set_conversation_additional_attributes(c.id, &merged.to_string())
            .await?;
        self.publish_changed("conversation.updated", &after).await?;
        Ok(())
    }

    /// Sends the satisfaction survey (an `input_csat` template message, as Chatwoot does)
    /// when a website conversation is resolved and its inbox has surveys on; once per
    /// conversation, so resolving again after a reopen does not ask twice.
    pub(crate) async fn send_csat_survey(&self, c: &ConversationRow) -> Result<()> {
        let Some(inbox) = self.store.inbox_ref(c.account_id, c.inbox_id).await? else {
            return Ok(());
        };
        if inbox.channel_type != ChannelType::WebWidget.as_str() {
            return Ok(());
        }
        let row = self
            .store
            .inbox(c.account_id, c.inbox_id)
            .await
            .or_not_found("inbox")?;
        let enabled = InboxSettings::of(&row).flags.csat_survey_enabled;
        if !enabled
            || self
                .store
                .conversation_has_content_type(c.id, ContentType::InputCsat.as_str())
                .await?
        {
            return Ok(());
        }
        let lang = self.inbox_lang(&row).await;
        let prompt = crate::texts::InboxTexts::of_inbox(&row).render(
            lang,
            "csat_survey",
            &[("inbox_name", row.name.clone())],
        );
        let mut input = MessageInput::text(MessageType::Template, prompt);
        input.content_type = ContentType::InputCsat;
        self.create_message(c, Sender::System, input).await?;
        Ok(())
    }

    /// The visitor answers a survey message (Chatwoot's Client API message update with
    /// `submitted_values`). Answering again replaces the earlier answer.
    pub async fn public_answer_message(
        &self,
        ident: &PublicIdentity,
        display_id: i64,
        message_id: i64,
        submitted_values: &Value,
    ) -> Result<PublicMessageView> {
        let conv = self.public_conversation_row(ident, display_id).await?;
        let m = self
            .store
            .message(conv.id, message_id)
            .await?
            .filter(|m| parley_store::messages::visitor_sees(&m.message))
            .ok_or(ServiceError::NotFound("message"))?;
        if m.message.content_type != ContentType::InputCsat.as_str() {
            return Err(bad(
                "submitted_values",
                "only a satisfaction survey (input_csat) can be answered",
            ));
        }
        let answer = clean_csat(submitted_values)?;
        let mut attrs = crate::conversations::json_obj(&m.message.content_attributes)
            .as_object()
            .cloned()
            .unwrap_or_default();
        let rating = answer["csat_survey_response"]["rating"].as_i64();
        let feedback = answer["csat_survey_response"]["feedback_message"]
            .as_str()
            .map(str::to_string);
        attrs.insert("submitted_values".into(), answer);
        self.store
            .update_message(
                m.message.id,
                m.message.content.as_deref(),
                &Value::Object(attrs).to_string(),
            )
            .await?;
        if let Some(r) = rating {
            self.store
                .set_conversation_rating(conv.id, r, feedback.as_deref())
                .await?;
        }
        let updated = self
            .store
            .message(conv.id, message_id)
            .await?
            .ok_or(ServiceError::NotFound("message"))?;
        self.emit_message("message.updated", &conv, &updated).await;
        if rating.is_some() {
            // The list and the contact panel show the rating from the conversation itself.
            self.publish_changed("conversation.updated", &conv).await?;
        }
        let audience = self.public_audience(ident).await?;
        Ok(self.public_message_view(&updated, &audience))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn visitor_context_keeps_known_keys_and_bounds_them() {
        let v = json!({
            "page_url": "https://shop.test/cart?utm_source=x",
            "page_title": "Cart\u{0007}",
            "utm": {"utm_source": "newsletter", "evil": "x"},
            "page_trail": [{"url": "https://shop.test/", "title": "Home", "at": 1}],
            "unknown": {"big": "thing"},
            "time_on_site": 42,
            "offline_request": true
        });
        let c = clean_visitor_context(&v).unwrap();
        assert_eq!(c["page_title"], "Cart");
        assert_eq!(c["utm"], json!({"utm_source": "newsletter"}));
        assert!(!c.contains_key("unknown"));
        assert_eq!(c["time_on_site"], 42);
        assert!(clean_visitor_context(&json!({"page_url": "javascript:alert(1)"})).is_err());
        assert!(clean_visitor_context(&json!({"time_on_site": -1})).is_err());
        assert!(clean_visitor_context(&json!({"page_title": "x".repeat(301)})).is_err());
        let trail: Vec<Value> = (0..21).map(|_| json!({"url": "https://a.test"})).collect();
        assert!(clean_visitor_context(&json!({ "page_trail": trail })).is_err());
        assert!(clean_visitor_context(&json!([1])).is_err());
    }

    #[test]
    fn csat_answers_are_checked() {
        let ok = clean_csat(
            &json!({"csat_survey_response": {"rating": 5, "feedback_message": " Great "}}),
        )
        .unwrap();
        assert_eq!(ok["csat_survey_response"]["rating"], 5);
        assert_eq!(ok["csat_survey_response"]["feedback_message"], "Great");
        assert!(clean_csat(&json!({"csat_survey_response": {"rating": 6}})).is_err());
        assert!(clean_csat(&json!({"csat_survey_response": {"rating": "5"}})).is_err());
        assert!(clean_csat(&json!({})).is_err());
    }

    #[test]
    fn pre_chat_options() {
        use crate::inboxes::check_pre_chat_options;
        let v = check_pre_chat_options(
            "channel.pre_chat_form_options",
            &json!({"pre_chat_message": "Hi", "pre_chat_fields": [
                {"name": "emailAddress", "required": true},
                {"name": "phoneNumber", "enabled": false}
            ]}),
        )
        .unwrap();
        assert_eq!(v["pre_chat_fields"][0]["enabled"], true);
        assert_eq!(v["pre_chat_fields"][1]["required"], false);
        assert!(
            check_pre_chat_options("f", &json!({"pre_chat_fields": [{"name": "ssn"}]})).is_err()
        );
        assert!(
            check_pre_chat_options(
                "f",
                &json!({"pre_chat_fields": [{"name": "fullName"}, {"name": "fullName"}]})
            )
            .is_err()
        );
        assert!(check_pre_chat_options("f", &json!("x")).is_err());
        let v = check_pre_chat_options(
            "f",
            &json!({"department_choice": true, "department_team_ids": [3, 3, 1]}),
        )
        .unwrap();
        assert_eq!(v["department_team_ids"], json!([3, 1]));
        assert_eq!(offered_teams(Some(&v)), Some(vec![3, 1]));
        assert_eq!(offered_teams(None), Some(vec![]));
        assert_eq!(
            offered_teams(Some(&json!({"department_choice": false}))),
            None
        );
        assert!(check_pre_chat_options("f", &json!({"department_team_ids": ["a"]})).is_err());
        assert!(check_pre_chat_options("f", &json!({"department_team_ids": [0]})).is_err());
        assert!(check_pre_chat_options("f", &json!({"department_choice": "yes"})).is_err());
    }
}
