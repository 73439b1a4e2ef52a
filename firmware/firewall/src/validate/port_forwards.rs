//! Checks of port forwards: zones that make sense, a host address, port translations the
//! kernel can do, no IPv6 NAT, no two forwards taking the same connections, and no NAT
//! reflection that would hijack the box's own services.

use std::net::IpAddr;

use super::{At, Checker, Problem, SECTION};
use crate::families::{Scope, scope};
use crate::model::{Family, ForwardProtocol, PortForward, ZoneName};

pub(super) fn check(c: &mut Checker<'_>) {
    let cfg = c.cfg;
    for (i, pf) in cfg.port_forwards.iter().enumerate() {
        let at = At::named(format!("{SECTION}.port_forwards[{i}]"), &pf.name);
        let before = c.report.errors.len();
        if let Some(first) = cfg.port_forwards.iter().position(|p| p.name == pf.name)
            && first < i
        {
            let problem = Problem::DuplicateName {
                what: "port forward",
                name: pf.name.to_string(),
                index: first,
            };
            c.error(
                &at,
                Some("name"),
                format!("{:?}", pf.name.as_str()),
                problem,
            );
        }
        c.zone_defined(&at, "from", pf.from);
        c.zone_defined(&at, "to", pf.to);
        if pf.to == ZoneName::Wan {
            c.error(&at, Some("to"), "\"wan\"", Problem::PortForwardToWan);
        } else if pf.from == pf.to {
            let value = format!("{:?}", pf.to.as_str());
            c.error(&at, Some("to"), value, Problem::PortForwardWithinZone);
        }
        c.ports(
            &at,
            "external_port",
            std::slice::from_ref(&pf.external_port),
        );
        if let Some(p) = &pf.internal_port {
            c.ports(&at, "internal_port", std::slice::from_ref(p));
        }
        if !is_host(&pf.internal_address) {
            let value = format!("\"{}\"", pf.internal_address);
            c.error(
                &at,
                Some("internal_address"),
                value,
                Problem::NotAHostAddress,
            );
        }
        let family = Family::of(&pf.internal_address);
        match family {
            Family::Ipv4 => translation(c, &at, pf),
            Family::Ipv6 => no_nat(c, &at, pf),
        }
        super::rules::addresses(c, &at, "source", &pf.source);
        if let Some(set) = &pf.source_set {
            super::rules::set_ref(c, &at, "source_set", set, Some(family));
        }
        let scope = scope(cfg, Some(family), &[&pf.source], &[]);
        if c.report.errors.len() == before && scope == Scope::Only(Vec::new()) {
            let value = format!(
                "source = [{}] for internal_address \"{}\"",
                pf.source
                    .iter()
                    .map(|a| format!("\"{a}\""))
                    .collect::<Vec<_>>()
                    .join(", "),
                pf.internal_address
            );
            c.error(&at, Some("source"), value, Problem::NoCommonFamily);
        }
        if pf.enabled && c.report.errors.len() == before {
            overlap(c, &at, i, pf);
            reflection(c, &at, pf);
        }
    }
}

fn is_host(ip: &IpAddr) -> bool {
    let broadcast = matches!(ip, IpAddr::V4(v4) if v4.is_broadcast());
    !(ip.is_unspecified() || ip.is_loopback() || ip.is_multicast() || broadcast)
}

/// IPv4: the external address is IPv4, and a port range keeps its numbers or goes to one
/// port.
fn translation(c: &mut Checker<'_>, at: &At, pf: &PortForward) {
    if let Some(ext) = &pf.external_address
        && (Family::of(ext) != Family::Ipv4 || !is_host(ext))
    {
        let value = format!("\"{ext}\"");
        c.error(
            at,
            Some("external_address"),
            value,
            Problem::ExternalAddressFamily,
        );
    }
    if let Some(internal) = &pf.internal_port
        && !internal.is_single()
        && *internal != pf.external_port
    {
        let problem = Problem::PortRangeShift {
            external: pf.external_port.to_string(),
            internal: internal.to_string(),
        };
        c.error(
            at,
            Some("internal_port"),
            format!("\"{internal}\""),
            problem,
        );
    }
}

/// IPv6: nothing is translated, so nothing may ask for a translation.
fn no_nat(c: &mut Checker<'_>, at: &At, pf: &PortForward) {
    if let Some(internal) = &pf.internal_port
        && *internal != pf.external_port
    {
        c.error(
            at,
            Some("internal_port"),
            format!("\"{internal}\""),
            Problem::Ipv6NoNat,
        );
    }
    if let Some(ext) = &pf.external_address {
        c.error(
            at,
            Some("external_address"),
            format!("\"{ext}\""),
            Problem::Ipv6NoNat,
        );
    }
    if pf.reflection {
        c.error(at, Some("reflection"), "true", Problem::Ipv6NoNat);
    }
}

/// No two enabled forwards take the same connections: for IPv4, the same external ports of
/// one protocol from one zone (to one external address); for IPv6, the same host and port.
fn overlap(c: &mut Checker<'_>, at: &At, i: usize, pf: &PortForward) {
    let cfg = c.cfg;
    let family = Family::of(&pf.internal_address);
    let clash = cfg.port_forwards.iter().take(i).enumerate().find(|(_, o)| {
        o.enabled
            && o.from == pf.from
            && Family::of(&o.internal_address) == family
            && o.protocol.overlaps(&pf.protocol)
            && o.external_port.overlaps(&pf.external_port)
            && match family {
                Family::Ipv4 => {
                    o.external_address.is_none()
                        || pf.external_address.is_none()
                        || o.external_address == pf.external_address
                }
                Family::Ipv6 => o.internal_address == pf.internal_address,
            }
    });
    if let Some((index, other)) = clash {
        let protocol = match (other.protocol, pf.protocol) {
            (ForwardProtocol::TcpUdp, p) | (p, ForwardProtocol::TcpUdp) => p,
            (p, _) => p,
        };
        let problem = Problem::OverlappingPortForward {
            index,
            name: other.name.to_string(),
            protocol,
            ports: other.external_port.to_string(),
            from: pf.from,
        };
        c.error(
            at,
            Some("external_port"),
            format!("\"{}\"", pf.external_port),
            problem,
        );
    }
}

/// Reflection without an external address matches every address of the box, so its ports
/// must not include a service the box runs for the zone (the panel, DNS, the relay).
fn reflection(c: &mut Checker<'_>, at: &At, pf: &PortForward) {
    if !pf.reflection || pf.external_address.is_some() {
        return;
    }
    let cfg = c.cfg;
    let mut box_ports: Vec<u16> = vec![53];
    if !cfg.anti_lockout.disable_and_risk_lockout && pf.protocol != ForwardProtocol::Udp {
        box_ports.extend(&cfg.anti_lockout.panel_ports);
    }
    if cfg.smtp.redirect_to_relay && pf.protocol != ForwardProtocol::Udp {
        box_ports.push(cfg.smtp.relay_port);
    }
    if let Some(port) = box_ports
        .into_iter()
        .find(|p| pf.external_port.contains(*p))
    {
        c.error(
            at,
            Some("reflection"),
            format!("true (external_port \"{}\")", pf.external_port),
            Problem::ReflectionHijacksBoxPort(port),
        );
    }
}
