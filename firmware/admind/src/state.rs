//! The panel's state: its users (kept in a file of its own, mode 0600), the sessions, the
//! login and setup-code throttles, the first-boot setup (its one-time code and the
//! wizard's drafts), the certificate it serves, where the daemons' sockets are, and its
//! audit chain, written before every change it makes itself.

use std::collections::HashMap;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, RwLock};

use mamori_core::audit::AuditLog;
use mamori_panel::session::Sessions;
use mamori_panel::throttle::LoginThrottle;
use mamori_panel::users::Users;
use mamori_panel::wizard::Draft;

use crate::tls::PanelCert;

/// The largest users file read.
const MAX_USERS_FILE: u64 = 1 << 20;

/// Where the daemons' control sockets are.
#[derive(Debug, Clone)]
pub struct Sockets {
    /// The settings service.
    pub settings: PathBuf,
    /// The relay.
    pub smtpd: PathBuf,
    /// The firewall.
    pub firewalld: PathBuf,
    /// The update daemon.
    pub updated: PathBuf,
}

/// The first-boot setup, while no administrator exists (and the wizard after it).
#[derive(Debug, Default)]
pub struct Setup {
    /// The one-time code; `None` once the administrator exists.
    pub code: Option<String>,
    /// The drafts of the wizard, by panel user.
    pub drafts: HashMap<String, Draft>,
    /// Whether the route in the draft passed its live test, by user.
    pub route_tested: HashMap<String, bool>,
    /// The files the code was written to, removed once it is used.
    pub code_files: Vec<PathBuf>,
}

/// Why the state could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    /// A file.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// The users file is not what the panel writes.
    #[error("{path}: not a users file: {reason}")]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// The audit record could not be written: the change is refused.
    #[error("refused: the audit log cannot be written ({0})")]
    Audit(#[from] mamori_core::audit::AuditError),
}

/// Everything the handlers share.
pub struct Panel {
    /// Logged-in sessions.
    pub sessions: Mutex<Sessions>,
    /// Login throttling.
    pub throttle: Mutex<LoginThrottle>,
    /// Setup-code throttling (the account is always "setup").
    pub code_throttle: Mutex<LoginThrottle>,
    /// Hold-link throttling: links that open nothing, per source (the "account" is the
    /// queue ID), so that guessing tokens costs time and fills no log.
    pub hold_throttle: Mutex<LoginThrottle>,
    /// The users.
    pub users: Mutex<Users>,
    users_file: PathBuf,
    /// The first-boot setup.
    pub setup: Mutex<Setup>,
    /// The certificate served.
    pub cert: RwLock<PanelCert>,
    /// The daemons' sockets.
    pub sockets: Sockets,
    /// The panel's audit chain.
    pub audit: Arc<AuditLog>,
    /// The box's host name (for the password policy and the certificate).
    pub hostname: String,
    /// The HTTPS port (for redirects and the Origin check).
    pub https_port: u16,
    /// The daemons' last answers for the dashboard, and when they came: many open tabs
    /// ask the daemons at most once a second between them.
    pub dashboard_cache: Mutex<Option<(std::time::Instant, Arc<DashboardData>)>>,
    /// The panel's own `[admin]` section in force: read at start, then from each new
    /// settings version ([`crate::follow`]); what can change live is read from here.
    pub admin: RwLock<mamori_panel::settings::Admin>,
    /// The TLS configuration the listener serves, swapped when a certificate is uploaded.
    pub live_tls: std::sync::OnceLock<crate::server::LiveTls>,
    /// The panel's TLS directory (self-signed and uploaded pairs).
    pub tls_dir: PathBuf,
    /// Where an uploaded offline update file is written for the update daemon
    /// (`<data_dir>/update-uploads`).
    pub update_uploads: PathBuf,
    /// The certificate is the configuration's (`admin.cert_file`): not replaced by uploads.
    pub cert_from_config: bool,
    /// The last monthly report's counts (month, when, the relay's, the panel's): reports
    /// are counted one at a time and reused for a minute, however many people open them.
    pub report_cache: tokio::sync::Mutex<ReportCache>,
    /// The download service's instance-id file, for link mode's self-test (`None`: the
    /// test cannot tell this box's service from another's, and says so).
    pub link_instance: Option<PathBuf>,
}

/// See [`Panel::report_cache`].
pub type ReportCache = Option<(
    (i64, u32),
    std::time::Instant,
    serde_json::Value,
    std::collections::BTreeMap<String, u64>,
)>;

/// What the dashboard shows of the daemons: each one's `health` answer (or why there was
/// none) in the order settingsd, smtpd, firewalld, and the queue's length.
#[derive(Debug, Default)]
pub struct DashboardData {
    /// The health answers.
    pub health: Vec<Result<serde_json::Value, String>>,
    /// Messages in the queue (`None`: the relay did not answer).
    pub queued: Option<usize>,
    /// The charts, drawn once per refresh in each language (Japanese, English).
    pub charts: [DashboardCharts; 2],
    /// The firewall's busiest rules (name, packets), and whether a change awaits
    /// confirmation.
    pub firewall_rules: Vec<(String, u64)>,
    /// See `firewall_rules`.
    pub firewall_pending: bool,
    /// The page's content drawn from these answers, once a refresh for each language and
    /// kind of reader (Japanese, English; auditor, administrator): every request in
    /// between only frames it with the reader's own header.
    pub bodies: [std::sync::OnceLock<Arc<str>>; 4],
}

/// The dashboard's charts in one language: drawn once a refresh, not once a request.
#[derive(Debug, Default)]
pub struct DashboardCharts {
    /// The last 24 hours (SVG), when the relay answered.
    pub hours: Option<String>,
    /// The last 30 days (SVG).
    pub days: Option<String>,
    /// Findings in the last 24 hours and 30 days.
    pub findings: Option<(u64, u64)>,
}

/// Locks a mutex, taking over a poisoned one (a panicked handler must not stop the panel).
pub fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Panel {
    /// How long a firewall change stays on probation unless confirmed (seconds):
    /// `admin.firewall_confirm_secs` in force.
    pub fn confirm_secs(&self) -> u64 {
        self.admin_in_force().firewall_confirm_secs
    }

    /// The journal directory the log page reads (`None`: the system journal).
    pub fn journal_dir(&self) -> Option<PathBuf> {
        self.admin_in_force().journal_dir.clone()
    }

    /// How often the watchdog looks at the box.
    pub fn watchdog_every(&self) -> std::time::Duration {
        std::time::Duration::from_secs(self.admin_in_force().watchdog_secs.max(1))
    }

    /// The `[admin]` section in force.
    pub fn admin_in_force(&self) -> std::sync::RwLockReadGuard<'_, mamori_panel::settings::Admin> {
        self.admin
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The panel's state in `dir` (the users file), with the daemons' `sockets`.
    pub fn open(
        dir: &Path,
        cert: PanelCert,
        sockets: Sockets,
        audit: Arc<AuditLog>,
        hostname: String,
        https_port: u16,
    ) -> Result<Self, StateError> {
        let users_file = users_file(dir);
        let users = read_users(&users_file)?;
        Ok(Self {
            sessions: Mutex::default(),
            throttle: Mutex::default(),
            code_throttle: Mutex::default(),
            hold_throttle: Mutex::default(),
            users: Mutex::new(users),
            users_file,
            setup: Mutex::default(),
            cert: RwLock::new(cert),
            sockets,
            audit,
            hostname,
            https_port,
            dashboard_cache: Mutex::default(),
            admin: RwLock::default(),
            live_tls: std::sync::OnceLock::new(),
            tls_dir: dir.join("tls"),
            update_uploads: dir.parent().unwrap_or(dir).join("update-uploads"),
            cert_from_config: false,
            report_cache: tokio::sync::Mutex::new(None),
            link_instance: None,
        })
    }

    /// Whether the box still waits for its first administrator. Until one exists the
    /// users file is read again each time, so that an administrator made on the console
    /// (`mamori setup`) ends the wait at once; the panel records that it took it.
    pub fn needs_setup(&self) -> bool {
        let mut users = lock(&self.users);
        if users.has_administrator() {
            return false;
        }
        match read_users(&self.users_file) {
            Ok(on_disk) if on_disk.has_administrator() => {
                let names: Vec<&str> = on_disk.users.iter().map(|u| u.name.as_str()).collect();
                self.audit.record_or_log(
                    "panel_administrator_from_console",
                    serde_json::json!({"users": names}),
                );
                tracing::info!(users = ?names, "an administrator made on the console ends the setup wait");
                *users = on_disk;
                false
            }
            _ => true,
        }
    }

    /// Changes the users with `edit`, records `event` in the audit log first, then writes
    /// the file; nothing changes when either fails.
    pub fn change_users<T, E>(
        &self,
        event: &str,
        fields: serde_json::Value,
        edit: impl FnOnce(&mut Users) -> Result<T, E>,
    ) -> Result<Result<T, E>, StateError> {
        let mut users = lock(&self.users);
        let mut next = users.clone();
        let out = match edit(&mut next) {
            Ok(v) => v,
            Err(e) => return Ok(Err(e)),
        };
        self.audit.record(event, fields)?;
        write_users(&self.users_file, &next)?;
        *users = next;
        Ok(Ok(out))
    }

    /// Records an action of a person in the panel's audit chain (who, what, from where);
    /// refused when the record cannot be written.
    pub fn audit(
        &self,
        event: &str,
        user: &str,
        source: IpAddr,
        mut fields: serde_json::Value,
    ) -> Result<(), StateError> {
        if let Some(map) = fields.as_object_mut() {
            map.insert("by".into(), user.into());
            map.insert("source".into(), source.to_string().into());
        }
        self.audit.record(event, fields)?;
        Ok(())
    }
}

/// The users file in the panel's state directory `dir`.
pub fn users_file(dir: &Path) -> PathBuf {
    dir.join("users.json")
}

/// Whether the panel whose state is in `dir` has an administrator (`mamori setup` asks).
pub fn has_administrator(dir: &Path) -> Result<Option<String>, StateError> {
    Ok(read_users(&users_file(dir))?
        .users
        .into_iter()
        .find(|u| u.role == mamori_panel::users::Role::Administrator)
        .map(|u| u.name))
}

/// Adds the first administrator from the console (`mamori setup`, run by root on the box)
/// to the users file of the panel whose state is in `dir`, owned like `dir` so that the
/// panel can read it; the panel takes it at its next request. Refused once an
/// administrator exists (then the panel's users page is the place).
pub fn add_console_administrator(
    dir: &Path,
    name: &str,
    password: &str,
    lang: mamori_panel::i18n::Lang,
) -> Result<Result<(), mamori_panel::users::UserError>, StateError> {
    use std::os::unix::fs::MetadataExt;
    let path = users_file(dir);
    let mut users = read_users(&path)?;
    if users.has_administrator() {
        return Ok(Err(mamori_panel::users::UserError::Exists));
    }
    if let Err(e) = users.add(
        name,
        mamori_panel::users::Role::Administrator,
        password,
        lang,
        &[],
    ) {
        return Ok(Err(e));
    }
    let io = |source| StateError::Io {
        path: path.clone(),
        source,
    };
    let owner = std::fs::metadata(dir).map_err(io)?;
    write_users(&path, &users)?;
    std::os::unix::fs::chown(&path, Some(owner.uid()), Some(owner.gid())).map_err(io)?;
    Ok(Ok(()))
}

fn read_users(path: &Path) -> Result<Users, StateError> {
    use std::io::Read;
    let file = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Users::default()),
        Err(source) => {
            return Err(StateError::Io {
                path: path.to_path_buf(),
                source,
            });
        }
    };
    let mut text = String::new();
    file.take(MAX_USERS_FILE)
        .read_to_string(&mut text)
        .map_err(|source| StateError::Io {
            path: path.to_path_buf(),
            source,
        })?;
    serde_json::from_str(&text).map_err(|e| StateError::Corrupt {
        path: path.to_path_buf(),
        reason: e.to_string(),
    })
}

fn write_users(path: &Path, users: &Users) -> Result<(), StateError> {
    let bytes = serde_json::to_vec_pretty(users).unwrap_or_default();
    crate::tls::write_private(path, &bytes).map_err(|source| StateError::Io {
        path: path.to_path_buf(),
        source,
    })
}
