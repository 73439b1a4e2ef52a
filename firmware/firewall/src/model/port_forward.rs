//! Port forwards: connections from one zone (the Internet by default) to a port of the box
//! reach a host inside.
//!
//! For an IPv4 host the destination is rewritten (DNAT) and the rewritten connection is
//! accepted in the forward path (`ct status dnat`, so that only forwarded connections
//! pass). IPv6 has no NAT: the host has its own global address, so an IPv6 port forward is
//! only the forward accept for that host and port, and its ports cannot be translated.
//!
//! With `reflection`, hosts of the destination zone can use the external address and port
//! as well (NAT reflection, "hairpin"): their connections are rewritten the same way and
//! masqueraded, so that replies come back through the box.

use serde::{Deserialize, Serialize};

use super::names::{Name, SetName};
use super::values::{AddressSpec, PortRange};
use super::zone::ZoneName;

/// The protocol of a port forward.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ForwardProtocol {
    /// TCP (default).
    #[default]
    #[serde(rename = "tcp")]
    Tcp,
    /// UDP.
    #[serde(rename = "udp")]
    Udp,
    /// TCP and UDP.
    #[serde(rename = "tcp/udp")]
    TcpUdp,
}

impl ForwardProtocol {
    /// True when both forward a common protocol.
    pub fn overlaps(&self, other: &ForwardProtocol) -> bool {
        *self == Self::TcpUdp || *other == Self::TcpUdp || self == other
    }

    /// The word used in error messages.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Tcp => "tcp",
            Self::Udp => "udp",
            Self::TcpUdp => "tcp/udp",
        }
    }
}

/// One port forward.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PortForward {
    /// A short name, unique among port forwards.
    pub name: Name,
    /// Is the forward in force? (default yes)
    #[serde(default = "yes")]
    pub enabled: bool,
    /// TCP (default), UDP or both.
    #[serde(default)]
    pub protocol: ForwardProtocol,
    /// The zone connections come from (default `wan`).
    #[serde(default = "wan")]
    pub from: ZoneName,
    /// The zone the internal host is in (default `lan`).
    #[serde(default = "lan")]
    pub to: ZoneName,
    /// The port or range connections arrive on.
    pub external_port: PortRange,
    /// Only connections to this address of the box (IPv4; such as a fixed WAN address);
    /// left out, any address arriving from `from`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_address: Option<std::net::IpAddr>,
    /// The internal host. IPv4: connections are rewritten to it; IPv6: connections to it
    /// are accepted.
    pub internal_address: std::net::IpAddr,
    /// The port on the internal host (IPv4 only); left out, the external port. A range of
    /// external ports may go to one internal port or keep their numbers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub internal_port: Option<PortRange>,
    /// Only from these source addresses or networks.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub source: Vec<AddressSpec>,
    /// Only from sources in this named set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_set: Option<SetName>,
    /// NAT reflection (hairpin) for hosts of the `to` zone (IPv4 only; default no).
    #[serde(default)]
    pub reflection: bool,
}

fn yes() -> bool {
    true
}

fn wan() -> ZoneName {
    ZoneName::Wan
}

fn lan() -> ZoneName {
    ZoneName::Lan
}
