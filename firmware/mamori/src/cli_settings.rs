//! `mamori settings`: the box's live settings through the one settings library — get, set,
//! apply a whole file, diff, history, rollback, seed on first boot. Every change is checked
//! whole before anything is written (exit 2 with every error), recorded in the store's
//! audit chain under the caller's user name, and kept as a numbered version.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use mamori_core::general::General;
use mamori_settings::backup;
use mamori_settings::document::{self, Change};
use mamori_settings::store::{Committed, Store, StoreError};

/// The store of an installed box.
pub const DEFAULT_DIR: &str = "/var/lib/mamori/settings";

/// What to do with the settings.
#[derive(clap::Subcommand)]
pub enum SettingsAction {
    /// Print the settings in force (all, as TOML), or one key's value (as JSON).
    Get {
        /// A key such as `smtp.max_recipients` or `smtp.listeners[0].address`.
        key: Option<String>,
    },
    /// Change keys (`KEY=VALUE`, the value in TOML or a bare word), as one new version.
    Set {
        /// `KEY=VALUE` pairs.
        #[arg(required = true)]
        pairs: Vec<String>,
        /// Why, for the history.
        #[arg(long)]
        why: Option<String>,
    },
    /// Remove keys from the document (back to the board's defaults), as one new version.
    Unset {
        /// Keys.
        #[arg(required = true)]
        keys: Vec<String>,
    },
    /// Make a whole TOML file the settings document, as one new version.
    Apply {
        /// The file.
        file: PathBuf,
    },
    /// What differs between two versions (default: the one before the current, and the
    /// current).
    Diff {
        /// The older version.
        from: Option<u64>,
        /// The newer version.
        to: Option<u64>,
    },
    /// The versions kept: number, when, who, what.
    History,
    /// Make version N current again (as a new version).
    Rollback {
        /// The version.
        version: u64,
    },
    /// Write a backup of the settings in force to FILE. Account passwords are left out
    /// unless a passphrase file is given (then sealed with it).
    Export {
        /// The backup file to write.
        file: PathBuf,
        /// Include the secrets, sealed with the passphrase in this file (first line).
        #[arg(long)]
        passphrase_file: Option<PathBuf>,
    },
    /// Make a backup's settings current (as a new version), after checking everything.
    Import {
        /// The backup file.
        file: PathBuf,
        /// The passphrase of its sealed secrets (first line of this file).
        #[arg(long)]
        passphrase_file: Option<PathBuf>,
    },
    /// First boot: make FILE version 1 if the store is empty; then report what FILE would
    /// change against the settings in force (reported, never applied).
    Seed {
        /// The appliance's configuration file.
        file: PathBuf,
    },
}

/// The caller's user name, from the kernel's idea of who runs this process (the owner of
/// `/proc/self`), never from the environment.
pub(crate) fn caller() -> String {
    use std::os::unix::fs::MetadataExt;
    let uid = std::fs::metadata("/proc/self").map(|m| m.uid()).ok();
    let accounts = mamori_core::identity::Accounts::from_system();
    match uid {
        Some(uid) => accounts
            .user_name(uid)
            .map_or_else(|| format!("uid {uid}"), str::to_string),
        None => "unknown".into(),
    }
}

/// Reads a TOML file as a settings document.
fn read_document(path: &Path) -> anyhow::Result<toml::Table> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    text.parse()
        .with_context(|| format!("{} is not TOML", path.display()))
}

/// Runs the action on the store in `dir`, over the board's `defaults`; a change is then
/// put in force by the running daemons found under `data_dir` (default: the settings'
/// own `general.data_dir`).
pub fn run(
    dir: &Path,
    defaults: Option<&Path>,
    data_dir: Option<&Path>,
    action: SettingsAction,
) -> anyhow::Result<ExitCode> {
    let store = Store::open(dir, defaults)
        .with_context(|| format!("opening the settings store {}", dir.display()))?;
    let by = caller();
    let committed = match action {
        SettingsAction::Get { key } => return get(&store, key.as_deref()),
        SettingsAction::History => return history(&store),
        SettingsAction::Diff { from, to } => return diff(&store, from, to),
        SettingsAction::Set { pairs, why } => {
            let mut parsed = Vec::new();
            for pair in &pairs {
                let Some((key, value)) = pair.split_once('=') else {
                    eprintln!("mamori settings set: {pair:?} is not KEY=VALUE");
                    return Ok(ExitCode::from(2));
                };
                match document::parse_value(key.trim(), value.trim()) {
                    Ok(v) => parsed.push((key.trim().to_string(), v)),
                    Err(e) => {
                        eprintln!("error: {e}");
                        return Ok(ExitCode::from(2));
                    }
                }
            }
            let keys: Vec<&str> = parsed.iter().map(|(k, _)| k.as_str()).collect();
            let what = match why {
                Some(why) => format!("set {}: {why}", keys.join(", ")),
                None => format!("set {}", keys.join(", ")),
            };
            store.change(&by, &what, |doc| {
                for (key, value) in parsed {
                    document::set(doc, &key, value)
                        .map_err(|e| StoreError::Document(e.to_string()))?;
                }
                Ok(())
            })
        }
        SettingsAction::Unset { keys } => {
            store.change(&by, &format!("unset {}", keys.join(", ")), |doc| {
                for key in &keys {
                    document::unset(doc, key).map_err(|e| StoreError::Document(e.to_string()))?;
                }
                Ok(())
            })
        }
        SettingsAction::Apply { file } => {
            let new = read_document(&file)?;
            store.change(&by, &format!("apply {}", file.display()), |doc| {
                *doc = new;
                Ok(())
            })
        }
        SettingsAction::Rollback { version } => store.rollback(version, &by),
        SettingsAction::Export {
            file,
            passphrase_file,
        } => return export(&store, &file, passphrase_file.as_deref()),
        SettingsAction::Import {
            file,
            passphrase_file,
        } => {
            let text = std::fs::read_to_string(&file)
                .with_context(|| format!("reading {}", file.display()))?;
            let passphrase = passphrase_file
                .as_deref()
                .map(read_passphrase)
                .transpose()?;
            let current = store.current()?.map(|v| v.document).unwrap_or_default();
            let document = match backup::parse(&text)
                .and_then(|b| backup::restore(&b, passphrase.as_deref(), &current))
            {
                Ok(d) => d,
                Err(e) => {
                    eprintln!("mamori settings import: refused, nothing changed: {e}");
                    return Ok(ExitCode::from(2));
                }
            };
            store.change(&by, &format!("import {}", file.display()), |doc| {
                *doc = document;
                Ok(())
            })
        }
        SettingsAction::Seed { file } => {
            let doc = read_document(&file)?;
            if store.seed(&doc, &format!("{by} (seed from {})", file.display()))? {
                println!("settings version 1 seeded from {}", file.display());
            }
            let drift = store.drift(&doc)?;
            for change in &drift {
                println!(
                    "warning: {} changes {} (not applied: the settings store is what is in force; use `mamori settings set` or `apply`)",
                    file.display(),
                    describe(change)
                );
            }
            return Ok(ExitCode::SUCCESS);
        }
    };
    let code = report(committed.as_ref())?;
    if let Ok(c) = committed {
        let mut general = c.config.general.clone();
        if let Some(dir) = data_dir {
            general.data_dir = dir.to_path_buf();
            general.run_dir = None;
        }
        if !apply_everywhere(&general, c.version, None) {
            return Ok(ExitCode::from(1));
        }
    }
    Ok(code)
}

/// Tells every running daemon to take version `version` (firewalld on probation for
/// `confirm_within` seconds); prints which took it and which refused (and why). False when
/// one refused.
pub fn apply_everywhere(general: &General, version: u64, confirm_within: Option<u64>) -> bool {
    let mut all_took = true;
    for (daemon, in_dir) in crate::cli_status::DAEMONS {
        let Some(socket) = crate::cli_status::find_socket(general, daemon, *in_dir) else {
            let data_dir = &general.data_dir;
            println!(
                "{daemon}: not running here ({}); it takes the settings when it starts",
                data_dir.display()
            );
            continue;
        };
        let request = match *daemon {
            "firewalld" => {
                serde_json::json!({"op": "apply_settings", "version": version, "timeout_secs": confirm_within})
            }
            _ => serde_json::json!({"op": "apply_settings", "version": version}),
        };
        match crate::cli_queue::call(&socket, &request) {
            Ok(mamori_core::control::Response::Ok { data }) => {
                println!("{daemon}: {}", took(&data, version))
            }
            Ok(mamori_core::control::Response::Error { kind, message }) => {
                all_took = false;
                println!(
                    "{daemon}: REFUSED version {version} ({kind}): {message}; it keeps running on its last good settings"
                );
            }
            Err(e) => {
                all_took = false;
                println!("{daemon}: could not be asked ({e:#})");
            }
        }
    }
    all_took
}

/// What a daemon's answer to `apply_settings` says, for a person.
fn took(data: &serde_json::Value, version: u64) -> String {
    if data["unchanged"] == true {
        return format!("version {version} changes nothing it runs");
    }
    if let Some(serial) = data["serial"].as_u64() {
        return format!(
            "version {version} on probation (apply #{serial}): confirm within {} s with `mamori fw confirm`, or it is reverted",
            data["confirm_within_secs"]
        );
    }
    let applied = &data["applied"];
    let restart: Vec<&str> = applied["restart_needed"]
        .as_array()
        .map(|a| a.iter().filter_map(|v| v.as_str()).collect())
        .unwrap_or_default();
    format!(
        "took version {version} ({} key(s) changed){}",
        applied["changed"].as_array().map_or(0, Vec::len),
        if restart.is_empty() {
            String::new()
        } else {
            format!("; takes effect at its next restart: {}", restart.join(", "))
        }
    )
}

/// The first line of a passphrase file.
fn read_passphrase(path: &Path) -> anyhow::Result<String> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading the passphrase file {}", path.display()))?;
    Ok(text.lines().next().unwrap_or_default().to_string())
}

/// Writes a backup of the version in force (mode 0600: it may hold sealed secrets).
fn export(store: &Store, file: &Path, passphrase_file: Option<&Path>) -> anyhow::Result<ExitCode> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let current = store.current()?;
    let document = current
        .as_ref()
        .map(|v| v.document.clone())
        .unwrap_or_default();
    let passphrase = passphrase_file.map(read_passphrase).transpose()?;
    let made = match backup::export(&document, current.map(|v| v.version), passphrase.as_deref()) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("mamori settings export: {e}");
            return Ok(ExitCode::from(2));
        }
    };
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(file)
        .with_context(|| format!("writing {}", file.display()))?;
    f.write_all(&serde_json::to_vec_pretty(&made)?)?;
    f.sync_all()?;
    println!(
        "backup of settings version {} written to {}{}",
        made.from_version
            .map_or_else(|| "-".into(), |v| v.to_string()),
        file.display(),
        if made.secrets.is_some() {
            " (account passwords sealed with the passphrase)"
        } else {
            " (without account passwords)"
        }
    );
    Ok(ExitCode::SUCCESS)
}

/// Prints the outcome of a change: the new version and its warnings, or every error.
fn report(result: Result<&Committed, &StoreError>) -> anyhow::Result<ExitCode> {
    match result {
        Ok(c) => {
            if !c.report.warnings.is_empty() {
                println!("{}", c.report);
            }
            println!("settings version {} is in force", c.version);
            Ok(ExitCode::SUCCESS)
        }
        Err(StoreError::Invalid(report)) => {
            eprintln!("{report}");
            eprintln!(
                "mamori settings: refused, nothing changed ({} error(s))",
                report.errors.len()
            );
            Ok(ExitCode::from(2))
        }
        Err(e @ StoreError::Document(_)) => {
            eprintln!("mamori settings: {e}");
            Ok(ExitCode::from(2))
        }
        Err(e) => Err(anyhow::anyhow!("{e}")),
    }
}

fn get(store: &Store, key: Option<&str>) -> anyhow::Result<ExitCode> {
    let config = store.current_config()?.unwrap_or_default();
    match key {
        None => print!("{}", toml::to_string(&config)?),
        Some(key) => {
            let tree = serde_json::to_value(&config)?;
            match document::get(&tree, key) {
                Ok(Some(v)) => println!("{v}"),
                Ok(None) => {
                    eprintln!("mamori settings: no key {key}");
                    return Ok(ExitCode::from(1));
                }
                Err(e) => {
                    eprintln!("mamori settings: {e}");
                    return Ok(ExitCode::from(2));
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn history(store: &Store) -> anyhow::Result<ExitCode> {
    let versions = store.versions()?;
    if versions.is_empty() {
        println!("no settings versions yet (the configuration file is in force)");
    }
    for n in versions.iter().rev() {
        let v = store.version(*n)?;
        println!("{:>6}  {}  {:16}  {}", v.version, v.time, v.by, v.what);
    }
    Ok(ExitCode::SUCCESS)
}

fn diff(store: &Store, from: Option<u64>, to: Option<u64>) -> anyhow::Result<ExitCode> {
    let versions = store.versions()?;
    let to = to.or(versions.last().copied());
    let from = from.or_else(|| to.and_then(|t| versions.iter().rev().copied().find(|n| *n < t)));
    let settings = |n: Option<u64>| -> anyhow::Result<serde_json::Value> {
        let doc = match n {
            Some(n) => store.version(n)?.document,
            None => toml::Table::new(),
        };
        Ok(serde_json::to_value(store.effective(&doc)?.config)?)
    };
    let changes = document::diff(&settings(from)?, &settings(to)?);
    if changes.is_empty() {
        println!("no difference");
    }
    for change in &changes {
        println!("{}", describe(change));
    }
    Ok(ExitCode::SUCCESS)
}

/// `key: before → after`.
fn describe(change: &Change) -> String {
    let show = |v: &Option<String>| v.clone().unwrap_or_else(|| "(absent)".into());
    format!(
        "{}: {} → {}",
        change.key,
        show(&change.before),
        show(&change.after)
    )
}
