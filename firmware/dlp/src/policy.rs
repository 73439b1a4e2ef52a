//! Policy: what a [`Report`] leads to, for a given sender and recipients.
//!
//! A policy is an ordered list of rules. A rule applies when its sender, recipient and
//! scope conditions hold and the report has enough findings of its detectors at its
//! confidence (or one of its problems). Rules are read from the top, like a firewall:
//!
//! - the *marking* actions `log`, `tag` and `notify` add to the decision and reading goes on;
//! - the *deciding* actions `pass`, `hold`, `reject`, `discard` and `encrypt` end it: the
//!   first deciding rule that applies decides.
//!
//! With no rule deciding, the message passes (with whatever marks it got). Every rule that
//! applied is kept in the [`Decision`] with the reason in words and masked excerpts, so a
//! verdict is always explained. With no rules configured, [`default_rules`] apply.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::config::ScanConfig;
use crate::content::ProblemKind;
use crate::finding::{Confidence, DetectorKind};
use crate::inspect::Report;

/// What a rule does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Deliver; stop reading rules (an exemption).
    Pass,
    /// Record in the audit log and the system log; go on.
    Log,
    /// Prefix the subject with the rule's tag; go on.
    Tag,
    /// Tell the administrator by mail (masked findings only); go on.
    Notify,
    /// Keep the message in the quarantine until an administrator releases or deletes it.
    Hold,
    /// Refuse it in the final DATA reply (550 5.7.1) with a message in Japanese and English.
    Reject,
    /// Accept it and deliver nothing.
    Discard,
    /// Hand it to attachment encryption before delivery.
    Encrypt,
}

impl Action {
    /// Does this action end the reading of rules?
    pub fn is_deciding(self) -> bool {
        matches!(
            self,
            Self::Pass | Self::Hold | Self::Reject | Self::Discard | Self::Encrypt
        )
    }

    /// The name used in configuration and reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pass => "pass",
            Self::Log => "log",
            Self::Tag => "tag",
            Self::Notify => "notify",
            Self::Hold => "hold",
            Self::Reject => "reject",
            Self::Discard => "discard",
            Self::Encrypt => "encrypt",
        }
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which recipients a rule is about.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    /// Every message.
    #[default]
    Any,
    /// Messages with at least one recipient outside the office's domains.
    Outbound,
    /// Messages whose recipients are all in the office's domains.
    Internal,
}

/// One rule as written in the configuration (`[[dlp.rules]]`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleConfig {
    /// The name shown in verdicts, logs and notifications.
    pub name: String,
    /// The rule's name for English readers (ASCII), shown in the English line of a
    /// `reject` reply when `name` is not ASCII. Without it, that line names no rule: a
    /// Japanese name as `\u{793e}…` escapes helps no one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name_en: Option<String>,
    /// Detectors counted: `my_number`, `corporate_number`, `credit_card`, `phone`,
    /// `email_list`, `custom` (any dictionary rule) or `custom:<rule name>`. Empty with no
    /// `problems` means every detector.
    #[serde(default)]
    pub detectors: Vec<String>,
    /// Problems that make the rule apply by themselves (`archive_bomb`, `encrypted` …, or
    /// the group `not_fully_read`).
    #[serde(default)]
    pub problems: Vec<ProblemSelector>,
    /// The least confidence a finding needs to count (default `medium`).
    #[serde(default)]
    pub min_confidence: Confidence,
    /// How many counted findings make the rule apply (default 1).
    #[serde(default = "one")]
    pub min_count: usize,
    /// Only for these senders (address wildcards such as `*@sales.example.jp`, or domains
    /// such as `example.jp`, which include their subdomains). Empty: any sender.
    #[serde(default)]
    pub senders: Vec<String>,
    /// Only when at least one recipient is one of these (same forms). Empty: any.
    #[serde(default)]
    pub recipients: Vec<String>,
    /// The rule does not apply to mail from these senders (same forms; only a verified
    /// sender matches: see [`MailContext::sender_verified`]).
    #[serde(default)]
    pub except_senders: Vec<String>,
    /// The rule does not apply when every recipient outside the office's domains is one of
    /// these (same forms): an allowance for partners.
    #[serde(default)]
    pub except_recipients: Vec<String>,
    /// Outbound, internal or any mail (default any).
    #[serde(default)]
    pub scope: Scope,
    /// What to do.
    pub action: Action,
    /// The subject prefix for `tag` (default `[DLP]`).
    #[serde(default)]
    pub tag: Option<String>,
    /// The Japanese text of a `reject` reply (a default one names the rule).
    #[serde(default)]
    pub message_ja: Option<String>,
    /// The English text of a `reject` reply.
    #[serde(default)]
    pub message_en: Option<String>,
    /// When the rule holds a message, tell its sender why (default yes). Only a verified
    /// sender of the office is told, never an address outside it.
    #[serde(default = "yes")]
    pub notify_sender: bool,
}

fn yes() -> bool {
    true
}

/// A problem kind, or a group of them, as a rule names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ProblemSelector {
    /// One kind.
    Kind(ProblemKind),
    /// Every kind that means some content was not read ([`ProblemKind::is_not_fully_read`]).
    NotFullyRead,
}

impl ProblemSelector {
    /// The group's name in configuration.
    pub const NOT_FULLY_READ: &'static str = "not_fully_read";

    /// Does a problem of `kind` fall under this selector?
    pub fn matches(self, kind: ProblemKind) -> bool {
        match self {
            Self::Kind(k) => k == kind,
            Self::NotFullyRead => kind.is_not_fully_read(),
        }
    }

    /// The name written in configuration.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Kind(k) => k.as_str(),
            Self::NotFullyRead => Self::NOT_FULLY_READ,
        }
    }
}

impl std::str::FromStr for ProblemSelector {
    type Err = String;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        if text == Self::NOT_FULLY_READ {
            return Ok(Self::NotFullyRead);
        }
        ProblemKind::ALL
            .into_iter()
            .find(|k| k.as_str() == text)
            .map(Self::Kind)
            .ok_or_else(|| {
                let names: Vec<&str> = ProblemKind::ALL.iter().map(|k| k.as_str()).collect();
                format!(
                    "unknown problem \"{text}\" (expected {} or {})",
                    Self::NOT_FULLY_READ,
                    names.join(", ")
                )
            })
    }
}

impl From<ProblemKind> for ProblemSelector {
    fn from(kind: ProblemKind) -> Self {
        Self::Kind(kind)
    }
}

impl Serialize for ProblemSelector {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for ProblemSelector {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

fn one() -> usize {
    1
}

/// The rules used when the configuration has none, for mail sent outside the office:
///
/// 1. reject archive bombs (any mail);
/// 2. hold a My Number that context confirms (a label, a column header, a list of valid
///    numbers: confidence `high`);
/// 3. the same for card numbers;
/// 4. hold password-protected attachments, telling the sender that Mamori would rather see
///    the file as it is (and encrypt it for the recipient); senders and recipient domains in
///    `allow_encrypted` are allowed to send them;
/// 5. hold what could not be fully read (`not_fully_read`), telling the sender why;
/// 6. log the My Numbers and card numbers that no context confirms (low and medium
///    confidence: an order number passes the check digit one time in ten), so that an
///    administrator sees them in the audit log and the statistics and can tighten the rule;
/// 7. log address lists.
pub fn default_rules(allow_encrypted: &[String]) -> Vec<RuleConfig> {
    let rule = |name: &str,
                detectors: &[&str],
                problems: &[ProblemSelector],
                min_confidence,
                scope,
                action| RuleConfig {
        name: name.to_string(),
        name_en: None,
        detectors: detectors.iter().map(|d| d.to_string()).collect(),
        problems: problems.to_vec(),
        min_confidence,
        min_count: 1,
        senders: Vec::new(),
        recipients: Vec::new(),
        except_senders: Vec::new(),
        except_recipients: Vec::new(),
        scope,
        action,
        tag: None,
        message_ja: None,
        message_en: None,
        notify_sender: true,
    };
    let mut encrypted = rule(
        DEFAULT_ENCRYPTED_RULE,
        &[],
        &[ProblemKind::Encrypted.into()],
        Confidence::Medium,
        Scope::Outbound,
        Action::Hold,
    );
    encrypted.except_senders = allow_encrypted.to_vec();
    encrypted.except_recipients = allow_encrypted.to_vec();
    vec![
        rule(
            "archive bomb",
            &[],
            &[ProblemKind::ArchiveBomb.into()],
            Confidence::Medium,
            Scope::Any,
            Action::Reject,
        ),
        rule(
            "My Number sent outside",
            &["my_number"],
            &[],
            Confidence::High,
            Scope::Outbound,
            Action::Hold,
        ),
        rule(
            "card number sent outside",
            &["credit_card"],
            &[],
            Confidence::High,
            Scope::Outbound,
            Action::Hold,
        ),
        encrypted,
        rule(
            DEFAULT_NOT_FULLY_READ_RULE,
            &[],
            &[ProblemSelector::NotFullyRead],
            Confidence::Medium,
            Scope::Outbound,
            Action::Hold,
        ),
        rule(
            "possible My Number or card number",
            &["my_number", "credit_card"],
            &[],
            Confidence::Low,
            Scope::Outbound,
            Action::Log,
        ),
        rule(
            "address list",
            &["email_list"],
            &[],
            Confidence::Medium,
            Scope::Outbound,
            Action::Log,
        ),
    ]
}

/// The name of the default rule that holds password-protected attachments.
pub const DEFAULT_ENCRYPTED_RULE: &str = "password-protected attachment sent outside";
/// The name of the default rule that holds what could not be fully read.
pub const DEFAULT_NOT_FULLY_READ_RULE: &str = "content not fully read";

/// Why a policy could not be built.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("rules[{index}] (\"{name}\"): {reason}")]
pub struct PolicyError {
    /// The 0-based position of the rule.
    pub index: usize,
    /// Its name.
    pub name: String,
    /// What is wrong.
    pub reason: String,
}

/// Which findings a rule counts.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Selector {
    Detector(DetectorKind),
    AnyCustom,
}

impl Selector {
    fn parse(text: &str, scan: &ScanConfig) -> Result<Self, String> {
        Ok(match text {
            "my_number" => Self::Detector(DetectorKind::MyNumber),
            "corporate_number" => Self::Detector(DetectorKind::CorporateNumber),
            "credit_card" => Self::Detector(DetectorKind::CreditCard),
            "phone" => Self::Detector(DetectorKind::Phone),
            "email_list" => Self::Detector(DetectorKind::EmailList),
            "custom" => Self::AnyCustom,
            other => {
                let Some(name) = other.strip_prefix("custom:") else {
                    return Err(format!(
                        "unknown detector \"{other}\" (expected my_number, corporate_number, \
                         credit_card, phone, email_list, custom or custom:<rule name>)"
                    ));
                };
                let rule = scan
                    .custom
                    .rules
                    .iter()
                    .position(|r| r.name == name)
                    .ok_or_else(|| format!("no dictionary rule is named \"{name}\""))?;
                Self::Detector(DetectorKind::Custom { rule })
            }
        })
    }

    fn matches(&self, detector: DetectorKind) -> bool {
        match self {
            Self::Detector(d) => *d == detector,
            Self::AnyCustom => matches!(detector, DetectorKind::Custom { .. }),
        }
    }
}

/// An address pattern: a wildcard over the whole address (`*@sales.example.jp`), or a
/// domain with its subdomains (`example.jp`). Shared by every rule of the relay that names
/// senders or recipients (DLP, attachment encryption), so that they all read alike.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AddressPattern {
    /// A whole address with `*` and `?` wildcards (lower case).
    Address(String),
    /// A domain and its subdomains (lower case).
    Domain(String),
}

impl AddressPattern {
    /// Reads a pattern; an empty one is an error (the text says why).
    pub fn parse(text: &str) -> Result<Self, String> {
        let text = text.trim().to_lowercase();
        if text.is_empty() {
            return Err("an empty address pattern".into());
        }
        if text.contains('@') {
            Ok(Self::Address(text))
        } else {
            Ok(Self::Domain(
                text.trim_start_matches("*.").trim_start_matches('.').into(),
            ))
        }
    }

    /// Does `address` match (ignoring case)?
    pub fn matches(&self, address: &str) -> bool {
        let address = address.to_lowercase();
        match self {
            Self::Address(pattern) => wildcard_match(pattern.as_bytes(), address.as_bytes()),
            Self::Domain(domain) => {
                let Some((_, host)) = address.rsplit_once('@') else {
                    return false;
                };
                host == domain
                    || host
                        .strip_suffix(domain.as_str())
                        .is_some_and(|rest| rest.ends_with('.'))
            }
        }
    }
}

/// `*` any run, `?` one byte; linear in practice (greedy with one back-track point).
fn wildcard_match(pattern: &[u8], text: &[u8]) -> bool {
    let (mut p, mut t) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        match pattern.get(p) {
            Some(b'*') => {
                star = Some((p, t));
                p += 1;
            }
            Some(&c) if c == b'?' || Some(&c) == text.get(t) => {
                p += 1;
                t += 1;
            }
            _ => match star {
                Some((sp, st)) => {
                    p = sp + 1;
                    t = st + 1;
                    star = Some((sp, st + 1));
                }
                None => return false,
            },
        }
    }
    pattern
        .get(p..)
        .is_some_and(|rest| rest.iter().all(|&c| c == b'*'))
}

/// A compiled rule.
#[derive(Clone, Debug)]
struct Rule {
    config: RuleConfig,
    selectors: Vec<Selector>,
    senders: Vec<AddressPattern>,
    recipients: Vec<AddressPattern>,
    except_senders: Vec<AddressPattern>,
    except_recipients: Vec<AddressPattern>,
}

/// A compiled policy.
#[derive(Clone, Debug)]
pub struct Policy {
    rules: Vec<Rule>,
}

/// Who a message is from and to, and which domains are the office's own.
#[derive(Clone, Copy, Debug)]
pub struct MailContext<'a> {
    /// The envelope sender (empty for bounces).
    pub sender: &'a str,
    /// The envelope recipients.
    pub recipients: &'a [String],
    /// The office's own domains: recipients there are internal.
    pub office_domains: &'a [String],
    /// Was the sender's identity checked (an authenticated account allowed to use the
    /// address, or a host of the office's networks sending from an office domain)?
    /// Exemptions by sender (`pass` rules with `senders`, `except_senders`) match only a
    /// verified sender, so that a forged sender cannot buy one.
    pub sender_verified: bool,
}

impl MailContext<'_> {
    fn is_local(&self, address: &str) -> bool {
        let Some((_, host)) = address.rsplit_once('@') else {
            return false;
        };
        self.office_domains
            .iter()
            .any(|d| d.eq_ignore_ascii_case(host))
    }
}

/// A rule that applied, and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FiredRule {
    /// The rule's name.
    pub rule: String,
    /// Its action.
    pub action: Action,
    /// Why, in words, with masked excerpts and locations.
    pub reason: String,
}

/// What the policy decided for one message.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Decision {
    /// The deciding action (`pass` when no deciding rule applied).
    pub action: Action,
    /// The deciding rule, if one applied.
    pub rule: Option<String>,
    /// The subject tag to add, if a `tag` rule applied.
    pub tag: Option<String>,
    /// Did a `notify` rule apply?
    pub notify: bool,
    /// Did a `log` rule apply?
    pub log: bool,
    /// Every rule that applied, in order.
    pub fired: Vec<FiredRule>,
    /// For `reject`: the reply text in Japanese.
    pub message_ja: Option<String>,
    /// For `reject`: the reply text in English.
    pub message_en: Option<String>,
    /// For `hold`: what the sender is to be told, if the deciding rule says so.
    #[serde(default)]
    pub sender_notice: Option<SenderNotice>,
}

/// What a sender is told about a held message: why it was held, by kind (the notice's
/// text explains each, and for encrypted files the better way).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SenderNotice {
    /// Personal data was found.
    Findings,
    /// Some content could not be read.
    NotFullyRead,
    /// A password-protected file could not be checked.
    Encrypted,
}

impl Decision {
    /// Did any rule apply?
    pub fn is_quiet(&self) -> bool {
        self.fired.is_empty()
    }

    /// One line per rule that applied, for logs and `mamori dlp scan`.
    pub fn explain(&self) -> Vec<String> {
        self.fired
            .iter()
            .map(|f| format!("rule \"{}\" → {}: {}", f.rule, f.action, f.reason))
            .collect()
    }
}

impl Policy {
    /// Whether any rule tags the subject (and so may change a message's content).
    pub fn may_tag(&self) -> bool {
        self.rules.iter().any(|r| r.config.action == Action::Tag)
    }

    /// Compiles rules (checking detector names against the dictionary of `scan`).
    pub fn new(rules: &[RuleConfig], scan: &ScanConfig) -> Result<Self, PolicyError> {
        let compiled = rules
            .iter()
            .enumerate()
            .map(|(index, config)| {
                let fail = |reason: String| PolicyError {
                    index,
                    name: config.name.clone(),
                    reason,
                };
                if config.name.trim().is_empty() {
                    return Err(fail("a rule needs a name".into()));
                }
                if config.min_count == 0 {
                    return Err(fail("min_count must be at least 1".into()));
                }
                if config.tag.as_deref().is_some_and(|t| t.trim().is_empty()) {
                    return Err(fail("tag must not be empty".into()));
                }
                for text in [&config.message_ja, &config.message_en]
                    .into_iter()
                    .flatten()
                {
                    if text.contains(['\r', '\n']) {
                        return Err(fail("reject messages must be one line".into()));
                    }
                }
                if config.message_en.as_deref().is_some_and(|t| !t.is_ascii()) {
                    return Err(fail(
                        "message_en must be ASCII (it is sent to every client)".into(),
                    ));
                }
                if config.name_en.as_deref().is_some_and(|t| {
                    !t.is_ascii() || t.trim().is_empty() || t.contains(['\r', '\n'])
                }) {
                    return Err(fail(
                        "name_en must be one line of ASCII (it is sent to every client)".into(),
                    ));
                }
                let selectors = config
                    .detectors
                    .iter()
                    .map(|d| Selector::parse(d, scan))
                    .collect::<Result<_, _>>()
                    .map_err(fail)?;
                let senders = config
                    .senders
                    .iter()
                    .map(|p| AddressPattern::parse(p))
                    .collect::<Result<_, _>>()
                    .map_err(fail)?;
                let patterns = |list: &[String]| {
                    list.iter()
                        .map(|p| AddressPattern::parse(p))
                        .collect::<Result<Vec<_>, _>>()
                };
                let recipients = patterns(&config.recipients).map_err(fail)?;
                let except_senders = patterns(&config.except_senders).map_err(fail)?;
                let except_recipients = patterns(&config.except_recipients).map_err(fail)?;
                Ok(Rule {
                    config: config.clone(),
                    selectors,
                    senders,
                    recipients,
                    except_senders,
                    except_recipients,
                })
            })
            .collect::<Result<_, _>>()?;
        Ok(Self { rules: compiled })
    }

    /// Decides what `report` leads to for this mail.
    pub fn decide(&self, report: &Report, mail: &MailContext<'_>) -> Decision {
        let mut decision = Decision {
            action: Action::Pass,
            rule: None,
            tag: None,
            notify: false,
            log: false,
            fired: Vec::new(),
            message_ja: None,
            message_en: None,
            sender_notice: None,
        };
        for rule in &self.rules {
            let Some(Applied { reason, notice }) = rule.applies(report, mail) else {
                continue;
            };
            let action = rule.config.action;
            decision.fired.push(FiredRule {
                rule: rule.config.name.clone(),
                action,
                reason,
            });
            match action {
                Action::Log => decision.log = true,
                Action::Notify => decision.notify = true,
                Action::Tag => {
                    decision.tag = Some(rule.config.tag.clone().unwrap_or_else(|| "[DLP]".into()));
                }
                _ => {}
            }
            if action.is_deciding() {
                decision.action = action;
                decision.rule = Some(rule.config.name.clone());
                if action == Action::Hold && rule.config.notify_sender {
                    decision.sender_notice = Some(notice);
                }
                if action == Action::Reject {
                    decision.message_ja = Some(rule.config.message_ja.clone().unwrap_or_else(|| {
                        format!(
                            "個人情報などの送信が禁止された情報が含まれているため、このメールは送信できません（規則「{}」）。管理者にお問い合わせください。",
                            rule.config.name
                        )
                    }));
                    decision.message_en = Some(rule.config.message_en.clone().unwrap_or_else(|| {
                        let name = english_name(&rule.config)
                            .map(|name| format!(" (rule \"{name}\")"))
                            .unwrap_or_default();
                        format!(
                            "Message refused: it carries data that this office's policy does not allow to be sent{name}. Please contact your administrator."
                        )
                    }));
                }
                break;
            }
        }
        decision
    }
}

/// The rule's name as an English reader can read it: its name if ASCII, else its `name_en`,
/// else none.
fn english_name(config: &RuleConfig) -> Option<&str> {
    if config.name.is_ascii() && !config.name.trim().is_empty() {
        return Some(&config.name);
    }
    config.name_en.as_deref()
}

/// Why a rule applied: the reason in words, and what kind of notice its sender gets.
struct Applied {
    reason: String,
    notice: SenderNotice,
}

impl Rule {
    /// Why this rule applies, or `None`.
    fn applies(&self, report: &Report, mail: &MailContext<'_>) -> Option<Applied> {
        let c = &self.config;
        // A sender condition is trusted as far as the sender is: an exemption (a `pass`
        // rule) needs a verified sender, a restriction applies to a claimed one too.
        let sender_trusted = mail.sender_verified || c.action != Action::Pass;
        let sender_matches = sender_trusted && self.senders.iter().any(|p| p.matches(mail.sender));
        if !self.senders.is_empty() && !sender_matches {
            return None;
        }
        if mail.sender_verified && self.except_senders.iter().any(|p| p.matches(mail.sender)) {
            return None;
        }
        if !self.recipients.is_empty()
            && !mail
                .recipients
                .iter()
                .any(|r| self.recipients.iter().any(|p| p.matches(r)))
        {
            return None;
        }
        let mut outside = mail
            .recipients
            .iter()
            .filter(|r| !mail.is_local(r))
            .peekable();
        let outbound = outside.peek().is_some();
        if !self.except_recipients.is_empty()
            && outbound
            && outside.all(|r| self.except_recipients.iter().any(|p| p.matches(r)))
        {
            return None;
        }
        match c.scope {
            Scope::Any => {}
            Scope::Outbound if !outbound => return None,
            Scope::Internal if outbound => return None,
            Scope::Outbound | Scope::Internal => {}
        }
        let met: Vec<&crate::content::Problem> = report
            .problems
            .iter()
            .filter(|p| c.problems.iter().any(|s| s.matches(p.kind)))
            .collect();
        if !met.is_empty() {
            let notice = if met.iter().any(|p| p.kind == ProblemKind::Encrypted) {
                SenderNotice::Encrypted
            } else {
                SenderNotice::NotFullyRead
            };
            let counted: usize = report
                .totals
                .problems
                .iter()
                .filter(|t| c.problems.iter().any(|s| s.matches(t.kind)))
                .map(|t| t.count)
                .sum();
            let mut reason: Vec<String> = met
                .iter()
                .map(|p| format!("{} at {}: {}", p.kind, p.location, p.detail))
                .collect();
            if counted > met.len() {
                reason.push(format!("{} more", counted - met.len()));
            }
            return Some(Applied {
                reason: reason.join("; "),
                notice,
            });
        }
        let counts_findings = !self.selectors.is_empty() || c.problems.is_empty();
        if !counts_findings {
            return None;
        }
        let selected = |detector: DetectorKind, confidence: Confidence| {
            confidence >= c.min_confidence
                && (self.selectors.is_empty() || self.selectors.iter().any(|s| s.matches(detector)))
        };
        let total = report.count_findings(selected);
        if total < c.min_count {
            return None;
        }
        let counted: Vec<_> = report
            .findings
            .iter()
            .filter(|f| selected(f.detector, f.confidence))
            .collect();
        // "2 × my_number (1234******18 at body 1 line 3; …)", at most three examples each.
        let mut by_detector: BTreeMap<DetectorKind, (String, Vec<String>)> = BTreeMap::new();
        for f in &counted {
            by_detector
                .entry(f.detector)
                .or_insert_with(|| (f.detector_name(), Vec::new()))
                .1
                .push(format!("{} at {} line {}", f.masked, f.location, f.line));
        }
        let parts: Vec<String> = by_detector
            .into_iter()
            .map(|(detector, (name, places))| {
                let shown: Vec<&str> = places.iter().take(3).map(String::as_str).collect();
                let all = report.count_findings(|d, conf| d == detector && selected(d, conf));
                let more = all.saturating_sub(shown.len());
                let tail = if more > 0 {
                    format!("; {more} more")
                } else {
                    String::new()
                };
                format!("{all} × {name} ({}{tail})", shown.join("; "))
            })
            .collect();
        Some(Applied {
            reason: parts.join(", "),
            notice: SenderNotice::Findings,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::content::{Location, Problem, SegmentKind};
    use crate::inspect::LocatedFinding;

    fn finding(detector: DetectorKind, confidence: Confidence) -> LocatedFinding {
        LocatedFinding {
            location: Location::root().child("body 1"),
            segment: SegmentKind::Body,
            detector,
            confidence,
            line: 3,
            masked: "1234******18".into(),
        }
    }

    fn report(findings: Vec<LocatedFinding>, problems: Vec<ProblemKind>) -> Report {
        Report::new(
            findings,
            problems
                .into_iter()
                .map(|kind| Problem {
                    location: Location::root().child("attachment 2 \"a.zip\""),
                    kind,
                    detail: "detail".into(),
                })
                .collect(),
        )
    }

    fn default_rules() -> Vec<RuleConfig> {
        super::default_rules(&["partner.example".to_string()])
    }

    fn decide(rules: &[RuleConfig], report: &Report, to: &[&str]) -> Decision {
        decide_from(rules, report, "taro@office.example.jp", true, to)
    }

    fn decide_from(
        rules: &[RuleConfig],
        report: &Report,
        from: &str,
        verified: bool,
        to: &[&str],
    ) -> Decision {
        let policy = Policy::new(rules, &ScanConfig::default()).unwrap();
        let recipients: Vec<String> = to.iter().map(|s| s.to_string()).collect();
        let local = vec!["office.example.jp".to_string()];
        policy.decide(
            report,
            &MailContext {
                sender: from,
                recipients: &recipients,
                office_domains: &local,
                sender_verified: verified,
            },
        )
    }

    #[test]
    fn low_and_medium_confidence_numbers_are_logged_not_held() {
        for confidence in [Confidence::Low, Confidence::Medium] {
            let r = report(vec![finding(DetectorKind::MyNumber, confidence)], vec![]);
            let d = decide(&default_rules(), &r, &["client@example.com"]);
            assert_eq!(d.action, Action::Pass, "{confidence}");
            assert!(d.log, "{confidence}");
            assert_eq!(d.fired[0].rule, "possible My Number or card number");
        }
    }

    #[test]
    fn not_fully_read_content_is_held_and_the_sender_told() {
        for kind in ProblemKind::ALL
            .into_iter()
            .filter(|k| k.is_not_fully_read())
        {
            let r = report(vec![], vec![kind]);
            let d = decide(&default_rules(), &r, &["client@example.com"]);
            assert_eq!(d.action, Action::Hold, "{kind}");
            assert_eq!(d.rule.as_deref(), Some(DEFAULT_NOT_FULLY_READ_RULE));
            assert_eq!(d.sender_notice, Some(SenderNotice::NotFullyRead));
            // Inside the office it is not held.
            let d = decide(&default_rules(), &r, &["hanako@office.example.jp"]);
            assert_eq!(d.action, Action::Pass, "{kind}");
        }
        // Ambiguous MIME was read every way: nothing to hold.
        let r = report(vec![], vec![ProblemKind::Ambiguous]);
        assert_eq!(
            decide(&default_rules(), &r, &["c@example.com"]).action,
            Action::Pass
        );
    }

    #[test]
    fn encrypted_attachments_are_held_except_for_allowed_partners() {
        let r = report(vec![], vec![ProblemKind::Encrypted]);
        let d = decide(&default_rules(), &r, &["client@example.com"]);
        assert_eq!(d.action, Action::Hold);
        assert_eq!(d.sender_notice, Some(SenderNotice::Encrypted));
        let d = decide(&default_rules(), &r, &["a@mail.partner.example"]);
        assert_eq!(d.action, Action::Pass);
        // Every outside recipient must be allowed.
        let d = decide(
            &default_rules(),
            &r,
            &["a@partner.example", "b@example.com", "c@office.example.jp"],
        );
        assert_eq!(d.action, Action::Hold);
    }

    #[test]
    fn a_forged_sender_gets_no_exemption() {
        let rs = rules(
            r#"
            [[rules]]
            name = "ceo may send anything"
            senders = ["ceo@office.example.jp"]
            action = "pass"
            [[rules]]
            name = "hold numbers"
            detectors = ["my_number"]
            action = "hold"
            [[rules]]
            name = "hold everything from sales"
            senders = ["*@sales.example.jp"]
            action = "hold"
            "#,
        );
        let r = report(
            vec![finding(DetectorKind::MyNumber, Confidence::High)],
            vec![],
        );
        let to = ["x@example.com"];
        let verified = decide_from(&rs, &r, "ceo@office.example.jp", true, &to);
        assert_eq!(verified.action, Action::Pass);
        let forged = decide_from(&rs, &r, "ceo@office.example.jp", false, &to);
        assert_eq!(forged.action, Action::Hold);
        assert_eq!(forged.rule.as_deref(), Some("hold numbers"));
        // A restriction applies to a claimed sender too.
        let phone = report(
            vec![finding(DetectorKind::Phone, Confidence::Medium)],
            vec![],
        );
        let d = decide_from(&rs, &phone, "a@sales.example.jp", false, &to);
        assert_eq!(d.action, Action::Hold);
    }

    #[test]
    fn problem_groups_parse_and_unknown_names_are_refused() {
        let rs =
            rules("[[rules]]\nname='x'\nproblems=['not_fully_read','encrypted']\naction='hold'");
        assert_eq!(
            rs[0].problems,
            [
                ProblemSelector::NotFullyRead,
                ProblemSelector::Kind(ProblemKind::Encrypted)
            ]
        );
        #[derive(Debug, Deserialize)]
        #[allow(dead_code)]
        struct File {
            rules: Vec<RuleConfig>,
        }
        let err = toml::from_str::<File>("[[rules]]\nname='x'\nproblems=['unread']\naction='hold'")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("unknown problem \"unread\"") && err.contains("not_fully_read"),
            "{err}"
        );
    }

    #[test]
    fn counts_come_from_the_totals_past_the_listed_findings() {
        let many: Vec<LocatedFinding> = (0..250)
            .map(|_| finding(DetectorKind::Phone, Confidence::Medium))
            .collect();
        let r = report(many, vec![]);
        assert_eq!(r.findings.len(), crate::inspect::MAX_REPORTED_FINDINGS);
        assert_eq!(r.total_findings(), 250);
        let rs = rules("[[rules]]\nname='many'\ndetectors=['phone']\nmin_count=200\naction='hold'");
        let d = decide(&rs, &r, &["a@example.com"]);
        assert_eq!(d.action, Action::Hold);
        assert!(d.explain()[0].contains("250 × phone"), "{:?}", d.explain());
    }

    fn rules(toml_text: &str) -> Vec<RuleConfig> {
        #[derive(Deserialize)]
        struct File {
            rules: Vec<RuleConfig>,
        }
        toml::from_str::<File>(toml_text).unwrap().rules
    }

    #[test]
    fn default_rules_hold_a_my_number_sent_outside_and_explain_why() {
        let r = report(
            vec![finding(DetectorKind::MyNumber, Confidence::High)],
            vec![],
        );
        let d = decide(&default_rules(), &r, &["client@example.com"]);
        assert_eq!(d.action, Action::Hold);
        assert_eq!(d.rule.as_deref(), Some("My Number sent outside"));
        assert_eq!(
            d.explain(),
            [
                "rule \"My Number sent outside\" → hold: 1 × my_number (1234******18 at body 1 line 3)"
            ]
        );
    }

    #[test]
    fn internal_mail_is_exempt_from_outbound_rules() {
        let r = report(
            vec![finding(DetectorKind::MyNumber, Confidence::High)],
            vec![],
        );
        let d = decide(&default_rules(), &r, &["hanako@office.example.jp"]);
        assert_eq!(d.action, Action::Pass);
        assert!(d.is_quiet());
        // One outside recipient makes the message outbound.
        let d = decide(
            &default_rules(),
            &r,
            &["hanako@office.example.jp", "x@example.com"],
        );
        assert_eq!(d.action, Action::Hold);
    }

    #[test]
    fn archive_bombs_are_rejected_with_both_languages() {
        let r = report(vec![], vec![ProblemKind::ArchiveBomb]);
        let d = decide(&default_rules(), &r, &["hanako@office.example.jp"]);
        assert_eq!(d.action, Action::Reject);
        assert!(d.message_ja.as_deref().unwrap().contains("送信できません"));
        assert!(d.message_en.as_deref().unwrap().is_ascii());
        assert!(d.explain()[0].contains("archive_bomb at attachment 2"));
    }

    #[test]
    fn the_english_reply_line_names_a_japanese_rule_only_by_its_english_name() {
        let r = report(vec![], vec![ProblemKind::ArchiveBomb]);
        let to = ["x@example.com"];
        let japanese =
            rules("[[rules]]\nname = '圧縮爆弾'\nproblems = ['archive_bomb']\naction = 'reject'");
        let d = decide(&japanese, &r, &to);
        let en = d.message_en.unwrap();
        assert!(!en.contains("rule"), "{en}");
        assert!(!en.contains("\\u"), "{en}");
        assert!(d.message_ja.unwrap().contains("規則「圧縮爆弾」"));
        let named = rules(
            "[[rules]]\nname = '圧縮爆弾'\nname_en = 'archive bomb'\nproblems = ['archive_bomb']\naction = 'reject'",
        );
        let en = decide(&named, &r, &to).message_en.unwrap();
        assert!(en.contains("(rule \"archive bomb\")"), "{en}");
        let mut bad = named.clone();
        bad[0].name_en = Some("圧縮".into());
        let err = Policy::new(&bad, &ScanConfig::default()).unwrap_err();
        assert!(
            err.reason.contains("name_en must be one line of ASCII"),
            "{err}"
        );
    }

    #[test]
    fn marking_rules_accumulate_and_the_first_deciding_rule_wins() {
        let rs = rules(
            r#"
            [[rules]]
            name = "tag phones"
            detectors = ["phone"]
            min_confidence = "low"
            action = "tag"
            tag = "[要確認]"
            [[rules]]
            name = "tell admin"
            action = "notify"
            [[rules]]
            name = "partners may receive it"
            recipients = ["partner.example"]
            action = "pass"
            [[rules]]
            name = "no card numbers"
            detectors = ["credit_card"]
            action = "reject"
            message_en = "No card numbers, please."
            "#,
        );
        let r = report(
            vec![
                finding(DetectorKind::Phone, Confidence::Low),
                finding(DetectorKind::CreditCard, Confidence::Medium),
            ],
            vec![],
        );
        let d = decide(&rs, &r, &["a@example.com"]);
        assert_eq!(d.action, Action::Reject);
        assert_eq!(d.tag.as_deref(), Some("[要確認]"));
        assert!(d.notify);
        assert_eq!(d.message_en.as_deref(), Some("No card numbers, please."));
        assert_eq!(d.fired.len(), 3);
        // Mail to the partner (a subdomain counts) stops at the pass rule.
        let d = decide(&rs, &r, &["a@mail.partner.example"]);
        assert_eq!(d.action, Action::Pass);
        assert_eq!(d.rule.as_deref(), Some("partners may receive it"));
    }

    #[test]
    fn confidence_and_count_thresholds() {
        let rs = rules(
            r#"
            [[rules]]
            name = "many phones"
            detectors = ["phone"]
            min_confidence = "medium"
            min_count = 2
            action = "hold"
            "#,
        );
        let low = finding(DetectorKind::Phone, Confidence::Low);
        let medium = finding(DetectorKind::Phone, Confidence::Medium);
        let r = report(vec![low.clone(), low.clone(), medium.clone()], vec![]);
        assert_eq!(decide(&rs, &r, &["a@example.com"]).action, Action::Pass);
        let r = report(vec![low, medium.clone(), medium], vec![]);
        assert_eq!(decide(&rs, &r, &["a@example.com"]).action, Action::Hold);
    }

    #[test]
    fn senders_match_by_wildcard_or_domain() {
        let rs = rules(
            r#"
            [[rules]]
            name = "sales only"
            senders = ["*@OFFICE.example.jp"]
            action = "hold"
            "#,
        );
        let r = report(
            vec![finding(DetectorKind::Phone, Confidence::Medium)],
            vec![],
        );
        assert_eq!(decide(&rs, &r, &["a@example.com"]).action, Action::Hold);
        assert!(wildcard_match(b"a*b?d", b"axxxbcd"));
        assert!(!wildcard_match(b"a*b?d", b"axxxbd"));
        assert!(wildcard_match(b"*", b""));
        assert!(
            AddressPattern::parse("example.jp")
                .unwrap()
                .matches("x@sub.example.jp")
        );
        assert!(
            !AddressPattern::parse("example.jp")
                .unwrap()
                .matches("x@badexample.jp")
        );
    }

    #[test]
    fn bad_rules_are_refused_with_index_name_and_reason() {
        let mut rs =
            rules("[[rules]]\nname = \"x\"\ndetectors = [\"mynumber\"]\naction = \"hold\"");
        let err = Policy::new(&rs, &ScanConfig::default()).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("rules[0] (\"x\"): unknown detector \"mynumber\""),
            "{err}"
        );
        rs[0].detectors = vec!["custom:社外秘".into()];
        let err = Policy::new(&rs, &ScanConfig::default()).unwrap_err();
        assert!(err.reason.contains("no dictionary rule is named"), "{err}");
        rs[0].detectors.clear();
        rs[0].min_count = 0;
        assert!(Policy::new(&rs, &ScanConfig::default()).is_err());
        assert!(toml::from_str::<RuleConfig>("name='x'\naction='block'").is_err());
        assert!(toml::from_str::<RuleConfig>("name='x'\naction='hold'\nsender=['a']").is_err());
    }

    #[test]
    fn named_dictionary_rules_can_be_selected() {
        let scan: ScanConfig = toml::from_str(
            "[[custom.rules]]\nname='a'\nkind='keyword'\npattern='a'\n[[custom.rules]]\nname='社外秘'\nkind='keyword'\npattern='社外秘'",
        )
        .unwrap();
        let rs = rules("[[rules]]\nname='secret'\ndetectors=['custom:社外秘']\naction='hold'");
        let policy = Policy::new(&rs, &scan).unwrap();
        let to = vec!["x@example.com".to_string()];
        let mail = MailContext {
            sender: "",
            recipients: &to,
            office_domains: &[],
            sender_verified: false,
        };
        let hit = |rule| {
            report(
                vec![finding(DetectorKind::Custom { rule }, Confidence::Medium)],
                vec![],
            )
        };
        assert_eq!(policy.decide(&hit(1), &mail).action, Action::Hold);
        assert_eq!(policy.decide(&hit(0), &mail).action, Action::Pass);
    }
}
