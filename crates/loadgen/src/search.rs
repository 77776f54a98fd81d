//! `search-seed` + `search`: the archive search over millions of messages (issue 17:
//! Chatwoot's search takes 24–80 s on 4.4M conversations; budget p99 ≤ 100 ms on SQLite).
//!
//! `search-seed` writes an account with `--messages` messages of generated Russian and
//! English text over `--conversations` conversations straight into a database Parley's
//! migrations created (as `list-seed` does), with their search-index rows (and their
//! contacts') computed by the store's own tokeniser, so the index is exactly what the
//! server would have written.
//! Words are drawn with Zipf-like frequencies from a vocabulary with Russian inflected
//! forms; some messages carry phone numbers (written in several ways), e-mail addresses
//! and order numbers; one word in a hundred thousand messages is rare.
//!
//! `search` then runs each kind of query through the public API, as an administrator and
//! as an agent (whose inboxes restrict the hits), with and without filters, and reports
//! p50/p99 per kind. Latency is end to end (request sent → body read).

use std::fmt::Write as _;
use std::time::Instant;

use parley_store::{Backend, Store, StoreOptions};
use serde::Serialize;
use serde_json::Value;

use crate::api::timed_get;
use crate::cli::{SearchArgs, SearchSeedArgs};
use crate::error::{Error, Result};
use crate::seed::{Batch, Rng, SeededAccount, next_id, now_ms, seed_account, user};
use crate::stats::{Latency, LatencySummary};
use crate::target::Target;

const YEAR_MS: i64 = 365 * 24 * 3600 * 1000;

/// Russian words, most frequent first, each with forms that inflect differently.
const RU: &[&[&str]] = &[
    &["заказ", "заказа", "заказу", "заказом", "заказы"],
    &["доставка", "доставки", "доставку", "доставкой"],
    &["здравствуйте"],
    &["спасибо"],
    &["когда"],
    &["где", "куда"],
    &["мой", "моя", "мои", "моего"],
    &["товар", "товара", "товары", "товаров"],
    &["оплата", "оплаты", "оплату", "оплатой"],
    &["курьер", "курьера", "курьеру"],
    &["адрес", "адреса", "адресу"],
    &["можно"],
    &["пожалуйста"],
    &["возврат", "возврата", "возвратом"],
    &["размер", "размера", "размеры"],
    &["сегодня", "завтра", "вчера"],
    &["пришёл", "пришел", "пришла", "пришли"],
    &["помогите", "подскажите"],
    &["карта", "карты", "картой"],
    &["скидка", "скидки", "скидку"],
    &["чек", "чека"],
    &["магазин", "магазина", "магазине"],
    &["телефон", "телефона"],
    &["курьерская", "курьерской"],
    &["служба", "службы", "службу"],
    &["пункт", "пункта", "пункте"],
    &["выдачи"],
    &["самовывоз", "самовывоза"],
    &["упаковка", "упаковки", "упаковку"],
    &["брак", "брака"],
    &["цвет", "цвета"],
    &["обмен", "обмена"],
    &["гарантия", "гарантии", "гарантию"],
    &["трек", "трека"],
    &["номер", "номера"],
    &["ожидание", "ожидания"],
    &["отмена", "отмены", "отменить"],
    &["ёлка", "ёлки", "ёлку"],
    &["подарок", "подарка", "подарки"],
    &["сертификат", "сертификата"],
];

/// English words, most frequent first.
const EN: &[&str] = &[
    "order",
    "hello",
    "thanks",
    "delivery",
    "where",
    "my",
    "when",
    "package",
    "payment",
    "refund",
    "please",
    "courier",
    "address",
    "size",
    "today",
    "tomorrow",
    "arrived",
    "help",
    "card",
    "discount",
    "receipt",
    "store",
    "phone",
    "pickup",
    "point",
    "damaged",
    "color",
    "exchange",
    "warranty",
    "tracking",
    "number",
    "waiting",
    "cancel",
    "gift",
    "certificate",
    "shipping",
    "invoice",
    "return",
    "wrong",
    "item",
];

/// Glue words that every text has.
const RU_GLUE: &[&str] = &["и", "в", "не", "на", "что", "я", "с", "по", "а", "у"];
const EN_GLUE: &[&str] = &[
    "the", "is", "a", "to", "it", "of", "and", "in", "for", "was",
];

/// The word one message in `RARE_EVERY` contains.
pub const RARE_WORD: &str = "фламинго";
const RARE_EVERY: u64 = 100_000;

/// Zipf-like pick of an index in `0..n`: rank r with weight ≈ 1/(r+1).
fn zipf(rng: &mut Rng, n: usize) -> usize {
    // Inverse of the harmonic CDF, approximated by an exponential of a uniform.
    let u = (rng.below(1_000_000) as f64 + 0.5) / 1_000_000.0;
    let r = ((n as f64 + 1.0).powf(u) - 1.0) as usize;
    r.min(n - 1)
}

/// Distinct phone numbers in messages: each appears in about 3 % × messages / PHONES.
const PHONES: u64 = 100_000;

/// A phone number of customer `k`, written one of several ways.
fn phone(rng: &mut Rng, k: u64) -> String {
    let d = 9_000_000_000 + (k * 7_919) % 999_999_999;
    let s = d.to_string();
    match rng.below(3) {
        0 => format!("+7 {} {}-{}-{}", &s[0..3], &s[3..6], &s[6..8], &s[8..10]),
        1 => format!("8{s}"),
        _ => format!("+7({}){}", &s[0..3], &s[3..]),
    }
}

/// One generated message text.
fn text(rng: &mut Rng, n: u64) -> String {
    let mut out = String::new();
    let russian = rng.chance(70);
    let words = 4 + rng.below(14) as usize;
    for w in 0..words {
        if w > 0 {
            out.push(' ');
        }
        if rng.chance(30) {
            let glue = if russian { RU_GLUE } else { EN_GLUE };
            out.push_str(glue[rng.below(glue.len() as u64) as usize]);
        } else if russian {
            let forms = RU[zipf(rng, RU.len())];
            out.push_str(forms[rng.below(forms.len() as u64) as usize]);
        } else {
            out.push_str(EN[zipf(rng, EN.len())]);
        }
    }
    if rng.chance(3) {
        out.push(' ');
        let k = rng.below(PHONES);
        out.push_str(&phone(rng, k));
    }
    if rng.chance(2) {
        let _ = write!(out, " client{}@mail.example", rng.below(PHONES));
    }
    if rng.chance(5) {
        let _ = write!(out, " ORD-{:06}", rng.below(1_000_000));
    }
    if n % 250_000 == 42 {
        out.push_str(" ORD-424242");
    }
    if n % RARE_EVERY == 7 {
        out.push(' ');
        out.push_str(RARE_WORD);
    }
    if rng.chance(50) {
        out.push(if russian { '?' } else { '.' });
    }
    out
}

/// SQL text literal.
fn lit(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// `(id, tokens)` of an index row for `backend`: FTS5 takes the tokens as text,
/// PostgreSQL as a `tsvector` literal of quoted lexemes.
fn index_row(backend: Backend, id: i64, tokens: &str) -> String {
    match backend {
        Backend::Sqlite => format!("({id}, {})", lit(tokens)),
        Backend::Postgres => {
            let v: Vec<String> = tokens
                .split(' ')
                .filter(|t| !t.is_empty())
                .map(|t| format!("'{}'", t.replace('\'', "''")))
                .collect();
            format!("({id}, {}::tsvector)", lit(&v.join(" ")))
        }
    }
}

#[derive(Debug, Serialize)]
pub struct SearchSeedReport {
    pub database: String,
    pub account_id: i64,
    pub admin_token: String,
    pub agent_token: String,
    pub agent_inbox_ids: Vec<i64>,
    pub inbox_ids: Vec<i64>,
    pub conversations: u64,
    pub messages: u64,
    /// The database's size after seeding, bytes (SQLite: the file; PostgreSQL: the
    /// database), and the index's share where the engine tells it.
    pub database_bytes: Option<i64>,
    pub index_bytes: Option<i64>,
    pub seconds: f64,
}

impl SearchSeedReport {
    pub fn print(&self) {
        println!("search-seed: {}", self.database);
        println!(
            "  account {}: {} conversations, {} messages in {:.1} s",
            self.account_id, self.conversations, self.messages, self.seconds
        );
        if let Some(b) = self.database_bytes {
            println!(
                "  database {:.1} MiB ({:.0} bytes per message)",
                b as f64 / 1048576.0,
                b as f64 / self.messages.max(1) as f64
            );
        }
        if let Some(b) = self.index_bytes {
            println!(
                "  search index {:.1} MiB ({:.0} bytes per message)",
                b as f64 / 1048576.0,
                b as f64 / self.messages.max(1) as f64
            );
        }
        println!("  inboxes {:?}", self.inbox_ids);
        println!("  admin token {}", self.admin_token);
        println!(
            "  agent token {} (inboxes {:?})",
            self.agent_token, self.agent_inbox_ids
        );
    }
}

pub async fn seed(args: &SearchSeedArgs) -> Result<SearchSeedReport> {
    crate::cli::check_database_url(&args.database_url)?;
    if args.conversations > args.messages {
        return Err(Error::usage("--conversations must not exceed --messages"));
    }
    let started = Instant::now();
    let store = Store::connect(&args.database_url, StoreOptions::default()).await?;
    store.migrate().await?;
    let backend = store.backend();
    let pool = store.writer();
    let now = now_ms();
    let mut rng = Rng(0x2545_f491_4f6c_dd1d);
    let SeededAccount {
        account,
        admin_token,
        inbox_ids,
        ..
    } = seed_account(pool, "Search", "ru", "s", args.inboxes, 0, now).await?;
    let (agent_id, agent_token) =
        user(pool, account, &format!("sagent-{account}"), "agent", now).await?;
    let agent_inbox_ids: Vec<i64> = inbox_ids.iter().take(2).copied().collect();
    for inbox in &agent_inbox_ids {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "INSERT INTO inbox_members (inbox_id, user_id, created_at) VALUES ({inbox}, {agent_id}, {now})"
        )))
        .execute(pool)
        .await?;
    }

    // PostgreSQL: the secondary indexes of the two big tables are built once after the
    // load instead of being updated row by row (a GIN index grows fastest in one build).
    let deferred = match backend {
        Backend::Postgres => defer_indexes(pool).await?,
        Backend::Sqlite => Vec::new(),
    };

    let base_contact = next_id(pool, "contacts").await?;
    let base_conv = next_id(pool, "conversations").await?;
    let base_msg = next_id(pool, "messages").await?;
    let contacts = args.conversations.div_ceil(2).max(1);
    let mut ct = Batch::new(
        pool,
        "INSERT INTO contacts (id, account_id, name, email, phone_number, search_text, last_activity_at, created_at, updated_at)",
    );
    // The contacts' index rows, as the store writes them (a search for a name or an e-mail
    // domain matches every contact here).
    let mut cx = Batch::follower(
        pool,
        match backend {
            Backend::Sqlite => "INSERT INTO contact_search (rowid, tokens)",
            Backend::Postgres => "INSERT INTO contact_search (contact_id, tokens)",
        },
    );
    let mut row = String::new();
    for k in 0..contacts {
        let id = base_contact + k as i64;
        let p = phone(&mut Rng(k + 1), k);
        let (name, email) = (format!("Клиент {k}"), format!("client{k}@mail.example"));
        row.clear();
        let _ = write!(
            row,
            "({id}, {account}, {}, {}, {}, 'клиент {k}', {now}, {now}, {now})",
            lit(&name),
            lit(&email),
            lit(&p)
        );
        let flushed = ct.push(&row).await?;
        let tokens =
            parley_store::search::contact_tokens(Some(&name), Some(&email), Some(&p), None, "{}");
        cx.push(&index_row(backend, id, &tokens)).await?;
        if flushed {
            cx.commit().await?;
        }
    }
    ct.finish().await?;
    cx.finish().await?;

    let mut cv = Batch::new(
        pool,
        "INSERT INTO conversations (id, account_id, display_id, uuid, inbox_id, contact_id, status, \
         last_activity_at, created_at, updated_at)",
    );
    let mut ms = Batch::follower(
        pool,
        "INSERT INTO messages (id, account_id, inbox_id, conversation_id, message_type, content, \
         sender_type, sender_id, created_at, updated_at)",
    );
    let head = match backend {
        Backend::Sqlite => "INSERT INTO message_search (rowid, tokens)",
        Backend::Postgres => "INSERT INTO message_search (message_id, tokens)",
    };
    let mut ix = Batch::follower(pool, head);
    let per_conv = args.messages / args.conversations.max(1);
    let extra = args.messages % args.conversations.max(1);
    let mut msg_id = base_msg;
    let mut n_msg = 0u64;
    let step = YEAR_MS / args.conversations.max(1) as i64;
    for n in 0..args.conversations {
        let id = base_conv + n as i64;
        let k = n % contacts;
        let contact = base_contact + k as i64;
        let inbox = inbox_ids[(n % inbox_ids.len() as u64) as usize];
        let created = now - YEAR_MS + n as i64 * step;
        let count = per_conv + u64::from(n < extra);
        let status = if rng.chance(80) { "resolved" } else { "open" };
        row.clear();
        let _ = write!(
            row,
            "({id}, {account}, {}, 's{account}-{n}', {inbox}, {contact}, '{status}', {}, {created}, {created})",
            n + 1,
            created + count as i64 * 60_000
        );
        let flushed = cv.push(&row).await?;
        for j in 0..count {
            let content = text(&mut rng, n_msg);
            n_msg += 1;
            let at = created + j as i64 * 60_000;
            let (kind, sender_type, sender) = if j % 2 == 0 {
                (0, "Contact", contact)
            } else {
                (1, "User", agent_id)
            };
            row.clear();
            let _ = write!(
                row,
                "({msg_id}, {account}, {inbox}, {id}, {kind}, {}, '{sender_type}', {sender}, {at}, {at})",
                lit(&content)
            );
            ms.push(&row).await?;
            let mut tokens = parley_store::search::message_tokens(kind, Some(&content), "{}");
            // SQLite's rows carry their inbox's reserved token, as the store writes them (an
            // inbox filter reads the token once the reindex says every row has one).
            if backend == Backend::Sqlite && !tokens.is_empty() {
                tokens = format!("{tokens} {}", parley_store::search::inbox_token(inbox));
            }
            ix.push(&index_row(backend, msg_id, &tokens)).await?;
            msg_id += 1;
        }
        if flushed {
            ms.commit().await?;
            ix.commit().await?;
        }
    }
    let conversations = cv.finish().await?;
    let messages = ms.finish().await?;
    ix.finish().await?;
    // The index rows went in behind the store's back: its prefix vocabulary (SQLite)
    // learns their terms here, as the server's writer would have.
    store.refill_search_terms().await?;
    sqlx::query("UPDATE accounts SET next_display_id = $2 WHERE id = $1")
        .bind(account)
        .bind(conversations as i64)
        .execute(pool)
        .await?;
    let (database_bytes, index_bytes) = match backend {
        Backend::Postgres => {
            rebuild_indexes(pool, &deferred).await?;
            for t in ["contacts", "conversations", "messages"] {
                sqlx::query(sqlx::AssertSqlSafe(format!(
                    "SELECT setval(pg_get_serial_sequence('{t}', 'id'), (SELECT MAX(id) FROM {t}))"
                )))
                .execute(pool)
                .await?;
            }
            sqlx::query("ANALYZE").execute(pool).await?;
            let (db, ix): (i64, i64) = sqlx::query_as(
                "SELECT pg_database_size(current_database())::BIGINT,
                        pg_total_relation_size('message_search')::BIGINT",
            )
            .fetch_one(pool)
            .await?;
            (Some(db), Some(ix))
        }
        Backend::Sqlite => {
            sqlx::query("ANALYZE").execute(pool).await?;
            let (pages, size): (i64, i64) =
                sqlx::query_as("SELECT (SELECT page_count FROM pragma_page_count()), (SELECT page_size FROM pragma_page_size())")
                    .fetch_one(pool)
                    .await?;
            // The FTS5 shadow tables' share, where the build has the dbstat table.
            let ix: Option<(i64,)> =
                sqlx::query_as("SELECT SUM(pgsize) FROM dbstat WHERE name LIKE 'message_search%'")
                    .fetch_optional(pool)
                    .await
                    .ok()
                    .flatten();
            (Some(pages * size), ix.map(|r| r.0))
        }
    };
    store.close().await;
    Ok(SearchSeedReport {
        database: args.database_url.clone(),
        account_id: account,
        admin_token,
        agent_token,
        agent_inbox_ids,
        inbox_ids,
        conversations,
        messages,
        database_bytes,
        index_bytes,
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// Drops the indexes of `messages` and `message_search` that no constraint owns and
/// returns their definitions (`pg_indexes.indexdef`, exactly what the migrations
/// created) for [`rebuild_indexes`]. Primary keys stay: the seed's rows are checked
/// against them and the foreign keys need them.
async fn defer_indexes(pool: &sqlx::AnyPool) -> Result<Vec<String>> {
    let found: Vec<(String, String)> = sqlx::query_as(
        "SELECT indexname::TEXT, indexdef::TEXT FROM pg_indexes
         WHERE schemaname = current_schema() AND tablename IN ('messages', 'message_search')
           AND indexname NOT IN (SELECT conname FROM pg_constraint)",
    )
    .fetch_all(pool)
    .await?;
    for (name, _) in &found {
        sqlx::query(sqlx::AssertSqlSafe(format!("DROP INDEX \"{name}\"")))
            .execute(pool)
            .await?;
    }
    Ok(found.into_iter().map(|(_, def)| def).collect())
}

/// Creates the indexes [`defer_indexes`] dropped, on one connection with room to sort.
async fn rebuild_indexes(pool: &sqlx::AnyPool, defs: &[String]) -> Result<()> {
    let mut conn = pool.acquire().await?;
    sqlx::query("SET maintenance_work_mem = '512MB'")
        .execute(&mut *conn)
        .await?;
    for def in defs {
        sqlx::query(sqlx::AssertSqlSafe(def.clone()))
            .execute(&mut *conn)
            .await?;
    }
    sqlx::query("RESET maintenance_work_mem")
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// One kind of query's figures.
#[derive(Debug, Serialize)]
pub struct KindReport {
    pub kind: String,
    pub role: String,
    pub query: String,
    /// Hits on the first page (up to 20).
    pub hits: usize,
    pub latency: LatencySummary,
}

#[derive(Debug, Serialize)]
pub struct SearchReport {
    pub url: String,
    pub rounds: u32,
    pub kinds: Vec<KindReport>,
}

impl SearchReport {
    pub fn print(&self) {
        println!("search: {} — {} rounds per query", self.url, self.rounds);
        println!(
            "  {:<32} {:<6} {:>5} {:>9} {:>9} {:>9}  query",
            "kind", "role", "hits", "p50", "p99", "max"
        );
        for k in &self.kinds {
            println!(
                "  {:<32} {:<6} {:>5} {:>7.2}ms {:>7.2}ms {:>7.2}ms  {}",
                k.kind,
                k.role,
                k.hits,
                k.latency.p50_ms,
                k.latency.p99_ms,
                k.latency.max_ms,
                k.query
            );
        }
    }
}

fn encode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => out.push(b as char),
            _ => {
                let _ = write!(out, "%{b:02X}");
            }
        }
    }
    out
}

pub async fn run(args: &SearchArgs) -> Result<SearchReport> {
    let target = Target::parse(&args.url)?;
    let _ = target;
    let http = reqwest::Client::new();
    let base = args.url.trim_end_matches('/').to_string();
    // A phone number that exists (number 42 of the messages' phones), written another
    // way than the messages have it.
    let stored_phone = phone(&mut Rng(1), 42);
    let digits: String = stored_phone.chars().filter(char::is_ascii_digit).collect();
    let phone_query = format!("8 {}", &digits[1..]);
    let since = (now_ms() - 30 * 86_400_000) / 1000;
    let filter_inbox = args
        .inbox
        .map(|i| format!("&inbox_id={i}"))
        .unwrap_or_default();
    let kinds: Vec<(&str, String, String)> = vec![
        ("ru word (morphology)", "доставки".into(), String::new()),
        ("common word", "заказ".into(), String::new()),
        ("common en word", "order".into(), String::new()),
        ("two words", "курьер адрес".into(), String::new()),
        ("rare word", RARE_WORD.into(), String::new()),
        ("phrase", "\"где мой заказ\"".into(), String::new()),
        ("phone digits", phone_query.clone(), String::new()),
        ("e-mail", "client42@mail.example".into(), String::new()),
        ("order number", "ORD-424242".into(), String::new()),
        ("ru word + inbox", "доставки".into(), filter_inbox.clone()),
        ("rare word + inbox", RARE_WORD.into(), filter_inbox.clone()),
        (
            "phrase + inbox",
            "\"где мой заказ\"".into(),
            filter_inbox.clone(),
        ),
        (
            "common + last 30 days",
            "заказ".into(),
            format!("&since={since}"),
        ),
        (
            "common + resolved",
            "заказ".into(),
            "&status=resolved".into(),
        ),
    ];
    // The conversation search (`conversations/search`: the list's shape, every status
    // unless one is given, tab counts included) for a common word, where "conversations
    // having a matching message" must not collect every match first.
    let conversation_kinds: Vec<(&str, String, String)> = vec![
        ("conv: common word", "заказ".into(), String::new()),
        ("conv: common + inbox", "заказ".into(), filter_inbox.clone()),
        (
            "conv: common + resolved",
            "заказ".into(),
            "&status=resolved".into(),
        ),
        (
            "conv: common + inbox + open",
            "заказ".into(),
            format!("{filter_inbox}&status=open"),
        ),
        ("conv: ru word", "доставки".into(), String::new()),
        ("conv: rare word", RARE_WORD.into(), String::new()),
    ];
    let mut roles = vec![("admin", args.token.clone())];
    if let Some(t) = &args.agent_token {
        roles.push(("agent", t.clone()));
    }
    let mut out = Vec::new();
    let all = kinds
        .iter()
        .map(|k| (false, k))
        .chain(conversation_kinds.iter().map(|k| (true, k)));
    let all: Vec<_> = all.collect();
    for (role, token) in &roles {
        for (conversations, (kind, q, extra)) in &all {
            let route = if *conversations {
                "conversations/search"
            } else {
                "search/messages"
            };
            let path = format!(
                "{base}/api/v1/accounts/{}/{route}?q={}{extra}",
                args.account,
                encode(q)
            );
            let mut lat = Latency::new();
            let mut hits = 0;
            for _ in 0..args.rounds {
                let (took, body) = timed_get(&http, &path, token, &path).await?;
                lat.record(took);
                let v: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
                hits = if *conversations {
                    v["data"]["payload"].as_array().map_or(0, Vec::len)
                } else {
                    v["payload"]["messages"].as_array().map_or(0, Vec::len)
                };
            }
            out.push(KindReport {
                kind: kind.to_string(),
                role: role.to_string(),
                query: format!("{q}{extra}"),
                hits,
                latency: lat.summary(),
            });
        }
    }
    Ok(SearchReport {
        url: args.url.clone(),
        rounds: args.rounds,
        kinds: out,
    })
}
