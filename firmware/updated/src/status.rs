//! What the daemon reports (`status` on its control socket, the panel's System → Update
//! page): the running firmware and slot, the clock the expiry is judged by, the last check,
//! the update on offer, an install in progress, and the history.

use std::collections::BTreeMap;

use mamori_update::state::{HistoryEntry, SlotRecord, UpdateState};
use serde::{Deserialize, Serialize};

/// The firmware the image says it is (`[update] release`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Release {
    /// The board.
    pub board: String,
    /// The version.
    pub version: String,
    /// When it was built (Unix seconds; 0 unknown).
    #[serde(default)]
    pub built: u64,
}

impl Release {
    /// Reads the release file; without one (the try-out, a development build) the binary's
    /// own version on the board `dev`.
    pub fn read(path: &std::path::Path) -> Release {
        #[derive(Deserialize)]
        struct File {
            board: String,
            version: String,
            #[serde(default)]
            built: String,
        }
        let parsed = std::fs::read(path)
            .ok()
            .and_then(|b| serde_json::from_slice::<File>(&b).ok());
        match parsed {
            Some(f) => Release {
                board: f.board,
                version: f.version,
                built: mamori_core::clock::parse_rfc3339_utc(&f.built).unwrap_or(0),
            },
            None => Release {
                board: "dev".into(),
                version: env!("CARGO_PKG_VERSION").into(),
                built: 0,
            },
        }
    }
}

/// The time expiry is judged against, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct ClockBasis {
    /// Whether the system clock has been synchronised.
    pub synchronized: bool,
    /// The time used (RFC 3339).
    pub judged_at: String,
    /// `clock`, `build time` or `last known time`.
    pub basis: String,
}

/// The result of the last check of the repository.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckResult {
    /// When (RFC 3339).
    pub time: String,
    /// Whether the repository's metadata was accepted.
    pub ok: bool,
    /// The refusal's kind (`expired`, `rollback`, `fetch`…), when not ok.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub kind: String,
    /// Why, for a person.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub error: String,
}

/// An update this box may install.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Available {
    /// The target's name.
    pub target: String,
    /// Its version.
    pub version: String,
    /// Its size in bytes.
    pub length: u64,
    /// Release notes by language.
    pub notes: BTreeMap<String, String>,
    /// Whether it is older than the running version (offered only when downgrades are
    /// allowed).
    pub downgrade: bool,
}

/// An install in progress.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Progress {
    /// The target.
    pub target: String,
    /// Its version.
    pub version: String,
    /// `downloading`, `written`, `verified`, `marked`.
    pub phase: String,
    /// Bytes so far.
    pub done: u64,
    /// Bytes in all.
    pub total: u64,
}

/// The health gate while it runs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Trial {
    /// The slot being judged.
    pub slot: String,
    /// `trial` (a new slot) or `rearm` (a good slot after a restart).
    pub kind: String,
    /// What is not healthy now.
    pub problems: Vec<String>,
    /// When the slot fails if not healthy by then (RFC 3339; trials only).
    pub deadline: String,
}

/// Everything `status` answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Status {
    /// The running firmware.
    pub release: Release,
    /// The slot running, when known.
    pub booted: Option<String>,
    /// Why updates cannot be installed on this box now, if so.
    pub blocked: Option<String>,
    /// Each slot's record.
    pub slots: BTreeMap<String, SlotRecord>,
    /// The health gate, while it runs.
    pub trial: Option<Trial>,
    /// The clock expiry is judged by.
    pub clock: ClockBasis,
    /// The repository checked (empty: none configured).
    pub repository: String,
    /// `notify` or `auto`.
    pub mode: String,
    /// The maintenance window.
    pub window: String,
    /// The last check.
    pub last_check: Option<CheckResult>,
    /// The update on offer.
    pub available: Option<Available>,
    /// The install in progress.
    pub progress: Option<Progress>,
    /// An install is waiting for the restart.
    pub reboot_pending: bool,
    /// The last result of an install attempt (kind and message), until the next one.
    pub last_error: Option<CheckResult>,
    /// The history, newest first.
    pub history: Vec<HistoryEntry>,
}

impl Status {
    /// Copies the slots and history from the state file's contents.
    pub fn sync_state(&mut self, state: &UpdateState) {
        self.slots = state.slots.clone();
        self.history = state.history.iter().rev().cloned().collect();
    }
}
