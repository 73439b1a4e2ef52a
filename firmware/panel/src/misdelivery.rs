//! The misdelivery-prevention page's pure parts (誤送信防止): the `[misdelivery]` section as
//! the page shows it ([`section`]), its one form checked field by field and turned into the
//! keys a change writes (only those that change), which protections a change turns off
//! (that asks for the password again), and the settings service's refusal placed next to
//! the fields its keys name. Durations are typed in minutes, hours or days and written as
//! humantime strings (`5m`, `24h`, `7d`).
//!
//! The panel cannot run the relay's own check of the section (`Misdelivery::check_into`
//! lives in `mamori-smtp`, which the panel does not depend on), so the form's fields are
//! checked here at least as strictly, and the settings service, which checks every version
//! with the relay's model, has the final word: its refusal names the key, and
//! [`refused`] puts it next to that key's field.

mod entries;
pub mod section;

#[cfg(test)]
mod tests;

use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::i18n::{Texts, fill};
use entries::{approvers, link_base, patterns};
pub use section::{HoldScope, Outcome, Protection, Section, read};

/// The hold's choices, as the form and the settings name them (the first is the default).
pub const HOLD_SCOPES: &[&str] = &["external", "all"];

/// What happens to mail nobody decided on in time (the first is the default).
pub const OUTCOMES: &[&str] = &["reject", "send"];

/// The longest timed hold, in minutes (24 hours, as the relay accepts).
pub const MAX_HOLD_MINUTES: u64 = 24 * 60;

/// The longest FUTURERELEASE offered, in days (as the relay accepts).
pub const MAX_FUTURE_RELEASE_DAYS: u64 = 30;

/// The longest wait for an approval or a confirmation, in hours (7 days, as the relay
/// accepts); the least is an hour.
pub const MAX_WAIT_HOURS: u64 = 7 * 24;

/// How far back a delivery makes a domain known, in days.
pub const LEARN_DAYS: (u64, u64) = (1, 3650);

/// The largest Bcc threshold the page writes (more than a mail names).
pub const MAX_BCC_THRESHOLD: u64 = 1000;

/// The most entries a senders list takes.
pub const MAX_ENTRIES: usize = 200;

/// The most approvers.
pub const MAX_APPROVERS: usize = 20;

/// The form as typed (or as the section has it).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Draft {
    /// The timed hold, in minutes (a hold of no whole minutes is shown as the settings
    /// write it, and kept while left as shown; so are the other durations).
    pub hold: String,
    /// One of [`HOLD_SCOPES`].
    pub hold_scope: String,
    /// Senders whose mail never waits: addresses or domains, one a line or comma-separated.
    pub hold_except_senders: String,
    /// The longest FUTURERELEASE, in days.
    pub max_future_release: String,
    /// The Bcc threshold (0: off).
    pub bcc_threshold: String,
    /// The approvers' addresses (empty: no approval).
    pub approvers: String,
    /// The senders whose mail needs approval (empty: any).
    pub approval_senders: String,
    /// Only mail with a recipient outside the office.
    pub external_only: bool,
    /// Only mail with an attachment.
    pub with_attachment: bool,
    /// Only mail in which DLP found something.
    pub with_finding: bool,
    /// How long an approval waits, in hours.
    pub approval_timeout: String,
    /// One of [`OUTCOMES`].
    pub approval_on_timeout: String,
    /// New-domain confirmation on.
    pub new_domain: bool,
    /// Days of deliveries that make a domain known.
    pub learn_days: String,
    /// How long a confirmation waits, in hours.
    pub new_domain_timeout: String,
    /// One of [`OUTCOMES`].
    pub new_domain_on_timeout: String,
    /// The links' address (empty: the default).
    pub link_base: String,
}

/// A field of the form, where a problem is shown (ordered as the form shows them, from the
/// top).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Field {
    /// The timed hold's minutes.
    Hold,
    /// Which mail waits.
    HoldScope,
    /// The senders whose mail never waits.
    HoldExcept,
    /// FUTURERELEASE's days.
    FutureRelease,
    /// The Bcc threshold.
    Bcc,
    /// The approvers.
    Approvers,
    /// The senders whose mail needs approval (and the approval's conditions).
    ApprovalSenders,
    /// The approval's wait.
    ApprovalTimeout,
    /// What happens when no approver decided.
    ApprovalOnTimeout,
    /// The days a domain stays known.
    LearnDays,
    /// The confirmation's wait.
    NewDomainTimeout,
    /// What happens when the sender did not confirm.
    NewDomainOnTimeout,
    /// The links' address.
    LinkBase,
    /// The form as a whole (a key it has no field for).
    Form,
}

impl Field {
    /// The page's name for the field: its error paragraph is `{id}-error`.
    pub fn id(self) -> &'static str {
        match self {
            Self::Hold => "hold",
            Self::HoldScope => "hold-scope",
            Self::HoldExcept => "hold-except",
            Self::FutureRelease => "future-release",
            Self::Bcc => "bcc",
            Self::Approvers => "approvers",
            Self::ApprovalSenders => "approval-senders",
            Self::ApprovalTimeout => "approval-timeout",
            Self::ApprovalOnTimeout => "approval-on-timeout",
            Self::LearnDays => "learn-days",
            Self::NewDomainTimeout => "new-domain-timeout",
            Self::NewDomainOnTimeout => "new-domain-on-timeout",
            Self::LinkBase => "link-base",
            Self::Form => "form",
        }
    }
}

/// What is wrong with a field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Why {
    /// Not a whole number from `least` to `most`.
    Number {
        /// The least accepted.
        least: u64,
        /// The most accepted.
        most: u64,
    },
    /// A choice not on the form (a forged request).
    Choice,
    /// More than this many entries.
    TooMany(usize),
    /// This entry is not an address or a domain.
    Pattern(String),
    /// This approver is not a mail address.
    NotAnAddress(String),
    /// This approver is not an address of the office (the link to approve would leave it).
    NotOffice(String),
    /// The links' address is not an `https://` address.
    LinkBase,
    /// The settings service refused the key: the value and the reason, as it said them.
    Refused(String),
}

/// One problem with the form: where, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The field it is shown next to.
    pub field: Field,
    /// Why.
    pub why: Why,
}

/// What the form changes.
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    /// The keys that change (`misdelivery.hold` …) with their new values; none when the
    /// form says what is in force.
    pub set: Vec<(String, Value)>,
    /// The keys removed (`misdelivery.link_base` emptied: the default again).
    pub unset: Vec<String>,
    /// The protections that were on and the form turns off.
    pub turns_off: Vec<Protection>,
}

/// A unit durations are typed in.
#[derive(Debug, Clone, Copy)]
struct Unit {
    secs: u64,
    suffix: &'static str,
}

const MINUTES: Unit = Unit {
    secs: 60,
    suffix: "m",
};
const HOURS: Unit = Unit {
    secs: 3600,
    suffix: "h",
};
const DAYS: Unit = Unit {
    secs: 86_400,
    suffix: "d",
};

/// `d` as the form shows it in `unit`: whole units, else as the settings write it.
fn duration_text(d: Duration, unit: Unit) -> String {
    if d.as_secs().is_multiple_of(unit.secs) && d.subsec_nanos() == 0 {
        (d.as_secs() / unit.secs).to_string()
    } else {
        humantime::format_duration(d).to_string()
    }
}

/// A duration field: left as shown, `current`; else a whole number of `unit`s from
/// `least` to `most`.
fn duration_field(
    text: &str,
    current: Duration,
    unit: Unit,
    (least, most): (u64, u64),
) -> Result<Duration, Why> {
    if text.trim() == duration_text(current, unit) {
        return Ok(current);
    }
    number(text, least, most).map(|n| Duration::from_secs(n * unit.secs))
}

/// A whole number from `least` to `most`.
fn number(text: &str, least: u64, most: u64) -> Result<u64, Why> {
    text.trim()
        .parse::<u64>()
        .ok()
        .filter(|n| (least..=most).contains(n))
        .ok_or(Why::Number { least, most })
}

/// `value`'s form value (`external`, `send` …): its name in the settings.
fn form_value<T: Serialize>(value: &T) -> String {
    json(value).as_str().map(str::to_owned).unwrap_or_default()
}

/// The form value `text`, if it is one of `allowed`, as its type.
fn choice<T: DeserializeOwned>(text: &str, allowed: &[&str]) -> Result<T, Why> {
    if !allowed.contains(&text) {
        return Err(Why::Choice);
    }
    serde_json::from_value(Value::from(text)).map_err(|_| Why::Choice)
}

/// `value` as JSON (`null` if it cannot be written, which the section's types always can).
fn json<T: Serialize>(value: &T) -> Value {
    serde_json::to_value(value).unwrap_or(Value::Null)
}

impl Draft {
    /// The form filled with the section in force.
    pub fn of(s: &Section) -> Self {
        Self {
            hold: duration_text(s.hold, MINUTES),
            hold_scope: form_value(&s.hold_scope),
            hold_except_senders: s.hold_except_senders.join("\n"),
            max_future_release: duration_text(s.max_future_release, DAYS),
            bcc_threshold: s.bcc_threshold.to_string(),
            approvers: s.approval.approvers.join("\n"),
            approval_senders: s.approval.senders.join("\n"),
            external_only: s.approval.external_only,
            with_attachment: s.approval.with_attachment,
            with_finding: s.approval.with_finding,
            approval_timeout: duration_text(s.approval.timeout, HOURS),
            approval_on_timeout: form_value(&s.approval.on_timeout),
            new_domain: s.new_domain.enabled,
            learn_days: s.new_domain.learn_days.to_string(),
            new_domain_timeout: duration_text(s.new_domain.timeout, HOURS),
            new_domain_on_timeout: form_value(&s.new_domain.on_timeout),
            link_base: s.link_base.clone().unwrap_or_default(),
        }
    }
}

/// What the form changes in `current` (the section in force); `office_domains` are the
/// office's domains (`smtp.office_domains`; approvers must be of them when there are
/// any). Every field is checked; `Err` has every problem found.
pub fn change(
    current: &Section,
    draft: &Draft,
    office_domains: &[String],
) -> Result<Change, Vec<Problem>> {
    let mut problems = Vec::new();
    let mut new = current.clone();
    let mut take = |field, result: Result<(), Why>| {
        if let Err(why) = result {
            problems.push(Problem { field, why });
        }
    };
    take(
        Field::Hold,
        duration_field(&draft.hold, current.hold, MINUTES, (0, MAX_HOLD_MINUTES))
            .map(|d| new.hold = d),
    );
    take(
        Field::HoldScope,
        choice(&draft.hold_scope, HOLD_SCOPES).map(|c| new.hold_scope = c),
    );
    let future = (0, MAX_FUTURE_RELEASE_DAYS);
    take(
        Field::FutureRelease,
        duration_field(
            &draft.max_future_release,
            current.max_future_release,
            DAYS,
            future,
        )
        .map(|d| new.max_future_release = d),
    );
    take(
        Field::Bcc,
        number(&draft.bcc_threshold, 0, MAX_BCC_THRESHOLD).map(|n| new.bcc_threshold = n),
    );
    let wait = (1, MAX_WAIT_HOURS);
    take(
        Field::ApprovalTimeout,
        duration_field(
            &draft.approval_timeout,
            current.approval.timeout,
            HOURS,
            wait,
        )
        .map(|d| new.approval.timeout = d),
    );
    take(
        Field::ApprovalOnTimeout,
        choice(&draft.approval_on_timeout, OUTCOMES).map(|c| new.approval.on_timeout = c),
    );
    take(
        Field::LearnDays,
        number(&draft.learn_days, LEARN_DAYS.0, LEARN_DAYS.1)
            .map(|n| new.new_domain.learn_days = n),
    );
    take(
        Field::NewDomainTimeout,
        duration_field(
            &draft.new_domain_timeout,
            current.new_domain.timeout,
            HOURS,
            wait,
        )
        .map(|d| new.new_domain.timeout = d),
    );
    take(
        Field::NewDomainOnTimeout,
        choice(&draft.new_domain_on_timeout, OUTCOMES).map(|c| new.new_domain.on_timeout = c),
    );
    take(
        Field::LinkBase,
        link_base(&draft.link_base).map(|l| new.link_base = l),
    );
    new.approval.external_only = draft.external_only;
    new.approval.with_attachment = draft.with_attachment;
    new.approval.with_finding = draft.with_finding;
    new.new_domain.enabled = draft.new_domain;
    new.hold_except_senders =
        patterns(&draft.hold_except_senders, Field::HoldExcept, &mut problems);
    new.approval.approvers = approvers(&draft.approvers, office_domains, &mut problems);
    new.approval.senders = patterns(
        &draft.approval_senders,
        Field::ApprovalSenders,
        &mut problems,
    );
    if !problems.is_empty() {
        problems.sort_by_key(|p| p.field);
        return Err(problems);
    }
    Ok(Change {
        set: changed_keys(current, &new),
        unset: if current.link_base.is_some() && new.link_base.is_none() {
            vec!["misdelivery.link_base".into()]
        } else {
            Vec::new()
        },
        turns_off: Protection::ALL
            .into_iter()
            .filter(|p| p.is_on(current) && !p.is_on(&new))
            .collect(),
    })
}

/// The keys whose values differ between `current` and `new`, with `new`'s (durations
/// compared as durations and written in the form's unit; a removed link address is in
/// the change's `unset`, not here).
fn changed_keys(current: &Section, new: &Section) -> Vec<(String, Value)> {
    // Each key: the value it compares by (durations in seconds), and what it writes.
    let duration = |d: Duration, unit: Unit| {
        (
            json(&d.as_secs_f64()),
            Value::from(format!("{}{}", d.as_secs() / unit.secs, unit.suffix)),
        )
    };
    let plain = |v: Value| (v.clone(), v);
    let keys = |s: &Section| {
        let (a, n) = (&s.approval, &s.new_domain);
        [
            ("hold", duration(s.hold, MINUTES)),
            ("hold_scope", plain(json(&s.hold_scope))),
            ("hold_except_senders", plain(json(&s.hold_except_senders))),
            ("max_future_release", duration(s.max_future_release, DAYS)),
            ("bcc_threshold", plain(json(&s.bcc_threshold))),
            ("approval.approvers", plain(json(&a.approvers))),
            ("approval.senders", plain(json(&a.senders))),
            ("approval.external_only", plain(json(&a.external_only))),
            ("approval.with_attachment", plain(json(&a.with_attachment))),
            ("approval.with_finding", plain(json(&a.with_finding))),
            ("approval.timeout", duration(a.timeout, HOURS)),
            ("approval.on_timeout", plain(json(&a.on_timeout))),
            ("new_domain.enabled", plain(json(&n.enabled))),
            ("new_domain.learn_days", plain(json(&n.learn_days))),
            ("new_domain.timeout", duration(n.timeout, HOURS)),
            ("new_domain.on_timeout", plain(json(&n.on_timeout))),
            ("link_base", plain(json(&s.link_base))),
        ]
    };
    keys(current)
        .into_iter()
        .zip(keys(new))
        .filter(|((_, (before, _)), (_, (after, _)))| before != after)
        .filter(|(_, (_, (_, written)))| !written.is_null())
        .map(|(_, (key, (_, written)))| (format!("misdelivery.{key}"), written))
        .collect()
}

/// Where the settings service's problem with `key` is shown.
pub fn field_of(key: &str) -> Field {
    let Some(key) = key.strip_prefix("misdelivery.") else {
        return Field::Form;
    };
    match key {
        "hold" => Field::Hold,
        "hold_scope" => Field::HoldScope,
        "hold_except_senders" => Field::HoldExcept,
        "max_future_release" => Field::FutureRelease,
        "bcc_threshold" => Field::Bcc,
        "approval.approvers" => Field::Approvers,
        "approval.senders" => Field::ApprovalSenders,
        "approval.timeout" => Field::ApprovalTimeout,
        "approval.on_timeout" => Field::ApprovalOnTimeout,
        "new_domain.learn_days" => Field::LearnDays,
        "new_domain.timeout" => Field::NewDomainTimeout,
        "new_domain.on_timeout" => Field::NewDomainOnTimeout,
        "link_base" => Field::LinkBase,
        _ => Field::Form,
    }
}

/// The problems with `[misdelivery]` keys in the settings service's refusal `text` (its
/// report: one `error: KEY = VALUE: REASON` line a problem), each at the field its key
/// names; problems with other keys, or with none of the form's fields, are left to the
/// refusal shown whole.
pub fn refused(text: &str) -> Vec<Problem> {
    text.lines()
        .filter_map(|line| line.trim().strip_prefix("error: "))
        .filter_map(|issue| issue.split_once(" = "))
        .map(|(key, rest)| (field_of(key.trim()), rest))
        .filter(|(field, _)| *field != Field::Form)
        .map(|(field, rest)| Problem {
            field,
            why: Why::Refused(rest.chars().take(300).collect()),
        })
        .collect()
}

/// The text shown next to the field for `p`.
pub fn problem_text(t: &Texts, p: &Problem) -> String {
    match &p.why {
        Why::Number { least, most } => fill(t.problem_limit, format!("{least}–{most}")),
        Why::Choice => t.problem_bad_choice.into(),
        Why::TooMany(n) => fill(t.mis_problem_too_many, n),
        Why::Pattern(entry) => fill(t.enc_problem_pattern, entry),
        Why::NotAnAddress(entry) => fill(t.mis_problem_address, entry),
        Why::NotOffice(entry) => fill(t.mis_problem_not_office, entry),
        Why::LinkBase => t.mis_problem_link_base.into(),
        Why::Refused(detail) => fill(t.enc_problem_other, detail),
    }
}
