//! Acceptance: what is relayed, what is refused, and how.

use std::time::Duration;

use crate::common::*;

#[test]
fn trusted_client_relays_through_to_the_sink() {
    let sink = Sink::start();
    let m = Mamori::start(sink.port, None, "");
    let out = m.send("taro@office.test", "hanako@sink.test", Some("relay-test-1"));
    assert!(out.contains("250 2.0.0 Ok: queued as"), "{out}");
    assert!(
        wait_for(Duration::from_secs(20), || sink.count() == 1),
        "not delivered; log:\n{}",
        m.log()
    );
    let (text, _) = &sink.messages()[0];
    assert!(text.contains("Subject: relay-test-1"), "{text}");
    assert!(
        text.contains(&format!(
            "by mamori-{}.test (Mamori) with ESMTP id",
            m.relay
        )),
        "Received header added: {text}"
    );
}

#[test]
fn smtplib_client_with_several_recipients_and_8bit_utf8() {
    let sink = Sink::start();
    let m = Mamori::start(sink.port, None, "");
    let script = r#"
import smtplib, sys
from email.message import EmailMessage
msg = EmailMessage()
msg["From"] = "taro@office.test"
msg["To"] = "a@sink.test, b@sink.test"
msg["Subject"] = "見積書の件"
msg.set_content("いつもお世話になっております。\n")
with smtplib.SMTP("127.0.0.1", int(sys.argv[1]), timeout=20) as s:
    s.ehlo("pc1.office.test")
    assert s.has_extn("8bitmime") and s.has_extn("smtputf8") and s.has_extn("pipelining")
    refused = s.send_message(msg, mail_options=["BODY=8BITMIME"])
    assert refused == {}, refused
print("ok")
"#;
    let (code, out) = python(script, &[&m.relay.to_string()]);
    assert_eq!(code, 0, "{out}");
    assert!(
        wait_for(Duration::from_secs(20), || sink.count() >= 1),
        "log:\n{}",
        m.log()
    );
    let all: String = sink.messages().into_iter().map(|(t, _)| t).collect();
    assert!(
        all.contains("a@sink.test") && all.contains("b@sink.test"),
        "{all}"
    );
}

#[test]
fn stranger_is_denied_relay_with_5_7_1() {
    let sink = Sink::start();
    // 127.0.0.1 is not trusted here: it stands for a stranger on the Internet.
    let m = Mamori::start(
        sink.port,
        None,
        "[smtp]\ntrusted_networks = [\"10.99.0.0/16\"]\n",
    );
    let (code, out) = swaks(&[
        "--server",
        &m.relay_addr().to_string(),
        "--from",
        "x@evil.test",
        "--to",
        "victim@sink.test",
    ]);
    assert_ne!(code, 0);
    assert!(
        out.contains("554 5.7.1 <victim@sink.test>: Relay access denied"),
        "{out}"
    );
    std::thread::sleep(Duration::from_secs(1));
    assert_eq!(sink.count(), 0, "an open relay would have delivered");
}

#[test]
fn oversize_message_is_refused_with_552() {
    let sink = Sink::start();
    let m = Mamori::start(sink.port, None, "[smtp]\nmax_message_size = 10000\n");
    let body = "x".repeat(900);
    let mut big = String::new();
    for _ in 0..20 {
        big.push_str(&body);
        big.push('\n');
    }
    let (code, out) = swaks(&[
        "--server",
        &m.relay_addr().to_string(),
        "--from",
        "a@office.test",
        "--to",
        "b@sink.test",
        "--body",
        &big,
    ]);
    assert_ne!(code, 0);
    assert!(out.contains("552 5.3.4"), "{out}");
    let (code, out) = python(
        "import smtplib,sys\ns=smtplib.SMTP('127.0.0.1',int(sys.argv[1]));s.ehlo('x')\nprint(s.mail('a@office.test',['SIZE=20000']))",
        &[&m.relay.to_string()],
    );
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("552") && out.contains("5.3.4"),
        "SIZE= announced too big: {out}"
    );
    assert_eq!(sink.count(), 0);
}

/// SMTP smuggling (CVE-2023-51764 family): `\n.\n` or `\r.\n` that a lax server takes as
/// the end of data, followed by a forged second message.
#[test]
fn smuggling_attempts_are_refused_and_nothing_forged_is_delivered() {
    let sink = Sink::start();
    let m = Mamori::start(sink.port, None, "");
    let script = r#"
import socket, sys
port, end = int(sys.argv[1]), sys.argv[2].encode().decode("unicode_escape").encode()
s = socket.create_connection(("127.0.0.1", port), timeout=20)
f = s.makefile("rb")
def reply():
    lines = []
    while True:
        l = f.readline().decode()
        lines.append(l)
        if len(l) < 4 or l[3] == " ":
            return "".join(lines)
reply()
for c in [b"EHLO attacker.test", b"MAIL FROM:<user@office.test>", b"RCPT TO:<victim@sink.test>", b"DATA"]:
    s.sendall(c + b"\r\n"); reply()
payload = (b"Subject: innocent\r\n\r\nhello" + end +
           b"MAIL FROM:<ceo@office.test>\r\nRCPT TO:<victim@sink.test>\r\nDATA\r\nSubject: forged\r\n\r\nsend money\r\n.\r\n")
s.sendall(payload)
print(reply().strip())
s.sendall(b"QUIT\r\n"); print(reply().strip())
"#;
    for end in [
        "\\n.\\n",
        "\\r.\\n",
        "\\n.\\r\\n",
        "\\r\\n.\\n",
        "\\r.\\r\\n",
    ] {
        let (code, out) = python(script, &[&m.relay.to_string(), end]);
        assert_eq!(code, 0, "{out}");
        assert!(out.starts_with("550 5.5.2"), "{end}: {out}");
    }
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(
        sink.count(),
        0,
        "neither the innocent nor the forged part may be delivered"
    );
}

#[test]
fn submission_starttls_then_auth_and_implicit_tls() {
    let sink = Sink::start();
    let hash = hash_password("kagi-no-aikotoba");
    assert!(hash.starts_with("$argon2id$"), "{hash}");
    let extra = format!("[[smtp.accounts]]\nusername = \"taro\"\npassword_hash = \"{hash}\"\n");
    let m = Mamori::start(sink.port, None, &extra);
    let sub = format!("127.0.0.1:{}", m.submission);
    // Without TLS, no AUTH and no relay.
    let (code, out) = swaks(&[
        "--server",
        &sub,
        "--from",
        "taro@office.test",
        "--to",
        "x@sink.test",
    ]);
    assert_ne!(code, 0);
    assert!(out.contains("530 5.7.0"), "{out}");
    // Wrong password over STARTTLS.
    let (code, out) = swaks(&[
        "--server",
        &sub,
        "-tls",
        "-a",
        "PLAIN",
        "-au",
        "taro",
        "-ap",
        "wrong-password",
        "--from",
        "taro@office.test",
        "--to",
        "x@sink.test",
    ]);
    assert_ne!(code, 0);
    assert!(out.contains("535 5.7.8"), "{out}");
    // Right password over STARTTLS, PLAIN and LOGIN.
    for mech in ["PLAIN", "LOGIN"] {
        let (code, out) = swaks(&[
            "--server",
            &sub,
            "-tls",
            "-a",
            mech,
            "-au",
            "taro",
            "-ap",
            "kagi-no-aikotoba",
            "--from",
            "taro@office.test",
            "--to",
            "x@sink.test",
            "--header",
            &format!("Subject: via-{mech}"),
        ]);
        assert_eq!(code, 0, "{out}");
        assert!(out.contains("235 2.7.0"), "{out}");
    }
    // Implicit TLS (465 style).
    let (code, out) = swaks(&[
        "--server",
        &format!("127.0.0.1:{}", m.smtps),
        "-tlsc",
        "-a",
        "PLAIN",
        "-au",
        "taro",
        "-ap",
        "kagi-no-aikotoba",
        "--from",
        "taro@office.test",
        "--to",
        "x@sink.test",
        "--header",
        "Subject: via-smtps",
    ]);
    assert_eq!(code, 0, "{out}");
    assert!(
        wait_for(Duration::from_secs(20), || sink.count() == 3),
        "log:\n{}",
        m.log()
    );
    let all: String = sink.messages().into_iter().map(|(t, _)| t).collect();
    assert!(all.contains("with ESMTPSA"), "{all}");
}

#[test]
fn carrier_addresses_breaking_rfc5321_are_accepted_and_delivered() {
    let sink = Sink::start();
    let m = Mamori::start(
        sink.port,
        None,
        "[[smtp.delivery.routes]]\ndomain = \"docomo.ne.jp\"\nhost = \"127.0.0.1\"\nport = SINK\n"
            .replace("SINK", &sink.port.to_string())
            .as_str(),
    );
    for rcpt in ["taro..yamada@docomo.ne.jp", "hanako.@docomo.ne.jp"] {
        let (code, out) = swaks(&[
            "--server",
            &m.relay_addr().to_string(),
            "--from",
            "a@office.test",
            "--to",
            rcpt,
        ]);
        assert_eq!(code, 0, "{rcpt}: {out}");
    }
    assert!(
        wait_for(Duration::from_secs(30), || sink.count() == 2),
        "log:\n{}",
        m.log()
    );
}
