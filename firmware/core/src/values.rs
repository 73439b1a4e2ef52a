//! Value types shared by every section of the settings: each parses from the string an
//! operator writes and says why a bad one is bad.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A DNS domain name, lower-cased, checked for RFC 1035 shape (labels of letters, digits
/// and hyphens, or UTF-8 for internationalised names, 1–63 octets each, 253 in all).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Domain(String);

/// Why a string is not a usable domain name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DomainError {
    /// The name is empty.
    #[error("a domain name cannot be empty")]
    Empty,
    /// The name is longer than DNS allows.
    #[error("a domain name is at most 253 characters, this one has {0}")]
    TooLong(usize),
    /// One label is empty or longer than 63 octets.
    #[error("label {0:?} must be 1 to 63 characters")]
    BadLabelLength(String),
    /// A label holds a character DNS names cannot carry.
    #[error("label {0:?} may hold only letters, digits and '-', and may not start or end with '-'")]
    BadLabelChar(String),
}

impl Domain {
    /// The domain as written in the normalised, lower-case form.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// True when `other` is this domain or one of its subdomains
    /// (`mail.example.jp` is within `example.jp`; `badexample.jp` is not).
    pub fn contains(&self, other: &str) -> bool {
        let other = other.trim_end_matches('.');
        if other.eq_ignore_ascii_case(&self.0) {
            return true;
        }
        other.len() > self.0.len()
            && other
                .get(other.len() - self.0.len()..)
                .is_some_and(|tail| tail.eq_ignore_ascii_case(&self.0))
            && other.as_bytes()[other.len() - self.0.len() - 1] == b'.'
    }
}

impl TryFrom<String> for Domain {
    type Error = DomainError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        value.parse()
    }
}

impl FromStr for Domain {
    type Err = DomainError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim().trim_end_matches('.').to_lowercase();
        if s.is_empty() {
            return Err(DomainError::Empty);
        }
        if s.len() > 253 {
            return Err(DomainError::TooLong(s.len()));
        }
        for label in s.split('.') {
            if label.is_empty() || label.len() > 63 {
                return Err(DomainError::BadLabelLength(label.to_string()));
            }
            let ok_chars = label
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || idn_letter(c));
            if !ok_chars || label.starts_with('-') || label.ends_with('-') {
                return Err(DomainError::BadLabelChar(label.to_string()));
            }
        }
        Ok(Self(s))
    }
}

/// Whether a non-ASCII character may stand in a label of an internationalised name
/// (`例え.jp`): not a space (a full-width one is an easy slip in Japanese input), a
/// control, an invisible or bidirectional format character, or one of the full stops that
/// IDNA reads as a dot (`。`, `．`, `｡`), all of which would make the name mean or show
/// something else.
fn idn_letter(c: char) -> bool {
    !c.is_ascii()
        && !c.is_whitespace()
        && !c.is_control()
        && !matches!(c,
            '\u{3002}' | '\u{FF0E}' | '\u{FF61}'
            | '\u{00AD}'
            | '\u{200B}'..='\u{200F}'
            | '\u{202A}'..='\u{202E}'
            | '\u{2060}'..='\u{206F}'
            | '\u{FEFF}'
            | '\u{FFF9}'..='\u{FFFB}')
}

impl From<Domain> for String {
    fn from(d: Domain) -> Self {
        d.0
    }
}

impl fmt::Display for Domain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An IP network in CIDR form (`192.168.1.0/24`, `2001:db8::/32`); a bare address
/// means that one host.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Network(pub ipnet::IpNet);

impl Network {
    /// True when `ip` is inside the network.
    pub fn contains(&self, ip: &std::net::IpAddr) -> bool {
        self.0.contains(ip)
    }
}

impl FromStr for Network {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        s.parse::<ipnet::IpNet>()
            .or_else(|_| s.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
            .map(Network)
            .map_err(|_| format!("{s:?} is not a network in CIDR form such as 192.168.1.0/24"))
    }
}

impl TryFrom<String> for Network {
    type Error = String;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        value.parse()
    }
}

impl From<Network> for String {
    fn from(n: Network) -> Self {
        n.0.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn domain_normalises_and_validates() {
        assert_eq!(
            "Example.JP.".parse::<Domain>().unwrap().as_str(),
            "example.jp"
        );
        assert_eq!("".parse::<Domain>(), Err(DomainError::Empty));
        assert!(matches!(
            "a..b".parse::<Domain>(),
            Err(DomainError::BadLabelLength(_))
        ));
        assert!(matches!(
            "-a.jp".parse::<Domain>(),
            Err(DomainError::BadLabelChar(_))
        ));
        assert!(matches!(
            "a b.jp".parse::<Domain>(),
            Err(DomainError::BadLabelChar(_))
        ));
        assert!("例え.jp".parse::<Domain>().is_ok());
        assert!("ドメイン・テスト.jp".parse::<Domain>().is_ok());
        // Spaces, full stops and invisible characters a hurried or hostile hand types.
        for bad in [
            "例え\u{3000}.jp",
            "a\u{a0}b.jp",
            "例え。jp",
            "例え．jp",
            "ex\u{200b}ample.jp",
            "ex\u{202e}elpmaxe.jp",
            "ex\u{feff}ample.jp",
            "ex\u{85}ample.jp",
        ] {
            assert!(
                matches!(bad.parse::<Domain>(), Err(DomainError::BadLabelChar(_))),
                "{bad:?}"
            );
        }
        let long = format!("{}.jp", "a.".repeat(130));
        assert!(matches!(
            long.parse::<Domain>(),
            Err(DomainError::TooLong(_))
        ));
    }

    #[test]
    fn networks_parse_with_a_clear_error() {
        let n: Network = "192.168.1.0/24".parse().unwrap();
        assert!(n.contains(&"192.168.1.77".parse().unwrap()));
        assert!(!n.contains(&"192.168.2.1".parse().unwrap()));
        let host: Network = "10.0.0.5".parse().unwrap();
        assert!(host.contains(&"10.0.0.5".parse().unwrap()));
        let err = "10.0.0.300/8".parse::<Network>().unwrap_err();
        assert!(
            err.contains("10.0.0.300/8") && err.contains("CIDR"),
            "{err}"
        );
    }

    #[test]
    fn domain_contains_subdomains_on_label_boundaries() {
        let d: Domain = "softbank.ne.jp".parse().unwrap();
        assert!(d.contains("softbank.ne.jp"));
        assert!(d.contains("SOFTBANK.ne.jp."));
        assert!(d.contains("t.softbank.ne.jp"));
        assert!(!d.contains("xsoftbank.ne.jp"));
        assert!(!d.contains("ne.jp"));
    }
}
