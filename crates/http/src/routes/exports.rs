//! Exports and live metrics (docs/reports.md): the conversations-with-messages CSV
//! (`/api/v2/accounts/{account_id}/exports/conversations`, streamed, its row count first in
//! `X-Export-Rows`), visitor sources as CSV (`reports/sources`), Chatwoot's live
//! conversation metrics (`reports/conversations`), and a conversation's transcript as a
//! file or by e-mail (`/api/v1/accounts/{account_id}/conversations/{id}/transcript`).
//! Handlers parse; `parley_service::{exports, live_metrics, transcripts}` check and compute.

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::Response;
use parley_service::exports::ExportParams;
use parley_service::live_metrics::LiveMetricsView;
use parley_service::report_csv::CsvFile;
use serde::Deserialize;
use serde_json::{Value, json};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::auth::Acct;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{Json, Path, Query};
use crate::routes::reports::{ReportQueryDoc, csv, parse};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(export_conversations))
        .routes(routes!(sources_csv))
        .routes(routes!(live_conversations))
        .routes(routes!(transcript_file, transcript_mail))
}

/// The header that announces how many data rows an export's body holds.
pub const EXPORT_ROWS_HEADER: &str = "x-export-rows";

/// Query parameters of the conversations export.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)] // documents the parameters; parsed from the raw pairs
pub struct ExportQueryDoc {
    /// Conversations begun from, epoch seconds (inclusive). Required.
    since: String,
    /// Conversations begun before, epoch seconds (exclusive), at most 400 days after `since`.
    until: String,
    inbox_id: Option<i64>,
    team_id: Option<i64>,
    assignee_id: Option<i64>,
    /// `open`, `pending`, `resolved`, `snoozed` or `all` (default).
    status: Option<String>,
    /// A label's title.
    label: Option<String>,
    /// `ru` or `en` headers (default: the account's language).
    lang: Option<String>,
}

fn text(v: String, field: &str) -> Result<String, ApiError> {
    if v.len() > 256 {
        return Err(ApiError::bad_request(
            "invalid_query",
            format!("{field} is too long"),
        ));
    }
    Ok(v)
}

fn export_params(pairs: Vec<(String, String)>) -> Result<ExportParams, ApiError> {
    if pairs.len() > 32 {
        return Err(ApiError::bad_request(
            "invalid_query",
            "too many query parameters",
        ));
    }
    let mut p = ExportParams::default();
    for (k, v) in pairs {
        let v = text(v, &k)?;
        match k.as_str() {
            "since" => p.since = Some(v),
            "until" => p.until = Some(v),
            "inbox_id" => p.inbox_id = Some(v),
            "team_id" => p.team_id = Some(v),
            "assignee_id" => p.assignee_id = Some(v),
            "status" => p.status = Some(v),
            "label" | "labels" => p.label = Some(v),
            "lang" => p.lang = Some(v),
            _ => {}
        }
    }
    Ok(p)
}

fn attachment(res: &mut Response, content_type: &'static str, filename: &str) {
    let h = res.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    h.insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_str(&format!("attachment; filename={filename}"))
            .unwrap_or(HeaderValue::from_static("attachment")),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
}

/// Conversations begun in a period with their messages, as CSV (UTF-8 with BOM; one row per
/// message, one for a conversation without any), streamed. `X-Export-Rows` says how many
/// data rows follow the header row (the export is a snapshot of when it began), so a client
/// can show progress. Administrators and supervisors; at most 2 exports of an account at
/// once (409 beyond).
#[utoipa::path(get, path = "/api/v2/accounts/{account_id}/exports/conversations", tag = "Reports",
    security(("api_access_token" = [])), params(("account_id" = i64, Path), ExportQueryDoc),
    responses((status = 200, content_type = "text/csv", body = String,
            headers(("X-Export-Rows" = i64, description = "data rows in the body"),
                ("X-Export-Conversations" = i64, description = "conversations in the body"))),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn export_conversations(
    State(st): State<AppState>,
    Acct(ctx): Acct,
    Query(pairs): Query<Vec<(String, String)>>,
) -> ApiResult<Response> {
    let p = export_params(pairs)?;
    let e = st.svc.export_conversations(&ctx, &p).await?;
    let mut res = Response::new(Body::from_stream(e.body));
    attachment(&mut res, "text/csv; charset=utf-8", &e.filename);
    let h = res.headers_mut();
    h.insert(EXPORT_ROWS_HEADER, HeaderValue::from(e.rows));
    h.insert("x-export-conversations", HeaderValue::from(e.conversations));
    h.insert(
        header::ACCESS_CONTROL_EXPOSE_HEADERS,
        HeaderValue::from_static("x-export-rows, x-export-conversations, content-disposition"),
    );
    Ok(res)
}

/// Visitor sources as CSV (UTF-8 with BOM): conversations started and conversions per UTM
/// source (`by`: `source`, `medium`, `campaign` or `referrer`), as `summary_reports/sources`.
#[utoipa::path(get, path = "/api/v2/accounts/{account_id}/reports/sources", tag = "Reports",
    security(("api_access_token" = [])),
    params(("account_id" = i64, Path), ReportQueryDoc,
        ("by" = Option<String>, Query, description = "`source`, `medium`, `campaign` or `referrer`")),
    responses((status = 200, content_type = "text/csv", body = String),
        (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn sources_csv(
    State(st): State<AppState>,
    Acct(ctx): Acct,
    Query(pairs): Query<Vec<(String, String)>>,
) -> ApiResult<Response> {
    let p = parse(pairs)?;
    let r = st.svc.report_request(&ctx, &p.params).await?;
    let file: CsvFile = st
        .svc
        .report_sources_csv(&ctx, &r, p.params.by.as_deref(), p.lang.as_deref())
        .await?;
    Ok(csv(file))
}

/// Conversations now (Chatwoot's live metrics): `{open, unattended, unassigned, pending}`,
/// or with `type=agent` each agent's `{id, name, email, thumbnail, availability,
/// metric: {open, unattended}}`, most open first, 25 per `page`.
#[utoipa::path(get, path = "/api/v2/accounts/{account_id}/reports/conversations", tag = "Reports",
    security(("api_access_token" = [])),
    params(("account_id" = i64, Path),
        ("type" = Option<String>, Query, description = "`account` (default) or `agent`"),
        ("page" = Option<i64>, Query, description = "agents' page, from 1")),
    responses((status = 200, body = LiveMetricsView), (status = 403, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
async fn live_conversations(
    State(st): State<AppState>,
    Acct(ctx): Acct,
    Query(pairs): Query<Vec<(String, String)>>,
) -> ApiResult<Json<LiveMetricsView>> {
    let p = parse(pairs)?;
    Ok(Json(
        st.svc
            .live_metrics(&ctx, p.params.kind.as_deref(), p.params.page.as_deref())
            .await?,
    ))
}

/// The conversation's transcript as a text file (what the customer and the team wrote,
/// without private notes; headings in the account's language).
#[utoipa::path(get, path = "/api/v1/accounts/{account_id}/conversations/{conversation_id}/transcript", tag = "Conversations",
    security(("api_access_token" = [])), params(("account_id" = i64, Path), ("conversation_id" = i64, Path)),
    responses((status = 200, content_type = "text/plain", body = String),
        (status = 404, body = ErrorBody)))]
async fn transcript_file(
    State(st): State<AppState>,
    Acct(ctx): Acct,
    Path((_account, id)): Path<(i64, i64)>,
) -> ApiResult<Response> {
    let t = st.svc.transcript(&ctx, id).await?;
    let mut res = Response::new(Body::from(t.text));
    attachment(&mut res, "text/plain; charset=utf-8", &t.filename);
    Ok(res)
}

/// Where to send a transcript.
#[derive(Deserialize, ToSchema)]
pub struct TranscriptRequest {
    /// The recipient's e-mail address.
    pub email: Option<String>,
}

/// E-mails the conversation's transcript to `email` (queued and retried while the mail
/// server is unreachable). 422 when the server has no outgoing mail (`smtp_url`).
#[utoipa::path(post, path = "/api/v1/accounts/{account_id}/conversations/{conversation_id}/transcript", tag = "Conversations",
    security(("api_access_token" = [])), params(("account_id" = i64, Path), ("conversation_id" = i64, Path)),
    request_body = TranscriptRequest,
    responses((status = 200, description = "queued: `{\"email\": …}`"),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody),
        (status = 429, body = ErrorBody)))]
async fn transcript_mail(
    State(st): State<AppState>,
    Acct(ctx): Acct,
    Path((_account, id)): Path<(i64, i64)>,
    Json(b): Json<TranscriptRequest>,
) -> ApiResult<Json<Value>> {
    let email = b.email.unwrap_or_default();
    st.svc.send_transcript(&ctx, id, &email).await?;
    Ok(Json(json!({ "email": email.trim() })))
}
