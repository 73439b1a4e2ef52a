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
use mamori_firewall::model::SetElement;
use tokio::sync::Mutex;

pub use error::{BackendError, FirewalldError};

mod error;

/// The first LAN sweep comes this long after start (the LAN is up by then).
pub const DISCOVERY_FIRST_DELAY: Duration = Duration::from_secs(30);

/// The time between two LAN sweeps.
pub const DISCOVERY_INTERVAL: Duration = Duration::from_secs(5 * 60);

/// Where the firewall's tables go and the LAN sweeps are sent: the kernel in the daemon,
/// something else in tests.
pub trait Backend: Send + Sync + 'static {
    /// Replaces the whole table with the one compiled from `table`, atomically.
    fn apply(&self, table: &mamori_firewall::ir::Table) -> Result<(), BackendError>;
    /// The counters of every rule, as JSON for the status report.
    fn counters(&self) -> Result<serde_json::Value, BackendError>;
    /// Adds and removes elements of a named set of the running table.
    fn update_set(
        &self,
        set: &mamori_firewall::ir::Set,
        add: &[SetElement],
        remove: &[SetElement],
    ) -> Result<(), BackendError>;
    /// Sweeps an interface's subnet with ARP requests (blocking for a few seconds).
    fn arp_sweep(&self, interface: &str) -> Result<SweepReport, BackendError>;
}

/// The kernel, over netlink, in the daemon's network namespace.
pub struct Netlink;

impl Backend for Netlink {
    fn apply(&self, table: &mamori_firewall::ir::Table) -> Result<(), BackendError> {
        let report = mamori_firewall_linux::netlink::apply(table)?;
        tracing::info!(
            messages = report.messages,
            bytes = report.bytes,
            "table inet mamori replaced"
        );
        Ok(())
    }

    fn counters(&self) -> Result<serde_json::Value, BackendError> {
        let rules = mamori_firewall_linux::netlink::rule_counters()?;
        Ok(rules
            .into_iter()
            .map(|r| {
                serde_json::json!({
                    "chain": r.chain,
                    "handle": r.handle,
                    "comment": r.comment,
                    "packets": r.packets,
                    "bytes": r.bytes,
                })
            })
            .collect())
    }

    fn update_set(
        &self,
        set: &mamori_firewall::ir::Set,
        add: &[SetElement],
        remove: &[SetElement],
    ) -> Result<(), BackendError> {
        Ok(mamori_firewall_linux::netlink::update_set(
            set, add, remove,
        )?)
    }

    fn arp_sweep(&self, interface: &str) -> Result<SweepReport, BackendError> {
        let options = mamori_firewall_linux::discovery::SweepOptions::new(interface);
        Ok(mamori_firewall_linux::discovery::sweep(&options)?)
    }
}

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
}

/// The table the box falls back to when its saved model cannot be read or applied: WAN
/// input and forwarding dropped, no forwarding between zones, and the LAN reaching only
/// the panel ports (anti-lockout) and DHCP/DNS on the box. Which interface is which comes
/// from the board's defaults (the built-in zones until board files exist), never from the
/// settings that may be what broke.
pub fn failsafe_model() -> FirewallConfig {
    use mamori_firewall::model::{Policy, Zone, Zones};
    let board = Zones::default();
    // Input and forwarding dropped, nothing masqueraded; the LAN keeps ping and DHCP/DNS.
    let closed = |zone: &Zone, lan: bool| Zone {
        interfaces: zone.interfaces.clone(),
        input: Some(Policy::Drop),
        forward: Some(Policy::Drop),
        masquerade: Some(false),
        allow_ping: Some(lan),
        allow_dhcp_dns: lan.then_some(true),
        ..Zone::default()
    };
    FirewallConfig {
        zones: Zones {
            lan: closed(&board.lan, true),
            wan: closed(&board.wan, false),
            dmz: None,
            guest: None,
        },
        forwardings: Vec::new(),
        ..FirewallConfig::default()
    }
}

impl<B: Backend> Firewalld<B> {
    /// Loads the state, reverts an unconfirmed probation, and applies the model in force.
    pub fn start(
        data_dir: &Path,
        configured: FirewallConfig,
        backend: B,
        audit: Arc<AuditLog>,
    ) -> Result<Arc<Self>, FirewalldError> {
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
            audit.record_or_log(
                "fw_revert",
                serde_json::json!({"serial": p.serial, "why": "restart before confirmation"}),
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
            started: unix_now(),
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
        self.apply_model(&failsafe_model())?;
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
            failsafe_model()
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

    /// Reverts a probation whose deadline passed; called by the timer every second.
    pub async fn tick(&self) {
        let mut models = self.models.lock().await;
        if !models.expired(unix_now()) {
            return;
        }
        let serial = models.probation.as_ref().map(|p| p.serial).unwrap_or(0);
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
        self.audit(
            "fw_revert",
            serde_json::json!({"serial": serial, "why": "not confirmed in time"}),
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
            FwRequest::Apply {
                model,
                timeout_secs,
            } => {
                // Refuse a bad model before anything changes.
                let compiled = mamori_firewall::compile(&model)?;
                let mut models = self.models.lock().await;
                let timeout = timeout_secs.unwrap_or(DEFAULT_TIMEOUT_SECS);
                let serial = models.begin(*model, now, timeout)?;
                if let Err(e) = self.backend.apply(&compiled.table) {
                    let _ = models.rollback();
                    return Err(FirewalldError::kernel(
                        "the kernel refused the new table; the old one stays",
                    )(e));
                }
                self.save(&models)?;
                let warnings: Vec<String> =
                    compiled.warnings.iter().map(ToString::to_string).collect();
                self.audit("fw_apply", serde_json::json!({"serial": serial, "timeout_secs": timeout, "by": by, "warnings": warnings}));
                tracing::info!(serial, timeout, "firewall model applied on probation");
                Ok(
                    serde_json::json!({"serial": serial, "confirm_within_secs": timeout, "warnings": warnings}),
                )
            }
            FwRequest::Confirm { serial } => {
                let mut models = self.models.lock().await;
                let serial = models.confirm(serial, now)?;
                self.save(&models)?;
                if let Some(was) = self.failsafe_reason().take() {
                    tracing::info!(was = %was, "a confirmed model replaces the fail-safe table");
                }
                self.audit(
                    "fw_confirm",
                    serde_json::json!({"serial": serial, "by": by}),
                );
                tracing::info!(serial, "firewall model confirmed");
                Ok(serde_json::json!({"confirmed": serial}))
            }
            FwRequest::Rollback => {
                let mut models = self.models.lock().await;
                let serial = models.probation.as_ref().map(|p| p.serial);
                let previous = models.rollback()?;
                self.apply_model(&previous.unwrap_or_else(|| self.fallback()))?;
                self.save(&models)?;
                self.audit(
                    "fw_rollback",
                    serde_json::json!({"serial": serial, "by": by}),
                );
                Ok(serde_json::json!({"rolled_back": serial}))
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
                // Keep the change in the models, so a re-apply (revert, restart) keeps it.
                let edit = |m: &mut FirewallConfig| {
                    if let Some(s) = m.sets.iter_mut().find(|s| s.name.as_str() == set) {
                        s.elements
                            .retain(|e| !remove.iter().any(|r| r.address == e.address));
                        for a in &add {
                            if !s.elements.iter().any(|e| e.address == a.address) {
                                s.elements.push(*a);
                            }
                        }
                    }
                };
                let mut confirmed = models.confirmed.take().unwrap_or_else(|| self.fallback());
                edit(&mut confirmed);
                models.confirmed = Some(confirmed);
                if let Some(p) = models.probation.as_mut() {
                    edit(&mut p.candidate);
                }
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
                if let Some(reason) = self.failsafe_reason().clone() {
                    health.state = "degraded".into();
                    health.last_error = Some(reason);
                }
                serde_json::to_value(health).map_err(|e| FirewalldError::Internal(e.to_string()))
            }
        }
    }
}

/// Reads the saved models; a missing file is a first start.
fn read_models(state_file: &Path) -> Result<Models, FirewalldError> {
    match std::fs::read(state_file) {
        Ok(bytes) => serde_json::from_slice(&bytes).map_err(|source| FirewalldError::State {
            path: state_file.to_path_buf(),
            source,
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Models::default()),
        Err(e) => Err(FirewalldError::io("reading", state_file)(e)),
    }
}

/// Writes the models atomically (temporary file, fsync, rename, directory fsync).
fn save_models(state_file: &Path, models: &Models) -> Result<(), FirewalldError> {
    use std::io::Write;
    let tmp = state_file.with_extension("json.tmp");
    let bytes =
        serde_json::to_vec_pretty(models).map_err(|e| FirewalldError::Internal(e.to_string()))?;
    let write = || -> std::io::Result<()> {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(&bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, state_file)?;
        if let Some(dir) = state_file.parent() {
            std::fs::File::open(dir)?.sync_all()?;
        }
        Ok(())
    };
    write().map_err(FirewalldError::io("writing", state_file))
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
mod tests {
    use super::*;
    use std::sync::Mutex as StdMutex;

    /// Records the tables applied (by their operator rules' comments) and can refuse;
    /// answers sweeps with the reports queued, then with an error.
    #[derive(Default)]
    struct Recorder {
        applied: StdMutex<Vec<String>>,
        /// Tables with these markers are refused.
        refuse_marker: StdMutex<Vec<String>>,
        refuse: std::sync::atomic::AtomicBool,
        sweeps: StdMutex<Vec<SweepReport>>,
        swept: StdMutex<Vec<String>>,
    }

    impl Backend for Arc<Recorder> {
        fn apply(&self, table: &mamori_firewall::ir::Table) -> Result<(), BackendError> {
            if self.refuse.load(std::sync::atomic::Ordering::SeqCst) {
                return Err("refused".into());
            }
            let text = mamori_firewall::render::render(table);
            let marker = ["alpha", "beta"]
                .iter()
                .find(|m| text.contains(*m))
                .map_or("configured", |m| *m);
            if self
                .refuse_marker
                .lock()
                .unwrap()
                .iter()
                .any(|m| m == marker)
            {
                return Err(format!("refused {marker}").into());
            }
            self.applied.lock().unwrap().push(marker.to_string());
            Ok(())
        }
        fn counters(&self) -> Result<serde_json::Value, BackendError> {
            Ok(serde_json::json!([]))
        }
        fn update_set(
            &self,
            _: &mamori_firewall::ir::Set,
            _: &[SetElement],
            _: &[SetElement],
        ) -> Result<(), BackendError> {
            Ok(())
        }
        fn arp_sweep(&self, interface: &str) -> Result<SweepReport, BackendError> {
            self.swept.lock().unwrap().push(interface.to_string());
            self.sweeps
                .lock()
                .unwrap()
                .pop()
                .ok_or_else(|| BackendError::from("no raw socket here"))
        }
    }

    fn model(name: &str) -> FirewallConfig {
        toml::from_str(&format!("[[rules]]\nname = \"{name}\"\nzone = \"lan\"\nprotocol = \"tcp\"\nports = [9]\naction = \"accept\"\n")).unwrap()
    }

    fn start(dir: &Path, rec: &Arc<Recorder>) -> Arc<Firewalld<Arc<Recorder>>> {
        let audit = Arc::new(AuditLog::open(&dir.join("audit"), 1 << 20, 2).unwrap());
        Firewalld::start(dir, FirewallConfig::default(), rec.clone(), audit).unwrap()
    }

    /// Asks the daemon to apply `model`, on probation for `timeout_secs`.
    async fn apply(
        d: &Firewalld<Arc<Recorder>>,
        model: FirewallConfig,
        timeout_secs: Option<u64>,
    ) -> Response {
        ask(
            d,
            FwRequest::Apply {
                model: Box::new(model),
                timeout_secs,
            },
        )
        .await
    }

    /// An administrator at the control socket.
    fn tanaka() -> Caller {
        let accounts =
            mamori_core::identity::Accounts::parse("tanaka:x:1000:1000::/:/bin/sh\n", "");
        mamori_core::identity::Access::standard(1000).caller(1000, 1000, &accounts)
    }

    /// Asks the daemon as [`tanaka`].
    async fn ask(d: &Firewalld<Arc<Recorder>>, req: FwRequest) -> Response {
        d.handle(req, &tanaka()).await
    }

    fn applied(rec: &Recorder) -> Vec<String> {
        rec.applied.lock().unwrap().clone()
    }

    #[tokio::test]
    async fn an_unconfirmed_apply_is_reverted_and_a_restart_boots_the_confirmed_model() {
        let dir = tempfile::tempdir().unwrap();
        let rec = Arc::new(Recorder::default());
        let d = start(dir.path(), &rec);
        let ok = |r: Response| match r {
            Response::Ok { data } => data,
            Response::Error { message, .. } => panic!("{message}"),
        };
        let data = ok(apply(&d, model("alpha"), Some(60)).await);
        let serial = data["serial"].as_u64().unwrap();
        ok(ask(
            &d,
            FwRequest::Confirm {
                serial: Some(serial),
            },
        )
        .await);
        ok(apply(&d, model("beta"), Some(1)).await);
        // A second apply while one is pending is refused.
        let busy = apply(&d, model("alpha"), None).await;
        assert!(
            matches!(busy, Response::Error { ref message, .. } if message.contains("waiting for confirmation")),
            "{busy:?}"
        );
        tokio::time::sleep(Duration::from_millis(2100)).await;
        d.tick().await;
        assert_eq!(applied(&rec), ["configured", "alpha", "beta", "alpha"]);
        drop(d);
        // A restart during a probation boots the confirmed model, not the candidate.
        let d = start(dir.path(), &rec);
        ok(apply(&d, model("beta"), Some(60)).await);
        drop(d);
        let rec2 = Arc::new(Recorder::default());
        let _d = start(dir.path(), &rec2);
        assert_eq!(applied(&rec2), ["alpha"]);
        let audit = std::fs::read_to_string(dir.path().join("audit/audit.jsonl")).unwrap();
        for event in ["fw_apply", "fw_confirm", "fw_revert"] {
            assert!(audit.contains(event), "{event} missing: {audit}");
        }
    }

    #[tokio::test]
    async fn a_model_the_kernel_refuses_leaves_nothing_pending() {
        let dir = tempfile::tempdir().unwrap();
        let rec = Arc::new(Recorder::default());
        let d = start(dir.path(), &rec);
        rec.refuse.store(true, std::sync::atomic::Ordering::SeqCst);
        let r = apply(&d, model("alpha"), None).await;
        assert!(
            matches!(r, Response::Error { ref message, .. } if message.contains("old one stays")),
            "{r:?}"
        );
        rec.refuse.store(false, std::sync::atomic::Ordering::SeqCst);
        let r = ask(&d, FwRequest::Confirm { serial: None }).await;
        assert!(
            matches!(r, Response::Error { ref message, .. } if message.contains("no change is waiting")),
            "{r:?}"
        );
        // An invalid model is refused before anything is applied.
        let bad: FirewallConfig =
            toml::from_str("[[rules]]\nname = \"x\"\nzone = \"dmz\"\naction = \"accept\"\n")
                .unwrap();
        let r = apply(&d, bad, None).await;
        assert!(
            matches!(r, Response::Error { ref message, .. } if message.contains("dmz")),
            "{r:?}"
        );
        assert_eq!(applied(&rec), ["configured"]);
    }

    #[tokio::test]
    async fn an_unreadable_state_gives_the_failsafe_table_loudly_until_a_model_is_confirmed() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("firewall")).unwrap();
        std::fs::write(
            dir.path().join("firewall/models.json"),
            b"{\"confirmed\": [garbage",
        )
        .unwrap();
        let rec = Arc::new(Recorder::default());
        let d = start(dir.path(), &rec);
        let status = match ask(&d, FwRequest::Status).await {
            Response::Ok { data } => data,
            Response::Error { message, .. } => panic!("{message}"),
        };
        let why = status["failsafe"].as_str().unwrap();
        assert!(why.contains("could not be read"), "{why}");
        let kept = std::fs::read_dir(dir.path().join("firewall"))
            .unwrap()
            .filter_map(|e| e.ok())
            .any(|e| {
                e.file_name()
                    .to_string_lossy()
                    .starts_with("models.json.unreadable-")
            });
        assert!(kept, "the unreadable file is kept for inspection");
        let audit = std::fs::read_to_string(dir.path().join("audit/audit.jsonl")).unwrap();
        assert!(audit.contains("fw_failsafe"), "{audit}");
        // The fail-safe table is what was applied: the LAN's panel and DHCP/DNS only.
        let table = mamori_firewall::compile(&failsafe_model()).unwrap().table;
        let text = mamori_firewall::render::render(&table);
        assert!(text.contains("443") && text.contains("53"), "{text}");
        assert_eq!(applied(&rec), ["configured"]);
        // An apply on probation that is not confirmed goes back to the fail-safe table.
        let r = apply(&d, model("alpha"), Some(1)).await;
        assert!(matches!(r, Response::Ok { .. }), "{r:?}");
        tokio::time::sleep(Duration::from_millis(2100)).await;
        d.tick().await;
        assert_eq!(applied(&rec), ["configured", "alpha", "configured"]);
        // A confirmed model leaves it.
        apply(&d, model("beta"), Some(60)).await;
        ask(&d, FwRequest::Confirm { serial: None }).await;
        let status = match ask(&d, FwRequest::Status).await {
            Response::Ok { data } => data,
            Response::Error { message, .. } => panic!("{message}"),
        };
        assert!(status["failsafe"].is_null(), "{status}");
    }

    #[tokio::test]
    async fn a_model_the_kernel_refuses_at_start_gives_the_failsafe_table() {
        let dir = tempfile::tempdir().unwrap();
        let rec = Arc::new(Recorder::default());
        {
            let d = start(dir.path(), &rec);
            apply(&d, model("alpha"), Some(60)).await;
            ask(&d, FwRequest::Confirm { serial: None }).await;
        }
        // The kernel refuses "alpha" at the next start (say, a module is missing).
        let picky = Arc::new(Recorder::default());
        picky.refuse_marker.lock().unwrap().push("alpha".into());
        let d = start(dir.path(), &picky);
        let status = match ask(&d, FwRequest::Status).await {
            Response::Ok { data } => data,
            Response::Error { message, .. } => panic!("{message}"),
        };
        assert!(
            status["failsafe"]
                .as_str()
                .unwrap()
                .contains("could not be applied"),
            "{status}"
        );
        assert_eq!(applied(&picky), ["configured"]);
    }

    fn report(sightings: &[(&str, &str)]) -> SweepReport {
        use mamori_firewall::discovery::{ArpKind, Sighting};
        SweepReport {
            interface: "br0".into(),
            address: "192.0.2.1/20".parse().unwrap(),
            network: "192.0.0.0/22".parse().unwrap(),
            cut_from: Some("192.0.0.0/20".parse().unwrap()),
            requests_sent: 1021,
            requests_failed: 0,
            sightings: sightings
                .iter()
                .map(|(ip, mac)| Sighting {
                    ip: ip.parse().unwrap(),
                    mac: mac.parse().unwrap(),
                    kind: ArpKind::Reply,
                })
                .collect(),
        }
    }

    #[tokio::test]
    async fn sweeps_of_the_lan_interfaces_fill_the_device_list() {
        let dir = tempfile::tempdir().unwrap();
        let rec = Arc::new(Recorder::default());
        rec.sweeps.lock().unwrap().push(report(&[
            ("192.0.2.77", "b8:27:eb:12:34:56"),
            ("192.0.2.9", "da:a1:19:3c:22:07"),
        ]));
        let audit = Arc::new(AuditLog::open(&dir.path().join("audit"), 1 << 20, 2).unwrap());
        let configured: FirewallConfig =
            toml::from_str("[zones.lan]\ninterfaces = [\"br0\", \"wlan*\"]\n").unwrap();
        let d = Firewalld::start(dir.path(), configured, rec.clone(), audit).unwrap();
        let devices = |r: Response| match r {
            Response::Ok { data } => data,
            Response::Error { message, .. } => panic!("{message}"),
        };
        let empty = devices(ask(&d, FwRequest::Devices).await);
        assert_eq!(empty["sweeps"], 0);
        assert_eq!(empty["devices"], serde_json::json!([]));

        d.discover().await;
        // Only the named interface: a wildcard has no one address to sweep from.
        assert_eq!(*rec.swept.lock().unwrap(), ["br0"]);
        let data = devices(ask(&d, FwRequest::Devices).await);
        assert_eq!(data["sweeps"], 1);
        let list = data["devices"].as_array().unwrap();
        assert_eq!(list.len(), 2);
        assert_eq!(list[0]["ip"], "192.0.2.9");
        assert_eq!(list[0]["locally_administered"], true);
        assert_eq!(list[1]["ip"], "192.0.2.77");
        assert_eq!(list[1]["mac"], "b8:27:eb:12:34:56");
        assert_eq!(list[1]["vendor"], "Raspberry Pi");
        assert!(list[1]["first_seen"].as_u64().unwrap() > 1_600_000_000);

        // A failed sweep changes nothing (and expires nothing).
        d.discover().await;
        assert_eq!(devices(ask(&d, FwRequest::Devices).await), data);
    }
}
