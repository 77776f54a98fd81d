//! The 10,000-letter IMAP backlog benchmark (docs/benchmarks.md). Ignored by default: run
//! with `cargo test -p parley-channels --release -- --ignored --nocapture imap_backlog`.
//! `PARLEY_BENCH_LETTERS` changes the number of letters.

use std::time::Instant;

use crate::email::imap::Importer;
use crate::email::testing::{MailSystem, MemoryTarget, Options};

/// utime + stime of this process, in clock ticks (100 per second on Linux).
fn cpu_ticks() -> u64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after = stat.rsplit(')').next().unwrap_or("");
    let f: Vec<&str> = after.split_whitespace().collect();
    let n = |i: usize| f.get(i).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
    // Fields 14 and 15 of the stat line; index 11 and 12 after the command name.
    n(11) + n(12)
}

fn status_kib(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find_map(|l| {
            l.strip_prefix(field)?
                .trim()
                .strip_suffix("kB")?
                .trim()
                .parse()
                .ok()
        })
        .unwrap_or(0)
}

fn letter(n: usize) -> Vec<u8> {
    let body = "Здравствуйте! Подскажите, пожалуйста, когда будет доставка заказа. ".repeat(20);
    format!(
        "From: Customer {n} <c{n}@customer.test>\r\nTo: support@shop.test\r\nSubject: Question {n}\r\n\
         Message-ID: <bench{n}@customer.test>\r\nDate: Wed, 2 Dec 2026 16:00:00 +0300\r\n\
         Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n{body}\r\n"
    )
    .into_bytes()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "benchmark: run by hand, see docs/benchmarks.md"]
async fn imap_backlog() {
    let Some(sys) = MailSystem::start_or_skip("imap_backlog", Options::default()) else {
        return;
    };
    let total: usize = std::env::var("PARLEY_BENCH_LETTERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000);
    let user = "support@shop.test";
    let seed = Instant::now();
    sys.append_many(user, (1..=total).map(letter))
        .await
        .expect("append");
    eprintln!(
        "seeded {total} letters in {:.1} s",
        seed.elapsed().as_secs_f64()
    );
    // Peak memory from here on (Linux: writing 5 to clear_refs resets VmHWM).
    let _ = std::fs::write("/proc/self/clear_refs", "5");
    let rss_before = status_kib("VmRSS:");
    let importer = Importer::new(sys.imap(user, true), MemoryTarget::counting());
    let cpu0 = cpu_ticks();
    let t0 = Instant::now();
    let r = importer.sync_once().await.expect("import");
    let secs = t0.elapsed().as_secs_f64();
    let cpu = (cpu_ticks() - cpu0) as f64 / 100.0;
    let s = importer.target().state();
    assert_eq!(r.imported as usize, total);
    assert_eq!(s.letters.len(), total);
    assert_eq!(s.duplicates, 0);
    println!(
        "imap backlog over TLS: {total} letters, {:.1} MB in {secs:.2} s = {:.0} letters/s; importer CPU {cpu:.2} s ({:.0}% of one core); RSS before {} KiB, peak during {} KiB",
        s.bytes as f64 / 1e6,
        total as f64 / secs,
        cpu / secs * 100.0,
        rss_before,
        status_kib("VmHWM:"),
    );
}
