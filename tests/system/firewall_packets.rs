//! Real packets through `mamori firewalld`. Each test builds its own three network
//! namespaces, a LAN host, the gateway and a WAN host, joined by veth pairs:
//!
//! ```text
//!  lan host                     gateway (mamori firewalld)                 wan host
//!  lan0 192.168.77.10, .11  ── eth1 192.168.77.1   eth0 203.0.113.1 ──  wan0 203.0.113.2
//!       fd77::10                     fd77::1            2001:db8:77::1        2001:db8:77::2
//! ```
//!
//! The LAN host's default routes point at the gateway; the WAN host has an IPv6 default
//! route through it but no IPv4 route to the LAN, so IPv4 replies come back only when the
//! gateway masquerades. Python clients and servers (and `ping`) run inside the namespaces;
//! every server answers a TCP connect or UDP datagram with `<its tag> <peer address>`, so a
//! client learns who answered and what source address the server saw.

use std::io::BufRead;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use crate::common::require;
use crate::netns::{Firewalld, Netns, can_run};

pub(crate) const LAN_HOST: &str = "192.168.77.10";
pub(crate) const LAN_HOST_B: &str = "192.168.77.11";
const LAN_HOST6: &str = "fd77::10";
const GW_LAN: &str = "192.168.77.1";
const GW_LAN6: &str = "fd77::1";
pub(crate) const GW_WAN: &str = "203.0.113.1";
const GW_WAN6: &str = "2001:db8:77::1";
pub(crate) const WAN_HOST: &str = "203.0.113.2";
const WAN_HOST6: &str = "2001:db8:77::2";

/// Seconds given to an attempt that must succeed.
pub(crate) const OK_WAIT: f64 = 3.0;
/// Seconds given to an attempt that must fail (a drop shows as a timeout).
pub(crate) const FAIL_WAIT: f64 = 1.0;
/// A TCP reset comes back at once; this is plenty.
const REFUSED_WITHIN: f64 = 0.5;

/// The zones bound to the gateway's interfaces.
pub(crate) const ZONES: &str = r#"
[firewall.zones.lan]
interfaces = ["eth1"]

[firewall.zones.wan]
interfaces = ["eth0"]
"#;

/// The three namespaces and their links; every namespace is deleted when dropped (a
/// namespace's guard exists from the moment it does, so a failed set-up cleans up too).
pub(crate) struct Topology {
    pub(crate) lan: Netns,
    pub(crate) gw: Netns,
    pub(crate) wan: Netns,
}

impl Topology {
    pub(crate) fn new(tag: &str) -> Option<Self> {
        if !can_run() {
            return None;
        }
        require("python3");
        require("ping");
        let lan = Netns::create(&format!("{tag}-lan"));
        let gw = Netns::create(&format!("{tag}-gw"));
        let wan = Netns::create(&format!("{tag}-wan"));
        let no_dad = "sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0";
        for ns in [&lan, &gw, &wan] {
            ns.sh(no_dad);
        }
        lan.sh(&format!(
            "ip link add lan0 type veth peer name eth1 netns {}",
            gw.name()
        ));
        gw.sh(&format!(
            "ip link add eth0 type veth peer name wan0 netns {}",
            wan.name()
        ));
        lan.sh(&format!(
            "set -e; ip link set lo up
             ip addr add {LAN_HOST}/24 dev lan0; ip addr add {LAN_HOST_B}/24 dev lan0
             ip addr add {LAN_HOST6}/64 dev lan0 nodad; ip link set lan0 up
             ip route add default via {GW_LAN}; ip -6 route add default via {GW_LAN6}"
        ));
        gw.sh(&format!(
            "set -e; sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1
             ip link set lo up
             ip addr add {GW_LAN}/24 dev eth1; ip addr add {GW_LAN6}/64 dev eth1 nodad
             ip addr add {GW_WAN}/24 dev eth0; ip addr add {GW_WAN6}/64 dev eth0 nodad
             ip link set eth1 up; ip link set eth0 up"
        ));
        wan.sh(&format!(
            "set -e; ip link set lo up
             ip addr add {WAN_HOST}/24 dev wan0; ip addr add {WAN_HOST6}/64 dev wan0 nodad
             ip link set wan0 up; ip -6 route add default via {GW_WAN6}"
        ));
        // A fresh veth drops the first packets for a moment: wait until both hosts reach
        // the gateway (no firewall yet), which also fills the neighbour caches.
        let reach = |a: &str, b: &str| {
            format!(
                "for i in $(seq 50); do ping -c1 -W0.2 -q {a} >/dev/null 2>&1 \
                 && ping -c1 -W0.2 -q {b} >/dev/null 2>&1 && exit 0; done; exit 1"
            )
        };
        lan.sh(&reach(GW_LAN, GW_LAN6));
        wan.sh(&reach(GW_WAN, GW_WAN6));
        Some(Self { lan, gw, wan })
    }

    /// The gateway's running table, for failure messages.
    pub(crate) fn table(&self) -> String {
        self.gw.nft(&["list", "table", "inet", "mamori"])
    }

    #[track_caller]
    pub(crate) fn assert_answer(&self, what: &str, got: Attempt, answer: &str) {
        if got.outcome != Outcome::Answer(answer.into()) {
            panic!(
                "{what}: expected the answer {answer:?}, got {got:?}\n--- nft list table inet mamori ---\n{}",
                self.table()
            );
        }
    }

    /// A TCP reset, quickly (`reject with tcp reset`).
    #[track_caller]
    pub(crate) fn assert_refused(&self, what: &str, got: Attempt) {
        if got.outcome != Outcome::Refused || got.secs > REFUSED_WITHIN {
            panic!(
                "{what}: expected a reset within {REFUSED_WITHIN} s, got {got:?}\n--- nft list table inet mamori ---\n{}",
                self.table()
            );
        }
    }

    /// No answer at all (a drop).
    #[track_caller]
    pub(crate) fn assert_dropped(&self, what: &str, got: Attempt) {
        if got.outcome != Outcome::Timeout {
            panic!(
                "{what}: expected no answer (dropped), got {got:?}\n--- nft list table inet mamori ---\n{}",
                self.table()
            );
        }
    }

    #[track_caller]
    fn assert_ping(&self, what: &str, answered: bool, expected: bool) {
        if answered != expected {
            panic!(
                "{what}: ping expected {}\n--- nft list table inet mamori ---\n{}",
                if expected { "answered" } else { "unanswered" },
                self.table()
            );
        }
    }
}

/// A server inside a namespace, answering on every `tcp:PORT` / `udp:PORT` it is given
/// (IPv4 and IPv6) with `<tag> <peer address>`; killed when dropped.
const SERVER: &str = r#"
import socket, sys, threading
tag = sys.argv[1]
def peer(a):
    h = a[0]
    return h[7:] if h.startswith("::ffff:") else h
def tcp(s):
    while True:
        c, a = s.accept()
        try:
            c.sendall(f"{tag} {peer(a)}\n".encode())
        except OSError:
            pass
        c.close()
def udp(s):
    while True:
        _, a = s.recvfrom(2048)
        s.sendto(f"{tag} {peer(a)}".encode(), a)
for spec in sys.argv[2:]:
    proto, port = spec.split(":")
    if proto == "tcp":
        s = socket.create_server(("::", int(port)), family=socket.AF_INET6,
                                 dualstack_ipv6=True, backlog=128)
        threading.Thread(target=tcp, args=(s,), daemon=True).start()
    else:
        s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        s.bind(("::", int(port)))
        threading.Thread(target=udp, args=(s,), daemon=True).start()
print("ready", flush=True)
threading.Event().wait()
"#;

pub(crate) struct Server(Child);

impl Server {
    pub(crate) fn start(ns: &Netns, tag: &str, specs: &[&str]) -> Self {
        let mut child = ns
            .command("python3")
            .args(["-c", SERVER, tag])
            .args(specs)
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let me = Self(child);
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for l in std::io::BufReader::new(stdout)
                .lines()
                .map_while(Result::ok)
            {
                let _ = tx.send(l);
            }
        });
        assert_eq!(
            rx.recv_timeout(Duration::from_secs(10)).ok().as_deref(),
            Some("ready"),
            "server {tag} {specs:?} in {} did not start",
            ns.name()
        );
        me
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A client: `tcp`/`udp HOST PORT WAIT SOURCE` (one attempt) or
/// `burst HOST PORT WAIT SOURCE COUNT INTERVAL` (COUNT TCP connects, INTERVAL seconds
/// apart, each marked after WAIT: `c` connected, `r` refused, `-` unanswered). SOURCE `-`
/// lets the kernel choose. Prints the seconds taken, then the outcome.
const CLIENT: &str = r#"
import select, socket, sys, time
mode, host, port, wait, source = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4]), sys.argv[5]
fam = socket.AF_INET6 if ":" in host else socket.AF_INET
kind = socket.SOCK_DGRAM if mode == "udp" else socket.SOCK_STREAM
def sock():
    s = socket.socket(fam, kind)
    if source != "-":
        s.bind((source, 0))
    return s
t0 = time.monotonic()
def say(*words):
    print(f"{time.monotonic() - t0:.3f}", *words, flush=True)
if mode == "burst":
    count, interval = int(sys.argv[6]), float(sys.argv[7])
    socks = []
    for i in range(count):
        if i:
            time.sleep(interval)
        s = sock()
        s.setblocking(False)
        s.connect_ex((host, port))
        socks.append(s)
    result, pending = ["-"] * count, set(range(count))
    while pending:
        left = t0 + wait - time.monotonic()
        if left <= 0:
            break
        _, ready, _ = select.select([], [socks[i] for i in pending], [], left)
        for s in ready:
            i = socks.index(s)
            pending.discard(i)
            result[i] = "c" if s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) == 0 else "r"
    say("burst", "".join(result))
else:
    s = sock()
    s.settimeout(wait)
    try:
        s.connect((host, port))
        if mode == "udp":
            s.send(b"hello\n")
            data = s.recv(2048)
        else:
            data = s.makefile("rb").readline()
        say("ok", data.decode().strip())
    except ConnectionRefusedError:
        say("refused")
    except (TimeoutError, socket.timeout):
        say("timeout")
    except OSError as e:
        say("error", repr(e))
"#;

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Outcome {
    /// The server's answer: `<tag> <peer address>`.
    Answer(String),
    Refused,
    Timeout,
    Failed(String),
}

#[derive(Debug)]
pub(crate) struct Attempt {
    pub(crate) outcome: Outcome,
    /// Seconds the attempt took, measured by the client.
    secs: f64,
}

fn client(ns: &Netns, args: &[&str]) -> (f64, String) {
    let out = ns
        .command("python3")
        .args(["-c", CLIENT])
        .args(args)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).trim().to_string();
    let (secs, rest) = text.split_once(' ').unwrap_or_else(|| {
        panic!(
            "client {args:?} in {}: {text}{}",
            ns.name(),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (secs.parse().unwrap(), rest.to_string())
}

fn attempt(ns: &Netns, mode: &str, source: &str, host: &str, port: u16, wait: f64) -> Attempt {
    let (secs, rest) = client(
        ns,
        &[mode, host, &port.to_string(), &wait.to_string(), source],
    );
    let outcome = match rest.split_once(' ').unwrap_or((&rest, "")) {
        ("ok", answer) => Outcome::Answer(answer.to_string()),
        ("refused", _) => Outcome::Refused,
        ("timeout", _) => Outcome::Timeout,
        _ => Outcome::Failed(rest.clone()),
    };
    Attempt { outcome, secs }
}

pub(crate) fn tcp(ns: &Netns, host: &str, port: u16, wait: f64) -> Attempt {
    attempt(ns, "tcp", "-", host, port, wait)
}

pub(crate) fn tcp_from(ns: &Netns, source: &str, host: &str, port: u16, wait: f64) -> Attempt {
    attempt(ns, "tcp", source, host, port, wait)
}

fn udp(ns: &Netns, host: &str, port: u16, wait: f64) -> Attempt {
    attempt(ns, "udp", "-", host, port, wait)
}

/// `count` TCP connects from `source`, `interval` seconds apart, each marked after `wait`
/// seconds from the first: `c` connected, `r` refused, `-` unanswered.
fn burst(
    ns: &Netns,
    source: &str,
    host: &str,
    port: u16,
    count: u32,
    interval: f64,
    wait: f64,
) -> String {
    let (_, rest) = client(
        ns,
        &[
            "burst",
            host,
            &port.to_string(),
            &wait.to_string(),
            source,
            &count.to_string(),
            &interval.to_string(),
        ],
    );
    rest.strip_prefix("burst ")
        .unwrap_or_else(|| panic!("burst: {rest}"))
        .to_string()
}

/// Runs probes at the same time, so that those that must fail (each costing its whole
/// wait) do not add up; their results in order.
fn at_once<T: Send, const N: usize>(probes: [&(dyn Fn() -> T + Sync); N]) -> [T; N] {
    std::thread::scope(|s| probes.map(|p| s.spawn(p)).map(|h| h.join().unwrap()))
}

/// Two echo requests 0.2 s apart, each given 1 s; true when any is answered.
fn ping(ns: &Netns, host: &str) -> bool {
    ns.command("ping")
        .args(["-c", "2", "-i", "0.2", "-W", "1", "-q", host])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap()
        .success()
}

/// The LAN reaches the Internet as the gateway (IPv4 masquerade: the WAN host has no route
/// back to the LAN, so without it no reply could come), over TCP, UDP and ICMP; IPv6 is
/// routed without NAT (the WAN host sees the LAN host's own address) and the WAN still
/// cannot open connections to LAN hosts' public IPv6 addresses.
#[test]
fn masquerade_carries_the_lan_out_and_ipv6_is_routed_unchanged() {
    let Some(t) = Topology::new("masq") else {
        return;
    };
    let _wan = Server::start(&t.wan, "wan", &["tcp:80", "udp:5353"]);
    let _lan = Server::start(&t.lan, "lan", &["tcp:80"]);
    // Control: with no firewall (so no masquerade) the replies have no way back.
    assert_eq!(
        tcp(&t.lan, WAN_HOST, 80, FAIL_WAIT).outcome,
        Outcome::Timeout,
        "LAN → WAN IPv4 must not work without masquerade (the WAN host needs no route back)"
    );
    let _fw = Firewalld::start_with(&t.gw, ZONES);

    let wan_sees_gw = format!("wan {GW_WAN}");
    t.assert_answer(
        "LAN → WAN tcp (IPv4)",
        tcp(&t.lan, WAN_HOST, 80, OK_WAIT),
        &wan_sees_gw,
    );
    t.assert_answer(
        "LAN → WAN udp (IPv4)",
        udp(&t.lan, WAN_HOST, 5353, OK_WAIT),
        &wan_sees_gw,
    );
    t.assert_ping("LAN → WAN ping (IPv4)", ping(&t.lan, WAN_HOST), true);

    let wan_sees_lan6 = format!("wan {LAN_HOST6}");
    t.assert_answer(
        "LAN → WAN tcp (IPv6, no NAT)",
        tcp(&t.lan, WAN_HOST6, 80, OK_WAIT),
        &wan_sees_lan6,
    );
    t.assert_answer(
        "LAN → WAN udp (IPv6, no NAT)",
        udp(&t.lan, WAN_HOST6, 5353, OK_WAIT),
        &wan_sees_lan6,
    );
    t.assert_ping("LAN → WAN ping (IPv6)", ping(&t.lan, WAN_HOST6), true);

    let (wan_tcp, wan_ping) = std::thread::scope(|s| {
        let wan_ping = s.spawn(|| ping(&t.wan, LAN_HOST6));
        (
            tcp(&t.wan, LAN_HOST6, 80, FAIL_WAIT),
            wan_ping.join().unwrap(),
        )
    });
    t.assert_dropped("WAN → LAN host tcp (IPv6)", wan_tcp);
    t.assert_ping("WAN → LAN host ping (IPv6)", wan_ping, false);
}

/// Input from the Internet to the gateway is dropped (no answer at all, both families),
/// while the LAN keeps the admin panel (443) by the anti-lockout rule even with the LAN
/// zone's input policy set to drop: another port on the gateway is dropped from the LAN.
#[test]
fn wan_input_is_dropped_and_the_lan_keeps_the_admin_panel() {
    let Some(t) = Topology::new("input") else {
        return;
    };
    let _fw = Firewalld::start_with(
        &t.gw,
        r#"
[firewall.zones.lan]
interfaces = ["eth1"]
input = "drop"

[firewall.zones.wan]
interfaces = ["eth0"]
"#,
    );
    let _gw = Server::start(&t.gw, "gw", &["tcp:443", "tcp:22"]);

    t.assert_answer(
        "LAN → gateway 443 (IPv4, anti-lockout)",
        tcp(&t.lan, GW_LAN, 443, OK_WAIT),
        &format!("gw {LAN_HOST}"),
    );
    t.assert_answer(
        "LAN → gateway 443 (IPv6, anti-lockout)",
        tcp(&t.lan, GW_LAN6, 443, OK_WAIT),
        &format!("gw {LAN_HOST6}"),
    );
    t.assert_ping("LAN → gateway ping (IPv4)", ping(&t.lan, GW_LAN), true);
    t.assert_ping("LAN → gateway ping (IPv6)", ping(&t.lan, GW_LAN6), true);

    let (drops, wan_ping) = std::thread::scope(|s| {
        let wan_ping = s.spawn(|| ping(&t.wan, GW_WAN));
        let drops = at_once([
            &|| tcp(&t.lan, GW_LAN, 22, FAIL_WAIT),
            &|| tcp(&t.wan, GW_WAN, 443, FAIL_WAIT),
            &|| tcp(&t.wan, GW_WAN6, 443, FAIL_WAIT),
            &|| tcp(&t.wan, GW_WAN, 22, FAIL_WAIT),
        ]);
        (drops, wan_ping.join().unwrap())
    });
    let [lan22, wan443, wan443v6, wan22] = drops;
    t.assert_dropped("LAN → gateway 22 (lan input policy drop)", lan22);
    t.assert_dropped("WAN → gateway 443 (IPv4)", wan443);
    t.assert_dropped("WAN → gateway 443 (IPv6)", wan443v6);
    t.assert_dropped("WAN → gateway 22 (IPv4)", wan22);
    t.assert_ping("WAN → gateway ping (IPv4)", wan_ping, false);
}

/// A port forward takes the WAN's TCP and UDP on the gateway's 8080 to a LAN server on
/// 192.168.77.10:80 (DNAT, and the forward accept for DNATed traffic only): the server
/// sees the real client. Other ports stay closed, and a WAN host with a route to the LAN
/// still cannot reach the server directly.
#[test]
fn a_port_forward_reaches_the_lan_server_and_nothing_else_does() {
    let Some(t) = Topology::new("pfwd") else {
        return;
    };
    let _fw = Firewalld::start_with(
        &t.gw,
        &format!(
            r#"{ZONES}
[[firewall.port_forwards]]
name = "web"
protocol = "tcp/udp"
external_port = 8080
internal_address = "{LAN_HOST}"
internal_port = 80
"#
        ),
    );
    let _lan = Server::start(&t.lan, "lan", &["tcp:80", "udp:80", "tcp:8081"]);

    let lan_sees_wan = format!("lan {WAN_HOST}");
    t.assert_answer(
        "WAN → gateway:8080 tcp",
        tcp(&t.wan, GW_WAN, 8080, OK_WAIT),
        &lan_sees_wan,
    );
    t.assert_answer(
        "WAN → gateway:8080 udp",
        udp(&t.wan, GW_WAN, 8080, OK_WAIT),
        &lan_sees_wan,
    );
    // Give the WAN host a route to the LAN: only the DNATed traffic may pass even so.
    t.wan
        .sh(&format!("ip route add 192.168.77.0/24 via {GW_WAN}"));
    let [other_port, direct] = at_once([&|| tcp(&t.wan, GW_WAN, 8081, FAIL_WAIT), &|| {
        tcp(&t.wan, LAN_HOST, 80, FAIL_WAIT)
    }]);
    t.assert_dropped("WAN → gateway:8081 (not forwarded)", other_port);
    t.assert_dropped("WAN → LAN server directly (no DNAT)", direct);
}

/// SMTP enforcement: the LAN's connections to the Internet's ports 25, 465 and 587 are
/// reset at once (IPv4 and IPv6), other ports go out, and the gateway itself (where the
/// relay runs) reaches the WAN's port 25.
#[test]
fn smtp_from_the_lan_is_refused_but_the_relay_gets_out() {
    let Some(t) = Topology::new("smtp") else {
        return;
    };
    let _fw = Firewalld::start_with(&t.gw, ZONES);
    let _wan = Server::start(&t.wan, "wan", &["tcp:25", "tcp:465", "tcp:587", "tcp:80"]);

    for port in [25, 465, 587] {
        t.assert_refused(
            &format!("LAN → WAN:{port} (IPv4)"),
            tcp(&t.lan, WAN_HOST, port, OK_WAIT),
        );
    }
    t.assert_refused("LAN → WAN:25 (IPv6)", tcp(&t.lan, WAN_HOST6, 25, OK_WAIT));
    t.assert_answer(
        "LAN → WAN:80",
        tcp(&t.lan, WAN_HOST, 80, OK_WAIT),
        &format!("wan {GW_WAN}"),
    );
    t.assert_answer(
        "gateway (relay) → WAN:25 (IPv4)",
        tcp(&t.gw, WAN_HOST, 25, OK_WAIT),
        &format!("wan {GW_WAN}"),
    );
    t.assert_answer(
        "gateway (relay) → WAN:25 (IPv6)",
        tcp(&t.gw, WAN_HOST6, 25, OK_WAIT),
        &format!("wan {GW_WAN6}"),
    );
}

/// With `redirect_to_relay`, the LAN's port 25 to the Internet lands on the gateway's relay
/// port (IPv4 and IPv6), 465 stays refused, and the gateway's own port 25 is not redirected.
#[test]
fn smtp_redirect_lands_on_the_relay() {
    let Some(t) = Topology::new("smtpr") else {
        return;
    };
    let _fw = Firewalld::start_with(
        &t.gw,
        &format!("{ZONES}\n[firewall.smtp]\nredirect_to_relay = true\nrelay_port = 2525\n"),
    );
    let _relay = Server::start(&t.gw, "relay", &["tcp:2525"]);
    let _wan = Server::start(&t.wan, "wan", &["tcp:25", "tcp:465"]);

    t.assert_answer(
        "LAN → WAN:25 (IPv4) redirected",
        tcp(&t.lan, WAN_HOST, 25, OK_WAIT),
        &format!("relay {LAN_HOST}"),
    );
    t.assert_answer(
        "LAN → WAN:25 (IPv6) redirected",
        tcp(&t.lan, WAN_HOST6, 25, OK_WAIT),
        &format!("relay {LAN_HOST6}"),
    );
    t.assert_refused("LAN → WAN:465", tcp(&t.lan, WAN_HOST, 465, OK_WAIT));
    t.assert_answer(
        "gateway (relay) → WAN:25",
        tcp(&t.gw, WAN_HOST, 25, OK_WAIT),
        &format!("wan {GW_WAN}"),
    );
}

/// A forward rule dropping sources in the named set `blocklist`: an address added at run
/// time with `mamori fw set` is cut off at once (TCP and UDP), its neighbour and its IPv6
/// traffic are not, and removing it lets it through again.
#[test]
fn a_set_element_added_at_run_time_takes_effect() {
    let Some(t) = Topology::new("set") else {
        return;
    };
    let fw = Firewalld::start_with(
        &t.gw,
        &format!(
            r#"{ZONES}
[[firewall.sets]]
name = "blocklist"
family = "ipv4"

[[firewall.rules]]
name = "blocked-hosts"
direction = "forward"
zone = "lan"
source_set = "blocklist"
action = "drop"
"#
        ),
    );
    let _wan = Server::start(&t.wan, "wan", &["tcp:80", "udp:5353"]);
    let wan_sees_gw = format!("wan {GW_WAN}");

    t.assert_answer(
        "LAN → WAN before the add",
        tcp(&t.lan, WAN_HOST, 80, OK_WAIT),
        &wan_sees_gw,
    );
    let (code, out, err) = fw.fw(&["set", "blocklist", "--add", LAN_HOST]);
    assert_eq!(code, 0, "{out}{err}");
    let [blocked_tcp, blocked_udp] = at_once([&|| tcp(&t.lan, WAN_HOST, 80, FAIL_WAIT), &|| {
        udp(&t.lan, WAN_HOST, 5353, FAIL_WAIT)
    }]);
    t.assert_dropped("blocked LAN host → WAN tcp", blocked_tcp);
    t.assert_dropped("blocked LAN host → WAN udp", blocked_udp);
    t.assert_answer(
        "another LAN host → WAN",
        tcp_from(&t.lan, LAN_HOST_B, WAN_HOST, 80, OK_WAIT),
        &wan_sees_gw,
    );
    t.assert_answer(
        "blocked LAN host → WAN over IPv6 (an IPv4 set)",
        tcp(&t.lan, WAN_HOST6, 80, OK_WAIT),
        &format!("wan {LAN_HOST6}"),
    );

    let (code, out, err) = fw.fw(&["set", "blocklist", "--remove", LAN_HOST]);
    assert_eq!(code, 0, "{out}{err}");
    t.assert_answer(
        "LAN → WAN after the remove",
        tcp(&t.lan, WAN_HOST, 80, OK_WAIT),
        &wan_sees_gw,
    );
}

/// A forward rule with `over_rate` (2 a second, burst 3, per source) dropping new TCP
/// connections. Two LAN hosts at once each open 12 connections 50 ms apart (20 a second,
/// within 0.55 s): each gets its burst of 3 through, then at most the odd one the rate
/// refills, and the rest get no answer at all. Without the rule (another port) every one
/// of the same connections goes through; with one shared bucket, or at 100 a second, the
/// pattern would differ.
#[test]
fn the_rate_limit_bites() {
    let Some(t) = Topology::new("rate") else {
        return;
    };
    let _fw = Firewalld::start_with(
        &t.gw,
        &format!(
            r#"{ZONES}
[[firewall.rules]]
name = "conn-flood"
direction = "forward"
zone = "lan"
dest_zone = "wan"
protocol = "tcp"
ports = [80]
state = ["new"]
over_rate = {{ rate = 2, per = "second", burst = 3 }}
action = "drop"
"#
        ),
    );
    let _wan = Server::start(&t.wan, "wan", &["tcp:80", "tcp:81"]);

    let control = burst(&t.lan, LAN_HOST, WAN_HOST, 81, 12, 0.05, 0.9);
    assert_eq!(
        control, "cccccccccccc",
        "without the limit every connection goes through"
    );
    let [a, b] = at_once([
        &|| burst(&t.lan, LAN_HOST, WAN_HOST, 80, 12, 0.05, 0.9),
        &|| burst(&t.lan, LAN_HOST_B, WAN_HOST, 80, 12, 0.05, 0.9),
    ]);
    for (source, pattern) in [(LAN_HOST, &a), (LAN_HOST_B, &b)] {
        let connected = pattern.matches('c').count();
        assert!(
            pattern.starts_with("ccc") && !pattern.contains('r') && (3..=5).contains(&connected),
            "12 connects in 0.55 s from {source} against 2/s burst 3 per source: {pattern} \
             (c connected, - unanswered, r refused); the other source: {}\n\
             --- nft list table inet mamori ---\n{}",
            if source == LAN_HOST { &b } else { &a },
            t.table()
        );
    }
}

/// Confirm-or-revert with traffic: a model applied on probation (2 s) that rejects LAN →
/// WAN tcp 8080 takes effect at once; not confirmed, the old table is back within a few
/// seconds and the port works again. Confirmed, it stays past its deadline.
#[test]
fn an_unconfirmed_model_is_reverted_with_traffic() {
    let Some(t) = Topology::new("revert") else {
        return;
    };
    let fw = Firewalld::start_with(&t.gw, ZONES);
    let _wan = Server::start(&t.wan, "wan", &["tcp:8080"]);
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("model.toml");
    std::fs::write(
        &model,
        format!(
            r#"{ZONES}
[[firewall.rules]]
name = "no-8080-out"
direction = "forward"
zone = "lan"
dest_zone = "wan"
protocol = "tcp"
ports = [8080]
action = "reject"
"#
        ),
    )
    .unwrap();
    let model = model.display().to_string();
    let wan_sees_gw = format!("wan {GW_WAN}");

    t.assert_answer(
        "LAN → WAN:8080 before",
        tcp(&t.lan, WAN_HOST, 8080, OK_WAIT),
        &wan_sees_gw,
    );
    let (code, out, err) = fw.fw(&["apply", &model, "--timeout", "2"]);
    assert_eq!(code, 0, "{out}{err}");
    let applied = Instant::now();
    t.assert_refused(
        "LAN → WAN:8080 on probation",
        tcp(&t.lan, WAN_HOST, 8080, OK_WAIT),
    );
    let back = crate::common::wait_for(Duration::from_secs(6), || {
        tcp(&t.lan, WAN_HOST, 8080, FAIL_WAIT).outcome == Outcome::Answer(wan_sees_gw.clone())
    });
    assert!(
        back,
        "not reverted {:?} after the apply\n{}\n--- firewalld log ---\n{}",
        applied.elapsed(),
        t.table(),
        fw.log()
    );
    eprintln!("reverted within {:?} of a 2 s probation", applied.elapsed());

    let (code, out, err) = fw.fw(&["apply", &model, "--timeout", "2"]);
    assert_eq!(code, 0, "{out}{err}");
    let (code, out, err) = fw.fw(&["confirm"]);
    assert_eq!(code, 0, "{out}{err}");
    std::thread::sleep(Duration::from_secs(3));
    t.assert_refused(
        "LAN → WAN:8080 after a confirmed apply",
        tcp(&t.lan, WAN_HOST, 8080, OK_WAIT),
    );
}

/// A firewall state file that cannot be read at start (a torn write, a bad disk) must not
/// leave the box without a table: the fail-safe table is in force, real packets show it
/// (the LAN reaches the panel, nothing else; the WAN reaches nothing), and `fw status`
/// says so.
#[test]
fn a_corrupted_state_file_at_start_gives_the_failsafe_table() {
    let Some(t) = Topology::new("failsafe") else {
        return;
    };
    // The configuration's own model would open SSH from the LAN: the fail-safe must not.
    let fw = Firewalld::start_prepared(
        &t.gw,
        "[[firewall.rules]]\nname = \"ssh\"\nzone = \"lan\"\nprotocol = \"tcp\"\nports = [22]\naction = \"accept\"\n",
        |data| {
            std::fs::create_dir_all(data.join("firewall")).unwrap();
            std::fs::write(
                data.join("firewall/models.json"),
                b"{\"confirmed\":{\"zones\":",
            )
            .unwrap();
        },
    );
    let _gw = Server::start(&t.gw, "gw", &["tcp:443", "tcp:22"]);

    t.assert_answer(
        "LAN → gateway 443 (fail-safe keeps the panel)",
        tcp(&t.lan, GW_LAN, 443, OK_WAIT),
        &format!("gw {LAN_HOST}"),
    );
    let [lan22, wan443] = at_once([&|| tcp(&t.lan, GW_LAN, 22, FAIL_WAIT), &|| {
        tcp(&t.wan, GW_WAN, 443, FAIL_WAIT)
    }]);
    t.assert_dropped(
        "LAN → gateway 22 (fail-safe: only the panel and DHCP/DNS)",
        lan22,
    );
    t.assert_dropped("WAN → gateway 443 (fail-safe: WAN input dropped)", wan443);

    let (code, out, err) = fw.fw(&["--json", "status"]);
    assert_eq!(code, 0, "{err}");
    let status: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert!(
        status["failsafe"]
            .as_str()
            .is_some_and(|w| w.contains("could not be read")),
        "{status}"
    );
    assert!(fw.log().contains("FAIL-SAFE"), "{}", fw.log());
}

/// The firewall model is part of the settings: a change made through the settings goes on
/// probation with real packets; not confirmed, the old table is back and the revert is a new
/// settings version that says so; confirmed, the settings version is in force and a restart
/// boots it.
#[test]
fn a_firewall_change_through_the_settings_goes_through_confirm_or_revert() {
    let Some(t) = Topology::new("setfw") else {
        return;
    };
    let mut fw = Firewalld::start_with_settings(&t.gw, ZONES);
    let _wan = Server::start(&t.wan, "wan", &["tcp:8080"]);
    let store = fw.settings.clone().unwrap();
    let store_arg = store.display().to_string();
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("model.toml");
    std::fs::write(
        &model,
        format!(
            "{ZONES}\n[[firewall.rules]]\nname = \"no-8080-out\"\ndirection = \"forward\"\nzone = \"lan\"\ndest_zone = \"wan\"\nprotocol = \"tcp\"\nports = [8080]\naction = \"reject\"\n"
        ),
    )
    .unwrap();
    let model_arg = model.display().to_string();
    let wan_sees_gw = format!("wan {GW_WAN}");
    let settings = |args: &[&str]| {
        let mut all = vec!["settings", "--dir", &store_arg];
        all.extend_from_slice(args);
        crate::common::mamori(&all)
    };

    t.assert_answer(
        "LAN → WAN:8080 before",
        tcp(&t.lan, WAN_HOST, 8080, OK_WAIT),
        &wan_sees_gw,
    );
    let (code, out, err) = fw.fw(&[
        "apply",
        &model_arg,
        "--timeout",
        "2",
        "--settings",
        &store_arg,
    ]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("settings version 2"), "{out}");
    t.assert_refused(
        "LAN → WAN:8080 on probation",
        tcp(&t.lan, WAN_HOST, 8080, OK_WAIT),
    );
    let back = crate::common::wait_for(Duration::from_secs(6), || {
        tcp(&t.lan, WAN_HOST, 8080, FAIL_WAIT).outcome == Outcome::Answer(wan_sees_gw.clone())
    });
    assert!(back, "not reverted\n{}\n{}", t.table(), fw.log());
    // The revert is recorded right after the old table is back.
    let mut history = String::new();
    let recorded = crate::common::wait_for(Duration::from_secs(5), || {
        history = settings(&["history"]).1;
        let newest = history.lines().next().unwrap_or_default();
        newest.trim_start().starts_with('3')
            && newest.contains("firewalld")
            && newest.contains("version 2 was not confirmed in time")
    });
    assert!(recorded, "{history}");
    // A direct apply past the settings is refused.
    let (code, _, err) = fw.fw(&["apply", &model_arg]);
    assert_eq!(code, 1);
    assert!(
        err.contains("part of the settings") && err.contains("conflict"),
        "{err}"
    );

    // Through `mamori settings apply`: firewalld puts it on probation; confirmed, it stays.
    let whole = dir.path().join("whole.toml");
    let config_text = std::fs::read_to_string(&fw.config).unwrap();
    std::fs::write(
        &whole,
        format!(
            "{config_text}\n{}",
            std::fs::read_to_string(&model).unwrap().replace(ZONES, "")
        ),
    )
    .unwrap();
    let data_dir = fw.config.parent().unwrap().join("data");
    let (code, out, err) = settings(&[
        "--data-dir",
        data_dir.to_str().unwrap(),
        "apply",
        whole.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("firewalld: version 4 on probation"), "{out}");
    let (code, out, err) = fw.fw(&["confirm"]);
    assert_eq!(code, 0, "{out}{err}");
    std::thread::sleep(Duration::from_secs(3));
    t.assert_refused(
        "LAN → WAN:8080 confirmed",
        tcp(&t.lan, WAN_HOST, 8080, OK_WAIT),
    );
    let (_, health, _) =
        crate::common::mamori(&["status", "--config", fw.config.to_str().unwrap(), "--json"]);
    let rows: serde_json::Value = serde_json::from_str(&health).unwrap();
    assert_eq!(rows[1]["settings_version"], 4, "{health}");

    // A restart boots the settings version in force.
    fw.stop();
    t.gw.nft(&["flush", "ruleset"]);
    fw.child = Firewalld::spawn(&t.gw, &fw.config, fw.config.parent().unwrap(), Some(&store));
    fw.wait_ready();
    // The first connection after the restart may wait for neighbour discovery.
    let _ = tcp(&t.lan, WAN_HOST, 8080, OK_WAIT);
    t.assert_refused(
        "LAN → WAN:8080 after a restart",
        tcp(&t.lan, WAN_HOST, 8080, OK_WAIT),
    );
}
