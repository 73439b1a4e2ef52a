//! Where the firewall's tables go and the LAN sweeps are sent: the kernel over netlink in
//! the daemon, a recorder in tests.

use mamori_firewall::discovery::SweepReport;
use mamori_firewall::model::SetElement;

use crate::BackendError;

/// Where the firewall's tables go and the LAN sweeps are sent: the kernel in the daemon,
/// something else in tests.
pub trait Backend: Send + Sync + 'static {
    /// Replaces the whole table with the one compiled from `table`, atomically.
    fn apply(&self, table: &mamori_firewall::ir::Table) -> Result<(), BackendError>;
    /// The counters of every rule, as JSON for the status report.
    fn counters(&self) -> Result<serde_json::Value, BackendError>;
    /// Adds and removes elements of a named set of the running table.
    fn update_set(
        &self,
        set: &mamori_firewall::ir::Set,
        add: &[SetElement],
        remove: &[SetElement],
    ) -> Result<(), BackendError>;
    /// Sweeps an interface's subnet with ARP requests (blocking for a few seconds).
    fn arp_sweep(&self, interface: &str) -> Result<SweepReport, BackendError>;
}

/// The kernel, over netlink, in the daemon's network namespace.
pub struct Netlink;

impl Backend for Netlink {
    fn apply(&self, table: &mamori_firewall::ir::Table) -> Result<(), BackendError> {
        let report = mamori_firewall_linux::netlink::apply(table)?;
        tracing::info!(
            messages = report.messages,
            bytes = report.bytes,
            "table inet mamori replaced"
        );
        Ok(())
    }

    fn counters(&self) -> Result<serde_json::Value, BackendError> {
        let rules = mamori_firewall_linux::netlink::rule_counters()?;
        Ok(rules
            .into_iter()
            .map(|r| {
                serde_json::json!({
                    "chain": r.chain,
                    "handle": r.handle,
                    "comment": r.comment,
                    "packets": r.packets,
                    "bytes": r.bytes,
                })
            })
            .collect())
    }

    fn update_set(
        &self,
        set: &mamori_firewall::ir::Set,
        add: &[SetElement],
        remove: &[SetElement],
    ) -> Result<(), BackendError> {
        Ok(mamori_firewall_linux::netlink::update_set(
            set, add, remove,
        )?)
    }

    fn arp_sweep(&self, interface: &str) -> Result<SweepReport, BackendError> {
        let options = mamori_firewall_linux::discovery::SweepOptions::new(interface);
        Ok(mamori_firewall_linux::discovery::sweep(&options)?)
    }
}
