//! The website widget's files (`web/widget`), embedded in the binary with rust-embed, and the
//! `/demo` page.
//!
//! - `/widget/loader.js` is what shops paste into their pages (the inbox's
//!   `web_widget_script`). It is fetched on every page view of the shop, so it is small,
//!   cached for five minutes with an ETag to revalidate, and served to any origin.
//! - `/widget/frame.html?token=…` is the iframe the loader opens. Its
//!   `Content-Security-Policy: frame-ancestors` lists the inbox's `allowed_domains`, so the
//!   browser itself refuses to show the widget on other sites; it also pins scripts, styles
//!   and connections to this server.
//! - The frame's scripts and styles are under `/widget/v/{version}/…`, `version` being a hash
//!   of every embedded file: the URLs change whenever a file does, so they are cached as
//!   immutable and a returning visitor downloads nothing but the small frame page. The
//!   frame's ES modules import each other relatively, so they stay under the same version.
//! - Text files are sent gzip-compressed to clients that accept it (compressed once each).
//!
//! Debug builds of rust-embed read the folder from disk at request time (edit and reload);
//! release builds carry the bytes.

use std::sync::OnceLock;

use axum::Router;
use axum::body::Body;
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use rust_embed::RustEmbed;
use serde::Deserialize;

use crate::AppState;
use crate::error::ApiError;

#[derive(RustEmbed)]
// Relative to this crate's Cargo.toml (rust-embed's rule).
#[folder = "../../web/widget"]
struct Assets;

/// Smaller text files are not worth a gzip round.
const GZIP_MIN_BYTES: usize = 512;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/widget/loader.js", get(loader))
        .route("/widget/frame.html", get(frame))
        .route("/widget/v/{version}/{*path}", get(versioned))
        .route("/demo", get(demo))
}

/// The content type of a widget file, by extension.
fn content_type(path: &str) -> &'static str {
    let ext = path.rsplit_once('.').map(|(_, e)| e).unwrap_or("");
    match ext {
        "html" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "json" => "application/json",
        _ => "application/octet-stream",
    }
}

/// A path that can name an embedded file: relative, no `..`, no empty or hidden segment.
fn acceptable(path: &str) -> bool {
    !path.is_empty()
        && path.len() <= 200
        && !path.contains('\\')
        && !path.contains('\0')
        && path
            .split('/')
            .all(|seg| !seg.is_empty() && !seg.starts_with('.'))
}

/// Files the frame may load from `/widget/v/…` (the loader, the frame template and the demo
/// page have their own routes).
fn is_frame_asset(path: &str) -> bool {
    acceptable(path)
        && (path.ends_with(".js") || path.ends_with(".css") || path.ends_with(".svg"))
        && path != "loader.js"
}

/// A hash of every embedded file: the version in the frame's asset URLs.
pub fn version() -> &'static str {
    static V: OnceLock<String> = OnceLock::new();
    V.get_or_init(|| {
        use std::hash::{Hash, Hasher};
        let mut names: Vec<_> = Assets::iter().collect();
        names.sort();
        // A cache buster, not a security boundary: SipHash with fixed keys over the
        // files' SHA-256 digests is stable for a given build and changes with any file.
        let mut h = std::hash::DefaultHasher::new();
        for n in names {
            if let Some(f) = Assets::get(&n) {
                n.hash(&mut h);
                f.metadata.sha256_hash().hash(&mut h);
            }
        }
        format!("{:016x}", h.finish())
    })
}

fn not_found() -> Response {
    ApiError::not_found("file").into_response()
}

/// Serves an embedded file with its content type, ETag, gzip when accepted, and
/// `cache_control`.
fn serve(path: &str, headers: &HeaderMap, cache_control: &'static str) -> Response {
    let Some(file) = Assets::get(path) else {
        return not_found();
    };
    let ct = content_type(path);
    let text = ct.starts_with("text/") || ct == "image/svg+xml";
    let asset = crate::assets::Asset {
        key: format!("widget/{path}"),
        hash: file.metadata.sha256_hash(),
        data: file.data,
        content_type: ct,
        gzip_from: text.then_some(GZIP_MIN_BYTES),
    };
    crate::assets::respond(asset, headers, cache_control)
}

/// The loader: any site may load it (it is a classic `<script>`; the CORS and CORP headers
/// only matter to pages that isolate themselves with COEP or fetch it).
async fn loader(headers: HeaderMap) -> Response {
    let mut res = serve("loader.js", &headers, "public, max-age=300");
    let h = res.headers_mut();
    h.insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    h.insert(
        "cross-origin-resource-policy",
        HeaderValue::from_static("cross-origin"),
    );
    res
}

/// Frame assets: immutable under the current version. A request for another version (a
/// page loaded just before an upgrade) gets today's file, revalidated on every use, rather
/// than a 404 that would break the open widget.
async fn versioned(
    path: Result<Path<(String, String)>, PathRejection>,
    headers: HeaderMap,
) -> Response {
    let Ok(Path((v, path))) = path else {
        return not_found();
    };
    if !is_frame_asset(&path) {
        return not_found();
    }
    let cache = if v == version() {
        "public, max-age=31536000, immutable"
    } else {
        "no-cache"
    };
    let mut res = serve(&path, &headers, cache);
    res.headers_mut().insert(
        "cross-origin-resource-policy",
        HeaderValue::from_static("same-origin"),
    );
    res
}

#[derive(Deserialize)]
struct FrameParams {
    token: Option<String>,
}

/// `allowed_domains` (comma or space separated) as CSP `frame-ancestors` sources; `*`
/// (any site) when none is set. Entries with characters a host source cannot have are
/// dropped, so a setting can never inject another directive.
pub fn frame_ancestors(allowed: Option<&str>) -> String {
    let sources: Vec<String> = allowed
        .unwrap_or("")
        .split([',', ' ', '\n', '\t', ';'])
        .map(str::trim)
        .filter(|d| !d.is_empty() && d.len() <= 255)
        .filter(|d| {
            d.chars()
                .all(|c| c.is_ascii_alphanumeric() || ".-*:/_".contains(c))
        })
        .map(|d| d.trim_end_matches('/').to_ascii_lowercase())
        .collect();
    if sources.is_empty() {
        "*".into()
    } else {
        sources.join(" ")
    }
}

fn html_response(status: StatusCode, html: String, csp: &str) -> Response {
    let mut r = Response::new(Body::from(html));
    *r.status_mut() = status;
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("strict-origin-when-cross-origin"),
    );
    if let Ok(v) = HeaderValue::from_str(csp) {
        h.insert(header::CONTENT_SECURITY_POLICY, v);
    }
    r
}

fn template(name: &str) -> Option<String> {
    Assets::get(name).and_then(|f| String::from_utf8(f.data.into_owned()).ok())
}

/// Escapes text for HTML text and attribute values.
fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('"', "&quot;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('\'', "&#39;")
}

/// The iframe page. The inbox decides who may frame it; an unknown token is a 404 (the
/// loader then never shows a bubble).
async fn frame(
    State(st): State<AppState>,
    q: Result<Query<FrameParams>, QueryRejection>,
) -> Response {
    let token = q.ok().and_then(|Query(p)| p.token).unwrap_or_default();
    let inbox = match st.svc.public_inbox(&token).await {
        Ok(Some(i)) => i,
        Ok(None) => return not_found(),
        Err(e) => return ApiError::from(e).into_response(),
    };
    let allowed = match st.svc.widget_allowed_domains(&inbox).await {
        Ok(a) => a,
        Err(e) => return ApiError::from(e).into_response(),
    };
    let Some(page) = template("frame.html") else {
        return not_found();
    };
    let html = page.replace("{{VERSION}}", version());
    let csp = format!(
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob: https: http:; \
         connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors {}",
        frame_ancestors(allowed.as_deref())
    );
    html_response(StatusCode::OK, html, &csp)
}

#[derive(Deserialize)]
struct DemoParams {
    token: Option<String>,
}

/// A sample shop page with the widget on it. The inbox is `?token=…`, else the server's
/// only website inbox; with none or several, the page says how to choose one.
async fn demo(
    State(st): State<AppState>,
    q: Result<Query<DemoParams>, QueryRejection>,
) -> Response {
    let given = q.ok().and_then(|Query(p)| p.token).filter(|t| {
        !t.is_empty() && t.len() <= 128 && t.chars().all(|c| c.is_ascii_alphanumeric())
    });
    let token = match given {
        Some(t) => Some(t),
        None => st.svc.sole_website_inbox_identifier().await.ok().flatten(),
    };
    let Some(page) = template("demo.html") else {
        return not_found();
    };
    let snippet = match &token {
        Some(t) => format!(
            "<script async src=\"/widget/loader.js\" data-parley-token=\"{}\"></script>",
            esc(t)
        ),
        None => String::new(),
    };
    let html = page
        .replace("{{SNIPPET}}", &snippet)
        .replace("{{NO_INBOX}}", if token.is_some() { "hidden" } else { "" });
    html_response(
        StatusCode::OK,
        html,
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; \
         frame-src 'self'; base-uri 'none'",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frame_ancestors_from_allowed_domains() {
        assert_eq!(frame_ancestors(None), "*");
        assert_eq!(frame_ancestors(Some("  ")), "*");
        assert_eq!(
            frame_ancestors(Some("https://Shop.example/, *.shop.example")),
            "https://shop.example *.shop.example"
        );
        assert_eq!(
            frame_ancestors(Some("shop.example; script-src *")),
            "shop.example script-src *"
        );
        assert_eq!(frame_ancestors(Some("a.test 'unsafe-inline'")), "a.test");
    }

    #[test]
    fn paths() {
        assert!(is_frame_asset("app.js"));
        assert!(!is_frame_asset("loader.js"));
        assert!(!is_frame_asset("../x.js"));
        assert!(!is_frame_asset("frame.html"));
        assert!(!is_frame_asset(".hidden.js"));
    }
}
