//! Archive search (Chatwoot's `/search` routes): messages, conversations and contacts
//! through the index of [`parley_store::search`], with the conversation list's access
//! rule (agents see only their inboxes), filters, cursor pages and highlighted snippets;
//! and the background reindex of rows that predate the index.
//!
//! Who finds what: every role using this API is a member of the account, and agents may
//! read private notes of the conversations they see, so notes are found too; activity
//! lines are not indexed. Agents search only the inboxes they belong to, and find a
//! contact only when it has a conversation in one of them.

use parley_core::search_query::ParsedQuery;
use parley_core::validate::{self, FieldError};
use parley_store::search::{ContactSearch, MessageSearch, ReindexStatus};
use serde::Serialize;
use utoipa::ToSchema;

use crate::contacts::ContactDetails;
use crate::context::AccountCtx;
use crate::conversations::ListQuery;
use crate::messages::{Audience, MessageView};
use crate::views::contacts::{ContactView, contact_view};
use crate::views::conversations::ConversationView;
use crate::{Result, Services};

/// Hits per page when the caller does not say.
pub const DEFAULT_LIMIT: i64 = 20;
/// Most hits per page.
pub const MAX_LIMIT: i64 = 50;
/// Characters of a snippet around its first hit.
const SNIPPET_CHARS: usize = 160;
/// Wall time one run of the reindex job works before it yields to other jobs.
const REINDEX_SLICE_MS: u128 = 500;

/// Filters and paging of a search, as the query string gives them.
#[derive(Debug, Clone, Default)]
pub struct SearchParams {
    pub q: Option<String>,
    pub inbox_id: Option<i64>,
    pub team_id: Option<i64>,
    pub assignee_id: Option<i64>,
    /// `open`, `resolved`, `pending`, `snoozed`; all when absent.
    pub status: Option<String>,
    pub labels: Vec<String>,
    /// From this time: epoch seconds or `YYYY-MM-DD` (UTC).
    pub since: Option<String>,
    /// Before this time: epoch seconds or `YYYY-MM-DD` (UTC, the day itself included).
    pub until: Option<String>,
    /// The inbox's channel type, e.g. `Channel::Telegram`.
    pub channel: Option<String>,
    /// `meta.next_cursor` of the previous page.
    pub cursor: Option<String>,
    pub limit: Option<i64>,
}

/// A message hit: the message as the API renders it, and where it matched.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MessageHit {
    #[serde(flatten)]
    pub message: MessageView,
    /// HTML: the text around the first hit, every character escaped, hits in `<mark>`.
    pub snippet: String,
}

/// Paging and the index's state.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = SearchMeta)]
pub struct SearchMeta {
    /// Pass as `cursor` for the next page; `null` on the last page.
    pub next_cursor: Option<String>,
    /// False while the background reindex of older rows runs: older hits may be missing.
    pub index_complete: bool,
}

/// The hits of each kind (only the kinds asked for are present).
#[derive(Default, Serialize, ToSchema)]
#[schema(as = SearchPayload)]
pub struct SearchPayload {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub conversations: Option<Vec<ConversationView>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub contacts: Option<Vec<ContactView>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub messages: Option<Vec<MessageHit>>,
}

/// A search response: Chatwoot's `payload` by kind, and `meta`.
#[derive(Serialize, ToSchema)]
#[schema(as = SearchResponse)]
pub struct SearchResponse {
    pub payload: SearchPayload,
    pub meta: SearchMeta,
}

/// The index's progress (`GET /search/status`).
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = SearchStatus)]
pub struct SearchStatusView {
    pub index_complete: bool,
    /// Share of the rows that predate the index already indexed, 0–1.
    pub progress: f64,
}

/// Which kinds a search route returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SearchKind {
    All,
    Conversations,
    Messages,
    Contacts,
}

/// Days since 1970-01-01 of a civil date (proleptic Gregorian).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// A time bound in ms: epoch seconds, or a `YYYY-MM-DD` day (its start, or its end when
/// `end_of_day`).
fn parse_time(field: &'static str, v: &str, end_of_day: bool) -> Result<i64> {
    let v = v.trim();
    let bad = || FieldError::new(field, "must be epoch seconds or a date YYYY-MM-DD");
    if !v.is_empty() && v.len() <= 12 && v.bytes().all(|b| b.is_ascii_digit()) {
        let secs: i64 = v.parse().map_err(|_| bad())?;
        return Ok(secs * 1000);
    }
    let parts: Vec<&str> = v.split('-').collect();
    let [y, m, d] = parts.as_slice() else {
        return Err(bad().into());
    };
    let (Ok(y), Ok(m), Ok(d)) = (y.parse::<i64>(), m.parse::<i64>(), d.parse::<i64>()) else {
        return Err(bad().into());
    };
    if y.to_string().len() != 4 || !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return Err(bad().into());
    }
    let day = days_from_civil(y, m, d) + i64::from(end_of_day);
    Ok(day * 86_400_000)
}

/// The search query of `q`: required, bounded, parsed by the one normaliser.
fn parse_q(q: Option<&str>) -> Result<ParsedQuery> {
    let q = validate::required_text(
        "q",
        q.unwrap_or(""),
        parley_core::search_query::MAX_QUERY_CHARS,
    )?;
    ParsedQuery::parse(&q).map_err(|e| FieldError::new("q", e.to_string()).into())
}

fn parse_cursor(c: Option<&str>) -> Result<Option<i64>> {
    match c.map(str::trim) {
        None | Some("") => Ok(None),
        Some(c) => match c.parse::<i64>() {
            Ok(v) if v > 0 => Ok(Some(v)),
            _ => Err(FieldError::new("cursor", "must be a next_cursor of this search").into()),
        },
    }
}

impl Services {
    /// Whether the background reindex is done, and how far it is.
    pub async fn search_status(&self) -> Result<SearchStatusView> {
        let s = self.store.reindex_status().await?;
        Ok(status_view(&s))
    }

    /// Searches the archive (`kind` decides which of messages, conversations and
    /// contacts), as the caller may see it.
    pub async fn search(
        &self,
        ctx: &AccountCtx,
        kind: SearchKind,
        p: &SearchParams,
    ) -> Result<SearchResponse> {
        let query = parse_q(p.q.as_deref())?;
        let limit = match p.limit {
            None => DEFAULT_LIMIT,
            Some(l @ 1..=MAX_LIMIT) => l,
            Some(_) => {
                return Err(
                    FieldError::new("limit", format!("must be between 1 and {MAX_LIMIT}")).into(),
                );
            }
        };
        let status = match p.status.as_deref().map(str::trim) {
            None | Some("") | Some("all") => None,
            Some(s) => Some(
                parley_core::ConversationStatus::parse(s)
                    .ok_or_else(|| {
                        FieldError::new(
                            "status",
                            format!(
                                "must be one of {}, all",
                                parley_core::ConversationStatus::expected()
                            ),
                        )
                    })?
                    .as_str()
                    .to_string(),
            ),
        };
        let since = p
            .since
            .as_deref()
            .map(|v| parse_time("since", v, false))
            .transpose()?;
        let until = p
            .until
            .as_deref()
            .map(|v| parse_time("until", v, true))
            .transpose()?;
        let channel = match p.channel.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(c) => Some(validate::bounded_text("channel", c, 64)?.to_string()),
        };
        for l in &p.labels {
            validate::bounded_text("labels", l, 255)?;
        }
        if p.labels.len() > 20 {
            return Err(FieldError::new("labels", "at most 20 labels").into());
        }
        let before_id = parse_cursor(p.cursor.as_deref())?;
        if kind == SearchKind::All && before_id.is_some() {
            return Err(FieldError::new(
                "cursor",
                "page each kind on its own route (/search/messages, /search/conversations, /search/contacts)",
            )
            .into());
        }
        let inboxes = if ctx.sees_all_inboxes() {
            None
        } else {
            Some(
                self.store
                    .inbox_ids_for_user(ctx.account_id, ctx.user_id)
                    .await?,
            )
        };
        let index_complete = self.store.reindex_status().await?.complete();
        let mut payload = SearchPayload::default();
        let mut next_cursor = None;

        if matches!(kind, SearchKind::All | SearchKind::Messages) {
            let hits = self
                .store
                .search_messages(&MessageSearch {
                    account_id: ctx.account_id,
                    query: query.clone(),
                    inboxes: inboxes.clone(),
                    inbox_id: p.inbox_id,
                    team_id: p.team_id,
                    assignee_id: p.assignee_id,
                    status: status.clone(),
                    labels: p.labels.clone(),
                    since,
                    until,
                    channel: channel.clone(),
                    before_id,
                    limit,
                })
                .await?;
            if kind == SearchKind::Messages {
                next_cursor = hits.next_cursor.map(|c| c.to_string());
            }
            payload.messages = Some(
                hits.messages
                    .iter()
                    .map(|m| MessageHit {
                        message: self.message_view(m, &Audience::Agent),
                        snippet: query
                            .snippet(m.message.content.as_deref().unwrap_or(""), SNIPPET_CHARS),
                    })
                    .collect(),
            );
        }
        if matches!(kind, SearchKind::All | SearchKind::Contacts) {
            let mut rows = self
                .store
                .search_contacts_index(&ContactSearch {
                    account_id: ctx.account_id,
                    query: query.clone(),
                    inboxes: inboxes.clone(),
                    before_id,
                    limit,
                })
                .await?;
            let more = rows.len() as i64 > limit;
            rows.truncate(limit as usize);
            if kind == SearchKind::Contacts && more {
                next_cursor = rows.last().map(|r| r.id.to_string());
            }
            let details = self.contact_details_many(ctx, rows).await?;
            payload.contacts = Some(details.iter().map(contact_view).collect());
        }
        if matches!(kind, SearchKind::All | SearchKind::Conversations) {
            let list = ListQuery {
                status: Some(status.clone().unwrap_or_else(|| "all".into())),
                inbox_id: p.inbox_id,
                team_id: p.team_id,
                labels: p.labels.clone(),
                q: p.q.clone(),
                cursor: if kind == SearchKind::Conversations {
                    p.cursor.clone()
                } else {
                    None
                },
                ..ListQuery::default()
            };
            let page = self.list_conversations_uncounted(ctx, &list).await?;
            if kind == SearchKind::Conversations {
                next_cursor = page.meta.next_cursor.clone();
            }
            payload.conversations = Some(page.payload);
        }
        Ok(SearchResponse {
            payload,
            meta: SearchMeta {
                next_cursor,
                index_complete,
            },
        })
    }

    /// One slice of the background reindex (the `search_reindex` periodic job): batches
    /// until done or until the slice's time is up, so other jobs are never held up.
    pub(crate) async fn reindex_search(&self) -> Result<()> {
        let started = std::time::Instant::now();
        loop {
            let status = self.store.reindex_status().await?;
            // Not `complete()`: after it the older message rows still get their inbox
            // tokens (SQLite, migration 0722), which only this job writes.
            if status.finished() {
                return Ok(());
            }
            let after = self
                .store
                .reindex_step(parley_store::search::REINDEX_BATCH)
                .await?;
            if after.complete() && !status.complete() {
                tracing::info!("search index: every older row is indexed");
            }
            if after.finished() {
                return Ok(());
            }
            if started.elapsed().as_millis() >= REINDEX_SLICE_MS {
                tracing::debug!(
                    progress = status_view(&after).progress,
                    "search reindex continues"
                );
                return Ok(());
            }
        }
    }

    /// Contacts with their identities the caller may see: one query for all of them.
    async fn contact_details_many(
        &self,
        ctx: &AccountCtx,
        rows: Vec<parley_store::contacts::ContactRow>,
    ) -> Result<Vec<ContactDetails>> {
        let ids: Vec<i64> = rows.iter().map(|c| c.id).collect();
        let all = self.store.contact_inboxes_of(&ids).await?;
        let visible = self.visible_identities(ctx, all).await?;
        Ok(rows
            .into_iter()
            .map(|contact| ContactDetails {
                contact_inboxes: visible
                    .iter()
                    .filter(|ci| ci.contact_id == contact.id)
                    .cloned()
                    .collect(),
                contact,
            })
            .collect())
    }
}

fn status_view(s: &ReindexStatus) -> SearchStatusView {
    let total = s.messages_upto + s.contacts_upto + s.conversations_upto;
    let done = s.messages_position.min(s.messages_upto)
        + s.contacts_position.min(s.contacts_upto)
        + s.conversations_position.min(s.conversations_upto);
    SearchStatusView {
        index_complete: s.complete(),
        progress: if total == 0 {
            1.0
        } else {
            done as f64 / total as f64
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        assert_eq!(
            parse_time("since", "1970-01-02", false).unwrap(),
            86_400_000
        );
        assert_eq!(parse_time("until", "1970-01-01", true).unwrap(), 86_400_000);
        assert_eq!(
            parse_time("since", "2026-12-03", false).unwrap(),
            1_796_256_000_000
        );
        assert_eq!(parse_time("since", "60", false).unwrap(), 60_000);
        for bad in ["", "x", "2026-13-01", "26-01-01", "1e9", "-5"] {
            assert!(parse_time("since", bad, false).is_err(), "{bad}");
        }
    }
}
