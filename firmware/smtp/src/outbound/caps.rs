//! What a server advertised in its EHLO reply.

use super::reply::Reply;

/// The ESMTP extensions a delivery uses, read from the EHLO reply.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Capabilities {
    /// The server answered EHLO (false after a fall-back to HELO).
    pub esmtp: bool,
    /// `SIZE`: `Some(0)` when advertised without a limit, `Some(n)` with one.
    pub size: Option<u64>,
    /// `8BITMIME` (RFC 6152).
    pub eight_bit_mime: bool,
    /// `SMTPUTF8` (RFC 6531).
    pub smtputf8: bool,
    /// `PIPELINING` (RFC 2920).
    pub pipelining: bool,
    /// `DSN` (RFC 3461).
    pub dsn: bool,
    /// `STARTTLS` (RFC 3207).
    pub starttls: bool,
    /// `ENHANCEDSTATUSCODES` (RFC 2034).
    pub enhanced_status_codes: bool,
    /// SASL mechanisms from `AUTH` (or the old `AUTH=` form), upper-cased.
    pub auth: Vec<String>,
}

impl Capabilities {
    /// Reads the capabilities from an EHLO reply (its first line is the server's name).
    pub fn from_ehlo(reply: &Reply) -> Self {
        let mut caps = Self {
            esmtp: true,
            ..Self::default()
        };
        for line in reply.lines.iter().skip(1) {
            let mut words = line.split_ascii_whitespace();
            let Some(keyword) = words.next() else {
                continue;
            };
            let keyword = keyword.to_ascii_uppercase();
            let (keyword, first_arg) = match keyword.split_once('=') {
                Some((k, a)) => (k.to_string(), Some(a.to_string())),
                None => (keyword, None),
            };
            match keyword.as_str() {
                "SIZE" => {
                    caps.size = Some(words.next().and_then(|n| n.parse().ok()).unwrap_or(0));
                }
                "8BITMIME" => caps.eight_bit_mime = true,
                "SMTPUTF8" => caps.smtputf8 = true,
                "PIPELINING" => caps.pipelining = true,
                "DSN" => caps.dsn = true,
                "STARTTLS" => caps.starttls = true,
                "ENHANCEDSTATUSCODES" => caps.enhanced_status_codes = true,
                "AUTH" => {
                    for mech in first_arg.into_iter().chain(words.map(str::to_string)) {
                        let mech = mech.to_ascii_uppercase();
                        if !mech.is_empty() && !caps.auth.contains(&mech) {
                            caps.auth.push(mech);
                        }
                    }
                }
                _ => {}
            }
        }
        caps
    }

    /// True when `mechanism` (such as `PLAIN`) was advertised.
    pub fn has_auth(&self, mechanism: &str) -> bool {
        self.auth.iter().any(|m| m.eq_ignore_ascii_case(mechanism))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::outbound::reply::parse_one;

    #[test]
    fn postfix_style_ehlo() {
        let r = parse_one(
            b"250-mx.example.jp\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n250-VRFY\r\n\
              250-ETRN\r\n250-STARTTLS\r\n250-AUTH PLAIN LOGIN\r\n250-AUTH=PLAIN LOGIN\r\n\
              250-ENHANCEDSTATUSCODES\r\n250-8BITMIME\r\n250-DSN\r\n250 SMTPUTF8\r\n",
        )
        .unwrap()
        .unwrap();
        let c = Capabilities::from_ehlo(&r);
        assert!(c.esmtp && c.pipelining && c.starttls && c.dsn && c.smtputf8);
        assert!(c.eight_bit_mime && c.enhanced_status_codes);
        assert_eq!(c.size, Some(10_240_000));
        assert_eq!(c.auth, vec!["PLAIN", "LOGIN"]);
        assert!(c.has_auth("plain"));
    }

    #[test]
    fn bare_ehlo_and_size_without_limit() {
        let r = parse_one(b"250-mx\r\n250 size\r\n").unwrap().unwrap();
        let c = Capabilities::from_ehlo(&r);
        assert_eq!(c.size, Some(0));
        assert!(!c.pipelining && !c.starttls && c.auth.is_empty());
        // The greeting name line is never taken for a keyword.
        let r = parse_one(b"250 PIPELINING\r\n").unwrap().unwrap();
        assert!(!Capabilities::from_ehlo(&r).pipelining);
    }
}
