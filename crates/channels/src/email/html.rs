//! HTML bodies turned into plain text. Customer HTML is never rendered: the console shows
//! text, so nothing a sender writes can become markup, script or a tracking pixel there.
//! Block elements become line breaks, `<blockquote>` content becomes `> ` lines (so the
//! quote splitter can collapse it like a plain-text quote), links keep their target.

/// Converts an HTML document or fragment to plain text. Unknown tags are dropped with their
/// attributes; the text of `<script>`, `<style>`, `<head>` and `<title>` is dropped too.
pub fn to_text(html: &str) -> String {
    let mut out = Out::default();
    let mut rest = html;
    // Text of these elements is not shown to a reader of the mail.
    let mut hidden: Option<&'static str> = None;
    let mut pre = 0usize;
    let mut href: Option<(String, usize)> = None;
    while !rest.is_empty() {
        let Some(lt) = rest.find('<') else {
            if hidden.is_none() {
                out.text(&decode_entities(rest), pre > 0);
            }
            break;
        };
        if lt > 0 && hidden.is_none() {
            out.text(&decode_entities(&rest[..lt]), pre > 0);
        }
        rest = &rest[lt..];
        if let Some(after) = rest.strip_prefix("<!--") {
            rest = after.find("-->").map_or("", |e| &after[e + 3..]);
            continue;
        }
        let Some(gt) = tag_end(rest) else {
            // A lone '<' that opens no tag is text.
            if hidden.is_none() {
                out.text("<", pre > 0);
            }
            rest = &rest[1..];
            continue;
        };
        let tag = &rest[1..gt];
        rest = &rest[gt + 1..];
        let closing = tag.starts_with('/');
        let body = tag.trim_start_matches('/');
        let name_end = body
            .find(|c: char| c.is_whitespace() || c == '/' || c == '>')
            .unwrap_or(body.len());
        let name = body[..name_end].to_ascii_lowercase();
        if let Some(h) = hidden {
            if closing && name == h {
                hidden = None;
            }
            continue;
        }
        match (name.as_str(), closing) {
            ("script" | "style" | "head" | "title", false) => {
                hidden = Some(match name.as_str() {
                    "script" => "script",
                    "style" => "style",
                    "head" => "head",
                    _ => "title",
                });
            }
            ("br", _) => out.newline(),
            (
                "p" | "div" | "tr" | "table" | "ul" | "ol" | "h1" | "h2" | "h3" | "h4" | "h5"
                | "h6" | "section" | "article" | "header" | "footer" | "center" | "dl" | "dt"
                | "dd",
                _,
            ) => out.block(),
            ("hr", _) => {
                out.block();
                out.text("----------", true);
                out.block();
            }
            ("li", false) => {
                out.block();
                out.text("- ", true);
            }
            ("td" | "th", false) => out.text(" ", false),
            ("blockquote", false) => {
                out.block();
                out.quote += 1;
            }
            ("blockquote", true) => {
                out.block();
                out.quote = out.quote.saturating_sub(1);
            }
            ("pre", false) => {
                out.block();
                pre += 1;
            }
            ("pre", true) => {
                pre = pre.saturating_sub(1);
                out.block();
            }
            ("a", false) => {
                href = attribute(body, "href").map(|h| (h, out.buf.len()));
            }
            ("a", true) => {
                if let Some((target, start)) = href.take() {
                    let shown = out.buf.get(start..).unwrap_or("").trim().to_string();
                    let target = target.trim();
                    let linkish = target.starts_with("http://")
                        || target.starts_with("https://")
                        || target.starts_with("mailto:");
                    let same =
                        shown == target || Some(shown.as_str()) == target.strip_prefix("mailto:");
                    if linkish && !same {
                        out.text(&format!(" ({target})"), true);
                    }
                }
            }
            ("img", _) => {
                if let Some(alt) = attribute(body, "alt").filter(|a| !a.trim().is_empty()) {
                    out.text(&format!("[{}]", alt.trim()), false);
                }
            }
            _ => {}
        }
    }
    out.finish()
}

/// The end of a tag starting at `s[0] == '<'`, honouring quoted attribute values; `None` when
/// the '<' does not start a tag (`a < b`).
fn tag_end(s: &str) -> Option<usize> {
    let first = s[1..].chars().next()?;
    if !(first.is_ascii_alphabetic() || first == '/' || first == '!') {
        return None;
    }
    let mut quote: Option<char> = None;
    for (i, c) in s.char_indices().skip(1) {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '"' | '\'') => quote = Some(c),
            (None, '>') => return Some(i),
            _ => {}
        }
    }
    None
}

/// The value of attribute `name` in a tag's text (`a href="…" class=x`).
fn attribute(tag: &str, name: &str) -> Option<String> {
    let lower = tag.to_ascii_lowercase();
    let mut from = 0;
    while let Some(pos) = lower[from..].find(name) {
        let at = from + pos;
        from = at + name.len();
        let before_ok = at == 0 || lower.as_bytes()[at - 1].is_ascii_whitespace();
        let after = lower[from..].trim_start();
        if !before_ok || !after.starts_with('=') {
            continue;
        }
        let value_start = tag.len() - after.len() + 1;
        let v = tag[value_start..].trim_start();
        let value = match v.chars().next() {
            Some(q @ ('"' | '\'')) => v[1..].split(q).next().unwrap_or(""),
            _ => v
                .split(|c: char| c.is_whitespace() || c == '>')
                .next()
                .unwrap_or(""),
        };
        return Some(decode_entities(value));
    }
    None
}

/// Decodes the character references mail clients actually produce.
pub fn decode_entities(s: &str) -> String {
    if !s.contains('&') {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        rest = &rest[amp..];
        let end = rest[1..]
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '#'))
            .map(|i| i + 1)
            .unwrap_or(rest.len());
        let name = &rest[1..end];
        let decoded = if let Some(num) = name.strip_prefix('#') {
            let code = match num.strip_prefix(['x', 'X']) {
                Some(hex) => u32::from_str_radix(hex, 16).ok(),
                None => num.parse().ok(),
            };
            code.and_then(char::from_u32).map(String::from)
        } else {
            named_entity(name).map(String::from)
        };
        match decoded {
            Some(d) => {
                out.push_str(&d);
                rest = &rest[end..];
                if rest.starts_with(';') {
                    rest = &rest[1..];
                }
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

fn named_entity(name: &str) -> Option<&'static str> {
    Some(match name {
        "amp" => "&",
        "lt" => "<",
        "gt" => ">",
        "quot" => "\"",
        "apos" => "'",
        "nbsp" => "\u{a0}",
        "laquo" => "«",
        "raquo" => "»",
        "mdash" => "—",
        "ndash" => "–",
        "hellip" => "…",
        "copy" => "©",
        "reg" => "®",
        "trade" => "™",
        "euro" => "€",
        "rsquo" => "’",
        "lsquo" => "‘",
        "rdquo" => "”",
        "ldquo" => "“",
        "bdquo" => "„",
        "middot" => "·",
        "bull" => "•",
        "times" => "×",
        "deg" => "°",
        "numero" => "№",
        _ => return None,
    })
}

/// The text being built: whitespace collapsed like a browser does, `> ` prefixes inside
/// blockquotes.
#[derive(Default)]
struct Out {
    buf: String,
    quote: usize,
    /// The last thing written was whitespace (or nothing on this line yet).
    space: bool,
    line_start: bool,
}

impl Out {
    fn text(&mut self, s: &str, verbatim: bool) {
        for c in s.chars() {
            if c == '\n' && verbatim {
                self.newline();
                continue;
            }
            if c.is_whitespace() && c != '\u{a0}' && !verbatim {
                if !self.space && !self.at_line_start() {
                    self.buf.push(' ');
                }
                self.space = true;
                continue;
            }
            if self.at_line_start() && self.quote > 0 {
                for _ in 0..self.quote {
                    self.buf.push('>');
                }
                self.buf.push(' ');
            }
            self.buf.push(if c == '\u{a0}' { ' ' } else { c });
            self.space = false;
            self.line_start = false;
        }
    }

    fn at_line_start(&self) -> bool {
        self.buf.is_empty() || self.buf.ends_with('\n') || self.line_start
    }

    fn newline(&mut self) {
        while self.buf.ends_with(' ') {
            self.buf.pop();
        }
        self.buf.push('\n');
        self.space = true;
        self.line_start = false;
    }

    /// A block boundary: at most one blank line between blocks.
    fn block(&mut self) {
        while self.buf.ends_with(' ') {
            self.buf.pop();
        }
        if self.buf.is_empty() || self.buf.ends_with("\n\n") {
            return;
        }
        if !self.buf.ends_with('\n') {
            self.buf.push('\n');
        }
        self.space = true;
    }

    fn finish(self) -> String {
        let lines: Vec<&str> = self.buf.lines().map(str::trim_end).collect();
        let mut out = String::with_capacity(self.buf.len());
        let mut blank = 0;
        for l in lines {
            let empty = l.trim_start_matches('>').trim().is_empty();
            if empty {
                blank += 1;
                if blank > 1 {
                    continue;
                }
            } else {
                blank = 0;
            }
            out.push_str(l);
            out.push('\n');
        }
        out.trim().to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::to_text;

    #[test]
    fn markup_becomes_text_and_never_survives() {
        let t = to_text(
            "<html><head><title>x</title><style>p{}</style></head><body>\
             <p>Hello&nbsp;<b>world</b> &amp; &lt;script&gt;</p><script>alert(1)</script>\
             <div>Line&#32;2<br>Line 3</div><ul><li>one</li><li>two</li></ul>\
             <a href=\"https://shop.example/o/1\">order</a> <img src=x alt=\"logo\"></body></html>",
        );
        assert_eq!(
            t,
            "Hello world & <script>\nLine 2\nLine 3\n- one\n- two\norder (https://shop.example/o/1) [logo]"
        );
        assert!(!t.contains("alert"));
    }

    #[test]
    fn blockquotes_become_quote_lines() {
        let t = to_text(
            "<div>Thanks!</div><blockquote><p>Old text</p><blockquote>older</blockquote></blockquote>",
        );
        assert_eq!(t, "Thanks!\n> Old text\n>> older");
    }

    #[test]
    fn stray_angle_brackets_are_text() {
        assert_eq!(to_text("a < b and c > d"), "a < b and c > d");
        assert_eq!(to_text("<p title=\"a>b\">x</p>"), "x");
    }
}
