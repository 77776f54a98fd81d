//! Characters the server refuses wherever text enters (finding 9 of issue 12).
//!
//! PostgreSQL cannot store NUL (`\0`) in text, so a NUL that reached the store gave a 500
//! there and was stored on SQLite. Rather than strip it (silently changing what a customer
//! wrote), every entry point refuses it with the same `422 invalid_characters` before
//! anything is stored, on both backends: JSON bodies ([`check_json`], applied by the body
//! extractors), the path and query string ([`refuse_nul_in_uri`], one layer over every
//! router that reads the store), multipart text fields and file names, and WebSocket frames. Lone UTF-16
//! surrogates cannot arrive: JSON parsing refuses `\ud800` alone as malformed (400), and
//! percent-decoding refuses invalid UTF-8.

use axum::extract::Request;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::error::ApiError;

/// Refuses a JSON document holding a `\u0000` escape anywhere.
pub fn check_json(bytes: &[u8]) -> Result<(), ApiError> {
    if parley_core::validate::json_has_nul_escape(bytes) {
        return Err(ApiError::invalid_characters("request body"));
    }
    Ok(())
}

/// Refuses a text (a form field, a file name) holding a NUL.
pub fn check_text(field: &str, value: &str) -> Result<(), ApiError> {
    parley_core::validate::storable(field, value).map_err(|_| ApiError::invalid_characters(field))
}

/// Middleware: a `%00` in the path or the query string is refused before the handler, so
/// no path parameter or query value can carry a NUL to the store. Layered on every router
/// that reads the store (API, WebSockets, widget, operations) in `crate::app`.
pub async fn refuse_nul_in_uri(req: Request, next: Next) -> Response {
    let uri = req.uri();
    let bad = uri.path().contains("%00") || uri.query().is_some_and(|q| q.contains("%00"));
    if bad {
        return ApiError::invalid_characters("the URL").into_response();
    }
    next.run(req).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_with_a_nul_is_refused_and_escaped_backslashes_are_not() {
        assert!(check_json(br#"{"content":"a\u0000"}"#).is_err());
        assert!(check_json(br#"{"content":"a\\u0000"}"#).is_ok());
        let e = check_text("name", "a\0").unwrap_err();
        assert_eq!(e.status, axum::http::StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(e.code, "invalid_characters");
    }
}
