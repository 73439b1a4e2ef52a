//! Why the firewall daemon could not do what it was asked, with the kind each failure
//! answers a control request with.

use std::path::{Path, PathBuf};

use mamori_core::control::{ControlError, ErrorKind};
use mamori_firewall::ValidationError;
use mamori_firewall::confirm::ConfirmError;

/// What the back end (the kernel over netlink, or a test's recorder) reports.
pub type BackendError = Box<dyn std::error::Error + Send + Sync>;

/// A failure of the firewall daemon.
#[derive(Debug, thiserror::Error)]
pub enum FirewalldError {
    /// A file or socket of the daemon.
    #[error("{what} {path}: {source}")]
    Io {
        /// What was being done.
        what: &'static str,
        /// The path.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// The saved models are no JSON the daemon understands.
    #[error("{path} is not readable firewall state: {source}")]
    State {
        /// The file.
        path: PathBuf,
        /// The parser's complaint.
        #[source]
        source: serde_json::Error,
    },
    /// The saved state was written by a newer firmware.
    #[error("{path} has format {found}, newer than this firmware knows: not read")]
    NewerFormat {
        /// The file.
        path: PathBuf,
        /// Its format.
        found: u64,
    },
    /// This firewall runs on the settings service: a model is changed there.
    #[error(
        "the firewall model is part of the settings: change it with `mamori settings` (or `mamori fw apply --settings DIR FILE`)"
    )]
    UseSettings,
    /// The firewall does not run on the settings service.
    #[error(
        "this firewall runs on its configuration file, not the settings service (start it with --settings)"
    )]
    NotLinked,
    /// The settings service could not give the version asked for.
    #[error("settings: {0}")]
    Settings(String),
    /// The model breaks a rule; nothing was changed.
    #[error("the firewall model is not valid: {0}")]
    Invalid(#[from] ValidationError),
    /// Confirm-or-revert refused the step (a change already waiting, nothing to confirm …).
    #[error(transparent)]
    Probation(#[from] ConfirmError),
    /// The kernel refused a table or a set change.
    #[error("{context}: {source}")]
    Kernel {
        /// What it means for the box.
        context: &'static str,
        /// The back end's error.
        #[source]
        source: BackendError,
    },
    /// The running model has no set of that name.
    #[error("no set named {0:?} in the running model")]
    NoSuchSet(String),
    /// An element of another address family than the set's.
    #[error("{address:?} is not an address of the set's family ({family})")]
    WrongFamily {
        /// The element.
        address: String,
        /// The set's family.
        family: String,
    },
    /// Something that should not fail did.
    #[error("internal error: {0}")]
    Internal(String),
}

impl FirewalldError {
    /// An I/O error while doing `what` to `path`, for `map_err`.
    pub fn io(what: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> Self {
        let path = path.to_path_buf();
        move |source| Self::Io { what, path, source }
    }

    /// A back end refusal meaning `context`, for `map_err`.
    pub fn kernel(context: &'static str) -> impl FnOnce(BackendError) -> Self {
        move |source| Self::Kernel { context, source }
    }
}

impl ControlError for FirewalldError {
    fn kind(&self) -> ErrorKind {
        match self {
            Self::Invalid(_) | Self::WrongFamily { .. } => ErrorKind::Invalid,
            Self::Probation(ConfirmError::BadTimeout(_)) => ErrorKind::Invalid,
            Self::Probation(_) => ErrorKind::Conflict,
            Self::NoSuchSet(_) => ErrorKind::NotFound,
            Self::UseSettings | Self::NotLinked => ErrorKind::Conflict,
            Self::Settings(_) => ErrorKind::Invalid,
            Self::Io { .. }
            | Self::State { .. }
            | Self::NewerFormat { .. }
            | Self::Kernel { .. }
            | Self::Internal(_) => ErrorKind::Internal,
        }
    }
}
