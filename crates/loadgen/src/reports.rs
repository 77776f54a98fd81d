//! `reports-seed` + `reports`: the reports over a year of an account (issue 17: a year
//! of data for 100 agents answers well under a second; budget p99 ≤ 300 ms).
//!
//! `reports-seed` writes a year of conversations (`--per-day` a day, spread over the
//! hours of a shop's day), their messages, and the report facts and hourly message
//! counters the live path writes for them (conversation created, assigned with its queue
//! wait, first response, replies, resolved, missed, reopened, reply targets, ratings,
//! conversions, UTM tags) and their daily / hourly / histogram rollups, straight into a database Parley's migrations created. Run it
//! with the server stopped.
//!
//! `reports` times each reports endpoint over the whole year, one request at a time, and
//! reports p50/p99 per endpoint.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Instant;

use parley_store::{Backend, Store, StoreOptions};
use serde::Serialize;

use crate::api::timed_get;
use crate::cli::{ReportsArgs, ReportsSeedArgs};
use crate::error::Result;
use crate::seed::{Batch, Rng, SeededAccount, insert_id, next_id, now_ms, seed_account, user};
use crate::stats::{Latency, LatencySummary};
use crate::target::Target;

const DAY_MS: i64 = 86_400_000;
const HOUR_MS: i64 = 3_600_000;
const MIN_MS: i64 = 60_000;

#[derive(Debug, Serialize)]
pub struct ReportsSeedReport {
    pub database: String,
    pub account_id: i64,
    pub admin_token: String,
    pub agent_ids: Vec<i64>,
    pub team_ids: Vec<i64>,
    pub inbox_ids: Vec<i64>,
    pub conversations: u64,
    pub messages: u64,
    pub facts: u64,
    pub counter_rows: u64,
    pub seconds: f64,
}

impl ReportsSeedReport {
    pub fn print(&self) {
        println!("reports-seed: {}", self.database);
        println!(
            "  account {}: {} conversations, {} messages, {} facts, {} counter rows in {:.1} s",
            self.account_id,
            self.conversations,
            self.messages,
            self.facts,
            self.counter_rows,
            self.seconds
        );
        println!(
            "  agents {}..{} ({}), teams {:?}, inboxes {:?}",
            self.agent_ids.first().unwrap_or(&0),
            self.agent_ids.last().unwrap_or(&0),
            self.agent_ids.len(),
            self.team_ids,
            self.inbox_ids
        );
        println!("  admin token {}", self.admin_token);
    }
}

const SOURCES: &[(&str, &str, &str)] = &[
    ("yandex", "cpc", "spring"),
    ("google", "cpc", "brand"),
    ("vk", "social", "promo"),
    ("newsletter", "email", "weekly"),
];
const REFERRERS: &[&str] = &["yandex.ru", "google.com", "vk.com", "t.me"];

pub async fn seed(args: &ReportsSeedArgs) -> Result<ReportsSeedReport> {
    crate::cli::check_database_url(&args.database_url)?;
    let started = Instant::now();
    let store = Store::connect(&args.database_url, StoreOptions::default()).await?;
    store.migrate().await?;
    let backend = store.backend();
    let pool = store.writer();
    let now = now_ms();
    let year_start = (now - 365 * DAY_MS).div_euclid(DAY_MS) * DAY_MS;
    let mut rng = Rng(0x5851_f42d_4c95_7f2d);
    let SeededAccount {
        account,
        admin_token,
        inbox_ids,
        team_ids,
        ..
    } = seed_account(pool, "Reports", "ru", "r", args.inboxes, args.teams, now).await?;
    let mut agent_ids = Vec::new();
    for a in 0..args.agents {
        let (id, _) = user(
            pool,
            account,
            &format!("ragent-{account}-{a}"),
            "agent",
            now,
        )
        .await?;
        agent_ids.push(id);
    }

    let contact = insert_id(
        pool,
        format!(
            "INSERT INTO contacts (account_id, name, last_activity_at, created_at, updated_at) \
             VALUES ({account}, 'Visitor', {now}, {now}, {now}) RETURNING id"
        ),
    )
    .await?;
    let base_conv = next_id(pool, "conversations").await?;
    let base_msg = next_id(pool, "messages").await?;
    let mut cv = Batch::new(
        pool,
        "INSERT INTO conversations (id, account_id, display_id, uuid, inbox_id, contact_id, status, \
         assignee_id, team_id, additional_attributes, first_reply_created_at, csat_rating, \
         last_activity_at, created_at, updated_at)",
    );
    let mut ms = Batch::follower(
        pool,
        "INSERT INTO messages (id, account_id, inbox_id, conversation_id, message_type, content, \
         sender_type, sender_id, created_at, updated_at)",
    );
    let mut fx = Batch::follower(
        pool,
        "INSERT INTO report_facts (account_id, name, conversation_id, inbox_id, team_id, user_id, \
         value, value_bh, utm_source, utm_medium, utm_campaign, referrer_domain, offline, created_at)",
    );
    // (hour, inbox, team, user) → (incoming, outgoing)
    let mut counts: BTreeMap<(i64, i64, i64, i64), (i64, i64)> = BTreeMap::new();
    let mut msg_id = base_msg;
    let mut n = 0u64;
    let mut row = String::new();
    for day in 0..365i64 {
        for _ in 0..args.per_day {
            let id = base_conv + n as i64;
            // A shop's day: most conversations between 09:00 and 21:00.
            let hour = if rng.chance(85) {
                9 + rng.below(12) as i64
            } else {
                rng.below(24) as i64
            };
            let t0 = year_start + day * DAY_MS + hour * HOUR_MS + rng.below(3_600_000) as i64;
            let inbox = inbox_ids[rng.below(inbox_ids.len() as u64) as usize];
            let team = team_ids[rng.below(team_ids.len() as u64) as usize];
            let agent = agent_ids[rng.below(agent_ids.len() as u64) as usize];
            let src = if rng.chance(40) {
                Some(SOURCES[rng.below(SOURCES.len() as u64) as usize])
            } else {
                None
            };
            let referrer = if rng.chance(50) {
                Some(REFERRERS[rng.below(REFERRERS.len() as u64) as usize])
            } else {
                None
            };
            let offline = rng.chance(5);
            let q = |s: Option<&str>| s.map_or("NULL".to_string(), |v| format!("'{v}'"));
            let dims = format!(
                "{}, {}, {}, {}, {}",
                q(src.map(|s| s.0)),
                q(src.map(|s| s.1)),
                q(src.map(|s| s.2)),
                q(referrer),
                i64::from(offline)
            );
            let fact = |fx_row: &mut Vec<String>,
                        name: &str,
                        user: Option<i64>,
                        value: i64,
                        at: i64| {
                let user = user.map_or("NULL".to_string(), |u| u.to_string());
                fx_row.push(format!(
                    "({account}, '{name}', {id}, {inbox}, {team}, {user}, {value}, {}, {dims}, {at})",
                    value * 7 / 10
                ));
            };
            let mut facts: Vec<String> = Vec::new();
            let missed = rng.chance(5);
            let queued = rng.chance(50);
            let wait = if queued {
                (rng.below(600) as i64 + 5) * 1000
            } else {
                0
            };
            let first = wait + (rng.below(300) as i64 + 20) * 1000;
            let replies = if missed { 0 } else { 1 + rng.below(4) as i64 };
            let mut t = t0;
            fact(&mut facts, "conversation_created", None, 0, t0);
            // The customer's messages and the agent's replies.
            let mut messages: Vec<(i64, i64)> = vec![(0, t0)];
            if !missed {
                fact(
                    &mut facts,
                    "conversation_assigned",
                    Some(agent),
                    wait,
                    t0 + wait,
                );
                if queued {
                    fact(&mut facts, "queue_wait", Some(agent), wait, t0 + wait);
                }
                t = t0 + first;
                fact(&mut facts, "first_response", Some(agent), first, t);
                fact(&mut facts, "reply_time", Some(agent), first, t);
                messages.push((1, t));
                if rng.chance(30) {
                    let name = if first < 120_000 {
                        "sla_hit"
                    } else {
                        "sla_missed"
                    };
                    fact(
                        &mut facts,
                        name,
                        Some(agent),
                        if name == "sla_hit" { first } else { 0 },
                        t,
                    );
                }
                for _ in 1..replies {
                    t += (rng.below(600) as i64 + 10) * 1000;
                    messages.push((0, t));
                    let r = (rng.below(240) as i64 + 10) * 1000;
                    t += r;
                    fact(&mut facts, "reply_time", Some(agent), r, t);
                    messages.push((1, t));
                }
            }
            t += (rng.below(60) as i64 + 1) * MIN_MS;
            let open = rng.chance(3) && day > 360;
            if !open {
                fact(
                    &mut facts,
                    "conversation_resolved",
                    Some(agent).filter(|_| !missed),
                    t - t0,
                    t,
                );
                if missed {
                    fact(&mut facts, "conversation_missed", None, t - t0, t);
                }
            }
            let rating = (!missed && rng.chance(30)).then(|| 1 + rng.below(5) as i64);
            if let Some(r) = rating {
                fact(&mut facts, "csat", Some(agent), r, t + MIN_MS);
            }
            if rating.is_some_and(|r| r >= 4) || rng.chance(5) {
                fact(&mut facts, "conversion", Some(agent), 0, t + MIN_MS);
            }
            if !open && rng.chance(4) {
                fact(
                    &mut facts,
                    "conversation_opened",
                    Some(agent),
                    0,
                    t + 2 * HOUR_MS,
                );
            }
            let assignee = if missed {
                "NULL".into()
            } else {
                agent.to_string()
            };
            let attrs = match src {
                Some((s, m, c)) => format!(
                    "{{\"utm\":{{\"utm_source\":\"{s}\",\"utm_medium\":\"{m}\",\"utm_campaign\":\"{c}\"}}}}"
                ),
                None => "{}".into(),
            };
            row.clear();
            let _ = write!(
                row,
                "({id}, {account}, {}, 'r{account}-{n}', {inbox}, {contact}, '{}', {assignee}, {team}, '{attrs}', {}, {}, {t}, {t0}, {t})",
                n + 1,
                if open { "open" } else { "resolved" },
                if missed {
                    "NULL".to_string()
                } else {
                    (t0 + first).to_string()
                },
                rating.map_or("NULL".to_string(), |r| r.to_string())
            );
            let flushed = cv.push(&row).await?;
            for (kind, at) in messages {
                row.clear();
                let (st, sid) = if kind == 0 {
                    ("Contact", contact)
                } else {
                    ("User", agent)
                };
                let _ = write!(
                    row,
                    "({msg_id}, {account}, {inbox}, {id}, {kind}, 'Message {msg_id}', '{st}', {sid}, {at}, {at})"
                );
                ms.push(&row).await?;
                msg_id += 1;
                let user = if kind == 1 || !missed { agent } else { 0 };
                let e = counts
                    .entry((at.div_euclid(HOUR_MS), inbox, team, user))
                    .or_insert((0, 0));
                if kind == 0 {
                    e.0 += 1;
                } else {
                    e.1 += 1;
                }
            }
            for f in &facts {
                fx.push(f).await?;
            }
            if flushed {
                ms.commit().await?;
                fx.commit().await?;
            }
            n += 1;
        }
    }
    let conversations = cv.finish().await?;
    let messages = ms.finish().await?;
    let facts = fx.finish().await?;
    let mut cn = Batch::new(
        pool,
        "INSERT INTO report_message_counts (account_id, hour, inbox_id, team_id, user_id, incoming, outgoing)",
    );
    for ((hour, inbox, team, user), (i, o)) in &counts {
        row.clear();
        let _ = write!(
            row,
            "({account}, {hour}, {inbox}, {team}, {user}, {i}, {o})"
        );
        cn.push(&row).await?;
    }
    let counter_rows = cn.finish().await?;
    sqlx::query("UPDATE accounts SET next_display_id = $2 WHERE id = $1")
        .bind(account)
        .bind(conversations as i64)
        .execute(pool)
        .await?;
    if backend == Backend::Postgres {
        for t in ["conversations", "messages"] {
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "SELECT setval(pg_get_serial_sequence('{t}', 'id'), (SELECT MAX(id) FROM {t}))"
            )))
            .execute(pool)
            .await?;
        }
    }
    // The rollups the live path keeps beside the facts (migration 0710's statements).
    store.rebuild_report_rollups().await?;
    sqlx::query("ANALYZE").execute(pool).await?;
    store.close().await;
    Ok(ReportsSeedReport {
        database: args.database_url.clone(),
        account_id: account,
        admin_token,
        agent_ids,
        team_ids,
        inbox_ids,
        conversations,
        messages,
        facts,
        counter_rows,
        seconds: started.elapsed().as_secs_f64(),
    })
}

#[derive(Debug, Serialize)]
pub struct EndpointReport {
    pub name: String,
    pub path: String,
    pub latency: LatencySummary,
}

#[derive(Debug, Serialize)]
pub struct ReportsReport {
    pub url: String,
    pub rounds: u32,
    pub endpoints: Vec<EndpointReport>,
}

impl ReportsReport {
    pub fn print(&self) {
        println!(
            "reports: {} — {} requests per endpoint, one year",
            self.url, self.rounds
        );
        println!(
            "  {:<34} {:>9} {:>9} {:>9}",
            "endpoint", "p50", "p99", "max"
        );
        for e in &self.endpoints {
            println!(
                "  {:<34} {:>7.1}ms {:>7.1}ms {:>7.1}ms",
                e.name, e.latency.p50_ms, e.latency.p99_ms, e.latency.max_ms
            );
        }
    }
}

pub async fn run(args: &ReportsArgs) -> Result<ReportsReport> {
    Target::parse(&args.url)?;
    let http = reqwest::Client::new();
    let base = args.url.trim_end_matches('/');
    let until = now_ms() / 1000;
    let since = until - 365 * 86_400;
    let range = format!("since={since}&until={until}");
    let a = args.account;
    let mut list: Vec<(String, String)> = vec![
        (
            "reports/summary".into(),
            format!("/api/v2/accounts/{a}/reports/summary?{range}"),
        ),
        (
            "reports/summary business hours".into(),
            format!("/api/v2/accounts/{a}/reports/summary?{range}&business_hours=true"),
        ),
        (
            "reports conversations by day".into(),
            format!("/api/v2/accounts/{a}/reports?{range}&metric=conversations_count&group_by=day"),
        ),
        (
            "reports first response by week".into(),
            format!(
                "/api/v2/accounts/{a}/reports?{range}&metric=avg_first_response_time&group_by=week"
            ),
        ),
        (
            "reports incoming messages by month".into(),
            format!(
                "/api/v2/accounts/{a}/reports?{range}&metric=incoming_messages_count&group_by=month"
            ),
        ),
        (
            "summary_reports/agent".into(),
            format!("/api/v2/accounts/{a}/summary_reports/agent?{range}"),
        ),
        (
            "summary_reports/team".into(),
            format!("/api/v2/accounts/{a}/summary_reports/team?{range}"),
        ),
        (
            "summary_reports/inbox".into(),
            format!("/api/v2/accounts/{a}/summary_reports/inbox?{range}"),
        ),
        (
            "summary_reports/sources".into(),
            format!("/api/v2/accounts/{a}/summary_reports/sources?{range}"),
        ),
        (
            "conversation_traffic (heat map)".into(),
            format!("/api/v2/accounts/{a}/reports/conversation_traffic?{range}&format=json"),
        ),
    ];
    if let Some(id) = args.agent {
        list.push((
            "reports/summary one agent".into(),
            format!("/api/v2/accounts/{a}/reports/summary?{range}&type=agent&id={id}"),
        ));
    }
    if let Some(id) = args.team {
        list.push((
            "reports/summary one team".into(),
            format!("/api/v2/accounts/{a}/reports/summary?{range}&type=team&id={id}"),
        ));
    }
    if let Some(id) = args.inbox {
        list.push((
            "reports/summary one inbox".into(),
            format!("/api/v2/accounts/{a}/reports/summary?{range}&type=inbox&id={id}"),
        ));
    }
    let mut endpoints = Vec::new();
    for (name, path) in list {
        let url = format!("{base}{path}");
        let mut lat = Latency::new();
        for _ in 0..args.rounds {
            let (took, _) = timed_get(&http, &url, &args.token, &path).await?;
            lat.record(took);
        }
        endpoints.push(EndpointReport {
            name,
            path,
            latency: lat.summary(),
        });
    }
    Ok(ReportsReport {
        url: args.url.clone(),
        rounds: args.rounds,
        endpoints,
    })
}
