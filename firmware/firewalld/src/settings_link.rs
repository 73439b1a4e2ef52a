//! The firewall's part of the settings service. The model is a section of the box's
//! settings: firewalld reads the version in force at start and when told to apply one, puts
//! a changed model on probation (confirm-or-revert), and when a change is reverted (not
//! confirmed in time, rolled back, or a restart before confirmation) writes a new settings
//! version that says so, so that the settings never claim a model the box is not running.

use mamori_firewall::FirewallConfig;

/// Reads a settings version's firewall section: the version number and the model.
pub type LoadModel = dyn Fn(Option<u64>) -> Result<(u64, FirewallConfig), String> + Send + Sync;

/// Writes a new settings version whose firewall section is the model, saying why; returns
/// its number.
pub type WriteRevert = dyn Fn(&FirewallConfig, &str) -> Result<u64, String> + Send + Sync;

/// How firewalld reaches the settings service (given by whoever starts it; the daemon's
/// crate does not know the store).
pub struct SettingsLink {
    /// Reads a version (the current one when `None`).
    pub load: Box<LoadModel>,
    /// Records a revert as a new version.
    pub revert: Box<WriteRevert>,
}
