//! Re-authentication past its window: with `admin.reauth_secs = 10`, a password entered at
//! login counts for ten seconds. Within them a sensitive action (shortening how long held
//! mail is kept) needs no password and the pages ask for none; past them the pages ask for
//! it again, and the action is refused without it (asked for) or with a wrong one (a
//! failure, audited) — nothing changed,
//! each refusal audited — and done with the right one, which starts a new window.

use std::time::{Duration, Instant};

use crate::panel_box::{Answer, Client, PanelBox, create_admin, login};

const ADMIN_PW: &str = "hanabi-to-yukata-2026";
/// `admin.reauth_secs` for this box.
const WINDOW: Duration = Duration::from_secs(10);

/// The pages with a sensitive form and the id (or name) of the password field each shows
/// when the password is due again.
const ASKING: &[(&str, &str)] = &[
    ("/mail/quarantine", r#"id="retention-current""#),
    ("/system/backup", r#"id="export-current""#),
    ("/firewall", r#"id="fw-current""#),
    ("/system/metrics", r#"id="current" name="current""#),
];

/// The held-mail retention in the settings store, in days (written as `"7days"`, `"1day"`).
fn retention(b: &PanelBox) -> u64 {
    let (code, out, err) = b.settings(&["get", "smtp.quarantine_retention"]);
    assert_eq!(code, 0, "{out}{err}");
    let kept: String = serde_json::from_str(out.trim()).unwrap_or_else(|_| panic!("{out}"));
    kept.trim_end_matches("days")
        .trim_end_matches("day")
        .parse()
        .unwrap_or_else(|_| panic!("whole days: {kept:?}"))
}

/// Which of [`ASKING`]'s pages ask for the password.
fn pages_asking(admin: &Client) -> Vec<&'static str> {
    ASKING
        .iter()
        .filter(|(page, field)| {
            let a = admin.get(page);
            assert_eq!(a.status, 200, "{page}: {a:?}");
            a.body.contains(field)
        })
        .map(|(page, _)| *page)
        .collect()
}

/// The failed re-authentications in the panel's audit log.
fn audited_failures(b: &PanelBox) -> Vec<serde_json::Value> {
    std::fs::read_to_string(b.data().join("admind/audit/admind/audit.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|r| r["event"] == "panel_reauthentication_failed")
        .collect()
}

#[test]
fn panel_reauth_asked_again_past_the_window() {
    let b = PanelBox::start("reauth_secs = 10\n");
    create_admin(&b, "tanaka", ADMIN_PW);
    let (admin, a) = login(&b, "tanaka", ADMIN_PW);
    let logged_in = Instant::now();
    assert_eq!(
        (a.status, a.header("location")),
        (303, Some("/dashboard")),
        "{a:?}\n{}",
        b.log()
    );
    let page = admin.get("/mail/quarantine");
    assert_eq!(page.status, 200, "{page:?}");
    assert!(
        page.body
            .contains(r#"id="retention-days" name="days" value="30""#),
        "{}",
        page.body
    );
    let csrf = page.csrf();
    let set_retention = |days: &str, current: Option<&str>| -> Answer {
        let mut form = vec![("_csrf", csrf.as_str()), ("days", days)];
        if let Some(c) = current {
            form.push(("current", c));
        }
        admin.post("/mail/quarantine/retention", &form)
    };

    // Right after the login: no page asks, and a shorter retention (erasing held mail
    // sooner) is saved without the password.
    assert_eq!(pages_asking(&admin), Vec::<&str>::new());
    let a = set_retention("7", None);
    assert_eq!(
        (a.status, a.header("location")),
        (303, Some("/mail/quarantine?done=retention:0")),
        "{a:?}"
    );
    assert_eq!(retention(&b), 7);
    assert!(
        logged_in.elapsed() < WINDOW - Duration::from_secs(2),
        "too slow to be within the window: {:?}",
        logged_in.elapsed()
    );

    // Past the window (whole seconds on the panel's clock: 12 s is at least 11 > 10).
    std::thread::sleep(
        (logged_in + WINDOW + Duration::from_secs(2)).saturating_duration_since(Instant::now()),
    );
    assert_eq!(
        pages_asking(&admin),
        ASKING.iter().map(|(p, _)| *p).collect::<Vec<_>>(),
        "every sensitive form asks for the password again"
    );
    let page = admin.get("/mail/quarantine");
    assert!(
        page.body.contains(r#"id="retention-reauth""#),
        "{}",
        page.body
    );
    // A longer retention weakens nothing: still no password needed.
    let a = set_retention("14", None);
    assert_eq!(a.status, 303, "{a:?}");
    assert_eq!(retention(&b), 14);
    // A shorter one: refused without the password, and with a wrong one; nothing changed.
    let a = set_retention("3", None);
    assert_eq!(a.status, 403, "{a:?}");
    assert!(
        a.body.contains(r#"id="retention-error""#)
            && a.body.contains("現在のパスワードを入力してください"),
        "asked for, not called wrong: {}",
        a.body
    );
    assert!(a.body.contains(r#"id="retention-current""#), "still asks");
    assert!(
        audited_failures(&b).is_empty(),
        "no password tried is no failed one"
    );
    assert_eq!(retention(&b), 14);
    let a = set_retention("3", Some("hanabi-to-yukata-2025"));
    assert_eq!(a.status, 403, "{a:?}");
    assert!(
        a.body.contains(r#"id="retention-error""#) && a.body.contains("現在のパスワードが違います"),
        "{}",
        a.body
    );
    assert_eq!(retention(&b), 14);
    let failures = audited_failures(&b);
    assert_eq!(failures.len(), 1, "{failures:?}");
    for f in &failures {
        assert_eq!(
            (&f["user"], &f["for"], &f["source"]),
            (
                &serde_json::json!("tanaka"),
                &serde_json::json!("held-mail retention"),
                &serde_json::json!("127.0.0.1")
            ),
            "{f}"
        );
    }
    // With the right password it is done, and the window starts again.
    let a = set_retention("3", Some(ADMIN_PW));
    assert_eq!(
        (a.status, a.header("location")),
        (303, Some("/mail/quarantine?done=retention:0")),
        "{a:?}"
    );
    assert_eq!(retention(&b), 3);
    assert_eq!(
        pages_asking(&admin),
        Vec::<&str>::new(),
        "a new window after the password"
    );
    let a = set_retention("1", None);
    assert_eq!(a.status, 303, "within the new window: {a:?}");
    assert_eq!(retention(&b), 1);
    assert_eq!(audited_failures(&b).len(), 1, "no further failures");
}
