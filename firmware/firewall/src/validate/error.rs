//! What validation reports: errors that refuse a model, each naming the key, the item's
//! name, the value as written and the reason; and warnings for models that are allowed
//! but risky.

use crate::model::{Family, ForwardProtocol, Protocol, ZoneName};

/// A broken rule of the model; nothing is applied while one exists.
///
/// Displayed as `firewall.rules[3] ("allow-nas").zone = "dmz": zone "dmz" is not defined…`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}{} = {value}: {problem}", self.item_label(), self.field_suffix())]
pub struct ValidationError {
    /// The item the problem is in: `firewall.rules[3]`, `firewall.zones.lan`…
    pub path: String,
    /// The item's name, when it has one (rules, port forwards, sets).
    pub item: Option<String>,
    /// The field within the item, when the problem is in one field.
    pub field: Option<String>,
    /// The offending value as written (quoted for strings).
    pub value: String,
    /// What is wrong (boxed: the error stays small on the `Ok` path).
    pub problem: Box<Problem>,
}

impl ValidationError {
    /// The full dotted key, such as `firewall.rules[3].zone`.
    pub fn key(&self) -> String {
        match &self.field {
            Some(f) => format!("{}.{f}", self.path),
            None => self.path.clone(),
        }
    }

    /// The reason as text (for `ConfigError::Invalid { reason }` in the core crate).
    pub fn reason(&self) -> String {
        self.problem.to_string()
    }

    fn item_label(&self) -> String {
        match &self.item {
            Some(name) => format!("{} ({name:?})", self.path),
            None => self.path.clone(),
        }
    }

    fn field_suffix(&self) -> String {
        self.field
            .as_ref()
            .map(|f| format!(".{f}"))
            .unwrap_or_default()
    }
}

/// Why a value is refused. Each variant is one kind of mistake; its text says what would
/// be right.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Problem {
    /// A zone is referred to but not configured.
    #[error("zone {0:?} is not defined; add [firewall.zones.{0}] or use another zone")]
    UndefinedZone(String),
    /// A zone lists no interface.
    #[error("a zone needs at least one interface")]
    NoInterfaces,
    /// An interface (or wildcard) is in two zones, so its traffic has no single zone.
    #[error(
        "the interface is also in zone \"{zone}\" ({other:?}); an interface belongs to one zone"
    )]
    InterfaceInTwoZones {
        /// The other zone.
        zone: ZoneName,
        /// The interface name there.
        other: String,
    },
    /// Two items of one list share a name.
    #[error("another {what} is already named {name:?} (at index {index}); names must be unique")]
    DuplicateName {
        /// `rule`, `port forward` or `set`.
        what: &'static str,
        /// The name.
        name: String,
        /// Index of the first item with it.
        index: usize,
    },
    /// The same forwarding is listed twice.
    #[error("the same forwarding is already at index {0}")]
    DuplicateForwarding(usize),
    /// A forwarding from a zone to itself (the zone's `forward` policy decides that).
    #[error(
        "a forwarding goes between two zones; traffic within a zone follows its `forward` policy"
    )]
    ForwardingToItself,
    /// `dest_zone` on a rule that is not a forward rule.
    #[error("dest_zone is only for rules with direction = \"forward\"")]
    DestZoneNotForward,
    /// Ports on a protocol without ports.
    #[error("ports need protocol \"tcp\", \"udp\" or \"tcp/udp\", but the protocol is {0:?}")]
    PortsNeedTcpOrUdp(String),
    /// ICMP types on a protocol that is not ICMP.
    #[error("ICMP types need protocol \"icmp\" or \"icmpv6\", but the protocol is {0:?}")]
    IcmpTypesNeedIcmp(String),
    /// An ICMP type name that does not exist in the rule's ICMP version.
    #[error("{name:?} is not a type of {protocol}")]
    IcmpTypeNotInProtocol {
        /// The type's name.
        name: &'static str,
        /// `icmp` or `icmpv6`.
        protocol: Protocol,
    },
    /// A port range whose first port is above its last.
    #[error("the port range is reversed; write it low to high, as \"{last}-{first}\"")]
    ReversedPortRange {
        /// First port as written.
        first: u16,
        /// Last port as written.
        last: u16,
    },
    /// Port 0.
    #[error("port 0 is not a port that traffic can use")]
    PortZero,
    /// An address range whose first address is above its last.
    #[error("the address range is reversed; write it low to high")]
    ReversedAddressRange,
    /// A set is referred to but not defined.
    #[error("set {0:?} is not defined in [[firewall.sets]]")]
    UndefinedSet(String),
    /// A set of one family where addresses of the other are needed.
    #[error("set {set:?} holds {set_family} addresses, but {needed} is needed here")]
    WrongSetFamily {
        /// The set.
        set: String,
        /// Its family.
        set_family: Family,
        /// The family that would fit.
        needed: Family,
    },
    /// A rule's protocol, addresses and sets leave no family it could match in.
    #[error(
        "the protocol, addresses and sets leave no address family (IPv4 or IPv6) in common, so this could never match"
    )]
    NoCommonFamily,
    /// A set element of the other family.
    #[error("the set holds {0} addresses; this element is not one")]
    ElementWrongFamily(Family),
    /// A network or range in a set without `interval`.
    #[error("networks and ranges need `interval = true` on the set")]
    IntervalNeeded,
    /// Two set elements overlap (the kernel refuses overlapping intervals).
    #[error("overlaps element {other:?} (at index {index}); merge or remove one")]
    OverlappingElements {
        /// The other element as written.
        other: String,
        /// Its index.
        index: usize,
    },
    /// A rate of zero.
    #[error("must be at least 1")]
    ZeroRate,
    /// `over_rate` with `accept`, which would accept only the excess.
    #[error(
        "over_rate matches only traffic beyond the rate; pair it with action \"drop\" or \"reject\""
    )]
    OverRateWithAccept,
    /// Two IPv4 port forwards would rewrite the same connections.
    #[error("overlaps port_forwards[{index}] ({name:?}): both take {} port {ports} from zone {from}", protocol.as_str())]
    OverlappingPortForward {
        /// Index of the other forward.
        index: usize,
        /// Its name.
        name: String,
        /// A protocol both forward.
        protocol: ForwardProtocol,
        /// The other forward's external ports.
        ports: String,
        /// The zone both take connections from.
        from: ZoneName,
    },
    /// A port forward that starts and ends in one zone.
    #[error("from and to are the same zone; a port forward goes from one zone into another")]
    PortForwardWithinZone,
    /// A port forward into the wan zone.
    #[error("the internal host must be in an internal zone, not wan")]
    PortForwardToWan,
    /// An internal address that is not a unicast host address.
    #[error("must be a unicast host address (not unspecified, loopback, multicast or broadcast)")]
    NotAHostAddress,
    /// IPv6 port forwards cannot change ports or addresses.
    #[error(
        "IPv6 has no NAT here: an IPv6 port forward cannot change the port, use an external address or reflect"
    )]
    Ipv6NoNat,
    /// The external address is of the other family than the internal host.
    #[error("the external address and the internal address must both be IPv4")]
    ExternalAddressFamily,
    /// A range of external ports going to a shifted range.
    #[error(
        "a port range can go to one internal port or keep its numbers (leave internal_port out); {external} to {internal} would shift it"
    )]
    PortRangeShift {
        /// The external range.
        external: String,
        /// The internal range.
        internal: String,
    },
    /// NAT reflection on a port the box itself serves, which would hijack it.
    #[error(
        "reflection without external_address takes every address of the box, and port {0} is a service of the box itself (panel, DNS or relay); set external_address or use another port"
    )]
    ReflectionHijacksBoxPort(u16),
    /// SMTP enforcement configured for the wan zone.
    #[error("SMTP enforcement holds internal zones to the relay; wan is the Internet")]
    SmtpZoneWan,
    /// An empty list where one entry is needed.
    #[error("{0}")]
    EmptyList(&'static str),
}

/// A model that is valid but risky; the caller logs it (and the panel shows it).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Warning {
    /// The anti-lockout rule is switched off.
    #[error(
        "firewall.anti_lockout.disable_and_risk_lockout = true: the admin panel is not protected by the anti-lockout rule; a LAN input policy of drop or reject, or a rule, can lock the administrator out"
    )]
    AntiLockoutDisabled,
    /// Outbound SMTP from internal zones is not blocked.
    #[error(
        "firewall.smtp.block_outbound = false: hosts can send mail directly to the Internet, bypassing the relay and its DLP"
    )]
    SmtpNotEnforced,
    /// A forwarding lets the Internet open connections into a zone.
    #[error(
        "firewall.forwardings[{index}]: forwarding from wan to {to} lets anyone on the Internet open connections into {to}"
    )]
    ForwardingFromWan {
        /// Index of the forwarding.
        index: usize,
        /// The zone opened.
        to: ZoneName,
    },
    /// A defined zone cannot reach the Internet.
    #[error(
        "firewall.zones.{0}: the zone has no forwarding to wan and its forward policy is not accept, so its hosts cannot reach the Internet"
    )]
    NoInternet(ZoneName),
}
