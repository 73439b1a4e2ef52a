//! The firewall daemon's control API: the requests its control socket takes (one JSON object
//! per line, tagged by `op`). Pure data, so that clients (the CLI, the panel) use it without
//! linking the Linux netlink code.

use mamori_core::control::Request;
use mamori_core::identity::Right;
use serde::{Deserialize, Serialize};

/// A request to the firewall daemon.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum FwRequest {
    /// Apply a model on probation: it is reverted unless confirmed within the timeout.
    Apply {
        /// The model (the `[firewall]` section).
        model: Box<crate::FirewallConfig>,
        /// Seconds to confirm (default 60).
        #[serde(default)]
        timeout_secs: Option<u64>,
    },
    /// Put the firewall section of a settings version (the current one when absent) in
    /// force on probation: it is reverted (and the revert recorded as a new settings
    /// version) unless confirmed within the timeout. Unchanged models are only noted.
    ApplySettings {
        /// The settings version.
        #[serde(default)]
        version: Option<u64>,
        /// Seconds to confirm (default 60).
        #[serde(default)]
        timeout_secs: Option<u64>,
    },
    /// Keep the model on probation.
    Confirm {
        /// The apply being confirmed (any, when absent).
        #[serde(default)]
        serial: Option<u64>,
    },
    /// Put the confirmed model back now.
    Rollback,
    /// The models, the probation and the counters of every rule.
    Status,
    /// Replace, add or remove elements of a named set without touching the rules.
    SetElements {
        /// The set's name.
        set: String,
        /// Elements to add (addresses, networks or ranges, with an optional timeout, as in
        /// the model).
        #[serde(default)]
        add: Vec<crate::model::SetElement>,
        /// Elements to remove.
        #[serde(default)]
        remove: Vec<crate::model::SetElement>,
    },
    /// The LAN devices the periodic ARP sweep found: IP, MAC, vendor, first and last seen.
    Devices,
    /// State (`degraded` while the fail-safe table is in force), version, last error.
    Health,
}

impl Request for FwRequest {
    fn right(&self) -> Right {
        match self {
            Self::Status | Self::Devices | Self::Health => Right::Read,
            Self::Apply { .. }
            | Self::ApplySettings { .. }
            | Self::Confirm { .. }
            | Self::Rollback
            | Self::SetElements { .. } => Right::Admin,
        }
    }

    fn op(&self) -> &'static str {
        match self {
            Self::Apply { .. } => "apply",
            Self::ApplySettings { .. } => "apply_settings",
            Self::Confirm { .. } => "confirm",
            Self::Rollback => "rollback",
            Self::Status => "status",
            Self::SetElements { .. } => "set_elements",
            Self::Devices => "devices",
            Self::Health => "health",
        }
    }
}

/// Longest request line the firewall daemon reads (a model with large sets is big).
pub const MAX_FW_REQUEST_LINE: usize = 16 << 20;
