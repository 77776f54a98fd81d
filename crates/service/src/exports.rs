//! The conversations-with-messages export (docs/reports.md, "Exports"): a CSV file (UTF-8
//! with a byte-order mark) of the conversations an account began in a period, one row per
//! message, streamed as it is read.
//!
//! Why a streamed download rather than a file built by a background job: the body is
//! written while pages of 200 conversations and 100 messages are read by keyset, so the
//! server holds one page whatever the size of the export, writes nothing to disk that
//! would need cleaning up, and the first bytes leave at once. The total is counted first
//! and sent as the `X-Export-Rows` header, so the console shows exact progress from the
//! rows it has received. The export is a snapshot (conversations and messages that
//! existed when it began), so that total is exactly the number of rows that follow.
//!
//! What a caller can make the server spend: supervisors and administrators only, a period
//! of at most [`MAX_RANGE_DAYS`](crate::reports::MAX_RANGE_DAYS) days, and at most
//! [`MAX_EXPORTS_PER_ACCOUNT`] exports of one account ([`MAX_EXPORTS`] of the node) at
//! once; another is refused with 409 until one finishes or its download is cancelled.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use futures::stream::{self, BoxStream, StreamExt};
use parley_core::texts::Lang;
use parley_core::validate;
use parley_store::Store;
use parley_store::exports::{ExportConversation, ExportFilter, ExportMessage};
use tracing::Instrument;

use crate::context::AccountCtx;
use crate::ratelimit::RateLimiter;
use crate::report_csv::{BOM, line};
use crate::reports::ReportParams;
use crate::{Result, ServiceError, Services};

/// Exports of one account that may run at once.
pub const MAX_EXPORTS_PER_ACCOUNT: usize = 2;
/// Exports the node runs at once, all accounts together.
pub const MAX_EXPORTS: usize = 8;
/// Transcripts one user may e-mail per hour.
pub const TRANSCRIPT_MAILS_PER_HOUR: u32 = 30;
/// Conversations read per page.
const CONVERSATION_PAGE: i64 = 200;
/// Messages read per page (a message holds at most 150,000 characters, so a page is
/// bounded even when every message is long).
const MESSAGE_PAGE: i64 = 100;
/// A chunk of the body is sent once it holds this many bytes.
const CHUNK_BYTES: usize = 64 * 1024;

/// The running exports per account, and the budget of transcript e-mails: what bounds
/// the work a user can start that outlives a request.
pub struct ExportLimits {
    running: Mutex<HashMap<i64, usize>>,
    pub(crate) transcript_mails: RateLimiter,
}

impl Default for ExportLimits {
    fn default() -> Self {
        Self {
            running: Mutex::default(),
            transcript_mails: RateLimiter::new(
                TRANSCRIPT_MAILS_PER_HOUR,
                std::time::Duration::from_secs(3_600),
            ),
        }
    }
}

/// A running export's place; freed when the download ends or is dropped.
struct ExportPermit {
    limits: Arc<ExportLimits>,
    account_id: i64,
}

impl Drop for ExportPermit {
    fn drop(&mut self) {
        if let Ok(mut running) = self.limits.running.lock()
            && let Some(n) = running.get_mut(&self.account_id)
        {
            *n = n.saturating_sub(1);
            if *n == 0 {
                running.remove(&self.account_id);
            }
        }
    }
}

impl ExportLimits {
    fn acquire(self: &Arc<Self>, account_id: i64) -> Result<ExportPermit> {
        let mut running = self
            .running
            .lock()
            .map_err(|_| ServiceError::Internal("export limits poisoned".into()))?;
        let total: usize = running.values().sum();
        let mine = running.get(&account_id).copied().unwrap_or(0);
        if mine >= MAX_EXPORTS_PER_ACCOUNT {
            return Err(ServiceError::Conflict(format!(
                "{MAX_EXPORTS_PER_ACCOUNT} exports of this account are already running; wait until one finishes"
            )));
        }
        if total >= MAX_EXPORTS {
            return Err(ServiceError::Conflict(format!(
                "the server is running {MAX_EXPORTS} exports already; try again in a minute"
            )));
        }
        running.insert(account_id, mine + 1);
        Ok(ExportPermit {
            limits: self.clone(),
            account_id,
        })
    }
}

/// An export request as the query string gives it (every value still text).
#[derive(Debug, Clone, Default)]
pub struct ExportParams {
    /// Epoch seconds, inclusive (required).
    pub since: Option<String>,
    /// Epoch seconds, exclusive (required).
    pub until: Option<String>,
    pub inbox_id: Option<String>,
    pub team_id: Option<String>,
    pub assignee_id: Option<String>,
    /// `open`, `pending`, `resolved` or `snoozed`.
    pub status: Option<String>,
    /// A label's title.
    pub label: Option<String>,
    /// `ru` or `en` headers (default: the account's language).
    pub lang: Option<String>,
}

/// A started export: its file name, how much it holds, and the body.
pub struct ConversationExport {
    pub filename: String,
    pub conversations: i64,
    /// Data rows that follow the header row.
    pub rows: i64,
    pub body: BoxStream<'static, Result<String>>,
}

/// `YYYY-MM-DD HH:MM:SS` of epoch milliseconds, in UTC.
pub(crate) fn utc_time(ms: i64) -> String {
    let days = ms.div_euclid(86_400_000);
    let (y, m, d) = parley_core::report_period::civil_from_days(days);
    let secs = ms.div_euclid(1_000).rem_euclid(86_400);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}",
        secs / 3_600,
        secs / 60 % 60,
        secs % 60
    )
}

fn id_param(field: &str, v: Option<&str>) -> Result<Option<i64>> {
    match v.map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(s) => s
            .parse::<i64>()
            .ok()
            .filter(|n| *n > 0)
            .map(Some)
            .ok_or_else(|| validate::FieldError::new(field, "must be a positive integer").into()),
    }
}

fn headers(lang: Lang) -> [&'static str; 16] {
    match lang {
        Lang::Ru => [
            "Диалог",
            "Начат (UTC)",
            "Статус",
            "Канал связи",
            "Отдел",
            "Сотрудник",
            "Клиент",
            "E-mail клиента",
            "Телефон клиента",
            "Метки",
            "Сообщение",
            "Отправлено (UTC)",
            "Тип",
            "Заметка",
            "Отправитель",
            "Текст",
        ],
        Lang::En => [
            "Conversation",
            "Started (UTC)",
            "Status",
            "Inbox",
            "Team",
            "Assignee",
            "Contact",
            "Contact e-mail",
            "Contact phone",
            "Labels",
            "Message",
            "Sent (UTC)",
            "Type",
            "Private note",
            "Sender",
            "Content",
        ],
    }
}

/// A conversation status in words of `lang`.
pub(crate) fn status_name(lang: Lang, s: &str) -> String {
    match (lang, s) {
        (Lang::Ru, "open") => "открыт".into(),
        (Lang::Ru, "pending") => "ожидает".into(),
        (Lang::Ru, "resolved") => "решён".into(),
        (Lang::Ru, "snoozed") => "отложен".into(),
        _ => s.to_string(),
    }
}

fn message_kind(lang: Lang, t: i64) -> &'static str {
    match (lang, t) {
        (Lang::Ru, 0) => "входящее",
        (Lang::Ru, 1) => "исходящее",
        (Lang::Ru, 2) => "событие",
        (Lang::Ru, _) => "шаблон",
        (Lang::En, 0) => "incoming",
        (Lang::En, 1) => "outgoing",
        (Lang::En, 2) => "activity",
        (Lang::En, _) => "template",
    }
}

fn yes_no(lang: Lang, b: bool) -> &'static str {
    match (lang, b) {
        (Lang::Ru, true) => "да",
        (Lang::Ru, false) => "нет",
        (Lang::En, true) => "yes",
        (Lang::En, false) => "no",
    }
}

/// Where a running export is: the page of conversations being written and the keyset
/// positions of the next reads.
struct Cursor {
    store: Store,
    filter: ExportFilter,
    lang: Lang,
    /// The last conversation page ended here (`(created_at, id)`); `None` before the first.
    after_conversation: Option<(i64, i64)>,
    /// The page being written, by id; `labels` of its conversations.
    page: Vec<ExportConversation>,
    labels: HashMap<i64, String>,
    /// The first conversation of the page not written completely yet, and whether a
    /// message of it was written.
    next: usize,
    next_has_messages: bool,
    after_message: Option<(i64, i64)>,
    messages_done: bool,
    started: bool,
    finished: bool,
    _permit: ExportPermit,
}

impl Cursor {
    fn conversation_cells(&self, c: &ExportConversation) -> Vec<String> {
        vec![
            c.display_id.to_string(),
            utc_time(c.created_at),
            status_name(self.lang, &c.status),
            c.inbox_name.clone(),
            c.team_name.clone().unwrap_or_default(),
            c.assignee_name.clone().unwrap_or_default(),
            c.contact_name.clone().unwrap_or_default(),
            c.contact_email.clone().unwrap_or_default(),
            c.contact_phone.clone().unwrap_or_default(),
            self.labels.get(&c.id).cloned().unwrap_or_default(),
        ]
    }

    fn empty_row(&self, out: &mut String, c: &ExportConversation) {
        let mut cells = self.conversation_cells(c);
        cells.extend(std::iter::repeat_n(String::new(), 6));
        line(out, &cells);
    }

    fn message_row(&self, out: &mut String, c: &ExportConversation, m: &ExportMessage) {
        let mut cells = self.conversation_cells(c);
        cells.extend([
            m.id.to_string(),
            utc_time(m.created_at),
            message_kind(self.lang, m.message_type).to_string(),
            yes_no(self.lang, m.private != 0).to_string(),
            m.sender_name.clone().unwrap_or_default(),
            m.content.clone().unwrap_or_default(),
        ]);
        line(out, &cells);
    }

    /// Writes the conversations of the page before index `upto` that had no messages.
    fn close_until(&mut self, out: &mut String, upto: usize) {
        while self.next < upto.min(self.page.len()) {
            if !self.next_has_messages {
                self.empty_row(out, &self.page[self.next]);
            }
            self.next += 1;
            self.next_has_messages = false;
        }
    }

    async fn load_page(&mut self) -> Result<bool> {
        let mut page = self
            .store
            .export_conversations(&self.filter, self.after_conversation, CONVERSATION_PAGE)
            .await?;
        let Some(last) = page.last() else {
            return Ok(false);
        };
        self.after_conversation = Some((last.created_at, last.id));
        page.sort_by_key(|c| c.id);
        let ids: Vec<i64> = page.iter().map(|c| c.id).collect();
        let mut labels: HashMap<i64, String> = HashMap::new();
        for (id, label) in self.store.export_labels(&ids).await? {
            let e = labels.entry(id).or_default();
            if !e.is_empty() {
                e.push_str(", ");
            }
            e.push_str(&label);
        }
        self.page = page;
        self.labels = labels;
        self.next = 0;
        self.next_has_messages = false;
        self.after_message = None;
        self.messages_done = false;
        Ok(true)
    }

    /// The next chunk of the body; `None` at the end.
    async fn chunk(&mut self) -> Result<Option<String>> {
        let mut out = String::new();
        if !self.started {
            self.started = true;
            out.push_str(BOM);
            let h: Vec<String> = headers(self.lang).iter().map(|s| s.to_string()).collect();
            line(&mut out, &h);
        }
        while out.len() < CHUNK_BYTES && !self.finished {
            if self.messages_done && self.next >= self.page.len() && !self.load_page().await? {
                self.finished = true;
                break;
            }
            let ids: Vec<i64> = self.page.iter().map(|c| c.id).collect();
            let messages = self
                .store
                .export_messages(
                    &ids,
                    self.filter.max_message_id,
                    self.after_message,
                    MESSAGE_PAGE,
                )
                .await?;
            let fetched = messages.len();
            let mut used = 0;
            for m in &messages {
                let Some(at) = self.page.iter().position(|c| c.id == m.conversation_id) else {
                    continue;
                };
                self.close_until(&mut out, at);
                self.message_row(&mut out, &self.page[at], m);
                self.next_has_messages = true;
                self.after_message = Some((m.conversation_id, m.id));
                used += 1;
                if out.len() >= CHUNK_BYTES {
                    break;
                }
            }
            if used == fetched && fetched < MESSAGE_PAGE as usize {
                self.messages_done = true;
                let len = self.page.len();
                self.close_until(&mut out, len);
            }
        }
        Ok((!out.is_empty()).then_some(out))
    }
}

impl Services {
    /// Starts the export of conversations with their messages (see the module's notes):
    /// checks the request, takes a place among the running exports, counts what it holds.
    pub async fn export_conversations(
        &self,
        ctx: &AccountCtx,
        p: &ExportParams,
    ) -> Result<ConversationExport> {
        if !ctx.sees_all_inboxes() {
            return Err(ServiceError::Forbidden(
                "exports are for administrators and supervisors".into(),
            ));
        }
        let r = self
            .report_request(
                ctx,
                &ReportParams {
                    since: p.since.clone(),
                    until: p.until.clone(),
                    ..Default::default()
                },
            )
            .await?;
        let inbox_id = id_param("inbox_id", p.inbox_id.as_deref())?;
        if let Some(id) = inbox_id
            && self.store.inbox_ref(ctx.account_id, id).await?.is_none()
        {
            return Err(ServiceError::NotFound("inbox"));
        }
        let team_id = id_param("team_id", p.team_id.as_deref())?;
        if let Some(id) = team_id
            && self.store.team_ref(ctx.account_id, id).await?.is_none()
        {
            return Err(ServiceError::NotFound("team"));
        }
        let assignee_id = id_param("assignee_id", p.assignee_id.as_deref())?;
        if let Some(id) = assignee_id
            && !self
                .store
                .agents(ctx.account_id)
                .await?
                .iter()
                .any(|a| a.id == id)
        {
            return Err(ServiceError::NotFound("agent"));
        }
        let status = match p.status.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            None | Some("all") => None,
            Some(s @ ("open" | "pending" | "resolved" | "snoozed")) => Some(s.to_string()),
            Some(_) => {
                return Err(validate::FieldError::new(
                    "status",
                    "must be open, pending, resolved, snoozed or all",
                )
                .into());
            }
        };
        let label = match p.label.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            None => None,
            Some(l) => Some(validate::label_title("label", l)?),
        };
        let lang = self.report_lang(ctx, p.lang.as_deref()).await;
        let permit = self.export_limits.acquire(ctx.account_id)?;
        let (max_conversation_id, max_message_id) = self.store.export_snapshot().await?;
        let filter = ExportFilter {
            account_id: ctx.account_id,
            since: r.since,
            until: r.until,
            inbox_id,
            team_id,
            assignee_id,
            status,
            label,
            max_conversation_id,
            max_message_id,
        };
        let size = self.store.export_size(&filter).await?;
        let filename = format!(
            "conversations_{}_{}.csv",
            &utc_time(r.since)[..10],
            &utc_time(r.until - 1)[..10]
        );
        metrics::counter!("parley_exports_total").increment(1);
        let span = tracing::info_span!(
            "export_conversations",
            account_id = ctx.account_id,
            rows = size.rows
        );
        let cursor = Cursor {
            store: self.store.clone(),
            filter,
            lang,
            after_conversation: None,
            page: Vec::new(),
            labels: HashMap::new(),
            next: 0,
            next_has_messages: false,
            after_message: None,
            messages_done: true,
            started: false,
            finished: false,
            _permit: permit,
        };
        let body = stream::unfold(Some(cursor), move |state| {
            let span = span.clone();
            async move {
                let mut cursor = state?;
                match cursor.chunk().await {
                    Ok(Some(chunk)) => Some((Ok(chunk), Some(cursor))),
                    Ok(None) => None,
                    Err(e) => {
                        tracing::warn!(error = %e, "export stopped");
                        Some((Err(e), None))
                    }
                }
            }
            .instrument(span)
        })
        .boxed();
        Ok(ConversationExport {
            filename,
            conversations: size.conversations,
            rows: size.rows,
            body,
        })
    }
}
