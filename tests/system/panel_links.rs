//! Link mode's pages on the panel, end to end on the whole box (`mamori run`: the relay in
//! link mode, `linkd` and the panel): mail with attachments is sent with smtplib, the
//! sender's receipt and the recipient's link are read from `smtp-sink`'s dumps with
//! Python's `email`, a file is downloaded from `linkd` with `curl`. The sender's page
//! shows the files and downloads; opening it changes nothing; a wrong secret learns
//! nothing; a POST from another origin is refused; its button revokes the link once (the
//! relay's list and `linkd` agree). The staff's list shows the links to every role; an
//! auditor gets no button and a forged revocation from one is refused, while an
//! administrator's revocation is recorded in the panel's and the relay's audit logs.

use std::process::Command;
use std::time::Duration;

use crate::common::{Sink, free_port, mamori, python, require, wait_for};
use crate::panel_box::{PanelBox, add_user, create_admin};

const ADMIN_PW: &str = "hanabi-to-yukata-2026";
const AUDITOR_PW: &str = "mori-no-kage-fumi";

/// Sends from taro@office.test to argv[2] a mail with subject argv[3] and two attachments.
const SEND: &str = r#"
import smtplib, sys
from email.message import EmailMessage
port, rcpt, subject = sys.argv[1], sys.argv[2], sys.argv[3]
msg = EmailMessage()
msg['From'] = 'taro@office.test'
msg['To'] = rcpt
msg['Subject'] = subject
msg.set_content('資料をお送りします。')
msg.add_attachment('覚え書き'.encode(), maintype='text', subtype='plain', filename='memo.txt')
msg.add_attachment('品目,金額\r\n保守,50000\r\n'.encode(), maintype='text', subtype='csv', filename='見積書.csv')
s = smtplib.SMTP('127.0.0.1', int(port), timeout=30)
s.sendmail('taro@office.test', [rcpt], msg.as_bytes(policy=msg.policy.clone(linesep='\r\n')))
s.quit()
"#;

/// The links in the sink's dumps (directory argv[1]) whose subject or text mentions
/// argv[2]: the sender's page (`MANAGE /links/ID/TOKEN`, the panel's base left off) and
/// the download page (`DOWNLOAD https://…/d/ID/SECRET`).
const LINKS: &str = r#"
import sys, os, re, email, email.policy
seen = set()
for name in sorted(os.listdir(sys.argv[1])):
    raw = open(os.path.join(sys.argv[1], name), 'rb').read()
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    text = ''
    for part in msg.walk():
        if part.get_content_type() == 'text/plain' and not part.get_filename():
            text += part.get_content()
    if sys.argv[2] not in text and sys.argv[2] not in str(msg.get('Subject', '')):
        continue
    for m in re.finditer(r'https://[^/\s]+(/links/[0-9a-f]{32}/[A-Za-z0-9_-]{43})', text):
        seen.add('MANAGE ' + m.group(1))
    for m in re.finditer(r'(https://[^/\s]+/d/[0-9a-f]{32}/[A-Za-z0-9_-]{43})', text):
        seen.add('DOWNLOAD ' + m.group(1))
for line in sorted(seen):
    print(line)
"#;

/// The sender's page path and the download page URL of the mail with `subject`.
fn links_of(sink: &Sink, subject: &str) -> Option<(String, String)> {
    let dumps = sink.dir.path().join("dump");
    let (code, out) = python(LINKS, &[dumps.to_str().unwrap(), subject]);
    assert_eq!(code, 0, "{out}");
    let find = |tag: &str| -> Option<String> {
        let found: Vec<&str> = out.lines().filter_map(|l| l.strip_prefix(tag)).collect();
        assert!(found.len() <= 1, "one link each: {out}");
        found.first().map(|l| l.to_string())
    };
    Some((find("MANAGE ")?, find("DOWNLOAD ")?))
}

/// `curl` to `linkd` (its self-signed certificate not checked: the links test checks it);
/// POSTs `form` when given. The HTTP status.
fn linkd(url: &str, form: Option<&str>) -> u16 {
    let mut cmd = Command::new("curl");
    cmd.args([
        "-sk",
        "--max-time",
        "30",
        "-o",
        "/dev/null",
        "-w",
        "%{http_code}",
    ]);
    if let Some(data) = form {
        cmd.args(["--data", data]);
    }
    let out = cmd.arg(url).output().expect("run curl");
    String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .unwrap_or(0)
}

/// The relay's list of links (`mamori links --json list` on its control socket).
fn relay_links(b: &PanelBox) -> Vec<serde_json::Value> {
    let socket = b.data().join("smtpd.sock");
    let (code, out, err) = mamori(&[
        "links",
        "--socket",
        socket.to_str().unwrap(),
        "--json",
        "list",
    ]);
    assert_eq!(code, 0, "{err}");
    serde_json::from_str::<serde_json::Value>(&out)
        .unwrap()
        .as_array()
        .cloned()
        .unwrap_or_default()
}

/// The relay's summary of link `id`.
fn relay_link(b: &PanelBox, id: &str) -> serde_json::Value {
    relay_links(b)
        .into_iter()
        .find(|l| l["id"] == id)
        .unwrap_or_else(|| panic!("link {id} is not listed"))
}

#[test]
fn the_sender_s_link_page_revokes_only_on_its_own_button_and_staff_see_links_by_role() {
    require("curl");
    let sink = Sink::start();
    let lport = free_port();
    let b = PanelBox::start(&format!(
        "[smtp]\noffice_domains = [\"office.test\"]\n\n\
         [[smtp.delivery.routes]]\ndomain = \"sink.test\"\nhost = \"127.0.0.1\"\nport = {0}\n\n\
         [[smtp.delivery.routes]]\ndomain = \"office.test\"\nhost = \"127.0.0.1\"\nport = {0}\n\n\
         [encrypt]\nenabled = true\nmode = \"link\"\nlink_url = \"https://localhost:{lport}\"\n\n\
         [links]\nlisten = \"127.0.0.1:{lport}\"\n",
        sink.port
    ));
    let relay = b.relay.to_string();
    for subject in ["mitsumori-link", "second-link"] {
        let (code, out) = python(SEND, &[&relay, "client@sink.test", subject]);
        assert_eq!(code, 0, "{out}\n{}", b.log());
    }
    assert!(
        wait_for(Duration::from_secs(30), || links_of(
            &sink,
            "mitsumori-link"
        )
        .is_some()
            && links_of(&sink, "second-link").is_some()),
        "the receipts and the links' mails: {}",
        b.log()
    );
    let (page, download) = links_of(&sink, "mitsumori-link").unwrap();
    let (second_page, _) = links_of(&sink, "second-link").unwrap();
    let id = page.split('/').nth(2).unwrap().to_string();
    let token = page.rsplit('/').next().unwrap().to_string();
    let second = second_page.split('/').nth(2).unwrap().to_string();
    assert_ne!(id, second);

    // The recipient downloads one file: the sender's page shows it.
    assert_eq!(linkd(&download, None), 200, "{}", b.log());
    assert_eq!(linkd(&format!("{download}/0"), Some("")), 200);

    // Opening the page (as a scanner would, twice) shows the link and changes nothing.
    let visitor = b.client();
    for _ in 0..2 {
        let a = visitor.get(&page);
        assert_eq!(a.status, 200, "{a:?}");
        for words in [
            "mitsumori-link",
            "client@sink.test",
            "memo.txt",
            "見積書.csv",
            "1 / 3",
            "0 / 3",
            "127.0.0.1",
            "(JST)",
            "有効(ダウンロードできます)",
            "Open (the files can be downloaded)",
            r#"id="link-revoke""#,
        ] {
            assert!(a.body.contains(words), "{words}: {}", a.body);
        }
    }
    assert_eq!(relay_link(&b, &id)["state"], "open");

    // A wrong secret, and one of the wrong shape, learn nothing and are not asked about.
    let mut wrong = page.clone();
    let last = wrong.pop().unwrap();
    wrong.push(if last == 'A' { 'B' } else { 'A' });
    for path in [wrong.clone(), format!("/links/{id}/short")] {
        let a = visitor.get(&path);
        assert_eq!(a.status, 404, "{a:?}");
        assert!(!a.body.contains("mitsumori-link"), "{}", a.body);
        assert!(!a.body.contains("link-revoke"), "{}", a.body);
        let a = visitor.post(&path, &[("action", "revoke")]);
        assert_eq!(a.status, 404, "{a:?}");
    }
    // A POST from another site is refused before it reaches the relay.
    let forged = visitor.post_with(
        &page,
        &[("action", "revoke")],
        &["-H".into(), "Origin: https://evil.example".into()],
    );
    assert_eq!(forged.status, 403, "{forged:?}");
    assert_eq!(relay_link(&b, &id)["state"], "open");
    assert_eq!(linkd(&download, None), 200, "still open");

    // The staff's list: an administrator sees both links, each with its button.
    let admin = create_admin(&b, "tanaka", ADMIN_PW);
    let list = admin.get("/mail/links");
    assert_eq!(list.status, 200, "{list:?}");
    assert!(
        list.body.contains(r#"href="/mail/links""#),
        "in the navigation"
    );
    for link in [&id, &second] {
        assert!(
            list.body.contains(&format!(r#"id="link-{link}""#)),
            "{}",
            list.body
        );
        assert!(list.body.contains(&format!(r#"id="revoke-{link}""#)));
    }
    assert!(list.body.contains("mitsumori-link") && list.body.contains("taro@office.test"));
    assert!(list.body.contains("127.0.0.1"), "the last download");
    assert!(
        !list.body.contains(&token),
        "the sender's secret is not shown"
    );
    // An auditor sees them too, without buttons; a forged revocation is refused.
    let auditor = add_user(&b, &admin, "suzuki", "auditor", AUDITOR_PW);
    let seen = auditor.get("/mail/links");
    assert_eq!(seen.status, 200, "{seen:?}");
    assert!(seen.body.contains(&format!(r#"id="link-{id}""#)));
    assert!(!seen.body.contains("id=\"revoke-"), "{}", seen.body);
    let csrf = seen.csrf();
    let refused = auditor.post(&format!("/mail/links/{second}/revoke"), &[("_csrf", &csrf)]);
    assert_eq!(refused.status, 403, "{refused:?}");
    // Without the session's CSRF token, an administrator's revocation is refused too.
    let refused = admin.post(&format!("/mail/links/{second}/revoke"), &[("_csrf", "x")]);
    assert_eq!(refused.status, 403, "{refused:?}");
    assert_eq!(relay_link(&b, &second)["state"], "open");

    // The sender's button revokes the link, once.
    let done = visitor.post(&page, &[("action", "revoke")]);
    assert_eq!(done.status, 200, "{done:?}");
    assert!(
        done.body.contains("リンクを無効にしました"),
        "{}",
        done.body
    );
    assert!(done.body.contains("The link is revoked"), "{}", done.body);
    assert!(!done.body.contains(r#"id="link-revoke""#), "{}", done.body);
    let again = visitor.post(&page, &[("action", "revoke")]);
    assert_eq!(again.status, 200, "{again:?}");
    assert!(again.body.contains("すでに無効"), "{}", again.body);
    let after = visitor.get(&page);
    assert!(
        after.body.contains(r#"data-state="revoked""#),
        "{}",
        after.body
    );
    assert!(!after.body.contains(r#"id="link-revoke""#));
    let revoked = relay_link(&b, &id);
    assert_eq!(revoked["state"], "revoked");
    assert_eq!(revoked["revoked"]["by"], "sender");
    assert_eq!(linkd(&download, None), 410, "linkd refuses it");
    assert_eq!(linkd(&format!("{download}/1"), Some("")), 410);

    // An administrator revokes the other one from the list.
    let csrf = admin.get("/mail/links").csrf();
    let a = admin.post(&format!("/mail/links/{second}/revoke"), &[("_csrf", &csrf)]);
    assert_eq!(a.status, 303, "{a:?}");
    let list = admin.get(a.header("location").unwrap());
    assert!(list.body.contains(r#"id="done""#), "{}", list.body);
    assert!(!list.body.contains("id=\"revoke-"), "{}", list.body);
    assert_eq!(relay_link(&b, &second)["state"], "revoked");
    let a = admin.post(&format!("/mail/links/{second}/revoke"), &[("_csrf", &csrf)]);
    assert_eq!(a.status, 409, "a second revocation: {a:?}");

    // Both logs have who revoked what; neither has the secret, nor does the daemons' log.
    let panel_audit =
        std::fs::read_to_string(b.data().join("admind/audit/admind/audit.jsonl")).unwrap();
    assert!(
        panel_audit.lines().any(|l| l.contains("panel_link_revoke")
            && l.contains(&second)
            && l.contains("tanaka")),
        "{panel_audit}"
    );
    let relay_audit =
        std::fs::read_to_string(b.data().join("audit/smtpd/audit.jsonl")).unwrap_or_default();
    assert!(
        relay_audit
            .lines()
            .any(|l| l.contains("link_revoked") && l.contains(&id) && l.contains("sender")),
        "{relay_audit}"
    );
    assert!(
        relay_audit
            .lines()
            .any(|l| l.contains("link_revoked") && l.contains(&second) && l.contains("tanaka")),
        "{relay_audit}"
    );
    for text in [&panel_audit, &relay_audit, &b.log()] {
        assert!(!text.contains(&token), "the secret is never logged");
    }

    // Guessing secrets costs time: a source that keeps opening nothing must wait.
    let statuses: Vec<u16> = (0..8).map(|_| visitor.get(&wrong).status).collect();
    assert!(statuses.contains(&429), "{statuses:?}");
    let waited = visitor.get(&page);
    assert_eq!(waited.status, 429, "even the right link waits");
    assert!(waited.header("retry-after").is_some(), "{waited:?}");
}
