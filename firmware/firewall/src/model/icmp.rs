//! ICMP and ICMPv6 message types by the names nftables uses, so that a rule can say
//! `icmp_types = ["echo-request"]` and validation can tell whether a type exists in the
//! protocol the rule is for.

use serde::{Deserialize, Serialize};

use super::values::Family;

/// An ICMP (IPv4) or ICMPv6 message type, named as in nftables. Some names exist in both
/// protocols with different numbers; [`IcmpType::code`] gives the number for one family.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum IcmpType {
    /// Echo reply (both).
    EchoReply,
    /// Destination unreachable, incl. IPv4 "fragmentation needed" for path-MTU discovery (both).
    DestinationUnreachable,
    /// Source quench (IPv4, obsolete).
    SourceQuench,
    /// Redirect (IPv4).
    Redirect,
    /// Echo request, "ping" (both).
    EchoRequest,
    /// Router advertisement (IPv4).
    RouterAdvertisement,
    /// Router solicitation (IPv4).
    RouterSolicitation,
    /// Time exceeded (both).
    TimeExceeded,
    /// Parameter problem (both).
    ParameterProblem,
    /// Timestamp request (IPv4).
    TimestampRequest,
    /// Timestamp reply (IPv4).
    TimestampReply,
    /// Information request (IPv4, obsolete).
    InfoRequest,
    /// Information reply (IPv4, obsolete).
    InfoReply,
    /// Address mask request (IPv4).
    AddressMaskRequest,
    /// Address mask reply (IPv4).
    AddressMaskReply,
    /// Packet too big, path-MTU discovery (IPv6).
    PacketTooBig,
    /// Multicast listener query (IPv6).
    MldListenerQuery,
    /// Multicast listener report (IPv6).
    MldListenerReport,
    /// Multicast listener done (IPv6).
    MldListenerDone,
    /// Router solicitation (IPv6 neighbour discovery).
    NdRouterSolicit,
    /// Router advertisement (IPv6 neighbour discovery).
    NdRouterAdvert,
    /// Neighbour solicitation (IPv6 neighbour discovery).
    NdNeighborSolicit,
    /// Neighbour advertisement (IPv6 neighbour discovery).
    NdNeighborAdvert,
    /// Redirect (IPv6 neighbour discovery).
    NdRedirect,
    /// Router renumbering (IPv6).
    RouterRenumbering,
    /// Inverse neighbour discovery solicitation (IPv6).
    IndNeighborSolicit,
    /// Inverse neighbour discovery advertisement (IPv6).
    IndNeighborAdvert,
    /// Version 2 multicast listener report (IPv6).
    Mld2ListenerReport,
}

impl IcmpType {
    /// The type number in the protocol of `family` (ICMP for IPv4, ICMPv6 for IPv6), or
    /// `None` when the type does not exist there.
    pub fn code(&self, family: Family) -> Option<u8> {
        use IcmpType::*;
        match family {
            Family::Ipv4 => Some(match self {
                EchoReply => 0,
                DestinationUnreachable => 3,
                SourceQuench => 4,
                Redirect => 5,
                EchoRequest => 8,
                RouterAdvertisement => 9,
                RouterSolicitation => 10,
                TimeExceeded => 11,
                ParameterProblem => 12,
                TimestampRequest => 13,
                TimestampReply => 14,
                InfoRequest => 15,
                InfoReply => 16,
                AddressMaskRequest => 17,
                AddressMaskReply => 18,
                _ => return None,
            }),
            Family::Ipv6 => Some(match self {
                DestinationUnreachable => 1,
                PacketTooBig => 2,
                TimeExceeded => 3,
                ParameterProblem => 4,
                EchoRequest => 128,
                EchoReply => 129,
                MldListenerQuery => 130,
                MldListenerReport => 131,
                MldListenerDone => 132,
                NdRouterSolicit => 133,
                NdRouterAdvert => 134,
                NdNeighborSolicit => 135,
                NdNeighborAdvert => 136,
                NdRedirect => 137,
                RouterRenumbering => 138,
                IndNeighborSolicit => 141,
                IndNeighborAdvert => 142,
                Mld2ListenerReport => 143,
                _ => return None,
            }),
        }
    }

    /// The nftables name (also the name in the configuration).
    pub fn name(&self) -> &'static str {
        use IcmpType::*;
        match self {
            EchoReply => "echo-reply",
            DestinationUnreachable => "destination-unreachable",
            SourceQuench => "source-quench",
            Redirect => "redirect",
            EchoRequest => "echo-request",
            RouterAdvertisement => "router-advertisement",
            RouterSolicitation => "router-solicitation",
            TimeExceeded => "time-exceeded",
            ParameterProblem => "parameter-problem",
            TimestampRequest => "timestamp-request",
            TimestampReply => "timestamp-reply",
            InfoRequest => "info-request",
            InfoReply => "info-reply",
            AddressMaskRequest => "address-mask-request",
            AddressMaskReply => "address-mask-reply",
            PacketTooBig => "packet-too-big",
            MldListenerQuery => "mld-listener-query",
            MldListenerReport => "mld-listener-report",
            MldListenerDone => "mld-listener-done",
            NdRouterSolicit => "nd-router-solicit",
            NdRouterAdvert => "nd-router-advert",
            NdNeighborSolicit => "nd-neighbor-solicit",
            NdNeighborAdvert => "nd-neighbor-advert",
            NdRedirect => "nd-redirect",
            RouterRenumbering => "router-renumbering",
            IndNeighborSolicit => "ind-neighbor-solicit",
            IndNeighborAdvert => "ind-neighbor-advert",
            Mld2ListenerReport => "mld2-listener-report",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_match_serde_and_families() {
        for t in [
            IcmpType::EchoRequest,
            IcmpType::PacketTooBig,
            IcmpType::Mld2ListenerReport,
            IcmpType::AddressMaskReply,
        ] {
            let json = serde_json::to_string(&t).unwrap();
            assert_eq!(json, format!("\"{}\"", t.name()));
        }
        assert_eq!(IcmpType::EchoRequest.code(Family::Ipv4), Some(8));
        assert_eq!(IcmpType::EchoRequest.code(Family::Ipv6), Some(128));
        assert_eq!(IcmpType::PacketTooBig.code(Family::Ipv4), None);
        assert_eq!(IcmpType::Redirect.code(Family::Ipv6), None);
    }
}
