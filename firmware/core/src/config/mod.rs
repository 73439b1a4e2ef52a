//! Loading and validating the configuration.
//!
//! Layers, later ones winning: built-in defaults (the `Default` impls of the model),
//! optional board-defaults and appliance TOML files, then `MAMORI__SECTION__KEY`
//! environment variables. The merged tree is deserialised strictly and then validated
//! as a whole; any error names the key, the value and why.

mod model;
mod types;
mod validate;

use std::path::Path;

pub use model::*;
pub use types::{Domain, DomainError, ListenerKind, Network, TlsMode};

/// Why a configuration could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A file or environment value could not be read or had the wrong type or syntax;
    /// the source (from the `config` crate) names the key and the origin.
    #[error("configuration could not be read")]
    Load(#[source] config::ConfigError),
    /// A value parsed but breaks a rule of the model.
    #[error("configuration key `{key}` = {value}: {reason}")]
    Invalid {
        /// Dotted key, such as `smtp.listeners[1].address`.
        key: String,
        /// The offending value as written.
        value: String,
        /// What is wrong with it and what would be right.
        reason: String,
    },
}

/// Keys whose environment values are comma-separated lists.
const ENV_LIST_KEYS: &[&str] = &["smtp.trusted_networks", "smtp.local_domains"];

/// Loads the configuration from `files` (each layered over the previous; all must
/// exist) and the process environment, and validates it.
pub fn load(files: &[&Path]) -> Result<Config, ConfigError> {
    load_with_env(files, std::env::vars())
}

/// As [`load`], with the environment given explicitly (for tests and `mamori run`).
pub fn load_with_env(
    files: &[&Path],
    env: impl IntoIterator<Item = (String, String)>,
) -> Result<Config, ConfigError> {
    let mut builder = config::Config::builder();
    for file in files {
        builder = builder.add_source(
            config::File::from(*file)
                .format(config::FileFormat::Toml)
                .required(true),
        );
    }
    let env_map: config::Map<String, String> = env
        .into_iter()
        .filter(|(k, _)| k.starts_with("MAMORI__"))
        .collect();
    let mut environment = config::Environment::with_prefix("MAMORI")
        .prefix_separator("__")
        .separator("__")
        .try_parsing(true)
        .list_separator(",")
        .source(Some(env_map));
    for key in ENV_LIST_KEYS {
        environment = environment.with_list_parse_key(key);
    }
    let merged = builder
        .add_source(environment)
        .build()
        .map_err(ConfigError::Load)?;
    let config: Config = merged.try_deserialize().map_err(ConfigError::Load)?;
    validate::validate(&config)?;
    Ok(config)
}

/// Parses one TOML document (no environment) and validates it: for `mamori config check`
/// style tools and tests.
pub fn from_toml_str(text: &str) -> Result<Config, ConfigError> {
    let merged = config::Config::builder()
        .add_source(config::File::from_str(text, config::FileFormat::Toml))
        .build()
        .map_err(ConfigError::Load)?;
    let config: Config = merged.try_deserialize().map_err(ConfigError::Load)?;
    validate::validate(&config)?;
    Ok(config)
}

#[cfg(test)]
mod tests;
