#![allow(clippy::unwrap_used)]

use super::*;
use crate::spool::ClientInfo;
use base64::Engine as _;
use mamori_encrypt::EncryptRule;

const OFFICE: &str = "office.example.jp";

fn stage(config: &EncryptConfig, dir: &std::path::Path) -> EncryptStage {
    let audit = Arc::new(AuditLog::open(&dir.join("audit"), 1 << 20, 3).unwrap());
    EncryptStage::new(config, vec![OFFICE.into()], "gw.example.jp".into(), audit).unwrap()
}

fn audit_text(dir: &std::path::Path) -> String {
    std::fs::read_to_string(dir.join("audit/audit.jsonl")).unwrap_or_default()
}

fn mail(attachments: &[(&str, &str, &[u8])]) -> Vec<u8> {
    let mut m = String::from(
        "Received: from x\r\nFrom: taro@office.example.jp\r\nTo: client@example.com\r\nSubject: =?UTF-8?B?6KaL56mN5pu4?=\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n--b1\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\nお世話になっております。\r\n",
    );
    for (name, ct, data) in attachments {
        let b64 = base64::engine::general_purpose::STANDARD.encode(data);
        m.push_str(&format!(
            "--b1\r\nContent-Type: {ct}; name=\"{name}\"\r\nContent-Disposition: attachment; filename=\"{name}\"\r\nContent-Transfer-Encoding: base64\r\n\r\n"
        ));
        for line in b64.as_bytes().chunks(76) {
            m.push_str(std::str::from_utf8(line).unwrap());
            m.push_str("\r\n");
        }
    }
    m.push_str("--b1--\r\n");
    m.into_bytes()
}

fn staged(content: Vec<u8>, rcpts: &[&str]) -> StagedMessage {
    let client = ClientInfo {
        sender_verified: true,
        ..ClientInfo::default()
    };
    let env = Envelope::new(
        "QMAIN".into(),
        "taro@office.example.jp".into(),
        rcpts.iter().map(|r| Recipient::new(*r)).collect(),
        client,
    );
    StagedMessage::new(env, content)
}

fn enabled() -> EncryptConfig {
    EncryptConfig {
        enabled: true,
        ..EncryptConfig::default()
    }
}

/// The names of the attachments of `content`, as DLP's outline reads them.
fn attachment_names(content: &[u8]) -> Vec<String> {
    let o = outline(content).unwrap();
    attachments(&o)
        .into_iter()
        .filter_map(|n| match n {
            Node::Attachment { name, .. } => name.clone(),
            _ => None,
        })
        .collect()
}

#[test]
fn mail_to_outside_gets_its_attachments_packed_and_the_password_follows_later() {
    let dir = tempfile::tempdir().unwrap();
    let s = stage(&enabled(), dir.path());
    let original = mail(&[("見積書.pdf", "application/pdf", b"%PDF-1.7 quote")]);
    let mut m = staged(original.clone(), &["client@example.com"]);
    let before = crate::datetime::unix_now();
    assert_eq!(s.process(&mut m), Verdict::Accept);
    assert!(m.rewritten());
    assert_eq!(attachment_names(m.content()), ["attachments.zip"]);
    assert_eq!(m.envelope.recipients.len(), 1);
    assert_eq!(m.envelope.size, m.content().len() as u64);
    // The notice is in the body, in its charset (UTF-8, 8bit here).
    let text = String::from_utf8_lossy(m.content()).into_owned();
    assert!(text.contains("添付ファイル暗号化のお知らせ"), "{text}");
    // One password mail, to the sender by default, due after the delay.
    assert_eq!(m.companions.len(), 1);
    let (env, content) = &m.companions[0];
    assert_eq!(env.recipients[0].address, "taro@office.example.jp");
    assert!(env.internal);
    assert!(env.next_attempt >= before + 300, "{}", env.next_attempt);
    let body = String::from_utf8_lossy(content);
    assert!(body.contains("Auto-Submitted: auto-generated"), "{body}");
    // The audit log names the copy and the files, never the password.
    let audit = audit_text(dir.path());
    assert!(audit.contains("attachments_encrypted"), "{audit}");
    assert!(audit.contains("見積書.pdf"), "{audit}");
    let password = password_in(content);
    assert_eq!(password.len(), 12);
    assert!(!audit.contains(&password), "{audit}");
}

/// The password in a password mail (its body is base64 or QP: decoded by the outline).
fn password_in(mail: &[u8]) -> String {
    let o = outline(mail).unwrap();
    let Node::Body {
        content, transfer, ..
    } = &o.root
    else {
        panic!("a text mail");
    };
    let text = String::from_utf8(transfer.decode(&mail[content.clone()])).unwrap();
    let line = text
        .lines()
        .find(|l| l.starts_with("Password: "))
        .expect("a password line");
    line["Password: ".len()..].trim().to_owned()
}

#[test]
fn a_mail_to_the_office_and_outside_is_split_and_the_office_copy_is_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    let config = EncryptConfig {
        password_to: PasswordTo::Both,
        ..enabled()
    };
    let s = stage(&config, dir.path());
    let original = mail(&[("a.xlsx", "application/octet-stream", b"PK\x03\x04 sheet")]);
    let mut m = staged(
        original.clone(),
        &[
            "hanako@office.example.jp",
            "client@example.com",
            "b@example.net",
        ],
    );
    assert_eq!(s.process(&mut m), Verdict::Accept);
    assert!(!m.rewritten(), "the original stays for the office");
    assert_eq!(m.content(), &original[..]);
    let kept: Vec<&str> = m
        .envelope
        .recipients
        .iter()
        .map(|r| r.address.as_str())
        .collect();
    assert_eq!(kept, ["hanako@office.example.jp"]);
    // The copy for outside, then the password to the sender and to the two recipients.
    assert_eq!(m.companions.len(), 3);
    let (copy, content) = &m.companions[0];
    let outside: Vec<&str> = copy.recipients.iter().map(|r| r.address.as_str()).collect();
    assert_eq!(outside, ["client@example.com", "b@example.net"]);
    assert!(
        !copy.internal,
        "the copy is the sender's mail, paced as such"
    );
    assert_eq!(attachment_names(content), ["attachments.zip"]);
    let to_sender = &m.companions[1];
    let to_recipients = &m.companions[2];
    assert_eq!(to_sender.0.recipients[0].address, "taro@office.example.jp");
    assert_eq!(to_recipients.0.mail_from, "taro@office.example.jp");
    assert_eq!(to_recipients.0.recipients.len(), 2);
    assert_eq!(password_in(&to_sender.1), password_in(&to_recipients.1));
}

#[test]
fn two_rules_make_two_copies_with_their_own_passwords() {
    let dir = tempfile::tempdir().unwrap();
    let config = EncryptConfig {
        rules: vec![
            EncryptRule {
                name: "legacy".into(),
                recipients: vec!["legacy.example.com".into()],
                cipher: Some(mamori_encrypt::Cipher::ZipCrypto),
                ..EncryptRule::default()
            },
            EncryptRule {
                name: "all".into(),
                ..EncryptRule::default()
            },
        ],
        ..enabled()
    };
    let s = stage(&config, dir.path());
    let mut m = staged(
        mail(&[("a.txt", "text/plain", b"hello")]),
        &["x@legacy.example.com", "y@example.com"],
    );
    assert_eq!(s.process(&mut m), Verdict::Accept);
    // The message carries the first copy (nobody gets the original); the second is a
    // companion; each has a password mail.
    assert!(m.rewritten());
    let mails: Vec<&(Envelope, Vec<u8>)> =
        m.companions.iter().filter(|(e, _)| e.internal).collect();
    assert_eq!(mails.len(), 2);
    assert_ne!(password_in(&mails[0].1), password_in(&mails[1].1));
    assert_eq!(m.envelope.recipients.len() + m.companions.len() - 2, 2);
}

#[test]
fn office_only_mail_without_attachments_and_encrypted_zips_pass_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    let s = stage(&enabled(), dir.path());
    let original = mail(&[("a.pdf", "application/pdf", b"%PDF")]);
    let mut m = staged(original.clone(), &["hanako@office.example.jp"]);
    assert_eq!(s.process(&mut m), Verdict::Accept);
    assert!(!m.rewritten() && m.companions.is_empty());
    let mut m = staged(mail(&[]), &["client@example.com"]);
    assert_eq!(s.process(&mut m), Verdict::Accept);
    assert!(!m.rewritten() && m.companions.is_empty());
    // An AES ZIP the sender made: not wrapped again.
    let (zip, _) = mamori_encrypt::pack(
        std::io::Cursor::new(Vec::new()),
        [Entry {
            name: "x.txt".into(),
            data: &b"secret"[..],
        }],
        &Password::from_text("pw-pw-pw-pw"),
        &Options::default(),
    )
    .unwrap();
    let mut m = staged(
        mail(&[("secret.zip", "application/zip", &zip.into_inner())]),
        &["client@example.com"],
    );
    assert_eq!(s.process(&mut m), Verdict::Accept);
    assert!(!m.rewritten() && m.companions.is_empty());
    assert!(!audit_text(dir.path()).contains("attachments_encrypted"));
}

#[test]
fn signed_or_ambiguous_mail_is_held_and_generated_mail_is_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    let s = stage(&enabled(), dir.path());
    let signed = b"From: taro@office.example.jp\r\nMIME-Version: 1.0\r\nContent-Type: multipart/signed; protocol=\"application/pkcs7-signature\"; boundary=s\r\n\r\n--s\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nhi\r\n--b\r\nContent-Type: application/pdf; name=a.pdf\r\nContent-Disposition: attachment; filename=a.pdf\r\n\r\n%PDF\r\n--b--\r\n--s\r\nContent-Type: application/pkcs7-signature; name=smime.p7s\r\n\r\nMIIB\r\n--s--\r\n".to_vec();
    let mut m = staged(signed, &["client@example.com"]);
    match s.process(&mut m) {
        Verdict::Hold { reason } => assert!(reason.contains("signed"), "{reason}"),
        v => panic!("{v:?}"),
    }
    let ambiguous = b"From: a@office.example.jp\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=a\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--a\r\nContent-Type: application/pdf; name=a.pdf\r\n\r\n%PDF\r\n--a--\r\n".to_vec();
    let mut m = staged(ambiguous, &["client@example.com"]);
    assert!(matches!(s.process(&mut m), Verdict::Hold { .. }));
    let mut m = staged(
        mail(&[("a.pdf", "application/pdf", b"%PDF")]),
        &["client@example.com"],
    );
    m.envelope.internal = true;
    assert_eq!(s.process(&mut m), Verdict::Accept);
    assert!(!m.rewritten());
}

#[test]
fn dlp_asking_with_nothing_to_encrypt_holds() {
    let dir = tempfile::tempdir().unwrap();
    let config = EncryptConfig {
        rules: vec![EncryptRule {
            name: "pdf only".into(),
            attachment_types: vec![".pdf".into()],
            ..EncryptRule::default()
        }],
        ..enabled()
    };
    let s = stage(&config, dir.path());
    let dlp = crate::spool::DlpRecord {
        action: Action::Encrypt,
        rule: Some("my number".into()),
        explanation: Vec::new(),
        findings: Vec::new(),
        problems: Vec::new(),
        totals: Default::default(),
    };
    // A spreadsheet the rules would not encrypt: DLP's asking is enough.
    let mut m = staged(
        mail(&[("a.csv", "text/csv", b"a,b")]),
        &["client@example.com"],
    );
    m.envelope.dlp = Some(dlp.clone());
    assert_eq!(s.process(&mut m), Verdict::Accept);
    assert!(m.rewritten());
    // Only an encrypted file (S/MIME enveloped data): nothing left to encrypt.
    let enveloped: &[u8] = &[
        0x30, 0x80, 0x06, 0x09, 0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x07, 0x03, 0xA0,
    ];
    let mut m = staged(
        mail(&[("a.p7m", "application/pkcs7-mime", enveloped)]),
        &["client@example.com"],
    );
    m.envelope.dlp = Some(dlp);
    assert!(matches!(s.process(&mut m), Verdict::Hold { .. }));
}

#[test]
fn pictures_of_an_html_body_stay_and_a_forwarded_message_gets_a_name() {
    let dir = tempfile::tempdir().unwrap();
    let s = stage(&enabled(), dir.path());
    let html_with_logo = b"From: taro@office.example.jp\r\nSubject: x\r\nMIME-Version: 1.0\r\nContent-Type: multipart/related; boundary=r\r\n\r\n--r\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<p>hi <img src=\"cid:logo\"></p>\r\n--r\r\nContent-Type: image/png; name=logo.png\r\nContent-ID: <logo>\r\nContent-Disposition: inline; filename=logo.png\r\n\r\n\x89PNG\r\n--r--\r\n".to_vec();
    let mut m = staged(html_with_logo, &["client@example.com"]);
    assert_eq!(s.process(&mut m), Verdict::Accept);
    assert!(
        !m.rewritten() && m.companions.is_empty(),
        "a signature logo is no attachment"
    );
    let forwarded = b"From: taro@office.example.jp\r\nSubject: Fw\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=f\r\n\r\n--f\r\nContent-Type: text/plain\r\n\r\nsee below\r\n--f\r\nContent-Type: message/rfc822\r\n\r\nFrom: a@b.c\r\nSubject: inner\r\n\r\ninner body\r\n--f--\r\n".to_vec();
    let mut m = staged(forwarded, &["client@example.com"]);
    assert_eq!(s.process(&mut m), Verdict::Accept);
    assert!(m.rewritten());
    let audit = audit_text(dir.path());
    assert!(audit.contains("\"name\":\"message.eml\""), "{audit}");
}

#[test]
fn the_password_mail_to_recipients_names_none_of_them() {
    let dir = tempfile::tempdir().unwrap();
    let config = EncryptConfig {
        password_to: PasswordTo::Recipients,
        ..enabled()
    };
    let s = stage(&config, dir.path());
    let mut m = staged(
        mail(&[("a.pdf", "application/pdf", b"%PDF")]),
        &["client@example.com", "hidden-bcc@example.net"],
    );
    assert_eq!(s.process(&mut m), Verdict::Accept);
    assert_eq!(m.companions.len(), 1);
    let (env, content) = &m.companions[0];
    assert_eq!(env.recipients.len(), 2);
    let text = String::from_utf8_lossy(content);
    assert!(text.contains("To: undisclosed-recipients:;"), "{text}");
    assert!(!text.contains("hidden-bcc"), "{text}");
}

#[test]
fn more_differently_made_copies_than_allowed_are_held() {
    let dir = tempfile::tempdir().unwrap();
    let rule = |name: &str, domain: &str, cipher, names, to| EncryptRule {
        name: name.into(),
        recipients: vec![domain.into()],
        cipher: Some(cipher),
        names: Some(names),
        password_to: Some(to),
        ..EncryptRule::default()
    };
    use mamori_encrypt::{Cipher::*, NameCharset::*};
    let config = EncryptConfig {
        rules: vec![
            rule("a", "a.example", Aes256, Utf8, PasswordTo::Sender),
            rule("b", "b.example", ZipCrypto, Utf8, PasswordTo::Sender),
            rule("c", "c.example", Aes256, Cp932, PasswordTo::Sender),
            rule("d", "d.example", Aes256, Utf8, PasswordTo::Both),
            rule("e", "e.example", ZipCrypto, Cp932, PasswordTo::Both),
        ],
        ..enabled()
    };
    let s = stage(&config, dir.path());
    let rcpts = [
        "x@a.example",
        "x@b.example",
        "x@c.example",
        "x@d.example",
        "x@e.example",
    ];
    let mut m = staged(mail(&[("a.txt", "text/plain", b"hi")]), &rcpts);
    match s.process(&mut m) {
        Verdict::Hold { reason } => assert!(reason.contains("copies"), "{reason}"),
        v => panic!("{v:?}"),
    }
    assert!(m.companions.is_empty() && !m.rewritten());
    // Four are made.
    let mut m = staged(mail(&[("a.txt", "text/plain", b"hi")]), &rcpts[..4]);
    assert_eq!(s.process(&mut m), Verdict::Accept);
    assert_eq!(m.companions.iter().filter(|(e, _)| !e.internal).count(), 3);
}

#[test]
fn copies_never_carry_the_message_s_own_hold_time() {
    // A FUTURERELEASE time on the message must not become the copy's own timer.
    let dir = tempfile::tempdir().unwrap();
    let s = stage(&enabled(), dir.path());
    let mut m = staged(
        mail(&[("a.pdf", "application/pdf", b"%PDF")]),
        &["hanako@office.example.jp", "client@example.com"],
    );
    m.envelope.hold_until = Some(crate::datetime::unix_now() + 1);
    assert_eq!(s.process(&mut m), Verdict::Accept);
    let copy = m.companions.iter().find(|(e, _)| !e.internal).unwrap();
    assert_eq!(copy.0.hold_until, None);
    assert_eq!(copy.0.hold_kind, None);
}

#[test]
fn a_file_uuencoded_in_the_text_holds_the_mail() {
    let dir = tempfile::tempdir().unwrap();
    let s = stage(&enabled(), dir.path());
    let mail = b"From: taro@office.example.jp\r\nSubject: x\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nsee\r\nbegin 644 list.csv\r\nC;F%M92QM>2!N=6UB97(*>6%M861A+#$R,S0U-C<X.3`Q.`H`\r\n`\r\nend\r\n--b\r\nContent-Type: application/pdf; name=a.pdf\r\nContent-Disposition: attachment; filename=a.pdf\r\n\r\n%PDF\r\n--b--\r\n".to_vec();
    let mut m = staged(mail, &["client@example.com"]);
    match s.process(&mut m) {
        Verdict::Hold { reason } => assert!(reason.contains("uuencoded"), "{reason}"),
        v => panic!("{v:?}"),
    }
    // "begin" in prose is no file.
    let prose = mail_with_text("begin 2026 with a plan\r\nMore to come.");
    let mut m = staged(prose, &["client@example.com"]);
    assert_eq!(s.process(&mut m), Verdict::Accept);
    assert!(m.rewritten());
}

fn mail_with_text(text: &str) -> Vec<u8> {
    format!("From: taro@office.example.jp\r\nSubject: x\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\n{text}\r\n--b\r\nContent-Type: application/pdf; name=a.pdf\r\nContent-Disposition: attachment; filename=a.pdf\r\n\r\n%PDF\r\n--b--\r\n").into_bytes()
}

#[test]
fn link_mode_takes_the_attachments_out_seals_them_and_tells_the_sender_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let config = EncryptConfig {
        mode: mamori_encrypt::Mode::Link,
        link_url: "https://files.example.jp:8443".into(),
        ..enabled()
    };
    let store = mamori_links::Store::new(dir.path().join("links"));
    let s = stage(&config, dir.path()).with_links(store.clone(), "https://gw.example.jp/".into());
    let original = mail(&[
        ("見積書.pdf", "application/pdf", b"%PDF-1.7 quote"),
        ("a.csv", "text/csv", b"name,number\r\n"),
    ]);
    let mut m = staged(
        original,
        &["client@example.com", "hanako@office.example.jp"],
    );
    let now = crate::datetime::unix_now();
    assert_eq!(s.process(&mut m), Verdict::Accept);
    // The office keeps the original; the outside copy has no attachment, only the link.
    assert_eq!(m.envelope.recipients[0].address, "hanako@office.example.jp");
    let (copy_env, copy) = m
        .companions
        .iter()
        .find(|(e, _)| e.recipients[0].address == "client@example.com")
        .expect("the copy");
    assert!(copy_env.companions.is_empty());
    assert!(attachment_names(copy).is_empty());
    let text = String::from_utf8_lossy(copy).into_owned();
    let url = text
        .lines()
        .find(|l| l.starts_with("https://files.example.jp:8443/d/"))
        .expect("the link")
        .trim()
        .to_owned();
    let parts: Vec<&str> = url.rsplit('/').take(2).collect();
    let (secret, id) = (
        mamori_links::Secret::parse(parts[0]).unwrap(),
        mamori_links::LinkId::parse(parts[1]).unwrap(),
    );
    let link = store.load(&id).unwrap().unwrap();
    assert_eq!(link.record.files.len(), 2);
    assert_eq!(link.record.recipients, ["client@example.com"]);
    assert_eq!(link.record.max_downloads, 3);
    assert!(link.record.password_hash.is_none());
    assert!(secret.matches(
        &link.record.verifier,
        mamori_links::token::Purpose::Download
    ));
    let mut pdf = Vec::new();
    std::io::Read::read_to_end(&mut store.open_file(&id, 0, &secret).unwrap(), &mut pdf).unwrap();
    assert_eq!(pdf, b"%PDF-1.7 quote");
    // The sender's receipt goes at once and carries the link's page, no password mail
    // follows (the link has none).
    let receipts: Vec<_> = m
        .companions
        .iter()
        .filter(|(e, _)| e.recipients[0].address == "taro@office.example.jp")
        .collect();
    assert_eq!(receipts.len(), 1);
    assert!(receipts[0].0.next_attempt <= now + 1);
    let receipt = String::from_utf8_lossy(&receipts[0].1).into_owned();
    assert!(receipt.contains("Auto-Submitted: auto-generated"));
    assert_eq!(m.companions.len(), 2, "the copy and the receipt");
    let audit = audit_text(dir.path());
    assert!(
        audit.contains(id.as_str()) && audit.contains("\"link\""),
        "{audit}"
    );
    assert!(!audit.contains(&secret.encode()), "{audit}");
}

#[test]
fn link_mode_without_a_store_holds_the_mail_and_leaves_nothing_behind() {
    let dir = tempfile::tempdir().unwrap();
    let config = EncryptConfig {
        mode: mamori_encrypt::Mode::Link,
        link_url: "https://files.example.jp".into(),
        ..enabled()
    };
    let s = stage(&config, dir.path());
    let mut m = staged(
        mail(&[("a.pdf", "application/pdf", b"%PDF")]),
        &["client@example.com"],
    );
    assert!(matches!(s.process(&mut m), Verdict::Hold { .. }));
    assert!(m.companions.is_empty());
}
