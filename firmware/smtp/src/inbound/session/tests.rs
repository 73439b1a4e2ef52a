//! Sessions driven in memory like a transcript.

use std::sync::Arc;

use crate::settings::{Account, ListenerKind, Smtp};
use tokio::io::{AsyncReadExt, AsyncWriteExt, DuplexStream};

use super::*;
use crate::inbound::recipients::ProbeAnswer;
use crate::queue::RetryPolicy;
use crate::spool::Spool;

struct Harness {
    client: DuplexStream,
    queue: Queue,
    _dir: tempfile::TempDir,
    task: tokio::task::JoinHandle<std::io::Result<SessionEnd<DuplexStream>>>,
}

fn context(smtp: Smtp, dir: &std::path::Path, pipeline: Pipeline) -> (Arc<SessionContext>, Queue) {
    let stats = Arc::new(Stats::default());
    let spool = Spool::open(dir.join("spool")).unwrap();
    let retry = RetryPolicy {
        initial: std::time::Duration::from_secs(60),
        max: std::time::Duration::from_secs(600),
        lifetime: std::time::Duration::from_secs(3600),
    };
    let queue = Queue::open(spool, stats.clone(), retry, "mx.test".into(), 10_000).unwrap();
    let tls = crate::tls::server_config(None, dir, "mx.test").unwrap();
    let recipients = Arc::new(Recipients::new(
        smtp.accepted_domains.clone(),
        Arc::new(OfficeServer),
    ));
    let ctx = Arc::new(SessionContext::new(
        smtp,
        "mx.test".into(),
        Some(tokio_rustls::TlsAcceptor::from(tls)),
        pipeline,
        queue.clone(),
        stats,
        recipients,
    ));
    (ctx, queue)
}

/// The office's own server as the callouts of the tests see it: it has `boss@` and
/// `staff@`, and is down for `down@`.
struct OfficeServer;

impl crate::inbound::recipients::Prober for OfficeServer {
    fn probe<'a>(
        &'a self,
        _domain: &'a str,
        address: &'a str,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = ProbeAnswer> + Send + 'a>> {
        Box::pin(async move {
            match address.split('@').next().unwrap_or_default() {
                "boss" | "staff" => ProbeAnswer::Accepted,
                "down" => ProbeAnswer::Unavailable("connection refused".into()),
                _ => ProbeAnswer::Refused("550 5.1.1 no such user".into()),
            }
        })
    }
}

fn start(smtp: Smtp, kind: ListenerKind, peer: &str, tls: bool) -> Harness {
    start_with(smtp, kind, peer, tls, Pipeline::new())
}

fn start_with(
    smtp: Smtp,
    kind: ListenerKind,
    peer: &str,
    tls: bool,
    pipeline: Pipeline,
) -> Harness {
    let dir = tempfile::tempdir().unwrap();
    let (ctx, queue) = context(smtp, dir.path(), pipeline);
    let (client, server) = tokio::io::duplex(1 << 20);
    let session = Session::new(server, ctx, kind, peer.parse().unwrap(), tls);
    let task = tokio::spawn(session.run(true));
    Harness {
        client,
        queue,
        _dir: dir,
        task,
    }
}

impl Harness {
    /// Reads until a complete final reply line arrives; returns all reply text.
    async fn read_reply(&mut self) -> String {
        let mut got = Vec::new();
        let mut buf = [0u8; 4096];
        loop {
            let text = String::from_utf8_lossy(&got).to_string();
            let last = text
                .trim_end_matches("\r\n")
                .rsplit("\r\n")
                .next()
                .unwrap_or("");
            if text.ends_with("\r\n") && last.len() >= 4 && last.as_bytes()[3] == b' ' {
                return text;
            }
            // Generous: under qemu-user an Argon2 check takes seconds.
            let n = tokio::time::timeout(
                std::time::Duration::from_secs(60),
                self.client.read(&mut buf),
            )
            .await
            .expect("reply in time")
            .unwrap();
            if n == 0 {
                return text;
            }
            got.extend_from_slice(&buf[..n]);
        }
    }

    /// Sends a command and checks the reply starts with `expect`.
    async fn cmd(&mut self, line: &str, expect: &str) -> String {
        self.client
            .write_all(format!("{line}\r\n").as_bytes())
            .await
            .unwrap();
        let reply = self.read_reply().await;
        let last = reply
            .trim_end()
            .rsplit("\r\n")
            .next()
            .unwrap_or("")
            .to_string();
        assert!(
            last.starts_with(expect),
            "{line:?}: expected {expect:?}, got {reply:?}"
        );
        reply
    }

    async fn raw(&mut self, bytes: &[u8], expect: &str) -> String {
        self.client.write_all(bytes).await.unwrap();
        let reply = self.read_reply().await;
        assert!(
            reply.starts_with(expect),
            "expected {expect:?}, got {reply:?}"
        );
        reply
    }
}

fn trusted() -> Smtp {
    Smtp {
        office_domains: vec!["office.test".parse().unwrap()],
        ..Smtp::default()
    }
}

fn accepted(domain: &str, verify: crate::settings::RecipientCheck, list: &[&str]) -> Smtp {
    Smtp {
        accepted_domains: vec![crate::settings::AcceptedDomain {
            domain: domain.parse().unwrap(),
            host: Some("mail.internal.test".into()),
            port: 25,
            verify,
            recipients: list.iter().map(|r| r.to_string()).collect(),
        }],
        ..trusted()
    }
}

fn account(name: &str, password: &str, senders: &[&str]) -> Account {
    Account {
        username: name.into(),
        password_hash: crate::inbound::accounts::hash_password(password).unwrap(),
        senders: senders.iter().map(|s| s.to_string()).collect(),
    }
}

#[tokio::test]
async fn relay_from_trusted_network_is_spooled() {
    let mut h = start(trusted(), ListenerKind::Relay, "127.0.0.1:4000", false);
    h.read_reply().await;
    let ehlo = h.cmd("EHLO client.test", "250 ").await;
    for ext in [
        "PIPELINING",
        "SIZE 26214400",
        "8BITMIME",
        "SMTPUTF8",
        "ENHANCEDSTATUSCODES",
        "DSN",
        "STARTTLS",
    ] {
        assert!(ehlo.contains(ext), "{ext} missing in {ehlo}");
    }
    assert!(!ehlo.contains("AUTH"), "no AUTH on the relay port");
    h.cmd("MAIL FROM:<a@office.test> RET=HDRS ENVID=abc", "250 2.1.0")
        .await;
    h.cmd(
        "RCPT TO:<b@example.com> NOTIFY=FAILURE,DELAY ORCPT=rfc822;b@example.com",
        "250 2.1.5",
    )
    .await;
    h.cmd("RCPT TO:<a..b@docomo.ne.jp>", "250 2.1.5").await;
    h.cmd("DATA", "354").await;
    let r = h
        .raw(
            b"Subject: hi\r\n\r\n..dot\r\n.\r\n",
            "250 2.0.0 Ok: queued as ",
        )
        .await;
    let id = r.trim_end().rsplit(' ').next().unwrap().to_string();
    h.cmd("QUIT", "221").await;
    let env = h.queue.show(&id).unwrap();
    assert_eq!(env.mail_from, "a@office.test");
    assert_eq!(env.envid.as_deref(), Some("abc"));
    assert_eq!(env.ret, Some(crate::spool::Ret::Hdrs));
    assert_eq!(
        env.recipients[0].notify,
        Some(vec![
            crate::spool::Notify::Failure,
            crate::spool::Notify::Delay
        ])
    );
    assert_eq!(env.recipients[1].address, "a..b@docomo.ne.jp");
    let content = h.queue.spool().content(&id).unwrap();
    let text = String::from_utf8(content).unwrap();
    assert!(
        text.starts_with("Received: from client.test ([127.0.0.1])"),
        "{text}"
    );
    assert!(text.ends_with("Subject: hi\r\n\r\n.dot\r\n"), "{text}");
    assert!(matches!(h.task.await.unwrap().unwrap(), SessionEnd::Closed));
}

#[tokio::test]
async fn stranger_cannot_relay() {
    let mut h = start(trusted(), ListenerKind::Relay, "203.0.113.9:4000", false);
    h.read_reply().await;
    h.cmd("EHLO evil.test", "250 ").await;
    h.cmd("MAIL FROM:<x@evil.test>", "250").await;
    h.cmd(
        "RCPT TO:<victim@example.com>",
        "554 5.7.1 <victim@example.com>: Relay access denied",
    )
    .await;
    h.cmd("DATA", "554 5.5.1").await;
}

#[tokio::test]
async fn a_stranger_reaches_only_existing_recipients_of_accepted_domains() {
    use crate::settings::RecipientCheck;
    let smtp = accepted("office.test", RecipientCheck::Callout, &[]);
    let mut h = start(smtp, ListenerKind::Relay, "203.0.113.9:4000", false);
    h.read_reply().await;
    h.cmd("HELO evil.test", "250").await;
    h.cmd("MAIL FROM:<x@evil.test>", "250").await;
    h.cmd("RCPT TO:<boss@office.test>", "250").await;
    // No backscatter: a recipient the office's server does not have is refused now.
    h.cmd("RCPT TO:<nobody@office.test>", "550 5.1.1").await;
    h.cmd("RCPT TO:<down@office.test>", "450 4.1.1").await;
    h.cmd("RCPT TO:<postmaster@office.test>", "250").await;
    h.cmd("RCPT TO:<boss@elsewhere.test>", "554 5.7.1").await;
    // A list instead of a callout.
    let smtp = accepted("school.test", RecipientCheck::List, &["info"]);
    let mut h = start(smtp, ListenerKind::Relay, "203.0.113.9:4000", false);
    h.read_reply().await;
    h.cmd("HELO evil.test", "250").await;
    h.cmd("MAIL FROM:<x@evil.test>", "250").await;
    h.cmd("RCPT TO:<INFO@school.test>", "250").await;
    h.cmd("RCPT TO:<boss@school.test>", "550 5.1.1").await;
    // An office domain that is not accepted (mailboxes at the provider): relay denied.
    h.cmd("RCPT TO:<boss@office.test>", "554 5.7.1").await;
}

#[tokio::test]
async fn an_authenticated_user_sends_only_as_their_own_addresses() {
    let smtp = Smtp {
        accounts: vec![account("taro", "secret-pass", &["taro@office.test"])],
        ..trusted()
    };
    let mut h = start(smtp, ListenerKind::Submission, "198.51.100.7:4000", true);
    h.read_reply().await;
    h.cmd("EHLO c", "250 ").await;
    h.cmd("AUTH PLAIN AHRhcm8Ac2VjcmV0LXBhc3M=", "235").await;
    h.cmd(
        "MAIL FROM:<hanako@office.test>",
        "553 5.7.1 <hanako@office.test>: Sender address rejected: not owned by user taro",
    )
    .await;
    h.cmd("MAIL FROM:<ceo@example.com>", "553 5.7.1").await;
    h.cmd("MAIL FROM:<Taro@office.test>", "250").await;
    h.cmd("RCPT TO:<client@example.com>", "250").await;
    h.cmd("DATA", "354").await;
    let r = h.raw(b"Subject: x\r\n\r\nhi\r\n.\r\n", "250").await;
    let id = r.trim_end().rsplit(' ').next().unwrap().to_string();
    let env = h.queue.show(&id).unwrap();
    assert!(env.client.sender_verified);
}

#[tokio::test]
async fn the_office_network_sends_only_from_office_domains() {
    let mut h = start(trusted(), ListenerKind::Relay, "127.0.0.1:4000", false);
    h.read_reply().await;
    h.cmd("EHLO c", "250 ").await;
    h.cmd("MAIL FROM:<ceo@bank.example>", "553 5.7.1").await;
    h.cmd("MAIL FROM:<>", "250").await;
    h.cmd("RSET", "250").await;
    h.cmd("MAIL FROM:<a@office.test>", "250").await;
}

#[tokio::test]
async fn a_forged_office_sender_from_the_internet_is_refused_when_configured() {
    use crate::settings::RecipientCheck;
    let open = accepted("office.test", RecipientCheck::Callout, &[]);
    let mut h = start(open.clone(), ListenerKind::Relay, "203.0.113.9:4000", false);
    h.read_reply().await;
    h.cmd("HELO evil.test", "250").await;
    // Accepted, but never verified: no sender exemption can apply to it.
    h.cmd("MAIL FROM:<ceo@office.test>", "250").await;
    h.cmd("RCPT TO:<boss@office.test>", "250").await;
    h.cmd("DATA", "354").await;
    let r = h.raw(b"Subject: x\r\n\r\nhi\r\n.\r\n", "250").await;
    let id = r.trim_end().rsplit(' ').next().unwrap().to_string();
    assert!(!h.queue.show(&id).unwrap().client.sender_verified);
    let strict = Smtp {
        refuse_forged_office_senders: true,
        ..open
    };
    let mut h = start(strict, ListenerKind::Relay, "203.0.113.9:4000", false);
    h.read_reply().await;
    h.cmd("HELO evil.test", "250").await;
    h.cmd("MAIL FROM:<ceo@office.test>", "550 5.7.1").await;
}

#[tokio::test]
async fn one_notice_to_three_hundred_phones_is_taken_in_one_transaction() {
    let mut h = start(trusted(), ListenerKind::Relay, "127.0.0.1:4000", false);
    h.read_reply().await;
    h.cmd("EHLO c", "250 ").await;
    h.cmd("MAIL FROM:<school@office.test>", "250").await;
    for i in 0..300 {
        h.cmd(&format!("RCPT TO:<parent{i}@docomo.ne.jp>"), "250")
            .await;
    }
    h.cmd("DATA", "354").await;
    let r = h.raw(b"Subject: notice\r\n\r\nhi\r\n.\r\n", "250").await;
    let id = r.trim_end().rsplit(' ').next().unwrap().to_string();
    assert_eq!(h.queue.show(&id).unwrap().recipients.len(), 300);
}

#[tokio::test]
async fn recipients_past_the_limit_are_deferred_without_counting_as_errors() {
    let smtp = Smtp {
        max_recipients: 5,
        max_errors: 3,
        ..trusted()
    };
    let mut h = start(smtp, ListenerKind::Relay, "127.0.0.1:4000", false);
    h.read_reply().await;
    h.cmd("EHLO c", "250 ").await;
    h.cmd("MAIL FROM:<a@office.test>", "250").await;
    for i in 0..5 {
        h.cmd(&format!("RCPT TO:<p{i}@example.com>"), "250").await;
    }
    // A mail program sends on: each gets 452, the session stays open, the message goes.
    for i in 5..40 {
        h.cmd(&format!("RCPT TO:<p{i}@example.com>"), "452 4.5.3")
            .await;
    }
    h.cmd("DATA", "354").await;
    h.raw(b"Subject: x\r\n\r\nhi\r\n.\r\n", "250").await;
}

#[tokio::test]
async fn a_mail_loop_is_cut_at_fifty_hops() {
    let mut h = start(trusted(), ListenerKind::Relay, "127.0.0.1:4000", false);
    h.read_reply().await;
    h.cmd("EHLO c", "250 ").await;
    let mut send = async |hops: usize, expect: &str| {
        h.cmd("MAIL FROM:<a@office.test>", "250").await;
        h.cmd("RCPT TO:<b@example.com>", "250").await;
        h.cmd("DATA", "354").await;
        let received = "Received: from x by y; Tue, 1 Dec 2026 00:00:00 +0900\r\n".repeat(hops);
        h.raw(
            format!("{received}Subject: loop\r\n\r\nhi\r\n.\r\n").as_bytes(),
            expect,
        )
        .await
    };
    send(50, "250").await;
    let r = send(51, "554 5.4.6").await;
    assert!(r.contains("51 Received"), "{r}");
}

#[tokio::test(start_paused = true)]
async fn auth_failures_are_throttled_per_address() {
    let smtp = Smtp {
        accounts: vec![account("taro", "secret-pass", &[])],
        max_auth_failures_per_client: 2,
        ..trusted()
    };
    let mut h = start(smtp, ListenerKind::Submission, "198.51.100.7:4000", true);
    h.read_reply().await;
    h.cmd("EHLO c", "250 ").await;
    h.cmd("AUTH PLAIN AHRhcm8Ad3Jvbmc=", "535 5.7.8").await;
    h.cmd("AUTH PLAIN AHRhcm8Ad3Jvbmc=", "535 5.7.8").await;
    // The right password is not even checked while the address must wait.
    h.cmd("AUTH PLAIN AHRhcm8Ac2VjcmV0LXBhc3M=", "454 4.7.0")
        .await;
}

#[tokio::test]
async fn smuggling_is_refused_and_the_smuggled_command_is_not_run() {
    let mut h = start(trusted(), ListenerKind::Relay, "127.0.0.1:4000", false);
    h.read_reply().await;
    h.cmd("EHLO c", "250 ").await;
    h.cmd("MAIL FROM:<a@office.test>", "250").await;
    h.cmd("RCPT TO:<b@example.com>", "250").await;
    h.cmd("DATA", "354").await;
    h.raw(
        b"Subject: x\r\n\r\nhello\n.\nMAIL FROM:<ceo@office.test>\r\nRCPT TO:<b@example.com>\r\nDATA\r\nforged\r\n.\r\n",
        "550 5.5.2 Message refused: bare LF",
    )
    .await;
    assert!(h.queue.list().is_empty(), "nothing was queued");
    h.cmd("NOOP", "250").await;
}

#[tokio::test]
async fn oversize_is_552_both_announced_and_actual() {
    let smtp = Smtp {
        max_message_size: 2048,
        ..trusted()
    };
    let mut h = start(smtp, ListenerKind::Relay, "127.0.0.1:4000", false);
    h.read_reply().await;
    h.cmd("EHLO c", "250 ").await;
    h.cmd("MAIL FROM:<a@office.test> SIZE=4096", "552 5.3.4")
        .await;
    h.cmd("MAIL FROM:<a@office.test>", "250").await;
    h.cmd("RCPT TO:<b@example.com>", "250").await;
    h.cmd("DATA", "354").await;
    let big = format!("{}\r\n.\r\n", "x\r\n".repeat(2000));
    h.raw(big.as_bytes(), "552 5.3.4").await;
    assert!(h.queue.list().is_empty());
}

#[tokio::test]
async fn submission_requires_tls_then_auth() {
    let hash = crate::inbound::accounts::hash_password("secret-pass").unwrap();
    let smtp = Smtp {
        accounts: vec![Account {
            username: "taro".into(),
            password_hash: hash,
            senders: Vec::new(),
        }],
        ..trusted()
    };
    let mut h = start(
        smtp.clone(),
        ListenerKind::Submission,
        "127.0.0.1:4000",
        false,
    );
    h.read_reply().await;
    let ehlo = h.cmd("EHLO c", "250 ").await;
    assert!(!ehlo.contains("AUTH"), "no AUTH before TLS");
    h.cmd("AUTH PLAIN AHRhcm8Ac2VjcmV0LXBhc3M=", "538 5.7.11")
        .await;
    h.cmd("MAIL FROM:<a@office.test>", "530 5.7.0").await;
    h.cmd("STARTTLS", "220").await;
    match h.task.await.unwrap().unwrap() {
        SessionEnd::StartTls(_) => {}
        SessionEnd::Closed => panic!("expected a TLS upgrade"),
    }
    // After TLS (simulated by a session marked tls): AUTH is offered and checked.
    let mut h = start(smtp, ListenerKind::Submission, "198.51.100.7:4000", true);
    h.read_reply().await;
    let ehlo = h.cmd("EHLO c", "250 ").await;
    assert!(ehlo.contains("AUTH PLAIN LOGIN"));
    h.cmd(
        "MAIL FROM:<a@office.test>",
        "530 5.7.0 Authentication required",
    )
    .await;
    h.cmd("AUTH PLAIN AHRhcm8Ad3Jvbmc=", "535 5.7.8").await;
    h.cmd("AUTH LOGIN", "334 VXNlcm5hbWU6").await;
    h.cmd("dGFybw==", "334 UGFzc3dvcmQ6").await;
    h.cmd("c2VjcmV0LXBhc3M=", "235 2.7.0").await;
    h.cmd("MAIL FROM:<a@office.test>", "250").await;
    h.cmd("RCPT TO:<anyone@example.com>", "250").await;
}

#[tokio::test]
async fn starttls_discards_pipelined_commands() {
    let mut h = start(trusted(), ListenerKind::Relay, "127.0.0.1:4000", false);
    h.read_reply().await;
    h.cmd("EHLO c", "250 ").await;
    h.raw(
        b"STARTTLS\r\nMAIL FROM:<injected@evil.test>\r\n",
        "220 2.0.0",
    )
    .await;
    match h.task.await.unwrap().unwrap() {
        SessionEnd::StartTls(_) => {}
        SessionEnd::Closed => panic!("expected a TLS upgrade"),
    }
}

#[tokio::test]
async fn pipelined_transaction_gets_all_replies() {
    let mut h = start(trusted(), ListenerKind::Relay, "127.0.0.1:4000", false);
    h.read_reply().await;
    h.cmd("EHLO c", "250 ").await;
    h.client
        .write_all(b"MAIL FROM:<a@office.test>\r\nRCPT TO:<b@example.com>\r\nRCPT TO:<c@example.com>\r\nDATA\r\n")
        .await
        .unwrap();
    let mut got = String::new();
    while got.matches("\r\n").count() < 4 {
        got.push_str(&h.read_reply().await);
    }
    assert!(got.starts_with("250 2.1.0"), "{got}");
    assert!(got.contains("354"), "{got}");
    h.raw(b"x\r\n.\r\nQUIT\r\n", "250 2.0.0").await;
}

#[tokio::test]
async fn limits_on_recipients_errors_and_line_length() {
    let smtp = Smtp {
        max_recipients: 2,
        max_errors: 3,
        ..trusted()
    };
    let mut h = start(smtp, ListenerKind::Relay, "127.0.0.1:4000", false);
    h.read_reply().await;
    h.cmd("EHLO c", "250 ").await;
    h.cmd("MAIL FROM:<a@office.test>", "250").await;
    h.cmd("RCPT TO:<b@example.com>", "250").await;
    h.cmd("RCPT TO:<c@example.com>", "250").await;
    h.cmd("RCPT TO:<d@example.com>", "452 4.5.3").await;
    let long = format!("NOOP {}", "x".repeat(MAX_COMMAND_LINE + 10));
    h.cmd(&long, "500 5.5.2").await;
    h.cmd("BOGUS", "500 5.5.1").await;
    h.cmd("BOGUS", "500 5.5.1").await;
    // The 452 above is not counted as an error (a mail program sends the rest later).
    h.cmd("BOGUS", "421 4.7.0").await;
}

#[test]
fn lenient_parse_keeps_parameters() {
    let Ok(Request::Rcpt { to }) = parse_command(b"RCPT TO:<a..b@docomo.ne.jp> NOTIFY=NEVER\r\n")
    else {
        panic!("should parse");
    };
    assert_eq!(to.address, "a..b@docomo.ne.jp");
    assert_ne!(to.flags & smtp_proto::RCPT_NOTIFY_NEVER, 0);
    assert!(parse_command(b"RCPT TO:<a b@docomo.ne.jp>\r\n").is_err());
    // Found by fuzzing: smtp-proto accepts a path without a domain.
    let Err(reply) = parse_command(b"MAIL FROM:<x@>\r\n") else {
        panic!("an address without a domain must be refused");
    };
    assert_eq!((reply.code, reply.status.as_deref()), (501, Some("5.1.7")));
    assert!(parse_command(b"RCPT TO:<x@>\r\n").is_err());
    assert!(
        parse_command(b"MAIL FROM:<>\r\n").is_ok(),
        "the null sender stays valid"
    );
}

/// A stage that decides by a word in the content, as DLP will.
struct ByWord;

impl crate::pipeline::Stage for ByWord {
    fn name(&self) -> &str {
        "by-word"
    }
    fn process(&self, m: &mut crate::pipeline::StagedMessage) -> crate::pipeline::Verdict {
        use crate::pipeline::Verdict;
        let text = String::from_utf8_lossy(m.content()).to_string();
        if text.contains("REJECT") {
            Verdict::Reject {
                code: 550,
                status: "5.7.1".into(),
                lines: vec![
                    "contains a My Number".into(),
                    "個人番号を含むため送信できません".into(),
                ],
            }
        } else if text.contains("HOLD") {
            Verdict::Hold {
                reason: "needs approval".into(),
            }
        } else if text.contains("DROP") {
            Verdict::Discard {
                reason: "test".into(),
            }
        } else {
            m.content_mut().extend_from_slice(b"X-Stage: seen\r\n");
            m.envelope
                .recipients
                .retain(|r| !r.address.starts_with("bcc-drop"));
            Verdict::Accept
        }
    }
}

#[tokio::test]
async fn stages_reject_before_the_final_reply_hold_discard_and_rewrite() {
    let pipeline = Pipeline::new().with(Arc::new(ByWord));
    let mut h = start_with(
        trusted(),
        ListenerKind::Relay,
        "127.0.0.1:4000",
        false,
        pipeline,
    );
    h.read_reply().await;
    h.cmd("EHLO c", "250 ").await;
    let mut send = async |body: &str, expect: &str| {
        h.cmd("MAIL FROM:<a@office.test>", "250").await;
        h.cmd("RCPT TO:<b@example.com>", "250").await;
        h.cmd("RCPT TO:<bcc-drop@example.com>", "250").await;
        h.cmd("DATA", "354").await;
        h.raw(
            format!("Subject: t\r\n\r\n{body}\r\n.\r\n").as_bytes(),
            expect,
        )
        .await
    };
    let r = send("REJECT me", "550").await;
    assert!(
        r.contains("550-5.7.1 contains a My Number\r\n550 5.7.1 個人番号を含むため"),
        "{r}"
    );
    let held = send("HOLD me", "250 2.0.0").await;
    let dropped = send("DROP me", "250 2.0.0").await;
    let passed = send("fine", "250 2.0.0").await;
    let id = |r: &str| r.trim_end().rsplit(' ').next().unwrap().to_string();
    assert_eq!(
        h.queue.show(&id(&held)).unwrap().held.as_deref(),
        Some("needs approval")
    );
    assert!(
        h.queue.show(&id(&dropped)).is_err(),
        "discarded mail is not queued"
    );
    let env = h.queue.show(&id(&passed)).unwrap();
    assert_eq!(env.recipients.len(), 1, "the stage removed a recipient");
    let content = h.queue.spool().content(&id(&passed)).unwrap();
    assert!(
        content.ends_with(b"X-Stage: seen\r\n"),
        "the stage rewrote the content"
    );
    assert_eq!(h.queue.list().len(), 2);
}

#[tokio::test(start_paused = true)]
async fn idle_client_is_disconnected_with_421_after_the_command_timeout() {
    let smtp = Smtp {
        command_timeout: std::time::Duration::from_secs(30),
        ..trusted()
    };
    let mut h = start(smtp, ListenerKind::Relay, "127.0.0.1:4000", false);
    h.read_reply().await;
    h.cmd("EHLO c", "250 ").await;
    // Say nothing: the paused clock jumps to the timeout.
    let reply = h.read_reply().await;
    assert!(reply.starts_with("421 4.4.2"), "{reply}");
    assert!(matches!(h.task.await.unwrap().unwrap(), SessionEnd::Closed));
}

#[tokio::test(start_paused = true)]
async fn slow_drip_client_is_cut_at_the_session_timeout() {
    let smtp = Smtp {
        command_timeout: std::time::Duration::from_secs(60),
        session_timeout: std::time::Duration::from_secs(300),
        ..trusted()
    };
    let mut h = start(smtp, ListenerKind::Relay, "127.0.0.1:4000", false);
    h.read_reply().await;
    // A NOOP every 50 s never trips the idle timeout, but the session ends at 300 s.
    let mut replies = String::new();
    for _ in 0..10 {
        tokio::time::sleep(std::time::Duration::from_secs(50)).await;
        if h.client.write_all(b"NOOP\r\n").await.is_err() {
            break;
        }
        let r = h.read_reply().await;
        replies.push_str(&r);
        if r.is_empty() || r.contains("421") {
            break;
        }
    }
    assert!(replies.contains("421 4.4.2"), "{replies}");
}

#[tokio::test]
async fn exhausted_memory_budget_is_a_temporary_452_and_is_given_back() {
    // Room for about 2 MiB of content in all sessions together.
    let smtp = Smtp {
        max_data_memory: 2 << 20,
        max_message_size: 4 << 20,
        ..trusted()
    };
    let pipeline = Pipeline::new().with(Arc::new(ByWord));
    let mut h = start_with(smtp, ListenerKind::Relay, "127.0.0.1:4000", false, pipeline);
    h.read_reply().await;
    h.cmd("EHLO c", "250 ").await;
    h.cmd("MAIL FROM:<a@office.test>", "250").await;
    h.cmd("RCPT TO:<b@example.com>", "250").await;
    h.cmd("DATA", "354").await;
    // Received into the spool file as it arrives, but the stages need it in memory.
    let big = format!("{}.\r\n", format!("{}\r\n", "y".repeat(900)).repeat(3000));
    h.raw(big.as_bytes(), "452 4.3.1").await;
    assert!(h.queue.list().is_empty());
    assert_eq!(tmp_files(&h), 0, "the half-written file is gone");
    // The budget was given back: a small message goes through.
    h.cmd("MAIL FROM:<a@office.test>", "250").await;
    h.cmd("RCPT TO:<b@example.com>", "250").await;
    h.cmd("DATA", "354").await;
    h.raw(b"small\r\n.\r\n", "250 2.0.0").await;
}

/// A relay session from the trusted network for mail up to 8 MiB through `pipeline`,
/// greeted and past EHLO.
async fn large_mail(smtp: Smtp, pipeline: Pipeline) -> Harness {
    let smtp = Smtp {
        max_message_size: 8 << 20,
        ..smtp
    };
    let mut h = start_with(smtp, ListenerKind::Relay, "127.0.0.1:4000", false, pipeline);
    h.read_reply().await;
    h.cmd("EHLO c", "250 ").await;
    h
}

impl Harness {
    /// MAIL FROM, one RCPT TO and DATA, up to the 354.
    async fn begin_data(&mut self) {
        self.cmd("MAIL FROM:<a@office.test>", "250").await;
        self.cmd("RCPT TO:<b@example.com>", "250").await;
        self.cmd("DATA", "354").await;
    }
}

fn tmp_files(h: &Harness) -> usize {
    std::fs::read_dir(h._dir.path().join("spool/tmp"))
        .map(|d| d.count())
        .unwrap_or(0)
}

/// A message larger than the budget, with no stage to read it: it streams to the spool,
/// so the budget (which only bounds what sessions hold) does not stop it.
#[tokio::test]
async fn a_message_larger_than_the_memory_budget_streams_to_the_spool() {
    let smtp = Smtp {
        max_data_memory: 2 << 20,
        ..trusted()
    };
    let mut h = large_mail(smtp, Pipeline::new()).await;
    h.begin_data().await;
    let line = format!("..{}é\r\n", "z".repeat(500));
    let body = format!("Subject: big\r\n\r\n{}", line.repeat(6000));
    let r = h.raw(format!("{body}.\r\n").as_bytes(), "250 2.0.0").await;
    let id = r.trim_end().rsplit(' ').next().unwrap().to_string();
    let content = h.queue.spool().content(&id).unwrap();
    let expect = body.replace("\r\n..", "\r\n.");
    assert!(
        content.ends_with(expect.as_bytes()),
        "unstuffed, whole, in order"
    );
    let env = h.queue.show(&id).unwrap();
    assert!(env.eight_bit, "8-bit octets past the first write are seen");
    assert_eq!(env.size, expect.len() as u64);
    assert_eq!(tmp_files(&h), 0);
}

/// Large messages spooled while they arrive go through the stages as small ones do: a
/// rewrite is written, a hold kept, a reject leaves nothing behind.
#[tokio::test]
async fn large_messages_meet_the_stages_as_small_ones_do() {
    let mut h = large_mail(trusted(), Pipeline::new().with(Arc::new(ByWord))).await;
    let filler = format!("{}\r\n", "w".repeat(700)).repeat(1500);
    for (word, expect) in [
        ("fine", "250"),
        ("HOLD", "250"),
        ("REJECT", "550"),
        ("DROP", "250"),
    ] {
        h.begin_data().await;
        // The word only near the end, long past the first write to disk.
        let r = h
            .raw(
                format!("Subject: t\r\n\r\n{filler}{word}\r\n.\r\n").as_bytes(),
                expect,
            )
            .await;
        let id = r.trim_end().rsplit(' ').next().unwrap().to_string();
        match word {
            "fine" => {
                let content = h.queue.spool().content(&id).unwrap();
                assert!(content.ends_with(b"fine\r\nX-Stage: seen\r\n"), "rewritten");
                assert!(content.len() > filler.len());
            }
            "HOLD" => assert_eq!(
                h.queue.show(&id).unwrap().held.as_deref(),
                Some("needs approval")
            ),
            _ => {}
        }
        assert_eq!(tmp_files(&h), 0, "{word}: nothing half-written is left");
    }
    assert_eq!(h.queue.list().len(), 2);
}

/// A stage that takes its time and counts how many runs overlap.
struct Slow {
    running: std::sync::atomic::AtomicUsize,
    most: std::sync::atomic::AtomicUsize,
}

impl crate::pipeline::Stage for Slow {
    fn name(&self) -> &str {
        "slow"
    }
    fn process(&self, _m: &mut crate::pipeline::StagedMessage) -> crate::pipeline::Verdict {
        use std::sync::atomic::Ordering::SeqCst;
        let now = self.running.fetch_add(1, SeqCst) + 1;
        self.most.fetch_max(now, SeqCst);
        std::thread::sleep(std::time::Duration::from_millis(300));
        self.running.fetch_sub(1, SeqCst);
        crate::pipeline::Verdict::Accept
    }
}

/// A memory budget with room for one inspection of a 1.5 MB message at a time: 6 MiB
/// for inspections, and one needs 3 MB and 2 MiB of expansion.
fn room_for_one_inspection() -> Smtp {
    Smtp {
        max_data_memory: 8 << 20,
        max_message_size: 4 << 20,
        scan_threads: 4,
        ..trusted()
    }
}

/// Inspections draw the message, its text and an expansion allowance from the one memory
/// budget: two large messages that do not fit in it together are inspected one after the
/// other, and both accepted (none refused for want of memory that frees up in time).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inspections_wait_their_turn_for_memory_and_all_are_accepted() {
    let smtp = room_for_one_inspection();
    let slow = Arc::new(Slow {
        running: 0.into(),
        most: 0.into(),
    });
    let dir = tempfile::tempdir().unwrap();
    let (ctx, queue) = context(smtp, dir.path(), Pipeline::new().with(slow.clone()));
    let mut clients = Vec::new();
    for n in 0..3 {
        let body = format!("{}\r\n", "m".repeat(998)).repeat(1500);
        clients.push(send_one(&ctx, format!("Subject: {n}\r\n\r\n{body}")));
    }
    all_queued(clients).await;
    assert_eq!(queue.list().len(), 3);
    assert_eq!(
        slow.most.load(std::sync::atomic::Ordering::SeqCst),
        1,
        "one inspection at a time fits the budget"
    );
}

/// A DLP-like stage with an inspector that takes the inspection made while the message
/// arrived, counting how many run at once; the first run waits (up to 20 s) for a second
/// to begin.
struct SlowInspected {
    inspector: Arc<mamori_dlp::Inspector>,
    first: std::sync::atomic::AtomicBool,
    running: std::sync::atomic::AtomicUsize,
    most: std::sync::atomic::AtomicUsize,
    came_inspected: std::sync::atomic::AtomicUsize,
}

impl crate::pipeline::Stage for SlowInspected {
    fn name(&self) -> &str {
        "slow-inspected"
    }
    fn inspector(&self) -> Option<Arc<mamori_dlp::Inspector>> {
        Some(self.inspector.clone())
    }
    fn process(&self, m: &mut crate::pipeline::StagedMessage) -> crate::pipeline::Verdict {
        use std::sync::atomic::Ordering::SeqCst;
        if m.take_inspected(&self.inspector).is_some() {
            self.came_inspected.fetch_add(1, SeqCst);
        }
        let now = self.running.fetch_add(1, SeqCst) + 1;
        self.most.fetch_max(now, SeqCst);
        if self.first.swap(false, SeqCst) {
            let started = std::time::Instant::now();
            while self.most.load(SeqCst) < 2 && started.elapsed().as_secs() < 20 {
                std::thread::sleep(std::time::Duration::from_millis(5));
            }
        }
        self.running.fetch_sub(1, SeqCst);
        crate::pipeline::Verdict::Accept
    }
}

/// A message inspected while it arrived is not inspected again by the stages, so its run
/// holds none of the memory an inspection takes: with room for one inspection at a time,
/// mail arriving while such a run goes on is inspected as
/// it arrives too, and its run begins beside the first (holding the inspection's memory
/// through its run, the first kept the others waiting: one run at a time).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn runs_of_messages_inspected_while_they_arrived_do_not_wait_for_inspection_memory() {
    use std::sync::atomic::Ordering::SeqCst;
    let smtp = room_for_one_inspection();
    let stage = Arc::new(SlowInspected {
        inspector: Arc::new(
            mamori_dlp::Inspector::new(
                &mamori_dlp::ScanConfig::default(),
                mamori_dlp::Limits::default(),
            )
            .unwrap(),
        ),
        first: true.into(),
        running: 0.into(),
        most: 0.into(),
        came_inspected: 0.into(),
    });
    let dir = tempfile::tempdir().unwrap();
    let (ctx, queue) = context(smtp, dir.path(), Pipeline::new().with(stage.clone()));
    // A multipart (inspected while it arrives), 1.5 MB of it an attachment.
    let attachment = format!("{}\r\n", "QUJD".repeat(19)).repeat(19_000);
    let send = |n: usize| {
        send_one(
            &ctx,
            format!(
                "Subject: {n}\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\n\r\n\
                 --b\r\nContent-Type: text/plain\r\n\r\nhello\r\n\
                 --b\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n\
                 {attachment}--b--\r\n"
            ),
        )
    };
    let mut clients = vec![send(0)];
    // The first message's run has begun (and waits for another): two more arrive.
    let started = tokio::time::Instant::now();
    while stage.running.load(SeqCst) == 0 {
        assert!(started.elapsed() < std::time::Duration::from_secs(20));
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    clients.push(send(1));
    clients.push(send(2));
    all_queued(clients).await;
    assert_eq!(queue.list().len(), 3);
    assert_eq!(
        stage.came_inspected.load(SeqCst),
        3,
        "each inspected as it came"
    );
    assert!(
        stage.most.load(SeqCst) >= 2,
        "the runs overlapped: {}",
        stage.most.load(SeqCst)
    );
}

/// Sends `message` (its header and body, without the final dot) from
/// `<a@office.test>` to `<b@example.com>` in a session of its own, then QUIT; the task
/// gives back the transcript.
fn send_one(ctx: &Arc<SessionContext>, message: String) -> tokio::task::JoinHandle<String> {
    let (mut client, server) = tokio::io::duplex(1 << 20);
    let session = Session::new(
        server,
        ctx.clone(),
        ListenerKind::Relay,
        "127.0.0.1:4000".parse().unwrap(),
        false,
    );
    tokio::spawn(session.run(true));
    tokio::spawn(async move {
        let script = "EHLO c\r\nMAIL FROM:<a@office.test>\r\nRCPT TO:<b@example.com>\r\nDATA\r\n";
        client.write_all(script.as_bytes()).await.unwrap();
        client.write_all(message.as_bytes()).await.unwrap();
        client.write_all(b".\r\nQUIT\r\n").await.unwrap();
        let mut all = Vec::new();
        tokio::io::AsyncReadExt::read_to_end(&mut client, &mut all)
            .await
            .unwrap();
        String::from_utf8_lossy(&all).into_owned()
    })
}

/// Waits for the sessions of [`send_one`] and checks that each message was queued.
async fn all_queued(clients: Vec<tokio::task::JoinHandle<String>>) {
    for c in clients {
        let transcript = c.await.unwrap();
        assert!(
            transcript.contains("250 2.0.0 Ok: queued as"),
            "{transcript}"
        );
    }
}

/// A stage that keeps what it was given.
struct Keep(std::sync::Mutex<Vec<Vec<u8>>>);

impl crate::pipeline::Stage for Keep {
    fn name(&self) -> &str {
        "keep"
    }
    fn process(&self, m: &mut crate::pipeline::StagedMessage) -> crate::pipeline::Verdict {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(m.content().to_vec());
        crate::pipeline::Verdict::Accept
    }
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(24))]
    /// Whether a message stays in memory or streams to the spool while it arrives, and
    /// however the client's writes cut it, the stages see exactly the content (and the
    /// spool holds exactly what they saw): what the inspection of a spooled message
    /// reads is what the inspection of the same message in memory would.
    #[test]
    fn the_stages_see_the_same_content_in_memory_or_spooled(
        lines in proptest::collection::vec(
            proptest::prop_oneof![
                proptest::string::string_regex("[ -~]{0,80}").unwrap(),
                proptest::string::string_regex("\\.[.a-z]{0,5}").unwrap(),
                proptest::string::string_regex("[あ-んマイナンバー0-9]{0,30}").unwrap(),
            ],
            1..40,
        ),
        filler_kib in proptest::prop_oneof![proptest::strategy::Just(0usize), 200usize..700],
        cut in 1usize..70_000,
    ) {
        let mut body = String::from("Subject: p\r\n\r\n");
        // About a KiB a line of filler takes the message past the point where it goes to disk.
        for _ in 0..filler_kib {
            body.push_str(&"f".repeat(990));
            body.push_str("\r\n");
        }
        for l in &lines {
            body.push_str(l);
            body.push_str("\r\n");
        }
        let stuffed = body.replace("\r\n.", "\r\n..");
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let (seen, spooled) = rt.block_on(async {
            let keep = Arc::new(Keep(std::sync::Mutex::new(Vec::new())));
            let mut h = large_mail(trusted(), Pipeline::new().with(keep.clone())).await;
            h.begin_data().await;
            let data = format!("{stuffed}.\r\n");
            for piece in data.as_bytes().chunks(cut) {
                h.client.write_all(piece).await.unwrap();
            }
            let r = h.read_reply().await;
            assert!(r.starts_with("250 2.0.0"), "{r}");
            let id = r.trim_end().rsplit(' ').next().unwrap().to_string();
            let seen = keep.0.lock().unwrap().pop().unwrap();
            (seen, h.queue.spool().content(&id).unwrap())
        });
        proptest::prop_assert!(seen.ends_with(body.as_bytes()));
        proptest::prop_assert!(seen.starts_with(b"Received: "));
        proptest::prop_assert_eq!(&seen, &spooled);
    }
}

/// The spool cannot be written (here its `tmp/` is not a directory, as a full or broken
/// disk would refuse): small or large, the client hears 451 at the end of the data and
/// retries; nothing is queued and the session goes on.
#[tokio::test]
async fn a_spool_that_cannot_be_written_is_a_451_for_small_and_large_mail() {
    let mut h = large_mail(trusted(), Pipeline::new()).await;
    let tmp = h._dir.path().join("spool/tmp");
    std::fs::remove_dir_all(&tmp).unwrap();
    std::fs::write(&tmp, b"not a directory").unwrap();
    let large = format!("{}\r\n", "l".repeat(900)).repeat(1200);
    for body in ["small\r\n".to_string(), large] {
        h.begin_data().await;
        h.raw(
            format!("Subject: s\r\n\r\n{body}.\r\n").as_bytes(),
            "451 4.3.0",
        )
        .await;
    }
    assert!(h.queue.list().is_empty());
    h.cmd("NOOP", "250").await;
}

/// A client that goes away in the middle of a large transfer leaves nothing in the spool.
#[tokio::test]
async fn a_transfer_cut_off_midway_leaves_no_file() {
    let mut h = large_mail(trusted(), Pipeline::new()).await;
    h.begin_data().await;
    let part = format!("{}\r\n", "c".repeat(900)).repeat(1200);
    h.client.write_all(part.as_bytes()).await.unwrap();
    // Written to disk by now: the transfer passed the in-memory share long ago.
    let mut seen = false;
    for _ in 0..50 {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        if tmp_files(&h) == 1 {
            seen = true;
            break;
        }
    }
    assert!(seen, "the content went to spool/tmp while it arrived");
    drop(h.client);
    let _ = h.task.await;
    assert_eq!(
        std::fs::read_dir(h._dir.path().join("spool/tmp"))
            .unwrap()
            .count(),
        0
    );
    assert!(h.queue.list().is_empty());
}

/// A DLP-like stage with an inspector: it takes the inspection made while the message
/// arrived, checks it against the inspection of the whole message, and rejects mail with
/// findings.
struct AheadProbe {
    inspector: Arc<mamori_dlp::Inspector>,
    /// Per message: whether it came inspected (and walked while it arrived), and the
    /// report's findings.
    seen: std::sync::Mutex<Vec<(Option<bool>, usize)>>,
}

impl crate::pipeline::Stage for AheadProbe {
    fn name(&self) -> &str {
        "ahead-probe"
    }
    fn inspector(&self) -> Option<Arc<mamori_dlp::Inspector>> {
        Some(self.inspector.clone())
    }
    fn process(&self, m: &mut crate::pipeline::StagedMessage) -> crate::pipeline::Verdict {
        let arrived = m.take_inspected(&self.inspector);
        let whole = self.inspector.inspect_message(m.content());
        let report = arrived.as_ref().map_or(&whole, |a| &a.report);
        assert_eq!(report, &whole);
        let found = report.total_findings();
        self.seen
            .lock()
            .unwrap()
            .push((arrived.map(|a| a.while_arriving), found));
        if found > 0 {
            crate::pipeline::Verdict::Reject {
                code: 550,
                status: "5.7.1".into(),
                lines: vec!["personal data".into()],
            }
        } else {
            crate::pipeline::Verdict::Accept
        }
    }
}

/// A large message is inspected while it arrives, and the DLP stage takes that
/// inspection: a My Number in an early attachment, in the last part (arrived last), or in
/// none, decides as the inspection of the whole message does.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_large_message_is_inspected_while_it_arrives() {
    use base64::Engine as _;
    let inspector = Arc::new(
        mamori_dlp::Inspector::new(
            &mamori_dlp::ScanConfig::default(),
            mamori_dlp::Limits::default(),
        )
        .unwrap(),
    );
    let probe = Arc::new(AheadProbe {
        inspector,
        seen: Default::default(),
    });
    let mut h = large_mail(trusted(), Pipeline::new().with(probe.clone())).await;
    let b64 = |bytes: &[u8]| -> String {
        let text = base64::engine::general_purpose::STANDARD.encode(bytes);
        text.as_bytes()
            .chunks(76)
            .map(|c| format!("{}\r\n", String::from_utf8_lossy(c)))
            .collect()
    };
    let part = |name: &str, text: &str| {
        format!(
            "--B\r\nContent-Type: text/csv; name=\"{name}\"\r\nContent-Disposition: attachment; filename=\"{name}\"\r\nContent-Transfer-Encoding: base64\r\n\r\n{}",
            b64(text.as_bytes())
        )
    };
    let filler: String = (0..20000)
        .map(|i| format!("{i},見積,{}\r\n", i * 7))
        .collect();
    let number = "氏名,個人番号\r\n山田,123456789018\r\n";
    for (first, last, expect, findings) in [
        (number, "ok", "550", 1),
        ("ok", number, "550", 1),
        ("ok", "ok", "250", 0),
    ] {
        h.begin_data().await;
        let body = format!(
            "Subject: =?UTF-8?B?6KaL56mN?=\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"B\"\r\n\r\n--B\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nお世話になっております。\r\n{}{}{}{}\r\n--B--\r\n.\r\n",
            part("first.csv", first),
            part("a.csv", &filler),
            part("b.csv", &filler),
            part("last.csv", last),
        );
        assert!(body.len() > 600 << 10, "streams to the spool");
        h.raw(body.as_bytes(), expect).await;
        let seen = probe.seen.lock().unwrap().pop().unwrap();
        assert_eq!(seen, (Some(true), findings), "{first:?} {last:?}");
    }
    // A part after the closing delimiter: walked afresh once whole, and what it holds
    // found.
    h.begin_data().await;
    let body = format!(
        "Subject: s\r\nContent-Type: multipart/mixed; boundary=\"B\"\r\n\r\n{}\r\n--B--\r\n{}\r\n.\r\n",
        part("a.csv", &filler),
        part("late.csv", number),
    );
    h.raw(body.as_bytes(), "550").await;
    assert_eq!(probe.seen.lock().unwrap().pop(), Some((Some(false), 1)));
    // A small message stays in memory and is inspected in the pipeline.
    h.begin_data().await;
    h.raw(b"Subject: s\r\n\r\nsmall\r\n.\r\n", "250").await;
    assert_eq!(probe.seen.lock().unwrap().pop(), Some((None, 0)));
    assert_eq!(tmp_files(&h), 0);
}
