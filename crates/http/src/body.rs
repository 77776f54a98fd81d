//! Reading request bodies under a limit without breaking the connection.
//!
//! A server that answers 413 and closes while the rest of the body is still arriving makes
//! the kernel reset the connection, and a reset can destroy the 413 response before the
//! client reads it: the client then sees "connection reset" instead of a clear error. So a
//! refused body is read to its end and discarded, up to [`DRAIN_CAP`]; only a body larger
//! than that (an abuse, not a mistake) is cut off.

use axum::body::Body;
use axum::extract::Multipart;
use axum::http::{HeaderMap, header};
use bytes::{Bytes, BytesMut};
use futures::StreamExt;

use crate::error::ApiError;

/// The most of a refused body that is still read and discarded.
pub const DRAIN_CAP: usize = 16 * 1024 * 1024;

/// The declared `Content-Length`, if any.
pub fn declared_length(headers: &HeaderMap) -> Option<usize> {
    headers
        .get(header::CONTENT_LENGTH)?
        .to_str()
        .ok()?
        .parse()
        .ok()
}

/// Reads the whole body if it is at most `limit` bytes. A larger body is read to its end
/// (up to [`DRAIN_CAP`]) and discarded, then refused with 413.
pub async fn read_limited(
    headers: &HeaderMap,
    body: Body,
    limit: usize,
) -> Result<Bytes, ApiError> {
    if declared_length(headers).is_some_and(|n| n > DRAIN_CAP) {
        return Err(ApiError::too_large("request body"));
    }
    let mut stream = body.into_data_stream();
    let mut buf = BytesMut::new();
    let mut seen = 0usize;
    while let Some(chunk) = stream.next().await {
        let chunk = chunk
            .map_err(|_| ApiError::bad_request("bad_request", "the request body broke off"))?;
        seen += chunk.len();
        if seen > limit {
            // Keep reading (and dropping) so the response is not lost to a reset.
            if seen > DRAIN_CAP {
                break;
            }
            continue;
        }
        buf.extend_from_slice(&chunk);
    }
    if seen > limit {
        return Err(ApiError::too_large("request body"));
    }
    Ok(buf.freeze())
}

/// Reads and discards what is left of a multipart body after it was refused part-way.
/// False when it stopped before the end (over [`DRAIN_CAP`], or a broken body): then the
/// connection must close.
pub async fn drain_multipart(mp: &mut Multipart) -> bool {
    let mut seen = 0usize;
    loop {
        match mp.next_field().await {
            Ok(Some(mut field)) => loop {
                match field.chunk().await {
                    Ok(Some(chunk)) => {
                        seen += chunk.len();
                        if seen > DRAIN_CAP {
                            return false;
                        }
                    }
                    Ok(None) => break,
                    Err(_) => return false,
                }
            },
            Ok(None) => return true,
            Err(_) => return false,
        }
    }
}
