//! The side doors of a relay with DLP, each shown closed with real clients: bounces that
//! carry mail out, senders who pretend to be someone else, mail loops, password-protected
//! files, strangers who hold every connection open, and the two jobs of the office's
//! domains.

use std::time::Duration;

use crate::common::*;

/// The office's own mail server as a script: it knows `boss@`, takes its mail at RCPT, and
/// refuses it at the end of DATA (a mailbox that is closed): the relay must then bounce.
const OFFICE_SERVER: &str = r#"
import socket, sys, threading
srv = socket.socket(); srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("127.0.0.1", int(sys.argv[1]))); srv.listen(16)
print("ready", flush=True)
def serve(c):
    f = c.makefile("rb")
    c.sendall(b"220 office-server ESMTP\r\n")
    while True:
        line = f.readline()
        if not line:
            return
        cmd = line.strip().upper()
        if cmd.startswith(b"EHLO") or cmd.startswith(b"HELO"):
            c.sendall(b"250 office-server\r\n")
        elif cmd.startswith(b"RCPT"):
            c.sendall(b"250 2.1.5 ok\r\n" if b"BOSS@" in cmd else b"550 5.1.1 no such user\r\n")
        elif cmd == b"DATA":
            c.sendall(b"354 go\r\n")
            while f.readline() not in (b".\r\n", b""):
                pass
            print("data refused", flush=True)
            c.sendall(b"550 5.2.1 mailbox disabled\r\n")
        elif cmd == b"QUIT":
            c.sendall(b"221 bye\r\n"); c.close(); return
        else:
            c.sendall(b"250 ok\r\n")
while True:
    c, _ = srv.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()
"#;

/// Sends from a client address with smtplib: `OK`, or `REFUSED <code> <text>` for the
/// first refusal.
fn send_from(
    source: &str,
    port: u16,
    from: &str,
    to: &str,
    body: &str,
    options: &[&str],
) -> String {
    let script = r#"
import smtplib, sys
source, port, sender, rcpt, body, options = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5], sys.argv[6:]
msg = ("From: <%s>\r\nTo: <%s>\r\nSubject: test\r\nMIME-Version: 1.0\r\n"
       "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n%s\r\n"
       % (sender, rcpt, body)).encode("utf-8")
try:
    s = smtplib.SMTP("127.0.0.1", port, timeout=30, source_address=(source, 0))
    s.sendmail(sender, [rcpt], msg, mail_options=options)
    s.quit()
    print("OK")
except smtplib.SMTPRecipientsRefused as e:
    code, text = list(e.recipients.values())[0]
    print("REFUSED", code, text.decode())
except smtplib.SMTPResponseException as e:
    print("REFUSED", e.smtp_code, e.smtp_error.decode())
"#;
    let port = port.to_string();
    let mut args = vec![source, &port, from, to, body];
    args.extend_from_slice(options);
    let (code, out) = python(script, &args);
    assert_eq!(code, 0, "{out}");
    out
}

/// The mail that bounces because the office's mailbox is closed was sent from the Internet
/// by a forged outside sender with RET=FULL: the bounce to that sender carries only the
/// header fields (no number), and it passed DLP like any outbound mail. A recipient the
/// office's server does not have is refused at RCPT: no bounce at all (no backscatter).
#[test]
fn a_bounce_to_a_forged_outside_sender_carries_no_body_and_passes_dlp() {
    let mut office = ScriptPeer::start(OFFICE_SERVER);
    let bounces = Sink::start();
    let extra = format!(
        r#"[smtp]
trusted_networks = ["127.0.0.200/32"]
office_domains = ["office.test"]
[[smtp.accepted_domains]]
domain = "office.test"
host = "127.0.0.1"
port = {}
verify = "callout"
"#,
        office.port
    );
    let m = Mamori::start(0, Some(bounces.port), &extra);
    let number = my_number("81726354901");
    let body = format!("個人番号 {number}");
    // Unknown at the office's server: refused now, nothing taken, nothing to bounce.
    let out = send_from(
        "127.0.0.1",
        m.relay,
        "evil@sender.test",
        "nobody@office.test",
        &body,
        &["RET=FULL"],
    );
    assert!(out.starts_with("REFUSED 550"), "{out}");
    // Known: taken, refused by the office's server at DATA, bounced.
    let out = send_from(
        "127.0.0.1",
        m.relay,
        "evil@sender.test",
        "boss@office.test",
        &body,
        &["RET=FULL"],
    );
    assert_eq!(out.trim(), "OK", "{out}");
    assert_eq!(
        office.next_line(Duration::from_secs(30)).as_deref(),
        Some("data refused"),
        "{}",
        m.log()
    );
    assert!(
        wait_for(Duration::from_secs(30), || bounces.count() == 1),
        "no bounce; log:\n{}",
        m.log()
    );
    let (bounce, _) = &bounces.messages()[0];
    assert!(bounce.contains("text/rfc822-headers"), "{bounce}");
    assert!(!bounce.contains("message/rfc822"), "{bounce}");
    assert!(
        !bounce.contains(&number),
        "the number left in the bounce: {bounce}"
    );
    // The bounce went through DLP (its audit record says it was generated).
    let audit = std::fs::read_dir(m.dir.path().join("data/audit/smtpd"))
        .unwrap()
        .filter_map(Result::ok)
        .map(|e| std::fs::read_to_string(e.path()).unwrap_or_default())
        .collect::<String>();
    assert!(
        audit.contains("\"generated\":true"),
        "no DLP verdict for the bounce: {audit}"
    );
    assert_eq!(bounces.count(), 1, "exactly one bounce");
}

/// An authenticated user may send only as the addresses of their account.
#[test]
fn an_authenticated_user_cannot_send_as_another() {
    let sink = Sink::start();
    let extra = format!(
        "[smtp]\noffice_domains = [\"office.test\"]\n[[smtp.accounts]]\nusername = \"taro\"\npassword_hash = \"{}\"\nsenders = [\"taro@office.test\"]\n",
        hash_password("taro-no-himitsu")
    );
    let m = Mamori::start(sink.port, None, &extra);
    let server = format!("127.0.0.1:{}", m.submission);
    let swaks_as = |from: &str| {
        swaks(&[
            "--server",
            &server,
            "--tls",
            "--auth",
            "PLAIN",
            "--auth-user",
            "taro",
            "--auth-password",
            "taro-no-himitsu",
            "--from",
            from,
            "--to",
            "x@sink.test",
        ])
    };
    let (code, out) = swaks_as("hanako@office.test");
    assert_ne!(code, 0, "{out}");
    assert!(
        out.contains(
            "553 5.7.1 <hanako@office.test>: Sender address rejected: not owned by user taro"
        ),
        "{out}"
    );
    let (code, out) = swaks_as("ceo@bank.example");
    assert_ne!(code, 0, "{out}");
    let (code, out) = swaks_as("taro@office.test");
    assert_eq!(code, 0, "{out}");
    assert!(
        wait_for(Duration::from_secs(20), || sink.count() == 1),
        "{}",
        m.log()
    );
}

/// A message that has passed more than 50 relays is in a loop: refused 554 5.4.6. A route
/// that leads back to the box itself is refused before the daemon starts.
#[test]
fn a_mail_loop_is_cut() {
    let sink = Sink::start();
    let m = Mamori::start(
        sink.port,
        None,
        "[smtp]\noffice_domains = [\"office.test\"]\n",
    );
    let script = r#"
import smtplib, sys
hops = int(sys.argv[2])
received = "".join("Received: from relay%d by relay%d; Thu, 3 Dec 2026 00:00:00 +0900\r\n" % (i, i + 1) for i in range(hops))
msg = (received + "From: a@office.test\r\nTo: b@sink.test\r\nSubject: loop\r\n\r\nhi\r\n").encode()
s = smtplib.SMTP("127.0.0.1", int(sys.argv[1]), timeout=30)
try:
    s.sendmail("a@office.test", ["b@sink.test"], msg)
    print("OK")
except smtplib.SMTPDataError as e:
    print("REFUSED", e.smtp_code, e.smtp_error.decode())
s.quit()
"#;
    let (_, out) = python(script, &[&m.relay.to_string(), "50"]);
    assert_eq!(out.trim(), "OK");
    let (_, out) = python(script, &[&m.relay.to_string(), "51"]);
    assert!(out.starts_with("REFUSED 554 5.4.6"), "{out}");
    assert!(
        wait_for(Duration::from_secs(20), || sink.count() == 1),
        "{}",
        m.log()
    );

    // A route to the box's own relay port: the configuration is refused, naming the key.
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let config = dir.path().join("loop.toml");
    std::fs::write(
        &config,
        format!(
            "[general]\ndata_dir = \"{}\"\nhostname = \"loop.test\"\n[[smtp.listeners]]\nkind = \"relay\"\naddress = \"127.0.0.1:{port}\"\n[[smtp.delivery.routes]]\ndomain = \"example.test\"\nhost = \"127.0.0.1\"\nport = {port}\n",
            dir.path().join("data").display()
        ),
    )
    .unwrap();
    let (code, _, err) = mamori(&["smtpd", "--config", &config.display().to_string()]);
    assert_ne!(code, 0);
    assert!(
        err.contains("smtp.delivery.routes[0].host") && err.contains("loop back"),
        "{err}"
    );
}

/// A password-protected ZIP sent outside is held (Mamori cannot read it), and the sender is
/// told why and what to do instead, in Japanese and English.
#[test]
fn a_password_protected_zip_is_held_and_the_sender_is_told_the_better_way() {
    let sink = Sink::start();
    let extra = format!(
        "[smtp]\noffice_domains = [\"office.test\"]\n[[smtp.delivery.routes]]\ndomain = \"office.test\"\nhost = \"127.0.0.1\"\nport = {}\n",
        sink.port
    );
    let m = Mamori::start(sink.port, None, &extra);
    let corpus = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../dlp/tests/evasion/mails/75-zipcrypto-ppap.eml");
    let script = r#"
import smtplib, sys
raw = open(sys.argv[2], "rb").read()
s = smtplib.SMTP("127.0.0.1", int(sys.argv[1]), timeout=30)
s.sendmail("taro@office.test", ["client@outside.test"], raw)
s.quit()
print("OK")
"#;
    let (code, out) = python(
        script,
        &[&m.relay.to_string(), &corpus.display().to_string()],
    );
    assert_eq!((code, out.trim()), (0, "OK"), "{out}");
    let (_, list, _) = m.command("quarantine", &["--json", "list"]);
    let held: serde_json::Value = serde_json::from_str(&list).unwrap();
    assert_eq!(held.as_array().map(Vec::len), Some(1), "{held}");
    assert_eq!(
        held[0]["rule"].as_str(),
        Some("password-protected attachment sent outside"),
        "{held}"
    );
    // The notice to the sender (the only mail that reaches the sink).
    assert!(
        wait_for(Duration::from_secs(20), || sink.count() == 1),
        "{}",
        m.log()
    );
    let (notice, _) = &sink.messages()[0];
    assert!(notice.contains("Auto-Submitted: auto-replied"), "{notice}");
    let decoder = r#"
import email, email.policy, sys
m = email.message_from_bytes(open(sys.argv[1], "rb").read(), policy=email.policy.default)
print(m["To"]); print(m.get_body(("plain",)).get_content())
"#;
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), notice).unwrap();
    let (_, text) = python(decoder, &[&file.path().display().to_string()]);
    assert!(text.contains("taro@office.test"), "{text}");
    assert!(text.contains("パスワードを付けず"), "{text}");
    assert!(text.contains("without a password"), "{text}");
}

/// An office whose mailboxes live at its provider: its domain is the office's (internal for
/// DLP) but not accepted from the Internet. Mail to a colleague goes out to the provider
/// unheld; the same to a client is held; a stranger cannot use the box to reach the office.
#[test]
fn an_office_with_mailboxes_at_its_provider_relays_with_the_right_split() {
    let provider = Sink::start();
    let extra = format!(
        "[smtp]\ntrusted_networks = [\"127.0.0.1/32\"]\noffice_domains = [\"office.test\"]\n[[smtp.delivery.routes]]\ndomain = \"office.test\"\nhost = \"127.0.0.1\"\nport = {p}\n[[smtp.delivery.routes]]\ndomain = \"outside.test\"\nhost = \"127.0.0.1\"\nport = {p}\n",
        p = provider.port
    );
    let m = Mamori::start(0, None, &extra);
    let body = format!("個人番号 {}", my_number("55544433322"));
    let out = send_from(
        "127.0.0.1",
        m.relay,
        "taro@office.test",
        "hanako@office.test",
        &body,
        &[],
    );
    assert_eq!(out.trim(), "OK");
    assert!(
        wait_for(Duration::from_secs(20), || provider.count() == 1),
        "{}",
        m.log()
    );
    let out = send_from(
        "127.0.0.1",
        m.relay,
        "taro@office.test",
        "client@outside.test",
        &body,
        &[],
    );
    assert_eq!(out.trim(), "OK");
    let (_, list, _) = m.command("quarantine", &["--json", "list"]);
    let held: serde_json::Value = serde_json::from_str(&list).unwrap();
    assert_eq!(held.as_array().map(Vec::len), Some(1), "{held}");
    // The sender is told (through the provider: the office's mailboxes are there).
    assert!(
        wait_for(Duration::from_secs(20), || provider.count() == 2),
        "{}",
        m.log()
    );
    let notice = provider
        .messages()
        .into_iter()
        .find(|(t, _)| t.contains("Auto-Submitted: auto-replied"));
    assert!(notice.is_some_and(|(t, _)| t.contains("taro@office.test")));
    // A stranger (another address than the office's network) is no one the box relays for.
    let out = send_from(
        "127.0.0.9",
        m.relay,
        "x@evil.test",
        "hanako@office.test",
        "hi",
        &[],
    );
    assert!(out.starts_with("REFUSED 554"), "{out}");
    std::thread::sleep(Duration::from_secs(1));
    assert_eq!(provider.count(), 2);
}

/// Strangers hold every connection they can get; the office's own mail is still taken at
/// once (sessions kept for the trusted networks), and one address cannot take more than
/// its share.
#[test]
fn strangers_holding_connections_open_cannot_stop_the_office_mail() {
    let sink = Sink::start();
    let extra = "[smtp]\ntrusted_networks = [\"127.0.0.1/32\"]\noffice_domains = [\"office.test\"]\nmax_sessions = 30\nreserved_office_sessions = 5\nreserved_submission_sessions = 5\nmax_connections_per_client = 5\nmax_connection_rate_per_client = 1000\n";
    let m = Mamori::start(sink.port, None, extra);
    // 40 addresses × 5 idle connections, each reading its greeting, then holding on.
    let holder = format!(
        r#"
import socket, sys, time
port = {port}
held, refused = [], 0
for a in range(10, 50):
    for i in range(5):
        s = socket.create_connection(("127.0.0.1", port), timeout=10, source_address=("127.0.0.%d" % a, 0))
        greeting = s.recv(200)
        if greeting.startswith(b"220"):
            held.append(s)
        else:
            refused += 1
            s.close()
extra = socket.create_connection(("127.0.0.1", port), timeout=10, source_address=("127.0.0.10", 0))
print("held", len(held), "refused", refused, "sixth", extra.recv(200).decode().strip(), flush=True)
time.sleep(60)
"#,
        port = m.relay
    );
    let mut strangers = ScriptPeer::start(&format!("print('ready', flush=True)\n{holder}"));
    let line = strangers
        .next_line(Duration::from_secs(60))
        .unwrap_or_default();
    let words: Vec<&str> = line.split_whitespace().collect();
    assert_eq!(words.first(), Some(&"held"), "{line}");
    let held: usize = words[1].parse().unwrap();
    assert_eq!(held, 20, "strangers took only the shared sessions: {line}");
    assert!(line.contains("sixth 421 4.7.0"), "{line}");
    // The office's client gets a session at once and its mail is taken.
    let started = std::time::Instant::now();
    let out = send_from(
        "127.0.0.1",
        m.relay,
        "taro@office.test",
        "b@sink.test",
        "hello",
        &[],
    );
    assert_eq!(out.trim(), "OK", "{out}");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    assert!(
        wait_for(Duration::from_secs(20), || sink.count() == 1),
        "{}",
        m.log()
    );
}
