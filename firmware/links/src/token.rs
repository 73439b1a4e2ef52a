//! A link's public id, its secret, and what is derived from the secret: the verifier the
//! box keeps to recognise it, and the key of each sealed file.
//!
//! The id names the link's directory and is no secret; the secret (256 bits) is in the URL
//! only. The box keeps `SHA-256(label ‖ secret)` and compares it in constant time; each
//! file's key is `HKDF-SHA256(salt = id, ikm = secret, info = label ‖ file number)`.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::rand::{SecureRandom, SystemRandom};
use subtle::ConstantTimeEq;

/// Why random bytes could not be had.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the system's random generator failed")]
pub struct RandomError;

fn random<const N: usize>() -> Result<[u8; N], RandomError> {
    let mut bytes = [0u8; N];
    SystemRandom::new()
        .fill(&mut bytes)
        .map_err(|_| RandomError)?;
    Ok(bytes)
}

/// A link's id: 128 random bits as 32 lowercase hex digits.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LinkId(String);

impl LinkId {
    /// A new random id.
    pub fn random() -> Result<Self, RandomError> {
        let bytes: [u8; 16] = random()?;
        Ok(Self(bytes.iter().map(|b| format!("{b:02x}")).collect()))
    }

    /// An id as given in a URL or a request: exactly 32 lowercase hex digits, else `None`
    /// (so that no other string can name a path).
    pub fn parse(text: &str) -> Option<Self> {
        (text.len() == 32 && text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')))
            .then(|| Self(text.to_owned()))
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for LinkId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A link's secret: 256 random bits, base64url without padding (43 characters). Never
/// logged, never written on the box.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret([u8; 32]);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(…)")
    }
}

/// What a verifier is made for: the download link, or the sender's page of the link.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// The recipients' download link.
    Download,
    /// The sender's page (downloads seen, revoke).
    Manage,
}

impl Secret {
    /// A new random secret.
    pub fn random() -> Result<Self, RandomError> {
        Ok(Self(random()?))
    }

    /// A secret as written in a URL, else `None`.
    pub fn parse(text: &str) -> Option<Self> {
        if text.len() != 43 {
            return None;
        }
        let bytes = URL_SAFE_NO_PAD.decode(text).ok()?;
        Some(Self(bytes.try_into().ok()?))
    }

    /// The secret as written in a URL.
    pub fn encode(&self) -> String {
        URL_SAFE_NO_PAD.encode(self.0)
    }

    /// The verifier the box keeps for this secret and purpose (hex SHA-256).
    pub fn verifier(&self, purpose: Purpose) -> String {
        let label: &[u8] = match purpose {
            Purpose::Download => b"mamori link download\0",
            Purpose::Manage => b"mamori link manage\0",
        };
        let mut context = ring::digest::Context::new(&ring::digest::SHA256);
        context.update(label);
        context.update(&self.0);
        context
            .finish()
            .as_ref()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    /// Does this secret match `verifier` for `purpose`? Compared in constant time.
    pub fn matches(&self, verifier: &str, purpose: Purpose) -> bool {
        let mine = self.verifier(purpose);
        mine.len() == verifier.len() && bool::from(mine.as_bytes().ct_eq(verifier.as_bytes()))
    }

    /// The key of file `index` of link `id`.
    pub fn file_key(&self, id: &LinkId, index: u32) -> [u8; 32] {
        struct Len;
        impl ring::hkdf::KeyType for Len {
            fn len(&self) -> usize {
                32
            }
        }
        let salt = ring::hkdf::Salt::new(ring::hkdf::HKDF_SHA256, id.as_str().as_bytes());
        let prk = salt.extract(&self.0);
        let number = index.to_be_bytes();
        let info: [&[u8]; 2] = [b"mamori link file key\0", &number];
        let mut key = [0u8; 32];
        // Expanding 32 bytes from SHA-256 cannot fail (the limit is 255 × 32).
        if let Ok(okm) = prk.expand(&info, Len) {
            let _ = okm.fill(&mut key);
        }
        key
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_and_secrets_round_trip_and_refuse_anything_else() {
        let id = LinkId::random().unwrap();
        assert_eq!(LinkId::parse(id.as_str()), Some(id.clone()));
        for bad in [
            "",
            "../etc/passwd",
            &id.as_str().to_uppercase(),
            &id.as_str()[1..],
        ] {
            assert_eq!(LinkId::parse(bad), None, "{bad}");
        }
        let secret = Secret::random().unwrap();
        let text = secret.encode();
        assert_eq!(text.len(), 43);
        assert_eq!(Secret::parse(&text), Some(secret.clone()));
        assert_eq!(Secret::parse(&text[1..]), None);
        assert_eq!(Secret::parse(&format!("{}=", &text[..42])), None);
        assert!(!format!("{secret:?}").contains(&text));
    }

    #[test]
    fn verifiers_and_keys_depend_on_everything_they_should() {
        let id = LinkId::random().unwrap();
        let other_id = LinkId::random().unwrap();
        let secret = Secret::random().unwrap();
        let other = Secret::random().unwrap();
        let v = secret.verifier(Purpose::Download);
        assert!(secret.matches(&v, Purpose::Download));
        assert!(!secret.matches(&v, Purpose::Manage));
        assert!(!other.matches(&v, Purpose::Download));
        assert!(!secret.matches("", Purpose::Download));
        let key = secret.file_key(&id, 0);
        assert_ne!(key, [0u8; 32]);
        assert_ne!(key, secret.file_key(&id, 1));
        assert_ne!(key, secret.file_key(&other_id, 0));
        assert_ne!(key, other.file_key(&id, 0));
        assert_eq!(key, secret.file_key(&id, 0));
    }
}
