//! Attachment encryption through the relay, with real peers: mail built and read by
//! Python's `email`, sent with smtplib, received by Postfix's `smtp-sink`; the archives
//! opened by 7-Zip (`7zz`), `pyzipper` and Info-ZIP `unzip` with the password the
//! password mail carries, and compared byte for byte with what was sent.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use crate::common::*;

/// The Python of the virtual environment with pyzipper (`ci/install-deps.sh`).
pub(crate) fn venv_python() -> PathBuf {
    std::env::var_os("MAMORI_FORMATS_PYTHON").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/formats-venv/bin/python"),
        PathBuf::from,
    )
}

pub(crate) fn run_python(script: &str, args: &[&str]) -> (i32, String) {
    let out = std::process::Command::new(venv_python())
        .arg("-c")
        .arg(script)
        .args(args)
        .output()
        .expect("run the venv's python (ci/install-deps.sh makes it)");
    let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
    text.push_str(&String::from_utf8_lossy(&out.stderr));
    (out.status.code().unwrap_or(-1), text)
}

/// Builds a mail with a text body in `charset` and the attachments `files` (name, path),
/// sends it to `rcpts` (comma-separated) and prints the final reply.
const SEND: &str = r#"
import smtplib, sys, os
from email.mime.text import MIMEText
from email.mime.multipart import MIMEMultipart
from email.mime.application import MIMEApplication
from email.header import Header
port, rcpts, charset, body = sys.argv[1], sys.argv[2].split(','), sys.argv[3], sys.argv[4]
msg = MIMEMultipart()
msg['From'] = 'taro@office.test'
msg['To'] = ', '.join(rcpts)
msg['Subject'] = Header('お見積りの件', 'iso-2022-jp')
msg.attach(MIMEText(body, 'plain', charset))
for spec in sys.argv[5:]:
    name, path = spec.split('=', 1)
    part = MIMEApplication(open(path, 'rb').read(), 'octet-stream')
    part.add_header('Content-Disposition', 'attachment', filename=('utf-8', '', name))
    msg.attach(part)
s = smtplib.SMTP('127.0.0.1', int(port), timeout=60)
s.ehlo('pc.office.test')
s.mail('taro@office.test')
for r in rcpts:
    s.rcpt(r)
code, text = s.data(msg.as_bytes(policy=msg.policy.clone(linesep='\r\n')))
print(code, text.decode())
s.quit()
"#;

/// Reads a dump of smtp-sink (argv[1]): prints its recipients, every attachment saved into
/// argv[2] (one line each: `ATTACHMENT name`), the text bodies (`TEXT …`), and the
/// password a password mail carries (`PASSWORD …`).
const READ: &str = r#"
import sys, os, email, email.policy, re
raw = open(sys.argv[1], 'rb').read()
head, _, rest = raw.partition(b'\r\n\r\n') if raw.startswith(b'X-') else (b'', b'', raw)
for line in raw.split(b'\n'):
    if line.startswith(b'X-Rcpt-Args:'):
        print('RCPT', line.split(b'<')[1].split(b'>')[0].decode())
msg = email.message_from_bytes(raw, policy=email.policy.default)
print('SUBJECT', msg['Subject'])
for part in msg.walk():
    if part.is_multipart():
        continue
    name = part.get_filename()
    if name:
        data = part.get_payload(decode=True)
        open(os.path.join(sys.argv[2], name), 'wb').write(data)
        print('ATTACHMENT', name)
    else:
        text = part.get_content()
        for line in text.splitlines():
            print('TEXT', line)
            m = re.match(r'^(?:Password|パスワード): (\S+)$', line.strip())
            if m:
                print('PASSWORD', m.group(1))
"#;

/// What a dump holds.
#[derive(Debug, Default)]
pub(crate) struct Dump {
    pub(crate) rcpts: Vec<String>,
    pub(crate) subject: String,
    pub(crate) attachments: Vec<String>,
    pub(crate) text: String,
    pub(crate) password: Option<String>,
    pub(crate) at: Option<SystemTime>,
}

pub(crate) fn read_dump(content: &str, at: SystemTime, out: &Path) -> Dump {
    let file = out.join(format!("dump-{}.eml", rand_name()));
    std::fs::write(&file, content).unwrap();
    let (code, text) = run_python(READ, &[file.to_str().unwrap(), out.to_str().unwrap()]);
    assert_eq!(code, 0, "{text}");
    let mut d = Dump {
        at: Some(at),
        ..Dump::default()
    };
    for line in text.lines() {
        if let Some(r) = line.strip_prefix("RCPT ") {
            d.rcpts.push(r.to_string());
        } else if let Some(s) = line.strip_prefix("SUBJECT ") {
            d.subject = s.to_string();
        } else if let Some(a) = line.strip_prefix("ATTACHMENT ") {
            d.attachments.push(a.to_string());
        } else if let Some(t) = line.strip_prefix("TEXT ") {
            d.text.push_str(t);
            d.text.push('\n');
        } else if let Some(p) = line.strip_prefix("PASSWORD ") {
            d.password.get_or_insert_with(|| p.to_string());
        }
    }
    d
}

fn rand_name() -> String {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static N: AtomicUsize = AtomicUsize::new(0);
    N.fetch_add(1, Ordering::Relaxed).to_string()
}

/// Every dump of the sink, read, each attachment saved under `out/<n>/`.
pub(crate) fn dumps(sink: &Sink, out: &Path) -> Vec<Dump> {
    sink.messages()
        .into_iter()
        .enumerate()
        .map(|(n, (content, at))| {
            let dir = out.join(n.to_string());
            std::fs::create_dir_all(&dir).unwrap();
            read_dump(&content, at, &dir)
        })
        .collect()
}

/// A clean file of the DLP format corpus (real office files).
pub(crate) fn corpus(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../firmware/dlp/tests/formats/files")
        .join(name)
}

pub(crate) fn send(
    m: &Mamori,
    rcpts: &str,
    charset: &str,
    body: &str,
    files: &[(&str, &Path)],
) -> String {
    let specs: Vec<String> = files
        .iter()
        .map(|(n, p)| format!("{n}={}", p.display()))
        .collect();
    let mut args = vec![
        m.relay.to_string(),
        rcpts.into(),
        charset.into(),
        body.into(),
    ];
    args.extend(specs);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let (code, out) = run_python(SEND, &args);
    assert_eq!(code, 0, "{out}");
    assert!(out.starts_with("250"), "{out}\n{}", m.log());
    out
}

/// Opens `zip` with pyzipper and the password: prints each name and the SHA-256 of its
/// content; exits 3 when the password is wrong.
const PYZIPPER: &str = r#"
import sys, hashlib, pyzipper
try:
    with pyzipper.AESZipFile(sys.argv[1]) as z:
        z.setpassword(sys.argv[2].encode())
        for info in z.infolist():
            print(info.filename, hashlib.sha256(z.read(info)).hexdigest(), info.flag_bits & 0x800 != 0)
except RuntimeError as e:
    print('WRONG', e)
    sys.exit(3)
"#;

pub(crate) fn sha256(path: &Path) -> String {
    let out = std::process::Command::new("sha256sum")
        .arg(path)
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .next()
        .unwrap()
        .to_string()
}

const OFFICE: &str = r#"
[smtp]
office_domains = ["office.test"]
"#;

pub(crate) fn office_route(sink_port: u16) -> String {
    format!(
        "{OFFICE}\n[[smtp.delivery.routes]]\ndomain = \"office.test\"\nhost = \"127.0.0.1\"\nport = {sink_port}\n"
    )
}

#[test]
fn outside_recipients_get_an_aes_zip_that_7zip_and_pyzipper_open_and_the_office_the_original() {
    require("7zz");
    let sink = Sink::start();
    let extra = format!(
        "{}\n[encrypt]\nenabled = true\npassword_to = \"both\"\npassword_delay = \"4s\"\n",
        office_route(sink.port)
    );
    let m = Mamori::start(sink.port, None, &extra);
    let work = tempfile::tempdir().unwrap();
    // Real office files (DLP reads them: nothing is held as unreadable), and a large
    // text that deflates.
    let pdf = corpus("clean-form-field.pdf");
    let xlsx = corpus("clean-xlsx-string.xlsx");
    let txt = work.path().join("memo.txt");
    std::fs::write(&txt, "社外秘ではない覚え書き\n".repeat(2000)).unwrap();
    send(
        &m,
        "client@sink.test,hanako@office.test",
        "iso-2022-jp",
        "いつもお世話になっております。\n見積書をお送りします。",
        &[
            ("見積書.pdf", &pdf),
            ("一覧.xlsx", &xlsx),
            ("memo.txt", &txt),
        ],
    );
    // The original for the office, the encrypted copy for the client, then (after the
    // delay) the password to the sender and to the client.
    assert!(
        wait_for(Duration::from_secs(40), || sink.count() >= 4),
        "{}",
        m.log()
    );
    std::thread::sleep(Duration::from_secs(2));
    let out = tempfile::tempdir().unwrap();
    let all = dumps(&sink, out.path());
    assert_eq!(all.len(), 4, "{all:#?}");
    let for_office = all
        .iter()
        .find(|d| d.rcpts == ["hanako@office.test"] && d.password.is_none())
        .expect("the original for the office");
    assert_eq!(
        for_office.attachments,
        ["見積書.pdf", "一覧.xlsx", "memo.txt"]
    );
    assert!(!for_office.text.contains("暗号化"), "{}", for_office.text);
    let copy = all
        .iter()
        .find(|d| d.rcpts == ["client@sink.test"] && d.password.is_none())
        .expect("the encrypted copy");
    assert_eq!(copy.attachments, ["attachments.zip"]);
    assert!(
        copy.text.contains("添付ファイル暗号化のお知らせ"),
        "{}",
        copy.text
    );
    assert!(
        copy.text.contains("7-Zip"),
        "the notice names the tools: {}",
        copy.text
    );
    assert!(
        copy.text.contains("見積書をお送りします"),
        "the body is kept: {}",
        copy.text
    );
    let to_client = all
        .iter()
        .find(|d| d.rcpts == ["client@sink.test"] && d.password.is_some())
        .expect("the password mail to the client");
    let to_sender = all
        .iter()
        .find(|d| d.rcpts == ["taro@office.test"])
        .expect("the password mail to the sender");
    let password = to_client.password.clone().unwrap();
    assert_eq!(to_sender.password.as_deref(), Some(password.as_str()));
    assert!(
        to_client.subject.contains("お見積りの件"),
        "{}",
        to_client.subject
    );
    let gap = to_client
        .at
        .unwrap()
        .duration_since(copy.at.unwrap())
        .unwrap_or_default();
    assert!(
        gap >= Duration::from_secs(3),
        "the password came {gap:?} after the archive"
    );

    // pyzipper: every file byte-identical, UTF-8 names flagged; the wrong password fails.
    let zip = out
        .path()
        .join(
            all.iter()
                .position(|d| std::ptr::eq(d, copy))
                .unwrap()
                .to_string(),
        )
        .join("attachments.zip");
    let (code, listing) = run_python(PYZIPPER, &[zip.to_str().unwrap(), &password]);
    assert_eq!(code, 0, "{listing}");
    // (The UTF-8 flag where a name needs it: an ASCII name is the same either way.)
    for (name, path) in [
        ("見積書.pdf", &pdf),
        ("一覧.xlsx", &xlsx),
        ("memo.txt", &txt),
    ] {
        let flag = if name.is_ascii() { "False" } else { "True" };
        assert!(
            listing.contains(&format!("{name} {} {flag}", sha256(path))),
            "{name}: {listing}"
        );
    }
    let (code, wrong) = run_python(PYZIPPER, &[zip.to_str().unwrap(), "not-the-password"]);
    assert_eq!(code, 3, "{wrong}");

    // 7-Zip: extracts the same bytes; tests fail with the wrong password.
    let x = work.path().join("x");
    let st = std::process::Command::new("7zz")
        .args([
            "x",
            "-y",
            &format!("-p{password}"),
            &format!("-o{}", x.display()),
        ])
        .arg(&zip)
        .output()
        .unwrap();
    assert!(
        st.status.success(),
        "{}",
        String::from_utf8_lossy(&st.stdout)
    );
    assert_eq!(sha256(&x.join("見積書.pdf")), sha256(&pdf));
    assert_eq!(sha256(&x.join("memo.txt")), sha256(&txt));
    let st = std::process::Command::new("7zz")
        .args(["t", "-pwrong-password"])
        .arg(&zip)
        .output()
        .unwrap();
    assert!(!st.status.success(), "7-Zip must refuse the wrong password");

    // The audit log records the encryption, never the password.
    let audit = std::fs::read_to_string(m.dir.path().join("data/audit/smtpd/audit.jsonl")).unwrap();
    assert!(
        audit.contains("\"event\":\"attachments_encrypted\""),
        "{audit}"
    );
    assert!(!audit.contains(&password), "the password is never audited");
    assert!(!m.log().contains(&password), "the password is never logged");
}

#[test]
fn a_zipcrypto_rule_writes_cp932_names_that_unzip_opens() {
    require("unzip");
    let sink = Sink::start();
    let extra = format!(
        "{}\n[encrypt]\nenabled = true\npassword_delay = \"0s\"\n\n[[encrypt.rules]]\nname = \"old archivers\"\nrecipients = [\"legacy.sink.test\"]\ncipher = \"zipcrypto\"\nnames = \"cp932\"\n\n[[encrypt.rules]]\nname = \"everyone else\"\n",
        office_route(sink.port)
    );
    let m = Mamori::start(sink.port, None, &extra);
    assert!(
        m.log().contains("zipcrypto") || m.log().contains("ZipCrypto"),
        "the weaker cipher is warned about at start: {}",
        m.log()
    );
    let doc = corpus("clean-legacy-docx-table.doc");
    send(
        &m,
        "old@legacy.sink.test",
        "utf-8",
        "資料です。",
        &[("資料①.doc", &doc)],
    );
    assert!(
        wait_for(Duration::from_secs(30), || sink.count() >= 2),
        "{}",
        m.log()
    );
    std::thread::sleep(Duration::from_secs(1));
    let out = tempfile::tempdir().unwrap();
    let all = dumps(&sink, out.path());
    let n = all
        .iter()
        .position(|d| d.attachments == ["attachments.zip"])
        .expect("the copy");
    assert!(all[n].text.contains("ZipCrypto"), "{}", all[n].text);
    let password = all
        .iter()
        .find_map(|d| d.password.clone())
        .expect("the password mail (to the sender by default)");
    let zip = out.path().join(n.to_string()).join("attachments.zip");
    // Names in CP932 without the UTF-8 flag (①, which CP932 has, kept).
    let (code, names) = run_python(
        "import sys, zipfile\nz = zipfile.ZipFile(sys.argv[1], metadata_encoding='cp932')\nfor i in z.infolist(): print(i.filename, i.flag_bits & 0x800, i.flag_bits & 1)",
        &[zip.to_str().unwrap()],
    );
    assert_eq!(code, 0, "{names}");
    assert_eq!(names.trim(), "資料①.doc 0 1");
    // Info-ZIP unzip opens ZipCrypto: the content is the original.
    let st = std::process::Command::new("unzip")
        .args(["-p", "-P", &password])
        .arg(&zip)
        .output()
        .unwrap();
    assert!(
        st.status.success(),
        "{}",
        String::from_utf8_lossy(&st.stderr)
    );
    assert_eq!(st.stdout, std::fs::read(&doc).unwrap());
    let st = std::process::Command::new("unzip")
        .args(["-p", "-P", "wrong-password"])
        .arg(&zip)
        .output()
        .unwrap();
    assert_ne!(st.stdout, std::fs::read(&doc).unwrap());
}

#[test]
fn a_delayed_password_mail_survives_a_crash_and_is_sent_once() {
    let sink = Sink::start();
    let extra = format!(
        "{}\n[encrypt]\nenabled = true\npassword_to = \"recipients\"\npassword_delay = \"6s\"\n",
        office_route(sink.port)
    );
    let mut m = Mamori::start(sink.port, None, &extra);
    let pdf = corpus("clean-comment.pdf");
    let sent = SystemTime::now();
    send(
        &m,
        "client@sink.test",
        "utf-8",
        "送ります",
        &[("a.pdf", &pdf)],
    );
    // A power cut of the process right after the 250.
    m.kill();
    m.spawn();
    assert!(
        wait_for(Duration::from_secs(40), || sink.count() >= 2),
        "{}",
        m.log()
    );
    // Nothing more comes.
    std::thread::sleep(Duration::from_secs(4));
    let out = tempfile::tempdir().unwrap();
    let all = dumps(&sink, out.path());
    assert_eq!(all.len(), 2, "{all:#?}");
    let password = all.iter().find(|d| d.password.is_some()).expect("password");
    assert_eq!(password.rcpts, ["client@sink.test"]);
    let waited = password
        .at
        .unwrap()
        .duration_since(sent)
        .unwrap_or_default();
    assert!(waited >= Duration::from_secs(5), "sent after {waited:?}");
}

const DLP_ENCRYPT: &str = r#"
[[dlp.rules]]
name = "マイナンバーは暗号化"
detectors = ["my_number"]
scope = "outbound"
action = "encrypt"
"#;

#[test]
fn a_dlp_encrypt_rule_sends_numbers_in_files_encrypted_and_holds_them_in_the_text() {
    let sink = Sink::start();
    // Encryption for DLP's sake only: a skip-everything rule would otherwise send as is.
    let extra = format!(
        "{}\n{DLP_ENCRYPT}\n[encrypt]\nenabled = true\npassword_delay = \"0s\"\n\n[[encrypt.rules]]\nname = \"only when DLP asks\"\naction = \"skip\"\n",
        office_route(sink.port)
    );
    let m = Mamori::start(sink.port, None, &extra);
    let number = my_number("12345678901");
    let work = tempfile::tempdir().unwrap();
    let csv = work.path().join("名簿.csv");
    std::fs::write(&csv, format!("氏名,マイナンバー\n山田太郎,{number}\n")).unwrap();
    let plain = work.path().join("plain.txt");
    std::fs::write(&plain, "nothing personal\n").unwrap();

    // Without a number the skip rule sends it as it is.
    send(
        &m,
        "client@sink.test",
        "utf-8",
        "どうぞ",
        &[("plain.txt", &plain)],
    );
    // With the number in a file: encrypted, not held.
    send(
        &m,
        "client@sink.test",
        "utf-8",
        "名簿です",
        &[("名簿.csv", &csv)],
    );
    assert!(
        wait_for(Duration::from_secs(30), || sink.count() >= 3),
        "{}",
        m.log()
    );
    std::thread::sleep(Duration::from_secs(1));
    let out = tempfile::tempdir().unwrap();
    let all = dumps(&sink, out.path());
    assert_eq!(all.len(), 3, "{all:#?}");
    assert!(all.iter().any(|d| d.attachments == ["plain.txt"]));
    assert!(all.iter().any(|d| d.attachments == ["attachments.zip"]));
    for (content, _) in sink.messages() {
        assert!(
            !content.contains(&number),
            "the number never leaves in clear"
        );
    }
    let (code, list, _) = m.command("quarantine", &["--json", "list"]);
    assert_eq!(code, 0);
    assert_eq!(list.trim(), "[]", "nothing held");

    // The number in the body: encryption cannot protect it, so the mail is held …
    send(
        &m,
        "client@sink.test",
        "utf-8",
        &format!("マイナンバーは {number} です"),
        &[("plain.txt", &plain)],
    );
    std::thread::sleep(Duration::from_secs(2));
    let (code, list, _) = m.command("quarantine", &["--json", "list"]);
    assert_eq!(code, 0);
    let held: serde_json::Value = serde_json::from_str(&list).unwrap();
    assert_eq!(held.as_array().unwrap().len(), 1, "{held}");
    let id = held[0]["id"].as_str().unwrap().to_string();
    assert_eq!(sink.count(), 3, "held: nothing more delivered");
    // … and its encrypted copy and password mail wait with it; released, they go.
    let (code, _, err) = m.command("quarantine", &["release", &id]);
    assert_eq!(code, 0, "{err}");
    assert!(
        wait_for(Duration::from_secs(30), || sink.count() >= 5),
        "{}",
        m.log()
    );
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(sink.count(), 5, "the mail and its password mail, once each");
}
