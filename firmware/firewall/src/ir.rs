//! The ruleset as data: one `inet` table of sets and chains, each rule a short vector of
//! typed expressions, in the order nftables evaluates them.
//!
//! The IR is what both back ends consume: [`crate::render`] prints it as an `nft -f`
//! script, and the netlink layer translates it into nftnl objects. To keep that
//! translation mechanical, every [`Expr`] is one nftables expression (or the short fixed
//! sequence `nft` itself emits for it, documented on the variant), and nothing is implicit:
//! the dependencies `nft` would add by itself (`meta nfproto` before an `ip saddr`,
//! `meta l4proto` before a `th dport`) are explicit items, placed by the builder.
//!
//! A list of values (`Vec` with more than one element) is an anonymous constant set with
//! a lookup, as `nft` makes for `{ a, b }`; with port or address ranges, or wildcard
//! interface names, that set has the interval flag. One value is a plain compare.

use std::net::IpAddr;

use crate::model::{
    AddressSpec, CtState, Family, IcmpType, InterfaceName, LogLevel, PortRange, RateUnit,
    SetElement, Timeout,
};

/// The name of the one table the firewall owns (family `inet`).
pub const TABLE_NAME: &str = "mamori";

/// The `inet mamori` table: its sets first, then its chains (the netlink layer must add
/// every set and chain before any rule, since rules jump forward and refer to sets).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Table {
    /// Named sets: the operator's, then the rate-limit meters.
    pub sets: Vec<Set>,
    /// Base chains, then regular chains.
    pub chains: Vec<Chain>,
}

impl Table {
    /// The chain of that name, if any.
    pub fn chain(&self, name: &str) -> Option<&Chain> {
        self.chains.iter().find(|c| c.name == name)
    }
}

/// A named set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Set {
    /// The set's name.
    pub name: String,
    /// The key type: `ipv4_addr` or `ipv6_addr`.
    pub family: Family,
    /// `NFT_SET_INTERVAL`: elements may be networks and ranges.
    pub interval: bool,
    /// `NFT_SET_TIMEOUT`: elements may expire.
    pub timeout_flag: bool,
    /// `NFT_SET_EVAL` (`flags dynamic`): rules add elements (rate-limit meters).
    pub dynamic: bool,
    /// The default element timeout.
    pub timeout: Option<Timeout>,
    /// The most elements the set holds (meters only: bounds the memory a flood can take).
    pub size: Option<u32>,
    /// The elements, each a single address, a network or a range.
    pub elements: Vec<SetElement>,
}

/// A chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chain {
    /// The chain's name (`input`, `input_lan`, `srcnat_wan`, `handle_reject`…).
    pub name: String,
    /// For a base chain, where it hooks in; `None` for a regular chain reached by jumps.
    pub base: Option<BaseChain>,
    /// The rules in order.
    pub rules: Vec<Rule>,
}

/// Where a base chain hooks into the network stack.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BaseChain {
    /// `filter` or `nat`.
    pub kind: ChainType,
    /// The netfilter hook.
    pub hook: Hook,
    /// The priority (nftables' named priorities: `filter` 0, `dstnat` -100, `srcnat` 100).
    pub priority: i32,
    /// What happens to packets that reach the end of the chain.
    pub policy: ChainPolicy,
}

/// A base chain type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChainType {
    /// `type filter`.
    Filter,
    /// `type nat`.
    Nat,
}

/// A netfilter hook.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hook {
    /// `NF_INET_PRE_ROUTING`.
    Prerouting,
    /// `NF_INET_LOCAL_IN`.
    Input,
    /// `NF_INET_FORWARD`.
    Forward,
    /// `NF_INET_LOCAL_OUT`.
    Output,
    /// `NF_INET_POST_ROUTING`.
    Postrouting,
}

/// A base chain's policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChainPolicy {
    /// `NF_ACCEPT`.
    Accept,
    /// `NF_DROP`.
    Drop,
}

/// A rule: expressions evaluated in order; a match that fails ends the rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    /// The expressions.
    pub exprs: Vec<Expr>,
    /// A comment stored with the rule (user data): the operator's rule name or what a
    /// built-in rule is for.
    pub comment: Option<String>,
}

/// Which address or port of a packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    /// Source.
    Source,
    /// Destination.
    Destination,
}

/// A layer-4 protocol number as matched by `meta l4proto`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum L4Proto {
    /// 6.
    Tcp,
    /// 17.
    Udp,
    /// 1.
    Icmp,
    /// 58.
    Icmpv6,
}

impl L4Proto {
    /// The IP protocol number.
    pub fn number(&self) -> u8 {
        match self {
            Self::Tcp => 6,
            Self::Udp => 17,
            Self::Icmp => 1,
            Self::Icmpv6 => 58,
        }
    }
}

/// What an address is matched against.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AddrMatch {
    /// Literal addresses, networks and ranges (all of the expression's family).
    Literal(Vec<AddressSpec>),
    /// A named set (`@name`) of the expression's family.
    Set(String),
}

/// A rate for `limit`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    /// Packets per unit.
    pub rate: u32,
    /// The unit.
    pub unit: RateUnit,
    /// Burst, in packets.
    pub burst: u32,
}

/// How `reject` answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RejectWith {
    /// A TCP reset (only after a TCP match).
    TcpReset,
    /// ICMP/ICMPv6 port unreachable, whichever the packet's family (`icmpx`).
    IcmpxPortUnreachable,
}

/// A terminal verdict.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// `accept`.
    Accept,
    /// `drop`.
    Drop,
    /// `reject` (the reject expression).
    Reject(RejectWith),
    /// `jump chain`: run the chain and come back.
    Jump(String),
    /// `goto chain`: run the chain and do not come back.
    Goto(String),
}

/// One expression of a rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expr {
    /// `meta iifname`: the input interface name (wildcards are prefix compares).
    IifName(Vec<InterfaceName>),
    /// `meta oifname`: the output interface name.
    OifName(Vec<InterfaceName>),
    /// `meta nfproto`: the packet's family (required before [`Expr::Addr`] and
    /// [`Expr::IcmpType`] in an `inet` table).
    NfProto(Family),
    /// `meta l4proto`: the transport protocol (required before [`Expr::Port`],
    /// [`Expr::IcmpType`] and a TCP-reset reject).
    L4Proto(Vec<L4Proto>),
    /// `ip saddr` / `ip6 daddr`…: a network-header payload load and a compare, range or
    /// lookup.
    Addr {
        /// `ip` or `ip6`.
        family: Family,
        /// Source or destination.
        field: Field,
        /// What to match.
        value: AddrMatch,
    },
    /// `th sport` / `th dport`: a transport-header payload load (offset 0 or 2, two bytes)
    /// and a compare, range or lookup.
    Port {
        /// Source or destination port.
        field: Field,
        /// The ports and ranges.
        ports: Vec<PortRange>,
    },
    /// `icmp type` / `icmpv6 type`: a transport-header payload load (offset 0, one byte).
    IcmpType {
        /// ICMP (IPv4) or ICMPv6.
        family: Family,
        /// The types (each exists in that family; see [`IcmpType::code`]).
        types: Vec<IcmpType>,
    },
    /// `ct state`: conntrack state load, bitwise AND with the states' bits, compare != 0.
    CtState(Vec<CtState>),
    /// `ct status dnat`: the connection was destination-NATed (a port forward).
    CtStatusDnat,
    /// `ip6 hoplimit 255`: the packet cannot have crossed a router (neighbour discovery).
    Ip6HopLimit(u8),
    /// `fib daddr type local`: the destination is an address of the box.
    FibDaddrLocal,
    /// `fib daddr oifname`: the route to the destination leaves through these interfaces.
    FibDaddrOifName(Vec<InterfaceName>),
    /// `limit rate [over] N/unit burst B packets`: one token bucket for the rule.
    Limit {
        /// The rate.
        rate: Rate,
        /// Match only beyond the rate (`over`) rather than within it.
        over: bool,
    },
    /// `update @set { ip saddr limit rate over N/unit burst B packets }`: a dynset that
    /// keeps one token bucket per source address in `set` (a dynamic meter set), matching
    /// only beyond the rate.
    MeterOver {
        /// The meter set (declared in [`Table::sets`] with `dynamic` and a timeout).
        set: String,
        /// The family of the source address key.
        family: Family,
        /// The rate per source.
        rate: Rate,
    },
    /// `counter`: packets and bytes of the rule (every rule has one).
    Counter,
    /// `log prefix "…" level …`.
    Log {
        /// The prefix, such as `mamori drop lan-input: `.
        prefix: String,
        /// The syslog level.
        level: LogLevel,
    },
    /// `dnat ip to addr[:port]`: rewrite the destination (IPv4; the port range, if any,
    /// is `first-last`).
    Dnat {
        /// The new destination address.
        addr: IpAddr,
        /// The new destination port or range; `None` keeps it.
        port: Option<PortRange>,
    },
    /// `redirect to :port`: deliver to the box itself on that port.
    Redirect(u16),
    /// `masquerade`: rewrite the source to the outgoing interface's address.
    Masquerade,
    /// A verdict; ends the rule.
    Verdict(Verdict),
}
