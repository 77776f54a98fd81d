//! The connection state of channel inboxes: the runtime that imports an inbox's messages
//! records what it last saw (connecting, connected, or the failure with its stable code
//! and sentence), and the inbox view shows it as `connection_status`, so an administrator
//! learns of a changed mailbox password from the console rather than from a customer.

use parley_core::ChannelType;
use parley_core::texts::Lang;
use parley_store::channels::{ChannelStatus, ChannelStatusRow};
use parley_store::inboxes::InboxRow;

use crate::delivery::ProbeFailure;
use crate::views::inboxes::{ConnectionStatusView, InboxView, inbox_view};
use crate::{AccountCtx, Result, Services};

/// The view of a recorded state (or of none) for an inbox.
/// `receives`: the inbox's settings let its runtime import anything (the provider's
/// [`ChannelProvider::receives`](crate::delivery::ChannelProvider::receives)).
fn status_view(
    inbox: &InboxRow,
    receives: bool,
    row: Option<&ChannelStatusRow>,
    lang: Lang,
) -> Option<ConnectionStatusView> {
    if !inbox
        .channel()
        .is_some_and(ChannelType::delivers_through_provider)
    {
        return None;
    }
    if !receives {
        return Some(ConnectionStatusView {
            state: "not_configured".into(),
            code: None,
            message: None,
            since: None,
        });
    }
    let Some(r) = row else {
        return Some(ConnectionStatusView {
            state: "connecting".into(),
            code: None,
            message: None,
            since: None,
        });
    };
    let sentence = match lang {
        Lang::Ru => r.message_ru.clone(),
        Lang::En => r.message_en.clone(),
    };
    let message = match (sentence, r.detail.as_deref().filter(|d| !d.is_empty())) {
        (Some(s), Some(d)) => Some(format!("{s} ({d})")),
        (Some(s), None) => Some(s),
        (None, d) => d.map(str::to_string),
    };
    Some(ConnectionStatusView {
        state: r.state.clone(),
        code: r.code.clone(),
        message,
        since: Some(r.since / 1000),
    })
}

impl Services {
    /// Records that an inbox's runtime is (re)connecting.
    pub async fn channel_connecting(&self, inbox_id: i64) -> Result<()> {
        self.set_channel_state(inbox_id, "connecting", None).await
    }

    /// Records that an inbox's runtime is connected and importing.
    pub async fn channel_connected(&self, inbox_id: i64) -> Result<()> {
        self.set_channel_state(inbox_id, "connected", None).await
    }

    /// Records a connection failure of an inbox's runtime.
    pub async fn channel_connection_failed(&self, inbox_id: i64, f: &ProbeFailure) -> Result<()> {
        self.set_channel_state(inbox_id, "error", Some(f)).await
    }

    async fn set_channel_state(
        &self,
        inbox_id: i64,
        state: &str,
        f: Option<&ProbeFailure>,
    ) -> Result<()> {
        let text = |lang| f.map(|f| crate::delivery::probe_text_only(lang, f));
        let status = ChannelStatus {
            state: state.into(),
            code: f.map(|f| f.code.to_string()),
            detail: f.map(|f| f.detail.chars().take(1000).collect()),
            message_en: text(Lang::En),
            message_ru: text(Lang::Ru),
        };
        Ok(self.store.set_channel_status(inbox_id, &status).await?)
    }

    /// Inboxes as the API shows them to `ctx`, with the connection state of channel
    /// inboxes (one query for all of them).
    pub async fn inbox_views(&self, ctx: &AccountCtx, rows: &[InboxRow]) -> Result<Vec<InboxView>> {
        let ids: Vec<i64> = rows
            .iter()
            .filter(|i| {
                i.channel()
                    .is_some_and(ChannelType::delivers_through_provider)
            })
            .map(|i| i.id)
            .collect();
        let statuses = self.store.channel_statuses(&ids).await?;
        let lang = if ids.is_empty() {
            Lang::En
        } else {
            self.account_lang(ctx.account_id).await
        };
        let url = &self.config.public_url;
        Ok(rows
            .iter()
            .map(|i| {
                let mut v = inbox_view(i, url, ctx);
                let row = statuses.iter().find(|s| s.inbox_id == i.id);
                let receives = i
                    .channel()
                    .and_then(|t| self.providers.get(t))
                    .is_some_and(|p| p.receives(&i.settings_map()));
                v.connection_status = status_view(i, receives, row, lang);
                v
            })
            .collect())
    }

    /// One inbox as the API shows it (see [`Services::inbox_views`]).
    pub async fn inbox_view(&self, ctx: &AccountCtx, row: &InboxRow) -> Result<InboxView> {
        let mut v = self.inbox_views(ctx, std::slice::from_ref(row)).await?;
        v.pop()
            .ok_or_else(|| crate::ServiceError::Internal("inbox view missing".into()))
    }
}
