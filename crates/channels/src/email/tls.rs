//! TLS client settings shared by IMAP and SMTP: the system's root certificates plus, when
//! configured, extra roots (a company CA, or the tests' own CA). Certificate verification
//! is never switched off.

use std::sync::Arc;

use tokio_rustls::rustls::ClientConfig;
use tokio_rustls::rustls::pki_types::{CertificateDer, pem::PemObject};

/// Why TLS could not be set up (a configuration problem, not a server's).
#[derive(Debug, thiserror::Error)]
pub enum TlsSetupError {
    /// The extra root certificates are not PEM certificates.
    #[error("extra root certificates: {0}")]
    BadRoots(String),
    /// rustls refused the configuration.
    #[error("TLS configuration: {0}")]
    Config(String),
}

/// The rustls client configuration: system roots, then `extra_roots_pem` (PEM, any number of
/// certificates); the same builder as webhooks' and Telegram's HTTPS, with IMAP's ALPN.
pub fn client_config(extra_roots_pem: Option<&[u8]>) -> Result<Arc<ClientConfig>, TlsSetupError> {
    let config = parley_service::http_client::tls_config(extra_roots_pem).map_err(|e| {
        if e.starts_with("extra root certificates") {
            TlsSetupError::BadRoots(e)
        } else {
            TlsSetupError::Config(e)
        }
    })?;
    let mut config = (*config).clone();
    config.alpn_protocols.clear();
    Ok(Arc::new(config))
}

/// A lettre root certificate list from the same PEM text.
pub fn lettre_roots(
    pem: &[u8],
) -> Result<lettre::transport::smtp::client::Certificate, TlsSetupError> {
    // lettre accepts PEM text without any certificate in it; that is a mistake to report.
    let count = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| TlsSetupError::BadRoots(e.to_string()))?
        .len();
    if count == 0 {
        return Err(TlsSetupError::BadRoots(
            "no certificate in the PEM text".into(),
        ));
    }
    lettre::transport::smtp::client::Certificate::from_pem(pem)
        .map_err(|e| TlsSetupError::BadRoots(e.to_string()))
}
