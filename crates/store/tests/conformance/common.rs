//! Fresh databases for the conformance suite: a temporary SQLite file always, and a
//! freshly created PostgreSQL database when `PARLEY_TEST_POSTGRES_URL` is set.

use parley_store::{Store, StoreOptions};

/// A store on a fresh database plus what keeps it alive.
pub struct TestDb {
    pub store: Store,
    _dir: Option<tempfile::TempDir>,
    /// PostgreSQL server URL and database name, dropped with the `TestDb`.
    pg: Option<(String, String)>,
}

impl Drop for TestDb {
    /// Drops the case's PostgreSQL database so runs do not pile them up. Runs on its own
    /// thread and runtime because `Drop` cannot await (`WITH (FORCE)` ends the pool's
    /// connections, which belong to the test's runtime).
    fn drop(&mut self) {
        let Some((base, name)) = self.pg.take() else {
            return;
        };
        let dropper = std::thread::spawn(move || {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            rt.block_on(async {
                if let Ok(admin) = Store::connect(
                    &base,
                    StoreOptions {
                        max_connections: 1,
                        ..Default::default()
                    },
                )
                .await
                {
                    if let Err(e) = admin.drop_database_for_tests(&name).await {
                        eprintln!("could not drop test database {name}: {e}");
                    }
                    admin.close().await;
                }
            });
        });
        let _ = dropper.join();
    }
}

pub async fn sqlite() -> TestDb {
    let dir = tempfile::tempdir().expect("tempdir");
    let url = format!("sqlite://{}", dir.path().join("t.db").display());
    let store = Store::connect(&url, StoreOptions::default())
        .await
        .expect("connect sqlite");
    store.migrate().await.expect("migrate sqlite");
    TestDb {
        store,
        _dir: Some(dir),
        pg: None,
    }
}

/// `None` (with a printed reason) when PostgreSQL is not configured.
pub async fn postgres() -> Option<TestDb> {
    let Ok(base) = std::env::var("PARLEY_TEST_POSTGRES_URL") else {
        assert!(
            std::env::var_os("PARLEY_REQUIRE_SERVICES").is_none(),
            "PARLEY_REQUIRE_SERVICES is set: this test must not be skipped"
        );
        eprintln!("skipping PostgreSQL conformance: PARLEY_TEST_POSTGRES_URL is not set");
        return None;
    };
    let (url, name) = Store::create_test_database(&base)
        .await
        .expect("create test database");
    let store = Store::connect(&url, StoreOptions::default())
        .await
        .expect("connect test db");
    store.migrate().await.expect("migrate postgres");
    Some(TestDb {
        store,
        _dir: None,
        pg: Some((base, name)),
    })
}
