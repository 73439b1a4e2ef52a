//! Random firewall models for property tests: mostly valid ones (tidied), some raw ones
//! that exercise validation.

#![allow(dead_code)]

use mamori_firewall::model::*;
use proptest::collection::vec;
use proptest::prelude::*;

pub fn zone_name() -> impl Strategy<Value = ZoneName> {
    prop::sample::select(ZoneName::ALL.to_vec())
}

pub fn policy() -> impl Strategy<Value = Option<Policy>> {
    prop::option::of(prop::sample::select(vec![
        Policy::Accept,
        Policy::Drop,
        Policy::Reject,
    ]))
}

pub fn zone(ifaces: &'static [&'static str]) -> impl Strategy<Value = Zone> {
    (
        prop::sample::subsequence(ifaces.to_vec(), 1..=ifaces.len()),
        policy(),
        policy(),
        policy(),
        prop::option::of(any::<bool>()),
        prop::option::of(any::<bool>()),
        prop::option::of(any::<bool>()),
    )
        .prop_map(
            |(names, input, forward, output, masquerade, ping, dhcp)| Zone {
                interfaces: names.iter().filter_map(|n| n.parse().ok()).collect(),
                input,
                forward,
                output,
                masquerade,
                allow_ping: ping,
                allow_dhcp_dns: dhcp,
                allow_dhcp_client: None,
            },
        )
}

pub fn zones() -> impl Strategy<Value = Zones> {
    (
        zone(&["eth1", "br-lan"]),
        zone(&["eth0", "ppp*"]),
        prop::option::of(zone(&["eth3"])),
        prop::option::of(prop_oneof![9 => zone(&["wlan*"]), 1 => zone(&["wlan*", "eth1"])]),
    )
        .prop_map(|(lan, wan, dmz, guest)| Zones {
            lan,
            wan,
            dmz,
            guest,
        })
}

pub fn port() -> impl Strategy<Value = PortRange> {
    prop_oneof![
        4 => (1u16..=65535).prop_map(PortRange::single),
        1 => (any::<u16>(), any::<u16>()).prop_map(|(first, last)| PortRange { first, last }),
    ]
}

pub fn address() -> impl Strategy<Value = AddressSpec> {
    let literal = |list: Vec<&'static str>| {
        prop::sample::select(list).prop_map(|s| s.parse::<AddressSpec>().expect("literal address"))
    };
    prop_oneof![
        10 => literal(vec!["10.0.0.0/8", "192.168.1.5", "192.168.1.10-192.168.1.20"]),
        5 => literal(vec!["2001:db8::/32", "2001:db8::1", "2001:db8::5-2001:db8::9"]),
        1 => literal(vec!["10.0.0.9-10.0.0.1"]),
    ]
}

/// Elements of a set: a subsequence of disjoint entries (sometimes one of the other family).
pub fn elements(pool: &'static [&'static str]) -> impl Strategy<Value = Vec<AddressSpec>> {
    prop::sample::subsequence(pool.to_vec(), 0..=pool.len()).prop_map(|l| {
        l.iter()
            .map(|s| s.parse().expect("literal address"))
            .collect()
    })
}

pub fn set_name() -> impl Strategy<Value = SetName> {
    prop::sample::select(vec!["block4", "block6", "missing"])
        .prop_map(|s| s.parse().expect("literal set name"))
}

pub fn icmp_type() -> impl Strategy<Value = IcmpType> {
    prop::sample::select(vec![
        IcmpType::EchoRequest,
        IcmpType::PacketTooBig,
        IcmpType::DestinationUnreachable,
        IcmpType::NdNeighborSolicit,
        IcmpType::TimestampRequest,
    ])
}

pub fn rate() -> impl Strategy<Value = RateLimit> {
    (
        0u32..50,
        prop::sample::select(vec![RateUnit::Second, RateUnit::Minute, RateUnit::Hour]),
        0u32..100,
        any::<bool>(),
    )
        .prop_map(|(rate, per, burst, per_source)| RateLimit {
            rate,
            per,
            burst,
            per_source,
        })
}

pub fn rule(i: usize) -> impl Strategy<Value = Rule> {
    let protocol = prop::sample::select(vec![
        Protocol::Any,
        Protocol::Tcp,
        Protocol::Udp,
        Protocol::TcpUdp,
        Protocol::Icmp,
        Protocol::Icmpv6,
    ]);
    let direction = prop::sample::select(vec![
        Direction::Input,
        Direction::Forward,
        Direction::Output,
    ]);
    let action = prop::sample::select(vec![Action::Accept, Action::Drop, Action::Reject]);
    let state = prop::sample::subsequence(
        vec![CtState::New, CtState::Established, CtState::Related],
        0..=2,
    );
    (
        (
            any::<bool>(),
            direction,
            prop::option::of(zone_name()),
            prop::option::of(zone_name()),
            protocol,
        ),
        (
            vec(address(), 0..3),
            prop::option::of(set_name()),
            vec(address(), 0..2),
            prop::option::of(set_name()),
        ),
        (
            vec(port(), 0..2),
            vec(port(), 0..3),
            vec(icmp_type(), 0..2),
            state,
        ),
        (prop::option::of(rate()), any::<bool>(), action),
    )
        .prop_map(
            move |(
                (enabled, direction, zone, dest_zone, protocol),
                (source, source_set, destination, destination_set),
                (source_ports, ports, icmp_types, state),
                (over_rate, log, action),
            )| Rule {
                name: format!("rule-{i}").parse().expect("literal name"),
                enabled,
                direction,
                zone,
                dest_zone: dest_zone.filter(|_| direction == Direction::Forward),
                protocol,
                source,
                source_set,
                destination,
                destination_set,
                source_ports: if protocol.has_ports() {
                    source_ports
                } else {
                    Vec::new()
                },
                ports: if protocol.has_ports() {
                    ports
                } else {
                    Vec::new()
                },
                icmp_types: if protocol.family().is_some() {
                    icmp_types
                } else {
                    Vec::new()
                },
                state,
                over_rate,
                log,
                action,
            },
        )
}

pub fn port_forward(i: usize) -> impl Strategy<Value = PortForward> {
    (
        prop::sample::select(vec![
            ForwardProtocol::Tcp,
            ForwardProtocol::Udp,
            ForwardProtocol::TcpUdp,
        ]),
        zone_name(),
        zone_name(),
        port(),
        prop::option::of(port()),
        prop::sample::select(vec!["192.168.1.10", "172.16.0.5", "2001:db8::10"]),
        prop::option::of(prop::sample::select(vec!["192.0.2.1", "2001:db8::1"])),
        vec(address(), 0..2),
        any::<bool>(),
    )
        .prop_map(
            move |(
                protocol,
                from,
                to,
                external_port,
                internal_port,
                internal,
                external,
                source,
                reflection,
            )| {
                PortForward {
                    name: format!("pf-{i}").parse().expect("literal name"),
                    enabled: true,
                    protocol,
                    from,
                    to,
                    external_port,
                    external_address: external.map(|a| a.parse().expect("literal address")),
                    internal_address: internal.parse().expect("literal address"),
                    internal_port,
                    source,
                    source_set: None,
                    reflection,
                }
            },
        )
}

pub fn sets() -> impl Strategy<Value = Vec<Set>> {
    let v4 = elements(&[
        "10.0.0.0/8",
        "192.168.1.5",
        "192.168.2.10-192.168.2.20",
        "203.0.113.0/24",
    ]);
    let v6 = elements(&["2001:db8::/32", "2001:db9::1", "2001:dba::5-2001:dba::9"]);
    (v4, v6, any::<bool>()).prop_map(|(a, b, timed)| {
        let element = |address| SetElement {
            address,
            timeout: if timed { Timeout::from_secs(600) } else { None },
        };
        vec![
            Set {
                name: "block4".parse().expect("literal set name"),
                family: Family::Ipv4,
                interval: true,
                timeout: None,
                elements: a.into_iter().map(element).collect(),
            },
            Set {
                name: "block6".parse().expect("literal set name"),
                family: Family::Ipv6,
                interval: true,
                timeout: Timeout::from_secs(3600),
                elements: b.into_iter().map(element).collect(),
            },
        ]
    })
}

pub fn config() -> impl Strategy<Value = FirewallConfig> {
    let internal = prop::sample::select(vec![ZoneName::Lan, ZoneName::Dmz, ZoneName::Guest]);
    let forwarding = prop_oneof![
        6 => internal.prop_map(|from| Forwarding { from, to: ZoneName::Wan }),
        1 => (zone_name(), zone_name()).prop_map(|(from, to)| Forwarding { from, to }),
    ];
    let forwardings = vec(forwarding, 0..3);
    let rules = (0usize..6).prop_flat_map(|n| (0..n).map(rule).collect::<Vec<_>>());
    let forwards = (0usize..4).prop_flat_map(|n| (0..n).map(port_forward).collect::<Vec<_>>());
    (
        zones(),
        forwardings,
        rules,
        forwards,
        sets(),
        (any::<bool>(), any::<bool>(), any::<bool>(), 0u16..3000),
        prop::bool::weighted(0.8),
    )
        .prop_map(
            |(
                zones,
                forwardings,
                rules,
                port_forwards,
                sets,
                (block, redirect, lockout_off, relay),
                tidy_up,
            )| {
                let mut cfg = FirewallConfig {
                    zones,
                    forwardings,
                    rules,
                    port_forwards,
                    sets,
                    ..FirewallConfig::default()
                };
                cfg.smtp.block_outbound = block;
                cfg.smtp.redirect_to_relay = redirect;
                cfg.smtp.relay_port = relay;
                cfg.anti_lockout.disable_and_risk_lockout = lockout_off;
                if tidy_up { tidy(cfg) } else { cfg }
            },
        )
}

/// Repairs the simple mistakes of a random model, so that most tidied models are valid
/// and reach the renderer (untidied ones exercise validation).
pub fn tidy(mut cfg: FirewallConfig) -> FirewallConfig {
    let zones = cfg.zones.clone();
    let defined = |z: ZoneName| zones.get(z).is_some();
    let mut seen = Vec::new();
    cfg.forwardings.retain(|f| {
        let keep = defined(f.from) && defined(f.to) && f.from != f.to && !seen.contains(f);
        seen.push(*f);
        keep
    });
    let families: Vec<(SetName, Family)> = cfg
        .sets
        .iter()
        .map(|s| (s.name.clone(), s.family))
        .collect();
    let family_of = |n: &SetName| families.iter().find(|(s, _)| s == n).map(|(_, f)| *f);
    let fix_ports = |ports: &mut Vec<PortRange>| {
        for p in ports.iter_mut() {
            if p.first > p.last {
                std::mem::swap(&mut p.first, &mut p.last);
            }
            p.first = p.first.max(1);
            p.last = p.last.max(1);
        }
    };
    let forward_ranges = |l: &mut Vec<AddressSpec>| {
        l.retain(|a| !matches!(a, AddressSpec::Range(x, y) if x > y));
    };
    for r in &mut cfg.rules {
        r.zone = r.zone.filter(|z| defined(*z));
        r.dest_zone = r.dest_zone.filter(|z| defined(*z));
        let wanted = r.protocol.family();
        for set in [&mut r.source_set, &mut r.destination_set] {
            if set
                .as_ref()
                .is_some_and(|n| family_of(n).is_none_or(|f| wanted.is_some_and(|w| w != f)))
            {
                *set = None;
            }
        }
        if let (Some(a), Some(b)) = (&r.source_set, &r.destination_set)
            && family_of(a) != family_of(b)
        {
            r.destination_set = None;
        }
        if let Some(limit) = &mut r.over_rate {
            limit.rate = limit.rate.max(1);
            limit.burst = limit.burst.max(1);
            if r.action == Action::Accept {
                r.action = Action::Drop;
            }
        }
        fix_ports(&mut r.ports);
        fix_ports(&mut r.source_ports);
        forward_ranges(&mut r.source);
        forward_ranges(&mut r.destination);
        if let Some(f) = wanted {
            r.icmp_types.retain(|t| t.code(f).is_some());
        }
        let set_family = r
            .source_set
            .as_ref()
            .or(r.destination_set.as_ref())
            .and_then(family_of);
        let family = wanted
            .or(set_family)
            .or_else(|| r.source.first().map(|a| a.family()));
        if let Some(f) = family {
            r.source.retain(|a| a.family() == f);
            r.destination.retain(|a| a.family() == f);
        }
    }
    for pf in &mut cfg.port_forwards {
        if !defined(pf.from) || pf.from != ZoneName::Wan {
            pf.from = ZoneName::Wan;
        }
        if !defined(pf.to) || pf.to == ZoneName::Wan {
            pf.to = ZoneName::Lan;
        }
        let mut ext = vec![pf.external_port];
        fix_ports(&mut ext);
        pf.external_port = ext[0];
        if let Some(p) = pf.internal_port {
            let mut int = vec![p];
            fix_ports(&mut int);
            pf.internal_port = Some(int[0]).filter(|p| p.is_single() || *p == pf.external_port);
        }
        forward_ranges(&mut pf.source);
        let family = if pf.internal_address.is_ipv4() {
            Family::Ipv4
        } else {
            Family::Ipv6
        };
        pf.source.retain(|a| a.family() == family);
        if pf.internal_address.is_ipv6() {
            pf.internal_port = None;
            pf.external_address = None;
            pf.reflection = false;
        } else {
            pf.external_address = pf.external_address.filter(|a| a.is_ipv4());
            if pf.external_address.is_none() {
                pf.reflection = false;
            }
        }
    }
    cfg.smtp.relay_port = cfg.smtp.relay_port.max(1);
    cfg
}
