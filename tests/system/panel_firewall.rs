//! The panel's firewall page with real packets: `mamori firewalld` in the gateway of three
//! network namespaces, the settings service on its store, and `mamori admind` on both
//! sockets, as the installed units run them. A rule added in the panel is in force on
//! probation at once; confirmed, it stays; a removal left unconfirmed goes back by itself.

use std::time::Duration;

use crate::common::{mamori, wait_for};
use crate::firewall_packets::{
    FAIL_WAIT, GW_WAN, OK_WAIT, Outcome, Server, Topology, WAN_HOST, ZONES, tcp,
};
use crate::netns::Firewalld;
use crate::panel_box::{PanelBox, create_admin, login};

const ADMIN_PW: &str = "hanabi-to-yukata-2026";

/// The settings service on `store`, its socket in a directory of its own.
struct Settingsd {
    child: std::process::Child,
    dir: tempfile::TempDir,
}

impl Settingsd {
    fn start(store: &std::path::Path) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("settingsd.toml");
        std::fs::write(
            &config,
            format!("[general]\ndata_dir = \"{}\"\n", dir.path().display()),
        )
        .unwrap();
        let log = std::fs::File::create(dir.path().join("log")).unwrap();
        let child = std::process::Command::new(env!("CARGO_BIN_EXE_mamori"))
            .args(["settingsd", "--dir"])
            .arg(store)
            .arg("--config")
            .arg(&config)
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("start mamori settingsd");
        let socket = dir.path().join("settingsd.sock");
        assert!(
            wait_for(Duration::from_secs(20), || socket.exists()),
            "settingsd did not start: {}",
            std::fs::read_to_string(dir.path().join("log")).unwrap_or_default()
        );
        Self { child, dir }
    }
}

impl Drop for Settingsd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `mamori admind` alone with `extra` in its `[admin]`, on a settings service over `fw`'s
/// store and on `fw`'s socket, in the daemons' run directories as the units have them.
pub(crate) struct FirewallPanel {
    pub(crate) panel: PanelBox,
    _settingsd: Settingsd,
    _run: tempfile::TempDir,
}

impl FirewallPanel {
    pub(crate) fn start(fw: &Firewalld, extra: &str) -> Self {
        let settingsd = Settingsd::start(fw.settings.as_ref().expect("firewalld on a store"));
        let run = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink(settingsd.dir.path(), run.path().join("settingsd")).unwrap();
        std::os::unix::fs::symlink(
            fw.config.parent().unwrap().join("data"),
            run.path().join("firewalld"),
        )
        .unwrap();
        Self {
            panel: PanelBox::admind_only(run.path(), extra),
            _settingsd: settingsd,
            _run: run,
        }
    }
}

#[test]
fn a_rule_added_in_the_panel_is_confirmed_and_a_removal_left_alone_goes_back() {
    let Some(t) = Topology::new("pnlfw") else {
        return;
    };
    let fw = Firewalld::start_with_settings(&t.gw, ZONES);
    let _wan = Server::start(&t.wan, "wan", &["tcp:8080"]);
    let store = fw.settings.clone().unwrap();
    let panel = FirewallPanel::start(&fw, "firewall_confirm_secs = 10\n");
    let b = &panel.panel;
    let admin = create_admin(b, "tanaka", ADMIN_PW);
    let page = admin.get("/firewall");
    assert_eq!(page.status, 200, "{page:?}\n{}", b.log());
    assert!(!page.body.contains(r#"id="error""#), "{}", page.body);
    assert!(
        page.body.contains("eth1") && page.body.contains("eth0"),
        "{}",
        page.body
    );
    let csrf = page.csrf();
    let wan_sees_gw = format!("wan {GW_WAN}");
    t.assert_answer(
        "LAN → WAN:8080 before",
        tcp(&t.lan, WAN_HOST, 8080, OK_WAIT),
        &wan_sees_gw,
    );

    // A bad rule is refused next to the form, nothing applied.
    let rule = |name: &str, ports: &str| {
        admin.post(
            "/firewall/rule",
            &[
                ("_csrf", &csrf),
                ("name", name),
                ("direction", "forward"),
                ("zone", "lan"),
                ("dest_zone", "wan"),
                ("protocol", "tcp"),
                ("ports", ports),
                ("source", ""),
                ("action", "reject"),
            ],
        )
    };
    let a = rule("no-8080-out", "80800");
    assert_eq!(a.status, 400);
    assert!(a.body.contains(r#"id="rule-error""#), "{}", a.body);
    // The rule: on probation at once, the confirmation page counting down.
    let a = rule("no-8080-out", "8080");
    assert_eq!(
        a.header("location"),
        Some("/firewall/pending"),
        "{a:?}\n{}",
        b.log()
    );
    let pending = admin.get("/firewall/pending");
    assert!(
        pending.body.contains(r#"id="countdown""#),
        "{}",
        pending.body
    );
    assert!(
        pending
            .body
            .contains(r#"<script src="/static/countdown.js"></script>"#)
    );
    t.assert_refused(
        "LAN → WAN:8080 on probation",
        tcp(&t.lan, WAN_HOST, 8080, OK_WAIT),
    );
    let serial = pending
        .body
        .split(r#"name="serial" value=""#)
        .nth(1)
        .and_then(|r| r.split('"').next())
        .unwrap()
        .to_string();
    let a = admin.post(
        "/firewall/confirm",
        &[("_csrf", &csrf), ("serial", &serial)],
    );
    assert_eq!(
        a.header("location"),
        Some("/firewall?done=confirmed"),
        "{a:?}"
    );
    // Past the probation it stays.
    std::thread::sleep(Duration::from_secs(12));
    t.assert_refused(
        "LAN → WAN:8080 confirmed",
        tcp(&t.lan, WAN_HOST, 8080, OK_WAIT),
    );
    let page = admin.get("/firewall");
    assert!(
        page.body.contains(r#"id="rule-no-8080-out""#),
        "{}",
        page.body
    );
    assert!(
        admin
            .get("/firewall/pending")
            .body
            .contains(r#"id="no-pending""#)
    );

    // The removal, left unconfirmed (the browser went away): it goes back by itself.
    let a = admin.post(
        "/firewall/change",
        &[
            ("_csrf", &csrf),
            ("what", "rule"),
            ("name", "no-8080-out"),
            ("change", "remove"),
        ],
    );
    assert_eq!(a.header("location"), Some("/firewall/pending"), "{a:?}");
    t.assert_answer(
        "LAN → WAN:8080 with the rule removed on probation",
        tcp(&t.lan, WAN_HOST, 8080, OK_WAIT),
        &wan_sees_gw,
    );
    let back = wait_for(Duration::from_secs(25), || {
        tcp(&t.lan, WAN_HOST, 8080, FAIL_WAIT).outcome != Outcome::Answer(wan_sees_gw.clone())
    });
    assert!(back, "not reverted\n{}", t.table());
    t.assert_refused(
        "LAN → WAN:8080 after the revert",
        tcp(&t.lan, WAN_HOST, 8080, OK_WAIT),
    );
    // The revert is a settings version of its own; the page shows the rule again.
    assert!(
        wait_for(Duration::from_secs(10), || admin
            .get("/firewall")
            .body
            .contains(r#"id="rule-no-8080-out""#)),
        "{}",
        admin.get("/firewall").body
    );
    let (_, history, _) = mamori(&["settings", "--dir", store.to_str().unwrap(), "history"]);
    assert!(history.contains("was not confirmed in time"), "{history}");
    // Other roles: no firewall page, but the LAN devices.
    let t2 = admin.get("/system/users").csrf();
    let a = admin.post(
        "/system/users/add",
        &[
            ("_csrf", &t2),
            ("name", "suzuki"),
            ("role", "auditor"),
            ("password", "mori-no-kage-fumi"),
            ("password_again", "mori-no-kage-fumi"),
        ],
    );
    assert_eq!(a.status, 303);
    let (suzuki, _) = login(b, "suzuki", "mori-no-kage-fumi");
    assert_eq!(suzuki.get("/firewall").status, 403);
    let devices = suzuki.get("/firewall/devices");
    assert_eq!(devices.status, 200);
    assert!(!devices.body.contains(r#"id="error""#), "{}", devices.body);
    let audit = std::fs::read_to_string(b.data().join("admind/audit/admind/audit.jsonl")).unwrap();
    for event in [
        "panel_firewall_rule_added",
        "panel_firewall_confirmed",
        "panel_firewall_rule_removed",
    ] {
        assert!(audit.contains(event), "{event}: {audit}");
    }
}
