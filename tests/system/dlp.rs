//! DLP through the relay, with real clients: personal data in every charset and inside
//! attachments is found; the policy rejects, holds, tags and notifies; the quarantine
//! releases exactly once; everything lands in a verifiable audit log. The mail is built by
//! Python's `email` package (a real MUA library), valid numbers computed by the tests.

use std::time::Duration;

use crate::common::*;

/// The same twelve digits with the check digit off by one: not a My Number.
fn wrong_check(number: &str) -> String {
    let (head, last) = number.split_at(11);
    let d = last.parse::<u32>().unwrap();
    format!("{head}{}", (d + 1) % 10)
}

fn full_width(digits: &str) -> String {
    digits
        .chars()
        .map(|c| char::from_u32(0xFF10 + c.to_digit(10).unwrap()).unwrap())
        .collect()
}

/// Sends with smtplib a message built by a Python snippet that defines `msg`; prints
/// `OK <queue id>` or `REFUSED <code> <text>`.
fn send_python(m: &Mamori, build: &str, to: &str) -> String {
    let script = format!(
        r#"
import smtplib, sys, io, zipfile, base64
from email.mime.text import MIMEText
from email.mime.multipart import MIMEMultipart
from email.mime.application import MIMEApplication
from email.header import Header
{build}
msg['From'] = 'taro@office.test'
msg['To'] = sys.argv[2]
s = smtplib.SMTP('127.0.0.1', int(sys.argv[1]), timeout=30)
try:
    s.send_message(msg, 'taro@office.test', [sys.argv[2]])
    code, text = s.noop()
    print('OK')
except smtplib.SMTPDataError as e:
    print('REFUSED', e.smtp_code, e.smtp_error.decode('utf-8', 'replace'))
s.quit()
"#
    );
    let (code, out) = python(&script, &[&m.relay.to_string(), to]);
    assert_eq!(code, 0, "{out}");
    out
}

fn quarantine(m: &Mamori, args: &[&str]) -> (i32, String, String) {
    m.command("quarantine", args)
}

const REJECT_MY_NUMBER: &str = r#"
[[dlp.rules]]
name = "マイナンバー送信禁止"
detectors = ["my_number"]
scope = "outbound"
action = "reject"
"#;

#[test]
fn my_number_in_an_iso_2022_jp_body_is_rejected_and_a_wrong_check_digit_passes() {
    let sink = Sink::start();
    let m = Mamori::start(sink.port, None, REJECT_MY_NUMBER);
    let number = my_number("12345678901");
    let build = |digits: &str| {
        format!(
            "msg = MIMEText('お世話になっております。\\nマイナンバー：{}\\nよろしくお願いします。', 'plain', 'iso-2022-jp')\nmsg['Subject'] = Header('書類の件', 'iso-2022-jp')",
            full_width(digits)
        )
    };
    let out = send_python(&m, &build(&number), "client@sink.test");
    assert!(out.starts_with("REFUSED 550"), "{out}");
    assert!(out.contains("5.7.1"), "{out}");
    assert!(
        out.contains("マイナンバー送信禁止"),
        "the Japanese line names the rule: {out}"
    );
    assert!(out.contains("Please contact your administrator"), "{out}");
    assert!(
        !out.contains(&number),
        "the reply never echoes the number: {out}"
    );

    let out = send_python(&m, &build(&wrong_check(&number)), "client@sink.test");
    assert!(out.starts_with("OK"), "{out}");
    assert!(
        wait_for(Duration::from_secs(15), || sink.count() == 1),
        "{}",
        m.log()
    );
    assert_eq!(sink.count(), 1, "only the harmless message was delivered");
    let audit = std::fs::read_to_string(m.dir.path().join("data/audit/smtpd/audit.jsonl")).unwrap();
    assert!(audit.contains("\"action\":\"reject\""), "{audit}");
    assert!(
        !audit.contains(&number),
        "the audit log holds masked excerpts only"
    );
}

/// A DOCX (built here: the XML parts Word writes) with the number in a table cell.
const DOCX_IN_ZIP: &str = r#"
def docx(text):
    b = io.BytesIO()
    with zipfile.ZipFile(b, 'w', zipfile.ZIP_DEFLATED) as z:
        z.writestr('[Content_Types].xml', '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>')
        z.writestr('word/document.xml', '<?xml version="1.0"?><w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body><w:tbl><w:tr><w:tc><w:p><w:r><w:t>個人番号</w:t></w:r></w:p></w:tc><w:tc><w:p><w:r><w:t>' + text + '</w:t></w:r></w:p></w:tc></w:tr></w:tbl></w:body></w:document>')
    return b.getvalue()
outer = io.BytesIO()
with zipfile.ZipFile(outer, 'w', zipfile.ZIP_DEFLATED) as z:
    z.writestr('社員名簿.docx', docx(NUMBER))
msg = MIMEMultipart()
msg['Subject'] = '資料送付'
msg.attach(MIMEText('資料を添付します。', 'plain', 'utf-8'))
part = MIMEApplication(outer.getvalue(), 'zip')
part.add_header('Content-Disposition', 'attachment', filename=('utf-8', '', '資料.zip'))
msg.attach(part)
"#;

#[test]
fn a_my_number_in_a_docx_in_a_zip_is_held_and_release_delivers_exactly_once() {
    let sink = Sink::start();
    let m = Mamori::start(sink.port, None, "");
    let number = my_number("98765432109");
    let build = format!("NUMBER = '{}'\n{DOCX_IN_ZIP}", &number);
    let out = send_python(&m, &build, "client@sink.test");
    assert!(out.starts_with("OK"), "{out}");

    let (code, list, err) = quarantine(&m, &["--json", "list"]);
    assert_eq!(code, 0, "{err}");
    let held: serde_json::Value = serde_json::from_str(&list).unwrap();
    assert_eq!(held.as_array().unwrap().len(), 1, "{held}");
    assert_eq!(held[0]["rule"], "My Number sent outside");
    let id = held[0]["id"].as_str().unwrap().to_string();

    let (code, show, _) = quarantine(&m, &["show", &id]);
    assert_eq!(code, 0);
    assert!(show.contains("finding: my_number"), "{show}");
    assert!(
        show.contains("社員名簿.docx") && show.contains("word/document.xml"),
        "{show}"
    );
    assert!(
        show.contains(&format!("{}******{}", &number[..4], &number[10..])),
        "{show}"
    );
    assert!(!show.contains(&number), "never the full number: {show}");

    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(sink.count(), 0, "held mail is not delivered");

    // The queue's generic release is no side door out of the quarantine.
    let (code, _, err) = m.queue(&["release", &id]);
    assert_ne!(code, 0, "queue release of DLP-held mail must fail");
    assert!(
        err.contains("held by DLP") && err.contains("quarantine release"),
        "{err}"
    );
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(
        sink.count(),
        0,
        "still held after the refused queue release"
    );

    let (code, _, err) = quarantine(&m, &["release", &id]);
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = quarantine(&m, &["release", &id]);
    assert_eq!(code, 1, "a second release fails");
    assert!(
        err.contains("not held") || err.contains("no message"),
        "{err}"
    );
    assert!(
        wait_for(Duration::from_secs(15), || sink.count() == 1),
        "{}",
        m.log()
    );
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(sink.count(), 1, "delivered exactly once");

    let audit = std::fs::read_to_string(m.dir.path().join("data/audit/smtpd/audit.jsonl")).unwrap();
    assert!(audit.contains("\"event\":\"dlp_verdict\""), "{audit}");
    assert!(
        audit.contains("\"event\":\"quarantine_release\""),
        "{audit}"
    );
    let config = m.config.display().to_string();
    let (code, out, err) = mamori(&["audit-verify", "--config", &config]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("intact"), "{out}");
}

#[test]
fn mail_within_the_office_is_exempt_from_outbound_rules() {
    let sink = Sink::start();
    let extra = "[smtp]\noffice_domains = [\"office.test\", \"sink.test\"]\n";
    let m = Mamori::start(sink.port, None, extra);
    let build = format!(
        "msg = MIMEText('個人番号 {}', 'plain', 'utf-8')\nmsg['Subject'] = 'internal'",
        my_number("11122233344")
    );
    let out = send_python(&m, &build, "colleague@sink.test");
    assert!(out.starts_with("OK"), "{out}");
    assert!(
        wait_for(Duration::from_secs(15), || sink.count() == 1),
        "{}",
        m.log()
    );
    let (_, list, _) = quarantine(&m, &["--json", "list"]);
    assert_eq!(list.trim(), "[]", "nothing held for internal mail");
    // The same message to someone outside the office is held.
    let out = send_python(&m, &build, "client@outside.test");
    assert!(out.starts_with("OK"), "{out}");
    let (_, list, _) = quarantine(&m, &["--json", "list"]);
    let held: serde_json::Value = serde_json::from_str(&list).unwrap();
    assert_eq!(held.as_array().map(Vec::len), Some(1), "{held}");
}

#[test]
fn tag_and_notify_rules_mark_the_mail_and_tell_the_administrator_masked() {
    let sink = Sink::start();
    let extra = r#"
[dlp]
notify = ["admin@sink.test"]
[[dlp.rules]]
name = "cards"
detectors = ["credit_card"]
action = "tag"
tag = "[要確認]"
[[dlp.rules]]
name = "cards notice"
detectors = ["credit_card"]
action = "notify"
"#;
    let m = Mamori::start(sink.port, None, extra);
    let card = "4111 1111 1111 1111";
    let build = format!(
        "msg = MIMEText('カード番号: {card}', 'plain', 'shift_jis')\nmsg['Subject'] = Header('注文', 'iso-2022-jp')"
    );
    let out = send_python(&m, &build, "shop@sink.test");
    assert!(out.starts_with("OK"), "{out}");
    assert!(
        wait_for(Duration::from_secs(20), || sink.count() == 2),
        "{}",
        m.log()
    );
    let messages: Vec<String> = sink.messages().into_iter().map(|(t, _)| t).collect();
    let notice = messages
        .iter()
        .find(|t| t.contains("X-Rcpt-Args: <admin@sink.test>") || t.contains("admin@sink.test"))
        .filter(|t| t.contains("Mamori DLP"))
        .unwrap_or_else(|| panic!("no notice: {messages:?}"));
    assert!(!notice.contains("4111 1111 1111 1111"), "{notice}");
    let tagged = messages.iter().find(|t| !t.contains("Mamori DLP")).unwrap();
    let subject = tagged
        .lines()
        .find(|l| l.starts_with("Subject:"))
        .unwrap_or_default();
    // "[要確認] " as a UTF-8 encoded word before the original encoded subject.
    assert!(
        subject.starts_with("Subject: =?UTF-8?B?W+imgeeiuuiqjV0g?= "),
        "{subject}"
    );
}

#[test]
fn an_archive_bomb_is_refused_quickly() {
    let sink = Sink::start();
    let m = Mamori::start(sink.port, None, "[smtp]\nmax_message_size = 20000000\n");
    let build = r#"
b = io.BytesIO()
with zipfile.ZipFile(b, 'w', zipfile.ZIP_DEFLATED, compresslevel=9) as z:
    z.writestr('zeros.txt', bytes(200 * 1024 * 1024))
msg = MIMEMultipart()
msg['Subject'] = 'bomb'
part = MIMEApplication(b.getvalue(), 'zip')
part.add_header('Content-Disposition', 'attachment', filename='big.zip')
msg.attach(part)
"#;
    let started = std::time::Instant::now();
    let out = send_python(&m, build, "x@sink.test");
    assert!(out.starts_with("REFUSED 550"), "{out}");
    assert!(out.contains("archive bomb"), "{out}");
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "the bomb was not expanded to the end"
    );
    assert_eq!(sink.count(), 0);
}

#[test]
fn dlp_scan_exits_like_grep_and_masks_numbers() {
    let dir = tempfile::tempdir().unwrap();
    let number = my_number("20250401123");
    // A CSV as Excel writes it in Japan: Shift_JIS, no declaration.
    let found = dir.path().join("名簿.csv");
    write_cp932(&found, &format!("氏名,個人番号\r\n山田太郎,{number}\r\n"));
    let clean = dir.path().join("clean.txt");
    std::fs::write(&clean, format!("注文番号 {}\n", wrong_check(&number))).unwrap();

    let path = |p: &std::path::Path| p.display().to_string();
    let (code, out, err) = mamori(&["dlp", "scan", &path(&found)]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("finding: my_number"), "{out}");
    assert!(out.contains("verdict: hold"), "{out}");
    assert!(!out.contains(&number), "{out}");

    let (code, out, _) = mamori(&["dlp", "scan", &path(&clean)]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("verdict: pass"), "{out}");

    let (code, _, err) = mamori(&["dlp", "scan", &path(&dir.path().join("missing"))]);
    assert_eq!(code, 2);
    assert!(err.contains("missing"), "{err}");

    let policy = dir.path().join("policy.toml");
    std::fs::write(
        &policy,
        "[[rules]]\nname = \"x\"\ndetectors = [\"nope\"]\naction = \"hold\"\n",
    )
    .unwrap();
    let (code, _, err) = mamori(&["dlp", "scan", "--policy", &path(&policy), &path(&found)]);
    assert_eq!(code, 2);
    assert!(err.contains("unknown detector \"nope\""), "{err}");

    let (code, out, _) = mamori(&[
        "dlp",
        "scan",
        "--json",
        "--to",
        "a@office.test",
        "--local-domain",
        "office.test",
        &path(&found),
    ]);
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(v["decision"]["action"], "pass", "internal mail passes: {v}");
    assert_eq!(v["findings"][0]["detector"], "my_number");
}

/// Writes `text` in CP932 with Python's codec (the test crate has no encoding library).
fn write_cp932(path: &std::path::Path, text: &str) {
    let (code, out) = python(
        "import sys; open(sys.argv[1], 'wb').write(sys.argv[2].encode('cp932'))",
        &[&path.display().to_string(), text],
    );
    assert_eq!(code, 0, "{out}");
    assert!(std::fs::read(path).unwrap().iter().any(|&b| b >= 0x80));
}

/// A large mail goes to the spool file while it arrives and is inspected from there: a My
/// Number in a base64 CSV attachment at its very end, megabytes past the first write to
/// disk, is still found and the mail refused with nothing left behind; the same mail
/// without it is delivered exactly as sent (Python's `email` reads both sides).
#[test]
fn a_my_number_at_the_end_of_a_large_mail_is_found_and_a_clean_one_arrives_intact() {
    let sink = Sink::start();
    let m = Mamori::start(sink.port, None, REJECT_MY_NUMBER);
    let number = my_number("12345678901");
    let build = |last: &str| {
        format!(
            "msg = MIMEMultipart()\nmsg['Subject'] = 'large {tag}'\nmsg.attach(MIMEText('資料を送ります。', 'plain', 'utf-8'))\nrows = ''.join(f'{{i}},山田 太郎,東京都千代田区{{i}}\\n' for i in range(60000)) + '{last}\\n'\npart = MIMEApplication(rows.encode('utf-8'), Name='meibo.csv')\npart['Content-Disposition'] = 'attachment; filename=\"meibo.csv\"'\nmsg.attach(part)",
            tag = if last.is_empty() { "clean" } else { "secret" },
        )
    };
    let out = send_python(
        &m,
        &build(&format!("個人番号,{number}")),
        "client@sink.test",
    );
    assert!(out.starts_with("REFUSED 550"), "{out}");
    let out = send_python(&m, &build(""), "client@sink.test");
    assert!(out.starts_with("OK"), "{out}");
    assert!(
        wait_for(Duration::from_secs(20), || sink.count() == 1),
        "{}",
        m.log()
    );
    let (dumped, _) = &sink.messages()[0];
    let check = r#"
import email, sys
raw = open(sys.argv[1], 'rb').read()
msg = email.message_from_bytes(raw)
att = [p for p in msg.walk() if p.get_filename() == 'meibo.csv'][0]
rows = att.get_payload(decode=True).decode('utf-8').splitlines()
assert len(rows) == 60001, len(rows)
assert rows[59999] == '59999,山田 太郎,東京都千代田区59999', rows[59999]
assert rows[60000] == '', rows[60000]
assert msg['Subject'] == 'large clean', msg['Subject']
print('intact', len(raw))
"#;
    let path = m.dir.path().join("delivered.eml");
    std::fs::write(&path, dumped).unwrap();
    let (code, out) = python(check, &[path.to_str().unwrap()]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("intact"), "{out}");
    let size: usize = out.split_whitespace().last().unwrap().parse().unwrap();
    assert!(size > 2_000_000, "large enough to stream: {size}");
    let tmp = m.dir.path().join("data/spool/tmp");
    assert_eq!(
        std::fs::read_dir(&tmp).unwrap().count(),
        0,
        "nothing half-written"
    );
}

/// A large mail is inspected while it arrives (each attachment once the next delimiter is
/// written): a My Number in the first of three attachments is found and the mail refused;
/// one in a part after the closing delimiter (where mail clients disagree, and where the
/// split made while arriving stops) is found too, the mail being walked afresh once whole;
/// the same mail without either is delivered.
#[test]
fn a_large_mail_inspected_while_it_arrives_decides_as_the_whole_mail_does() {
    let sink = Sink::start();
    let m = Mamori::start(sink.port, None, REJECT_MY_NUMBER);
    let number = my_number("23456789012");
    let build = |first: &str, late: &str| {
        format!(
            r#"
rows = ''.join(f'{{i}},見積 {{i}},東京都千代田区{{i}}\n' for i in range(40000)).encode('utf-8')
msg = MIMEMultipart()
msg['Subject'] = 'three files'
msg.attach(MIMEText('資料を3点送ります。', 'plain', 'utf-8'))
for name, data in [('first.csv', '{first}'.encode('utf-8') + b'\n' + rows[:100]), ('a.csv', rows), ('b.csv', rows)]:
    part = MIMEApplication(data, Name=name)
    part['Content-Disposition'] = 'attachment; filename="%s"' % name
    msg.attach(part)
msg.set_boundary('=_three')
if '{late}':
    late = base64.b64encode('{late}'.encode('utf-8')).decode()
    msg.epilogue = '--=_three\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n' + late + '\r\n'
"#
        )
    };
    let out = send_python(
        &m,
        &build(&format!("個人番号,{number}"), ""),
        "client@sink.test",
    );
    assert!(out.starts_with("REFUSED 550"), "{out}");
    let out = send_python(
        &m,
        &build("", &format!("個人番号 {number}")),
        "client@sink.test",
    );
    assert!(out.starts_with("REFUSED 550"), "{out}");
    let out = send_python(&m, &build("", ""), "client@sink.test");
    assert!(out.starts_with("OK"), "{out}");
    assert!(
        wait_for(Duration::from_secs(20), || sink.count() == 1),
        "{}",
        m.log()
    );
    let (delivered, _) = &sink.messages()[0];
    assert!(
        delivered.len() > 3_000_000,
        "large enough to stream: {}",
        delivered.len()
    );
    assert_eq!(
        std::fs::read_dir(m.dir.path().join("data/spool/tmp"))
            .unwrap()
            .count(),
        0,
        "nothing half-written"
    );
}
