//! Input rules shared by every entry point, so the REST API, the Client API and the CLI
//! reject the same things with the same words.

use thiserror::Error;

/// A field that failed validation; the HTTP layer turns it into a 422 with the field name.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{field}: {message}")]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// Trims and checks a required short text (names, titles).
pub fn required_text(field: &str, value: &str, max: usize) -> Result<String, FieldError> {
    let v = value.trim();
    if v.is_empty() {
        return Err(FieldError::new(field, "must not be empty"));
    }
    bounded_text(field, v, max)
}

/// Checks the length of an optional text in characters.
pub fn bounded_text(field: &str, value: &str, max: usize) -> Result<String, FieldError> {
    if value.chars().count() > max {
        return Err(FieldError::new(
            field,
            format!("must be at most {max} characters"),
        ));
    }
    Ok(value.to_string())
}

/// Normalises an optional text: trimmed, empty becomes `None`.
pub fn optional_text(
    field: &str,
    value: Option<&str>,
    max: usize,
) -> Result<Option<String>, FieldError> {
    match value.map(str::trim) {
        None | Some("") => Ok(None),
        Some(v) => bounded_text(field, v, max).map(Some),
    }
}

/// A deliberately simple e-mail check (one `@`, a dot in the domain, no spaces); the
/// mail server is the real judge, this only catches typing mistakes. Lower-cases it.
pub fn email(field: &str, value: &str) -> Result<String, FieldError> {
    let v = value.trim().to_lowercase();
    let ok = v.len() <= 254
        && !v.contains(char::is_whitespace)
        && v.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !domain.contains('@')
        });
    if ok {
        Ok(v)
    } else {
        Err(FieldError::new(field, "is not a valid e-mail address"))
    }
}

/// Phone numbers are kept as typed but must look like one: digits with `+ -()` and spaces.
pub fn phone(field: &str, value: &str) -> Result<String, FieldError> {
    let v = value.trim();
    let digits = v.chars().filter(char::is_ascii_digit).count();
    let ok = (5..=20).contains(&digits)
        && v.chars()
            .all(|c| c.is_ascii_digit() || "+-() .".contains(c));
    if ok {
        Ok(v.to_string())
    } else {
        Err(FieldError::new(field, "is not a valid phone number"))
    }
}

/// Passwords: long enough to matter, bounded so hashing cannot be used to burn CPU.
pub fn password(field: &str, value: &str) -> Result<(), FieldError> {
    let n = value.chars().count();
    if n < 8 {
        return Err(FieldError::new(field, "must be at least 8 characters"));
    }
    if n > 128 {
        return Err(FieldError::new(field, "must be at most 128 characters"));
    }
    Ok(())
}

/// JSON objects used as attribute bags must be objects, small and shallow.
pub fn attributes(field: &str, value: &serde_json::Value) -> Result<(), FieldError> {
    if !value.is_object() {
        return Err(FieldError::new(field, "must be a JSON object"));
    }
    if value.to_string().len() > 16 * 1024 {
        return Err(FieldError::new(field, "must be at most 16 KiB of JSON"));
    }
    Ok(())
}

/// Label titles: Chatwoot's rule (letters, digits, `-` and `_`), lower-cased.
pub fn label_title(field: &str, value: &str) -> Result<String, FieldError> {
    let v = value.trim().to_lowercase();
    if v.is_empty() || v.chars().count() > 64 {
        return Err(FieldError::new(field, "must be 1 to 64 characters"));
    }
    if !v
        .chars()
        .all(|c| c.is_alphanumeric() || c == '-' || c == '_')
    {
        return Err(FieldError::new(
            field,
            "may contain only letters, digits, '-' and '_'",
        ));
    }
    Ok(v)
}

/// `#rrggbb` colours for labels and the widget.
pub fn color(field: &str, value: &str) -> Result<String, FieldError> {
    let v = value.trim();
    let ok = v.len() == 7 && v.starts_with('#') && v[1..].chars().all(|c| c.is_ascii_hexdigit());
    if ok {
        Ok(v.to_lowercase())
    } else {
        Err(FieldError::new(field, "must be a colour like #1f93ff"))
    }
}

/// The one character text may not hold: PostgreSQL cannot store NUL (`\0`) in a text
/// column, so on that backend such text would fail at commit time with an internal error,
/// while SQLite would store it. Both backends refuse it up front instead, the same way.
pub fn storable(field: &str, value: &str) -> Result<(), FieldError> {
    if value.contains('\0') {
        return Err(FieldError::new(
            field,
            "must not contain NUL characters (\\u0000)",
        ));
    }
    Ok(())
}

/// Whether a JSON document contains a `\u0000` escape anywhere (in a string or a key).
/// A raw NUL byte is already a JSON syntax error; the escape is the only way a NUL
/// arrives through JSON. Escaped backslashes (`\\u0000`, a backslash followed by the
/// text `u0000`) are not NULs and are not matched.
pub fn json_has_nul_escape(json: &[u8]) -> bool {
    let mut i = 0;
    while i < json.len() {
        if json[i] == b'\\' {
            if json.get(i + 1) == Some(&b'u')
                && json.get(i + 2..i + 6).is_some_and(|hex| hex == b"0000")
            {
                return true;
            }
            i += 2;
            continue;
        }
        i += 1;
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails() {
        assert_eq!(email("email", " Maria@Shop.RU ").unwrap(), "maria@shop.ru");
        assert!(email("email", "maria").is_err());
        assert!(email("email", "a b@c.d").is_err());
        assert!(email("email", "a@b").is_err());
    }

    #[test]
    fn labels_and_colours() {
        assert_eq!(label_title("title", "Delivery_2").unwrap(), "delivery_2");
        assert!(label_title("title", "bad label").is_err());
        assert!(label_title("title", "доставка").is_ok());
        assert_eq!(color("color", "#1F93FF").unwrap(), "#1f93ff");
        assert!(color("color", "red").is_err());
    }

    #[test]
    fn texts() {
        assert!(required_text("name", "   ", 10).is_err());
        assert!(required_text("name", "abcdefghijk", 10).is_err());
        assert_eq!(optional_text("x", Some("  "), 5).unwrap(), None);
        assert!(phone("phone", "+7 (999) 123-45-67").is_ok());
        assert!(phone("phone", "call me").is_err());
        assert!(password("password", "short").is_err());
    }

    #[test]
    fn nul_characters() {
        assert!(storable("content", "a\0b").is_err());
        assert!(storable("content", "ok").is_ok());
        assert!(json_has_nul_escape(br#"{"content":"a\u0000b"}"#));
        assert!(json_has_nul_escape(br#"{"a\u0000":1}"#));
        assert!(!json_has_nul_escape(br#"{"content":"a\\u0000b"}"#));
        assert!(json_has_nul_escape(br#"{"content":"a\\\u0000b"}"#));
        assert!(!json_has_nul_escape(br#"{"content":"\u0001"}"#));
        assert!(!json_has_nul_escape(b"\\"));
    }
}
