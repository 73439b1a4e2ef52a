//! Local accounts for SMTP AUTH, checked against Argon2id hashes.

use std::collections::HashMap;

use argon2::password_hash::{PasswordHash, PasswordVerifier};
use argon2::{Argon2, PasswordHasher};

/// The accounts allowed to authenticate, by user name.
#[derive(Debug, Clone, Default)]
pub struct Accounts {
    hashes: HashMap<String, String>,
    /// A hash of a random password, verified against when the user is unknown so that
    /// a wrong user name takes as long as a wrong password.
    dummy: String,
}

/// Why a password could not be hashed.
#[derive(Debug, thiserror::Error)]
#[error("hashing failed: {0}")]
pub struct HashError(String);

/// Makes an Argon2id PHC string for `password` (for `mamori hash-password`).
pub fn hash_password(password: &str) -> Result<String, HashError> {
    let salt = argon2::password_hash::SaltString::encode_b64(&rand::random::<[u8; 16]>())
        .map_err(|e| HashError(e.to_string()))?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| HashError(e.to_string()))
}

impl Accounts {
    /// Builds the account table from configuration.
    pub fn new(accounts: &[mamori_core::config::Account]) -> Self {
        let dummy = hash_password(&format!("{:x}", rand::random::<u128>())).unwrap_or_default();
        Self {
            hashes: accounts
                .iter()
                .map(|a| (a.username.clone(), a.password_hash.clone()))
                .collect(),
            dummy,
        }
    }

    /// True when there is anyone to authenticate.
    pub fn is_empty(&self) -> bool {
        self.hashes.is_empty()
    }

    /// Checks a user name and password. Slow on purpose (Argon2id); call off the async
    /// threads. The hash comparison inside `argon2` is constant-time.
    pub fn verify(&self, user: &str, password: &str) -> bool {
        let (known, hash) = match self.hashes.get(user) {
            Some(h) => (true, h.as_str()),
            None => (false, self.dummy.as_str()),
        };
        let Ok(parsed) = PasswordHash::new(hash) else {
            return false;
        };
        let ok = Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok();
        known && ok
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verify_right_and_wrong() {
        let hash = hash_password("correct horse").unwrap();
        assert!(hash.starts_with("$argon2id$"));
        let accounts = Accounts::new(&[mamori_core::config::Account {
            username: "taro".into(),
            password_hash: hash,
        }]);
        assert!(accounts.verify("taro", "correct horse"));
        assert!(!accounts.verify("taro", "wrong"));
        assert!(!accounts.verify("hanako", "correct horse"));
    }
}
