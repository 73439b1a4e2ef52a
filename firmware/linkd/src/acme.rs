//! The certificate for the public host name from an ACME CA (RFC 8555) by TLS-ALPN-01
//! (RFC 8737) on the service's own port: the account's key, the certificate and its key
//! are kept in the service's directory (keys mode 0600); the certificate is renewed 30 days
//! before its end; a failure is logged and tried again later, the service keeps serving
//! with what it has meanwhile.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use instant_acme::{
    Account, AccountCredentials, AuthorizationStatus, ChallengeType, Identifier, NewAccount,
    NewOrder, OrderStatus, RetryPolicy,
};
use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;

use crate::certs::Certs;

/// A certificate this close to its end is renewed.
pub const RENEW_BEFORE: Duration = Duration::from_secs(30 * 86_400);
/// How long after a failed order the next is tried.
pub const RETRY_AFTER: Duration = Duration::from_secs(3600);
/// How often the certificate's end is looked at.
const CHECK_EVERY: Duration = Duration::from_secs(12 * 3600);
/// The longest one order may take.
const ORDER_TIMEOUT: Duration = Duration::from_secs(300);

/// What the ACME task needs.
#[derive(Debug, Clone)]
pub struct AcmeSettings {
    /// The directory URL.
    pub directory: String,
    /// A contact address (without `mailto:`), or empty.
    pub contact: String,
    /// The CA of the ACME server's own HTTPS, when not a public one.
    pub ca: Option<PathBuf>,
    /// The host name to certify.
    pub host: String,
    /// Where the account and the certificate are kept.
    pub dir: PathBuf,
}

impl AcmeSettings {
    /// The certificate chain's file.
    pub fn cert_path(&self) -> PathBuf {
        self.dir.join("acme-cert.pem")
    }

    /// Its key's file.
    pub fn key_path(&self) -> PathBuf {
        self.dir.join("acme-key.pem")
    }

    fn account_path(&self) -> PathBuf {
        self.dir.join("acme-account.json")
    }
}

/// Why an order failed.
#[derive(Debug, thiserror::Error)]
pub enum AcmeError {
    /// The ACME protocol or the CA refused.
    #[error("ACME: {0}")]
    Acme(#[from] instant_acme::Error),
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// Anything else (the order's state, a certificate that cannot be used).
    #[error("{0}")]
    Other(String),
}

/// When the certificate in `path` ends (Unix seconds), if it can be read.
pub fn not_after(path: &Path) -> Option<u64> {
    let pem = std::fs::read(path).ok()?;
    let leaf = CertificateDer::pem_slice_iter(&pem).next()?.ok()?;
    mamori_admind::tls::not_after_unix(&leaf)
}

/// Does the kept certificate need an order (absent, or ending within [`RENEW_BEFORE`])?
pub fn due(settings: &AcmeSettings, now: u64) -> bool {
    settings
        .key_path()
        .exists()
        .then_some(())
        .and_then(|()| not_after(&settings.cert_path()))
        .is_none_or(|end| end <= now + RENEW_BEFORE.as_secs())
}

/// Keeps a certificate for the host: orders one when due, puts it in force, and looks
/// again every twelve hours (an hour after a failure). Runs until the runtime ends.
pub async fn keep(settings: AcmeSettings, certs: Arc<Certs>) {
    loop {
        let now = mamori_core::clock::unix_now();
        let wait = if due(&settings, now) {
            tracing::info!(host = %settings.host, directory = %settings.directory, "ordering a certificate by ACME");
            match tokio::time::timeout(ORDER_TIMEOUT, order(&settings, &certs)).await {
                Ok(Ok(())) => {
                    tracing::info!(host = %settings.host, "ACME certificate in force");
                    CHECK_EVERY
                }
                Ok(Err(e)) => {
                    tracing::warn!(host = %settings.host, error = %e, "ACME order failed; trying again in an hour");
                    RETRY_AFTER
                }
                Err(_) => {
                    tracing::warn!(host = %settings.host, "ACME order took too long; trying again in an hour");
                    RETRY_AFTER
                }
            }
        } else {
            CHECK_EVERY
        };
        certs.clear_challenge(&settings.host);
        tokio::time::sleep(wait).await;
    }
}

async fn account(settings: &AcmeSettings) -> Result<Account, AcmeError> {
    let builder = match &settings.ca {
        Some(ca) => Account::builder_with_root(ca)?,
        None => Account::builder()?,
    };
    let path = settings.account_path();
    if let Ok(text) = std::fs::read(&path)
        && let Ok(credentials) = serde_json::from_slice::<AccountCredentials>(&text)
    {
        return Ok(builder.from_credentials(credentials).await?);
    }
    let contact = format!("mailto:{}", settings.contact.trim_start_matches("mailto:"));
    let contacts: Vec<&str> = if settings.contact.is_empty() {
        Vec::new()
    } else {
        vec![contact.as_str()]
    };
    let (account, credentials) = builder
        .create(
            &NewAccount {
                contact: &contacts,
                terms_of_service_agreed: true,
                only_return_existing: false,
            },
            settings.directory.clone(),
            None,
        )
        .await?;
    let text = serde_json::to_vec(&credentials).map_err(|e| AcmeError::Other(e.to_string()))?;
    mamori_admind::tls::write_private(&path, &text).map_err(|source| AcmeError::Io {
        path: path.clone(),
        source,
    })?;
    Ok(account)
}

/// The TLS-ALPN-01 certificate for `host` carrying `digest` (SHA-256 of the key
/// authorization) in the critical acmeIdentifier extension.
fn challenge_cert(host: &str, digest: &[u8]) -> Result<(String, String), rcgen::Error> {
    let key = rcgen::KeyPair::generate()?;
    let mut params = rcgen::CertificateParams::new(vec![host.to_owned()])?;
    params
        .custom_extensions
        .push(rcgen::CustomExtension::new_acme_identifier(digest));
    let cert = params.self_signed(&key)?;
    Ok((cert.pem(), key.serialize_pem()))
}

/// One order: the challenge answered, the certificate fetched, kept and put in force.
async fn order(settings: &AcmeSettings, certs: &Certs) -> Result<(), AcmeError> {
    std::fs::create_dir_all(&settings.dir).map_err(|source| AcmeError::Io {
        path: settings.dir.clone(),
        source,
    })?;
    let account = account(settings).await?;
    let identifiers = [Identifier::Dns(settings.host.clone())];
    let mut order = account.new_order(&NewOrder::new(&identifiers)).await?;
    let mut authorizations = order.authorizations();
    while let Some(authz) = authorizations.next().await {
        let mut authz = authz?;
        match authz.status {
            AuthorizationStatus::Valid => continue,
            AuthorizationStatus::Pending => {}
            other => {
                return Err(AcmeError::Other(format!("the authorization is {other:?}")));
            }
        }
        let mut challenge = authz
            .challenge(ChallengeType::TlsAlpn01)
            .ok_or_else(|| AcmeError::Other("the CA offers no TLS-ALPN-01 challenge".into()))?;
        let digest = challenge.key_authorization().digest();
        let (cert, key) = challenge_cert(&settings.host, digest.as_ref())
            .map_err(|e| AcmeError::Other(e.to_string()))?;
        certs
            .set_challenge(&settings.host, cert.as_bytes(), key.as_bytes())
            .map_err(|e| AcmeError::Other(e.to_string()))?;
        challenge.set_ready().await?;
    }
    let retries = RetryPolicy::default();
    let status = order.poll_ready(&retries).await?;
    if status != OrderStatus::Ready {
        let why = order
            .state()
            .error
            .as_ref()
            .map(|p| format!("{p:?}"))
            .unwrap_or_default();
        return Err(AcmeError::Other(format!(
            "the order is {status:?}, not ready: {why}"
        )));
    }
    let key = rcgen::KeyPair::generate().map_err(|e| AcmeError::Other(e.to_string()))?;
    let csr = rcgen::CertificateParams::new(vec![settings.host.clone()])
        .and_then(|params| params.serialize_request(&key))
        .map_err(|e| AcmeError::Other(e.to_string()))?;
    order.finalize_csr(csr.der()).await?;
    let chain = order.poll_certificate(&retries).await?;
    let key_pem = key.serialize_pem();
    certs
        .replace(chain.as_bytes(), key_pem.as_bytes())
        .map_err(|e| AcmeError::Other(e.to_string()))?;
    let io = |path: PathBuf| move |source| AcmeError::Io { path, source };
    mamori_admind::tls::write_private(&settings.key_path(), key_pem.as_bytes())
        .map_err(io(settings.key_path()))?;
    mamori_admind::tls::write_private(&settings.cert_path(), chain.as_bytes())
        .map_err(io(settings.cert_path()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_challenge_certificate_carries_the_digest_for_the_name() {
        let digest = [7u8; 32];
        let (pem, key) = challenge_cert("files.office.example.jp", &digest).unwrap();
        let der = CertificateDer::pem_slice_iter(pem.as_bytes())
            .next()
            .unwrap()
            .unwrap();
        // id-pe-acmeIdentifier (1.3.6.1.5.5.7.1.31), critical, OCTET STRING of the digest.
        let oid = [0x06, 0x08, 0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x01, 0x1f];
        let bytes = der.as_ref();
        let at = bytes
            .windows(oid.len())
            .position(|w| w == oid)
            .expect("the extension");
        let rest = &bytes[at + oid.len()..];
        assert_eq!(&rest[..3], &[0x01, 0x01, 0xff], "critical");
        assert!(
            rest.windows(34)
                .any(|w| w[0] == 0x04 && w[1] == 32 && w[2..] == digest)
        );
        assert!(!key.is_empty());
    }

    #[test]
    fn an_absent_or_ending_certificate_is_due() {
        let dir = tempfile::tempdir().unwrap();
        let settings = AcmeSettings {
            directory: "https://ca.example/dir".into(),
            contact: String::new(),
            ca: None,
            host: "files.example.jp".into(),
            dir: dir.path().to_path_buf(),
        };
        assert!(due(&settings, 0));
        let key = rcgen::KeyPair::generate().unwrap();
        let mut params = rcgen::CertificateParams::new(vec!["files.example.jp".into()]).unwrap();
        params.not_after = rcgen::date_time_ymd(2027, 3, 1);
        let cert = params.self_signed(&key).unwrap();
        std::fs::write(settings.cert_path(), cert.pem()).unwrap();
        std::fs::write(settings.key_path(), key.serialize_pem()).unwrap();
        // 2026-12-06: three months left; 2027-02-15: within thirty days.
        assert!(!due(&settings, 1_796_515_200));
        assert!(due(&settings, 1_802_649_600));
    }
}
