//! Reports (Chatwoot's v2 reports API, docs/reports.md): `/api/v2/accounts/{account_id}/reports`
//! (time series), `reports/summary`, the CSV files `reports/agents|inboxes|teams|labels|channels`
//! and `reports/conversation_traffic`, `summary_reports/{agent,team,inbox,label,channel}`,
//! `summary_reports/sources` (UTM and referrer conversions), and satisfaction answers
//! (`/api/v1/accounts/{account_id}/csat_survey_responses` and `/metrics`).
//! Administrators and supervisors only. Handlers parse the query string;
//! `parley_service::reports` checks and computes.

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::Response;
use parley_service::report_csv::CsvFile;
use parley_service::reports::{
    CsatMetrics, CsatResponse, Dimension, ReportParams, ReportSummaryView, ReportsStatusView,
    SeriesPoint, SourceRow, SummaryRow, TrafficView,
};
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::auth::Acct;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{Json, Query};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(series))
        .routes(routes!(summary))
        .routes(routes!(agents_csv))
        .routes(routes!(inboxes_csv))
        .routes(routes!(teams_csv))
        .routes(routes!(labels_csv))
        .routes(routes!(channels_csv))
        .routes(routes!(traffic))
        .routes(routes!(summary_agent))
        .routes(routes!(summary_team))
        .routes(routes!(summary_inbox))
        .routes(routes!(summary_label))
        .routes(routes!(summary_channel))
        .routes(routes!(summary_sources))
        .routes(routes!(csat_responses))
        .routes(routes!(csat_metrics))
        .routes(routes!(status))
}

/// Query parameters of a report.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)] // documents the parameters; parsed from the raw pairs
pub struct ReportQueryDoc {
    /// Start of the range, epoch seconds (inclusive). Required.
    since: String,
    /// End of the range, epoch seconds (exclusive), at most 400 days after `since`. Required.
    until: String,
    /// `account` (default), `agent`, `inbox`, `team`, `label` or `channel`.
    #[serde(rename = "type")]
    #[param(rename = "type")]
    kind: Option<String>,
    /// The agent, inbox, team or label id; the channel type (`Channel::WebWidget`) for `channel`.
    id: Option<String>,
    /// Series only: the metric (`conversations_count`, `avg_first_response_time`, …).
    metric: Option<String>,
    /// Series only: `hour`, `day` (default), `week` (from Sunday), `month` or `year`.
    group_by: Option<String>,
    /// `true`: durations count working hours only (also as `enable_business_hours`).
    business_hours: Option<String>,
    /// The caller's UTC offset in hours (-12 to 14) for days, weeks and the traffic map.
    timezone_offset: Option<String>,
    /// CSV files: `ru` or `en` headers (default: the account's language).
    lang: Option<String>,
}

/// Parsed query pairs: the report parameters, `format`, `lang`.
pub(crate) struct Parsed {
    pub(crate) params: ReportParams,
    pub(crate) format: Option<String>,
    pub(crate) lang: Option<String>,
}

pub(crate) fn parse(pairs: Vec<(String, String)>) -> Result<Parsed, ApiError> {
    if pairs.len() > 32 {
        return Err(ApiError::bad_request(
            "invalid_query",
            "too many query parameters",
        ));
    }
    let mut p = Parsed {
        params: ReportParams::default(),
        format: None,
        lang: None,
    };
    for (k, v) in pairs {
        if v.len() > 128 {
            return Err(ApiError::bad_request(
                "invalid_query",
                format!("{k} is too long"),
            ));
        }
        let r = &mut p.params;
        match k.as_str() {
            "metric" => r.metric = Some(v),
            "type" => r.kind = Some(v),
            "id" => r.id = Some(v),
            "since" => r.since = Some(v),
            "until" => r.until = Some(v),
            "group_by" => r.group_by = Some(v),
            "business_hours" | "enable_business_hours" => r.business_hours = Some(v),
            "timezone_offset" => r.timezone_offset = Some(v),
            "by" => r.by = Some(v),
            "page" => r.page = Some(v),
            "format" => p.format = Some(v),
            "lang" => p.lang = Some(v),
            _ => {}
        }
    }
    Ok(p)
}

/// A CSV file response, sent as it is (the body is bounded by the account's entities).
pub(crate) fn csv(file: CsvFile) -> Response {
    let mut res = Response::new(Body::from(file.body));
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/csv; charset=utf-8"),
    );
    h.insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_str(&format!("attachment; filename={}", file.filename))
            .unwrap_or(HeaderValue::from_static("attachment")),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}

/// A time series of one metric: one point per period, empty periods as 0 (Chatwoot's
/// `[{value, timestamp}]`; averages add `count`).
#[utoipa::path(get, path = "/api/v2/accounts/{account_id}/reports", tag = "Reports",
    security(("api_access_token" = [])), params(("account_id" = i64, Path), ReportQueryDoc),
    responses((status = 200, body = Vec<SeriesPoint>), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn series(
    State(st): State<AppState>,
    Acct(ctx): Acct,
    Query(pairs): Query<Vec<(String, String)>>,
) -> ApiResult<Json<Vec<SeriesPoint>>> {
    let p = parse(pairs)?;
    let r = st.svc.report_request(&ctx, &p.params).await?;
    Ok(Json(
        st.svc
            .report_series(&ctx, &r, p.params.metric.as_deref())
            .await?,
    ))
}

/// The figures of the range and of the period just before it (`previous`).
#[utoipa::path(get, path = "/api/v2/accounts/{account_id}/reports/summary", tag = "Reports",
    security(("api_access_token" = [])), params(("account_id" = i64, Path), ReportQueryDoc),
    responses((status = 200, body = ReportSummaryView), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn summary(
    State(st): State<AppState>,
    Acct(ctx): Acct,
    Query(pairs): Query<Vec<(String, String)>>,
) -> ApiResult<Json<ReportSummaryView>> {
    let p = parse(pairs)?;
    let r = st.svc.report_request(&ctx, &p.params).await?;
    Ok(Json(st.svc.report_summary(&ctx, &r).await?))
}

async fn breakdown_file(
    st: &AppState,
    ctx: &parley_service::AccountCtx,
    pairs: Vec<(String, String)>,
    dim: Dimension,
) -> ApiResult<Response> {
    let p = parse(pairs)?;
    let r = st.svc.report_request(ctx, &p.params).await?;
    Ok(csv(st
        .svc
        .report_breakdown_csv(ctx, &r, dim, p.lang.as_deref())
        .await?))
}

/// The agents' figures as CSV (UTF-8 with BOM).
#[utoipa::path(get, path = "/api/v2/accounts/{account_id}/reports/agents", tag = "Reports",
    security(("api_access_token" = [])), params(("account_id" = i64, Path), ReportQueryDoc),
    responses((status = 200, content_type = "text/csv", body = String),
        (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn agents_csv(
    State(st): State<AppState>,
    Acct(ctx): Acct,
    Query(pairs): Query<Vec<(String, String)>>,
) -> ApiResult<Response> {
    breakdown_file(&st, &ctx, pairs, Dimension::Agent).await
}

/// The inboxes' figures as CSV (UTF-8 with BOM).
#[utoipa::path(get, path = "/api/v2/accounts/{account_id}/reports/inboxes", tag = "Reports",
    security(("api_access_token" = [])), params(("account_id" = i64, Path), ReportQueryDoc),
    responses((status = 200, content_type = "text/csv", body = String),
        (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn inboxes_csv(
    State(st): State<AppState>,
    Acct(ctx): Acct,
    Query(pairs): Query<Vec<(String, String)>>,
) -> ApiResult<Response> {
    breakdown_file(&st, &ctx, pairs, Dimension::Inbox).await
}

/// The teams' figures as CSV (UTF-8 with BOM).
#[utoipa::path(get, path = "/api/v2/accounts/{account_id}/reports/teams", tag = "Reports",
    security(("api_access_token" = [])), params(("account_id" = i64, Path), ReportQueryDoc),
    responses((status = 200, content_type = "text/csv", body = String),
        (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn teams_csv(
    State(st): State<AppState>,
    Acct(ctx): Acct,
    Query(pairs): Query<Vec<(String, String)>>,
) -> ApiResult<Response> {
    breakdown_file(&st, &ctx, pairs, Dimension::Team).await
}

/// The labels' figures as CSV (UTF-8 with BOM).
#[utoipa::path(get, path = "/api/v2/accounts/{account_id}/reports/labels", tag = "Reports",
    security(("api_access_token" = [])), params(("account_id" = i64, Path), ReportQueryDoc),
    responses((status = 200, content_type = "text/csv", body = String),
        (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn labels_csv(
    State(st): State<AppState>,
    Acct(ctx): Acct,
    Query(pairs): Query<Vec<(String, String)>>,
) -> ApiResult<Response> {
    breakdown_file(&st, &ctx, pairs, Dimension::Label).await
}

/// The channels' figures as CSV (UTF-8 with BOM).
#[utoipa::path(get, path = "/api/v2/accounts/{account_id}/reports/channels", tag = "Reports",
    security(("api_access_token" = [])), params(("account_id" = i64, Path), ReportQueryDoc),
    responses((status = 200, content_type = "text/csv", body = String),
        (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn channels_csv(
    State(st): State<AppState>,
    Acct(ctx): Acct,
    Query(pairs): Query<Vec<(String, String)>>,
) -> ApiResult<Response> {
    breakdown_file(&st, &ctx, pairs, Dimension::Channel).await
}

/// Conversations started per weekday and hour: CSV as Chatwoot's (Monday first), or JSON
/// (`format=json`: seven rows from Sunday of 24 counts).
#[utoipa::path(get, path = "/api/v2/accounts/{account_id}/reports/conversation_traffic", tag = "Reports",
    security(("api_access_token" = [])),
    params(("account_id" = i64, Path), ReportQueryDoc,
        ("format" = Option<String>, Query, description = "`csv` (default) or `json`")),
    responses((status = 200, content_type = "text/csv", body = String),
        (status = 200, content_type = "application/json", body = TrafficView),
        (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn traffic(
    State(st): State<AppState>,
    Acct(ctx): Acct,
    Query(pairs): Query<Vec<(String, String)>>,
) -> ApiResult<Response> {
    use axum::response::IntoResponse;
    let p = parse(pairs)?;
    let r = st.svc.report_request(&ctx, &p.params).await?;
    match p.format.as_deref() {
        None | Some("") | Some("csv") => Ok(csv(st
            .svc
            .report_traffic_csv(&ctx, &r, p.lang.as_deref())
            .await?)),
        Some("json") => Ok(Json(st.svc.report_traffic(&ctx, &r).await?).into_response()),
        Some(_) => Err(ApiError::bad_request(
            "invalid_query",
            "format must be csv or json",
        )),
    }
}

async fn breakdown_json(
    st: &AppState,
    ctx: &parley_service::AccountCtx,
    pairs: Vec<(String, String)>,
    dim: Dimension,
) -> ApiResult<Json<Vec<SummaryRow>>> {
    let p = parse(pairs)?;
    let r = st.svc.report_request(ctx, &p.params).await?;
    Ok(Json(st.svc.report_breakdown(ctx, &r, dim).await?))
}

/// Figures per agent (every agent of the account; `conversations_count` = conversations
/// they received).
#[utoipa::path(get, path = "/api/v2/accounts/{account_id}/summary_reports/agent", tag = "Reports",
    security(("api_access_token" = [])), params(("account_id" = i64, Path), ReportQueryDoc),
    responses((status = 200, body = Vec<SummaryRow>), (status = 403, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
async fn summary_agent(
    State(st): State<AppState>,
    Acct(ctx): Acct,
    Query(pairs): Query<Vec<(String, String)>>,
) -> ApiResult<Json<Vec<SummaryRow>>> {
    breakdown_json(&st, &ctx, pairs, Dimension::Agent).await
}

/// Figures per team (department).
#[utoipa::path(get, path = "/api/v2/accounts/{account_id}/summary_reports/team", tag = "Reports",
    security(("api_access_token" = [])), params(("account_id" = i64, Path), ReportQueryDoc),
    responses((status = 200, body = Vec<SummaryRow>), (status = 403, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
async fn summary_team(
    State(st): State<AppState>,
    Acct(ctx): Acct,
    Query(pairs): Query<Vec<(String, String)>>,
) -> ApiResult<Json<Vec<SummaryRow>>> {
    breakdown_json(&st, &ctx, pairs, Dimension::Team).await
}

/// Figures per inbox.
#[utoipa::path(get, path = "/api/v2/accounts/{account_id}/summary_reports/inbox", tag = "Reports",
    security(("api_access_token" = [])), params(("account_id" = i64, Path), ReportQueryDoc),
    responses((status = 200, body = Vec<SummaryRow>), (status = 403, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
async fn summary_inbox(
    State(st): State<AppState>,
    Acct(ctx): Acct,
    Query(pairs): Query<Vec<(String, String)>>,
) -> ApiResult<Json<Vec<SummaryRow>>> {
    breakdown_json(&st, &ctx, pairs, Dimension::Inbox).await
}

/// Figures per label (conversations that carry the label now; no message counts).
#[utoipa::path(get, path = "/api/v2/accounts/{account_id}/summary_reports/label", tag = "Reports",
    security(("api_access_token" = [])), params(("account_id" = i64, Path), ReportQueryDoc),
    responses((status = 200, body = Vec<SummaryRow>), (status = 403, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
async fn summary_label(
    State(st): State<AppState>,
    Acct(ctx): Acct,
    Query(pairs): Query<Vec<(String, String)>>,
) -> ApiResult<Json<Vec<SummaryRow>>> {
    breakdown_json(&st, &ctx, pairs, Dimension::Label).await
}

/// Figures per channel type (`name`: `Channel::WebWidget`, `Channel::Telegram`, …).
#[utoipa::path(get, path = "/api/v2/accounts/{account_id}/summary_reports/channel", tag = "Reports",
    security(("api_access_token" = [])), params(("account_id" = i64, Path), ReportQueryDoc),
    responses((status = 200, body = Vec<SummaryRow>), (status = 403, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
async fn summary_channel(
    State(st): State<AppState>,
    Acct(ctx): Acct,
    Query(pairs): Query<Vec<(String, String)>>,
) -> ApiResult<Json<Vec<SummaryRow>>> {
    breakdown_json(&st, &ctx, pairs, Dimension::Channel).await
}

/// Conversations started and conversions per visitor source: `by` = `source` (default),
/// `medium`, `campaign` (UTM tags) or `referrer` (the domain the visitor came from).
#[utoipa::path(get, path = "/api/v2/accounts/{account_id}/summary_reports/sources", tag = "Reports",
    security(("api_access_token" = [])),
    params(("account_id" = i64, Path), ReportQueryDoc,
        ("by" = Option<String>, Query, description = "`source`, `medium`, `campaign` or `referrer`")),
    responses((status = 200, body = Vec<SourceRow>), (status = 403, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
async fn summary_sources(
    State(st): State<AppState>,
    Acct(ctx): Acct,
    Query(pairs): Query<Vec<(String, String)>>,
) -> ApiResult<Json<Vec<SourceRow>>> {
    let p = parse(pairs)?;
    let r = st.svc.report_request(&ctx, &p.params).await?;
    Ok(Json(
        st.svc
            .report_sources(&ctx, &r, p.params.by.as_deref())
            .await?,
    ))
}

/// Satisfaction answers with their comments, newest first, 25 per `page`.
#[utoipa::path(get, path = "/api/v1/accounts/{account_id}/csat_survey_responses", tag = "Reports",
    security(("api_access_token" = [])),
    params(("account_id" = i64, Path), ReportQueryDoc,
        ("page" = Option<i64>, Query, description = "1 to 400")),
    responses((status = 200, body = Vec<CsatResponse>), (status = 403, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
async fn csat_responses(
    State(st): State<AppState>,
    Acct(ctx): Acct,
    Query(pairs): Query<Vec<(String, String)>>,
) -> ApiResult<Json<Vec<CsatResponse>>> {
    let p = parse(pairs)?;
    let r = st.svc.report_request(&ctx, &p.params).await?;
    Ok(Json(
        st.svc
            .report_csat_responses(&ctx, &r, p.params.page.as_deref())
            .await?,
    ))
}

/// Satisfaction figures: answers, average, count per score.
#[utoipa::path(get, path = "/api/v1/accounts/{account_id}/csat_survey_responses/metrics", tag = "Reports",
    security(("api_access_token" = [])), params(("account_id" = i64, Path), ReportQueryDoc),
    responses((status = 200, body = CsatMetrics), (status = 403, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
async fn csat_metrics(
    State(st): State<AppState>,
    Acct(ctx): Acct,
    Query(pairs): Query<Vec<(String, String)>>,
) -> ApiResult<Json<CsatMetrics>> {
    let p = parse(pairs)?;
    let r = st.svc.report_request(&ctx, &p.params).await?;
    Ok(Json(st.svc.report_csat_metrics(&ctx, &r).await?))
}

/// Whether reports cover the conversations stored before reports existed yet: the
/// background backfill's progress (Parley's own; Chatwoot has no such route).
#[utoipa::path(get, path = "/api/v2/accounts/{account_id}/reports/status", tag = "Reports",
    security(("api_access_token" = [])), params(("account_id" = i64, Path)),
    responses((status = 200, body = ReportsStatusView), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
async fn status(State(st): State<AppState>, Acct(ctx): Acct) -> ApiResult<Json<ReportsStatusView>> {
    Ok(Json(st.svc.reports_status(&ctx).await?))
}
