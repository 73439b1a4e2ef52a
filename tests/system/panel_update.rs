//! System → Update in the panel, against the real update daemon of `mamori run` (simulated
//! A/B slots in files): an offline update file made by `mamori repo` is uploaded, verified
//! and written to slot B while the page shows its progress; auditors read the page but have
//! no form and their requests are refused; the settings are checked field by field; a
//! rollback recorded by the daemon stands out at the top of the page.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::common::wait_for;
use crate::panel_box::{PanelBox, add_user, create_admin};

const ADMIN_PW: &str = "koushin-suru-hi-2026";

/// A repository with one bundle for the try-out's board (`dev`) and an offline file of it.
fn offline_file(dir: &Path, version: &str) -> (PathBuf, PathBuf, Vec<u8>) {
    let repo = dir.join("repo");
    let run = |args: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_mamori"))
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    run(&["repo", "init", repo.to_str().unwrap()]);
    let image: Vec<u8> = (0..1_500_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
        .collect();
    let img = dir.join("rootfs.img");
    std::fs::write(&img, &image).unwrap();
    let spec = format!("rootfs={}", img.display());
    run(&[
        "repo",
        "add-target",
        repo.to_str().unwrap(),
        "--board",
        "dev",
        "--version",
        version,
        "--min-version",
        "0.1",
        "--image",
        &spec,
        "--notes-ja",
        "テスト用の更新",
        "--notes-en",
        "a test update",
    ]);
    run(&["repo", "publish", repo.to_str().unwrap()]);
    let file = dir.join("update.mamori-update");
    let name = format!("mamori-dev-{version}.bundle");
    run(&[
        "repo",
        "export",
        repo.to_str().unwrap(),
        "--target",
        &name,
        "--out",
        file.to_str().unwrap(),
    ]);
    (repo.join("repository/metadata/1.root.json"), file, image)
}

#[test]
fn panel_update_an_uploaded_file_is_verified_written_and_waits_for_the_restart() {
    let work = tempfile::tempdir().unwrap();
    let (root, file, image) = offline_file(work.path(), "0.2.0");
    let b = PanelBox::start_with(
        "[update]\nhealth_window = \"10s\"\nhealth_deadline = \"20s\"\n",
        |data| {
            std::fs::copy(&root, data.join("update-root.json")).unwrap();
        },
    );
    let admin = create_admin(&b, "suzuki", ADMIN_PW);
    let page = admin.get("/system/update");
    assert_eq!(page.status, 200, "{page:?}");
    assert!(
        page.body.contains(r#"id="update-version">0.1.0<"#),
        "{}",
        page.body
    );
    assert!(
        page.body.contains(r#"id="update-slot">A<"#),
        "{}",
        page.body
    );
    assert!(page.body.contains(r#"id="update-none""#), "{}", page.body);
    // The clock line says how expiry is judged.
    assert!(page.body.contains(r#"id="update-clock""#));
    let t = page.csrf();

    // No file chosen: a message next to the field, nothing asked of the daemon.
    let a = admin.post_multipart("/system/update/upload", &[("_csrf", &t)], &[]);
    assert_eq!(a.status, 400, "{a:?}");
    assert!(a.body.contains(r#"id="upload-error""#), "{}", a.body);

    // A file that is not an update file: refused by the daemon with its reason.
    let junk = work.path().join("junk.mamori-update");
    std::fs::write(&junk, b"not a tar archive at all").unwrap();
    let a = admin.post_multipart(
        "/system/update/upload",
        &[("_csrf", &t)],
        &[("file", &junk)],
    );
    assert_eq!(a.status, 303, "{a:?}");
    let shown = wait_for(Duration::from_secs(20), || {
        admin
            .get("/system/update")
            .body
            .contains(r#"id="update-last-error""#)
    });
    assert!(shown, "{}", admin.get("/system/update").body);

    // The real file: started at once, then written and waiting for the restart.
    let a = admin.post_multipart(
        "/system/update/upload",
        &[("_csrf", &t), ("reboot", "")],
        &[("file", &file)],
    );
    assert_eq!(a.status, 303, "{a:?}");
    assert_eq!(a.header("location"), Some("/system/update?done=install"));
    let done = wait_for(Duration::from_secs(30), || {
        admin
            .get("/system/update")
            .body
            .contains(r#"id="update-reboot-pending""#)
    });
    let page = admin.get("/system/update");
    assert!(done, "{}", page.body);
    assert!(page.body.contains("installed"), "{}", page.body);
    // The uploaded file is gone once the attempt is over (no copy left on the data
    // partition), the junk one too.
    let left: Vec<_> = std::fs::read_dir(b.data().join("update-uploads"))
        .unwrap()
        .collect();
    assert!(left.is_empty(), "{left:?}");
    let slot_b = std::fs::read(b.data().join("update-sim/slotB.img")).unwrap();
    assert_eq!(&slot_b[..image.len()], &image[..], "slot B holds the image");
    let env = std::fs::read_to_string(b.data().join("update-sim/bootenv")).unwrap();
    assert!(
        env.contains("BOOT_ORDER=B A") && env.contains("BOOT_B_LEFT=1"),
        "{env}"
    );
    // The panel's audit chain names the person before the daemon acted.
    let panel_audit =
        std::fs::read_to_string(b.data().join("admind/audit/admind/audit.jsonl")).unwrap();
    assert!(
        panel_audit.contains("panel_update_upload") && panel_audit.contains("suzuki"),
        "{panel_audit}"
    );

    // The administrator restarts into it: audited by the panel, then the daemon restarts
    // (on the simulated box, it writes the request the test would act on).
    let page = admin.get("/system/update");
    assert!(page.body.contains(r#"id="reboot-form""#), "{}", page.body);
    let a = admin.post("/system/update/reboot", &[("_csrf", &page.csrf())]);
    assert_eq!(a.status, 303, "{a:?}");
    assert_eq!(a.header("location"), Some("/system/update?done=reboot"));
    assert!(b.data().join("update-sim/reboot").exists());
    let panel_audit =
        std::fs::read_to_string(b.data().join("admind/audit/admind/audit.jsonl")).unwrap();
    assert!(panel_audit.contains("panel_update_reboot"), "{panel_audit}");

    // An auditor reads the page, has no form, and is refused the actions.
    let auditor = add_user(&b, &admin, "kansa", "auditor", "mienai-kagami-2026-z");
    let page = auditor.get("/system/update");
    assert_eq!(page.status, 200);
    for form in [
        "install-form",
        "upload-form",
        "update-settings",
        "check-form",
        "reboot-form",
    ] {
        assert!(!page.body.contains(form), "{form} shown to an auditor");
    }
    let a = auditor.post("/system/update/check", &[("_csrf", &page.csrf())]);
    assert_eq!(a.status, 403, "{a:?}");
    let a = auditor.post("/system/update/reboot", &[("_csrf", &page.csrf())]);
    assert_eq!(a.status, 403, "{a:?}");
}

#[test]
fn panel_update_settings_are_checked_and_a_rollback_stands_out_and_is_mailed() {
    let sink = crate::common::Sink::start();
    let extra = format!(
        "watchdog_secs = 1\n\n[[smtp.delivery.routes]]\ndomain = \"sink.test\"\nhost = \"127.0.0.1\"\nport = {}\n",
        sink.port
    );
    let b = PanelBox::start_with(&extra, |data| {
        std::fs::create_dir_all(data.join("update")).unwrap();
        let state = serde_json::json!({
            "format": 1,
            "slots": {
                "A": {"status": "good", "version": "0.1.0", "since": 1_796_515_200u64},
                "B": {"status": "bad", "version": "0.3.0", "since": 1_796_515_300u64},
            },
            "history": [
                {"time": 1_796_515_100u64, "event": "installed", "slot": "B", "version": "0.3.0", "detail": "x"},
                {"time": 1_796_515_300u64, "event": "rolled_back", "slot": "B", "version": "0.3.0",
                 "detail": "the new firmware did not prove itself healthy"},
            ],
            "last_known_time": 0,
        });
        std::fs::write(data.join("update/state.json"), state.to_string()).unwrap();
    });
    let admin = create_admin(&b, "sato", ADMIN_PW);
    let page = admin.get("/system/update");
    assert_eq!(page.status, 200);
    assert!(page.body.contains(r#"id="update-failed""#), "{}", page.body);
    assert!(page.body.contains("0.3.0"), "{}", page.body);
    // The watchdog mails the administrators once about the rollback.
    let t = admin.get("/system/metrics").csrf();
    let a = admin.post(
        "/system/metrics/alerts",
        &[
            ("_csrf", &t),
            ("action", "save"),
            ("addresses", "boss@sink.test"),
        ],
    );
    assert!(a.body.contains(r#"id="alert-done""#), "{}", a.body);
    let rollbacks = || {
        sink.messages()
            .iter()
            .filter(|(m, _)| {
                crate::panel_system::subject(m).contains("0.3.0 failed and was rolled back")
            })
            .count()
    };
    assert!(
        wait_for(Duration::from_secs(20), || rollbacks() == 1),
        "{} rollback mails; {}",
        rollbacks(),
        b.log()
    );
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(rollbacks(), 1, "mailed once, not at every look");
    let t = page.csrf();
    let a = admin.post(
        "/system/update/settings",
        &[
            ("_csrf", &t),
            ("mode", "auto"),
            ("window", "25:00-03:00"),
            ("repository", ""),
        ],
    );
    assert_eq!(a.status, 400, "{a:?}");
    assert!(
        a.body.contains(r#"id="update-settings-error""#),
        "{}",
        a.body
    );
    let a = admin.post(
        "/system/update/settings",
        &[
            ("_csrf", &t),
            ("mode", "auto"),
            ("window", "01:00-04:00"),
            ("repository", "http://plain.example/"),
        ],
    );
    assert_eq!(a.status, 400, "{a:?}");
    let a = admin.post(
        "/system/update/settings",
        &[
            ("_csrf", &t),
            ("mode", "auto"),
            ("window", "23:30-04:00"),
            ("repository", "https://updates.example.jp/mamori/"),
            ("allow_downgrade", "on"),
        ],
    );
    assert_eq!(a.status, 303, "{a:?}");
    let page = admin.get("/system/update");
    assert!(
        page.body.contains(r#"value="auto" id="mode-auto" checked"#),
        "{}",
        page.body
    );
    assert!(
        page.body.contains(r#"value="23:30-04:00""#),
        "{}",
        page.body
    );
    assert!(
        page.body
            .contains(r#"id="allow-downgrade" value="on" checked"#),
        "{}",
        page.body
    );
    // The update daemon took the version at once.
    let (code, status, err) = crate::common::mamori(&[
        "update",
        "--socket",
        b.data().join("updated.sock").to_str().unwrap(),
        "--json",
        "status",
    ]);
    assert_eq!(code, 0, "{err}");
    let status: serde_json::Value = serde_json::from_str(&status).unwrap();
    assert_eq!(status["mode"], "auto", "{status}");
    assert_eq!(status["window"], "23:30-04:00", "{status}");
    assert_eq!(
        status["repository"], "https://updates.example.jp/mamori/",
        "{status}"
    );
    let (code, settings, _) = b.settings(&["get", "update.allow_downgrade"]);
    assert_eq!((code, settings.trim()), (0, "true"), "{settings}");
    let audit = std::fs::read_to_string(b.data().join("admind/audit/admind/audit.jsonl")).unwrap();
    assert!(
        audit.contains("panel_update_settings") && audit.contains("downgrade allowed"),
        "{audit}"
    );
}
