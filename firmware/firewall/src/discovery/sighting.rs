//! What an ARP frame on the LAN reveals about its sender: the host's address, its MAC and
//! the kind of frame; and what one sweep of a LAN subnet found. The frames themselves are read by `mamori-firewall-linux`; the
//! device list ([`super::inventory`]) only needs these plain values.

use std::net::Ipv4Addr;

use ipnet::Ipv4Net;

use super::mac::MacAddress;

/// What kind of ARP frame revealed a host.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ArpKind {
    /// A reply (to a sweep, or to anyone's request).
    Reply,
    /// A request the host sent for another address.
    Request,
    /// A gratuitous ARP: the host announcing its own address (sender and target address
    /// alike, as a request or a reply).
    Gratuitous,
}

/// A host seen on the LAN: the sender of an ARP frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Sighting {
    /// The sender's IPv4 address.
    pub ip: Ipv4Addr,
    /// The sender's MAC address (from the ARP body, which names the station that owns the
    /// address; the Ethernet source of a frame relayed by a bridge is the same).
    pub mac: MacAddress,
    /// The kind of frame.
    pub kind: ArpKind,
}

/// What one sweep found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SweepReport {
    /// The interface swept.
    pub interface: String,
    /// The interface's own address and prefix.
    pub address: Ipv4Net,
    /// The network swept.
    pub network: Ipv4Net,
    /// The interface's subnet when it was wider than a /22 and cut (the daemon warns).
    pub cut_from: Option<Ipv4Net>,
    /// The requests sent.
    pub requests_sent: usize,
    /// The requests the kernel refused (a full transmit queue), not retried.
    pub requests_failed: usize,
    /// The hosts seen: one per (MAC, address) pair, the box's own frames left out.
    pub sightings: Vec<Sighting>,
}
