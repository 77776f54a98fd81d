//! `/api/v1/accounts/{account_id}/conversations/{conversation_id}/messages…`: list, create
//! (JSON or multipart with `attachments[]`), edit and delete messages; and the
//! authenticated attachment download.
//!
//! Message creation reads its own body: JSON up to the API's body limit, or multipart
//! with files up to `max_upload_bytes` each. A multipart body whose declared length is over
//! what a message may carry, or over the account's remaining storage quota, is refused
//! before any of it is read; otherwise each file streams to a staged file on disk (never
//! whole in memory) and is refused (413) as soon as it crosses the limit, before anything
//! is stored.

use axum::body::Body;
use axum::extract::{FromRequest, Multipart, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::{Bytes, BytesMut};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value, json};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::auth::Acct;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{Json, Path, Query, json_rejection};
use parley_service::messages::AttachmentRow;
use parley_service::messages::{CreateMessage, MAX_ATTACHMENTS, MessageView, MessagesPage, Upload};

pub fn routes() -> OpenApiRouter<AppState> {
    // Creation enforces its own limits (JSON and multipart differ), so the app-wide
    // body limit is lifted on this path only; GET has no body.
    let create_routes = OpenApiRouter::new()
        .routes(routes!(list, create))
        .layer(axum::extract::DefaultBodyLimit::disable());
    OpenApiRouter::new()
        .merge(create_routes)
        .routes(routes!(update, destroy))
        .routes(routes!(retry))
        .routes(routes!(download))
}

/// Text fields of a multipart form are bounded too: enough for the longest allowed
/// message in 4-byte characters.
const MAX_TEXT_FIELD_BYTES: usize = 1024 * 1024;
/// All text fields of one form together.
const MAX_TEXT_TOTAL_BYTES: usize = 2 * 1024 * 1024;
/// All files of one message together may use this many times `max_upload_bytes`: one
/// request must not fill the disk with 15 full-size files.
const UPLOAD_TOTAL_FACTOR: usize = 2;
/// Multipart framing (boundaries, part headers) allowed on top of the files and fields.
const MULTIPART_OVERHEAD: usize = 64 * 1024;

/// The largest multipart body a message may have.
fn max_multipart_bytes(st: &AppState) -> usize {
    st.svc
        .config
        .max_upload_bytes
        .saturating_mul(UPLOAD_TOTAL_FACTOR)
        .saturating_add(MAX_TEXT_TOTAL_BYTES)
        .saturating_add(MULTIPART_OVERHEAD)
}

fn content_type_of(req: &Request) -> String {
    req.headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase()
}

/// A message body: the text fields as `T`, and the uploaded files.
pub(crate) struct MessageBody<T> {
    pub fields: T,
    pub uploads: Vec<Upload>,
}

/// Reads a message-creating body for `account_id`, JSON or multipart (`attachments[]` file
/// parts plus the same text fields; `content_attributes` as JSON text, `private` as
/// true/false).
pub(crate) async fn read_message_body<T: DeserializeOwned>(
    st: &AppState,
    req: Request,
    account_id: i64,
) -> Result<MessageBody<T>, ApiError> {
    let ct = content_type_of(&req);
    if ct.starts_with("multipart/form-data") {
        // Judged on the declared length before a byte of the body is read: nothing is
        // drained, the connection closes after the answer.
        if let Some(declared) = crate::body::declared_length(req.headers()) {
            if declared > max_multipart_bytes(st) {
                return Err(ApiError::too_large("request body").closing());
            }
            st.svc
                .check_storage_quota(account_id, declared as u64)
                .await
                .map_err(|e| ApiError::from(e).closing())?;
        }
        return read_multipart(st, req).await;
    }
    if !(ct.starts_with("application/json") || ct.contains("+json")) {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "expected Content-Type: application/json or multipart/form-data",
        ));
    }
    let (parts, body) = req.into_parts();
    // A body over the limit is drained and refused (see `crate::body`).
    let bytes = crate::body::read_limited(&parts.headers, body, st.cfg.json_body_limit).await?;
    let axum::Json(fields) = axum::Json::<T>::from_bytes(&bytes).map_err(json_rejection)?;
    crate::input::check_json(&bytes)?;
    Ok(MessageBody {
        fields,
        uploads: Vec::new(),
    })
}

async fn read_multipart<T: DeserializeOwned>(
    st: &AppState,
    req: Request,
) -> Result<MessageBody<T>, ApiError> {
    let mut mp = Multipart::from_request(req, st)
        .await
        .map_err(|e| ApiError::bad_request("malformed_multipart", e.body_text()))?;
    match collect_multipart::<T>(st, &mut mp).await {
        // Refused part-way: read the rest so the answer reaches the client instead of a
        // connection reset, and close the connection if the rest could not be read.
        Err(e) if crate::body::drain_multipart(&mut mp).await => Err(e),
        Err(e) => Err(e.closing()),
        ok => ok,
    }
}

/// A multipart parsing error: 413 when the parser hit a size limit, else 400.
fn bad(e: axum::extract::multipart::MultipartError) -> ApiError {
    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::too_large("request body")
    } else {
        ApiError::bad_request(
            "malformed_multipart",
            format!("malformed multipart body: {e}"),
        )
    }
}

/// The fields and files of a multipart message body, within the limits.
async fn collect_multipart<T: DeserializeOwned>(
    st: &AppState,
    mp: &mut Multipart,
) -> Result<MessageBody<T>, ApiError> {
    let max_file = st.svc.config.max_upload_bytes;
    let max_total_files = max_file.saturating_mul(UPLOAD_TOTAL_FACTOR);
    let (mut file_bytes, mut text_bytes) = (0usize, 0usize);
    let mut fields = Map::new();
    let mut uploads = Vec::new();
    while let Some(mut field) = mp.next_field().await.map_err(bad)? {
        let name = field.name().unwrap_or("").to_string();
        let is_file = field.file_name().is_some()
            || name == "attachments[]"
            || name == "attachments"
            || name == "message[attachments][]";
        let limit = if is_file {
            max_file
        } else {
            MAX_TEXT_FIELD_BYTES
        };
        if is_file && uploads.len() >= MAX_ATTACHMENTS {
            return Err(ApiError::unprocessable(
                "attachments",
                format!("at most {MAX_ATTACHMENTS} files per message"),
            ));
        }
        let file_name = field.file_name().map(str::to_string);
        let declared_type = field.content_type().map(str::to_string);
        if is_file {
            // Streamed to a staged file: memory holds one chunk at a time.
            let mut staging = st.svc.stage_upload().await?;
            while let Some(chunk) = field.chunk().await.map_err(bad)? {
                file_bytes += chunk.len();
                if staging.len() as usize + chunk.len() > limit {
                    return Err(ApiError::too_large("attachment"));
                }
                if file_bytes > max_total_files {
                    return Err(ApiError::too_large("the message's attachments"));
                }
                staging.write(&chunk).await?;
            }
            // A form's empty file input arrives as a nameless, empty part: no attachment.
            if staging.is_empty() && file_name.as_deref().is_none_or(str::is_empty) {
                continue;
            }
            let file_name = file_name.unwrap_or_else(|| "file".into());
            crate::input::check_text("file name", &file_name)?;
            let content_type = match declared_type.as_deref() {
                Some(t) if !t.is_empty() && t != "application/octet-stream" => t.to_string(),
                _ => mime_guess::from_path(&file_name)
                    .first_or_octet_stream()
                    .essence_str()
                    .to_string(),
            };
            uploads.push(Upload {
                file_name,
                content_type,
                data: staging.finish().await?,
            });
            continue;
        }
        let mut buf = BytesMut::new();
        while let Some(chunk) = field.chunk().await.map_err(bad)? {
            if buf.len() + chunk.len() > limit {
                return Err(ApiError::too_large("form field"));
            }
            text_bytes += chunk.len();
            if text_bytes > MAX_TEXT_TOTAL_BYTES {
                return Err(ApiError::too_large("the message's attachments"));
            }
            buf.extend_from_slice(&chunk);
        }
        let text = String::from_utf8(buf.to_vec())
            .map_err(|_| ApiError::unprocessable(&name, "must be UTF-8 text"))?;
        crate::input::check_text(&name, &text)?;
        let key = name
            .strip_prefix("message[")
            .and_then(|s| s.strip_suffix(']'))
            .unwrap_or(&name)
            .to_string();
        let value = match key.as_str() {
            "private" => match text.as_str() {
                "true" | "1" | "on" => Value::Bool(true),
                "false" | "0" | "off" | "" => Value::Bool(false),
                _ => return Err(ApiError::unprocessable("private", "must be true or false")),
            },
            "content_attributes" => {
                crate::input::check_json(text.as_bytes())
                    .map_err(|_| ApiError::invalid_characters("content_attributes"))?;
                serde_json::from_str(&text)
                    .map_err(|_| ApiError::unprocessable("content_attributes", "must be JSON"))?
            }
            _ => Value::String(text),
        };
        fields.insert(key, value);
    }
    let fields = serde_json::from_value::<T>(Value::Object(fields)).map_err(|e| {
        ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_request",
            e.to_string(),
        )
    })?;
    Ok(MessageBody { fields, uploads })
}

/// A file download with headers that keep browsers from running it: `nosniff`, a
/// sandboxing CSP, and `attachment` disposition for anything but plain media.
pub(crate) async fn file_response(
    att: &AttachmentRow,
    path: &std::path::Path,
) -> ApiResult<Response> {
    let file = tokio::fs::File::open(path).await.map_err(|e| {
        tracing::warn!(path = ?path, error = %e, "attachment file missing");
        ApiError::not_found("attachment")
    })?;
    let len = file.metadata().await.map(|m| m.len()).ok();
    let media = ["image/", "audio/", "video/"]
        .iter()
        .any(|p| att.content_type.starts_with(p))
        && !att.content_type.contains("svg");
    let ascii: String = att
        .file_name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || ".-_ ".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    let encoded: String = att
        .file_name
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b".-_".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    let disposition = format!(
        "{}; filename=\"{ascii}\"; filename*=UTF-8''{encoded}",
        if media { "inline" } else { "attachment" }
    );
    let mut res = Response::new(Body::from_stream(file_chunks(file)));
    let h = res.headers_mut();
    if let Some(len) = len {
        h.insert(header::CONTENT_LENGTH, HeaderValue::from(len));
    }
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_str(&att.content_type)
            .unwrap_or(HeaderValue::from_static("application/octet-stream")),
    );
    h.insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_str(&disposition).unwrap_or(HeaderValue::from_static("attachment")),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("sandbox; default-src 'none'"),
    );
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, max-age=3600"),
    );
    Ok(res.into_response())
}

/// The file's bytes in 64 KiB chunks, so a large download does not sit in memory.
fn file_chunks(
    file: tokio::fs::File,
) -> impl futures::Stream<Item = std::io::Result<Bytes>> + Send + 'static {
    use tokio::io::AsyncReadExt;
    futures::stream::try_unfold(file, |mut f| async move {
        let mut buf = BytesMut::with_capacity(64 * 1024);
        let n = f.read_buf(&mut buf).await?;
        Ok((n > 0).then(|| (buf.freeze(), f)))
    })
}

/// Paging of the message list by message id.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MessagePaging {
    /// The 20 messages before this message id.
    pub before: Option<i64>,
    /// The 20 messages after this message id.
    pub after: Option<i64>,
}

/// Lists messages, 20 per page, oldest first within the page, with the conversation's
/// context in `meta`.
#[utoipa::path(get, path = "/api/v1/accounts/{account_id}/conversations/{conversation_id}/messages", tag = "Messages",
    security(("api_access_token" = [])),
    params(("account_id" = i64, Path), ("conversation_id" = i64, Path), MessagePaging),
    responses((status = 200, description = "`{\"meta\": {labels, additional_attributes, contact, assignee, agent_last_seen_at, assignee_last_seen_at}, \"payload\": [message]}`", body = MessagesPage),
        (status = 404, body = ErrorBody)))]
async fn list(
    State(st): State<AppState>,
    Acct(ctx): Acct,
    Path((_account, id)): Path<(i64, i64)>,
    Query(p): Query<MessagePaging>,
) -> ApiResult<Json<Value>> {
    let page = st.svc.list_messages(&ctx, id, p.before, p.after).await?;
    Ok(Json(json!(page)))
}

/// Fields of a new message, Chatwoot's names.
#[derive(Deserialize, ToSchema, Default)]
pub struct NewMessageRequest {
    #[schema(max_length = 150000)]
    pub content: Option<String>,
    /// `outgoing` (default), `template`, or `incoming` (API inboxes only).
    pub message_type: Option<String>,
    /// A private note, never shown to the contact.
    pub private: Option<bool>,
    /// `text` (default), `input_select`, `cards`, `form`, `article`, …
    pub content_type: Option<String>,
    pub content_attributes: Option<Value>,
    /// The client's id for this message; a retry with the same id returns the same message.
    pub echo_id: Option<String>,
    /// The message's id in an external system, unique per inbox.
    #[schema(max_length = 255)]
    pub source_id: Option<String>,
}

/// Creates a message (JSON, or multipart/form-data with `attachments[]` files).
#[utoipa::path(post, path = "/api/v1/accounts/{account_id}/conversations/{conversation_id}/messages", tag = "Messages",
    security(("api_access_token" = [])), params(("account_id" = i64, Path), ("conversation_id" = i64, Path)),
    request_body(content = NewMessageRequest, description = "JSON, or multipart/form-data with the same fields and `attachments[]` files"),
    responses((status = 200, description = "The message", body = MessageView),
        (status = 413, description = "A file or the body is over its limit (`payload_too_large`), or the account's storage quota is used up (`storage_quota_exceeded`)", body = ErrorBody),
        (status = 422, body = ErrorBody)))]
async fn create(
    State(st): State<AppState>,
    Acct(ctx): Acct,
    Path((_account, id)): Path<(i64, i64)>,
    req: Request,
) -> Result<Json<Value>, Response> {
    let fail = |e: parley_service::ServiceError| ApiError::from(e).into_response();
    // Visibility first, so another tenant learns nothing from how its body is judged.
    st.svc.visible_conversation(&ctx, id).await.map_err(fail)?;
    let body = read_message_body::<NewMessageRequest>(&st, req, ctx.account_id)
        .await
        .map_err(IntoResponse::into_response)?;
    let f = body.fields;
    let input = CreateMessage {
        content: f.content,
        message_type: f.message_type,
        private: f.private,
        content_type: f.content_type,
        content_attributes: f.content_attributes,
        echo_id: f.echo_id,
        source_id: f.source_id,
        uploads: body.uploads,
    };
    let m = st
        .svc
        .agent_create_message(&ctx, id, input)
        .await
        .map_err(fail)?;
    Ok(Json(json!(m)))
}

/// New content or content attributes of a message.
#[derive(Deserialize, ToSchema)]
pub struct UpdateMessageRequest {
    pub content: Option<String>,
    pub content_attributes: Option<Value>,
}

/// Edits one's own outgoing message.
#[utoipa::path(patch, path = "/api/v1/accounts/{account_id}/conversations/{conversation_id}/messages/{message_id}", tag = "Messages",
    security(("api_access_token" = [])),
    params(("account_id" = i64, Path), ("conversation_id" = i64, Path), ("message_id" = i64, Path)),
    request_body = UpdateMessageRequest,
    responses((status = 200, description = "The message", body = MessageView), (status = 403, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
async fn update(
    State(st): State<AppState>,
    Acct(ctx): Acct,
    Path((_account, id, message_id)): Path<(i64, i64, i64)>,
    Json(b): Json<UpdateMessageRequest>,
) -> ApiResult<Json<Value>> {
    let m = st
        .svc
        .update_message(&ctx, id, message_id, b.content, b.content_attributes)
        .await?;
    Ok(Json(json!(m)))
}

/// Deletes a message: its content becomes "This message was deleted" and its attachments
/// are removed.
#[utoipa::path(delete, path = "/api/v1/accounts/{account_id}/conversations/{conversation_id}/messages/{message_id}", tag = "Messages",
    security(("api_access_token" = [])),
    params(("account_id" = i64, Path), ("conversation_id" = i64, Path), ("message_id" = i64, Path)),
    responses((status = 200, description = "The message", body = MessageView), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
async fn destroy(
    State(st): State<AppState>,
    Acct(ctx): Acct,
    Path((_account, id, message_id)): Path<(i64, i64, i64)>,
) -> ApiResult<Json<Value>> {
    let m = st.svc.delete_message(&ctx, id, message_id).await?;
    Ok(Json(json!(m)))
}

/// Puts a `failed` outgoing message of a channel (Telegram) back in the outbox: its status
/// becomes `progress` and it is delivered again (Parley's route; Chatwoot has none).
#[utoipa::path(post, path = "/api/v1/accounts/{account_id}/conversations/{conversation_id}/messages/{message_id}/retry", tag = "Messages",
    security(("api_access_token" = [])),
    params(("account_id" = i64, Path), ("conversation_id" = i64, Path), ("message_id" = i64, Path)),
    responses((status = 200, description = "The message, now `progress`", body = MessageView),
        (status = 404, body = ErrorBody),
        (status = 422, description = "The message is not `failed`", body = ErrorBody)))]
async fn retry(
    State(st): State<AppState>,
    Acct(ctx): Acct,
    Path((_account, id, message_id)): Path<(i64, i64, i64)>,
) -> ApiResult<Json<Value>> {
    let m = st.svc.retry_message(&ctx, id, message_id).await?;
    Ok(Json(json!(m)))
}

/// Downloads an attachment of a conversation the caller may see (Parley's own route; the
/// `data_url` of attachments points here).
#[utoipa::path(get, path = "/api/v1/accounts/{account_id}/attachments/{attachment_id}", tag = "Messages",
    security(("api_access_token" = [])),
    params(("account_id" = i64, Path), ("attachment_id" = i64, Path)),
    responses((status = 200, description = "The file's bytes"), (status = 404, body = ErrorBody)))]
async fn download(
    State(st): State<AppState>,
    Acct(ctx): Acct,
    Path((_account, attachment_id)): Path<(i64, i64)>,
) -> ApiResult<Response> {
    let (att, path) = st.svc.attachment_file(&ctx, attachment_id).await?;
    file_response(&att, &path).await
}
