//! Validated value types of the firewall model: each parses from what an operator writes
//! and says why a bad value is bad. Syntax is checked here; relations between values
//! (a reversed range, a family that does not fit) are checked by [`crate::validate`], so
//! that those errors can name the rule or forward they belong to.

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

use ipnet::IpNet;
use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};

use super::names::serialize_display;

/// IPv4 or IPv6: rules are rendered once per family they can match, sets hold one family.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Family {
    /// IPv4 (`ip` matches, `ipv4_addr` sets).
    Ipv4,
    /// IPv6 (`ip6` matches, `ipv6_addr` sets).
    Ipv6,
}

impl Family {
    /// Both families, IPv4 first (the order rules are rendered in).
    pub const BOTH: [Family; 2] = [Family::Ipv4, Family::Ipv6];

    /// The family of an address.
    pub fn of(ip: &IpAddr) -> Self {
        match ip {
            IpAddr::V4(_) => Self::Ipv4,
            IpAddr::V6(_) => Self::Ipv6,
        }
    }
}

impl fmt::Display for Family {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Ipv4 => "ipv4",
            Self::Ipv6 => "ipv6",
        })
    }
}

/// A port or an inclusive port range, written `443`, `"443"` or `"8000-8010"`. Whether the
/// range is reversed or holds port 0 is checked by validation, which can name the item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PortRange {
    /// First port of the range.
    pub first: u16,
    /// Last port of the range (equal to `first` for one port).
    pub last: u16,
}

impl PortRange {
    /// One port.
    pub const fn single(port: u16) -> Self {
        Self {
            first: port,
            last: port,
        }
    }

    /// True when both ranges share a port.
    pub fn overlaps(&self, other: &PortRange) -> bool {
        self.first <= other.last && other.first <= self.last
    }

    /// True when the range is one port.
    pub fn is_single(&self) -> bool {
        self.first == self.last
    }

    /// True when `port` is inside the range.
    pub fn contains(&self, port: u16) -> bool {
        self.first <= port && port <= self.last
    }
}

impl fmt::Display for PortRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.first == self.last {
            write!(f, "{}", self.first)
        } else {
            write!(f, "{}-{}", self.first, self.last)
        }
    }
}

impl FromStr for PortRange {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let port = |p: &str| {
            p.trim().parse::<u16>().map_err(|_| {
                format!("{s:?} is not a port (0-65535) or a port range such as \"8000-8010\"")
            })
        };
        match s.split_once('-') {
            Some((a, b)) => Ok(Self {
                first: port(a)?,
                last: port(b)?,
            }),
            None => port(s).map(Self::single),
        }
    }
}

impl Serialize for PortRange {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if self.is_single() {
            s.serialize_u16(self.first)
        } else {
            serialize_display(self, s)
        }
    }
}

impl<'de> Deserialize<'de> for PortRange {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = PortRange;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a port number or a range such as \"8000-8010\"")
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<PortRange, E> {
                u16::try_from(v)
                    .map(PortRange::single)
                    .map_err(|_| E::custom(format!("port {v} is above 65535")))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<PortRange, E> {
                u64::try_from(v)
                    .map_err(|_| E::custom(format!("port {v} is negative")))
                    .and_then(|v| self.visit_u64(v))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<PortRange, E> {
                v.parse().map_err(E::custom)
            }
        }
        d.deserialize_any(V)
    }
}

/// An address match: a network in CIDR form, one address (a /32 or /128), or an inclusive
/// range `first-last`. Networks must not have host bits set (`192.168.1.1/24` is refused
/// with a hint), since nftables would silently widen them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AddressSpec {
    /// A network or one address.
    Net(IpNet),
    /// An inclusive range; both ends are of one family (whether it is reversed is checked by
    /// validation).
    Range(IpAddr, IpAddr),
}

impl AddressSpec {
    /// The family of the address.
    pub fn family(&self) -> Family {
        match self {
            Self::Net(n) => Family::of(&n.addr()),
            Self::Range(a, _) => Family::of(a),
        }
    }

    /// The first and last address covered.
    pub fn bounds(&self) -> (IpAddr, IpAddr) {
        match self {
            Self::Net(n) => (n.network(), n.broadcast()),
            Self::Range(a, b) => (*a, *b),
        }
    }

    /// True when both cover a common address (always false across families).
    pub fn overlaps(&self, other: &AddressSpec) -> bool {
        if self.family() != other.family() {
            return false;
        }
        let ((a1, a2), (b1, b2)) = (self.bounds(), other.bounds());
        a1 <= b2 && b1 <= a2
    }
}

impl fmt::Display for AddressSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Net(n) if n.prefix_len() == n.max_prefix_len() => write!(f, "{}", n.addr()),
            Self::Net(n) => write!(f, "{n}"),
            Self::Range(a, b) => write!(f, "{a}-{b}"),
        }
    }
}

impl FromStr for AddressSpec {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        let bad = || {
            format!(
                "{s:?} is not an address, a network in CIDR form (192.168.1.0/24, 2001:db8::/48) \
                 or a range (192.168.1.10-192.168.1.20)"
            )
        };
        if let Some((a, b)) = s.split_once('-') {
            let a: IpAddr = a.trim().parse().map_err(|_| bad())?;
            let b: IpAddr = b.trim().parse().map_err(|_| bad())?;
            if Family::of(&a) != Family::of(&b) {
                return Err(format!("range {s:?} mixes an IPv4 and an IPv6 address"));
            }
            return Ok(Self::Range(a, b));
        }
        if let Ok(ip) = s.parse::<IpAddr>() {
            return Ok(Self::Net(IpNet::from(ip)));
        }
        let net: IpNet = s.parse().map_err(|_| bad())?;
        if net.trunc() != net {
            return Err(format!(
                "{s:?} has host bits set; write the network, {}, or the single address {}",
                net.trunc(),
                net.addr()
            ));
        }
        Ok(Self::Net(net))
    }
}

impl TryFrom<String> for AddressSpec {
    type Error = String;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        value.parse()
    }
}

impl Serialize for AddressSpec {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        serialize_display(self, s)
    }
}

impl<'de> Deserialize<'de> for AddressSpec {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d)?.parse().map_err(de::Error::custom)
    }
}

/// A timeout such as `"30s"`, `"10m"`, `"1h30m"` or `"7d"`, in whole seconds, at least one
/// second (nftables' own syntax, so it renders as written).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Timeout(u32);

/// The longest timeout accepted: 365 days, well inside what the kernel stores.
const MAX_TIMEOUT_SECS: u64 = 365 * 24 * 3600;

impl Timeout {
    /// A timeout of `secs` seconds (1 ..= one year), or `None`.
    pub fn from_secs(secs: u32) -> Option<Self> {
        (secs >= 1 && u64::from(secs) <= MAX_TIMEOUT_SECS).then_some(Self(secs))
    }

    /// The timeout in seconds.
    pub fn as_secs(&self) -> u32 {
        self.0
    }
}

impl fmt::Display for Timeout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut rest = self.0;
        for (unit, size) in [("d", 86_400), ("h", 3_600), ("m", 60), ("s", 1)] {
            if rest >= size {
                write!(f, "{}{unit}", rest / size)?;
                rest %= size;
            }
        }
        Ok(())
    }
}

impl FromStr for Timeout {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || {
            format!(
                "{s:?} is not a timeout such as \"30s\", \"10m\", \"1h30m\" or \"7d\" (1 second to 365 days)"
            )
        };
        let mut total: u64 = 0;
        let mut digits = String::new();
        for c in s.trim().chars() {
            if c.is_ascii_digit() {
                digits.push(c);
                continue;
            }
            let size = match c {
                'd' => 86_400,
                'h' => 3_600,
                'm' => 60,
                's' => 1,
                _ => return Err(bad()),
            };
            let n: u64 = digits.parse().map_err(|_| bad())?;
            digits.clear();
            total = n
                .checked_mul(size)
                .and_then(|v| total.checked_add(v))
                .ok_or_else(bad)?;
        }
        if !digits.is_empty() || total == 0 || total > MAX_TIMEOUT_SECS {
            return Err(bad());
        }
        u32::try_from(total).map(Self).map_err(|_| bad())
    }
}

impl Serialize for Timeout {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        serialize_display(self, s)
    }
}

impl<'de> Deserialize<'de> for Timeout {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d)?.parse().map_err(de::Error::custom)
    }
}

/// A connection-tracking state a rule can match.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CtState {
    /// The first packet of a connection.
    New,
    /// A packet of a connection seen in both directions.
    Established,
    /// A packet related to a known connection (an ICMP error, an FTP data channel).
    Related,
    /// A packet conntrack cannot place (dropped by the base chains already).
    Invalid,
    /// A packet exempted from tracking.
    Untracked,
}

impl CtState {
    /// The nftables keyword.
    pub fn keyword(&self) -> &'static str {
        match self {
            Self::New => "new",
            Self::Established => "established",
            Self::Related => "related",
            Self::Invalid => "invalid",
            Self::Untracked => "untracked",
        }
    }

    /// The kernel's `NF_CT_STATE_*` bit (`ct state` is a bit mask).
    pub fn bit(&self) -> u32 {
        match self {
            Self::Invalid => 1,
            Self::Established => 1 << 1,
            Self::Related => 1 << 2,
            Self::New => 1 << 3,
            Self::Untracked => 1 << 6,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports_parse_from_numbers_and_strings() {
        assert_eq!("443".parse::<PortRange>().unwrap(), PortRange::single(443));
        let r: PortRange = "8000-8010".parse().unwrap();
        assert_eq!((r.first, r.last), (8000, 8010));
        assert_eq!(r.to_string(), "8000-8010");
        let err = "http".parse::<PortRange>().unwrap_err();
        assert!(err.contains("\"http\"") && err.contains("port"), "{err}");
        assert!("70000".parse::<PortRange>().is_err());
        #[derive(Deserialize)]
        struct P {
            p: Vec<PortRange>,
        }
        let p: P = toml::from_str(r#"p = [22, "80", "8000-8010"]"#).unwrap();
        assert_eq!(p.p.len(), 3);
        let err = toml::from_str::<P>("p = [70000]")
            .err()
            .unwrap()
            .to_string();
        assert!(err.contains("70000"), "{err}");
    }

    #[test]
    fn addresses_parse_and_refuse_host_bits() {
        let a: AddressSpec = "10.0.0.1".parse().unwrap();
        assert_eq!(a.to_string(), "10.0.0.1");
        assert_eq!(a.family(), Family::Ipv4);
        let n: AddressSpec = "2001:db8::/32".parse().unwrap();
        assert_eq!(n.family(), Family::Ipv6);
        let r: AddressSpec = "10.0.0.1-10.0.0.9".parse().unwrap();
        assert!(r.overlaps(&"10.0.0.0/29".parse().unwrap()));
        assert!(!r.overlaps(&"10.0.0.16/28".parse().unwrap()));
        let err = "192.168.1.1/24".parse::<AddressSpec>().unwrap_err();
        assert!(err.contains("192.168.1.0/24"), "{err}");
        let err = "10.0.0.1-::1".parse::<AddressSpec>().unwrap_err();
        assert!(err.contains("mixes"), "{err}");
        let err = "10.0.0.300".parse::<AddressSpec>().unwrap_err();
        assert!(err.contains("10.0.0.300") && err.contains("CIDR"), "{err}");
    }

    #[test]
    fn timeouts_parse_and_print_like_nftables() {
        let t: Timeout = "1h30m".parse().unwrap();
        assert_eq!(t.as_secs(), 5400);
        assert_eq!(t.to_string(), "1h30m");
        assert_eq!("90s".parse::<Timeout>().unwrap().to_string(), "1m30s");
        for bad in ["", "0s", "10", "5x", "400d", "m"] {
            assert!(bad.parse::<Timeout>().is_err(), "{bad:?}");
        }
    }
}
