//! Mamori's firewall manager: a declarative model (zones, forwardings, rules, port
//! forwards, named sets, rate limits, SMTP enforcement, anti-lockout) turned into one
//! nftables table, `inet mamori`, which it owns and nothing else.
//!
//! This crate is the pure core (model, validation, IR, rendering, the confirm-or-revert
//! state machine, the device list) without I/O; the netlink apply and the ARP sweep are in
//! `mamori-firewall-linux`, the daemon in `mamori-firewalld`.
//!
//! The pipeline, after OpenWrt fw4 (render the whole table, replace it in one transaction):
//!
//! 1. [`model::FirewallConfig`]: the `[firewall]` section, parsed strictly;
//! 2. [`validate`]: the model as a whole, with errors naming key, item, value and reason;
//! 3. [`compile`]: validation, then the [`ir::Table`] (sets, chains, rules of typed
//!    expressions) that both back ends consume;
//! 4. [`render::render`]: the `nft -f` script; the netlink layer translates the same IR.
//!
//! IPv4 and IPv6 are handled alike in one `inet` table: a rule is rendered once per family
//! its addresses, sets and protocol allow (`ip` or `ip6` matches), or once for both when
//! nothing ties it to one. NAT is IPv4 only: masquerading and port-forward DNAT rewrite
//! IPv4, while an IPv6 port forward is a plain forward accept to the host's own address.

pub mod api;
mod build;
pub mod confirm;
pub mod discovery;
mod families;
pub mod ir;
pub mod model;
pub mod render;
pub mod validate;

pub use build::REJECT_CHAIN;
pub use model::FirewallConfig;
pub use validate::{Problem, ValidationError, Warning};

/// A validated model compiled to the IR.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Compiled {
    /// The table to apply.
    pub table: ir::Table,
    /// Risks the administrator should be told about (the model is applied anyway).
    pub warnings: Vec<Warning>,
}

/// Validates the model and builds its table; nothing is built from an invalid model.
pub fn compile(cfg: &FirewallConfig) -> Result<Compiled, ValidationError> {
    let warnings = validate::validate(cfg)?;
    Ok(Compiled {
        table: build::build(cfg),
        warnings,
    })
}
