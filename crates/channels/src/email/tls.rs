//! TLS client settings shared by IMAP and SMTP: the system's root certificates plus, when
//! configured, extra roots (a company CA, or the tests' own CA). Certificate verification
//! is never switched off.

use std::sync::Arc;

use tokio_rustls::rustls::pki_types::{CertificateDer, pem::PemObject};
use tokio_rustls::rustls::{self, ClientConfig, RootCertStore};

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
/// certificates).
pub fn client_config(extra_roots_pem: Option<&[u8]>) -> Result<Arc<ClientConfig>, TlsSetupError> {
    let mut roots = RootCertStore::empty();
    let native = rustls_native_certs::load_native_certs();
    roots.add_parsable_certificates(native.certs);
    if let Some(pem) = extra_roots_pem {
        let certs = CertificateDer::pem_slice_iter(pem)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| TlsSetupError::BadRoots(e.to_string()))?;
        if certs.is_empty() {
            return Err(TlsSetupError::BadRoots(
                "no certificate in the PEM text".into(),
            ));
        }
        for c in certs {
            roots
                .add(c)
                .map_err(|e| TlsSetupError::BadRoots(e.to_string()))?;
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| TlsSetupError::Config(e.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth();
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
