//! `loadgen commit-baseline`: how many rows per second the database itself commits, one
//! row per commit and N rows per commit, with the durability the server promises (SQLite
//! WAL + `synchronous=FULL`, PostgreSQL `synchronous_commit=on`).
//!
//! The server's group-commit rate means little without this: one commit per message is
//! capped by the disk's fsync rate (~400/s on the reference machine), and the batched
//! figure is roughly the ceiling a group-commit writer can reach on the same disk.

use std::str::FromStr;
use std::time::{Duration, Instant};

use serde::Serialize;
use sqlx::postgres::{PgConnectOptions, PgConnection};
use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqliteSynchronous};
use sqlx::{Connection, Executor};

use crate::cli::{BaselineArgs, check_database_url};
use crate::error::Result;

#[derive(Debug, Serialize)]
pub struct BaselineReport {
    pub mode: &'static str,
    pub backend: &'static str,
    pub durability: &'static str,
    pub rows: u64,
    pub single_row_commits_per_second: f64,
    pub single_row_seconds: f64,
    pub batch_rows: u64,
    pub batched_rows: u64,
    pub batched_rows_per_second: f64,
    pub batched_seconds: f64,
    pub loadavg_1m: Option<f64>,
}

const BODY: &str = "loadgen baseline row: about as long as a short chat message";

pub async fn run(args: &BaselineArgs) -> Result<BaselineReport> {
    check_database_url(&args.database_url)?;
    if args.database_url.starts_with("sqlite:") {
        let opts = SqliteConnectOptions::from_str(&args.database_url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full);
        let mut c = SqliteConnection::connect_with(&opts).await?;
        c.execute(
            "CREATE TABLE IF NOT EXISTS loadgen_baseline (id INTEGER PRIMARY KEY, body TEXT NOT NULL)",
        )
        .await?;
        let measured = measure_sqlite(&mut c, args).await;
        if !args.keep {
            c.execute("DROP TABLE IF EXISTS loadgen_baseline").await?;
        }
        c.close().await?;
        let (single, batched) = measured?;
        Ok(report(
            args,
            "sqlite",
            "WAL, synchronous=FULL",
            single,
            batched,
        ))
    } else {
        let opts =
            PgConnectOptions::from_str(&args.database_url)?.options([("synchronous_commit", "on")]);
        let mut c = PgConnection::connect_with(&opts).await?;
        c.execute(
            "CREATE TABLE IF NOT EXISTS loadgen_baseline (id BIGSERIAL PRIMARY KEY, body TEXT NOT NULL)",
        )
        .await?;
        let measured = measure_pg(&mut c, args).await;
        if !args.keep {
            c.execute("DROP TABLE IF EXISTS loadgen_baseline").await?;
        }
        c.close().await?;
        let (single, batched) = measured?;
        Ok(report(
            args,
            "postgres",
            "synchronous_commit=on",
            single,
            batched,
        ))
    }
}

fn report(
    args: &BaselineArgs,
    backend: &'static str,
    durability: &'static str,
    single: Duration,
    batched: Duration,
) -> BaselineReport {
    let per_s = |n: u64, d: Duration| n as f64 / d.as_secs_f64().max(1e-9);
    BaselineReport {
        mode: "commit-baseline",
        backend,
        durability,
        rows: args.rows,
        single_row_commits_per_second: per_s(args.rows, single),
        single_row_seconds: single.as_secs_f64(),
        batch_rows: args.batch,
        batched_rows: args.batched_rows,
        batched_rows_per_second: per_s(args.batched_rows, batched),
        batched_seconds: batched.as_secs_f64(),
        loadavg_1m: crate::procfs::loadavg(),
    }
}

/// `($1),($2),…` for a multi-row INSERT of `n` rows.
fn placeholders(n: u64) -> String {
    (1..=n)
        .map(|i| format!("(${i})"))
        .collect::<Vec<_>>()
        .join(",")
}

/// Times `rows` single-row autocommit INSERTs, then `batched_rows` rows in multi-row
/// INSERTs of `batch` rows, one transaction each. A macro rather than a generic function: the two
/// connection types share the code but sqlx's trait bounds for it would be longer than
/// the body.
macro_rules! measure_fn {
    ($name:ident, $conn:ty) => {
        async fn $name(c: &mut $conn, args: &BaselineArgs) -> Result<(Duration, Duration)> {
            let t = Instant::now();
            for _ in 0..args.rows {
                sqlx::query("INSERT INTO loadgen_baseline (body) VALUES ($1)")
                    .bind(BODY)
                    .execute(&mut *c)
                    .await?;
            }
            let single = t.elapsed();
            let t = Instant::now();
            let mut left = args.batched_rows;
            while left > 0 {
                let n = left.min(args.batch);
                let sql = format!(
                    "INSERT INTO loadgen_baseline (body) VALUES {}",
                    placeholders(n)
                );
                let mut tx = c.begin().await?;
                let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
                for _ in 0..n {
                    q = q.bind(BODY);
                }
                q.execute(&mut *tx).await?;
                tx.commit().await?;
                left -= n;
            }
            Ok((single, t.elapsed()))
        }
    };
}

measure_fn!(measure_sqlite, SqliteConnection);
measure_fn!(measure_pg, PgConnection);

impl BaselineReport {
    pub fn print(&self) {
        println!("commit baseline: {} ({})", self.backend, self.durability);
        println!(
            "  1 row per commit     {:>10.0} commits/s ({} rows in {:.2} s)",
            self.single_row_commits_per_second, self.rows, self.single_row_seconds
        );
        println!(
            "  {:>3} rows per commit {:>10.0} rows/s ({} rows in {:.2} s)",
            self.batch_rows, self.batched_rows_per_second, self.batched_rows, self.batched_seconds
        );
        println!(
            "  load average (1 min) {}",
            self.loadavg_1m.map_or("n/a".into(), |l| format!("{l:.2}"))
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_number_each_row() {
        assert_eq!(placeholders(1), "($1)");
        assert_eq!(placeholders(3), "($1),($2),($3)");
    }

    #[tokio::test]
    async fn measures_a_sqlite_file_and_drops_its_table() {
        let dir = std::env::temp_dir().join(format!("loadgen-baseline-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let db = dir.join("b.db");
        let url = format!("sqlite://{}", db.display());
        let args = BaselineArgs {
            database_url: url.clone(),
            rows: 120,
            batched_rows: 150,
            batch: 50,
            keep: false,
        };
        let r = run(&args).await.unwrap();
        assert_eq!(r.backend, "sqlite");
        assert_eq!(r.rows, 120);
        assert!(r.single_row_commits_per_second > 0.0);
        assert!(r.batched_rows_per_second > 0.0);
        // The table is gone, and the database was really in WAL mode.
        let mut c = SqliteConnection::connect(&url).await.unwrap();
        let n: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM sqlite_master WHERE name = 'loadgen_baseline'",
        )
        .fetch_one(&mut c)
        .await
        .unwrap();
        assert_eq!(n, 0);
        let mode: String = sqlx::query_scalar("PRAGMA journal_mode")
            .fetch_one(&mut c)
            .await
            .unwrap();
        assert_eq!(mode, "wal");
        c.close().await.unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[tokio::test]
    async fn kept_table_holds_every_row() {
        let dir = std::env::temp_dir().join(format!("loadgen-keep-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let url = format!("sqlite://{}", dir.join("k.db").display());
        let args = BaselineArgs {
            database_url: url.clone(),
            rows: 101,
            batched_rows: 102,
            batch: 25,
            keep: true,
        };
        run(&args).await.unwrap();
        let mut c = SqliteConnection::connect(&url).await.unwrap();
        let n: i64 = sqlx::query_scalar("SELECT count(*) FROM loadgen_baseline")
            .fetch_one(&mut c)
            .await
            .unwrap();
        assert_eq!(
            n, 203,
            "101 single rows and 102 batched rows (batches of 25 and a 2)"
        );
        c.close().await.unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
