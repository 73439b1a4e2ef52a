//! Transcript tests of the SMTP client: a scripted server on the other end of an
//! in-memory duplex stream answers each command and records what it received.

use std::sync::Arc;
use std::time::Duration;

use crate::settings::TlsMode;
use rustls::RootCertStore;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader, DuplexStream};
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;

use super::*;

trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

/// One step of the server's script.
enum Step {
    /// Send a reply unprompted (the greeting).
    Say(&'static str),
    /// Read one command, check it starts with the prefix, send the reply.
    Expect(&'static str, &'static str),
    /// Read message content up to the lone dot, record it, send the reply.
    Data(&'static str),
    /// Read `STARTTLS`, say 220 and run the TLS handshake.
    StartTls,
    /// Run a TLS handshake at once (implicit TLS).
    Tls,
    /// Check that the client already sent more (pipelining): the unread input holds this.
    Buffered(&'static str),
    /// Check that the client sent nothing more yet (it waits for each reply).
    NothingBuffered,
}
use Step::{Buffered, Data, Expect, NothingBuffered, Say, StartTls, Tls};

/// What the server received.
#[derive(Debug, Default)]
struct Transcript {
    commands: Vec<String>,
    messages: Vec<Vec<u8>>,
}

impl Transcript {
    fn saw(&self, prefix: &str) -> bool {
        self.commands.iter().any(|c| c.starts_with(prefix))
    }
}

fn wire(reply: &str) -> Vec<u8> {
    let mut s = reply.replace('\n', "\r\n");
    s.push_str("\r\n");
    s.into_bytes()
}

fn serve(
    stream: DuplexStream,
    steps: Vec<Step>,
    acceptor: Option<TlsAcceptor>,
) -> JoinHandle<Transcript> {
    tokio::spawn(async move {
        let mut io: BufReader<Box<dyn Io>> = BufReader::new(Box::new(stream));
        let mut t = Transcript::default();
        for step in steps {
            match step {
                Say(reply) => io.get_mut().write_all(&wire(reply)).await.unwrap(),
                Expect(prefix, reply) => {
                    let line = read_line(&mut io).await;
                    assert!(
                        line.starts_with(prefix),
                        "expected {prefix:?}, got {line:?}"
                    );
                    t.commands.push(line);
                    io.get_mut().write_all(&wire(reply)).await.unwrap();
                }
                Data(reply) => {
                    let mut msg = Vec::new();
                    loop {
                        let mut line = Vec::new();
                        io.read_until(b'\n', &mut line).await.unwrap();
                        assert!(!line.is_empty(), "EOF inside DATA");
                        if line == b".\r\n" {
                            break;
                        }
                        msg.extend_from_slice(&line);
                    }
                    t.messages.push(msg);
                    io.get_mut().write_all(&wire(reply)).await.unwrap();
                }
                Buffered(text) => {
                    let buffered = String::from_utf8_lossy(io.buffer()).into_owned();
                    assert!(
                        buffered.contains(text),
                        "{text:?} not yet sent: {buffered:?}"
                    );
                }
                NothingBuffered => assert!(io.buffer().is_empty(), "client did not wait"),
                StartTls | Tls => {
                    if matches!(step, StartTls) {
                        let line = read_line(&mut io).await;
                        assert_eq!(line, "STARTTLS");
                        t.commands.push(line);
                        io.get_mut()
                            .write_all(b"220 2.0.0 go ahead\r\n")
                            .await
                            .unwrap();
                    }
                    assert!(
                        io.buffer().is_empty(),
                        "client sent data before the handshake"
                    );
                    let inner = io.into_inner();
                    let acceptor = acceptor.clone().expect("a TLS acceptor");
                    match acceptor.accept(inner).await {
                        Ok(tls) => io = BufReader::new(Box::new(tls)),
                        // The client refused our certificate: nothing more will come.
                        Err(_) => return t,
                    }
                }
            }
        }
        // Record whatever else the client sends until it closes.
        loop {
            let mut line = Vec::new();
            match io.read_until(b'\n', &mut line).await {
                Ok(0) | Err(_) => break,
                Ok(_) => t
                    .commands
                    .push(String::from_utf8_lossy(&line).trim_end().to_string()),
            }
        }
        t
    })
}

async fn read_line(io: &mut BufReader<Box<dyn Io>>) -> String {
    let mut line = Vec::new();
    io.read_until(b'\n', &mut line).await.unwrap();
    assert!(
        line.ends_with(b"\r\n"),
        "command not ended by CRLF: {line:?}"
    );
    String::from_utf8(line).unwrap().trim_end().to_string()
}

fn options(tls: TlsMode) -> ClientOptions {
    ClientOptions {
        helo_name: "mamori.example.jp".into(),
        server_name: "mx.test".into(),
        tls,
        implicit_tls: false,
        auth: None,
        command_timeout: Duration::from_secs(5),
        tls_configs: Arc::new(TlsConfigs::with_roots(RootCertStore::empty())),
    }
}

fn tx(to: &[&str], message: &str) -> Transaction {
    Transaction {
        mail_from: "taro@example.jp".into(),
        envid: None,
        ret: None,
        smtputf8: false,
        recipients: to.iter().map(|a| OutRecipient::new(*a)).collect(),
        message: message.as_bytes().to_vec().into(),
    }
}

const MSG: &str = "From: taro@example.jp\r\nSubject: hi\r\n\r\nhello\r\n";
const EHLO_PIPELINING: &str =
    "250-mx.test\n250-PIPELINING\n250-SIZE 1000000\n250-8BITMIME\n250-DSN\n250 ENHANCEDSTATUSCODES";
const EHLO_PLAIN: &str = "250-mx.test\n250 8BITMIME";

async fn run(
    steps: Vec<Step>,
    opts: ClientOptions,
    acceptor: Option<TlsAcceptor>,
) -> (
    Result<Connection<DuplexStream>, DeliveryError>,
    JoinHandle<Transcript>,
) {
    let (client, server) = tokio::io::duplex(256 * 1024);
    let handle = serve(server, steps, acceptor);
    (Connection::open(client, &opts).await, handle)
}

#[tokio::test]
async fn pipelined_transaction_with_one_rejected_recipient() {
    let steps = vec![
        Say("220 mx.test ESMTP"),
        Expect("EHLO mamori.example.jp", EHLO_PIPELINING),
        Expect("MAIL FROM:<taro@example.jp> SIZE=", "250 2.1.0 Ok"),
        Buffered("RCPT TO:<c@example.com>\r\nDATA\r\n"),
        Expect("RCPT TO:<a@example.com>", "250 2.1.5 Ok"),
        Expect(
            "RCPT TO:<nobody@example.com>",
            "550 5.1.1 <nobody@example.com>: user unknown",
        ),
        Expect("RCPT TO:<c@example.com>", "250 2.1.5 Ok"),
        Expect("DATA", "354 End data with <CR><LF>.<CR><LF>"),
        Data("250 2.0.0 Ok: queued as 123"),
        Expect("QUIT", "221 2.0.0 Bye"),
    ];
    let (conn, server) = run(steps, options(TlsMode::Opportunistic), None).await;
    let mut conn = conn.unwrap();
    assert!(conn.capabilities().pipelining && !conn.is_tls());
    let out = conn
        .send(&tx(
            &["a@example.com", "nobody@example.com", "c@example.com"],
            MSG,
        ))
        .await
        .unwrap();
    assert_eq!(out.len(), 3);
    assert_eq!(
        out[0].result.as_ref().unwrap().to_string(),
        "250 2.0.0 Ok: queued as 123"
    );
    let fail = out[1].result.as_ref().unwrap_err();
    assert!(fail.permanent && fail.remote);
    assert_eq!(fail.reply.enhanced, Some((5, 1, 1)));
    assert_eq!(out[1].address, "nobody@example.com");
    assert!(out[2].result.is_ok());
    conn.quit().await.unwrap();
    let t = server.await.unwrap();
    assert_eq!(t.messages, vec![MSG.as_bytes().to_vec()]);
}

#[tokio::test]
async fn sequential_without_pipelining_and_no_data_when_all_refused_then_rset() {
    let steps = vec![
        Say("220 mx.test ESMTP"),
        Expect("EHLO", EHLO_PLAIN),
        Expect("MAIL FROM:<taro@example.jp>", "250 Ok"),
        NothingBuffered,
        Expect("RCPT TO:<x@example.com>", "550 5.1.1 unknown"),
        Expect("RCPT TO:<y@example.com>", "450 4.2.0 mailbox busy"),
        // No DATA: nothing was accepted. The next transaction resets first.
        Expect("RSET", "250 2.0.0 Ok"),
        Expect("MAIL FROM:<taro@example.jp>", "250 Ok"),
        Expect("RCPT TO:<y@example.com>", "250 Ok"),
        Expect("DATA", "354 go"),
        Data("250 Ok"),
    ];
    let (conn, server) = run(steps, options(TlsMode::Opportunistic), None).await;
    let mut conn = conn.unwrap();
    let out = conn
        .send(&tx(&["x@example.com", "y@example.com"], MSG))
        .await
        .unwrap();
    let (x, y) = (
        out[0].result.as_ref().unwrap_err(),
        out[1].result.as_ref().unwrap_err(),
    );
    assert!(x.permanent);
    assert!(!y.permanent, "4xx is temporary");
    let out = conn.send(&tx(&["y@example.com"], MSG)).await.unwrap();
    assert!(out[0].result.is_ok());
    drop(conn);
    let t = server.await.unwrap();
    assert_eq!(t.commands.iter().filter(|c| *c == "DATA").count(), 1);
    assert!(
        !t.commands[0].contains("SIZE="),
        "SIZE only when advertised"
    );
}

#[tokio::test]
async fn pipelined_refusals_keep_the_session_in_step() {
    let steps = vec![
        Say("220 mx.test"),
        Expect("EHLO", EHLO_PIPELINING),
        // MAIL refused: the server answers the rest with 503; no RSET is needed after.
        Expect("MAIL FROM:", "553 5.7.1 sender rejected"),
        Expect("RCPT TO:", "503 5.5.1 need MAIL"),
        Expect("DATA", "503 5.5.1 need RCPT"),
        // Every RCPT refused: DATA fails, and the open transaction is reset next time.
        Expect("MAIL FROM:", "250 Ok"),
        Expect("RCPT TO:", "550 5.1.1 unknown"),
        Expect("DATA", "554 5.5.1 no valid recipients"),
        Expect("RSET", "250 Ok"),
        // A server that says 354 although no recipient is valid gets an empty message.
        Expect("MAIL FROM:", "250 Ok"),
        Expect("RCPT TO:", "550 5.1.1 unknown"),
        Expect("DATA", "354 go"),
        Data("554 5.5.1 no valid recipients"),
        Expect("RSET", "250 Ok"),
        Expect("MAIL FROM:", "250 Ok"),
        Expect("RCPT TO:", "250 Ok"),
        Expect("DATA", "354 go"),
        Data("250 Ok"),
    ];
    let (conn, server) = run(steps, options(TlsMode::Opportunistic), None).await;
    let mut conn = conn.unwrap();
    let e = conn.send(&tx(&["a@example.com"], MSG)).await.unwrap_err();
    assert!(
        matches!(
            e,
            DeliveryError::Rejected {
                stage: Stage::MailFrom,
                ..
            }
        ) && e.is_permanent()
    );
    assert!(!e.is_throttle());
    for _ in 0..2 {
        let out = conn.send(&tx(&["a@example.com"], MSG)).await.unwrap();
        assert_eq!(out[0].result.as_ref().unwrap_err().reply.code, 550);
    }
    assert!(
        conn.send(&tx(&["a@example.com"], MSG)).await.unwrap()[0]
            .result
            .is_ok()
    );
    drop(conn);
    let t = server.await.unwrap();
    assert_eq!(t.messages, vec![Vec::new(), MSG.as_bytes().to_vec()]);
}

#[tokio::test]
async fn ehlo_refused_falls_back_to_helo() {
    let steps = vec![
        Say("220 old.test"),
        Expect("EHLO", "502 5.5.2 Error: command not recognized"),
        Expect("HELO mamori.example.jp", "250 old.test"),
        Expect("MAIL FROM:<taro@example.jp>", "250 Ok"),
        Expect("RCPT TO:<a@example.com>", "250 Ok"),
        Expect("DATA", "354 go"),
        Data("250 Ok"),
    ];
    let (conn, server) = run(steps, options(TlsMode::Opportunistic), None).await;
    let mut conn = conn.unwrap();
    assert!(!conn.capabilities().esmtp);
    let message = "Subject: 8bit\r\n\r\n日本語\r\n";
    assert!(
        conn.send(&tx(&["a@example.com"], message)).await.unwrap()[0]
            .result
            .is_ok()
    );
    drop(conn);
    let t = server.await.unwrap();
    assert_eq!(
        t.commands[2], "MAIL FROM:<taro@example.jp>",
        "no ESMTP parameters after HELO"
    );
}

#[tokio::test]
async fn greeting_errors_have_the_class_of_the_reply() {
    let (conn, _) = run(
        vec![Say("554 5.7.1 no service for you")],
        options(TlsMode::Opportunistic),
        None,
    )
    .await;
    let e = conn.unwrap_err();
    assert!(matches!(
        e,
        DeliveryError::Rejected {
            stage: Stage::Greeting,
            ..
        }
    ));
    assert!(e.is_permanent() && !e.is_throttle());
    let (conn, _) = run(
        vec![Say("421 4.7.0 too many connections")],
        options(TlsMode::Opportunistic),
        None,
    )
    .await;
    let e = conn.unwrap_err();
    assert!(!e.is_permanent() && e.is_throttle());
    let (conn, _) = run(vec![Say("450 busy")], options(TlsMode::Opportunistic), None).await;
    assert!(conn.unwrap_err().is_throttle());
}

#[tokio::test]
async fn throttle_at_mail_from_and_421_mid_transaction() {
    let steps = vec![
        Say("220 mx.test"),
        Expect("EHLO", EHLO_PLAIN),
        Expect(
            "MAIL FROM:",
            "451 4.7.650 The mail server has been temporarily rate limited",
        ),
        Expect("MAIL FROM:", "250 Ok"),
        Expect(
            "RCPT TO:",
            "421 4.7.0 mx.test Service not available, closing channel",
        ),
    ];
    let (conn, server) = run(steps, options(TlsMode::Opportunistic), None).await;
    let mut conn = conn.unwrap();
    let e = conn.send(&tx(&["a@example.com"], MSG)).await.unwrap_err();
    assert!(matches!(
        e,
        DeliveryError::Rejected {
            stage: Stage::MailFrom,
            ..
        }
    ));
    assert!(e.is_throttle() && !e.is_permanent());
    assert!(
        conn.is_usable(),
        "a refused MAIL FROM leaves the session usable"
    );
    let e = conn.send(&tx(&["a@example.com"], MSG)).await.unwrap_err();
    assert!(e.is_throttle() && !e.is_permanent());
    assert_eq!(e.reply().map(|r| r.code), Some(421));
    assert!(!conn.is_usable());
    assert!(conn.send(&tx(&["a@example.com"], MSG)).await.is_err());
    drop(conn);
    assert!(!server.await.unwrap().saw("DATA"));
}

#[tokio::test]
async fn temporary_failure_of_the_whole_message() {
    let steps = vec![
        Say("220 mx.test"),
        Expect("EHLO", EHLO_PIPELINING),
        Expect("MAIL FROM:", "250 Ok"),
        Expect("RCPT TO:<a@", "250 Ok"),
        Expect("RCPT TO:<b@", "550 5.1.1 unknown"),
        Expect("DATA", "354 go"),
        Data("451 4.3.0 Error: queue file write error"),
    ];
    let (conn, _server) = run(steps, options(TlsMode::Opportunistic), None).await;
    let mut conn = conn.unwrap();
    let out = conn
        .send(&tx(&["a@example.com", "b@example.com"], MSG))
        .await
        .unwrap();
    let a = out[0].result.as_ref().unwrap_err();
    assert!(
        !a.permanent && a.reply.code == 451,
        "the final reply applies to accepted recipients"
    );
    assert!(
        out[1].result.as_ref().unwrap_err().permanent,
        "an RCPT refusal is kept"
    );
    assert!(conn.is_usable());
}

#[tokio::test]
async fn dot_stuffing_on_the_wire() {
    let message = "Subject: dots\r\n\r\n.hidden line\r\n..two\r\nend\r\n.\r\n";
    let steps = vec![
        Say("220 mx.test"),
        Expect("EHLO", EHLO_PLAIN),
        Expect("MAIL FROM:", "250 Ok"),
        Expect("RCPT TO:", "250 Ok"),
        Expect("DATA", "354 go"),
        Data("250 Ok"),
    ];
    let (conn, server) = run(steps, options(TlsMode::Opportunistic), None).await;
    let mut conn = conn.unwrap();
    assert!(
        conn.send(&tx(&["a@example.com"], message)).await.unwrap()[0]
            .result
            .is_ok()
    );
    drop(conn);
    let t = server.await.unwrap();
    assert_eq!(
        String::from_utf8(t.messages[0].clone()).unwrap(),
        "Subject: dots\r\n\r\n..hidden line\r\n...two\r\nend\r\n..\r\n"
    );
}

#[tokio::test]
async fn smtputf8_needed_but_not_offered_fails_all_permanently_without_mail() {
    let steps = vec![
        Say("220 mx.test"),
        Expect("EHLO", EHLO_PIPELINING),
        Expect("QUIT", "221 Bye"),
    ];
    let (conn, server) = run(steps, options(TlsMode::Opportunistic), None).await;
    let mut conn = conn.unwrap();
    let out = conn
        .send(&tx(&["山田@example.com", "b@example.com"], MSG))
        .await
        .unwrap();
    for o in &out {
        let f = o.result.as_ref().unwrap_err();
        assert!(f.permanent && !f.remote);
        assert_eq!(f.reply.enhanced, Some((5, 6, 7)));
    }
    conn.quit().await.unwrap();
    assert!(!server.await.unwrap().saw("MAIL"));
}

#[tokio::test]
async fn smtputf8_and_dsn_parameters_when_offered() {
    let steps = vec![
        Say("220 mx.test"),
        Expect(
            "EHLO",
            "250-mx.test\n250-PIPELINING\n250-DSN\n250-8BITMIME\n250 SMTPUTF8",
        ),
        Expect(
            "MAIL FROM:<taro@example.jp> BODY=8BITMIME SMTPUTF8 RET=HDRS ENVID=Q1",
            "250 Ok",
        ),
        Expect(
            "RCPT TO:<山田@example.com> NOTIFY=FAILURE ORCPT=utf-8;\\x{5C71}\\x{7530}@example.com",
            "250 Ok",
        ),
        Expect("DATA", "354 go"),
        Data("250 Ok"),
    ];
    let (conn, _server) = run(steps, options(TlsMode::Opportunistic), None).await;
    let mut conn = conn.unwrap();
    let mut t = tx(&["山田@example.com"], "Subject: 件名\r\n\r\n本文\r\n");
    t.ret = Some(Ret::Hdrs);
    t.envid = Some("Q1".into());
    t.recipients[0].notify = Some(vec![Notify::Failure]);
    t.recipients[0].orcpt = Some("山田@example.com".into());
    assert!(conn.send(&t).await.unwrap()[0].result.is_ok());
}

#[tokio::test]
async fn message_larger_than_advertised_size_bounces_locally() {
    let steps = vec![
        Say("220 mx.test"),
        Expect("EHLO", "250-mx.test\n250 SIZE 10"),
    ];
    let (conn, server) = run(steps, options(TlsMode::Opportunistic), None).await;
    let mut conn = conn.unwrap();
    let out = conn.send(&tx(&["a@example.com"], MSG)).await.unwrap();
    assert_eq!(
        out[0].result.as_ref().unwrap_err().reply.enhanced,
        Some((5, 3, 4))
    );
    drop(conn);
    assert!(!server.await.unwrap().saw("MAIL"));
}

#[tokio::test]
async fn required_tls_not_offered_is_temporary_and_nothing_is_sent() {
    let steps = vec![Say("220 mx.test"), Expect("EHLO", EHLO_PIPELINING)];
    let (conn, server) = run(steps, options(TlsMode::Required), None).await;
    let e = conn.unwrap_err();
    assert!(matches!(e, DeliveryError::Tls { .. }), "{e}");
    assert!(!e.is_permanent());
    assert!(e.to_string().contains("does not offer STARTTLS"));
    let t = server.await.unwrap();
    assert!(!t.saw("MAIL") && !t.saw("STARTTLS"));
}

#[tokio::test]
async fn commands_are_bounded_by_the_timeout() {
    let (client, _server) = tokio::io::duplex(1024);
    let mut opts = options(TlsMode::Opportunistic);
    opts.command_timeout = Duration::from_millis(50);
    let e = Connection::open(client, &opts).await.unwrap_err();
    assert!(
        matches!(
            e,
            DeliveryError::Timeout {
                stage: Stage::Greeting,
                ..
            }
        ),
        "{e}"
    );
    assert!(!e.is_permanent());
}

#[tokio::test]
async fn garbage_from_the_server_is_a_protocol_error() {
    let (conn, _) = run(
        vec![Say("HTTP/1.1 400 Bad Request")],
        options(TlsMode::Opportunistic),
        None,
    )
    .await;
    assert!(matches!(
        conn.unwrap_err(),
        DeliveryError::Protocol {
            stage: Stage::Greeting,
            ..
        }
    ));
}

#[tokio::test]
async fn credentials_are_never_sent_in_clear() {
    let steps = vec![
        Say("220 mx.test"),
        Expect("EHLO", "250-mx.test\n250 AUTH PLAIN LOGIN"),
    ];
    let mut opts = options(TlsMode::Disabled);
    opts.auth = Some(Credentials {
        username: "u".into(),
        password: "p".into(),
    });
    let (conn, server) = run(steps, opts, None).await;
    let e = conn.unwrap_err();
    assert!(matches!(e, DeliveryError::Auth { .. }) && !e.is_permanent());
    assert!(!server.await.unwrap().saw("AUTH"));
}

// ---- TLS ----

struct TestCa {
    acceptor: TlsAcceptor,
    configs: Arc<TlsConfigs>,
}

fn test_ca(name: &str) -> TestCa {
    let ck = rcgen::generate_simple_self_signed(vec![name.to_string()]).unwrap();
    let cert: CertificateDer<'static> = ck.cert.der().clone();
    let key = PrivateKeyDer::Pkcs8(ck.signing_key.serialize_der().into());
    let server = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(vec![cert.clone()], key)
    .unwrap();
    let mut roots = RootCertStore::empty();
    roots.add(cert).unwrap();
    TestCa {
        acceptor: TlsAcceptor::from(Arc::new(server)),
        configs: Arc::new(TlsConfigs::with_roots(roots)),
    }
}

#[tokio::test]
async fn required_starttls_verifies_then_ehlo_again_and_auth_plain() {
    let ca = test_ca("mx.test");
    let steps = vec![
        Say("220 mx.test"),
        Expect("EHLO", "250-mx.test\n250-STARTTLS\n250 PIPELINING"),
        StartTls,
        Expect(
            "EHLO mamori.example.jp",
            "250-mx.test\n250-PIPELINING\n250 AUTH LOGIN PLAIN",
        ),
        // base64("\0office\0s3cret")
        Expect(
            "AUTH PLAIN AG9mZmljZQBzM2NyZXQ=",
            "235 2.7.0 Authentication successful",
        ),
        Expect("MAIL FROM:", "250 Ok"),
        Expect("RCPT TO:", "250 Ok"),
        Expect("DATA", "354 go"),
        Data("250 Ok"),
        Expect("QUIT", "221 Bye"),
    ];
    let mut opts = options(TlsMode::Required);
    opts.tls_configs = ca.configs.clone();
    opts.auth = Some(Credentials {
        username: "office".into(),
        password: "s3cret".into(),
    });
    let (conn, server) = run(steps, opts, Some(ca.acceptor)).await;
    let mut conn = conn.unwrap();
    assert!(conn.is_tls());
    assert!(conn.capabilities().has_auth("PLAIN") && !conn.capabilities().starttls);
    assert!(
        conn.send(&tx(&["a@example.com"], MSG)).await.unwrap()[0]
            .result
            .is_ok()
    );
    conn.quit().await.unwrap();
    assert_eq!(server.await.unwrap().messages.len(), 1);
}

#[tokio::test]
async fn required_tls_with_a_certificate_for_another_name_fails_temporarily() {
    let ca = test_ca("other.test");
    let steps = vec![
        Say("220 mx.test"),
        Expect("EHLO", "250-mx.test\n250 STARTTLS"),
        StartTls,
    ];
    let mut opts = options(TlsMode::Required);
    opts.tls_configs = ca.configs.clone();
    let (conn, server) = run(steps, opts, Some(ca.acceptor)).await;
    let e = conn.unwrap_err();
    assert!(
        matches!(e, DeliveryError::Tls { .. }) && !e.is_permanent(),
        "{e}"
    );
    assert!(e.to_string().contains("certificate"), "{e}");
    assert!(!server.await.unwrap().saw("MAIL"));
}

#[tokio::test]
async fn opportunistic_tls_accepts_an_untrusted_certificate() {
    let ca = test_ca("self-signed.invalid");
    let steps = vec![
        Say("220 mx.test"),
        Expect("EHLO", "250-mx.test\n250 STARTTLS"),
        StartTls,
        Expect("EHLO", "250 mx.test"),
        Expect("QUIT", "221 Bye"),
    ];
    // The client trusts nothing, yet opportunistic TLS goes ahead.
    let (conn, _server) = run(steps, options(TlsMode::Opportunistic), Some(ca.acceptor)).await;
    let conn = conn.unwrap();
    assert!(conn.is_tls());
    conn.quit().await.unwrap();
}

#[tokio::test]
async fn implicit_tls_and_auth_login() {
    let ca = test_ca("mx.test");
    let steps = vec![
        Tls,
        Say("220 mx.test"),
        Expect("EHLO", "250-mx.test\n250 AUTH LOGIN"),
        Expect("AUTH LOGIN", "334 VXNlcm5hbWU6"),
        Expect("b2ZmaWNl", "334 UGFzc3dvcmQ6"),
        Expect("czNjcmV0", "535 5.7.8 Authentication credentials invalid"),
    ];
    let mut opts = options(TlsMode::Required);
    opts.implicit_tls = true;
    opts.tls_configs = ca.configs.clone();
    opts.auth = Some(Credentials {
        username: "office".into(),
        password: "s3cret".into(),
    });
    let (conn, _server) = run(steps, opts, Some(ca.acceptor)).await;
    let e = conn.unwrap_err();
    assert!(
        matches!(e, DeliveryError::Auth { reply: Some(_), .. }),
        "{e}"
    );
    assert!(
        !e.is_permanent(),
        "a bad password waits for the operator, it does not bounce"
    );
}
