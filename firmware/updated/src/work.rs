//! The daemon's work: start-up reconciliation, the health gate, the scheduled check, and
//! installs (from the repository or an offline file). The TUF and install steps are
//! synchronous and run on blocking threads; one check or install runs at a time.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use mamori_core::audit::AuditLog;
use mamori_core::clock::{rfc3339_utc, unix_now};
use mamori_core::control::ErrorKind;
use mamori_core::identity::Caller;
use mamori_update::bootenv::{self, BootEnv};
use mamori_update::bundle::{Installed, Offer};
use mamori_update::client::{Fetch, Limits, MetadataDir, RefreshError, refresh, target_file_name};
use mamori_update::config::{BootEnvSpec, Mode, UpdateConfig, Window};
use mamori_update::install::{InstallError, Phase, Target, install};
use mamori_update::slots::{BootState, Slot};
use mamori_update::state::{
    HealthGate, HistoryEntry, SlotStatus, Startup, UpdateState, Verdict, reconcile,
};
use mamori_update::trust::TrustedSet;
use mamori_update::version::Version;

use crate::fetch::{BaseUrl, HttpsRepository, tls_config};
use crate::platform::Platform;
use crate::status::{Available, CheckResult, ClockBasis, Progress, Release, Status, Trial};
use crate::{Options, Refused, SharedStatus, UpdateRequest};

/// The directory the panel writes uploaded update files to (`<data_dir>/update-uploads`):
/// the only place `remove_after` removes from.
const UPLOADS_DIR: &str = "update-uploads";

/// How often the health gate looks.
const GATE_EVERY: Duration = Duration::from_secs(2);

/// The running daemon.
pub struct Daemon {
    config: Mutex<UpdateConfig>,
    reload: Option<crate::Reload>,
    dir: PathBuf,
    release: Release,
    booted: Option<Slot>,
    platform: Arc<dyn Platform>,
    audit: Arc<AuditLog>,
    health_sockets: Vec<(String, PathBuf)>,
    status: SharedStatus,
    state: Arc<Mutex<UpdateState>>,
    state_writable: bool,
    busy: Arc<tokio::sync::Mutex<()>>,
    test_stop_after: Option<Phase>,
}

fn refused(kind: ErrorKind, message: impl Into<String>) -> Refused {
    Refused {
        kind,
        message: message.into(),
    }
}

impl Daemon {
    /// The `[update]` section in force (settings versions apply live: [`Daemon::apply`]).
    fn config(&self) -> UpdateConfig {
        self.config.lock().map(|c| c.clone()).unwrap_or_default()
    }

    /// Reads the `[update]` section of settings version `version` (the newest when `None`)
    /// and puts it in force: the next check, install and health look use it.
    fn apply(&self, version: Option<u64>) -> Result<serde_json::Value, Refused> {
        let reload = self.reload.as_ref().ok_or_else(|| {
            refused(
                ErrorKind::Conflict,
                "this update daemon runs on its configuration file alone (no settings store)",
            )
        })?;
        let (v, config) = reload(version).map_err(|e| refused(ErrorKind::Invalid, e))?;
        // The keys that changed, as `mamori settings` reports them for every daemon.
        let before = serde_json::to_value(self.config()).unwrap_or_default();
        let after = serde_json::to_value(&config).unwrap_or_default();
        let changed: Vec<String> = after
            .as_object()
            .map(|o| {
                o.iter()
                    .filter(|(k, v)| before.get(k.as_str()) != Some(v))
                    .map(|(k, _)| format!("update.{k}"))
                    .collect()
            })
            .unwrap_or_default();
        let mode = match config.mode {
            Mode::Notify => "notify",
            Mode::Auto => "auto",
        };
        let summary = serde_json::json!({"version": v, "unchanged": changed.is_empty(),
            "applied": {"changed": changed, "restart_needed": []}});
        if let Ok(mut st) = self.status.lock() {
            st.repository = config.repository.clone();
            st.mode = mode.into();
            st.window = config.window.clone();
        }
        if let Ok(mut c) = self.config.lock() {
            *c = config;
        }
        tracing::info!(version = v, "update settings in force");
        Ok(summary)
    }

    fn state_path(&self) -> PathBuf {
        self.dir.join("state.json")
    }

    fn metadata(&self) -> MetadataDir {
        MetadataDir::new(self.dir.join("metadata"))
    }

    fn open_env(&self) -> Result<Box<dyn BootEnv>, String> {
        let spec = BootEnvSpec::parse(&self.config().boot_env)
            .ok_or_else(|| format!("update.boot_env {:?}", self.config().boot_env))?;
        bootenv::open(&spec).map_err(|e| e.to_string())
    }

    fn audit(&self, event: &str, fields: serde_json::Value) -> Result<(), String> {
        self.audit
            .record(event, fields)
            .map(|_| ())
            .map_err(|e| format!("the audit log cannot be written: {e}"))
    }

    fn save_state(&self, state: &UpdateState) -> Result<(), String> {
        if !self.state_writable {
            return Err(
                "the update state was written by newer firmware; it is left as it is".into(),
            );
        }
        mamori_core::fsutil::write_atomic(&self.state_path(), &state.to_bytes())
            .map_err(|e| format!("{}: {e}", self.state_path().display()))
    }

    /// Reads the state, reconciles it with the slot that booted and starts the health gate
    /// and the schedule.
    pub async fn start(options: Options) -> anyhow::Result<Arc<Daemon>> {
        std::fs::create_dir_all(&options.dir)?;
        let release = Release::read(&options.config.release);
        let state_path = options.dir.join("state.json");
        let (state, writable, state_problem) = match std::fs::read(&state_path) {
            Err(_) => (UpdateState::default(), true, None),
            Ok(bytes) => match UpdateState::parse(&bytes) {
                Ok(s) => (s, true, None),
                Err(e) => (UpdateState::default(), false, Some(e.to_string())),
            },
        };
        let booted = options.platform.booted();
        let blocked = match (&booted, &state_problem, options.config.slots.is_empty()) {
            (_, Some(p), _) => Some(p.clone()),
            (Err(e), _, _) => Some(e.clone()),
            (_, _, true) => Some("this board has no A/B slots configured ([update] slots)".into()),
            _ => None,
        };
        let status = Status {
            release: release.clone(),
            booted: booted.as_ref().ok().map(|s| s.name().to_string()),
            blocked,
            slots: BTreeMap::new(),
            trial: None,
            clock: ClockBasis::default(),
            repository: options.config.repository.clone(),
            mode: match options.config.mode {
                Mode::Notify => "notify".into(),
                Mode::Auto => "auto".into(),
            },
            window: options.config.window.clone(),
            last_check: None,
            available: None,
            progress: None,
            reboot_pending: false,
            last_error: None,
            history: Vec::new(),
        };
        let test_stop_after = options
            .test_stop_after
            .filter(|_| options.config.simulate.is_some());
        let daemon = Daemon {
            config: Mutex::new(options.config),
            reload: options.reload,
            dir: options.dir,
            release,
            booted: booted.ok(),
            platform: options.platform,
            audit: options.audit,
            health_sockets: options.health_sockets,
            status: Arc::new(Mutex::new(status)),
            state: Arc::new(Mutex::new(state)),
            state_writable: writable,
            busy: Arc::new(tokio::sync::Mutex::new(())),
            test_stop_after,
        };
        daemon.clock_basis();
        let startup = daemon.reconcile_at_start();
        daemon.sync_status();
        let daemon = Arc::new(daemon);
        if let Some(startup) = startup {
            let d = daemon.clone();
            tokio::spawn(async move { d.gate(startup).await });
        }
        let d = daemon.clone();
        tokio::spawn(async move { d.schedule().await });
        Ok(daemon)
    }

    fn sync_status(&self) {
        let state = self.state.lock().map(|s| s.clone()).unwrap_or_default();
        if let Ok(mut st) = self.status.lock() {
            st.sync_state(&state);
            st.reboot_pending = self
                .booted
                .is_some_and(|b| state.slot(b.other()).status == SlotStatus::Installed);
        }
    }

    /// The time expiry is judged against: the latest of the synchronised clock, the build
    /// time and the last time known; recorded in the status.
    fn clock_basis(&self) -> u64 {
        let synced = self.platform.clock_synchronized();
        let clock = unix_now();
        let mut state = self.state.lock().map(|s| s.clone()).unwrap_or_default();
        if synced {
            state.saw_time(clock);
            if let Ok(mut s) = self.state.lock() {
                s.saw_time(clock);
            }
        }
        let candidates = [
            (if synced { clock } else { 0 }, "clock"),
            (self.release.built, "build time"),
            (state.last_known_time, "last known time"),
        ];
        // The first of equal times names the basis: a synchronised clock is the clock.
        let (at, basis) = candidates
            .into_iter()
            .fold((0, "clock"), |best, c| if c.0 > best.0 { c } else { best });
        if let Ok(mut st) = self.status.lock() {
            st.clock = ClockBasis {
                synchronized: synced,
                judged_at: rfc3339_utc(at),
                basis: basis.into(),
            };
        }
        at
    }

    fn reconcile_at_start(&self) -> Option<Startup> {
        let booted = self.booted?;
        if !self.state_writable {
            return Some(Startup::Rearm(booted));
        }
        let mut env = match self.open_env() {
            Ok(e) => e,
            Err(e) => {
                self.block(format!("the boot environment cannot be opened: {e}"));
                return None;
            }
        };
        let mut boot = match env.read().map_err(|e| e.to_string()).and_then(|vars| {
            BootState::from_vars(&vars)
                .map(|b| (vars, b))
                .map_err(|e| e.to_string())
        }) {
            Ok(v) => v,
            Err(e) => {
                self.block(format!("the boot environment cannot be read: {e}"));
                return None;
            }
        };
        let now = unix_now();
        let mut state = self.state.lock().map(|s| s.clone()).unwrap_or_default();
        let r = reconcile(
            &mut state,
            &mut boot.1,
            booted,
            &self.platform.boot_id(),
            now,
        );
        for e in &r.events {
            let _ = self.audit(
                &format!("update_{}", e.event),
                serde_json::json!({"slot": e.slot, "version": e.version, "detail": e.detail}),
            );
            tracing::warn!(event = %e.event, slot = ?e.slot, version = ?e.version, "{}", e.detail);
        }
        if r.env_changed {
            boot.1.apply(&mut boot.0);
            if let Err(e) = env.write(&boot.0) {
                tracing::error!(error = %e, "could not write the boot environment");
            }
        }
        if let Err(e) = self.save_state(&state) {
            tracing::error!(error = %e, "could not save the update state");
        }
        if let Ok(mut s) = self.state.lock() {
            *s = state;
        }
        Some(r.startup)
    }

    fn block(&self, why: String) {
        tracing::error!("{why}");
        if let Ok(mut st) = self.status.lock() {
            st.blocked = Some(why);
        }
    }

    /// The health gate (see [`HealthGate`]): a trial slot is marked good or failed (and the
    /// box restarted into the other); a good slot gets its boot attempts back once healthy.
    async fn gate(self: Arc<Daemon>, startup: Startup) {
        let (slot, trial) = match startup {
            Startup::Trial(s) => (s, true),
            Startup::Rearm(s) => (s, false),
        };
        let start = unix_now();
        let mut gate = HealthGate::new(
            self.config().health_window.as_secs(),
            self.config().health_deadline.as_secs(),
            start,
        );
        loop {
            let problems = self.problems().await;
            if let Ok(mut st) = self.status.lock() {
                st.trial = Some(Trial {
                    slot: slot.name().into(),
                    kind: if trial { "trial" } else { "rearm" }.into(),
                    problems: problems.clone(),
                    deadline: rfc3339_utc(start + self.config().health_deadline.as_secs()),
                });
            }
            match gate.observe(unix_now(), problems.is_empty()) {
                Verdict::Wait => {}
                // The boot environment is read, changed and written by installs too: one
                // writer at a time (an install in progress finishes first).
                Verdict::Good => {
                    let _one_writer = self.busy.clone().lock_owned().await;
                    self.mark_good(slot, trial);
                    break;
                }
                Verdict::Failed if trial => {
                    let _one_writer = self.busy.clone().lock_owned().await;
                    self.fail_trial(slot, &problems);
                    break;
                }
                // A good slot that is unhealthy is not rolled back (there may be nothing
                // better to boot): keep watching, report it.
                Verdict::Failed => {
                    gate = HealthGate::new(
                        self.config().health_window.as_secs(),
                        self.config().health_deadline.as_secs(),
                        unix_now(),
                    );
                }
            }
            tokio::time::sleep(GATE_EVERY).await;
        }
        if let Ok(mut st) = self.status.lock() {
            st.trial = None;
        }
        self.sync_status();
    }

    /// What is not healthy now: inactive units, daemons that do not answer `running`.
    async fn problems(&self) -> Vec<String> {
        let units = self.config().health_units.clone();
        let platform = self.platform.clone();
        let sockets = self.health_sockets.clone();
        tokio::task::spawn_blocking(move || {
            let mut out: Vec<String> = platform
                .inactive_units(&units)
                .into_iter()
                .map(|(u, s)| format!("{u} is {s}"))
                .collect();
            for (daemon, socket) in sockets {
                match ask_health(&socket) {
                    Ok(state) if state == "running" => {}
                    Ok(state) => out.push(format!("{daemon} is {state}")),
                    Err(e) => out.push(format!("{daemon} does not answer: {e}")),
                }
            }
            out
        })
        .await
        .unwrap_or_else(|e| vec![format!("the health check failed: {e}")])
    }

    fn mark_good(&self, slot: Slot, trial: bool) {
        let version = self
            .state
            .lock()
            .ok()
            .and_then(|s| s.slot(slot).version)
            .unwrap_or_else(|| self.release.version.clone());
        if trial
            && let Err(e) = self.audit(
                "update_good",
                serde_json::json!({"slot": slot.name(), "version": version}),
            )
        {
            tracing::error!("{e}");
            return;
        }
        let result = self.open_env().and_then(|mut env| {
            let mut vars = env.read().map_err(|e| e.to_string())?;
            let mut boot = BootState::from_vars(&vars).map_err(|e| e.to_string())?;
            if trial {
                boot.mark_good(slot);
            } else {
                boot.rearm(slot);
            }
            boot.apply(&mut vars);
            env.write(&vars).map_err(|e| e.to_string())
        });
        if let Err(e) = result {
            tracing::error!(error = %e, "could not mark the running slot good in the boot environment");
            return;
        }
        if let Ok(mut state) = self.state.lock() {
            state.set(slot, SlotStatus::Good, Some(&version), unix_now());
            if trial {
                state.record(HistoryEntry {
                    time: unix_now(),
                    event: "good".into(),
                    slot: Some(slot.name().into()),
                    version: Some(version.clone()),
                    detail: "healthy after the restart: kept".into(),
                });
            }
            self.end_trial(&state);
            let snapshot = state.clone();
            drop(state);
            if let Err(e) = self.save_state(&snapshot) {
                tracing::error!("{e}");
            }
        }
        tracing::info!(slot = %slot, version, trial, "the running firmware is healthy: marked good");
    }

    /// Ends the trial in the status in the same step as the slot's verdict goes into it,
    /// under the state's lock: a status read in between would show the slot judged and the
    /// trial still running. (Lock order: the state, then the status.)
    fn end_trial(&self, state: &UpdateState) {
        if let Ok(mut st) = self.status.lock() {
            st.trial = None;
            st.sync_state(state);
        }
    }

    fn fail_trial(&self, slot: Slot, problems: &[String]) {
        let version = self.state.lock().ok().and_then(|s| s.slot(slot).version);
        let detail = format!(
            "not healthy within {}: {}",
            humantime_secs(self.config().health_deadline.as_secs()),
            problems.join("; ")
        );
        let _ = self.audit(
            "update_failed",
            serde_json::json!({"slot": slot.name(), "version": version, "detail": detail}),
        );
        let result = self.open_env().and_then(|mut env| {
            let mut vars = env.read().map_err(|e| e.to_string())?;
            let mut boot = BootState::from_vars(&vars).map_err(|e| e.to_string())?;
            boot.fail(slot);
            boot.apply(&mut vars);
            env.write(&vars).map_err(|e| e.to_string())
        });
        if let Ok(mut state) = self.state.lock() {
            state.set(slot, SlotStatus::Bad, None, unix_now());
            state.record(HistoryEntry {
                time: unix_now(),
                event: "failed".into(),
                slot: Some(slot.name().into()),
                version,
                detail: detail.clone(),
            });
            self.end_trial(&state);
            let snapshot = state.clone();
            drop(state);
            let _ = self.save_state(&snapshot);
        }
        tracing::error!(slot = %slot, "{detail}; restarting into the previous firmware");
        match result {
            Ok(()) => {
                if let Err(e) = self.platform.reboot() {
                    tracing::error!(error = %e, "could not restart");
                }
            }
            Err(e) => {
                tracing::error!(error = %e, "could not write the boot environment; not restarting")
            }
        }
    }

    /// Checks the repository every `check_every` plus up to a quarter of it at random; in
    /// `auto` mode, with an update on offer outside the window, again when the window opens
    /// (within its first ten minutes), and installs then.
    async fn schedule(self: Arc<Daemon>) {
        // A first check soon after start, spread over a minute (at once on a simulated
        // system: the tests and the try-out).
        let mut wait = if self.config().simulate.is_some() {
            Duration::from_secs(1)
        } else {
            Duration::from_secs(5 + rand::random::<u64>() % 60)
        };
        loop {
            tokio::time::sleep(wait).await;
            let config = self.config();
            let every = config.check_every.as_secs();
            wait = Duration::from_secs(every + rand::random::<u64>() % (every / 4).max(1));
            if config.repository.is_empty() {
                // No repository (yet): look again when the settings may have named one.
                wait = Duration::from_secs(60);
                continue;
            }
            let Ok(Some(offer)) = self.clone().check().await else {
                continue;
            };
            if config.mode != Mode::Auto {
                continue;
            }
            let Some(window) = Window::parse(&config.window) else {
                continue;
            };
            let now = unix_now();
            if !window.contains(now) {
                let opens = window.opens_in(now) + rand::random::<u64>() % 600;
                wait = wait.min(Duration::from_secs(opens.max(1)));
                continue;
            }
            if self.status.lock().map(|s| s.reboot_pending).unwrap_or(true) {
                continue;
            }
            tracing::info!(target = %offer.target, "installing in the maintenance window");
            if let (Ok(busy), Ok(())) = (self.lock(), self.ready_to_install()) {
                let _ = self
                    .clone()
                    .install_remote(busy, Some(offer.target), true, "auto")
                    .await;
            }
        }
    }

    /// The repository at the configured address.
    fn https(&self) -> Result<HttpsRepository, String> {
        let base = BaseUrl::parse(&self.config().repository)?;
        let pem = match &self.config().repository_ca {
            Some(p) => Some(std::fs::read(p).map_err(|e| format!("{}: {e}", p.display()))?),
            None => None,
        };
        Ok(HttpsRepository::new(
            base,
            tls_config(pem.as_deref())?,
            tokio::runtime::Handle::current(),
        ))
    }

    fn shipped_root(&self) -> Result<Vec<u8>, String> {
        std::fs::read(&self.config().root).map_err(|e| {
            format!(
                "the image's update root {}: {e}",
                self.config().root.display()
            )
        })
    }

    fn installed(&self) -> Result<Installed, String> {
        Ok(Installed {
            board: self.release.board.clone(),
            version: Version::parse(&self.release.version).ok_or_else(|| {
                format!(
                    "the running version {:?} is not a version",
                    self.release.version
                )
            })?,
        })
    }

    /// The best target this box may install: the newest passing [`Offer::check`].
    fn best_offer(&self, set: &TrustedSet) -> Option<Available> {
        let installed = self.installed().ok()?;
        let targets = set.targets()?;
        let failed: Vec<String> = self
            .state
            .lock()
            .map(|s| {
                s.history
                    .iter()
                    .filter(|h| ["failed", "rolled_back", "fell_back"].contains(&h.event.as_str()))
                    .filter_map(|h| h.version.clone())
                    .collect()
            })
            .unwrap_or_default();
        let mut best: Option<(Version, Available)> = None;
        for (name, t) in &targets.body.targets {
            let Ok(offer) = Offer::from_custom(t.custom.as_ref()) else {
                continue;
            };
            // A version that failed on this box (or stopped starting) is not offered again
            // (an administrator may still install it by name).
            if failed.contains(&offer.version) {
                continue;
            }
            if offer
                .check(&installed, self.config().allow_downgrade)
                .is_err()
            {
                continue;
            }
            let Some(v) = Version::parse(&offer.version) else {
                continue;
            };
            if best.as_ref().is_none_or(|(b, _)| v.cmp_value(b).is_gt()) {
                let downgrade = v.cmp_value(&installed.version).is_lt();
                best = Some((
                    v,
                    Available {
                        target: name.clone(),
                        version: offer.version.clone(),
                        length: t.length,
                        notes: offer.notes.clone(),
                        downgrade,
                    },
                ));
            }
        }
        best.map(|(_, a)| a)
    }

    fn refresh_with(&self, fetch: &mut dyn Fetch, now: u64) -> Result<TrustedSet, RefreshError> {
        let root = self.shipped_root().map_err(|e| RefreshError::Store {
            path: self.config().root.clone(),
            source: std::io::Error::other(e),
        })?;
        refresh(&root, &self.metadata(), fetch, Limits::default(), now)
    }

    /// Checks the repository now; records the result and what is on offer.
    pub async fn check(self: Arc<Daemon>) -> Result<Option<Available>, Refused> {
        let _busy = self.lock()?;
        let repo = self.https().map_err(|e| refused(ErrorKind::Invalid, e))?;
        let now = self.clock_basis();
        let this = self.clone();
        let result = tokio::task::spawn_blocking(move || {
            let mut repo = repo;
            this.refresh_with(&mut repo, now)
                .map(|set| this.best_offer(&set))
        })
        .await
        .map_err(|e| refused(ErrorKind::Internal, e.to_string()))?;
        let time = rfc3339_utc(unix_now());
        let (check, available) = match result {
            Ok(a) => (
                CheckResult {
                    time,
                    ok: true,
                    kind: String::new(),
                    error: String::new(),
                },
                a,
            ),
            Err(e) => {
                tracing::warn!(kind = e.kind(), error = %e, "update check refused");
                (
                    CheckResult {
                        time,
                        ok: false,
                        kind: e.kind().into(),
                        error: e.to_string(),
                    },
                    None,
                )
            }
        };
        let newly = {
            let mut st = self
                .status
                .lock()
                .map_err(|e| refused(ErrorKind::Internal, e.to_string()))?;
            let newly = available
                .as_ref()
                .is_some_and(|a| st.available.as_ref().map(|o| &o.version) != Some(&a.version));
            st.last_check = Some(check.clone());
            st.available = available.clone();
            newly
        };
        if newly && let Some(a) = &available {
            let _ = self.audit(
                "update_available",
                serde_json::json!({"target": a.target, "version": a.version, "downgrade": a.downgrade}),
            );
        }
        if !check.ok {
            return Err(refused(
                ErrorKind::Conflict,
                format!(
                    "the repository was refused ({}): {}",
                    check.kind, check.error
                ),
            ));
        }
        let _ = self.save_state(&self.state.lock().map(|s| s.clone()).unwrap_or_default());
        Ok(available)
    }

    fn begin_progress(&self, target: &str, version: &str, total: u64) {
        if let Ok(mut st) = self.status.lock() {
            st.progress = Some(Progress {
                target: target.into(),
                version: version.into(),
                phase: "downloading".into(),
                done: 0,
                total,
            });
            st.last_error = None;
        }
    }

    fn end_progress(&self, error: Option<(&str, String)>) {
        if let Ok(mut st) = self.status.lock() {
            st.progress = None;
            st.last_error = error.map(|(kind, e)| CheckResult {
                time: rfc3339_utc(unix_now()),
                ok: false,
                kind: kind.into(),
                error: e,
            });
        }
        self.sync_status();
    }

    /// Installs from the repository: the named target or the one on offer.
    pub async fn install_remote(
        self: Arc<Daemon>,
        _busy: tokio::sync::OwnedMutexGuard<()>,
        target: Option<String>,
        reboot: bool,
        by: &str,
    ) -> Result<serde_json::Value, Refused> {
        let repo = self.https().map_err(|e| refused(ErrorKind::Invalid, e))?;
        let now = self.clock_basis();
        let this = self.clone();
        let by = by.to_string();
        let result = tokio::task::spawn_blocking(move || {
            let mut fetch = repo.clone();
            let set = this
                .refresh_with(&mut fetch, now)
                .map_err(|e| (e.kind().to_string(), e.to_string()))?;
            let name = match target {
                Some(t) => t,
                None => this
                    .best_offer(&set)
                    .map(|a| a.target)
                    .ok_or_else(|| ("none".to_string(), "no update to install".to_string()))?,
            };
            let signed = set
                .target(&name)
                .map_err(|e| (e.kind().to_string(), e.to_string()))?
                .clone();
            let file = target_file_name(&set, &name, &signed);
            let mut stream = repo.target(&file, signed.length);
            this.install_stream(&name, &signed, &mut stream, &by)
        })
        .await
        .map_err(|e| refused(ErrorKind::Internal, e.to_string()))?;
        self.finish_install(result, reboot)
    }

    /// Installs from an offline update file.
    pub async fn install_file(
        self: Arc<Daemon>,
        _busy: tokio::sync::OwnedMutexGuard<()>,
        path: PathBuf,
        accept_expired: bool,
        reboot: bool,
        by: &str,
    ) -> Result<serde_json::Value, Refused> {
        let now = self.clock_basis();
        let this = self.clone();
        let by = by.to_string();
        let result = tokio::task::spawn_blocking(move || {
            let file = std::fs::File::open(&path)
                .map_err(|e| ("io".to_string(), format!("{}: {e}", path.display())))?;
            let mut reader = std::io::BufReader::with_capacity(1 << 20, file);
            let (mut repo, name, size) = mamori_update::offline::read_head(&mut reader)
                .map_err(|e| (e.kind().to_string(), e.to_string()))?;
            let set = match this.refresh_with(&mut repo.clone(), now) {
                Err(RefreshError::Tuf(mamori_update::error::TufError::Expired { role, .. }))
                    if accept_expired =>
                {
                    this.audit(
                        "update_expired_accepted",
                        serde_json::json!({"file": path.display().to_string(), "role": role, "by": by}),
                    )
                    .map_err(|e| ("audit".to_string(), e))?;
                    // Expiry alone is waived: signatures, versions and thresholds are not.
                    this.refresh_with(&mut repo, 0)
                }
                other => other,
            }
            .map_err(|e| (e.kind().to_string(), e.to_string()))?;
            let signed = set.target(&name).map_err(|e| (e.kind().to_string(), e.to_string()))?.clone();
            if signed.length != size {
                return Err((
                    "target_length".to_string(),
                    format!("the file carries {size} bytes of {name}, its metadata signs {}", signed.length),
                ));
            }
            let mut body = reader.take(size);
            this.install_stream(&name, &signed, &mut body, &by)
        })
        .await
        .map_err(|e| refused(ErrorKind::Internal, e.to_string()))?;
        self.finish_install(result, reboot)
    }

    /// The one-at-a-time lock of checks and installs.
    fn lock(&self) -> Result<tokio::sync::OwnedMutexGuard<()>, Refused> {
        self.busy.clone().try_lock_owned().map_err(|_| {
            refused(
                ErrorKind::Busy,
                "an update check or install is already running",
            )
        })
    }

    fn ready_to_install(&self) -> Result<(), Refused> {
        if let Some(why) = self.status.lock().ok().and_then(|s| s.blocked.clone()) {
            return Err(refused(ErrorKind::Conflict, why));
        }
        let Some(booted) = self.booted else {
            return Err(refused(
                ErrorKind::Conflict,
                "the running slot is not known",
            ));
        };
        let on_trial = self
            .state
            .lock()
            .is_ok_and(|s| s.slot(booted).status == SlotStatus::Trying);
        if on_trial {
            return Err(refused(
                ErrorKind::Conflict,
                InstallError::OnTrial.to_string(),
            ));
        }
        Ok(())
    }

    fn finish_install(
        &self,
        result: Result<serde_json::Value, (String, String)>,
        reboot: bool,
    ) -> Result<serde_json::Value, Refused> {
        match result {
            Ok(v) => {
                self.end_progress(None);
                if reboot && let Err(e) = self.platform.reboot() {
                    return Err(refused(
                        ErrorKind::Internal,
                        format!("installed, but the restart failed: {e}"),
                    ));
                }
                Ok(v)
            }
            Err((kind, e)) => {
                self.end_progress(Some((&kind, e.clone())));
                Err(refused(
                    ErrorKind::Conflict,
                    format!("not installed ({kind}): {e}"),
                ))
            }
        }
    }

    /// Judges the offer, records the install in the audit log, and writes the slot.
    fn install_stream(
        &self,
        name: &str,
        signed: &mamori_update::metadata::TargetFile,
        source: &mut dyn Read,
        by: &str,
    ) -> Result<serde_json::Value, (String, String)> {
        let fail = |kind: &str, e: String| (kind.to_string(), e);
        let offer = Offer::from_custom(signed.custom.as_ref())
            .map_err(|e| fail(e.kind(), e.to_string()))?;
        let installed = self.installed().map_err(|e| fail("release", e))?;
        offer
            .check(&installed, self.config().allow_downgrade)
            .map_err(|e| fail(e.kind(), e.to_string()))?;
        let booted = self
            .booted
            .ok_or_else(|| fail("slot", "the running slot is not known".into()))?;
        let slot = booted.other();
        self.audit(
            "update_install",
            serde_json::json!({"target": name, "version": offer.version, "slot": slot.name(), "by": by,
                "downgrade": Version::parse(&offer.version).is_some_and(|v| v.cmp_value(&installed.version).is_lt())}),
        )
        .map_err(|e| fail("audit", e))?;
        self.begin_progress(name, &offer.version, signed.length);
        let mut env = self.open_env().map_err(|e| fail("boot_env", e))?;
        let mut state = self.state.lock().map(|s| s.clone()).unwrap_or_default();
        let devices = self.config().devices(slot);
        let boot_id = self.platform.boot_id();
        let status = self.status.clone();
        let stop = self.test_stop_after;
        let marker = self.dir.clone();
        let mut hook = move |phase: Phase| {
            if let Ok(mut st) = status.lock()
                && let Some(p) = st.progress.as_mut()
            {
                p.phase = phase.name().into();
            }
            if stop == Some(phase) {
                let _ = std::fs::write(marker.join(format!("test-stopped-{}", phase.name())), b"");
                // Wait here to be killed (tests only; see Options::test_stop_after).
                loop {
                    std::thread::sleep(Duration::from_secs(3600));
                }
            }
        };
        let mut counted = Counted {
            inner: source,
            status: self.status.clone(),
            done: 0,
        };
        let state_path = self.state_path();
        let mut target = Target {
            env: env.as_mut(),
            state: &mut state,
            state_path: &state_path,
            booted,
            devices: &devices,
            tries: self.config().boot_tries,
            boot_id: &boot_id,
            now: unix_now(),
            hook: &mut hook,
        };
        let result = install(&mut target, name, signed, &offer, &mut counted);
        if let Ok(mut s) = self.state.lock() {
            *s = state;
        }
        match result {
            Ok(manifest) => {
                let _ = self.audit(
                    "update_installed",
                    serde_json::json!({"target": name, "version": offer.version, "slot": slot.name()}),
                );
                Ok(
                    serde_json::json!({"installed": name, "version": manifest.version, "slot": slot.name(),
                    "restart": "the new firmware boots once at the next restart"}),
                )
            }
            Err(e) => {
                let _ = self.audit(
                    "update_install_failed",
                    serde_json::json!({"target": name, "version": offer.version, "kind": e.kind(), "error": e.to_string()}),
                );
                Err(install_failure(e))
            }
        }
    }

    /// Answers a control request.
    pub async fn handle(
        self: &Arc<Daemon>,
        req: UpdateRequest,
        caller: &Caller,
    ) -> Result<serde_json::Value, Refused> {
        match req {
            UpdateRequest::Health => Ok(serde_json::Value::Null),
            UpdateRequest::Status => {
                self.clock_basis();
                self.sync_status();
                let st = self
                    .status
                    .lock()
                    .map(|s| s.clone())
                    .map_err(|e| refused(ErrorKind::Internal, e.to_string()))?;
                serde_json::to_value(st).map_err(|e| refused(ErrorKind::Internal, e.to_string()))
            }
            UpdateRequest::Check => {
                let a = self.clone().check().await?;
                Ok(serde_json::json!({"available": a}))
            }
            UpdateRequest::Install {
                target,
                reboot,
                wait,
            } => {
                let busy = self.lock()?;
                self.ready_to_install()?;
                let (d, by) = (self.clone(), caller.audit_name());
                let work = async move { d.install_remote(busy, target, reboot, &by).await };
                finish_or_start(work, wait).await
            }
            UpdateRequest::InstallFile {
                path,
                accept_expired,
                reboot,
                wait,
                remove_after,
            } => {
                // Only the panel's uploads are removed, whatever path a request names.
                let forget = move |path: &Path| {
                    let upload = path
                        .parent()
                        .and_then(Path::file_name)
                        .is_some_and(|d| d == UPLOADS_DIR);
                    if remove_after
                        && upload
                        && let Err(e) = std::fs::remove_file(path)
                    {
                        tracing::warn!(file = %path.display(), error = %e, "could not remove the uploaded update file");
                    }
                };
                let (busy, ready) = match self.lock() {
                    Ok(b) => (b, self.ready_to_install()),
                    Err(e) => {
                        forget(&path);
                        return Err(e);
                    }
                };
                if let Err(e) = ready {
                    forget(&path);
                    return Err(e);
                }
                let (d, by) = (self.clone(), caller.audit_name());
                let work = async move {
                    let result = d
                        .install_file(busy, path.clone(), accept_expired, reboot, &by)
                        .await;
                    forget(&path);
                    result
                };
                finish_or_start(work, wait).await
            }
            UpdateRequest::ApplySettings { version } => self.apply(version),
            UpdateRequest::Reboot => {
                let pending = self
                    .status
                    .lock()
                    .map(|s| s.reboot_pending)
                    .unwrap_or(false);
                if !pending {
                    return Err(refused(
                        ErrorKind::Conflict,
                        "no installed update is waiting for a restart",
                    ));
                }
                self.platform
                    .reboot()
                    .map(|()| serde_json::json!({"restarting": true}))
                    .map_err(|e| refused(ErrorKind::Internal, e))
            }
        }
    }
}

/// Runs an install to its end (`wait`), or starts it and answers at once: the panel then
/// follows its progress in `status`.
async fn finish_or_start(
    work: impl std::future::Future<Output = Result<serde_json::Value, Refused>> + Send + 'static,
    wait: bool,
) -> Result<serde_json::Value, Refused> {
    if wait {
        return work.await;
    }
    tokio::spawn(async move {
        if let Err(e) = work.await {
            tracing::warn!(error = %e, "update install failed");
        }
    });
    Ok(serde_json::json!({"started": true}))
}

fn install_failure(e: InstallError) -> (String, String) {
    (e.kind().to_string(), e.to_string())
}

fn humantime_secs(secs: u64) -> String {
    if secs.is_multiple_of(60) {
        format!("{} min", secs / 60)
    } else {
        format!("{secs} s")
    }
}

/// A reader that counts bytes into the status's progress.
struct Counted<'a> {
    inner: &'a mut dyn Read,
    status: SharedStatus,
    done: u64,
}

impl Read for Counted<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.done += n as u64;
        if let Ok(mut st) = self.status.lock()
            && let Some(p) = st.progress.as_mut()
        {
            p.done = self.done;
        }
        Ok(n)
    }
}

/// Asks a daemon's control socket for its `health` state.
fn ask_health(socket: &Path) -> Result<String, String> {
    use std::io::{BufRead, Write};
    let mut stream = std::os::unix::net::UnixStream::connect(socket).map_err(|e| e.to_string())?;
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .map_err(|e| e.to_string())?;
    stream
        .write_all(b"{\"op\":\"health\"}\n")
        .map_err(|e| e.to_string())?;
    let mut line = String::new();
    std::io::BufReader::new(stream.take(64 * 1024))
        .read_line(&mut line)
        .map_err(|e| e.to_string())?;
    let v: serde_json::Value = serde_json::from_str(&line).map_err(|e| e.to_string())?;
    match v["status"].as_str() {
        Some("ok") => Ok(v["data"]["state"].as_str().unwrap_or("unknown").to_string()),
        _ => Err(v["message"].as_str().unwrap_or("an error").to_string()),
    }
}
