//! What several commands share: who is acting (for the audit log), and reading one section
//! of a TOML file that may also be a whole Mamori configuration.

use std::path::Path;

use anyhow::Context;
use serde::de::DeserializeOwned;

/// Reads a `[section]` from `path`: the section of a whole Mamori configuration when the
/// file has one, else the file itself holds the section's keys. `what` names the file in
/// errors ("the policy", "the firewall model").
pub fn load_section<T: DeserializeOwned>(
    path: &Path,
    section: &str,
    what: &str,
) -> anyhow::Result<T> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading {what} {}", path.display()))?;
    let value: toml::Table =
        toml::from_str(&text).with_context(|| format!("parsing {what} {}", path.display()))?;
    let table = match value.get(section) {
        Some(toml::Value::Table(t)) => t.clone(),
        _ => value,
    };
    table
        .try_into::<T>()
        .with_context(|| format!("reading {what} {}", path.display()))
}
