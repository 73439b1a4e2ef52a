//! Signing keys and signed documents, for the repository tool on the build host (`mamori
//! repo`). Keys are Ed25519 in PKCS#8 (ring's form); a key file is only ever read, never
//! printed, and the public half goes into root metadata as TUF lists it.

use ring::rand::SystemRandom;
use ring::signature::{Ed25519KeyPair, KeyPair};
use serde_json::{Value, json};

use crate::canonical::to_canonical;
use crate::metadata::{Key, Signature, hex};

/// Why a key could not be made or read, or a document not signed.
#[derive(Debug, thiserror::Error)]
pub enum SigningError {
    /// The key file is not an Ed25519 PKCS#8 key.
    #[error("not an Ed25519 private key in PKCS#8 form")]
    BadKey,
    /// The system's random generator failed.
    #[error("no random bytes for a new key")]
    Random,
    /// The document has no canonical form (a float somewhere).
    #[error("cannot sign: {0}")]
    Canonical(String),
}

/// A private key that signs metadata, with its public key and TUF key id.
pub struct SigningKey {
    pair: Ed25519KeyPair,
    key: Key,
    id: String,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey").field("id", &self.id).finish()
    }
}

impl SigningKey {
    /// A new random key: its PKCS#8 bytes (to be written to a file the caller protects) and
    /// the key itself.
    pub fn generate() -> Result<(Vec<u8>, SigningKey), SigningError> {
        let rng = SystemRandom::new();
        let pkcs8 = Ed25519KeyPair::generate_pkcs8(&rng).map_err(|_| SigningError::Random)?;
        let key = SigningKey::from_pkcs8(pkcs8.as_ref())?;
        Ok((pkcs8.as_ref().to_vec(), key))
    }

    /// The key in `pkcs8` (a file written by [`SigningKey::generate`]).
    pub fn from_pkcs8(pkcs8: &[u8]) -> Result<SigningKey, SigningError> {
        let pair =
            Ed25519KeyPair::from_pkcs8_maybe_unchecked(pkcs8).map_err(|_| SigningError::BadKey)?;
        let key = Key::ed25519(pair.public_key().as_ref());
        let id = key.key_id();
        Ok(SigningKey { pair, key, id })
    }

    /// The key whose 32-byte Ed25519 seed is `seed`: deterministic keys for tests and fuzz
    /// targets (never for a real repository, whose keys come from [`SigningKey::generate`]).
    pub fn from_seed(seed: &[u8; 32]) -> Result<SigningKey, SigningError> {
        let pair = Ed25519KeyPair::from_seed_unchecked(seed).map_err(|_| SigningError::BadKey)?;
        let key = Key::ed25519(pair.public_key().as_ref());
        let id = key.key_id();
        Ok(SigningKey { pair, key, id })
    }

    /// The public key as root lists it.
    pub fn public(&self) -> &Key {
        &self.key
    }

    /// The TUF key id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// This key's signature of the canonical form of `signed`.
    pub fn sign(&self, signed: &Value) -> Result<Signature, SigningError> {
        let bytes = to_canonical(signed).map_err(|e| SigningError::Canonical(e.to_string()))?;
        Ok(Signature {
            keyid: self.id.clone(),
            sig: hex(self.pair.sign(&bytes).as_ref()),
        })
    }
}

/// A metadata document `{"signatures": [...], "signed": ...}` signed by `keys`.
pub fn signed_document(signed: Value, keys: &[&SigningKey]) -> Result<Value, SigningError> {
    let mut signatures = Vec::with_capacity(keys.len());
    for k in keys {
        signatures.push(k.sign(&signed)?);
    }
    Ok(json!({ "signatures": signatures, "signed": signed }))
}

/// Adds `key`'s signature to a document (replacing an older signature by the same key):
/// how an offline root key holder signs a staged root.
pub fn add_signature(document: &mut Value, key: &SigningKey) -> Result<(), SigningError> {
    let signed = document
        .get("signed")
        .cloned()
        .ok_or_else(|| SigningError::Canonical("no signed object".into()))?;
    let sig = key.sign(&signed)?;
    let list = document
        .get_mut("signatures")
        .and_then(Value::as_array_mut)
        .ok_or_else(|| SigningError::Canonical("no signatures list".into()))?;
    list.retain(|s| s.get("keyid").and_then(Value::as_str) != Some(key.id()));
    list.push(serde_json::to_value(sig).map_err(|e| SigningError::Canonical(e.to_string()))?);
    Ok(())
}

/// The JSON text a repository publishes for a document: indented, a final newline. (Any
/// layout verifies: signatures cover the canonical form.)
pub fn to_text(document: &Value) -> Vec<u8> {
    let mut text = serde_json::to_vec_pretty(document).unwrap_or_default();
    text.push(b'\n');
    text
}
