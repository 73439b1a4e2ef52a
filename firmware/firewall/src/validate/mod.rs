//! Whole-model validation: everything a single value cannot say about itself (zones that
//! exist, families that fit, port forwards that do not collide). Nothing is rendered, let
//! alone applied, from a model with an error.
//!
//! Every item is checked, in document order; [`validate`] returns the first error, and
//! [`check`] all of them for the panel to list.

mod error;
mod port_forwards;
mod rules;
mod sets;
#[cfg(test)]
mod tests;

use std::fmt::Display;

pub use error::{Problem, ValidationError, Warning};

use crate::model::{FirewallConfig, Policy, PortRange, ZoneName};

/// The key of the section the model is parsed from.
pub const SECTION: &str = "firewall";

/// Everything validation found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    /// Errors, in document order; the model is refused if there is any.
    pub errors: Vec<ValidationError>,
    /// Risks the administrator should know about.
    pub warnings: Vec<Warning>,
}

/// Validates the model: the warnings if it is valid, else the first error.
pub fn validate(cfg: &FirewallConfig) -> Result<Vec<Warning>, ValidationError> {
    let report = check(cfg);
    match report.errors.into_iter().next() {
        Some(e) => Err(e),
        None => Ok(report.warnings),
    }
}

/// Validates the model and reports every error and warning.
pub fn check(cfg: &FirewallConfig) -> Report {
    let mut c = Checker {
        cfg,
        report: Report::default(),
    };
    c.zones();
    c.forwardings();
    sets::check(&mut c);
    rules::check(&mut c);
    port_forwards::check(&mut c);
    c.smtp();
    c.anti_lockout();
    c.logging();
    c.report
}

/// Records every error and warning of the model in the settings' keyed report, each error
/// under its key path (`firewall.zones[1].interfaces`).
pub fn check_into(cfg: &FirewallConfig, r: &mut mamori_core::Report) {
    let found = check(cfg);
    for e in found.errors {
        let reason = match &e.item {
            Some(item) => format!("{} (in {item:?})", e.reason()),
            None => e.reason(),
        };
        r.error(e.key(), &e.value, reason);
    }
    for w in found.warnings {
        r.warn(SECTION, "(the model)", w.to_string());
    }
}

/// Collects findings while the checks walk the model.
pub(crate) struct Checker<'a> {
    pub(crate) cfg: &'a FirewallConfig,
    report: Report,
}

/// Where a finding is: an item's path and name.
#[derive(Clone)]
pub(crate) struct At {
    path: String,
    item: Option<String>,
}

impl At {
    /// An item without a name.
    pub(crate) fn path(path: impl Into<String>) -> Self {
        Self {
            path: path.into(),
            item: None,
        }
    }

    /// A named item.
    pub(crate) fn named(path: impl Into<String>, name: impl Display) -> Self {
        Self {
            path: path.into(),
            item: Some(name.to_string()),
        }
    }
}

impl Checker<'_> {
    /// Records an error in `field` of the item at `at`.
    pub(crate) fn error(
        &mut self,
        at: &At,
        field: Option<&str>,
        value: impl Display,
        problem: Problem,
    ) {
        self.report.errors.push(ValidationError {
            path: at.path.clone(),
            item: at.item.clone(),
            field: field.map(str::to_string),
            value: value.to_string(),
            problem: Box::new(problem),
        });
    }

    /// Records a warning.
    pub(crate) fn warn(&mut self, w: Warning) {
        self.report.warnings.push(w);
    }

    /// Checks that a zone referred to in `field` is defined.
    pub(crate) fn zone_defined(&mut self, at: &At, field: &str, zone: ZoneName) {
        if self.cfg.zones.get(zone).is_none() {
            self.error(
                at,
                Some(field),
                format!("{:?}", zone.as_str()),
                Problem::UndefinedZone(zone.as_str().into()),
            );
        }
    }

    /// Checks port ranges: not reversed, no port 0.
    pub(crate) fn ports(&mut self, at: &At, field: &str, ports: &[PortRange]) {
        for (i, p) in ports.iter().enumerate() {
            let f = format!("{field}[{i}]");
            if p.first > p.last {
                let problem = Problem::ReversedPortRange {
                    first: p.first,
                    last: p.last,
                };
                self.error(at, Some(&f), format!("\"{}-{}\"", p.first, p.last), problem);
            } else if p.first == 0 {
                self.error(at, Some(&f), format!("\"{p}\""), Problem::PortZero);
            }
        }
    }

    fn zones(&mut self) {
        let zones: Vec<_> = self.cfg.zones.defined().collect();
        for (i, (name, zone)) in zones.iter().enumerate() {
            let at = At::path(format!("{SECTION}.zones.{name}"));
            if zone.interfaces.is_empty() {
                self.error(&at, Some("interfaces"), "[]", Problem::NoInterfaces);
            }
            for (j, iface) in zone.interfaces.iter().enumerate() {
                let clash = zones.iter().take(i).find_map(|(other_name, other)| {
                    other
                        .interfaces
                        .iter()
                        .find(|o| o.overlaps(iface))
                        .map(|o| (*other_name, o.to_string()))
                });
                let twice = zone.interfaces.iter().take(j).any(|o| o.overlaps(iface));
                if let Some((other_zone, other)) = clash {
                    self.error(
                        &at,
                        Some(&format!("interfaces[{j}]")),
                        format!("{:?}", iface.as_str()),
                        Problem::InterfaceInTwoZones {
                            zone: other_zone,
                            other,
                        },
                    );
                } else if twice {
                    self.error(
                        &at,
                        Some(&format!("interfaces[{j}]")),
                        format!("{:?}", iface.as_str()),
                        Problem::InterfaceInTwoZones {
                            zone: *name,
                            other: iface.to_string(),
                        },
                    );
                }
            }
        }
    }

    fn forwardings(&mut self) {
        let cfg = self.cfg;
        for (i, f) in cfg.forwardings.iter().enumerate() {
            let at = At::path(format!("{SECTION}.forwardings[{i}]"));
            self.zone_defined(&at, "from", f.from);
            self.zone_defined(&at, "to", f.to);
            let value = format!("{} -> {}", f.from, f.to);
            if f.from == f.to {
                self.error(&at, None, &value, Problem::ForwardingToItself);
            } else if let Some(first) = cfg.forwardings.iter().position(|o| o == f)
                && first < i
            {
                self.error(&at, None, &value, Problem::DuplicateForwarding(first));
            }
            if f.from == ZoneName::Wan && f.from != f.to {
                self.warn(Warning::ForwardingFromWan { index: i, to: f.to });
            }
        }
        for (name, zone) in cfg.zones.defined() {
            let reaches_wan = cfg
                .forwardings
                .iter()
                .any(|f| f.from == name && f.to == ZoneName::Wan);
            if name != ZoneName::Wan
                && !reaches_wan
                && zone.settings(name).forward != Policy::Accept
            {
                self.warn(Warning::NoInternet(name));
            }
        }
    }

    fn smtp(&mut self) {
        let s = &self.cfg.smtp;
        let at = At::path(format!("{SECTION}.smtp"));
        if !s.block_outbound {
            self.warn(Warning::SmtpNotEnforced);
        } else if s.blocked_ports.is_empty() {
            self.error(
                &at,
                Some("blocked_ports"),
                "[]",
                Problem::EmptyList("list the mail ports to block, or set block_outbound = false"),
            );
        }
        self.ports(&at, "blocked_ports", &s.blocked_ports);
        if let Some(zones) = &s.zones {
            for (i, z) in zones.iter().enumerate() {
                let field = format!("zones[{i}]");
                self.zone_defined(&at, &field, *z);
                if *z == ZoneName::Wan {
                    self.error(&at, Some(&field), "\"wan\"", Problem::SmtpZoneWan);
                }
            }
        }
        if s.relay_port == 0 {
            self.error(&at, Some("relay_port"), 0, Problem::PortZero);
        }
    }

    fn anti_lockout(&mut self) {
        let a = &self.cfg.anti_lockout;
        let at = At::path(format!("{SECTION}.anti_lockout"));
        if a.disable_and_risk_lockout {
            self.warn(Warning::AntiLockoutDisabled);
            return;
        }
        if a.panel_ports.is_empty() {
            self.error(
                &at,
                Some("panel_ports"),
                "[]",
                Problem::EmptyList(
                    "list the panel's ports; to leave the rule out, set disable_and_risk_lockout = true",
                ),
            );
        }
        for (i, p) in a.panel_ports.iter().enumerate() {
            if *p == 0 {
                self.error(
                    &at,
                    Some(&format!("panel_ports[{i}]")),
                    0,
                    Problem::PortZero,
                );
            }
        }
    }

    fn logging(&mut self) {
        let l = &self.cfg.logging;
        let at = At::path(format!("{SECTION}.logging"));
        if l.rate == 0 {
            self.error(&at, Some("rate"), 0, Problem::ZeroRate);
        }
        if l.burst == 0 {
            self.error(&at, Some("burst"), 0, Problem::ZeroRate);
        }
    }
}
