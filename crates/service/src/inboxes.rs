//! Inboxes and their members.
//!
//! Administrators configure inboxes; supervisors see all of them; an agent sees only the
//! inboxes they are a member of (and so only those inboxes' conversations). Channel
//! options arrive as a loose JSON object (Chatwoot's `channel`), are checked here against
//! the option list of the inbox's channel type and stored in the inbox's settings; options
//! that do not apply to the channel are dropped, as Chatwoot's permitted parameters do.

use parley_core::{ChannelType, validate};
use parley_store::agents::MemberOp;
use parley_store::inboxes::{InboxPatch, NewInbox};

/// The record these use cases return.
pub use parley_store::inboxes::InboxRow;
use parley_store::users::AgentRow;
use serde_json::{Map, Value, json};

use crate::agents::change_members;
/// The week's shape lives with the other typed settings; named here as before.
pub use crate::settings::{WorkingDay, default_week, working_week};
use crate::{AccountCtx, OrNotFound, Result, ServiceError, Services};

/// Longest greeting / out-of-office message.
pub const MAX_MESSAGE_CHARS: usize = 2_000;

/// Inbox-level options (not tied to the channel type); `None` means "not given".
#[derive(Debug, Clone, Default)]
pub struct InboxOptions {
    pub name: Option<String>,
    pub greeting_enabled: Option<bool>,
    pub greeting_message: Option<String>,
    pub enable_auto_assignment: Option<bool>,
    pub working_hours_enabled: Option<bool>,
    pub timezone: Option<String>,
    pub out_of_office_message: Option<String>,
    pub hmac_mandatory: Option<bool>,
    pub avatar_url: Option<String>,
    /// Chatwoot's extra inbox flags, kept in the settings object.
    pub flags: Vec<(&'static str, bool)>,
    /// Opening hours of the given days of the week; other days keep their hours.
    pub working_hours: Option<Vec<WorkingDay>>,
    /// Routing and response-standard fields as sent (checked by `routing_config`).
    pub routing: Map<String, Value>,
    /// `locale` and `text_templates` as sent (checked by `texts`).
    pub texts: Map<String, Value>,
}

/// Checks days of a request and lays them over `week`.
fn merge_week(mut week: Vec<WorkingDay>, days: &[WorkingDay]) -> Result<Vec<WorkingDay>> {
    const F: &str = "working_hours";
    if days.len() > 7 {
        return Err(bad(F, "must have at most 7 days"));
    }
    let mut seen = [false; 7];
    for d in days {
        let i = usize::from(d.day_of_week);
        if i > 6 {
            return Err(bad(F, "day_of_week must be 0 (Sunday) to 6 (Saturday)"));
        }
        if std::mem::replace(&mut seen[i], true) {
            return Err(bad(F, "each day_of_week may appear once"));
        }
        let mut day = d.clone();
        if day.closed_all_day && day.open_all_day {
            return Err(bad(
                F,
                "a day cannot be both closed_all_day and open_all_day",
            ));
        }
        if day.closed_all_day || day.open_all_day {
            (
                day.open_hour,
                day.open_minutes,
                day.close_hour,
                day.close_minutes,
            ) = (None, None, None, None);
        } else {
            let (Some(oh), Some(ch)) = (day.open_hour, day.close_hour) else {
                return Err(bad(
                    F,
                    "open_hour and close_hour are required for an open day",
                ));
            };
            let (om, cm) = (
                day.open_minutes.unwrap_or(0),
                day.close_minutes.unwrap_or(0),
            );
            if oh > 23 || ch > 23 || om > 59 || cm > 59 {
                return Err(bad(F, "hours must be 0 to 23 and minutes 0 to 59"));
            }
            if (oh, om) >= (ch, cm) {
                return Err(bad(F, "a day must close after it opens"));
            }
            (day.open_minutes, day.close_minutes) = (Some(om), Some(cm));
        }
        if let Some(slot) = week.get_mut(i) {
            *slot = day;
        }
    }
    Ok(week)
}

/// Chatwoot's inbox flags Parley stores and returns (behaviour comes with their features).
pub const INBOX_FLAGS: &[&str] = &[
    "csat_survey_enabled",
    "enable_email_collect",
    "allow_messages_after_resolved",
    "lock_to_single_conversation",
];

#[derive(Clone, Copy)]
enum Kind {
    /// An http(s) URL.
    Url,
    Color,
    Text(usize),
    /// Like text, but never shown in API responses.
    Secret(usize),
    Bool,
    Email,
    /// A host name or an IP address (a mail server).
    Host,
    Port,
    OneOf(&'static [&'static str]),
    /// The widget's pre-chat form ([`check_pre_chat_options`]).
    PreChat,
}

const REPLY_TIMES: &[&str] = &["in_a_few_minutes", "in_a_few_hours", "in_a_day"];

/// The channel options of each channel type.
fn channel_spec(t: ChannelType) -> &'static [(&'static str, Kind)] {
    match t {
        ChannelType::WebWidget => &[
            ("website_url", Kind::Url),
            ("widget_color", Kind::Color),
            ("welcome_title", Kind::Text(255)),
            ("welcome_tagline", Kind::Text(500)),
            ("reply_time", Kind::OneOf(REPLY_TIMES)),
            ("pre_chat_form_enabled", Kind::Bool),
            ("continuity_via_email", Kind::Bool),
            ("allowed_domains", Kind::Text(2_000)),
            ("widget_position", Kind::OneOf(&["right", "left"])),
            ("offline_form_when_no_agents", Kind::Bool),
            ("pre_chat_form_options", Kind::PreChat),
            ("show_working_hours", Kind::Bool),
        ],
        ChannelType::Api => &[("webhook_url", Kind::Url)],
        // `bot_name` and `bot_username` are the bot's own (Telegram's getMe), stored by
        // the connection check; what a client sends for them is replaced.
        ChannelType::Telegram => &[
            ("bot_token", Kind::Secret(256)),
            ("bot_name", Kind::Text(255)),
            ("bot_username", Kind::Text(255)),
        ],
        ChannelType::Email => &[
            ("email", Kind::Email),
            ("provider", Kind::Text(64)),
            ("imap_enabled", Kind::Bool),
            ("imap_address", Kind::Host),
            ("imap_port", Kind::Port),
            ("imap_login", Kind::Text(255)),
            ("imap_password", Kind::Secret(255)),
            ("imap_enable_ssl", Kind::Bool),
            ("smtp_enabled", Kind::Bool),
            ("smtp_address", Kind::Host),
            ("smtp_port", Kind::Port),
            ("smtp_login", Kind::Text(255)),
            ("smtp_password", Kind::Secret(255)),
            ("smtp_enable_ssl_tls", Kind::Bool),
            ("smtp_enable_starttls_auto", Kind::Bool),
            ("smtp_authentication", Kind::OneOf(&["plain", "login"])),
            ("smtp_domain", Kind::Host),
        ],
    }
}

/// Channel options that must be present when the inbox is created.
fn required_on_create(t: ChannelType) -> &'static [&'static str] {
    match t {
        ChannelType::WebWidget => &["website_url"],
        ChannelType::Api => &[],
        ChannelType::Telegram => &["bot_token"],
        ChannelType::Email => &["email"],
    }
}

/// Secrets a channel keeps in its settings that no client sets (the Telegram webhook's
/// `secret_token`).
const INTERNAL_SECRETS: &[&str] = &["webhook_secret"];

/// Whether a settings key is a secret that must never be rendered.
pub fn is_secret_setting(t: ChannelType, key: &str) -> bool {
    INTERNAL_SECRETS.contains(&key)
        || channel_spec(t)
            .iter()
            .any(|(k, kind)| *k == key && matches!(kind, Kind::Secret(_)))
}

/// The checked channel settings of a request (`channel` as in inbox creation), without
/// the cleared ones: what a connection check tests.
pub(crate) fn channel_settings_of(
    t: ChannelType,
    channel: &Map<String, Value>,
) -> Result<Map<String, Value>> {
    let mut settings = channel_settings(t, channel)?;
    settings.retain(|_, v| !v.is_null());
    Ok(settings)
}

fn bad(field: &str, msg: impl Into<String>) -> ServiceError {
    validate::FieldError::new(field, msg).into()
}

/// Pre-chat field names, Chatwoot's.
const PRE_CHAT_FIELDS: &[&str] = &["fullName", "emailAddress", "phoneNumber"];

/// Checks an inbox's `pre_chat_form_options` (Chatwoot's shape) and returns it cleaned:
/// `pre_chat_message` (text) and `pre_chat_fields`, a list of `{name, label, required,
/// enabled}` for `fullName`, `emailAddress` and `phoneNumber`. A hidden field is
/// `enabled: false`; an enabled one is required or optional.
pub fn check_pre_chat_options(field: &str, v: &Value) -> Result<Value> {
    let obj = v
        .as_object()
        .ok_or_else(|| bad(field, "must be a JSON object"))?;
    let mut out = Map::new();
    if let Some(m) = obj.get("pre_chat_message") {
        let f = format!("{field}.pre_chat_message");
        match m {
            Value::Null => {}
            Value::String(s) => {
                out.insert(
                    "pre_chat_message".into(),
                    Value::String(validate::bounded_text(&f, s.trim(), 500)?),
                );
            }
            _ => return Err(bad(&f, "must be a string")),
        }
    }
    let mut fields = Vec::new();
    if let Some(list) = obj.get("pre_chat_fields") {
        let f = format!("{field}.pre_chat_fields");
        let list = list.as_array().ok_or_else(|| bad(&f, "must be a list"))?;
        if list.len() > PRE_CHAT_FIELDS.len() {
            return Err(bad(&f, "has too many fields"));
        }
        for item in list {
            let name = item
                .get("name")
                .and_then(Value::as_str)
                .filter(|n| PRE_CHAT_FIELDS.contains(n))
                .ok_or_else(|| {
                    bad(
                        &f,
                        format!("name must be one of {}", PRE_CHAT_FIELDS.join(", ")),
                    )
                })?;
            if fields
                .iter()
                .any(|x: &Value| x["name"].as_str() == Some(name))
            {
                return Err(bad(&f, format!("{name} appears twice")));
            }
            let flag = |k: &str, default: bool| -> Result<bool> {
                match item.get(k) {
                    None | Some(Value::Null) => Ok(default),
                    Some(Value::Bool(b)) => Ok(*b),
                    Some(_) => Err(bad(&f, format!("{k} must be a boolean"))),
                }
            };
            let label = match item.get("label") {
                None | Some(Value::Null) => None,
                Some(Value::String(s)) => Some(validate::bounded_text(&f, s.trim(), 100)?),
                Some(_) => return Err(bad(&f, "label must be a string")),
            };
            let mut entry = Map::new();
            entry.insert("name".into(), Value::String(name.into()));
            if let Some(l) = label.filter(|l| !l.is_empty()) {
                entry.insert("label".into(), Value::String(l));
            }
            entry.insert("required".into(), Value::Bool(flag("required", false)?));
            entry.insert("enabled".into(), Value::Bool(flag("enabled", true)?));
            fields.push(Value::Object(entry));
        }
    }
    out.insert("pre_chat_fields".into(), Value::Array(fields));
    if let Some(v) = obj.get("department_choice").filter(|v| !v.is_null()) {
        let b = v
            .as_bool()
            .ok_or_else(|| bad(&format!("{field}.department_choice"), "must be a boolean"))?;
        out.insert("department_choice".into(), Value::Bool(b));
    }
    if let Some(v) = obj.get("department_team_ids").filter(|v| !v.is_null()) {
        let f = format!("{field}.department_team_ids");
        let list = v
            .as_array()
            .ok_or_else(|| bad(&f, "must be a list of team ids"))?;
        if list.len() > MAX_OFFERED_TEAMS {
            return Err(bad(
                &f,
                format!("must have at most {MAX_OFFERED_TEAMS} teams"),
            ));
        }
        let mut ids: Vec<i64> = Vec::with_capacity(list.len());
        for x in list {
            let id = x
                .as_i64()
                .filter(|n| *n > 0)
                .ok_or_else(|| bad(&f, "must be a list of team ids"))?;
            if !ids.contains(&id) {
                ids.push(id);
            }
        }
        out.insert("department_team_ids".into(), json!(ids));
    }
    Ok(Value::Object(out))
}

/// Most departments one pre-chat form may offer.
const MAX_OFFERED_TEAMS: usize = 50;

fn check_url(field: &str, v: &str) -> Result<String> {
    let v = v.trim();
    let rest = v
        .strip_prefix("https://")
        .or_else(|| v.strip_prefix("http://"));
    match rest {
        Some(host) if !host.is_empty() && v.len() <= 2048 && !v.contains(char::is_whitespace) => {
            Ok(v.to_string())
        }
        _ => Err(bad(
            field,
            "must be an http(s) URL of at most 2048 characters",
        )),
    }
}

/// Checks the channel options against the channel type's list. Returns the settings to
/// merge: a JSON `null` (or an empty text) clears an option.
fn channel_settings(t: ChannelType, channel: &Map<String, Value>) -> Result<Map<String, Value>> {
    let mut out = Map::new();
    for (key, kind) in channel_spec(t) {
        let Some(v) = channel.get(*key) else { continue };
        let field = format!("channel.{key}");
        if v.is_null() || v.as_str().is_some_and(|s| s.trim().is_empty()) {
            out.insert((*key).to_string(), Value::Null);
            continue;
        }
        let text = || v.as_str().ok_or_else(|| bad(&field, "must be a string"));
        let value = match kind {
            Kind::Bool => Value::Bool(
                v.as_bool()
                    .ok_or_else(|| bad(&field, "must be a boolean"))?,
            ),
            Kind::Port => Value::from(
                v.as_u64()
                    .filter(|n| (1..=65_535).contains(n))
                    .ok_or_else(|| bad(&field, "must be a port number"))?,
            ),
            Kind::Url => Value::String(check_url(&field, text()?)?),
            Kind::Color => Value::String(validate::color(&field, text()?)?),
            Kind::Email => Value::String(validate::email(&field, text()?)?),
            Kind::Host => Value::String(check_host(&field, text()?)?),
            Kind::Text(max) | Kind::Secret(max) => {
                Value::String(validate::bounded_text(&field, text()?.trim(), *max)?)
            }
            Kind::PreChat => check_pre_chat_options(&field, v)?,
            Kind::OneOf(allowed) => {
                let s = text()?;
                if !allowed.contains(&s) {
                    return Err(bad(
                        &field,
                        format!("must be one of {}", allowed.join(", ")),
                    ));
                }
                Value::String(s.to_string())
            }
        };
        out.insert((*key).to_string(), value);
    }
    Ok(out)
}

/// A host name or an IP address: letters, digits, `.`, `-`, `_` and `:` (IPv6), at most
/// 253 characters, so nothing else (a URL, a space, a port) reaches a resolver.
fn check_host(field: &str, v: &str) -> Result<String> {
    let v = v.trim();
    let ok = !v.is_empty()
        && v.len() <= 253
        && v.chars()
            .all(|c| c.is_ascii_alphanumeric() || ".-_:".contains(c))
        && !v.starts_with(['.', '-']);
    if ok {
        Ok(v.to_ascii_lowercase())
    } else {
        Err(bad(
            field,
            "must be a host name such as imap.example.com or an IP address",
        ))
    }
}

fn week_value(week: &[WorkingDay]) -> Result<Value> {
    serde_json::to_value(week).map_err(|e| ServiceError::Internal(e.to_string()))
}

fn check_timezone(v: &str) -> Result<String> {
    let v = v.trim();
    let ok = !v.is_empty()
        && v.len() <= 64
        && v.chars()
            .all(|c| c.is_ascii_alphanumeric() || "/_+-".contains(c));
    if ok {
        Ok(v.to_string())
    } else {
        Err(bad(
            "timezone",
            "must be an IANA time zone name such as Europe/Moscow",
        ))
    }
}

/// Checks inbox-level options into a store patch (without channel settings).
fn options_patch(o: &InboxOptions) -> Result<InboxPatch> {
    let message = |field: &str, v: &Option<String>| -> Result<Option<Option<String>>> {
        v.as_deref()
            .map(|m| validate::optional_text(field, Some(m), MAX_MESSAGE_CHARS))
            .transpose()
            .map_err(ServiceError::from)
    };
    let mut settings = crate::routing_config::check_routing_fields(&o.routing)?;
    for (k, v) in &o.flags {
        settings.insert((*k).to_string(), Value::Bool(*v));
    }
    Ok(InboxPatch {
        name: o
            .name
            .as_deref()
            .map(|n| validate::required_text("name", n, 255))
            .transpose()?,
        hmac_mandatory: o.hmac_mandatory,
        enable_auto_assignment: o.enable_auto_assignment,
        greeting_enabled: o.greeting_enabled,
        greeting_message: message("greeting_message", &o.greeting_message)?,
        working_hours_enabled: o.working_hours_enabled,
        timezone: o.timezone.as_deref().map(check_timezone).transpose()?,
        out_of_office_message: message("out_of_office_message", &o.out_of_office_message)?,
        avatar_url: o
            .avatar_url
            .as_deref()
            .map(|u| {
                if u.trim().is_empty() {
                    Ok(None)
                } else {
                    check_url("avatar_url", u).map(Some)
                }
            })
            .transpose()?,
        settings,
    })
}

/// Parses the channel type of a create request (`web_widget`, `api`, … or the full
/// `Channel::…` name).
pub fn parse_channel_type(v: &str) -> Result<ChannelType> {
    ChannelType::parse_any(v.trim()).ok_or_else(|| {
        bad(
            "channel.type",
            format!(
                "must be one of {}",
                ChannelType::ALL
                    .iter()
                    .map(|c| c.short())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        )
    })
}

impl Services {
    /// The inboxes the caller may see: all for administrators and supervisors, the
    /// caller's own for agents.
    pub async fn list_inboxes(&self, ctx: &AccountCtx) -> Result<Vec<InboxRow>> {
        let all = self.store.inboxes(ctx.account_id).await?;
        if ctx.sees_all_inboxes() {
            return Ok(all);
        }
        let mine = self
            .store
            .inbox_ids_for_user(ctx.account_id, ctx.user_id)
            .await?;
        Ok(all.into_iter().filter(|i| mine.contains(&i.id)).collect())
    }

    /// Inbox ids the caller may see, or `None` for all of the account's inboxes. For
    /// filtering conversation lists by agent visibility.
    pub async fn visible_inbox_ids(&self, ctx: &AccountCtx) -> Result<Option<Vec<i64>>> {
        if ctx.sees_all_inboxes() {
            return Ok(None);
        }
        Ok(Some(
            self.store
                .inbox_ids_for_user(ctx.account_id, ctx.user_id)
                .await?,
        ))
    }

    /// One inbox; `NotFound` for other accounts' inboxes and, for agents, for inboxes
    /// they are not a member of.
    pub async fn inbox(&self, ctx: &AccountCtx, id: i64) -> Result<InboxRow> {
        let inbox = self
            .store
            .inbox(ctx.account_id, id)
            .await
            .or_not_found("inbox")?;
        if !ctx.sees_all_inboxes() && !self.store.is_inbox_member(id, ctx.user_id).await? {
            return Err(ServiceError::NotFound("inbox"));
        }
        Ok(inbox)
    }

    /// Creates an inbox of `channel_type` with the given options and channel settings.
    pub async fn create_inbox(
        &self,
        ctx: &AccountCtx,
        channel_type: &str,
        opts: InboxOptions,
        channel: &Map<String, Value>,
    ) -> Result<InboxRow> {
        ctx.require_admin()?;
        self.check_default_team(ctx, &opts).await?;
        self.check_offered_teams(ctx, channel).await?;
        let t = parse_channel_type(channel_type)?;
        let name = opts
            .name
            .as_deref()
            .ok_or_else(|| bad("name", "is required"))?;
        validate::required_text("name", name, 255)?;
        let patch = options_patch(&opts)?;
        let mut settings = channel_settings(t, channel)?;
        settings.retain(|_, v| !v.is_null());
        for key in required_on_create(t) {
            if !settings.contains_key(*key) {
                return Err(bad(&format!("channel.{key}"), "is required"));
            }
        }
        let checked = self.check_channel(ctx, t, &settings).await?;
        settings.extend(checked);
        self.check_webhook_url_setting(t, &settings).await?;
        settings.extend(patch.settings);
        let texts = crate::texts::check_text_fields(&Map::new(), &opts.texts)?;
        settings.extend(texts.into_iter().filter(|(_, v)| !v.is_null()));
        if let Some(days) = &opts.working_hours {
            let week = merge_week(default_week(), days)?;
            settings.insert("working_hours".into(), week_value(&week)?);
        }
        let mut new = NewInbox::new(patch.name.unwrap_or_default(), t);
        new.hmac_mandatory = patch.hmac_mandatory.unwrap_or(false);
        new.enable_auto_assignment = patch.enable_auto_assignment.unwrap_or(true);
        new.greeting_enabled = patch.greeting_enabled.unwrap_or(false);
        new.greeting_message = patch.greeting_message.flatten();
        new.working_hours_enabled = patch.working_hours_enabled.unwrap_or(false);
        if let Some(tz) = patch.timezone {
            new.timezone = tz;
        }
        new.out_of_office_message = patch.out_of_office_message.flatten();
        new.avatar_url = patch.avatar_url.flatten();
        new.settings = settings;
        let row = self.store.create_inbox(ctx.account_id, &new).await?;
        self.sync_inbox_webhook(&row).await?;
        self.channels_changed();
        self.announce_inbox(ctx, "inbox.created", &row).await;
        Ok(row)
    }

    /// Checks channel settings (`channel` as in inbox creation) without creating
    /// anything: which step failed, in the account's language.
    ///
    /// With `inbox_id` (a saved inbox of the account, of the same channel type) the
    /// secrets `channel` leaves out are the stored ones: the console tests a saved inbox
    /// without ever receiving its passwords.
    pub async fn test_channel_connection(
        &self,
        ctx: &AccountCtx,
        channel: &Map<String, Value>,
        inbox_id: Option<i64>,
    ) -> Result<crate::delivery::ConnectionCheck> {
        ctx.require_admin()?;
        let t = parse_channel_type(channel.get("type").and_then(Value::as_str).unwrap_or(""))?;
        let mut settings = channel_settings_of(t, channel)?;
        if let Some(id) = inbox_id {
            let stored = self
                .store
                .inbox(ctx.account_id, id)
                .await
                .or_not_found("inbox")?;
            if stored.channel() != Some(t) {
                return Err(bad("inbox_id", "is an inbox of another channel type"));
            }
            for (k, v) in stored.settings_map() {
                if is_secret_setting(t, &k) && !settings.contains_key(&k) {
                    settings.insert(k, v);
                }
            }
        }
        let lang = self.account_lang(ctx.account_id).await;
        let outcome = match (t.delivers_through_provider(), self.providers.get(t)) {
            (false, _) => Ok(Map::new()),
            (true, None) => Err(crate::delivery::ProbeFailure {
                step: "channel",
                code: "unsupported",
                detail: String::new(),
                texts: None,
            }),
            (true, Some(p)) => p.test_connection(&settings).await,
        };
        Ok(match outcome {
            Ok(mut details) => {
                details.retain(|k, _| !is_secret_setting(t, k));
                crate::delivery::ConnectionCheck {
                    ok: true,
                    step: None,
                    code: None,
                    message: None,
                    details,
                }
            }
            Err(f) => crate::delivery::ConnectionCheck {
                ok: false,
                step: Some(f.step.into()),
                code: Some(f.code.into()),
                message: Some(crate::delivery::probe_text(lang, &f)),
                details: Map::new(),
            },
        })
    }

    /// The checks of an external channel's settings before they are stored: a channel
    /// type that does not work end to end yet is refused (422, in the account's
    /// language), and a provider's connection check must pass (Telegram's getMe). Returns
    /// the settings the check adds (the bot's name and username).
    async fn check_channel(
        &self,
        ctx: &AccountCtx,
        t: ChannelType,
        settings: &Map<String, Value>,
    ) -> Result<Map<String, Value>> {
        if !t.delivers_through_provider() {
            return Ok(Map::new());
        }
        let lang = self.account_lang(ctx.account_id).await;
        let Some(p) = self.providers.get(t) else {
            let f = crate::delivery::ProbeFailure {
                step: "channel",
                code: "unsupported",
                detail: match lang {
                    parley_core::texts::Lang::Ru => format!(
                        "входящие ({}) пока нельзя создать: канал ещё не подключён к серверу",
                        t.short()
                    ),
                    parley_core::texts::Lang::En => format!(
                        "{} inboxes cannot be created yet: the channel is not wired to the server",
                        t.short()
                    ),
                },
                texts: None,
            };
            return Err(bad("channel.type", crate::delivery::probe_text(lang, &f)));
        };
        if !p.checks_on_save() {
            return Ok(Map::new());
        }
        p.test_connection(settings).await.map_err(|f| {
            let field = if f.code == "invalid_token" {
                "channel.bot_token"
            } else {
                "channel"
            };
            bad(field, crate::delivery::probe_text(lang, &f))
        })
    }

    /// Updates an inbox. The channel type is fixed at creation; a `channel.type` that
    /// names another type is refused rather than silently ignored.
    pub async fn update_inbox(
        &self,
        ctx: &AccountCtx,
        id: i64,
        opts: InboxOptions,
        channel: &Map<String, Value>,
    ) -> Result<InboxRow> {
        ctx.require_admin()?;
        self.check_default_team(ctx, &opts).await?;
        self.check_offered_teams(ctx, channel).await?;
        let current = self
            .store
            .inbox(ctx.account_id, id)
            .await
            .or_not_found("inbox")?;
        let t = current.channel().ok_or_else(|| {
            ServiceError::Internal(format!("inbox {id} has an unknown channel type"))
        })?;
        if let Some(v) = channel.get("type") {
            let given = v
                .as_str()
                .ok_or_else(|| bad("channel.type", "must be a string"))?;
            if parse_channel_type(given)? != t {
                return Err(bad(
                    "channel.type",
                    "the channel type of an inbox cannot change",
                ));
            }
        }
        let mut patch = options_patch(&opts)?;
        let mut settings = channel_settings(t, channel)?;
        for key in required_on_create(t) {
            if settings.get(*key).is_some_and(Value::is_null) {
                return Err(bad(&format!("channel.{key}"), "cannot be removed"));
            }
        }
        if t.delivers_through_provider()
            && self.providers.get(t).is_some()
            && settings.values().any(|v| !v.is_null())
        {
            // New credentials are checked like at creation, with the stored ones filling in.
            let mut merged = current.settings_map();
            merged.extend(settings.clone());
            merged.retain(|_, v| !v.is_null());
            let checked = self.check_channel(ctx, t, &merged).await?;
            settings.extend(checked);
        }
        self.check_webhook_url_setting(t, &settings).await?;
        settings.extend(std::mem::take(&mut patch.settings));
        let stored = crate::settings::InboxSettings::of(&current);
        settings.extend(crate::texts::check_text_fields(stored.raw(), &opts.texts)?);
        if let Some(days) = &opts.working_hours {
            let week = merge_week(stored.working_hours.clone(), days)?;
            settings.insert("working_hours".into(), week_value(&week)?);
        }
        patch.settings = settings;
        let row = self
            .store
            .update_inbox(ctx.account_id, id, &patch)
            .await
            .or_not_found("inbox")?;
        self.sync_inbox_webhook(&row).await?;
        self.channels_changed();
        self.announce_inbox(ctx, "inbox.updated", &row).await;
        Ok(row)
    }

    /// Announces a created or changed inbox (`inbox.created` / `inbox.updated`: the
    /// `inbox_created` / `inbox_updated` webhooks) as agents of the inbox see it: without
    /// `hmac_token`, since webhook receivers and consoles are not all administrators.
    async fn announce_inbox(&self, ctx: &AccountCtx, name: &str, row: &InboxRow) {
        let mut view = match self.inbox_view(ctx, row).await {
            Ok(v) => serde_json::to_value(v).unwrap_or(Value::Null),
            Err(e) => {
                tracing::warn!(inbox = row.id, error = %e, "could not render an inbox event");
                json!({"id": row.id, "name": row.name})
            }
        };
        if let Value::Object(m) = &mut view {
            m.remove("hmac_token");
        }
        self.emit(parley_store::events::EventDraft {
            account_id: row.account_id,
            name: name.into(),
            conversation_id: None,
            inbox_id: Some(row.id),
            contact_id: None,
            public: false,
            payload: view.to_string(),
            origin: None,
        })
        .await;
    }

    /// An API channel's `webhook_url` must be a target webhooks may reach (checked like an
    /// account webhook's URL, SSRF rules included); an empty one turns it off.
    async fn check_webhook_url_setting(
        &self,
        t: ChannelType,
        settings: &Map<String, Value>,
    ) -> Result<()> {
        if t != ChannelType::Api {
            return Ok(());
        }
        match settings
            .get("webhook_url")
            .and_then(Value::as_str)
            .map(str::trim)
        {
            Some(url) if !url.is_empty() => self.check_inbox_webhook_url(url).await,
            _ => Ok(()),
        }
    }

    /// A default team must be one of the account's teams.
    async fn check_default_team(&self, ctx: &AccountCtx, opts: &InboxOptions) -> Result<()> {
        if let Some(id) = opts.routing.get("default_team_id").and_then(Value::as_i64)
            && self.store.team_ref(ctx.account_id, id).await?.is_none()
        {
            return Err(bad("default_team_id", "no such team"));
        }
        Ok(())
    }

    /// The departments a pre-chat form offers must be teams of the account.
    async fn check_offered_teams(
        &self,
        ctx: &AccountCtx,
        channel: &Map<String, Value>,
    ) -> Result<()> {
        let ids = channel
            .get("pre_chat_form_options")
            .and_then(|o| o.get("department_team_ids"))
            .and_then(Value::as_array);
        for id in ids.into_iter().flatten().filter_map(Value::as_i64) {
            if self.store.team_ref(ctx.account_id, id).await?.is_none() {
                return Err(bad(
                    "channel.pre_chat_form_options.department_team_ids",
                    format!("no such team: {id}"),
                ));
            }
        }
        Ok(())
    }

    /// Gives the inbox a new HMAC secret for visitor identity (administrators only):
    /// hashes made with the old secret stop verifying at once.
    pub async fn reset_inbox_hmac_token(&self, ctx: &AccountCtx, id: i64) -> Result<InboxRow> {
        ctx.require_admin()?;
        self.store
            .reset_inbox_hmac_token(ctx.account_id, id)
            .await
            .or_not_found("inbox")
    }

    /// Deletes an inbox with its conversations.
    pub async fn delete_inbox(&self, ctx: &AccountCtx, id: i64) -> Result<()> {
        ctx.require_admin()?;
        self.store
            .delete_inbox(ctx.account_id, id)
            .await
            .or_not_found("inbox")?;
        self.channels_changed();
        self.access_changed(crate::access::AccessChange {
            account_id: ctx.account_id,
            user_id: None,
            contact_id: None,
            inbox_id: Some(id),
        });
        Ok(())
    }

    /// Agents of an inbox; visible to whoever may see the inbox.
    pub async fn inbox_members(&self, ctx: &AccountCtx, inbox_id: i64) -> Result<Vec<AgentRow>> {
        self.inbox(ctx, inbox_id).await?;
        self.store
            .inbox_members(ctx.account_id, inbox_id)
            .await
            .or_not_found("inbox")
    }

    /// Adds, replaces or removes agents of an inbox; users who are not agents of the
    /// account are refused with a 422 and nothing changes.
    pub async fn change_inbox_members(
        &self,
        ctx: &AccountCtx,
        inbox_id: i64,
        op: MemberOp,
        user_ids: &[i64],
    ) -> Result<Vec<AgentRow>> {
        let change = (self.store).change_inbox_members(ctx.account_id, inbox_id, op, user_ids);
        let members = change_members(ctx, user_ids, "inbox", change).await?;
        // A replaced list removes users the request does not name: every agent's sockets
        // of the account are re-checked (administrators and supervisors keep theirs).
        self.access_changed(crate::access::AccessChange::all_agents(ctx.account_id));
        Ok(members)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn map(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn channel_settings_are_checked_per_type() {
        let s = channel_settings(
            ChannelType::WebWidget,
            &map(
                json!({"website_url": "https://shop.test", "widget_color": "#FF0000",
                        "webhook_url": "https://ignored.test", "welcome_title": ""}),
            ),
        )
        .unwrap();
        assert_eq!(s["website_url"], "https://shop.test");
        assert_eq!(s["widget_color"], "#ff0000");
        assert!(s["welcome_title"].is_null());
        assert!(!s.contains_key("webhook_url"));
        assert!(
            channel_settings(
                ChannelType::WebWidget,
                &map(json!({"website_url": "ftp://x"}))
            )
            .is_err()
        );
        assert!(channel_settings(ChannelType::Email, &map(json!({"imap_port": 70000}))).is_err());
        assert!(
            channel_settings(ChannelType::WebWidget, &map(json!({"reply_time": "soon"}))).is_err()
        );
        assert!(is_secret_setting(ChannelType::Telegram, "bot_token"));
        assert!(!is_secret_setting(ChannelType::WebWidget, "website_url"));
    }

    #[test]
    fn working_hours_merge_and_checks() {
        let day = |d: u8, o: Option<u8>, c: Option<u8>| WorkingDay {
            day_of_week: d,
            closed_all_day: false,
            open_all_day: false,
            open_hour: o,
            open_minutes: None,
            close_hour: c,
            close_minutes: None,
        };
        let week = merge_week(default_week(), &[day(6, Some(10), Some(14))]).unwrap();
        assert_eq!(week.len(), 7);
        assert_eq!(week[6].open_hour, Some(10));
        assert_eq!(week[6].close_minutes, Some(0));
        assert!(!week[6].closed_all_day);
        assert!(week[0].closed_all_day);
        assert_eq!(week[1].open_hour, Some(9));
        assert!(merge_week(default_week(), &[day(7, Some(9), Some(10))]).is_err());
        assert!(merge_week(default_week(), &[day(1, Some(18), Some(9))]).is_err());
        assert!(merge_week(default_week(), &[day(1, Some(9), None)]).is_err());
        assert!(merge_week(default_week(), &[day(1, Some(24), Some(25))]).is_err());
        assert!(
            merge_week(
                default_week(),
                &[day(1, Some(9), Some(10)), day(1, Some(9), Some(10))]
            )
            .is_err()
        );
        let mut v = serde_json::Map::new();
        v.insert("working_hours".into(), serde_json::to_value(&week).unwrap());
        assert_eq!(working_week(&v), week);
        assert_eq!(working_week(&serde_json::Map::new()), default_week());
    }

    #[test]
    fn timezones() {
        assert!(check_timezone("Europe/Moscow").is_ok());
        assert!(check_timezone("UTC").is_ok());
        assert!(check_timezone("<script>").is_err());
    }
}
