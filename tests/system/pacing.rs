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
    let (code, out) = swaks(&[
        "--server",
        &m.relay_addr().to_string(),
        "--from",
        "a@office.test",
        "--to",
        &rcpts.join(","),
    ]);
    assert_eq!(code, 0, "{out}");
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

/// A mailing to 300 docomo addresses (three messages of 100 recipients) must leave in
/// transactions of at most 20 recipients, paced at the preset's 30 a minute, never in a
/// burst and never more than 100 recipients in a session.
#[test]
fn mailing_to_300_carrier_addresses_leaves_paced() {
    let sink = Sink::start();
    let extra = format!(
        "[[smtp.delivery.routes]]\ndomain = \"docomo.ne.jp\"\nhost = \"127.0.0.1\"\nport = {}\n",
        sink.port
    );
    let m = Mamori::start(sink.port, None, &extra);
    let script = r#"
import smtplib, sys
with smtplib.SMTP("127.0.0.1", int(sys.argv[1]), timeout=20) as s:
    for part in range(3):
        rcpts = [f"member{part * 100 + i}@docomo.ne.jp" for i in range(100)]
        s.sendmail("news@office.test", rcpts, f"Subject: mailing part {part}\r\n\r\nhello\r\n")
print("ok")
"#;
    let (code, out) = python(script, &[&m.relay.to_string()]);
    assert_eq!(code, 0, "{out}");
    // The preset carries at most 50 recipients a connection (docomo drops sessions over
    // 100) in transactions of at most 20: each 100-recipient message leaves as 20+20+10
    // twice, 18 transactions in all, at 30 a minute.
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
    assert_eq!(per_txn.len(), 18, "{per_txn:?}");
    let msgs = sink.messages();
    let spread = msgs[17].1.duration_since(msgs[0].1).unwrap();
    // 18 transactions 2 s apart: about 34 s; anything near zero would be a burst.
    assert!(
        spread >= Duration::from_secs(25),
        "300 recipients left within {spread:?}: not paced"
    );
}
