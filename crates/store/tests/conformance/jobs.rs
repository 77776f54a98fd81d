//! The job queue's `OnExisting::Again` (work that reads its causes when it runs, like a
//! bot's turn in a conversation): a queued job coalesces new causes into one run, and a
//! cause that arrives while the job runs makes exactly one more run after it.

use crate::common;

use parley_store::Store;
use parley_store::jobs::{NewJob, OnExisting};

macro_rules! both_backends {
    ($($name:ident),+ $(,)?) => {
        mod sqlite { $( #[tokio::test] async fn $name() { super::$name(&super::common::sqlite().await.store).await } )+ }
        mod postgres { $( #[tokio::test] async fn $name() { if let Some(db) = super::common::postgres().await { super::$name(&db.store).await } } )+ }
    };
}

both_backends!(again_coalesces_while_queued_and_reruns_after_a_running_one);

fn job(run_at: i64) -> NewJob<'static> {
    NewJob {
        key: "turn:7",
        kind: "turn",
        account_id: None,
        payload: "{}".into(),
        run_at,
    }
}

async fn again_coalesces_while_queued_and_reruns_after_a_running_one(s: &Store) {
    let now = s.now();
    // Queued, not started: three causes are one job, due at the soonest time.
    s.schedule_job(&job(now + 60_000), OnExisting::Again)
        .await
        .unwrap();
    s.schedule_job(&job(now), OnExisting::Again).await.unwrap();
    s.schedule_job(&job(now + 30_000), OnExisting::Again)
        .await
        .unwrap();
    let pending = s.pending_jobs("turn").await.unwrap();
    assert_eq!(pending.len(), 1, "{pending:?}");
    assert_eq!(pending[0].run_at, now, "the soonest time wins");

    // It runs; with no new cause, finishing removes it.
    let claimed = s.claim_jobs("a", now, 60_000, 10).await.unwrap();
    assert_eq!(claimed.len(), 1);
    s.finish_job(&claimed[0]).await.unwrap();
    assert!(s.pending_jobs("turn").await.unwrap().is_empty());

    // A cause while it runs: nobody else claims it meanwhile, and it runs once more after.
    s.schedule_job(&job(now), OnExisting::Again).await.unwrap();
    let claimed = s.claim_jobs("a", now, 60_000, 10).await.unwrap();
    assert_eq!(claimed.len(), 1);
    s.schedule_job(&job(now), OnExisting::Again).await.unwrap();
    s.schedule_job(&job(now), OnExisting::Again).await.unwrap();
    assert!(
        s.claim_jobs("b", now, 60_000, 10).await.unwrap().is_empty(),
        "a running job is not claimed twice"
    );
    s.finish_job(&claimed[0]).await.unwrap();
    let again = s.claim_jobs("b", now, 60_000, 10).await.unwrap();
    assert_eq!(
        again.len(),
        1,
        "one more run for the causes that came meanwhile"
    );
    assert_eq!(again[0].attempts, 1, "a fresh count of attempts");
    s.finish_job(&again[0]).await.unwrap();
    assert!(s.pending_jobs("turn").await.unwrap().is_empty());
}
