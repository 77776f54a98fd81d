//! Automation rules and macros (Chatwoot's `/automation_rules` and `/macros`).
//!
//! - **Rules** answer events. A worker on every node follows each account's event log with
//!   one cursor (`parley_store::automation`): it reads the events after the cursor,
//!   evaluates the account's active rules on them (`parley_core::automation`) and, in one
//!   transaction, moves the cursor (compare-and-set: one node wins) and schedules an
//!   `automation` job per match, which the job runner runs once across the cluster. The
//!   message path pays nothing: no rule work happens inside the group commit.
//! - **No loops.** Changes made by a rule's actions store their events with
//!   `origin = automation_rule:<id>` (a task-local set while the actions run, read by
//!   [`Services::emit`]); messages a rule sends carry `content_attributes.automation_rule_id`.
//!   Such events and messages, and activity lines, trigger no rule.
//! - **Visible.** Each action leaves an activity line naming the rule (assignments and
//!   status changes write their usual line with the rule as who did it).
//! - **Macros** are the same actions, run by an agent on conversations they can see.

use std::collections::HashMap;
use std::time::Duration;

use parley_core::activity::Activity;
use parley_core::automation::{
    self as rules, Action, Condition, Facts, MAX_DESCRIPTION_CHARS, MAX_MACRO_CONVERSATIONS,
    MAX_MACROS_PER_ACCOUNT, MAX_NAME_CHARS, MAX_RULES_PER_ACCOUNT, param_id, param_text,
};
use parley_core::validate::FieldError;
use parley_core::{ChannelType, MessageType, Role};
use parley_store::automation::RuleFields;
/// The records these use cases return.
pub use parley_store::automation::{MacroRow, RuleRow};
use parley_store::conversations::ConversationRow;
use parley_store::events::{EventRow, EventScope};
use parley_store::jobs::{NewJob, OnExisting};
use parley_store::webhooks::NewDelivery;
use serde_json::{Value, json};
use tracing::Instrument;

use crate::mail::Email;
use crate::messages::{MessageInput, Sender};
use crate::routing_config::inbox_calendar;
use crate::views::json_obj;
use crate::{AccountCtx, OrNotFound, Result, ServiceError, Services};

/// The job kind that runs one rule's actions on one conversation.
pub const AUTOMATION_JOB: &str = "automation";
/// Events read per account per scan.
const SCAN_PAGE: i64 = 200;
/// Conversations a dry run looks at, newest activity first.
pub const DRY_RUN_LIMIT: i64 = 500;
/// How far back a dry run looks.
pub const DRY_RUN_DAYS: i64 = 7;

/// A rule as written by the API: every field optional on update.
#[derive(Debug, Clone, Default)]
pub struct RuleInput {
    pub name: Option<String>,
    pub description: Option<Option<String>>,
    pub event_name: Option<String>,
    pub conditions: Option<Vec<Condition>>,
    pub actions: Option<Vec<Action>>,
    pub active: Option<bool>,
}

/// A macro as written by the API.
#[derive(Debug, Clone, Default)]
pub struct MacroInput {
    pub name: Option<String>,
    pub visibility: Option<String>,
    pub actions: Option<Vec<Action>>,
}

/// A conversation a dry run matched.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct DryRunMatch {
    /// The conversation's number.
    pub id: i64,
    pub inbox_id: i64,
    pub status: String,
    /// The contact's name.
    pub contact_name: Option<String>,
    /// Epoch seconds of the last activity.
    pub last_activity_at: i64,
    /// The message that matched (`message_created` rules), cut to 200 characters.
    pub message: Option<String>,
}

/// What a dry run found.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct DryRun {
    /// Conversations looked at (the newest by activity of the last 7 days, at most 500).
    pub checked: usize,
    pub matches: Vec<DryRunMatch>,
}

fn bad(field: &'static str, message: impl Into<String>) -> ServiceError {
    FieldError::new(field, message).into()
}

fn check_name(name: &str) -> Result<String> {
    let n = name.trim();
    if n.is_empty() || n.chars().count() > MAX_NAME_CHARS {
        return Err(bad(
            "name",
            format!("must be 1 to {MAX_NAME_CHARS} characters"),
        ));
    }
    Ok(n.to_string())
}

fn invalid(e: rules::Invalid) -> ServiceError {
    bad(e.field, e.message)
}

/// The rule events an event of the log stands for.
fn rule_events(row: &EventRow, payload: &Value) -> Vec<&'static str> {
    match row.name.as_str() {
        "conversation.created" => vec!["conversation_created"],
        "message.created" => {
            // Activity lines and the rules' own messages trigger nothing.
            let code = payload.get("message_type").and_then(Value::as_i64);
            let by_rule = payload
                .pointer("/content_attributes/automation_rule_id")
                .is_some();
            if code == Some(MessageType::Activity.code()) || by_rule {
                vec![]
            } else {
                vec!["message_created"]
            }
        }
        "conversation.status_changed" => match payload.get("status").and_then(Value::as_str) {
            Some("open") => vec!["conversation_updated", "conversation_opened"],
            Some("resolved") => vec!["conversation_updated", "conversation_resolved"],
            _ => vec!["conversation_updated"],
        },
        "conversation.updated" | "assignee.changed" | "team.changed" => {
            vec!["conversation_updated"]
        }
        _ => vec![],
    }
}

fn message_type_name(code: i64) -> &'static str {
    match MessageType::from_code(code) {
        Some(MessageType::Incoming) => "incoming",
        Some(MessageType::Outgoing) => "outgoing",
        Some(MessageType::Template) => "template",
        _ => "activity",
    }
}

/// A parsed, active rule.
struct Rule {
    row: RuleRow,
    conditions: Vec<Condition>,
}

impl Services {
    // ----- rules: the API -----

    /// The account's rules (administrators only).
    pub async fn list_automation_rules(&self, ctx: &AccountCtx) -> Result<Vec<RuleRow>> {
        ctx.require_admin()?;
        Ok(self.store.automation_rules(ctx.account_id).await?)
    }

    /// One rule (administrators only).
    pub async fn automation_rule(&self, ctx: &AccountCtx, id: i64) -> Result<RuleRow> {
        ctx.admin_one(
            "automation rule",
            self.store.automation_rule(ctx.account_id, id),
        )
        .await
    }

    /// Checks a rule's fields against the account (teams, agents, webhook targets exist
    /// and are allowed) and returns them ready to store.
    async fn rule_fields(
        &self,
        ctx: &AccountCtx,
        base: Option<&RuleRow>,
        input: RuleInput,
    ) -> Result<RuleFields> {
        let name = match (input.name, base) {
            (Some(n), _) => check_name(&n)?,
            (None, Some(b)) => b.name.clone(),
            (None, None) => return Err(bad("name", "is required")),
        };
        let description = match (input.description, base) {
            (Some(d), _) => d,
            (None, Some(b)) => b.description.clone(),
            (None, None) => None,
        }
        .map(|d| d.trim().to_string())
        .filter(|d| !d.is_empty());
        if description
            .as_ref()
            .is_some_and(|d| d.chars().count() > MAX_DESCRIPTION_CHARS)
        {
            return Err(bad(
                "description",
                format!("must be at most {MAX_DESCRIPTION_CHARS} characters"),
            ));
        }
        let event_name = match (input.event_name, base) {
            (Some(e), _) => e,
            (None, Some(b)) => b.event_name.clone(),
            (None, None) => return Err(bad("event_name", "is required")),
        };
        rules::check_event(&event_name).map_err(invalid)?;
        let conditions = match (input.conditions, base) {
            (Some(c), _) => c,
            (None, Some(b)) => serde_json::from_str(&b.conditions).unwrap_or_default(),
            (None, None) => return Err(bad("conditions", "is required")),
        };
        rules::check_conditions(&conditions).map_err(invalid)?;
        let actions = match (input.actions, base) {
            (Some(a), _) => a,
            (None, Some(b)) => serde_json::from_str(&b.actions).unwrap_or_default(),
            (None, None) => return Err(bad("actions", "is required")),
        };
        self.check_actions_in_account(ctx, &actions, false).await?;
        let active = input.active.or(base.map(|b| b.active != 0)).unwrap_or(true);
        Ok(RuleFields {
            name,
            description,
            event_name,
            conditions: serde_json::to_string(&conditions).unwrap_or_else(|_| "[]".into()),
            actions: serde_json::to_string(&actions).unwrap_or_else(|_| "[]".into()),
            active,
        })
    }

    /// Checks actions' shapes, then what they name in the account.
    async fn check_actions_in_account(
        &self,
        ctx: &AccountCtx,
        actions: &[Action],
        for_macro: bool,
    ) -> Result<()> {
        rules::check_actions(actions, for_macro).map_err(invalid)?;
        for a in actions {
            let first = a.action_params.first();
            match a.action_name.as_str() {
                "assign_team" => {
                    let id = first.and_then(param_id).unwrap_or(0);
                    if self.store.team_ref(ctx.account_id, id).await?.is_none() {
                        return Err(bad("actions", format!("assign_team: no team {id}")));
                    }
                }
                "assign_agent" => {
                    let id = first.and_then(param_id).unwrap_or(0);
                    if self.store.agent(ctx.account_id, id).await.is_err() {
                        return Err(bad(
                            "actions",
                            format!("assign_agent: no agent {id} in this account"),
                        ));
                    }
                }
                "add_label" | "remove_label" => {
                    let labels: Vec<String> =
                        a.action_params.iter().filter_map(param_text).collect();
                    crate::conversations::clean_labels(&labels).map_err(|_| {
                        bad("actions", format!("{}: invalid label names", a.action_name))
                    })?;
                }
                "send_email_to_team" => {
                    if let Some((_, teams)) = first.and_then(rules::email_to_team) {
                        for id in teams {
                            if self.store.team_ref(ctx.account_id, id).await?.is_none() {
                                return Err(bad(
                                    "actions",
                                    format!("send_email_to_team: no team {id}"),
                                ));
                            }
                        }
                    }
                }
                "send_webhook_event" => {
                    let url = first.and_then(param_text).unwrap_or_default();
                    crate::webhooks::check_target(&url, self.config.webhooks.allow_private_targets)
                        .await
                        .map_err(|e| {
                            bad("actions", format!("send_webhook_event: {}", e.message))
                        })?;
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// Creates a rule (administrators only; at most 100 per account).
    pub async fn create_automation_rule(
        &self,
        ctx: &AccountCtx,
        input: RuleInput,
    ) -> Result<RuleRow> {
        ctx.require_admin()?;
        let fields = self.rule_fields(ctx, None, input).await?;
        self.store
            .create_automation_rule(ctx.account_id, &fields, MAX_RULES_PER_ACCOUNT as i64)
            .await?
            .ok_or_else(|| {
                bad(
                    "automation_rules",
                    format!("an account may have at most {MAX_RULES_PER_ACCOUNT} rules"),
                )
            })
    }

    /// Changes a rule (administrators only); fields left out keep their values.
    pub async fn update_automation_rule(
        &self,
        ctx: &AccountCtx,
        id: i64,
        input: RuleInput,
    ) -> Result<RuleRow> {
        let base = self.automation_rule(ctx, id).await?;
        let fields = self.rule_fields(ctx, Some(&base), input).await?;
        Ok(self
            .store
            .update_automation_rule(ctx.account_id, id, &fields)
            .await?)
    }

    /// Copies a rule under the same name (Chatwoot's `clone`).
    pub async fn clone_automation_rule(&self, ctx: &AccountCtx, id: i64) -> Result<RuleRow> {
        let base = self.automation_rule(ctx, id).await?;
        let fields = RuleFields {
            name: base.name.clone(),
            description: base.description.clone(),
            event_name: base.event_name.clone(),
            conditions: base.conditions.clone(),
            actions: base.actions.clone(),
            active: base.active != 0,
        };
        self.store
            .create_automation_rule(ctx.account_id, &fields, MAX_RULES_PER_ACCOUNT as i64)
            .await?
            .ok_or_else(|| {
                bad(
                    "automation_rules",
                    format!("an account may have at most {MAX_RULES_PER_ACCOUNT} rules"),
                )
            })
    }

    /// Deletes a rule (administrators only).
    pub async fn delete_automation_rule(&self, ctx: &AccountCtx, id: i64) -> Result<()> {
        ctx.require_admin()?;
        self.store
            .delete_automation_rule(ctx.account_id, id)
            .await
            .or_not_found("automation rule")
    }

    /// Which conversations active in the last 7 days (newest first, at most 500) a rule
    /// would match now: for `message_created` rules, by any of their last 20 messages.
    /// Nothing is changed. The rule may be a saved one (`id`) or unsaved fields.
    pub async fn automation_dry_run(
        &self,
        ctx: &AccountCtx,
        event_name: &str,
        conditions: &[Condition],
    ) -> Result<DryRun> {
        ctx.require_admin()?;
        rules::check_event(event_name).map_err(invalid)?;
        rules::check_conditions(conditions).map_err(invalid)?;
        let since = self.store.now() - DRY_RUN_DAYS * 86_400_000;
        let candidates = self
            .store
            .recent_conversation_ids(ctx.account_id, since, DRY_RUN_LIMIT)
            .await?;
        let mut matches = Vec::new();
        let mut cache = FactsCache::default();
        for (id, _) in &candidates {
            let Some(c) = self.store.conversation_by_id(*id).await? else {
                continue;
            };
            let base = self.facts(&c, &mut cache).await?;
            let mut matched = None;
            if event_name == "message_created" {
                let page = self.store.messages_page(c.id, None, None, 20, true).await?;
                for m in page.iter() {
                    let code = m.message.message_type;
                    if code == MessageType::Activity.code() {
                        continue;
                    }
                    let mut f = base.clone();
                    f.content = m.message.content.clone();
                    f.message_type = Some(message_type_name(code).into());
                    if rules::conditions_hold(conditions, &f) {
                        matched = Some(
                            m.message
                                .content
                                .clone()
                                .unwrap_or_default()
                                .chars()
                                .take(200)
                                .collect(),
                        );
                        break;
                    }
                }
                if matched.is_none() {
                    continue;
                }
            } else if !rules::conditions_hold(conditions, &base) {
                continue;
            }
            let contact_name = base
                .contact
                .get("name")
                .and_then(Value::as_str)
                .map(String::from);
            matches.push(DryRunMatch {
                id: c.display_id,
                inbox_id: c.inbox_id,
                status: c.status.clone(),
                contact_name,
                last_activity_at: crate::views::secs(c.last_activity_at),
                message: matched,
            });
        }
        Ok(DryRun {
            checked: candidates.len(),
            matches,
        })
    }

    // ----- rules: the engine -----

    /// Starts this node's rule engine: it evaluates rules on new events at least every
    /// `poll` (the actions run as jobs).
    pub fn spawn_automation_worker(&self, poll: Duration) -> tokio::task::JoinHandle<()> {
        let svc = self.clone();
        tokio::spawn(async move {
            loop {
                let moved = match svc.scan_automation().await {
                    Ok(n) => n,
                    Err(e) => {
                        tracing::warn!(error = %e, "automation scan failed");
                        0
                    }
                };
                if moved == 0 {
                    tokio::time::sleep(poll).await;
                }
            }
        })
    }

    /// Evaluates rules on the events the engine has not seen; returns how many accounts
    /// moved on with work done (an account without rules or bots moves its cursor but does
    /// not count, so the engine sleeps its poll).
    pub async fn scan_automation(&self) -> Result<usize> {
        let behind = self.store.automation_behind(100).await?;
        let mut moved = 0;
        for b in behind {
            let span = tracing::info_span!("automation_scan", account = b.account_id);
            match self
                .scan_account(b.account_id, b.cursor, b.head)
                .instrument(span)
                .await
            {
                Ok(true) => moved += 1,
                Ok(false) => {}
                Err(e) => {
                    tracing::warn!(account = b.account_id, error = %e, "automation scan failed");
                }
            }
        }
        Ok(moved)
    }

    async fn scan_account(&self, account_id: i64, cursor: i64, head: i64) -> Result<bool> {
        let rules: Vec<Rule> = self
            .store
            .automation_rules(account_id)
            .await?
            .into_iter()
            .filter(|r| r.active != 0)
            .filter_map(|row| {
                let conditions = serde_json::from_str(&row.conditions).ok()?;
                Some(Rule { row, conditions })
            })
            .collect();
        // Inboxes with an agent bot: each customer message there is a bot job.
        let bot_inboxes = self.bot_inbox_ids(account_id).await?;
        let idle = rules.is_empty() && bot_inboxes.is_empty();
        let (rows, to) = if idle {
            (Vec::new(), head)
        } else {
            let rows = self
                .store
                .events_after(
                    account_id,
                    &EventScope::Account,
                    cursor,
                    Some(head + 1),
                    SCAN_PAGE,
                )
                .await?;
            let to = if rows.len() as i64 == SCAN_PAGE {
                rows.last().map_or(head, |r| r.seq)
            } else {
                head
            };
            (rows, to)
        };
        let now = self.store.now();
        let mut keys = Vec::new();
        let mut payloads = Vec::new();
        let mut kinds = Vec::new();
        let mut cache = FactsCache::default();
        for row in rows {
            if row.origin.is_some() {
                continue;
            }
            let Some(conversation_id) = row.conversation_id else {
                continue;
            };
            let payload: Value = serde_json::from_str(&row.payload).unwrap_or(Value::Null);
            if row.name == "message.created"
                && row.inbox_id.is_some_and(|i| bot_inboxes.contains(&i))
                && payload.get("message_type").and_then(Value::as_i64) == Some(0)
                && payload.get("private").and_then(Value::as_bool) != Some(true)
            {
                // One job per conversation, run again for each new message: it reads the
                // messages the bot has not handled yet (`run_bot_job`), so two messages in
                // quick succession never race over the dialogue.
                keys.push(crate::agent_bots::bot_job_key(conversation_id));
                payloads.push(
                    json!({
                        "account_id": account_id,
                        "conversation_id": conversation_id,
                    })
                    .to_string(),
                );
                kinds.push((crate::agent_bots::BOT_JOB, OnExisting::Again));
            }
            let events = rule_events(&row, &payload);
            if events.is_empty()
                || !rules
                    .iter()
                    .any(|r| events.contains(&r.row.event_name.as_str()))
            {
                continue;
            }
            let Some(c) = self.store.conversation_by_id(conversation_id).await? else {
                continue;
            };
            let mut facts = self.facts(&c, &mut cache).await?;
            if row.name == "message.created" {
                facts.content = payload
                    .get("content")
                    .and_then(Value::as_str)
                    .map(String::from);
                facts.message_type = payload
                    .get("message_type")
                    .and_then(Value::as_i64)
                    .map(|c| message_type_name(c).to_string());
                facts.mail_subject = payload
                    .pointer("/content_attributes/email/subject")
                    .and_then(Value::as_str)
                    .map(String::from);
            }
            for r in &rules {
                if !events.contains(&r.row.event_name.as_str()) {
                    continue;
                }
                if !rules::conditions_hold(&r.conditions, &facts) {
                    continue;
                }
                kinds.push((AUTOMATION_JOB, OnExisting::Ignore));
                keys.push(format!(
                    "automation:{}:{}:{}",
                    r.row.id, row.seq, conversation_id
                ));
                payloads.push(
                    json!({
                        "rule_id": r.row.id,
                        "account_id": account_id,
                        "conversation_id": conversation_id,
                        "seq": row.seq,
                    })
                    .to_string(),
                );
            }
        }
        let jobs: Vec<(NewJob<'_>, OnExisting)> = keys
            .iter()
            .zip(payloads)
            .zip(kinds)
            .map(|((key, payload), (kind, on_existing))| {
                let job = NewJob {
                    key,
                    kind,
                    account_id: Some(account_id),
                    payload,
                    run_at: now,
                };
                (job, on_existing)
            })
            .collect();
        let moved = self
            .store
            .advance_automation(account_id, cursor, to, &jobs)
            .await?;
        if moved && !jobs.is_empty() {
            metrics::counter!("parley_automation_matches_total").increment(jobs.len() as u64);
        }
        // An account without rules or bots only has its cursor carried to the head: that is
        // not work to come straight back for, or under load the engine would spin on cursor
        // writes through the one SQLite writer the message path needs.
        Ok(moved && !idle)
    }

    /// What a rule's conditions read about a conversation now.
    async fn facts(&self, c: &ConversationRow, cache: &mut FactsCache) -> Result<Facts> {
        let inbox = match cache.inboxes.get(&c.inbox_id) {
            Some(i) => i.clone(),
            None => {
                let i = self.store.inbox_by_id(c.inbox_id).await?;
                let entry = i.map(|inbox| {
                    let channel = inbox
                        .channel()
                        .map(ChannelType::short)
                        .unwrap_or_default()
                        .to_string();
                    (channel, inbox_calendar(&inbox))
                });
                cache.inboxes.insert(c.inbox_id, entry.clone());
                entry
            }
        };
        let (channel_type, calendar) = inbox.unwrap_or_default();
        let contact = self.store.contact(c.account_id, c.contact_id).await.ok();
        let labels = self
            .store
            .labels_of(&[c.id])
            .await?
            .into_iter()
            .map(|(_, l)| l)
            .collect();
        let now = self.store.now();
        Ok(Facts {
            content: None,
            message_type: None,
            mail_subject: None,
            inbox_id: c.inbox_id,
            channel_type,
            team_id: c.team_id,
            assignee_id: c.assignee_id,
            status: c.status.clone(),
            priority: c.priority.clone(),
            labels,
            conversation_attributes: json_obj(&c.additional_attributes),
            conversation_custom: json_obj(&c.custom_attributes),
            contact: contact.as_ref().map_or(
                Value::Null,
                |ct| json!({"name": ct.name, "email": ct.email, "phone_number": ct.phone_number}),
            ),
            contact_attributes: contact
                .as_ref()
                .map_or(Value::Null, |ct| json_obj(&ct.additional_attributes)),
            contact_custom: contact
                .as_ref()
                .map_or(Value::Null, |ct| json_obj(&ct.custom_attributes)),
            in_working_hours: calendar.map(|cal| cal.is_open(now)),
        })
    }

    /// Runs one matched rule's actions on one conversation (an `automation` job).
    pub(crate) async fn run_automation_job(&self, payload: &Value) -> Result<()> {
        let field = |k: &str| {
            payload
                .get(k)
                .and_then(Value::as_i64)
                .ok_or_else(|| ServiceError::Internal(format!("automation job lacks {k}")))
        };
        let (rule_id, account_id, conversation_id) = (
            field("rule_id")?,
            field("account_id")?,
            field("conversation_id")?,
        );
        let Some(rule) = self.store.automation_rule(account_id, rule_id).await? else {
            return Ok(());
        };
        if rule.active == 0 {
            return Ok(());
        }
        let Some(c) = self.store.conversation_by_id(conversation_id).await? else {
            return Ok(());
        };
        let actions: Vec<Action> = serde_json::from_str(&rule.actions).unwrap_or_default();
        let ctx = AccountCtx {
            account_id,
            user_id: 0,
            role: Role::Administrator,
            user_name: format!("automation rule «{}»", rule.name),
            bot: None,
        };
        let origin = format!("automation_rule:{}", rule.id);
        let who = Who {
            name: rule.name.clone(),
            agent: None,
        };
        let run = self.perform(&ctx, &c, &actions, Performer::Rule(rule.id), &who);
        crate::context::EVENT_ORIGIN
            .scope(
                origin,
                crate::context::ACTING_RULE.scope(rule.name.clone(), run),
            )
            .await
    }

    /// Performs actions on a conversation, each with its activity line. A failing action
    /// (a team deleted since the rule was saved) is logged and the others still run.
    async fn perform(
        &self,
        ctx: &AccountCtx,
        c: &ConversationRow,
        actions: &[Action],
        by: Performer,
        who: &Who,
    ) -> Result<()> {
        for a in actions {
            if let Err(e) = self.perform_one(ctx, c, a, by, who).await {
                if matches!(e, ServiceError::Unavailable { .. }) {
                    return Err(e);
                }
                tracing::warn!(conversation = c.id, action = %a.action_name, error = %e, "automation action failed");
            }
        }
        Ok(())
    }

    async fn perform_one(
        &self,
        ctx: &AccountCtx,
        c: &ConversationRow,
        a: &Action,
        by: Performer,
        who: &Who,
    ) -> Result<()> {
        let d = c.display_id;
        let p = &a.action_params;
        let first_text = p.first().and_then(param_text);
        let mut line: Option<Option<String>> = None;
        match a.action_name.as_str() {
            "assign_team" => {
                self.assign_team(ctx, d, p.first().and_then(param_id))
                    .await?;
            }
            "remove_assigned_team" => {
                self.assign_team(ctx, d, None).await?;
            }
            "assign_agent" => {
                self.assign_agent(ctx, d, p.first().and_then(param_id))
                    .await?;
            }
            "add_label" | "remove_label" => {
                let mut labels = self.conversation_labels(ctx, d).await?;
                let named: Vec<String> = p
                    .iter()
                    .filter_map(param_text)
                    .map(|l| l.trim().to_lowercase())
                    .collect();
                let before = labels.clone();
                if a.action_name == "add_label" {
                    for l in &named {
                        if !labels.contains(l) {
                            labels.push(l.clone());
                        }
                    }
                } else {
                    labels.retain(|l| !named.contains(l));
                }
                if labels != before {
                    self.set_conversation_labels(ctx, d, &labels).await?;
                    line = Some(Some(named.join(", ")));
                }
            }
            "change_priority" => {
                let before = c.priority.clone();
                let view = self.toggle_priority(ctx, d, first_text.as_deref()).await?;
                let after = serde_json::to_value(&view)
                    .ok()
                    .and_then(|v| v.get("priority").and_then(Value::as_str).map(String::from));
                if before != after {
                    line = Some(first_text.clone());
                }
            }
            "send_message" => {
                let mut input =
                    MessageInput::text(MessageType::Template, first_text.unwrap_or_default());
                input.content_attributes = Some(by.marker());
                self.create_message(c, Sender::System, input).await?;
            }
            "add_private_note" => {
                let mut input =
                    MessageInput::text(MessageType::Outgoing, first_text.unwrap_or_default());
                input.private = true;
                input.content_attributes = Some(by.marker());
                self.create_message(c, Sender::System, input).await?;
            }
            "resolve_conversation" => {
                self.toggle_status(ctx, d, Some("resolved"), None).await?;
            }
            "open_conversation" => {
                self.toggle_status(ctx, d, Some("open"), None).await?;
            }
            "change_status" => {
                self.toggle_status(ctx, d, first_text.as_deref(), None)
                    .await?;
            }
            "snooze_conversation" => {
                let until = p.first().and_then(param_id).map(|secs| {
                    // A small number is a duration from now; a large one a Unix time.
                    if secs < 1_000_000_000 {
                        self.store.now() / 1000 + secs
                    } else {
                        secs
                    }
                });
                self.toggle_status(ctx, d, Some("snoozed"), until).await?;
            }
            "mute_conversation" => {
                // Resolves and mutes, each with its own activity line.
                self.mute(ctx, d).await?;
            }
            "send_email_to_team" => {
                let Some((message, teams)) = p.first().and_then(rules::email_to_team) else {
                    return Ok(());
                };
                let mut to = Vec::new();
                for t in &teams {
                    for agent in self.store.team_members(ctx.account_id, *t).await? {
                        if !to.contains(&agent.email) {
                            to.push(agent.email);
                        }
                    }
                }
                if !to.is_empty() {
                    let inbox = self
                        .store
                        .inbox_by_id(c.inbox_id)
                        .await?
                        .ok_or(ServiceError::NotFound("inbox"))?;
                    let lang = self.inbox_lang(&inbox).await;
                    let texts = crate::texts::InboxTexts::of_inbox(&inbox);
                    let vars = [
                        ("rule", who.name.clone()),
                        ("inbox_name", inbox.name.clone()),
                        ("conversation_id", c.display_id.to_string()),
                        ("message", message),
                        ("link", self.console_link(c)),
                    ];
                    self.queue_email(
                        &format!("automation-mail:{}:{}:{}", by.id(), c.id, self.store.now()),
                        Email {
                            to,
                            subject: texts.render(lang, "automation_email_subject", &vars),
                            text: texts.render(lang, "automation_email_body", &vars),
                            html: None,
                            reply_to: None,
                        },
                    )
                    .await?;
                }
                line = Some(None);
            }
            "send_webhook_event" => {
                let url = first_text.unwrap_or_default();
                let view = self.conversation_view(c.account_id, c.display_id).await?;
                let mut body = serde_json::to_value(&view).unwrap_or(Value::Null);
                if let Value::Object(m) = &mut body {
                    m.insert("event".into(), json!("automation_event"));
                    m.insert("automation_rule_id".into(), json!(by.id()));
                    m.insert("account".into(), json!({"id": c.account_id}));
                }
                let delivery = NewDelivery {
                    event: "automation_event".into(),
                    seq: None,
                    conversation_id: Some(c.id),
                    message_id: None,
                    body: body.to_string(),
                };
                self.store
                    .enqueue_automation_delivery(
                        c.account_id,
                        by.id(),
                        &url,
                        &crate::webhooks::new_secret(),
                        &delivery,
                    )
                    .await?;
                line = Some(None);
            }
            other => {
                return Err(ServiceError::Internal(format!("unknown action {other}")));
            }
        }
        if let Some(value) = line {
            self.activity(
                c,
                Activity::Automation {
                    rule: who.name.clone(),
                    action: a.action_name.clone(),
                    value,
                    by: who.agent.clone(),
                },
            )
            .await?;
        }
        Ok(())
    }

    // ----- macros -----

    /// Macros the caller may see: the global ones and their own.
    pub async fn list_macros(&self, ctx: &AccountCtx) -> Result<Vec<MacroRow>> {
        Ok(self.store.macros(ctx.account_id, ctx.user_id).await?)
    }

    /// One macro the caller may see.
    pub async fn macro_of(&self, ctx: &AccountCtx, id: i64) -> Result<MacroRow> {
        match self.store.macro_row(ctx.account_id, id).await? {
            Some(m) if m.visibility == "global" || m.created_by == Some(ctx.user_id) => Ok(m),
            _ => Err(ServiceError::NotFound("macro")),
        }
    }

    fn macro_visibility(ctx: &AccountCtx, asked: Option<&str>) -> Result<String> {
        let v = asked.unwrap_or("personal");
        if !matches!(v, "personal" | "global") {
            return Err(bad("visibility", "must be personal or global"));
        }
        // As in Chatwoot: an agent's macros are always personal.
        if ctx.role == Role::Agent {
            return Ok("personal".into());
        }
        Ok(v.into())
    }

    /// Creates a macro (every member; an agent's is personal).
    pub async fn create_macro(&self, ctx: &AccountCtx, input: MacroInput) -> Result<MacroRow> {
        let name = check_name(input.name.as_deref().unwrap_or(""))?;
        let visibility = Self::macro_visibility(ctx, input.visibility.as_deref())?;
        let actions = input.actions.ok_or_else(|| bad("actions", "is required"))?;
        self.check_actions_in_account(ctx, &actions, true).await?;
        self.store
            .create_macro(
                ctx.account_id,
                ctx.user_id,
                &name,
                &visibility,
                &serde_json::to_string(&actions).unwrap_or_else(|_| "[]".into()),
                MAX_MACROS_PER_ACCOUNT as i64,
            )
            .await?
            .ok_or_else(|| {
                bad(
                    "macros",
                    format!("an account may have at most {MAX_MACROS_PER_ACCOUNT} macros"),
                )
            })
    }

    /// Whether the caller may change a macro: its author, or an administrator for a global
    /// one.
    fn may_change_macro(ctx: &AccountCtx, m: &MacroRow) -> Result<()> {
        if m.created_by == Some(ctx.user_id)
            || (m.visibility == "global" && ctx.role == Role::Administrator)
        {
            Ok(())
        } else {
            Err(ServiceError::Forbidden(
                "only its author (or an administrator, for a global macro) may change a macro"
                    .into(),
            ))
        }
    }

    /// Changes a macro; fields left out keep their values.
    pub async fn update_macro(
        &self,
        ctx: &AccountCtx,
        id: i64,
        input: MacroInput,
    ) -> Result<MacroRow> {
        let m = self.macro_of(ctx, id).await?;
        Self::may_change_macro(ctx, &m)?;
        let name = match input.name {
            Some(n) => check_name(&n)?,
            None => m.name.clone(),
        };
        let visibility = match input.visibility.as_deref() {
            Some(v) => Self::macro_visibility(ctx, Some(v))?,
            None => m.visibility.clone(),
        };
        let actions = match input.actions {
            Some(a) => {
                self.check_actions_in_account(ctx, &a, true).await?;
                serde_json::to_string(&a).unwrap_or_else(|_| "[]".into())
            }
            None => m.actions.clone(),
        };
        Ok(self
            .store
            .update_macro(
                ctx.account_id,
                id,
                ctx.user_id,
                &name,
                &visibility,
                &actions,
            )
            .await?)
    }

    /// Deletes a macro.
    pub async fn delete_macro(&self, ctx: &AccountCtx, id: i64) -> Result<()> {
        let m = self.macro_of(ctx, id).await?;
        Self::may_change_macro(ctx, &m)?;
        Ok(self.store.delete_macro(ctx.account_id, id).await?)
    }

    /// Runs a macro on conversations the caller can see (at most 100), as the caller: each
    /// action's activity line names the macro. Conversations the caller cannot see are
    /// refused before anything runs.
    pub async fn execute_macro(
        &self,
        ctx: &AccountCtx,
        id: i64,
        conversation_ids: &[i64],
    ) -> Result<()> {
        let m = self.macro_of(ctx, id).await?;
        if conversation_ids.is_empty() || conversation_ids.len() > MAX_MACRO_CONVERSATIONS {
            return Err(bad(
                "conversation_ids",
                format!("must name 1 to {MAX_MACRO_CONVERSATIONS} conversations"),
            ));
        }
        let mut convs = Vec::new();
        for d in conversation_ids {
            convs.push(self.visible_conversation(ctx, *d).await?);
        }
        let actions: Vec<Action> = serde_json::from_str(&m.actions).unwrap_or_default();
        // The agent acts; every line says it was through the macro.
        let agent = ctx.user_name.clone();
        let ctx = &AccountCtx {
            user_name: format!("{} (macro «{}»)", ctx.user_name, m.name),
            ..ctx.clone()
        };
        let by = Performer::Macro(m.id);
        let who = Who {
            name: m.name.clone(),
            agent: Some(agent),
        };
        for c in convs {
            self.perform(ctx, &c, &actions, by, &who).await?;
        }
        Ok(())
    }
}

/// Who performs actions: a rule (its events are marked) or a macro run by an agent.
#[derive(Debug, Clone, Copy)]
enum Performer {
    Rule(i64),
    Macro(i64),
}

impl Performer {
    fn id(&self) -> i64 {
        match self {
            Performer::Rule(id) | Performer::Macro(id) => *id,
        }
    }

    /// The `content_attributes` of a message the performer sends.
    fn marker(&self) -> Value {
        match self {
            Performer::Rule(id) => json!({"automation_rule_id": id}),
            Performer::Macro(id) => json!({"macro_id": id}),
        }
    }
}

/// The names an action's activity line gives: the rule's or macro's, and for a macro the
/// agent who ran it.
struct Who {
    name: String,
    agent: Option<String>,
}

/// Inboxes' channel and calendar, read once per scan.
#[derive(Default)]
struct FactsCache {
    inboxes: HashMap<i64, Option<(String, Option<parley_core::calendar::Calendar>)>>,
}
