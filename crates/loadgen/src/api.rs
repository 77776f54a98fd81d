//! The REST calls loadgen makes to set a run up (an inbox, visitor contacts with their
//! `pubsub_token`, one open conversation each) and, with `--transport rest`, to send.
//!
//! Visitor contacts are created through the Application API (`POST …/contacts` with
//! `inbox_id`) rather than the Client API's `POST /public/…/contacts`, because the latter
//! is limited to 30 new contacts per client IP per minute: 19,000 visitors would take ten
//! hours. The Application API's answer carries the contact inbox's `source_id` but not its
//! `pubsub_token`, so the token is read with the Client API's `GET
//! /public/api/v1/inboxes/{inbox}/contacts/{source_id}`, which is not rate-limited.
//!
//! Setup can be saved to a JSON file (`--setup-file`) and reused, so repeated runs and
//! several loadgen processes skip it (each process takes its own slice with `--skip`).

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use futures::{StreamExt, TryStreamExt, stream};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::error::{Error, Result};
use crate::target::Target;

/// A REST client for one account of one server.
#[derive(Clone)]
pub struct Api {
    http: reqwest::Client,
    base: String,
    token: String,
    account: u64,
}

/// A visitor: their credential in the inbox, their WebSocket token, and (for the message
/// workload) their open conversation's `display_id`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Visitor {
    pub source_id: String,
    pub pubsub_token: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conversation_id: Option<i64>,
}

/// Everything setup made, as saved in `--setup-file`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Setup {
    pub base: String,
    pub account: u64,
    pub inbox_id: i64,
    pub inbox_identifier: String,
    pub visitors: Vec<Visitor>,
}

/// What a run needs from setup.
#[derive(Debug, Clone)]
pub struct SetupNeeds {
    /// Visitors `skip..skip + count` of the setup are used.
    pub skip: usize,
    pub count: usize,
    pub conversations: bool,
    /// Requests in flight at once while creating.
    pub concurrency: usize,
}

impl Api {
    pub fn new(target: &Target, token: &str, account: u64, concurrency: usize) -> Result<Self> {
        let http = reqwest::Client::builder()
            .pool_max_idle_per_host(concurrency)
            .timeout(Duration::from_secs(60))
            .tcp_nodelay(true)
            .build()
            .map_err(|e| Error::Request {
                what: "building the HTTP client".into(),
                source: e,
            })?;
        Ok(Self {
            http,
            base: target.base.clone(),
            token: token.to_string(),
            account,
        })
    }

    pub fn token(&self) -> &str {
        &self.token
    }

    async fn call(&self, what: &str, req: reqwest::RequestBuilder) -> Result<Value> {
        let resp = req.send().await.map_err(|e| Error::Request {
            what: what.to_string(),
            source: e,
        })?;
        let status = resp.status();
        let body = resp.text().await.map_err(|e| Error::Request {
            what: what.to_string(),
            source: e,
        })?;
        if !status.is_success() {
            return Err(Error::Http {
                what: what.to_string(),
                status: status.as_u16(),
                body: body.chars().take(300).collect(),
            });
        }
        serde_json::from_str(&body)
            .map_err(|e| Error::Protocol(format!("{what}: response is not JSON: {e}")))
    }

    fn app(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.http
            .request(
                method,
                format!("{}/api/v1/accounts/{}{path}", self.base, self.account),
            )
            .header("api_access_token", &self.token)
    }

    /// `POST` of a JSON body to an account path; the answer.
    pub async fn post_json(&self, what: &str, path: &str, body: Value) -> Result<Value> {
        self.call(what, self.app(reqwest::Method::POST, path).json(&body))
            .await
    }

    /// `DELETE` of an account path.
    pub async fn delete(&self, path: &str) -> Result<()> {
        let resp = self
            .app(reqwest::Method::DELETE, path)
            .send()
            .await
            .map_err(|e| Error::Request {
                what: format!("DELETE {path}"),
                source: e,
            })?;
        if resp.status().is_success() {
            Ok(())
        } else {
            Err(Error::Http {
                what: format!("DELETE {path}"),
                status: resp.status().as_u16(),
                body: String::new(),
            })
        }
    }

    /// Checks the token and account before anything is created.
    pub async fn check_access(&self) -> Result<()> {
        self.call(
            "listing inboxes (checking --token and --account)",
            self.app(reqwest::Method::GET, "/inboxes"),
        )
        .await
        .map(|_| ())
    }

    /// Creates an API-channel inbox without auto-assignment, so the workload measures
    /// storing and delivering messages rather than routing.
    pub async fn create_inbox(&self, name: &str) -> Result<(i64, String)> {
        let v = self
            .call(
                "creating the inbox",
                self.app(reqwest::Method::POST, "/inboxes").json(&json!({
                    "name": name,
                    "channel": {"type": "api"},
                    "enable_auto_assignment": false,
                    "greeting_enabled": false,
                })),
            )
            .await?;
        let id = v["id"]
            .as_i64()
            .ok_or_else(|| Error::Protocol("inbox without id".into()))?;
        let ident = v["inbox_identifier"]
            .as_str()
            .ok_or_else(|| Error::Protocol("inbox without inbox_identifier".into()))?;
        Ok((id, ident.to_string()))
    }

    /// Creates a Telegram inbox without auto-assignment or greeting (the server checks the
    /// bot token against its `telegram_api_url`, here loadgen's own Bot API).
    pub async fn create_telegram_inbox(&self, name: &str, bot_token: &str) -> Result<i64> {
        self.create_inbox_with(
            "creating the Telegram inbox (is the server's telegram_api_url loadgen's --bot-api-listen?)",
            json!({
                "name": name,
                "channel": {"type": "telegram", "bot_token": bot_token},
                "enable_auto_assignment": false,
                "greeting_enabled": false,
            }),
        )
        .await
    }

    /// Creates an inbox from a full request body; its id.
    pub async fn create_inbox_with(&self, what: &str, body: Value) -> Result<i64> {
        let v = self
            .call(
                what,
                self.app(reqwest::Method::POST, "/inboxes").json(&body),
            )
            .await?;
        v["id"]
            .as_i64()
            .ok_or_else(|| Error::Protocol("inbox without id".into()))
    }

    /// Creates a contact with an identity in the inbox, then reads its `pubsub_token`.
    pub async fn create_visitor(&self, setup: &Setup, n: usize) -> Result<Visitor> {
        let v = self
            .call(
                "creating a contact",
                self.app(reqwest::Method::POST, "/contacts").json(&json!({
                    "name": format!("loadgen visitor {n}"),
                    "inbox_id": setup.inbox_id,
                })),
            )
            .await?;
        let source_id = v["payload"]["contact_inbox"]["source_id"]
            .as_str()
            .ok_or_else(|| {
                Error::Protocol("contact created without payload.contact_inbox.source_id".into())
            })?
            .to_string();
        let c = self
            .call(
                "reading the visitor's contact (Client API)",
                self.http.get(format!(
                    "{}/public/api/v1/inboxes/{}/contacts/{}",
                    self.base, setup.inbox_identifier, source_id
                )),
            )
            .await?;
        let pubsub_token = c["pubsub_token"]
            .as_str()
            .ok_or_else(|| Error::Protocol("Client API contact without pubsub_token".into()))?
            .to_string();
        Ok(Visitor {
            source_id,
            pubsub_token,
            conversation_id: None,
        })
    }

    /// Opens a conversation for the visitor through the Client API; returns its display id.
    pub async fn create_conversation(&self, setup: &Setup, v: &Visitor) -> Result<i64> {
        let c = self
            .call(
                "creating a conversation (Client API)",
                self.http
                    .post(format!(
                        "{}/public/api/v1/inboxes/{}/contacts/{}/conversations",
                        self.base, setup.inbox_identifier, v.source_id
                    ))
                    .json(&json!({})),
            )
            .await?;
        c["id"]
            .as_i64()
            .ok_or_else(|| Error::Protocol("conversation without id".into()))
    }

    /// Sends a visitor's message over the Client API; `Ok` once the server answered 200
    /// (the message is durable), else the status and error code.
    pub async fn send_message(
        &self,
        inbox_identifier: &str,
        v: &Visitor,
        conversation_id: i64,
        content: &str,
        echo_id: &str,
    ) -> std::result::Result<(), String> {
        let resp = self
            .http
            .post(format!(
                "{}/public/api/v1/inboxes/{}/contacts/{}/conversations/{}/messages",
                self.base, inbox_identifier, v.source_id, conversation_id
            ))
            .json(&json!({"content": content, "echo_id": echo_id}))
            .send()
            .await
            .map_err(|e| {
                if e.is_timeout() {
                    "timeout".to_string()
                } else {
                    "request_failed".to_string()
                }
            })?;
        let status = resp.status();
        if status.is_success() {
            // Read the body so the connection goes back to the pool.
            let _ = resp.bytes().await;
            return Ok(());
        }
        let code = resp
            .json::<Value>()
            .await
            .ok()
            .and_then(|v| v["error"]["code"].as_str().map(str::to_string))
            .unwrap_or_default();
        Err(format!("http_{}{}", status.as_u16(), {
            if code.is_empty() {
                String::new()
            } else {
                format!("_{code}")
            }
        }))
    }
}

/// Loads the setup file, or makes a new setup (inbox), then creates whatever visitors and
/// conversations are missing for `needs`, saving the file again when anything was added.
pub async fn prepare(api: &Api, file: Option<&Path>, needs: &SetupNeeds) -> Result<Setup> {
    api.check_access().await?;
    let mut setup = match file.filter(|f| f.exists()) {
        Some(f) => {
            let text =
                std::fs::read_to_string(f).map_err(|e| Error::io(f.display().to_string(), e))?;
            let s: Setup = serde_json::from_str(&text)
                .map_err(|e| Error::usage(format!("--setup-file {}: {e}", f.display())))?;
            if s.base != api.base || s.account != api.account {
                return Err(Error::usage(format!(
                    "--setup-file {} was made for {} account {}, not {} account {}",
                    f.display(),
                    s.base,
                    s.account,
                    api.base,
                    api.account
                )));
            }
            s
        }
        None => {
            let name = format!("loadgen {}", std::process::id());
            let (inbox_id, inbox_identifier) = api.create_inbox(&name).await?;
            Setup {
                base: api.base.clone(),
                account: api.account,
                inbox_id,
                inbox_identifier,
                visitors: Vec::new(),
            }
        }
    };
    let want = needs.skip + needs.count;
    let have = setup.visitors.len();
    let mut changed = false;
    if have < want {
        let missing = want - have;
        eprintln!("setup: creating {missing} visitor contacts ({have} already in the setup)");
        let done = Arc::new(AtomicUsize::new(0));
        let s = &setup;
        let new: Vec<Visitor> = stream::iter(have..want)
            .map(|n| {
                let done = done.clone();
                async move {
                    let v = api.create_visitor(s, n).await;
                    progress(&done, missing, "visitors");
                    v
                }
            })
            .buffered(needs.concurrency)
            .try_collect()
            .await?;
        setup.visitors.extend(new);
        changed = true;
    }
    if needs.conversations {
        let todo: Vec<usize> = (needs.skip..want)
            .filter(|&i| setup.visitors[i].conversation_id.is_none())
            .collect();
        if !todo.is_empty() {
            eprintln!("setup: opening {} conversations", todo.len());
            let done = Arc::new(AtomicUsize::new(0));
            let total = todo.len();
            let s = &setup;
            let ids: Vec<(usize, i64)> = stream::iter(todo)
                .map(|i| {
                    let done = done.clone();
                    async move {
                        let id = api.create_conversation(s, &s.visitors[i]).await?;
                        progress(&done, total, "conversations");
                        Ok::<_, Error>((i, id))
                    }
                })
                .buffer_unordered(needs.concurrency)
                .try_collect()
                .await?;
            for (i, id) in ids {
                setup.visitors[i].conversation_id = Some(id);
            }
            changed = true;
        }
    }
    if changed && let Some(f) = file {
        save(f, &setup)?;
    }
    Ok(setup)
}

fn progress(done: &AtomicUsize, total: usize, what: &str) {
    let n = done.fetch_add(1, Ordering::Relaxed) + 1;
    if n.is_multiple_of(1000) || n == total {
        eprintln!("setup: {n}/{total} {what}");
    }
}

/// Writes the setup file through a temporary file, so an interrupted write never leaves
/// half a file that the next run would refuse.
fn save(path: &Path, setup: &Setup) -> Result<()> {
    let tmp = path.with_extension("tmp");
    let text = serde_json::to_string(setup)
        .map_err(|e| Error::Protocol(format!("serialising the setup: {e}")))?;
    std::fs::write(&tmp, text).map_err(|e| Error::io(tmp.display().to_string(), e))?;
    std::fs::rename(&tmp, path).map_err(|e| Error::io(path.display().to_string(), e))
}

/// A setup file with `n` visitors, each with a conversation, for tests against
/// [`crate::fake`].
/// One timed `GET` with an access token for the read benchmarks (`search`, `reports`): the
/// time to the whole body, and the body; a non-2xx answer is an error naming `path`.
pub async fn timed_get(
    http: &reqwest::Client,
    url: &str,
    token: &str,
    path: &str,
) -> Result<(Duration, bytes::Bytes)> {
    let started = std::time::Instant::now();
    let request = |e| Error::Request {
        what: url.to_string(),
        source: e,
    };
    let resp = http
        .get(url)
        .header("api_access_token", token)
        .send()
        .await
        .map_err(request)?;
    let status = resp.status();
    let body = resp.bytes().await.map_err(request)?;
    let took = started.elapsed();
    if !status.is_success() {
        return Err(Error::usage(format!(
            "GET {path}: {status} {}",
            String::from_utf8_lossy(&body)
        )));
    }
    Ok((took, body))
}

#[cfg(test)]
pub fn write_test_setup(path: &Path, base: &str, n: usize) {
    let s = Setup {
        base: base.to_string(),
        account: 1,
        inbox_id: 1,
        inbox_identifier: "inbox".into(),
        visitors: (0..n)
            .map(|i| Visitor {
                source_id: format!("s{i}"),
                pubsub_token: format!("p{i}"),
                conversation_id: Some(i as i64 + 1),
            })
            .collect(),
    };
    save(path, &s).unwrap();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn setup_file_round_trips() {
        let dir = std::env::temp_dir().join(format!("loadgen-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("setup.json");
        let s = Setup {
            base: "http://127.0.0.1:8080".into(),
            account: 1,
            inbox_id: 3,
            inbox_identifier: "abc".into(),
            visitors: vec![
                Visitor {
                    source_id: "s1".into(),
                    pubsub_token: "p1".into(),
                    conversation_id: Some(7),
                },
                Visitor {
                    source_id: "s2".into(),
                    pubsub_token: "p2".into(),
                    conversation_id: None,
                },
            ],
        };
        save(&path, &s).unwrap();
        let back: Setup = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        assert_eq!(back, s);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
