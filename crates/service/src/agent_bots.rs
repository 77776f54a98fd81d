//! Agent bots (Chatwoot's `/agent_bots` and `set_agent_bot`, docs/bots.md).
//!
//! - **Who answers first.** A new conversation in an inbox with a bot starts `pending`,
//!   which routing leaves alone; opening it (the bot, an agent, a rule, or the customer
//!   writing a hand-off word) is the hand-off, and routing takes it from there
//!   (`Services::on_status_changed`).
//! - **External bots** get the inbox's events at `outgoing_url` through the webhook
//!   machine (a receiver row per inbox, signed with the bot's secret) and answer through
//!   the Application API with the bot's own token, which reaches only the conversations
//!   of its inboxes ([`BotActor`]).
//! - **The built-in bot** needs no service: the automation scan schedules one durable job
//!   per conversation of its inboxes, run again for each customer message (so it runs once
//!   across nodes, survives a restart, and two quick messages never race over the
//!   dialogue); the job plays `parley_core::bot::built_in_turn` for each message the bot
//!   has not handled yet.
//! - **Back to the bot.** A resolved conversation the customer writes to again is the bot's
//!   again (`pending`, Chatwoot's `reopen_resolved_conversation`), and so is one someone
//!   sets `pending`: the dialogue starts afresh from the next message.

use parley_core::activity::Activity;
use parley_core::bot::{self, BotConfig, Dialog, Situation, Turn};
use parley_core::texts::{self as core_texts, Lang};
use parley_core::validate::FieldError;
use parley_core::{ConversationStatus, MessageType, Role};
use parley_store::agent_bots::{AgentBotRow, BotFields};
use parley_store::conversations::ConversationRow;
use serde_json::{Value, json};

use crate::contacts::ContactChanges;
use crate::context::BotActor;
use crate::messages::{MessageInput, Sender};
use crate::routing_config::inbox_calendar;
use crate::texts::InboxTexts;
use crate::views::agent_bots::{AgentBotView, agent_bot_view};
use crate::{AccountCtx, Result, ServiceError, Services};

/// Bots one account may have.
pub const MAX_BOTS_PER_ACCOUNT: usize = 20;
/// Longest bot name.
pub const MAX_NAME_CHARS: usize = 255;
/// Longest description.
pub const MAX_DESCRIPTION_CHARS: usize = 1000;

/// The job that runs a bot's turn in one conversation.
pub const BOT_JOB: &str = "agent_bot";

/// Customer messages a bot's run reads at once.
const BOT_BATCH: i64 = 50;

/// The key of a conversation's bot job: one per conversation, so its runs never overlap
/// on one node and a new message while one runs makes one more run (`OnExisting::Again`).
pub(crate) fn bot_job_key(conversation_id: i64) -> String {
    format!("{BOT_JOB}:conversation:{conversation_id}")
}

/// The events a bot's `outgoing_url` receives for its inboxes: those Chatwoot's
/// `AgentBotListener` sends bots, under its names (`webhooks::bot_event`), which are not
/// the account webhooks' (no `conversation_status_changed`).
pub const BOT_EVENTS: &[&str] = &[
    "conversation_opened",
    "conversation_resolved",
    "message_created",
    "message_updated",
    "webwidget_triggered",
];

/// Fields of a bot create or update request; `None` means "not given".
#[derive(Debug, Clone, Default)]
pub struct AgentBotInput {
    pub name: Option<String>,
    /// `Some(None)` or an empty text clears it.
    pub description: Option<Option<String>>,
    pub outgoing_url: Option<Option<String>>,
    pub avatar_url: Option<Option<String>>,
    /// `webhook` / `builtin`, or Chatwoot's integer (0 = webhook, 1 = builtin).
    pub bot_type: Option<Value>,
    pub bot_config: Option<Value>,
}

fn bad(field: &str, message: impl Into<String>) -> ServiceError {
    FieldError::new(field, message).into()
}

fn optional_text(field: &str, v: Option<String>, max: usize) -> Result<Option<String>> {
    match v.as_deref().map(str::trim) {
        None | Some("") => Ok(None),
        Some(t) if t.chars().count() > max => {
            Err(bad(field, format!("must be at most {max} characters")))
        }
        Some(t) => Ok(Some(t.to_string())),
    }
}

fn bot_type_of(v: &Value) -> Result<String> {
    let t = match v {
        Value::String(s) => s.trim().to_string(),
        Value::Number(n) => match n.as_i64() {
            Some(0) => "webhook".into(),
            Some(1) => "builtin".into(),
            _ => String::new(),
        },
        _ => String::new(),
    };
    if bot::BOT_TYPES.contains(&t.as_str()) {
        Ok(t)
    } else {
        Err(bad("bot_type", "must be webhook (0) or builtin (1)"))
    }
}

fn new_token() -> String {
    format!("bot_{}", parley_store::random_token(24))
}

impl Services {
    /// The account's bots (administrators).
    pub async fn list_agent_bots(&self, ctx: &AccountCtx) -> Result<Vec<AgentBotView>> {
        ctx.require_admin()?;
        let mut out = Vec::new();
        for b in self.store.agent_bots(ctx.account_id).await? {
            let inboxes = self.store.agent_bot_inbox_ids(b.id).await?;
            out.push(agent_bot_view(&b, inboxes, None));
        }
        Ok(out)
    }

    async fn agent_bot_row(&self, ctx: &AccountCtx, id: i64) -> Result<AgentBotRow> {
        ctx.admin_one("agent_bot", self.store.agent_bot(ctx.account_id, id))
            .await
    }

    /// One bot (administrators).
    pub async fn agent_bot(&self, ctx: &AccountCtx, id: i64) -> Result<AgentBotView> {
        let b = self.agent_bot_row(ctx, id).await?;
        let inboxes = self.store.agent_bot_inbox_ids(b.id).await?;
        Ok(agent_bot_view(&b, inboxes, None))
    }

    /// Checks a request against the stored bot (or defaults) and returns what to store.
    async fn bot_fields(
        &self,
        current: Option<&AgentBotRow>,
        input: AgentBotInput,
    ) -> Result<BotFields> {
        let name = match input.name {
            Some(n) => n.trim().to_string(),
            None => current.map(|c| c.name.clone()).unwrap_or_default(),
        };
        if name.is_empty() {
            return Err(bad("name", "is required"));
        }
        if name.chars().count() > MAX_NAME_CHARS {
            return Err(bad(
                "name",
                format!("must be at most {MAX_NAME_CHARS} characters"),
            ));
        }
        let description = match input.description {
            Some(d) => optional_text("description", d, MAX_DESCRIPTION_CHARS)?,
            None => current.and_then(|c| c.description.clone()),
        };
        let bot_type = match &input.bot_type {
            Some(v) => bot_type_of(v)?,
            None => current.map_or_else(|| "webhook".to_string(), |c| c.bot_type.clone()),
        };
        let allow = self.config.webhooks.allow_private_targets;
        let outgoing_url = match input.outgoing_url {
            Some(u) => match u.as_deref().map(str::trim).filter(|u| !u.is_empty()) {
                Some(u) => Some(
                    crate::webhooks::check_target(u, allow)
                        .await
                        .map_err(|e| bad("outgoing_url", e.message))?,
                ),
                None => None,
            },
            None => current.and_then(|c| c.outgoing_url.clone()),
        };
        if bot_type == "webhook" && outgoing_url.is_none() {
            return Err(bad(
                "outgoing_url",
                "is required for a webhook bot (where its events are posted)",
            ));
        }
        let avatar_url = match input.avatar_url {
            Some(a) => match optional_text("avatar_url", a, crate::webhooks::MAX_URL_CHARS)? {
                Some(u) => {
                    let parsed = url::Url::parse(&u)
                        .map_err(|_| bad("avatar_url", "must be an absolute https:// URL"))?;
                    if !matches!(parsed.scheme(), "http" | "https") {
                        return Err(bad("avatar_url", "must be an absolute https:// URL"));
                    }
                    Some(u)
                }
                None => None,
            },
            None => current.and_then(|c| c.avatar_url.clone()),
        };
        let config = match &input.bot_config {
            Some(v) => BotConfig::check(v)?,
            None => current.map_or_else(BotConfig::default, |c| BotConfig::parse(&c.bot_config)),
        };
        Ok(BotFields {
            name,
            description,
            outgoing_url,
            avatar_url,
            bot_type,
            bot_config: serde_json::to_string(&config).unwrap_or_else(|_| "{}".into()),
        })
    }

    fn bot_subscriptions() -> String {
        serde_json::to_string(BOT_EVENTS).unwrap_or_else(|_| "[]".into())
    }

    /// Creates a bot (administrators); the answer carries its API token, shown this once.
    pub async fn create_agent_bot(
        &self,
        ctx: &AccountCtx,
        input: AgentBotInput,
    ) -> Result<AgentBotView> {
        ctx.require_admin()?;
        let fields = self.bot_fields(None, input).await?;
        if self.store.agent_bots(ctx.account_id).await?.len() >= MAX_BOTS_PER_ACCOUNT {
            return Err(bad(
                "name",
                format!("an account may have at most {MAX_BOTS_PER_ACCOUNT} bots"),
            ));
        }
        let token = new_token();
        let row = self
            .store
            .create_agent_bot(
                ctx.account_id,
                &fields,
                &token,
                &crate::webhooks::new_secret(),
            )
            .await?;
        Ok(agent_bot_view(&row, Vec::new(), Some(token)))
    }

    /// Changes a bot (administrators); its receivers follow a changed `outgoing_url`.
    pub async fn update_agent_bot(
        &self,
        ctx: &AccountCtx,
        id: i64,
        input: AgentBotInput,
    ) -> Result<AgentBotView> {
        let current = self.agent_bot_row(ctx, id).await?;
        let fields = self.bot_fields(Some(&current), input).await?;
        let row = self
            .store
            .update_agent_bot(ctx.account_id, id, &fields)
            .await?;
        if current.outgoing_url.is_none() && row.outgoing_url.is_some() {
            self.store
                .add_agent_bot_receivers(&row, &Self::bot_subscriptions())
                .await?;
        }
        let inboxes = self.store.agent_bot_inbox_ids(id).await?;
        Ok(agent_bot_view(&row, inboxes, None))
    }

    /// Deletes a bot (administrators): its inboxes' new conversations go to agents again.
    /// Conversations it held stay `pending` until someone opens them.
    pub async fn delete_agent_bot(&self, ctx: &AccountCtx, id: i64) -> Result<()> {
        self.agent_bot_row(ctx, id).await?;
        Ok(self.store.delete_agent_bot(ctx.account_id, id).await?)
    }

    /// Replaces a bot's API token (administrators); the old one stops at once.
    pub async fn reset_agent_bot_token(&self, ctx: &AccountCtx, id: i64) -> Result<AgentBotView> {
        let row = self.agent_bot_row(ctx, id).await?;
        let token = new_token();
        self.store
            .set_agent_bot_token(ctx.account_id, id, &token)
            .await?;
        let inboxes = self.store.agent_bot_inbox_ids(id).await?;
        Ok(agent_bot_view(&row, inboxes, Some(token)))
    }

    /// A page of the deliveries to the bot's `outgoing_url`, newest first
    /// (administrators): the same log as a webhook's.
    pub async fn agent_bot_deliveries(
        &self,
        ctx: &AccountCtx,
        id: i64,
        before: Option<i64>,
    ) -> Result<crate::webhooks::DeliveryPage> {
        self.agent_bot_row(ctx, id).await?;
        let page = crate::webhooks::LOG_PAGE;
        let deliveries = self.store.agent_bot_deliveries(id, before, page).await?;
        let next_before = (deliveries.len() as i64 == page)
            .then(|| deliveries.last().map(|d| d.id))
            .flatten();
        Ok(crate::webhooks::DeliveryPage {
            deliveries,
            next_before,
        })
    }

    /// Attaches a bot to an inbox, or detaches it with `None` (administrators).
    pub async fn set_inbox_agent_bot(
        &self,
        ctx: &AccountCtx,
        inbox_id: i64,
        bot_id: Option<i64>,
    ) -> Result<()> {
        ctx.require_admin()?;
        self.inbox(ctx, inbox_id).await?;
        let bot = match bot_id {
            Some(id) => Some(
                self.store
                    .agent_bot(ctx.account_id, id)
                    .await?
                    .ok_or_else(|| bad("agent_bot", "no such bot in this account"))?,
            ),
            None => None,
        };
        self.store
            .set_inbox_agent_bot(
                ctx.account_id,
                inbox_id,
                bot.as_ref(),
                &Self::bot_subscriptions(),
            )
            .await?;
        Ok(())
    }

    /// The bot of an inbox, if it has one (anyone who sees the inbox; the secret only to
    /// administrators).
    pub async fn inbox_agent_bot(
        &self,
        ctx: &AccountCtx,
        inbox_id: i64,
    ) -> Result<Option<AgentBotView>> {
        self.inbox(ctx, inbox_id).await?;
        let Some(b) = self.store.inbox_agent_bot(inbox_id).await? else {
            return Ok(None);
        };
        let inboxes = self.store.agent_bot_inbox_ids(b.id).await?;
        let mut view = agent_bot_view(&b, inboxes, None);
        if ctx.require_admin().is_err() {
            view.secret = String::new();
        }
        Ok(Some(view))
    }

    /// The bot acting with `token` inside `account_id`: it reaches the conversations of
    /// the inboxes it handles, and nothing else.
    pub async fn authenticate_bot(
        &self,
        token: &str,
        account_id: i64,
    ) -> Result<Option<AccountCtx>> {
        if token.is_empty() || token.len() > 256 {
            return Ok(None);
        }
        let Some((bot, inbox_ids)) = self.store.agent_bot_by_token(token).await? else {
            return Ok(None);
        };
        if bot.account_id != account_id {
            return Ok(None);
        }
        Ok(Some(AccountCtx {
            account_id,
            user_id: 0,
            role: Role::Agent,
            user_name: bot.name.clone(),
            bot: Some(BotActor {
                bot_id: bot.id,
                inbox_ids,
            }),
        }))
    }

    /// A new conversation in an inbox with a bot waits for the bot: `pending`, which
    /// routing leaves alone. Returns the row as it is now.
    pub(crate) async fn hold_for_bot(&self, row: ConversationRow) -> Result<ConversationRow> {
        if row.status() != ConversationStatus::Open || row.assignee_id.is_some() {
            return Ok(row);
        }
        if self.store.inbox_agent_bot(row.inbox_id).await?.is_none() {
            return Ok(row);
        }
        Ok(self
            .store
            .set_conversation_status(row.id, ConversationStatus::Pending, None)
            .await?
            .1)
    }

    /// Runs a bot's turn in one conversation (a `BOT_JOB`, one per conversation): every
    /// customer message after the last one it handled, in order, each once. The hand-off
    /// words for every bot, the built-in bot's dialogue for a built-in one; only while the
    /// conversation is still the bot's (`pending`).
    ///
    /// Each message's replies carry an echo id of that message, and the dialogue moves with
    /// its mark in one conditional statement after them: a run retried after a crash says
    /// nothing twice, and a run that finds the mark moved by another (a second node's) stops.
    pub(crate) async fn run_bot_job(&self, payload: &Value) -> Result<()> {
        let conversation_id = payload
            .get("conversation_id")
            .and_then(Value::as_i64)
            .ok_or_else(|| ServiceError::Internal("bot job lacks conversation_id".into()))?;
        let Some(c) = self.store.conversation_by_id(conversation_id).await? else {
            return Ok(());
        };
        let Some(bot) = self.store.inbox_agent_bot(c.inbox_id).await? else {
            return Ok(());
        };
        let inbox = self
            .store
            .inbox_by_id(c.inbox_id)
            .await?
            .ok_or(ServiceError::NotFound("inbox"))?;
        let cfg = BotConfig::parse(&bot.bot_config);
        let stored = self.store.bot_dialog(c.id).await?;
        let mut read = stored.as_ref().map(|d| d.handled_message_id);
        let mut dialog: Dialog = stored
            .and_then(|d| serde_json::from_str(&d.state).ok())
            .unwrap_or_default();
        let mut situation: Option<Situation> = None;
        loop {
            let batch = self
                .store
                .customer_messages_after(c.id, read.unwrap_or(0), BOT_BATCH)
                .await?;
            let more = batch.len() as i64 == BOT_BATCH;
            for (message_id, content) in batch {
                // Re-read: an agent (or a rule) may have taken it while the bot talked.
                let Some(c) = self.store.conversation_by_id(conversation_id).await? else {
                    return Ok(());
                };
                if c.status() != ConversationStatus::Pending {
                    return Ok(());
                }
                let text = content.unwrap_or_default();
                let (turns, next) = if bot.bot_type == "builtin" {
                    let s = match &mut situation {
                        Some(s) => s,
                        None => situation.insert(self.bot_situation(&c, &inbox, &cfg).await?),
                    };
                    let (turns, mut next) = bot::built_in_turn(&cfg, &dialog, &text, s);
                    let lang = match bot::language_of(&text)
                        .or_else(|| dialog.lang.as_deref().and_then(Lang::parse))
                    {
                        Some(l) => l,
                        None => self.customer_lang(&c, &inbox).await,
                    };
                    next.lang = Some(lang.as_str().to_string());
                    self.bot_play(&c, &bot, &inbox, s, lang, message_id, &turns)
                        .await?;
                    (turns, next)
                } else {
                    let turns = if cfg.wants_handoff(&text) {
                        vec![Turn::HandOff {
                            name: None,
                            phone: None,
                        }]
                    } else {
                        Vec::new()
                    };
                    (turns, dialog.clone())
                };
                let state = serde_json::to_string(&next).unwrap_or_else(|_| "{}".into());
                if !self
                    .store
                    .save_bot_turn(c.id, read, message_id, &state)
                    .await?
                {
                    tracing::info!(
                        conversation = c.id,
                        "another run of the bot moved on; stopping"
                    );
                    return Ok(());
                }
                read = Some(message_id);
                dialog = next;
                if turns.iter().any(|t| matches!(t, Turn::HandOff { .. })) {
                    return self.bot_hand_off(&c, &bot, true).await;
                }
            }
            if !more {
                return Ok(());
            }
        }
    }

    /// What the built-in bot knows about a conversation besides the messages: whether the
    /// inbox is closed now, whether the contact has a phone, the canned responses.
    async fn bot_situation(
        &self,
        c: &ConversationRow,
        inbox: &parley_store::inboxes::InboxRow,
        cfg: &BotConfig,
    ) -> Result<Situation> {
        let now = self.store.now();
        let calendar = inbox_calendar(inbox);
        let contact = self.store.contact(c.account_id, c.contact_id).await?;
        let canned: Vec<(String, String)> = if cfg.answer_from_canned {
            self.store
                .canned_responses(c.account_id, None)
                .await?
                .into_iter()
                .map(|r| (r.short_code, r.content))
                .collect()
        } else {
            Vec::new()
        };
        Ok(Situation {
            closed: calendar.as_ref().is_some_and(|cal| !cal.is_open(now)),
            has_phone: contact
                .phone_number
                .as_deref()
                .is_some_and(|p| !p.trim().is_empty()),
            canned,
        })
    }

    /// Says the built-in bot's `turns` for customer message `message_id` (each reply's echo
    /// id names that message and the turn, so a retried run says it once) and stores the
    /// contact details a hand-off collected.
    #[allow(clippy::too_many_arguments)]
    async fn bot_play(
        &self,
        c: &ConversationRow,
        bot: &AgentBotRow,
        inbox: &parley_store::inboxes::InboxRow,
        situation: &Situation,
        lang: Lang,
        message_id: i64,
        turns: &[Turn],
    ) -> Result<()> {
        let texts = InboxTexts::of_inbox(inbox);
        let vars = |extra: Option<(&'static str, String)>| {
            let mut v = vec![("inbox_name", inbox.name.clone())];
            v.extend(extra);
            v
        };
        for (n, turn) in turns.iter().enumerate() {
            let echo = format!("bot:{}:{message_id}:{n}", bot.id);
            match turn {
                Turn::Say(id) => {
                    let t = texts.render(lang, id, &vars(None));
                    self.bot_say(c, bot, t, echo).await?;
                }
                Turn::Canned(i) => {
                    if let Some((_, content)) = situation.canned.get(*i) {
                        self.bot_say(c, bot, content.clone(), echo).await?;
                    }
                }
                Turn::OffHours => {
                    let now = self.store.now();
                    let when = inbox_calendar(inbox)
                        .as_ref()
                        .and_then(|cal| cal.next_open(now))
                        .map(|t| core_texts::when_label(lang, &inbox.timezone, t));
                    let t = match when {
                        Some(w) => {
                            texts.render(lang, "bot_offhours", &vars(Some(("next_open", w))))
                        }
                        None => texts.render(lang, "offhours_reply_later", &vars(None)),
                    };
                    self.bot_say(c, bot, t, echo).await?;
                }
                Turn::HandOff { name, phone } => {
                    if name.is_some() || phone.is_some() {
                        self.bot_store_contact(c, bot, name.clone(), phone.clone())
                            .await;
                    }
                    let t = texts.render(lang, "bot_handoff", &vars(None));
                    self.bot_say(c, bot, t, echo).await?;
                }
            }
        }
        Ok(())
    }

    /// A conversation came back to its inbox's bot (set `pending` by someone): the bot's
    /// dialogue starts afresh from the next customer message.
    pub(crate) async fn bot_takes_over(&self, c: &ConversationRow) -> Result<()> {
        if self.store.inbox_agent_bot(c.inbox_id).await?.is_some() {
            self.store.restart_bot_dialog(c.id).await?;
        }
        Ok(())
    }

    /// The customer's language: the widget's browser language, else the inbox's.
    async fn customer_lang(
        &self,
        c: &ConversationRow,
        inbox: &parley_store::inboxes::InboxRow,
    ) -> Lang {
        let attrs = crate::views::json_obj(&c.additional_attributes);
        match attrs.get("browser_language").and_then(Value::as_str) {
            Some(l) => Lang::of_locale(l),
            None => self.inbox_lang(inbox).await,
        }
    }

    /// A message from the bot to the customer; `echo` makes a retried job say it once.
    async fn bot_say(
        &self,
        c: &ConversationRow,
        bot: &AgentBotRow,
        text: String,
        echo: String,
    ) -> Result<()> {
        let mut input = MessageInput::text(MessageType::Outgoing, text);
        input.echo_id = Some(echo);
        input.content_attributes = Some(json!({"agent_bot": bot.id}));
        self.create_message(c, Sender::AgentBot(bot.id), input)
            .await?;
        Ok(())
    }

    /// Stores the name and phone the built-in bot collected on the contact. A phone that
    /// another contact already has is left out (the operator sees it in the chat).
    async fn bot_store_contact(
        &self,
        c: &ConversationRow,
        bot: &AgentBotRow,
        name: Option<String>,
        phone: Option<String>,
    ) {
        let ctx = self.bot_system_ctx(c.account_id, bot);
        let changes = ContactChanges {
            name: name.clone().map(Some),
            phone_number: phone.map(Some),
            ..ContactChanges::default()
        };
        if let Err(e) = self.update_contact(&ctx, c.contact_id, changes).await {
            tracing::warn!(conversation = c.id, error = %e, "the bot could not store the phone; storing the name only");
            let changes = ContactChanges {
                name: name.map(Some),
                ..ContactChanges::default()
            };
            if let Err(e) = self.update_contact(&ctx, c.contact_id, changes).await {
                tracing::warn!(conversation = c.id, error = %e, "the bot could not update the contact");
            }
        }
    }

    fn bot_system_ctx(&self, account_id: i64, bot: &AgentBotRow) -> AccountCtx {
        AccountCtx {
            account_id,
            user_id: 0,
            role: Role::Administrator,
            user_name: bot.name.clone(),
            bot: None,
        }
    }

    /// Opens a bot's pending conversation for agents, with its activity line; routing
    /// takes it from there.
    async fn bot_hand_off(
        &self,
        c: &ConversationRow,
        bot: &AgentBotRow,
        asked: bool,
    ) -> Result<()> {
        let by = bot.name.clone();
        let activity = if asked {
            Activity::HandoffRequested { by }
        } else {
            Activity::HandedOff { by }
        };
        self.set_status(c, ConversationStatus::Open, None, activity)
            .await?;
        Ok(())
    }

    /// Whether a built-in bot holding this conversation tells the working hours itself
    /// (then the inbox's off-hours auto-reply is not sent as well).
    pub(crate) async fn bot_tells_hours(&self, c: &ConversationRow) -> Result<bool> {
        if c.status() != ConversationStatus::Pending {
            return Ok(false);
        }
        Ok(self
            .store
            .inbox_agent_bot(c.inbox_id)
            .await?
            .is_some_and(|b| {
                b.bot_type == "builtin" && BotConfig::parse(&b.bot_config).offhours_info
            }))
    }

    /// Which inboxes of an account have a bot (read by the automation scan).
    pub(crate) async fn bot_inbox_ids(&self, account_id: i64) -> Result<Vec<i64>> {
        Ok(self
            .store
            .bot_inboxes(account_id)
            .await?
            .into_iter()
            .map(|(i, _)| i)
            .collect())
    }
}
