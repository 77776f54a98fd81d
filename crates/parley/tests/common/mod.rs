//! Test harness: a real Parley server on a random loopback port with a fresh database,
//! SQLite always and PostgreSQL when `PARLEY_TEST_POSTGRES_URL` is set, driven by a real
//! HTTP client.
//!
//! Use [`both_backends!`] to run one async test function against both backends.
#![allow(dead_code)]

pub mod smtp;
pub mod ws;

use parley::{Config, Server};
use parley_core::Role;
use parley_store::users::NewUser;
use reqwest::{Method, StatusCode};
use serde_json::Value;

/// Runs each named `async fn(TestServer)` once on SQLite and once on PostgreSQL.
#[macro_export]
macro_rules! both_backends {
    ($($name:ident),+ $(,)?) => {
        mod sqlite {
            $( #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
               async fn $name() { let s = $crate::common::TestServer::sqlite().await; super::$name(&s).await; s.stop().await; } )+
        }
        mod postgres {
            $( #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
               async fn $name() {
                   if let Some(s) = $crate::common::TestServer::postgres().await { super::$name(&s).await; s.stop().await; }
               } )+
        }
    };
}

/// A running server with its own database.
pub struct TestServer {
    pub base: String,
    pub http: reqwest::Client,
    pub server: Option<Server>,
    pub dir: tempfile::TempDir,
    /// PostgreSQL server URL and database name to drop when the case ends.
    pub pg_database: Option<(String, String)>,
    /// The configuration it runs with, for [`TestServer::restart`].
    pub cfg: Config,
    /// The start options it runs with, for [`TestServer::restart`].
    pub opts: parley::StartOptions,
}

/// A user with an API token inside an account.
#[derive(Debug, Clone)]
pub struct Actor {
    pub account_id: i64,
    pub user_id: i64,
    pub token: String,
    pub email: String,
}

impl TestServer {
    fn config(dir: &tempfile::TempDir, database_url: Option<String>) -> Config {
        Config {
            listen: "127.0.0.1:0".into(),
            data_dir: dir.path().to_path_buf(),
            database_url,
            max_body_bytes: 64 * 1024,
            max_upload_bytes: 1024 * 1024,
            ..Config::default()
        }
    }

    /// A server on a fresh SQLite database.
    pub async fn sqlite() -> TestServer {
        Self::sqlite_with(|_| {}).await
    }

    /// A server on a fresh SQLite database, with settings changed by `tune`.
    pub async fn sqlite_with(tune: impl FnOnce(&mut Config)) -> TestServer {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut cfg = Self::config(&dir, None);
        tune(&mut cfg);
        Self::start(cfg, dir).await
    }

    /// A server on a fresh PostgreSQL database with settings changed by `tune`, or `None`
    /// (with a printed reason) when `PARLEY_TEST_POSTGRES_URL` is not set.
    pub async fn postgres_with(tune: impl FnOnce(&mut Config)) -> Option<TestServer> {
        Self::postgres_opts(Self::fast_jobs(), tune).await
    }

    /// A server on a fresh PostgreSQL database, or `None` (with a printed reason) when
    /// `PARLEY_TEST_POSTGRES_URL` is not set.
    pub async fn postgres() -> Option<TestServer> {
        Self::postgres_with(|_| {}).await
    }

    /// Starts a server with a custom configuration (listen/data_dir are filled in).
    pub async fn start(cfg: Config, dir: tempfile::TempDir) -> TestServer {
        Self::start_opts(cfg, dir, Self::fast_jobs()).await
    }

    /// Start options of every test server: timers are checked often, so a test waits
    /// milliseconds, not the production poll interval, for a due job.
    pub fn fast_jobs() -> parley::StartOptions {
        parley::StartOptions {
            job_poll: std::time::Duration::from_millis(25),
            ..Default::default()
        }
    }

    /// A server on a fresh SQLite database whose time is `clock`.
    pub async fn sqlite_clock(
        clock: parley_core::time::SharedClock,
        tune: impl FnOnce(&mut Config),
    ) -> TestServer {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut cfg = Self::config(&dir, None);
        tune(&mut cfg);
        let opts = parley::StartOptions {
            clock,
            ..Self::fast_jobs()
        };
        Self::start_opts(cfg, dir, opts).await
    }

    /// A server on a fresh PostgreSQL database whose time is `clock`, or `None` when
    /// `PARLEY_TEST_POSTGRES_URL` is not set.
    pub async fn postgres_clock(
        clock: parley_core::time::SharedClock,
        tune: impl FnOnce(&mut Config),
    ) -> Option<TestServer> {
        let opts = parley::StartOptions {
            clock,
            ..Self::fast_jobs()
        };
        Self::postgres_opts(opts, tune).await
    }

    /// Starts a server with a configuration and start options.
    pub async fn start_opts(
        cfg: Config,
        dir: tempfile::TempDir,
        opts: parley::StartOptions,
    ) -> TestServer {
        // `PARLEY_TEST_LOG=warn` (an `EnvFilter`) prints the servers' logs: the cause
        // behind a 500 a test saw.
        if let Ok(filter) = std::env::var("PARLEY_TEST_LOG") {
            let _ = tracing_subscriber::fmt()
                .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
                .with_test_writer()
                .try_init();
        }
        let server = parley::start_with(&cfg, opts.clone())
            .await
            .expect("server starts");
        let base = format!("http://{}", server.addr);
        // The server closes a keep-alive connection that sends no request for its header
        // timeout (10 s by default). A pooled connection idle for about that long can be
        // picked for a request at the moment the server closes it ("incomplete message"),
        // the race every HTTP client has with a server's keep-alive limit; like a
        // well-configured client, this one lets idle connections go well before that.
        let http = reqwest::Client::builder()
            .cookie_store(true)
            .pool_idle_timeout(std::time::Duration::from_secs(4))
            .build()
            .expect("client");
        TestServer {
            base,
            http,
            server: Some(server),
            dir,
            pg_database: None,
            cfg,
            opts,
        }
    }

    /// A server on a fresh SQLite database with start options and settings of its own.
    pub async fn sqlite_opts(
        opts: parley::StartOptions,
        tune: impl FnOnce(&mut Config),
    ) -> TestServer {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut cfg = Self::config(&dir, None);
        tune(&mut cfg);
        Self::start_opts(cfg, dir, opts).await
    }

    /// A server on a fresh PostgreSQL database with start options and settings of its
    /// own, or `None` when `PARLEY_TEST_POSTGRES_URL` is not set.
    pub async fn postgres_opts(
        opts: parley::StartOptions,
        tune: impl FnOnce(&mut Config),
    ) -> Option<TestServer> {
        let Ok(base) = std::env::var("PARLEY_TEST_POSTGRES_URL") else {
            assert!(
                std::env::var_os("PARLEY_REQUIRE_SERVICES").is_none(),
                "PARLEY_REQUIRE_SERVICES is set: this test must not be skipped"
            );
            eprintln!("skipping the PostgreSQL run: PARLEY_TEST_POSTGRES_URL is not set");
            return None;
        };
        let (url, name) = parley_store::Store::create_test_database(&base)
            .await
            .expect("create test database");
        let dir = tempfile::tempdir().expect("tempdir");
        let mut cfg = Self::config(&dir, Some(url));
        tune(&mut cfg);
        let mut s = Self::start_opts(cfg, dir, opts).await;
        s.pg_database = Some((base, name));
        Some(s)
    }

    /// Stops the server and starts it again on the same database and data directory (a
    /// new port: `base` changes), as a restart of `parley serve` would.
    pub async fn restart(&mut self) {
        self.restart_with(async {}).await;
    }

    /// Stops the server, runs `while_down` (letters arriving while it is down), and
    /// starts it again as [`TestServer::restart`] does.
    pub async fn restart_with(&mut self, while_down: impl std::future::Future<Output = ()>) {
        if let Some(s) = self.server.take() {
            s.stop().await;
        }
        while_down.await;
        // The system clock and fast jobs as before; a webhook retry policy is kept.
        let opts = parley::StartOptions {
            webhook_retry: self.opts.webhook_retry.clone(),
            ..Self::fast_jobs()
        };
        let server = parley::start_with(&self.cfg, opts)
            .await
            .expect("server restarts");
        self.base = format!("http://{}", server.addr);
        self.server = Some(server);
    }

    /// Stops the server and drops its PostgreSQL database (a failed case leaves its
    /// database behind for inspection; `.ci/run` removes leftovers).
    pub async fn stop(mut self) {
        if let Some(s) = self.server.take() {
            s.stop().await;
        }
        if let Some((base, name)) = self.pg_database.take()
            && let Ok(admin) = parley_store::Store::connect(
                &base,
                parley_store::StoreOptions {
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
    }

    pub fn svc(&self) -> &parley_service::Services {
        &self.server.as_ref().expect("running").services
    }

    /// The server's database, for fixtures below the use cases.
    pub fn store(&self) -> &parley_store::Store {
        &self.server.as_ref().expect("running").store
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// Creates an account with an administrator (through the same use case as the CLI).
    pub async fn admin(&self, account: &str) -> Actor {
        let email = format!(
            "admin-{}@{}.test",
            parley_store::random_token(4),
            account.to_lowercase().replace(' ', "-")
        );
        let done = self
            .svc()
            .admin_create(&email, "password123", Some("Admin"), account)
            .await
            .expect("admin create");
        Actor {
            account_id: done.account_id,
            user_id: done.user_id,
            token: done.access_token,
            email,
        }
    }

    /// Adds a user with `role` (and an API token) to an account. The password is unusable.
    pub async fn member(&self, account_id: i64, name: &str, role: Role) -> Actor {
        let store = self.store();
        let email = format!(
            "{}-{}@staff.test",
            name.to_lowercase(),
            parley_store::random_token(4)
        );
        let user = store
            .create_user(&NewUser {
                name,
                display_name: None,
                email: &email,
                password_hash: "!",
            })
            .await
            .expect("create user");
        store
            .upsert_membership(account_id, user.id, role)
            .await
            .expect("membership");
        let token = parley_store::random_token(32);
        store
            .add_access_token(user.id, &token)
            .await
            .expect("token");
        Actor {
            account_id,
            user_id: user.id,
            token,
            email,
        }
    }

    /// Sends a request with an optional token and JSON body; returns status and JSON
    /// (`Value::Null` when the body is not JSON).
    pub async fn call(
        &self,
        method: Method,
        token: Option<&str>,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut req = self.http.request(method, self.url(path));
        if let Some(t) = token {
            req = req.header("api_access_token", t);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let res = req.send().await.expect("request sent");
        let status = res.status();
        let text = res.text().await.expect("body");
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    /// Sends a raw body with a content type (for malformed-input tests).
    pub async fn raw(
        &self,
        method: Method,
        token: Option<&str>,
        path: &str,
        content_type: &str,
        body: Vec<u8>,
    ) -> (StatusCode, Value) {
        let mut req = self
            .http
            .request(method, self.url(path))
            .header("content-type", content_type)
            .body(body);
        if let Some(t) = token {
            req = req.header("api_access_token", t);
        }
        let res = req.send().await.expect("request sent");
        let status = res.status();
        let text = res.text().await.expect("body");
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    pub async fn get(&self, token: &str, path: &str) -> (StatusCode, Value) {
        self.call(Method::GET, Some(token), path, None).await
    }
    pub async fn post(&self, token: &str, path: &str, body: Value) -> (StatusCode, Value) {
        self.call(Method::POST, Some(token), path, Some(body)).await
    }
    pub async fn put(&self, token: &str, path: &str, body: Value) -> (StatusCode, Value) {
        self.call(Method::PUT, Some(token), path, Some(body)).await
    }
    pub async fn patch(&self, token: &str, path: &str, body: Value) -> (StatusCode, Value) {
        self.call(Method::PATCH, Some(token), path, Some(body))
            .await
    }
    pub async fn delete(&self, token: &str, path: &str) -> (StatusCode, Value) {
        self.call(Method::DELETE, Some(token), path, None).await
    }
}

/// Asserts the API's error shape and code.
pub fn assert_error(status: StatusCode, body: &Value, want_status: u16, want_code: &str) {
    assert_eq!(
        status.as_u16(),
        want_status,
        "unexpected status, body: {body}"
    );
    assert_eq!(
        body["error"]["code"], want_code,
        "unexpected error code, body: {body}"
    );
    assert!(
        body["error"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty()),
        "error without message: {body}"
    );
}
