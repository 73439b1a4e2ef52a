//! Server-side TLS: the certificate from files, or a self-signed one generated on first
//! start and kept under the data directory so that clients can pin it.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::ServerConfig;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

/// Why TLS could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// A file could not be read or written.
    #[error("TLS file {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// A PEM file held no usable certificate or key.
    #[error("TLS file {path}: {reason}")]
    Pem {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// Certificate generation failed.
    #[error("generating a self-signed certificate: {0}")]
    Generate(#[from] rcgen::Error),
    /// rustls refused the certificate and key.
    #[error("TLS configuration: {0}")]
    Rustls(#[from] rustls::Error),
}

/// The crypto provider used everywhere (ring: builds for aarch64 with a plain C compiler).
pub fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// Loads `cert`/`key`, or with `None` uses (creating if needed) a self-signed pair in
/// `generated_dir` for `hostname`.
pub fn server_config(
    files: Option<(&Path, &Path)>,
    generated_dir: &Path,
    hostname: &str,
) -> Result<Arc<ServerConfig>, TlsError> {
    let (cert_path, key_path) = match files {
        Some((c, k)) => (c.to_path_buf(), k.to_path_buf()),
        None => ensure_self_signed(generated_dir, hostname)?,
    };
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(&cert_path)
        .map_err(|e| TlsError::Pem {
            path: cert_path.clone(),
            reason: e.to_string(),
        })?
        .collect::<Result<_, _>>()
        .map_err(|e| TlsError::Pem {
            path: cert_path.clone(),
            reason: e.to_string(),
        })?;
    if certs.is_empty() {
        return Err(TlsError::Pem {
            path: cert_path,
            reason: "no certificate found".into(),
        });
    }
    let key = PrivateKeyDer::from_pem_file(&key_path).map_err(|e| TlsError::Pem {
        path: key_path.clone(),
        reason: e.to_string(),
    })?;
    let config = ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(certs, key)?;
    Ok(Arc::new(config))
}

/// Paths of the generated certificate and key, creating them if absent.
pub fn ensure_self_signed(dir: &Path, hostname: &str) -> Result<(PathBuf, PathBuf), TlsError> {
    let cert_path = dir.join("smtpd-cert.pem");
    let key_path = dir.join("smtpd-key.pem");
    if cert_path.exists() && key_path.exists() {
        return Ok((cert_path, key_path));
    }
    fs::create_dir_all(dir).map_err(|source| TlsError::Io {
        path: dir.to_path_buf(),
        source,
    })?;
    let names = vec![hostname.to_string(), "localhost".to_string()];
    let rcgen::CertifiedKey { cert, signing_key } = rcgen::generate_simple_self_signed(names)?;
    write_private(&key_path, signing_key.serialize_pem().as_bytes())?;
    fs::write(&cert_path, cert.pem()).map_err(|source| TlsError::Io {
        path: cert_path.clone(),
        source,
    })?;
    tracing::info!(cert = %cert_path.display(), "generated a self-signed TLS certificate");
    Ok((cert_path, key_path))
}

/// Writes a secret readable by the owner only.
fn write_private(path: &Path, bytes: &[u8]) -> Result<(), TlsError> {
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .map_err(|source| TlsError::Io {
            path: path.to_path_buf(),
            source,
        })?;
    f.write_all(bytes).map_err(|source| TlsError::Io {
        path: path.to_path_buf(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn self_signed_is_generated_once_and_loads() {
        let dir = tempfile::tempdir().unwrap();
        let (c1, _) = ensure_self_signed(dir.path(), "gw.example.jp").unwrap();
        let first = fs::read(&c1).unwrap();
        server_config(None, dir.path(), "gw.example.jp").unwrap();
        assert_eq!(fs::read(&c1).unwrap(), first, "kept across restarts");
        let mode = std::os::unix::fs::PermissionsExt::mode(
            &fs::metadata(dir.path().join("smtpd-key.pem"))
                .unwrap()
                .permissions(),
        );
        assert_eq!(mode & 0o077, 0, "key readable by owner only");
    }

    #[test]
    fn garbage_pem_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let c = dir.path().join("c.pem");
        let k = dir.path().join("k.pem");
        fs::write(&c, "nope").unwrap();
        fs::write(&k, "nope").unwrap();
        let err = server_config(Some((&c, &k)), dir.path(), "x")
            .unwrap_err()
            .to_string();
        assert!(err.contains("c.pem"), "{err}");
    }
}
