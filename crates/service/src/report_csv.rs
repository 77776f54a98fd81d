//! Reports as CSV files (Chatwoot's `reports/agents|inboxes|teams|labels` and
//! `conversation_traffic` answer CSV): UTF-8 with a byte-order mark, so Excel opens
//! Cyrillic names correctly, headers in the account's language (`lang` overrides), times
//! in seconds. Cells that a spreadsheet would run as a formula (`=`, `+`, `-`, `@` first)
//! get a leading apostrophe: names come from users.

use parley_core::texts::Lang;
use parley_store::report_queries::Dimension;

use crate::context::AccountCtx;
use crate::reports::{Checked, SourceRow, SummaryRow, TrafficView};
use crate::{Result, Services};

/// The byte-order mark that tells Excel the file is UTF-8.
pub const BOM: &str = "\u{feff}";

/// A report file: its name and contents.
#[derive(Debug, Clone)]
pub struct CsvFile {
    pub filename: String,
    pub body: String,
}

/// A phone number as people write it: `+`, then only digits, spaces, dashes and
/// parentheses, with at least one digit. No spreadsheet can run it as a formula (no
/// function name, no reference), so it is written as it is instead of with an apostrophe.
fn is_phone(s: &str) -> bool {
    s.strip_prefix('+').is_some_and(|rest| {
        rest.chars().any(|c| c.is_ascii_digit())
            && rest
                .chars()
                .all(|c| c.is_ascii_digit() || matches!(c, ' ' | '-' | '(' | ')'))
    })
}

/// One CSV cell, quoted when needed and defused against formula injection (a leading
/// `=`, `+`, `-`, `@`, tab or carriage return gets an apostrophe), except a phone number.
pub(crate) fn cell(s: &str) -> String {
    let s = if s.starts_with(['=', '+', '-', '@', '\t', '\r']) && !is_phone(s) {
        format!("'{s}")
    } else {
        s.to_string()
    };
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s
    }
}

/// Appends one CSV line (CRLF-terminated) of `cells`.
pub(crate) fn line(out: &mut String, cells: &[String]) {
    let row: Vec<String> = cells.iter().map(|c| cell(c)).collect();
    out.push_str(&row.join(","));
    out.push_str("\r\n");
}

fn num(v: Option<f64>) -> String {
    v.map(|x| format!("{:.0}", x)).unwrap_or_default()
}

fn opt(v: Option<i64>) -> String {
    v.map(|x| x.to_string()).unwrap_or_default()
}

/// Column headers of a breakdown file.
fn headers(lang: Lang, dim: Dimension) -> Vec<&'static str> {
    let first = match (lang, dim) {
        (Lang::Ru, Dimension::Agent) => "Сотрудник",
        (Lang::Ru, Dimension::Team) => "Отдел",
        (Lang::Ru, Dimension::Inbox) => "Канал связи",
        (Lang::Ru, Dimension::Label) => "Метка",
        (Lang::Ru, _) => "Тип канала",
        (Lang::En, Dimension::Agent) => "Agent name",
        (Lang::En, Dimension::Team) => "Team name",
        (Lang::En, Dimension::Inbox) => "Inbox name",
        (Lang::En, Dimension::Label) => "Label",
        (Lang::En, _) => "Channel",
    };
    let rest: [&'static str; 13] = match lang {
        Lang::Ru => [
            "Диалогов",
            "Решено",
            "Среднее время первого ответа, с",
            "Среднее время решения, с",
            "Среднее время ответа, с",
            "Входящих сообщений",
            "Исходящих сообщений",
            "Пропущено",
            "Открыто повторно",
            "Среднее ожидание в очереди, с",
            "Нормативы выполнены",
            "Нормативы нарушены",
            "Средняя оценка",
        ],
        Lang::En => [
            "Conversations",
            "Resolved",
            "Avg first response time (s)",
            "Avg resolution time (s)",
            "Avg reply time (s)",
            "Incoming messages",
            "Outgoing messages",
            "Missed",
            "Reopened",
            "Avg time in queue (s)",
            "Reply targets met",
            "Reply targets missed",
            "Avg rating",
        ],
    };
    let mut h = vec![first];
    h.extend(rest);
    h
}

fn period_line(lang: Lang, r: &Checked) -> String {
    let fmt = |ms: i64| {
        let (y, m, d) = parley_core::report_period::civil_from_days(ms.div_euclid(86_400_000));
        format!("{y:04}-{m:02}-{d:02}")
    };
    let last = r.until - 1;
    match lang {
        Lang::Ru => format!("Отчёт за период {} – {} (UTC)", fmt(r.since), fmt(last)),
        Lang::En => format!("Report for {} – {} (UTC)", fmt(r.since), fmt(last)),
    }
}

/// A breakdown as CSV.
pub fn breakdown_csv(lang: Lang, r: &Checked, dim: Dimension, rows: &[SummaryRow]) -> String {
    let mut out = String::from(BOM);
    line(&mut out, &[period_line(lang, r)]);
    let h: Vec<String> = headers(lang, dim).iter().map(|s| s.to_string()).collect();
    line(&mut out, &h);
    for r in rows {
        line(
            &mut out,
            &[
                r.name.clone(),
                r.conversations_count.to_string(),
                r.resolved_conversations_count.to_string(),
                num(r.avg_first_response_time),
                num(r.avg_resolution_time),
                num(r.avg_reply_time),
                opt(r.incoming_messages_count),
                opt(r.outgoing_messages_count),
                r.missed_count.to_string(),
                r.reopened_count.to_string(),
                num(r.avg_queue_time),
                r.sla_hits_count.to_string(),
                r.sla_misses_count.to_string(),
                r.avg_csat.map(|v| format!("{v:.2}")).unwrap_or_default(),
            ],
        );
    }
    out
}

/// The traffic map as CSV: a header of hours, one line per weekday (Monday first).
pub fn traffic_csv(lang: Lang, t: &TrafficView) -> String {
    let days: [&str; 7] = match lang {
        Lang::Ru => ["Вс", "Пн", "Вт", "Ср", "Чт", "Пт", "Сб"],
        Lang::En => ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"],
    };
    let mut out = String::from(BOM);
    let mut head = vec![match lang {
        Lang::Ru => format!("Начато диалогов (UTC{:+})", t.timezone_offset),
        Lang::En => format!("Conversations started (UTC{:+})", t.timezone_offset),
    }];
    head.extend((0..24).map(|h| format!("{h:02}:00")));
    line(&mut out, &head);
    for d in [1usize, 2, 3, 4, 5, 6, 0] {
        let mut row = vec![days[d].to_string()];
        row.extend(t.data[d].iter().map(|n| n.to_string()));
        line(&mut out, &row);
    }
    out
}

/// Visitor sources as CSV: the period, a header, one line per source (conversion rate in
/// percent with one decimal).
pub fn sources_csv(lang: Lang, r: &Checked, by: &str, rows: &[SourceRow]) -> String {
    let mut out = String::from(BOM);
    line(&mut out, &[period_line(lang, r)]);
    let first = match (lang, by) {
        (Lang::Ru, "medium") => "Тип трафика (utm_medium)",
        (Lang::Ru, "campaign") => "Кампания (utm_campaign)",
        (Lang::Ru, "referrer") => "Сайт-источник",
        (Lang::Ru, _) => "Источник (utm_source)",
        (Lang::En, "medium") => "Medium (utm_medium)",
        (Lang::En, "campaign") => "Campaign (utm_campaign)",
        (Lang::En, "referrer") => "Referrer",
        (Lang::En, _) => "Source (utm_source)",
    };
    let rest = match lang {
        Lang::Ru => ["Диалогов", "Конверсий", "Конверсия, %"],
        Lang::En => ["Conversations", "Conversions", "Conversion rate (%)"],
    };
    let mut h = vec![first.to_string()];
    h.extend(rest.iter().map(|s| s.to_string()));
    line(&mut out, &h);
    let none = match lang {
        Lang::Ru => "(не указан)",
        Lang::En => "(none)",
    };
    for s in rows {
        line(
            &mut out,
            &[
                s.key.clone().unwrap_or_else(|| none.to_string()),
                s.conversations_count.to_string(),
                s.conversions_count.to_string(),
                format!("{:.1}", s.conversion_rate * 100.0),
            ],
        );
    }
    out
}

impl Services {
    /// Visitor sources as a file (`reports/sources`; `by` as for `summary_reports/sources`).
    pub async fn report_sources_csv(
        &self,
        ctx: &AccountCtx,
        r: &Checked,
        by: Option<&str>,
        lang: Option<&str>,
    ) -> Result<CsvFile> {
        let rows = self.report_sources(ctx, r, by).await?;
        let lang = self.report_lang(ctx, lang).await;
        let by = by.filter(|b| !b.is_empty()).unwrap_or("source");
        Ok(CsvFile {
            filename: format!("sources_{by}_report.csv"),
            body: sources_csv(lang, r, by, &rows),
        })
    }

    /// A breakdown report as a file (`reports/agents` and the like).
    pub async fn report_breakdown_csv(
        &self,
        ctx: &AccountCtx,
        r: &Checked,
        dim: Dimension,
        lang: Option<&str>,
    ) -> Result<CsvFile> {
        let rows = self.report_breakdown(ctx, r, dim).await?;
        let lang = self.report_lang(ctx, lang).await;
        let name = match dim {
            Dimension::Agent => "agents",
            Dimension::Team => "teams",
            Dimension::Inbox => "inboxes",
            Dimension::Label => "labels",
            _ => "channels",
        };
        Ok(CsvFile {
            filename: format!("{name}_report.csv"),
            body: breakdown_csv(lang, r, dim, &rows),
        })
    }

    /// The traffic map as a file (`reports/conversation_traffic`).
    pub async fn report_traffic_csv(
        &self,
        ctx: &AccountCtx,
        r: &Checked,
        lang: Option<&str>,
    ) -> Result<CsvFile> {
        let t = self.report_traffic(ctx, r).await?;
        let lang = self.report_lang(ctx, lang).await;
        Ok(CsvFile {
            filename: "conversation_traffic_reports.csv".into(),
            body: traffic_csv(lang, &t),
        })
    }

    /// The language of a file: `lang` when given and known, else the account's.
    pub(crate) async fn report_lang(&self, ctx: &AccountCtx, lang: Option<&str>) -> Lang {
        match lang.and_then(Lang::parse) {
            Some(l) => l,
            None => self.account_lang(ctx.account_id).await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::cell;

    #[test]
    fn cells_are_quoted_and_defused() {
        assert_eq!(cell("Анна"), "Анна");
        assert_eq!(cell("a,b"), "\"a,b\"");
        assert_eq!(cell("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(cell("=SUM(A1)"), "'=SUM(A1)");
        // Phone numbers stay as written; '+' followed by anything else is still defused.
        assert_eq!(cell("+79991234567"), "+79991234567");
        assert_eq!(cell("+7 (999) 123-45-67"), "+7 (999) 123-45-67");
        assert_eq!(cell("+1 415-555-0100"), "+1 415-555-0100");
        assert_eq!(cell("+"), "'+");
        assert_eq!(cell("+ -()"), "'+ -()");
        assert_eq!(cell("+7+cmd|' /C calc'!A0"), "'+7+cmd|' /C calc'!A0");
        assert_eq!(cell("+79991234567*2"), "'+79991234567*2");
        assert_eq!(cell("+SUM(1)"), "'+SUM(1)");
        assert_eq!(cell("-79991234567"), "'-79991234567");
        assert_eq!(cell("=79991234567"), "'=79991234567");
        assert_eq!(cell("@79991234567"), "'@79991234567");
    }
}
