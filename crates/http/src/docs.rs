//! The offline API docs page: Swagger UI over the generated OpenAPI document.
//!
//! Swagger UI comes from the archive that the `utoipa-swagger-ui-vendored` crate carries
//! (deflate-compressed, so the binary holds ~4 MB instead of the 11 MB of raw files, most of
//! them source maps, that embedding its whole `dist` folder would cost). Only the four files
//! the page needs are inflated, once, on the first request. Nothing is loaded from a CDN.

use std::collections::HashMap;
use std::io::Read;
use std::sync::{Arc, OnceLock};

use axum::Router;
use axum::extract::Path;
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;

use crate::AppState;
use crate::error::ApiError;

/// Files of Swagger UI's `dist` folder that the page uses, with their content types.
const FILES: &[(&str, &str)] = &[
    ("swagger-ui-bundle.js", "text/javascript; charset=utf-8"),
    (
        "swagger-ui-standalone-preset.js",
        "text/javascript; charset=utf-8",
    ),
    ("swagger-ui.css", "text/css; charset=utf-8"),
    ("favicon-32x32.png", "image/png"),
];

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

/// The inflated files, or why they could not be read.
fn dist() -> &'static Result<HashMap<&'static str, Vec<u8>>, String> {
    static DIST: OnceLock<Result<HashMap<&'static str, Vec<u8>>, String>> = OnceLock::new();
    DIST.get_or_init(|| {
        let reader = std::io::Cursor::new(utoipa_swagger_ui_vendored::SWAGGER_UI_VENDORED);
        let mut archive = zip::ZipArchive::new(reader).map_err(|e| e.to_string())?;
        let names: Vec<String> = archive.file_names().map(str::to_owned).collect();
        let mut out = HashMap::new();
        for (file, _) in FILES {
            let suffix = format!("/dist/{file}");
            let name = names
                .iter()
                .find(|n| n.ends_with(&suffix) && n.matches('/').count() == 2)
                .ok_or_else(|| format!("{file} is missing from the Swagger UI archive"))?;
            let mut entry = archive.by_name(name).map_err(|e| e.to_string())?;
            let mut bytes = Vec::with_capacity(usize::try_from(entry.size()).unwrap_or(0));
            entry.read_to_end(&mut bytes).map_err(|e| e.to_string())?;
            out.insert(*file, bytes);
        }
        Ok(out)
    })
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

async fn asset(Path(file): Path<String>) -> Response {
    let Some((name, content_type)) = FILES.iter().find(|(n, _)| *n == file) else {
        return ApiError::not_found("file").into_response();
    };
    match dist() {
        Ok(files) => match files.get(name) {
            Some(bytes) => (
                [
                    (header::CONTENT_TYPE, *content_type),
                    (header::CACHE_CONTROL, "public, max-age=86400"),
                ],
                bytes.clone(),
            )
                .into_response(),
            None => ApiError::not_found("file").into_response(),
        },
        Err(e) => {
            tracing::error!(error = %e, "Swagger UI archive unreadable");
            ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "docs assets unavailable",
            )
            .into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_file_the_page_needs_is_in_the_archive() {
        let files = dist().as_ref().expect("archive readable");
        for (name, _) in FILES {
            assert!(files.get(name).is_some_and(|b| b.len() > 500), "{name}");
        }
        assert!(INDEX.contains("/api/openapi.json"));
    }
}
