//! TLS client settings for both protocols: the system's roots plus an
//! optional extra CA (`ca_file`), always verified, rustls with ring.

use std::path::Path;
use std::sync::Arc;

/// A TLS step that failed, named by the operation, with its cause kept
/// as `source()` (printed once, at the edge, by [`crate::report`]).
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("cannot read the CA file {}", path.display())]
    CaFile {
        path: std::path::PathBuf,
        #[source]
        cause: rustls_pki_types::pem::Error,
    },
    #[error("the CA file {} holds a certificate that cannot be trusted", path.display())]
    CaCert {
        path: std::path::PathBuf,
        #[source]
        cause: rustls::Error,
    },
    #[error("cannot set up TLS")]
    Setup(#[source] rustls::Error),
    #[error("`{host}` is not a name a TLS certificate can be checked against")]
    ServerName {
        host: String,
        #[source]
        cause: rustls_pki_types::InvalidDnsNameError,
    },
    #[error("cannot open the TLS session to {addr}")]
    Handshake {
        addr: String,
        #[source]
        cause: std::io::Error,
    },
}

/// The client configuration: system roots, plus `ca_file`.
pub fn client_config(ca_file: Option<&Path>) -> Result<Arc<rustls::ClientConfig>, TlsError> {
    let mut roots = rustls::RootCertStore::empty();
    let native = rustls_native_certs::load_native_certs();
    for cert in native.certs {
        // A broken system certificate must not stop the others from loading.
        let _ = roots.add(cert);
    }
    if let Some(path) = ca_file {
        use rustls_pki_types::pem::PemObject;
        let file = |cause| TlsError::CaFile {
            path: path.to_path_buf(),
            cause,
        };
        for c in rustls_pki_types::CertificateDer::pem_file_iter(path).map_err(file)? {
            roots
                .add(c.map_err(file)?)
                .map_err(|cause| TlsError::CaCert {
                    path: path.to_path_buf(),
                    cause,
                })?;
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let cfg = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(TlsError::Setup)?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(cfg))
}
