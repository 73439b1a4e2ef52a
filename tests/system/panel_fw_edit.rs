//! Zones and set elements edited in the panel, with real packets: `mamori firewalld` in the
//! gateway of three network namespaces, the settings service on its store and
//! `mamori admind` on both (as in `panel_firewall`), with a 10-second probation and a
//! 10-second re-authentication window.
//!
//! - An address added to a set that a rejecting rule uses is cut off once the change is in
//!   force, stays cut off once confirmed, and its neighbour is not; removing it (which
//!   weakens the box) asks for the password past the window.
//! - Opening the WAN's input policy asks for the password past the window; given, it is in
//!   force on probation and, left unconfirmed, goes back by itself.
//! - Refused, with nothing changed: a bad element, an element of the other family, a bad
//!   interface name, an interface the settings service finds in two zones (its key shown),
//!   an auditor (403), a form without the CSRF token (403).

use std::time::{Duration, Instant};

use crate::common::{mamori, wait_for};
use crate::firewall_packets::{
    FAIL_WAIT, GW_WAN, LAN_HOST, LAN_HOST_B, OK_WAIT, Outcome, Server, Topology, WAN_HOST, ZONES,
    tcp, tcp_from,
};
use crate::netns::Firewalld;
use crate::panel_box::{Answer, Client, PanelBox, create_admin};
use crate::panel_firewall::FirewallPanel;

const ADMIN_PW: &str = "hanabi-to-yukata-2026";
const AUDITOR_PW: &str = "mori-no-kage-fumi";
/// The panel's `[admin]` here: a 10 s probation and a 10 s re-authentication window.
const PANEL: &str = "firewall_confirm_secs = 10\nreauth_secs = 10\n";
/// `admin.reauth_secs`.
const WINDOW: Duration = Duration::from_secs(10);

/// A set and a forward rule rejecting LAN sources in it.
const BLOCKED: &str = r#"
[[firewall.sets]]
name = "blocked"
family = "ipv4"

[[firewall.rules]]
name = "blocked-out"
direction = "forward"
zone = "lan"
source_set = "blocked"
action = "reject"
"#;

/// `mamori settings get KEY` on the firewall's store, as JSON.
fn setting(fw: &Firewalld, key: &str) -> serde_json::Value {
    let store = fw.settings.as_ref().unwrap();
    let (code, out, err) = mamori(&["settings", "--dir", store.to_str().unwrap(), "get", key]);
    assert_eq!(code, 0, "{out}{err}");
    serde_json::from_str(out.trim()).unwrap_or_else(|e| panic!("{e}: {out}"))
}

/// The settings store's history, as printed.
fn history(fw: &Firewalld) -> String {
    let store = fw.settings.as_ref().unwrap();
    mamori(&["settings", "--dir", store.to_str().unwrap(), "history"]).1
}

/// The panel's audit records of `event`.
fn audited(b: &PanelBox, event: &str) -> Vec<serde_json::Value> {
    std::fs::read_to_string(b.data().join("admind/audit/admind/audit.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|r| r["event"] == event)
        .collect()
}

/// Adds an auditor and logs them in.
fn auditor(b: &PanelBox, admin: &Client) -> Client {
    crate::panel_box::add_user(b, admin, "suzuki", "auditor", AUDITOR_PW)
}

/// The probation serial on the confirmation page.
fn serial(admin: &Client) -> String {
    let pending = admin.get("/firewall/pending");
    pending
        .body
        .split(r#"name="serial" value=""#)
        .nth(1)
        .and_then(|r| r.split('"').next())
        .unwrap_or_else(|| panic!("no probation: {}", pending.body))
        .to_string()
}

/// Confirms the change on probation.
fn confirm(admin: &Client, csrf: &str) {
    let serial = serial(admin);
    let a = admin.post("/firewall/confirm", &[("_csrf", csrf), ("serial", &serial)]);
    assert_eq!(
        a.header("location"),
        Some("/firewall?done=confirmed"),
        "{a:?}"
    );
}

#[track_caller]
fn assert_pending(a: &Answer, b: &PanelBox) {
    assert_eq!(
        (a.status, a.header("location")),
        (303, Some("/firewall/pending")),
        "{a:?}\n{}",
        b.log()
    );
}

#[test]
fn panel_set_element_added_cuts_a_host_off_once_confirmed() {
    let Some(t) = Topology::new("pfwset") else {
        return;
    };
    let fw = Firewalld::start_with_settings(&t.gw, &format!("{ZONES}{BLOCKED}"));
    let _wan = Server::start(&t.wan, "wan", &["tcp:8080"]);
    let panel = FirewallPanel::start(&fw, PANEL);
    let b = &panel.panel;
    let admin = create_admin(b, "tanaka", ADMIN_PW);
    let page = admin.get("/firewall");
    assert_eq!(page.status, 200, "{page:?}\n{}", b.log());
    assert!(
        page.body
            .contains(r#"<a href="/firewall/sets/blocked" id="edit-set-blocked">"#)
            && page.body.contains(r#"href="/firewall/zones/wan""#),
        "the firewall page links the set and zone pages: {}",
        page.body
    );
    let csrf = page.csrf();
    let set = admin.get("/firewall/sets/blocked");
    assert_eq!(set.status, 200, "{set:?}");
    assert!(
        set.body.contains(r#"id="no-elements""#) && set.body.contains("blocked-out"),
        "{}",
        set.body
    );
    let wan_sees_gw = format!("wan {GW_WAN}");
    let both_pass = |when: &str| {
        for host in [LAN_HOST, LAN_HOST_B] {
            t.assert_answer(
                &format!("{host} → WAN:8080 {when}"),
                tcp_from(&t.lan, host, WAN_HOST, 8080, OK_WAIT),
                &wan_sees_gw,
            );
        }
    };
    both_pass("before");
    let add = |elements: &str, token: &str| {
        admin.post(
            "/firewall/sets/blocked/add",
            &[("_csrf", token), ("elements", elements)],
        )
    };

    // Refused, nothing changed: a bad element (named), the other family, no CSRF token,
    // an auditor.
    let a = add(&format!("{LAN_HOST}\n192.168.77.300"), &csrf);
    assert_eq!(a.status, 400, "{a:?}");
    assert!(
        a.body.contains(r#"id="add-error""#) && a.body.contains("192.168.77.300"),
        "{}",
        a.body
    );
    assert!(
        a.body
            .contains(r#"aria-describedby="set-elements-help add-error""#),
        "the error is tied to the field: {}",
        a.body
    );
    let a = add("fd77::10", &csrf);
    assert_eq!(a.status, 400, "{a:?}");
    assert!(
        a.body.contains(r#"id="add-error""#) && a.body.contains("fd77::10"),
        "{}",
        a.body
    );
    let a = admin.post("/firewall/sets/blocked/add", &[("elements", LAN_HOST)]);
    assert_eq!(a.status, 403, "no CSRF token: {a:?}");
    let a = add(LAN_HOST, "not-the-token");
    assert_eq!(a.status, 403, "a wrong CSRF token: {a:?}");
    let suzuki = auditor(b, &admin);
    assert_eq!(suzuki.get("/firewall/sets/blocked").status, 403);
    let their_csrf = suzuki.get("/firewall/devices").csrf();
    let a = suzuki.post(
        "/firewall/sets/blocked/add",
        &[("_csrf", &their_csrf), ("elements", LAN_HOST)],
    );
    assert_eq!(a.status, 403, "an auditor: {a:?}");
    assert_eq!(
        setting(&fw, "firewall.sets")[0]["elements"],
        serde_json::json!([])
    );
    both_pass("after the refusals");

    // The address: cut off on probation (the rule rejects it), its neighbour not; kept
    // once confirmed, past the probation.
    let a = add(LAN_HOST, &csrf);
    assert_pending(&a, b);
    t.assert_refused(
        "blocked host → WAN:8080 on probation",
        tcp_from(&t.lan, LAN_HOST, WAN_HOST, 8080, OK_WAIT),
    );
    t.assert_answer(
        "its neighbour → WAN:8080 on probation",
        tcp_from(&t.lan, LAN_HOST_B, WAN_HOST, 8080, OK_WAIT),
        &wan_sees_gw,
    );
    confirm(&admin, &csrf);
    std::thread::sleep(Duration::from_secs(12));
    t.assert_refused(
        "blocked host → WAN:8080 confirmed",
        tcp_from(&t.lan, LAN_HOST, WAN_HOST, 8080, OK_WAIT),
    );
    assert_eq!(
        setting(&fw, "firewall.sets")[0]["elements"],
        serde_json::json!([LAN_HOST])
    );
    let set = admin.get("/firewall/sets/blocked");
    assert!(
        set.body
            .contains(&format!(r#"name="element" value="{LAN_HOST}""#)),
        "{}",
        set.body
    );
    let a = add(LAN_HOST, &csrf);
    assert_eq!(a.status, 400, "already in the set: {a:?}");
    assert!(a.body.contains(LAN_HOST), "{}", a.body);

    // Removing it lets it through again, which weakens the box: past the window the
    // password is asked for (and the page shows the field), then the change is made.
    let remove = |current: Option<&str>| {
        let mut form = vec![("_csrf", csrf.as_str()), ("element", LAN_HOST)];
        form.extend(current.map(|c| ("current", c)));
        admin.post("/firewall/sets/blocked/remove", &form)
    };
    assert!(
        set.body.contains(r#"id="remove-current""#) && !set.body.contains(r#"id="add-current""#),
        "past the window, removing asks and adding to a rejecting rule's set does not: {}",
        set.body
    );
    let a = remove(None);
    assert_eq!(a.status, 403, "{a:?}");
    assert!(
        a.body.contains(r#"id="remove-error""#)
            && a.body.contains("現在のパスワードを入力してください"),
        "{}",
        a.body
    );
    t.assert_refused(
        "blocked host → WAN:8080 after a refused removal",
        tcp_from(&t.lan, LAN_HOST, WAN_HOST, 8080, OK_WAIT),
    );
    let a = remove(Some(ADMIN_PW));
    assert_pending(&a, b);
    both_pass("with the element removed on probation");
    confirm(&admin, &csrf);
    assert_eq!(
        setting(&fw, "firewall.sets")[0]["elements"],
        serde_json::json!([])
    );

    let added = audited(b, "panel_firewall_set_elements_added");
    assert_eq!(added.len(), 1, "only the change made: {added:?}");
    assert_eq!(
        (&added[0]["by"], &added[0]["set"], &added[0]["elements"]),
        (
            &serde_json::json!("tanaka"),
            &serde_json::json!("blocked"),
            &serde_json::json!([LAN_HOST])
        )
    );
    let removed = audited(b, "panel_firewall_set_element_removed");
    assert_eq!(removed.len(), 1, "{removed:?}");
    assert_eq!(removed[0]["subject"], "blocked");

    // A new, empty set: bad names and a taken one refused next to the field; made on
    // probation and confirmed; a set a rule uses cannot be deleted, an unused one can.
    let new_set = |name: &str, family: &str| {
        admin.post(
            "/firewall/sets",
            &[("_csrf", &csrf), ("name", name), ("family", family)],
        )
    };
    for (name, family) in [
        ("bad name!", "ipv4"),
        ("blocked", "ipv4"),
        ("mamori_x", "ipv4"),
        ("partners6", "ipx"),
    ] {
        let a = new_set(name, family);
        assert_eq!(a.status, 400, "{name} {family}: {a:?}");
        assert!(a.body.contains(r#"id="new-set-error""#), "{}", a.body);
    }
    let a = new_set("partners6", "ipv6");
    assert_pending(&a, b);
    confirm(&admin, &csrf);
    let sets = setting(&fw, "firewall.sets");
    assert!(
        sets.as_array()
            .unwrap()
            .iter()
            .any(|s| s["name"] == "partners6" && s["family"] == "ipv6"),
        "{sets}"
    );
    let used = admin.get("/firewall/sets/blocked");
    assert!(
        !used.body.contains("delete-set-form"),
        "a used set offers no delete"
    );
    let a = admin.post("/firewall/sets/blocked/delete", &[("_csrf", &csrf)]);
    assert_eq!(a.status, 400, "{a:?}");
    assert!(
        a.body.contains(r#"id="delete-set-error""#) && a.body.contains("blocked-out"),
        "names the rule that uses it: {}",
        a.body
    );
    let unused = admin.get("/firewall/sets/partners6");
    assert!(unused.body.contains("delete-set-form"), "{}", unused.body);
    let a = admin.post("/firewall/sets/partners6/delete", &[("_csrf", &csrf)]);
    assert_pending(&a, b);
    confirm(&admin, &csrf);
    let sets = setting(&fw, "firewall.sets");
    assert!(
        sets.as_array()
            .unwrap()
            .iter()
            .all(|s| s["name"] != "partners6"),
        "{sets}"
    );
    assert_eq!(audited(b, "panel_firewall_set_added").len(), 1);
    assert_eq!(audited(b, "panel_firewall_set_deleted").len(), 1);
    // Without the CSRF token, nothing.
    assert_eq!(
        admin
            .post("/firewall/sets", &[("name", "x"), ("family", "ipv4")])
            .status,
        403
    );
}

/// The WAN zone's form with input policy `input` and the WAN's other settings as they are.
fn wan_form<'a>(
    csrf: &'a str,
    interfaces: &'a str,
    input: &'a str,
    current: Option<&'a str>,
) -> Vec<(&'a str, &'a str)> {
    let mut form = vec![
        ("_csrf", csrf),
        ("interfaces", interfaces),
        ("input", input),
        ("forward", "drop"),
        ("output", "accept"),
        ("masquerade", "on"),
        ("allow_dhcp_client", "on"),
    ];
    form.extend(current.map(|c| ("current", c)));
    form
}

#[test]
fn panel_zone_opened_on_probation_goes_back_unconfirmed() {
    let Some(t) = Topology::new("pfwzone") else {
        return;
    };
    let fw = Firewalld::start_with_settings(&t.gw, ZONES);
    let _gw = Server::start(&t.gw, "gw", &["tcp:8081"]);
    let panel = FirewallPanel::start(&fw, PANEL);
    let b = &panel.panel;
    let admin = create_admin(b, "tanaka", ADMIN_PW);
    let logged_in = Instant::now();
    let zone = admin.get("/firewall/zones/wan");
    assert_eq!(zone.status, 200, "{zone:?}\n{}", b.log());
    for shown in [
        r#"id="zone-interfaces" name="interfaces" value="eth0""#,
        r#"<option value="drop" selected>"#,
        r#"id="zone-masquerade" name="masquerade" value="on" checked"#,
        r#"<label for="zone-input">"#,
        r#"aria-describedby="zone-input-now""#,
        "現在: 破棄(既定)",
    ] {
        assert!(zone.body.contains(shown), "{shown}: {}", zone.body);
    }
    assert_eq!(admin.get("/firewall/zones/office").status, 404);
    assert_eq!(admin.get("/firewall/zones/dmz").status, 404, "not defined");
    let csrf = zone.csrf();
    t.assert_dropped(
        "WAN → gateway:8081 before",
        tcp(&t.wan, GW_WAN, 8081, FAIL_WAIT),
    );
    let save = |form: &[(&str, &str)]| admin.post("/firewall/zones/wan", form);

    // Refused, nothing changed: a bad interface name (named next to the field), no CSRF
    // token, an auditor.
    let a = save(&wan_form(&csrf, "eth0 et*h", "drop", None));
    assert_eq!(a.status, 400, "{a:?}");
    assert!(
        a.body.contains(r#"id="zone-interfaces-error""#) && a.body.contains("et*h"),
        "{}",
        a.body
    );
    assert!(
        a.body.contains(
            r#"aria-describedby="zone-interfaces-now zone-interfaces-help zone-interfaces-error""#
        ),
        "the error is tied to the field: {}",
        a.body
    );
    let a = admin.post(
        "/firewall/zones/wan",
        &wan_form(&csrf, "eth0", "accept", Some(ADMIN_PW))[1..],
    );
    assert_eq!(a.status, 403, "no CSRF token: {a:?}");
    let suzuki = auditor(b, &admin);
    assert_eq!(suzuki.get("/firewall/zones/wan").status, 403);
    let their_csrf = suzuki.get("/firewall/devices").csrf();
    let a = suzuki.post(
        "/firewall/zones/wan",
        &wan_form(&their_csrf, "eth0", "accept", Some(AUDITOR_PW)),
    );
    assert_eq!(a.status, 403, "an auditor: {a:?}");
    assert_eq!(
        setting(&fw, "firewall.zones.wan"),
        serde_json::json!({"interfaces": ["eth0"]})
    );

    // Past the window, opening the WAN's input asks for the password: nothing changes
    // without it.
    std::thread::sleep(
        (logged_in + WINDOW + Duration::from_secs(2)).saturating_duration_since(Instant::now()),
    );
    let page = admin.get("/firewall/zones/wan");
    assert!(page.body.contains(r#"id="zone-current""#), "{}", page.body);
    let a = save(&wan_form(&csrf, "eth0", "accept", None));
    assert_eq!(a.status, 403, "{a:?}");
    assert!(
        a.body.contains(r#"id="zone-error""#)
            && a.body.contains("現在のパスワードを入力してください"),
        "{}",
        a.body
    );
    t.assert_dropped(
        "WAN → gateway:8081 after the refusal",
        tcp(&t.wan, GW_WAN, 8081, FAIL_WAIT),
    );
    assert_eq!(
        setting(&fw, "firewall.zones.wan"),
        serde_json::json!({"interfaces": ["eth0"]})
    );

    // With it: in force on probation, then, left unconfirmed, back by itself.
    let a = save(&wan_form(&csrf, "eth0", "accept", Some(ADMIN_PW)));
    assert_pending(&a, b);
    t.assert_answer(
        "WAN → gateway:8081 on probation",
        tcp(&t.wan, GW_WAN, 8081, OK_WAIT),
        &format!("gw {WAN_HOST}"),
    );
    assert_eq!(setting(&fw, "firewall.zones.wan")["input"], "accept");
    let back = wait_for(Duration::from_secs(25), || {
        tcp(&t.wan, GW_WAN, 8081, FAIL_WAIT).outcome == Outcome::Timeout
    });
    assert!(back, "not reverted\n{}", t.table());
    t.assert_dropped(
        "WAN → gateway:8081 after the revert",
        tcp(&t.wan, GW_WAN, 8081, FAIL_WAIT),
    );
    assert!(
        wait_for(Duration::from_secs(10), || setting(
            &fw,
            "firewall.zones.wan"
        ) == serde_json::json!({"interfaces": ["eth0"]})),
        "the revert is a settings version: {}",
        setting(&fw, "firewall.zones.wan")
    );
    assert!(
        history(&fw).contains("was not confirmed in time"),
        "{}",
        history(&fw)
    );
    let page = admin.get("/firewall");
    assert!(page.body.contains(r#"id="reverted""#), "{}", page.body);

    // An interface the settings service finds in the LAN zone too: refused with its key,
    // next to the interfaces (adding one asks for the password: given).
    let versions = history(&fw).lines().count();
    let a = save(&wan_form(&csrf, "eth0 eth1", "drop", Some(ADMIN_PW)));
    assert_eq!(a.status, 400, "{a:?}\n{}", b.log());
    let error = a
        .body
        .split(r#"id="zone-interfaces-error">"#)
        .nth(1)
        .unwrap_or_else(|| panic!("no error at the interfaces: {}", a.body));
    assert!(
        error.contains("firewall.zones.wan.interfaces[1]"),
        "the settings service's key: {error}"
    );
    assert_eq!(history(&fw).lines().count(), versions, "no version written");
    t.assert_dropped(
        "WAN → gateway:8081 after the settings refused",
        tcp(&t.wan, GW_WAN, 8081, FAIL_WAIT),
    );
    // The panel's record of the attempt is followed by one saying it was refused, and why.
    let refused = audited(b, "panel_change_refused");
    assert!(
        refused.iter().any(|r| r["by"] == "tanaka"
            && r["what"].as_str().is_some_and(|w| w.contains("wan"))
            && r["why"]
                .as_str()
                .is_some_and(|w| w.contains("firewall.zones.wan.interfaces[1]"))),
        "{refused:?}"
    );

    let changed = audited(b, "panel_firewall_zone_changed");
    assert!(
        changed
            .iter()
            .any(|r| r["by"] == "tanaka" && r["subject"] == "wan"),
        "{changed:?}"
    );

    // A DMZ added on its interface, a forwarding into it, then both taken away again.
    let ruleset = || String::from_utf8_lossy(&t.gw.sh("nft list ruleset").stdout).into_owned();
    let add_zone = |name: &str, interfaces: &str| {
        admin.post(
            "/firewall/zones",
            &[
                ("_csrf", &csrf),
                ("name", name),
                ("interfaces", interfaces),
                ("current", ADMIN_PW),
            ],
        )
    };
    for (name, interfaces) in [("lan", "eth9"), ("dmz", "eth/9"), ("moon", "eth9")] {
        let a = add_zone(name, interfaces);
        assert_eq!(a.status, 400, "{name} {interfaces}: {a:?}");
        assert!(a.body.contains(r#"id="zone-error""#), "{}", a.body);
    }
    let a = add_zone("dmz", "dmz0");
    assert_pending(&a, b);
    confirm(&admin, &csrf);
    assert_eq!(
        setting(&fw, "firewall.zones.dmz")["interfaces"],
        serde_json::json!(["dmz0"])
    );
    assert!(
        ruleset().contains("\"dmz0\""),
        "the firewall runs the zone:\n{}",
        ruleset()
    );
    let forwarding = |action: &str, from: &str, to: &str| {
        admin.post(
            "/firewall/forwardings",
            &[
                ("_csrf", &csrf),
                ("action", action),
                ("from", from),
                ("to", to),
                ("current", ADMIN_PW),
            ],
        )
    };
    let a = forwarding("add", "lan", "dmz");
    assert_pending(&a, b);
    confirm(&admin, &csrf);
    let forwardings = setting(&fw, "firewall.forwardings");
    assert!(
        forwardings
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["from"] == "lan" && f["to"] == "dmz"),
        "{forwardings}"
    );
    for (action, from, to) in [
        ("add", "lan", "dmz"),
        ("add", "lan", "lan"),
        ("add", "lan", "guest"),
        ("remove", "dmz", "lan"),
    ] {
        let a = forwarding(action, from, to);
        assert_eq!(a.status, 400, "{action} {from} {to}: {a:?}");
        assert!(a.body.contains(r#"id="forwarding-error""#), "{}", a.body);
    }
    // In use: the zone stays, and the page names what uses it.
    let remove_zone = || {
        admin.post(
            "/firewall/zones/remove",
            &[("_csrf", &csrf), ("name", "dmz")],
        )
    };
    let a = remove_zone();
    assert_eq!(a.status, 400, "{a:?}");
    assert!(a.body.contains("lan → dmz"), "{}", a.body);
    let a = forwarding("remove", "lan", "dmz");
    assert_pending(&a, b);
    confirm(&admin, &csrf);
    let a = remove_zone();
    assert_pending(&a, b);
    confirm(&admin, &csrf);
    assert!(setting(&fw, "firewall.zones.dmz").is_null());
    assert!(!ruleset().contains("dmz0"), "{}", ruleset());
    for event in [
        "panel_firewall_zone_added",
        "panel_firewall_forwarding_added",
        "panel_firewall_forwarding_removed",
        "panel_firewall_zone_removed",
    ] {
        assert_eq!(audited(b, event).len(), 1, "{event}");
    }
}
