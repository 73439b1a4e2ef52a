//! The settings store: the box's live settings as numbered versions in one directory
//! (`v00000012.json`: who, when, what, and the document of the administrator's settings laid
//! over the board's defaults). A change is validated whole before anything is written,
//! recorded in the store's audit chain, then written atomically under a lock with a version
//! number that only goes up; the last [`KEEP`] versions are kept; a rollback makes an old
//! version current as a new version. The current version is the highest.

use std::fs::{self, File};
use std::io::Write;
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};

use mamori_core::audit::AuditLog;
use mamori_core::load::Layers;
use mamori_core::report::Report;
use serde::{Deserialize, Serialize};
use toml::Table;

use crate::{Config, Loaded};

/// The format of a version file this binary writes and reads; a newer one is refused, never
/// misread (an update may roll the slots back over the same data partition).
pub const FORMAT: u32 = 1;

/// How many versions are kept.
pub const KEEP: u64 = 50;

/// The largest version file read (a document with big firewall sets is large, but bounded).
pub const MAX_VERSION_BYTES: u64 = 16 << 20;

/// Why the store could not do what was asked.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A file of the store.
    #[error("{path}: {source}")]
    Io {
        /// The path.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// A version file is not what this binary writes.
    #[error("{path}: not a settings version: {reason}")]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// A version written by a newer firmware.
    #[error(
        "{path} has settings format {found}, newer than this firmware knows ({FORMAT}): refusing to misread it (update the firmware, or roll back the settings with a newer one)"
    )]
    NewerFormat {
        /// The file.
        path: PathBuf,
        /// Its format.
        found: u32,
    },
    /// No such version is kept.
    #[error("no settings version {0} (see `mamori settings history`)")]
    NoVersion(u64),
    /// The change breaks rules of the settings: nothing was written.
    #[error("the change was refused, nothing changed; {} error(s):\n{}", .0.errors.len(), .0)]
    Invalid(Report),
    /// The document is not usable TOML.
    #[error("the settings document cannot be read: {0}")]
    Document(String),
    /// A version's settings have errors in the sections a program uses.
    #[error(transparent)]
    Config(#[from] crate::ConfigError),
    /// The store was opened for reading only.
    #[error("the settings store was opened read-only")]
    ReadOnly,
    /// The audit record could not be written: the change is refused.
    #[error("refused: the audit log cannot be written ({0})")]
    Audit(#[from] mamori_core::audit::AuditError),
}

/// One version of the settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Version {
    /// The file format ([`FORMAT`]).
    pub format: u32,
    /// The version number.
    pub version: u64,
    /// When (RFC 3339, UTC).
    pub time: String,
    /// Who (the user from the caller's credentials; the panel adds the person).
    pub by: String,
    /// What and why, for a person.
    pub what: String,
    /// The administrator's settings: a TOML tree over the board's defaults.
    pub document: Table,
}

/// A change accepted and written.
#[derive(Debug, Clone)]
pub struct Committed {
    /// Its version number.
    pub version: u64,
    /// The settings now in force.
    pub config: Config,
    /// Its warnings (it had no errors).
    pub report: Report,
}

/// The store in a directory, over optional board defaults.
#[derive(Debug)]
pub struct Store {
    dir: PathBuf,
    defaults: Option<PathBuf>,
    /// The store's audit chain; `None` when opened read-only (the daemons).
    audit: Option<AuditLog>,
}

impl Store {
    /// Opens (creating, mode 0750) the store in `dir`, laid over the board's `defaults` file.
    pub fn open(dir: &Path, defaults: Option<&Path>) -> Result<Self, StoreError> {
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o750)
            .create(dir)
            .map_err(io(dir))?;
        let audit = AuditLog::open(&mamori_core::audit::chain_dir(dir, "settings"), 4 << 20, 5)?;
        Ok(Self {
            dir: dir.to_path_buf(),
            defaults: defaults.map(Path::to_path_buf),
            audit: Some(audit),
        })
    }

    /// Opens the store in `dir` for reading only (a daemon reading the settings it runs on);
    /// it must exist.
    pub fn open_read_only(dir: &Path, defaults: Option<&Path>) -> Result<Self, StoreError> {
        fs::metadata(dir).map_err(io(dir))?;
        Ok(Self {
            dir: dir.to_path_buf(),
            defaults: defaults.map(Path::to_path_buf),
            audit: None,
        })
    }

    /// Puts `general`'s audit retention on the store's own chain (at the service's start;
    /// each change does it itself).
    pub fn apply_audit_retention(&self, general: &mamori_core::general::General) {
        if let Some(audit) = &self.audit {
            general.apply_audit_retention(audit);
        }
    }

    /// The store's directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The version numbers kept, oldest first.
    pub fn versions(&self) -> Result<Vec<u64>, StoreError> {
        let mut out: Vec<u64> = fs::read_dir(&self.dir)
            .map_err(io(&self.dir))?
            .filter_map(Result::ok)
            .filter_map(|e| {
                let name = e.file_name().into_string().ok()?;
                name.strip_prefix('v')?.strip_suffix(".json")?.parse().ok()
            })
            .collect();
        out.sort_unstable();
        Ok(out)
    }

    /// Version `n`.
    pub fn version(&self, n: u64) -> Result<Version, StoreError> {
        let path = self.path_of(n);
        let file = match File::open(&path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(StoreError::NoVersion(n));
            }
            Err(e) => return Err(io(&path)(e)),
        };
        let mut bytes = Vec::new();
        std::io::Read::read_to_end(
            &mut std::io::Read::take(file, MAX_VERSION_BYTES + 1),
            &mut bytes,
        )
        .map_err(io(&path))?;
        if bytes.len() as u64 > MAX_VERSION_BYTES {
            return Err(StoreError::Corrupt {
                path,
                reason: format!("larger than {MAX_VERSION_BYTES} bytes"),
            });
        }
        // The format first, so that a newer file is refused by its format, not its fields.
        let format = serde_json::from_slice::<serde_json::Value>(&bytes)
            .ok()
            .and_then(|v| v.get("format").and_then(serde_json::Value::as_u64))
            .ok_or_else(|| StoreError::Corrupt {
                path: path.clone(),
                reason: "no format number".into(),
            })?;
        if format > u64::from(FORMAT) {
            return Err(StoreError::NewerFormat {
                path,
                found: u32::try_from(format).unwrap_or(u32::MAX),
            });
        }
        let v: Version = serde_json::from_slice(&bytes).map_err(|e| StoreError::Corrupt {
            path: path.clone(),
            reason: e.to_string(),
        })?;
        if v.version != n {
            return Err(StoreError::Corrupt {
                path,
                reason: format!("it says version {}", v.version),
            });
        }
        Ok(v)
    }

    /// The version in force, if the store has any.
    pub fn current(&self) -> Result<Option<Version>, StoreError> {
        match self.versions()?.last() {
            Some(n) => self.version(*n).map(Some),
            None => Ok(None),
        }
    }

    /// The settings `document` would give over the board's defaults, checked.
    pub fn effective(&self, document: &Table) -> Result<Loaded, StoreError> {
        let text = toml::to_string(document).map_err(|e| StoreError::Document(e.to_string()))?;
        let files: Vec<&Path> = self.defaults.as_deref().into_iter().collect();
        let layers = Layers::read_with_documents(
            &files,
            &[&text],
            std::iter::empty(),
            mamori_smtp::settings::ENV_LIST_KEYS,
        )
        .map_err(|e| {
            let mut chain = e.to_string();
            let mut source = std::error::Error::source(&e);
            while let Some(s) = source {
                chain.push_str(": ");
                chain.push_str(&s.to_string());
                source = s.source();
            }
            StoreError::Document(chain)
        })?;
        Ok(crate::read(&layers))
    }

    /// Makes `edit` of the current document the new version, by `by`, saying `what`: the
    /// result is checked whole, recorded in the audit log, then written. Refused (nothing
    /// written) when it has errors or the audit record cannot be written.
    pub fn change(
        &self,
        by: &str,
        what: &str,
        edit: impl FnOnce(&mut Table) -> Result<(), StoreError>,
    ) -> Result<Committed, StoreError> {
        let audit = self.audit.as_ref().ok_or(StoreError::ReadOnly)?;
        let lock = self.lock()?;
        let current = self.current()?;
        let mut document = current
            .as_ref()
            .map(|v| v.document.clone())
            .unwrap_or_default();
        edit(&mut document)?;
        let loaded = self.effective(&document)?;
        if !loaded.report.is_ok() {
            return Err(StoreError::Invalid(loaded.report));
        }
        let version = current.as_ref().map_or(1, |v| v.version + 1);
        let changed: Vec<String> = {
            let before = match &current {
                Some(v) => self.effective(&v.document)?.config,
                None => Config::default(),
            };
            let before = serde_json::to_value(before).unwrap_or_default();
            let after = serde_json::to_value(&loaded.config).unwrap_or_default();
            crate::document::diff(&before, &after)
                .into_iter()
                .map(|c| c.key)
                .take(100)
                .collect()
        };
        audit.record(
            "settings_change",
            serde_json::json!({"version": version, "by": by, "what": what, "keys": changed}),
        )?;
        let record = Version {
            format: FORMAT,
            version,
            time: mamori_core::clock::rfc3339_utc(mamori_core::clock::unix_now()),
            by: by.to_string(),
            what: what.to_string(),
            document,
        };
        self.write(&record)?;
        self.prune(version)?;
        drop(lock);
        // The new version's audit retention applies to the store's own chain at once.
        loaded.config.general.apply_audit_retention(audit);
        Ok(Committed {
            version,
            config: loaded.config,
            report: loaded.report,
        })
    }

    /// Version `version` (the current one when `None`) for a program that uses `sections`:
    /// its number and settings, refused when those sections have errors.
    pub fn in_force(
        &self,
        version: Option<u64>,
        sections: &[&str],
    ) -> Result<(u64, Config), StoreError> {
        let v = match version {
            Some(n) => self.version(n)?,
            None => self.current()?.ok_or(StoreError::NoVersion(0))?,
        };
        let (config, _) = self.effective(&v.document)?.for_sections(sections)?;
        Ok((v.version, config))
    }

    /// The settings in force from the store, if it has a version.
    pub fn current_config(&self) -> Result<Option<Config>, StoreError> {
        match self.current()? {
            Some(v) => Ok(Some(self.effective(&v.document)?.config)),
            None => Ok(None),
        }
    }

    /// Makes version `n`'s document current again, as a new version.
    pub fn rollback(&self, n: u64, by: &str) -> Result<Committed, StoreError> {
        let old = self.version(n)?;
        self.change(by, &format!("rollback to version {n}"), |doc| {
            *doc = old.document;
            Ok(())
        })
    }

    /// On first boot (no version yet), makes `document` (the appliance's file) version 1.
    /// Returns whether it did.
    pub fn seed(&self, document: &Table, by: &str) -> Result<bool, StoreError> {
        if !self.versions()?.is_empty() {
            return Ok(false);
        }
        self.change(
            by,
            "first boot: seeded from the configuration file",
            |doc| {
                *doc = document.clone();
                Ok(())
            },
        )?;
        Ok(true)
    }

    /// What `document` (the configuration file, today) would change against the settings
    /// in force: reported, never applied, since the store is the one source of truth.
    pub fn drift(&self, document: &Table) -> Result<Vec<crate::document::Change>, StoreError> {
        let Some(current) = self.current_config()? else {
            return Ok(Vec::new());
        };
        let file = self.effective(document)?.config;
        Ok(crate::document::diff(
            &serde_json::to_value(current).unwrap_or_default(),
            &serde_json::to_value(file).unwrap_or_default(),
        ))
    }

    /// Takes the lock that serialises writers (the CLI, the panel, a daemon's revert).
    fn lock(&self) -> Result<File, StoreError> {
        let path = self.dir.join("lock");
        let file = fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(io(&path))?;
        file.lock().map_err(io(&path))?;
        Ok(file)
    }

    fn path_of(&self, n: u64) -> PathBuf {
        self.dir.join(format!("v{n:08}.json"))
    }

    /// Writes a version atomically: temporary file, fsync, rename, directory fsync.
    fn write(&self, v: &Version) -> Result<(), StoreError> {
        let path = self.path_of(v.version);
        let tmp = path.with_extension("json.tmp");
        let bytes =
            serde_json::to_vec_pretty(v).map_err(|e| StoreError::Document(e.to_string()))?;
        let write = || -> std::io::Result<()> {
            let mut f = File::create(&tmp)?;
            f.write_all(&bytes)?;
            f.sync_all()?;
            fs::rename(&tmp, &path)?;
            File::open(&self.dir)?.sync_all()
        };
        write().map_err(io(&path))
    }

    /// Removes versions older than the last [`KEEP`].
    fn prune(&self, newest: u64) -> Result<(), StoreError> {
        for n in self.versions()? {
            if n + KEEP <= newest {
                let path = self.path_of(n);
                fs::remove_file(&path).map_err(io(&path))?;
            }
        }
        Ok(())
    }
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> StoreError {
    let path = path.to_path_buf();
    move |source| StoreError::Io { path, source }
}

/// The relay's settings from the store: what `smtpd` reads when told to apply a version.
pub struct RelaySource {
    store: Store,
}

impl RelaySource {
    /// Reads `store`.
    pub fn new(store: Store) -> Self {
        Self { store }
    }
}

impl mamori_smtp::live::SettingsSource for RelaySource {
    fn load(
        &self,
        version: Option<u64>,
    ) -> Result<(u64, mamori_smtp::settings::RelaySettings), mamori_smtp::live::ApplyError> {
        use mamori_core::control::ErrorKind;
        use mamori_smtp::live::ApplyError;
        let source = |kind: ErrorKind, e: &dyn std::fmt::Display| ApplyError::Source {
            kind,
            message: e.to_string(),
        };
        let (v, config) = self
            .store
            .in_force(version, mamori_smtp::settings::SECTIONS)
            .map_err(|e| match e {
                StoreError::NoVersion(_) => source(ErrorKind::NotFound, &e),
                StoreError::NewerFormat { .. }
                | StoreError::Corrupt { .. }
                | StoreError::Config(_) => source(ErrorKind::Invalid, &e),
                _ => source(ErrorKind::Internal, &e),
            })?;
        Ok((v, config.relay()))
    }
}

/// The firewall section of settings `version` (the current one when `None`) of the store in
/// `dir`, checked: what `firewalld` reads at start and when told to apply a version.
pub fn load_firewall(
    dir: &Path,
    defaults: Option<&Path>,
    version: Option<u64>,
) -> Result<(u64, mamori_firewall::FirewallConfig), String> {
    load_firewall_sections(dir, defaults, version).map(|(v, config)| (v, config.firewall))
}

/// [`load_firewall`] with the other sections firewalld reads (`general`, for its audit
/// retention).
pub fn load_firewall_sections(
    dir: &Path,
    defaults: Option<&Path>,
    version: Option<u64>,
) -> Result<(u64, Config), String> {
    let store = Store::open_read_only(dir, defaults).map_err(|e| e.to_string())?;
    store
        .in_force(version, crate::FIREWALL_SECTIONS)
        .map_err(|e| match e {
            StoreError::NoVersion(0) => "the settings store has no version yet".to_string(),
            e => e.to_string(),
        })
}

/// The sections of `sections` in settings version `version` (the newest when `None`), as
/// [`load_firewall_sections`] does for the firewall: for daemons that take a version live.
pub fn load_sections(
    dir: &Path,
    defaults: Option<&Path>,
    version: Option<u64>,
    sections: &[&str],
) -> Result<(u64, Config), String> {
    let store = Store::open_read_only(dir, defaults).map_err(|e| e.to_string())?;
    store.in_force(version, sections).map_err(|e| match e {
        StoreError::NoVersion(0) => "the settings store has no version yet".to_string(),
        e => e.to_string(),
    })
}

/// Records `model` as the firewall section of a new settings version, by `by`, saying
/// `what` (a revert of confirm-or-revert); returns its number.
pub fn record_firewall(
    dir: &Path,
    defaults: Option<&Path>,
    model: &mamori_firewall::FirewallConfig,
    by: &str,
    what: &str,
) -> Result<u64, String> {
    let store = Store::open(dir, defaults).map_err(|e| e.to_string())?;
    let section = toml::Value::try_from(model).map_err(|e| e.to_string())?;
    store
        .change(by, what, |doc| {
            doc.insert("firewall".into(), section);
            Ok(())
        })
        .map(|c| c.version)
        .map_err(|e| e.to_string())
}
