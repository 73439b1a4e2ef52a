//! The two sections every daemon reads: `[general]` (where state lives, the box's name)
//! and `[log]`, with their checks.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::report::Report;
use crate::values::Domain;

/// Settings shared by every daemon.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct General {
    /// Where state lives: the spool, generated keys, the audit log.
    pub data_dir: PathBuf,
    /// Where the daemon's control socket is (`/run/mamori/<daemon>` on a box, set by its
    /// unit); the data directory when absent (the try-out, tests).
    pub run_dir: Option<PathBuf>,
    /// The box's own host name, used in SMTP greetings, `Received:` and outbound EHLO.
    pub hostname: String,
}

impl Default for General {
    fn default() -> Self {
        Self {
            data_dir: PathBuf::from("/var/lib/mamori"),
            run_dir: None,
            hostname: "mamori.localdomain".into(),
        }
    }
}

impl General {
    /// The directory of the daemons' control sockets.
    pub fn socket_dir(&self) -> &Path {
        self.run_dir.as_deref().unwrap_or(&self.data_dir)
    }
}

/// Where the installed units put the control sockets (one directory per daemon below).
pub const RUN_DIR: &str = "/run/mamori";

/// Logging settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Log {
    /// A `tracing` filter such as `info` or `info,mamori_smtp=debug`.
    pub level: String,
}

impl Default for Log {
    fn default() -> Self {
        Self {
            level: "info".into(),
        }
    }
}

/// Checks `[general]` and `[log]`, recording every error.
pub fn check(general: &General, log: &Log, r: &mut Report) {
    if general.hostname.is_empty() || general.hostname.parse::<Domain>().is_err() {
        r.error(
            "general.hostname",
            format!("{:?}", general.hostname),
            "must be a fully qualified host name such as mamori.example.jp",
        );
    }
    if let Some(dir) = &general.run_dir
        && !dir.is_absolute()
    {
        r.error(
            "general.run_dir",
            dir.display(),
            "must be an absolute path such as /run/mamori",
        );
    }
    if crate::logging::parse_filter(&log.level).is_err() {
        r.error(
            "log.level",
            format!("{:?}", log.level),
            "must be a level (error, warn, info, debug, trace) or a tracing filter",
        );
    }
}
