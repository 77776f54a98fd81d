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

use std::collections::HashMap;
use std::io::Write;
use std::sync::{Mutex, OnceLock};

use axum::Router;
use axum::body::Body;
use axum::extract::Path;
use axum::extract::rejection::PathRejection;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use bytes::Bytes;
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

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Whether `If-None-Match` names `etag` (or is `*`).
fn matches_etag(headers: &HeaderMap, etag: &str) -> bool {
    headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|t| t.trim().trim_start_matches("W/"))
        .any(|t| t == etag || t == "*")
}

fn accepts_gzip(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|enc| {
            let mut parts = enc.split(';');
            let name = parts.next().unwrap_or("").trim();
            let q_zero = parts.any(|p| {
                p.trim()
                    .strip_prefix("q=")
                    .and_then(|q| q.trim().parse::<f32>().ok())
                    .is_some_and(|q| q <= 0.0)
            });
            (name.eq_ignore_ascii_case("gzip") || name == "*") && !q_zero
        })
}

/// Gzipped files by path, with the SHA-256 of the content they were made from.
type GzCache = Mutex<HashMap<String, ([u8; 32], Bytes)>>;

/// Gzip of a file, computed once per content hash.
fn gzipped(path: &str, hash: &[u8; 32], data: &[u8]) -> Option<Bytes> {
    static CACHE: OnceLock<GzCache> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    if let Ok(map) = cache.lock()
        && let Some((h, gz)) = map.get(path)
        && h == hash
    {
        return Some(gz.clone());
    }
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    enc.write_all(data).ok()?;
    let gz = Bytes::from(enc.finish().ok()?);
    if let Ok(mut map) = cache.lock() {
        map.insert(path.to_string(), (*hash, gz.clone()));
    }
    Some(gz)
}

fn serve(path: &str, headers: &HeaderMap) -> Response {
    if !acceptable(path) {
        return not_found();
    }
    let Some(file) = Assets::get(path) else {
        return not_found();
    };
    let ct = content_type(path);
    let hash = file.metadata.sha256_hash();
    let digest = hex(&hash[..16]);
    let gz = if compressible(ct) && file.data.len() >= GZIP_MIN_BYTES && accepts_gzip(headers) {
        gzipped(path, &hash, &file.data)
    } else {
        None
    };
    let etag = if gz.is_some() {
        format!("\"{digest}-gz\"")
    } else {
        format!("\"{digest}\"")
    };

    let mut res = if matches_etag(headers, &etag) {
        let mut r = Response::new(Body::empty());
        *r.status_mut() = StatusCode::NOT_MODIFIED;
        r
    } else {
        let body = match &gz {
            Some(gz) => Body::from(gz.clone()),
            None => Body::from(Bytes::from(file.data.into_owned())),
        };
        let mut r = Response::new(body);
        r.headers_mut()
            .insert(header::CONTENT_TYPE, HeaderValue::from_static(ct));
        if gz.is_some() {
            r.headers_mut()
                .insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
        }
        r
    };
    let h = res.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&etag) {
        h.insert(header::ETAG, v);
    }
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    h.insert(header::VARY, HeaderValue::from_static("Accept-Encoding"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
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

    #[test]
    fn gzip_negotiation() {
        let mut h = HeaderMap::new();
        assert!(!accepts_gzip(&h));
        h.insert(
            header::ACCEPT_ENCODING,
            HeaderValue::from_static("br, gzip;q=0.8"),
        );
        assert!(accepts_gzip(&h));
        h.insert(
            header::ACCEPT_ENCODING,
            HeaderValue::from_static("gzip;q=0, deflate"),
        );
        assert!(!accepts_gzip(&h));
    }
}
