//! `loadgen messages --wal-stats-url`: what PostgreSQL wrote for the run's messages, from
//! its own counters (`pg_stat_wal`, `pg_stat_database`) read before the first message and
//! after the drain, divided by the messages acknowledged.
//!
//! The counters are the whole cluster's, so the figures are only meaningful on a database
//! server that nothing else uses during the run. They say what a message costs the
//! database (WAL records, bytes and page images written, commits and fsyncs), which is the
//! work batching is meant to take away, independently of how fast the machine is that day.

use std::str::FromStr;

use serde::Serialize;
use sqlx::Connection;
use sqlx::postgres::{PgConnectOptions, PgConnection};

use crate::cli::check_database_url;
use crate::error::{Error, Result};

/// One reading of the cluster's WAL and transaction counters.
#[derive(Debug, Clone, Copy, Default, sqlx::FromRow)]
pub struct WalCounters {
    wal_records: i64,
    wal_fpi: i64,
    wal_bytes: i64,
    wal_write: i64,
    wal_sync: i64,
    xact_commit: i64,
}

/// The counters' growth over a run, in all and per acknowledged message.
#[derive(Debug, Serialize)]
pub struct WalReport {
    pub messages: u64,
    pub wal_records: i64,
    pub wal_full_page_images: i64,
    pub wal_bytes: i64,
    pub wal_writes: i64,
    pub wal_syncs: i64,
    pub commits: i64,
    pub records_per_message: f64,
    pub bytes_per_message: f64,
    pub syncs_per_message: f64,
    pub commits_per_message: f64,
}

/// A connection that reads the counters of the PostgreSQL server behind `url`.
pub struct WalProbe {
    conn: PgConnection,
}

impl WalProbe {
    pub async fn connect(url: &str) -> Result<Self> {
        check_database_url(url)?;
        if !url.starts_with("postgres") {
            return Err(Error::usage(
                "--wal-stats-url must be a postgres:// URL (pg_stat_wal is PostgreSQL's)",
            ));
        }
        let conn = PgConnection::connect_with(&PgConnectOptions::from_str(url)?).await?;
        Ok(Self { conn })
    }

    /// The counters now. `pg_stat_wal` is updated by each backend at its transaction's end
    /// and flushed to the statistics at most every second or so, so a reading right after
    /// the drain can miss the last second: the caller waits before the final reading.
    pub async fn read(&mut self) -> Result<WalCounters> {
        // PostgreSQL caches statistics per transaction; a fresh snapshot each time.
        sqlx::query("SELECT pg_stat_clear_snapshot()")
            .execute(&mut self.conn)
            .await?;
        Ok(sqlx::query_as::<_, WalCounters>(
            "SELECT w.wal_records, w.wal_fpi, CAST(w.wal_bytes AS BIGINT) AS wal_bytes,
                    w.wal_write, w.wal_sync,
                    (SELECT CAST(SUM(xact_commit) AS BIGINT) FROM pg_stat_database) AS xact_commit
             FROM pg_stat_wal w",
        )
        .fetch_one(&mut self.conn)
        .await?)
    }
}

/// Analyses the tables a setup filled, on the PostgreSQL server behind `url`: what
/// autovacuum does within its first minute after a table grows from nothing. The tables the
/// run itself fills (messages, events) are left alone, as autovacuum would not have seen
/// them yet; analysed empty, they would be planned as empty while they fill.
pub async fn analyze_setup(url: &str) -> Result<()> {
    check_database_url(url)?;
    if !url.starts_with("postgres") {
        return Err(Error::usage("--analyze-url must be a postgres:// URL"));
    }
    let mut conn = PgConnection::connect_with(&PgConnectOptions::from_str(url)?).await?;
    sqlx::query("ANALYZE contacts, contact_inboxes, conversations")
        .execute(&mut conn)
        .await?;
    Ok(())
}

/// The growth from `before` to `after`, per message of `messages`.
pub fn report(before: WalCounters, after: WalCounters, messages: u64) -> WalReport {
    let per = |d: i64| {
        if messages == 0 {
            0.0
        } else {
            d as f64 / messages as f64
        }
    };
    let records = after.wal_records - before.wal_records;
    let bytes = after.wal_bytes - before.wal_bytes;
    let syncs = after.wal_sync - before.wal_sync;
    let commits = after.xact_commit - before.xact_commit;
    WalReport {
        messages,
        wal_records: records,
        wal_full_page_images: after.wal_fpi - before.wal_fpi,
        wal_bytes: bytes,
        wal_writes: after.wal_write - before.wal_write,
        wal_syncs: syncs,
        commits,
        records_per_message: per(records),
        bytes_per_message: per(bytes),
        syncs_per_message: per(syncs),
        commits_per_message: per(commits),
    }
}

impl WalReport {
    pub fn print(&self) {
        println!(
            "  PostgreSQL WAL       {:.1} records, {:.0} bytes, {:.3} fsyncs, {:.3} commits per message \
             ({} records, {} full-page images, {} bytes, {} writes, {} fsyncs, {} commits for {} messages)",
            self.records_per_message,
            self.bytes_per_message,
            self.syncs_per_message,
            self.commits_per_message,
            self.wal_records,
            self.wal_full_page_images,
            self.wal_bytes,
            self.wal_writes,
            self.wal_syncs,
            self.commits,
            self.messages
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn per_message_figures_divide_the_growth() {
        let before = WalCounters {
            wal_records: 100,
            wal_fpi: 1,
            wal_bytes: 1_000,
            wal_write: 5,
            wal_sync: 5,
            xact_commit: 10,
        };
        let after = WalCounters {
            wal_records: 1_100,
            wal_fpi: 3,
            wal_bytes: 201_000,
            wal_write: 30,
            wal_sync: 25,
            xact_commit: 60,
        };
        let r = report(before, after, 100);
        assert_eq!(r.wal_records, 1_000);
        assert_eq!(r.records_per_message, 10.0);
        assert_eq!(r.bytes_per_message, 2_000.0);
        assert_eq!(r.syncs_per_message, 0.2);
        assert_eq!(r.commits_per_message, 0.5);
        assert_eq!(report(before, after, 0).records_per_message, 0.0);
    }
}
