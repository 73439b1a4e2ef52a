//! The Linux edge of Mamori's firewall: [`netlink`] replaces the `inet mamori` table with
//! the IR of `mamori-firewall` in one nf_tables transaction (needs `CAP_NET_ADMIN`), reads
//! the rules' counters and updates named sets; [`discovery`] sweeps a LAN interface with
//! ARP requests on a raw socket (needs `CAP_NET_RAW`).
//!
//! Everything that touches libnftnl, libmnl or packet sockets is here, so that crates which
//! only model, validate or render the firewall (and the relay, and the fuzz targets) never
//! link those libraries.

#![cfg(target_os = "linux")]

pub mod discovery;
pub mod netlink;
