//! The `[misdelivery]` section: misdelivery prevention (誤送信防止). The timed hold:
//! matching mail waits in the queue for a while, and its sender gets links to cancel it or
//! send it at once; FUTURERELEASE (RFC 4865), with which a mail program asks for the same;
//! and Bcc conversion of mail that shows too many outside addresses.

use std::time::Duration;

use mamori_core::report::Report;
use mamori_dlp::AddressPattern;
use serde::{Deserialize, Serialize};

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
pub enum TimeoutOutcome {
    /// Not sent; the sender gets a report saying why (the default).
    #[default]
    Reject,
    /// Sent.
    Send,
}

/// Approval: mail that matches waits until an approver of the office approves or rejects
/// it, from the link in their notice (or the panel's queue page).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Approval {
    /// Who approves: addresses of the office (none, the default: no approval). The sender
    /// never approves their own mail.
    pub approvers: Vec<String>,
    /// Only mail from these senders (address patterns or domains; empty: any).
    pub senders: Vec<String>,
    /// Only mail with a recipient outside the office (default yes).
    pub external_only: bool,
    /// Only mail with an attachment (default yes).
    pub with_attachment: bool,
    /// Only mail in which DLP found something, even what it only logs (default no).
    pub with_finding: bool,
    /// How long it waits for a decision (default 24h, at most 7 days).
    #[serde(with = "humantime_serde")]
    pub timeout: Duration,
    /// What happens then (default `reject`).
    pub on_timeout: TimeoutOutcome,
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
            on_timeout: TimeoutOutcome::Reject,
        }
    }
}

/// New-domain confirmation: mail to a domain the office has not sent to in the last
/// `learn_days` waits until its sender confirms it (the commonest misdelivery is a new,
/// mistyped domain).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct NewDomain {
    /// On or off (default off).
    pub enabled: bool,
    /// How far back a delivery makes a domain known (default 90 days).
    pub learn_days: u64,
    /// How long it waits for the sender (default 24h, at most 7 days).
    #[serde(with = "humantime_serde")]
    pub timeout: Duration,
    /// What happens then (default `reject`).
    pub on_timeout: TimeoutOutcome,
}

impl Default for NewDomain {
    fn default() -> Self {
        Self {
            enabled: false,
            learn_days: 90,
            timeout: Duration::from_secs(86_400),
            on_timeout: TimeoutOutcome::Reject,
        }
    }
}

/// The longest an approval or a confirmation waits.
pub const MAX_DECISION_WAIT: Duration = Duration::from_secs(7 * 86_400);

/// Misdelivery prevention.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Misdelivery {
    /// How long matching mail waits before it leaves (`0s`, the default: no timed hold).
    #[serde(with = "humantime_serde")]
    pub hold: Duration,
    /// Which mail waits.
    pub hold_scope: HoldScope,
    /// Senders whose mail never waits (address patterns or domains).
    pub hold_except_senders: Vec<String>,
    /// The longest a mail program may ask to hold a mail with FUTURERELEASE (`0s`: the
    /// extension is not offered; default 7 days).
    #[serde(with = "humantime_serde")]
    pub max_future_release: Duration,
    /// The panel's address as the office opens it, for the links in notices (default
    /// `https://<general.hostname>`).
    pub link_base: Option<String>,
    /// Bcc conversion: when To and Cc name more recipients outside the office than this,
    /// they are taken out of the header (the envelope still reaches them) and the sender
    /// is told (0, the default: off).
    pub bcc_threshold: usize,
    /// A prefix for the subject of mail that waited on one of these holds (empty, the
    /// default: the subject is kept).
    pub subject_tag: String,
    /// Approval by an approver.
    pub approval: Approval,
    /// New-domain confirmation by the sender.
    pub new_domain: NewDomain,
}

impl Default for Misdelivery {
    fn default() -> Self {
        Self {
            hold: Duration::ZERO,
            hold_scope: HoldScope::External,
            hold_except_senders: Vec::new(),
            max_future_release: Duration::from_secs(7 * 86_400),
            link_base: None,
            bcc_threshold: 0,
            subject_tag: String::new(),
            approval: Approval::default(),
            new_domain: NewDomain::default(),
        }
    }
}

/// The longest timed hold (a day: longer is a quarantine, not a chance to think again).
pub const MAX_HOLD: Duration = Duration::from_secs(86_400);
/// The longest FUTURERELEASE offered (RFC 4865 leaves it to the server; 30 days).
pub const MAX_FUTURE_RELEASE: Duration = Duration::from_secs(30 * 86_400);

impl Misdelivery {
    /// Does the relay need the misdelivery stage at all?
    pub fn active(&self) -> bool {
        !self.hold.is_zero()
            || !self.max_future_release.is_zero()
            || self.bcc_threshold > 0
            || !self.approval.approvers.is_empty()
            || self.new_domain.enabled
    }

    /// The base of the links in notices, without a trailing `/`.
    pub fn link_base(&self, hostname: &str) -> String {
        self.link_base
            .as_deref()
            .map(|b| b.trim_end_matches('/').to_owned())
            .unwrap_or_else(|| format!("https://{hostname}"))
    }

    /// Checks the section into `r`.
    pub fn check_into(&self, r: &mut Report) {
        if self.hold > MAX_HOLD {
            r.error(
                "misdelivery.hold",
                humantime::format_duration(self.hold),
                "at most 24h: a longer wait is a quarantine (DLP's hold), not a chance to think again",
            );
        }
        if self.max_future_release > MAX_FUTURE_RELEASE {
            r.error(
                "misdelivery.max_future_release",
                humantime::format_duration(self.max_future_release),
                "at most 30d",
            );
        }
        for p in &self.hold_except_senders {
            if let Err(why) = AddressPattern::parse(p) {
                r.error("misdelivery.hold_except_senders", p, why);
            }
        }
        for a in &self.approval.approvers {
            let ok = a.rsplit_once('@').is_some_and(|(l, d)| {
                !l.is_empty() && d.contains('.') && !a.contains(char::is_whitespace)
            });
            if !ok {
                r.error(
                    "misdelivery.approval.approvers",
                    a,
                    "an approver's mail address, such as bucho@office.example.jp",
                );
            }
        }
        for p in &self.approval.senders {
            if let Err(why) = AddressPattern::parse(p) {
                r.error("misdelivery.approval.senders", p, why);
            }
        }
        for (key, wait) in [
            ("misdelivery.approval.timeout", self.approval.timeout),
            ("misdelivery.new_domain.timeout", self.new_domain.timeout),
        ] {
            if wait.is_zero() || wait > MAX_DECISION_WAIT {
                r.error(
                    key,
                    humantime::format_duration(wait),
                    "from 1s to 7d: how long the mail waits for a decision",
                );
            }
        }
        if self.subject_tag.chars().count() > 40 || self.subject_tag.chars().any(char::is_control) {
            r.error(
                "misdelivery.subject_tag",
                &self.subject_tag,
                "at most 40 characters, on one line",
            );
        }
        if !(1..=3650).contains(&self.new_domain.learn_days) {
            r.error(
                "misdelivery.new_domain.learn_days",
                self.new_domain.learn_days,
                "from 1 to 3650 days",
            );
        }
        if let Some(base) = &self.link_base {
            let ok = base.strip_prefix("https://").is_some_and(|rest| {
                !rest.is_empty()
                    && !rest.starts_with('/')
                    && rest.bytes().all(|b| b.is_ascii_graphic())
            });
            if !ok {
                r.error(
                    "misdelivery.link_base",
                    base,
                    "the panel's address as the office opens it, starting with https:// (such as https://mamori.office.lan)",
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bad_section_names_each_key_and_the_default_is_clean() {
        let mut r = Report::default();
        Misdelivery::default().check_into(&mut r);
        assert!(r.is_ok());
        let bad = Misdelivery {
            hold: Duration::from_secs(2 * 86_400),
            max_future_release: Duration::from_secs(60 * 86_400),
            hold_except_senders: vec![" ".into()],
            link_base: Some("http://x".into()),
            ..Misdelivery::default()
        };
        let mut r = Report::default();
        bad.check_into(&mut r);
        let keys: Vec<&str> = r.errors.iter().map(|e| e.key.as_str()).collect();
        assert_eq!(
            keys,
            [
                "misdelivery.hold",
                "misdelivery.max_future_release",
                "misdelivery.hold_except_senders",
                "misdelivery.link_base"
            ]
        );
        assert_eq!(
            Misdelivery::default().link_base("gw.example.jp"),
            "https://gw.example.jp"
        );
    }
}
