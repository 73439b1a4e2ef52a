//! MAC addresses: the six octets, their flag bits, and their text form (`aa:bb:cc:dd:ee:ff`,
//! the form the control socket and the panel use).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// An Ethernet (EUI-48) address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct MacAddress(pub [u8; 6]);

/// A string that is not six hexadecimal octets separated by `:` or `-`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a MAC address (six hexadecimal octets separated by ':' or '-')")]
pub struct ParseMacError(pub String);

impl MacAddress {
    /// `ff:ff:ff:ff:ff:ff`, every station on the link.
    pub const BROADCAST: Self = Self([0xff; 6]);

    /// The six octets.
    pub fn octets(&self) -> [u8; 6] {
        self.0
    }

    /// The first three octets: the vendor's prefix (OUI) when the address is universal.
    pub fn oui(&self) -> [u8; 3] {
        [self.0[0], self.0[1], self.0[2]]
    }

    /// A group address (multicast; broadcast included): never one station's address.
    pub fn is_multicast(&self) -> bool {
        self.0[0] & 0x01 != 0
    }

    /// A locally administered address (the second bit of the first octet): set by software
    /// rather than burnt in by the vendor, such as the randomised addresses phones use per
    /// network, so its prefix names no vendor.
    pub fn is_locally_administered(&self) -> bool {
        self.0[0] & 0x02 != 0
    }

    /// `00:00:00:00:00:00`, which no station uses.
    pub fn is_zero(&self) -> bool {
        self.0 == [0; 6]
    }

    /// One station's address: neither a group address nor all zeros.
    pub fn is_station(&self) -> bool {
        !self.is_multicast() && !self.is_zero()
    }
}

impl fmt::Display for MacAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let [a, b, c, d, e, g] = self.0;
        write!(f, "{a:02x}:{b:02x}:{c:02x}:{d:02x}:{e:02x}:{g:02x}")
    }
}

impl FromStr for MacAddress {
    type Err = ParseMacError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = || ParseMacError(s.to_string());
        let mut octets = [0u8; 6];
        let mut parts = s.split([':', '-']);
        for octet in &mut octets {
            let part = parts.next().ok_or_else(err)?;
            // Exactly two hex digits (`from_str_radix` alone would take "+f").
            if part.len() != 2 || !part.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(err());
            }
            *octet = u8::from_str_radix(part, 16).map_err(|_| err())?;
        }
        if parts.next().is_some() {
            return Err(err());
        }
        Ok(Self(octets))
    }
}

impl Serialize for MacAddress {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for MacAddress {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_form_round_trips() {
        let mac: MacAddress = "B8-27-EB-0a-1B-ff".parse().unwrap();
        assert_eq!(mac.0, [0xb8, 0x27, 0xeb, 0x0a, 0x1b, 0xff]);
        assert_eq!(mac.to_string(), "b8:27:eb:0a:1b:ff");
        assert_eq!(mac.to_string().parse::<MacAddress>().unwrap(), mac);
        assert_eq!(
            serde_json::to_string(&mac).unwrap(),
            r#""b8:27:eb:0a:1b:ff""#
        );
        assert_eq!(
            serde_json::from_str::<MacAddress>(r#""b8:27:eb:0a:1b:ff""#).unwrap(),
            mac
        );
        for bad in [
            "",
            "b8:27:eb:0a:1b",
            "b8:27:eb:0a:1b:ff:00",
            "b8:27:eb:0a:1b:f",
            "b8:27:eb:0a:1b:fff",
            "g8:27:eb:0a:1b:ff",
            "+8:27:eb:0a:1b:ff",
        ] {
            assert!(bad.parse::<MacAddress>().is_err(), "{bad:?}");
        }
    }

    #[test]
    fn flag_bits() {
        let mac = |s: &str| s.parse::<MacAddress>().unwrap();
        assert!(MacAddress::BROADCAST.is_multicast());
        assert!(!MacAddress::BROADCAST.is_station());
        assert!(mac("01:00:5e:00:00:01").is_multicast());
        assert!(!MacAddress([0; 6]).is_station());
        assert!(mac("b8:27:eb:00:00:01").is_station());
        assert!(!mac("b8:27:eb:00:00:01").is_locally_administered());
        // Randomised phone addresses: 2, 6, a or e in the second hex digit.
        for s in [
            "da:a1:19:00:00:01",
            "02:00:00:00:00:01",
            "5e:00:00:00:00:01",
        ] {
            assert!(mac(s).is_locally_administered(), "{s}");
        }
        assert_eq!(mac("b8:27:eb:00:00:01").oui(), [0xb8, 0x27, 0xeb]);
    }
}
