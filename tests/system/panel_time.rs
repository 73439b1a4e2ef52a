//! The date and time page with the real path to the clock: NTP servers set in the panel
//! become a settings version, and `mamori time-apply` (run as its path unit would) writes
//! the timesyncd drop-in from the version in force; with NTP off, a clock request goes from
//! the panel through the settings service to the helper, which checks it again and — run
//! here without CAP_SYS_TIME, so that the test never moves the machine's clock — says
//! exactly why it could not set it.

use std::path::Path;
use std::process::Command;

use crate::panel_box::{PanelBox, add_user, create_admin};

const ADMIN_PW: &str = "tokei-no-hari-2026";

/// `mamori time-apply --offline` on the box's store, writing the drop-in to `dropin`,
/// through `setpriv` without CAP_SYS_TIME.
fn time_apply(b: &PanelBox, dropin: &Path) -> (i32, String) {
    let store = b.data().join("settings");
    let out = Command::new("setpriv")
        .args([
            "--inh-caps=-sys_time",
            "--bounding-set=-sys_time",
            "--",
            env!("CARGO_BIN_EXE_mamori"),
            "time-apply",
            "--offline",
            "--dir",
        ])
        .arg(&store)
        .arg("--dropin")
        .arg(dropin)
        .output()
        .expect("setpriv (util-linux)");
    (
        out.status.code().unwrap_or(-1),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

#[test]
fn panel_time_ntp_servers_reach_timesyncd_and_a_clock_request_is_checked_twice() {
    let b = PanelBox::start("");
    let admin = create_admin(&b, "tanaka", ADMIN_PW);
    let dropin_dir = tempfile::tempdir().unwrap();
    let dropin = dropin_dir.path().join("timesyncd.conf.d/50-mamori.conf");
    let page = admin.get("/system/time");
    assert_eq!(page.status, 200, "{page:?}");
    assert!(page.body.contains(r#"id="time-now""#));
    assert!(
        page.body.contains("ntp.nict.jp\nntp.jst.mfeed.ad.jp"),
        "{}",
        page.body
    );
    assert!(
        page.body
            .contains(r#"name="ntp" id="ntp-on" value="on" checked"#)
    );
    assert!(
        !page.body.contains("clock-form"),
        "no clock form while NTP is on"
    );
    let t = page.csrf();
    // A server that would write another line into the drop-in: refused, nothing saved.
    let a = admin.post(
        "/system/time/ntp",
        &[
            ("_csrf", &t),
            ("ntp", "on"),
            ("servers", "ntp.nict.jp\nFallbackNTP=evil.example"),
        ],
    );
    assert_eq!(a.status, 400, "{a:?}");
    assert!(a.body.contains(r#"id="ntp-error""#), "{}", a.body);
    let a = admin.post(
        "/system/time/ntp",
        &[("_csrf", &t), ("ntp", "on"), ("servers", "")],
    );
    assert_eq!(a.status, 400, "NTP on needs a server: {a:?}");
    // The office's own server first.
    let a = admin.post(
        "/system/time/ntp",
        &[
            ("_csrf", &t),
            ("ntp", "on"),
            ("servers", "192.168.10.1, NTP.nict.jp"),
        ],
    );
    assert_eq!(a.header("location"), Some("/system/time?done=ntp"), "{a:?}");
    let (_, servers, _) = b.settings(&["get", "time.ntp_servers"]);
    assert_eq!(servers.trim(), r#"["192.168.10.1","ntp.nict.jp"]"#);
    // The root-owned path writes the drop-in from the version in force.
    let (code, said) = time_apply(&b, &dropin);
    assert_eq!(code, 0, "{said}");
    let text = std::fs::read_to_string(&dropin).unwrap();
    assert!(
        text.contains("\n[Time]\nNTP=192.168.10.1 ntp.nict.jp\nFallbackNTP=\n"),
        "{text}"
    );
    let page = admin.get("/system/time?done=ntp");
    assert!(page.body.contains(r#"id="done""#));
    let (_, version, _) = b.settings(&["history"]);
    let version = version.split_whitespace().next().unwrap().to_string();
    assert!(
        page.body.contains(&format!("version {version}"))
            || page.body.contains(&format!("版 {version}")),
        "version {version}: {}",
        page.body
    );
    // With NTP on the clock is not set by hand: refused by the settings service.
    let now_jst = |offset: i64| {
        let out = Command::new("date")
            .args([
                "-u",
                "-d",
                &format!("@{}", now_secs() as i64 + 9 * 3600 + offset),
                "+%Y-%m-%dT%H:%M:%S",
            ])
            .output()
            .unwrap();
        String::from_utf8(out.stdout).unwrap().trim().to_string()
    };
    let a = admin.post(
        "/system/time/clock",
        &[("_csrf", &t), ("time", &now_jst(0))],
    );
    assert_eq!(a.status, 409, "{a:?}");
    assert!(a.body.contains("NTP keeps the clock"), "{}", a.body);
    // NTP off: the clock form appears; a bad or far time is refused next to the field.
    let a = admin.post(
        "/system/time/ntp",
        &[("_csrf", &t), ("servers", "ntp.nict.jp")],
    );
    assert_eq!(a.status, 303, "{a:?}");
    let (_, ntp, _) = b.settings(&["get", "time.ntp"]);
    assert_eq!(ntp.trim(), "false");
    let page = admin.get("/system/time");
    assert!(page.body.contains("clock-form"), "{}", page.body);
    for bad in ["2026-13-01T00:00", "2020-01-01T00:00", "yesterday"] {
        let a = admin.post("/system/time/clock", &[("_csrf", &t), ("time", bad)]);
        assert_eq!(a.status, 400, "{bad}: {a:?}");
        assert!(a.body.contains(r#"id="clock-error""#));
    }
    // The time now (so that nothing would move even if the clock could be set): asked for,
    // and the request waits in the store for the root-owned helper.
    let a = admin.post(
        "/system/time/clock",
        &[("_csrf", &t), ("time", &now_jst(0))],
    );
    assert_eq!(
        a.header("location"),
        Some("/system/time?done=clock"),
        "{a:?}"
    );
    let request = b.data().join("settings/time/clock-request.json");
    let asked: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&request).unwrap()).unwrap();
    assert!(asked["by"].as_str().unwrap().contains("tanaka"), "{asked}");
    // The helper takes it once; without CAP_SYS_TIME it says so, and the page shows it.
    let (code, said) = time_apply(&b, &dropin);
    assert_eq!(code, 1, "{said}");
    assert!(said.contains("CAP_SYS_TIME"), "{said}");
    assert!(!request.exists(), "each request is tried once");
    let page = admin.get("/system/time");
    let last = page
        .body
        .split(r#"id="time-last-request">"#)
        .nth(1)
        .unwrap_or_default();
    assert!(last.contains("CAP_SYS_TIME"), "{}", page.body);
    // Run again: no request, nothing to say about the clock.
    let (code, said) = time_apply(&b, &dropin);
    assert_eq!(code, 0, "{said}");
    // Both the panel and the settings service recorded the request, naming the person.
    let audit = admin.get("/system/audit");
    assert!(audit.body.contains("panel_set_clock"), "{}", audit.body);
    let service_chain =
        std::fs::read_to_string(b.data().join("settings/audit/settingsd/audit.jsonl")).unwrap();
    let asked: Vec<&str> = service_chain
        .lines()
        .filter(|l| l.contains(r#""op":"set_clock""#))
        .collect();
    assert_eq!(
        asked.len(),
        2,
        "the refused request and the taken one: {service_chain}"
    );
    assert!(asked.iter().all(|l| l.contains("tanaka")), "{asked:?}");
    // An auditor reads the page but changes nothing.
    let kato = add_user(&b, &admin, "kato", "auditor", "shiroi-kumo-no-ue");
    let page = kato.get("/system/time");
    assert_eq!(page.status, 200);
    assert!(!page.body.contains("ntp-form"));
    let tk = page.csrf();
    assert_eq!(
        kato.post(
            "/system/time/ntp",
            &[("_csrf", &tk), ("ntp", "on"), ("servers", "x.jp")]
        )
        .status,
        403
    );
    assert_eq!(
        kato.post(
            "/system/time/clock",
            &[("_csrf", &tk), ("time", &now_jst(0))]
        )
        .status,
        403
    );
}

fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}
