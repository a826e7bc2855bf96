//! TLS to PostgreSQL and Redis, with rustls: certificates verified against the
//! system's roots, or against the CA certificates of a PEM file
//! ([`Config::tls_ca`](crate::Config::tls_ca)) for a deployment with its own CA.
//! rustls always checks the chain and the host name (or IP address) the URL names,
//! so PostgreSQL's `sslmode=require` here means what libpq calls `verify-full`.

use std::path::Path;
use std::sync::Arc;

use pw_auth_axum::{StoreError, StoreErrorKind};
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;

/// The CA certificates of the PEM file at `path`, as DER.
fn ca_file(path: &Path) -> Result<Vec<CertificateDer<'static>>, StoreError> {
    let certs = CertificateDer::pem_file_iter(path)
        .and_then(|it| it.collect::<Result<Vec<_>, _>>())
        .map_err(|e| ca_error(path, "cannot be read").caused_by(e))?;
    if certs.is_empty() {
        return Err(ca_error(path, "holds no certificate"));
    }
    Ok(certs)
}

/// The roots a server's certificate is verified against.
fn roots(ca: Option<&Path>) -> Result<rustls::RootCertStore, StoreError> {
    let mut roots = rustls::RootCertStore::empty();
    match ca {
        Some(path) => {
            for cert in ca_file(path)? {
                roots.add(cert).map_err(|e| {
                    ca_error(path, "holds a certificate rustls refuses").caused_by(e)
                })?;
            }
        }
        None => {
            // Certificates the system has that cannot be read are skipped, as every
            // client does; none at all leaves no server trusted (every TLS fails).
            let found = rustls_native_certs::load_native_certs();
            let _ = roots.add_parsable_certificates(found.certs);
        }
    }
    Ok(roots)
}

/// A rustls client configuration trusting `ca` (or the system's roots).
pub(crate) fn client_config(ca: Option<&Path>) -> Result<Arc<rustls::ClientConfig>, StoreError> {
    let config = rustls::ClientConfig::builder()
        .with_root_certificates(roots(ca)?)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

/// The PEM text of the CA file, for redis-rs (which builds its own configuration).
pub(crate) fn ca_pem(ca: &Path) -> Result<Vec<u8>, StoreError> {
    // Read through the parser first, so a broken file is refused with its reason.
    ca_file(ca)?;
    std::fs::read(ca).map_err(|e| ca_error(ca, "cannot be read").caused_by(e))
}

/// The CA file at `path` is unusable: `why`. Nothing TLS-protected can be reached.
fn ca_error(path: &Path, why: &str) -> StoreError {
    StoreError::new(
        StoreErrorKind::Unavailable,
        format!("the CA file {} {why}", path.display()),
    )
}
