//! Mamori's shared core, a leaf that depends on no domain crate: the value types every
//! section of the settings uses, the keyed error/warning report, reading layered settings,
//! the box-wide `[general]` and `[log]` sections, the audit log, the clock, control-socket
//! framing, readiness notification and logging setup.
//!
//! Everything here is plain data and pure functions except [`logging::init`],
//! [`load::Layers::read`], the audit log's files and the control socket's loop, which touch
//! the environment, the file system and sockets at the edge.

pub mod audit;
pub mod clock;
pub mod control;
pub mod fsutil;
pub mod general;
pub mod identity;
pub mod listen;
pub mod load;
pub mod logging;
pub mod notify;
pub mod password;
pub mod password_hash;
pub mod report;
pub mod resident;
pub mod time;
pub mod tree;
pub mod values;

pub use report::{Issue, Report};
