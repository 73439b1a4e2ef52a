//! The `[misdelivery]` section as the page reads it from the settings service's JSON.
//!
//! The panel does not depend on the relay's crate: `mamori-smtp` sits beside it, both below
//! `mamori-settings`, and would bring the relay's runtime (tokio, the resolver, TLS) into
//! the panel's pure core. So this mirrors the fields the page edits, with the relay's
//! defaults for a section the settings do not name. It is lenient where the relay is strict (an
//! unknown key is ignored, not refused): the page writes only its own keys, and the
//! settings service checks every version with the relay's own model. The system test
//! `panel_misdelivery` compares these defaults and bounds with the relay's.

use std::time::Duration;

use serde::de::{Deserializer, Error as _};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Which mail the timed hold keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum HoldScope {
    /// Mail with at least one recipient outside the office (the default).
    #[default]
    External,
    /// All mail.
    All,
}

/// What happens to held mail nobody decided on in time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// Not sent; the sender is told why (the default).
    #[default]
    Reject,
    /// Sent.
    Send,
}

/// `misdelivery.approval`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct Approval {
    /// The approvers' addresses (none: no approval).
    pub approvers: Vec<String>,
    /// Only mail from these senders (none: any).
    pub senders: Vec<String>,
    /// Only mail with a recipient outside the office.
    pub external_only: bool,
    /// Only mail with an attachment.
    pub with_attachment: bool,
    /// Only mail in which DLP found something.
    pub with_finding: bool,
    /// How long it waits for a decision.
    #[serde(deserialize_with = "duration")]
    pub timeout: Duration,
    /// What happens then.
    pub on_timeout: Outcome,
}

impl Default for Approval {
    fn default() -> Self {
        Self {
            approvers: Vec::new(),
            senders: Vec::new(),
            external_only: true,
            with_attachment: true,
            with_finding: false,
            timeout: Duration::from_secs(86_400),
            on_timeout: Outcome::Reject,
        }
    }
}

/// `misdelivery.new_domain`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct NewDomain {
    /// On or off.
    pub enabled: bool,
    /// How far back a delivery makes a domain known, in days.
    pub learn_days: u64,
    /// How long it waits for the sender.
    #[serde(deserialize_with = "duration")]
    pub timeout: Duration,
    /// What happens then.
    pub on_timeout: Outcome,
}

impl Default for NewDomain {
    fn default() -> Self {
        Self {
            enabled: false,
            learn_days: 90,
            timeout: Duration::from_secs(86_400),
            on_timeout: Outcome::Reject,
        }
    }
}

/// The section, as far as the page edits it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct Section {
    /// How long matching mail waits (zero: no timed hold).
    #[serde(deserialize_with = "duration")]
    pub hold: Duration,
    /// Which mail waits.
    pub hold_scope: HoldScope,
    /// Senders whose mail never waits.
    pub hold_except_senders: Vec<String>,
    /// The longest FUTURERELEASE offered (zero: not offered).
    #[serde(deserialize_with = "duration")]
    pub max_future_release: Duration,
    /// The base of the links in notices (none: `https://<general.hostname>`).
    pub link_base: Option<String>,
    /// Outside recipients in To and Cc beyond this go to Bcc (zero: off).
    pub bcc_threshold: u64,
    /// Approval by an approver.
    pub approval: Approval,
    /// New-domain confirmation.
    pub new_domain: NewDomain,
}

impl Default for Section {
    fn default() -> Self {
        Self {
            hold: Duration::ZERO,
            hold_scope: HoldScope::External,
            hold_except_senders: Vec::new(),
            max_future_release: Duration::from_secs(7 * 86_400),
            link_base: None,
            bcc_threshold: 0,
            approval: Approval::default(),
            new_domain: NewDomain::default(),
        }
    }
}

/// A humantime duration (`"5m"`, `"1day"`, `"0s"`).
fn duration<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    let text = String::deserialize(d)?;
    humantime::parse_duration(&text).map_err(D::Error::custom)
}

/// The section from the settings service's JSON (`null`: the defaults).
pub fn read(section: &Value) -> Result<Section, String> {
    if section.is_null() {
        return Ok(Section::default());
    }
    Section::deserialize(section).map_err(|e| e.to_string())
}

/// A protection the page can turn off (turning one off asks for the password again).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protection {
    /// The timed hold (`hold` above zero).
    TimedHold,
    /// Approval (approvers named).
    Approval,
    /// New-domain confirmation (`new_domain.enabled`).
    NewDomain,
    /// Bcc conversion (`bcc_threshold` above zero).
    Bcc,
}

impl Protection {
    /// Every protection, in the page's order.
    pub const ALL: [Self; 4] = [Self::TimedHold, Self::Bcc, Self::Approval, Self::NewDomain];

    /// Is it on in `s`?
    pub fn is_on(self, s: &Section) -> bool {
        match self {
            Self::TimedHold => !s.hold.is_zero(),
            Self::Approval => !s.approval.approvers.is_empty(),
            Self::NewDomain => s.new_domain.enabled,
            Self::Bcc => s.bcc_threshold > 0,
        }
    }

    /// Its name in the audit log and the settings history.
    pub fn name(self) -> &'static str {
        match self {
            Self::TimedHold => "timed hold",
            Self::Approval => "approval",
            Self::NewDomain => "new-domain confirmation",
            Self::Bcc => "Bcc conversion",
        }
    }
}

impl Section {
    /// The protections on in this section.
    pub fn protections_on(&self) -> Vec<Protection> {
        Protection::ALL
            .into_iter()
            .filter(|p| p.is_on(self))
            .collect()
    }
}
