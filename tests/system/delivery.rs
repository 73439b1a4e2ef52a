//! Outbound TLS policy and smarthost delivery, with a second Mamori as the smarthost.

use std::time::Duration;

use crate::common::*;

/// The office relay hands everything to a provider's submission port: STARTTLS is
/// required and verified against the provider's certificate, then AUTH.
#[test]
fn smarthost_with_required_tls_and_auth() {
    let sink = Sink::start();
    let (provider, cert) = crate::common::provider(sink.port, "provider-secret");
    let secret = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(secret.path(), "provider-secret\n").unwrap();
    let extra = format!(
        "[smtp.delivery]\nca_file = \"{}\"\n[smtp.delivery.smarthost]\nhost = \"localhost\"\nport = {}\nusername = \"office\"\npassword_file = \"{}\"\n",
        cert.display(),
        provider.submission,
        secret.path().display()
    );
    // The office relay has no route of its own: everything goes to the smarthost.
    let office = Mamori::start(0, None, &extra);
    office.send("a@office.test", "b@sink.test", Some("via-smarthost"));
    assert!(
        wait_for(Duration::from_secs(20), || sink.count() == 1),
        "nothing arrived; office log:\n{}\nprovider log:\n{}",
        office.log(),
        provider.log()
    );
    let (text, _) = &sink.messages()[0];
    assert!(text.contains("Subject: via-smarthost"), "{text}");
    assert!(
        text.contains("with ESMTPSA"),
        "the provider saw TLS and AUTH: {text}"
    );
    assert!(
        provider.log().contains("authenticated"),
        "provider log:\n{}",
        provider.log()
    );
}

/// A destination that must use TLS but offers none keeps the message queued: never in clear.
#[test]
fn required_tls_to_a_plaintext_destination_defers_and_sends_nothing() {
    let sink = Sink::start();
    let m = Mamori::start(
        sink.port,
        None,
        "[smtp.delivery]\nretry_initial = \"1s\"\nretry_max = \"2s\"\n[[smtp.delivery.tls_policies]]\ndomain = \"sink.test\"\nmode = \"required\"\n",
    );
    m.send("a@office.test", "b@sink.test", None);
    assert!(
        wait_for(Duration::from_secs(15), || m.queue_json()[0]["attempts"]
            .as_u64()
            .unwrap_or(0)
            >= 2),
        "{}",
        m.queue_json()
    );
    let err = m.queue_json()[0]["last_error"]
        .as_str()
        .unwrap_or("")
        .to_string();
    assert!(
        err.to_lowercase().contains("tls"),
        "reason should name TLS: {err}"
    );
    assert_eq!(sink.count(), 0, "nothing may be sent in clear");
}

/// Opportunistic TLS whose handshake fails is retried in clear (Postfix `may`): a peer
/// with a broken TLS stack still gets its mail.
#[test]
fn broken_starttls_at_an_opportunistic_destination_falls_back_to_clear() {
    let server = r#"
import socket, sys
srv = socket.socket(); srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("127.0.0.1", int(sys.argv[1]))); srv.listen(5)
print("ready", flush=True)
while True:
    c, _ = srv.accept(); f = c.makefile("rb")
    c.sendall(b"220 broken-tls ESMTP\r\n")
    while True:
        l = f.readline()
        if not l: break
        u = l.upper()
        if u.startswith(b"EHLO"): c.sendall(b"250-broken-tls\r\n250 STARTTLS\r\n")
        elif u.startswith(b"STARTTLS"):
            c.sendall(b"220 go ahead\r\n")
            c.sendall(b"this is not a TLS server hello\r\n" * 4)
            print("handshake-broken", flush=True); break
        elif u.startswith(b"DATA"):
            c.sendall(b"354 go\r\n")
            while f.readline() not in (b".\r\n", b""): pass
            print("delivered-in-clear", flush=True)
            c.sendall(b"250 2.0.0 queued\r\n")
        elif u.startswith(b"QUIT"): c.sendall(b"221 bye\r\n"); break
        else: c.sendall(b"250 ok\r\n")
    c.close()
"#;
    let mut peer = ScriptPeer::start(server);
    let m = Mamori::start(peer.port, None, "");
    m.send("a@office.test", "b@sink.test", None);
    let mut next = || peer.next_line(Duration::from_secs(20)).unwrap_or_default();
    let (first, second) = (next(), next());
    assert_eq!(first, "handshake-broken", "log:\n{}", m.log());
    assert_eq!(second, "delivered-in-clear", "log:\n{}", m.log());
}
