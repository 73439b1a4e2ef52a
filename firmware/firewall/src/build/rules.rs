//! Operator rules and sets in the IR: each rule is rendered once per address family it can
//! match (once for both when nothing ties it to one), in the chain of its zone and
//! direction; per-source rate limits get a meter set, logged rules a small helper chain.

use super::{Builder, decide, rule};
use crate::families::{Scope, rule_scope};
use crate::ir::{AddrMatch, Chain, Expr, Field, L4Proto, Rate, Rule, Set, Verdict};
use crate::model::{
    Action, AddressSpec, Direction, Family, Protocol, RateLimit, RateUnit, Rule as ModelRule,
    SetName, ZoneName,
};

/// The meters' size: enough sources for an office's worst day, bounded so that a flood of
/// spoofed sources cannot take the board's memory.
const METER_SIZE: u32 = 65_535;

fn l4(protocol: Protocol) -> Option<Vec<L4Proto>> {
    match protocol {
        Protocol::Any => None,
        Protocol::Tcp => Some(vec![L4Proto::Tcp]),
        Protocol::Udp => Some(vec![L4Proto::Udp]),
        Protocol::TcpUdp => Some(vec![L4Proto::Tcp, L4Proto::Udp]),
        Protocol::Icmp => Some(vec![L4Proto::Icmp]),
        Protocol::Icmpv6 => Some(vec![L4Proto::Icmpv6]),
    }
}

fn verdict(action: Action) -> Verdict {
    match action {
        Action::Accept => Verdict::Accept,
        Action::Drop => Verdict::Drop,
        Action::Reject => Verdict::Jump(super::REJECT_CHAIN.into()),
    }
}

/// How long a meter keeps a quiet source: long enough for its bucket to refill, so that
/// forgetting it gives the source nothing it would not have had (at least a minute, at
/// most a day).
fn meter_timeout(limit: &RateLimit) -> Option<crate::model::Timeout> {
    let unit: u64 = match limit.per {
        RateUnit::Second => 1,
        RateUnit::Minute => 60,
        RateUnit::Hour => 3_600,
    };
    let rate = u64::from(limit.rate.max(1));
    let refill = unit.saturating_mul(u64::from(limit.burst).div_ceil(rate) + 1);
    let secs = refill.clamp(60, 86_400);
    crate::model::Timeout::from_secs(u32::try_from(secs).unwrap_or(86_400))
}

/// An address match for one family: the literal entries of that family and/or a set.
fn addr_exprs(
    family: Option<Family>,
    field: Field,
    literal: &[AddressSpec],
    set: Option<&SetName>,
) -> Vec<Expr> {
    let Some(family) = family else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let entries: Vec<_> = literal
        .iter()
        .filter(|a| a.family() == family)
        .copied()
        .collect();
    if !entries.is_empty() {
        out.push(Expr::Addr {
            family,
            field,
            value: AddrMatch::Literal(entries),
        });
    }
    if let Some(set) = set {
        out.push(Expr::Addr {
            family,
            field,
            value: AddrMatch::Set(set.to_string()),
        });
    }
    out
}

impl Builder<'_> {
    /// The operator's sets, in order.
    pub(super) fn operator_sets(&mut self) {
        for s in &self.cfg.sets {
            self.sets.push(Set {
                name: s.name.to_string(),
                family: s.family,
                interval: s.interval,
                timeout_flag: s.has_timeouts(),
                dynamic: false,
                timeout: s.timeout,
                size: None,
                elements: s.elements.clone(),
            });
        }
    }

    /// The operator rules for one zone chain.
    pub(super) fn operator_rules(&mut self, zone: ZoneName, direction: Direction) -> Vec<Rule> {
        let cfg = self.cfg;
        let mut out = Vec::new();
        for r in cfg
            .rules
            .iter()
            .filter(|r| r.enabled && r.direction == direction && r.zone.is_none_or(|z| z == zone))
        {
            let per_source = r.over_rate.as_ref().is_some_and(|l| l.per_source);
            let families: Vec<Option<Family>> = match rule_scope(cfg, r) {
                Scope::Only(list) => list.into_iter().map(Some).collect(),
                Scope::Any if per_source => Family::BOTH.into_iter().map(Some).collect(),
                Scope::Any => vec![None],
            };
            for family in families {
                if let Some(exprs) = self.rule_exprs(r, direction, family) {
                    out.push(rule(exprs, r.name.to_string()));
                }
            }
        }
        out
    }

    /// One rendering of a rule for one family (`None`: both); `None` if it cannot apply.
    fn rule_exprs(
        &mut self,
        r: &ModelRule,
        direction: Direction,
        family: Option<Family>,
    ) -> Option<Vec<Expr>> {
        let mut exprs = Vec::new();
        if direction == Direction::Forward
            && let Some(dest) = r.dest_zone
        {
            exprs.push(Expr::OifName(self.cfg.zones.get(dest)?.interfaces.clone()));
        }
        if let Some(f) = family {
            exprs.push(Expr::NfProto(f));
        }
        exprs.extend(addr_exprs(
            family,
            Field::Source,
            &r.source,
            r.source_set.as_ref(),
        ));
        exprs.extend(addr_exprs(
            family,
            Field::Destination,
            &r.destination,
            r.destination_set.as_ref(),
        ));
        if let Some(protos) = l4(r.protocol) {
            exprs.push(Expr::L4Proto(protos));
        }
        if r.protocol.has_ports() {
            for (field, ports) in [
                (Field::Source, &r.source_ports),
                (Field::Destination, &r.ports),
            ] {
                if !ports.is_empty() {
                    exprs.push(Expr::Port {
                        field,
                        ports: ports.clone(),
                    });
                }
            }
        }
        if let (Some(f), false) = (r.protocol.family(), r.icmp_types.is_empty()) {
            exprs.push(Expr::IcmpType {
                family: f,
                types: r.icmp_types.clone(),
            });
        }
        exprs.extend(super::zones::ct_state(&r.state));
        if let Some(limit) = &r.over_rate {
            let rate = Rate {
                rate: limit.rate,
                unit: limit.per,
                burst: limit.burst,
            };
            match (limit.per_source, family) {
                (true, Some(f)) => {
                    let set = self.meter(r, limit, f);
                    exprs.push(Expr::MeterOver {
                        set,
                        family: f,
                        rate,
                    });
                }
                _ => exprs.push(Expr::Limit { rate, over: true }),
            }
        }
        if r.log {
            let chain = self.log_chain(r);
            exprs.push(Expr::Counter);
            exprs.push(Expr::Verdict(Verdict::Goto(chain)));
            Some(exprs)
        } else {
            Some(decide(exprs, verdict(r.action)))
        }
    }

    /// The meter set of a per-source rate limit, declared on first use.
    fn meter(&mut self, r: &ModelRule, limit: &RateLimit, family: Family) -> String {
        let suffix = match family {
            Family::Ipv4 => "v4",
            Family::Ipv6 => "v6",
        };
        let name = format!("mamori-rate-{}-{suffix}", r.name);
        if !self.sets.iter().any(|s| s.name == name) {
            self.sets.push(Set {
                name: name.clone(),
                family,
                interval: false,
                timeout_flag: true,
                dynamic: true,
                timeout: meter_timeout(limit),
                size: Some(METER_SIZE),
                elements: Vec::new(),
            });
        }
        name
    }

    /// The helper chain of a logged rule: a rate-limited log line, then the action. A
    /// chain, not two rules, so that the rule's matches (and its meter) run once.
    fn log_chain(&mut self, r: &ModelRule) -> String {
        let name = format!("log_{}", r.name);
        if self.helper_chains.iter().any(|c| c.name == name) {
            return name;
        }
        let log = vec![
            Expr::Limit {
                rate: self.log_rate(),
                over: false,
            },
            Expr::Counter,
            Expr::Log {
                prefix: format!("mamori {} {}: ", r.action.as_str(), r.name),
                level: self.cfg.logging.level,
            },
        ];
        self.helper_chains.push(Chain {
            name: name.clone(),
            base: None,
            rules: vec![
                rule(log, format!("log {}", r.name)),
                rule(decide(vec![], verdict(r.action)), r.name.to_string()),
            ],
        });
        name
    }
}
