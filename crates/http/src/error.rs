//! The one error shape of the API: `{"error": {"code": "...", "message": "..."}}` with a
//! status that tells the caller whose fault it was.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use parley_service::ServiceError;
use serde::Serialize;
use utoipa::ToSchema;

/// An API error response.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    pub field: Option<String>,
    /// The request body was not read to its end, so the connection cannot carry another
    /// request: the response says `Connection: close` (always so for 413).
    pub close: bool,
    /// Seconds the client should wait before retrying (`Retry-After`), for 429 and 503.
    pub retry_after: Option<u64>,
    /// The database could not store anything: the response carries it as a
    /// [`StorageFailure`] extension so one middleware records it in the store's write state.
    pub storage: Option<StorageFailure>,
}

/// Why a request got `503 storage_unavailable`, attached to the response for
/// [`crate::note_storage_failures`].
#[derive(Debug, Clone)]
pub struct StorageFailure {
    pub cause: parley_service::health::Unavailable,
    pub detail: String,
}

/// Body of every error response.
#[derive(Serialize, ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

/// A stable machine-readable `code`, a human `message` and, for validation errors, the `field`.
#[derive(Serialize, ToSchema)]
pub struct ErrorDetail {
    pub code: String,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            field: None,
            close: false,
            storage: None,
            retry_after: None,
        }
    }

    /// Adds a `Retry-After` of `secs` seconds.
    pub fn retry_after(mut self, secs: u64) -> Self {
        self.retry_after = Some(secs);
        self
    }

    /// Marks the response as ending the connection (see [`ApiError::close`]).
    pub fn closing(mut self) -> Self {
        self.close = true;
        self
    }

    pub fn not_found(what: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("{what} not found"),
        )
    }

    /// 413 for `what` (a body, a file, all attachments) over its limit; every size limit
    /// answers with the same code so clients can tell it from a malformed request.
    pub fn too_large(what: &str) -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            format!("{what} is larger than the limit"),
        )
    }

    /// 415 for a body that is not declared as JSON where JSON is expected.
    pub fn not_json() -> Self {
        Self::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "expected a request body with Content-Type: application/json",
        )
    }

    /// 422 for text holding a character the server never stores (NUL, see
    /// `crate::input`); `what` names the field or part of the request.
    pub fn invalid_characters(what: &str) -> Self {
        Self {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            code: "invalid_characters",
            message: format!("{what} must not contain NUL characters (\\u0000)"),
            field: Some(what.to_string()),
            close: false,
            storage: None,
            retry_after: None,
        }
    }

    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }

    pub fn unprocessable(field: &str, message: impl Into<String>) -> Self {
        let message = message.into();
        Self {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            code: "invalid_field",
            message: format!("{field}: {message}"),
            field: Some(field.to_string()),
            close: false,
            storage: None,
            retry_after: None,
        }
    }

    pub fn unauthorized() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "a valid api_access_token header or session is required",
        )
    }
}

impl From<ServiceError> for ApiError {
    fn from(e: ServiceError) -> Self {
        match e {
            ServiceError::NotFound(what) => ApiError::not_found(what),
            ServiceError::Unauthorized => ApiError::unauthorized(),
            ServiceError::Forbidden(m) => ApiError::new(StatusCode::FORBIDDEN, "forbidden", m),
            ServiceError::Invalid(f) => ApiError::unprocessable(&f.field, f.message),
            ServiceError::Conflict(m) => ApiError::new(StatusCode::CONFLICT, "conflict", m),
            ServiceError::BadRequest(m) => ApiError::bad_request("bad_request", m),
            ServiceError::Unavailable { cause, detail } => {
                let mut e = ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "storage_unavailable",
                    format!(
                        "the server cannot store data right now ({}); nothing was saved, try again later",
                        cause.describe()
                    ),
                );
                e.storage = Some(StorageFailure { cause, detail });
                // A client that retries soon is welcome; the probe checks every second.
                e.retry_after(1)
            }
            ServiceError::Busy { retry_after_secs } => ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "busy",
                "the server is busy, try again shortly",
            )
            .retry_after(retry_after_secs),
            ServiceError::QuotaExceeded => ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "storage_quota_exceeded",
                "the account's storage quota is used up; delete old files or ask the administrator to raise max_account_storage_bytes",
            ),
            ServiceError::RetryAfter { retry_after_secs } => ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limited",
                format!("too many requests, try again in {retry_after_secs} s"),
            )
            .retry_after(retry_after_secs),
            ServiceError::Internal(m) => {
                tracing::error!(error = %m, "internal error");
                ApiError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal",
                    "internal server error",
                )
            }
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            error: ErrorDetail {
                code: self.code.to_string(),
                message: self.message,
                field: self.field,
            },
        };
        let mut res = (self.status, Json(body)).into_response();
        if let Some(failure) = self.storage {
            res.extensions_mut().insert(failure);
        }
        if let Some(secs) = self.retry_after {
            res.headers_mut().insert(
                axum::http::header::RETRY_AFTER,
                axum::http::HeaderValue::from(secs),
            );
        }
        if self.close || self.status == StatusCode::PAYLOAD_TOO_LARGE {
            // The rest of the body may still be on the wire; reusing the connection would
            // make the client's next request fail.
            res.headers_mut().insert(
                axum::http::header::CONNECTION,
                axum::http::HeaderValue::from_static("close"),
            );
        }
        if let Some(secs) = self.retry_after {
            res.headers_mut().insert(
                axum::http::header::RETRY_AFTER,
                axum::http::HeaderValue::from(secs),
            );
        }
        res
    }
}

/// Result of a handler.
pub type ApiResult<T> = Result<T, ApiError>;
