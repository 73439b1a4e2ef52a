//! The firewall model: the contents of the `[firewall]` section, parsed strictly (unknown
//! keys are errors, so a misspelt switch cannot silently leave a port open) with defaults
//! that are safe on their own: an empty section gives a working office gateway (LAN
//! trusted and masqueraded to the Internet, nothing open from the Internet, SMTP forced
//! through the relay, the panel always reachable from the LAN).

pub mod icmp;
pub mod names;
pub mod options;
pub mod port_forward;
pub mod rule;
pub mod set;
pub mod values;
pub mod zone;

use serde::{Deserialize, Serialize};

pub use icmp::IcmpType;
pub use names::{InterfaceName, Name, RESERVED_SET_PREFIX, SetName};
pub use options::{AntiLockout, LogLevel, Logging, SmtpEnforcement};
pub use port_forward::{ForwardProtocol, PortForward};
pub use rule::{Action, Direction, Protocol, RateLimit, RateUnit, Rule};
pub use set::{Set, SetElement};
pub use values::{AddressSpec, CtState, Family, PortRange, Timeout};
pub use zone::{Forwarding, Policy, Zone, ZoneName, ZoneSettings, Zones};

/// The whole firewall configuration: the `[firewall]` section.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FirewallConfig {
    /// The zones (`lan` and `wan` always; `dmz` and `guest` when configured).
    pub zones: Zones,
    /// Which zones may open connections to which (default: lan to wan).
    pub forwardings: Vec<Forwarding>,
    /// Operator rules, in order.
    pub rules: Vec<Rule>,
    /// Port forwards.
    pub port_forwards: Vec<PortForward>,
    /// Named address sets.
    pub sets: Vec<Set>,
    /// SMTP enforcement.
    pub smtp: SmtpEnforcement,
    /// The admin panel's anti-lockout rule.
    pub anti_lockout: AntiLockout,
    /// Logging of refused traffic.
    pub logging: Logging,
}

impl Default for FirewallConfig {
    fn default() -> Self {
        Self {
            zones: Zones::default(),
            forwardings: zone::default_forwardings(),
            rules: Vec::new(),
            port_forwards: Vec::new(),
            sets: Vec::new(),
            smtp: SmtpEnforcement::default(),
            anti_lockout: AntiLockout::default(),
            logging: Logging::default(),
        }
    }
}

impl FirewallConfig {
    /// The set of that name, if any.
    pub fn set(&self, name: &SetName) -> Option<&Set> {
        self.sets.iter().find(|s| &s.name == name)
    }

    /// The zones SMTP enforcement applies to: those listed, or every defined zone but wan.
    pub fn smtp_zones(&self) -> Vec<ZoneName> {
        match &self.smtp.zones {
            Some(zones) => zones.clone(),
            None => self
                .zones
                .defined()
                .map(|(n, _)| n)
                .filter(|n| *n != ZoneName::Wan)
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Doc {
        firewall: FirewallConfig,
    }

    #[test]
    fn empty_section_is_the_default() {
        let d: Doc = toml::from_str("[firewall]").unwrap();
        assert_eq!(d.firewall, FirewallConfig::default());
        let lan = d.firewall.zones.lan.settings(ZoneName::Lan);
        let wan = d.firewall.zones.wan.settings(ZoneName::Wan);
        assert_eq!((lan.input, lan.forward), (Policy::Accept, Policy::Accept));
        assert_eq!((wan.input, wan.forward), (Policy::Drop, Policy::Drop));
        assert!(wan.masquerade && !lan.masquerade);
        assert_eq!(d.firewall.anti_lockout.panel_ports, vec![443, 8443]);
        assert!(d.firewall.smtp.block_outbound);
    }

    #[test]
    fn unknown_keys_are_refused() {
        for text in [
            "[firewall]\nzonez = {}",
            "[firewall.zones.lan]\ninterfaces = [\"br0\"]\ninptu = \"drop\"",
            "[firewall.zones.office]\ninterfaces = [\"br0\"]",
            "[[firewall.rules]]\nname = \"x\"\naction = \"accept\"\nport = [22]",
            "[firewall.anti_lockout]\nenabled = false",
        ] {
            let err = toml::from_str::<Doc>(text).err();
            assert!(err.is_some(), "{text:?} was accepted");
        }
    }

    #[test]
    fn a_written_zone_keeps_its_kind_defaults() {
        let d: Doc = toml::from_str(
            "[firewall.zones.wan]\ninterfaces = [\"ppp0\"]\n[firewall.zones.guest]\ninterfaces = [\"wlan1\"]",
        )
        .unwrap();
        let wan = d.firewall.zones.wan.settings(ZoneName::Wan);
        assert_eq!(wan.input, Policy::Drop);
        assert!(wan.masquerade);
        assert_eq!(
            d.firewall.zones.lan,
            Zones::default().lan,
            "lan stays default"
        );
        assert_eq!(
            d.firewall.smtp_zones(),
            vec![ZoneName::Lan, ZoneName::Guest]
        );
    }

    #[test]
    fn set_elements_plain_or_timed() {
        let d: Doc = toml::from_str(
            r#"
[[firewall.sets]]
name = "blocklist"
family = "ipv4"
elements = ["203.0.113.0/24", { address = "198.51.100.9", timeout = "1h" }]
"#,
        )
        .unwrap();
        let s = &d.firewall.sets[0];
        assert!(s.interval && s.has_timeouts());
        assert_eq!(s.elements[1].timeout.map(|t| t.as_secs()), Some(3600));
        let json = serde_json::to_value(&d.firewall).unwrap();
        let back: FirewallConfig = serde_json::from_value(json).unwrap();
        assert_eq!(back, d.firewall, "serialises back to the same model");
        let err = toml::from_str::<Doc>(
            "[[firewall.sets]]\nname = \"b\"\nfamily = \"ipv4\"\nelements = [{ address = \"1.2.3.4\", ttl = \"1h\" }]",
        )
        .err()
        .unwrap()
        .to_string();
        assert!(err.contains("ttl"), "{err}");
    }
}
