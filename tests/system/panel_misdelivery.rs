//! The panel's misdelivery-prevention page against a real relay and a real `smtp-sink`: a
//! timed hold of one minute and an approver set in the panel are in the settings store
//! and in force on real mail at once (a mail to outside does not leave, its sender's
//! notice with the cancel link does); a bad form is refused next to its field with nothing
//! saved; and turning the timed hold off — a protection off — is refused past the
//! re-authentication window until the password is entered again. The page's own copy of
//! the section's defaults and limits is checked against the relay's model.

use std::time::{Duration, Instant};

use mamori_panel::misdelivery::{self, Draft, Section};
use mamori_smtp::settings::Misdelivery;

use crate::common::{Sink, python, wait_for};
use crate::panel_box::{Answer, Client, PanelBox, create_admin};

const ADMIN_PW: &str = "ayame-to-kakitsubata-2026";
/// `admin.reauth_secs` for this box (the least it takes).
const WINDOW: Duration = Duration::from_secs(10);

/// Sends a plain mail from taro@office.test to argv[2] with subject argv[3] through the
/// relay on port argv[1]; prints the reply.
const SEND: &str = r#"
import smtplib, sys
port, rcpt, subject = sys.argv[1], sys.argv[2], sys.argv[3]
msg = ('From: taro@office.test\r\nTo: ' + rcpt + '\r\nSubject: ' + subject + '\r\n\r\n見積もりの件です。\r\n').encode()
s = smtplib.SMTP('127.0.0.1', int(port), timeout=30)
s.ehlo('pc.office.test')
s.mail('taro@office.test')
s.rcpt(rcpt)
code, text = s.data(msg)
print(code, text.decode())
s.quit()
"#;

/// A setting as the store has it, as JSON.
fn setting(b: &PanelBox, key: &str) -> serde_json::Value {
    let (code, out, err) = b.settings(&["get", key]);
    assert_eq!(code, 0, "{key}: {out}{err}");
    serde_json::from_str(out.trim()).unwrap_or_else(|_| panic!("{key}: {out}"))
}

/// The form: the defaults, with `changes` over them (a field given as `None` is left out,
/// as an unticked checkbox is).
fn form(c: &Client, csrf: &str, changes: &[(&str, Option<&str>)]) -> Answer {
    let mut form: Vec<(&str, &str)> = vec![
        ("_csrf", csrf),
        ("hold", "0"),
        ("hold_scope", "external"),
        ("hold_except_senders", ""),
        ("max_future_release", "7"),
        ("bcc_threshold", "0"),
        ("approvers", ""),
        ("approval_senders", ""),
        ("external_only", "on"),
        ("with_attachment", "on"),
        ("approval_timeout", "24"),
        ("approval_on_timeout", "reject"),
        ("learn_days", "90"),
        ("new_domain_timeout", "24"),
        ("new_domain_on_timeout", "reject"),
        ("link_base", ""),
    ];
    for (key, value) in changes {
        form.retain(|(k, _)| k != key);
        if let Some(v) = value {
            form.push((key, v));
        }
    }
    c.post("/mail/misdelivery", &form)
}

/// How many dumps in the sink have exactly this subject line.
fn with_subject(sink: &Sink, subject: &str) -> usize {
    sink.messages()
        .iter()
        .filter(|(t, _)| {
            t.lines()
                .any(|l| l.trim_end() == format!("Subject: {subject}"))
        })
        .count()
}

#[test]
fn panel_misdelivery_holds_real_mail_and_turns_off_only_with_the_password() {
    let sink = Sink::start();
    let b = PanelBox::start(&format!(
        "reauth_secs = {}\n\n[smtp]\noffice_domains = [\"office.test\"]\n\n\
         [[smtp.delivery.routes]]\ndomain = \"sink.test\"\nhost = \"127.0.0.1\"\nport = {1}\n\n\
         [[smtp.delivery.routes]]\ndomain = \"office.test\"\nhost = \"127.0.0.1\"\nport = {1}\n",
        WINDOW.as_secs(),
        sink.port
    ));
    let admin = create_admin(&b, "tanaka", ADMIN_PW);
    let logged_in = Instant::now();
    let page = admin.get("/mail/misdelivery");
    assert_eq!(page.status, 200, "{page:?}\n{}", b.log());
    assert!(
        page.body.contains(r#"href="/mail/misdelivery""#),
        "in the menu"
    );
    assert!(
        page.body.contains(r#"id="none-active""#)
            && page.body.contains(r#"name="hold" value="0""#)
            && page.body.contains(r#"name="max_future_release" value="7""#),
        "{}",
        page.body
    );
    assert!(
        !page.body.contains(r#"id="mis-password""#),
        "nothing to turn off"
    );
    let t = page.csrf();

    // A hold too long, an approver that is no address, one outside the office: each
    // refused next to its field, as typed, nothing saved.
    let a = form(&admin, &t, &[("hold", Some("2000"))]);
    assert_eq!(a.status, 400, "{a:?}");
    assert!(
        a.body.contains(r#"id="hold-error""#) && a.body.contains(r#"name="hold" value="2000""#),
        "{}",
        a.body
    );
    let a = form(
        &admin,
        &t,
        &[("hold", Some("1")), ("approvers", Some("not-an-address"))],
    );
    assert_eq!(a.status, 400, "{a:?}");
    assert!(
        a.body.contains(r#"id="approvers-error""#)
            && a.body.contains("not-an-address</textarea>")
            && a.body.contains(r#"name="hold" value="1""#),
        "{}",
        a.body
    );
    let a = form(&admin, &t, &[("approvers", Some("bucho@gmail.example"))]);
    assert_eq!(a.status, 400, "{a:?}");
    assert!(a.body.contains(r#"id="approvers-error""#), "{}", a.body);
    // Without the session's token: refused.
    assert_eq!(form(&admin, "forged", &[("hold", Some("1"))]).status, 403);
    assert_eq!(setting(&b, "misdelivery.hold"), "0s");
    assert_eq!(
        setting(&b, "misdelivery.approval.approvers"),
        serde_json::json!([])
    );

    // A one-minute hold and an approver.
    let a = form(
        &admin,
        &t,
        &[
            ("hold", Some("1")),
            ("approvers", Some("bucho@office.test")),
        ],
    );
    assert_eq!(
        (a.status, a.header("location")),
        (303, Some("/mail/misdelivery?done=saved")),
        "{a:?}\n{}",
        b.log()
    );
    let page = admin.get("/mail/misdelivery?done=saved");
    assert!(
        page.body.contains(r#"id="done""#) && page.body.contains(r#"id="active""#),
        "{}",
        page.body
    );
    assert_eq!(setting(&b, "misdelivery.hold"), "1m");
    assert_eq!(
        setting(&b, "misdelivery.approval.approvers"),
        serde_json::json!(["bucho@office.test"])
    );
    assert_eq!(
        setting(&b, "misdelivery.max_future_release"),
        "7days",
        "only changed keys are written"
    );

    // Real mail to outside waits; its sender gets the notice with the links.
    let (code, out) = python(
        SEND,
        &[&b.relay.to_string(), "kyaku@sink.test", "mitsumori"],
    );
    assert_eq!(code, 0, "{out}");
    assert!(out.starts_with("250"), "{out}\n{}", b.log());
    assert!(
        wait_for(Duration::from_secs(20), || sink.messages().iter().any(
            |(m, _)| m.contains(".hold@") && m.contains("<taro@office.test>")
        )),
        "the sender's notice: {}",
        b.log()
    );
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(with_subject(&sink, "mitsumori"), 0, "held, not sent");

    // Past the re-authentication window, turning the hold off asks for the password:
    // refused without it, done with it.
    std::thread::sleep(
        (logged_in + WINDOW + Duration::from_secs(2)).saturating_duration_since(Instant::now()),
    );
    let page = admin.get("/mail/misdelivery");
    assert!(page.body.contains(r#"id="mis-password""#), "{}", page.body);
    let off = [
        ("hold", Some("0")),
        ("approvers", Some("bucho@office.test")),
    ];
    let a = form(&admin, &t, &off);
    assert_eq!(a.status, 403, "{a:?}");
    assert!(
        a.body.contains(r#"id="password-error""#) && a.body.contains(r#"id="mis-password""#),
        "{}",
        a.body
    );
    assert_eq!(setting(&b, "misdelivery.hold"), "1m", "still on");
    let mut with_password = off.to_vec();
    with_password.push(("password", Some(ADMIN_PW)));
    let a = form(&admin, &t, &with_password);
    assert_eq!(
        (a.status, a.header("location")),
        (303, Some("/mail/misdelivery?done=saved")),
        "{a:?}"
    );
    assert_eq!(setting(&b, "misdelivery.hold"), "0s");
    assert_eq!(
        setting(&b, "misdelivery.approval.approvers"),
        serde_json::json!(["bucho@office.test"]),
        "approval stays on"
    );

    // Each change in the panel's audit log with the person; the saves in the history.
    let audit = std::fs::read_to_string(b.data().join("admind/audit/admind/audit.jsonl")).unwrap();
    assert!(
        audit
            .lines()
            .any(|l| l.contains("panel_misdelivery_saved") && l.contains("tanaka")),
        "{audit}"
    );
    let history = admin.get("/system/settings");
    assert!(
        history
            .body
            .contains("panel_misdelivery_saved: hold, approval.approvers")
            && history
                .body
                .contains("panel_misdelivery_saved: off: timed hold (hold)"),
        "{}",
        history.body
    );
}

/// `keys` (`misdelivery.a.b` → JSON) set over the relay's default section, as the relay
/// reads the result.
fn relay_section(keys: &[(String, serde_json::Value)]) -> Misdelivery {
    let mut v = serde_json::to_value(Misdelivery::default()).unwrap();
    for (key, value) in keys {
        let mut at = &mut v;
        for step in key.trim_start_matches("misdelivery.").split('.') {
            at = &mut at[step];
        }
        *at = value.clone();
    }
    serde_json::from_value(v).unwrap()
}

fn relay_errors(m: &Misdelivery) -> Vec<String> {
    let mut r = mamori_core::report::Report::default();
    m.check_into(&mut r);
    r.errors.into_iter().map(|e| e.key).collect()
}

#[test]
fn the_pages_copy_of_the_section_has_the_relays_defaults_and_limits() {
    let relay = serde_json::to_value(Misdelivery::default()).unwrap();
    assert_eq!(misdelivery::read(&relay).unwrap(), Section::default());
    assert_eq!(
        misdelivery::read(&serde_json::Value::Null).unwrap(),
        Section::default()
    );
    let office = ["office.example.jp".to_string()];
    // At every limit the page takes, the relay takes what it writes.
    let mut at_limits = Draft::of(&Section::default());
    at_limits.hold = misdelivery::MAX_HOLD_MINUTES.to_string();
    at_limits.hold_scope = "all".into();
    at_limits.max_future_release = misdelivery::MAX_FUTURE_RELEASE_DAYS.to_string();
    at_limits.bcc_threshold = misdelivery::MAX_BCC_THRESHOLD.to_string();
    at_limits.approvers = "bucho@office.example.jp".into();
    at_limits.approval_senders = "*@office.example.jp, partner.example.jp".into();
    at_limits.hold_except_senders = "boss@office.example.jp".into();
    at_limits.approval_timeout = misdelivery::MAX_WAIT_HOURS.to_string();
    at_limits.new_domain = true;
    at_limits.learn_days = misdelivery::LEARN_DAYS.1.to_string();
    at_limits.new_domain_timeout = "1".into();
    at_limits.new_domain_on_timeout = "send".into();
    at_limits.link_base = "https://mamori.office.lan".into();
    let change = misdelivery::change(&Section::default(), &at_limits, &office).unwrap();
    let written = relay_section(&change.set);
    assert_eq!(relay_errors(&written), Vec::<String>::new(), "{written:?}");
    assert_eq!(written.hold, Duration::from_secs(86_400));
    assert_eq!(written.approval.timeout, Duration::from_secs(7 * 86_400));
    // One past each limit, both refuse, naming the same key.
    for (field, value, key) in [
        ("hold", "1441m", "misdelivery.hold"),
        (
            "max_future_release",
            "31d",
            "misdelivery.max_future_release",
        ),
        ("approval.timeout", "169h", "misdelivery.approval.timeout"),
        (
            "new_domain.learn_days",
            "3651",
            "misdelivery.new_domain.learn_days",
        ),
        (
            "approval.approvers",
            "not-an-address",
            "misdelivery.approval.approvers",
        ),
        (
            "link_base",
            "http://mamori.office.lan",
            "misdelivery.link_base",
        ),
    ] {
        let json = match field {
            "new_domain.learn_days" => serde_json::json!(3651),
            "approval.approvers" => serde_json::json!([value]),
            _ => serde_json::json!(value),
        };
        let relay = relay_section(&[(format!("misdelivery.{field}"), json)]);
        assert_eq!(relay_errors(&relay), [key], "{field}");
        let mut d = Draft::of(&Section::default());
        let number = value.trim_end_matches(char::is_alphabetic).to_string();
        match field {
            "hold" => d.hold = number,
            "max_future_release" => d.max_future_release = number,
            "approval.timeout" => d.approval_timeout = number,
            "new_domain.learn_days" => d.learn_days = number,
            "approval.approvers" => d.approvers = value.into(),
            _ => d.link_base = value.into(),
        }
        let problems = misdelivery::change(&Section::default(), &d, &office).unwrap_err();
        assert_eq!(
            problems.iter().map(|p| p.field).collect::<Vec<_>>(),
            [misdelivery::field_of(key)],
            "{field}"
        );
    }
}
