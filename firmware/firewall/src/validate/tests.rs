//! One test per kind of validation error: each asserts that the message names the key
//! (with the item's name), the value as written and the reason.

use serde::Deserialize;

use super::*;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Doc {
    #[serde(default)]
    firewall: FirewallConfig,
}

fn model(text: &str) -> FirewallConfig {
    toml::from_str::<Doc>(text)
        .unwrap_or_else(|e| panic!("test model does not parse: {e}"))
        .firewall
}

/// The first error of a model, checked to name `key`, `value` and `reason` in its message.
fn refused(text: &str, key: &str, value: &str, reason: &str) -> ValidationError {
    let err = validate(&model(text)).expect_err("the model was accepted");
    let msg = err.to_string();
    assert_eq!(err.key(), key, "{msg}");
    assert!(msg.starts_with(&err.path), "{msg}");
    assert!(msg.contains(value), "value {value:?} missing: {msg}");
    assert!(msg.contains(reason), "reason {reason:?} missing: {msg}");
    assert_eq!(err.reason(), err.problem.to_string());
    err
}

const DMZ: &str = "[firewall.zones.dmz]\ninterfaces = [\"eth3\"]\n";

#[test]
fn the_defaults_are_valid_without_warnings() {
    assert_eq!(validate(&FirewallConfig::default()), Ok(Vec::new()));
}

#[test]
fn undefined_zone_reads_as_in_the_issue() {
    let rules = (0..3)
        .map(|i| format!("[[firewall.rules]]\nname = \"r{i}\"\naction = \"accept\"\n"))
        .collect::<String>();
    let text = format!(
        "{rules}[[firewall.rules]]\nname = \"allow-nas\"\nzone = \"dmz\"\naction = \"accept\"\n"
    );
    let err = refused(
        &text,
        "firewall.rules[3].zone",
        "\"dmz\"",
        "zone \"dmz\" is not defined",
    );
    assert!(
        err.to_string().starts_with(
            "firewall.rules[3] (\"allow-nas\").zone = \"dmz\": zone \"dmz\" is not defined"
        ),
        "{err}"
    );
    assert_eq!(err.item.as_deref(), Some("allow-nas"));
}

#[test]
fn zone_without_interfaces() {
    let err = refused(
        "[firewall.zones.guest]\ninterfaces = []",
        "firewall.zones.guest.interfaces",
        "[]",
        "at least one interface",
    );
    assert_eq!(*err.problem, Problem::NoInterfaces);
}

#[test]
fn interface_in_two_zones() {
    let err = refused(
        "[firewall.zones.lan]\ninterfaces = [\"wlan*\"]\n[firewall.zones.guest]\ninterfaces = [\"wlan1\"]",
        "firewall.zones.guest.interfaces[0]",
        "\"wlan1\"",
        "also in zone \"lan\" (\"wlan*\")",
    );
    assert!(matches!(*err.problem, Problem::InterfaceInTwoZones { .. }));
    refused(
        "[firewall.zones.lan]\ninterfaces = [\"eth1\", \"eth1\"]",
        "firewall.zones.lan.interfaces[1]",
        "\"eth1\"",
        "belongs to one zone",
    );
}

#[test]
fn duplicate_names() {
    let err = refused(
        "[[firewall.rules]]\nname = \"ssh\"\naction = \"accept\"\n[[firewall.rules]]\nname = \"ssh\"\naction = \"drop\"",
        "firewall.rules[1].name",
        "\"ssh\"",
        "another rule is already named \"ssh\" (at index 0)",
    );
    assert!(matches!(
        *err.problem,
        Problem::DuplicateName { what: "rule", .. }
    ));
    refused(
        "[[firewall.sets]]\nname = \"b\"\nfamily = \"ipv4\"\n[[firewall.sets]]\nname = \"b\"\nfamily = \"ipv6\"",
        "firewall.sets[1].name",
        "\"b\"",
        "another set is already named",
    );
    refused(
        "[[firewall.port_forwards]]\nname = \"w\"\nexternal_port = 80\ninternal_address = \"192.168.1.2\"\n\
         [[firewall.port_forwards]]\nname = \"w\"\nexternal_port = 81\ninternal_address = \"192.168.1.3\"",
        "firewall.port_forwards[1].name",
        "\"w\"",
        "another port forward is already named",
    );
}

#[test]
fn duplicate_forwarding() {
    let err = refused(
        "[[firewall.forwardings]]\nfrom = \"lan\"\nto = \"wan\"\n[[firewall.forwardings]]\nfrom = \"lan\"\nto = \"wan\"",
        "firewall.forwardings[1]",
        "lan -> wan",
        "already at index 0",
    );
    assert_eq!(*err.problem, Problem::DuplicateForwarding(0));
}

#[test]
fn forwarding_to_itself() {
    let err = refused(
        "[[firewall.forwardings]]\nfrom = \"lan\"\nto = \"lan\"",
        "firewall.forwardings[0]",
        "lan -> lan",
        "follows its `forward` policy",
    );
    assert_eq!(*err.problem, Problem::ForwardingToItself);
}

#[test]
fn forwarding_to_an_undefined_zone() {
    refused(
        "[[firewall.forwardings]]\nfrom = \"guest\"\nto = \"wan\"",
        "firewall.forwardings[0].from",
        "\"guest\"",
        "add [firewall.zones.guest]",
    );
}

#[test]
fn dest_zone_on_an_input_rule() {
    let err = refused(
        "[[firewall.rules]]\nname = \"x\"\ndest_zone = \"lan\"\naction = \"accept\"",
        "firewall.rules[0].dest_zone",
        "\"lan\"",
        "only for rules with direction = \"forward\"",
    );
    assert_eq!(*err.problem, Problem::DestZoneNotForward);
}

#[test]
fn ports_without_tcp_or_udp() {
    let err = refused(
        "[[firewall.rules]]\nname = \"x\"\nports = [22]\naction = \"accept\"",
        "firewall.rules[0].ports",
        "[22]",
        "ports need protocol \"tcp\", \"udp\" or \"tcp/udp\", but the protocol is \"any\"",
    );
    assert!(matches!(*err.problem, Problem::PortsNeedTcpOrUdp(_)));
}

#[test]
fn icmp_types_with_a_non_icmp_protocol() {
    let err = refused(
        "[[firewall.rules]]\nname = \"ping\"\nprotocol = \"tcp\"\nicmp_types = [\"echo-request\"]\naction = \"accept\"",
        "firewall.rules[0].icmp_types",
        "[\"echo-request\"]",
        "ICMP types need protocol \"icmp\" or \"icmpv6\", but the protocol is \"tcp\"",
    );
    assert!(matches!(*err.problem, Problem::IcmpTypesNeedIcmp(_)));
}

#[test]
fn icmp_type_of_the_other_version() {
    let err = refused(
        "[[firewall.rules]]\nname = \"pmtu\"\nprotocol = \"icmp\"\nicmp_types = [\"echo-request\", \"packet-too-big\"]\naction = \"accept\"",
        "firewall.rules[0].icmp_types[1]",
        "\"packet-too-big\"",
        "is not a type of icmp",
    );
    assert!(matches!(
        *err.problem,
        Problem::IcmpTypeNotInProtocol { .. }
    ));
}

#[test]
fn reversed_port_range() {
    let err = refused(
        "[[firewall.rules]]\nname = \"web\"\nprotocol = \"tcp\"\nports = [80, \"8010-8000\"]\naction = \"accept\"",
        "firewall.rules[0].ports[1]",
        "\"8010-8000\"",
        "reversed; write it low to high, as \"8000-8010\"",
    );
    assert!(matches!(*err.problem, Problem::ReversedPortRange { .. }));
}

#[test]
fn port_zero() {
    let err = refused(
        "[[firewall.rules]]\nname = \"z\"\nprotocol = \"udp\"\nports = [0]\naction = \"drop\"",
        "firewall.rules[0].ports[0]",
        "\"0\"",
        "port 0",
    );
    assert_eq!(*err.problem, Problem::PortZero);
}

#[test]
fn reversed_address_range() {
    let err = refused(
        "[[firewall.rules]]\nname = \"r\"\nsource = [\"10.0.0.9-10.0.0.1\"]\naction = \"drop\"",
        "firewall.rules[0].source[0]",
        "\"10.0.0.9-10.0.0.1\"",
        "address range is reversed",
    );
    assert_eq!(*err.problem, Problem::ReversedAddressRange);
}

#[test]
fn undefined_set() {
    let err = refused(
        "[[firewall.rules]]\nname = \"b\"\nsource_set = \"blocklist\"\naction = \"drop\"",
        "firewall.rules[0].source_set",
        "\"blocklist\"",
        "set \"blocklist\" is not defined",
    );
    assert!(matches!(*err.problem, Problem::UndefinedSet(_)));
}

#[test]
fn set_of_the_wrong_family() {
    let sets = "[[firewall.sets]]\nname = \"v4\"\nfamily = \"ipv4\"\n";
    let err = refused(
        &format!(
            "{sets}[[firewall.rules]]\nname = \"nd\"\nprotocol = \"icmpv6\"\nsource_set = \"v4\"\naction = \"accept\""
        ),
        "firewall.rules[0].source_set",
        "\"v4\"",
        "set \"v4\" holds ipv4 addresses, but ipv6 is needed here",
    );
    assert!(matches!(*err.problem, Problem::WrongSetFamily { .. }));
    refused(
        &format!(
            "{sets}[[firewall.port_forwards]]\nname = \"s\"\nexternal_port = 443\ninternal_address = \"2001:db8::5\"\nsource_set = \"v4\""
        ),
        "firewall.port_forwards[0].source_set",
        "\"v4\"",
        "ipv6 is needed here",
    );
}

#[test]
fn no_family_in_common() {
    let err = refused(
        "[[firewall.rules]]\nname = \"mixed\"\nsource = [\"10.0.0.0/8\"]\ndestination = [\"2001:db8::/32\"]\naction = \"accept\"",
        "firewall.rules[0]",
        "source = [\"10.0.0.0/8\"], destination = [\"2001:db8::/32\"]",
        "no address family (IPv4 or IPv6) in common",
    );
    assert_eq!(*err.problem, Problem::NoCommonFamily);
    refused(
        "[[firewall.rules]]\nname = \"ping6\"\nprotocol = \"icmpv6\"\nsource = [\"10.0.0.1\"]\naction = \"accept\"",
        "firewall.rules[0]",
        "protocol = \"icmpv6\"",
        "could never match",
    );
}

#[test]
fn set_element_of_the_wrong_family() {
    let err = refused(
        "[[firewall.sets]]\nname = \"b\"\nfamily = \"ipv4\"\nelements = [\"10.0.0.1\", \"2001:db8::1\"]",
        "firewall.sets[0].elements[1]",
        "\"2001:db8::1\"",
        "holds ipv4 addresses; this element is not one",
    );
    assert_eq!(
        *err.problem,
        Problem::ElementWrongFamily(crate::model::Family::Ipv4)
    );
}

#[test]
fn network_in_a_set_without_interval() {
    let err = refused(
        "[[firewall.sets]]\nname = \"b\"\nfamily = \"ipv4\"\ninterval = false\nelements = [\"10.0.0.0/8\"]",
        "firewall.sets[0].elements[0]",
        "\"10.0.0.0/8\"",
        "`interval = true`",
    );
    assert_eq!(*err.problem, Problem::IntervalNeeded);
}

#[test]
fn overlapping_set_elements() {
    let err = refused(
        "[[firewall.sets]]\nname = \"b\"\nfamily = \"ipv4\"\nelements = [\"10.0.0.0/8\", \"192.0.2.1\", \"10.1.0.0-10.1.0.9\"]",
        "firewall.sets[0].elements[2]",
        "\"10.1.0.0-10.1.0.9\"",
        "overlaps element \"10.0.0.0/8\" (at index 0)",
    );
    assert!(matches!(
        *err.problem,
        Problem::OverlappingElements { index: 0, .. }
    ));
}

#[test]
fn zero_rates() {
    let err = refused(
        "[[firewall.rules]]\nname = \"t\"\nover_rate = { rate = 0, per = \"second\" }\naction = \"drop\"",
        "firewall.rules[0].over_rate.rate",
        "= 0",
        "must be at least 1",
    );
    assert_eq!(*err.problem, Problem::ZeroRate);
    refused(
        "[firewall.logging]\nburst = 0",
        "firewall.logging.burst",
        "= 0",
        "at least 1",
    );
}

#[test]
fn over_rate_with_accept() {
    let err = refused(
        "[[firewall.rules]]\nname = \"t\"\nover_rate = { rate = 5, per = \"minute\" }\naction = \"accept\"",
        "firewall.rules[0].action",
        "\"accept\"",
        "pair it with action \"drop\" or \"reject\"",
    );
    assert_eq!(*err.problem, Problem::OverRateWithAccept);
}

#[test]
fn overlapping_port_forwards() {
    let err = refused(
        "[[firewall.port_forwards]]\nname = \"nas\"\nexternal_port = \"8000-8100\"\ninternal_address = \"192.168.1.2\"\n\
         [[firewall.port_forwards]]\nname = \"cam\"\nprotocol = \"tcp/udp\"\nexternal_port = 8080\ninternal_address = \"192.168.1.3\"",
        "firewall.port_forwards[1].external_port",
        "\"8080\"",
        "overlaps port_forwards[0] (\"nas\"): both take tcp port 8000-8100 from zone wan",
    );
    assert!(matches!(
        *err.problem,
        Problem::OverlappingPortForward { index: 0, .. }
    ));
}

#[test]
fn port_forwards_that_do_not_overlap() {
    let ok = model(
        "[[firewall.port_forwards]]\nname = \"a\"\nexternal_port = 80\ninternal_address = \"192.168.1.2\"\n\
         [[firewall.port_forwards]]\nname = \"b\"\nprotocol = \"udp\"\nexternal_port = 80\ninternal_address = \"192.168.1.3\"\n\
         [[firewall.port_forwards]]\nname = \"c\"\nexternal_port = 80\ninternal_address = \"2001:db8::3\"\n\
         [[firewall.port_forwards]]\nname = \"d\"\nexternal_port = 80\ninternal_address = \"2001:db8::4\"\n\
         [[firewall.port_forwards]]\nname = \"e\"\nenabled = false\nexternal_port = 80\ninternal_address = \"192.168.1.5\"",
    );
    assert_eq!(validate(&ok), Ok(Vec::new()));
}

#[test]
fn port_forward_within_one_zone() {
    let err = refused(
        "[[firewall.port_forwards]]\nname = \"x\"\nfrom = \"lan\"\nexternal_port = 80\ninternal_address = \"192.168.1.2\"",
        "firewall.port_forwards[0].to",
        "\"lan\"",
        "from and to are the same zone",
    );
    assert_eq!(*err.problem, Problem::PortForwardWithinZone);
}

#[test]
fn port_forward_to_wan() {
    let err = refused(
        "[[firewall.port_forwards]]\nname = \"x\"\nfrom = \"lan\"\nto = \"wan\"\nexternal_port = 80\ninternal_address = \"192.0.2.2\"",
        "firewall.port_forwards[0].to",
        "\"wan\"",
        "must be in an internal zone",
    );
    assert_eq!(*err.problem, Problem::PortForwardToWan);
}

#[test]
fn port_forward_to_a_non_host() {
    let err = refused(
        "[[firewall.port_forwards]]\nname = \"x\"\nexternal_port = 80\ninternal_address = \"0.0.0.0\"",
        "firewall.port_forwards[0].internal_address",
        "\"0.0.0.0\"",
        "unicast host address",
    );
    assert_eq!(*err.problem, Problem::NotAHostAddress);
}

#[test]
fn ipv6_port_forward_cannot_translate() {
    let err = refused(
        "[[firewall.port_forwards]]\nname = \"v6\"\nexternal_port = 8443\ninternal_address = \"2001:db8::10\"\ninternal_port = 443",
        "firewall.port_forwards[0].internal_port",
        "\"443\"",
        "IPv6 has no NAT here",
    );
    assert_eq!(*err.problem, Problem::Ipv6NoNat);
    refused(
        "[[firewall.port_forwards]]\nname = \"v6\"\nexternal_port = 443\ninternal_address = \"2001:db8::10\"\nreflection = true",
        "firewall.port_forwards[0].reflection",
        "true",
        "IPv6 has no NAT here",
    );
}

#[test]
fn external_address_of_the_other_family() {
    let err = refused(
        "[[firewall.port_forwards]]\nname = \"x\"\nexternal_address = \"2001:db8::1\"\nexternal_port = 80\ninternal_address = \"192.168.1.2\"",
        "firewall.port_forwards[0].external_address",
        "\"2001:db8::1\"",
        "must both be IPv4",
    );
    assert_eq!(*err.problem, Problem::ExternalAddressFamily);
}

#[test]
fn shifted_port_range() {
    let err = refused(
        "[[firewall.port_forwards]]\nname = \"x\"\nexternal_port = \"8000-8010\"\ninternal_address = \"192.168.1.2\"\ninternal_port = \"9000-9010\"",
        "firewall.port_forwards[0].internal_port",
        "\"9000-9010\"",
        "8000-8010 to 9000-9010 would shift it",
    );
    assert!(matches!(*err.problem, Problem::PortRangeShift { .. }));
}

#[test]
fn reflection_that_would_hijack_the_panel() {
    let err = refused(
        "[[firewall.port_forwards]]\nname = \"nas\"\nexternal_port = 8443\ninternal_address = \"192.168.1.2\"\nreflection = true",
        "firewall.port_forwards[0].reflection",
        "true (external_port \"8443\")",
        "port 8443 is a service of the box itself",
    );
    assert_eq!(*err.problem, Problem::ReflectionHijacksBoxPort(8443));
    let fixed = model(
        "[[firewall.port_forwards]]\nname = \"nas\"\nexternal_address = \"192.0.2.1\"\nexternal_port = 8443\ninternal_address = \"192.168.1.2\"\nreflection = true",
    );
    assert!(
        validate(&fixed).is_ok(),
        "an external address makes it safe"
    );
}

#[test]
fn smtp_enforcement_on_wan() {
    let err = refused(
        "[firewall.smtp]\nzones = [\"lan\", \"wan\"]",
        "firewall.smtp.zones[1]",
        "\"wan\"",
        "wan is the Internet",
    );
    assert_eq!(*err.problem, Problem::SmtpZoneWan);
}

#[test]
fn empty_lists_that_need_an_entry() {
    let err = refused(
        "[firewall.anti_lockout]\npanel_ports = []",
        "firewall.anti_lockout.panel_ports",
        "[]",
        "set disable_and_risk_lockout = true",
    );
    assert!(matches!(*err.problem, Problem::EmptyList(_)));
    refused(
        "[firewall.smtp]\nblocked_ports = []",
        "firewall.smtp.blocked_ports",
        "[]",
        "or set block_outbound = false",
    );
}

#[test]
fn check_reports_every_error_in_document_order() {
    let report = check(&model(&format!(
        "{DMZ}[[firewall.rules]]\nname = \"a\"\nzone = \"guest\"\naction = \"accept\"\n\
         [[firewall.rules]]\nname = \"b\"\nprotocol = \"tcp\"\nports = [\"2-1\"]\naction = \"accept\""
    )));
    let keys: Vec<_> = report.errors.iter().map(|e| e.key()).collect();
    assert_eq!(
        keys,
        ["firewall.rules[0].zone", "firewall.rules[1].ports[0]"]
    );
    assert_eq!(
        report.warnings,
        vec![Warning::NoInternet(crate::model::ZoneName::Dmz)]
    );
}

#[test]
fn risky_models_are_warned_about() {
    let warnings = validate(&model(
        "[firewall.anti_lockout]\ndisable_and_risk_lockout = true\n[firewall.smtp]\nblock_outbound = false\n\
         [[firewall.forwardings]]\nfrom = \"lan\"\nto = \"wan\"\n[[firewall.forwardings]]\nfrom = \"wan\"\nto = \"lan\"",
    ))
    .unwrap();
    assert!(warnings.contains(&Warning::AntiLockoutDisabled));
    assert!(warnings.contains(&Warning::SmtpNotEnforced));
    assert!(warnings.contains(&Warning::ForwardingFromWan {
        index: 1,
        to: crate::model::ZoneName::Lan
    }));
    let text = Warning::AntiLockoutDisabled.to_string();
    assert!(
        text.contains("disable_and_risk_lockout") && text.contains("lock"),
        "{text}"
    );
}

#[test]
fn disabled_items_are_still_checked() {
    refused(
        "[[firewall.rules]]\nname = \"off\"\nenabled = false\nzone = \"dmz\"\naction = \"accept\"",
        "firewall.rules[0].zone",
        "\"dmz\"",
        "not defined",
    );
}
