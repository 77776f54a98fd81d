//! The operator console's embedded files: served under `/app/` with the right content
//! types, ETag revalidation and gzip; `/` leads to the console while `/api/docs/` stays;
//! unknown files are 404 and no path reaches outside the embedded folder.

use crate::common;
mod inbox_settings;

use common::TestServer;
use reqwest::StatusCode;
use reqwest::header::{self, HeaderMap};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
}

fn h(headers: &HeaderMap, name: header::HeaderName) -> &str {
    headers
        .get(&name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn console_files_are_served_with_types_and_caching() {
    let s = TestServer::sqlite().await;
    let http = no_redirects();

    // The root leads to the console; /app without the slash too; the API docs stay.
    let res = http.get(s.url("/")).send().await.expect("root");
    assert!(res.status().is_redirection(), "{}", res.status());
    assert_eq!(h(res.headers(), header::LOCATION), "/app/");
    let res = http.get(s.url("/app")).send().await.expect("/app");
    assert!(res.status().is_redirection());
    assert_eq!(h(res.headers(), header::LOCATION), "/app/");
    let res = http.get(s.url("/api/docs/")).send().await.expect("docs");
    assert_eq!(res.status(), StatusCode::OK);

    // Swagger UI's files (taken out of its archive at build time): raw without gzip,
    // gzipped when accepted, revalidated by ETag; other names are 404.
    let res = http
        .get(s.url("/api/docs/swagger-ui-bundle.js"))
        .send()
        .await
        .expect("bundle");
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(
        h(res.headers(), header::CONTENT_TYPE),
        "text/javascript; charset=utf-8"
    );
    assert!(res.headers().get(header::CONTENT_ENCODING).is_none());
    let raw = res.text().await.expect("bundle text");
    assert!(raw.len() > 500_000 && raw.contains("SwaggerUIBundle"));
    let res = http
        .get(s.url("/api/docs/swagger-ui.css"))
        .header(header::ACCEPT_ENCODING, "gzip")
        .send()
        .await
        .expect("css");
    assert_eq!(h(res.headers(), header::CONTENT_ENCODING), "gzip");
    assert_eq!(
        h(res.headers(), header::CONTENT_TYPE),
        "text/css; charset=utf-8"
    );
    let etag = h(res.headers(), header::ETAG).to_string();
    let res = http
        .get(s.url("/api/docs/swagger-ui.css"))
        .header(header::ACCEPT_ENCODING, "gzip")
        .header(header::IF_NONE_MATCH, etag)
        .send()
        .await
        .expect("css again");
    assert_eq!(res.status(), StatusCode::NOT_MODIFIED);
    let res = http
        .get(s.url("/api/docs/index.css.map"))
        .send()
        .await
        .expect("missing");
    assert_eq!(res.status(), StatusCode::NOT_FOUND);

    // The page: HTML, a strict CSP, revalidated on every load.
    let res = http.get(s.url("/app/")).send().await.expect("page");
    assert_eq!(res.status(), StatusCode::OK);
    let headers = res.headers().clone();
    assert_eq!(
        h(&headers, header::CONTENT_TYPE),
        "text/html; charset=utf-8"
    );
    assert_eq!(h(&headers, header::CACHE_CONTROL), "no-cache");
    assert_eq!(h(&headers, header::X_CONTENT_TYPE_OPTIONS), "nosniff");
    let csp = h(&headers, header::CONTENT_SECURITY_POLICY);
    assert!(csp.contains("script-src 'self'"), "{csp}");
    assert!(!csp.contains("unsafe-inline"), "{csp}");
    let html = res.text().await.expect("html");
    assert!(html.contains("js/main.js"), "{html}");

    // Each kind of file with its type.
    for (path, ct) in [
        ("/app/index.html", "text/html; charset=utf-8"),
        ("/app/js/main.js", "text/javascript; charset=utf-8"),
        ("/app/js/locales/ru.js", "text/javascript; charset=utf-8"),
        ("/app/css/app.css", "text/css; charset=utf-8"),
        ("/app/img/favicon.svg", "image/svg+xml"),
    ] {
        let res = http.get(s.url(path)).send().await.expect(path);
        assert_eq!(res.status(), StatusCode::OK, "{path}");
        assert_eq!(h(res.headers(), header::CONTENT_TYPE), ct, "{path}");
        assert!(!h(res.headers(), header::ETAG).is_empty(), "{path} ETag");
        let body = res.bytes().await.expect("body");
        assert!(!body.is_empty(), "{path} empty");
    }

    // ETag revalidation: the same tag answers 304 with no body; HEAD has the headers.
    let res = http
        .get(s.url("/app/js/main.js"))
        .send()
        .await
        .expect("main");
    let etag = h(res.headers(), header::ETAG).to_string();
    assert!(etag.starts_with('"') && etag.ends_with('"'), "{etag}");
    let res = http
        .get(s.url("/app/js/main.js"))
        .header(header::IF_NONE_MATCH, &etag)
        .send()
        .await
        .expect("revalidate");
    assert_eq!(res.status(), StatusCode::NOT_MODIFIED);
    assert_eq!(h(res.headers(), header::ETAG), etag);
    assert!(res.bytes().await.expect("body").is_empty());
    let res = http
        .get(s.url("/app/js/main.js"))
        .header(header::IF_NONE_MATCH, "\"something-else\"")
        .send()
        .await
        .expect("changed");
    assert_eq!(res.status(), StatusCode::OK);
    let res = http
        .head(s.url("/app/css/app.css"))
        .send()
        .await
        .expect("head");
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(
        h(res.headers(), header::CONTENT_TYPE),
        "text/css; charset=utf-8"
    );

    // Gzip for clients that accept it, with its own tag; plain bytes otherwise.
    let plain = http
        .get(s.url("/app/css/app.css"))
        .send()
        .await
        .expect("plain");
    assert_eq!(h(plain.headers(), header::CONTENT_ENCODING), "");
    let plain_len = plain.bytes().await.expect("css").len();
    let gz = http
        .get(s.url("/app/css/app.css"))
        .header(header::ACCEPT_ENCODING, "gzip, deflate, br")
        .send()
        .await
        .expect("gzip");
    assert_eq!(h(gz.headers(), header::CONTENT_ENCODING), "gzip");
    assert!(h(gz.headers(), header::VARY).contains("Accept-Encoding"));
    let gz_etag = h(gz.headers(), header::ETAG).to_string();
    let gz_body = gz.bytes().await.expect("gz");
    assert_eq!(&gz_body[..2], &[0x1f, 0x8b], "gzip magic");
    assert!(
        gz_body.len() < plain_len,
        "{} >= {plain_len}",
        gz_body.len()
    );
    let res = http
        .get(s.url("/app/css/app.css"))
        .header(header::ACCEPT_ENCODING, "gzip")
        .header(header::IF_NONE_MATCH, &gz_etag)
        .send()
        .await
        .expect("gz revalidate");
    assert_eq!(res.status(), StatusCode::NOT_MODIFIED);

    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_files_are_404_and_nothing_outside_the_folder_is_reachable() {
    let s = TestServer::sqlite().await;
    let http = no_redirects();

    for path in [
        "/app/nope.js",
        "/app/js/nope/deeper.css",
        "/app/js/",
        "/app/.hidden",
        // Encoded separators and dots reach the handler as `..` segments after decoding.
        "/app/..%2F..%2FCargo.toml",
        "/app/js%2F..%2F..%2F..%2FCargo.toml",
        "/app/%2e%2e%2f%2e%2e%2fCargo.toml",
        "/app/..%5C..%5CCargo.toml",
        "/app/%2Fetc%2Fpasswd",
        "/app/js/%00main.js",
    ] {
        let res = http.get(s.url(path)).send().await.expect(path);
        assert_eq!(res.status(), StatusCode::NOT_FOUND, "{path}");
        let body = res.text().await.expect("body");
        assert!(body.contains("not_found"), "{path}: {body}");
        assert!(!body.contains("[workspace]"), "{path} leaked a file");
    }

    // Raw request lines, which an HTTP client library would normalise before sending.
    let addr = s.base.trim_start_matches("http://").to_string();
    for target in [
        "/app/../../Cargo.toml",
        "/app/../Cargo.toml",
        "/app/js/../../../Cargo.toml",
        "/app/./js/../../crates/http/Cargo.toml",
        "/app//etc/passwd",
    ] {
        let mut sock = tokio::net::TcpStream::connect(&addr)
            .await
            .expect("connect");
        let req = format!("GET {target} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
        sock.write_all(req.as_bytes()).await.expect("write");
        let mut out = Vec::new();
        sock.read_to_end(&mut out).await.expect("read");
        let text = String::from_utf8_lossy(&out);
        let status_line = text.lines().next().unwrap_or("");
        assert!(
            !status_line.contains(" 200 "),
            "{target}: {status_line}\n{text}"
        );
        assert!(
            !text.contains("[workspace]") && !text.contains("[package]") && !text.contains("root:"),
            "{target} leaked a file:\n{text}"
        );
    }

    s.stop().await;
}

/// Every kind of activity line the server writes has a phrase in both of the console's
/// dictionaries, as served (the console renders `content_attributes.activity` through them).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_activity_kind_has_a_phrase_in_both_languages() {
    let s = TestServer::sqlite().await;
    for lang in ["en", "ru"] {
        let res = s
            .http
            .get(s.url(&format!("/app/js/locales/{lang}.js")))
            .send()
            .await
            .expect("request");
        assert_eq!(res.status(), StatusCode::OK);
        let dict = res.text().await.expect("body");
        for kind in parley_core::activity::KINDS {
            assert!(
                dict.contains(&format!("'activity.{kind}':")),
                "{lang}.js has no phrase for activity kind {kind}"
            );
        }
    }
    s.stop().await;
}
