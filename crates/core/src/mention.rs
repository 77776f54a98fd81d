//! @mentions in private notes, in Chatwoot's format: the note's text carries
//! `[@Maria](mention://user/7/Maria)` for each mentioned agent, so Chatwoot's clients
//! write and read the same notes. This module finds the mentioned ids and turns the
//! markup into plain `@Maria` for e-mails and previews; it knows nothing about who may be
//! mentioned (the service decides that).

/// At most this many distinct agents are taken from one note; further ones are ignored
/// (a note is not a broadcast tool, and each mention costs a notification).
pub const MAX_MENTIONS: usize = 20;

const SCHEME: &str = "](mention://user/";

/// One mention as written in a note.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mention {
    pub user_id: i64,
    /// The name shown in the brackets (without the `@`).
    pub name: String,
    /// Byte range of the whole `[@…](mention://user/…)` markup in the text.
    pub start: usize,
    pub end: usize,
}

/// Every well-formed mention of `text`, in order of appearance (duplicates included).
pub fn mentions(text: &str) -> Vec<Mention> {
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(pos) = text[from..].find(SCHEME) {
        let at = from + pos;
        // The opening `[@` of this link: the nearest one before it, after the previous
        // link (a name has no `]`, so the search never needs to look further back; this
        // keeps a note full of broken links linear).
        let floor = from;
        from = at + SCHEME.len();
        let Some(open) = text[floor..at].rfind("[@").map(|o| floor + o) else {
            continue;
        };
        let name = &text[open + 2..at];
        if name.is_empty() || name.contains(['\n', '[', ']']) || name.chars().count() > 100 {
            continue;
        }
        let rest = &text[from..];
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        let Ok(user_id) = rest[..digits].parse::<i64>() else {
            continue;
        };
        let Some(close) = rest.find(')') else {
            continue;
        };
        if close < digits || rest[digits..close].contains(char::is_whitespace) {
            continue;
        }
        let end = from + close + 1;
        out.push(Mention {
            user_id,
            name: name.to_string(),
            start: open,
            end,
        });
        from = end;
    }
    out
}

/// The distinct mentioned user ids of `text`, first appearance first, at most
/// [`MAX_MENTIONS`].
pub fn mentioned_ids(text: &str) -> Vec<i64> {
    let mut ids = Vec::new();
    for m in mentions(text) {
        if !ids.contains(&m.user_id) {
            ids.push(m.user_id);
            if ids.len() == MAX_MENTIONS {
                break;
            }
        }
    }
    ids
}

/// `text` with each mention's markup replaced by `@Name`, for plain-text e-mails.
pub fn plain(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut last = 0;
    for m in mentions(text) {
        out.push_str(&text[last..m.start]);
        out.push('@');
        out.push_str(&m.name);
        last = m.end;
    }
    out.push_str(&text[last..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_chatwoot_mentions() {
        let t = "Hi [@Maria Petrova](mention://user/7/Maria%20Petrova), ask [@Ivan](mention://user/12/Ivan) and [@Maria Petrova](mention://user/7/Maria%20Petrova)";
        assert_eq!(mentioned_ids(t), vec![7, 12]);
        assert_eq!(plain(t), "Hi @Maria Petrova, ask @Ivan and @Maria Petrova");
    }

    #[test]
    fn ignores_what_is_not_a_mention() {
        for t in [
            "mention://user/7/x",
            "[@](mention://user/7/x)",
            "[@a](mention://user/x/a)",
            "[@a](mention://user//a)",
            "[@a\nb](mention://user/7/a)",
            "[@a](mention://user/7/a b)",
            "[@a](mention://user/7/a",
            "[@a](mention://user/99999999999999999999999/a)",
        ] {
            assert!(mentioned_ids(t).is_empty(), "{t}");
            assert_eq!(plain(t), t);
        }
    }

    #[test]
    fn caps_the_number_of_agents() {
        let t: String = (1..=30)
            .map(|i| format!("[@a{i}](mention://user/{i}/a) "))
            .collect();
        assert_eq!(mentioned_ids(&t).len(), MAX_MENTIONS);
    }
}
