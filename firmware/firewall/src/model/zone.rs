//! Zones: groups of interfaces that share a trust level, and the forwardings between them.
//!
//! There are four zone kinds, each with a meaning the renderer relies on: `lan` (the office,
//! trusted; the admin panel's anti-lockout rule lives here), `wan` (the Internet;
//! masqueraded), and the optional `dmz` and `guest`. Settings left out take the kind's
//! default, chosen so that an empty configuration is safe:
//!
//! | setting             | lan    | wan    | dmz    | guest  |
//! |---------------------|--------|--------|--------|--------|
//! | `input`             | accept | drop   | reject | reject |
//! | `forward`           | accept | drop   | reject | reject |
//! | `output`            | accept | accept | accept | accept |
//! | `masquerade`        | no     | yes    | no     | no     |
//! | `allow_ping`        | yes    | no     | yes    | yes    |
//! | `allow_dhcp_dns`    | yes    | no     | yes    | yes    |
//! | `allow_dhcp_client` | no     | yes    | no     | no     |
//!
//! The lan defaults are OpenWrt fw4's (the office trusts its own hosts); wan drops rather
//! than rejects, so that scanners from the Internet get no answer at all; dmz and guest
//! reject, so that their own hosts learn at once that something is closed.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::names::InterfaceName;

/// The zone kinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ZoneName {
    /// The office network.
    Lan,
    /// The Internet uplink.
    Wan,
    /// Servers reachable from the Internet, kept apart from the office.
    Dmz,
    /// Visitors' network: Internet only.
    Guest,
}

impl ZoneName {
    /// Every kind, in the order chains are rendered.
    pub const ALL: [ZoneName; 4] = [Self::Lan, Self::Wan, Self::Dmz, Self::Guest];

    /// The name used in keys, chain names and log prefixes.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Lan => "lan",
            Self::Wan => "wan",
            Self::Dmz => "dmz",
            Self::Guest => "guest",
        }
    }

    /// The kind's defaults for settings left out.
    pub fn defaults(&self) -> ZoneSettings {
        let internal = |policy| ZoneSettings {
            input: policy,
            forward: policy,
            output: Policy::Accept,
            masquerade: false,
            allow_ping: true,
            allow_dhcp_dns: true,
            allow_dhcp_client: false,
        };
        match self {
            Self::Lan => internal(Policy::Accept),
            Self::Dmz | Self::Guest => internal(Policy::Reject),
            Self::Wan => ZoneSettings {
                input: Policy::Drop,
                forward: Policy::Drop,
                output: Policy::Accept,
                masquerade: true,
                allow_ping: false,
                allow_dhcp_dns: false,
                allow_dhcp_client: true,
            },
        }
    }
}

impl fmt::Display for ZoneName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What happens to traffic that no rule decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Policy {
    /// Let it through.
    Accept,
    /// Discard it silently.
    Drop,
    /// Discard it and tell the sender (TCP reset, or ICMP port unreachable).
    Reject,
}

impl Policy {
    /// The word used in log prefixes and comments.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Accept => "accept",
            Self::Drop => "drop",
            Self::Reject => "reject",
        }
    }
}

/// The zones of the box. `lan` and `wan` always exist; a `[firewall.zones.<kind>]` table
/// replaces that kind's default and must list its interfaces.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Zones {
    /// The office network (default interface `eth1`; board defaults override it).
    pub lan: Zone,
    /// The Internet uplink (default interface `eth0`; board defaults override it).
    pub wan: Zone,
    /// An optional DMZ.
    pub dmz: Option<Zone>,
    /// An optional guest network.
    pub guest: Option<Zone>,
}

impl Default for Zones {
    fn default() -> Self {
        let zone = |name: &str| Zone {
            interfaces: name.parse().map(|n| vec![n]).unwrap_or_default(),
            ..Zone::default()
        };
        Self {
            lan: zone("eth1"),
            wan: zone("eth0"),
            dmz: None,
            guest: None,
        }
    }
}

impl Zones {
    /// The zone of a kind, if defined.
    pub fn get(&self, name: ZoneName) -> Option<&Zone> {
        match name {
            ZoneName::Lan => Some(&self.lan),
            ZoneName::Wan => Some(&self.wan),
            ZoneName::Dmz => self.dmz.as_ref(),
            ZoneName::Guest => self.guest.as_ref(),
        }
    }

    /// The defined zones, in rendering order.
    pub fn defined(&self) -> impl Iterator<Item = (ZoneName, &Zone)> {
        ZoneName::ALL
            .into_iter()
            .filter_map(|n| self.get(n).map(|z| (n, z)))
    }
}

/// One zone as written; settings left out take the kind's default (see the module docs),
/// which [`Zone::settings`] resolves.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Zone {
    /// The interfaces in the zone (at least one; `wlan*` style wildcards allowed).
    pub interfaces: Vec<InterfaceName>,
    /// Traffic to the box itself from this zone that no rule decided.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input: Option<Policy>,
    /// Traffic from this zone through the box (to any zone) that no rule or forwarding
    /// decided.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub forward: Option<Policy>,
    /// Traffic from the box itself into this zone that no rule decided.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output: Option<Policy>,
    /// Rewrite the source of IPv4 traffic leaving through this zone to the box's address.
    /// IPv6 is never masqueraded: every host has its own global address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub masquerade: Option<bool>,
    /// Answer ping (ICMP and ICMPv6 echo requests) from this zone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allow_ping: Option<bool>,
    /// Let hosts of this zone use the box's DHCP (v4 and v6) and DNS servers, whatever
    /// the input policy (the box is the office gateway).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allow_dhcp_dns: Option<bool>,
    /// Let the box's own DHCP clients renew their leases on this zone (DHCPv4 replies to
    /// port 68, DHCPv6 replies to port 546 from link-local servers).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allow_dhcp_client: Option<bool>,
}

impl Zone {
    /// The settings in force: those written, the kind's defaults for the rest.
    pub fn settings(&self, kind: ZoneName) -> ZoneSettings {
        let d = kind.defaults();
        ZoneSettings {
            input: self.input.unwrap_or(d.input),
            forward: self.forward.unwrap_or(d.forward),
            output: self.output.unwrap_or(d.output),
            masquerade: self.masquerade.unwrap_or(d.masquerade),
            allow_ping: self.allow_ping.unwrap_or(d.allow_ping),
            allow_dhcp_dns: self.allow_dhcp_dns.unwrap_or(d.allow_dhcp_dns),
            allow_dhcp_client: self.allow_dhcp_client.unwrap_or(d.allow_dhcp_client),
        }
    }
}

/// A zone's settings with every default resolved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ZoneSettings {
    /// See [`Zone::input`].
    pub input: Policy,
    /// See [`Zone::forward`].
    pub forward: Policy,
    /// See [`Zone::output`].
    pub output: Policy,
    /// See [`Zone::masquerade`].
    pub masquerade: bool,
    /// See [`Zone::allow_ping`].
    pub allow_ping: bool,
    /// See [`Zone::allow_dhcp_dns`].
    pub allow_dhcp_dns: bool,
    /// See [`Zone::allow_dhcp_client`].
    pub allow_dhcp_client: bool,
}

/// Traffic from one zone to another is accepted (new connections; replies always are).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Forwarding {
    /// Where connections start.
    pub from: ZoneName,
    /// Where they go.
    pub to: ZoneName,
}

/// The default forwardings: the office may reach the Internet.
pub fn default_forwardings() -> Vec<Forwarding> {
    vec![Forwarding {
        from: ZoneName::Lan,
        to: ZoneName::Wan,
    }]
}
