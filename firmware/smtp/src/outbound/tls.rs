//! Client-side TLS for delivery: one rustls configuration that verifies certificates
//! (system roots plus an optional extra CA file) for `required` destinations, and one
//! that does not (opportunistic STARTTLS, like Postfix `may`: encryption against passive
//! eavesdroppers without failing on the self-signed certificates common on port 25).
//!
//! Both use the `ring` provider explicitly, never the process default, so that an
//! aws-lc-rs build can never sneak in through a dependency's feature.

use std::fmt;
use std::path::Path;
use std::sync::{Arc, OnceLock};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, ServerName, UnixTime};

/// The two client configurations used for delivery, built once and shared.
#[derive(Clone)]
pub struct TlsConfigs {
    /// The opportunistic configuration (only fails if rustls rejects ring's defaults).
    unverified: Result<Arc<ClientConfig>, String>,
    /// The verifying configuration, or why none could be built (no roots, a bad CA
    /// file); `required` deliveries then fail temporarily with that reason.
    verified: Result<Arc<ClientConfig>, String>,
}

impl fmt::Debug for TlsConfigs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsConfigs")
            .field("verified", &self.verified.as_ref().map(|_| "ready"))
            .finish_non_exhaustive()
    }
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

impl TlsConfigs {
    /// Loads the system's trusted roots (`rustls-native-certs`) and, if given, the extra
    /// PEM bundle `ca_file`. Never fails: a problem is kept and reported by every
    /// delivery that needs a verified certificate.
    pub fn load(ca_file: Option<&Path>) -> Self {
        let mut roots = system_roots().clone();
        if let Some(path) = ca_file
            && let Err(reason) = add_pem_file(&mut roots, path)
        {
            return Self::with_verified(Err(reason));
        }
        Self::with_roots(roots)
    }

    /// Uses exactly `roots` for verification (tests, or a caller with its own store).
    pub fn with_roots(roots: RootCertStore) -> Self {
        if roots.is_empty() {
            return Self::with_verified(Err(
                "no trusted CA certificates (the system store is empty and no ca_file is set)"
                    .into(),
            ));
        }
        let verified = ClientConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .map(|b| b.with_root_certificates(roots).with_no_client_auth())
            .map(Arc::new)
            .map_err(|e| format!("building the TLS client configuration: {e}"));
        Self::with_verified(verified)
    }

    fn with_verified(verified: Result<Arc<ClientConfig>, String>) -> Self {
        let p = provider();
        let verifier = Arc::new(AcceptAnyCertificate {
            algorithms: p.signature_verification_algorithms,
        });
        let unverified = ClientConfig::builder_with_provider(p)
            .with_safe_default_protocol_versions()
            .map(|b| {
                b.dangerous()
                    .with_custom_certificate_verifier(verifier)
                    .with_no_client_auth()
            })
            .map(Arc::new)
            .map_err(|e| format!("building the TLS client configuration: {e}"));
        Self {
            unverified,
            verified,
        }
    }

    /// The configuration for a connection: verifying or not.
    pub(crate) fn config(&self, verify: bool) -> Result<Arc<ClientConfig>, String> {
        if verify {
            self.verified.clone()
        } else {
            self.unverified.clone()
        }
    }
}

/// The system's trusted roots, read and parsed once per process: the relay builds a
/// transport for delivery and one for recipient call-outs, again at each settings change,
/// and parsing the system bundle each time cost a small board's relay about a second of
/// its start. The bundle changes only with the firmware, which restarts the daemons.
fn system_roots() -> &'static RootCertStore {
    static ROOTS: OnceLock<RootCertStore> = OnceLock::new();
    ROOTS.get_or_init(|| {
        let mut roots = RootCertStore::empty();
        let native = rustls_native_certs::load_native_certs();
        for e in &native.errors {
            tracing::warn!(error = %e, "loading system CA certificates");
        }
        let (added, _ignored) = roots.add_parsable_certificates(native.certs);
        tracing::debug!(added, "system CA certificates loaded");
        roots
    })
}

fn add_pem_file(roots: &mut RootCertStore, path: &Path) -> Result<(), String> {
    let bad = |e: &dyn fmt::Display| format!("CA file {}: {e}", path.display());
    let mut n = 0;
    for cert in CertificateDer::pem_file_iter(path).map_err(|e| bad(&e))? {
        let cert = cert.map_err(|e| bad(&e))?;
        roots.add(cert).map_err(|e| bad(&e))?;
        n += 1;
    }
    if n == 0 {
        return Err(bad(&"holds no certificate"));
    }
    Ok(())
}

/// The TLS name to send as SNI and, when verifying, to check the certificate against.
pub(crate) fn server_name(host: &str) -> Result<ServerName<'static>, String> {
    ServerName::try_from(host.trim_end_matches('.').to_string())
        .map_err(|e| format!("{host:?} is not a usable TLS server name: {e}"))
}

/// Accepts any certificate chain but still checks the handshake signatures, so the
/// session is bound to the key in the presented certificate.
#[derive(Debug)]
struct AcceptAnyCertificate {
    algorithms: WebPkiSupportedAlgorithms,
}

impl ServerCertVerifier for AcceptAnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}
