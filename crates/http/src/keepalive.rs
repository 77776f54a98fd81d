//! Keeping pooled HTTP clients working after an answer that did not read the request body.
//!
//! A request refused before its body was read (a path parameter that does not parse, a
//! missing token, an unknown route) leaves the body's bytes on the connection. hyper then
//! closes the connection after the response, but the response did not say so: a keep-alive
//! client (Node's agent, Python's sessions, reqwest's pool) sends its next request on the
//! dead socket and sees "socket hang up". So every request body is watched, and a response
//! to a request whose body was not read to its end says `Connection: close`: the client
//! opens a fresh connection for its next request instead.

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};

use axum::body::{Body, HttpBody};
use axum::extract::Request;
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;
use bytes::Bytes;
use hyper::body::{Frame, SizeHint};

/// A request body that records when it has been read to its end.
struct Watched {
    inner: Body,
    done: Arc<AtomicBool>,
}

impl HttpBody for Watched {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.inner).poll_frame(cx);
        let ended = match &polled {
            Poll::Ready(None) => true,
            Poll::Ready(Some(Ok(_))) => this.inner.is_end_stream(),
            // A broken body leaves the connection unusable either way.
            Poll::Ready(Some(Err(_))) | Poll::Pending => false,
        };
        if ended {
            this.done.store(true, Ordering::Release);
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// Middleware: answers `Connection: close` when the request carried a body that the
/// handler did not read to its end (see the module's comment).
pub async fn close_if_body_unread(req: Request, next: Next) -> Response {
    if req.body().is_end_stream() {
        // No body (or an empty one): nothing can be left on the wire.
        return next.run(req).await;
    }
    let done = Arc::new(AtomicBool::new(false));
    let watched = done.clone();
    let req = req.map(|inner| {
        Body::new(Watched {
            inner,
            done: watched,
        })
    });
    let mut res = next.run(req).await;
    if !done.load(Ordering::Acquire) {
        res.headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    res
}

/// Rewrites an API path's trailing slash away before routing, so
/// `POST /api/v1/accounts/1/inboxes/` is `POST /api/v1/accounts/1/inboxes`, as Chatwoot's
/// routes answer both forms (its own swagger document writes some paths with the slash).
/// Only the API's paths: the console's, the docs page's and the widget's files keep their
/// own rules.
pub fn trim_trailing_slash<B>(mut req: axum::http::Request<B>) -> axum::http::Request<B> {
    let path = req.uri().path();
    // Not `/api/docs/`, whose slash is part of the docs page's address.
    let is_api = ["/api/v1/", "/api/v2/", "/public/api/"]
        .iter()
        .any(|p| path.starts_with(p));
    if !is_api || path.len() < 2 || !path.ends_with('/') {
        return req;
    }
    let trimmed = path.trim_end_matches('/');
    let new = match req.uri().query() {
        Some(q) => format!("{trimmed}?{q}"),
        None => trimmed.to_string(),
    };
    let mut parts = req.uri().clone().into_parts();
    match new.parse() {
        Ok(pq) => parts.path_and_query = Some(pq),
        Err(_) => return req,
    }
    if let Ok(uri) = axum::http::Uri::from_parts(parts) {
        *req.uri_mut() = uri;
    }
    req
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path_of(uri: &str) -> String {
        let req = axum::http::Request::builder()
            .uri(uri)
            .body(())
            .expect("request");
        trim_trailing_slash(req).uri().to_string()
    }

    #[test]
    fn api_paths_lose_their_trailing_slash_only() {
        assert_eq!(
            path_of("/api/v1/accounts/1/inboxes/"),
            "/api/v1/accounts/1/inboxes"
        );
        assert_eq!(
            path_of("/api/v1/accounts/1/inboxes/?page=2"),
            "/api/v1/accounts/1/inboxes?page=2"
        );
        assert_eq!(
            path_of("/public/api/v1/inboxes/abc/contacts/"),
            "/public/api/v1/inboxes/abc/contacts"
        );
        assert_eq!(path_of("/app/"), "/app/");
        assert_eq!(path_of("/api/docs/"), "/api/docs/");
        assert_eq!(path_of("/api/v1/profile"), "/api/v1/profile");
    }
}
