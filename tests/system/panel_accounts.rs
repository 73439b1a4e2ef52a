//! The panel's relay accounts page against a real relay: an account added in the panel
//! logs in on the submission port at once and sends only as the addresses allowed; its
//! addresses, password and existence change from the page, each change in force in the
//! relay at once, audited, and refused next to the field when wrong.

use crate::common::swaks;
use crate::panel_box::{PanelBox, create_admin};

const ADMIN_PW: &str = "hanabi-to-yukata-2026";

/// Logs in on the submission port as `user` and sends as `from`, stopping after RCPT.
fn send_as(b: &PanelBox, user: &str, password: &str, from: &str) -> (i32, String) {
    swaks(&[
        "--server",
        &format!("127.0.0.1:{}", b.submission),
        "--tls",
        "--auth",
        "PLAIN",
        "--auth-user",
        user,
        "--auth-password",
        password,
        "--from",
        from,
        "--to",
        "kyaku@example.com",
        "--quit-after",
        "RCPT",
    ])
}

#[test]
fn relay_accounts_are_managed_from_the_panel_and_take_effect_at_once() {
    let b = PanelBox::start("[smtp]\noffice_domains = [\"office.test\"]\n");
    let admin = create_admin(&b, "tanaka", ADMIN_PW);
    let page = admin.get("/mail/accounts");
    assert_eq!(page.status, 200, "{page:?}");
    assert!(page.body.contains(r#"id="empty""#), "{}", page.body);
    let t = page.csrf();
    let add = |address: &str, password: &str, senders: &str| {
        admin.post(
            "/mail/accounts/add",
            &[
                ("_csrf", &t),
                ("address", address),
                ("password", password),
                ("password_again", password),
                ("senders", senders),
            ],
        )
    };
    // Wrong forms: the reason next to the field, nothing saved.
    let a = add("taro@gmail.com", "sakura-no-hanabira-7", "");
    assert!(a.body.contains(r#"id="address-error""#), "{}", a.body);
    let a = add("taro@office.test", "password1234", "");
    assert!(a.body.contains(r#"id="password-error""#), "{}", a.body);
    let a = add("taro@office.test", "sakura-no-hanabira-7", "ceo@gmail.com");
    assert!(a.body.contains(r#"id="senders-error""#), "{}", a.body);
    assert!(
        a.body.contains("ceo@gmail.com"),
        "the entry is named: {}",
        a.body
    );
    let (code, out) = send_as(
        &b,
        "taro@office.test",
        "sakura-no-hanabira-7",
        "taro@office.test",
    );
    assert_ne!(code, 0, "no account yet: {out}");
    // A good one: in force at once, sending as its own address only.
    let a = add("Taro@Office.test", "sakura-no-hanabira-7", "");
    assert_eq!(
        a.header("location"),
        Some("/mail/accounts?done=added:taro%40office.test"),
        "{a:?}"
    );
    let page = admin.get("/mail/accounts?done=added:taro@office.test");
    assert!(page.body.contains(r#"id="done""#), "{}", page.body);
    assert!(!page.body.contains("$argon2"), "no hash on the page");
    let a = add("taro@office.test", "sakura-no-hanabira-7", "");
    assert!(
        a.body.contains(r#"id="address-error""#),
        "a second taro: {}",
        a.body
    );
    let (code, out) = send_as(
        &b,
        "taro@office.test",
        "sakura-no-hanabira-7",
        "taro@office.test",
    );
    assert_eq!(code, 0, "{out}");
    let (code, out) = send_as(
        &b,
        "taro@office.test",
        "sakura-no-hanabira-7",
        "hana@office.test",
    );
    assert_ne!(code, 0, "not one of taro's addresses: {out}");
    // Every address of the office, from the page.
    let senders = |senders: &str| {
        admin.post(
            "/mail/accounts/senders",
            &[
                ("_csrf", &t),
                ("name", "taro@office.test"),
                ("senders", senders),
            ],
        )
    };
    let a = senders("office.test\nboss@elsewhere.test");
    assert!(a.body.contains(r#"id="row-error""#), "{}", a.body);
    let a = senders("taro@office.test\n@office.test");
    assert_eq!(a.status, 303, "{a:?}");
    let (code, out) = send_as(
        &b,
        "taro@office.test",
        "sakura-no-hanabira-7",
        "hana@office.test",
    );
    assert_eq!(code, 0, "{out}");
    // A new password (within the login's re-authentication window): the old one stops.
    let reset = |password: &str, again: &str| {
        admin.post(
            "/mail/accounts/password",
            &[
                ("_csrf", &t),
                ("name", "taro@office.test"),
                ("password", password),
                ("password_again", again),
            ],
        )
    };
    assert!(
        reset("umi-no-oto-wo-kiku", "umi-no-oto-wo-kiiku")
            .body
            .contains(r#"id="row-error""#)
    );
    assert!(
        reset("taro@office.test1", "taro@office.test1")
            .body
            .contains(r#"id="row-error""#)
    );
    let a = reset("umi-no-oto-wo-kiku", "umi-no-oto-wo-kiku");
    assert_eq!(a.status, 303, "{a:?}");
    let (code, out) = send_as(
        &b,
        "taro@office.test",
        "sakura-no-hanabira-7",
        "taro@office.test",
    );
    assert_ne!(code, 0, "{out}");
    assert!(out.contains("535"), "{out}");
    let (code, out) = send_as(
        &b,
        "taro@office.test",
        "umi-no-oto-wo-kiku",
        "taro@office.test",
    );
    assert_eq!(code, 0, "{out}");
    // Removed: the login stops.
    let a = admin.post(
        "/mail/accounts/remove",
        &[("_csrf", &t), ("name", "taro@office.test")],
    );
    assert_eq!(a.status, 303, "{a:?}");
    let (code, out) = send_as(
        &b,
        "taro@office.test",
        "umi-no-oto-wo-kiku",
        "taro@office.test",
    );
    assert_ne!(code, 0, "{out}");
    let a = admin.post(
        "/mail/accounts/remove",
        &[("_csrf", &t), ("name", "taro@office.test")],
    );
    assert_eq!(a.status, 404);
    // Administrators only.
    let t2 = admin.get("/system/users").csrf();
    let a = admin.post(
        "/system/users/add",
        &[
            ("_csrf", &t2),
            ("name", "sato"),
            ("role", "approver"),
            ("password", "kawa-no-nagare-ha"),
            ("password_again", "kawa-no-nagare-ha"),
        ],
    );
    assert_eq!(a.status, 303);
    let (sato, _) = crate::panel_box::login(&b, "sato", "kawa-no-nagare-ha");
    assert_eq!(sato.get("/mail/accounts").status, 403);
    let st = sato.get("/dashboard").csrf();
    let a = sato.post(
        "/mail/accounts/add",
        &[
            ("_csrf", &st),
            ("address", "mallory@office.test"),
            ("password", "mallory-was-here-1"),
            ("password_again", "mallory-was-here-1"),
        ],
    );
    assert_eq!(a.status, 403);
    // Audited with the person, and in the settings history.
    let audit = std::fs::read_to_string(b.data().join("admind/audit/admind/audit.jsonl")).unwrap();
    for event in [
        "panel_relay_account_added",
        "panel_relay_account_senders",
        "panel_relay_account_password",
        "panel_relay_account_removed",
    ] {
        assert!(
            audit.lines().any(|l| l.contains(event)
                && l.contains("tanaka")
                && l.contains("taro@office.test")),
            "{event}: {audit}"
        );
    }
    assert!(
        !audit.contains("umi-no-oto"),
        "no password in the audit log"
    );
    let history = admin.get("/system/settings");
    assert!(
        history
            .body
            .contains("panel_relay_account_removed: taro@office.test"),
        "{}",
        history.body
    );
}
