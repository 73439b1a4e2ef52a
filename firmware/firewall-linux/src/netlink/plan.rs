//! IR → the kernel's objects, as plain data: sets with their elements as the kernel stores
//! them, chains, and rules as the expression sequence `nft` 1.0 generates for the same
//! statement (`nft --debug=netlink` was the reference). Pure, so it is tested without a
//! kernel; [`super::encode`] turns it into nftnl objects.
//!
//! What `nft` does and this copies, because `nft list` prints the kernel's bytecode back
//! through the same heuristics and the two paths must list alike:
//!
//! * interface names compare all 16 bytes (`IFNAMSIZ`, zero-padded); a wildcard compares
//!   the stem only; in a set a wildcard is the range `stem\0…`–`stem\xff…`;
//! * a prefix on a byte boundary shortens the load (`ip saddr 10.0.0.0/8` loads one byte),
//!   another prefix is masked with a bitwise; a range is `cmp gte` + `cmp lte`;
//! * a list is an anonymous constant set (`__set%d`, `NFTA_SET_DESC_SIZE` = its element
//!   count), with the interval flag when it holds a range, prefix or wildcard; interval
//!   elements are sorted, merged when they overlap or touch, and stored as a start plus an
//!   `INTERVAL_END` element one past the end, after a leading `INTERVAL_END` element at
//!   zero; a range running to the largest key has no end and carries nft's "open" flag.

use std::collections::HashMap;
use std::net::IpAddr;

use super::ext::expr::{FibResult, PayloadBase};
use super::ext::set::Elem;
use mamori_firewall::ir::{
    AddrMatch, BaseChain, Expr, Field, Rate, RejectWith, Set, Table, Verdict,
};
use mamori_firewall::model::{AddressSpec, Family, InterfaceName, LogLevel, PortRange, RateUnit};
use mamori_firewall::render::quoted;

/// `IFNAMSIZ`.
const IFNAMSIZ: usize = 16;
/// The longest comment `nft` stores (as the text renderer).
const MAX_COMMENT: usize = 128;
/// The longest log prefix (as the text renderer).
const MAX_PREFIX: usize = 127;

/// `NFT_SET_ANONYMOUS`.
pub const SET_ANONYMOUS: u32 = 0x1;
/// `NFT_SET_CONSTANT`.
pub const SET_CONSTANT: u32 = 0x2;
/// `NFT_SET_INTERVAL`.
pub const SET_INTERVAL: u32 = 0x4;
/// `NFT_SET_TIMEOUT`.
pub const SET_TIMEOUT: u32 = 0x10;
/// `NFT_SET_EVAL` (`flags dynamic`).
pub const SET_EVAL: u32 = 0x20;

/// A set key as `nft` describes it: its data type number, length and byte order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Key {
    /// nft's `enum datatypes` number.
    pub type_id: u32,
    /// Length in bytes.
    pub len: u32,
    /// 1 host endian, 2 big endian.
    pub byteorder: u32,
}

impl Key {
    const IPV4: Key = Key {
        type_id: 7,
        len: 4,
        byteorder: 2,
    };
    const IPV6: Key = Key {
        type_id: 8,
        len: 16,
        byteorder: 2,
    };
    const INET_PROTO: Key = Key {
        type_id: 12,
        len: 1,
        byteorder: 2,
    };
    const INET_SERVICE: Key = Key {
        type_id: 13,
        len: 2,
        byteorder: 2,
    };
    const ICMP_TYPE: Key = Key {
        type_id: 14,
        len: 1,
        byteorder: 2,
    };
    const ICMPV6_TYPE: Key = Key {
        type_id: 29,
        len: 1,
        byteorder: 2,
    };
    const IFNAME: Key = Key {
        type_id: 41,
        len: IFNAMSIZ as u32,
        byteorder: 1,
    };

    /// The address key of a family.
    pub fn address(family: Family) -> Key {
        match family {
            Family::Ipv4 => Self::IPV4,
            Family::Ipv6 => Self::IPV6,
        }
    }
}

/// A set to add, with its elements.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetPlan {
    /// The name (`__set%d` for an anonymous set).
    pub name: String,
    /// Its id in the batch.
    pub id: u32,
    /// `NFT_SET_*` flags.
    pub flags: u32,
    /// The key.
    pub key: Key,
    /// Default timeout in milliseconds.
    pub timeout_ms: Option<u64>,
    /// `NFTA_SET_DESC_SIZE`.
    pub size: Option<u32>,
    /// The kernel elements.
    pub elements: Vec<Elem>,
}

/// A chain to add, with its rules.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainPlan {
    /// The name.
    pub name: String,
    /// Hook, priority, type and policy of a base chain.
    pub base: Option<BaseChain>,
    /// The rules in order.
    pub rules: Vec<RulePlan>,
}

/// A rule: the anonymous sets it looks up (added just before it), its expressions and
/// its comment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RulePlan {
    /// Anonymous sets, in the order the expressions refer to them.
    pub anon_sets: Vec<SetPlan>,
    /// The expressions.
    pub exprs: Vec<Low>,
    /// The comment, already as nft stores it (quoted characters replaced, bounded).
    pub comment: Option<String>,
}

/// The whole table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// Named sets.
    pub sets: Vec<SetPlan>,
    /// Chains.
    pub chains: Vec<ChainPlan>,
}

/// A `meta` key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetaKey {
    /// `iifname`.
    IifName,
    /// `oifname`.
    OifName,
    /// `nfproto`.
    NfProto,
    /// `l4proto`.
    L4Proto,
}

/// A `ct` key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CtKey {
    /// `ct state`.
    State,
    /// `ct status`.
    Status,
}

/// A compare operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CmpOp {
    /// `eq`.
    Eq,
    /// `neq`.
    Neq,
    /// `gte`.
    Gte,
    /// `lte`.
    Lte,
}

/// One kernel expression (all loads go to register 1, as nft's do).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Low {
    /// `meta load KEY => reg 1`.
    Meta(MetaKey),
    /// `cmp OP reg 1 DATA`.
    Cmp(CmpOp, Vec<u8>),
    /// `payload load LEN b @ BASE + OFFSET => reg 1`.
    Payload {
        /// Network or transport header.
        base: PayloadBase,
        /// Offset in bytes.
        offset: u32,
        /// Length in bytes.
        len: u32,
    },
    /// `bitwise reg 1 = (reg 1 & MASK) ^ 0`.
    Bitwise(Vec<u8>),
    /// `lookup reg 1 set NAME` (by name and batch id).
    Lookup {
        /// The set's name.
        set: String,
        /// Its id in the batch.
        id: u32,
    },
    /// `ct load KEY => reg 1`.
    Ct(CtKey),
    /// `fib daddr RESULT => reg 1`.
    Fib(FibResult),
    /// `counter`.
    Counter,
    /// `limit`.
    Limit {
        /// Packets per unit.
        rate: u64,
        /// Unit in seconds.
        unit_secs: u64,
        /// Burst in packets.
        burst: u32,
        /// Match beyond the rate.
        over: bool,
    },
    /// `log prefix … level …`.
    Log {
        /// The prefix as stored.
        prefix: String,
        /// The syslog level.
        level: u32,
    },
    /// `dynset update reg_key 1 set NAME expr [ limit … over ]`.
    MeterOver {
        /// The meter set.
        set: String,
        /// Its id in the batch.
        id: u32,
        /// Packets per unit.
        rate: u64,
        /// Unit in seconds.
        unit_secs: u64,
        /// Burst.
        burst: u32,
    },
    /// `immediate reg N DATA`.
    Immediate {
        /// The register (1-3).
        reg: u32,
        /// The data (2, 4 or 16 bytes).
        data: Vec<u8>,
    },
    /// `nat dnat FAMILY addr_min reg 1 [proto_min reg 2 [proto_max reg 3]]`.
    Dnat {
        /// The address family of the new destination.
        family: Family,
        /// A new port (reg 2).
        port: bool,
        /// A new port range (reg 2 and 3).
        port_range: bool,
    },
    /// `redir proto_min reg 1`.
    Redirect,
    /// `masq`.
    Masquerade,
    /// `reject type 1 code 0` (TCP reset) or `reject type 2 code 1` (ICMPx port
    /// unreachable).
    Reject(RejectWith),
    /// `immediate reg 0 accept`.
    Accept,
    /// `immediate reg 0 drop`.
    Drop,
    /// `immediate reg 0 jump -> CHAIN`.
    Jump(String),
    /// `immediate reg 0 goto -> CHAIN`.
    Goto(String),
}

/// Builds the plan of a table. Set ids are 1… in order: named sets, then the anonymous
/// sets in rule order.
pub fn plan(table: &Table) -> Plan {
    let mut ids = Ids::default();
    let sets: Vec<SetPlan> = table
        .sets
        .iter()
        .map(|s| {
            let id = ids.next();
            ids.named.insert(s.name.clone(), id);
            named_set(s, id)
        })
        .collect();
    let chains = table
        .chains
        .iter()
        .map(|c| ChainPlan {
            name: c.name.clone(),
            base: c.base,
            rules: c
                .rules
                .iter()
                .map(|r| {
                    let mut rule = RulePlan {
                        anon_sets: Vec::new(),
                        exprs: Vec::new(),
                        comment: r.comment.as_deref().map(|c| quoted(c, MAX_COMMENT)),
                    };
                    for e in &r.exprs {
                        lower(e, &mut rule, &mut ids);
                    }
                    rule
                })
                .collect(),
        })
        .collect();
    Plan { sets, chains }
}

#[derive(Default)]
struct Ids {
    last: u32,
    named: HashMap<String, u32>,
}

impl Ids {
    fn next(&mut self) -> u32 {
        self.last += 1;
        self.last
    }

    /// The id of a named set (0, "look it up by name", for one not in this table).
    fn of(&self, name: &str) -> u32 {
        self.named.get(name).copied().unwrap_or(0)
    }
}

/// The plan of a named set (the elements the set holds when created).
pub fn named_set(s: &Set, id: u32) -> SetPlan {
    let mut flags = 0;
    if s.interval {
        flags |= SET_INTERVAL;
    }
    if s.timeout_flag {
        flags |= SET_TIMEOUT;
    }
    if s.dynamic {
        flags |= SET_EVAL;
    }
    SetPlan {
        name: s.name.clone(),
        id,
        flags,
        key: Key::address(s.family),
        timeout_ms: s.timeout.map(|t| u64::from(t.as_secs()) * 1000),
        size: s.size,
        elements: set_elements(s, &s.elements, true),
    }
}

/// The kernel elements of some of a named set's elements. `first_segment` adds the
/// leading zero `INTERVAL_END` element `nft` sends when it creates or fills an interval
/// set (not when it adds to or deletes from one).
pub fn set_elements(
    s: &Set,
    elements: &[mamori_firewall::model::SetElement],
    first_segment: bool,
) -> Vec<Elem> {
    let ranges = elements.iter().map(|e| {
        let (a, b) = e.address.bounds();
        (
            ip_bytes(&a),
            ip_bytes(&b),
            e.timeout.map(|t| u64::from(t.as_secs()) * 1000),
        )
    });
    if s.interval {
        let len = Key::address(s.family).len as usize;
        interval_elements(ranges.collect(), false, first_segment, len)
    } else {
        ranges
            .map(|(a, _, timeout_ms)| Elem {
                key: a,
                interval_end: false,
                timeout_ms,
                open: false,
            })
            .collect()
    }
}

/// The big-endian successor of `key`, `None` when it is all ones.
fn successor(key: &[u8]) -> Option<Vec<u8>> {
    let mut out = key.to_vec();
    for b in out.iter_mut().rev() {
        if *b == 0xff {
            *b = 0;
        } else {
            *b += 1;
            return Some(out);
        }
    }
    None
}

type Range = (Vec<u8>, Vec<u8>, Option<u64>);

/// Inclusive ranges → interval elements (see the module documentation).
fn interval_elements(
    mut ranges: Vec<Range>,
    merge: bool,
    first_segment: bool,
    len: usize,
) -> Vec<Elem> {
    ranges.sort();
    if merge {
        let mut merged: Vec<Range> = Vec::with_capacity(ranges.len());
        for r in ranges {
            match merged.last_mut() {
                Some(last) if successor(&last.1).is_none_or(|next| r.0 <= next) => {
                    if r.1 > last.1 {
                        last.1 = r.1;
                    }
                }
                _ => merged.push(r),
            }
        }
        ranges = merged;
    }
    let mut out = Vec::with_capacity(ranges.len() * 2 + 1);
    let zero = vec![0u8; len];
    if first_segment && ranges.first().is_some_and(|r| r.0 != zero) {
        out.push(Elem {
            key: zero,
            interval_end: true,
            timeout_ms: None,
            open: false,
        });
    }
    for (start, end, timeout_ms) in ranges {
        let next = successor(&end);
        out.push(Elem {
            key: start,
            interval_end: false,
            timeout_ms,
            open: next.is_none(),
        });
        if let Some(key) = next {
            out.push(Elem {
                key,
                interval_end: true,
                timeout_ms: None,
                open: false,
            });
        }
    }
    out
}

fn ip_bytes(ip: &IpAddr) -> Vec<u8> {
    match ip {
        IpAddr::V4(a) => a.octets().to_vec(),
        IpAddr::V6(a) => a.octets().to_vec(),
    }
}

fn ifname_padded(name: &str) -> Vec<u8> {
    let mut v = name.as_bytes().to_vec();
    v.resize(IFNAMSIZ, 0);
    v
}

/// A list as an anonymous set plus its lookup: the values as inclusive ranges, `interval`
/// when any is a range.
fn anon_set(rule: &mut RulePlan, ids: &mut Ids, key: Key, ranges: Vec<Range>, interval: bool) {
    let id = ids.next();
    let elements = if interval {
        interval_elements(ranges, true, true, key.len as usize)
    } else {
        let mut keys: Vec<Vec<u8>> = ranges.into_iter().map(|r| r.0).collect();
        keys.sort();
        keys.dedup();
        keys.into_iter()
            .map(|key| Elem {
                key,
                interval_end: false,
                timeout_ms: None,
                open: false,
            })
            .collect()
    };
    let mut flags = SET_ANONYMOUS | SET_CONSTANT;
    if interval {
        flags |= SET_INTERVAL;
    }
    rule.anon_sets.push(SetPlan {
        name: "__set%d".into(),
        id,
        flags,
        key,
        timeout_ms: None,
        size: Some(elements.len() as u32),
        elements,
    });
    rule.exprs.push(Low::Lookup {
        set: "__set%d".into(),
        id,
    });
}

/// Matches the loaded interface name against `names`.
fn match_ifnames(rule: &mut RulePlan, ids: &mut Ids, names: &[InterfaceName]) {
    let stem = |n: &InterfaceName| n.as_str().trim_end_matches('*').as_bytes().to_vec();
    match names {
        [one] if one.is_wildcard() => rule.exprs.push(Low::Cmp(CmpOp::Eq, stem(one))),
        [one] => rule
            .exprs
            .push(Low::Cmp(CmpOp::Eq, ifname_padded(one.as_str()))),
        many => {
            let interval = many.iter().any(InterfaceName::is_wildcard);
            let ranges = many
                .iter()
                .map(|n| {
                    if n.is_wildcard() {
                        let mut lo = stem(n);
                        let mut hi = lo.clone();
                        lo.resize(IFNAMSIZ, 0);
                        hi.resize(IFNAMSIZ, 0xff);
                        (lo, hi, None)
                    } else {
                        let k = ifname_padded(n.as_str());
                        (k.clone(), k, None)
                    }
                })
                .collect();
            anon_set(rule, ids, Key::IFNAME, ranges, interval);
        }
    }
}

/// Matches a loaded value against inclusive ranges of big-endian keys: compare, range
/// compares, or an anonymous set.
fn match_ranges(rule: &mut RulePlan, ids: &mut Ids, key: Key, ranges: Vec<Range>) {
    match ranges.as_slice() {
        [(a, b, _)] if a == b => rule.exprs.push(Low::Cmp(CmpOp::Eq, a.clone())),
        [(a, b, _)] => {
            rule.exprs.push(Low::Cmp(CmpOp::Gte, a.clone()));
            rule.exprs.push(Low::Cmp(CmpOp::Lte, b.clone()));
        }
        _ => {
            let interval = ranges.iter().any(|r| r.0 != r.1);
            anon_set(rule, ids, key, ranges, interval);
        }
    }
}

fn family_number(f: Family) -> u8 {
    match f {
        Family::Ipv4 => 2,  // NFPROTO_IPV4
        Family::Ipv6 => 10, // NFPROTO_IPV6
    }
}

fn addr_offset(family: Family, field: Field) -> (u32, u32) {
    match (family, field) {
        (Family::Ipv4, Field::Source) => (12, 4),
        (Family::Ipv4, Field::Destination) => (16, 4),
        (Family::Ipv6, Field::Source) => (8, 16),
        (Family::Ipv6, Field::Destination) => (24, 16),
    }
}

fn unit_secs(u: RateUnit) -> u64 {
    match u {
        RateUnit::Second => 1,
        RateUnit::Minute => 60,
        RateUnit::Hour => 3600,
    }
}

fn level(l: LogLevel) -> u32 {
    match l {
        LogLevel::Err => 3,
        LogLevel::Warn => 4,
        LogLevel::Notice => 5,
        LogLevel::Info => 6,
        LogLevel::Debug => 7,
    }
}

fn limit(r: &Rate, over: bool) -> Low {
    Low::Limit {
        rate: u64::from(r.rate),
        unit_secs: unit_secs(r.unit),
        burst: r.burst,
        over,
    }
}

fn port_range(p: &PortRange) -> Range {
    (
        p.first.to_be_bytes().to_vec(),
        p.last.to_be_bytes().to_vec(),
        None,
    )
}

/// One IR expression → its kernel expressions (and anonymous sets).
fn lower(e: &Expr, rule: &mut RulePlan, ids: &mut Ids) {
    let out = |rule: &mut RulePlan, l: Low| rule.exprs.push(l);
    match e {
        Expr::IifName(names) => {
            out(rule, Low::Meta(MetaKey::IifName));
            match_ifnames(rule, ids, names);
        }
        Expr::OifName(names) => {
            out(rule, Low::Meta(MetaKey::OifName));
            match_ifnames(rule, ids, names);
        }
        Expr::NfProto(f) => {
            out(rule, Low::Meta(MetaKey::NfProto));
            out(rule, Low::Cmp(CmpOp::Eq, vec![family_number(*f)]));
        }
        Expr::L4Proto(protos) => {
            out(rule, Low::Meta(MetaKey::L4Proto));
            let ranges = protos
                .iter()
                .map(|p| (vec![p.number()], vec![p.number()], None))
                .collect();
            match_ranges(rule, ids, Key::INET_PROTO, ranges);
        }
        Expr::Addr {
            family,
            field,
            value,
        } => lower_addr(*family, *field, value, rule, ids),
        Expr::Port { field, ports } => {
            let offset = match field {
                Field::Source => 0,
                Field::Destination => 2,
            };
            out(
                rule,
                Low::Payload {
                    base: PayloadBase::Transport,
                    offset,
                    len: 2,
                },
            );
            match_ranges(
                rule,
                ids,
                Key::INET_SERVICE,
                ports.iter().map(port_range).collect(),
            );
        }
        Expr::IcmpType { family, types } => {
            out(
                rule,
                Low::Payload {
                    base: PayloadBase::Transport,
                    offset: 0,
                    len: 1,
                },
            );
            let key = match family {
                Family::Ipv4 => Key::ICMP_TYPE,
                Family::Ipv6 => Key::ICMPV6_TYPE,
            };
            // Validation admits only types of the rule's family, so `code` is Some.
            let ranges = types
                .iter()
                .filter_map(|t| t.code(*family))
                .map(|c| (vec![c], vec![c], None))
                .collect();
            match_ranges(rule, ids, key, ranges);
        }
        Expr::CtState(states) => {
            let mask = states.iter().fold(0u32, |m, s| m | s.bit());
            out(rule, Low::Ct(CtKey::State));
            out(rule, Low::Bitwise(mask.to_ne_bytes().to_vec()));
            out(rule, Low::Cmp(CmpOp::Neq, vec![0; 4]));
        }
        Expr::CtStatusDnat => {
            out(rule, Low::Ct(CtKey::Status));
            out(rule, Low::Bitwise(0x20u32.to_ne_bytes().to_vec())); // IPS_DST_NAT
            out(rule, Low::Cmp(CmpOp::Neq, vec![0; 4]));
        }
        Expr::Ip6HopLimit(h) => {
            out(
                rule,
                Low::Payload {
                    base: PayloadBase::Network,
                    offset: 7,
                    len: 1,
                },
            );
            out(rule, Low::Cmp(CmpOp::Eq, vec![*h]));
        }
        Expr::FibDaddrLocal => {
            out(rule, Low::Fib(FibResult::AddrType));
            out(rule, Low::Cmp(CmpOp::Eq, 2u32.to_ne_bytes().to_vec())); // RTN_LOCAL
        }
        Expr::FibDaddrOifName(names) => {
            out(rule, Low::Fib(FibResult::OifName));
            match_ifnames(rule, ids, names);
        }
        Expr::Limit { rate, over } => out(rule, limit(rate, *over)),
        Expr::MeterOver { set, family, rate } => {
            let (offset, len) = addr_offset(*family, Field::Source);
            out(
                rule,
                Low::Payload {
                    base: PayloadBase::Network,
                    offset,
                    len,
                },
            );
            out(
                rule,
                Low::MeterOver {
                    set: set.clone(),
                    id: ids.of(set),
                    rate: u64::from(rate.rate),
                    unit_secs: unit_secs(rate.unit),
                    burst: rate.burst,
                },
            );
        }
        Expr::Counter => out(rule, Low::Counter),
        Expr::Log { prefix, level: l } => out(
            rule,
            Low::Log {
                prefix: quoted(prefix, MAX_PREFIX),
                level: level(*l),
            },
        ),
        Expr::Dnat { addr, port } => {
            out(
                rule,
                Low::Immediate {
                    reg: 1,
                    data: ip_bytes(addr),
                },
            );
            if let Some(p) = port {
                out(
                    rule,
                    Low::Immediate {
                        reg: 2,
                        data: p.first.to_be_bytes().to_vec(),
                    },
                );
                if !p.is_single() {
                    out(
                        rule,
                        Low::Immediate {
                            reg: 3,
                            data: p.last.to_be_bytes().to_vec(),
                        },
                    );
                }
            }
            out(
                rule,
                Low::Dnat {
                    family: Family::of(addr),
                    port: port.is_some(),
                    port_range: port.is_some_and(|p| !p.is_single()),
                },
            );
        }
        Expr::Redirect(port) => {
            out(
                rule,
                Low::Immediate {
                    reg: 1,
                    data: port.to_be_bytes().to_vec(),
                },
            );
            out(rule, Low::Redirect);
        }
        Expr::Masquerade => out(rule, Low::Masquerade),
        Expr::Verdict(v) => out(
            rule,
            match v {
                Verdict::Accept => Low::Accept,
                Verdict::Drop => Low::Drop,
                Verdict::Reject(with) => Low::Reject(*with),
                Verdict::Jump(c) => Low::Jump(c.clone()),
                Verdict::Goto(c) => Low::Goto(c.clone()),
            },
        ),
    }
}

fn lower_addr(family: Family, field: Field, value: &AddrMatch, rule: &mut RulePlan, ids: &mut Ids) {
    let (offset, len) = addr_offset(family, field);
    let payload = |len| Low::Payload {
        base: PayloadBase::Network,
        offset,
        len,
    };
    match value {
        AddrMatch::Set(name) => {
            rule.exprs.push(payload(len));
            rule.exprs.push(Low::Lookup {
                set: name.clone(),
                id: ids.of(name),
            });
        }
        AddrMatch::Literal(list) => match list.as_slice() {
            [AddressSpec::Net(net)] if net.prefix_len() < net.max_prefix_len() => {
                let prefix = u32::from(net.prefix_len());
                let network = ip_bytes(&net.network());
                if prefix % 8 == 0 && prefix > 0 {
                    let bytes = (prefix / 8) as usize;
                    rule.exprs.push(payload(prefix / 8));
                    rule.exprs
                        .push(Low::Cmp(CmpOp::Eq, network[..bytes].to_vec()));
                } else {
                    rule.exprs.push(payload(len));
                    rule.exprs.push(Low::Bitwise(ip_bytes(&net.netmask())));
                    rule.exprs.push(Low::Cmp(CmpOp::Eq, network));
                }
            }
            many => {
                rule.exprs.push(payload(len));
                let ranges = many
                    .iter()
                    .map(|a| {
                        let (lo, hi) = a.bounds();
                        (ip_bytes(&lo), ip_bytes(&hi), None)
                    })
                    .collect();
                match_ranges(rule, ids, Key::address(family), ranges);
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mamori_firewall::ir::Rule;

    fn lower_one(exprs: Vec<Expr>) -> RulePlan {
        let table = Table {
            sets: Vec::new(),
            chains: vec![mamori_firewall::ir::Chain {
                name: "c".into(),
                base: None,
                rules: vec![Rule {
                    exprs,
                    comment: Some("a \"quoted\" comment".into()),
                }],
            }],
        };
        let mut p = plan(&table);
        p.chains.remove(0).rules.remove(0)
    }

    fn names(list: &[&str]) -> Vec<InterfaceName> {
        list.iter().map(|n| n.parse().unwrap()).collect()
    }

    #[test]
    fn interface_names_compare_sixteen_bytes_and_wildcards_their_stem() {
        let r = lower_one(vec![Expr::IifName(names(&["eth1"]))]);
        let mut eth1 = b"eth1".to_vec();
        eth1.resize(16, 0);
        assert_eq!(
            r.exprs,
            vec![Low::Meta(MetaKey::IifName), Low::Cmp(CmpOp::Eq, eth1)]
        );
        assert_eq!(r.comment.as_deref(), Some("a 'quoted' comment"));
        let r = lower_one(vec![Expr::IifName(names(&["wlan*"]))]);
        assert_eq!(r.exprs[1], Low::Cmp(CmpOp::Eq, b"wlan".to_vec()));
    }

    #[test]
    fn interface_lists_with_wildcards_are_interval_sets_like_nft() {
        let r = lower_one(vec![Expr::IifName(names(&["ppp*", "eth0"]))]);
        let set = &r.anon_sets[0];
        assert_eq!(set.flags, SET_ANONYMOUS | SET_CONSTANT | SET_INTERVAL);
        assert_eq!(set.key, Key::IFNAME);
        // nft: zero end, eth0, eth0+1 end, ppp, ppq end.
        let pad = |s: &[u8]| {
            let mut v = s.to_vec();
            v.resize(16, 0);
            v
        };
        let mut eth0_next = pad(b"eth0");
        eth0_next[15] = 1;
        let keys: Vec<(Vec<u8>, bool)> = set
            .elements
            .iter()
            .map(|e| (e.key.clone(), e.interval_end))
            .collect();
        assert_eq!(
            keys,
            vec![
                (vec![0; 16], true),
                (pad(b"eth0"), false),
                (eth0_next, true),
                (pad(b"ppp"), false),
                (pad(b"ppq"), true),
            ]
        );
        assert_eq!(set.size, Some(5));
        assert_eq!(
            r.exprs[1],
            Low::Lookup {
                set: "__set%d".into(),
                id: set.id
            }
        );
    }

    #[test]
    fn port_lists_merge_touching_ranges_and_leave_the_top_open() {
        let ports = vec![
            PortRange::single(81),
            PortRange::single(80),
            PortRange {
                first: 1000,
                last: 2000,
            },
            PortRange::single(65535),
        ];
        let r = lower_one(vec![Expr::Port {
            field: Field::Destination,
            ports,
        }]);
        let e: Vec<(u16, bool, bool)> = r.anon_sets[0]
            .elements
            .iter()
            .map(|e| {
                (
                    u16::from_be_bytes([e.key[0], e.key[1]]),
                    e.interval_end,
                    e.open,
                )
            })
            .collect();
        assert_eq!(
            e,
            vec![
                (0, true, false),
                (80, false, false),
                (82, true, false),
                (1000, false, false),
                (2001, true, false),
                (65535, false, true),
            ]
        );
        let r = lower_one(vec![Expr::Port {
            field: Field::Source,
            ports: vec![PortRange {
                first: 27000,
                last: 27015,
            }],
        }]);
        assert_eq!(
            r.exprs,
            vec![
                Low::Payload {
                    base: PayloadBase::Transport,
                    offset: 0,
                    len: 2
                },
                Low::Cmp(CmpOp::Gte, 27000u16.to_be_bytes().to_vec()),
                Low::Cmp(CmpOp::Lte, 27015u16.to_be_bytes().to_vec()),
            ]
        );
    }

    #[test]
    fn prefixes_shorten_the_load_or_mask() {
        let r = lower_one(vec![Expr::Addr {
            family: Family::Ipv4,
            field: Field::Source,
            value: AddrMatch::Literal(vec!["203.0.113.0/24".parse().unwrap()]),
        }]);
        assert_eq!(
            r.exprs,
            vec![
                Low::Payload {
                    base: PayloadBase::Network,
                    offset: 12,
                    len: 3
                },
                Low::Cmp(CmpOp::Eq, vec![203, 0, 113]),
            ]
        );
        let r = lower_one(vec![Expr::Addr {
            family: Family::Ipv6,
            field: Field::Source,
            value: AddrMatch::Literal(vec!["fe80::/10".parse().unwrap()]),
        }]);
        let mut mask = vec![0u8; 16];
        mask[0] = 0xff;
        mask[1] = 0xc0;
        let mut net = vec![0u8; 16];
        net[0] = 0xfe;
        net[1] = 0x80;
        assert_eq!(
            r.exprs,
            vec![
                Low::Payload {
                    base: PayloadBase::Network,
                    offset: 8,
                    len: 16
                },
                Low::Bitwise(mask),
                Low::Cmp(CmpOp::Eq, net),
            ]
        );
    }

    #[test]
    fn ct_state_is_a_mask_and_named_sets_get_ids() {
        use mamori_firewall::model::CtState;
        let r = lower_one(vec![Expr::CtState(vec![
            CtState::Established,
            CtState::Related,
        ])]);
        assert_eq!(r.exprs[1], Low::Bitwise(6u32.to_ne_bytes().to_vec()));
        assert_eq!(r.exprs[2], Low::Cmp(CmpOp::Neq, vec![0; 4]));
        assert_eq!(successor(&[0, 0xff]), Some(vec![1, 0]));
        assert_eq!(successor(&[0xff, 0xff]), None);
    }

    #[test]
    fn named_interval_sets_keep_elements_apart_with_timeouts() {
        let set = Set {
            name: "b".into(),
            family: Family::Ipv4,
            interval: true,
            timeout_flag: true,
            dynamic: false,
            timeout: mamori_firewall::model::Timeout::from_secs(60),
            size: None,
            elements: vec![
                mamori_firewall::model::SetElement {
                    address: "10.0.0.2".parse().unwrap(),
                    timeout: mamori_firewall::model::Timeout::from_secs(5),
                },
                mamori_firewall::model::SetElement {
                    address: "10.0.0.1".parse().unwrap(),
                    timeout: None,
                },
            ],
        };
        let p = named_set(&set, 4);
        assert_eq!(p.flags, SET_INTERVAL | SET_TIMEOUT);
        assert_eq!(p.timeout_ms, Some(60_000));
        let e: Vec<(u8, bool, Option<u64>)> = p
            .elements
            .iter()
            .map(|e| (e.key[3], e.interval_end, e.timeout_ms))
            .collect();
        // Not merged (a named set keeps what the operator wrote); sorted; zero first.
        assert_eq!(
            e,
            vec![
                (0, true, None),
                (1, false, None),
                (2, true, None),
                (2, false, Some(5000)),
                (3, true, None),
            ]
        );
    }
}
