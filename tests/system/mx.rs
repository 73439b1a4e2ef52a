//! MX routing through a real resolver (hickory) asking a small authoritative DNS server
//! started by the test: preference order, fallback to the next MX, implicit MX, null MX
//! and non-existent domains.

use std::time::Duration;

use crate::common::*;

/// A tiny DNS server on 127.0.0.1:`port` (UDP) with a fixed zone.
const DNS_SERVER: &str = r#"
import socket, struct, sys
port = int(sys.argv[1])
ZONE = {
    # mx1 is preferred but nothing listens at 127.0.0.2: delivery must fall back to mx2.
    "mx-test.test": [("MX", (20, "mx2.mx-test.test")), ("MX", (10, "mx1.mx-test.test"))],
    "mx1.mx-test.test": [("A", "127.0.0.2")],
    "mx2.mx-test.test": [("A", "127.0.0.1")],
    # No MX: the domain's own address (RFC 5321 5.1).
    "implicit.test": [("A", "127.0.0.1")],
    # Null MX (RFC 7505): the domain accepts no mail.
    "nullmx.test": [("MX", (0, ""))],
}
TYPES = {"A": 1, "MX": 15}
def encode(name):
    return b"".join(bytes([len(l)]) + l.encode() for l in name.split(".") if l) + b"\0"
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", port))
print("ready", flush=True)
while True:
    q, addr = s.recvfrom(4096)
    tid = struct.unpack(">H", q[:2])[0]
    i, labels = 12, []
    while q[i]:
        labels.append(q[i + 1:i + 1 + q[i]].decode())
        i += 1 + q[i]
    qname = ".".join(labels).lower()
    qtype = struct.unpack(">H", q[i + 1:i + 3])[0]
    question = q[12:i + 5]
    records = ZONE.get(qname)
    answers = []
    for t, v in records or []:
        if TYPES[t] != qtype:
            continue
        rdata = socket.inet_aton(v) if t == "A" else struct.pack(">H", v[0]) + encode(v[1])
        answers.append(b"\xc0\x0c" + struct.pack(">HHIH", qtype, 1, 60, len(rdata)) + rdata)
    rcode = 0 if records is not None else 3
    header = struct.pack(">HHHHHH", tid, 0x8580 | rcode, 1, len(answers), 0, 0)
    s.sendto(header + question + b"".join(answers), addr)
"#;

#[test]
fn mx_preference_fallback_implicit_mx_null_mx_and_nxdomain() {
    let dns = ScriptPeer::start(DNS_SERVER);
    let sink = Sink::start();
    let bounces = Sink::start();
    let extra = format!(
        "[smtp.delivery]\nmx_port = {}\ndns_servers = [\"127.0.0.1:{}\"]\nconnect_timeout = \"2s\"\n",
        sink.port, dns.port
    );
    // No sink.test route here: everything goes by MX.
    let m = Mamori::start(0, Some(bounces.port), &extra);
    for (to, subject) in [
        ("a@mx-test.test", "by-mx"),
        ("b@implicit.test", "by-a-record"),
        ("c@nullmx.test", "to-null-mx"),
        ("d@nowhere.test", "to-nxdomain"),
    ] {
        m.send("taro@sender.test", to, Some(subject));
    }
    assert!(
        wait_for(Duration::from_secs(30), || sink.count() == 2
            && bounces.count() == 2),
        "delivered {}, bounced {}; log:\n{}",
        sink.count(),
        bounces.count(),
        m.log()
    );
    let delivered = subjects(&sink);
    assert!(
        delivered.contains("by-mx") && delivered.contains("by-a-record"),
        "{delivered:?}"
    );
    let log = m.log();
    let tried_mx1 = log
        .find("127.0.0.2")
        .expect("the preferred MX was tried first");
    let delivered_mx = log.find("to=a@mx-test.test").unwrap_or(usize::MAX);
    assert!(
        tried_mx1 < delivered_mx,
        "mx1 (preference 10) before the fallback:\n{log}"
    );
    let dsns: String = bounces.messages().into_iter().map(|(t, _)| t).collect();
    for needle in [
        "Final-Recipient: rfc822; c@nullmx.test",
        "Final-Recipient: rfc822; d@nowhere.test",
        "Status: 5.1.10",
        "Action: failed",
    ] {
        assert!(dsns.contains(needle), "bounces lack {needle:?}:\n{dsns}");
    }
}
