//! Box-wide switches: SMTP enforcement, the admin panel's anti-lockout rule, and logging.

use serde::{Deserialize, Serialize};

use super::rule::RateUnit;
use super::values::PortRange;
use super::zone::ZoneName;

/// SMTP enforcement: no mail leaves the office without passing the relay (and its DLP).
///
/// Connections from internal zones to mail ports on the Internet are rejected with a TCP
/// reset, before any operator rule, so that a mail client fails at once instead of hanging.
/// The box's own relay sends from the box (the output path), which is not affected.
/// Optionally, port-25 connections to the Internet are redirected to the relay instead,
/// so that devices with a hard-wired mail server (multifunction printers) keep working.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SmtpEnforcement {
    /// Reject connections from internal zones to `blocked_ports` on the Internet (default
    /// yes; switching it off lets mail bypass DLP and is warned about).
    pub block_outbound: bool,
    /// The ports refused (default 25, 465 and 587: SMTP, SMTPS and submission).
    pub blocked_ports: Vec<PortRange>,
    /// The zones whose hosts are held to it; left out, every defined zone but `wan`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub zones: Option<Vec<ZoneName>>,
    /// Redirect port-25 connections to the Internet to the relay on the box (default no).
    pub redirect_to_relay: bool,
    /// The relay's port on the box, the target of the redirect (default 25).
    pub relay_port: u16,
}

impl Default for SmtpEnforcement {
    fn default() -> Self {
        Self {
            block_outbound: true,
            blocked_ports: vec![
                PortRange::single(25),
                PortRange::single(465),
                PortRange::single(587),
            ],
            zones: None,
            redirect_to_relay: false,
            relay_port: 25,
        }
    }
}

/// The anti-lockout rule: the admin panel stays reachable from the LAN whatever the rules
/// and the LAN input policy say. It is the first rule of the LAN input path, and switching
/// it off takes a switch whose name says what it risks (and a warning).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AntiLockout {
    /// The panel's TCP ports (default 443 and 8443).
    pub panel_ports: Vec<u16>,
    /// Leave the rule out (default no). Only for boxes managed from elsewhere; with a
    /// LAN input policy of drop or reject it locks the administrator out of the panel.
    pub disable_and_risk_lockout: bool,
}

impl Default for AntiLockout {
    fn default() -> Self {
        Self {
            panel_ports: vec![443, 8443],
            disable_and_risk_lockout: false,
        }
    }
}

/// A syslog level for firewall log lines.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogLevel {
    /// Error conditions.
    Err,
    /// Warnings.
    Warn,
    /// Normal but significant.
    Notice,
    /// Informational (default).
    #[default]
    Info,
    /// Debugging.
    Debug,
}

impl LogLevel {
    /// The nftables keyword.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Err => "err",
            Self::Warn => "warn",
            Self::Notice => "notice",
            Self::Info => "info",
            Self::Debug => "debug",
        }
    }
}

/// Logging of refused traffic. Every log line is rate-limited, so that a flood cannot fill
/// the box's flash with logs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Logging {
    /// Log traffic dropped or rejected by a zone policy, the SMTP block, or arriving on an
    /// interface in no zone (default yes), with prefixes such as `mamori drop lan-input: `.
    pub drops: bool,
    /// Log lines per unit, for each logging rule (default 10 a minute).
    pub rate: u32,
    /// The unit of `rate` (default minute).
    pub per: RateUnit,
    /// Lines allowed in a burst (default 5).
    pub burst: u32,
    /// The syslog level (default info).
    pub level: LogLevel,
}

impl Default for Logging {
    fn default() -> Self {
        Self {
            drops: true,
            rate: 10,
            per: RateUnit::Minute,
            burst: 5,
            level: LogLevel::Info,
        }
    }
}
