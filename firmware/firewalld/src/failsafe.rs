//! The fail-safe table: what the box runs when its saved model cannot be read or applied.

use mamori_firewall::FirewallConfig;
use mamori_firewall::model::{Policy, Zone, Zones};

/// The table the box falls back to when its saved model cannot be read or applied: WAN
/// input and forwarding dropped, no forwarding between zones, and the LAN reaching only
/// the panel ports (anti-lockout) and DHCP/DNS on the box. Which interface is which comes
/// from the board's defaults (`board`: the zones of the board's defaults file, or the
/// built-in `eth1` LAN and `eth0` WAN), never from the settings that may be what broke.
pub fn failsafe_model(board: &Zones) -> FirewallConfig {
    // Input and forwarding dropped, nothing masqueraded; the LAN keeps ping and DHCP/DNS.
    let closed = |zone: &Zone, lan: bool| Zone {
        interfaces: zone.interfaces.clone(),
        input: Some(Policy::Drop),
        forward: Some(Policy::Drop),
        masquerade: Some(false),
        allow_ping: Some(lan),
        allow_dhcp_dns: lan.then_some(true),
        ..Zone::default()
    };
    FirewallConfig {
        zones: Zones {
            lan: closed(&board.lan, true),
            wan: closed(&board.wan, false),
            dmz: None,
            guest: None,
        },
        forwardings: Vec::new(),
        ..FirewallConfig::default()
    }
}
