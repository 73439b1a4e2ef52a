//! The firewall daemon (`mamori firewalld`): owns the `inet mamori` table. At start it applies the last
//! confirmed model (or the configuration's `[firewall]`); over its control socket it applies
//! new models on probation (confirm-or-revert), confirms, rolls back, reports counters and
//! updates named sets. The models live in `<data_dir>/firewall/models.json`, replaced
//! atomically, so a restart during a probation boots the confirmed model: an unconfirmed
//! change never survives a reboot.
//!
//! It also discovers the LAN's devices: an ARP sweep of each `lan` zone interface shortly
//! after start and every [`DISCOVERY_INTERVAL`] after, kept in memory in a bounded,
//! expiring list that `mamori fw devices` shows (the sweep needs `CAP_NET_RAW`).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use mamori_core::audit::AuditLog;
use mamori_core::clock::unix_now;
use mamori_core::control::{Health, Response, ServeOptions};
use mamori_core::identity::Caller;
use mamori_firewall::FirewallConfig;
use mamori_firewall::api::{FwRequest, MAX_FW_REQUEST_LINE};
use mamori_firewall::confirm::{DEFAULT_TIMEOUT_SECS, Models};
use mamori_firewall::discovery::{Inventory, SweepReport};
use tokio::sync::Mutex;

pub use backend::{Backend, Netlink};
pub use error::{BackendError, FirewalldError};
pub use failsafe::failsafe_model;

mod backend;
mod error;
mod failsafe;
mod settings_link;
mod state;

pub use settings_link::SettingsLink;

use state::{read_models, save_models};

/// The first LAN sweep comes this long after start (the LAN is up by then).
pub const DISCOVERY_FIRST_DELAY: Duration = Duration::from_secs(30);

/// The time between two LAN sweeps.
pub const DISCOVERY_INTERVAL: Duration = Duration::from_secs(5 * 60);

/// The control socket path for a data directory.
pub fn socket_path(data_dir: &Path) -> PathBuf {
    data_dir.join("firewalld.sock")
}

/// The daemon's state: the models, where they are kept, the backend, the audit log.
pub struct Firewalld<B: Backend> {
    models: Mutex<Models>,
    state_file: PathBuf,
    /// The configuration's own model, used until a model is confirmed.
    configured: FirewallConfig,
    backend: B,
    audit: Arc<AuditLog>,
    /// The LAN devices found by the sweeps (in memory: a restart starts a new list).
    devices: Mutex<Inventory>,
    /// The last problem logged per LAN interface, so a lasting one is warned about once.
    sweep_notes: Mutex<HashMap<String, String>>,
    /// Why the fail-safe table is in force, while it is (until a model is confirmed).
    failsafe: std::sync::Mutex<Option<String>>,
    /// When the daemon started (Unix seconds), for `health`.
    started: u64,
    /// The settings service, when the firewall model is part of it.
    link: Option<SettingsLink>,
    /// The board's zones (which interface is LAN, which WAN), for the fail-safe table.
    board: mamori_firewall::model::Zones,
    /// The settings version whose model is confirmed in force.
    settings_version: std::sync::Mutex<Option<u64>>,
    /// The last change that went back by itself (serial, when, why), for `status`: the
    /// panel says so on its firewall page.
    last_revert: std::sync::Mutex<Option<serde_json::Value>>,
}

impl<B: Backend> Firewalld<B> {
    /// Loads the state, reverts an unconfirmed probation, and applies the model in force
    /// (the configuration's, without a settings service).
    pub fn start(
        data_dir: &Path,
        configured: FirewallConfig,
        backend: B,
        audit: Arc<AuditLog>,
    ) -> Result<Arc<Self>, FirewalldError> {
        Self::start_linked(data_dir, configured, backend, audit, None, None)
    }

    /// As [`Firewalld::start`], with the firewall model a part of the settings service:
    /// its version in force wins at start (a pending change of it that was never confirmed
    /// is reverted and the revert recorded as a new version); and with the board's zones
    /// for the fail-safe table (the built-in ones when `None`).
    pub fn start_linked(
        data_dir: &Path,
        configured: FirewallConfig,
        backend: B,
        audit: Arc<AuditLog>,
        link: Option<SettingsLink>,
        board: Option<mamori_firewall::model::Zones>,
    ) -> Result<Arc<Self>, FirewalldError> {
        let mut configured = configured;
        let mut version = None;
        if let Some(link) = &link {
            match (link.load)(None) {
                Ok((v, model)) => {
                    configured = model;
                    version = Some(v);
                }
                Err(e) => tracing::warn!(
                    error = %e,
                    "no firewall model from the settings service: the configuration's [firewall] is in force"
                ),
            }
        }
        let dir = data_dir.join("firewall");
        std::fs::create_dir_all(&dir).map_err(FirewalldError::io("creating", &dir))?;
        let state_file = dir.join("models.json");
        let mut failsafe = None;
        let mut models: Models = match read_models(&state_file) {
            Ok(models) => models,
            Err(e) => {
                // Keep the unreadable file for inspection; never boot without a table.
                let kept = state_file.with_extension(format!("json.unreadable-{}", unix_now()));
                let _ = std::fs::rename(&state_file, &kept);
                failsafe = Some(format!(
                    "the saved firewall state could not be read ({e}; kept as {})",
                    kept.display()
                ));
                Models::default()
            }
        };
        if let Some(p) = models.probation.take() {
            tracing::warn!(
                serial = p.serial,
                "an unconfirmed firewall change was pending at start: reverted"
            );
            let mut written = None;
            // The settings in force are that unconfirmed change: record the revert as a
            // new version, with the last confirmed model.
            if let (Some(link), Some(pending)) = (&link, p.settings_version)
                && version == Some(pending)
            {
                let back = models.settings_confirmed.clone().unwrap_or_default();
                let why = format!(
                    "firewall change of settings version {pending} was not confirmed before a restart: reverted"
                );
                match (link.revert)(&back, &why) {
                    Ok(v) => {
                        written = Some(v);
                        version = Some(v);
                        configured = back;
                    }
                    Err(e) => {
                        tracing::error!(error = %e, "could not record the revert in the settings")
                    }
                }
            }
            audit.record_or_log(
                "fw_revert",
                serde_json::json!({"serial": p.serial, "why": "restart before confirmation", "settings_version": written}),
            );
        }
        if let Some(v) = version {
            // The settings service is the one source of truth: its version in force wins
            // over the models file (which keeps the probation and the run-time set changes).
            models.confirmed = Some(models.with_run_time(&configured));
            models.settings_confirmed = Some(configured.clone());
            tracing::info!(
                version = v,
                "firewall model from the settings version in force"
            );
        }
        let model = models
            .current()
            .cloned()
            .unwrap_or_else(|| configured.clone());
        save_models(&state_file, &models)?;
        let daemon = Self {
            models: Mutex::new(models),
            state_file,
            configured,
            backend,
            audit,
            devices: Mutex::new(Inventory::default()),
            sweep_notes: Mutex::new(HashMap::new()),
            failsafe: std::sync::Mutex::new(None),
            last_revert: std::sync::Mutex::new(None),
            started: unix_now(),
            link,
            board: board.unwrap_or_default(),
            settings_version: std::sync::Mutex::new(version),
        };
        if failsafe.is_none()
            && let Err(e) = daemon.apply_model(&model)
        {
            failsafe = Some(format!("the firewall model could not be applied ({e})"));
        }
        if let Some(reason) = failsafe {
            daemon.enter_failsafe(reason)?;
        }
        Ok(Arc::new(daemon))
    }

    /// Puts the fail-safe table in force and says so loudly (journal, audit, status).
    fn enter_failsafe(&self, reason: String) -> Result<(), FirewalldError> {
        tracing::error!(
            reason = %reason,
            "FAIL-SAFE firewall table in force: WAN closed, the LAN reaches only the panel and DHCP/DNS; apply and confirm a model to leave it"
        );
        self.audit("fw_failsafe", serde_json::json!({ "why": reason }));
        self.apply_model(&failsafe_model(&self.board))?;
        *self.failsafe_reason() = Some(reason);
        Ok(())
    }

    /// Why the fail-safe table is in force, if it is.
    fn failsafe_reason(&self) -> std::sync::MutexGuard<'_, Option<String>> {
        self.failsafe.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// What a revert goes back to when no model was ever confirmed: the fail-safe table
    /// while it is in force, else the configuration's model.
    fn fallback(&self) -> FirewallConfig {
        if self
            .failsafe
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .is_some()
        {
            failsafe_model(&self.board)
        } else {
            self.configured.clone()
        }
    }

    fn apply_model(&self, model: &FirewallConfig) -> Result<(), FirewalldError> {
        let compiled = mamori_firewall::compile(model)?;
        for w in &compiled.warnings {
            tracing::warn!(warning = %w, "firewall");
        }
        self.backend
            .apply(&compiled.table)
            .map_err(FirewalldError::kernel("the kernel refused the table"))
    }

    /// Writes the models atomically (temporary file, fsync, rename, directory fsync).
    fn save(&self, models: &Models) -> Result<(), FirewalldError> {
        save_models(&self.state_file, models)
    }

    fn audit(&self, event: &str, fields: serde_json::Value) {
        self.audit.record_or_log(event, fields);
    }

    /// The settings version whose model is in force.
    fn settings_version_in_force(&self) -> std::sync::MutexGuard<'_, Option<u64>> {
        self.settings_version
            .lock()
            .unwrap_or_else(|p| p.into_inner())
    }

    /// When the reverted change came from settings version `pending`, records the revert
    /// as a new settings version with `model` (the settings' model back in force, without
    /// run-time set changes); returns its number.
    fn record_revert(
        &self,
        pending: Option<u64>,
        model: &FirewallConfig,
        what: &str,
    ) -> Option<u64> {
        let (Some(link), Some(pending)) = (&self.link, pending) else {
            return None;
        };
        let why = format!("firewall change of settings version {pending} {what}: reverted");
        match (link.revert)(model, &why) {
            Ok(v) => {
                *self.settings_version_in_force() = Some(v);
                tracing::warn!(version = v, "{why} (recorded as settings version {v})");
                Some(v)
            }
            Err(e) => {
                tracing::error!(error = %e, "could not record the firewall revert in the settings");
                None
            }
        }
    }

    /// Puts `model` on probation (from settings version `version`, if any): refused before
    /// anything changes when it is not valid; put back when the kernel refuses it.
    async fn probation(
        &self,
        model: FirewallConfig,
        timeout_secs: Option<u64>,
        version: Option<u64>,
        by: &str,
        now: u64,
    ) -> Result<serde_json::Value, FirewalldError> {
        let compiled = mamori_firewall::compile(&model)?;
        let mut models = self.models.lock().await;
        let timeout = timeout_secs.unwrap_or(DEFAULT_TIMEOUT_SECS);
        if version.is_some() && models.confirmed.is_none() {
            // A revert needs the model in force before this change to go back to.
            models.confirmed = Some(models.current().cloned().unwrap_or_else(|| self.fallback()));
        }
        let serial = models.begin(model, now, timeout)?;
        if let Some(p) = models.probation.as_mut() {
            p.settings_version = version;
        }
        if let Err(e) = self.backend.apply(&compiled.table) {
            let _ = models.rollback();
            return Err(FirewalldError::kernel(
                "the kernel refused the new table; the old one stays",
            )(e));
        }
        self.save(&models)?;
        let warnings: Vec<String> = compiled.warnings.iter().map(ToString::to_string).collect();
        self.audit(
            "fw_apply",
            serde_json::json!({"serial": serial, "timeout_secs": timeout, "by": by, "warnings": warnings, "settings_version": version}),
        );
        tracing::info!(
            serial,
            timeout,
            ?version,
            "firewall model applied on probation"
        );
        Ok(
            serde_json::json!({"serial": serial, "confirm_within_secs": timeout, "warnings": warnings, "settings_version": version}),
        )
    }

    /// Reverts a probation whose deadline passed; called by the timer every second.
    pub async fn tick(&self) {
        let mut models = self.models.lock().await;
        if !models.expired(unix_now()) {
            return;
        }
        let serial = models.probation.as_ref().map(|p| p.serial).unwrap_or(0);
        let pending = models.probation.as_ref().and_then(|p| p.settings_version);
        let Ok(previous) = models.rollback() else {
            return;
        };
        let model = previous.unwrap_or_else(|| self.fallback());
        match self.apply_model(&model) {
            Ok(()) => tracing::warn!(
                serial,
                "firewall change not confirmed in time: the previous model is back"
            ),
            Err(e) => tracing::error!(serial, error = %e, "reverting the firewall change failed"),
        }
        let back = models
            .settings_confirmed
            .clone()
            .unwrap_or_else(|| model.clone());
        let written = self.record_revert(pending, &back, "was not confirmed in time");
        *self.last_revert.lock().unwrap_or_else(|p| p.into_inner()) = Some(serde_json::json!({
            "serial": serial,
            "at": unix_now(),
            "why": "not confirmed in time",
            "settings_version": written,
        }));
        self.audit(
            "fw_revert",
            serde_json::json!({"serial": serial, "why": "not confirmed in time", "settings_version": written}),
        );
        if let Err(e) = self.save(&models) {
            tracing::error!(error = %e, "saving the firewall state failed");
        }
    }

    /// Sweeps each interface of the running model's `lan` zone (wildcards are skipped: a
    /// sweep needs one interface's address) and records what each sweep found. A failed
    /// sweep is logged and changes nothing.
    pub async fn discover(self: &Arc<Self>) {
        let interfaces: Vec<String> = {
            let models = self.models.lock().await;
            let model = models.current().unwrap_or(&self.configured);
            model
                .zones
                .lan
                .interfaces
                .iter()
                .filter(|i| !i.is_wildcard())
                .map(ToString::to_string)
                .collect()
        };
        for interface in interfaces {
            let daemon = self.clone();
            let name = interface.clone();
            let result = tokio::task::spawn_blocking(move || daemon.backend.arp_sweep(&name))
                .await
                .map_err(|e| BackendError::from(e.to_string()))
                .and_then(|r| r);
            match result {
                Ok(report) => self.record_sweep(&interface, &report).await,
                Err(e) => {
                    self.note(&interface, format!("LAN device discovery failed: {e}"))
                        .await;
                }
            }
        }
    }

    async fn record_sweep(&self, interface: &str, report: &SweepReport) {
        let note = match report.cut_from {
            Some(subnet) => format!(
                "LAN subnet {subnet} is wider than a /22: only {} is swept",
                report.network
            ),
            None => String::new(),
        };
        self.note(interface, note).await;
        let changes = self
            .devices
            .lock()
            .await
            .record_sweep(&report.sightings, unix_now());
        // Info only when the list changed: a quiet LAN logs nothing every five minutes.
        let changed = changes.added + changes.expired + changes.evicted > 0;
        macro_rules! done {
            ($level:ident) => {
                tracing::$level!(
                    interface,
                    network = %report.network,
                    requests = report.requests_sent,
                    failed = report.requests_failed,
                    seen = report.sightings.len(),
                    added = changes.added,
                    expired = changes.expired,
                    evicted = changes.evicted,
                    "LAN sweep done"
                )
            };
        }
        if changed {
            done!(info);
        } else {
            done!(debug);
        }
    }

    /// Warns about a sweep problem when it is new for the interface (an empty note clears
    /// it), and only logs it at debug level while it lasts.
    async fn note(&self, interface: &str, note: String) {
        let mut notes = self.sweep_notes.lock().await;
        let last = notes.get(interface).map(String::as_str).unwrap_or("");
        if note == last {
            if !note.is_empty() {
                tracing::debug!(interface, "{note}");
            }
            return;
        }
        if !note.is_empty() {
            tracing::warn!(interface, "{note}");
        }
        notes.insert(interface.to_string(), note);
    }

    /// Answers one control request from `by`.
    pub async fn handle(&self, req: FwRequest, by: &Caller) -> Response {
        Response::from_result(self.handle_inner(req, &by.audit_name()).await)
    }

    async fn handle_inner(
        &self,
        req: FwRequest,
        by: &str,
    ) -> Result<serde_json::Value, FirewalldError> {
        let now = unix_now();
        match req {
            FwRequest::Apply { .. } if self.link.is_some() => Err(FirewalldError::UseSettings),
            FwRequest::ApplySettings {
                version,
                timeout_secs,
            } => {
                let link = self.link.as_ref().ok_or(FirewalldError::NotLinked)?;
                let (v, model) = (link.load)(version).map_err(FirewalldError::Settings)?;
                let models = self.models.lock().await;
                let in_force = models.current().cloned().unwrap_or_else(|| self.fallback());
                let model = models.with_run_time(&model);
                drop(models);
                if model == in_force && self.failsafe_reason().is_none() {
                    *self.settings_version_in_force() = Some(v);
                    return Ok(serde_json::json!({"version": v, "unchanged": true}));
                }
                self.probation(model, timeout_secs, Some(v), by, now).await
            }
            FwRequest::Apply {
                model,
                timeout_secs,
            } => self.probation(*model, timeout_secs, None, by, now).await,
            FwRequest::Confirm { serial } => {
                let mut models = self.models.lock().await;
                let pending = models.probation.as_ref().and_then(|p| p.settings_version);
                let serial = models.confirm(serial, now)?;
                *self.last_revert.lock().unwrap_or_else(|p| p.into_inner()) = None;
                if let (Some(v), Some(link)) = (pending, &self.link) {
                    models.settings_confirmed = (link.load)(Some(v)).ok().map(|(_, m)| m);
                }
                self.save(&models)?;
                if pending.is_some() {
                    *self.settings_version_in_force() = pending;
                }
                if let Some(was) = self.failsafe_reason().take() {
                    tracing::info!(was = %was, "a confirmed model replaces the fail-safe table");
                }
                self.audit(
                    "fw_confirm",
                    serde_json::json!({"serial": serial, "by": by, "settings_version": pending}),
                );
                tracing::info!(serial, "firewall model confirmed");
                Ok(serde_json::json!({"confirmed": serial, "settings_version": pending}))
            }
            FwRequest::Rollback => {
                let mut models = self.models.lock().await;
                let serial = models.probation.as_ref().map(|p| p.serial);
                let pending = models.probation.as_ref().and_then(|p| p.settings_version);
                let previous = models.rollback()?;
                let model = previous.unwrap_or_else(|| self.fallback());
                self.apply_model(&model)?;
                self.save(&models)?;
                let back = models
                    .settings_confirmed
                    .clone()
                    .unwrap_or_else(|| model.clone());
                let written =
                    self.record_revert(pending, &back, &format!("was rolled back by {by}"));
                self.audit(
                    "fw_rollback",
                    serde_json::json!({"serial": serial, "by": by, "settings_version": written}),
                );
                Ok(serde_json::json!({"rolled_back": serial, "settings_version": written}))
            }
            FwRequest::Status => {
                let models = self.models.lock().await;
                let counters = self
                    .backend
                    .counters()
                    .unwrap_or_else(|e| serde_json::json!({"error": e.to_string()}));
                Ok(serde_json::json!({
                    "pending": models.probation.as_ref().map(|p| serde_json::json!({
                        "serial": p.serial,
                        "seconds_left": p.deadline.saturating_sub(now),
                    })),
                    "confirmed_serial": models.last_serial,
                    "failsafe": *self.failsafe_reason(),
                    "last_revert": *self.last_revert.lock().unwrap_or_else(|p| p.into_inner()),
                    "counters": counters,
                }))
            }
            FwRequest::SetElements { set, add, remove } => {
                let mut models = self.models.lock().await;
                let model = models.current().cloned().unwrap_or_else(|| self.fallback());
                let declared = model
                    .sets
                    .iter()
                    .find(|s| s.name.as_str() == set)
                    .ok_or_else(|| FirewalldError::NoSuchSet(set.clone()))?;
                if let Some(e) = add
                    .iter()
                    .chain(&remove)
                    .find(|e| e.address.family() != declared.family)
                {
                    return Err(FirewalldError::WrongFamily {
                        address: e.address.to_string(),
                        family: format!("{:?}", declared.family),
                    });
                }
                let compiled = mamori_firewall::compile(&model)?;
                let ir_set = compiled
                    .table
                    .sets
                    .iter()
                    .find(|s| s.name == set)
                    .ok_or_else(|| FirewalldError::NoSuchSet(set.clone()))?;
                self.backend
                    .update_set(ir_set, &add, &remove)
                    .map_err(FirewalldError::kernel("the kernel refused the set change"))?;
                // Keep the change in the models, so a re-apply (revert, restart, a new
                // settings version) keeps it: run-time state, not a settings version.
                let edit = |m: &mut FirewallConfig| {
                    mamori_firewall::confirm::edit_set(m, &set, &add, &remove);
                };
                let mut confirmed = models.confirmed.take().unwrap_or_else(|| self.fallback());
                edit(&mut confirmed);
                models.confirmed = Some(confirmed);
                if let Some(p) = models.probation.as_mut() {
                    edit(&mut p.candidate);
                }
                models.record_set_edit(&set, &add, &remove);
                self.save(&models)?;
                self.audit(
                    "fw_set_elements",
                    serde_json::json!({"set": set, "added": add.len(), "removed": remove.len(), "by": by}),
                );
                Ok(serde_json::json!({"set": set, "added": add.len(), "removed": remove.len()}))
            }
            FwRequest::Devices => serde_json::to_value(&*self.devices.lock().await)
                .map_err(|e| FirewalldError::Internal(e.to_string())),
            FwRequest::Health => {
                let mut health = Health::running("firewalld", self.started);
                health.settings_version = *self.settings_version_in_force();
                if let Some(reason) = self.failsafe_reason().clone() {
                    health.state = "degraded".into();
                    health.last_error = Some(reason);
                }
                serde_json::to_value(health).map_err(|e| FirewalldError::Internal(e.to_string()))
            }
        }
    }
}

/// Serves the control socket and the probation timer until the process ends.
pub async fn serve<B: Backend>(
    daemon: Arc<Firewalld<B>>,
    socket: PathBuf,
) -> Result<(), FirewalldError> {
    let listener = mamori_core::control::bind(&socket, mamori_core::control::CONTROL_GROUP)
        .map_err(FirewalldError::io("binding", &socket))?;
    let options = ServeOptions::new(&socket, MAX_FW_REQUEST_LINE, daemon.audit.clone())
        .map_err(FirewalldError::io("binding", &socket))?;
    // Type=notify: `start` applied the table, so units ordered after network-pre.target
    // (which this unit is before) start only with the firewall in force.
    if let Err(e) = mamori_core::notify::ready("table inet mamori in force") {
        tracing::warn!(error = %e, "could not tell systemd that firewalld is ready");
    }
    mamori_core::resident::release_start_up("firewalld");
    let timer = daemon.clone();
    tokio::spawn(async move {
        let mut every = tokio::time::interval(Duration::from_secs(1));
        loop {
            every.tick().await;
            timer.tick().await;
        }
    });
    let discovery = daemon.clone();
    tokio::spawn(async move {
        let first = tokio::time::Instant::now() + DISCOVERY_FIRST_DELAY;
        let mut every = tokio::time::interval_at(first, DISCOVERY_INTERVAL);
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            every.tick().await;
            discovery.discover().await;
        }
    });
    mamori_core::control::serve(listener, options, move |req: FwRequest, by: Caller| {
        let daemon = daemon.clone();
        async move { daemon.handle(req, &by).await }
    })
    .await;
    Ok(())
}

#[cfg(test)]
mod tests;
