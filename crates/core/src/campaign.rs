//! Proactive invitations (Chatwoot's `ongoing` campaigns): the trigger rules a campaign
//! keeps, their limits, and the URL pattern both the widget and the server match.
//!
//! Why here: the rules are checked when an administrator saves a campaign and again when a
//! visitor's widget asks to show one, so their shape and bounds are spelled once, with no
//! I/O. The browser evaluates the timing rules (time on page, exit intent…); the server
//! re-checks what it can know (the page URL) and what it alone knows (working hours,
//! capacity, how recently this visitor saw the invitation).

use serde::{Deserialize, Serialize};

use crate::validate::FieldError;

/// Campaigns one account may have.
pub const MAX_CAMPAIGNS_PER_ACCOUNT: usize = 100;
/// Longest title.
pub const MAX_TITLE_CHARS: usize = 255;
/// Longest invitation text.
pub const MAX_MESSAGE_CHARS: usize = 1_000;
/// Longest description.
pub const MAX_DESCRIPTION_CHARS: usize = 2_000;
/// Longest URL pattern or UTM source.
pub const MAX_PATTERN_CHARS: usize = 2_048;
/// Longest wait a timing rule may ask for (a day, in seconds).
pub const MAX_SECONDS: i64 = 86_400;
/// Most pages a `pages_viewed` rule may ask for.
pub const MAX_PAGES: i64 = 1_000;
/// Longest "show again after" period (a year, in days).
pub const MAX_SHOW_AGAIN_DAYS: i64 = 365;
/// The period a campaign gets when none is given.
pub const DEFAULT_SHOW_AGAIN_DAYS: i64 = 30;

/// When a campaign's invitation may be shown. Every rule that is set must hold; Chatwoot's
/// two (`url`, `time_on_page`) keep their names, the others are Parley's.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TriggerRules {
    /// The page URL: exact, or with `*` matching any characters (`https://shop.example/cart*`,
    /// `*/cart*`); a pattern starting with `/` is matched against the path and query only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Seconds on the current page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_on_page: Option<i64>,
    /// Seconds since the visit began, across pages.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_on_site: Option<i64>,
    /// Pages viewed in this visit, the current one included.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pages_viewed: Option<i64>,
    /// Only when the pointer leaves the page toward the browser's tab bar (desktop).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exit_intent: Option<bool>,
    /// Only for a visitor who came before (`true`) or only on a first visit (`false`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub returning_visitor: Option<bool>,
    /// Only when the visit's `utm_source` is this (ignoring case).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub utm_source: Option<String>,
}

fn bad(field: &str, message: impl Into<String>) -> FieldError {
    FieldError::new(format!("trigger_rules.{field}"), message)
}

impl TriggerRules {
    /// Checks every rule's bounds and returns the rules with texts trimmed and empty ones
    /// dropped.
    pub fn checked(mut self) -> Result<Self, FieldError> {
        let text = |field: &str, v: Option<String>| -> Result<Option<String>, FieldError> {
            let v = v.map(|s| s.trim().to_string()).filter(|s| !s.is_empty());
            if v.as_ref()
                .is_some_and(|s| s.chars().count() > MAX_PATTERN_CHARS)
            {
                return Err(bad(
                    field,
                    format!("must be at most {MAX_PATTERN_CHARS} characters"),
                ));
            }
            Ok(v)
        };
        self.url = text("url", self.url)?;
        self.utm_source = text("utm_source", self.utm_source)?;
        for (field, v, max) in [
            ("time_on_page", self.time_on_page, MAX_SECONDS),
            ("time_on_site", self.time_on_site, MAX_SECONDS),
            ("pages_viewed", self.pages_viewed, MAX_PAGES),
        ] {
            if v.is_some_and(|n| !(0..=max).contains(&n)) {
                return Err(bad(field, format!("must be between 0 and {max}")));
            }
        }
        Ok(self)
    }

    /// Whether the page URL passes the `url` rule (no rule: every page does).
    pub fn url_matches(&self, page_url: &str) -> bool {
        match &self.url {
            None => true,
            Some(p) => url_matches(p, page_url),
        }
    }
}

/// Whether `url` matches `pattern`: `*` stands for any characters, a trailing `/` is
/// ignored on both sides, and a pattern starting with `/` is compared with the URL's path
/// (and query) only.
pub fn url_matches(pattern: &str, url: &str) -> bool {
    let target = if pattern.starts_with('/') {
        path_of(url)
    } else {
        url
    };
    glob(
        pattern.trim_end_matches('/').as_bytes(),
        target.trim_end_matches('/').as_bytes(),
    )
}

/// The path and query of an absolute URL (`/` when it has none).
fn path_of(url: &str) -> &str {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    rest.find('/').map_or("/", |i| &rest[i..])
}

/// `*`-only glob over bytes, iterative (no backtracking blow-up on long inputs).
fn glob(p: &[u8], s: &[u8]) -> bool {
    let (mut pi, mut si) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while si < s.len() {
        if pi < p.len() && p[pi] == b'*' {
            star = Some((pi, si));
            pi += 1;
        } else if pi < p.len() && p[pi] == s[si] {
            pi += 1;
            si += 1;
        } else if let Some((sp, ss)) = star {
            pi = sp + 1;
            si = ss + 1;
            star = Some((sp, ss + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == b'*')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_patterns() {
        assert!(url_matches(
            "https://shop.test/cart",
            "https://shop.test/cart/"
        ));
        assert!(url_matches(
            "https://shop.test/cart*",
            "https://shop.test/cart?x=1"
        ));
        assert!(url_matches("*/cart*", "https://shop.test/cart"));
        assert!(url_matches("/cart*", "https://shop.test/cart/step2"));
        assert!(!url_matches("/cart*", "https://shop.test/catalog"));
        assert!(!url_matches(
            "https://shop.test/cart",
            "https://shop.test/cart/2"
        ));
        assert!(url_matches("*", "anything"));
    }

    #[test]
    fn rules_are_bounded() {
        let r = TriggerRules {
            time_on_page: Some(-1),
            ..Default::default()
        };
        assert!(r.checked().is_err());
        let r = TriggerRules {
            url: Some("  ".into()),
            pages_viewed: Some(3),
            ..Default::default()
        };
        let r = r.checked().expect("valid");
        assert_eq!(r.url, None);
        assert!(
            serde_json::from_str::<TriggerRules>(r#"{"url": "x", "unknown": 1}"#).is_err(),
            "unknown rules are refused"
        );
    }
}
