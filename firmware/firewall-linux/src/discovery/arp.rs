//! ARP frames: building the who-has requests of a sweep, and reading what any ARP frame
//! on the LAN reveals about its sender (RFC 826).
//!
//! Every ARP frame names its sender's MAC and IPv4 address, so not only the replies to a
//! sweep reveal hosts: so do the requests hosts send themselves and gratuitous ARP (a host
//! announcing its address after boot or a DHCP lease). Probes (RFC 5227: sender address
//! 0.0.0.0, a host checking that an address is free) reveal a MAC but no address, and
//! are skipped.

use std::net::Ipv4Addr;

use pnet_packet::Packet;
use pnet_packet::arp::{ArpHardwareTypes, ArpOperations, ArpPacket, MutableArpPacket};
use pnet_packet::ethernet::{EtherTypes, EthernetPacket, MutableEthernetPacket};

use mamori_firewall::discovery::{ArpKind, MacAddress, Sighting};

use super::{from_pnet, to_pnet};

/// Length of a request frame: the Ethernet header (14 bytes) and the ARP body (28); the
/// network card pads it to the 60-byte minimum, as for the kernel's own requests.
pub const REQUEST_LEN: usize = ETHERNET_HEADER_LEN + ARP_LEN;

const ETHERNET_HEADER_LEN: usize = 14;
const ARP_LEN: usize = 28;

/// A broadcast who-has request for `target` from `(src_mac, src_ip)`.
pub fn request(src_mac: MacAddress, src_ip: Ipv4Addr, target: Ipv4Addr) -> [u8; REQUEST_LEN] {
    let mut frame = [0u8; REQUEST_LEN];
    let (header, body) = frame.split_at_mut(ETHERNET_HEADER_LEN);
    if let Some(mut arp) = MutableArpPacket::new(body) {
        arp.set_hardware_type(ArpHardwareTypes::Ethernet);
        arp.set_protocol_type(EtherTypes::Ipv4);
        arp.set_hw_addr_len(6);
        arp.set_proto_addr_len(4);
        arp.set_operation(ArpOperations::Request);
        arp.set_sender_hw_addr(to_pnet(src_mac));
        arp.set_sender_proto_addr(src_ip);
        arp.set_target_hw_addr(to_pnet(MacAddress([0; 6])));
        arp.set_target_proto_addr(target);
    }
    // A header of exactly 14 bytes: the Ethernet part ends where the ARP body starts.
    if let Some(mut eth) = MutableEthernetPacket::new(header) {
        eth.set_destination(to_pnet(MacAddress::BROADCAST));
        eth.set_source(to_pnet(src_mac));
        eth.set_ethertype(EtherTypes::Arp);
    }
    frame
}

/// The host an Ethernet frame reveals, if it is an Ethernet/IPv4 ARP request or reply
/// from a station with an address. Anything else (other protocols, VLAN-tagged frames,
/// truncated or odd ARP, probes, group or zero sender addresses) is `None`.
pub fn parse(frame: &[u8]) -> Option<Sighting> {
    let eth = EthernetPacket::new(frame)?;
    if eth.get_ethertype() != EtherTypes::Arp {
        return None;
    }
    let payload = eth.payload();
    if payload.len() < ARP_LEN {
        return None;
    }
    let arp = ArpPacket::new(payload)?;
    if arp.get_hardware_type() != ArpHardwareTypes::Ethernet
        || arp.get_protocol_type() != EtherTypes::Ipv4
        || arp.get_hw_addr_len() != 6
        || arp.get_proto_addr_len() != 4
    {
        return None;
    }
    let mac = from_pnet(arp.get_sender_hw_addr());
    let ip = arp.get_sender_proto_addr();
    if !mac.is_station() || ip.is_unspecified() || ip.is_broadcast() || ip.is_multicast() {
        return None;
    }
    let kind = match arp.get_operation() {
        _ if ip == arp.get_target_proto_addr() => ArpKind::Gratuitous,
        op if op == ArpOperations::Reply => ArpKind::Reply,
        op if op == ArpOperations::Request => ArpKind::Request,
        _ => return None,
    };
    Some(Sighting { ip, mac, kind })
}

#[cfg(test)]
mod tests {
    use super::*;

    const GW_MAC: MacAddress = MacAddress([0x02, 0x00, 0x00, 0x00, 0x00, 0x01]);
    const GW_IP: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 1);
    const HOST_MAC: MacAddress = MacAddress([0xb8, 0x27, 0xeb, 0x12, 0x34, 0x56]);
    const HOST_IP: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 77);

    /// An ARP frame written out by hand, byte by byte.
    fn frame(
        eth_dst: [u8; 6],
        eth_src: [u8; 6],
        op: u8,
        sender: ([u8; 6], [u8; 4]),
        target: ([u8; 6], [u8; 4]),
    ) -> Vec<u8> {
        let mut f = Vec::new();
        f.extend_from_slice(&eth_dst);
        f.extend_from_slice(&eth_src);
        f.extend_from_slice(&[0x08, 0x06]); // ARP
        f.extend_from_slice(&[0x00, 0x01, 0x08, 0x00, 6, 4, 0x00, op]);
        f.extend_from_slice(&sender.0);
        f.extend_from_slice(&sender.1);
        f.extend_from_slice(&target.0);
        f.extend_from_slice(&target.1);
        f
    }

    fn reply() -> Vec<u8> {
        frame(
            GW_MAC.0,
            HOST_MAC.0,
            2,
            (HOST_MAC.0, HOST_IP.octets()),
            (GW_MAC.0, GW_IP.octets()),
        )
    }

    #[test]
    fn a_request_is_the_broadcast_who_has_byte_for_byte() {
        let built = request(GW_MAC, GW_IP, HOST_IP);
        let expected = frame(
            [0xff; 6],
            GW_MAC.0,
            1,
            (GW_MAC.0, GW_IP.octets()),
            ([0; 6], HOST_IP.octets()),
        );
        assert_eq!(built.as_slice(), expected.as_slice());
        // Our own request, seen on the wire, reveals us as a requester.
        assert_eq!(
            parse(&built),
            Some(Sighting {
                ip: GW_IP,
                mac: GW_MAC,
                kind: ArpKind::Request
            })
        );
    }

    #[test]
    fn a_reply_reveals_its_sender() {
        let s = parse(&reply()).unwrap();
        assert_eq!(
            s,
            Sighting {
                ip: HOST_IP,
                mac: HOST_MAC,
                kind: ArpKind::Reply
            }
        );
        // Padding to the 60-byte minimum (and a trailing FCS) changes nothing.
        let mut padded = reply();
        padded.resize(64, 0);
        assert_eq!(parse(&padded), Some(s));
    }

    #[test]
    fn requests_and_gratuitous_arp_reveal_hosts_too() {
        let asking = frame(
            [0xff; 6],
            HOST_MAC.0,
            1,
            (HOST_MAC.0, HOST_IP.octets()),
            ([0; 6], GW_IP.octets()),
        );
        assert_eq!(parse(&asking).unwrap().kind, ArpKind::Request);
        // Gratuitous, as a request (the usual form) and as a reply.
        for op in [1, 2] {
            let announce = frame(
                [0xff; 6],
                HOST_MAC.0,
                op,
                (HOST_MAC.0, HOST_IP.octets()),
                ([0xff; 6], HOST_IP.octets()),
            );
            let s = parse(&announce).unwrap();
            assert_eq!(
                (s.ip, s.mac, s.kind),
                (HOST_IP, HOST_MAC, ArpKind::Gratuitous)
            );
        }
    }

    #[test]
    fn what_reveals_no_host_is_skipped() {
        // An RFC 5227 probe: sender address 0.0.0.0.
        let probe = frame(
            [0xff; 6],
            HOST_MAC.0,
            1,
            (HOST_MAC.0, [0; 4]),
            ([0; 6], HOST_IP.octets()),
        );
        assert_eq!(parse(&probe), None);
        // Group and zero sender MACs.
        for bad_mac in [[0xff; 6], [0x01, 0, 0x5e, 0, 0, 1], [0; 6]] {
            let f = frame(
                GW_MAC.0,
                HOST_MAC.0,
                2,
                (bad_mac, HOST_IP.octets()),
                (GW_MAC.0, GW_IP.octets()),
            );
            assert_eq!(parse(&f), None, "{bad_mac:02x?}");
        }
        // Broadcast and multicast sender addresses.
        for bad_ip in [[255, 255, 255, 255], [224, 0, 0, 1]] {
            let f = frame(
                GW_MAC.0,
                HOST_MAC.0,
                2,
                (HOST_MAC.0, bad_ip),
                (GW_MAC.0, GW_IP.octets()),
            );
            assert_eq!(parse(&f), None, "{bad_ip:?}");
        }
        // An unknown operation (RARP's 3).
        let rarp = frame(
            GW_MAC.0,
            HOST_MAC.0,
            3,
            (HOST_MAC.0, HOST_IP.octets()),
            (GW_MAC.0, GW_IP.octets()),
        );
        assert_eq!(parse(&rarp), None);
        // Truncated at every length, and empty.
        let full = reply();
        for len in 0..full.len() {
            assert_eq!(parse(&full[..len]), None, "truncated to {len}");
        }
        // Not ARP: an IPv4 ethertype, and a VLAN tag.
        for ethertype in [[0x08, 0x00], [0x81, 0x00]] {
            let mut f = reply();
            f[12..14].copy_from_slice(&ethertype);
            assert_eq!(parse(&f), None);
        }
        // Odd ARP: another hardware type, protocol, or address lengths.
        for (at, value) in [(15, 6u8), (16, 0x86), (18, 8), (19, 16)] {
            let mut f = reply();
            f[at] = value;
            assert_eq!(parse(&f), None, "byte {at} = {value}");
        }
    }
}
