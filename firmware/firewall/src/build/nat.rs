//! NAT: port forwards (DNAT for IPv4, plain accepts for IPv6), their NAT reflection, the
//! SMTP redirect to the relay, and masquerading.
//!
//! Connections are matched on the box's own addresses (`fib daddr type local`) unless a
//! forward names its external address, so that a routed public subnet behind the box is
//! never rewritten by accident.

use super::zones::service;
use super::{Builder, chain_name, decide, rule};
use crate::ir::{AddrMatch, Chain, Expr, Field, L4Proto, Rule, Verdict};
use crate::model::{AddressSpec, Family, ForwardProtocol, PortForward, PortRange, ZoneName};

fn protos(p: ForwardProtocol) -> Vec<L4Proto> {
    match p {
        ForwardProtocol::Tcp => vec![L4Proto::Tcp],
        ForwardProtocol::Udp => vec![L4Proto::Udp],
        ForwardProtocol::TcpUdp => vec![L4Proto::Tcp, L4Proto::Udp],
    }
}

/// The port a forwarded connection has after DNAT (the port the internal host serves).
fn internal_ports(pf: &PortForward) -> PortRange {
    match Family::of(&pf.internal_address) {
        Family::Ipv4 => pf.internal_port.unwrap_or(pf.external_port),
        Family::Ipv6 => pf.external_port,
    }
}

fn host(ip: std::net::IpAddr) -> AddressSpec {
    AddressSpec::Net(ipnet::IpNet::from(ip))
}

/// `ip daddr <external address>` or `fib daddr type local`.
fn external_daddr(pf: &PortForward) -> Expr {
    match pf.external_address {
        Some(ext) => Expr::Addr {
            family: Family::of(&ext),
            field: Field::Destination,
            value: AddrMatch::Literal(vec![host(ext)]),
        },
        None => Expr::FibDaddrLocal,
    }
}

/// The source restriction of a forward, for its family.
fn source_exprs(pf: &PortForward, family: Family) -> Vec<Expr> {
    let mut out = Vec::new();
    let entries: Vec<_> = pf
        .source
        .iter()
        .filter(|a| a.family() == family)
        .copied()
        .collect();
    if !entries.is_empty() {
        out.push(Expr::Addr {
            family,
            field: Field::Source,
            value: AddrMatch::Literal(entries),
        });
    }
    if let Some(set) = &pf.source_set {
        out.push(Expr::Addr {
            family,
            field: Field::Source,
            value: AddrMatch::Set(set.to_string()),
        });
    }
    out
}

fn dnat(pf: &PortForward) -> Expr {
    Expr::Dnat {
        addr: pf.internal_address,
        port: pf.internal_port.filter(|p| *p != pf.external_port),
    }
}

impl Builder<'_> {
    fn forwards(&self) -> impl Iterator<Item = &PortForward> {
        let cfg = self.cfg;
        cfg.port_forwards.iter().filter(|pf| {
            pf.enabled && cfg.zones.get(pf.from).is_some() && cfg.zones.get(pf.to).is_some()
        })
    }

    /// The forward-path accepts of port forwards from `zone`, and of reflected ones into it.
    pub(super) fn port_forward_accepts(&self, zone: ZoneName) -> Vec<Rule> {
        let mut rules = Vec::new();
        for pf in self.forwards() {
            let family = Family::of(&pf.internal_address);
            let reflected = pf.reflection && family == Family::Ipv4 && pf.to == zone;
            if pf.from != zone && !reflected {
                continue;
            }
            let mut exprs = vec![Expr::OifName(self.interfaces(pf.to)), Expr::NfProto(family)];
            if pf.from == zone {
                exprs.extend(source_exprs(pf, family));
            }
            exprs.push(Expr::Addr {
                family,
                field: Field::Destination,
                value: AddrMatch::Literal(vec![host(pf.internal_address)]),
            });
            exprs.extend(service(protos(pf.protocol), vec![internal_ports(pf)]));
            if family == Family::Ipv4 {
                exprs.push(Expr::CtStatusDnat);
            }
            let comment = if pf.from == zone {
                format!("port forward {}", pf.name)
            } else {
                format!("port forward {} (reflection)", pf.name)
            };
            rules.push(rule(decide(exprs, Verdict::Accept), comment));
        }
        rules
    }

    /// `dstnat_<zone>`: the SMTP redirect, port forwards from the zone, and reflected
    /// forwards into it; `None` when empty.
    pub(super) fn dstnat_chain(&self, zone: ZoneName) -> Option<Chain> {
        let cfg = self.cfg;
        let mut rules = Vec::new();
        let smtp_zone = zone != ZoneName::Wan && cfg.smtp_zones().contains(&zone);
        if cfg.smtp.redirect_to_relay && smtp_zone {
            let mut exprs = service(vec![L4Proto::Tcp], vec![PortRange::single(25)]);
            exprs.push(Expr::FibDaddrOifName(self.interfaces(ZoneName::Wan)));
            exprs.push(Expr::Counter);
            exprs.push(Expr::Redirect(cfg.smtp.relay_port));
            rules.push(rule(exprs, "smtp to the internet goes to the relay"));
        }
        for pf in self.forwards() {
            if Family::of(&pf.internal_address) != Family::Ipv4 {
                continue;
            }
            let reflected = pf.reflection && pf.to == zone;
            if pf.from != zone && !reflected {
                continue;
            }
            let mut exprs = vec![Expr::NfProto(Family::Ipv4), external_daddr(pf)];
            if pf.from == zone {
                exprs.extend(source_exprs(pf, Family::Ipv4));
            }
            exprs.extend(service(protos(pf.protocol), vec![pf.external_port]));
            exprs.push(Expr::Counter);
            exprs.push(dnat(pf));
            let comment = if pf.from == zone {
                format!("port forward {}", pf.name)
            } else {
                format!("port forward {} (reflection)", pf.name)
            };
            rules.push(rule(exprs, comment));
        }
        (!rules.is_empty()).then(|| Chain {
            name: chain_name("dstnat", zone),
            base: None,
            rules,
        })
    }

    /// `srcnat_<zone>`: masquerading, and the source rewrite of reflected connections
    /// (so that the internal host answers through the box); `None` when empty.
    pub(super) fn srcnat_chain(&self, zone: ZoneName) -> Option<Chain> {
        let cfg = self.cfg;
        let mut rules = Vec::new();
        if cfg
            .zones
            .get(zone)
            .is_some_and(|z| z.settings(zone).masquerade)
        {
            let exprs = vec![Expr::NfProto(Family::Ipv4), Expr::Counter, Expr::Masquerade];
            rules.push(rule(exprs, format!("masquerade ipv4 to {zone}")));
        }
        for pf in self.forwards() {
            if !(pf.reflection && pf.to == zone && Family::of(&pf.internal_address) == Family::Ipv4)
            {
                continue;
            }
            let mut exprs = vec![
                Expr::IifName(self.interfaces(zone)),
                Expr::NfProto(Family::Ipv4),
                Expr::Addr {
                    family: Family::Ipv4,
                    field: Field::Destination,
                    value: AddrMatch::Literal(vec![host(pf.internal_address)]),
                },
            ];
            exprs.extend(service(protos(pf.protocol), vec![internal_ports(pf)]));
            exprs.push(Expr::CtStatusDnat);
            exprs.push(Expr::Counter);
            exprs.push(Expr::Masquerade);
            rules.push(rule(
                exprs,
                format!("port forward {} (reflection)", pf.name),
            ));
        }
        (!rules.is_empty()).then(|| Chain {
            name: chain_name("srcnat", zone),
            base: None,
            rules,
        })
    }
}
