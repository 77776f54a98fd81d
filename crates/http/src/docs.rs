//! The offline API docs page: Swagger UI over the generated OpenAPI document.
//!
//! Swagger UI's four files come from the archive that the `utoipa-swagger-ui-vendored` crate
//! carries; the build script takes them out gzipped, so the binary holds ~0.5 MB of them
//! instead of the whole 4.4 MB archive. Each is inflated once, on its first request, and
//! served like the console's files (ETag, gzip). Nothing is loaded from a CDN.

use std::borrow::Cow;
use std::io::Read;
use std::sync::{Arc, OnceLock};

use axum::Router;
use axum::extract::Path;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;

use crate::AppState;
use crate::assets::{Asset, respond};
use crate::error::ApiError;

/// The page's files: name, gzipped bytes and the SHA-256 of the raw file (from build.rs).
const EMBEDDED: &[(&str, &[u8], [u8; 32])] =
    include!(concat!(env!("OUT_DIR"), "/swagger_files.rs"));

/// Content type of each of the page's files.
fn content_type(file: &str) -> &'static str {
    match file.rsplit('.').next() {
        Some("js") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("png") => "image/png",
        _ => "application/octet-stream",
    }
}

const INDEX: &str = r##"<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>Parley API</title>
  <link rel="stylesheet" href="./swagger-ui.css">
  <link rel="icon" type="image/png" href="./favicon-32x32.png">
  <style>body { margin: 0 }</style>
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="./swagger-ui-bundle.js"></script>
  <script src="./swagger-ui-standalone-preset.js"></script>
  <script>
    window.ui = SwaggerUIBundle({
      url: "/api/openapi.json",
      dom_id: "#swagger-ui",
      deepLinking: true,
      presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
      layout: "StandaloneLayout"
    });
  </script>
</body>
</html>
"##;

/// One file inflated, or why it could not be.
type Inflated = Result<Vec<u8>, String>;

/// The page's files inflated, each once (in `EMBEDDED`'s order), or why not.
fn inflated(index: usize) -> Option<&'static Inflated> {
    static FILES: OnceLock<Vec<OnceLock<Inflated>>> = OnceLock::new();
    let files = FILES.get_or_init(|| EMBEDDED.iter().map(|_| OnceLock::new()).collect());
    let (_, gz, _) = EMBEDDED.get(index)?;
    Some(files.get(index)?.get_or_init(|| {
        let mut raw = Vec::new();
        flate2::read::GzDecoder::new(*gz)
            .read_to_end(&mut raw)
            .map(|_| raw)
            .map_err(|e| e.to_string())
    }))
}

/// `/api/docs` (the page and its files) and `/api/openapi.json`.
pub fn router(openapi: &utoipa::openapi::OpenApi) -> Router<AppState> {
    let json: Arc<str> = openapi.to_json().unwrap_or_else(|_| "{}".to_owned()).into();
    Router::new()
        .route(
            "/api/openapi.json",
            get(move || {
                let json = Arc::clone(&json);
                async move {
                    (
                        [(header::CONTENT_TYPE, "application/json")],
                        json.to_string(),
                    )
                }
            }),
        )
        .route(
            "/api/docs",
            get(|| async { Redirect::permanent("/api/docs/") }),
        )
        .route("/api/docs/", get(|| async { Html(INDEX) }))
        .route("/api/docs/{file}", get(asset))
}

async fn asset(Path(file): Path<String>, headers: HeaderMap) -> Response {
    let Some(index) = EMBEDDED.iter().position(|(n, _, _)| *n == file) else {
        return ApiError::not_found("file").into_response();
    };
    let (name, _, hash) = EMBEDDED[index];
    match inflated(index) {
        Some(Ok(raw)) => respond(
            Asset {
                key: format!("docs/{name}"),
                data: Cow::Borrowed(raw.as_slice()),
                hash,
                content_type: content_type(name),
                gzip_from: Some(1024),
            },
            &headers,
            "public, max-age=86400",
        ),
        Some(Err(e)) => {
            tracing::error!(error = %e, file = name, "Swagger UI file unreadable");
            ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "docs assets unavailable",
            )
            .into_response()
        }
        None => ApiError::not_found("file").into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_file_the_page_needs_is_embedded_and_inflates() {
        for (i, (name, _, _)) in EMBEDDED.iter().enumerate() {
            let raw = inflated(i).expect("listed").as_ref().expect("inflates");
            assert!(raw.len() > 500, "{name}");
            assert!(INDEX.contains(&format!("./{name}")), "{name}");
        }
        assert!(INDEX.contains("/api/openapi.json"));
    }
}
