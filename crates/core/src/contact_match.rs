//! Whether two contacts are probably one customer: the keys their e-mail and phone number
//! are compared by.
//!
//! Why keys rather than the stored text: one person writes from the widget, Telegram and
//! e-mail and types their address and number differently each time (`Ivan@Mail.ru`,
//! `+7 (999) 123-45-67`, `8 999 1234567`). The store keeps a key beside each contact,
//! computed here on every write, so the duplicates of a contact are found through an index
//! instead of a scan; the same functions normalise the contact being looked at. Matching
//! only *suggests* a merge to an agent, who confirms it: a key may be generous.

/// How two contacts match.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum MatchReason {
    /// Same e-mail address, ignoring case and surrounding spaces.
    Email,
    /// Same phone number, ignoring formatting and the Russian `8`/`+7` prefix.
    Phone,
}

impl MatchReason {
    /// The wire name (`email`, `phone_number`), the contact field that matched.
    pub fn as_str(self) -> &'static str {
        match self {
            MatchReason::Email => "email",
            MatchReason::Phone => "phone_number",
        }
    }
}

/// Fewest digits a phone key keeps: shorter strings are extensions or typos, and would
/// match unrelated people.
pub const MIN_PHONE_DIGITS: usize = 5;

/// The comparable form of an e-mail address: trimmed and lower-cased; `None` when empty
/// or not an address at all (no `@` between non-empty parts).
pub fn email_key(raw: &str) -> Option<String> {
    let key = raw.trim().to_lowercase();
    let (local, domain) = key.split_once('@')?;
    if local.is_empty() || domain.is_empty() {
        return None;
    }
    Some(key)
}

/// The comparable form of a phone number: its digits, with Russia's trunk prefix written
/// as the country code, so `+7 999 123-45-67`, `8 (999) 123-45-67` and `79991234567` are
/// one key (`79991234567`). The rule: eleven digits starting with `8` and typed without a
/// leading `+` are a Russian number dialled domestically. A number written with `+` keeps
/// its digits as they are (`+81…` is Japan). `None` with fewer than
/// [`MIN_PHONE_DIGITS`] digits.
///
/// The migration that added the keys (0609) computes the same thing in SQL for existing
/// contacts; keep the two in step.
pub fn phone_key(raw: &str) -> Option<String> {
    let trimmed = raw.trim();
    let digits: String = trimmed.chars().filter(char::is_ascii_digit).collect();
    if digits.len() < MIN_PHONE_DIGITS {
        return None;
    }
    if digits.len() == 11 && digits.starts_with('8') && !trimmed.starts_with('+') {
        return Some(format!("7{}", &digits[1..]));
    }
    Some(digits)
}

/// The keys of one contact.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ContactKeys {
    pub email: Option<String>,
    pub phone: Option<String>,
}

impl ContactKeys {
    /// Keys of a contact with this e-mail and phone. A visitor who typed an e-mail that
    /// belongs to another contact has it set aside as `unverified_email` (the widget must
    /// not let them claim a customer's history), which is exactly the duplicate an agent
    /// should be offered to merge: `unverified_email` counts when there is no e-mail.
    pub fn of(email: Option<&str>, phone: Option<&str>, unverified_email: Option<&str>) -> Self {
        Self {
            email: email.or(unverified_email).and_then(email_key),
            phone: phone.and_then(phone_key),
        }
    }

    /// Why `self` and `other` look like one customer; empty when they do not.
    pub fn matches(&self, other: &ContactKeys) -> Vec<MatchReason> {
        let mut out = Vec::new();
        if self.email.is_some() && self.email == other.email {
            out.push(MatchReason::Email);
        }
        if self.phone.is_some() && self.phone == other.phone {
            out.push(MatchReason::Phone);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_ignore_case_and_spaces() {
        assert_eq!(
            email_key("  Ivan.Petrov@Mail.RU "),
            Some("ivan.petrov@mail.ru".into())
        );
        assert_eq!(email_key("ИВАН@почта.рф"), Some("иван@почта.рф".into()));
        assert_eq!(email_key(""), None);
        assert_eq!(email_key("   "), None);
        assert_eq!(email_key("not-an-address"), None);
        assert_eq!(email_key("@example.com"), None);
        assert_eq!(email_key("ivan@"), None);
    }

    #[test]
    fn russian_numbers_in_every_form_are_one_key() {
        let want = Some("79991234567".to_string());
        for form in [
            "+7 999 123-45-67",
            "+7 (999) 123-45-67",
            "89991234567",
            "8 (999) 123 45 67",
            "8-999-123-45-67",
            "79991234567",
            " +79991234567 ",
            "7.999.123.45.67",
        ] {
            assert_eq!(phone_key(form), want, "{form}");
        }
    }

    #[test]
    fn other_numbers_keep_their_digits() {
        // Japan: written with +, the leading 8 is a country code, not a trunk prefix.
        assert_eq!(phone_key("+81 90 1234 5678"), Some("819012345678".into()));
        assert_eq!(phone_key("+8 999 123 45 67"), Some("89991234567".into()));
        // Ten digits starting with 8 are not a Russian domestic number.
        assert_eq!(phone_key("8 800 555 353"), Some("8800555353".into()));
        assert_eq!(phone_key("+44 20 7946 0958"), Some("442079460958".into()));
        assert_eq!(phone_key("1234"), None);
        assert_eq!(phone_key("ext. 12"), None);
        assert_eq!(phone_key(""), None);
    }

    #[test]
    fn keys_and_reasons() {
        let a = ContactKeys::of(Some("Ivan@Example.com"), Some("+7 999 123-45-67"), None);
        let b = ContactKeys::of(None, Some("89991234567"), Some("ivan@example.com"));
        assert_eq!(a.matches(&b), vec![MatchReason::Email, MatchReason::Phone]);
        // The e-mail wins over an unverified one.
        let c = ContactKeys::of(Some("other@example.com"), None, Some("ivan@example.com"));
        assert_eq!(a.matches(&c), Vec::<MatchReason>::new());
        // Nothing matches nothing.
        let empty = ContactKeys::default();
        assert!(empty.matches(&ContactKeys::default()).is_empty());
        assert_eq!(MatchReason::Phone.as_str(), "phone_number");
    }
}
