//! Operator rules: match traffic by zone, protocol, ports, addresses or sets, ICMP type and
//! connection state, optionally only beyond a rate, and accept, drop or reject it.
//!
//! Rules are tried in the order written, after the built-in rules of their chain (the
//! anti-lockout rule, DHCP/DNS, the SMTP block) and before the zone's policy.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::icmp::IcmpType;
use super::names::{Name, SetName};
use super::values::{AddressSpec, CtState, Family, PortRange};
use super::zone::ZoneName;

/// Which path through the box a rule applies to.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    /// To the box itself, from `zone`.
    #[default]
    Input,
    /// Through the box, from `zone` to `dest_zone`.
    Forward,
    /// From the box itself, out into `zone`.
    Output,
}

impl Direction {
    /// The word used in keys, chain names and log prefixes.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Input => "input",
            Self::Forward => "forward",
            Self::Output => "output",
        }
    }
}

/// The protocol a rule matches.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Protocol {
    /// Anything.
    #[default]
    #[serde(rename = "any")]
    Any,
    /// TCP.
    #[serde(rename = "tcp")]
    Tcp,
    /// UDP.
    #[serde(rename = "udp")]
    Udp,
    /// TCP and UDP (for services such as DNS that use both).
    #[serde(rename = "tcp/udp")]
    TcpUdp,
    /// ICMP (IPv4 only).
    #[serde(rename = "icmp")]
    Icmp,
    /// ICMPv6 (IPv6 only).
    #[serde(rename = "icmpv6")]
    Icmpv6,
}

impl Protocol {
    /// True when ports can be matched (TCP, UDP or both).
    pub fn has_ports(&self) -> bool {
        matches!(self, Self::Tcp | Self::Udp | Self::TcpUdp)
    }

    /// The only family the protocol exists in, if it is tied to one.
    pub fn family(&self) -> Option<Family> {
        match self {
            Self::Icmp => Some(Family::Ipv4),
            Self::Icmpv6 => Some(Family::Ipv6),
            _ => None,
        }
    }
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Any => "any",
            Self::Tcp => "tcp",
            Self::Udp => "udp",
            Self::TcpUdp => "tcp/udp",
            Self::Icmp => "icmp",
            Self::Icmpv6 => "icmpv6",
        })
    }
}

/// What a rule does with the traffic it matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    /// Let it through.
    Accept,
    /// Discard it silently.
    Drop,
    /// Discard it and tell the sender (TCP reset, or ICMP port unreachable).
    Reject,
}

impl Action {
    /// The word used in log prefixes.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Accept => "accept",
            Self::Drop => "drop",
            Self::Reject => "reject",
        }
    }
}

/// The time unit of a rate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RateUnit {
    /// Per second.
    Second,
    /// Per minute.
    Minute,
    /// Per hour.
    Hour,
}

impl RateUnit {
    /// The nftables keyword.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Second => "second",
            Self::Minute => "minute",
            Self::Hour => "hour",
        }
    }
}

/// A packet rate: `rate` packets per `per`, with up to `burst` packets at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimit {
    /// Packets per unit (at least 1).
    pub rate: u32,
    /// The unit.
    pub per: RateUnit,
    /// Packets allowed in a burst above the rate (default 5, as in nftables).
    #[serde(default = "default_burst")]
    pub burst: u32,
    /// Count each source address on its own (default yes): one noisy host is limited
    /// without limiting the others.
    #[serde(default = "yes")]
    pub per_source: bool,
}

fn default_burst() -> u32 {
    5
}

fn yes() -> bool {
    true
}

/// One operator rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    /// A short name, unique among rules; shown in comments and log prefixes.
    pub name: Name,
    /// Is the rule in force? (default yes; lets the panel switch a rule off without
    /// losing it)
    #[serde(default = "yes")]
    pub enabled: bool,
    /// Input (default), forward or output.
    #[serde(default)]
    pub direction: Direction,
    /// The zone traffic comes from (input, forward) or goes to (output); left out, the
    /// rule applies in every zone.
    #[serde(default)]
    pub zone: Option<ZoneName>,
    /// For forward rules, the zone traffic goes to; left out, any zone.
    #[serde(default)]
    pub dest_zone: Option<ZoneName>,
    /// The protocol (default any).
    #[serde(default)]
    pub protocol: Protocol,
    /// Source addresses, networks or ranges (any family mix; the rule is rendered once
    /// per family it can match).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub source: Vec<AddressSpec>,
    /// A named set the source address must be in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_set: Option<SetName>,
    /// Destination addresses, networks or ranges.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub destination: Vec<AddressSpec>,
    /// A named set the destination address must be in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub destination_set: Option<SetName>,
    /// Source ports (TCP/UDP only).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub source_ports: Vec<PortRange>,
    /// Destination ports (TCP/UDP only): `[22, "8000-8010"]`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ports: Vec<PortRange>,
    /// ICMP or ICMPv6 types (protocol `icmp` or `icmpv6` only).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub icmp_types: Vec<IcmpType>,
    /// Connection states to match (`new`, `established`…); empty: any.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub state: Vec<CtState>,
    /// Match only traffic beyond this rate (per source by default). Pair it with `drop`
    /// or `reject` to throttle, such as new SSH connections beyond 3 a minute per host.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub over_rate: Option<RateLimit>,
    /// Log matching packets (rate-limited as set in `[firewall.logging]`).
    #[serde(default)]
    pub log: bool,
    /// What to do with matching traffic.
    pub action: Action,
}
