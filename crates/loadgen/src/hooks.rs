//! What `loadgen messages` adds to the server besides the messages themselves: a webhook
//! receiver (`--webhook`), to measure fan-out of the durable message rate to an outside
//! system, and automation rules (`--rules N`), to measure the message path with rules
//! active against the same run without them.
//!
//! The receiver is loadgen's own HTTP server on a loopback port. The server delivers
//! `message_created` bodies there (its agent view, which carries the sender's `echo_id`),
//! so each delivery is matched to the message loadgen scheduled, as agent deliveries are.
//! What the server must allow: private webhook targets (a loopback `listen` allows them).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use axum::extract::State;
use axum::routing::post;
use serde_json::{Value, json};

use crate::api::Api;
use crate::error::{Error, Result};

/// Called with each delivered message's `echo_id` and when it arrived.
pub type OnDelivery = Arc<dyn Fn(&str, Instant) + Send + Sync>;

/// A running receiver and the webhook that points at it.
pub struct Receiver {
    pub webhook_id: i64,
}

async fn receive(State(on): State<OnDelivery>, body: axum::body::Bytes) -> &'static str {
    let now = Instant::now();
    if let Ok(v) = serde_json::from_slice::<Value>(&body)
        && v["event"] == "message_created"
        && let Some(echo) = v["echo_id"].as_str()
    {
        on(echo, now);
    }
    "ok"
}

/// Starts the receiver on `listen` and subscribes a webhook of the account to
/// `message_created` there.
pub async fn start_receiver(api: &Api, listen: SocketAddr, on: OnDelivery) -> Result<Receiver> {
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|e| Error::usage(format!("--webhook-listen {listen}: {e}")))?;
    let addr = listener
        .local_addr()
        .map_err(|e| Error::usage(format!("--webhook-listen {listen}: {e}")))?;
    let app = Router::new().route("/hook", post(receive)).with_state(on);
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    let v = api
        .post_json(
            "creating the webhook (does the server allow private webhook targets?)",
            "/webhooks",
            json!({"webhook": {"url": format!("http://{addr}/hook"), "name": "loadgen",
                   "subscriptions": ["message_created"]}}),
        )
        .await?;
    let webhook_id = v["payload"]["webhook"]["id"]
        .as_i64()
        .ok_or_else(|| Error::Protocol(format!("webhook without id: {v}")))?;
    Ok(Receiver { webhook_id })
}

/// Creates `n` active rules on `message_created` of the kind a shop has: a keyword in the
/// text plus a second condition, with a label action. The run's messages never contain the
/// keywords, so the rules are evaluated on every message and act on none: the cost
/// measured is the engine's, not its actions'. Returns their ids.
pub async fn create_rules(api: &Api, n: u64) -> Result<Vec<i64>> {
    let mut ids = Vec::new();
    for k in 0..n {
        let v = api
            .post_json(
                "creating an automation rule",
                "/automation_rules",
                json!({
                    "name": format!("loadgen rule {k}"),
                    "event_name": "message_created",
                    "conditions": [
                        {"attribute_key": "content", "filter_operator": "contains",
                         "values": [format!("оплата{k}")], "query_operator": "and"},
                        {"attribute_key": "message_type", "filter_operator": "equal_to",
                         "values": ["incoming"]}
                    ],
                    "actions": [{"action_name": "add_label", "action_params": [format!("lg-{k}")]}]
                }),
            )
            .await?;
        let id = v["id"]
            .as_i64()
            .or_else(|| v["payload"]["id"].as_i64())
            .ok_or_else(|| Error::Protocol(format!("rule without id: {v}")))?;
        ids.push(id);
    }
    Ok(ids)
}

/// Removes what [`create_rules`] and [`start_receiver`] added (best effort: the run's
/// figures stand either way).
pub async fn clean_up(api: &Api, rules: &[i64], receiver: Option<&Receiver>) {
    for id in rules {
        let _ = api.delete(&format!("/automation_rules/{id}")).await;
    }
    if let Some(r) = receiver {
        let _ = api.delete(&format!("/webhooks/{}", r.webhook_id)).await;
    }
}
