//! The certificates the service presents: the one in force (from files, from ACME, or
//! self-signed until ACME has given one), swapped live; and, while an ACME order waits,
//! the TLS-ALPN-01 challenge certificate (RFC 8737) for a client that asks for the
//! `acme-tls/1` protocol — only the CA's validator does.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use rustls::crypto::CryptoProvider;
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

/// The ALPN protocol of the TLS-ALPN-01 challenge.
pub const ACME_TLS_ALPN: &[u8] = b"acme-tls/1";

/// The certificates, shared by the TLS configuration and the ACME task.
#[derive(Debug)]
pub struct Certs {
    provider: Arc<CryptoProvider>,
    current: RwLock<Arc<CertifiedKey>>,
    challenges: RwLock<HashMap<String, Arc<CertifiedKey>>>,
}

/// Why a certificate could not be used.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct CertError(pub String);

impl Certs {
    /// Starts with `chain_pem` and `key_pem` in force.
    pub fn new(
        provider: Arc<CryptoProvider>,
        chain_pem: &[u8],
        key_pem: &[u8],
    ) -> Result<Self, CertError> {
        let current = certified(&provider, chain_pem, key_pem, true)?;
        Ok(Self {
            provider,
            current: RwLock::new(current),
            challenges: RwLock::default(),
        })
    }

    /// Puts `chain_pem` and `key_pem` in force for new connections.
    pub fn replace(&self, chain_pem: &[u8], key_pem: &[u8]) -> Result<(), CertError> {
        let key = certified(&self.provider, chain_pem, key_pem, true)?;
        *self.current.write().unwrap_or_else(|p| p.into_inner()) = key;
        Ok(())
    }

    /// The leaf in force.
    pub fn leaf(&self) -> Option<CertificateDer<'static>> {
        self.current
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .cert
            .first()
            .cloned()
    }

    /// Answers the TLS-ALPN-01 challenge for `name` with `chain_pem`/`key_pem`.
    pub fn set_challenge(
        &self,
        name: &str,
        chain_pem: &[u8],
        key_pem: &[u8],
    ) -> Result<(), CertError> {
        // Its critical acmeIdentifier extension is one no certificate parser knows: the
        // key is not checked against it (it was made with it a moment ago).
        let key = certified(&self.provider, chain_pem, key_pem, false)?;
        self.challenges
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .insert(name.to_ascii_lowercase(), key);
        Ok(())
    }

    /// Stops answering the challenge for `name`.
    pub fn clear_challenge(&self, name: &str) {
        self.challenges
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&name.to_ascii_lowercase());
    }
}

fn certified(
    provider: &CryptoProvider,
    chain_pem: &[u8],
    key_pem: &[u8],
    check: bool,
) -> Result<Arc<CertifiedKey>, CertError> {
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(chain_pem)
        .collect::<Result<_, _>>()
        .map_err(|e| CertError(format!("the certificate chain is not PEM: {e}")))?;
    if chain.is_empty() {
        return Err(CertError("no certificate in the chain".into()));
    }
    let key = PrivateKeyDer::from_pem_slice(key_pem)
        .map_err(|e| CertError(format!("the private key is not PEM: {e}")))?;
    let signing = provider
        .key_provider
        .load_private_key(key)
        .map_err(|e| CertError(format!("the private key cannot be used: {e}")))?;
    let certified = CertifiedKey::new(chain, signing);
    if check {
        certified
            .keys_match()
            .map_err(|e| CertError(format!("the key is not the certificate's: {e}")))?;
    }
    Ok(Arc::new(certified))
}

impl ResolvesServerCert for Certs {
    fn resolve(&self, hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        let acme = hello
            .alpn()
            .is_some_and(|mut protocols| protocols.any(|p| p == ACME_TLS_ALPN));
        if acme {
            // Only the challenge certificate, and only for a name with an order waiting.
            let name = hello.server_name()?.to_ascii_lowercase();
            return self
                .challenges
                .read()
                .unwrap_or_else(|p| p.into_inner())
                .get(&name)
                .cloned();
        }
        Some(
            self.current
                .read()
                .unwrap_or_else(|p| p.into_inner())
                .clone(),
        )
    }
}

/// The server configuration over `certs`: as the panel's (TLS 1.2 and 1.3, forward-secret
/// AEAD suites), with `acme-tls/1` offered beside HTTP/1.1.
pub fn server_config(
    provider: Arc<CryptoProvider>,
    certs: Arc<Certs>,
    aes: bool,
) -> Result<Arc<rustls::ServerConfig>, rustls::Error> {
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])?
        .with_no_client_auth()
        .with_cert_resolver(certs);
    config.ignore_client_order = !aes;
    config.alpn_protocols = vec![b"http/1.1".to_vec(), ACME_TLS_ALPN.to_vec()];
    Ok(Arc::new(config))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pair(name: &str) -> (String, String) {
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = rcgen::CertificateParams::new(vec![name.to_owned()])
            .unwrap()
            .self_signed(&key)
            .unwrap();
        (cert.pem(), key.serialize_pem())
    }

    #[test]
    fn certificates_are_checked_and_swapped() {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let (c1, k1) = pair("a.example");
        let (c2, k2) = pair("b.example");
        let certs = Certs::new(provider, c1.as_bytes(), k1.as_bytes()).unwrap();
        let first = certs.leaf().unwrap();
        assert!(
            certs.replace(c2.as_bytes(), k1.as_bytes()).is_err(),
            "a key of another certificate"
        );
        assert_eq!(certs.leaf().unwrap(), first);
        certs.replace(c2.as_bytes(), k2.as_bytes()).unwrap();
        assert_ne!(certs.leaf().unwrap(), first);
        assert!(certs.replace(b"", k2.as_bytes()).is_err());
    }
}
