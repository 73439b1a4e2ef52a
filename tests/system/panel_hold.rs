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

    // Guessing tokens costs time: a source that keeps opening nothing must wait.
    let statuses: Vec<u16> = (0..8).map(|_| visitor.get(&wrong).status).collect();
    assert!(statuses.contains(&429), "{statuses:?}");
    let waited = visitor.get(&wrong);
    assert_eq!(waited.status, 429);
    let seconds = waited
        .header("retry-after")
        .expect("Retry-After")
        .to_string();
    // The page says how long, in both languages (not a place holder).
    assert!(!waited.body.contains("{}"), "{}", waited.body);
    assert!(
        waited.body.contains(&format!("{seconds} 秒")),
        "{}",
        waited.body
    );
    assert!(
        waited.body.contains(&format!("{seconds} seconds")),
        "{}",
        waited.body
    );
}

/// Sends a mail with a small text file attached from taro@office.test to argv[2].
const SEND_ATTACHMENT: &str = r#"
import smtplib, sys
from email.message import EmailMessage
port, rcpt, subject = sys.argv[1], sys.argv[2], sys.argv[3]
msg = EmailMessage()
msg['From'] = 'taro@office.test'
msg['To'] = rcpt
msg['Subject'] = subject
msg.set_content('資料です。')
msg.add_attachment('覚え書き'.encode(), maintype='text', subtype='plain', filename='memo.txt')
s = smtplib.SMTP('127.0.0.1', int(port), timeout=30)
s.sendmail('taro@office.test', [rcpt], msg.as_bytes(policy=msg.policy.clone(linesep='\r\n')))
s.quit()
"#;

/// The link path in the notice to argv[2] (its X-Rcpt-Args) about subject argv[3]; empty
/// when that notice has no link.
const LINK_TO: &str = r#"
import sys, os, re, email, email.policy
for name in sorted(os.listdir(sys.argv[1])):
    raw = open(os.path.join(sys.argv[1], name), 'rb').read()
    if ('<' + sys.argv[2] + '>').encode() not in raw.split(b'\n\n')[0] and ('<' + sys.argv[2] + '>').encode() not in raw[:2000]:
        continue
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    if '.hold@' not in str(msg.get('Message-ID', '')) and '.approve.' not in str(msg.get('Message-ID', '')):
        continue
    text = msg.get_body(preferencelist=('plain',)).get_content()
    if sys.argv[3] not in text:
        continue
    m = re.search(r'https://[^/\s]+(/hold/[A-Za-z0-9]+/[0-9a-f]{64})', text)
    print('LINK', m.group(1) if m else '')
"#;

#[test]
fn an_approver_rejects_or_approves_by_link_and_a_new_domain_waits_for_its_sender() {
    let sink = Sink::start();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    // The box has known sink.test for a month (its store of delivered domains).
    let b = PanelBox::start_with(
        &format!(
            "[smtp]\noffice_domains = [\"office.test\"]\n\n\
             [[smtp.delivery.routes]]\ndomain = \"sink.test\"\nhost = \"127.0.0.1\"\nport = {0}\n\n\
             [[smtp.delivery.routes]]\ndomain = \"office.test\"\nhost = \"127.0.0.1\"\nport = {0}\n\n\
             [misdelivery.approval]\napprovers = [\"bucho@office.test\"]\n\n\
             [misdelivery.new_domain]\nenabled = true\n",
            sink.port
        ),
        |data| {
            std::fs::create_dir_all(data.join("misdelivery")).unwrap();
            std::fs::write(
                data.join("misdelivery/known-domains"),
                format!("since {}\nsink.test {}\n", now - 30 * 86_400, now - 86_400),
            )
            .unwrap();
        },
    );
    let relay = b.relay.to_string();
    let dumps = sink.dir.path().join("dump");
    let link_to = |who: &str, subject: &str| -> Option<String> {
        let (code, out) = python(LINK_TO, &[dumps.to_str().unwrap(), who, subject]);
        assert_eq!(code, 0, "{out}");
        out.lines()
            .find_map(|l| l.strip_prefix("LINK"))
            .map(|l| l.trim().to_string())
    };
    for subject in ["reject-me", "approve-me"] {
        let (code, out) = python(SEND_ATTACHMENT, &[&relay, "client@sink.test", subject]);
        assert_eq!(code, 0, "{out}");
    }
    assert!(
        wait_for(Duration::from_secs(20), || link_to(
            "bucho@office.test",
            "approve-me"
        )
        .is_some_and(|l| !l.is_empty())
            && link_to("taro@office.test", "approve-me").is_some()),
        "{}",
        b.log()
    );
    assert_eq!(
        link_to("taro@office.test", "reject-me").as_deref(),
        Some(""),
        "the sender is told, without a link"
    );
    let approver = b.client();
    let reject = link_to("bucho@office.test", "reject-me").unwrap();
    let page = approver.get(&reject);
    assert!(page.body.contains(r#"id="hold-reject""#), "{}", page.body);
    let done = approver.post(&reject, &[("action", "reject")]);
    assert!(done.body.contains("却下しました"), "{}", done.body);
    let approve = link_to("bucho@office.test", "approve-me").unwrap();
    let done = approver.post(&approve, &[("action", "send")]);
    assert!(done.body.contains("メールを送信しました"), "{}", done.body);
    // The approved one arrives; the rejected one does not, and its sender gets a report.
    assert!(
        wait_for(Duration::from_secs(20), || subject_count(
            &sink,
            "approve-me"
        ) == 1
            && sink
                .messages()
                .iter()
                .any(|(t, _)| t.contains("approver refused"))),
        "{}",
        b.log()
    );
    // (The report to the sender quotes its header; nothing went to the client.)
    assert!(
        !sink
            .messages()
            .iter()
            .any(|(t, _)| t.contains("<client@sink.test>")
                && t.lines().any(|l| l.trim_end() == "Subject: reject-me")),
        "the rejected mail never reached the client"
    );

    // A domain never delivered to (a typo of the partner's) waits for its sender.
    let (code, out) = python(SEND, &[&relay, "client@snk.sink.test", "typo-mail"]);
    assert_eq!(code, 0, "{out}");
    assert!(
        wait_for(Duration::from_secs(20), || link_to(
            "taro@office.test",
            "snk.sink.test"
        )
        .is_some_and(|l| !l.is_empty())),
        "{}",
        b.log()
    );
    std::thread::sleep(Duration::from_secs(1));
    assert_eq!(subject_count(&sink, "typo-mail"), 0, "waits for the sender");
    let confirm = link_to("taro@office.test", "snk.sink.test").unwrap();
    let sender = b.client();
    let done = sender.post(&confirm, &[("action", "send")]);
    assert!(done.body.contains("メールを送信しました"), "{}", done.body);
    assert!(
        wait_for(Duration::from_secs(20), || subject_count(
            &sink,
            "typo-mail"
        ) == 1),
        "{}",
        b.log()
    );
    // Delivered once, the domain is known: the next mail to it goes at once.
    let (code, out) = python(SEND, &[&relay, "other@snk.sink.test", "second-mail"]);
    assert_eq!(code, 0, "{out}");
    assert!(
        wait_for(Duration::from_secs(20), || subject_count(
            &sink,
            "second-mail"
        ) == 1),
        "{}",
        b.log()
    );
}
