//! The panel's attachment-encryption page against a real relay and a real `smtp-sink`:
//! encryption turned on in the panel (password to both, no delay) and a rule added there
//! take effect on real mail at once (the outside recipient gets `attachments.zip`, the
//! password follows); a bad form is refused next to its field with nothing saved; and
//! turning encryption off — a protection off — is refused past the re-authentication
//! window until the password is entered again. Each change is in the panel's audit log.

use std::time::{Duration, Instant};

use crate::common::{Sink, python, wait_for};
use crate::panel_box::{Answer, Client, PanelBox, create_admin};

const ADMIN_PW: &str = "hanabi-to-yukata-2026";
/// `admin.reauth_secs` for this box (the least it takes).
const WINDOW: Duration = Duration::from_secs(10);

/// Builds a mail with one attachment (argv[3] named argv[4]) and sends it from
/// taro@office.test to argv[2] through the relay on port argv[1]; prints the reply.
const SEND: &str = r#"
import smtplib, sys
from email.message import EmailMessage
port, rcpt, path, name = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
msg = EmailMessage()
msg['From'] = 'taro@office.test'
msg['To'] = rcpt
msg['Subject'] = 'mitsumori'
msg.set_content('見積書をお送りします。')
msg.add_attachment(open(path, 'rb').read(), maintype='application', subtype='pdf', filename=name)
s = smtplib.SMTP('127.0.0.1', int(port), timeout=30)
s.ehlo('pc.office.test')
s.mail('taro@office.test')
s.rcpt(rcpt)
code, text = s.data(msg.as_bytes(policy=msg.policy.clone(linesep='\r\n')))
print(code, text.decode())
s.quit()
"#;

/// Reads one smtp-sink dump (argv[1]): `RCPT addr` a recipient, `ATTACHMENT name` an
/// attachment.
const READ: &str = r#"
import sys, email, email.policy
raw = open(sys.argv[1], 'rb').read()
for line in raw.split(b'\n'):
    if line.startswith(b'X-Rcpt-Args:'):
        print('RCPT', line.split(b'<')[1].split(b'>')[0].decode())
msg = email.message_from_bytes(raw, policy=email.policy.default)
for part in msg.walk():
    if not part.is_multipart() and part.get_filename():
        print('ATTACHMENT', part.get_filename())
"#;

/// Every dump in the sink: (recipients, attachment names).
fn received(sink: &Sink, work: &std::path::Path) -> Vec<(Vec<String>, Vec<String>)> {
    sink.messages()
        .into_iter()
        .enumerate()
        .map(|(n, (content, _))| {
            let file = work.join(format!("dump-{n}.eml"));
            std::fs::write(&file, content).unwrap();
            let (code, out) = python(READ, &[file.to_str().unwrap()]);
            assert_eq!(code, 0, "{out}");
            let field = |prefix: &str| {
                out.lines()
                    .filter_map(|l| l.strip_prefix(prefix))
                    .map(str::to_string)
                    .collect::<Vec<_>>()
            };
            (field("RCPT "), field("ATTACHMENT "))
        })
        .collect()
}

/// A setting as the store has it, as JSON.
fn setting(b: &PanelBox, key: &str) -> serde_json::Value {
    let (code, out, err) = b.settings(&["get", key]);
    assert_eq!(code, 0, "{key}: {out}{err}");
    serde_json::from_str(out.trim()).unwrap_or_else(|_| panic!("{key}: {out}"))
}

/// The general form: the defaults, with `changes` over them (a field given as `None` is
/// left out, as an unticked checkbox is).
fn general(c: &Client, csrf: &str, changes: &[(&str, Option<&str>)]) -> Answer {
    let mut form: Vec<(&str, &str)> = vec![
        ("_csrf", csrf),
        ("enabled", "on"),
        ("cipher", "aes256"),
        ("names", "utf8"),
        ("password_to", "both"),
        ("password_length", "12"),
        ("password_delay", "0"),
        ("archive_name", "attachments.zip"),
        ("exempt_internal", "on"),
        ("exempt_recipients", ""),
        ("subject_tag", ""),
    ];
    for (key, value) in changes {
        form.retain(|(k, _)| k != key);
        if let Some(v) = value {
            form.push((key, v));
        }
    }
    c.post("/mail/encrypt", &form)
}

#[test]
fn panel_encrypt_turns_on_encryption_for_real_mail_and_off_only_with_the_password() {
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
    let page = admin.get("/mail/encrypt");
    assert_eq!(page.status, 200, "{page:?}\n{}", b.log());
    assert!(page.body.contains(r#"href="/mail/encrypt""#), "in the menu");
    assert!(
        page.body.contains("7-Zip") && page.body.contains(r#"id="no-rules""#),
        "{}",
        page.body
    );
    assert!(
        page.body.contains(r#"name="password_length" value="12""#),
        "{}",
        page.body
    );
    assert!(
        !page
            .body
            .contains(r#"id="enc-enabled" aria-describedby="enc-enabled-help" checked"#)
    );
    let t = page.csrf();

    // A password too short: refused next to its field, as typed, nothing saved.
    let a = general(&admin, &t, &[("password_length", Some("6"))]);
    assert_eq!(a.status, 400, "{a:?}");
    assert!(
        a.body.contains(r#"id="password-length-error""#),
        "{}",
        a.body
    );
    assert!(
        a.body.contains(r#"name="password_length" value="6""#)
            && a.body.contains(r#"<option value="both" selected>"#),
        "the values as typed: {}",
        a.body
    );
    assert_eq!(setting(&b, "encrypt.enabled"), false);
    // A stray word among the exempt recipients, likewise.
    let a = general(
        &admin,
        &t,
        &[("exempt_recipients", Some("partner.example.jp\nyamada"))],
    );
    assert_eq!(a.status, 400, "{a:?}");
    assert!(
        a.body.contains(r#"id="exempt-recipients-error""#) && a.body.contains("yamada"),
        "{}",
        a.body
    );
    // Without the session's token: refused.
    assert_eq!(general(&admin, "forged", &[]).status, 403);
    assert_eq!(setting(&b, "encrypt.enabled"), false);

    // On, the password to both, no delay.
    let a = general(&admin, &t, &[]);
    assert_eq!(
        (a.status, a.header("location")),
        (303, Some("/mail/encrypt?done=saved")),
        "{a:?}"
    );
    let page = admin.get("/mail/encrypt?done=saved");
    assert!(page.body.contains(r#"id="done""#), "{}", page.body);
    assert_eq!(setting(&b, "encrypt.enabled"), true);
    assert_eq!(setting(&b, "encrypt.password_to"), "both");
    assert_eq!(setting(&b, "encrypt.password_delay"), "0s");
    assert_eq!(setting(&b, "encrypt.password_length"), 12);

    // A rule: PDFs to the client's domain. Its name is taken in any case afterwards.
    let rule = |name: &str, types: &str| {
        admin.post(
            "/mail/encrypt/rule",
            &[
                ("_csrf", t.as_str()),
                ("name", name),
                ("senders", ""),
                ("recipients", "sink.test"),
                ("attachment_types", types),
                ("min_size", "0"),
                ("action", "encrypt"),
                ("cipher", ""),
                ("names", ""),
                ("password_to", ""),
            ],
        )
    };
    let a = rule("取引先PDF", "pdf/");
    assert_eq!(a.status, 400, "{a:?}");
    assert!(a.body.contains(r#"id="rule-types-error""#), "{}", a.body);
    let a = rule("取引先PDF", ".pdf");
    assert_eq!(a.status, 303, "{a:?}");
    let page = admin.get(a.header("location").unwrap());
    assert!(
        page.body.contains(r#"id="done""#) && page.body.contains(r#"id="rules""#),
        "{}",
        page.body
    );
    let a = rule("取引先pdf", ".pdf");
    assert_eq!(a.status, 400, "{a:?}");
    assert!(a.body.contains(r#"id="rule-name-error""#), "{}", a.body);
    let rules = setting(&b, "encrypt.rules");
    assert_eq!(rules.as_array().map(Vec::len), Some(1), "{rules}");
    assert_eq!(rules[0]["attachment_types"], serde_json::json!([".pdf"]));
    assert!(rules[0]["cipher"].is_null(), "the section's: {rules}");

    // Real mail with a PDF to the client: the archive for the client, the password to the
    // client and to the sender.
    // A real office file that DLP reads through (nothing is held as unreadable).
    let pdf = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../firmware/dlp/tests/formats/files/clean-form-field.pdf");
    let (code, out) = python(
        SEND,
        &[
            &b.relay.to_string(),
            "kyaku@sink.test",
            pdf.to_str().unwrap(),
            "見積書.pdf",
        ],
    );
    assert_eq!(code, 0, "{out}");
    assert!(out.starts_with("250"), "{out}\n{}", b.log());
    assert!(
        wait_for(Duration::from_secs(30), || sink.count() >= 3),
        "{} message(s)\n{}",
        sink.count(),
        b.log()
    );
    let work = tempfile::tempdir().unwrap();
    let got = received(&sink, work.path());
    let copy = got
        .iter()
        .find(|(rcpts, files)| rcpts == &["kyaku@sink.test"] && !files.is_empty())
        .unwrap_or_else(|| panic!("no copy for the client: {got:?}"));
    assert_eq!(copy.1, ["attachments.zip"], "{got:?}");
    assert!(
        got.iter()
            .any(|(rcpts, files)| rcpts == &["taro@office.test"] && files.is_empty()),
        "the password mail to the sender: {got:?}"
    );

    // The rule goes; once more, it is not there.
    let a = admin.post(
        "/mail/encrypt/remove",
        &[("_csrf", t.as_str()), ("name", "取引先PDF")],
    );
    assert_eq!(a.status, 303, "{a:?}");
    let a = admin.post(
        "/mail/encrypt/remove",
        &[("_csrf", t.as_str()), ("name", "取引先PDF")],
    );
    assert_eq!(a.status, 404, "{a:?}");
    assert_eq!(setting(&b, "encrypt.rules"), serde_json::json!([]));

    // Past the re-authentication window, turning encryption off asks for the password:
    // refused without it, done with it.
    std::thread::sleep(
        (logged_in + WINDOW + Duration::from_secs(2)).saturating_duration_since(Instant::now()),
    );
    let page = admin.get("/mail/encrypt");
    assert!(page.body.contains(r#"id="enc-current""#), "{}", page.body);
    let a = general(&admin, &t, &[("enabled", None)]);
    assert_eq!(a.status, 403, "{a:?}");
    assert!(
        a.body.contains(r#"id="enabled-error""#) && a.body.contains(r#"id="enc-current""#),
        "{}",
        a.body
    );
    assert_eq!(setting(&b, "encrypt.enabled"), true, "still on");
    let a = general(
        &admin,
        &t,
        &[("enabled", None), ("password", Some(ADMIN_PW))],
    );
    assert_eq!(
        (a.status, a.header("location")),
        (303, Some("/mail/encrypt?done=saved")),
        "{a:?}"
    );
    assert_eq!(setting(&b, "encrypt.enabled"), false);

    // Each change in the panel's audit log with the person; the saves in the history.
    let audit = std::fs::read_to_string(b.data().join("admind/audit/admind/audit.jsonl")).unwrap();
    for event in [
        "panel_encrypt_saved",
        "panel_encrypt_rule_added",
        "panel_encrypt_rule_removed",
    ] {
        assert!(
            audit
                .lines()
                .any(|l| l.contains(event) && l.contains("tanaka")),
            "{event}: {audit}"
        );
    }
    let history = admin.get("/system/settings");
    assert!(
        history.body.contains("panel_encrypt_rule_added: 取引先PDF")
            && history.body.contains("panel_encrypt_saved: off (enabled)"),
        "{}",
        history.body
    );
}
