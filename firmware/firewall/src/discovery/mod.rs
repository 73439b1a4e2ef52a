//! LAN device discovery: a periodic ARP sweep of the LAN subnet, and the list of devices it
//! finds (IP, MAC, vendor when the prefix is known, first and last seen) for the panel.
//!
//! This is the pure core: [`mac`] (addresses), [`sighting`] (what a frame and a sweep
//! reveal), [`oui`] (the built-in vendor prefixes), [`subnet`] (which addresses a sweep
//! asks for, at most a /22) and [`inventory`] (the bounded, expiring device list). The
//! frames and the raw socket (`CAP_NET_RAW`) are in `mamori-firewall-linux`.

pub mod inventory;
pub mod mac;
pub mod oui;
pub mod sighting;
pub mod subnet;

pub use inventory::{Device, Inventory, SweepChanges};
pub use mac::MacAddress;
pub use oui::Vendor;
pub use sighting::{ArpKind, Sighting, SweepReport};
