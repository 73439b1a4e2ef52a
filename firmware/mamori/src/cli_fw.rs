//! `mamori fw …`: the firewall model, from the command line.
//!
//! `check` validates a model and prints the ruleset it would load, in `nft` syntax,
//! changing nothing: exit 0 when valid, 2 when not (every error printed, each naming its
//! key, item, value and reason).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::Subcommand;
use mamori_firewall::FirewallConfig;

/// Firewall tools.
#[derive(Subcommand)]
pub enum FwAction {
    /// Validate a model and print the ruleset it would load (nothing is changed).
    Check {
        /// A TOML file with the keys of `[firewall]`, or a whole Mamori configuration
        /// (whose `[firewall]` section is used).
        file: PathBuf,
    },
}

/// Reads a model: the `[firewall]` table of a full configuration, or the file itself.
fn load_model(path: &Path) -> anyhow::Result<FirewallConfig> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading the firewall model {}", path.display()))?;
    let value: toml::Table = toml::from_str(&text)
        .with_context(|| format!("parsing the firewall model {}", path.display()))?;
    let table = match value.get("firewall") {
        Some(toml::Value::Table(t)) => t.clone(),
        _ => value,
    };
    table
        .try_into::<FirewallConfig>()
        .with_context(|| format!("reading the firewall model {}", path.display()))
}

/// Runs the action.
pub fn run(action: FwAction) -> anyhow::Result<ExitCode> {
    let FwAction::Check { file } = action;
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
