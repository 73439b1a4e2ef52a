//! Model → IR: lays out the `inet mamori` table in the shape of OpenWrt fw4.
//!
//! Base chains (`input`, `forward`, `output`, `dstnat`, `srcnat`) do the conntrack hygiene
//! every box needs (loopback, established/related accepted, invalid dropped, neighbour
//! discovery and the ICMP errors path-MTU discovery needs), then dispatch on the interface
//! to one regular chain per zone and hook (`input_lan`, `forward_wan`, `srcnat_wan`…).
//! Each zone chain runs, in order: the built-in rules that must not be overridden (the
//! anti-lockout rule first in `input_lan`, the SMTP block first in `forward_<internal>`),
//! the built-in services (DHCP, DNS, ping), the operator's rules, port forwards,
//! forwardings, and finally the zone's policy (logged when it refuses).
//!
//! The builder is total: it never panics, whatever the model; [`crate::compile`] only
//! calls it on a validated model, so that what it renders is what was meant.

mod nat;
mod rules;
mod zones;

use crate::ir::{
    BaseChain, Chain, ChainPolicy, ChainType, Expr, Hook, L4Proto, Rate, RejectWith, Rule, Table,
    Verdict,
};
use crate::model::{CtState, Family, FirewallConfig, IcmpType, InterfaceName, Policy, ZoneName};

/// The regular chain that rejects politely: TCP with a reset, the rest with ICMP(v6)
/// port unreachable.
pub const REJECT_CHAIN: &str = "handle_reject";

/// Builds the table of a model (which should have been validated).
pub(crate) fn build(cfg: &FirewallConfig) -> Table {
    let mut b = Builder {
        cfg,
        sets: Vec::new(),
        helper_chains: Vec::new(),
    };
    b.operator_sets();
    let mut zone_chains = Vec::new();
    for (name, _) in cfg.zones.defined() {
        zone_chains.push(b.input_chain(name));
        zone_chains.push(b.forward_chain(name));
        zone_chains.push(b.output_chain(name));
    }
    let mut nat_chains = Vec::new();
    for (name, _) in cfg.zones.defined() {
        nat_chains.extend(b.dstnat_chain(name));
        nat_chains.extend(b.srcnat_chain(name));
    }
    let mut chains = vec![
        b.base_input(),
        b.base_forward(),
        b.base_output(),
        b.base_dstnat(&nat_chains),
        b.base_srcnat(&nat_chains),
        reject_chain(),
    ];
    chains.extend(zone_chains);
    chains.extend(nat_chains);
    chains.append(&mut b.helper_chains);
    Table {
        sets: b.sets,
        chains,
    }
}

/// State while building: the sets and helper chains rules ask for on the way.
struct Builder<'a> {
    cfg: &'a FirewallConfig,
    sets: Vec<crate::ir::Set>,
    helper_chains: Vec<Chain>,
}

/// A rule with a comment.
fn rule(exprs: Vec<Expr>, comment: impl Into<String>) -> Rule {
    Rule {
        exprs,
        comment: Some(comment.into()),
    }
}

/// `exprs`, then `counter` and the verdict: the shape of every deciding rule.
fn decide(mut exprs: Vec<Expr>, verdict: Verdict) -> Vec<Expr> {
    exprs.push(Expr::Counter);
    exprs.push(Expr::Verdict(verdict));
    exprs
}

fn chain_name(hook: &str, zone: ZoneName) -> String {
    format!("{hook}_{zone}")
}

fn base(name: &str, kind: ChainType, hook: Hook, priority: i32, policy: ChainPolicy) -> Chain {
    Chain {
        name: name.into(),
        base: Some(BaseChain {
            kind,
            hook,
            priority,
            policy,
        }),
        rules: Vec::new(),
    }
}

fn reject_chain() -> Chain {
    Chain {
        name: REJECT_CHAIN.into(),
        base: None,
        rules: vec![
            rule(
                decide(
                    vec![Expr::L4Proto(vec![L4Proto::Tcp])],
                    Verdict::Reject(RejectWith::TcpReset),
                ),
                "reject tcp with a reset",
            ),
            rule(
                decide(vec![], Verdict::Reject(RejectWith::IcmpxPortUnreachable)),
                "reject the rest with icmp(v6) port unreachable",
            ),
        ],
    }
}

/// The verdict that carries out a policy or an action.
fn verdict_for(policy: Policy) -> Verdict {
    match policy {
        Policy::Accept => Verdict::Accept,
        Policy::Drop => Verdict::Drop,
        Policy::Reject => Verdict::Jump(REJECT_CHAIN.into()),
    }
}

/// `meta nfproto` + `meta l4proto` + `icmp(v6) type`.
fn icmp_match(family: Family, types: Vec<IcmpType>) -> Vec<Expr> {
    let proto = match family {
        Family::Ipv4 => L4Proto::Icmp,
        Family::Ipv6 => L4Proto::Icmpv6,
    };
    vec![
        Expr::NfProto(family),
        Expr::L4Proto(vec![proto]),
        Expr::IcmpType { family, types },
    ]
}

/// Conntrack hygiene shared by `input` and `forward`.
fn conntrack_rules() -> Vec<Rule> {
    vec![
        rule(
            decide(
                vec![Expr::CtState(vec![CtState::Established, CtState::Related])],
                Verdict::Accept,
            ),
            "established and related connections",
        ),
        rule(
            decide(vec![Expr::CtState(vec![CtState::Invalid])], Verdict::Drop),
            "invalid packets",
        ),
    ]
}

/// IPv6 neighbour discovery, without which IPv6 does not work on a link, whatever the
/// zone's policy; hop limit 255 proves the packet never crossed a router (RFC 4861).
fn neighbour_discovery() -> Rule {
    let mut nd = icmp_match(
        Family::Ipv6,
        vec![
            IcmpType::NdRouterSolicit,
            IcmpType::NdRouterAdvert,
            IcmpType::NdNeighborSolicit,
            IcmpType::NdNeighborAdvert,
        ],
    );
    nd.push(Expr::Ip6HopLimit(255));
    rule(
        decide(nd, Verdict::Accept),
        "ipv6 neighbour discovery (hop limit 255: on-link only)",
    )
}

/// The ICMP errors path-MTU discovery and error reporting need (conntrack marks most of
/// them related already; these also cover errors about untracked flows).
fn icmp_error_rules() -> Vec<Rule> {
    use IcmpType::*;
    vec![
        rule(
            decide(
                icmp_match(
                    Family::Ipv4,
                    vec![DestinationUnreachable, TimeExceeded, ParameterProblem],
                ),
                Verdict::Accept,
            ),
            "icmp errors (path mtu discovery)",
        ),
        rule(
            decide(
                icmp_match(
                    Family::Ipv6,
                    vec![
                        DestinationUnreachable,
                        PacketTooBig,
                        TimeExceeded,
                        ParameterProblem,
                    ],
                ),
                Verdict::Accept,
            ),
            "icmpv6 errors (path mtu discovery)",
        ),
    ]
}

impl Builder<'_> {
    fn interfaces(&self, zone: ZoneName) -> Vec<InterfaceName> {
        self.cfg
            .zones
            .get(zone)
            .map(|z| z.interfaces.clone())
            .unwrap_or_default()
    }

    fn log_rate(&self) -> Rate {
        let l = &self.cfg.logging;
        Rate {
            rate: l.rate,
            unit: l.per,
            burst: l.burst,
        }
    }

    /// A rate-limited log rule with these matches (no verdict: evaluation goes on), if
    /// logging of refused traffic is on.
    fn log_rule(&self, mut exprs: Vec<Expr>, prefix: String, comment: &str) -> Option<Rule> {
        if !self.cfg.logging.drops {
            return None;
        }
        exprs.push(Expr::Limit {
            rate: self.log_rate(),
            over: false,
        });
        exprs.push(Expr::Counter);
        exprs.push(Expr::Log {
            prefix,
            level: self.cfg.logging.level,
        });
        Some(rule(exprs, comment))
    }

    /// Dispatch rules: traffic of each defined zone's interfaces jumps to `<hook>_<zone>`,
    /// for the zones in `wanted`.
    fn dispatch(&self, hook: &str, by_input: bool, wanted: impl Fn(&str) -> bool) -> Vec<Rule> {
        self.cfg
            .zones
            .defined()
            .filter(|(name, _)| wanted(&chain_name(hook, *name)))
            .map(|(name, zone)| {
                let m = if by_input {
                    Expr::IifName(zone.interfaces.clone())
                } else {
                    Expr::OifName(zone.interfaces.clone())
                };
                rule(
                    decide(vec![m], Verdict::Jump(chain_name(hook, name))),
                    format!("zone {name}"),
                )
            })
            .collect()
    }

    /// Counts (and logs) what arrives on an interface in no zone; the policy drops it.
    fn unzoned_tail(&self, hook: &str) -> Vec<Rule> {
        let mut rules: Vec<Rule> = self
            .log_rule(
                vec![],
                format!("mamori drop {hook}: "),
                "log traffic of interfaces in no zone",
            )
            .into_iter()
            .collect();
        rules.push(rule(decide(vec![], Verdict::Drop), "interfaces in no zone"));
        rules
    }

    fn base_input(&self) -> Chain {
        let mut c = base(
            "input",
            ChainType::Filter,
            Hook::Input,
            0,
            ChainPolicy::Drop,
        );
        let lo = vec![Expr::IifName(vec![InterfaceName::loopback()])];
        c.rules.push(rule(decide(lo, Verdict::Accept), "loopback"));
        c.rules.extend(conntrack_rules());
        c.rules.push(neighbour_discovery());
        c.rules.extend(icmp_error_rules());
        c.rules.extend(self.dispatch("input", true, |_| true));
        c.rules.extend(self.unzoned_tail("input"));
        c
    }

    fn base_forward(&self) -> Chain {
        let mut c = base(
            "forward",
            ChainType::Filter,
            Hook::Forward,
            0,
            ChainPolicy::Drop,
        );
        c.rules.extend(conntrack_rules());
        c.rules.extend(icmp_error_rules());
        c.rules.extend(self.dispatch("forward", true, |_| true));
        c.rules.extend(self.unzoned_tail("forward"));
        c
    }

    fn base_output(&self) -> Chain {
        let mut c = base(
            "output",
            ChainType::Filter,
            Hook::Output,
            0,
            ChainPolicy::Accept,
        );
        let lo = vec![Expr::OifName(vec![InterfaceName::loopback()])];
        c.rules.push(rule(decide(lo, Verdict::Accept), "loopback"));
        c.rules.push(rule(
            decide(
                vec![Expr::CtState(vec![CtState::Established, CtState::Related])],
                Verdict::Accept,
            ),
            "established and related connections",
        ));
        c.rules.push(neighbour_discovery());
        c.rules.extend(self.dispatch("output", false, |_| true));
        c
    }

    fn base_dstnat(&self, nat_chains: &[Chain]) -> Chain {
        let mut c = base(
            "dstnat",
            ChainType::Nat,
            Hook::Prerouting,
            -100,
            ChainPolicy::Accept,
        );
        let present = |n: &str| nat_chains.iter().any(|c| c.name == n);
        c.rules.extend(self.dispatch("dstnat", true, present));
        c
    }

    fn base_srcnat(&self, nat_chains: &[Chain]) -> Chain {
        let mut c = base(
            "srcnat",
            ChainType::Nat,
            Hook::Postrouting,
            100,
            ChainPolicy::Accept,
        );
        let present = |n: &str| nat_chains.iter().any(|c| c.name == n);
        c.rules.extend(self.dispatch("srcnat", false, present));
        c
    }
}
