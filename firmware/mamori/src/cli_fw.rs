//! `mamori fw …`: the firewall model, from the command line.
//!
//! `check` validates a model and prints the ruleset it would load, in `nft` syntax,
//! changing nothing: exit 0 when valid, 2 when not (every error printed, each naming its
//! key, item, value and reason).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::Subcommand;
use mamori_core::control::Response;
use mamori_firewall::FirewallConfig;
use mamori_firewall::api::FwRequest;

use crate::cli_files::load_section;
use crate::cli_queue::call;

/// Firewall tools.
#[derive(Subcommand)]
pub enum FwAction {
    /// Validate a model and print the ruleset it would load (nothing is changed).
    Check {
        /// A TOML file with the keys of `[firewall]`, or a whole Mamori configuration
        /// (whose `[firewall]` section is used).
        file: PathBuf,
    },
    /// Apply a model on probation: unless confirmed in time, the previous model comes back.
    Apply {
        /// The model (as for `check`).
        file: PathBuf,
        /// Seconds to confirm.
        #[arg(long, default_value_t = 60)]
        timeout: u64,
        /// The settings store: the model becomes the firewall section of a new settings
        /// version, which firewalld then puts on probation (a revert is recorded there too).
        #[arg(long)]
        settings: Option<PathBuf>,
    },
    /// Keep the model on probation.
    Confirm {
        /// The apply to confirm (the one printed by `apply`); any when left out.
        serial: Option<u64>,
    },
    /// Put the confirmed model back now.
    Rollback,
    /// The probation, and the packet and byte counters of every rule.
    Status,
    /// Add or remove elements of a named set without touching the rules.
    Set {
        /// The set's name.
        name: String,
        /// Elements to add (address, network or range); repeatable.
        #[arg(long)]
        add: Vec<String>,
        /// Elements to remove; repeatable.
        #[arg(long)]
        remove: Vec<String>,
    },
    /// The LAN devices found by the periodic ARP sweep: IP, MAC, vendor, first and last
    /// seen.
    Devices,
}

fn elements(list: &[String]) -> anyhow::Result<Vec<mamori_firewall::model::SetElement>> {
    list.iter()
        .map(|e| {
            serde_json::from_value(serde_json::Value::String(e.clone()))
                .with_context(|| format!("{e:?} is not an address, network or range"))
        })
        .collect()
}

/// Reads a model: the `[firewall]` table of a full configuration, or the file itself.
fn load_model(path: &Path) -> anyhow::Result<FirewallConfig> {
    load_section(path, "firewall", "the firewall model")
}

/// Runs the action; all but `check` talk to `mamori firewalld` over `socket`.
pub fn run(action: FwAction, socket: &Path, json: bool) -> anyhow::Result<ExitCode> {
    let req = match action {
        FwAction::Check { file } => return check(&file),
        FwAction::Apply {
            file,
            timeout,
            settings,
        } => {
            let model = match load_model(&file) {
                Ok(m) => m,
                Err(e) => {
                    eprintln!("mamori fw apply: {e:#}");
                    return Ok(ExitCode::from(2));
                }
            };
            match settings {
                None => FwRequest::Apply {
                    model: Box::new(model),
                    timeout_secs: Some(timeout),
                },
                Some(dir) => {
                    let what = format!("fw apply {}", file.display());
                    let by = crate::cli_settings::caller();
                    match mamori_settings::store::record_firewall(&dir, None, &model, &by, &what) {
                        Ok(version) => {
                            println!("settings version {version} is in force");
                            FwRequest::ApplySettings {
                                version: Some(version),
                                timeout_secs: Some(timeout),
                            }
                        }
                        Err(e) => {
                            eprintln!("mamori fw apply: refused, nothing changed: {e}");
                            return Ok(ExitCode::from(2));
                        }
                    }
                }
            }
        }
        FwAction::Confirm { serial } => FwRequest::Confirm { serial },
        FwAction::Rollback => FwRequest::Rollback,
        FwAction::Status => FwRequest::Status,
        FwAction::Set { name, add, remove } => FwRequest::SetElements {
            set: name,
            add: elements(&add)?,
            remove: elements(&remove)?,
        },
        FwAction::Devices => FwRequest::Devices,
    };
    let table = !json && matches!(req, FwRequest::Status | FwRequest::Devices);
    match call(socket, &req)? {
        Response::Ok { data } => {
            match req {
                FwRequest::Status if table => print_status(&data),
                FwRequest::Devices if table => print_devices(&data),
                _ => println!("{data}"),
            }
            Ok(ExitCode::SUCCESS)
        }
        Response::Error { kind, message } => {
            eprintln!("mamori fw: {message} ({kind})");
            Ok(ExitCode::from(1))
        }
    }
}

fn print_status(data: &serde_json::Value) {
    match data.get("pending").filter(|p| !p.is_null()) {
        Some(p) => println!(
            "pending: apply #{} must be confirmed within {} s (mamori fw confirm)",
            p["serial"], p["seconds_left"]
        ),
        None => println!("pending: nothing; the running model is confirmed"),
    }
    let rules = data["counters"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default();
    println!("{:<20} {:>12} {:>14}  rule", "chain", "packets", "bytes");
    for r in rules {
        println!(
            "{:<20} {:>12} {:>14}  {}",
            r["chain"].as_str().unwrap_or(""),
            r["packets"].as_u64().unwrap_or(0),
            r["bytes"].as_u64().unwrap_or(0),
            r["comment"].as_str().unwrap_or("")
        );
    }
}

fn print_devices(data: &serde_json::Value) {
    let devices = data["devices"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default();
    match data["last_sweep"].as_u64() {
        Some(at) => println!(
            "{} device(s); last sweep {} (sweep #{})",
            devices.len(),
            mamori_core::clock::rfc3339_utc(at),
            data["sweeps"]
        ),
        None => println!("no sweep yet (the first runs shortly after firewalld starts)"),
    }
    if devices.is_empty() {
        return;
    }
    println!(
        "{:<15}  {:<17}  {:<14}  {:<20}  last seen",
        "IP", "MAC", "vendor", "first seen"
    );
    for d in devices {
        let vendor = match (d["vendor"].as_str(), d["locally_administered"].as_bool()) {
            (Some(name), _) => name,
            (None, Some(true)) => "(random MAC)",
            (None, _) => "-",
        };
        println!(
            "{:<15}  {:<17}  {:<14}  {:<20}  {}",
            d["ip"].as_str().unwrap_or(""),
            d["mac"].as_str().unwrap_or(""),
            vendor,
            d["first_seen"]
                .as_u64()
                .map(mamori_core::clock::rfc3339_utc)
                .unwrap_or_default(),
            d["last_seen"]
                .as_u64()
                .map(mamori_core::clock::rfc3339_utc)
                .unwrap_or_default(),
        );
    }
}

/// `mamori fw check`.
fn check(file: &Path) -> anyhow::Result<ExitCode> {
    let file = file.to_path_buf();
    let model = match load_model(&file) {
        Ok(m) => m,
        Err(e) => {
            eprintln!("mamori fw check: {e:#}");
            return Ok(ExitCode::from(2));
        }
    };
    let report = mamori_firewall::validate::check(&model);
    for w in &report.warnings {
        eprintln!("warning: {w}");
    }
    if !report.errors.is_empty() {
        for e in &report.errors {
            eprintln!("error: {e}");
        }
        eprintln!(
            "mamori fw check: {} is not valid ({} error(s)); nothing would be applied",
            file.display(),
            report.errors.len()
        );
        return Ok(ExitCode::from(2));
    }
    let compiled = mamori_firewall::compile(&model).context("compiling the firewall model")?;
    print!("{}", mamori_firewall::render::render(&compiled.table));
    Ok(ExitCode::SUCCESS)
}
