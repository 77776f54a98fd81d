//! Agent bots' rules with no I/O: the bot's configuration, the customer's hand-off words,
//! and the built-in bot's conversation (answer from canned responses by keywords, tell the
//! working hours, collect a name and a phone, hand off). The service runs it as a durable
//! job and stores its state; everything here is decided from the text alone, so it is
//! tested without a server.

use std::collections::HashSet;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::search_text::{index_text, query_terms};
use crate::texts::Lang;
use crate::validate::{self, FieldError};

/// The kinds of bot: an external service at `outgoing_url`, or Parley's own.
pub const BOT_TYPES: &[&str] = &["webhook", "builtin"];

/// Hand-off words one bot may have, and their length.
pub const MAX_HANDOFF_WORDS: usize = 30;
pub const MAX_HANDOFF_WORD_CHARS: usize = 60;
/// Longest name the built-in bot accepts as the customer's.
pub const MAX_NAME_CHARS: usize = 80;

/// The hand-off words a new bot gets when none are given.
pub const DEFAULT_HANDOFF_WORDS: &[&str] = &["оператор", "человек", "agent", "human"];

/// A bot's `bot_config`, checked once when saved.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct BotConfig {
    /// A customer message containing one of these (any form: «оператора», "agents")
    /// hands the conversation to people. Every bot type.
    pub handoff_words: Vec<String>,
    /// Built-in bot: answer a question with the canned response that shares the most
    /// words with it.
    pub answer_from_canned: bool,
    /// Built-in bot: outside the inbox's working hours, tell when it opens.
    pub offhours_info: bool,
    /// Built-in bot: ask for the customer's name and phone before handing off.
    pub collect_contact: bool,
}

impl Default for BotConfig {
    fn default() -> Self {
        Self {
            handoff_words: DEFAULT_HANDOFF_WORDS
                .iter()
                .map(|w| w.to_string())
                .collect(),
            answer_from_canned: true,
            offhours_info: true,
            collect_contact: true,
        }
    }
}

impl BotConfig {
    /// Checks a `bot_config` object as an API client sent it; unknown keys are refused so
    /// a misspelt setting never silently does nothing.
    pub fn check(v: &Value) -> Result<BotConfig, FieldError> {
        let obj = v
            .as_object()
            .ok_or_else(|| FieldError::new("bot_config", "must be a JSON object"))?;
        let mut c = BotConfig::default();
        for (k, x) in obj {
            let field = format!("bot_config.{k}");
            let flag = |x: &Value| {
                x.as_bool()
                    .ok_or_else(|| FieldError::new(field.clone(), "must be true or false"))
            };
            match k.as_str() {
                "handoff_words" => {
                    let list = x
                        .as_array()
                        .ok_or_else(|| FieldError::new(field.clone(), "must be a list of words"))?;
                    if list.len() > MAX_HANDOFF_WORDS {
                        return Err(FieldError::new(
                            field,
                            format!("at most {MAX_HANDOFF_WORDS} words"),
                        ));
                    }
                    let mut words = Vec::new();
                    for w in list {
                        let w = w.as_str().map(str::trim).ok_or_else(|| {
                            FieldError::new(field.clone(), "must be a list of words")
                        })?;
                        if w.is_empty() {
                            continue;
                        }
                        if w.chars().count() > MAX_HANDOFF_WORD_CHARS {
                            return Err(FieldError::new(
                                field,
                                format!("a word is at most {MAX_HANDOFF_WORD_CHARS} characters"),
                            ));
                        }
                        if query_terms(w).is_empty() {
                            return Err(FieldError::new(field, format!("{w:?} has no word in it")));
                        }
                        if !words.iter().any(|x: &String| x == w) {
                            words.push(w.to_string());
                        }
                    }
                    c.handoff_words = words;
                }
                "answer_from_canned" => c.answer_from_canned = flag(x)?,
                "offhours_info" => c.offhours_info = flag(x)?,
                "collect_contact" => c.collect_contact = flag(x)?,
                _ => {
                    return Err(FieldError::new(
                        field,
                        "unknown setting; known: handoff_words, answer_from_canned, \
                         offhours_info, collect_contact",
                    ));
                }
            }
        }
        Ok(c)
    }

    /// The stored configuration, or the defaults for a row that cannot be read.
    pub fn parse(stored: &str) -> BotConfig {
        serde_json::from_str(stored).unwrap_or_default()
    }

    /// Whether `text` asks for a person: it holds every term of one hand-off word or
    /// phrase, in any grammatical form.
    pub fn wants_handoff(&self, text: &str) -> bool {
        let said: HashSet<String> = index_text(text).split(' ').map(String::from).collect();
        self.handoff_words.iter().any(|w| {
            let terms = query_terms(w);
            !terms.is_empty() && terms.iter().all(|t| said.contains(t))
        })
    }
}

/// The language a customer wrote in: Cyrillic letters mean Russian, Latin ones English;
/// `None` when the text has no letters (a phone number).
pub fn language_of(text: &str) -> Option<Lang> {
    let mut latin = 0;
    for c in text.chars() {
        if matches!(c, 'а'..='я' | 'А'..='Я' | 'ё' | 'Ё') {
            return Some(Lang::Ru);
        }
        if c.is_ascii_alphabetic() {
            latin += 1;
        }
    }
    (latin > 0).then_some(Lang::En)
}

/// The canned response (index into `candidates`: `(short_code, content)`) that shares the
/// most words with a customer's question, if one shares any word of three letters or more.
/// A word of the short code counts twice: it names what the response is about.
pub fn best_canned(question: &str, candidates: &[(String, String)]) -> Option<usize> {
    let asked: Vec<String> = query_terms(question)
        .into_iter()
        .filter(|t| t.chars().count() >= 3)
        .collect();
    if asked.is_empty() {
        return None;
    }
    let mut best: Option<(usize, usize)> = None;
    for (i, (code, content)) in candidates.iter().enumerate() {
        let code_terms: HashSet<String> = index_text(&code.replace(['_', '-'], " "))
            .split(' ')
            .map(String::from)
            .collect();
        let body: HashSet<String> = index_text(content).split(' ').map(String::from).collect();
        let score: usize = asked
            .iter()
            .map(|t| 2 * usize::from(code_terms.contains(t)) + usize::from(body.contains(t)))
            .sum();
        if score > 0 && best.is_none_or(|(_, s)| score > s) {
            best = Some((i, score));
        }
    }
    best.map(|(i, _)| i)
}

/// Where the built-in bot is in a conversation.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Dialog {
    pub step: Step,
    /// The name the customer gave.
    pub name: Option<String>,
    /// The off-hours information was given (once per conversation).
    pub offhours_told: bool,
    /// The language the customer last wrote in (`ru` / `en`): a reply to a message
    /// without letters (a phone number) keeps it.
    pub lang: Option<String>,
}

/// The built-in bot's step.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Step {
    /// Answering questions.
    #[default]
    Answering,
    /// Asked for the customer's name.
    AskedName,
    /// Asked for the customer's phone.
    AskedPhone,
    /// Handed off: the bot says nothing more.
    Done,
}

/// What the built-in bot does with one customer message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Turn {
    /// Say the text of template `id` (`bot_ask_name`…), stay in the conversation.
    Say(&'static str),
    /// Answer with canned response number `n` of the candidates.
    Canned(usize),
    /// Tell the working hours (the inbox is closed), then go on answering.
    OffHours,
    /// Store the contact's name and phone (either may be `None`), then hand off.
    HandOff {
        name: Option<String>,
        phone: Option<String>,
    },
}

/// What the bot knows besides the message when it decides.
#[derive(Debug, Clone, Default)]
pub struct Situation {
    /// The inbox has working hours and is closed now.
    pub closed: bool,
    /// The contact already has a phone number (nothing to collect).
    pub has_phone: bool,
    /// Canned responses `(short_code, content)` to answer from.
    pub canned: Vec<(String, String)>,
}

/// The built-in bot's decision for one customer message, and its next state.
pub fn built_in_turn(
    cfg: &BotConfig,
    d: &Dialog,
    text: &str,
    s: &Situation,
) -> (Vec<Turn>, Dialog) {
    let mut next = d.clone();
    let collect = cfg.collect_contact && !s.has_phone;
    match d.step {
        Step::Done => (Vec::new(), next),
        Step::AskedName => {
            if cfg.wants_handoff(text) && d.name.is_some() {
                return (vec![Turn::Say("bot_ask_phone")], next);
            }
            match person_name(text) {
                Some(n) => {
                    next.name = Some(n);
                    next.step = Step::AskedPhone;
                    (vec![Turn::Say("bot_ask_phone")], next)
                }
                None => (vec![Turn::Say("bot_bad_name")], next),
            }
        }
        Step::AskedPhone => match validate::phone("phone", text) {
            Ok(p) => {
                next.step = Step::Done;
                (
                    vec![Turn::HandOff {
                        name: d.name.clone(),
                        phone: Some(p),
                    }],
                    next,
                )
            }
            Err(_) => (vec![Turn::Say("bot_bad_phone")], next),
        },
        Step::Answering => {
            if cfg.wants_handoff(text) {
                if collect {
                    next.step = Step::AskedName;
                    return (vec![Turn::Say("bot_ask_name")], next);
                }
                next.step = Step::Done;
                return (
                    vec![Turn::HandOff {
                        name: None,
                        phone: None,
                    }],
                    next,
                );
            }
            let mut turns = Vec::new();
            if cfg.offhours_info && s.closed && !d.offhours_told {
                next.offhours_told = true;
                turns.push(Turn::OffHours);
            }
            let canned = if cfg.answer_from_canned {
                best_canned(text, &s.canned)
            } else {
                None
            };
            match canned {
                Some(i) => turns.push(Turn::Canned(i)),
                None if turns.is_empty() => turns.push(Turn::Say("bot_fallback")),
                None => {}
            }
            (turns, next)
        }
    }
}

/// A customer's answer to "what is your name": letters (and spaces, hyphens, dots,
/// apostrophes), at most [`MAX_NAME_CHARS`].
pub fn person_name(text: &str) -> Option<String> {
    let t = text.split_whitespace().collect::<Vec<_>>().join(" ");
    let n = t.chars().count();
    let ok = (1..=MAX_NAME_CHARS).contains(&n)
        && t.chars().any(char::is_alphabetic)
        && t.chars().all(|c| c.is_alphabetic() || " -.'’".contains(c));
    ok.then_some(t)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn cfg() -> BotConfig {
        BotConfig::default()
    }

    #[test]
    fn handoff_words_match_any_form() {
        let c = cfg();
        assert!(c.wants_handoff("Позовите оператора, пожалуйста"));
        assert!(c.wants_handoff("I want a HUMAN"));
        assert!(c.wants_handoff("Can I talk to an agent?"));
        assert!(!c.wants_handoff("Где мой заказ?"));
        let phrase = BotConfig::check(&json!({"handoff_words": ["живой человек"]})).unwrap();
        assert!(phrase.wants_handoff("Дайте живого человека"));
        assert!(!phrase.wants_handoff("человек"));
    }

    #[test]
    fn config_is_checked() {
        assert!(BotConfig::check(&json!({"handoff_words": "x"})).is_err());
        assert!(BotConfig::check(&json!({"nope": true})).is_err());
        assert!(BotConfig::check(&json!({"offhours_info": "yes"})).is_err());
        assert!(BotConfig::check(&json!([])).is_err());
        assert!(BotConfig::check(&json!({"handoff_words": ["!!!"]})).is_err());
        let c = BotConfig::check(&json!({"collect_contact": false})).unwrap();
        assert!(!c.collect_contact);
        assert_eq!(c.handoff_words.len(), DEFAULT_HANDOFF_WORDS.len());
    }

    #[test]
    fn language_from_letters() {
        assert_eq!(language_of("Привет"), Some(Lang::Ru));
        assert_eq!(language_of("Hello"), Some(Lang::En));
        assert_eq!(language_of("+7 999 123-45-67"), None);
    }

    #[test]
    fn canned_by_shared_stems() {
        let canned = vec![
            (
                "delivery".to_string(),
                "Доставка занимает 2–3 дня по Москве.".to_string(),
            ),
            (
                "payment".to_string(),
                "Оплатить можно картой или наличными.".to_string(),
            ),
        ];
        assert_eq!(best_canned("Сколько дней идёт доставка?", &canned), Some(0));
        assert_eq!(best_canned("как оплатить картой", &canned), Some(1));
        assert_eq!(best_canned("What about payment?", &canned), Some(1));
        assert_eq!(best_canned("ну и", &canned), None);
    }

    #[test]
    fn collects_name_and_phone_then_hands_off() {
        let c = cfg();
        let s = Situation::default();
        let (t, d) = built_in_turn(&c, &Dialog::default(), "оператор", &s);
        assert_eq!(t, vec![Turn::Say("bot_ask_name")]);
        let (t, d2) = built_in_turn(&c, &d, "12345", &s);
        assert_eq!(t, vec![Turn::Say("bot_bad_name")]);
        let (t, d) = built_in_turn(&c, &d2, "Анна", &s);
        assert_eq!(t, vec![Turn::Say("bot_ask_phone")]);
        let (t, d2) = built_in_turn(&c, &d, "не скажу", &s);
        assert_eq!(t, vec![Turn::Say("bot_bad_phone")]);
        let (t, d) = built_in_turn(&c, &d2, "+7 999 123-45-67", &s);
        assert_eq!(
            t,
            vec![Turn::HandOff {
                name: Some("Анна".into()),
                phone: Some("+7 999 123-45-67".into())
            }]
        );
        assert_eq!(d.step, Step::Done);
        let (t, _) = built_in_turn(&c, &d, "ещё вопрос", &s);
        assert!(t.is_empty());
    }

    #[test]
    fn off_hours_once_and_fallback() {
        let c = cfg();
        let s = Situation {
            closed: true,
            ..Situation::default()
        };
        let (t, d) = built_in_turn(&c, &Dialog::default(), "hello", &s);
        assert_eq!(t, vec![Turn::OffHours]);
        let (t, _) = built_in_turn(&c, &d, "hello", &s);
        assert_eq!(t, vec![Turn::Say("bot_fallback")]);
    }
}
