//! Search-text normalisation: the one function that turns message text into the words
//! the full-text index holds, and the same rules applied to what a user types.
//!
//! SQLite's FTS5 has no Russian stemmer and its `unicode61` tokenizer does not fold `ё`
//! to `е`, and PostgreSQL's dictionaries differ from both. So neither database is trusted
//! with language: Rust computes the words (lowercase, `ё`→`е`, Snowball stems) into a
//! search column and both backends only match whole tokens of that column. Because
//! [`index_text`] and [`query_terms`] share every rule below, a query finds the same
//! messages on SQLite and on PostgreSQL.
//!
//! # Rules
//!
//! * **Bounds.** Only the first [`MAX_INPUT_BYTES`] of a text are considered (cut at a
//!   character boundary); a token longer than [`MAX_TOKEN_CHARS`] characters is dropped
//!   (base64 blobs, hashes); the indexed string never exceeds [`MAX_INDEX_BYTES`]; a
//!   query keeps at most [`MAX_QUERY_TERMS`] terms.
//! * **Characters.** Unicode lowercase; `ё` becomes `е`; combining accents (U+0300–U+036F,
//!   such as the stress mark in «доста́вка») are removed without splitting the word, except
//!   that `и` + combining breve is composed to `й`; soft hyphens and zero-width joiners
//!   are ignored. Precomposed Latin letters with accents (`é`, `ü`) are kept as they are.
//! * **Tokens.** A token is a maximal run of alphanumeric characters; everything else
//!   (punctuation, symbols, markup) only separates tokens. Hence every token contains
//!   letters and digits only: the output is safe to quote into an FTS5 or `tsquery`
//!   expression and can never carry markup or query operators.
//! * **Stems.** A token of Cyrillic letters only is stemmed with the Russian Snowball
//!   stemmer, a token of Latin letters only with the English one. Tokens that mix
//!   scripts, or letters and digits, are kept whole (a model number `iphone15` or a
//!   homoglyph-spam word is not a word of either language).
//! * **Letters and digits in one token.** The index also holds the token's letter parts
//!   (stemmed) and digit parts, so `ORD12345` is found by `ord12345` and by `12345`.
//! * **Numbers.** Digit groups joined only by spaces, `-`, `.`, `(`, `)`, `+` or dashes
//!   (at most three such characters between two groups, at most [`MAX_RUN_DIGITS`]
//!   digits in all) form one number. The index holds each group and the digits-only
//!   concatenation of every tail of the groups, so `+7 (999) 123-45-67` is found by
//!   `79991234567`, `9991234567`, `123-45-67`, `1234567` and `999`. A query number becomes
//!   the concatenation of all its groups, so it matches when it is written as the tail of
//!   the stored number with the same group breaks or fewer (`123 4567` matches
//!   `123-45-67`, because both concatenate to `1234567`).
//! * **Russian phone numbers.** An 11-digit number starting with `7` or `8` also stands
//!   for its 10-digit national number: the index holds both, a query uses only the
//!   national part, so `8 999 123-45-67`, `+7 999 1234567` and `9991234567` all find
//!   each other.
//! * **E-mail addresses.** `local@domain.tld` is indexed as its parts (by the rules
//!   above, so `ivan.petrov@mail.ru` is found by `ivan`, `petrov`, `ivan.petrov`) and as
//!   one compact token of its letters and digits (`ivanpetrovmailru`). A query containing
//!   a whole address uses only that compact token, which finds exactly that address.
//! * **Deduplication.** Repeated tokens are kept once, in order of first appearance.
//!
//! # Query semantics
//!
//! A message matches a query when its indexed tokens contain every query term (AND).
//! [`search_query`] additionally marks the last term as a prefix when it has at least
//! [`MIN_PREFIX_CHARS`] characters, so search works while typing: the term is the stem of
//! what was typed, and Russian and English stems are beginnings of the words, so
//! `достав` finds `доставка` (stem `доставк`) and `deliv` finds `delivery`
//! (stem `deliveri`). A fragment typed past the stem into an ending that the stemmer
//! rewrites (`runn` for `running`, stem `run`) matches only once the word is complete.
//! [`SearchQuery::matches`] is the reference implementation of this matching for the
//! store's conformance tests.
//!
//! # For the store
//!
//! The column already holds the final tokens, so a backend must not reinterpret them:
//! on SQLite use FTS5 with `tokenize = "unicode61 remove_diacritics 0"` (the default
//! would fold `é` to `e`, which PostgreSQL would not), on PostgreSQL the `simple`
//! configuration (no stop words, no stemming of its own). Quote every term (`"term"`,
//! `"term"*` for the prefix) even though terms are only letters and digits, so a term
//! such as `near` or `and` is never read as an operator.

use std::collections::HashSet;

use rust_stemmers::{Algorithm, Stemmer};

/// How much of a text is considered. Messages may be longer; their beginning is what
/// people search for, and a bound keeps indexing cost and index size predictable.
pub const MAX_INPUT_BYTES: usize = 64 * 1024;
/// Longer tokens are dropped: they are hashes, base64 or URLs' noise, not words.
pub const MAX_TOKEN_CHARS: usize = 64;
/// Upper bound of the indexed string. The number rules add tokens, so without this a
/// text of single digits could produce more than it contains.
pub const MAX_INDEX_BYTES: usize = 128 * 1024;
/// A query keeps this many terms; more would only make the database work harder.
pub const MAX_QUERY_TERMS: usize = 32;
/// A shorter last term is matched exactly: a one-letter prefix matches most of the
/// vocabulary and says nothing.
pub const MIN_PREFIX_CHARS: usize = 2;
/// At most this many digits are joined into one number: E.164 numbers have 15, order
/// numbers fewer; a longer run of groups is a list or a table, not one number.
pub const MAX_RUN_DIGITS: usize = 20;
/// At most this many separator characters between two digit groups of one number
/// (`) - ` is three).
const MAX_JOINERS: usize = 3;

/// Normalises a text for the search column: space-separated tokens, each once.
pub fn index_text(text: &str) -> String {
    let mut sink = Sink::new(MAX_INDEX_BYTES, usize::MAX);
    analyse(text, Mode::Index, &mut sink);
    sink.out.join(" ")
}

/// The terms of a user query, all to be matched exactly (AND). Use [`search_query`] for
/// search-as-you-type with the last term as a prefix.
pub fn query_terms(query: &str) -> Vec<String> {
    let mut sink = Sink::new(usize::MAX, MAX_QUERY_TERMS);
    analyse(query, Mode::Query, &mut sink);
    sink.out
}

/// The terms of a text in order, repeated as they occur, computed as a query's terms are
/// (one term per word or number): what a quoted phrase is checked against. Bounded like
/// [`index_text`].
pub fn token_sequence(text: &str) -> Vec<String> {
    let mut sink = Sink::new(MAX_INDEX_BYTES, usize::MAX);
    sink.dedup = false;
    analyse(text, Mode::Query, &mut sink);
    sink.out
}

/// Like [`query_terms`] with a caller's bound on the number of terms (a caller that
/// refuses over-long queries asks for one more than it accepts).
pub fn query_terms_upto(query: &str, max_terms: usize) -> Vec<String> {
    let mut sink = Sink::new(usize::MAX, max_terms);
    analyse(query, Mode::Query, &mut sink);
    sink.out
}

/// A parsed query: every term in `exact` must be a token of the message, and when
/// `prefix` is set some token must also start with it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SearchQuery {
    pub exact: Vec<String>,
    pub prefix: Option<String>,
}

impl SearchQuery {
    /// True when the query has no term; the caller should not search at all then
    /// (an empty AND would match every message).
    pub fn is_empty(&self) -> bool {
        self.exact.is_empty() && self.prefix.is_none()
    }

    /// Whether a value produced by [`index_text`] matches this query. The databases do
    /// the same with their indexes; this is the definition they are tested against.
    pub fn matches(&self, indexed: &str) -> bool {
        if self.is_empty() {
            return false;
        }
        let tokens: HashSet<&str> = indexed.split(' ').collect();
        self.exact.iter().all(|t| tokens.contains(t.as_str()))
            && self
                .prefix
                .as_deref()
                .is_none_or(|p| tokens.iter().any(|t| t.starts_with(p)))
    }
}

/// Parses a query for search-as-you-type: the same terms as [`query_terms`], with the
/// last one moved to `prefix` when it has at least [`MIN_PREFIX_CHARS`] characters.
pub fn search_query(query: &str) -> SearchQuery {
    let mut exact = query_terms(query);
    let prefix = match exact.last() {
        Some(last) if last.chars().count() >= MIN_PREFIX_CHARS => exact.pop(),
        _ => None,
    };
    SearchQuery { exact, prefix }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// Emit every form a later query may use.
    Index,
    /// Emit the fewest terms that identify what was typed.
    Query,
}

/// The lexer's output: a token, or one separator character (all whitespace is `' '`).
#[derive(Debug, Clone, PartialEq, Eq)]
enum Atom {
    Word(String),
    Sep(char),
}

/// Collects tokens: deduplicated, within a byte budget and a count budget.
struct Sink {
    out: Vec<String>,
    seen: HashSet<String>,
    bytes: usize,
    max_bytes: usize,
    max_tokens: usize,
    /// Keep each token once (the index); off for [`token_sequence`], where order and
    /// repetition are what a phrase is checked against.
    dedup: bool,
}

impl Sink {
    fn new(max_bytes: usize, max_tokens: usize) -> Self {
        Self {
            out: Vec::new(),
            seen: HashSet::new(),
            bytes: 0,
            max_bytes,
            max_tokens,
            dedup: true,
        }
    }

    fn full(&self) -> bool {
        self.out.len() >= self.max_tokens || self.bytes >= self.max_bytes
    }

    fn push(&mut self, token: &str) {
        if token.is_empty() || token.chars().count() > MAX_TOKEN_CHARS || self.full() {
            return;
        }
        // One byte for the separating space.
        let cost = token.len() + usize::from(!self.out.is_empty());
        if self.bytes + cost > self.max_bytes || (self.dedup && self.seen.contains(token)) {
            return;
        }
        self.bytes += cost;
        if self.dedup {
            self.seen.insert(token.to_string());
        }
        self.out.push(token.to_string());
    }
}

fn analyse(text: &str, mode: Mode, sink: &mut Sink) {
    let atoms = lex(truncate(text, MAX_INPUT_BYTES));
    let ru = Stemmer::create(Algorithm::Russian);
    let en = Stemmer::create(Algorithm::English);
    let stem = |w: &str| -> String {
        match script(w) {
            Script::Cyrillic => ru.stem(w).into_owned(),
            Script::Latin => en.stem(w).into_owned(),
            Script::Other => w.to_string(),
        }
    };
    // In index mode the atoms of an address are also analysed one by one; this keeps a
    // later part of the same address from being taken for another address.
    let mut email_until = 0;
    let mut i = 0;
    while i < atoms.len() && !sink.full() {
        let Atom::Word(word) = &atoms[i] else {
            i += 1;
            continue;
        };
        if i >= email_until
            && starts_chain(&atoms, i)
            && let Some((end, compact)) = match_email(&atoms, i)
        {
            sink.push(&compact);
            email_until = end;
            if mode == Mode::Query {
                i = end;
                continue;
            }
        }
        if is_digits(word) {
            let (groups, end) = digit_run(&atoms, i);
            push_number(&groups, mode, sink);
            i = end;
            continue;
        }
        // An order or model number written `A-1234`: also one compact token `a1234`, so
        // `A1234` and `A-1234` find each other; a query uses only the compact token.
        if let Some(compact) = dashed_code(&atoms, i) {
            sink.push(&compact);
            if mode == Mode::Query {
                i += 3;
                continue;
            }
        }
        let has_digit = word.chars().any(|c| c.is_ascii_digit());
        if has_digit && word.chars().any(char::is_alphabetic) {
            sink.push(word);
            if mode == Mode::Index {
                for part in split_letters_digits(word) {
                    if is_digits(part) {
                        push_number(&[part], mode, sink);
                    } else {
                        sink.push(&stem(part));
                    }
                }
            }
        } else {
            sink.push(&stem(word));
        }
        i += 1;
    }
}

/// `letters-digits` starting at the word `atoms[i]` (a letters-only word, one ASCII `-`,
/// a digits-only word that does not continue as a longer number): its compact token.
fn dashed_code(atoms: &[Atom], i: usize) -> Option<String> {
    let (Some(Atom::Word(letters)), Some(Atom::Sep('-')), Some(Atom::Word(digits))) =
        (atoms.get(i), atoms.get(i + 1), atoms.get(i + 2))
    else {
        return None;
    };
    let continues = matches!(
        (atoms.get(i + 3), atoms.get(i + 4)),
        (Some(Atom::Sep(c)), Some(Atom::Word(w))) if is_number_joiner(*c) && *c != ' ' && is_digits(w)
    );
    (letters.chars().all(char::is_alphabetic) && is_digits(digits) && !continues)
        .then(|| format!("{letters}{digits}"))
}

/// Cuts `text` to at most `max` bytes at a character boundary.
fn truncate(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

fn is_combining_mark(c: char) -> bool {
    ('\u{0300}'..='\u{036F}').contains(&c)
}

/// Characters that are invisible inside a word (soft hyphen, zero-width joiners, word
/// joiner, byte-order mark): copy-pasted text carries them and they must not split it.
fn is_ignorable(c: char) -> bool {
    matches!(
        c,
        '\u{00AD}' | '\u{200C}' | '\u{200D}' | '\u{2060}' | '\u{FEFF}'
    )
}

/// Splits normalised text into words and single separator characters.
fn lex(text: &str) -> Vec<Atom> {
    let mut atoms = Vec::new();
    let mut word = String::new();
    for c in text.chars() {
        if is_ignorable(c) {
            continue;
        }
        if is_combining_mark(c) {
            // Decomposed «й» is «и» + U+0306; every other accent is dropped.
            if c == '\u{0306}' && word.ends_with('и') {
                word.pop();
                word.push('й');
            }
            continue;
        }
        if c.is_alphanumeric() {
            for l in c.to_lowercase() {
                match l {
                    'ё' => word.push('е'),
                    // `İ` lowercases to `i` + U+0307; the dot is an accent like any other.
                    l if is_combining_mark(l) => {}
                    l => word.push(l),
                }
            }
            continue;
        }
        if !word.is_empty() {
            atoms.push(Atom::Word(std::mem::take(&mut word)));
        }
        let sep = if c.is_whitespace() || c == '\u{200B}' {
            ' '
        } else {
            c
        };
        if sep != ' ' || atoms.last() != Some(&Atom::Sep(' ')) {
            atoms.push(Atom::Sep(sep));
        }
    }
    if !word.is_empty() {
        atoms.push(Atom::Word(word));
    }
    atoms
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Script {
    Cyrillic,
    Latin,
    Other,
}

fn is_cyrillic(c: char) -> bool {
    matches!(c, '\u{0400}'..='\u{052F}')
}

fn is_latin(c: char) -> bool {
    c.is_ascii_alphabetic()
        || (matches!(c, '\u{00C0}'..='\u{024F}' | '\u{1E00}'..='\u{1EFF}') && c.is_alphabetic())
}

/// The stemmer a word gets: only single-script, letters-only words are stemmed.
fn script(word: &str) -> Script {
    if !word.is_empty() && word.chars().all(is_cyrillic) {
        Script::Cyrillic
    } else if !word.is_empty() && word.chars().all(is_latin) {
        Script::Latin
    } else {
        Script::Other
    }
}

fn is_digits(word: &str) -> bool {
    !word.is_empty() && word.bytes().all(|b| b.is_ascii_digit())
}

/// Splits `ord12345x` into `ord`, `12345`, `x`.
fn split_letters_digits(word: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut start = 0;
    let mut prev_digit = None;
    for (i, c) in word.char_indices() {
        let digit = c.is_ascii_digit();
        if prev_digit.is_some_and(|p| p != digit) {
            parts.push(&word[start..i]);
            start = i;
        }
        prev_digit = Some(digit);
    }
    parts.push(&word[start..]);
    parts
}

/// Separators that may stand between the digit groups of one phone or order number.
fn is_number_joiner(c: char) -> bool {
    matches!(
        c,
        ' ' | '-' | '.' | '(' | ')' | '+' | '\u{2010}'..='\u{2015}' | '\u{2212}'
    )
}

/// Collects the digit groups of one number starting at the digits word `atoms[start]`;
/// returns them and the index after the last one.
fn digit_run(atoms: &[Atom], start: usize) -> (Vec<&str>, usize) {
    let mut groups = Vec::new();
    let mut digits = 0;
    let mut end = start;
    if let Atom::Word(w) = &atoms[start] {
        groups.push(w.as_str());
        digits = w.len();
        end = start + 1;
    }
    loop {
        let mut k = end;
        while k < atoms.len() && k - end < MAX_JOINERS {
            match atoms[k] {
                Atom::Sep(c) if is_number_joiner(c) => k += 1,
                _ => break,
            }
        }
        if k == end {
            break;
        }
        match atoms.get(k) {
            Some(Atom::Word(w)) if is_digits(w) && digits + w.len() <= MAX_RUN_DIGITS => {
                groups.push(w.as_str());
                digits += w.len();
                end = k + 1;
            }
            _ => break,
        }
    }
    (groups, end)
}

/// The 10-digit national part of a Russian number written with `7` or `8` in front.
fn ru_national(number: &str) -> Option<&str> {
    (number.len() == 11 && (number.starts_with('7') || number.starts_with('8')))
        .then(|| &number[1..])
}

fn push_with_national(n: &str, sink: &mut Sink) {
    sink.push(n);
    if let Some(national) = ru_national(n) {
        sink.push(national);
    }
}

fn push_number(groups: &[&str], mode: Mode, sink: &mut Sink) {
    match mode {
        Mode::Index => {
            for g in groups {
                push_with_national(g, sink);
            }
            if groups.len() > 1 {
                for from in 0..groups.len() - 1 {
                    push_with_national(&groups[from..].concat(), sink);
                }
            }
        }
        Mode::Query => {
            let all = groups.concat();
            sink.push(ru_national(&all).unwrap_or(&all));
        }
    }
}

/// Characters allowed between the words of an address's local part.
fn is_local_joiner(c: char) -> bool {
    matches!(c, '.' | '_' | '+' | '-')
}

/// Whether the word `atoms[i]` is not the continuation of a `word.word` chain: an
/// address is only looked for from the start of one, so an over-long local part does
/// not turn into a shorter address and each chain is scanned once.
fn starts_chain(atoms: &[Atom], i: usize) -> bool {
    i < 2
        || !matches!(
            (&atoms[i - 2], &atoms[i - 1]),
            (Atom::Word(_), Atom::Sep(c)) if is_local_joiner(*c)
        )
}

/// Recognises `local@domain.tld` starting at the word `atoms[start]`; returns the index
/// after the address and its compact token (letters and digits only). The scan stops as
/// soon as the token would be too long, so a long chain of dotted words costs little.
fn match_email(atoms: &[Atom], start: usize) -> Option<(usize, String)> {
    let word = |k: usize| match atoms.get(k) {
        Some(Atom::Word(w)) => Some(w.as_str()),
        _ => None,
    };
    let sep = |k: usize| match atoms.get(k) {
        Some(Atom::Sep(c)) => Some(*c),
        _ => None,
    };
    let too_long = |s: &str| s.chars().count() > MAX_TOKEN_CHARS;
    let mut compact = String::new();
    let mut k = start;
    // Local part: words joined by single `.`, `_`, `+` or `-`.
    loop {
        compact.push_str(word(k)?);
        if too_long(&compact) {
            return None;
        }
        k += 1;
        match sep(k) {
            Some(c) if is_local_joiner(c) && word(k + 1).is_some() => k += 1,
            _ => break,
        }
    }
    if sep(k) != Some('@') {
        return None;
    }
    k += 1;
    // Domain: labels joined by `.` or `-`, at least one dot, a top level that is not a
    // number (so `user@10.0` in a sentence is not an address).
    let mut dots = 0;
    let mut last_label;
    loop {
        last_label = word(k)?;
        compact.push_str(last_label);
        if too_long(&compact) {
            return None;
        }
        k += 1;
        match sep(k) {
            Some(c @ ('.' | '-')) if word(k + 1).is_some() => {
                dots += usize::from(c == '.');
                k += 1;
            }
            _ => break,
        }
    }
    (dots > 0 && !is_digits(last_label)).then_some((k, compact))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toks(text: &str) -> Vec<String> {
        index_text(text).split(' ').map(str::to_string).collect()
    }

    /// Whether the search-as-you-type query `q` finds a message with text `text`.
    fn finds(q: &str, text: &str) -> bool {
        search_query(q).matches(&index_text(text))
    }

    /// Whether `q` finds `text` with every term matched exactly.
    fn finds_exact(q: &str, text: &str) -> bool {
        SearchQuery {
            exact: query_terms(q),
            prefix: None,
        }
        .matches(&index_text(text))
    }

    #[test]
    fn russian_inflections_meet_in_one_stem() {
        let forms = ["Доставка заказа", "доставки заказов", "ДОСТАВКУ заказом"];
        for a in forms {
            for b in forms {
                assert!(finds_exact(a, b), "{a:?} should find {b:?}");
            }
        }
        assert_eq!(query_terms("ДОСТАВКУ"), query_terms("доставка"));
        assert!(!finds_exact("доставка", "заказ оплачен"));
    }

    #[test]
    fn yo_is_ye() {
        assert_eq!(index_text("ёлка"), index_text("елка"));
        assert_eq!(index_text("ЁЛКА"), index_text("елка"));
        assert!(finds_exact("Ёлки", "новогодняя елка"));
        // Decomposed ё (е + combining diaeresis) is the same letter.
        assert_eq!(index_text("е\u{0308}лка"), index_text("елка"));
    }

    #[test]
    fn english_stems() {
        let t = toks("Running runs ran");
        assert_eq!(t, ["run", "ran"]);
        assert!(finds_exact("delivered", "Delivery delivering"));
        assert!(finds_exact("ORDERS", "your order"));
    }

    #[test]
    fn mixed_script_and_alphanumeric_tokens_are_not_stemmed() {
        // Latin «a» inside a Cyrillic word: no stemmer applies, the word stays whole.
        assert_eq!(toks("достaвка"), ["достaвка"]);
        assert_eq!(query_terms("iPhone15"), ["iphone15"]);
        let t = toks("iPhone15");
        assert!(t.contains(&"iphone15".to_string()));
        assert!(t.contains(&"iphon".to_string()));
        assert!(t.contains(&"15".to_string()));
        assert!(finds_exact("iphone", "новый iPhone15"));
    }

    #[test]
    fn accents_and_invisible_characters_do_not_split_words() {
        assert_eq!(index_text("доста\u{0301}вка"), index_text("доставка"));
        assert_eq!(index_text("до\u{00AD}ставка"), index_text("доставка"));
        assert_eq!(index_text("дос\u{200D}тавка"), index_text("доставка"));
        // Decomposed й composes; it must not turn into и.
        assert_eq!(index_text("и\u{0306}од"), index_text("йод"));
        assert_eq!(index_text("И\u{0306}ОД"), index_text("йод"));
        assert_ne!(index_text("йод"), index_text("иод"));
        // A zero-width space is a space.
        assert_eq!(toks("один\u{200B}два").len(), 2);
    }

    #[test]
    fn phone_numbers_are_found_in_every_usual_spelling() {
        let stored = "Перезвоните мне: +7 (999) 123-45-67, спасибо";
        for q in [
            "9991234567",
            "79991234567",
            "+79991234567",
            "89991234567",
            "8 (999) 123-45-67",
            "+7 999 123 45 67",
            "123-45-67",
            "1234567",
            "999",
        ] {
            assert!(finds_exact(q, stored), "{q:?} should find {stored:?}");
        }
        // Stored without separators, searched with them.
        assert!(finds_exact("+7 (999) 123-45-67", "мой номер 89991234567"));
        assert!(finds_exact("999 123 45 67", "мой номер 89991234567"));
        // Another number does not match.
        assert!(!finds_exact("9991234568", stored));
        assert!(!finds_exact("123-45-68", stored));
        // Typing the beginning of the number.
        assert!(finds("999 123", stored));
    }

    #[test]
    fn number_tokens_are_digits_only() {
        let t = toks("+7 (999) 123-45-67");
        for expected in ["7", "999", "123", "45", "67", "79991234567", "9991234567"] {
            assert!(t.contains(&expected.to_string()), "{expected} in {t:?}");
        }
        assert_eq!(query_terms("+7 (999) 123-45-67"), ["9991234567"]);
    }

    #[test]
    fn order_numbers() {
        let stored = "Заказ №12345 от 01.02.2026, трек RA123456789RU";
        assert!(finds_exact("12345", stored));
        assert!(finds_exact("заказ 12345", stored));
        assert!(finds_exact("№ 12345", stored));
        assert!(finds_exact("ra123456789ru", stored));
        assert!(finds_exact("123456789", stored));
        assert!(finds_exact("2026", stored));
        assert!(!finds_exact("12346", stored));
        assert!(finds_exact("ORD-4411", "order ord-4411 shipped"));
        assert!(finds_exact("A-1234", "заказ A1234"));
        assert!(finds_exact("a1234", "заказ A-1234 оплачен"));
        assert!(finds_exact("1234", "заказ A-1234 оплачен"));
        assert!(!finds_exact("A-1234", "заказ A-12345"));
        assert!(!finds_exact("A-1234", "A-99, 1234"));
        assert_eq!(query_terms("A-1234"), ["a1234"]);
        assert!(finds_exact("4411", "order ORD4411 shipped"));
    }

    #[test]
    fn long_digit_sequences_are_split() {
        // 30 one-digit groups: no number longer than MAX_RUN_DIGITS is built.
        let text = (0..30).map(|i| (i % 10).to_string()).collect::<Vec<_>>();
        for t in toks(&text.join(" ")) {
            assert!(t.len() <= MAX_RUN_DIGITS, "{t}");
        }
    }

    #[test]
    fn email_addresses() {
        let stored = "Пишите на Ivan.Petrov@Mail.ru, отвечу";
        assert!(finds_exact("ivan.petrov@mail.ru", stored));
        assert!(finds_exact("IVAN.PETROV@MAIL.RU", stored));
        assert!(finds_exact("ivan.petrov", stored));
        assert!(finds_exact("petrov", stored));
        assert!(finds_exact("ivan", stored));
        assert!(!finds_exact("ivan.petrov@gmail.com", stored));
        assert!(!finds_exact("petr@mail.ru", stored));
        assert_eq!(query_terms("ivan.petrov@mail.ru"), ["ivanpetrovmailru"]);
        assert!(toks(stored).contains(&"ivanpetrovmailru".to_string()));
        // Digits in the local part follow the same number rules on both sides.
        assert!(finds_exact("user.12.34", "user.12.34@shop.ru"));
        assert!(finds_exact("user.12.34@shop.ru", "от user.12.34@shop.ru"));
        // Not addresses: no dot in the domain, numeric top level.
        assert!(!toks("ivan@localhost").contains(&"ivanlocalhost".to_string()));
        assert!(!toks("a@10.0").contains(&"a100".to_string()));
    }

    #[test]
    fn markup_and_query_syntax_cannot_get_through() {
        let hostile = r#"<script>alert("x")</script> "quoted" NEAR(a b) col:val * ^ OR -x & | ! ' ; -- /* */"#;
        for out in [index_text(hostile), query_terms(hostile).join(" ")] {
            assert!(
                out.chars().all(|c| c == ' ' || c.is_alphanumeric()),
                "{out:?}"
            );
            assert!(!out.contains("  "));
        }
        assert_eq!(toks("<b>Привет</b>"), ["b", "привет"]);
    }

    #[test]
    fn empty_and_whitespace() {
        for s in ["", "   ", "\n\t \u{00A0}", "!!! ... ---", "\u{200B}"] {
            assert_eq!(index_text(s), "", "{s:?}");
            assert!(query_terms(s).is_empty());
            assert!(search_query(s).is_empty());
        }
        // An empty query matches nothing rather than everything.
        assert!(!search_query("").matches(&index_text("доставка")));
    }

    #[test]
    fn output_is_deduplicated_in_order() {
        assert_eq!(
            toks("заказ Заказа ЗАКАЗ доставка заказ"),
            ["заказ", "доставк"]
        );
    }

    #[test]
    fn long_tokens_are_dropped() {
        let long = "a".repeat(MAX_TOKEN_CHARS + 1);
        // Greek: two bytes a letter and no stemmer, so the token stays as it is.
        let ok = "α".repeat(MAX_TOKEN_CHARS);
        assert!(!index_text(&long).contains('a'));
        assert_eq!(index_text(&format!("{long} кот")), "кот");
        assert!(query_terms(&long).is_empty());
        // The limit is in characters, not bytes.
        assert_eq!(index_text(&ok).chars().count(), MAX_TOKEN_CHARS);
    }

    #[test]
    fn a_megabyte_input_is_bounded() {
        // Distinct words so that deduplication cannot be what keeps it small.
        let mut text = String::new();
        let mut n = 0u32;
        while text.len() < 1024 * 1024 {
            text.push_str(&format!("слово{n} w{n} {n}-{n} "));
            n += 1;
        }
        let out = index_text(&text);
        assert!(!out.is_empty());
        assert!(out.len() <= MAX_INDEX_BYTES, "{} bytes", out.len());
        // Only the beginning was considered.
        assert!(out.contains("слово0"));
        assert!(!out.contains(&format!("слово{}", n - 1)));
        assert!(query_terms(&text).len() <= MAX_QUERY_TERMS);

        // Many small numbers produce more tokens than text: the byte cap holds.
        let digits = "1 2 3 4 5 6 7 8 9 0 ".repeat(100_000);
        assert!(index_text(&digits).len() <= MAX_INDEX_BYTES);
        // One huge word with no separator at all.
        assert_eq!(index_text(&"я".repeat(1024 * 1024)), "");
        // Words past MAX_INPUT_BYTES are not indexed even when the output is tiny.
        let late = format!("{}кенгуру", "да ".repeat(MAX_INPUT_BYTES / 5 + 1));
        assert_eq!(index_text(&late), "да");
        let early = format!("{}кенгуру", "да ".repeat(MAX_INPUT_BYTES / 5 - 10));
        assert_eq!(index_text(&early), "да кенгур");
        // Truncation respects character boundaries.
        let odd = format!("a{}", "ж".repeat(MAX_INPUT_BYTES));
        assert_eq!(index_text(&odd), "");
    }

    #[test]
    fn many_dotted_words_are_cheap_and_not_addresses() {
        let text = "a.".repeat(30_000);
        assert_eq!(index_text(&text), "a");
        let text = format!("{}a@x.ru", "a.".repeat(70));
        // The local part is too long for a token: no compact token, the parts remain.
        assert_eq!(index_text(&text), "a x ru");
    }

    #[test]
    fn last_term_is_a_prefix() {
        assert_eq!(
            search_query("быстрая достав"),
            SearchQuery {
                exact: vec!["быстр".into()],
                // The stemmer reads the fragment's «в» as a gerund ending; the stem is
                // still the beginning of «доставк».
                prefix: Some("доста".into()),
            }
        );
        assert!(finds("достав", "Доставка заказа"));
        assert!(finds("заказ дост", "Доставка заказа"));
        assert!(finds("deliv", "Delivery is late"));
        assert!(finds("доставка", "доставкой"));
        // Earlier terms are not prefixes.
        assert!(!finds("дост заказ", "Доставка заказа"));
        // One-character last terms are exact.
        assert_eq!(search_query("заказ я").prefix, None);
        assert_eq!(search_query("заказ я").exact, ["заказ", "я"]);
        assert!(!finds("достав", "заказ оплачен"));
    }
}
