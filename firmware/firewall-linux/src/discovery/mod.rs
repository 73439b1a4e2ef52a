//! LAN device discovery at the edge: [`arp`] builds the who-has requests of a sweep and
//! reads any ARP frame, [`sweep`] sends and reads them on a raw socket (needs
//! `CAP_NET_RAW`). What they find goes into `mamori_firewall::discovery`'s device list.

pub mod arp;
pub mod sweep;

use mamori_firewall::discovery::MacAddress;

pub use sweep::{SweepError, SweepOptions, sweep};

/// The pnet form of a MAC address, for building frames.
pub fn to_pnet(mac: MacAddress) -> pnet_datalink::MacAddr {
    let [a, b, c, d, e, f] = mac.0;
    pnet_datalink::MacAddr::new(a, b, c, d, e, f)
}

/// A MAC address read from a frame or an interface.
pub fn from_pnet(mac: pnet_datalink::MacAddr) -> MacAddress {
    MacAddress(mac.octets())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn converts_to_and_from_pnet() {
        let mac: MacAddress = "00:11:32:aa:bb:cc".parse().unwrap();
        let pnet = to_pnet(mac);
        assert_eq!(pnet.to_string(), "00:11:32:aa:bb:cc");
        assert_eq!(from_pnet(pnet), mac);
    }
}
