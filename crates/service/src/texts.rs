//! An inbox's language and its own wording of Parley's texts.
//!
//! The templates and their defaults are in [`parley_core::texts`]; this module reads an
//! inbox's choice (settings keys `locale` and `text_templates`), checks what a request
//! changes, and serves the console's "Texts" section: the list of templates with their
//! variables, defaults and overrides, and a preview with example values.
//!
//! Overrides are kept per language (`{"ru": {"csat_survey": "…"}, "en": {…}}`), so a shop
//! that switches an inbox to English does not send its Russian wording to English readers.

use std::collections::BTreeMap;

use parley_core::texts::{self, Lang, TextError, TextSpec};
use parley_core::validate;
use parley_store::inboxes::InboxRow;
use serde::Serialize;
use serde_json::{Map, Value};
use utoipa::ToSchema;

use crate::{AccountCtx, Result, ServiceError, Services};

/// Settings keys owned by this module.
pub const TEXT_KEYS: [&str; 2] = ["locale", "text_templates"];

fn bad(field: &str, msg: impl Into<String>) -> ServiceError {
    validate::FieldError::new(field, msg).into()
}

/// The typed text settings of an inbox.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InboxTexts {
    /// The inbox's own language; `None`: the account's.
    pub locale: Option<Lang>,
    /// Overrides by language and template id.
    overrides: BTreeMap<(&'static str, String), String>,
}

impl InboxTexts {
    /// Reads an inbox's settings; malformed stored values read as unset.
    pub fn of(settings: &Map<String, Value>) -> Self {
        let locale = settings
            .get("locale")
            .and_then(Value::as_str)
            .and_then(Lang::parse);
        let mut overrides = BTreeMap::new();
        if let Some(by_lang) = settings.get("text_templates").and_then(Value::as_object) {
            for lang in Lang::ALL {
                let Some(map) = by_lang.get(lang.as_str()).and_then(Value::as_object) else {
                    continue;
                };
                for (id, v) in map {
                    if let (Some(text), Some(_)) = (v.as_str(), texts::spec(id)) {
                        overrides.insert((lang.as_str(), id.clone()), text.to_string());
                    }
                }
            }
        }
        InboxTexts { locale, overrides }
    }

    pub fn of_inbox(inbox: &InboxRow) -> Self {
        Self::of(&inbox.settings_map())
    }

    /// The override of template `id` in `lang`, if the inbox has one.
    pub fn override_of(&self, lang: Lang, id: &str) -> Option<&str> {
        self.overrides
            .get(&(lang.as_str(), id.to_string()))
            .map(String::as_str)
    }

    /// The wording of template `spec` in `lang`: the inbox's override, else the default.
    pub fn text<'a>(&'a self, lang: Lang, spec: &'static TextSpec) -> &'a str {
        self.override_of(lang, spec.id)
            .unwrap_or_else(|| spec.default_text(lang))
    }

    /// Renders template `id` in `lang` with `vars`. An unknown id (a programming error)
    /// renders as empty text rather than failing a customer's request.
    pub fn render(&self, lang: Lang, id: &str, vars: &[(&str, String)]) -> String {
        match texts::spec(id) {
            Some(spec) => texts::render(self.text(lang, spec), vars),
            None => {
                tracing::error!(template = id, "unknown text template");
                String::new()
            }
        }
    }

    /// The stored overrides as the settings value (`None` when there are none).
    fn to_value(&self) -> Option<Value> {
        if self.overrides.is_empty() {
            return None;
        }
        let mut out = Map::new();
        for ((lang, id), text) in &self.overrides {
            out.entry(lang.to_string())
                .or_insert_with(|| Value::Object(Map::new()))
                .as_object_mut()
                .map(|m| m.insert(id.clone(), Value::String(text.clone())));
        }
        Some(Value::Object(out))
    }
}

fn text_error(field: &str, e: TextError) -> ServiceError {
    bad(field, e.to_string())
}

/// Checks the `locale` and `text_templates` fields of an inbox request (`fields` holds
/// those that were sent, `null` for a cleared one) against the inbox's current settings.
/// Returns the settings to merge. `text_templates` merges: `{"ru": {"csat_survey": null}}`
/// resets one template and leaves the others as they are.
pub fn check_text_fields(
    current: &Map<String, Value>,
    fields: &Map<String, Value>,
) -> Result<Map<String, Value>> {
    let mut out = Map::new();
    if let Some(v) = fields.get("locale") {
        let value = match v {
            Value::Null => Value::Null,
            Value::String(s) if s.trim().is_empty() => Value::Null,
            Value::String(s) => match Lang::parse(s.trim()) {
                Some(l) => Value::String(l.as_str().into()),
                None => {
                    return Err(bad(
                        "locale",
                        "must be ru or en (or null for the account's)",
                    ));
                }
            },
            _ => {
                return Err(bad(
                    "locale",
                    "must be ru or en (or null for the account's)",
                ));
            }
        };
        out.insert("locale".into(), value);
    }
    if let Some(v) = fields.get("text_templates") {
        let mut texts = InboxTexts::of(current);
        match v {
            Value::Null => texts.overrides.clear(),
            Value::Object(by_lang) => {
                for (lang_key, changes) in by_lang {
                    let lang = Lang::parse(lang_key).ok_or_else(|| {
                        bad(
                            "text_templates",
                            format!("{lang_key:?}: languages are ru and en"),
                        )
                    })?;
                    let changes = changes.as_object().ok_or_else(|| {
                        bad(
                            &format!("text_templates.{lang_key}"),
                            "must be an object of template id to text",
                        )
                    })?;
                    for (id, text) in changes {
                        let field = format!("text_templates.{lang_key}.{id}");
                        if texts::spec(id).is_none() {
                            return Err(text_error(&field, TextError::UnknownTemplate(id.clone())));
                        }
                        let key = (lang.as_str(), id.clone());
                        match text {
                            Value::Null => {
                                texts.overrides.remove(&key);
                            }
                            Value::String(s) => {
                                texts::check_override(id, s).map_err(|e| text_error(&field, e))?;
                                texts.overrides.insert(key, s.clone());
                            }
                            _ => return Err(bad(&field, "must be a string, or null to reset")),
                        }
                    }
                }
            }
            _ => {
                return Err(bad(
                    "text_templates",
                    "must be an object such as {\"ru\": {\"csat_survey\": \"…\"}}",
                ));
            }
        }
        out.insert(
            "text_templates".into(),
            texts.to_value().unwrap_or(Value::Null),
        );
    }
    Ok(out)
}

/// One template as the console's "Texts" section shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct TemplateView {
    /// Stable id, the key of overrides.
    pub id: &'static str,
    /// `customer` or `manager`: who reads it.
    pub audience: &'static str,
    /// Variables the text may use, as `{{name}}`.
    pub variables: Vec<&'static str>,
    /// The default text per language (`ru`, `en`).
    #[schema(value_type = Object)]
    pub defaults: BTreeMap<&'static str, &'static str>,
    /// The inbox's override per language; a language without one is absent.
    #[schema(value_type = Object)]
    pub overrides: BTreeMap<&'static str, String>,
    /// Longest override accepted, in characters.
    pub max_length: usize,
}

/// The templates of an inbox.
#[derive(Debug, Serialize, ToSchema)]
pub struct TemplateList {
    /// The language the inbox writes in now (`ru` or `en`).
    pub locale: &'static str,
    /// `inbox` when the inbox chose it, `account` when it follows the account's language.
    pub locale_source: &'static str,
    pub payload: Vec<TemplateView>,
}

/// A template rendered with example values.
#[derive(Debug, Serialize, ToSchema)]
pub struct TemplatePreview {
    pub id: &'static str,
    pub locale: &'static str,
    pub text: String,
}

impl Services {
    /// The language of an inbox's texts: its own setting, else its account's.
    pub async fn inbox_lang(&self, inbox: &InboxRow) -> Lang {
        if let Some(l) = InboxTexts::of_inbox(inbox).locale {
            return l;
        }
        match self.store.account(inbox.account_id).await {
            Ok(a) => Lang::of_locale(&a.locale),
            Err(_) => Lang::En,
        }
    }

    /// Lists an inbox's templates with their defaults and overrides (administrators).
    pub async fn inbox_templates(&self, ctx: &AccountCtx, inbox_id: i64) -> Result<TemplateList> {
        ctx.require_admin()?;
        let inbox = self.inbox(ctx, inbox_id).await?;
        let texts = InboxTexts::of_inbox(&inbox);
        let lang = self.inbox_lang(&inbox).await;
        let payload = texts::TEXTS
            .iter()
            .map(|spec| TemplateView {
                id: spec.id,
                audience: spec.audience.as_str(),
                variables: spec.variables.to_vec(),
                defaults: Lang::ALL
                    .iter()
                    .map(|l| (l.as_str(), spec.default_text(*l)))
                    .collect(),
                overrides: Lang::ALL
                    .iter()
                    .filter_map(|l| {
                        texts
                            .override_of(*l, spec.id)
                            .map(|t| (l.as_str(), t.to_string()))
                    })
                    .collect(),
                max_length: texts::MAX_TEXT_CHARS,
            })
            .collect();
        Ok(TemplateList {
            locale: lang.as_str(),
            locale_source: if texts.locale.is_some() {
                "inbox"
            } else {
                "account"
            },
            payload,
        })
    }

    /// Renders template `id` with example values: `text` when given (an unsaved edit, checked
    /// like an override), else the inbox's current wording. `locale`: the inbox's when absent.
    pub async fn preview_inbox_template(
        &self,
        ctx: &AccountCtx,
        inbox_id: i64,
        id: &str,
        locale: Option<&str>,
        text: Option<&str>,
    ) -> Result<TemplatePreview> {
        ctx.require_admin()?;
        let inbox = self.inbox(ctx, inbox_id).await?;
        let spec = texts::spec(id)
            .ok_or_else(|| text_error("id", TextError::UnknownTemplate(id.to_string())))?;
        let lang = match locale {
            Some(l) => Lang::parse(l).ok_or_else(|| bad("locale", "must be ru or en"))?,
            None => self.inbox_lang(&inbox).await,
        };
        let stored = InboxTexts::of_inbox(&inbox);
        let wording = match text {
            Some(t) => {
                texts::check_override(id, t).map_err(|e| text_error("text", e))?;
                t
            }
            None => stored.text(lang, spec),
        };
        let vars: Vec<(&str, String)> = spec
            .variables
            .iter()
            .map(|v| (*v, texts::sample_value(lang, v)))
            .collect();
        let mut vars = vars;
        if let Some((_, name)) = vars.iter_mut().find(|(k, _)| *k == "inbox_name") {
            name.clone_from(&inbox.name);
        }
        Ok(TemplatePreview {
            id: spec.id,
            locale: lang.as_str(),
            text: texts::render(wording, &vars),
        })
    }
}

/// The e-mail telling administrators that a webhook was paused after repeated failures:
/// subject and text in `lang`. `target` names the webhook (its name or URL).
pub fn webhook_paused_notice(
    lang: Lang,
    target: &str,
    reason: &str,
    link: &str,
) -> (String, String) {
    let vars = [
        ("target", target.to_string()),
        ("reason", reason.to_string()),
        ("link", link.to_string()),
    ];
    let (subject, body) = match lang {
        Lang::Ru => (
            "[Parley] Вебхук «{{target}}» приостановлен",
            "Доставка на вебхук «{{target}}» приостановлена: получатель раз за разом не \
             принимал запросы.\n\nПоследняя ошибка: {{reason}}\n\nСобытия не теряются: они \
             ждут и будут отправлены после того, как вы исправите получателя и нажмёте \
             «Возобновить» в настройках вебхуков:\n{{link}}\n",
        ),
        Lang::En => (
            "[Parley] Webhook \"{{target}}\" is paused",
            "Deliveries to the webhook \"{{target}}\" are paused: the receiver kept refusing \
             them.\n\nLast error: {{reason}}\n\nNo event is lost: they wait and go out once \
             you fix the receiver and press \"Resume\" in the webhook settings:\n{{link}}\n",
        ),
    };
    (texts::render(subject, &vars), texts::render(body, &vars))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn overrides_merge_and_reset() {
        let current = Map::new();
        let out = check_text_fields(
            &current,
            &obj(json!({"locale": "ru", "text_templates": {"ru": {"csat_survey": "Оцените нас"}}})),
        )
        .unwrap();
        assert_eq!(out["locale"], "ru");
        assert_eq!(
            out["text_templates"],
            json!({"ru": {"csat_survey": "Оцените нас"}})
        );
        let t = InboxTexts::of(&out);
        assert_eq!(t.locale, Some(Lang::Ru));
        assert_eq!(t.render(Lang::Ru, "csat_survey", &[]), "Оцените нас");
        assert_eq!(
            t.render(Lang::En, "csat_survey", &[]),
            "Please rate the conversation"
        );
        let out2 = check_text_fields(
            &out,
            &obj(json!({"text_templates": {"ru": {"csat_survey": null}}})),
        )
        .unwrap();
        assert!(out2["text_templates"].is_null());
        for bad_fields in [
            json!({"locale": "de"}),
            json!({"text_templates": {"ru": {"nope": "x"}}}),
            json!({"text_templates": {"ru": {"csat_survey": "{{contact}}"}}}),
            json!({"text_templates": {"de": {"csat_survey": "x"}}}),
            json!({"text_templates": {"ru": {"csat_survey": 5}}}),
            json!({"text_templates": []}),
        ] {
            assert!(
                check_text_fields(&current, &obj(bad_fields.clone())).is_err(),
                "{bad_fields}"
            );
        }
    }
}
