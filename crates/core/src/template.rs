//! Canned-response templating: `Здравствуйте, {{ contact.name | default: "клиент" }}!`.
//!
//! Operators write these by hand, so the language is deliberately tiny and forgiving:
//! anything that is not exactly a placeholder stays as text, and a variable with no
//! value stays visible (and is reported) rather than silently disappearing from a
//! message a customer will read.
//!
//! # Grammar
//!
//! ```text
//! template    = { text | escape | placeholder }
//! escape      = "\{{"                      renders as "{{"
//! placeholder = "{{" ws* path ws* [ "|" ws* "default" ws* ":" ws* string ws* ] "}}"
//! path        = segment { "." segment }    at most 128 bytes
//! segment     = 1*( ASCII letter | digit | "_" | "-" )
//! string      = '"' … '"' | "'" … "'" | "«" … "»"
//!               inside "…" and '…' a backslash escapes the quote or a backslash
//! ws          = any Unicode whitespace (a pasted no-break space included)
//! ```
//!
//! * A `{{` that does not start a well-formed placeholder (unterminated, an unknown
//!   filter, a space inside the path, a placeholder longer than
//!   [`MAX_PLACEHOLDER_BYTES`]) is text: its first `{` is output and scanning resumes
//!   right after it, so `{{{name}}}` renders as `{` + value + `}`.
//! * There is no way to put a backslash right before a placeholder; `\{{` always
//!   means a literal `{{`. A backslash anywhere else is an ordinary character.
//! * A value is used when the lookup returns text that is not blank. Otherwise the
//!   default is used; with no default the placeholder is left in the output exactly as
//!   written and its path is added to [`Rendered::missing`] so the console can warn
//!   before sending. Blank counts as missing because "Здравствуйте, !" is precisely the
//!   mistake the warning is for.
//! * Values and defaults are inserted as they are and never scanned again: a contact
//!   named `{{agent.name}}` stays `{{agent.name}}`.
//! * The output stops at [`MAX_RENDERED_BYTES`] (at a character boundary) and
//!   [`Rendered::truncated`] says so; lookups return whatever they like, so their total is
//!   not otherwise bounded.

/// Upper bound of a rendered text. Above the longest message the service accepts, so
/// that limit, with its own error, is the one an operator meets.
pub const MAX_RENDERED_BYTES: usize = 1024 * 1024;
/// A placeholder longer than this is text. Bounding it keeps a template full of
/// unterminated `{{` linear to scan.
pub const MAX_PLACEHOLDER_BYTES: usize = 2048;
/// Longest variable path.
pub const MAX_PATH_BYTES: usize = 128;

/// The result of [`render`].
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Rendered {
    /// The text with every known variable substituted.
    pub text: String,
    /// Paths of variables that had no value and no default, each once, in order of
    /// first use; their placeholders are still in `text`.
    pub missing: Vec<String>,
    /// The output reached [`MAX_RENDERED_BYTES`] and was cut there.
    pub truncated: bool,
}

/// Renders `template`, asking `vars` for the value of each placeholder's path.
pub fn render(template: &str, vars: &dyn Fn(&str) -> Option<String>) -> Rendered {
    render_inner(template, vars, true)
}

/// Like [`render`], but a variable whose lookup returns text is used even when that text
/// is blank. For Parley's own messages (`crate::texts`), where an empty value (a visitor
/// with no name) must read as nothing rather than leave `{{contact}}` in front of a
/// customer; only unknown paths stay visible.
pub fn render_known(template: &str, vars: &dyn Fn(&str) -> Option<String>) -> Rendered {
    render_inner(template, vars, false)
}

fn render_inner(
    template: &str,
    vars: &dyn Fn(&str) -> Option<String>,
    blank_is_missing: bool,
) -> Rendered {
    let mut out = Output::default();
    let mut missing: Vec<String> = Vec::new();
    for piece in Pieces::new(template) {
        if out.truncated {
            break;
        }
        match piece {
            Piece::Text(t) => out.push(t),
            Piece::Placeholder { raw, path, default } => {
                let value = vars(path).filter(|v| !blank_is_missing || !v.trim().is_empty());
                match (value, default) {
                    (Some(v), _) => out.push(&v),
                    (None, Some(d)) => out.push(&d),
                    (None, None) => {
                        out.push(raw);
                        if !missing.iter().any(|m| m == path) {
                            missing.push(path.to_string());
                        }
                    }
                }
            }
        }
    }
    Rendered {
        text: out.text,
        missing,
        truncated: out.truncated,
    }
}

/// The variable paths a template uses, each once, in order of first use (escaped and
/// malformed placeholders are not variables).
pub fn variables(template: &str) -> Vec<String> {
    let mut vars: Vec<String> = Vec::new();
    for piece in Pieces::new(template) {
        if let Piece::Placeholder { path, .. } = piece
            && !vars.iter().any(|v| v == path)
        {
            vars.push(path.to_string());
        }
    }
    vars
}

#[derive(Default)]
struct Output {
    text: String,
    truncated: bool,
}

impl Output {
    fn push(&mut self, s: &str) {
        let room = MAX_RENDERED_BYTES - self.text.len();
        if s.len() <= room {
            self.text.push_str(s);
            return;
        }
        let mut end = room;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        self.text.push_str(&s[..end]);
        self.truncated = true;
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Piece<'a> {
    Text(&'a str),
    Placeholder {
        /// The placeholder as written, braces included.
        raw: &'a str,
        path: &'a str,
        default: Option<String>,
    },
}

/// Splits a template into text and placeholders.
struct Pieces<'a> {
    s: &'a str,
    pos: usize,
}

impl<'a> Pieces<'a> {
    fn new(s: &'a str) -> Self {
        Self { s, pos: 0 }
    }
}

impl<'a> Iterator for Pieces<'a> {
    type Item = Piece<'a>;

    fn next(&mut self) -> Option<Piece<'a>> {
        let rest = &self.s[self.pos..];
        if rest.is_empty() {
            return None;
        }
        if rest.starts_with("\\{{") {
            self.pos += 3;
            return Some(Piece::Text("{{"));
        }
        if rest.starts_with("{{") {
            if let Some((piece, used)) = parse_placeholder(rest) {
                self.pos += used;
                return Some(piece);
            }
            self.pos += 1;
            return Some(Piece::Text("{"));
        }
        // Plain text up to the next `{` or `\` (both ASCII, so any index found is a
        // character boundary); a lone one that starts `rest` is text of one byte.
        let end = match rest.find(['{', '\\']) {
            Some(0) => 1,
            Some(i) => i,
            None => rest.len(),
        };
        self.pos += end;
        Some(Piece::Text(&rest[..end]))
    }
}

/// A cursor over the beginning of a placeholder; every step fails past
/// [`MAX_PLACEHOLDER_BYTES`].
struct Cursor<'a> {
    s: &'a str,
    i: usize,
}

impl Cursor<'_> {
    fn peek(&self) -> Option<char> {
        if self.i >= MAX_PLACEHOLDER_BYTES {
            return None;
        }
        self.s[self.i..].chars().next()
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.i += c.len_utf8();
        Some(c)
    }

    fn eat(&mut self, lit: &str) -> bool {
        if self.i + lit.len() <= MAX_PLACEHOLDER_BYTES && self.s[self.i..].starts_with(lit) {
            self.i += lit.len();
            true
        } else {
            false
        }
    }

    fn skip_ws(&mut self) {
        while self.peek().is_some_and(char::is_whitespace) {
            self.i += self.peek().map_or(0, char::len_utf8);
        }
    }
}

fn is_path_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == '-'
}

/// Parses the placeholder at the start of `s` (which starts with `{{`); returns it and
/// its length in bytes, or `None` when it is not well formed.
fn parse_placeholder(s: &str) -> Option<(Piece<'_>, usize)> {
    let mut c = Cursor { s, i: 2 };
    c.skip_ws();
    let path_start = c.i;
    let mut last_was_dot = true;
    while let Some(ch) = c.peek() {
        if is_path_char(ch) {
            last_was_dot = false;
        } else if ch == '.' && !last_was_dot {
            last_was_dot = true;
        } else {
            break;
        }
        c.i += 1;
        if c.i - path_start > MAX_PATH_BYTES {
            return None;
        }
    }
    if last_was_dot {
        // Empty path, or one ending in a dot.
        return None;
    }
    let path = &s[path_start..c.i];
    c.skip_ws();
    let mut default = None;
    if c.eat("|") {
        c.skip_ws();
        if !c.eat("default") {
            return None;
        }
        c.skip_ws();
        if !c.eat(":") {
            return None;
        }
        c.skip_ws();
        default = Some(parse_string(&mut c)?);
        c.skip_ws();
    }
    if !c.eat("}}") {
        return None;
    }
    let raw = &s[..c.i];
    Some((Piece::Placeholder { raw, path, default }, c.i))
}

/// Parses a quoted default value.
fn parse_string(c: &mut Cursor<'_>) -> Option<String> {
    let (close, escapes) = match c.bump()? {
        '"' => ('"', true),
        '\'' => ('\'', true),
        '«' => ('»', false),
        _ => return None,
    };
    let mut value = String::new();
    loop {
        match c.bump()? {
            ch if ch == close => return Some(value),
            '\\' if escapes => match c.peek() {
                Some(next) if next == close || next == '\\' => {
                    value.push(next);
                    c.bump();
                }
                _ => value.push('\\'),
            },
            ch => value.push(ch),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;

    fn vars(path: &str) -> Option<String> {
        match path {
            "contact.name" => Some("Анна".into()),
            "agent.name" => Some("Bob".into()),
            "contact.email" => Some("anna@example.com".into()),
            "conversation.id" => Some("42".into()),
            "contact.company" => Some("   ".into()),
            "contact.city" => Some(String::new()),
            "evil" => Some("{{agent.name}}".into()),
            _ => None,
        }
    }

    fn r(t: &str) -> Rendered {
        render(t, &vars)
    }

    #[test]
    fn substitutes_variables_ru_and_en() {
        let out = r("Здравствуйте, {{contact.name}}! Меня зовут {{ agent.name }}.");
        assert_eq!(out.text, "Здравствуйте, Анна! Меня зовут Bob.");
        assert!(out.missing.is_empty());
        assert!(!out.truncated);
        let out = r("Hi {{contact.name}}, ticket #{{conversation.id}} is closed.");
        assert_eq!(out.text, "Hi Анна, ticket #42 is closed.");
    }

    #[test]
    fn whitespace_inside_braces() {
        for t in [
            "{{contact.name}}",
            "{{ contact.name }}",
            "{{\tcontact.name\n}}",
            "{{\u{00A0}contact.name\u{00A0}}}",
        ] {
            assert_eq!(r(t).text, "Анна", "{t:?}");
        }
    }

    #[test]
    fn unknown_variables_stay_visible_and_are_reported() {
        let out = r("Привет, {{ contact.nmae }}! {{agent.phone}} {{ contact.nmae }}");
        assert_eq!(
            out.text,
            "Привет, {{ contact.nmae }}! {{agent.phone}} {{ contact.nmae }}"
        );
        assert_eq!(out.missing, ["contact.nmae", "agent.phone"]);
    }

    #[test]
    fn blank_values_count_as_missing() {
        let out = r("Компания: {{contact.company}}, город: {{contact.city}}");
        assert_eq!(
            out.text,
            "Компания: {{contact.company}}, город: {{contact.city}}"
        );
        assert_eq!(out.missing, ["contact.company", "contact.city"]);
    }

    #[test]
    fn defaults() {
        let out = r(r#"Здравствуйте, {{ contact.surname | default: "клиент" }}!"#);
        assert_eq!(out.text, "Здравствуйте, клиент!");
        assert!(out.missing.is_empty());
        // A known value wins over the default.
        assert_eq!(
            r(r#"{{contact.name|default:"клиент"}}"#).text,
            "Анна",
            "no spaces at all"
        );
        assert_eq!(
            r("{{ x | default: 'dear customer' }}").text,
            "dear customer"
        );
        assert_eq!(
            r("{{ x | default: «уважаемый клиент» }}").text,
            "уважаемый клиент"
        );
        assert_eq!(r("{{ contact.city | default: \"—\" }}").text, "—");
        // Escapes and braces inside the quoted default.
        assert_eq!(
            r(r#"{{ x | default: "say \"hi\" \\ }}" }}"#).text,
            r#"say "hi" \ }}"#
        );
        assert_eq!(r(r#"{{ x | default: "" }}"#).text, "");
        // The default is not expanded either.
        assert_eq!(
            r(r#"{{ x | default: "{{agent.name}}" }}"#).text,
            "{{agent.name}}"
        );
    }

    #[test]
    fn only_the_default_filter_exists() {
        for t in [
            "{{ contact.name | upcase }}",
            "{{ contact.name | default }}",
            "{{ contact.name | default: клиент }}",
            "{{ contact.name | default: \"клиент\" | upcase }}",
            "{{ contact.name | default: \"клиент }}",
        ] {
            let out = r(t);
            assert_eq!(out.text, t, "malformed placeholders stay as written");
            assert!(out.missing.is_empty());
            assert!(variables(t).is_empty());
        }
    }

    #[test]
    fn escapes() {
        assert_eq!(r(r"\{{contact.name}}").text, "{{contact.name}}");
        assert_eq!(
            r(r"Use \{{ contact.name }} for {{contact.name}}").text,
            "Use {{ contact.name }} for Анна"
        );
        assert!(variables(r"\{{contact.name}}").is_empty());
        // A backslash elsewhere is an ordinary character.
        assert_eq!(r(r"C:\path\{x} \n").text, r"C:\path\{x} \n");
        assert_eq!(r(r"\\{{agent.name}}").text, r"\{{agent.name}}");
    }

    #[test]
    fn unterminated_and_malformed_are_text() {
        for t in [
            "{{",
            "{{contact.name",
            "Привет, {{ contact.name",
            "{{ contact.name }",
            "{{}}",
            "{{ }}",
            "{{ contact name }}",
            "{{ .name }}",
            "{{ contact. }}",
            "{{ contact..name }}",
            "{{ имя }}",
            "}} {{ }",
        ] {
            let out = r(t);
            assert_eq!(out.text, t);
            assert!(out.missing.is_empty(), "{t:?}");
        }
        assert_eq!(
            r("{{contact.name {{agent.name}}").text,
            "{{contact.name Bob"
        );
    }

    #[test]
    fn no_recursion() {
        let out = r("Value: {{evil}}");
        assert_eq!(out.text, "Value: {{agent.name}}");
        assert!(out.missing.is_empty());
        // The lookup is asked for the template's placeholders only.
        let calls = Cell::new(0);
        let counting = |p: &str| {
            calls.set(calls.get() + 1);
            vars(p)
        };
        render("{{evil}} {{evil}}", &counting);
        assert_eq!(calls.get(), 2);
    }

    #[test]
    fn nested_and_repeated_braces() {
        assert_eq!(r("{{{contact.name}}}").text, "{Анна}");
        assert_eq!(r("{{{{agent.name}}}}").text, "{{Bob}}");
        assert_eq!(r("{{ {{agent.name}} }}").text, "{{ Bob }}");
        assert_eq!(r("{ contact.name }").text, "{ contact.name }");
        let braces = "{".repeat(10_000) + &"}".repeat(10_000);
        assert_eq!(r(&braces).text, braces);
        let mixed = "{{{}}}\\{{\\{}}{{|}}{{a|}}".repeat(1000);
        let out = r(&mixed);
        assert!(out.text.len() <= mixed.len());
        assert!(out.missing.is_empty());
    }

    #[test]
    fn variables_lists_paths_once_in_order() {
        let t = r#"{{agent.name}} {{ contact.name | default: "x" }} {{agent.name}} \{{hidden}} {{ conversation.custom_attributes.order-id }}"#;
        assert_eq!(
            variables(t),
            [
                "agent.name",
                "contact.name",
                "conversation.custom_attributes.order-id"
            ]
        );
        assert!(variables("просто текст").is_empty());
    }

    #[test]
    fn long_paths_and_placeholders_are_text() {
        let long_path = format!("{{{{{}}}}}", "a".repeat(MAX_PATH_BYTES + 1));
        assert_eq!(r(&long_path).text, long_path);
        let ok_path = format!("{{{{{}}}}}", "a".repeat(MAX_PATH_BYTES));
        assert_eq!(r(&ok_path).missing.len(), 1);
        let long_default = format!(
            "{{{{x|default:\"{}\"}}}}",
            "я".repeat(MAX_PLACEHOLDER_BYTES)
        );
        assert_eq!(r(&long_default).text, long_default);
        let long_ws = format!("{{{{{}x}}}}", " ".repeat(MAX_PLACEHOLDER_BYTES));
        assert_eq!(r(&long_ws).text, long_ws);
    }

    #[test]
    fn a_100_kb_template() {
        let unit = "Здравствуйте, {{ contact.name }}! {{ missing.var }} ";
        let t = unit.repeat(100 * 1024 / unit.len() + 1);
        assert!(t.len() >= 100 * 1024);
        let out = r(&t);
        assert_eq!(out.missing, ["missing.var"]);
        assert!(!out.truncated);
        assert!(out.text.contains("Здравствуйте, Анна! {{ missing.var }}"));
        assert!(!out.text.contains("{{ contact.name }}"));
        // Adversarial: many unterminated placeholders with long defaults.
        let unit = "{{a|default:\"";
        let t = unit.repeat(100 * 1024 / unit.len() + 1);
        assert_eq!(r(&t).text, t);
    }

    #[test]
    fn output_is_bounded() {
        let huge = "ж".repeat(MAX_RENDERED_BYTES);
        let big = move |_: &str| Some(huge.clone());
        let out = render("a{{x}}{{y}}", &big);
        assert!(out.truncated);
        assert!(out.text.len() <= MAX_RENDERED_BYTES);
        // Cut at a character boundary: `a` shifts the two-byte letters by one.
        assert!(out.text.len() == MAX_RENDERED_BYTES - 1);
        assert!(out.missing.is_empty());
        let out = render("{{x}}", &|_| Some("ok".into()));
        assert!(!out.truncated);
    }
}
