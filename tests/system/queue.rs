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
