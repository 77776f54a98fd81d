//! The operator console: the plain JS modules, CSS and icons of `web/console`, embedded in
//! the binary with rust-embed and served under `/app/` (`/` redirects there).
//!
//! - Content types come from a short table of the kinds of files the console has (HTML, JS
//!   modules, CSS, SVG, PNG, JSON), so a module is always served as `text/javascript`.
//! - Every response carries a strong `ETag` (the file's SHA-256, `-gz` appended for the gzip
//!   variant) and `Cache-Control: no-cache`: the files have no fingerprinted names (there is
//!   no build step), so the browser revalidates each one and gets a body-less 304 when it is
//!   unchanged.
//! - Text files over 1 KiB are sent gzip-compressed to clients that accept it; each is
//!   compressed once, on first request, and kept.
//! - A path is only ever a key of the embedded map: anything with `..`, a backslash, an empty
//!   or hidden segment is refused with 404 before the lookup, and an unknown file is 404.
//! - The HTML page gets a strict Content-Security-Policy (scripts, styles and connections to
//!   this origin only; no inline script), as a second line behind the console's rule of
//!   rendering every customer string as text.
//!
//! Debug builds of rust-embed read the folder from disk at request time (edit and reload);
//! release builds carry the bytes.

use axum::Router;
use axum::extract::Path;
use axum::extract::rejection::PathRejection;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use rust_embed::RustEmbed;

use crate::AppState;
use crate::error::ApiError;

#[derive(RustEmbed)]
// Relative to this crate's Cargo.toml (rust-embed's rule), so no path interpolation feature.
#[folder = "../../web/console"]
struct Assets;

/// Where the console lives.
pub const PREFIX: &str = "/app/";

/// Smaller text files are not worth a gzip round.
const GZIP_MIN_BYTES: usize = 1024;

const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; \
connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; \
frame-ancestors 'none'";

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(|| async { Redirect::temporary(PREFIX) }))
        .route("/app", get(|| async { Redirect::permanent(PREFIX) }))
        .route("/app/", get(index))
        .route("/app/{*path}", get(asset))
}

async fn index(headers: HeaderMap) -> Response {
    serve("index.html", &headers)
}

async fn asset(path: Result<Path<String>, PathRejection>, headers: HeaderMap) -> Response {
    // A path that does not even decode (invalid UTF-8 after percent-decoding) names no file.
    match path {
        Ok(Path(path)) => serve(&path, &headers),
        Err(_) => not_found(),
    }
}

/// The content type of a console file, by extension.
pub fn content_type(path: &str) -> &'static str {
    let ext = path.rsplit_once('.').map(|(_, e)| e).unwrap_or("");
    match ext.to_ascii_lowercase().as_str() {
        "html" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "json" => "application/json",
        "webmanifest" => "application/manifest+json",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "ico" => "image/x-icon",
        "woff2" => "font/woff2",
        "txt" | "md" => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

fn compressible(ct: &str) -> bool {
    ct.starts_with("text/") || ct.starts_with("application/json") || ct == "image/svg+xml"
}

/// A path that can name an embedded file: relative, no `..`, no empty, hidden or
/// backslashed segment.
pub fn acceptable(path: &str) -> bool {
    !path.is_empty()
        && path.len() <= 200
        && !path.contains('\\')
        && !path.contains('\0')
        && path
            .split('/')
            .all(|seg| !seg.is_empty() && !seg.starts_with('.'))
}

fn not_found() -> Response {
    ApiError::not_found("file").into_response()
}

fn serve(path: &str, headers: &HeaderMap) -> Response {
    if !acceptable(path) {
        return not_found();
    }
    let Some(file) = Assets::get(path) else {
        return not_found();
    };
    let ct = content_type(path);
    let asset = crate::assets::Asset {
        key: format!("console/{path}"),
        hash: file.metadata.sha256_hash(),
        data: file.data,
        content_type: ct,
        gzip_from: compressible(ct).then_some(GZIP_MIN_BYTES),
    };
    let mut res = crate::assets::respond(asset, headers, "no-cache");
    let h = res.headers_mut();
    if ct.starts_with("text/html") {
        h.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CSP),
        );
        h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
        h.insert(
            header::REFERRER_POLICY,
            HeaderValue::from_static("same-origin"),
        );
    }
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_that_could_leave_the_folder_are_refused() {
        for bad in [
            "",
            "../Cargo.toml",
            "a/../../b",
            "..",
            "/etc/passwd",
            "a//b",
            ".hidden",
            "js/.x",
            "a\\b",
        ] {
            assert!(!acceptable(bad), "{bad:?}");
        }
        assert!(acceptable("index.html"));
        assert!(acceptable("js/app.js"));
    }

    #[test]
    fn the_console_has_its_page_and_entry_module() {
        assert!(Assets::get("index.html").is_some());
        assert!(Assets::get("js/main.js").is_some());
    }
}
