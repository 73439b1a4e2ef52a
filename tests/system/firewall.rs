//! `mamori fw check`: a model in, the ruleset it would load out (nothing changed); a bad
//! model refused with every error named.

use std::process::Command;

use crate::common::mamori;
use crate::netns::{Firewalld, Netns};

fn fw_check(model: &str) -> (i32, String, String) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("model.toml");
    std::fs::write(&file, model).unwrap();
    mamori(&["fw", "check", &file.display().to_string()])
}

#[test]
fn a_valid_model_prints_the_ruleset_and_changes_nothing() {
    let (code, out, err) = fw_check(
        r#"
[firewall]
[[firewall.rules]]
name = "nas-from-lan"
zone = "lan"
protocol = "tcp"
ports = [445]
destination = ["192.168.1.10"]
action = "accept"
"#,
    );
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("table inet mamori {"), "{out}");
    assert!(out.contains("anti-lockout"), "{out}");
    assert!(
        out.contains("th dport { 25, 465, 587 }"),
        "SMTP enforcement by default: {out}"
    );
    assert!(out.contains("192.168.1.10"), "{out}");
    // Nothing was loaded: the checking process never touches the kernel's tables.
    if let Ok(list) = Command::new("nft").args(["list", "tables"]).output() {
        let tables = String::from_utf8_lossy(&list.stdout);
        assert!(
            !tables.contains("inet mamori"),
            "fw check applied something: {tables}"
        );
    }
}

#[test]
fn a_bad_model_is_refused_with_every_error_named() {
    let (code, out, err) = fw_check(
        r#"
[[rules]]
name = "to-dmz"
zone = "dmz"
action = "accept"

[[port_forwards]]
name = "web"
external_port = 80
internal_address = "192.168.1.20"

[[port_forwards]]
name = "web-again"
external_port = 80
internal_address = "192.168.1.21"
"#,
    );
    assert_eq!(code, 2, "{out}");
    assert!(out.is_empty(), "no ruleset for a bad model: {out}");
    assert!(err.contains("rules[0]") && err.contains("dmz"), "{err}");
    assert!(err.contains("port_forwards[1]"), "{err}");
    assert!(err.contains("nothing would be applied"), "{err}");

    let (code, _, err) =
        fw_check("[[rules]]\nname = \"x\"\nsource = [\"10.0.0.300\"]\naction = \"drop\"\n");
    assert_eq!(code, 2);
    assert!(err.contains("10.0.0.300"), "{err}");

    let (code, _, err) = fw_check("[[rules]]\nname = \"nas from lan\"\naction = \"drop\"\n");
    assert_eq!(code, 2);
    assert!(err.contains("\"nas from lan\" may hold only"), "{err}");
}

const WITH_PROBE: &str = r#"
[[sets]]
name = "blocklist"
family = "ipv4"
elements = ["192.0.2.1"]

[[rules]]
name = "probe-rule"
zone = "wan"
source_set = "blocklist"
action = "drop"
"#;

#[test]
fn firewalld_reverts_an_unconfirmed_change_keeps_a_confirmed_one_and_boots_it() {
    let Some(ns) = Netns::new("fw") else {
        return;
    };
    let mut fw = Firewalld::start(&ns);
    let table = || ns.nft(&["list", "table", "inet", "mamori"]);
    assert!(
        table().contains("anti-lockout"),
        "the configured model at start: {}",
        table()
    );
    assert!(!table().contains("probe-rule"));

    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("model.toml");
    std::fs::write(&model, WITH_PROBE).unwrap();
    let model = model.display().to_string();

    // Not confirmed: back to the previous table after the timeout.
    let (code, out, err) = fw.fw(&["apply", &model, "--timeout", "2"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(table().contains("probe-rule"), "{}", table());
    let (code, again, _) = fw.fw(&["apply", &model]);
    assert_eq!(code, 1, "one pending apply at a time: {again}");
    std::thread::sleep(std::time::Duration::from_secs(4));
    assert!(!table().contains("probe-rule"), "not reverted: {}", table());
    let (code, _, err) = fw.fw(&["confirm"]);
    assert_eq!(code, 1, "nothing to confirm after a revert");
    assert!(err.contains("no change is waiting"), "{err}");

    // Confirmed: it stays, and a set element added at run time goes into the kernel.
    let (code, out, _) = fw.fw(&["apply", &model, "--timeout", "30"]);
    assert_eq!(code, 0);
    let serial: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    let serial = serial["serial"].to_string();
    let (code, _, err) = fw.fw(&["confirm", &serial]);
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = fw.fw(&["set", "blocklist", "--add", "198.51.100.0/24"]);
    assert_eq!(code, 0, "{err}");
    let set = ns.nft(&["list", "set", "inet", "mamori", "blocklist"]);
    assert!(
        set.contains("198.51.100.0/24") && set.contains("192.0.2.1"),
        "{set}"
    );
    let (code, status, _) = fw.fw(&["status"]);
    assert_eq!(code, 0);
    assert!(
        status.contains("nothing; the running model is confirmed"),
        "{status}"
    );
    assert!(status.contains("probe-rule"), "counters per rule: {status}");

    // A restart applies the confirmed model, with the element added at run time.
    fw.stop();
    ns.nft(&["delete", "table", "inet", "mamori"]);
    let dir2 = fw.config.parent().unwrap().to_path_buf();
    let _ = std::fs::remove_file(fw.socket());
    fw.child = Firewalld::spawn(&ns, &fw.config, &dir2, None);
    fw.wait_ready();
    std::thread::sleep(std::time::Duration::from_millis(500));
    assert!(table().contains("probe-rule"), "{}", table());
    assert!(
        ns.nft(&["list", "set", "inet", "mamori", "blocklist"])
            .contains("198.51.100.0/24")
    );
}
