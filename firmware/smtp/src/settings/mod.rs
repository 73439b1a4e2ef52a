//! The relay's settings: the `[smtp]` section it owns, the `[dlp]` policy and the
//! `[encrypt]` attachment encryption it applies, and the checks over them, so that the relay refuses to start only for its own mistakes.

mod misdelivery;
mod model;
mod types;
mod validate;

use mamori_core::general::{General, Log};
use mamori_core::load::{Layers, LoadError};
use mamori_core::report::Report;
use mamori_core::values::Domain;
use mamori_dlp::DlpConfig;
use mamori_encrypt::EncryptConfig;
use serde::{Deserialize, Serialize};

pub use misdelivery::{Approval, HoldScope, Misdelivery, NewDomain, TimeoutOutcome};
pub use model::*;
pub use types::{ListenerKind, SenderPattern, TlsMode};
pub use validate::check;

/// The sections the relay reads.
pub const SECTIONS: &[&str] = &["general", "log", "smtp", "dlp", "encrypt", "misdelivery"];

/// Keys of the relay's sections whose environment values are comma-separated lists.
pub const ENV_LIST_KEYS: &[&str] = &[
    "smtp.trusted_networks",
    "smtp.office_domains",
    "smtp.local_domains",
];

/// Everything the relay runs on: the box-wide sections and its own.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RelaySettings {
    /// Where state lives and the box's name.
    pub general: General,
    /// Logging.
    pub log: Log,
    /// The relay.
    pub smtp: Smtp,
    /// Data-loss prevention for mail passing the relay.
    pub dlp: DlpConfig,
    /// Attachment encryption for mail passing the relay.
    pub encrypt: EncryptConfig,
    /// Misdelivery prevention (timed hold, FUTURERELEASE).
    pub misdelivery: Misdelivery,
}

impl RelaySettings {
    /// Reads the relay's sections from `layers` (earlier releases' keys migrated) and checks
    /// them, recording every error and warning in `report`.
    pub fn read(layers: &Layers, report: &mut Report) -> Self {
        let mut s = Self {
            general: layers.section("general", report),
            log: layers.section("log", report),
            smtp: layers.section("smtp", report),
            dlp: layers.section("dlp", report),
            encrypt: layers.section("encrypt", report),
            misdelivery: layers.section("misdelivery", report),
        };
        migrate_legacy(&mut s.smtp, report);
        mamori_core::general::check(&s.general, &s.log, report);
        check(&s.general, &s.smtp, &s.dlp, report);
        for p in s.encrypt.check() {
            report.error(p.key, p.value, p.why);
        }
        s.misdelivery.check_into(report);
        for p in s.encrypt.risks() {
            report.warn(p.key, p.value, p.why);
        }
        if !s.encrypt.enabled {
            for (i, rule) in s.dlp.rules.iter().enumerate() {
                if rule.action == mamori_dlp::Action::Encrypt {
                    report.warn(
                        format!("dlp.rules[{i}].action"),
                        "encrypt",
                        "attachment encryption is off (encrypt.enabled = false): mail this rule matches is held instead",
                    );
                }
            }
        }
        s
    }

    /// One TOML document with only the relay's sections, checked with nothing wrong allowed:
    /// for tests and tools that run the relay alone.
    pub fn from_toml_str(text: &str) -> Result<Self, SettingsError> {
        let layers = Layers::from_toml_str(text)?;
        let mut report = Report::default();
        layers.check_sections(SECTIONS, &mut report);
        let s = Self::read(&layers, &mut report);
        if report.is_ok() {
            Ok(s)
        } else {
            Err(SettingsError::Invalid(report))
        }
    }
}

/// Why the relay's settings cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    /// The text is not TOML.
    #[error(transparent)]
    Load(#[from] LoadError),
    /// Rules of the model are broken: every error, keyed.
    #[error("the settings have {} error(s):\n{}", .0.errors.len(), .0)]
    Invalid(Report),
}

/// Reads the settings of earlier releases into today's model, with a warning naming what to
/// write instead: `smtp.local_domains` did the jobs of `office_domains` and
/// `accepted_domains` in one list. Its domains become office domains, and those with a
/// route in `smtp.delivery.routes` accepted domains (recipients checked by callout).
pub fn migrate_legacy(s: &mut Smtp, report: &mut Report) {
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
