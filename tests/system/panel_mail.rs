//! The panel's mail pages against a real relay and a real `smtp-sink`: the queue (search,
//! filter, hold, release, delete, retry) and the quarantine (masked findings for every role,
//! approve once, refuse with a report to the sender, content shown only to approvers and
//! recorded), each action refused to a role without the right and recorded with the
//! person's name in the relay's audit log.

use std::time::Duration;

use crate::common::{Sink, free_port, my_number, swaks, wait_for};
use crate::panel_box::{Client, PanelBox, create_admin, login};

const ADMIN_PW: &str = "hanabi-to-yukata-2026";
const APPROVER_PW: &str = "kawa-no-nagare-ha";
const AUDITOR_PW: &str = "mori-no-kage-fumi";

/// Sends one message into the box's relay port; returns swaks' transcript.
fn send(b: &PanelBox, from: &str, to: &str, subject: &str, body: &str) -> String {
    let (code, out) = swaks(&[
        "--server",
        &format!("127.0.0.1:{}", b.relay),
        "--from",
        from,
        "--to",
        to,
        "--header",
        &format!("Subject: {subject}"),
        "--header",
        "Content-Type: text/plain; charset=utf-8",
        "--body",
        body,
    ]);
    assert_eq!(code, 0, "{out}");
    out
}

/// Adds a panel user as `admin`.
fn add_user(admin: &Client, name: &str, role: &str, password: &str) {
    let t = admin.get("/system/users").csrf();
    let a = admin.post(
        "/system/users/add",
        &[
            ("_csrf", &t),
            ("name", name),
            ("role", role),
            ("password", password),
            ("password_again", password),
        ],
    );
    assert_eq!(a.status, 303, "{a:?}");
}

fn queue_id(transcript: &str) -> String {
    crate::common::queued_id(transcript)
}

#[test]
fn the_queue_page_searches_filters_and_acts_by_role() {
    let sink = Sink::start();
    let dead = free_port();
    let b = PanelBox::start(&format!(
        "[smtp]\noffice_domains = [\"office.test\"]\n\n\
         [[smtp.delivery.routes]]\ndomain = \"sink.test\"\nhost = \"127.0.0.1\"\nport = {}\n\n\
         [[smtp.delivery.routes]]\ndomain = \"dead.test\"\nhost = \"127.0.0.1\"\nport = {dead}\n",
        sink.port
    ));
    let admin = create_admin(&b, "tanaka", ADMIN_PW);
    add_user(&admin, "sato", "approver", APPROVER_PW);
    add_user(&admin, "suzuki", "auditor", AUDITOR_PW);
    let (sato, _) = login(&b, "sato", APPROVER_PW);
    let (suzuki, _) = login(&b, "suzuki", AUDITOR_PW);

    let first = queue_id(&send(
        &b,
        "tanaka@office.test",
        "kyaku@dead.test",
        "mitsumori",
        "見積書",
    ));
    let second = queue_id(&send(
        &b,
        "sato@office.test",
        "other@dead.test",
        "seikyu",
        "請求書",
    ));
    // Both were tried once against the closed port, and wait to be tried again.
    assert!(
        wait_for(Duration::from_secs(20), || {
            let p = admin.get("/mail/queue?state=waiting");
            p.body.contains(&format!("msg-{first}")) && p.body.contains(&format!("msg-{second}"))
        }),
        "{}",
        b.log()
    );
    let page = admin.get("/mail/queue?q=TANAKA+dead");
    assert!(page.body.contains(&format!("msg-{first}")), "{}", page.body);
    assert!(
        !page.body.contains(&format!("msg-{second}")),
        "{}",
        page.body
    );
    assert!(page.body.contains("kyaku@dead.test"));
    assert!(
        admin
            .get("/mail/queue?state=held")
            .body
            .contains(r#"id="empty""#)
    );
    // The search text is shown back escaped, never as markup.
    let page = admin.get("/mail/queue?q=%3Cscript%3Ealert(1)%3C%2Fscript%3E");
    assert_eq!(page.status, 200);
    assert!(!page.body.contains("<script>"), "{}", page.body);

    // The auditor reads the queue but has no buttons, and the relay is never asked.
    let page = suzuki.get("/mail/queue");
    assert_eq!(page.status, 200);
    assert!(page.body.contains(&format!("msg-{first}")));
    assert!(!page.body.contains("/mail/queue/act"), "{}", page.body);
    let st = page.csrf();
    let a = suzuki.post(
        "/mail/queue/act",
        &[("_csrf", &st), ("id", &first), ("action", "hold")],
    );
    assert_eq!(a.status, 403);

    // The approver holds and releases, but may not delete or retry everything.
    let sp = sato.get("/mail/queue");
    let t = sp.csrf();
    assert!(sp.body.contains(&format!("hold-{first}")));
    assert!(
        !sp.body.contains(&format!("delete-{first}")),
        "delete is for administrators"
    );
    let a = sato.post(
        "/mail/queue/act",
        &[("_csrf", &t), ("id", &first), ("action", "hold")],
    );
    assert_eq!(
        a.header("location"),
        Some(format!("/mail/queue?done=hold:{first}").as_str()),
        "{a:?}"
    );
    let page = sato.get("/mail/queue?state=held");
    assert!(
        page.body.contains(&format!("release-{first}")),
        "{}",
        page.body
    );
    let a = sato.post(
        "/mail/queue/act",
        &[("_csrf", &t), ("id", &first), ("action", "release")],
    );
    assert_eq!(a.status, 303, "{a:?}");
    let a = sato.post(
        "/mail/queue/act",
        &[("_csrf", &t), ("id", &first), ("action", "delete")],
    );
    assert_eq!(a.status, 403);
    assert_eq!(sato.post("/mail/queue/retry", &[("_csrf", &t)]).status, 403);
    // Made-up actions and IDs are refused before the relay is asked.
    let a = sato.post(
        "/mail/queue/act",
        &[("_csrf", &t), ("id", &first), ("action", "bounce")],
    );
    assert_eq!(a.status, 400);
    let a = sato.post(
        "/mail/queue/act",
        &[("_csrf", &t), ("id", "../../etc"), ("action", "hold")],
    );
    assert_eq!(a.status, 400);
    // An unknown ID: the relay's refusal is shown next to the list.
    let a = sato.post(
        "/mail/queue/act",
        &[("_csrf", &t), ("id", "NOSUCHID"), ("action", "hold")],
    );
    assert_eq!(a.status, 409);
    assert!(a.body.contains(r#"id="error""#), "{}", a.body);

    // The administrator retries all and deletes one.
    let at = admin.get("/mail/queue").csrf();
    let a = admin.post("/mail/queue/retry", &[("_csrf", &at)]);
    assert!(
        a.header("location")
            .is_some_and(|l| l.starts_with("/mail/queue?done=retry:")),
        "{a:?}"
    );
    let a = admin.post(
        "/mail/queue/act",
        &[("_csrf", &at), ("id", &second), ("action", "delete")],
    );
    assert_eq!(a.status, 303, "{a:?}");
    let page = admin.get("/mail/queue");
    assert!(
        !page.body.contains(&format!("msg-{second}")),
        "{}",
        page.body
    );
    assert!(page.body.contains(&format!("msg-{first}")));

    let audit = std::fs::read_to_string(b.data().join("audit/smtpd/audit.jsonl")).unwrap();
    for (event, who) in [
        ("queue_hold", "for sato (approve)"),
        ("queue_release", "for sato (approve)"),
        ("queue_delete", "for tanaka (admin)"),
    ] {
        assert!(
            audit.lines().any(|l| l.contains(event) && l.contains(who)),
            "{event} by {who}: {audit}"
        );
    }
    assert_eq!(sink.count(), 0);
}

#[test]
fn held_mail_is_approved_once_refused_with_a_report_and_read_only_by_approvers() {
    let sink = Sink::start();
    let b = PanelBox::start(&format!(
        "[smtp]\noffice_domains = [\"office.test\"]\n\n\
         [[smtp.delivery.routes]]\ndomain = \"sink.test\"\nhost = \"127.0.0.1\"\nport = {0}\n\n\
         [[smtp.delivery.routes]]\ndomain = \"office.test\"\nhost = \"127.0.0.1\"\nport = {0}\n",
        sink.port
    ));
    let admin = create_admin(&b, "tanaka", ADMIN_PW);
    add_user(&admin, "sato", "approver", APPROVER_PW);
    add_user(&admin, "suzuki", "auditor", AUDITOR_PW);
    let (sato, _) = login(&b, "sato", APPROVER_PW);
    let (suzuki, _) = login(&b, "suzuki", AUDITOR_PW);
    let number = my_number("98765432109");
    let body = |who: &str| format!("{who}様\n\n個人番号：{number}\nよろしくお願いします。");
    let approve_me = queue_id(&send(
        &b,
        "tanaka@office.test",
        "kyaku@sink.test",
        "approve-me",
        &body("山田"),
    ));
    let refuse_me = queue_id(&send(
        &b,
        "tanaka@office.test",
        "other@sink.test",
        "refuse-me",
        &body("佐藤"),
    ));
    let held = |c: &Client| c.get("/mail/quarantine");
    assert!(
        wait_for(Duration::from_secs(20), || {
            let p = held(&admin);
            p.body.contains(&format!("held-{approve_me}"))
                && p.body.contains(&format!("held-{refuse_me}"))
        }),
        "{}",
        b.log()
    );
    let messages_to = |rcpt: &str| {
        sink.messages()
            .into_iter()
            .filter(|(t, _)| t.contains(&format!("X-Rcpt-Args: <{rcpt}>")))
            .count()
    };

    // Every role sees why it is held, masked; the number in full appears on no page.
    let masked = format!("{}******{}", &number[..4], &number[10..]);
    for c in [&admin, &sato, &suzuki] {
        let list = held(c);
        assert_eq!(list.status, 200);
        assert!(
            list.body.contains("My Number sent outside"),
            "{}",
            list.body
        );
        let page = c.get(&format!("/mail/quarantine/{approve_me}"));
        assert_eq!(page.status, 200, "{page:?}");
        assert!(page.body.contains(&masked), "{}", page.body);
        assert!(page.body.contains("my_number"), "{}", page.body);
        assert!(
            !page.body.contains(&number),
            "never the full number: {}",
            page.body
        );
    }
    // The auditor has no buttons, and the relay refuses the auditor's content view too.
    let page = suzuki.get(&format!("/mail/quarantine/{approve_me}"));
    assert!(!page.body.contains(r#"id="approve""#) && !page.body.contains("view-content"));
    let st = page.csrf();
    let a = suzuki.post(
        "/mail/quarantine/content",
        &[("_csrf", &st), ("id", &approve_me)],
    );
    assert_eq!(a.status, 403);
    let a = suzuki.post(
        "/mail/quarantine/act",
        &[("_csrf", &st), ("id", &approve_me), ("action", "release")],
    );
    assert_eq!(a.status, 403);
    // Not a held message: no page (and no path tricks).
    assert_eq!(admin.get("/mail/quarantine/NOSUCHID").status, 404);
    assert_eq!(admin.get("/mail/quarantine/..%2F..%2Fetc").status, 404);

    // The approver reads the content: shown in full, and recorded before it was sent.
    let t = sato.get(&format!("/mail/quarantine/{approve_me}")).csrf();
    let a = sato.post(
        "/mail/quarantine/content",
        &[("_csrf", &t), ("id", &approve_me)],
    );
    assert_eq!(a.status, 200, "{a:?}");
    assert!(
        a.body.contains(r#"id="recorded""#) && a.body.contains("山田様"),
        "{}",
        a.body
    );
    assert!(
        a.body.contains("approve-me"),
        "the subject is shown: {}",
        a.body
    );
    let audit = || std::fs::read_to_string(b.data().join("audit/smtpd/audit.jsonl")).unwrap();
    assert!(
        audit()
            .lines()
            .any(|l| l.contains("quarantine_content_viewed")
                && l.contains(&approve_me)
                && l.contains("for sato")),
        "{}",
        audit()
    );
    // A content view is a POST with the session's token: a link from elsewhere cannot open it.
    let a = sato.post(
        "/mail/quarantine/content",
        &[("_csrf", "forged"), ("id", &approve_me)],
    );
    assert_eq!(a.status, 403);

    // Approved: delivered, once; the second approval is told it is decided already.
    let a = sato.post(
        "/mail/quarantine/act",
        &[("_csrf", &t), ("id", &approve_me), ("action", "release")],
    );
    assert_eq!(
        a.header("location"),
        Some(format!("/mail/quarantine?done=release:{approve_me}").as_str()),
        "{a:?}"
    );
    let a = admin.post(
        "/mail/quarantine/act",
        &[
            ("_csrf", &admin.get("/mail/quarantine").csrf()),
            ("id", &approve_me),
            ("action", "release"),
        ],
    );
    assert_eq!(a.status, 409, "{a:?}");
    assert!(a.body.contains(r#"id="error""#), "{}", a.body);
    assert!(
        wait_for(Duration::from_secs(20), || messages_to("kyaku@sink.test")
            == 1),
        "{}",
        b.log()
    );

    // Refused: not delivered, and the sender gets a report saying the approver refused it.
    let a = sato.post(
        "/mail/quarantine/act",
        &[("_csrf", &t), ("id", &refuse_me), ("action", "reject")],
    );
    assert_eq!(a.status, 303, "{a:?}");
    let report_to_sender = || {
        sink.messages().into_iter().map(|(t, _)| t).find(|t| {
            t.contains("X-Rcpt-Args: <tanaka@office.test>") && t.contains("refused this message")
        })
    };
    assert!(
        wait_for(Duration::from_secs(20), || report_to_sender().is_some()),
        "no report to the sender: {:?}\n{}",
        sink.messages(),
        b.log()
    );
    let report = report_to_sender().unwrap_or_default();
    assert!(
        report.contains("5.7.1") && report.contains("other@sink.test"),
        "{report}"
    );
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(
        messages_to("other@sink.test"),
        0,
        "refused mail is not delivered"
    );
    assert_eq!(
        messages_to("kyaku@sink.test"),
        1,
        "approved mail delivered once"
    );
    assert!(held(&admin).body.contains(r#"id="empty""#));
    let audit = audit();
    for (event, id) in [
        ("quarantine_release", &approve_me),
        ("quarantine_reject", &refuse_me),
    ] {
        assert!(
            audit
                .lines()
                .any(|l| l.contains(event) && l.contains(id.as_str()) && l.contains("for sato")),
            "{event}: {audit}"
        );
    }
    assert!(
        !audit.contains(&number),
        "the audit log holds no full number"
    );
}
