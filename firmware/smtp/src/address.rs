//! Mail addresses as they arrive in MAIL FROM / RCPT TO.
//!
//! Japanese carriers long handed out local parts that break RFC 5321 (`a..b@docomo.ne.jp`,
//! `a.@docomo.ne.jp`); real phones still use them, so Mamori accepts dots anywhere in an
//! unquoted local part while still refusing what could confuse routing (spaces, control
//! characters, missing or bad domains).

use mamori_core::values::Domain;

/// The longest path RFC 5321 §4.5.3.1.3 allows.
pub const MAX_PATH_LEN: usize = 256;

/// Why an address was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AddressError {
    /// No `@`, or more than one outside quotes.
    #[error("address must be local-part@domain")]
    Shape,
    /// Longer than 256 octets.
    #[error("address longer than {MAX_PATH_LEN} octets")]
    TooLong,
    /// The local part holds characters that are not allowed unquoted.
    #[error("local part holds characters not allowed in mail addresses")]
    LocalPart,
    /// The domain is not a valid domain name or address literal.
    #[error("bad domain: {0}")]
    Domain(String),
}

/// Checks a forward-path leniently (see the module doc) and returns it unchanged.
pub fn check_lenient(addr: &str) -> Result<(), AddressError> {
    if addr.len() > MAX_PATH_LEN {
        return Err(AddressError::TooLong);
    }
    let (local, domain) = addr.rsplit_once('@').ok_or(AddressError::Shape)?;
    if local.is_empty() {
        return Err(AddressError::Shape);
    }
    let quoted = local.len() >= 2 && local.starts_with('"') && local.ends_with('"');
    if !quoted {
        let ok = local.bytes().all(|b| {
            b.is_ascii_alphanumeric() || b"!#$%&'*+-/=?^_`{|}~.".contains(&b) || b >= 0x80
        });
        if !ok {
            return Err(AddressError::LocalPart);
        }
    } else if local[1..local.len() - 1]
        .bytes()
        .any(|b| b < 0x20 || b == 0x7f)
    {
        return Err(AddressError::LocalPart);
    }
    check_domain(domain)
}

fn check_domain(domain: &str) -> Result<(), AddressError> {
    // `Domain::from_str` trims (right for configuration values); an address must not
    // carry white space or control characters anywhere (found by fuzzing).
    if domain.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(AddressError::Domain(format!(
            "{domain:?} holds white space or control characters"
        )));
    }
    if let Some(lit) = domain.strip_prefix('[').and_then(|d| d.strip_suffix(']')) {
        let ip = lit.strip_prefix("IPv6:").unwrap_or(lit);
        return ip
            .parse::<std::net::IpAddr>()
            .map(|_| ())
            .map_err(|_| AddressError::Domain(domain.to_string()));
    }
    domain
        .parse::<Domain>()
        .map(|_| ())
        .map_err(|e| AddressError::Domain(e.to_string()))
}

/// The domain part of an address, lower-cased; `None` for the null path.
pub fn domain_of(addr: &str) -> Option<String> {
    addr.rsplit_once('@')
        .map(|(_, d)| d.trim_end_matches('.').to_ascii_lowercase())
}

/// True when the address needs SMTPUTF8 to travel (non-ASCII octets).
pub fn needs_utf8(addr: &str) -> bool {
    !addr.is_ascii()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn carrier_addresses_that_break_rfc5321_are_accepted() {
        for a in [
            "a..b@docomo.ne.jp",
            "a.@docomo.ne.jp",
            ".a@ezweb.ne.jp",
            "x...y.@i.softbank.jp",
        ] {
            assert_eq!(check_lenient(a), Ok(()), "{a}");
        }
    }

    #[test]
    fn dangerous_or_broken_addresses_are_refused() {
        assert_eq!(check_lenient("nodomain"), Err(AddressError::Shape));
        assert_eq!(check_lenient("@example.jp"), Err(AddressError::Shape));
        assert_eq!(
            check_lenient("a b@example.jp"),
            Err(AddressError::LocalPart)
        );
        assert_eq!(
            check_lenient("a,b@example.jp"),
            Err(AddressError::LocalPart)
        );
        assert!(matches!(
            check_lenient("a@exa mple.jp"),
            Err(AddressError::Domain(_))
        ));
        assert!(matches!(check_lenient("a@"), Err(AddressError::Domain(_))));
        // Fuzzing found these accepted while the domain check trimmed white space.
        for bad in [
            "b@O\t",
            "a@example.jp ",
            "a@ example.jp",
            "a@example.jp\r",
            "a@example.jp\u{3000}",
        ] {
            assert!(
                matches!(check_lenient(bad), Err(AddressError::Domain(_))),
                "{bad:?}"
            );
        }
        let long = format!("{}@example.jp", "a".repeat(300));
        assert_eq!(check_lenient(&long), Err(AddressError::TooLong));
        assert_eq!(check_lenient("a@[127.0.0.1]"), Ok(()));
        assert_eq!(check_lenient("\"a b\"@example.jp"), Ok(()));
    }

    #[test]
    fn domain_is_lowercased() {
        assert_eq!(domain_of("A@Example.JP").as_deref(), Some("example.jp"));
        assert_eq!(domain_of(""), None);
    }
}
