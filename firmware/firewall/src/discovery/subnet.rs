//! Which addresses a sweep asks for: every host address of the interface's IPv4 subnet but
//! its own, at most a /22 (1,022 hosts). A larger subnet is cut to the /22 around the
//! interface's own address, and the plan says so, so that the daemon can warn.

use std::net::Ipv4Addr;

use ipnet::Ipv4Net;

/// The widest network a sweep covers: a /22, 1,024 addresses.
pub const WIDEST_PREFIX: u8 = 22;

/// The addresses one sweep asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// The network swept (the interface's subnet, or its /22 neighbourhood).
    pub network: Ipv4Net,
    /// The interface's subnet when it was wider than a /22 and cut to [`Plan::network`].
    pub cut_from: Option<Ipv4Net>,
    /// The addresses to ask for, in order: the network's host addresses without the
    /// network and broadcast addresses (for a /30 or wider) and the interface's own.
    pub targets: Vec<Ipv4Addr>,
}

/// The plan for an interface address with its prefix (`192.168.1.1/24`).
pub fn plan(interface: Ipv4Net) -> Plan {
    let subnet = interface.trunc();
    let (network, cut_from) = if subnet.prefix_len() < WIDEST_PREFIX {
        // Infallible: a prefix of 22 is valid; the fallback never runs.
        let cut = Ipv4Net::new(interface.addr(), WIDEST_PREFIX)
            .map(|n| n.trunc())
            .unwrap_or(subnet);
        (cut, Some(subnet))
    } else {
        (subnet, None)
    };
    let own = interface.addr();
    // `hosts()` leaves out the network and broadcast addresses except on a /31 or /32.
    let targets = network.hosts().filter(|a| *a != own).collect();
    Plan {
        network,
        cut_from,
        targets,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn net(s: &str) -> Ipv4Net {
        s.parse().unwrap()
    }

    #[test]
    fn a_slash_24_is_its_254_hosts_but_the_box() {
        let p = plan(net("192.0.2.1/24"));
        assert_eq!(p.network, net("192.0.2.0/24"));
        assert_eq!(p.cut_from, None);
        assert_eq!(p.targets.len(), 253);
        assert_eq!(p.targets.first(), Some(&Ipv4Addr::new(192, 0, 2, 2)));
        assert_eq!(p.targets.last(), Some(&Ipv4Addr::new(192, 0, 2, 254)));
        assert!(!p.targets.contains(&Ipv4Addr::new(192, 0, 2, 1)));
    }

    #[test]
    fn a_slash_22_is_swept_whole() {
        let p = plan(net("198.18.5.9/22"));
        assert_eq!(p.network, net("198.18.4.0/22"));
        assert_eq!(p.cut_from, None);
        assert_eq!(p.targets.len(), 1021);
    }

    #[test]
    fn wider_subnets_are_cut_to_the_boxs_slash_22() {
        let p = plan(net("198.18.17.1/20"));
        assert_eq!(p.network, net("198.18.16.0/22"));
        assert_eq!(p.cut_from, Some(net("198.18.16.0/20")));
        assert_eq!(p.targets.len(), 1021);
        assert_eq!(p.targets.first(), Some(&Ipv4Addr::new(198, 18, 16, 1)));
        assert_eq!(p.targets.last(), Some(&Ipv4Addr::new(198, 18, 19, 254)));
        let p = plan(net("10.200.3.4/8"));
        assert_eq!(p.network, net("10.200.0.0/22"));
        assert_eq!(p.cut_from, Some(net("10.0.0.0/8")));
        assert!(p.targets.len() <= 1024);
    }

    #[test]
    fn point_to_point_and_single_addresses() {
        let p = plan(net("192.0.2.0/31"));
        assert_eq!(p.targets, [Ipv4Addr::new(192, 0, 2, 1)]);
        assert!(plan(net("192.0.2.5/32")).targets.is_empty());
        let p = plan(net("192.0.2.5/30"));
        assert_eq!(p.targets, [Ipv4Addr::new(192, 0, 2, 6)]);
    }
}
