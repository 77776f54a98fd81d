//! `list-seed`: fills a Parley database with a large, realistic account for the
//! conversation-list benchmark (DESIGN.md §3: 1M conversations).
//!
//! Creating a million conversations through the API would take the better part of an
//! hour and measure the write path instead; this writes the rows straight into a database
//! that Parley's own migrations created, in multi-row INSERTs of a few hundred rows per
//! statement, with the same columns the server writes. Run it with the server stopped
//! (SQLite has one writer), then start Parley on the database and run `loadgen list`.
//!
//! The data is deterministic (a fixed-seed generator): the same arguments make the same
//! database, so figures from different days compare.

use std::fmt::Write as _;
use std::time::Instant;

use parley_store::{Store, StoreOptions};
use serde::Serialize;
use sqlx::AnyPool;

use crate::cli::SeedArgs;
use crate::error::{Error, Result};

/// Rows per INSERT statement and statements per transaction.
const ROWS_PER_INSERT: usize = 500;
const INSERTS_PER_TX: usize = 20;

/// Spread of the conversations' last activity: one year back from now.
const YEAR_MS: i64 = 365 * 24 * 3600 * 1000;

/// What was created, and the tokens to load it with.
#[derive(Debug, Serialize)]
pub struct SeedReport {
    pub database: String,
    pub account_id: i64,
    /// The administrator's `api_access_token`.
    pub admin_token: String,
    /// An agent's token (member of `agent_inboxes` inboxes) for the agent's view.
    pub agent_token: String,
    pub agent_inbox_ids: Vec<i64>,
    pub inbox_ids: Vec<i64>,
    pub team_ids: Vec<i64>,
    pub labels: Vec<String>,
    pub agents: usize,
    pub contacts: u64,
    pub conversations: u64,
    pub messages: u64,
    pub label_rows: u64,
    pub seconds: f64,
}

impl SeedReport {
    pub fn print(&self) {
        println!("list-seed: {}", self.database);
        println!(
            "  account {}: {} conversations, {} contacts, {} messages, {} label rows, {} agents",
            self.account_id,
            self.conversations,
            self.contacts,
            self.messages,
            self.label_rows,
            self.agents
        );
        println!("  inboxes {:?}", self.inbox_ids);
        println!("  teams   {:?}", self.team_ids);
        println!("  labels  {:?}", self.labels);
        println!("  admin token {}", self.admin_token);
        println!(
            "  agent token {} (inboxes {:?})",
            self.agent_token, self.agent_inbox_ids
        );
        println!("  took {:.1} s", self.seconds);
    }
}

/// xorshift64*: tiny, fast and fixed-seed; statistical quality is beside the point here.
pub(crate) struct Rng(pub(crate) u64);

impl Rng {
    pub(crate) fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// Uniform in `0..n` (n > 0).
    pub(crate) fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    /// True with probability `percent` / 100.
    pub(crate) fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

/// Appends `(…),` row text to an INSERT under construction and groups full statements
/// into transactions. A batch of child rows (messages, labels) must not commit before the
/// parent rows it refers to: those are `followers` and commit only when `commit` is
/// called for them, right after their parent batch.
pub(crate) struct Batch<'a> {
    pool: &'a AnyPool,
    head: &'static str,
    follower: bool,
    sql: String,
    rows: usize,
    tx_rows: Vec<String>,
    total: u64,
}

impl<'a> Batch<'a> {
    pub(crate) fn new(pool: &'a AnyPool, head: &'static str) -> Self {
        Self::with_role(pool, head, false)
    }

    pub(crate) fn follower(pool: &'a AnyPool, head: &'static str) -> Self {
        Self::with_role(pool, head, true)
    }

    fn with_role(pool: &'a AnyPool, head: &'static str, follower: bool) -> Self {
        Self {
            pool,
            head,
            follower,
            sql: String::new(),
            rows: 0,
            tx_rows: Vec::new(),
            total: 0,
        }
    }

    /// Adds a row; true when a leader just committed (its followers should commit now).
    pub(crate) async fn push(&mut self, row: &str) -> Result<bool> {
        if self.rows > 0 {
            self.sql.push(',');
        }
        self.sql.push_str(row);
        self.rows += 1;
        self.total += 1;
        if self.rows == ROWS_PER_INSERT {
            self.tx_rows
                .push(format!("{} VALUES {}", self.head, self.sql));
            self.sql.clear();
            self.rows = 0;
            if self.tx_rows.len() == INSERTS_PER_TX && !self.follower {
                self.commit().await?;
                return Ok(true);
            }
        }
        Ok(false)
    }

    pub(crate) async fn commit(&mut self) -> Result<()> {
        if self.tx_rows.is_empty() {
            return Ok(());
        }
        let mut tx = self.pool.begin().await?;
        // A seed that dies is run again from scratch, so its transactions need not wait
        // for the WAL flush (PostgreSQL; this transaction only, the server's setting
        // stays).
        if tx.backend_name().eq_ignore_ascii_case("postgresql") {
            sqlx::query("SET LOCAL synchronous_commit = off")
                .execute(&mut *tx)
                .await?;
        }
        for stmt in self.tx_rows.drain(..) {
            sqlx::query(sqlx::AssertSqlSafe(stmt))
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    pub(crate) async fn finish(mut self) -> Result<u64> {
        if self.rows > 0 {
            self.tx_rows.push(format!(
                "{} VALUES {}",
                self.head,
                std::mem::take(&mut self.sql)
            ));
        }
        self.commit().await?;
        Ok(self.total)
    }
}

pub(crate) fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// What every seeding command starts with: an account, its administrator, inboxes and
/// teams, written directly (no API round trips).
pub(crate) struct SeededAccount {
    pub account: i64,
    pub admin_id: i64,
    pub admin_token: String,
    pub inbox_ids: Vec<i64>,
    pub team_ids: Vec<i64>,
}

/// Creates the account `"{name} {now}"` with its administrator (`{prefix}admin-{id}`),
/// `inboxes` web-widget inboxes and `teams` teams.
pub(crate) async fn seed_account(
    pool: &AnyPool,
    name: &str,
    locale: &str,
    prefix: &str,
    inboxes: u64,
    teams: u64,
    now: i64,
) -> Result<SeededAccount> {
    let account = insert_id(
        pool,
        format!(
            "INSERT INTO accounts (name, locale, created_at, updated_at) \
             VALUES ('{name} {now}', '{locale}', {now}, {now}) RETURNING id"
        ),
    )
    .await?;
    let (admin_id, admin_token) = user(
        pool,
        account,
        &format!("{prefix}admin-{account}"),
        "administrator",
        now,
    )
    .await?;
    let mut inbox_ids = Vec::new();
    for i in 0..inboxes {
        let ident = parley_store::random_token(12);
        inbox_ids.push(
            insert_id(
                pool,
                format!(
                    "INSERT INTO inboxes (account_id, name, channel_type, identifier, hmac_token, \
                     enable_auto_assignment, created_at, updated_at) \
                     VALUES ({account}, 'Inbox {i}', 'Channel::WebWidget', '{ident}', '{ident}', 0, {now}, {now}) RETURNING id"
                ),
            )
            .await?,
        );
    }
    let mut team_ids = Vec::new();
    for i in 0..teams {
        team_ids.push(
            insert_id(
                pool,
                format!(
                    "INSERT INTO teams (account_id, name, allow_auto_assign, created_at, updated_at) \
                     VALUES ({account}, 'Team {i}', 0, {now}, {now}) RETURNING id"
                ),
            )
            .await?,
        );
    }
    Ok(SeededAccount {
        account,
        admin_id,
        admin_token,
        inbox_ids,
        team_ids,
    })
}

pub(crate) async fn insert_id(pool: &AnyPool, sql: String) -> Result<i64> {
    let (id,): (i64,) = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .fetch_one(pool)
        .await?;
    Ok(id)
}

/// A user with a membership and a known API token.
pub(crate) async fn user(
    pool: &AnyPool,
    account: i64,
    name: &str,
    role: &str,
    now: i64,
) -> Result<(i64, String)> {
    let id = insert_id(
        pool,
        format!(
            "INSERT INTO users (name, email, password_hash, created_at, updated_at) \
             VALUES ('{name}', '{name}@loadgen.test', '!', {now}, {now}) RETURNING id"
        ),
    )
    .await?;
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "INSERT INTO account_users (account_id, user_id, role, availability, created_at) \
         VALUES ({account}, {id}, '{role}', 'online', {now})"
    )))
    .execute(pool)
    .await?;
    let token = parley_store::random_token(24);
    sqlx::query("INSERT INTO access_tokens (user_id, token_hash, created_at) VALUES ($1, $2, $3)")
        .bind(id)
        .bind(parley_store::token_hash(&token))
        .bind(now)
        .execute(pool)
        .await?;
    Ok((id, token))
}

pub async fn run(args: &SeedArgs) -> Result<SeedReport> {
    crate::cli::check_database_url(&args.database_url)?;
    if args.inboxes == 0 {
        return Err(Error::usage("--inboxes must be at least 1"));
    }
    let started = Instant::now();
    let store = Store::connect(&args.database_url, StoreOptions::default()).await?;
    store.migrate().await?;
    let pool = store.writer();
    let now = now_ms();
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);

    let SeededAccount {
        account,
        admin_id,
        admin_token,
        inbox_ids,
        team_ids,
    } = seed_account(pool, "Bench", "en", "", args.inboxes, args.teams, now).await?;
    let labels: Vec<String> = (0..args.labels).map(|i| format!("label-{i:02}")).collect();
    for l in &labels {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "INSERT INTO labels (account_id, title, created_at, updated_at) VALUES ({account}, '{l}', {now}, {now})"
        )))
        .execute(pool)
        .await?;
    }
    // Agents: each in `agent_inboxes` consecutive inboxes and one team. Members of each
    // inbox, for assigning its conversations.
    let mut members: Vec<Vec<i64>> = vec![Vec::new(); inbox_ids.len()];
    let mut agent_token = String::new();
    let mut agent_inbox_ids = Vec::new();
    for a in 0..args.agents as usize {
        let (id, token) =
            user(pool, account, &format!("agent-{account}-{a}"), "agent", now).await?;
        let first = a % inbox_ids.len();
        let mine: Vec<i64> = (0..(args.agent_inboxes as usize).min(inbox_ids.len()))
            .map(|k| inbox_ids[(first + k) % inbox_ids.len()])
            .collect();
        for (k, inbox) in mine.iter().enumerate() {
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "INSERT INTO inbox_members (inbox_id, user_id, created_at) VALUES ({inbox}, {id}, {now})"
            )))
            .execute(pool)
            .await?;
            members[(first + k) % inbox_ids.len()].push(id);
        }
        if !team_ids.is_empty() {
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "INSERT INTO team_members (team_id, user_id, created_at) VALUES ({}, {id}, {now})",
                team_ids[a % team_ids.len()]
            )))
            .execute(pool)
            .await?;
        }
        if a == 0 {
            agent_token = token;
            agent_inbox_ids = mine;
        }
    }

    // Contacts, each with an identity in one inbox. Ids continue from what the database
    // holds, so several seeded accounts can share one file.
    let base_contact = next_id(pool, "contacts").await?;
    let base_ci = next_id(pool, "contact_inboxes").await?;
    let contacts = args.conversations.div_ceil(2).max(1);
    let mut ct = Batch::new(
        pool,
        "INSERT INTO contacts (id, account_id, name, email, search_text, last_activity_at, created_at, updated_at)",
    );
    let mut ci = Batch::follower(
        pool,
        "INSERT INTO contact_inboxes (id, contact_id, inbox_id, source_id, pubsub_token, created_at)",
    );
    let mut row = String::new();
    for k in 0..contacts {
        let id = base_contact + k as i64;
        let created = now - YEAR_MS - 1000 + k as i64 % 1000;
        row.clear();
        let _ = write!(
            row,
            "({id}, {account}, 'Customer {k}', 'c{k}.{account}@example.test', 'customer {k} c{k}.{account}@example.test', {now}, {created}, {created})"
        );
        let flushed = ct.push(&row).await?;
        let inbox = inbox_ids[(k % inbox_ids.len() as u64) as usize];
        row.clear();
        let _ = write!(
            row,
            "({}, {id}, {inbox}, 's{account}-{k}', 'p{account}-{k}', {created})",
            base_ci + k as i64
        );
        ci.push(&row).await?;
        if flushed {
            ci.commit().await?;
        }
    }
    ct.finish().await?;
    ci.finish().await?;

    // Conversations with one or two messages each (the last one is what the list shows),
    // and labels on some. Statuses as in a shop's long-lived account: most resolved.
    let base_conv = next_id(pool, "conversations").await?;
    let base_msg = next_id(pool, "messages").await?;
    let mut cv = Batch::new(
        pool,
        "INSERT INTO conversations (id, account_id, display_id, uuid, inbox_id, contact_id, contact_inbox_id, \
         status, assignee_id, team_id, snoozed_until, agent_last_seen_at, waiting_since, last_incoming_at, \
         last_activity_at, created_at, updated_at)",
    );
    let mut ms = Batch::follower(
        pool,
        "INSERT INTO messages (id, account_id, inbox_id, conversation_id, message_type, content, \
         sender_type, sender_id, created_at, updated_at)",
    );
    let mut lb = Batch::new(
        pool,
        "INSERT INTO conversation_labels (conversation_id, label)",
    );
    let mut msg_id = base_msg;
    for n in 0..args.conversations {
        let id = base_conv + n as i64;
        let k = n % contacts;
        let contact = base_contact + k as i64;
        let ci_id = base_ci + k as i64;
        let inbox_ix = (k % inbox_ids.len() as u64) as usize;
        let inbox = inbox_ids[inbox_ix];
        // Activity spread over the year, increasing with n plus jitter, so newer
        // conversations tend to be more recently active but not strictly.
        let at = now - YEAR_MS
            + (n as i64 * (YEAR_MS / args.conversations.max(1) as i64))
            + rng.below(3_600_000) as i64;
        let at = at.min(now);
        let created = at - rng.below(86_400_000) as i64;
        let status = match rng.below(100) {
            0..=69 => "resolved",
            70..=89 => "open",
            90..=94 => "pending",
            _ => "snoozed",
        };
        let snoozed = if status == "snoozed" {
            (now + 86_400_000).to_string()
        } else {
            "NULL".into()
        };
        let pool_of = &members[inbox_ix];
        let assignee = if !pool_of.is_empty() && rng.chance(70) {
            pool_of[rng.below(pool_of.len() as u64) as usize].to_string()
        } else {
            "NULL".into()
        };
        let team = if !team_ids.is_empty() && rng.chance(60) {
            team_ids[rng.below(team_ids.len() as u64) as usize].to_string()
        } else {
            "NULL".into()
        };
        let replied = rng.chance(50);
        let waiting = if status == "open" && !replied {
            at.to_string()
        } else {
            "NULL".into()
        };
        let seen = if replied {
            at.to_string()
        } else {
            "NULL".into()
        };
        row.clear();
        let _ = write!(
            row,
            "({id}, {account}, {}, 'u{account}-{n}', {inbox}, {contact}, {ci_id}, '{status}', {assignee}, {team}, \
             {snoozed}, {seen}, {waiting}, {created}, {at}, {created}, {at})",
            n + 1
        );
        let flushed = cv.push(&row).await?;
        row.clear();
        let _ = write!(
            row,
            "({msg_id}, {account}, {inbox}, {id}, 0, 'Hello, where is my order number {n}?', 'Contact', {contact}, {created}, {created})"
        );
        ms.push(&row).await?;
        msg_id += 1;
        if replied {
            row.clear();
            let agent = if assignee == "NULL" {
                admin_id.to_string()
            } else {
                assignee.clone()
            };
            let _ = write!(
                row,
                "({msg_id}, {account}, {inbox}, {id}, 1, 'It left the warehouse today.', 'User', {agent}, {at}, {at})"
            );
            ms.push(&row).await?;
            msg_id += 1;
        }
        if !labels.is_empty() && rng.chance(args.labelled_percent.into()) {
            let first = rng.below(labels.len() as u64) as usize;
            row.clear();
            let _ = write!(row, "({id}, '{}')", labels[first]);
            lb.push(&row).await?;
            if rng.chance(30) && labels.len() > 1 {
                row.clear();
                let _ = write!(row, "({id}, '{}')", labels[(first + 1) % labels.len()]);
                lb.push(&row).await?;
            }
        }
        if flushed {
            ms.commit().await?;
            lb.commit().await?;
        }
    }
    let conversations = cv.finish().await?;
    let messages = ms.finish().await?;
    let label_rows = lb.finish().await?;
    sqlx::query("UPDATE accounts SET next_display_id = $2 WHERE id = $1")
        .bind(account)
        .bind(conversations as i64)
        .execute(pool)
        .await?;
    if store.backend() == parley_store::Backend::Postgres {
        // Explicit ids above bypassed the sequences; move them past the seeded rows.
        for t in ["contacts", "contact_inboxes", "conversations", "messages"] {
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "SELECT setval(pg_get_serial_sequence('{t}', 'id'), (SELECT MAX(id) FROM {t}))"
            )))
            .execute(pool)
            .await?;
        }
    }
    store.close().await;
    Ok(SeedReport {
        database: args.database_url.clone(),
        account_id: account,
        admin_token,
        agent_token,
        agent_inbox_ids,
        inbox_ids,
        team_ids,
        labels,
        agents: args.agents as usize,
        contacts,
        conversations,
        messages,
        label_rows,
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// The next free id of a table (its rows are inserted with explicit ids).
pub(crate) async fn next_id(pool: &AnyPool, table: &str) -> Result<i64> {
    let (max,): (Option<i64>,) =
        sqlx::query_as(sqlx::AssertSqlSafe(format!("SELECT MAX(id) FROM {table}")))
            .fetch_one(pool)
            .await?;
    Ok(max.unwrap_or(0) + 1)
}
