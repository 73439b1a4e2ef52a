//! The timed hold's links, end to end on the whole box (`mamori run`): mail to outside
//! waits, its sender's notice (read with Python's `email`) carries a link; opening the
//! link changes nothing (a link scanner cannot cancel or send), a POST from another origin
//! is refused, the page's buttons cancel one mail and send another at once, each once; a
//! wrong token learns nothing; every end is in the relay's audit log.

use std::time::Duration;

use crate::common::{Sink, python, wait_for};
use crate::panel_box::PanelBox;

/// Sends a plain mail from taro@office.test to argv[2] with subject argv[3].
const SEND: &str = r#"
import smtplib, sys
port, rcpt, subject = sys.argv[1], sys.argv[2], sys.argv[3]
msg = ('From: taro@office.test\r\nTo: ' + rcpt + '\r\nSubject: ' + subject + '\r\n\r\nbody\r\n').encode()
s = smtplib.SMTP('127.0.0.1', int(port), timeout=30)
s.sendmail('taro@office.test', [rcpt], msg)
s.quit()
"#;

/// The link path (`/hold/ID/TOKEN`) in the notice about the mail with subject argv[2],
/// among the dumps in directory argv[1].
const LINK: &str = r#"
import sys, os, re, email, email.policy
for name in sorted(os.listdir(sys.argv[1])):
    raw = open(os.path.join(sys.argv[1], name), 'rb').read()
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    if '.hold@' not in str(msg.get('Message-ID', '')):
        continue
    text = msg.get_body(preferencelist=('plain',)).get_content()
    if sys.argv[2] not in text:
        continue
    m = re.search(r'https://[^/\s]+(/hold/[A-Za-z0-9]+/[0-9a-f]{64})', text)
    print(m.group(1))
"#;

fn subject_count(sink: &Sink, subject: &str) -> usize {
    sink.messages()
        .iter()
        .filter(|(t, _)| {
            t.lines()
                .any(|l| l.trim_end() == format!("Subject: {subject}"))
        })
        .count()
}

#[test]
fn hold_links_confirm_before_acting_and_end_each_hold_once() {
    let sink = Sink::start();
    let b = PanelBox::start(&format!(
        "[smtp]\noffice_domains = [\"office.test\"]\n\n\
         [[smtp.delivery.routes]]\ndomain = \"sink.test\"\nhost = \"127.0.0.1\"\nport = {0}\n\n\
         [[smtp.delivery.routes]]\ndomain = \"office.test\"\nhost = \"127.0.0.1\"\nport = {0}\n\n\
         [misdelivery]\nhold = \"1h\"\n",
        sink.port
    ));
    let relay = b.relay.to_string();
    for subject in ["cancel-this", "send-this"] {
        let (code, out) = python(SEND, &[&relay, "client@sink.test", subject]);
        assert_eq!(code, 0, "{out}\n{}", b.log());
    }
    assert!(
        wait_for(Duration::from_secs(20), || sink
            .messages()
            .iter()
            .filter(|(t, _)| t.contains(".hold@"))
            .count()
            == 2),
        "two notices: {}",
        b.log()
    );
    let dumps = sink.dir.path().join("dump");
    let link = |subject: &str| {
        let (code, out) = python(LINK, &[dumps.to_str().unwrap(), subject]);
        assert_eq!(code, 0, "{out}");
        out.trim().to_string()
    };
    let (cancel_link, send_link) = (link("cancel-this"), link("send-this"));
    assert!(cancel_link.starts_with("/hold/"), "{cancel_link:?}");

    // Opening the link (as a scanner would, twice) shows the mail and changes nothing.
    let visitor = b.client();
    for _ in 0..2 {
        let page = visitor.get(&cancel_link);
        assert_eq!(page.status, 200, "{page:?}");
        assert!(page.body.contains("cancel-this"), "{}", page.body);
        assert!(page.body.contains("client@sink.test"), "{}", page.body);
        assert!(page.body.contains(r#"id="hold-cancel""#));
    }
    // A POST from another site is refused before it reaches the relay.
    let forged = visitor.post_with(
        &cancel_link,
        &[("action", "cancel")],
        &["-H".into(), "Origin: https://evil.example".into()],
    );
    assert_eq!(forged.status, 403, "{forged:?}");
    // A wrong token learns nothing.
    let wrong = format!(
        "{}{}",
        &cancel_link[..cancel_link.len() - 64],
        "0".repeat(64)
    );
    let page = visitor.get(&wrong);
    assert_eq!(page.status, 404);
    assert!(!page.body.contains("cancel-this"));
    std::thread::sleep(Duration::from_secs(1));
    assert_eq!(subject_count(&sink, "cancel-this"), 0, "still waiting");

    // The buttons: cancel one, send the other; a second press is told it is over.
    let done = visitor.post(&cancel_link, &[("action", "cancel")]);
    assert_eq!(done.status, 200, "{done:?}");
    assert!(done.body.contains("送信を取り消しました"), "{}", done.body);
    let again = visitor.post(&cancel_link, &[("action", "send")]);
    assert!(
        !again.body.contains("メールを送信しました"),
        "{}",
        again.body
    );
    let done = visitor.post(&send_link, &[("action", "send")]);
    assert!(done.body.contains("メールを送信しました"), "{}", done.body);
    assert!(
        wait_for(Duration::from_secs(20), || subject_count(
            &sink,
            "send-this"
        ) == 1),
        "{}",
        b.log()
    );
    let after = visitor.get(&send_link);
    // Over: sent (or gone from the queue once delivered); no button left.
    assert!(
        after.body.contains("すでに送信") || after.body.contains("送信済み"),
        "{}",
        after.body
    );
    assert!(!after.body.contains(r#"id="hold-send""#));
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(
        subject_count(&sink, "cancel-this"),
        0,
        "cancelled: never sent"
    );
    assert_eq!(subject_count(&sink, "send-this"), 1, "sent once");

    let audit =
        std::fs::read_to_string(b.data().join("audit/smtpd/audit.jsonl")).unwrap_or_default();
    assert!(audit.contains("\"event\":\"timed_hold_cancel\""), "{audit}");
    assert!(
        audit.contains("\"event\":\"timed_hold_send_now\""),
        "{audit}"
    );
    let token = &send_link[send_link.len() - 64..];
    assert!(!audit.contains(token), "the token is never audited");
    assert!(!b.log().contains(token), "nor logged");
}
