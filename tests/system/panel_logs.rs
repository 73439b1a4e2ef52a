//! The log page against a real journal: entries written into journal files by systemd's own
//! `systemd-journal-remote` (from the journal export format), read by the panel through
//! `journalctl --directory`, filtered by service, level and text — and nothing of other
//! units shown.

use std::path::Path;
use std::process::Command;

use crate::panel_box::{PanelBox, add_user, create_admin};

const ADMIN_PW: &str = "yuugure-no-kane-2026";

/// One export-format entry of `unit` at `priority`, `offset_s` seconds ago.
fn entry(unit: &str, priority: u8, message: &str, extra: &str, offset_s: u64, n: u64) -> String {
    let now_us = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_micros() as u64;
    format!(
        "__REALTIME_TIMESTAMP={}\n__MONOTONIC_TIMESTAMP={}\n_BOOT_ID=0123456789abcdef0123456789abcdef\n_HOSTNAME=mamori\n_SYSTEMD_UNIT={unit}\nPRIORITY={priority}\nSYSLOG_IDENTIFIER=mamori\nMESSAGE={message}\n{extra}\n",
        now_us - offset_s * 1_000_000,
        1000 + n
    )
}

/// Writes the entries as a journal file in `dir` with systemd-journal-remote.
fn journal(dir: &Path, entries: &[String]) {
    let export = dir.join("in.export");
    std::fs::write(&export, entries.concat()).unwrap();
    let tool = [
        "/lib/systemd/systemd-journal-remote",
        "/usr/lib/systemd/systemd-journal-remote",
    ]
    .into_iter()
    .find(|p| Path::new(p).exists())
    .expect("systemd-journal-remote is not installed: run ci/install-deps.sh");
    let out = Command::new(tool)
        .arg(format!(
            "--output={}",
            dir.join("journal/remote.journal").display()
        ))
        .arg("--split-mode=none")
        .arg(&export)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
}

fn rows(body: &str) -> usize {
    body.matches("<tr class=\"level-").count()
}

#[test]
fn panel_logs_read_the_journal_of_the_mamori_units_only() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("journal")).unwrap();
    journal(
        dir.path(),
        &[
            entry(
                "mamori-smtpd.service",
                4,
                "delivery deferred",
                "F_QUEUE_ID=A1B2C3\nF_ERROR=421 4.7.0 try later\n",
                50,
                1,
            ),
            entry(
                "mamori-firewalld.service",
                6,
                "firewall model applied",
                "",
                40,
                2,
            ),
            entry(
                "mamori-settingsd.service",
                7,
                "debug detail of settingsd",
                "",
                30,
                3,
            ),
            entry(
                "mamori-admind.service",
                3,
                "the audit log cannot be written",
                "",
                20,
                4,
            ),
            entry(
                "mamori-smtpd.service",
                6,
                "<script>alert(1)</script> from a peer's greeting",
                "",
                10,
                5,
            ),
            entry(
                "ssh.service",
                6,
                "Accepted password for root from 192.0.2.1",
                "",
                5,
                6,
            ),
            entry(
                "mamori-updated.service",
                5,
                "update 0.2.0 kept after its health window",
                "",
                60,
                7,
            ),
        ],
    );
    let b = PanelBox::start(&format!(
        "journal_dir = \"{}\"\n",
        dir.path().join("journal").display()
    ));
    let admin = create_admin(&b, "tanaka", ADMIN_PW);
    let page = admin.get("/system/logs");
    assert_eq!(page.status, 200, "{page:?}");
    let body = &page.body;
    assert!(!body.contains(r#"id="logs-error""#), "{body}");
    assert!(
        body.contains("delivery deferred error=421 4.7.0 try later queue_id=A1B2C3"),
        "{body}"
    );
    assert!(body.contains("firewall model applied"));
    assert!(body.contains("the audit log cannot be written"));
    assert!(
        body.contains("&#60;script&#62;alert(1)&#60;/script&#62;")
            && !body.contains("<script>alert"),
        "escaped: {body}"
    );
    assert!(
        !body.contains("Accepted password"),
        "another unit's entry: {body}"
    );
    assert!(!body.contains("debug detail"), "debug is hidden by default");
    assert!(body.contains("update 0.2.0 kept after its health window"));
    assert_eq!(rows(body), 5, "{body}");
    // Newest first.
    let (script, deferred) = (
        body.find("&#60;script").unwrap(),
        body.find("delivery deferred").unwrap(),
    );
    assert!(script < deferred);
    // One service; errors only; details; text.
    let smtpd = admin.get("/system/logs?service=smtpd");
    assert_eq!(rows(&smtpd.body), 2, "{}", smtpd.body);
    assert!(smtpd.body.contains(r#"<option value="smtpd" selected>"#));
    let errors = admin.get("/system/logs?level=error");
    assert_eq!(rows(&errors.body), 1, "{}", errors.body);
    assert!(errors.body.contains("the audit log cannot be written"));
    let debug = admin.get("/system/logs?level=debug");
    assert_eq!(rows(&debug.body), 6, "{}", debug.body);
    // Every Mamori unit is offered, the update daemon's too.
    let updated = admin.get("/system/logs?service=updated");
    assert_eq!(rows(&updated.body), 1, "{}", updated.body);
    for name in ["linkd", "updated", "time"] {
        assert!(
            updated.body.contains(&format!(r#"<option value="{name}""#)),
            "{name}: {}",
            updated.body
        );
    }
    let text = admin.get("/system/logs?q=QUEUE_ID%3Da1b2");
    assert_eq!(rows(&text.body), 1, "{}", text.body);
    let none = admin.get("/system/logs?q=no+such+text");
    assert_eq!(rows(&none.body), 0);
    assert!(none.body.contains(r#"id="logs-shown""#));
    // Whatever else is asked reaches journalctl only as a known unit and level.
    let odd = admin.get("/system/logs?service=--directory%3D%2Fetc&level=-p7%3Brm&q=%00%01");
    assert_eq!(odd.status, 200);
    assert_eq!(rows(&odd.body), 5, "{}", odd.body);
    // An auditor reads it; nobody logged in does not.
    let kato = add_user(&b, &admin, "kato", "auditor", "shiroi-kumo-no-ue");
    assert_eq!(rows(&kato.get("/system/logs").body), 5);
    let anonymous = b.client().get("/system/logs");
    assert!(
        anonymous.status == 303 || anonymous.status == 401,
        "{anonymous:?}"
    );
    assert!(!anonymous.body.contains("delivery deferred"));
}
