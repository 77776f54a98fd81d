//! What a person types into the archive search, parsed once in Rust for both databases,
//! and the highlighted snippet of a hit.
//!
//! The query language is deliberately small: words (every one must match, in any form of
//! the word — see [`crate::search_text`]) and `"quoted phrases"` (the words in this order,
//! next to each other). Everything else a user types — parentheses, `*`, `:`, `NEAR`,
//! `&|!`, `-` — only separates words, because the terms are computed by the same
//! normaliser as the index and hold letters and digits only. So no input can reach the
//! database as FTS5 or `tsquery` syntax; the store quotes each term anyway.
//!
//! The databases match the terms (all of them, the last one also as a prefix while
//! typing); a phrase's word order is checked here on the candidate's text
//! ([`ParsedQuery::phrases_match`]), because the index keeps each token once and adds
//! forms (number tails, address parts) that would break adjacency in the engines' own
//! phrase operators — and both engines would have to agree on it.

use std::fmt::Write as _;

use crate::search_text::{
    MAX_QUERY_TERMS, MIN_PREFIX_CHARS, query_terms, query_terms_upto, token_sequence,
};

/// Longest query accepted, in characters: a longer one is refused (a clear 422), not cut.
pub const MAX_QUERY_CHARS: usize = 256;

/// Why a query is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QueryError {
    #[error("is longer than {MAX_QUERY_CHARS} characters")]
    TooLong,
    #[error("has more than {MAX_QUERY_TERMS} words")]
    TooManyTerms,
}

/// A parsed query.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ParsedQuery {
    /// Terms every hit's index holds exactly (phrase words included), each once.
    pub terms: Vec<String>,
    /// The last word when typed outside quotes and long enough: some token of a hit
    /// starts with it (search as you type).
    pub prefix: Option<String>,
    /// Phrases of two words or more, checked in order on the hit's text.
    pub phrases: Vec<Vec<String>>,
}

impl ParsedQuery {
    /// Parses `q`; an empty result (only punctuation, say) is not an error: it matches
    /// nothing.
    pub fn parse(q: &str) -> Result<ParsedQuery, QueryError> {
        if q.chars().count() > MAX_QUERY_CHARS {
            return Err(QueryError::TooLong);
        }
        let mut out = ParsedQuery::default();
        let mut all: Vec<String> = Vec::new();
        let mut last_free: Option<String> = None;
        // Segments alternate outside / inside quotes; an unclosed quote runs to the end.
        for (n, segment) in q.split('"').enumerate() {
            let words = query_terms_upto(segment, MAX_QUERY_TERMS + 1);
            let quoted = n % 2 == 1;
            if words.is_empty() {
                continue;
            }
            if quoted && words.len() > 1 {
                out.phrases.push(words.clone());
            }
            last_free = if quoted { None } else { words.last().cloned() };
            all.extend(words);
        }
        // Whether the query ended inside or right after a phrase: no prefix then.
        let ends_free = !q.trim_end().ends_with('"') && q.matches('"').count().is_multiple_of(2);
        let total = all.len();
        for t in all {
            if !out.terms.contains(&t) {
                out.terms.push(t);
            }
        }
        if total > MAX_QUERY_TERMS {
            return Err(QueryError::TooManyTerms);
        }
        if ends_free
            && let Some(last) = last_free
            && last.chars().count() >= MIN_PREFIX_CHARS
            && out.terms.last() == Some(&last)
            && out.phrases.iter().all(|p| !p.contains(&last))
        {
            out.terms.pop();
            out.prefix = Some(last);
        }
        Ok(out)
    }

    /// True when nothing can match (no term at all).
    pub fn is_empty(&self) -> bool {
        self.terms.is_empty() && self.prefix.is_none()
    }

    /// Whether a value of [`crate::search_text::index_text`] matches the terms: what the
    /// databases decide with their indexes, as the reference for the store's tests.
    pub fn matches_index(&self, indexed: &str) -> bool {
        if self.is_empty() {
            return false;
        }
        let tokens: Vec<&str> = indexed.split(' ').collect();
        self.terms.iter().all(|t| tokens.contains(&t.as_str()))
            && self
                .prefix
                .as_deref()
                .is_none_or(|p| tokens.iter().any(|t| t.starts_with(p)))
    }

    /// Whether every phrase occurs in `text` with its words in order and adjacent.
    pub fn phrases_match(&self, text: &str) -> bool {
        if self.phrases.is_empty() {
            return true;
        }
        let seq = token_sequence(text);
        self.phrases
            .iter()
            .all(|p| seq.windows(p.len()).any(|w| w == p.as_slice()))
    }

    /// Whether one word of a text (as typed there) is a hit of this query.
    fn word_hits(&self, word: &str) -> bool {
        let Some(t) = query_terms(word).into_iter().next() else {
            return false;
        };
        if self.terms.contains(&t) || self.prefix.as_deref().is_some_and(|p| t.starts_with(p)) {
            return true;
        }
        // A group of a phone or order number written with separators: highlight it when
        // a number of the query contains it.
        t.len() >= 2
            && t.bytes().all(|b| b.is_ascii_digit())
            && self
                .terms
                .iter()
                .chain(self.prefix.as_ref())
                .any(|q| q.bytes().all(|b| b.is_ascii_digit()) && q.contains(&t))
    }

    /// A snippet of `text` around its first hit, at most about `max_chars` characters,
    /// as HTML: every character of the text is escaped and the hits are wrapped in
    /// `<mark>`; nothing else is markup. Without a hit it is the text's beginning.
    pub fn snippet(&self, text: &str, max_chars: usize) -> String {
        let words = word_spans(text);
        let hits: Vec<(usize, usize)> = words
            .into_iter()
            .filter(|&(s, e)| self.word_hits(&text[s..e]))
            .collect();
        let first = hits.first().map(|h| h.0).unwrap_or(0);
        // Start a little before the first hit, at a character boundary.
        let lead = max_chars / 4;
        let chars_before = text[..first].chars().count();
        let skip = chars_before.saturating_sub(lead);
        let start = text.char_indices().nth(skip).map_or(text.len(), |(i, _)| i);
        let end = text[start..]
            .char_indices()
            .nth(max_chars)
            .map_or(text.len(), |(i, _)| start + i);
        let mut out = String::new();
        if start > 0 {
            out.push('…');
        }
        let mut at = start;
        for &(s, e) in hits.iter().filter(|&&(s, e)| s >= start && e <= end) {
            escape_into(&mut out, &text[at..s]);
            out.push_str("<mark>");
            escape_into(&mut out, &text[s..e]);
            out.push_str("</mark>");
            at = e;
        }
        escape_into(&mut out, &text[at..end]);
        if end < text.len() {
            out.push('…');
        }
        out
    }
}

/// Byte ranges of the words of `text`: runs of letters, digits and the marks inside them.
fn word_spans(text: &str) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut start: Option<usize> = None;
    for (i, c) in text.char_indices() {
        let inside = c.is_alphanumeric()
            || (start.is_some()
                && (('\u{0300}'..='\u{036F}').contains(&c)
                    || matches!(c, '\u{00AD}' | '\u{200C}' | '\u{200D}')));
        match (inside, start) {
            (true, None) => start = Some(i),
            (false, Some(s)) => {
                out.push((s, i));
                start = None;
            }
            _ => {}
        }
    }
    if let Some(s) = start {
        out.push((s, text.len()));
    }
    out
}

/// Appends `s` with `&`, `<`, `>`, `"` and `'` escaped.
fn escape_into(out: &mut String, s: &str) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if c.is_control() && c != '\n' => {
                let _ = write!(out, " ");
            }
            c => out.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::search_text::index_text;

    fn finds(q: &str, text: &str) -> bool {
        let p = ParsedQuery::parse(q).unwrap();
        p.matches_index(&index_text(text)) && p.phrases_match(text)
    }

    #[test]
    fn words_and_prefix() {
        let p = ParsedQuery::parse("доставки курь").unwrap();
        assert_eq!(p.terms, ["доставк"]);
        // The fragment is stemmed like a word (the soft sign goes).
        assert_eq!(p.prefix.as_deref(), Some("кур"));
        assert!(finds("доставки", "Доставка курьером"));
        assert!(finds("ДОСТАВКУ", "доставка"));
        assert!(finds("deliveries", "Delivery is late"));
        assert!(finds("ёлка", "Елка"));
    }

    #[test]
    fn phrases_keep_order_and_adjacency() {
        let p = ParsedQuery::parse("\"доставка курьером\"").unwrap();
        assert_eq!(p.phrases.len(), 1);
        assert_eq!(p.prefix, None);
        assert!(finds(
            "\"доставка курьером\"",
            "Нужна доставка курьером, спасибо"
        ));
        assert!(finds("\"доставки курьером\"", "ДОСТАВКА КУРЬЕРОМ"));
        assert!(!finds("\"доставка курьером\"", "курьером доставка"));
        assert!(!finds("\"доставка курьером\"", "доставка не курьером"));
        // An unclosed quote runs to the end.
        assert!(finds(
            "заказ \"доставка курьером",
            "заказ: доставка курьером"
        ));
    }

    #[test]
    fn syntax_is_only_separators() {
        for q in [
            "\"",
            "\"\"",
            "(",
            ")",
            "NEAR(a b)",
            "*",
            ":",
            "&|!",
            "a:*",
            "'",
            "\\",
            "--",
            "^",
            "col:val",
            "\"a\" OR \"b\"",
        ] {
            let p = ParsedQuery::parse(q).unwrap();
            for t in p
                .terms
                .iter()
                .chain(p.prefix.iter())
                .chain(p.phrases.iter().flatten())
            {
                assert!(t.chars().all(char::is_alphanumeric), "{q:?}: {t:?}");
            }
        }
    }

    #[test]
    fn bounds() {
        assert_eq!(
            ParsedQuery::parse(&"a".repeat(MAX_QUERY_CHARS + 1)),
            Err(QueryError::TooLong)
        );
        let many = (0..MAX_QUERY_TERMS + 1)
            .map(|i| format!("w{i}"))
            .collect::<Vec<_>>()
            .join(" ");
        assert_eq!(ParsedQuery::parse(&many), Err(QueryError::TooManyTerms));
        assert!(ParsedQuery::parse("!!!").unwrap().is_empty());
    }

    #[test]
    fn snippet_marks_hits_and_escapes_the_rest() {
        let p = ParsedQuery::parse("доставки").unwrap();
        let s = p.snippet("<b>Доставка</b> & \"курьер\"", 100);
        assert_eq!(
            s,
            "&lt;b&gt;<mark>Доставка</mark>&lt;/b&gt; &amp; &quot;курьер&quot;"
        );
        let long = format!("{} доставка {}", "слово ".repeat(100), "конец ".repeat(100));
        let s = p.snippet(&long, 80);
        assert!(s.starts_with('…') && s.ends_with('…'), "{s}");
        assert!(s.contains("<mark>доставка</mark>"));
        let phone = ParsedQuery::parse("89991234567").unwrap();
        assert!(
            phone
                .snippet("звоните +7 999 123-45-67", 100)
                .contains("<mark>999</mark>")
        );
    }
}
