//! Paced delivery: a mailing to a throttling destination leaves spread out, not at once.

use std::time::Duration;

use crate::common::*;

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
}

#[test]
fn carrier_preset_keeps_sessions_under_100_recipients() {
    let sink = Sink::start();
    let extra = format!(
        "[[smtp.delivery.routes]]\ndomain = \"docomo.ne.jp\"\nhost = \"127.0.0.1\"\nport = {}\n",
        sink.port
    );
    let m = Mamori::start(sink.port, None, &extra);
    let rcpts: Vec<String> = (0..40).map(|i| format!("u{i}@docomo.ne.jp")).collect();
    let (code, out) = swaks(&[
        "--server",
        &m.relay_addr().to_string(),
        "--from",
        "a@office.test",
        "--to",
        &rcpts.join(","),
    ]);
    assert_eq!(code, 0, "{out}");
    // The preset allows 20 recipients per transaction: two transactions.
    assert!(
        wait_for(Duration::from_secs(30), || sink.count() == 2),
        "got {}; log:\n{}",
        sink.count(),
        m.log()
    );
}
