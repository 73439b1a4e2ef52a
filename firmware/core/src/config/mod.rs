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
pub use types::{Domain, DomainError, ListenerKind, Network, SenderPattern, TlsMode};

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
const ENV_LIST_KEYS: &[&str] = &[
    "smtp.trusted_networks",
    "smtp.office_domains",
    "smtp.local_domains",
];

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
    let mut config: Config = merged.try_deserialize().map_err(ConfigError::Load)?;
    migrate_legacy(&mut config);
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
    let mut config: Config = merged.try_deserialize().map_err(ConfigError::Load)?;
    migrate_legacy(&mut config);
    validate::validate(&config)?;
    Ok(config)
}

/// Reads the settings of earlier releases into today's model, with a warning naming what to
/// write instead: `smtp.local_domains` did the jobs of `office_domains` and
/// `accepted_domains` in one list. Its domains become office domains, and those with a
/// route in `smtp.delivery.routes` accepted domains (recipients checked by callout).
pub fn migrate_legacy(config: &mut Config) {
    let s = &mut config.smtp;
    if s.local_domains.is_empty() {
        return;
    }
    let legacy = std::mem::take(&mut s.local_domains);
    let mut accepted = Vec::new();
    for domain in legacy {
        if !s.office_domains.contains(&domain) {
            s.office_domains.push(domain.clone());
        }
        let routed = static_route_for(domain.as_str(), &s.delivery).is_some();
        if routed && !s.accepted_domains.iter().any(|a| a.domain == domain) {
            accepted.push(domain.to_string());
            s.accepted_domains.push(AcceptedDomain {
                domain,
                host: None,
                port: 25,
                verify: RecipientCheck::Callout,
                recipients: Vec::new(),
            });
        }
    }
    tracing::warn!(
        office_domains = ?s.office_domains.iter().map(Domain::as_str).collect::<Vec<_>>(),
        accepted_domains = ?accepted,
        "smtp.local_domains is deprecated: it was read as smtp.office_domains (the office's own domains, internal for DLP) and, where smtp.delivery.routes has a route, as smtp.accepted_domains (mail accepted from the Internet, recipients checked with the office's server); write those keys instead"
    );
}

/// The host and port that mail for accepted domain `a` goes to: its own `host`, or the
/// route for it in `delivery.routes`.
pub fn route_for_accepted(a: &AcceptedDomain, delivery: &Delivery) -> Option<(String, u16)> {
    match &a.host {
        Some(host) => Some((host.clone(), a.port)),
        None => static_route_for(a.domain.as_str(), delivery).map(|r| (r.host.clone(), r.port)),
    }
}

/// The static route of `delivery.routes` for `domain`: the first whose domain contains it.
pub fn static_route_for<'a>(domain: &str, delivery: &'a Delivery) -> Option<&'a Route> {
    delivery.routes.iter().find(|r| r.domain.contains(domain))
}

#[cfg(test)]
mod tests;
