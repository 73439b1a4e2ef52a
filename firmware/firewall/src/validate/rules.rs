//! Checks of operator rules: zones that exist, ports only with TCP/UDP, ICMP types only
//! with their ICMP version, sets that exist and fit, at least one family to match in.

use super::{At, Checker, Problem, SECTION};
use crate::families::{Scope, rule_scope};
use crate::model::{Action, AddressSpec, Direction, Family, Protocol, Rule, SetName};

pub(super) fn check(c: &mut Checker<'_>) {
    let cfg = c.cfg;
    for (i, rule) in cfg.rules.iter().enumerate() {
        let at = At::named(format!("{SECTION}.rules[{i}]"), &rule.name);
        let before = c.report.errors.len();
        if let Some(first) = cfg.rules.iter().position(|r| r.name == rule.name)
            && first < i
        {
            let problem = Problem::DuplicateName {
                what: "rule",
                name: rule.name.to_string(),
                index: first,
            };
            c.error(
                &at,
                Some("name"),
                format!("{:?}", rule.name.as_str()),
                problem,
            );
        }
        if let Some(zone) = rule.zone {
            c.zone_defined(&at, "zone", zone);
        }
        if let Some(zone) = rule.dest_zone {
            if rule.direction != Direction::Forward {
                c.error(
                    &at,
                    Some("dest_zone"),
                    format!("{:?}", zone.as_str()),
                    Problem::DestZoneNotForward,
                );
            } else {
                c.zone_defined(&at, "dest_zone", zone);
            }
        }
        protocol_fields(c, &at, rule);
        addresses(c, &at, "source", &rule.source);
        addresses(c, &at, "destination", &rule.destination);
        set_refs(c, &at, rule);
        if let Some(limit) = &rule.over_rate {
            if limit.rate == 0 {
                c.error(&at, Some("over_rate.rate"), 0, Problem::ZeroRate);
            }
            if limit.burst == 0 {
                c.error(&at, Some("over_rate.burst"), 0, Problem::ZeroRate);
            }
            if rule.action == Action::Accept {
                c.error(
                    &at,
                    Some("action"),
                    "\"accept\"",
                    Problem::OverRateWithAccept,
                );
            }
        }
        if c.report.errors.len() == before && rule_scope(cfg, rule) == Scope::Only(Vec::new()) {
            c.error(&at, None, describe(rule), Problem::NoCommonFamily);
        }
    }
}

/// Ports need TCP/UDP, ICMP types need ICMP of the right version.
fn protocol_fields(c: &mut Checker<'_>, at: &At, rule: &Rule) {
    for (field, ports) in [("ports", &rule.ports), ("source_ports", &rule.source_ports)] {
        if !ports.is_empty() && !rule.protocol.has_ports() {
            c.error(
                at,
                Some(field),
                list(ports),
                Problem::PortsNeedTcpOrUdp(rule.protocol.to_string()),
            );
        } else {
            c.ports(at, field, ports);
        }
    }
    if rule.icmp_types.is_empty() {
        return;
    }
    let Some(family) = rule.protocol.family() else {
        c.error(
            at,
            Some("icmp_types"),
            format!(
                "[{}]",
                rule.icmp_types
                    .iter()
                    .map(|t| format!("{:?}", t.name()))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            Problem::IcmpTypesNeedIcmp(rule.protocol.to_string()),
        );
        return;
    };
    for (i, t) in rule.icmp_types.iter().enumerate() {
        if t.code(family).is_none() {
            c.error(
                at,
                Some(&format!("icmp_types[{i}]")),
                format!("{:?}", t.name()),
                Problem::IcmpTypeNotInProtocol {
                    name: t.name(),
                    protocol: rule.protocol,
                },
            );
        }
    }
}

/// Address ranges must run low to high.
pub(super) fn addresses(c: &mut Checker<'_>, at: &At, field: &str, list: &[AddressSpec]) {
    for (i, a) in list.iter().enumerate() {
        if let AddressSpec::Range(first, last) = a
            && first > last
        {
            c.error(
                at,
                Some(&format!("{field}[{i}]")),
                format!("\"{a}\""),
                Problem::ReversedAddressRange,
            );
        }
    }
}

/// Sets must exist, and fit the protocol's family and each other.
fn set_refs(c: &mut Checker<'_>, at: &At, rule: &Rule) {
    let mut needed: Option<Family> = match rule.protocol {
        Protocol::Icmp => Some(Family::Ipv4),
        Protocol::Icmpv6 => Some(Family::Ipv6),
        _ => None,
    };
    for (field, set) in [
        ("source_set", &rule.source_set),
        ("destination_set", &rule.destination_set),
    ] {
        if let Some(name) = set {
            needed = set_ref(c, at, field, name, needed).or(needed);
        }
    }
}

/// Checks one set reference against the family needed so far; returns the set's family.
pub(super) fn set_ref(
    c: &mut Checker<'_>,
    at: &At,
    field: &str,
    name: &SetName,
    needed: Option<Family>,
) -> Option<Family> {
    let value = format!("{:?}", name.as_str());
    let Some(set) = c.cfg.set(name) else {
        c.error(
            at,
            Some(field),
            value,
            Problem::UndefinedSet(name.to_string()),
        );
        return None;
    };
    if let Some(needed) = needed
        && needed != set.family
    {
        let problem = Problem::WrongSetFamily {
            set: name.to_string(),
            set_family: set.family,
            needed,
        };
        c.error(at, Some(field), value, problem);
    }
    Some(set.family)
}

fn list(ports: &[crate::model::PortRange]) -> String {
    let items: Vec<_> = ports.iter().map(|p| p.to_string()).collect();
    format!("[{}]", items.join(", "))
}

/// A short description of a rule's family constraints, as the value of a
/// [`Problem::NoCommonFamily`] error.
fn describe(rule: &Rule) -> String {
    let mut parts = vec![format!("protocol = {:?}", rule.protocol.to_string())];
    let addrs = |l: &[AddressSpec]| {
        l.iter()
            .map(|a| format!("\"{a}\""))
            .collect::<Vec<_>>()
            .join(", ")
    };
    if !rule.source.is_empty() {
        parts.push(format!("source = [{}]", addrs(&rule.source)));
    }
    if !rule.destination.is_empty() {
        parts.push(format!("destination = [{}]", addrs(&rule.destination)));
    }
    if let Some(s) = &rule.source_set {
        parts.push(format!("source_set = {:?}", s.as_str()));
    }
    if let Some(s) = &rule.destination_set {
        parts.push(format!("destination_set = {:?}", s.as_str()));
    }
    parts.join(", ")
}
