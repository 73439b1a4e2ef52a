//! Mamori's shared core: the typed configuration model every daemon loads, the
//! control-socket protocol the daemons and the `mamori` CLI speak, and logging setup.
//!
//! Everything here is plain data and pure functions except [`logging::init`] and
//! [`config::load`], which touch the environment and the file system at the edge.

pub mod audit;
pub mod clock;
pub mod config;
pub mod control;
pub mod logging;
pub mod notify;
pub mod report;

pub use config::{Config, ConfigError};
pub use report::{Issue, Report};
