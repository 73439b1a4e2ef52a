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

use crate::report::Report;

pub use model::*;
pub use types::{Domain, DomainError, ListenerKind, Network, SenderPattern, TlsMode};

/// Why a configuration could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A file or environment value could not be read, or a file is not TOML; the source
    /// (from the `config` crate) names the origin.
    #[error("configuration could not be read")]
    Load(#[source] config::ConfigError),
    /// The configuration was read but breaks rules of the model: every error found, each
    /// with its key, value and reason (and the warnings, for the record).
    #[error("the configuration has {} error(s):\n{}", .0.errors.len(), .0)]
    Invalid(Report),
}

/// A configuration read and checked: the model (sections that could not be read are at
/// their defaults) and everything found wrong or risky in it.
#[derive(Debug, Clone)]
pub struct Loaded {
    /// The model.
    pub config: Config,
    /// Every error and warning, keyed.
    pub report: Report,
}

impl Loaded {
    /// The configuration for a program that uses only `sections`: refused (with every
    /// error in them) when they have errors; errors elsewhere do not stop it, since it does
    /// not use them (they are kept in the report as warnings, so that it can log them).
    pub fn for_sections(self, sections: &[&str]) -> Result<(Config, Report), ConfigError> {
        let mine = self.report.in_sections(sections);
        if !mine.is_ok() {
            return Err(ConfigError::Invalid(mine));
        }
        let mut report = mine;
        for e in self.report.outside(sections).errors {
            report.warn(
                e.key,
                e.value,
                format!("{} (in a section this program does not use)", e.reason),
            );
        }
        Ok((self.config, report))
    }

    /// The configuration when nothing in it may be wrong (`check-config`, tests).
    pub fn strict(self) -> Result<Config, ConfigError> {
        if self.report.is_ok() {
            Ok(self.config)
        } else {
            Err(ConfigError::Invalid(self.report))
        }
    }
}

/// The sections of the model, in the order they are read.
pub const SECTIONS: &[&str] = &["general", "log", "smtp", "dlp", "firewall"];

/// Keys whose environment values are comma-separated lists.
const ENV_LIST_KEYS: &[&str] = &[
    "smtp.trusted_networks",
    "smtp.office_domains",
    "smtp.local_domains",
];

/// Loads the configuration from `files` (each layered over the previous; all must
/// exist) and the process environment, and checks it.
pub fn load(files: &[&Path]) -> Result<Loaded, ConfigError> {
    load_with_env(files, std::env::vars())
}

/// As [`load`], with the environment given explicitly (for tests and `mamori run`).
pub fn load_with_env(
    files: &[&Path],
    env: impl IntoIterator<Item = (String, String)>,
) -> Result<Loaded, ConfigError> {
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
    Ok(read_sections(&merged))
}

/// Parses one TOML document (no environment) and checks it: for tools and tests.
pub fn from_toml_str(text: &str) -> Result<Config, ConfigError> {
    let merged = config::Config::builder()
        .add_source(config::File::from_str(text, config::FileFormat::Toml))
        .build()
        .map_err(ConfigError::Load)?;
    read_sections(&merged).strict()
}

/// Reads each section on its own, so that a mistake in one (an unknown key, a wrong type)
/// is reported with its key and does not hide the others; then checks the whole.
fn read_sections(merged: &config::Config) -> Loaded {
    let mut report = Report::default();
    let mut config = Config::default();
    if let Ok(top) = merged
        .clone()
        .try_deserialize::<config::Map<String, config::Value>>()
    {
        for key in top.keys() {
            if !SECTIONS.contains(&key.as_str()) {
                report.error(
                    key.clone(),
                    "(a section)",
                    format!("unknown section; the sections are {}", SECTIONS.join(", ")),
                );
            }
        }
    }
    fn section<T: serde::de::DeserializeOwned + Default>(
        merged: &config::Config,
        name: &str,
        report: &mut Report,
    ) -> T {
        let value = match merged.get::<config::Value>(name) {
            Ok(value) => value,
            Err(config::ConfigError::NotFound(_)) => return T::default(),
            Err(e) => {
                report.error(name, "(the section)", e.to_string());
                return T::default();
            }
        };
        match serde_path_to_error::deserialize::<_, T>(value) {
            Ok(value) => value,
            Err(e) => {
                let path = e.path().to_string();
                let key = if path == "." || path.is_empty() {
                    name.to_string()
                } else {
                    format!("{name}.{path}")
                };
                report.error(key, "(as written)", e.into_inner().to_string());
                T::default()
            }
        }
    }
    config.general = section(merged, "general", &mut report);
    config.log = section(merged, "log", &mut report);
    config.smtp = section(merged, "smtp", &mut report);
    config.dlp = section(merged, "dlp", &mut report);
    config.firewall = section(merged, "firewall", &mut report);
    migrate_legacy(&mut config, &mut report);
    validate::check(&config, &mut report);
    Loaded { config, report }
}

/// Reads the settings of earlier releases into today's model, with a warning naming what to
/// write instead: `smtp.local_domains` did the jobs of `office_domains` and
/// `accepted_domains` in one list. Its domains become office domains, and those with a
/// route in `smtp.delivery.routes` accepted domains (recipients checked by callout).
pub fn migrate_legacy(config: &mut Config, report: &mut Report) {
    let s = &mut config.smtp;
    if s.local_domains.is_empty() {
        return;
    }
    let legacy = std::mem::take(&mut s.local_domains);
    let written: Vec<String> = legacy.iter().map(Domain::to_string).collect();
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
    report.warn(
        "smtp.local_domains",
        format!("{written:?}"),
        format!(
            "deprecated: read as smtp.office_domains {:?} (the office's own domains, internal for DLP) and, where smtp.delivery.routes has a route, as smtp.accepted_domains {accepted:?} (mail accepted from the Internet, recipients checked with the office's server); write those keys instead",
            s.office_domains.iter().map(Domain::as_str).collect::<Vec<_>>()
        ),
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
