//! The promise: a message that got 250 is never lost, even if the relay is SIGKILLed.

use std::collections::HashSet;
use std::time::Duration;

use crate::common::*;

#[test]
fn sigkill_under_load_loses_no_accepted_message() {
    let sink = Sink::start();
    let mut m = Mamori::start(sink.port, None, "");
    // Four client threads send numbered messages as fast as they can and record every
    // number that got 250; the relay is killed in the middle of it.
    let script = r#"
import smtplib, sys, threading, time
port, seconds = int(sys.argv[1]), float(sys.argv[2])
acked, lock = [], threading.Lock()
def worker(w):
    end = time.time() + seconds
    n = 0
    while time.time() < end:
        try:
            with smtplib.SMTP("127.0.0.1", port, timeout=5) as s:
                while time.time() < end:
                    tag = f"crash-{w}-{n}"
                    n += 1
                    # Every third message is large: spooled while it arrives, so the kill
                    # may land mid-write.
                    body = (("x" * 998 + "\r\n") * 700 if n % 3 == 0 else "body\r\n") + f"end-{tag}\r\n"
                    s.sendmail("a@office.test", ["b@sink.test"], f"Subject: {tag}\r\n\r\n{body}")
                    with lock: acked.append(tag)
        except Exception:
            time.sleep(0.05)
ts = [threading.Thread(target=worker, args=(w,)) for w in range(4)]
[t.start() for t in ts]; [t.join() for t in ts]
print("\n".join(acked))
"#;
    let port = m.relay.to_string();
    let client = std::thread::spawn(move || python(script, &[&port, "6"]));
    std::thread::sleep(Duration::from_millis(2500));
    m.kill();
    std::thread::sleep(Duration::from_millis(500));
    m.spawn();
    let (code, out) = client.join().unwrap();
    assert_eq!(code, 0, "{out}");
    let acked: HashSet<String> = out
        .lines()
        .filter(|l| l.starts_with("crash-"))
        .map(str::to_string)
        .collect();
    assert!(
        acked.len() > 20,
        "too little load to mean anything: {}",
        acked.len()
    );
    let all_arrived = wait_for(Duration::from_secs(60), || {
        acked.is_subset(&subjects(&sink))
    });
    let got = subjects(&sink);
    let missing: Vec<_> = acked.difference(&got).collect();
    assert!(
        all_arrived,
        "{} of {} acknowledged messages lost: {:?}\nlog:\n{}",
        missing.len(),
        acked.len(),
        missing,
        m.log()
    );
    // Each arrived whole: its last line there, and a large one at its full size.
    let mut large = 0;
    for (text, _) in sink.messages() {
        let Some(tag) = text
            .lines()
            .find_map(|l| l.strip_prefix("Subject: "))
            .map(str::to_string)
        else {
            continue;
        };
        assert!(text.contains(&format!("\nend-{tag}\n")), "{tag} cut short");
        if text.len() > 600_000 {
            large += 1;
            assert_eq!(text.matches(&"x".repeat(998)).count(), 700, "{tag}");
        }
    }
    assert!(
        large > 3,
        "too few large messages to mean anything: {large}"
    );
    // Nothing half-written is left behind once the queue is empty.
    assert!(wait_for(Duration::from_secs(10), || m
        .queue_json()
        .as_array()
        .is_some_and(|a| a.is_empty())));
    let tmp = m.dir.path().join("data/spool/tmp");
    assert_eq!(std::fs::read_dir(&tmp).unwrap().count(), 0);
}
