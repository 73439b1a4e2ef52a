//! `mamori settings` with the real binary: every change checked whole before anything is
//! written, numbered versions with who and what, diff, rollback as a new version, the
//! configuration file only seeding, a newer format refused, every change audited under
//! the caller's user name.

use crate::common::*;

fn settings(dir: &std::path::Path, args: &[&str]) -> (i32, String, String) {
    let dir = dir.display().to_string();
    let mut all = vec!["settings", "--dir", dir.as_str()];
    all.extend_from_slice(args);
    mamori(&all)
}

#[test]
fn settings_change_in_checked_versions_with_history_diff_and_rollback() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("settings");
    let (code, out, err) = settings(
        &dir,
        &[
            "set",
            "smtp.max_recipients=500",
            r#"smtp.office_domains=["office.example.jp"]"#,
            "--why",
            "the school's notice",
        ],
    );
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("settings version 1 is in force"), "{out}");

    // Mistakes in three sections: all reported, exit 2, nothing written.
    let (code, _, err) = settings(
        &dir,
        &[
            "set",
            "smtp.max_line_length=10",
            r#"log.level="[{f=""#,
            "dlp.scan.custom.rules=[{name = \"x\", kind = \"regex\", pattern = \"(\"}]",
        ],
    );
    assert_eq!(code, 2, "{err}");
    for key in ["smtp.max_line_length", "log.level", "dlp.scan.custom.rules"] {
        assert!(
            err.contains(&format!("error: {key}")),
            "{key} missing: {err}"
        );
    }
    assert!(
        err.contains("refused, nothing changed (3 error(s))"),
        "{err}"
    );
    let (_, history, _) = settings(&dir, &["history"]);
    assert_eq!(history.lines().count(), 1, "{history}");

    let (code, out, _) = settings(&dir, &["get", "smtp.max_recipients"]);
    assert_eq!((code, out.trim()), (0, "500"));
    let (code, _, err) = settings(&dir, &["set", "smtp.max_recipients=600"]);
    assert_eq!(code, 0, "{err}");
    let (_, out, _) = settings(&dir, &["diff"]);
    assert_eq!(out.trim(), "smtp.max_recipients: 500 → 600");
    let (code, out, err) = settings(&dir, &["rollback", "1"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("settings version 3"), "{out}");
    let (_, out, _) = settings(&dir, &["get", "smtp.max_recipients"]);
    assert_eq!(out.trim(), "500");
    let (_, history, _) = settings(&dir, &["history"]);
    let me = whoami();
    let newest = history.lines().next().unwrap();
    assert!(
        newest.contains("rollback to version 1") && newest.contains(&me),
        "{history}"
    );
    assert!(history.contains("the school's notice"), "{history}");

    // The configuration file only seeds an empty store; later, its differences are reported.
    let file = tmp.path().join("mamori.toml");
    std::fs::write(&file, "[smtp]\nmax_recipients = 700\n").unwrap();
    let (code, out, err) = settings(&dir, &["seed", file.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    assert!(!out.contains("seeded"), "{out}");
    assert!(
        out.contains("smtp.max_recipients: 500 → 700") && out.contains("not applied"),
        "{out}"
    );
    let (_, out, _) = settings(&dir, &["get", "smtp.max_recipients"]);
    assert_eq!(out.trim(), "500");
    let fresh = tmp.path().join("fresh");
    let (_, out, _) = settings(&fresh, &["seed", file.to_str().unwrap()]);
    assert!(out.contains("settings version 1 seeded"), "{out}");

    // Every change was audited under the caller's name; the chains verify.
    let audit = std::fs::read_to_string(dir.join("audit/settings/audit.jsonl")).unwrap();
    assert_eq!(audit.lines().count(), 3, "{audit}");
    assert!(audit.contains(&format!("\"by\":\"{me}\"")), "{audit}");
    let (code, out, err) = mamori(&["audit-verify", "--dir", dir.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("intact: 3 record(s)"), "{out}");

    // A version written by a newer firmware is refused with a clear message, not misread.
    std::fs::write(dir.join("v00000004.json"), r#"{"format": 9, "version": 4}"#).unwrap();
    let (code, _, err) = settings(&dir, &["get"]);
    assert_ne!(code, 0);
    assert!(err.contains("newer than this firmware"), "{err}");
}

#[test]
fn export_then_import_on_a_fresh_store_gives_the_same_settings_and_secrets_stay_sealed() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("settings");
    let hash = hash_password("kagi-no-aikotoba");
    let (code, _, err) = settings(
        &dir,
        &[
            "set",
            r#"smtp.office_domains=["office.example.jp"]"#,
            &format!(
                r#"smtp.accounts=[{{username = "taro", password_hash = "{hash}", senders = ["taro@office.example.jp"]}}]"#
            ),
        ],
    );
    assert_eq!(code, 0, "{err}");
    let passphrase = tmp.path().join("pass");
    std::fs::write(&passphrase, "a long enough passphrase\n").unwrap();
    let sealed = tmp.path().join("backup.json");
    let (code, out, err) = settings(
        &dir,
        &[
            "export",
            sealed.to_str().unwrap(),
            "--passphrase-file",
            passphrase.to_str().unwrap(),
        ],
    );
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("sealed"), "{out}");
    let text = std::fs::read_to_string(&sealed).unwrap();
    assert!(
        !text.contains("$argon2id"),
        "a password hash in clear: {text}"
    );
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&sealed).unwrap().permissions().mode() & 0o777,
        0o600
    );

    // A fresh store: the same settings, secrets included.
    let fresh = tmp.path().join("fresh");
    let (code, _, err) = settings(
        &fresh,
        &[
            "import",
            sealed.to_str().unwrap(),
            "--passphrase-file",
            passphrase.to_str().unwrap(),
        ],
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(settings(&dir, &["get"]).1, settings(&fresh, &["get"]).1);
    let (_, got, _) = settings(&fresh, &["get", "smtp.accounts[0].password_hash"]);
    assert_eq!(got.trim(), format!("{hash:?}"));

    // A wrong passphrase, or a backup without secrets into a store without that account:
    // refused, nothing changed.
    std::fs::write(&passphrase, "not the passphrase at all\n").unwrap();
    let other = tmp.path().join("other");
    let (code, _, err) = settings(
        &other,
        &[
            "import",
            sealed.to_str().unwrap(),
            "--passphrase-file",
            passphrase.to_str().unwrap(),
        ],
    );
    assert_eq!(code, 2);
    assert!(
        err.contains("wrong passphrase") && err.contains("nothing changed"),
        "{err}"
    );
    let plain = tmp.path().join("plain.json");
    let (code, out, err) = settings(&dir, &["export", plain.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("without account passwords"), "{out}");
    assert!(
        !std::fs::read_to_string(&plain)
            .unwrap()
            .contains("password_hash")
    );
    let (code, _, err) = settings(&other, &["import", plain.to_str().unwrap()]);
    assert_eq!(code, 2);
    assert!(err.contains("\"taro\" has no password"), "{err}");
    let (_, history, _) = settings(&other, &["history"]);
    assert!(history.contains("no settings versions yet"), "{history}");
    // Into the store it came from, the current password is kept.
    let (code, _, err) = settings(&dir, &["import", plain.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    let (_, got, _) = settings(&dir, &["get", "smtp.accounts[0].password_hash"]);
    assert_eq!(got.trim(), format!("{hash:?}"));
}
