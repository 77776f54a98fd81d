//! Everything Parley itself says to customers, managers and agents, in Russian and English.
//!
//! A Russian shop must never send a Russian customer "We will answer when we open", so each
//! text Parley writes (auto-replies, the survey, e-mails to a visitor who left, the e-mails
//! to managers) is a template here with one default per language, rendered by the canned
//! response engine ([`crate::template`]) with the variables listed in its [`TextSpec`]. An
//! inbox picks the language and may override any template (the service keeps the overrides
//! in the inbox's settings and checks them with [`check_override`]).
//!
//! Dates in these texts are written for people, in their language and the inbox's time
//! zone ([`when_label`]): «чт, 03.12 в 09:00», "Thu 03.12 at 09:00".

use crate::template;

/// Longest override of a template, in characters (the longest default is far below).
pub const MAX_TEXT_CHARS: usize = 4_000;

/// The language of Parley's own texts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Lang {
    Ru,
    En,
}

impl Lang {
    /// Both languages, Russian first (the product's first market).
    pub const ALL: [Lang; 2] = [Lang::Ru, Lang::En];

    /// `ru` or `en` exactly (what an inbox setting may hold).
    pub fn parse(s: &str) -> Option<Lang> {
        match s {
            "ru" => Some(Lang::Ru),
            "en" => Some(Lang::En),
            _ => None,
        }
    }

    /// A locale tag such as an account's `ru`, `ru_RU` or `en-GB`: Russian for any Russian
    /// tag, English otherwise (the only other language Parley speaks).
    pub fn of_locale(tag: &str) -> Lang {
        if tag.trim().to_ascii_lowercase().starts_with("ru") {
            Lang::Ru
        } else {
            Lang::En
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Lang::Ru => "ru",
            Lang::En => "en",
        }
    }
}

/// Who reads a text; the console groups templates by it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Audience {
    /// The customer, in the chat or by e-mail.
    Customer,
    /// The inbox's managers and supervisors, by e-mail.
    Manager,
}

impl Audience {
    pub fn as_str(self) -> &'static str {
        match self {
            Audience::Customer => "customer",
            Audience::Manager => "manager",
        }
    }
}

/// One template: its id (stable, used in settings and the API), who reads it, the variables
/// it may use and its default text in each language.
#[derive(Debug)]
pub struct TextSpec {
    pub id: &'static str,
    pub audience: Audience,
    /// Variables the template may use, as `{{name}}`.
    pub variables: &'static [&'static str],
    pub ru: &'static str,
    pub en: &'static str,
}

impl TextSpec {
    /// The default text in `lang`.
    pub fn default_text(&self, lang: Lang) -> &'static str {
        match lang {
            Lang::Ru => self.ru,
            Lang::En => self.en,
        }
    }
}

/// Every template Parley has. The ids are the keys of inbox overrides: never rename one.
pub const TEXTS: &[TextSpec] = &[
    TextSpec {
        id: "offhours_reply",
        audience: Audience::Customer,
        variables: &["next_open", "inbox_name"],
        ru: "Сейчас мы не работаем. Ответим, когда откроемся: {{next_open}}. Ваше сообщение сохранено.",
        en: "We are closed right now. We will answer when we open: {{next_open}}. Your message is saved.",
    },
    TextSpec {
        id: "offhours_reply_later",
        audience: Audience::Customer,
        variables: &["inbox_name"],
        ru: "Сейчас мы не работаем. Ответим, как только сможем. Ваше сообщение сохранено.",
        en: "We are closed right now. We will answer as soon as we can. Your message is saved.",
    },
    TextSpec {
        id: "offhours_tail",
        audience: Audience::Customer,
        variables: &["next_open"],
        ru: "Ответим, когда откроемся: {{next_open}}.",
        en: "We will answer when we open: {{next_open}}.",
    },
    TextSpec {
        id: "bot_fallback",
        audience: Audience::Customer,
        variables: &["inbox_name"],
        ru: "Я бот-помощник. Задайте вопрос — например, о доставке или оплате — или напишите «оператор», и я позову человека.",
        en: "I am the assistant bot. Ask a question — about delivery or payment, for example — or write \"agent\" and I will call a person.",
    },
    TextSpec {
        id: "bot_offhours",
        audience: Audience::Customer,
        variables: &["next_open", "inbox_name"],
        ru: "Сейчас операторы не работают, они откроются {{next_open}}. Я постараюсь помочь сам, а ваши сообщения они увидят.",
        en: "Our operators are away now; they are back {{next_open}}. I will try to help meanwhile, and they will see your messages.",
    },
    TextSpec {
        id: "bot_ask_name",
        audience: Audience::Customer,
        variables: &["inbox_name"],
        ru: "Сейчас позову оператора. Как к вам обращаться?",
        en: "I will call an operator. What is your name?",
    },
    TextSpec {
        id: "bot_bad_name",
        audience: Audience::Customer,
        variables: &["inbox_name"],
        ru: "Напишите, пожалуйста, только имя — буквами.",
        en: "Please write just your name, in letters.",
    },
    TextSpec {
        id: "bot_ask_phone",
        audience: Audience::Customer,
        variables: &["inbox_name"],
        ru: "Спасибо! Оставьте номер телефона, чтобы мы могли перезвонить.",
        en: "Thank you! Please leave your phone number so that we can call you back.",
    },
    TextSpec {
        id: "bot_bad_phone",
        audience: Audience::Customer,
        variables: &["inbox_name"],
        ru: "Это не похоже на номер телефона. Напишите его цифрами, например +7 999 123-45-67.",
        en: "That does not look like a phone number. Please write it in digits, e.g. +1 555 123 4567.",
    },
    TextSpec {
        id: "bot_handoff",
        audience: Audience::Customer,
        variables: &["inbox_name"],
        ru: "Передаю разговор оператору — он ответит здесь же.",
        en: "I am passing the conversation to an operator, who will answer right here.",
    },
    TextSpec {
        id: "csat_survey",
        audience: Audience::Customer,
        variables: &["inbox_name"],
        ru: "Пожалуйста, оцените разговор",
        en: "Please rate the conversation",
    },
    TextSpec {
        id: "unseen_reply_subject",
        audience: Audience::Customer,
        variables: &["inbox_name"],
        ru: "Ответ на ваш вопрос — {{inbox_name}}",
        en: "Reply to your question — {{inbox_name}}",
    },
    TextSpec {
        id: "unseen_reply_body",
        audience: Audience::Customer,
        variables: &["inbox_name", "replies", "website_url"],
        ru: "Здравствуйте! Мы ответили на ваш вопрос в чате:\n\n{{replies}}\n\nЧтобы продолжить разговор, откройте чат на сайте: {{website_url}}\n",
        en: "Hello! We answered your question in the chat:\n\n{{replies}}\n\nTo continue the conversation, open the chat on our website: {{website_url}}\n",
    },
    TextSpec {
        id: "offhours_notice_subject",
        audience: Audience::Manager,
        variables: &["inbox_name", "contact"],
        ru: "[Parley] Вопрос вне рабочего времени в «{{inbox_name}}» от {{contact}}",
        en: "[Parley] Off-hours question in {{inbox_name}} from {{contact}}",
    },
    TextSpec {
        id: "offhours_notice_body",
        audience: Audience::Manager,
        variables: &["inbox_name", "contact", "question", "next_open", "link"],
        ru: "Клиент написал в «{{inbox_name}}» в нерабочее время.\n\nОт: {{contact}}\nВопрос: {{question}}\nОткроемся: {{next_open}}\n\n{{link}}\n",
        en: "A customer wrote to \"{{inbox_name}}\" outside working hours.\n\nFrom: {{contact}}\nQuestion: {{question}}\nNext opening: {{next_open}}\n\n{{link}}\n",
    },
    TextSpec {
        id: "automation_email_subject",
        audience: Audience::Manager,
        variables: &["rule", "inbox_name", "conversation_id"],
        ru: "[Parley] Правило «{{rule}}»: разговор #{{conversation_id}} в «{{inbox_name}}»",
        en: "[Parley] Rule \"{{rule}}\": conversation #{{conversation_id}} in {{inbox_name}}",
    },
    TextSpec {
        id: "automation_email_body",
        audience: Audience::Manager,
        variables: &["rule", "inbox_name", "conversation_id", "message", "link"],
        ru: "{{message}}\n\nПравило «{{rule}}», разговор #{{conversation_id}} в «{{inbox_name}}»:\n{{link}}\n",
        en: "{{message}}\n\nRule \"{{rule}}\", conversation #{{conversation_id}} in \"{{inbox_name}}\":\n{{link}}\n",
    },
    TextSpec {
        id: "offhours_digest_subject",
        audience: Audience::Manager,
        variables: &["inbox_name", "count"],
        ru: "[Parley] Вопросы вне рабочего времени в «{{inbox_name}}»: {{count}}",
        en: "[Parley] {{count}} off-hours question(s) in {{inbox_name}}",
    },
    TextSpec {
        id: "offhours_digest_body",
        audience: Audience::Manager,
        variables: &["inbox_name", "count", "questions"],
        ru: "Вопросы, пришедшие в «{{inbox_name}}» в нерабочее время ({{count}}):\n\n{{questions}}",
        en: "{{count}} question(s) arrived in \"{{inbox_name}}\" outside working hours:\n\n{{questions}}",
    },
    TextSpec {
        id: "sla_alert_subject",
        audience: Audience::Manager,
        variables: &["target", "inbox_name", "conversation_id"],
        ru: "[Parley] Просрочен {{target}} в «{{inbox_name}}»: разговор #{{conversation_id}}",
        en: "[Parley] {{target}} overdue in {{inbox_name}}: conversation #{{conversation_id}}",
    },
    TextSpec {
        id: "sla_alert_body",
        audience: Audience::Manager,
        variables: &["target", "inbox_name", "conversation_id", "due", "link"],
        ru: "Цель по времени ответа не выполнена ({{target}}) в «{{inbox_name}}».\nРазговор #{{conversation_id}}, срок: {{due}}.\n\n{{link}}\n",
        en: "{{target}} target missed in inbox \"{{inbox_name}}\".\nConversation #{{conversation_id}} was due {{due}}.\n\n{{link}}\n",
    },
    TextSpec {
        id: "mention_subject",
        audience: Audience::Manager,
        variables: &["agent", "inbox_name", "conversation_id"],
        ru: "[Parley] {{agent}} упоминает вас в разговоре #{{conversation_id}}",
        en: "[Parley] {{agent}} mentioned you in conversation #{{conversation_id}}",
    },
    TextSpec {
        id: "mention_body",
        audience: Audience::Manager,
        variables: &["agent", "inbox_name", "conversation_id", "note", "link"],
        ru: "{{agent}} упоминает вас в заметке к разговору #{{conversation_id}} («{{inbox_name}}»):\n\n{{note}}\n\n{{link}}\n",
        en: "{{agent}} mentioned you in a private note in conversation #{{conversation_id}} ({{inbox_name}}):\n\n{{note}}\n\n{{link}}\n",
    },
];

/// The template `id`, if there is one.
pub fn spec(id: &str) -> Option<&'static TextSpec> {
    TEXTS.iter().find(|t| t.id == id)
}

/// Which reply target a reply-target alert is about, in words for the `target` variable.
pub fn target_label(lang: Lang, next_response: bool) -> &'static str {
    match (lang, next_response) {
        (Lang::Ru, false) => "первый ответ",
        (Lang::Ru, true) => "следующий ответ",
        (Lang::En, false) => "First response",
        (Lang::En, true) => "Next response",
    }
}

/// Renders `text` with `vars` (name, value). Known variables are replaced even by empty
/// values; a placeholder naming no variable stays as written (overrides are checked
/// against the template's list, so that only happens to `\{{` escapes and plain text).
pub fn render(text: &str, vars: &[(&str, String)]) -> String {
    template::render_known(text, &|path| {
        vars.iter()
            .find(|(k, _)| *k == path)
            .map(|(_, v)| v.clone())
    })
    .text
}

/// Why an override was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TextError {
    #[error("unknown template {0:?}")]
    UnknownTemplate(String),
    #[error("unknown variable {{{{{var}}}}}; this template takes {allowed}")]
    UnknownVariable { var: String, allowed: String },
    #[error("is longer than {max} characters")]
    TooLong { max: usize },
    #[error("must not be empty")]
    Empty,
}

/// Checks an override of template `id`: not blank, not too long, only its own variables.
pub fn check_override(id: &str, text: &str) -> Result<(), TextError> {
    let spec = spec(id).ok_or_else(|| TextError::UnknownTemplate(id.to_string()))?;
    if text.trim().is_empty() {
        return Err(TextError::Empty);
    }
    if text.chars().count() > MAX_TEXT_CHARS {
        return Err(TextError::TooLong {
            max: MAX_TEXT_CHARS,
        });
    }
    if let Some(var) = template::variables(text)
        .into_iter()
        .find(|v| !spec.variables.contains(&v.as_str()))
    {
        return Err(TextError::UnknownVariable {
            var,
            allowed: spec
                .variables
                .iter()
                .map(|v| format!("{{{{{v}}}}}"))
                .collect::<Vec<_>>()
                .join(", "),
        });
    }
    Ok(())
}

const WEEKDAYS_RU: [&str; 7] = ["пн", "вт", "ср", "чт", "пт", "сб", "вс"];
const WEEKDAYS_EN: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];

/// A moment as people write it, in `lang` and the time zone `timezone` (an unknown zone
/// reads as UTC): «чт, 03.12 в 09:00», "Thu 03.12 at 09:00".
pub fn when_label(lang: Lang, timezone: &str, at: i64) -> String {
    let zone = jiff::tz::TimeZone::get(timezone).unwrap_or(jiff::tz::TimeZone::UTC);
    let Ok(ts) = jiff::Timestamp::from_millisecond(at) else {
        return String::new();
    };
    let dt = zone.to_datetime(ts);
    let wd = usize::try_from(dt.weekday().to_monday_zero_offset()).unwrap_or(0) % 7;
    let (date, time) = (dt.strftime("%d.%m"), dt.strftime("%H:%M"));
    match lang {
        Lang::Ru => format!("{}, {date} в {time}", WEEKDAYS_RU[wd]),
        Lang::En => format!("{} {date} at {time}", WEEKDAYS_EN[wd]),
    }
}

/// Example values of the variables, for previews in the console and for tests: what a
/// real message would carry, in `lang`.
pub fn sample_value(lang: Lang, var: &str) -> String {
    let ru = lang == Lang::Ru;
    match var {
        // Thursday 3 December 2026, 09:00 in Moscow.
        "next_open" | "due" => when_label(lang, "Europe/Moscow", 1_796_277_600_000),
        "inbox_name" => if ru { "Магазин" } else { "Shop" }.into(),
        "contact" => if ru {
            "Анна Смирнова <anna@example.com>"
        } else {
            "Anna Smith <anna@example.com>"
        }
        .into(),
        "question" => if ru {
            "Когда придёт мой заказ?"
        } else {
            "When will my order arrive?"
        }
        .into(),
        "replies" => if ru {
            "Заказ отправлен сегодня, придёт в пятницу."
        } else {
            "Your order left today and arrives on Friday."
        }
        .into(),
        "website_url" => "https://shop.example".into(),
        "link" => "https://parley.example/app/#/conversations/42".into(),
        "agent" => if ru { "Мария" } else { "Maria" }.into(),
        "note" => if ru {
            "@Иван, проверь, пожалуйста, оплату."
        } else {
            "@Ivan, could you check the payment?"
        }
        .into(),
        "count" => "3".into(),
        "conversation_id" => "42".into(),
        "target" => target_label(lang, false).into(),
        "questions" => {
            let q = sample_value(lang, "question");
            format!(
                "#42 {}: {q}\nhttps://parley.example/app/#/conversations/42\n",
                sample_value(lang, "contact")
            )
        }
        _ => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_template_uses_only_its_variables_and_has_both_languages() {
        for t in TEXTS {
            for lang in Lang::ALL {
                let text = t.default_text(lang);
                check_override(t.id, text).unwrap_or_else(|e| panic!("{} {lang:?}: {e}", t.id));
                let vars: Vec<(&str, String)> = t
                    .variables
                    .iter()
                    .map(|v| (*v, sample_value(lang, v)))
                    .collect();
                let out = render(text, &vars);
                assert!(!out.contains("{{"), "{} {lang:?}: {out}", t.id);
            }
            assert!(
                TEXTS.iter().filter(|o| o.id == t.id).count() == 1,
                "duplicate {}",
                t.id
            );
        }
    }

    #[test]
    fn dates_read_naturally() {
        // 2026-12-03 06:00 UTC = Thursday 09:00 in Moscow.
        let at = 1_796_277_600_000;
        assert_eq!(
            when_label(Lang::Ru, "Europe/Moscow", at),
            "чт, 03.12 в 09:00"
        );
        assert_eq!(
            when_label(Lang::En, "Europe/Moscow", at),
            "Thu 03.12 at 09:00"
        );
        assert_eq!(when_label(Lang::En, "No/Such", at), "Thu 03.12 at 06:00");
    }

    #[test]
    fn overrides_are_checked() {
        assert_eq!(
            check_override("nope", "x"),
            Err(TextError::UnknownTemplate("nope".into()))
        );
        assert!(matches!(
            check_override("csat_survey", "Оцените, {{contact}}"),
            Err(TextError::UnknownVariable { .. })
        ));
        assert_eq!(check_override("csat_survey", "  "), Err(TextError::Empty));
        assert!(matches!(
            check_override("csat_survey", &"я".repeat(MAX_TEXT_CHARS + 1)),
            Err(TextError::TooLong { .. })
        ));
        check_override("csat_survey", "Как мы справились в «{{inbox_name}}»?").unwrap();
    }

    #[test]
    fn blank_values_disappear() {
        assert_eq!(
            render("Привет{{inbox_name}}!", &[("inbox_name", String::new())]),
            "Привет!"
        );
        assert_eq!(Lang::of_locale("ru_RU"), Lang::Ru);
        assert_eq!(Lang::of_locale("de"), Lang::En);
    }
}
