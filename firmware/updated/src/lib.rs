//! `mamori updated`: the box's firmware updates (issue: remote firmware updates).
//!
//! At start it looks at the slot that booted and the update state (a trial to judge, a
//! rollback to report, an install that was cut off), then runs the health gate; it checks
//! the repository on a schedule with jitter (TUF over HTTPS), offers or — in `auto` mode,
//! inside the maintenance window — installs what this box may install, and answers the panel
//! and `mamori update` over its control socket. Every install, verdict and rollback is in the
//! audit log before it takes effect.

pub mod fetch;
pub mod platform;
pub mod status;
mod work;

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use mamori_core::audit::AuditLog;
use mamori_core::control::{ControlError, ErrorKind, Health, Response, ServeOptions};
use mamori_core::identity::{Caller, Right};
use mamori_update::config::UpdateConfig;
use mamori_update::install::Phase;
use serde::Deserialize;

pub use work::Daemon;

/// The control socket's file name in the socket directory.
pub const SOCKET_NAME: &str = "updated.sock";

/// Where the control socket is in `dir`.
pub fn socket_path(dir: &std::path::Path) -> PathBuf {
    dir.join(SOCKET_NAME)
}

/// What the daemon is started with.
pub struct Options {
    /// The `[update]` section.
    pub config: UpdateConfig,
    /// The update's own directory on the data partition (state, metadata, uploads).
    pub dir: PathBuf,
    /// Where to bind the control socket.
    pub socket: PathBuf,
    /// The daemons whose `health` answer the gate asks, with their sockets.
    pub health_sockets: Vec<(String, PathBuf)>,
    /// The system.
    pub platform: Arc<dyn platform::Platform>,
    /// The audit log.
    pub audit: Arc<AuditLog>,
    /// Tests only (honoured only with `[update] simulate`): stop, and wait to be killed,
    /// after this install step.
    pub test_stop_after: Option<Phase>,
    /// Reads the `[update]` section of a settings version (the newest when `None`), for
    /// `apply_settings`; `None` when the daemon runs on its configuration file alone.
    pub reload: Option<Reload>,
}

/// How the daemon reads a settings version's `[update]` section: its number and the section.
pub type Reload = Box<dyn Fn(Option<u64>) -> Result<(u64, UpdateConfig), String> + Send + Sync>;

/// The requests of the update daemon's control socket.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case", deny_unknown_fields)]
pub enum UpdateRequest {
    /// Running, and since when.
    Health,
    /// The whole status.
    Status,
    /// Check the repository now.
    Check,
    /// Install the update on offer (or the named target), then restart when `reboot`.
    Install {
        /// A target name; the offered one when absent.
        #[serde(default)]
        target: Option<String>,
        /// Restart into the new firmware when installed.
        #[serde(default)]
        reboot: bool,
        /// Answer when the install has ended (the CLI); otherwise answer at once and report
        /// progress in `status` (the panel).
        #[serde(default)]
        wait: bool,
    },
    /// Install from an offline update file on the box (uploaded in the panel).
    InstallFile {
        /// The file.
        path: PathBuf,
        /// Accept its metadata although expired (an administrator's audited decision;
        /// signatures, versions and the board are still checked).
        #[serde(default)]
        accept_expired: bool,
        /// Restart into the new firmware when installed.
        #[serde(default)]
        reboot: bool,
        /// Answer when the install has ended (the CLI); otherwise answer at once and report
        /// progress in `status` (the panel).
        #[serde(default)]
        wait: bool,
        /// Remove the file once the attempt is over (an upload of the panel's).
        #[serde(default)]
        remove_after: bool,
    },
    /// Restart into the installed firmware now.
    Reboot,
    /// Put settings version `version` (the newest when absent) in force.
    ApplySettings {
        /// The version.
        #[serde(default)]
        version: Option<u64>,
    },
}

impl mamori_core::control::Request for UpdateRequest {
    fn right(&self) -> Right {
        match self {
            UpdateRequest::Health | UpdateRequest::Status => Right::Read,
            _ => Right::Admin,
        }
    }

    fn op(&self) -> &'static str {
        match self {
            UpdateRequest::Health => "health",
            UpdateRequest::Status => "status",
            UpdateRequest::Check => "check",
            UpdateRequest::Install { .. } => "install",
            UpdateRequest::InstallFile { .. } => "install_file",
            UpdateRequest::Reboot => "reboot",
            UpdateRequest::ApplySettings { .. } => "apply_settings",
        }
    }
}

/// A refusal of a control request.
#[derive(Debug, Clone)]
pub struct Refused {
    /// Its kind.
    pub kind: ErrorKind,
    /// Why.
    pub message: String,
}

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl ControlError for Refused {
    fn kind(&self) -> ErrorKind {
        self.kind
    }
}

/// Starts the daemon: reconciles the state with the slot that booted, starts the health
/// gate and the schedule, and serves the control socket until the process ends.
pub async fn run(options: Options) -> anyhow::Result<()> {
    let socket = options.socket.clone();
    let audit = options.audit.clone();
    let daemon = Daemon::start(options).await?;
    if let Some(dir) = socket.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let listener = mamori_core::control::bind(&socket, mamori_core::control::CONTROL_GROUP)?;
    let serve = ServeOptions::new(&socket, mamori_core::control::MAX_REQUEST_LINE, audit)?;
    tracing::info!(socket = %socket.display(), "updated ready");
    mamori_core::resident::release_start_up("updated");
    let started = mamori_core::clock::unix_now();
    mamori_core::control::serve(
        listener,
        serve,
        move |req: UpdateRequest, caller: Caller| {
            let daemon = daemon.clone();
            async move {
                match req {
                    UpdateRequest::Health => Response::Ok {
                        data: serde_json::to_value(Health::running("updated", started))
                            .unwrap_or_default(),
                    },
                    other => Response::from_result(daemon.handle(other, &caller).await),
                }
            }
        },
    )
    .await;
    Ok(())
}

/// A shared status, updated by the tasks and read by `status`.
pub(crate) type SharedStatus = Arc<Mutex<status::Status>>;
