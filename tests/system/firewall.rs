//! `mamori fw check`: a model in, the ruleset it would load out (nothing changed); a bad
//! model refused with every error named.

use std::process::Command;

fn fw_check(model: &str) -> (i32, String, String) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("model.toml");
    std::fs::write(&file, model).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_mamori"))
        .args(["fw", "check"])
        .arg(&file)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
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
