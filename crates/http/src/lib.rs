//! The HTTP face of Parley: the Chatwoot-compatible REST API, the public Client API,
//! operations endpoints and the OpenAPI document, on axum.
//!
//! Handlers only translate between HTTP and the use cases in `parley-service`; they never
//! talk to SQL.

mod assets;
pub mod auth;
pub mod body;
mod console;
mod docs;
pub mod error;
mod error_responses;
pub mod extract;
pub mod ids;
pub mod input;
mod keepalive;
pub mod listen;
pub mod ops;
pub mod public_auth;
pub mod routes;
mod widget;
pub mod ws;
pub mod ws_slots;

use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request};
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use metrics_exporter_prometheus::PrometheusHandle;
use parley_service::Services;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::trace::TraceLayer;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;

use crate::error::ApiError;

/// HTTP-level settings.
#[derive(Debug, Clone)]
pub struct HttpConfig {
    /// Largest accepted JSON body, in bytes.
    pub json_body_limit: usize,
    /// Mark cookies `Secure` (when served over HTTPS).
    pub secure_cookies: bool,
    /// Take the client address from the last `X-Forwarded-For` hop (behind a reverse
    /// proxy) instead of the TCP peer, for per-client rate limits.
    pub trust_proxy: bool,
    /// Interval of WebSocket pings; a socket silent for two intervals is closed.
    pub ws_heartbeat: std::time::Duration,
}

impl Default for HttpConfig {
    fn default() -> Self {
        Self {
            json_body_limit: 1024 * 1024,
            secure_cookies: false,
            trust_proxy: false,
            ws_heartbeat: std::time::Duration::from_secs(25),
        }
    }
}

/// Shared state of every handler: one allocation per node, so a request or a socket holds
/// a pointer to it rather than its own copy (an idle WebSocket's task keeps its state for
/// hours; see docs/benchmarks.md on idle socket memory).
#[derive(Clone)]
pub struct AppState(Arc<NodeState>);

impl AppState {
    pub fn new(node: NodeState) -> Self {
        Self(Arc::new(node))
    }
}

impl std::ops::Deref for AppState {
    type Target = NodeState;

    fn deref(&self) -> &NodeState {
        &self.0
    }
}

/// What [`AppState`] points to.
pub struct NodeState {
    pub svc: Services,
    pub cfg: Arc<HttpConfig>,
    pub metrics: Option<PrometheusHandle>,
    /// Turns true when the server is stopping: WebSockets close with 1001.
    pub shutdown: tokio::sync::watch::Receiver<bool>,
    /// Open WebSockets per credential and per address, within their caps.
    pub ws_slots: Arc<ws_slots::SocketSlots>,
    /// The node's one heartbeat clock for all WebSockets.
    pub heartbeat: ws::Heartbeat,
}

/// The OpenAPI document's frame; paths are added by the routers that serve them.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "Parley API",
        description = "Parley's REST API. Paths, verbs, the `api_access_token` header and JSON field names follow Chatwoot's API wherever Parley has the same feature.",
    ),
    modifiers(&SecurityAddon),
    components(schemas(error::ErrorBody, error::ErrorDetail))
)]
pub struct ApiDoc;

struct SecurityAddon;

impl utoipa::Modify for SecurityAddon {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{ApiKey, ApiKeyValue, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "api_access_token",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::new("api_access_token"))),
        );
    }
}

/// The OpenAPI document and the API router, built together so the document lists
/// exactly what is served.
pub fn api_parts() -> (Router<AppState>, utoipa::openapi::OpenApi) {
    let (router, mut doc) = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(routes::router())
        .split_for_parts();
    // After the merge: `#[openapi(modifiers)]` run before any route is added.
    utoipa::Modify::modify(&error_responses::ErrorResponses, &mut doc);
    (router, doc)
}

/// The whole application.
pub fn app(state: AppState) -> Router {
    let (api, openapi) = api_parts();
    let body_limit = state.cfg.json_body_limit;
    // Every router whose handlers may hand a path or query value to the store refuses a
    // NUL in the URL (see `input`); the console's and the docs' static files answer 404 for
    // a name that does not exist, NUL or not.
    let refuse_nul = || middleware::from_fn(input::refuse_nul_in_uri);
    let routed = Router::new()
        .merge(api.layer(refuse_nul()))
        .merge(ops::router().layer(refuse_nul()))
        .merge(ws::router().layer(refuse_nul()))
        .merge(widget::router().layer(refuse_nul()))
        .merge(docs::router(&openapi))
        .merge(console::router())
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(middleware::from_fn(detached))
        .layer(middleware::from_fn(keepalive::close_if_body_unread))
        .layer(DefaultBodyLimit::max(body_limit))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            note_storage_failures,
        ))
        .layer(middleware::from_fn(track_metrics))
        .layer(TraceLayer::new_for_http().make_span_with(|req: &Request| {
            tracing::info_span!("request", method = %req.method(), path = %req.uri().path())
        }))
        .layer(CatchPanicLayer::custom(|_| {
            ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", "internal server error").into_response()
        }))
        .with_state(state);
    // The path is rewritten before the router matches it (a layer on the router itself
    // would run after matching), so `…/inboxes/` reaches the `…/inboxes` route.
    Router::new().fallback_service(
        tower::ServiceBuilder::new()
            .map_request(keepalive::trim_trailing_slash::<axum::body::Body>)
            .service(routed),
    )
}

async fn not_found() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such route")
}

async fn method_not_allowed() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "this method is not allowed on this path",
    )
}

/// Runs the handler in a task of its own, so a client that disconnects mid-request cancels
/// only the wait for the answer, never the handler: a write it committed is always followed
/// by its events, counters and hooks (issue 12, finding 13). A panic in the handler is a
/// 500, as before.
async fn detached(req: Request, next: Next) -> Response {
    use tracing::Instrument;
    match tokio::spawn(next.run(req).in_current_span()).await {
        Ok(res) => res,
        Err(e) => {
            tracing::error!(error = %e, "request handler failed");
            ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "internal server error",
            )
            .into_response()
        }
    }
}

/// Records a request's `503 storage_unavailable` in the store's write state, so `/healthz`,
/// the `parley_store_writable` gauge and the error log see a full disk or a lost database
/// whatever path met it (the message writer records its own failures).
async fn note_storage_failures(
    axum::extract::State(st): axum::extract::State<AppState>,
    req: Request,
    next: Next,
) -> Response {
    let res = next.run(req).await;
    if let Some(f) = res.extensions().get::<error::StorageFailure>() {
        st.svc.note_store_unavailable(f.cause, &f.detail);
    }
    res
}

/// Counts requests and their latency by route template (not raw path, to bound cardinality).
async fn track_metrics(req: Request, next: Next) -> Response {
    let start = Instant::now();
    let path = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "unmatched".to_owned());
    let method = req.method().to_string();
    let res = next.run(req).await;
    let status = res.status().as_u16().to_string();
    let labels = [("method", method), ("path", path), ("status", status)];
    metrics::counter!("parley_http_requests_total", &labels).increment(1);
    metrics::histogram!("parley_http_request_duration_seconds", &labels)
        .record(start.elapsed().as_secs_f64());
    res
}
