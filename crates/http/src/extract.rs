//! Request extractors whose rejections use the API's error shape instead of axum's plain
//! text: malformed JSON is 400, a wrong type or missing field is 422, a body over the limit
//! is 413, a missing JSON content type is 415.

use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize};

use crate::AppState;
use crate::error::ApiError;

/// For `#[serde(default, deserialize_with = "present")]` on an `Option<Option<T>>` field:
/// distinguishes a missing field (`None`, leave the value alone) from an explicit `null`
/// (`Some(None)`, clear it), which plain `Option<Option<T>>` cannot.
pub(crate) fn present<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

/// JSON body (request) or JSON response.
pub struct Json<T>(pub T);

impl<T> FromRequest<AppState> for Json<T>
where
    T: DeserializeOwned,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        // Read under the limit ourselves (draining an oversized body, see `crate::body`),
        // then let axum classify content type, syntax and data errors on the bytes.
        let (parts, body) = req.into_parts();
        let bytes =
            crate::body::read_limited(&parts.headers, body, state.cfg.json_body_limit).await?;
        let req = Request::from_parts(parts, axum::body::Body::from(bytes.clone()));
        match axum::Json::<T>::from_request(req, state).await {
            // Well-formed JSON that holds a NUL is refused (see `crate::input`).
            Ok(axum::Json(v)) => crate::input::check_json(&bytes).map(|()| Json(v)),
            Err(rej) => Err(json_rejection(rej)),
        }
    }
}

/// A JSON body that must be an object, read into `T`: serde would otherwise fill a struct
/// from a bare array by position, and a body that names no field must not pass as an empty
/// change (or start an irreversible action).
pub struct JsonObject<T>(pub T);

impl<T> FromRequest<AppState> for JsonObject<T>
where
    T: DeserializeOwned,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let Json(body) =
            Json::<serde_json::Map<String, serde_json::Value>>::from_request(req, state).await?;
        serde_json::from_value(serde_json::Value::Object(body))
            .map(JsonObject)
            .map_err(|e| {
                ApiError::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "invalid_request",
                    e.to_string(),
                )
            })
    }
}

impl<T: Serialize> IntoResponse for Json<T> {
    fn into_response(self) -> Response {
        axum::Json(self.0).into_response()
    }
}

/// Maps axum's JSON rejections to API errors.
pub fn json_rejection(rej: JsonRejection) -> ApiError {
    match rej {
        JsonRejection::JsonSyntaxError(e) => ApiError::bad_request(
            "malformed_json",
            format!("malformed JSON: {}", e.body_text()),
        ),
        JsonRejection::JsonDataError(e) => {
            let text = e.body_text();
            let text = text
                .strip_prefix("Failed to deserialize the JSON body into the target type: ")
                .unwrap_or(&text);
            ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_request",
                text.to_string(),
            )
        }
        JsonRejection::MissingJsonContentType(_) => ApiError::not_json(),
        other if other.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            ApiError::too_large("request body")
        }
        other => ApiError::bad_request("bad_request", other.body_text()),
    }
}

/// Path parameters.
pub struct Path<T>(pub T);

impl<T, S> FromRequestParts<S> for Path<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(v)) => Ok(Path(v)),
            Err(rej) => Err(path_rejection(rej)),
        }
    }
}

fn path_rejection(rej: PathRejection) -> ApiError {
    ApiError::bad_request(
        "invalid_path",
        format!("invalid path parameter: {}", rej.body_text()),
    )
}

/// Query string.
pub struct Query<T>(pub T);

impl<T, S> FromRequestParts<S> for Query<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match axum::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Query(v)) => Ok(Query(v)),
            Err(rej) => Err(query_rejection(rej)),
        }
    }
}

fn query_rejection(rej: QueryRejection) -> ApiError {
    ApiError::bad_request(
        "invalid_query",
        format!("invalid query string: {}", rej.body_text()),
    )
}
