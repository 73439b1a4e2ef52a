//! The device list: every (MAC, IPv4) pair seen on the LAN, with its vendor and when it
//! was first and last seen.
//!
//! A pair is one entry, so a host that changes address (a new DHCP lease) shows twice until
//! the old pair expires; the list is what the panel shows, not a history. An entry not
//! seen for [`Inventory::expire_after_sweeps`] completed sweeps is dropped, and the list is
//! bounded: past its capacity the entries seen longest ago go first, so a flood of forged
//! ARP cannot grow it without end.

use std::collections::HashMap;
use std::net::Ipv4Addr;

use serde::Serialize;

use super::mac::MacAddress;
use super::oui;
use super::sighting::Sighting;

/// The default bound on the number of devices.
pub const DEFAULT_CAPACITY: usize = 4096;

/// The default number of sweeps a device may miss before it is dropped (an hour at the
/// daemon's five-minute interval).
pub const DEFAULT_EXPIRE_AFTER_SWEEPS: u64 = 12;

/// One device: a (MAC, IPv4) pair seen on the LAN.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Device {
    /// Its IPv4 address.
    pub ip: Ipv4Addr,
    /// Its MAC address.
    pub mac: MacAddress,
    /// The maker its MAC prefix names, when the built-in table knows it.
    pub vendor: Option<&'static str>,
    /// A locally administered MAC (randomised by a phone or laptop, or virtual): its
    /// prefix names no maker and it may change.
    pub locally_administered: bool,
    /// When it was first seen (Unix seconds).
    pub first_seen: u64,
    /// When it was last seen (Unix seconds).
    pub last_seen: u64,
    /// The number of the sweep that last saw it (not shown).
    #[serde(skip)]
    seen_in_sweep: u64,
}

/// What one completed sweep changed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SweepChanges {
    /// Devices not in the list before (some may have been evicted at once when the
    /// sweep saw more than the list holds).
    pub added: usize,
    /// Devices dropped for not being seen for too many sweeps.
    pub expired: usize,
    /// Devices dropped because the list was full.
    pub evicted: usize,
}

/// The device list.
#[derive(Debug, Clone)]
pub struct Inventory {
    devices: HashMap<(MacAddress, Ipv4Addr), Device>,
    sweeps: u64,
    last_sweep_at: Option<u64>,
    capacity: usize,
    expire_after_sweeps: u64,
}

impl Default for Inventory {
    fn default() -> Self {
        Self::new(DEFAULT_CAPACITY, DEFAULT_EXPIRE_AFTER_SWEEPS)
    }
}

impl Inventory {
    /// An empty list holding at most `capacity` devices (at least one), dropping a device
    /// once `expire_after_sweeps` (at least one) sweeps in a row have not seen it.
    pub fn new(capacity: usize, expire_after_sweeps: u64) -> Self {
        Self {
            devices: HashMap::new(),
            sweeps: 0,
            last_sweep_at: None,
            capacity: capacity.max(1),
            expire_after_sweeps: expire_after_sweeps.max(1),
        }
    }

    /// How many sweeps a device may miss before it is dropped.
    pub fn expire_after_sweeps(&self) -> u64 {
        self.expire_after_sweeps
    }

    /// The number of devices listed.
    pub fn len(&self) -> usize {
        self.devices.len()
    }

    /// True when no device is listed.
    pub fn is_empty(&self) -> bool {
        self.devices.is_empty()
    }

    /// The number of sweeps completed.
    pub fn sweeps(&self) -> u64 {
        self.sweeps
    }

    /// The devices, by IP address then MAC.
    pub fn devices(&self) -> Vec<&Device> {
        let mut list: Vec<&Device> = self.devices.values().collect();
        list.sort_by_key(|d| (d.ip, d.mac));
        list
    }

    /// Records one completed sweep at `now` (Unix seconds): the sightings it collected
    /// (replies, and whatever ARP the LAN sent meanwhile), then the expiry of devices it
    /// missed, then the bound. A failed sweep is not recorded, so it expires nothing.
    pub fn record_sweep(&mut self, sightings: &[Sighting], now: u64) -> SweepChanges {
        self.sweeps += 1;
        self.last_sweep_at = Some(now);
        let sweep = self.sweeps;
        let mut changes = SweepChanges::default();
        for s in sightings {
            let device = self.devices.entry((s.mac, s.ip)).or_insert_with(|| {
                changes.added += 1;
                let vendor = oui::lookup(s.mac);
                Device {
                    ip: s.ip,
                    mac: s.mac,
                    vendor: vendor.name(),
                    locally_administered: s.mac.is_locally_administered(),
                    first_seen: now,
                    last_seen: now,
                    seen_in_sweep: sweep,
                }
            });
            device.last_seen = device.last_seen.max(now);
            device.seen_in_sweep = sweep;
        }
        let before = self.devices.len();
        let keep_from = sweep.saturating_sub(self.expire_after_sweeps);
        self.devices.retain(|_, d| d.seen_in_sweep > keep_from);
        changes.expired = before - self.devices.len();
        changes.evicted = self.evict_to_capacity();
        changes
    }

    /// Drops the devices seen longest ago until the list fits its capacity.
    fn evict_to_capacity(&mut self) -> usize {
        let excess = self.devices.len().saturating_sub(self.capacity);
        if excess == 0 {
            return 0;
        }
        let mut by_age: Vec<(u64, u64, MacAddress, Ipv4Addr)> = self
            .devices
            .values()
            .map(|d| (d.last_seen, d.first_seen, d.mac, d.ip))
            .collect();
        by_age.sort_unstable();
        for (_, _, mac, ip) in by_age.into_iter().take(excess) {
            self.devices.remove(&(mac, ip));
        }
        excess
    }
}

/// The list as the control socket sends it: `{"sweeps", "last_sweep", "devices": [...]}`,
/// devices by IP address.
impl Serialize for Inventory {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Wire<'a> {
            sweeps: u64,
            last_sweep: Option<u64>,
            expire_after_sweeps: u64,
            devices: Vec<&'a Device>,
        }
        Wire {
            sweeps: self.sweeps,
            last_sweep: self.last_sweep_at,
            expire_after_sweeps: self.expire_after_sweeps,
            devices: self.devices(),
        }
        .serialize(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::discovery::sighting::ArpKind;

    fn seen(ip: [u8; 4], mac: &str) -> Sighting {
        Sighting {
            ip: Ipv4Addr::from(ip),
            mac: mac.parse().unwrap(),
            kind: ArpKind::Reply,
        }
    }

    #[test]
    fn devices_keep_first_seen_and_move_last_seen() {
        let mut inv = Inventory::default();
        let pi = seen([192, 0, 2, 10], "b8:27:eb:00:00:01");
        let phone = seen([192, 0, 2, 11], "da:a1:19:00:00:02");
        let c = inv.record_sweep(&[pi, phone, pi], 1000);
        assert_eq!(
            c,
            SweepChanges {
                added: 2,
                expired: 0,
                evicted: 0
            }
        );
        let c = inv.record_sweep(&[pi], 1300);
        assert_eq!(c, SweepChanges::default());
        let list = inv.devices();
        assert_eq!(list.len(), 2);
        let d = list[0];
        assert_eq!((d.ip, d.first_seen, d.last_seen), (pi.ip, 1000, 1300));
        assert_eq!(d.vendor, Some("Raspberry Pi"));
        assert!(!d.locally_administered);
        let p = list[1];
        assert_eq!((p.first_seen, p.last_seen), (1000, 1000));
        assert_eq!(p.vendor, None);
        assert!(p.locally_administered);
        assert_eq!(inv.sweeps(), 2);
    }

    #[test]
    fn a_new_address_for_a_known_mac_is_a_new_entry() {
        let mut inv = Inventory::default();
        inv.record_sweep(&[seen([192, 0, 2, 10], "00:11:32:00:00:01")], 1);
        inv.record_sweep(&[seen([192, 0, 2, 20], "00:11:32:00:00:01")], 2);
        let ips: Vec<_> = inv.devices().iter().map(|d| d.ip.to_string()).collect();
        assert_eq!(ips, ["192.0.2.10", "192.0.2.20"]);
    }

    #[test]
    fn devices_expire_after_missing_n_sweeps() {
        let mut inv = Inventory::new(16, 3);
        let a = seen([192, 0, 2, 10], "00:11:32:00:00:01");
        let b = seen([192, 0, 2, 11], "00:11:32:00:00:02");
        inv.record_sweep(&[a, b], 0);
        // `b` misses sweeps 2, 3 and 4: gone after the third miss, not before.
        inv.record_sweep(&[a], 300);
        inv.record_sweep(&[a], 600);
        assert_eq!(inv.len(), 2);
        let c = inv.record_sweep(&[a], 900);
        assert_eq!(c.expired, 1);
        assert_eq!(inv.devices()[0].ip, a.ip);
        assert_eq!(inv.len(), 1);
    }

    #[test]
    fn the_list_is_bounded_and_the_oldest_go_first() {
        let mut inv = Inventory::new(4, 100);
        let dev = |i: u8| seen([192, 0, 2, i], &format!("00:11:32:00:00:{i:02x}"));
        inv.record_sweep(&[dev(1), dev(2)], 10);
        inv.record_sweep(&[dev(3)], 20);
        inv.record_sweep(&[dev(1), dev(4)], 30);
        assert_eq!(inv.len(), 4);
        // Two newcomers: 2 (last seen at 10) and 3 (at 20) make room.
        let c = inv.record_sweep(&[dev(5), dev(6)], 40);
        assert_eq!(
            c,
            SweepChanges {
                added: 2,
                expired: 0,
                evicted: 2
            }
        );
        let ips: Vec<u8> = inv.devices().iter().map(|d| d.ip.octets()[3]).collect();
        assert_eq!(ips, [1, 4, 5, 6]);
        // A flood larger than the list keeps it at its bound.
        let flood: Vec<Sighting> = (10..=200).map(dev).collect();
        let c = inv.record_sweep(&flood, 50);
        assert_eq!(inv.len(), 4);
        assert_eq!((c.added, c.evicted), (191, 191));
        assert!(inv.devices().iter().all(|d| d.last_seen == 50));
    }

    #[test]
    fn serialises_for_the_control_socket() {
        let mut inv = Inventory::new(8, 2);
        assert_eq!(
            serde_json::to_value(&inv).unwrap(),
            serde_json::json!({"sweeps": 0, "last_sweep": null, "expire_after_sweeps": 2, "devices": []})
        );
        inv.record_sweep(
            &[
                seen([192, 0, 2, 20], "00:00:0c:00:00:01"),
                seen([192, 0, 2, 3], "00:00:01:00:00:01"),
            ],
            1_700_000_000,
        );
        assert_eq!(
            serde_json::to_value(&inv).unwrap(),
            serde_json::json!({
                "sweeps": 1,
                "last_sweep": 1_700_000_000u64,
                "expire_after_sweeps": 2,
                "devices": [
                    {"ip": "192.0.2.3", "mac": "00:00:01:00:00:01", "vendor": null,
                     "locally_administered": false,
                     "first_seen": 1_700_000_000u64, "last_seen": 1_700_000_000u64},
                    {"ip": "192.0.2.20", "mac": "00:00:0c:00:00:01", "vendor": "Cisco",
                     "locally_administered": false,
                     "first_seen": 1_700_000_000u64, "last_seen": 1_700_000_000u64},
                ]
            })
        );
    }
}
