//! Validation as data with the real binary: `check-config` lists every error and warning
//! at once and exits 2; a daemon is stopped only by errors in the sections it uses.

use crate::common::{Mamori, mamori};

#[test]
fn check_config_lists_every_error_and_warning_and_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("mamori.toml");
    std::fs::write(
        &file,
        r#"
[smtp]
max_line_length = 10
max_errors = 0
local_domains = ["office.test"]

[dlp.scan.phone]
enabeld = false

[[firewall.rules]]
name = "nas"
zone = "dmz"
action = "accept"
"#,
    )
    .unwrap();
    let (code, out, err) = mamori(&["check-config", file.to_str().unwrap()]);
    assert_eq!(code, 2, "{out}{err}");
    assert!(
        out.is_empty(),
        "nothing printed as the effective configuration: {out}"
    );
    for needle in [
        "error: smtp.max_line_length = 10: must be between 78 and 65536",
        "error: smtp.max_errors = 0: must be at least 1",
        "error: dlp.scan.phone.enabeld",
        "error: firewall.rules[0].zone",
        "warning: smtp.local_domains",
        "4 error(s), ",
    ] {
        assert!(err.contains(needle), "{needle:?} missing from:\n{err}");
    }

    std::fs::write(&file, "[general]\nhostname = \"gw.example.jp\"\n").unwrap();
    let (code, out, err) = mamori(&["check-config", file.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    let effective: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(effective["general"]["hostname"], "gw.example.jp");
}

#[test]
fn the_relay_starts_despite_a_firewall_mistake_and_logs_it() {
    // The firewall model names a zone that does not exist: firewalld would refuse it, but
    // smtpd does not use that section.
    let m = Mamori::start(
        0,
        None,
        "[[firewall.rules]]\nname = \"nas\"\nzone = \"dmz\"\naction = \"accept\"\n",
    );
    let log = m.log();
    assert!(
        log.contains("firewall.rules[0].zone") && log.contains("does not use"),
        "the mistake is logged as a warning:\n{log}"
    );
}

#[test]
fn the_relay_refuses_to_start_on_its_own_mistakes_naming_each() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("mamori.toml");
    std::fs::write(
        &file,
        format!(
            "[general]\ndata_dir = \"{}\"\n[smtp]\nmax_errors = 0\nmax_commands = 0\n",
            dir.path().join("data").display()
        ),
    )
    .unwrap();
    let (code, _, err) = mamori(&["smtpd", "--config", file.to_str().unwrap()]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("smtp.max_errors = 0") && err.contains("smtp.max_commands = 0"),
        "{err}"
    );
}
