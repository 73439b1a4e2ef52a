//! Value types of the relay's settings.

use std::fmt;

use mamori_core::values::{Domain, DomainError};
use serde::{Deserialize, Serialize};

/// A sender an account may use: one address, or every address of a domain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SenderPattern {
    /// This address (lower case).
    Address(String),
    /// Any address at this domain (not its subdomains).
    Domain(Domain),
}

impl SenderPattern {
    /// Parses `taro@office.example.jp`, `office.example.jp` or `@office.example.jp`.
    pub fn parse(text: &str) -> Result<Self, String> {
        let text = text.trim();
        if let Some(domain) = text.strip_prefix('@') {
            return domain
                .parse()
                .map(Self::Domain)
                .map_err(|e: DomainError| e.to_string());
        }
        match text.rsplit_once('@') {
            Some((local, domain)) if !local.is_empty() => {
                let domain: Domain = domain.parse().map_err(|e: DomainError| e.to_string())?;
                Ok(Self::Address(format!("{}@{domain}", local.to_lowercase())))
            }
            Some(_) => Err("an address needs a local part before the @".into()),
            None => text
                .parse()
                .map(Self::Domain)
                .map_err(|e: DomainError| e.to_string()),
        }
    }

    /// Does `address` fall under this pattern (ignoring case)?
    pub fn matches(&self, address: &str) -> bool {
        match self {
            Self::Address(a) => a.eq_ignore_ascii_case(address),
            Self::Domain(d) => address.rsplit_once('@').is_some_and(|(_, host)| {
                host.trim_end_matches('.').eq_ignore_ascii_case(d.as_str())
            }),
        }
    }
}

/// What a listener is for; decides whether AUTH is offered and whether TLS starts at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ListenerKind {
    /// Port-25 style relay for the LAN: trusted networks may relay without AUTH.
    Relay,
    /// Port-587 style submission: STARTTLS, then AUTH is required to relay.
    Submission,
    /// Port-465 style submission with implicit TLS from the first byte.
    Smtps,
}

impl fmt::Display for ListenerKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Relay => "relay",
            Self::Submission => "submission",
            Self::Smtps => "smtps",
        })
    }
}

/// How outbound delivery treats TLS for a destination.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TlsMode {
    /// Use STARTTLS when offered, without verifying the certificate (Postfix `may`).
    #[default]
    Opportunistic,
    /// STARTTLS is required and the certificate must verify for the host name;
    /// the message waits in the queue rather than going in clear (Postfix `secure`).
    Required,
    /// Never use TLS (for a broken peer on a trusted link only).
    Disabled,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sender_patterns_parse_and_match() {
        let a = SenderPattern::parse("Taro@Office.Example.JP").unwrap();
        assert!(a.matches("taro@office.example.jp"));
        assert!(!a.matches("jiro@office.example.jp"));
        for d in ["office.example.jp", "@office.example.jp"] {
            let p = SenderPattern::parse(d).unwrap();
            assert!(p.matches("anyone@OFFICE.example.jp"));
            assert!(!p.matches("anyone@sub.office.example.jp"));
            assert!(!p.matches("anyone@badoffice.example.jp"));
        }
        assert!(SenderPattern::parse("@").is_err());
        assert!(SenderPattern::parse("a b").is_err());
        assert!(SenderPattern::parse("@x@").is_err());
    }
}
