//! Splits a letter's text into what the customer wrote now and what is collapsed: the quoted
//! history their mail client appended and their signature. Agents read the new text; the
//! collapsed part stays available behind a toggle, so a wrong split hides nothing for good.
//!
//! Recognised (case-insensitive, in Russian and English, as Gmail, Outlook, Yandex Mail,
//! Mail.ru and Apple Mail write them):
//! - separators: `-----Original Message-----`, `-----Исходное сообщение-----`,
//!   `________________________________` (Outlook on the web);
//! - attribution lines ending in `wrote:`, `пишет:`, `написал:`, `написала:`,
//!   `написал(а):`, or in `>:` after an address (`… Иван <ivan@ya.ru>:`), also when the
//!   client wrapped it over two lines;
//! - Outlook's header block: `From:`/`От:` followed by `Sent:`/`Date:`/`Отправлено:`/`Дата:`;
//! - a trailing block of `>` lines (inline answers between `>` lines are kept whole);
//! - the signature delimiter `-- ` and "Sent from my …" / "Отправлено с/из …" lines.
//!
//! When everything would be collapsed (a letter that is only a forward), nothing is.

/// What the customer wrote, and the collapsed rest (quoted history and signature).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Split {
    /// The new text, trimmed.
    pub text: String,
    /// Quoted history and signature, trimmed; `None` when there was none.
    pub collapsed: Option<String>,
}

/// Splits `text` (plain text, `\n` line ends) at the first quote or signature marker.
pub fn split(text: &str) -> Split {
    let lines: Vec<&str> = text.lines().collect();
    let cut = find_cut(&lines);
    match cut {
        Some(at) => {
            let head = lines[..at].join("\n").trim().to_string();
            let tail = lines[at..].join("\n").trim().to_string();
            if head.is_empty() {
                Split {
                    text: text.trim().to_string(),
                    collapsed: None,
                }
            } else {
                Split {
                    text: head,
                    collapsed: (!tail.is_empty()).then_some(tail),
                }
            }
        }
        None => Split {
            text: text.trim().to_string(),
            collapsed: None,
        },
    }
}

fn find_cut(lines: &[&str]) -> Option<usize> {
    for (i, raw) in lines.iter().enumerate() {
        let line = raw.trim();
        let lower = line.to_lowercase();
        if is_separator(&lower) || is_signature_start(raw, &lower, i, lines.len()) {
            return Some(i);
        }
        if is_attribution(&lower) {
            return Some(i);
        }
        // An attribution wrapped over two lines: "On …, Ivan <ivan@x>" / "wrote:".
        if let Some(next) = lines.get(i + 1) {
            let joined = format!("{lower} {}", next.trim().to_lowercase());
            if !lower.is_empty()
                && next.trim().len() < 40
                && is_attribution(&joined)
                && !line.starts_with('>')
            {
                return Some(i);
            }
        }
        if is_outlook_header(&lower, &lines[i + 1..]) {
            return Some(i);
        }
        if line.starts_with('>')
            && lines[i..]
                .iter()
                .all(|l| l.trim().is_empty() || l.trim_start().starts_with('>'))
        {
            return Some(i);
        }
    }
    None
}

fn is_separator(lower: &str) -> bool {
    let dashed = |s: &str| {
        s.starts_with("---") && s.ends_with("---") && {
            let inner = s.trim_matches('-').trim();
            matches!(
                inner,
                "original message" | "исходное сообщение" | "исходное письмо" | "reply message"
            )
        }
    };
    dashed(lower) || (lower.len() >= 20 && lower.chars().all(|c| c == '_'))
}

fn is_attribution(lower: &str) -> bool {
    if lower.starts_with('>') {
        return false;
    }
    let ends = [
        "wrote:",
        "пишет:",
        "написал:",
        "написала:",
        "написал(а):",
        "писал:",
        "писала:",
    ];
    if ends.iter().any(|e| lower.ends_with(e)) {
        return true;
    }
    // Yandex / Mail.ru / Russian Gmail: "2 дек. 2026 г., в 15:30, Иван <ivan@ya.ru>:".
    lower.ends_with(">:") && lower.contains('@') && lower.contains('<')
}

fn is_outlook_header(lower: &str, next: &[&str]) -> bool {
    let from = ["from:", "от:", "*from:*", "*от:*"];
    if !from.iter().any(|f| lower.starts_with(f)) {
        return false;
    }
    let follow = [
        "sent:",
        "date:",
        "отправлено:",
        "дата:",
        "*sent:*",
        "*отправлено:*",
        "to:",
        "кому:",
    ];
    next.iter().take(3).any(|l| {
        follow
            .iter()
            .any(|f| l.trim().to_lowercase().starts_with(f))
    })
}

fn is_signature_start(raw: &str, lower: &str, i: usize, total: usize) -> bool {
    if raw == "-- " || raw == "--" {
        return true;
    }
    // Mobile footers only near the end, so a sentence that starts alike is not cut.
    let near_end = total.saturating_sub(i) <= 3;
    near_end
        && (lower.starts_with("sent from my ")
            || lower.starts_with("отправлено с ")
            || lower.starts_with("отправлено из ")
            || lower.starts_with("get outlook for "))
}

#[cfg(test)]
mod tests {
    use super::split;

    #[test]
    fn inline_answers_are_kept_whole() {
        let s = split("> Do you ship to Kazan?\nYes, we do.\n> And payment?\nCard or cash.");
        assert_eq!(s.collapsed, None);
    }

    #[test]
    fn a_forward_alone_is_not_collapsed_away() {
        let s = split("-----Original Message-----\nFrom: a@b\nhello");
        assert!(s.text.contains("hello"));
        assert_eq!(s.collapsed, None);
    }

    #[test]
    fn signature_delimiter() {
        let s = split("Thanks\n-- \nIvan\n+7 900 000-00-00");
        assert_eq!(s.text, "Thanks");
        assert_eq!(
            s.collapsed.as_deref(),
            Some("-- \nIvan\n+7 900 000-00-00".trim())
        );
    }
}
