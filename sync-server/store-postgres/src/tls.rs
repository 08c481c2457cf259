//! TLS to PostgreSQL: rustls on ring (the provider the server's HTTPS already uses), trusting
//! the system's CA store and, for a provider's private CA (Aliyun RDS, Tencent, AWS RDS and
//! others hand one out), the certificates of a PEM file.
//!
//! Whether TLS is used is the connection string's `sslmode`: `disable`, `prefer` (the default:
//! TLS when the server offers it) or `require`. The server's certificate and host name are
//! always verified, also under `require` (libpq's `require` takes any certificate): a
//! connection encrypted to whoever answers would carry customers' data to them.

use std::path::Path;

use rustls::RootCertStore;
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;
use tokio_postgres_rustls::MakeRustlsConnect;

use crate::error::{DbError, DbResult};

/// A CA file larger than this is not a CA file.
const CA_FILE_MAX: u64 = 4 << 20;

/// The connector every connection of the store (pool and change feed) is made with.
pub(crate) fn connector(ca_file: Option<&Path>) -> DbResult<MakeRustlsConnect> {
    let mut roots = RootCertStore::empty();
    let native = rustls_native_certs::load_native_certs();
    for e in &native.errors {
        tracing::debug!(error = %e, "a system CA certificate could not be read");
    }
    roots.add_parsable_certificates(native.certs);
    if let Some(path) = ca_file {
        let added = add_ca_file(&mut roots, path)?;
        tracing::info!(path = %path.display(), certificates = added, "trusting the database's CA file");
    }
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| DbError::Tls(e.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(MakeRustlsConnect::new(config))
}

/// Adds the PEM certificates in `path`; refuses a file that is missing, too large or holds none.
fn add_ca_file(roots: &mut RootCertStore, path: &Path) -> DbResult<usize> {
    let tls = |what: String| DbError::Tls(format!("database_ca_file {}: {what}", path.display()));
    let len = std::fs::metadata(path).map_err(|e| tls(e.to_string()))?.len();
    if len > CA_FILE_MAX {
        return Err(tls(format!("{len} bytes; a CA file is a few kilobytes of PEM")));
    }
    let pem = std::fs::read(path).map_err(|e| tls(e.to_string()))?;
    let certs = CertificateDer::pem_slice_iter(&pem).collect::<Result<Vec<_>, _>>().map_err(|e| tls(format!("not PEM: {e}")))?;
    let (added, _) = roots.add_parsable_certificates(certs);
    if added == 0 {
        return Err(tls("holds no usable certificate (expected -----BEGIN CERTIFICATE-----)".into()));
    }
    Ok(added)
}
