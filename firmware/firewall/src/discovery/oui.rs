//! Vendor prefixes: a small built-in table of the organisationally unique identifiers
//! (OUIs, the first three octets of a universal MAC address) of makers common in small
//! offices, and the lookup the panel uses to put a name beside an address.
//!
//! The table is deliberately small (about a hundred prefixes; vendors hold thousands): an
//! unknown prefix just shows no vendor. A locally administered address (a randomised phone
//! or laptop address, a virtual interface) names no vendor at all; see
//! [`MacAddress::is_locally_administered`].

use super::mac::MacAddress;

/// What the prefix of an address says about its maker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Vendor {
    /// A prefix in the table.
    Known(&'static str),
    /// A locally administered address not in the table: set by software (randomised per
    /// network by phones and laptops, or a virtual interface), so it names no maker.
    LocallyAdministered,
    /// A universal address whose prefix the table does not hold.
    Unknown,
}

impl Vendor {
    /// The maker's name, when known.
    pub fn name(&self) -> Option<&'static str> {
        match self {
            Self::Known(name) => Some(name),
            Self::LocallyAdministered | Self::Unknown => None,
        }
    }
}

/// The vendor of an address: the table first (it holds a few well-known locally
/// administered prefixes such as QEMU's), then the locally-administered bit.
pub fn lookup(mac: MacAddress) -> Vendor {
    let oui = mac.oui();
    match PREFIXES.binary_search_by(|(prefix, _)| prefix.cmp(&oui)) {
        Ok(i) => Vendor::Known(PREFIXES[i].1),
        Err(_) if mac.is_locally_administered() => Vendor::LocallyAdministered,
        Err(_) => Vendor::Unknown,
    }
}

/// The prefixes, sorted for binary search.
const PREFIXES: &[([u8; 3], &str)] = &[
    ([0x00, 0x00, 0x0c], "Cisco"),
    ([0x00, 0x00, 0x0e], "Fujitsu"),
    ([0x00, 0x00, 0x48], "Epson"),
    ([0x00, 0x00, 0x4c], "NEC"),
    ([0x00, 0x00, 0x74], "RICOH"),
    ([0x00, 0x00, 0x85], "Canon"),
    ([0x00, 0x00, 0xaa], "Xerox"),
    ([0x00, 0x00, 0xf0], "Samsung"),
    ([0x00, 0x01, 0x4a], "Sony"),
    ([0x00, 0x03, 0x93], "Apple"),
    ([0x00, 0x03, 0xff], "Microsoft"),
    ([0x00, 0x05, 0x69], "VMware"),
    ([0x00, 0x06, 0x5b], "Dell"),
    ([0x00, 0x07, 0x40], "Buffalo"),
    ([0x00, 0x0a, 0x95], "Apple"),
    ([0x00, 0x0b, 0x5d], "Fujitsu"),
    ([0x00, 0x0c, 0x29], "VMware"),
    ([0x00, 0x0d, 0x0b], "Buffalo"),
    ([0x00, 0x11, 0x32], "Synology"),
    ([0x00, 0x12, 0xfb], "Samsung"),
    ([0x00, 0x13, 0x15], "Sony"),
    ([0x00, 0x13, 0xc4], "Cisco"),
    ([0x00, 0x14, 0x22], "Dell"),
    ([0x00, 0x14, 0x6c], "Netgear"),
    ([0x00, 0x15, 0x5d], "Microsoft"),
    ([0x00, 0x15, 0x99], "Samsung"),
    ([0x00, 0x16, 0x32], "Samsung"),
    ([0x00, 0x16, 0x3e], "Xen"),
    ([0x00, 0x16, 0x97], "NEC"),
    ([0x00, 0x17, 0xa4], "HP"),
    ([0x00, 0x17, 0xc8], "KYOCERA"),
    ([0x00, 0x17, 0xf2], "Apple"),
    ([0x00, 0x1b, 0x21], "Intel"),
    ([0x00, 0x1b, 0x63], "Apple"),
    ([0x00, 0x1b, 0x78], "HP"),
    ([0x00, 0x1b, 0xa9], "Brother"),
    ([0x00, 0x1c, 0xee], "Sharp"),
    ([0x00, 0x1d, 0x0f], "TP-Link"),
    ([0x00, 0x1d, 0x73], "Buffalo"),
    ([0x00, 0x1e, 0x67], "Intel"),
    ([0x00, 0x1e, 0x8f], "Canon"),
    ([0x00, 0x1e, 0xc2], "Apple"),
    ([0x00, 0x22, 0xf3], "Sharp"),
    ([0x00, 0x24, 0xa5], "Buffalo"),
    ([0x00, 0x24, 0xbe], "Sony"),
    ([0x00, 0x26, 0x73], "RICOH"),
    ([0x00, 0x26, 0xab], "Epson"),
    ([0x00, 0x26, 0xbb], "Apple"),
    ([0x00, 0x3a, 0x9d], "NEC"),
    ([0x00, 0x50, 0x56], "VMware"),
    ([0x00, 0x50, 0xba], "D-Link"),
    ([0x00, 0x80, 0x77], "Brother"),
    ([0x00, 0x80, 0xf0], "Panasonic"),
    ([0x00, 0x9c, 0x02], "HP"),
    ([0x00, 0xa0, 0xc9], "Intel"),
    ([0x00, 0xa0, 0xde], "Yamaha"),
    ([0x00, 0xc0, 0xee], "KYOCERA"),
    ([0x00, 0xe0, 0x4c], "Realtek"),
    ([0x00, 0xe0, 0xf7], "Cisco"),
    ([0x08, 0x00, 0x1f], "Sharp"),
    ([0x08, 0x00, 0x27], "VirtualBox"),
    ([0x0c, 0x47, 0xc9], "Amazon"),
    ([0x10, 0x6f, 0x3f], "Buffalo"),
    ([0x14, 0xcc, 0x20], "TP-Link"),
    ([0x24, 0x5e, 0xbe], "QNAP"),
    ([0x28, 0x6c, 0x07], "Xiaomi"),
    ([0x28, 0xcd, 0xc1], "Raspberry Pi"),
    ([0x28, 0xcf, 0xe9], "Apple"),
    ([0x30, 0x05, 0x5c], "Brother"),
    ([0x3c, 0x07, 0x54], "Apple"),
    ([0x3c, 0x4a, 0x92], "HP"),
    ([0x3c, 0x5a, 0xb4], "Google"),
    ([0x50, 0xc7, 0xbf], "TP-Link"),
    ([0x52, 0x54, 0x00], "QEMU/KVM"),
    ([0x58, 0x38, 0x79], "RICOH"),
    ([0x64, 0xeb, 0x8c], "Epson"),
    ([0x74, 0x75, 0x48], "Amazon"),
    ([0x78, 0x11, 0xdc], "Xiaomi"),
    ([0x7c, 0x1e, 0x52], "Microsoft"),
    ([0x8c, 0x77, 0x12], "Samsung"),
    ([0x90, 0x09, 0xd0], "Synology"),
    ([0x98, 0xf1, 0x99], "NEC"),
    ([0xa0, 0x36, 0x9f], "Intel"),
    ([0xa0, 0x40, 0xa0], "Netgear"),
    ([0xa4, 0x83, 0xe7], "Apple"),
    ([0xac, 0xbc, 0x32], "Apple"),
    ([0xb8, 0x27, 0xeb], "Raspberry Pi"),
    ([0xb8, 0xac, 0x6f], "Dell"),
    ([0xbc, 0xc3, 0x42], "Panasonic"),
    ([0xc0, 0x25, 0xe9], "TP-Link"),
    ([0xdc, 0xa6, 0x32], "Raspberry Pi"),
    ([0xe0, 0x46, 0x9a], "Netgear"),
    ([0xe4, 0x5f, 0x01], "Raspberry Pi"),
    ([0xe8, 0x43, 0xb6], "QNAP"),
    ([0xec, 0x08, 0x6b], "TP-Link"),
    ([0xf0, 0x18, 0x98], "Apple"),
    ([0xf4, 0xa9, 0x97], "Canon"),
    ([0xf4, 0xf2, 0x6d], "TP-Link"),
    ([0xf4, 0xf5, 0xd8], "Google"),
    ([0xf4, 0xf5, 0xe8], "Google"),
    ([0xf8, 0xa4, 0x5f], "Xiaomi"),
    ([0xf8, 0xb1, 0x56], "Dell"),
    ([0xfc, 0xa6, 0x67], "Amazon"),
    ([0xfc, 0xf1, 0x52], "Sony"),
];

#[cfg(test)]
mod tests {
    use super::*;

    fn mac(s: &str) -> MacAddress {
        s.parse().unwrap()
    }

    #[test]
    fn the_table_is_sorted_without_duplicates() {
        assert!(PREFIXES.len() >= 60, "{}", PREFIXES.len());
        for pair in PREFIXES.windows(2) {
            assert!(
                pair[0].0 < pair[1].0,
                "{:02x?} then {:02x?}",
                pair[0].0,
                pair[1].0
            );
        }
        // Every universal prefix is a station's (the table holds no group prefix).
        assert!(PREFIXES.iter().all(|(p, _)| p[0] & 0x01 == 0));
    }

    #[test]
    fn known_prefixes_name_their_vendor() {
        assert_eq!(
            lookup(mac("b8:27:eb:12:34:56")),
            Vendor::Known("Raspberry Pi")
        );
        assert_eq!(lookup(mac("00:11:32:00:00:01")), Vendor::Known("Synology"));
        assert_eq!(lookup(mac("00:00:0c:07:ac:01")), Vendor::Known("Cisco"));
        assert_eq!(lookup(mac("fc:f1:52:ff:ff:ff")), Vendor::Known("Sony"));
        assert_eq!(lookup(mac("00:00:0c:07:ac:01")).name(), Some("Cisco"));
        // The first and last rows are found too.
        let (first, last) = (PREFIXES[0], PREFIXES[PREFIXES.len() - 1]);
        for (prefix, name) in [first, last] {
            let m = MacAddress([prefix[0], prefix[1], prefix[2], 1, 2, 3]);
            assert_eq!(lookup(m), Vendor::Known(name));
        }
    }

    #[test]
    fn randomised_and_unknown_addresses() {
        // A phone's per-network random address.
        assert_eq!(
            lookup(mac("da:a1:19:3c:22:07")),
            Vendor::LocallyAdministered
        );
        assert_eq!(lookup(mac("da:a1:19:3c:22:07")).name(), None);
        // QEMU's prefix is locally administered but well known.
        assert_eq!(lookup(mac("52:54:00:12:34:56")), Vendor::Known("QEMU/KVM"));
        // A universal prefix the table lacks.
        assert_eq!(lookup(mac("00:00:01:00:00:01")), Vendor::Unknown);
    }
}
