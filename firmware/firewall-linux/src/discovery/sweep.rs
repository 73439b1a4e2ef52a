//! The ARP sweep, at the edge: one raw (`AF_PACKET`) socket on the LAN interface, one
//! who-has request per address of its subnet (see [`super::subnet`]), paced, and every ARP
//! frame seen meanwhile and for a short window after, read by a second thread.
//!
//! Privileges: opening the socket needs `CAP_NET_RAW` (and the `AF_PACKET` address family
//! when a seccomp or systemd `RestrictAddressFamilies=` filter is in force); without it the
//! sweep fails with [`SweepError::Socket`] and nothing is sent. The socket is not
//! promiscuous: it sees the frames for the box, broadcasts and its own.
//!
//! Blocking: a /22 takes about a second to send at the default pace plus the listening
//! window; run it off the async runtime (`spawn_blocking`).

use std::collections::HashSet;
use std::io;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use ipnet::Ipv4Net;
use pnet_datalink::{Channel, DataLinkReceiver, DataLinkSender, NetworkInterface};

use mamori_firewall::discovery::subnet::{self, Plan};
use mamori_firewall::discovery::{MacAddress, Sighting, SweepReport};

use super::{arp, from_pnet};

/// The most sightings one sweep keeps (distinct MAC and address pairs); the rest of a
/// flood is ignored.
pub const MAX_SIGHTINGS: usize = 8192;

/// How a sweep runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SweepOptions {
    /// The LAN interface (`br0`, `eth1`).
    pub interface: String,
    /// The gap between two requests (1 ms: a /22 in about a second, gentle on the LAN).
    pub pace: Duration,
    /// How long to keep reading after the last request (late replies, slow hosts).
    pub listen: Duration,
}

impl SweepOptions {
    /// The defaults for an interface: 1 ms between requests, 2 s of listening after.
    pub fn new(interface: impl Into<String>) -> Self {
        Self {
            interface: interface.into(),
            pace: Duration::from_millis(1),
            listen: Duration::from_secs(2),
        }
    }
}

/// Why a sweep could not run.
#[derive(Debug, thiserror::Error)]
pub enum SweepError {
    /// No interface of that name.
    #[error("LAN interface {0:?} does not exist")]
    NoInterface(String),
    /// The interface is administratively down.
    #[error("LAN interface {0:?} is down")]
    Down(String),
    /// The interface has no Ethernet address (a tunnel, loopback).
    #[error("LAN interface {0:?} has no Ethernet (MAC) address")]
    NoMac(String),
    /// The interface has no IPv4 address to sweep the subnet of.
    #[error("LAN interface {0:?} has no IPv4 address")]
    NoIpv4(String),
    /// The raw socket could not be opened (most often: `CAP_NET_RAW` missing).
    #[error("opening a raw socket on {interface:?} (needs CAP_NET_RAW): {source}")]
    Socket {
        /// The interface.
        interface: String,
        /// The system's error.
        source: io::Error,
    },
    /// The datalink layer offered something other than an Ethernet channel.
    #[error("{0:?} offers no Ethernet channel")]
    NotEthernet(String),
    /// Sending failed from the first request on (the link is gone, or sending is refused).
    #[error("sending ARP requests on {interface:?}: {source}")]
    Send {
        /// The interface.
        interface: String,
        /// The system's error.
        source: io::Error,
    },
    /// Reading the socket failed.
    #[error("reading ARP replies on {interface:?}: {source}")]
    Receive {
        /// The interface.
        interface: String,
        /// The system's error.
        source: io::Error,
    },
}

/// Sweeps the subnet of `options.interface` and returns what it saw. Blocks for the
/// sending time (`targets × pace`) plus `options.listen`.
pub fn sweep(options: &SweepOptions) -> Result<SweepReport, SweepError> {
    let name = options.interface.clone();
    let iface = pnet_datalink::interfaces()
        .into_iter()
        .find(|i| i.name == name)
        .ok_or_else(|| SweepError::NoInterface(name.clone()))?;
    if !iface.is_up() {
        return Err(SweepError::Down(name));
    }
    let own_mac = iface
        .mac
        .map(from_pnet)
        .filter(MacAddress::is_station)
        .ok_or_else(|| SweepError::NoMac(name.clone()))?;
    let address = ipv4_address(&iface).ok_or_else(|| SweepError::NoIpv4(name.clone()))?;
    let plan = subnet::plan(address);
    let config = pnet_datalink::Config {
        read_timeout: Some(Duration::from_millis(50)),
        write_timeout: Some(Duration::from_secs(1)),
        promiscuous: false,
        ..Default::default()
    };
    let (mut tx, mut rx) = match pnet_datalink::channel(&iface, config) {
        Ok(Channel::Ethernet(tx, rx)) => (tx, rx),
        Ok(_) => return Err(SweepError::NotEthernet(name)),
        Err(source) => {
            return Err(SweepError::Socket {
                interface: name,
                source,
            });
        }
    };
    // The reader stops `listen` after the last request, or at the latest when a sweep
    // that took far too long would have ended.
    let listen_until = OnceLock::new();
    let targets = u32::try_from(plan.targets.len()).unwrap_or(u32::MAX);
    let hard_stop = Instant::now()
        + options
            .pace
            .saturating_mul(4)
            .saturating_mul(targets.saturating_add(1))
        + options.listen.saturating_mul(2)
        + Duration::from_secs(5);
    let (sent, received) = std::thread::scope(|scope| {
        let reader = scope.spawn(|| collect(&mut *rx, own_mac, &listen_until, hard_stop));
        let sent = send_all(&mut *tx, own_mac, address.addr(), &plan, options.pace);
        let _ = listen_until.set(Instant::now() + options.listen);
        // A panic in the reader (there is none to expect) reads as an empty sweep.
        let received = reader.join().unwrap_or_else(|_| Ok(Vec::new()));
        (sent, received)
    });
    let (requests_sent, requests_failed) = sent.map_err(|source| SweepError::Send {
        interface: name.clone(),
        source,
    })?;
    let sightings = received.map_err(|source| SweepError::Receive {
        interface: name.clone(),
        source,
    })?;
    Ok(SweepReport {
        interface: name,
        address,
        network: plan.network,
        cut_from: plan.cut_from,
        requests_sent,
        requests_failed,
        sightings,
    })
}

/// The interface's first IPv4 address, preferring one that is not link-local.
fn ipv4_address(iface: &NetworkInterface) -> Option<Ipv4Net> {
    let v4: Vec<Ipv4Net> = iface
        .ips
        .iter()
        .filter_map(|n| match n.ip() {
            IpAddr::V4(a) if !a.is_loopback() => Ipv4Net::new(a, n.prefix()).ok(),
            _ => None,
        })
        .collect();
    v4.iter()
        .find(|n| !n.addr().is_link_local())
        .or(v4.first())
        .copied()
}

/// Sends one request per target, `pace` apart. A request the kernel refuses is counted
/// and skipped, unless the very first fails: then nothing would go out, and that is the
/// error. Returns (sent, failed).
fn send_all(
    tx: &mut dyn DataLinkSender,
    own_mac: MacAddress,
    own_ip: Ipv4Addr,
    plan: &Plan,
    pace: Duration,
) -> io::Result<(usize, usize)> {
    let (mut sent, mut failed) = (0, 0);
    for (i, target) in plan.targets.iter().enumerate() {
        let frame = arp::request(own_mac, own_ip, *target);
        match tx.send_to(&frame, None) {
            Some(Ok(())) => sent += 1,
            Some(Err(e)) if i == 0 => return Err(e),
            None if i == 0 => return Err(io::Error::other("the frame does not fit the buffer")),
            Some(Err(_)) | None => failed += 1,
        }
        if !pace.is_zero() {
            std::thread::sleep(pace);
        }
    }
    Ok((sent, failed))
}

/// Reads frames until `listen_until` (once set) or `hard_stop` passes, keeping the ARP
/// senders other than the box itself, each (MAC, address) pair once.
fn collect(
    rx: &mut dyn DataLinkReceiver,
    own_mac: MacAddress,
    listen_until: &OnceLock<Instant>,
    hard_stop: Instant,
) -> io::Result<Vec<Sighting>> {
    let mut seen = HashSet::new();
    let mut sightings = Vec::new();
    loop {
        let now = Instant::now();
        if now >= hard_stop || listen_until.get().is_some_and(|until| now >= *until) {
            return Ok(sightings);
        }
        match rx.next() {
            Ok(frame) => {
                let Some(s) = arp::parse(frame) else { continue };
                if s.mac != own_mac && sightings.len() < MAX_SIGHTINGS && seen.insert((s.mac, s.ip))
                {
                    sightings.push(s);
                }
            }
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::TimedOut
                        | io::ErrorKind::Interrupted
                        | io::ErrorKind::WouldBlock
                ) => {}
            Err(e) => return Err(e),
        }
    }
}
