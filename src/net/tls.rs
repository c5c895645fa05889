//! TLS client settings for both protocols: the system's roots plus an
//! optional extra CA (`ca_file`), always verified, rustls with ring.

use std::path::Path;
use std::sync::Arc;

/// Why TLS settings for `host` could not be built.
#[derive(Debug, thiserror::Error)]
#[error("TLS with {host}: {message}")]
pub struct TlsError {
    pub host: String,
    pub message: String,
}

/// The client configuration for `host`: system roots, plus `ca_file`.
pub fn client_config(
    ca_file: Option<&Path>,
    host: &str,
) -> Result<Arc<rustls::ClientConfig>, TlsError> {
    let err = |message: String| TlsError {
        host: host.to_string(),
        message,
    };
    let mut roots = rustls::RootCertStore::empty();
    let native = rustls_native_certs::load_native_certs();
    for cert in native.certs {
        // A broken system certificate must not stop the others from loading.
        let _ = roots.add(cert);
    }
    if let Some(path) = ca_file {
        use rustls_pki_types::pem::PemObject;
        let certs = rustls_pki_types::CertificateDer::pem_file_iter(path)
            .map_err(|e| err(format!("ca_file {}: {e}", path.display())))?;
        for c in certs {
            let c = c.map_err(|e| err(format!("ca_file {}: {e}", path.display())))?;
            roots
                .add(c)
                .map_err(|e| err(format!("ca_file {}: {e}", path.display())))?;
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let cfg = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| err(e.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(cfg))
}
