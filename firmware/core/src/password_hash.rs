//! The one way the box keeps a password: an Argon2id PHC string with the `argon2` crate's
//! default parameters (m = 19 MiB, t = 2, p = 1, OWASP's first choice) and a 16-byte salt
//! from the system's random source. Panel users, relay accounts and link passwords are all
//! hashed and checked here, so that they cost the same and a change of parameters is one
//! change.

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};

/// Why a password could not be hashed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("hashing the password failed: {0}")]
pub struct HashError(String);

/// An Argon2id PHC string for `password`.
pub fn hash(password: &str) -> Result<String, HashError> {
    let mut salt = [0u8; 16];
    ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut salt)
        .map_err(|_| HashError("no random source".into()))?;
    let salt = SaltString::encode_b64(&salt).map_err(|e| HashError(e.to_string()))?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| HashError(e.to_string()))
}

/// Whether `password` matches the PHC string `hash` (the comparison inside `argon2` is
/// constant-time). A hash that does not parse matches nothing.
pub fn verify(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|h| {
        Argon2::default()
            .verify_password(password.as_bytes(), &h)
            .is_ok()
    })
}

/// Costs what [`verify`] costs for a real account and matches nothing: what a check does
/// when the name is unknown, so that the answer's timing does not tell which names exist.
/// A fixed hash (its parameters are the defaults, checked by a test) rather than one made
/// at start: making one costs a daemon's start a full Argon2 run, seconds on a small board.
pub fn verify_unknown(password: &str) {
    let _ = verify(password, DUMMY_HASH);
}

/// A hash with the default parameters, of a password nobody knows.
const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$bWFtb3JpLWR1bW15LXNhbHQ$3N0uYq0JkGqkT8wE6mWl0m8a2J6l5L8cQ4bO1Vb7Jk0";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hash_verifies_its_password_and_nothing_else() {
        let h = hash("correct horse battery").expect("hash");
        assert!(h.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{h}");
        assert!(verify("correct horse battery", &h));
        assert!(!verify("correct horse batterY", &h));
        assert!(!verify("correct horse battery", "$argon2id$broken"));
        assert_ne!(h, hash("correct horse battery").expect("hash"), "salted");
    }

    #[test]
    fn the_unknown_name_hash_costs_what_a_real_one_costs() {
        // It must parse (a parse failure would return at once, telling names apart) and
        // carry the parameters every real hash gets.
        let parsed = PasswordHash::new(DUMMY_HASH).expect("the dummy hash parses");
        let params = argon2::Params::try_from(&parsed).expect("its parameters");
        let default = argon2::Params::default();
        assert_eq!(
            (params.m_cost(), params.t_cost(), params.p_cost()),
            (default.m_cost(), default.t_cost(), default.p_cost())
        );
        assert_eq!(parsed.algorithm, argon2::Algorithm::Argon2id.ident());
        assert!(parsed.hash.is_some_and(|h| h.len() == 32));
        assert!(!verify("", DUMMY_HASH));
    }
}
