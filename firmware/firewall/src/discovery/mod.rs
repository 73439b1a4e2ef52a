//! LAN device discovery: a periodic ARP sweep of the LAN subnet, and the list of devices it
//! finds (IP, MAC, vendor when the prefix is known, first and last seen) for the panel.
//!
//! The pure core: [`mac`] (addresses), [`arp`] (building requests, reading any ARP frame),
//! [`oui`] (the built-in vendor prefixes), [`subnet`] (which addresses a sweep asks for,
//! at most a /22) and [`inventory`] (the bounded, expiring device list). At the edge,
//! [`sweep`] sends and reads the frames on a raw socket, which needs `CAP_NET_RAW`.

pub mod arp;
pub mod inventory;
pub mod mac;
pub mod oui;
pub mod subnet;
pub mod sweep;

pub use arp::{ArpKind, Sighting};
pub use inventory::{Device, Inventory, SweepChanges};
pub use mac::MacAddress;
pub use oui::Vendor;
pub use sweep::{SweepError, SweepOptions, SweepReport, sweep};
