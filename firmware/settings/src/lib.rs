//! The box's whole settings tree, composed from the sections each daemon's crate owns:
//! `[general]` and `[log]` (core), `[smtp]` and `[dlp]` (the relay), `[firewall]` (the
//! firewall model). Loading reads every section on its own and checks each with its owner's
//! rules, so that one report names every mistake and a daemon refuses to start only for
//! mistakes in the sections it uses.

use std::path::Path;

pub mod backup;
pub mod document;
pub mod secret;
pub mod service;
pub mod store;
pub mod time_files;

use mamori_core::general::{General, Log};
use mamori_core::load::{Layers, LoadError};
use mamori_core::report::Report;
use mamori_smtp::settings::{RelaySettings, Smtp};
use serde::{Deserialize, Serialize};

/// The whole configuration of the box.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Settings shared by every daemon.
    pub general: General,
    /// Logging.
    pub log: Log,
    /// The SMTP relay.
    pub smtp: Smtp,
    /// Data-loss prevention for mail passing the relay.
    pub dlp: mamori_dlp::DlpConfig,
    /// Attachment encryption for mail passing the relay.
    pub encrypt: mamori_encrypt::EncryptConfig,
    /// Misdelivery prevention for mail passing the relay.
    pub misdelivery: mamori_smtp::settings::Misdelivery,
    /// The download service of link mode (`mamori linkd`).
    pub links: mamori_links::LinksConfig,
    /// The firewall model (`mamori firewalld` applies it).
    pub firewall: mamori_firewall::FirewallConfig,
    /// The admin panel (`mamori admind`).
    pub admin: mamori_panel::settings::Admin,
    /// The clock: NTP and its servers (`mamori time-apply`).
    pub time: mamori_core::time::TimeSettings,
    /// Firmware updates (`mamori updated`).
    pub update: mamori_update::config::UpdateConfig,
}

impl Config {
    /// What the relay runs on.
    pub fn relay(&self) -> RelaySettings {
        RelaySettings {
            general: self.general.clone(),
            log: self.log.clone(),
            smtp: self.smtp.clone(),
            dlp: self.dlp.clone(),
            encrypt: self.encrypt.clone(),
            misdelivery: self.misdelivery.clone(),
        }
    }
}

/// The sections of the tree, in the order they are read.
pub const SECTIONS: &[&str] = &[
    "general",
    "log",
    "smtp",
    "dlp",
    "encrypt",
    "misdelivery",
    "links",
    "firewall",
    "admin",
    "time",
    "update",
];

/// The sections `mamori time-apply` reads.
pub const TIME_SECTIONS: &[&str] = &["general", "log", "time"];

/// The sections the firewall daemon reads.
pub const FIREWALL_SECTIONS: &[&str] = &["general", "log", "firewall"];

/// The sections the download service reads (`[encrypt]` for the public address).
pub const LINKD_SECTIONS: &[&str] = &["general", "log", "encrypt", "links"];

/// The sections the update daemon reads.
pub const UPDATED_SECTIONS: &[&str] = &["general", "log", "update"];

/// The sections the admin panel reads at start.
pub const ADMIN_SECTIONS: &[&str] = &["general", "log", "admin"];

/// Why a configuration could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A file or environment value could not be read, or a file is not TOML; the source
    /// (from the `config` crate) names the origin.
    #[error("configuration could not be read")]
    Load(#[source] LoadError),
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
    let layers = Layers::read(files, env, mamori_smtp::settings::ENV_LIST_KEYS)
        .map_err(ConfigError::Load)?;
    Ok(read(&layers))
}

/// Parses one TOML document (no environment) and checks it: for tools and tests.
pub fn from_toml_str(text: &str) -> Result<Config, ConfigError> {
    let layers = Layers::from_toml_str(text).map_err(ConfigError::Load)?;
    read(&layers).strict()
}

/// Reads every section with its owner's reader and rules.
pub(crate) fn read(layers: &Layers) -> Loaded {
    let mut report = Report::default();
    layers.check_sections(SECTIONS, &mut report);
    let relay = RelaySettings::read(layers, &mut report);
    let links: mamori_links::LinksConfig = layers.section("links", &mut report);
    links.check_into(&mut report);
    let firewall: mamori_firewall::FirewallConfig = layers.section("firewall", &mut report);
    mamori_firewall::validate::check_into(&firewall, &mut report);
    let admin: mamori_panel::settings::Admin = layers.section("admin", &mut report);
    mamori_panel::settings::check_into(&admin, &mut report);
    let time: mamori_core::time::TimeSettings = layers.section("time", &mut report);
    mamori_core::time::check(&time, &mut report);
    let update: mamori_update::config::UpdateConfig = layers.section("update", &mut report);
    update.check_into(&mut report);
    let config = Config {
        general: relay.general,
        log: relay.log,
        smtp: relay.smtp,
        dlp: relay.dlp,
        encrypt: relay.encrypt,
        misdelivery: relay.misdelivery,
        links,
        firewall,
        admin,
        time,
        update,
    };
    Loaded { config, report }
}

#[cfg(test)]
mod tests;
