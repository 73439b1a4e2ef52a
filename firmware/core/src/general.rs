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
    /// Where link mode's sealed attachments are: shared by the relay (which writes them)
    /// and the download service (`/var/lib/mamori/links` on a box, set by both units);
    /// `<data_dir>/links` when absent (the try-out, tests).
    pub links_dir: Option<PathBuf>,
    /// The box's own host name, used in SMTP greetings, `Received:` and outbound EHLO.
    pub hostname: String,
    /// How long each daemon's audit records are kept: older ones are erased within a day,
    /// the erasure itself recorded (`0s`: no age limit, only `audit_max_mib`). Default 400
    /// days, so a yearly audit sees a whole year.
    #[serde(with = "humantime_serde")]
    pub audit_retention: std::time::Duration,
    /// The most space each daemon's audit chain may take (MiB); past it the oldest records
    /// go first, their erasure recorded.
    pub audit_max_mib: u64,
}

/// The shortest audit retention allowed (besides `0s`): a month, so that records are there
/// when a held mail or a change is looked into.
pub const MIN_AUDIT_RETENTION_DAYS: u64 = 30;

impl Default for General {
    fn default() -> Self {
        Self {
            data_dir: PathBuf::from("/var/lib/mamori"),
            run_dir: None,
            links_dir: None,
            hostname: "mamori.localdomain".into(),
            audit_retention: std::time::Duration::from_secs(400 * 86_400),
            audit_max_mib: 256,
        }
    }
}

impl General {
    /// The directory of the daemons' control sockets.
    pub fn socket_dir(&self) -> &Path {
        self.run_dir.as_deref().unwrap_or(&self.data_dir)
    }

    /// The directory of link mode's store.
    pub fn links_dir(&self) -> PathBuf {
        self.links_dir
            .clone()
            .unwrap_or_else(|| self.data_dir.join("links"))
    }

    /// What each daemon keeps of its audit chain.
    pub fn audit_retention(&self) -> crate::audit::Retention {
        crate::audit::Retention {
            max_age_secs: self.audit_retention.as_secs(),
            max_bytes: self.audit_max_mib.saturating_mul(1 << 20),
        }
    }

    /// Puts the audit retention in force on a daemon's `log` (at start and with each new
    /// settings version); a failure to erase is logged, and the records stay.
    pub fn apply_audit_retention(&self, log: &crate::audit::AuditLog) {
        if let Err(e) = log.set_retention(self.audit_retention()) {
            tracing::error!(error = %e, "the audit retention could not be applied");
        }
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
    let days = general.audit_retention.as_secs() / 86_400;
    if general.audit_retention.as_secs() != 0 && !(MIN_AUDIT_RETENTION_DAYS..=3650).contains(&days)
    {
        r.error(
            "general.audit_retention",
            humantime::format_duration(general.audit_retention),
            format!("must be 0s (no age limit) or {MIN_AUDIT_RETENTION_DAYS} to 3650 days (such as \"400days\"): audit records are what an audit asks for"),
        );
    }
    if !(16..=65_536).contains(&general.audit_max_mib) {
        r.error(
            "general.audit_max_mib",
            general.audit_max_mib,
            "must be 16 to 65536 MiB for each daemon's audit chain",
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
