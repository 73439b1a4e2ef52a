//! The ARP sweep against real kernels: each test makes two network namespaces, a gateway
//! and a LAN host, joined by a veth pair, then re-runs itself (this test binary, filtered
//! to the one test) under `ip netns exec <gateway>` with `MAMORI_DISCOVERY_CHILD` set, so
//! that the sweep's raw socket opens on the gateway's `lan0`. The LAN host's kernel answers
//! the who-has requests; the sweep must find its address and MAC. The namespaces (and with
//! them the veth pair) are deleted when their guards drop.
//!
//! Needs root and the `ip` tool; without them the tests say so and pass.

#[path = "../../firewall/tests/common/mod.rs"]
mod common;

use std::net::Ipv4Addr;
use std::process::Command;
use std::time::{Duration, Instant};

use common::netns::{NetNs, skip_reason_for, tool};
use mamori_firewall::discovery::{Inventory, MacAddress};
use mamori_firewall_linux::discovery::{SweepError, SweepOptions, sweep};

/// Set in the child process that runs a test's body inside the gateway namespace.
const CHILD: &str = "MAMORI_DISCOVERY_CHILD";

/// The gateway's LAN interface, in the gateway namespace.
const LAN: &str = "lan0";

/// A gateway and one LAN host on a veth pair: `lan0` (gateway) and `eth0` (host).
struct Lan {
    gateway: NetNs,
    _host: NetNs,
}

impl Lan {
    fn new(gateway_address: &str, host_address: &str, host_mac: &str) -> Self {
        let gateway = NetNs::new();
        let host = NetNs::new();
        gateway.ip(&[
            "link", "add", LAN, "type", "veth", "peer", "name", "eth0", "netns", &host.name,
        ]);
        gateway.ip(&["addr", "add", gateway_address, "dev", LAN]);
        gateway.ip(&["link", "set", LAN, "up"]);
        host.ip(&["link", "set", "eth0", "address", host_mac]);
        host.ip(&["addr", "add", host_address, "dev", "eth0"]);
        host.ip(&["link", "set", "eth0", "up"]);
        Self {
            gateway,
            _host: host,
        }
    }

    /// Runs the test `name` of this binary in the gateway namespace and checks that it ran
    /// and passed there.
    fn run_in_gateway(&self, name: &str) {
        self.gateway.run_test(name, CHILD);
    }
}

/// A test whose body runs in the gateway namespace of a LAN made for it.
macro_rules! lan_test {
    ($(#[$doc:meta])* $name:ident ($gw:expr, $host:expr, $mac:expr) $body:block) => {
        $(#[$doc])*
        #[test]
        fn $name() {
            if std::env::var_os(CHILD).is_some() {
                $body
            } else {
                if let Some(reason) = skip_reason_for(&["ip"]) {
                    eprintln!("SKIPPED {}: {reason}", stringify!($name));
                    return;
                }
                Lan::new($gw, $host, $mac).run_in_gateway(stringify!($name));
            }
        }
    };
}

fn options() -> SweepOptions {
    SweepOptions {
        listen: Duration::from_millis(500),
        ..SweepOptions::new(LAN)
    }
}

lan_test! {
    /// A /24: every host address but the gateway's is asked for, the host answers, and
    /// the device list names it with its vendor.
    the_sweep_finds_the_lan_host_and_its_mac (
        "192.0.2.1/24", "192.0.2.77/24", "b8:27:eb:12:34:56"
    ) {
        let started = Instant::now();
        let report = sweep(&options()).expect("the sweep runs");
        let host_mac: MacAddress = "b8:27:eb:12:34:56".parse().unwrap();
        assert_eq!(report.network.to_string(), "192.0.2.0/24");
        assert_eq!(report.address.to_string(), "192.0.2.1/24");
        assert_eq!(report.cut_from, None);
        assert_eq!(report.requests_sent + report.requests_failed, 253);
        assert_eq!(report.requests_failed, 0);
        let found: Vec<_> = report.sightings.iter().map(|s| (s.ip, s.mac)).collect();
        assert_eq!(
            found,
            [(Ipv4Addr::new(192, 0, 2, 77), host_mac)],
            "only the host, and not the gateway's own requests"
        );
        // Paced: 253 requests 1 ms apart, then half a second of listening.
        assert!(started.elapsed() >= Duration::from_millis(700), "{:?}", started.elapsed());

        let mut inventory = Inventory::default();
        inventory.record_sweep(&report.sightings, 1_700_000_000);
        let devices = inventory.devices();
        assert_eq!(devices.len(), 1);
        assert_eq!(devices[0].vendor, Some("Raspberry Pi"));
        assert_eq!(devices[0].first_seen, 1_700_000_000);
    }
}

lan_test! {
    /// A /20 is cut to the gateway's /22 (1,021 requests); a host inside it is found,
    /// its randomised MAC marked as such.
    a_wide_subnet_is_cut_to_the_gateways_slash_22 (
        "198.18.17.1/20", "198.18.18.5/20", "da:a1:19:3c:22:07"
    ) {
        let report = sweep(&SweepOptions { pace: Duration::ZERO, ..options() })
            .expect("the sweep runs");
        assert_eq!(report.network.to_string(), "198.18.16.0/22");
        assert_eq!(report.cut_from.map(|n| n.to_string()).as_deref(), Some("198.18.16.0/20"));
        assert_eq!(report.requests_sent + report.requests_failed, 1021);
        let host = report
            .sightings
            .iter()
            .find(|s| s.ip == Ipv4Addr::new(198, 18, 18, 5))
            .unwrap_or_else(|| panic!("host not found: {report:?}"));
        assert_eq!(host.mac.to_string(), "da:a1:19:3c:22:07");
        let mut inventory = Inventory::default();
        inventory.record_sweep(&report.sightings, 1);
        assert!(inventory.devices()[0].locally_administered);
        assert_eq!(inventory.devices()[0].vendor, None);
    }
}

lan_test! {
    /// A missing or down interface is an error that names it; nothing is sent.
    missing_and_down_interfaces_are_named (
        "192.0.2.1/24", "192.0.2.77/24", "02:00:00:00:00:77"
    ) {
        let err = sweep(&SweepOptions::new("nosuch0")).unwrap_err();
        assert!(matches!(err, SweepError::NoInterface(_)), "{err}");
        assert!(err.to_string().contains("nosuch0"), "{err}");
        let down = Command::new(tool("ip")).args(["link", "set", LAN, "down"]).status().unwrap();
        assert!(down.success());
        let err = sweep(&options()).unwrap_err();
        assert!(matches!(err, SweepError::Down(_)), "{err}");
        // Loopback has no Ethernet address.
        let up = Command::new(tool("ip")).args(["link", "set", "lo", "up"]).status().unwrap();
        assert!(up.success());
        let err = sweep(&SweepOptions::new("lo")).unwrap_err();
        assert!(matches!(err, SweepError::NoMac(_)), "{err}");
    }
}
