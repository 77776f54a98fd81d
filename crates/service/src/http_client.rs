//! The outgoing HTTP/1.1 client of webhooks and the Telegram Bot API.
//!
//! A few hundred lines on the hyper and rustls that the server already links, instead of
//! reqwest, which brought its own HTTP stack, proxy, redirect and cookie machinery into a
//! binary with a 25 MB budget. What Parley needs is small: one request at a time per
//! connection, HTTPS with the system roots (ring provider, no OpenSSL), a resolver the
//! caller can replace (the webhooks' SSRF guard checks every address it connects to), a
//! deadline over the whole exchange, bounded reads of the answer, and keep-alive
//! connections reused per origin.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::{self, SendRequest};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use tokio::time::Instant;
use tokio_rustls::TlsConnector;
use tokio_rustls::rustls::pki_types::{CertificateDer, ServerName, pem::PemObject};
use tokio_rustls::rustls::{self, ClientConfig, RootCertStore};
use tracing::Instrument;

/// Idle connections kept per origin; more are closed when they come back.
const MAX_IDLE_PER_ORIGIN: usize = 8;
/// An idle connection older than this is not reused (servers close theirs after 5–75 s).
const IDLE_REUSE: Duration = Duration::from_secs(30);
/// Origins with idle connections, at most (a bound on what many receivers can make us keep).
const MAX_POOLED_ORIGINS: usize = 256;

/// Why an exchange failed. The text is what delivery logs and activity lines show.
#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    /// The URL is not an absolute http(s) URL with a host.
    #[error("invalid URL: {0}")]
    Url(String),
    /// The name did not resolve, or the resolver refused it (the SSRF guard).
    #[error("{0}")]
    Resolve(String),
    /// No connection to any of the addresses.
    #[error("connection to {host} failed: {reason}")]
    Connect { host: String, reason: String },
    /// The TLS handshake failed (certificate, protocol).
    #[error("TLS with {host} failed: {reason}")]
    Tls { host: String, reason: String },
    /// The exchange did not finish before its deadline.
    #[error("timed out after {0:?}")]
    Timeout(Duration),
    /// The connection broke or the server spoke something else than HTTP/1.1.
    #[error("HTTP exchange failed: {0}")]
    Protocol(String),
    /// The answer was larger than the caller accepts.
    #[error("the answer is larger than {0} bytes")]
    TooLarge(u64),
}

/// Where a host name's addresses come from.
pub trait Resolve: Send + Sync {
    /// The addresses to try for `host`, or why the host may not be reached (the text is
    /// shown as the error).
    fn resolve(
        &self,
        host: &str,
        port: u16,
    ) -> futures::future::BoxFuture<'static, Result<Vec<SocketAddr>, String>>;
}

/// The system resolver, no questions asked.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemResolver;

impl Resolve for SystemResolver {
    fn resolve(
        &self,
        host: &str,
        port: u16,
    ) -> futures::future::BoxFuture<'static, Result<Vec<SocketAddr>, String>> {
        let host = host.to_string();
        Box::pin(async move {
            tokio::net::lookup_host((host.as_str(), port))
                .await
                .map(|a| a.collect())
                .map_err(|e| format!("{host} does not resolve: {e}"))
        })
    }
}

/// A rustls client configuration: the system's root certificates plus, when given, extra
/// roots in PEM (a company CA, or the tests' own CA). Verification is never switched off.
pub fn tls_config(extra_roots_pem: Option<&[u8]>) -> Result<Arc<ClientConfig>, String> {
    let mut roots = RootCertStore::empty();
    roots.add_parsable_certificates(rustls_native_certs::load_native_certs().certs);
    if let Some(pem) = extra_roots_pem {
        let certs = CertificateDer::pem_slice_iter(pem)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| format!("extra root certificates: {e}"))?;
        if certs.is_empty() {
            return Err("extra root certificates: no certificate in the PEM text".into());
        }
        for c in certs {
            roots
                .add(c)
                .map_err(|e| format!("extra root certificates: {e}"))?;
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS configuration: {e}"))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// The system roots' configuration, built once (reading the roots takes milliseconds).
fn system_tls() -> Result<Arc<ClientConfig>, String> {
    static TLS: OnceLock<Result<Arc<ClientConfig>, String>> = OnceLock::new();
    TLS.get_or_init(|| tls_config(None)).clone()
}

/// A request: method, absolute URL, headers and a body held in memory.
#[derive(Debug, Clone)]
pub struct Request {
    pub method: hyper::Method,
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: Bytes,
}

impl Request {
    /// A POST of `body` with its content type.
    pub fn post(url: impl Into<String>, content_type: &str, body: impl Into<Bytes>) -> Self {
        Self {
            method: hyper::Method::POST,
            url: url.into(),
            headers: vec![("content-type".into(), content_type.into())],
            body: body.into(),
        }
    }

    /// A GET.
    pub fn get(url: impl Into<String>) -> Self {
        Self {
            method: hyper::Method::GET,
            url: url.into(),
            headers: Vec::new(),
            body: Bytes::new(),
        }
    }

    /// Adds a header.
    pub fn header(mut self, name: &str, value: impl Into<String>) -> Self {
        self.headers.push((name.to_string(), value.into()));
        self
    }
}

/// An answer whose body is read on demand, within the exchange's deadline.
pub struct Response {
    pub status: u16,
    /// `Content-Length`, when the server sent one.
    pub content_length: Option<u64>,
    body: hyper::body::Incoming,
    deadline: Instant,
    timeout: Duration,
    /// Where the connection goes back when the body was read to its end.
    reuse: Option<(Arc<Pool>, Origin, Sender)>,
}

impl Response {
    /// The next piece of the body, `None` at its end.
    pub async fn chunk(&mut self) -> Result<Option<Bytes>, HttpError> {
        loop {
            let frame = tokio::time::timeout_at(self.deadline, self.body.frame())
                .await
                .map_err(|_| HttpError::Timeout(self.timeout))?;
            match frame {
                None => {
                    if let Some((pool, origin, sender)) = self.reuse.take() {
                        pool.put(origin, sender);
                    }
                    return Ok(None);
                }
                Some(Err(e)) => return Err(HttpError::Protocol(e.to_string())),
                Some(Ok(f)) => {
                    if let Ok(data) = f.into_data()
                        && !data.is_empty()
                    {
                        return Ok(Some(data));
                    }
                }
            }
        }
    }

    /// The whole body, refused beyond `max` bytes (before or while it streams in).
    pub async fn bytes(&mut self, max: u64) -> Result<Vec<u8>, HttpError> {
        if self.content_length.is_some_and(|n| n > max) {
            return Err(HttpError::TooLarge(max));
        }
        let mut out = Vec::new();
        while let Some(c) = self.chunk().await? {
            if out.len() as u64 + c.len() as u64 > max {
                return Err(HttpError::TooLarge(max));
            }
            out.extend_from_slice(&c);
        }
        Ok(out)
    }

    /// At most the first `max` bytes of the body; the rest is never downloaded (and the
    /// connection is then not reused).
    pub async fn prefix(&mut self, max: usize) -> Vec<u8> {
        let mut out = Vec::new();
        while out.len() < max {
            match self.chunk().await {
                Ok(Some(c)) => {
                    let room = max - out.len();
                    out.extend_from_slice(&c[..c.len().min(room)]);
                }
                Ok(None) | Err(_) => break,
            }
        }
        out
    }
}

/// Scheme, host and port: what a kept-alive connection may be reused for.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Origin {
    https: bool,
    host: String,
    port: u16,
}

/// A kept-alive connection's sending half.
type Sender = SendRequest<Full<Bytes>>;

/// Idle kept-alive connections per origin, each with the time it became idle.
#[derive(Default)]
struct Pool {
    idle: Mutex<HashMap<Origin, Vec<(Instant, Sender)>>>,
}

impl Pool {
    fn take(&self, origin: &Origin) -> Option<Sender> {
        let mut idle = self.idle.lock().unwrap_or_else(|p| p.into_inner());
        let list = idle.get_mut(origin)?;
        while let Some((since, sender)) = list.pop() {
            if since.elapsed() < IDLE_REUSE && !sender.is_closed() && sender.is_ready() {
                return Some(sender);
            }
        }
        idle.remove(origin);
        None
    }

    fn put(&self, origin: Origin, sender: Sender) {
        if sender.is_closed() {
            return;
        }
        let mut idle = self.idle.lock().unwrap_or_else(|p| p.into_inner());
        if !idle.contains_key(&origin) && idle.len() >= MAX_POOLED_ORIGINS {
            return;
        }
        let list = idle.entry(origin).or_default();
        list.retain(|(since, s)| since.elapsed() < IDLE_REUSE && !s.is_closed());
        if list.len() < MAX_IDLE_PER_ORIGIN {
            list.push((Instant::now(), sender));
        }
    }
}

/// An HTTP/1.1 client: a resolver, TLS settings, timeouts and a keep-alive pool.
#[derive(Clone)]
pub struct HttpClient {
    resolver: Arc<dyn Resolve>,
    tls: Option<Arc<ClientConfig>>,
    timeout: Duration,
    connect_timeout: Duration,
    user_agent: String,
    pool: Arc<Pool>,
}

impl HttpClient {
    /// A client with the system resolver and roots; `timeout` bounds every exchange
    /// (connection, request and reading the answer).
    pub fn new(timeout: Duration, user_agent: &str) -> Self {
        Self {
            resolver: Arc::new(SystemResolver),
            tls: None,
            timeout,
            connect_timeout: timeout.min(Duration::from_secs(10)),
            user_agent: user_agent.to_string(),
            pool: Arc::default(),
        }
    }

    /// Replaces the resolver (the webhooks' SSRF guard).
    pub fn with_resolver(mut self, resolver: Arc<dyn Resolve>) -> Self {
        self.resolver = resolver;
        self
    }

    /// Trusts these TLS settings instead of the system roots (a company CA).
    pub fn with_tls(mut self, config: Arc<ClientConfig>) -> Self {
        self.tls = Some(config);
        self
    }

    /// Bounds the connection (TCP and TLS) on its own.
    pub fn with_connect_timeout(mut self, t: Duration) -> Self {
        self.connect_timeout = t;
        self
    }

    /// Sends `req` and waits for the answer's head, within the client's timeout.
    pub async fn send(&self, req: Request) -> Result<Response, HttpError> {
        self.send_within(req, self.timeout).await
    }

    /// Sends `req` with its own timeout (a long poll waits longer than other calls).
    pub async fn send_within(
        &self,
        req: Request,
        timeout: Duration,
    ) -> Result<Response, HttpError> {
        let deadline = Instant::now() + timeout;
        let url = url::Url::parse(&req.url).map_err(|e| HttpError::Url(e.to_string()))?;
        let https = match url.scheme() {
            "https" => true,
            "http" => false,
            s => return Err(HttpError::Url(format!("unsupported scheme {s}"))),
        };
        let host = match url.host() {
            Some(url::Host::Domain(d)) => d.to_string(),
            Some(url::Host::Ipv4(ip)) => ip.to_string(),
            Some(url::Host::Ipv6(ip)) => ip.to_string(),
            None => return Err(HttpError::Url("no host".into())),
        };
        let port = url
            .port_or_known_default()
            .ok_or_else(|| HttpError::Url("no port".into()))?;
        let origin = Origin { https, host, port };
        let span = tracing::debug_span!("http_out", host = %origin.host, method = %req.method);
        tokio::time::timeout_at(
            deadline,
            self.exchange(req, &url, origin, deadline, timeout),
        )
        .instrument(span)
        .await
        .map_err(|_| HttpError::Timeout(timeout))?
    }

    async fn exchange(
        &self,
        req: Request,
        url: &url::Url,
        origin: Origin,
        deadline: Instant,
        timeout: Duration,
    ) -> Result<Response, HttpError> {
        let mut target = url.path().to_string();
        if let Some(q) = url.query() {
            target.push('?');
            target.push_str(q);
        }
        let host_header = match (url.host_str(), url.port()) {
            (Some(h), Some(p)) => format!("{h}:{p}"),
            (Some(h), None) => h.to_string(),
            (None, _) => return Err(HttpError::Url("no host".into())),
        };
        let mut builder = hyper::Request::builder()
            .method(req.method)
            .uri(target)
            .header(hyper::header::HOST, host_header)
            .header(hyper::header::USER_AGENT, &self.user_agent);
        for (k, v) in &req.headers {
            builder = builder.header(k.as_str(), v.as_str());
        }
        let request = builder
            .body(Full::new(req.body))
            .map_err(|e| HttpError::Url(format!("request: {e}")))?;
        let mut sender = match self.pool.take(&origin) {
            Some(s) => s,
            None => self.connect(&origin).await?,
        };
        let answer = sender
            .send_request(request)
            .await
            .map_err(|e| HttpError::Protocol(crate::mail::error_chain(&e)))?;
        let content_length = answer
            .headers()
            .get(hyper::header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse().ok());
        let keep = !answer
            .headers()
            .get(hyper::header::CONNECTION)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.eq_ignore_ascii_case("close"));
        Ok(Response {
            status: answer.status().as_u16(),
            content_length,
            body: answer.into_body(),
            deadline,
            timeout,
            reuse: keep.then(|| (self.pool.clone(), origin, sender)),
        })
    }

    async fn connect(&self, origin: &Origin) -> Result<Sender, HttpError> {
        let addrs = self
            .resolver
            .resolve(&origin.host, origin.port)
            .await
            .map_err(HttpError::Resolve)?;
        if addrs.is_empty() {
            return Err(HttpError::Resolve(format!(
                "{} resolves to no address",
                origin.host
            )));
        }
        let connect = async {
            let mut last = String::new();
            for a in &addrs {
                match TcpStream::connect(a).await {
                    Ok(s) => {
                        let _ = s.set_nodelay(true);
                        return Ok(s);
                    }
                    Err(e) => last = format!("{a}: {e}"),
                }
            }
            Err(HttpError::Connect {
                host: origin.host.clone(),
                reason: last,
            })
        };
        let tcp = tokio::time::timeout(self.connect_timeout, connect)
            .await
            .map_err(|_| HttpError::Connect {
                host: origin.host.clone(),
                reason: format!("no answer within {:?}", self.connect_timeout),
            })??;
        if origin.https {
            let config = match &self.tls {
                Some(c) => c.clone(),
                None => system_tls().map_err(|reason| HttpError::Tls {
                    host: origin.host.clone(),
                    reason,
                })?,
            };
            let name = ServerName::try_from(origin.host.clone()).map_err(|e| HttpError::Tls {
                host: origin.host.clone(),
                reason: e.to_string(),
            })?;
            let tls = tokio::time::timeout(
                self.connect_timeout,
                TlsConnector::from(config).connect(name, tcp),
            )
            .await
            .map_err(|_| HttpError::Tls {
                host: origin.host.clone(),
                reason: format!("no handshake within {:?}", self.connect_timeout),
            })?
            .map_err(|e| HttpError::Tls {
                host: origin.host.clone(),
                reason: e.to_string(),
            })?;
            handshake(TokioIo::new(tls)).await
        } else {
            handshake(TokioIo::new(tcp)).await
        }
    }
}

/// The HTTP/1.1 handshake over a connected stream; the connection task runs until the
/// sender is dropped or the server closes.
async fn handshake<T>(io: T) -> Result<Sender, HttpError>
where
    T: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let (sender, conn) = http1::handshake(io)
        .await
        .map_err(|e| HttpError::Protocol(e.to_string()))?;
    tokio::spawn(
        async move {
            if let Err(e) = conn.await {
                tracing::debug!(error = %e, "outgoing HTTP connection ended");
            }
        }
        .in_current_span(),
    );
    Ok(sender)
}

/// A `multipart/form-data` body: text fields and one file, with a random boundary.
pub struct Multipart {
    boundary: String,
    body: Vec<u8>,
}

impl Default for Multipart {
    fn default() -> Self {
        Self::new()
    }
}

impl Multipart {
    /// An empty form.
    pub fn new() -> Self {
        let boundary = format!("parley-{:032x}", rand::random::<u128>());
        Self {
            boundary,
            body: Vec::new(),
        }
    }

    fn head(&mut self, name: &str, file: Option<(&str, &str)>) {
        self.body
            .extend_from_slice(format!("--{}\r\n", self.boundary).as_bytes());
        let mut disposition = format!("Content-Disposition: form-data; name=\"{}\"", quote(name));
        if let Some((file_name, content_type)) = file {
            disposition.push_str(&format!(
                "; filename=\"{}\"\r\nContent-Type: {}",
                quote(file_name),
                content_type.replace(['\r', '\n'], "")
            ));
        }
        self.body.extend_from_slice(disposition.as_bytes());
        self.body.extend_from_slice(b"\r\n\r\n");
    }

    /// Adds a text field.
    pub fn text(mut self, name: &str, value: &str) -> Self {
        self.head(name, None);
        self.body.extend_from_slice(value.as_bytes());
        self.body.extend_from_slice(b"\r\n");
        self
    }

    /// Adds a file field.
    pub fn file(mut self, name: &str, file_name: &str, content_type: &str, bytes: &[u8]) -> Self {
        self.head(name, Some((file_name, content_type)));
        self.body.extend_from_slice(bytes);
        self.body.extend_from_slice(b"\r\n");
        self
    }

    /// The content type (with the boundary) and the finished body.
    pub fn finish(mut self) -> (String, Bytes) {
        self.body
            .extend_from_slice(format!("--{}--\r\n", self.boundary).as_bytes());
        (
            format!("multipart/form-data; boundary={}", self.boundary),
            Bytes::from(self.body),
        )
    }
}

/// A name or file name inside a quoted header parameter: quotes and line breaks escaped
/// as browsers do (RFC 7578 §4.2).
fn quote(s: &str) -> String {
    s.replace('"', "%22")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn multipart_body_has_fields_file_and_closing_boundary() {
        let (ct, body) = Multipart::new()
            .text("chat_id", "42")
            .file("photo", "a\"b.png", "image/png", b"PNG")
            .finish();
        let boundary = ct.strip_prefix("multipart/form-data; boundary=").unwrap();
        let text = String::from_utf8_lossy(&body);
        assert!(text.starts_with(&format!("--{boundary}\r\n")));
        assert!(text.contains("name=\"chat_id\"\r\n\r\n42\r\n"));
        assert!(text.contains(
            "name=\"photo\"; filename=\"a%22b.png\"\r\nContent-Type: image/png\r\n\r\nPNG\r\n"
        ));
        assert!(text.ends_with(&format!("--{boundary}--\r\n")));
    }
}
