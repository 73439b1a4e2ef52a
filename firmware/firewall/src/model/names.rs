//! Names the operator gives or uses: rule and port-forward names, set names, interface
//! names. Each is checked when parsed, since each ends up inside the nftables ruleset.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize, Serializer};

/// Serialises any `Display` type as its string form (the inverse of the `TryFrom<String>`
/// deserialisation of the newtypes here).
pub(crate) fn serialize_display<T: fmt::Display, S: Serializer>(
    v: &T,
    s: S,
) -> Result<S::Ok, S::Error> {
    s.collect_str(v)
}

/// The name of a rule or a port forward: 1 to 32 ASCII letters, digits, `-`, `_` or `.`.
/// It appears in nftables comments and log prefixes, so it is kept short and quote-free.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Deserialize)]
#[serde(try_from = "String")]
pub struct Name(String);

impl Name {
    /// The name as written.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

fn check_name(s: &str, what: &str) -> Result<(), String> {
    if s.is_empty() || s.len() > 32 {
        return Err(format!("{what} {s:?} must be 1 to 32 characters"));
    }
    if !s
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    {
        return Err(format!(
            "{what} {s:?} may hold only ASCII letters, digits, '-', '_' and '.'"
        ));
    }
    Ok(())
}

impl FromStr for Name {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        check_name(s, "name")?;
        Ok(Self(s.to_string()))
    }
}

impl TryFrom<String> for Name {
    type Error = String;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        value.parse()
    }
}

impl fmt::Display for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Serialize for Name {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        serialize_display(self, s)
    }
}

/// The name of a named set: as [`Name`], but starting with a letter and without `.` (an
/// nftables identifier), and not starting with `mamori`, which is kept for the sets the
/// firewall makes itself (per-source rate-limit meters).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Deserialize)]
#[serde(try_from = "String")]
pub struct SetName(String);

/// Prefix of the sets the renderer makes itself; operators' set names may not use it.
pub const RESERVED_SET_PREFIX: &str = "mamori";

impl SetName {
    /// The name as written.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for SetName {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        check_name(s, "set name")?;
        if !s.starts_with(|c: char| c.is_ascii_alphabetic()) || s.contains('.') {
            return Err(format!(
                "set name {s:?} must start with a letter and hold only letters, digits, '-' and '_'"
            ));
        }
        if s.to_ascii_lowercase().starts_with(RESERVED_SET_PREFIX) {
            return Err(format!(
                "set name {s:?} may not start with {RESERVED_SET_PREFIX:?}, which is kept for the firewall's own sets"
            ));
        }
        Ok(Self(s.to_string()))
    }
}

impl TryFrom<String> for SetName {
    type Error = String;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        value.parse()
    }
}

impl fmt::Display for SetName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Serialize for SetName {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        serialize_display(self, s)
    }
}

/// A network interface name as the kernel knows it (`eth0`, `br-lan`), at most 15 bytes;
/// a trailing `*` matches every interface starting with the rest (`wlan*`), as in nftables.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Deserialize)]
#[serde(try_from = "String")]
pub struct InterfaceName(String);

impl InterfaceName {
    /// The loopback interface, `lo`.
    pub fn loopback() -> Self {
        Self("lo".into())
    }

    /// The name as written.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// True for a wildcard (`wlan*`).
    pub fn is_wildcard(&self) -> bool {
        self.0.ends_with('*')
    }

    /// True when this name (possibly a wildcard) and `other` can match the same interface.
    pub fn overlaps(&self, other: &InterfaceName) -> bool {
        let stem = |n: &InterfaceName| n.0.trim_end_matches('*').to_string();
        match (self.is_wildcard(), other.is_wildcard()) {
            (false, false) => self.0 == other.0,
            (true, false) => other.0.starts_with(&stem(self)),
            (false, true) => self.0.starts_with(&stem(other)),
            (true, true) => {
                let (a, b) = (stem(self), stem(other));
                a.starts_with(&b) || b.starts_with(&a)
            }
        }
    }
}

impl FromStr for InterfaceName {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let stem = s.strip_suffix('*').unwrap_or(s);
        if stem.is_empty() || s.len() > 15 {
            return Err(format!(
                "interface name {s:?} must be 1 to 15 characters (a trailing '*' is a wildcard)"
            ));
        }
        let ok = stem
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
        if !ok || stem == "." || stem == ".." {
            return Err(format!(
                "interface name {s:?} may hold only ASCII letters, digits, '-', '_' and '.', \
                 with '*' allowed only at the end"
            ));
        }
        Ok(Self(s.to_string()))
    }
}

impl TryFrom<String> for InterfaceName {
    type Error = String;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        value.parse()
    }
}

impl fmt::Display for InterfaceName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Serialize for InterfaceName {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        serialize_display(self, s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_interfaces() {
        assert!("allow-nas".parse::<Name>().is_ok());
        assert!("has space".parse::<Name>().is_err());
        assert!("a\"b".parse::<Name>().is_err());
        assert!("blocklist".parse::<SetName>().is_ok());
        assert!("1list".parse::<SetName>().is_err());
        assert!("mamori-x".parse::<SetName>().is_err());
        let w: InterfaceName = "wlan*".parse().unwrap();
        assert!(w.overlaps(&"wlan0".parse().unwrap()));
        assert!(!w.overlaps(&"eth0".parse().unwrap()));
        assert!("averyveryverylongname".parse::<InterfaceName>().is_err());
        assert!("et*h".parse::<InterfaceName>().is_err());
        assert!("*".parse::<InterfaceName>().is_err());
    }
}
