//! Paced delivery: a mailing to a throttling destination leaves spread out, not at once.

use std::time::Duration;

use crate::common::*;

/// Recipients of each transaction the sink received (its `X-Rcpt-Args:` lines).
fn recipients_per_transaction(sink: &Sink) -> Vec<usize> {
    sink.messages()
        .iter()
        .map(|(t, _)| t.matches("X-Rcpt-Args:").count())
        .collect()
}

#[test]
fn mailing_to_a_paced_domain_leaves_spread_over_time() {
    let sink = Sink::start();
    // 60 transactions a minute, 2 recipients per transaction, 1 connection: ten
    // recipients make five transactions at least a second apart.
    let extra = r#"
[[smtp.pacing.groups]]
name = "test-carrier"
domains = ["sink.test"]
[smtp.pacing.groups.limits]
max_connections = 1
messages_per_connection = 100
messages_per_minute = 60
recipients_per_transaction = 2
recipients_per_connection = 50
"#;
    let m = Mamori::start(sink.port, None, extra);
    let rcpts: Vec<String> = (0..10).map(|i| format!("user{i}@sink.test")).collect();
    m.send("a@office.test", &rcpts.join(","), None);
    assert!(
        wait_for(Duration::from_secs(30), || sink.count() == 5),
        "got {}; log:\n{}",
        sink.count(),
        m.log()
    );
    let times: Vec<_> = sink.messages().into_iter().map(|(_, t)| t).collect();
    let spread = times[4].duration_since(times[0]).unwrap();
    assert!(
        spread >= Duration::from_millis(3500),
        "five transactions within {spread:?}: not paced"
    );
    assert_eq!(recipients_per_transaction(&sink), vec![2; 5]);
}

/// A school's notice: ONE message to 300 parents' docomo phones (as Bcc, the way a mail
/// program sends it) is taken in one transaction, and leaves in transactions of at most 20
/// recipients, paced at the preset's 30 a minute, never in a burst and never more than 50
/// recipients in a session (docomo drops sessions over 100).
#[test]
fn one_notice_to_300_carrier_addresses_is_taken_and_leaves_paced() {
    let sink = Sink::start();
    let extra = format!(
        "[[smtp.delivery.routes]]\ndomain = \"docomo.ne.jp\"\nhost = \"127.0.0.1\"\nport = {}\n",
        sink.port
    );
    let m = Mamori::start(sink.port, None, &extra);
    let script = r#"
import smtplib, sys
from email.message import EmailMessage
msg = EmailMessage()
msg["From"] = "school@office.test"
msg["To"] = "school@office.test"
msg["Bcc"] = ", ".join(f"parent{i}@docomo.ne.jp" for i in range(300))
msg["Subject"] = "notice"
msg.set_content("明日は休校です。")
with smtplib.SMTP("127.0.0.1", int(sys.argv[1]), timeout=60) as s:
    refused = s.send_message(msg, to_addrs=[f"parent{i}@docomo.ne.jp" for i in range(300)])
print("ok", len(refused))
"#;
    let (code, out) = python(script, &[&m.relay.to_string()]);
    assert_eq!((code, out.trim()), (0, "ok 0"), "{out}");
    let delivered = || recipients_per_transaction(&sink).iter().sum::<usize>();
    assert!(
        wait_for(Duration::from_secs(90), || delivered() == 300),
        "only {} of 300 recipients delivered; log:\n{}",
        delivered(),
        m.log()
    );
    let per_txn = recipients_per_transaction(&sink);
    assert!(
        per_txn.iter().all(|&n| (1..=20).contains(&n)),
        "{per_txn:?}"
    );
    // At most 50 recipients a connection, in transactions of at most 20: 20+20+10 six
    // times.
    assert_eq!(per_txn.len(), 18, "{per_txn:?}");
    let msgs = sink.messages();
    let spread = msgs[17].1.duration_since(msgs[0].1).unwrap();
    // 18 transactions 2 s apart: about 34 s; anything near zero would be a burst.
    assert!(
        spread >= Duration::from_secs(25),
        "300 recipients left within {spread:?}: not paced"
    );
    // The Bcc never reaches a recipient.
    assert!(msgs.iter().all(|(t, _)| !t.contains("Bcc:")));
}

/// A destination that answers 421 "slow down" gets no new transaction for
/// `throttle_pause`, even though the message itself is due again sooner.
#[test]
fn destination_answering_421_is_slowed_down() {
    let server = r#"
import socket, sys, time
srv = socket.socket(); srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("127.0.0.1", int(sys.argv[1]))); srv.listen(5)
print("ready", flush=True)
conn_no = 0
while True:
    c, _ = srv.accept(); conn_no += 1
    f = c.makefile("rb")
    c.sendall(b"220 carrier ESMTP\r\n")
    while True:
        l = f.readline()
        if not l: break
        u = l.upper()
        if u.startswith(b"EHLO"): c.sendall(b"250-carrier\r\n250 ENHANCEDSTATUSCODES\r\n")
        elif u.startswith(b"MAIL") and conn_no == 1:
            print(f"throttled {time.time()}", flush=True)
            c.sendall(b"421 4.7.0 Too many messages, slow down\r\n"); break
        elif u.startswith(b"MAIL") or u.startswith(b"RCPT"): c.sendall(b"250 2.0.0 ok\r\n")
        elif u.startswith(b"DATA"):
            c.sendall(b"354 go\r\n")
            while f.readline() not in (b".\r\n", b""): pass
            print(f"delivered {time.time()}", flush=True)
            c.sendall(b"250 2.0.0 queued\r\n")
        elif u.startswith(b"QUIT"): c.sendall(b"221 bye\r\n"); break
        else: c.sendall(b"250 ok\r\n")
    c.close()
"#;
    let mut peer = ScriptPeer::start(server);
    let m = Mamori::start(
        peer.port,
        None,
        "[smtp.delivery]\nretry_initial = \"1s\"\nretry_max = \"1s\"\n[smtp.pacing]\nthrottle_pause = \"4s\"\n",
    );
    m.send("a@office.test", "b@sink.test", None);
    let mut stamp = |want: &str| -> f64 {
        let line = peer
            .next_line(Duration::from_secs(30))
            .unwrap_or_else(|| panic!("no {want}; log:\n{}", m.log()));
        assert!(line.starts_with(want), "expected {want}, got {line}");
        line.rsplit(' ').next().unwrap().parse().unwrap()
    };
    let throttled = stamp("throttled");
    let delivered = stamp("delivered");
    assert!(
        delivered - throttled >= 3.5,
        "retried {:.1}s after a 421; the lane should have paused 4s",
        delivered - throttled
    );
    assert!(m.log().contains("slowing down"), "{}", m.log());
}
