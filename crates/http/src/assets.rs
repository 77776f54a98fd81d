//! Serving files embedded in the binary (the console and the widget): content type, an ETag
//! from the content hash with `304 Not Modified`, gzip when the client accepts it (computed
//! once per content hash), `Cache-Control` and `nosniff`. One place, so both UIs revalidate
//! and compress the same way.

use std::borrow::Cow;
use std::collections::HashMap;
use std::io::Write;
use std::sync::{Mutex, OnceLock};

use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use bytes::Bytes;

/// One embedded file to answer with.
pub(crate) struct Asset {
    /// Unique across the binary (e.g. `console/app.js`): the key of the gzip cache.
    pub key: String,
    pub data: Cow<'static, [u8]>,
    /// SHA-256 of `data`, as rust-embed computed it at build time.
    pub hash: [u8; 32],
    pub content_type: &'static str,
    /// Gzip when the client accepts it and the file is at least this long; `None`: never.
    pub gzip_from: Option<usize>,
}

/// The response for `asset`, honouring `If-None-Match` and `Accept-Encoding`.
pub(crate) fn respond(asset: Asset, headers: &HeaderMap, cache_control: &'static str) -> Response {
    let gz = asset
        .gzip_from
        .filter(|min| asset.data.len() >= *min && accepts_gzip(headers))
        .and_then(|_| gzipped(&asset.key, &asset.hash, &asset.data));
    let digest: String = asset.hash[..16]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
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
            None => Body::from(Bytes::from(asset.data.into_owned())),
        };
        let mut r = Response::new(body);
        r.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static(asset.content_type),
        );
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
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static(cache_control),
    );
    h.insert(header::VARY, HeaderValue::from_static("Accept-Encoding"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    res
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

/// Whether `Accept-Encoding` allows gzip (`gzip` or `*`, not with `q=0`).
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

/// Gzipped files by key, with the SHA-256 of the content they were made from.
type GzCache = Mutex<HashMap<String, ([u8; 32], Bytes)>>;

/// Gzip of a file, computed once per content hash.
fn gzipped(key: &str, hash: &[u8; 32], data: &[u8]) -> Option<Bytes> {
    static CACHE: OnceLock<GzCache> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    if let Ok(map) = cache.lock()
        && let Some((h, gz)) = map.get(key)
        && h == hash
    {
        return Some(gz.clone());
    }
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    enc.write_all(data).ok()?;
    let gz = Bytes::from(enc.finish().ok()?);
    if let Ok(mut map) = cache.lock() {
        map.insert(key.to_string(), (*hash, gz.clone()));
    }
    Some(gz)
}

#[cfg(test)]
mod tests {
    use super::*;

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
