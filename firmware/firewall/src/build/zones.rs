//! The filter chains of one zone: `input_<zone>`, `forward_<zone>`, `output_<zone>`, each
//! built-ins first, then the operator's rules, then the zone's policy.

use super::{Builder, chain_name, decide, icmp_match, rule, verdict_for};
use crate::ir::{Chain, Expr, L4Proto, RejectWith, Rule, Verdict};
use crate::model::{
    AddressSpec, CtState, Direction, Family, IcmpType, Policy, PortRange, ZoneName,
};

/// `meta l4proto <protos> th dport <ports>`.
pub(super) fn service(protos: Vec<L4Proto>, ports: Vec<PortRange>) -> Vec<Expr> {
    vec![
        Expr::L4Proto(protos),
        Expr::Port {
            field: crate::ir::Field::Destination,
            ports,
        },
    ]
}

fn udp_port(family: Family, port: u16) -> Vec<Expr> {
    let mut exprs = vec![Expr::NfProto(family)];
    exprs.extend(service(vec![L4Proto::Udp], vec![PortRange::single(port)]));
    exprs
}

/// `meta nfproto <family> meta l4proto udp th sport <from> th dport <to>`: a DHCP message
/// the box sends (conntrack cannot relate it to the broadcast that asked for it).
fn udp_from_to(family: Family, from: u16, to: u16) -> Vec<Expr> {
    vec![
        Expr::NfProto(family),
        Expr::L4Proto(vec![L4Proto::Udp]),
        Expr::Port {
            field: crate::ir::Field::Source,
            ports: vec![PortRange::single(from)],
        },
        Expr::Port {
            field: crate::ir::Field::Destination,
            ports: vec![PortRange::single(to)],
        },
    ]
}

impl Builder<'_> {
    fn chain(&self, name: String, rules: Vec<Rule>) -> Chain {
        Chain {
            name,
            base: None,
            rules,
        }
    }

    /// The end of a zone chain: the zone's policy, logged first when it refuses.
    fn policy_tail(&self, zone: ZoneName, hook: &str, policy: Policy) -> Vec<Rule> {
        let mut rules = Vec::new();
        if policy != Policy::Accept {
            let prefix = format!("mamori {} {zone}-{hook}: ", policy.as_str());
            rules.extend(self.log_rule(vec![], prefix, &format!("log {zone} {hook} policy")));
        }
        rules.push(rule(
            decide(vec![], verdict_for(policy)),
            format!("{zone} {hook} policy: {}", policy.as_str()),
        ));
        rules
    }

    fn smtp_enforced(&self, zone: ZoneName) -> bool {
        zone != ZoneName::Wan && self.cfg.smtp_zones().contains(&zone)
    }

    pub(super) fn input_chain(&mut self, zone: ZoneName) -> Chain {
        let cfg = self.cfg;
        let settings = cfg
            .zones
            .get(zone)
            .map(|z| z.settings(zone))
            .unwrap_or_else(|| zone.defaults());
        let mut rules = Vec::new();
        let lockout = &cfg.anti_lockout;
        if zone == ZoneName::Lan
            && !lockout.disable_and_risk_lockout
            && !lockout.panel_ports.is_empty()
        {
            let ports = lockout
                .panel_ports
                .iter()
                .map(|p| PortRange::single(*p))
                .collect();
            rules.push(rule(
                decide(service(vec![L4Proto::Tcp], ports), Verdict::Accept),
                "anti-lockout: admin panel from the lan",
            ));
        }
        if settings.allow_dhcp_dns {
            rules.push(rule(
                decide(udp_port(Family::Ipv4, 67), Verdict::Accept),
                "dhcp server",
            ));
            rules.push(rule(
                decide(udp_port(Family::Ipv6, 547), Verdict::Accept),
                "dhcpv6 server",
            ));
            rules.push(rule(
                decide(
                    service(
                        vec![L4Proto::Tcp, L4Proto::Udp],
                        vec![PortRange::single(53)],
                    ),
                    Verdict::Accept,
                ),
                "dns server",
            ));
        }
        if settings.allow_dhcp_client {
            rules.push(rule(
                decide(udp_port(Family::Ipv4, 68), Verdict::Accept),
                "dhcp client (lease renewal)",
            ));
            let link_local = "fe80::/10".parse::<AddressSpec>().ok();
            let mut v6 = vec![Expr::NfProto(Family::Ipv6)];
            v6.extend(link_local.map(|a| Expr::Addr {
                family: Family::Ipv6,
                field: crate::ir::Field::Source,
                value: crate::ir::AddrMatch::Literal(vec![a]),
            }));
            v6.extend(service(vec![L4Proto::Udp], vec![PortRange::single(546)]));
            rules.push(rule(decide(v6, Verdict::Accept), "dhcpv6 client"));
        }
        if settings.allow_ping {
            for family in Family::BOTH {
                rules.push(rule(
                    decide(
                        icmp_match(family, vec![IcmpType::EchoRequest]),
                        Verdict::Accept,
                    ),
                    format!("ping ({family})"),
                ));
            }
        }
        if cfg.smtp.redirect_to_relay && self.smtp_enforced(zone) {
            let mut exprs = service(
                vec![L4Proto::Tcp],
                vec![PortRange::single(cfg.smtp.relay_port)],
            );
            exprs.push(Expr::CtStatusDnat);
            rules.push(rule(
                decide(exprs, Verdict::Accept),
                "smtp redirected to the relay",
            ));
        }
        rules.extend(self.operator_rules(zone, Direction::Input));
        rules.extend(self.policy_tail(zone, "input", settings.input));
        self.chain(chain_name("input", zone), rules)
    }

    pub(super) fn forward_chain(&mut self, zone: ZoneName) -> Chain {
        let cfg = self.cfg;
        let settings = cfg
            .zones
            .get(zone)
            .map(|z| z.settings(zone))
            .unwrap_or_else(|| zone.defaults());
        let mut rules = Vec::new();
        if cfg.smtp.block_outbound && !cfg.smtp.blocked_ports.is_empty() && self.smtp_enforced(zone)
        {
            let mut exprs = vec![Expr::OifName(self.interfaces(ZoneName::Wan))];
            exprs.extend(service(vec![L4Proto::Tcp], cfg.smtp.blocked_ports.clone()));
            let prefix = format!("mamori reject {zone}-smtp: ");
            rules.extend(self.log_rule(exprs.clone(), prefix, "log smtp to the internet"));
            rules.push(rule(
                decide(exprs, Verdict::Reject(RejectWith::TcpReset)),
                "smtp enforcement: mail leaves through the relay",
            ));
        }
        rules.extend(self.operator_rules(zone, Direction::Forward));
        rules.extend(self.port_forward_accepts(zone));
        for f in cfg
            .forwardings
            .iter()
            .filter(|f| f.from == zone && f.to != zone)
        {
            if cfg.zones.get(f.to).is_none() {
                continue;
            }
            rules.push(rule(
                decide(vec![Expr::OifName(self.interfaces(f.to))], Verdict::Accept),
                format!("forwarding {} -> {}", f.from, f.to),
            ));
        }
        rules.extend(self.policy_tail(zone, "forward", settings.forward));
        self.chain(chain_name("forward", zone), rules)
    }

    pub(super) fn output_chain(&mut self, zone: ZoneName) -> Chain {
        let settings = self
            .cfg
            .zones
            .get(zone)
            .map(|z| z.settings(zone))
            .unwrap_or_else(|| zone.defaults());
        let mut rules = Vec::new();
        if settings.allow_dhcp_dns {
            rules.push(rule(
                decide(udp_from_to(Family::Ipv4, 67, 68), Verdict::Accept),
                "dhcp server replies",
            ));
            rules.push(rule(
                decide(udp_from_to(Family::Ipv6, 547, 546), Verdict::Accept),
                "dhcpv6 server replies",
            ));
        }
        if settings.allow_dhcp_client {
            rules.push(rule(
                decide(udp_from_to(Family::Ipv4, 68, 67), Verdict::Accept),
                "dhcp client requests",
            ));
            rules.push(rule(
                decide(udp_from_to(Family::Ipv6, 546, 547), Verdict::Accept),
                "dhcpv6 client requests",
            ));
        }
        rules.extend(self.operator_rules(zone, Direction::Output));
        rules.extend(self.policy_tail(zone, "output", settings.output));
        self.chain(chain_name("output", zone), rules)
    }
}

/// The conntrack states of a rule as an expression, if any.
pub(super) fn ct_state(states: &[CtState]) -> Option<Expr> {
    (!states.is_empty()).then(|| Expr::CtState(states.to_vec()))
}
