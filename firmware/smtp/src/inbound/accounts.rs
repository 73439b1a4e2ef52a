//! Local accounts for SMTP AUTH, checked against Argon2id hashes.

use std::collections::HashMap;

use crate::settings::SenderPattern;
use mamori_core::password_hash;
use mamori_core::values::Domain;

/// The accounts allowed to authenticate, by user name, and the senders each may use.
#[derive(Debug, Clone, Default)]
pub struct Accounts {
    hashes: HashMap<String, String>,
    /// The sender addresses or domains each account may use.
    senders: SenderRights,
}

/// Makes an Argon2id PHC string for `password` (for `mamori hash-password`): the box's one
/// password hash, [`mamori_core::password_hash::hash`].
pub fn hash_password(password: &str) -> Result<String, password_hash::HashError> {
    password_hash::hash(password)
}

impl Accounts {
    /// Builds the account table from configuration, each account allowed only its own
    /// user name as sender (see [`Self::with_senders`]).
    pub fn new(accounts: &[crate::settings::Account]) -> Self {
        Self::with_senders(accounts, &[])
    }

    /// Builds the account table from configuration: each account may send as its
    /// configured `senders`; with none, as its user name if that is an address, else as
    /// any address of `office_domains` (any address at all when there are none).
    pub fn with_senders(accounts: &[crate::settings::Account], office_domains: &[Domain]) -> Self {
        Self {
            hashes: accounts
                .iter()
                .map(|a| (a.username.clone(), a.password_hash.clone()))
                .collect(),
            senders: SenderRights::new(accounts, office_domains),
        }
    }

    /// May `user` send with `address` as the envelope sender?
    pub fn may_send_as(&self, user: &str, address: &str) -> bool {
        self.senders.may_send_as(user, address)
    }
}

/// The sender addresses or domains each account may use: what the relay checks at `MAIL`,
/// and what tells misdelivery prevention that an approver's address is the sender's own.
#[derive(Debug, Clone, Default)]
pub struct SenderRights(HashMap<String, Option<Vec<SenderPattern>>>);

impl SenderRights {
    /// From configuration: each account may send as its configured `senders`; with none,
    /// as its user name if that is an address, else as any address of `office_domains`
    /// (any address at all when there are none).
    pub fn new(accounts: &[crate::settings::Account], office_domains: &[Domain]) -> Self {
        let senders = accounts
            .iter()
            .map(|a| {
                let mut patterns: Vec<SenderPattern> = a
                    .senders
                    .iter()
                    .filter_map(|s| SenderPattern::parse(s).ok())
                    .collect();
                if a.senders.is_empty() {
                    patterns = match SenderPattern::parse(&a.username) {
                        Ok(p @ SenderPattern::Address(_)) => vec![p],
                        // No office domains either: nothing to check against (a warning
                        // at start says so).
                        _ if office_domains.is_empty() => return (a.username.clone(), None),
                        _ => office_domains
                            .iter()
                            .cloned()
                            .map(SenderPattern::Domain)
                            .collect(),
                    };
                }
                (a.username.clone(), Some(patterns))
            })
            .collect();
        Self(senders)
    }

    /// May `user` send with `address` as the envelope sender?
    pub fn may_send_as(&self, user: &str, address: &str) -> bool {
        match self.0.get(user) {
            Some(Some(patterns)) => patterns.iter().any(|p| p.matches(address)),
            Some(None) => true,
            None => false,
        }
    }
}

impl Accounts {
    /// True when there is anyone to authenticate.
    pub fn is_empty(&self) -> bool {
        self.hashes.is_empty()
    }

    /// Checks a user name and password. Slow on purpose (Argon2id); call off the async
    /// threads. The hash comparison inside `argon2` is constant-time, and an unknown user
    /// costs the same hashing as a wrong password.
    pub fn verify(&self, user: &str, password: &str) -> bool {
        match self.hashes.get(user) {
            Some(hash) => password_hash::verify(password, hash),
            None => {
                password_hash::verify_unknown(password);
                false
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verify_right_and_wrong() {
        let hash = hash_password("correct horse").unwrap();
        assert!(hash.starts_with("$argon2id$"));
        let accounts = Accounts::new(&[crate::settings::Account {
            username: "taro".into(),
            password_hash: hash,
            senders: Vec::new(),
        }]);
        assert!(accounts.verify("taro", "correct horse"));
        assert!(!accounts.verify("taro", "wrong"));
        assert!(!accounts.verify("hanako", "correct horse"));
    }

    #[test]
    fn senders_are_the_configured_ones_or_the_name_or_the_office() {
        let account = |name: &str, senders: &[&str]| crate::settings::Account {
            username: name.into(),
            password_hash: "$argon2id$x".into(),
            senders: senders.iter().map(|s| s.to_string()).collect(),
        };
        let office: Vec<Domain> = vec!["office.example.jp".parse().unwrap()];
        let accounts = Accounts::with_senders(
            &[
                account("taro", &["taro@office.example.jp", "sales.example.jp"]),
                account("hanako@office.example.jp", &[]),
                account("printer", &[]),
            ],
            &office,
        );
        assert!(accounts.may_send_as("taro", "Taro@office.example.jp"));
        assert!(accounts.may_send_as("taro", "anyone@sales.example.jp"));
        assert!(!accounts.may_send_as("taro", "hanako@office.example.jp"));
        assert!(accounts.may_send_as("hanako@office.example.jp", "hanako@office.example.jp"));
        assert!(!accounts.may_send_as("hanako@office.example.jp", "taro@office.example.jp"));
        assert!(accounts.may_send_as("printer", "scan@office.example.jp"));
        assert!(!accounts.may_send_as("printer", "ceo@other.example"));
        assert!(!accounts.may_send_as("nobody", "x@office.example.jp"));
    }
}
