//! The settings service (`mamori settingsd`): the one writer of the settings store that
//! unprivileged programs — the admin panel above all — reach through a control socket. It
//! owns the store's files; a caller needs the admin right to change anything and names the
//! person it acts for, so the store's history and the audit log say who changed what. Reads
//! of the history need only the read right (the auditor's); the settings themselves, which
//! hold password hashes, need admin.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use mamori_core::control::{ErrorKind, Request, Response, ServeOptions};
use mamori_core::identity::{Caller, Right};
use serde::{Deserialize, Serialize};

use crate::document;
use crate::store::{Store, StoreError};

/// Where the service's socket is in a directory.
pub fn socket_path(dir: &Path) -> PathBuf {
    dir.join("settingsd.sock")
}

/// The longest request line: a whole settings document with large firewall sets.
pub const MAX_SETTINGS_REQUEST_LINE: usize = 4 << 20;

/// The longest secret (a provider's password).
pub const MAX_SECRET_BYTES: usize = crate::secret::MAX_SECRET_BYTES;

/// One key set to a value (JSON, converted to the document's TOML).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyValue {
    /// A key path such as `smtp.office_domains`.
    pub key: String,
    /// Its new value.
    pub value: serde_json::Value,
}

/// A request to the settings service.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case", deny_unknown_fields)]
pub enum SettingsRequest {
    /// The service's health.
    Health,
    /// The settings in force: version, who, when, and the effective settings.
    Current,
    /// The versions kept, newest first: number, time, who, what.
    History,
    /// The keys that differ between two versions (default: the current and the one before).
    Diff {
        /// The older version.
        #[serde(default)]
        from: Option<u64>,
        /// The newer version.
        #[serde(default)]
        to: Option<u64>,
    },
    /// What `change` would say, without writing: every error and warning with its key.
    Check {
        /// Keys to set.
        #[serde(default)]
        set: Vec<KeyValue>,
        /// Keys to remove (back to the board's defaults).
        #[serde(default)]
        unset: Vec<String>,
    },
    /// Set and remove keys, as one new version.
    Change {
        /// Keys to set.
        #[serde(default)]
        set: Vec<KeyValue>,
        /// Keys to remove.
        #[serde(default)]
        unset: Vec<String>,
        /// What and why, for the history.
        why: String,
    },
    /// Make version `version` current again, as a new version.
    Rollback {
        /// The version.
        version: u64,
    },
    /// The settings store's own audit chain (every version, whoever made it): whether it is
    /// intact and its newest records.
    StoreAuditLog {
        /// How many records (at most [`mamori_core::control::MAX_AUDIT_RECORDS`]).
        #[serde(default)]
        limit: Option<usize>,
    },
    /// A backup of the version in force (the `mamori settings export` format): the
    /// document with the relay accounts' password hashes left out, or sealed with
    /// `passphrase` when one is given.
    Export {
        /// Seal the secrets with this (at least 12 characters).
        #[serde(default)]
        passphrase: Option<String>,
    },
    /// Bring a backup back (the `mamori settings import` rules: a wrong passphrase, a newer
    /// format or a document that does not validate changes nothing) as one new version;
    /// with `check_only`, only say what the checks find.
    Restore {
        /// The backup file's text.
        backup: String,
        /// Its passphrase, when its secrets are sealed.
        #[serde(default)]
        passphrase: Option<String>,
        /// Only check.
        #[serde(default)]
        check_only: bool,
        /// What and why, for the history.
        why: String,
    },
    /// Store a secret (a provider's password) in the store's `secrets/NAME` file (mode 0640)
    /// for a setting that names a file (`smtp.delivery.smarthost.password_file`); answers
    /// the path. The secret itself is in no version, log or audit record.
    SetSecret {
        /// The secret's name: 1 to 64 of `a-z 0-9 _ -`.
        name: String,
        /// The secret.
        value: String,
    },
    /// Asks `mamori time-apply` (root, started by its path unit) to set the clock to `time`
    /// (Unix seconds, UTC): written as the store's `time/clock-request.json`; refused here
    /// already when out of range or while NTP keeps the clock.
    SetClock {
        /// The time.
        time: u64,
    },
    /// The clock's state: the box's time, whether timesyncd says it is synchronized, what
    /// `mamori time-apply` last applied and the answer to the last clock request.
    TimeStatus,
}

impl Request for SettingsRequest {
    fn right(&self) -> Right {
        match self {
            Self::Health
            | Self::History
            | Self::Diff { .. }
            | Self::StoreAuditLog { .. }
            | Self::TimeStatus => Right::Read,
            Self::Current
            | Self::Check { .. }
            | Self::Change { .. }
            | Self::Rollback { .. }
            | Self::Export { .. }
            | Self::Restore { .. }
            | Self::SetSecret { .. }
            | Self::SetClock { .. } => Right::Admin,
        }
    }

    fn op(&self) -> &'static str {
        match self {
            Self::Health => "health",
            Self::Current => "current",
            Self::History => "history",
            Self::Diff { .. } => "diff",
            Self::Check { .. } => "check",
            Self::Change { .. } => "change",
            Self::Rollback { .. } => "rollback",
            Self::SetSecret { .. } => "set_secret",
            Self::Export { .. } => "export",
            Self::Restore { .. } => "restore",
            Self::StoreAuditLog { .. } => "store_audit_log",
            Self::SetClock { .. } => "set_clock",
            Self::TimeStatus => "time_status",
        }
    }

    fn carries_secret(&self) -> bool {
        // A passphrase is a secret, and a backup holds sealed ones.
        matches!(
            self,
            Self::SetSecret { .. } | Self::Export { .. } | Self::Restore { .. }
        )
    }
}

/// The service: the store it writes and when it started.
pub struct Service {
    store: Store,
    started: u64,
    /// The service's own request chain, which follows `general.audit_retention`.
    request_audit: Option<Arc<mamori_core::audit::AuditLog>>,
}

/// A failed request, with its kind.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// From the store.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A bad value or name in the request.
    #[error("{0}")]
    Invalid(String),
    /// Writing a secret.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
}

impl mamori_core::control::ControlError for ServiceError {
    fn kind(&self) -> ErrorKind {
        match self {
            Self::Store(StoreError::Invalid(_) | StoreError::Document(_)) | Self::Invalid(_) => {
                ErrorKind::Invalid
            }
            Self::Store(StoreError::NoVersion(_)) => ErrorKind::NotFound,
            Self::Store(StoreError::ReadOnly) => ErrorKind::Forbidden,
            Self::Store(_) | Self::Io { .. } => ErrorKind::Internal,
        }
    }
}

impl Service {
    /// The service over `store` (opened for writing).
    pub fn new(store: Store) -> Self {
        Self {
            store,
            started: mamori_core::clock::unix_now(),
            request_audit: None,
        }
    }

    /// The service whose request chain `audit` keeps what each new version's
    /// `general.audit_retention` says (put in force now for the current version, with the
    /// store's own chain).
    pub fn with_request_audit(mut self, audit: Arc<mamori_core::audit::AuditLog>) -> Self {
        match self.store.current_config() {
            Ok(Some(config)) => {
                self.store.apply_audit_retention(&config.general);
                config.general.apply_audit_retention(&audit);
            }
            Ok(None) => {}
            Err(e) => tracing::error!(error = %e, "the audit retention could not be read"),
        }
        self.request_audit = Some(audit);
        self
    }

    /// After a new version: its audit retention on the request chain too.
    fn committed(&self, committed: &crate::store::Committed) {
        if let Some(audit) = &self.request_audit {
            committed.config.general.apply_audit_retention(audit);
        }
    }

    /// Answers one request from `caller`.
    pub fn handle(&self, request: SettingsRequest, caller: &Caller) -> Response {
        Response::from_result(self.answer(request, caller))
    }

    fn answer(
        &self,
        request: SettingsRequest,
        caller: &Caller,
    ) -> Result<serde_json::Value, ServiceError> {
        let by = caller.audit_name();
        Ok(match request {
            SettingsRequest::Health => {
                let mut health = mamori_core::control::Health::running("settingsd", self.started);
                health.settings_version = self.store.versions()?.last().copied();
                serde_json::to_value(health).unwrap_or_default()
            }
            SettingsRequest::Current => match self.store.current()? {
                None => {
                    serde_json::json!({"version": null, "settings": serde_json::to_value(self.store.effective(&toml::Table::new())?.config).unwrap_or_default()})
                }
                Some(v) => serde_json::json!({
                    "version": v.version,
                    "time": v.time,
                    "by": v.by,
                    "what": v.what,
                    "settings": serde_json::to_value(self.store.effective(&v.document)?.config).unwrap_or_default(),
                }),
            },
            SettingsRequest::History => {
                let mut rows = Vec::new();
                for n in self.store.versions()?.iter().rev() {
                    let v = self.store.version(*n)?;
                    rows.push(serde_json::json!({"version": v.version, "time": v.time, "by": v.by, "what": v.what}));
                }
                serde_json::Value::Array(rows)
            }
            SettingsRequest::Diff { from, to } => {
                let changes = self.diff(from, to)?;
                serde_json::to_value(changes).unwrap_or_default()
            }
            SettingsRequest::Check { set, unset } => {
                let mut doc = self
                    .store
                    .current()?
                    .map(|v| v.document)
                    .unwrap_or_default();
                edit(&mut doc, set, &unset)?;
                let report = self.store.effective(&doc)?.report;
                serde_json::to_value(report).unwrap_or_default()
            }
            SettingsRequest::Export { passphrase } => {
                let current = self.store.current()?;
                let document = current
                    .as_ref()
                    .map(|v| v.document.clone())
                    .unwrap_or_default();
                let made = crate::backup::export(
                    &document,
                    current.map(|v| v.version),
                    passphrase.as_deref(),
                )
                .map_err(|e| ServiceError::Invalid(e.to_string()))?;
                let text = serde_json::to_string_pretty(&made)
                    .map_err(|e| ServiceError::Invalid(e.to_string()))?;
                serde_json::json!({"version": made.from_version, "sealed": made.secrets.is_some(), "backup": text})
            }
            SettingsRequest::Restore {
                backup,
                passphrase,
                check_only,
                why,
            } => {
                let current = self
                    .store
                    .current()?
                    .map(|v| v.document)
                    .unwrap_or_default();
                let document = crate::backup::parse(&backup)
                    .and_then(|b| crate::backup::restore(&b, passphrase.as_deref(), &current))
                    .map_err(|e| ServiceError::Invalid(e.to_string()))?;
                if check_only {
                    let report = self.store.effective(&document)?.report;
                    serde_json::to_value(report).unwrap_or_default()
                } else {
                    let what = bounded_text(&why, 500);
                    let committed = self.store.change(&by, &what, |doc| {
                        *doc = document;
                        Ok(())
                    })?;
                    self.committed(&committed);
                    serde_json::json!({"version": committed.version, "warnings": committed.report.warnings})
                }
            }
            SettingsRequest::Change { set, unset, why } => {
                let why = bounded_text(&why, 500);
                let mut keys: Vec<String> = set.iter().map(|kv| kv.key.clone()).collect();
                keys.extend(unset.iter().cloned());
                let what = if why.is_empty() {
                    format!("change {}", keys.join(", "))
                } else {
                    why
                };
                let committed = self.store.change(&by, &what, |doc| {
                    edit(doc, set, &unset).map_err(|e| StoreError::Document(e.to_string()))
                })?;
                self.committed(&committed);
                serde_json::json!({"version": committed.version, "warnings": committed.report.warnings})
            }
            SettingsRequest::Rollback { version } => {
                let committed = self.store.rollback(version, &by)?;
                self.committed(&committed);
                serde_json::json!({"version": committed.version, "warnings": committed.report.warnings})
            }
            SettingsRequest::StoreAuditLog { limit } => {
                let limit = limit
                    .unwrap_or(100)
                    .min(mamori_core::control::MAX_AUDIT_RECORDS);
                let dir = mamori_core::audit::chain_dir(self.store.dir(), "settings");
                let chain = match mamori_core::audit::verify(&dir) {
                    Ok(records) => serde_json::json!({"intact": true, "records": records}),
                    Err(e) => serde_json::json!({"intact": false, "error": e.to_string()}),
                };
                let recent = mamori_core::audit::recent(&dir, limit)
                    .map_err(|e| ServiceError::Invalid(e.to_string()))?;
                serde_json::json!({"chain": chain, "recent": recent})
            }
            SettingsRequest::SetClock { time } => {
                let settings = self
                    .store
                    .current_config()?
                    .map(|c| c.time)
                    .unwrap_or_default();
                let request = mamori_core::time::ClockRequest {
                    time,
                    asked_at: mamori_core::clock::unix_now(),
                    by: by.clone(),
                };
                request
                    .check(&settings, request.asked_at)
                    .map_err(|e| ServiceError::Invalid(e.to_string()))?;
                crate::time_files::write_request(self.store.dir(), &request)
                    .map_err(|(path, source)| ServiceError::Io { path, source })?;
                serde_json::json!({"asked": true, "time": time})
            }
            SettingsRequest::TimeStatus => crate::time_files::status(self.store.dir()),
            SettingsRequest::SetSecret { name, value } => {
                let path = self.write_secret(&name, &value)?;
                tracing::info!(secret = %name, by = %by, "secret stored");
                serde_json::json!({"path": path})
            }
        })
    }

    /// The keys that differ between versions `from` and `to` of the effective settings.
    fn diff(
        &self,
        from: Option<u64>,
        to: Option<u64>,
    ) -> Result<Vec<document::Change>, ServiceError> {
        let versions = self.store.versions()?;
        let to = to.or(versions.last().copied());
        let from =
            from.or_else(|| to.and_then(|t| versions.iter().rev().copied().find(|n| *n < t)));
        let settings = |n: Option<u64>| -> Result<serde_json::Value, ServiceError> {
            let doc = match n {
                Some(n) => self.store.version(n)?.document,
                None => toml::Table::new(),
            };
            Ok(serde_json::to_value(self.store.effective(&doc)?.config).unwrap_or_default())
        };
        let mut changes = document::diff(&settings(from)?, &settings(to)?);
        // The history is for auditors too: password hashes show only that they changed.
        for c in &mut changes {
            if c.key.contains("password") {
                for v in [&mut c.before, &mut c.after].into_iter().flatten() {
                    *v = "(hidden)".into();
                }
            }
        }
        Ok(changes)
    }

    /// Writes `secrets/NAME` (mode 0640) atomically.
    fn write_secret(&self, name: &str, value: &str) -> Result<PathBuf, ServiceError> {
        crate::secret::write(self.store.dir(), name, value).map_err(|e| match e {
            crate::secret::SecretError::Invalid(why) => ServiceError::Invalid(why),
            crate::secret::SecretError::Io { path, source } => ServiceError::Io { path, source },
        })
    }
}

/// Applies `set` and `unset` to `doc`.
fn edit(doc: &mut toml::Table, set: Vec<KeyValue>, unset: &[String]) -> Result<(), ServiceError> {
    for key in unset {
        document::unset(doc, key).map_err(|e| ServiceError::Invalid(e.to_string()))?;
    }
    for KeyValue { key, value } in set {
        let value: toml::Value = serde_json::from_value(value)
            .map_err(|e| ServiceError::Invalid(format!("{key}: {e} (TOML has no null)")))?;
        document::set(doc, &key, value).map_err(|e| ServiceError::Invalid(e.to_string()))?;
    }
    Ok(())
}

/// `text` on one line, at most `max` characters.
fn bounded_text(text: &str, max: usize) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(max)
        .collect::<String>()
        .trim()
        .to_string()
}

/// Serves the service on `socket` until the runtime ends; state-changing requests are
/// written to `audit` first. `bound` hears whether the socket could be bound.
pub async fn serve(
    service: Arc<Service>,
    socket: &Path,
    audit: Arc<mamori_core::audit::AuditLog>,
    bound: Option<tokio::sync::oneshot::Sender<std::io::Result<()>>>,
) -> std::io::Result<()> {
    let setup =
        mamori_core::control::bind(socket, mamori_core::control::CONTROL_GROUP).and_then(|l| {
            Ok((
                ServeOptions::new(socket, MAX_SETTINGS_REQUEST_LINE, audit)?,
                l,
            ))
        });
    let (options, listener) = match setup {
        Ok(v) => {
            if let Some(tx) = bound {
                let _ = tx.send(Ok(()));
            }
            v
        }
        Err(e) => {
            if let Some(tx) = bound {
                let _ = tx.send(Err(std::io::Error::new(e.kind(), e.to_string())));
            }
            return Err(e);
        }
    };
    mamori_core::control::serve(
        listener,
        options,
        move |request: SettingsRequest, caller: Caller| {
            let service = service.clone();
            async move {
                tokio::task::spawn_blocking(move || service.handle(request, &caller))
                    .await
                    .unwrap_or_else(|e| {
                        Response::error(ErrorKind::Internal, format!("the request failed: {e}"))
                    })
            }
        },
    )
    .await;
    Ok(())
}
