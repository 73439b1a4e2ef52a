//! The queue: deferral and retry, bounces, and the administrator's commands.

use std::time::Duration;

use crate::common::*;

const FAST_RETRY: &str =
    "[smtp.delivery]\nretry_initial = \"1s\"\nretry_max = \"2s\"\nconnect_timeout = \"2s\"\n";

#[test]
fn destination_down_defers_then_delivers_when_it_comes_back() {
    let port = free_port();
    let m = Mamori::start(port, None, FAST_RETRY);
    m.send("a@office.test", "b@sink.test", Some("patience"));
    // The sink is down: the message must stay queued with the reason.
    assert!(
        wait_for(Duration::from_secs(15), || {
            let q = m.queue_json();
            q[0]["attempts"].as_u64().unwrap_or(0) >= 2
                && q[0]["last_error"].as_str().is_some_and(|e| !e.is_empty())
        }),
        "no deferral recorded: {}\nlog:\n{}",
        m.queue_json(),
        m.log()
    );
    let (_, listing, _) = m.queue(&["list"]);
    assert!(listing.contains("b@sink.test"), "{listing}");
    let sink = Sink::start_on(port);
    assert!(
        wait_for(Duration::from_secs(20), || sink.count() == 1),
        "log:\n{}",
        m.log()
    );
    assert!(wait_for(Duration::from_secs(5), || m
        .queue_json()
        .as_array()
        .is_some_and(|a| a.is_empty())));
    let (code, stats, _) = m.queue(&["--json", "stats"]);
    assert_eq!(code, 0);
    let stats: serde_json::Value = serde_json::from_str(&stats).unwrap();
    assert_eq!(stats["received"], 1);
    assert_eq!(stats["delivered"], 1);
    assert!(stats["deferred"].as_u64().unwrap() >= 1, "{stats}");
}

#[test]
fn message_bounces_to_sender_after_queue_lifetime() {
    let down = free_port();
    let bounces = Sink::start();
    let extra = format!("{FAST_RETRY}queue_lifetime = \"4s\"\n");
    let m = Mamori::start(down, Some(bounces.port), &extra);
    m.send("taro@sender.test", "gone@sink.test", Some("will-expire"));
    assert!(
        wait_for(Duration::from_secs(30), || bounces.count() == 1),
        "no bounce; log:\n{}",
        m.log()
    );
    let (dsn, _) = &bounces.messages()[0];
    for needle in [
        "multipart/report",
        "report-type=delivery-status",
        "message/delivery-status",
        "Final-Recipient: rfc822; gone@sink.test",
        "Action: failed",
        "Status: 4.4.7",
        "Subject: will-expire",
    ] {
        assert!(dsn.contains(needle), "DSN lacks {needle:?}:\n{dsn}");
    }
    assert!(wait_for(Duration::from_secs(5), || m
        .queue_json()
        .as_array()
        .is_some_and(|a| a.is_empty())));
}

#[test]
fn permanent_rejection_bounces_at_once() {
    // smtp-sink rejects RCPT with 5xx when told to (-R / -r options vary); use a tiny
    // Python server that refuses every recipient with 550 instead.
    let script = r#"
import socket, sys, threading
srv = socket.socket(); srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("127.0.0.1", int(sys.argv[1]))); srv.listen(5)
print("ready", flush=True)
c, _ = srv.accept(); f = c.makefile("rb")
c.sendall(b"220 refuser ESMTP\r\n")
while True:
    l = f.readline()
    if not l: break
    u = l.upper()
    if u.startswith(b"EHLO"): c.sendall(b"250-refuser\r\n250 ENHANCEDSTATUSCODES\r\n")
    elif u.startswith(b"MAIL"): c.sendall(b"250 2.1.0 ok\r\n")
    elif u.startswith(b"RCPT"): c.sendall(b"550 5.1.1 <nobody@sink.test>: Recipient address rejected: User unknown\r\n")
    elif u.startswith(b"QUIT"): c.sendall(b"221 bye\r\n"); break
    elif u.startswith(b"RSET"): c.sendall(b"250 ok\r\n")
    else: c.sendall(b"503 5.5.1 no\r\n")
"#;
    let refuser = ScriptPeer::start(script);
    let bounces = Sink::start();
    let m = Mamori::start(refuser.port, Some(bounces.port), "");
    m.send("taro@sender.test", "nobody@sink.test", None);
    assert!(
        wait_for(Duration::from_secs(20), || bounces.count() == 1),
        "no bounce; log:\n{}",
        m.log()
    );
    let (dsn, _) = &bounces.messages()[0];
    assert!(dsn.contains("Status: 5.1.1"), "{dsn}");
    assert!(dsn.contains("User unknown"), "{dsn}");
}

#[test]
fn hold_release_and_delete_through_the_control_socket() {
    let port = free_port();
    let m = Mamori::start(
        port,
        None,
        "[smtp.delivery]\nretry_initial = \"1h\"\nretry_max = \"1h\"\nconnect_timeout = \"1s\"\n",
    );
    let mut ids = Vec::new();
    for subject in ["keep-me", "drop-me"] {
        let out = m.send("a@office.test", "b@sink.test", Some(subject));
        ids.push(queued_id(&out));
    }
    assert!(
        wait_for(Duration::from_secs(10), || {
            m.queue_json().as_array().is_some_and(|a| {
                a.len() == 2 && a.iter().all(|x| x["attempts"] == 1 && x["active"] == false)
            })
        }),
        "{}",
        m.queue_json()
    );
    let (keep, drop) = (ids[0].clone(), ids[1].clone());
    assert_eq!(m.queue(&["hold", &keep]).0, 0);
    assert_eq!(m.queue(&["delete", &drop]).0, 0);
    let (code, _, err) = m.queue(&["show", "NOSUCHID"]);
    assert_eq!(code, 1);
    assert!(err.contains("no message NOSUCHID"), "{err}");
    let (_, shown, _) = m.queue(&["show", &keep]);
    assert!(shown.contains("held by administrator"), "{shown}");
    let sink = Sink::start_on(port);
    assert_eq!(m.queue(&["retry"]).0, 0);
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(
        sink.count(),
        0,
        "held message must not leave, deleted one is gone"
    );
    assert_eq!(m.queue(&["release", &keep]).0, 0);
    assert!(
        wait_for(Duration::from_secs(15), || sink.count() == 1),
        "log:\n{}",
        m.log()
    );
    assert!(sink.messages()[0].0.contains("Subject: keep-me"));
}

/// A queue longer than `smtp.delivery.active_limit` (a newsletter while the carrier is
/// down): the envelopes past the limit wait on disk, the counts stay right across a
/// SIGKILL and a restart, and when the destination comes back every message arrives once.
#[test]
fn a_queue_past_its_active_limit_waits_on_disk_and_delivers_each_message_once() {
    const N: usize = 300;
    let port = free_port();
    let extra = format!("{FAST_RETRY}active_limit = 100\n");
    let mut m = Mamori::start(port, None, &extra);
    let script = r#"
import smtplib, sys
port, n = int(sys.argv[1]), int(sys.argv[2])
with smtplib.SMTP("127.0.0.1", port, timeout=30) as s:
    for i in range(n):
        s.sendmail("a@office.test", ["b@sink.test"],
                   f"From: a@office.test\r\nTo: b@sink.test\r\nSubject: q-{i}\r\n\r\nbody {i}\r\n")
print("sent", n)
"#;
    let (code, out) = python(script, &[&m.relay.to_string(), &N.to_string()]);
    assert_eq!(code, 0, "{out}");
    let stats = |m: &Mamori| -> serde_json::Value {
        let (_, text, _) = m.queue(&["--json", "stats"]);
        serde_json::from_str(&text).unwrap_or_default()
    };
    // Deferred again and again with the sink down: past half the limit they leave memory.
    assert!(
        wait_for(Duration::from_secs(30), || {
            let s = stats(&m);
            s["queued"] == N && s["parked"].as_u64().unwrap_or(0) >= (N - 100) as u64
        }),
        "stats: {}\nlog tail:\n{}",
        stats(&m),
        m.log()
            .lines()
            .rev()
            .take(30)
            .collect::<Vec<_>>()
            .join("\n")
    );
    assert_eq!(
        m.queue_json().as_array().map(Vec::len),
        Some(N),
        "the listing reads the disk too"
    );
    m.kill();
    m.spawn();
    assert!(
        wait_for(Duration::from_secs(15), || stats(&m)["queued"] == N),
        "after the restart: {}",
        stats(&m)
    );
    let sink = Sink::start_on(port);
    assert!(
        wait_for(Duration::from_secs(60), || sink.count() >= N),
        "delivered {} of {N}; stats {}; log:\n{}",
        sink.count(),
        stats(&m),
        m.log()
            .lines()
            .filter(|l| l.contains("ERROR")
                || l.contains("WARN")
                || l.contains("scanned")
                || l.contains("queue loaded"))
            .collect::<Vec<_>>()
            .join("\n")
    );
    assert!(wait_for(Duration::from_secs(10), || stats(&m)["queued"] == 0));
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(sink.count(), N, "each message once");
    let subjects = subjects(&sink);
    assert_eq!(subjects.len(), N, "every message, none twice");
    assert!(subjects.contains("q-0") && subjects.contains(&format!("q-{}", N - 1)));
}

/// A spool the release of 2026-12-04 left behind (`tests/fixtures/spool-v1`: the older
/// layout, envelope first) is taken over by this release after an update: every message is
/// delivered byte for byte, and the one held stays held until released.
#[test]
fn a_spool_left_by_the_previous_release_is_delivered_after_the_update() {
    let sink = Sink::start();
    let mut m = Mamori::start(sink.port, None, FAST_RETRY);
    m.kill();
    let fixture =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/spool-v1");
    let spool = m.dir.path().join("data/spool");
    for sub in ["msg", "state"] {
        for f in std::fs::read_dir(fixture.join(sub)).unwrap() {
            let f = f.unwrap();
            std::fs::copy(f.path(), spool.join(sub).join(f.file_name())).unwrap();
        }
    }
    m.spawn();
    assert!(
        wait_for(Duration::from_secs(20), || sink.count() == 2),
        "delivered {}; log:\n{}",
        sink.count(),
        m.log()
    );
    let queue = m.queue_json();
    let held: Vec<&serde_json::Value> = queue.as_array().unwrap().iter().collect();
    assert_eq!(held.len(), 1, "{queue}");
    assert!(held[0]["held"].as_str().is_some(), "{queue}");
    let id = held[0]["id"].as_str().unwrap().to_string();
    let (code, out, err) = m.queue(&["release", &id]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        wait_for(Duration::from_secs(20), || sink.count() == 3),
        "log:\n{}",
        m.log()
    );
    let messages = sink.messages();
    let find = |subject: &str| {
        messages
            .iter()
            .map(|(t, _)| t.as_str())
            .find(|t| t.contains(&format!("Subject: {subject}\n")))
            .unwrap_or_else(|| panic!("{subject} not delivered: {messages:?}"))
    };
    // smtp-sink dumps with LF line ends and one LF more at the end.
    let plain = find("v1-plain").trim_end();
    assert!(
        plain.ends_with("\n\nplain body\n.leading dot line"),
        "{plain:?}"
    );
    let eight = find("v1-eightbit");
    assert!(eight.contains("\n\nこんにちは body\n"), "{eight:?}");
    assert_eq!(eight.matches("X-Rcpt-Args:").count(), 2, "{eight}");
    assert!(find("v1-held").ends_with("\nheld body\n\n"));
    // What the old release wrote is the exact content, its own Received field first.
    let original = std::fs::read_to_string(fixture.join("msg/15JA04DGKPRBGM1P")).unwrap();
    let content = original.split_once('\n').unwrap().1.replace("\r\n", "\n");
    assert!(content.contains("Subject: v1-plain"));
    assert!(
        plain.ends_with(content.trim_end()),
        "{plain:?}\n{content:?}"
    );
    assert!(wait_for(Duration::from_secs(5), || m
        .queue_json()
        .as_array()
        .is_some_and(|a| a.is_empty())));
}
