//! The attachment-encryption page's pure parts: the `[encrypt]` section as the page shows it,
//! the general form and the add-rule form checked and turned into the keys a change
//! writes. A form is checked twice: its own fields here (numbers, choices, addresses), then
//! the whole section it would make with [`EncryptConfig::check`], the relay's own check,
//! each problem placed next to the field its key names. The settings service checks the
//! whole configuration again when the version is written.
//!
//! Link mode's pure parts are here too: whether a change makes link mode used (and so
//! needs the download port open and the reachability self-test passed first,
//! [`needs_link_checks`]), the firewall rule that opens the download port
//! ([`link_port_rule`]), and whether a firewall model lets that port in from the WAN
//! ([`link_port_open`]).

use mamori_encrypt::archive::{Cipher, NameCharset};
use mamori_encrypt::config::{ConfigProblem, EncryptRule, Mode, RuleAction};
use mamori_encrypt::notice::PasswordTo;
use mamori_encrypt::password::{MAX_LENGTH, MIN_LENGTH};
use mamori_firewall::model::{
    Action as FwAction, CtState, Direction, FirewallConfig, Policy, Protocol, Rule as FwRule,
    ZoneName,
};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::i18n::{Texts, fill};

/// The section's model, as the relay reads it.
pub use mamori_encrypt::EncryptConfig;

/// The ciphers, as the form and the settings name them (the first is the default).
pub const CIPHERS: &[&str] = &["aes256", "zipcrypto"];

/// How names are written in the archive.
pub const NAME_CHARSETS: &[&str] = &["utf8", "cp932"];

/// Who is sent the password (the first is the default).
pub const PASSWORD_TO: &[&str] = &["sender", "recipients", "both"];

/// What a rule does.
pub const RULE_ACTIONS: &[&str] = &["encrypt", "skip"];

/// How attachments are protected (the first is the default): an encrypted ZIP in the
/// mail, or a download link served by the box.
pub const MODES: &[&str] = &["zip", "link"];

/// The longest a download link may live, in days (as the relay accepts).
pub const MAX_LINK_DAYS: u64 = 90;

/// The most downloads of one file a link may allow (as the relay accepts).
pub const MAX_LINK_DOWNLOADS: u64 = 100;

/// The longest link address the form takes.
const MAX_LINK_URL: usize = 300;

/// The most rules the panel writes.
pub const MAX_RULES: usize = 50;

/// The longest rule name.
pub const MAX_RULE_NAME: usize = 64;

/// The most entries one list field (senders, recipients, types, exemptions) takes.
pub const MAX_ENTRIES: usize = 200;

/// The longest password delay, in minutes (a day, as the relay accepts).
pub const MAX_DELAY_MINUTES: u64 = 24 * 60;

/// The largest least size a rule takes, in KB (10 GiB: more than any mail).
pub const MAX_MIN_SIZE_KB: u64 = 10 * 1024 * 1024;

/// The longest address, domain or type in a list.
const MAX_ENTRY_CHARS: usize = 254;

/// The general form as typed (or as the section has it).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GeneralDraft {
    /// Encrypt at all.
    pub enabled: bool,
    /// One of [`CIPHERS`].
    pub cipher: String,
    /// One of [`NAME_CHARSETS`].
    pub names: String,
    /// One of [`PASSWORD_TO`].
    pub password_to: String,
    /// Characters in a password.
    pub password_length: String,
    /// Minutes before the password mail; a delay of no whole minutes (set in a file, `4s`)
    /// is shown as the settings write it, and kept while left as it is.
    pub password_delay: String,
    /// The archive's file name.
    pub archive_name: String,
    /// The office's own domains get the original.
    pub exempt_internal: bool,
    /// Addresses or domains, one a line or comma-separated.
    pub exempt_recipients: String,
    /// The subject's prefix (empty: none).
    pub subject_tag: String,
    /// One of [`MODES`].
    pub mode: String,
    /// The link mode's public address (`https://name[:port][/path]`).
    pub link_url: String,
    /// How long a link gives its files: whole days (`7`), or a duration (`12h`); one that
    /// is neither (from a file) is shown as the settings write it and kept while left so.
    pub link_expiry: String,
    /// Downloads of each file a link allows.
    pub link_downloads: String,
    /// A link also asks for a password.
    pub link_password: bool,
}

/// The add-rule form as typed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RuleDraft {
    /// Its name.
    pub name: String,
    /// Senders (addresses or domains), one a line or comma-separated; empty: any.
    pub senders: String,
    /// Recipients, as the senders; empty: any not exempt.
    pub recipients: String,
    /// Extensions or media types; empty: any attachment.
    pub attachment_types: String,
    /// The least total size of the attachments, in KB.
    pub min_size: String,
    /// One of [`RULE_ACTIONS`].
    pub action: String,
    /// One of [`CIPHERS`], or empty for the section's.
    pub cipher: String,
    /// One of [`NAME_CHARSETS`], or empty for the section's.
    pub names: String,
    /// One of [`PASSWORD_TO`], or empty for the section's.
    pub password_to: String,
    /// One of [`MODES`], or empty for the section's.
    pub mode: String,
}

/// A rule as the page lists it: lists as entries, choices as form values (empty: the
/// section's).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleView {
    /// Its name.
    pub name: String,
    /// Its senders (none: any).
    pub senders: Vec<String>,
    /// Its recipients (none: any not exempt).
    pub recipients: Vec<String>,
    /// Its attachment types (none: any).
    pub attachment_types: Vec<String>,
    /// The least total size, in octets.
    pub min_size: u64,
    /// One of [`RULE_ACTIONS`].
    pub action: String,
    /// Its cipher, or empty.
    pub cipher: String,
    /// Its name charset, or empty.
    pub names: String,
    /// Its password recipients, or empty.
    pub password_to: String,
    /// Its mode, or empty.
    pub mode: String,
}

/// A field of the page's forms, where a problem is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Field {
    /// The general form's cipher.
    Cipher,
    /// The general form's name charset.
    Names,
    /// Who gets the password.
    PasswordTo,
    /// The password's length.
    PasswordLength,
    /// The password's delay.
    PasswordDelay,
    /// The archive's name.
    ArchiveName,
    /// The exempt recipients.
    ExemptRecipients,
    /// The subject tag.
    SubjectTag,
    /// The mode (zip or link).
    Mode,
    /// The link mode's address.
    LinkUrl,
    /// How long a link lives.
    LinkExpiry,
    /// Downloads a link allows.
    LinkDownloads,
    /// The general form as a whole (a key it has no field for).
    General,
    /// The new rule's name.
    RuleName,
    /// The new rule's senders.
    RuleSenders,
    /// The new rule's recipients.
    RuleRecipients,
    /// The new rule's attachment types.
    RuleTypes,
    /// The new rule's least size.
    RuleMinSize,
    /// The new rule's action or overrides (choices).
    RuleChoices,
    /// The new rule's mode override (what link mode needs before it is used).
    RuleMode,
    /// The add-rule form as a whole.
    Rule,
}

impl Field {
    /// The page's name for the field: its error paragraph is `{id}-error`.
    pub fn id(self) -> &'static str {
        match self {
            Self::Cipher => "cipher",
            Self::Names => "names",
            Self::PasswordTo => "password-to",
            Self::PasswordLength => "password-length",
            Self::PasswordDelay => "password-delay",
            Self::ArchiveName => "archive-name",
            Self::ExemptRecipients => "exempt-recipients",
            Self::SubjectTag => "subject-tag",
            Self::Mode => "mode",
            Self::LinkUrl => "link-url",
            Self::LinkExpiry => "link-expiry",
            Self::LinkDownloads => "link-downloads",
            Self::General => "general",
            Self::RuleName => "rule-name",
            Self::RuleSenders => "rule-senders",
            Self::RuleRecipients => "rule-recipients",
            Self::RuleTypes => "rule-types",
            Self::RuleMinSize => "rule-min-size",
            Self::RuleChoices => "rule-choices",
            Self::RuleMode => "rule-mode",
            Self::Rule => "rule",
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
    /// The rule's name is empty, too long or has control characters.
    BadName,
    /// Another rule has that name (in any case).
    NameTaken,
    /// More than this many (rules, or entries of a list).
    TooMany(usize),
    /// This entry is not an address or a domain.
    Pattern(String),
    /// Not a link lifetime: whole days, or a duration from 1 minute to 90 days.
    Expiry,
    /// Longer than a link address can be.
    LongUrl,
    /// The relay's check of the section it would make.
    Check(ConfigProblem),
}

/// One problem with a form: where, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncryptProblem {
    /// The field it is shown next to.
    pub field: Field,
    /// Why.
    pub why: Why,
}

/// What the general form changes.
#[derive(Debug, Clone, PartialEq)]
pub struct GeneralChange {
    /// The keys that change (`encrypt.enabled` …) with their new values; none when the
    /// form says what is in force.
    pub set: Vec<(String, Value)>,
    /// Encryption was on and the form turns it off.
    pub turns_off: bool,
    /// The section after the change uses link mode and either did not before or now
    /// names another address: the download port must be open and the self-test pass
    /// first (see [`needs_link_checks`]).
    pub link_checks: bool,
    /// The link address the section has after the change.
    pub link_url: String,
}

/// The section from the settings service's JSON (`null`: the defaults).
pub fn read(section: &Value) -> Result<EncryptConfig, String> {
    if section.is_null() {
        return Ok(EncryptConfig::default());
    }
    serde_json::from_value(section.clone()).map_err(|e| e.to_string())
}

/// `value`'s form value (`aes256`, `both` …): its name in the settings.
fn form_value<T: Serialize>(value: &T) -> String {
    serde_json::to_value(value)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

/// The form value `text`, if it is one of `allowed`, as its type.
fn parse_choice<T: DeserializeOwned>(text: &str, allowed: &[&str]) -> Option<T> {
    if !allowed.contains(&text) {
        return None;
    }
    serde_json::from_value(Value::from(text)).ok()
}

/// An override: empty is the section's, else one of `allowed`.
fn parse_override<T: DeserializeOwned>(text: &str, allowed: &[&str]) -> Result<Option<T>, ()> {
    if text.is_empty() {
        return Ok(None);
    }
    parse_choice(text, allowed).map(Some).ok_or(())
}

/// The password delay as the form shows it: whole minutes, else as the settings write it.
fn delay_text(delay: std::time::Duration) -> String {
    if delay.as_secs().is_multiple_of(60) && delay.subsec_nanos() == 0 {
        (delay.as_secs() / 60).to_string()
    } else {
        format!("{}s", delay.as_secs_f64())
    }
}

/// A link's lifetime as the form shows it: whole days, else as the settings write it.
fn expiry_text(expiry: std::time::Duration) -> String {
    if expiry.as_secs().is_multiple_of(86_400) && expiry.subsec_nanos() == 0 {
        (expiry.as_secs() / 86_400).to_string()
    } else {
        humantime::format_duration(expiry).to_string()
    }
}

/// A link's lifetime as typed: whole days (`7`), or a duration (`12h`, `30m`), from one
/// minute to [`MAX_LINK_DAYS`] days.
fn parse_expiry(text: &str) -> Result<std::time::Duration, Why> {
    let text = text.trim();
    let expiry = match text.parse::<u64>() {
        Ok(days) => std::time::Duration::from_secs(days.saturating_mul(86_400)),
        Err(_) => humantime::parse_duration(text).map_err(|_| Why::Expiry)?,
    };
    let least = std::time::Duration::from_secs(60);
    let most = std::time::Duration::from_secs(MAX_LINK_DAYS * 86_400);
    if (least..=most).contains(&expiry) {
        Ok(expiry)
    } else {
        Err(Why::Expiry)
    }
}

impl GeneralDraft {
    /// The form filled with the section in force.
    pub fn of(config: &EncryptConfig) -> Self {
        Self {
            enabled: config.enabled,
            cipher: form_value(&config.cipher),
            names: form_value(&config.names),
            password_to: form_value(&config.password_to),
            password_length: config.password_length.to_string(),
            password_delay: delay_text(config.password_delay),
            archive_name: config.archive_name.clone(),
            exempt_internal: config.exempt_internal,
            exempt_recipients: config.exempt_recipients.join("\n"),
            subject_tag: config.subject_tag.clone(),
            mode: form_value(&config.mode),
            link_url: config.link_url.clone(),
            link_expiry: expiry_text(config.link_expiry),
            link_downloads: config.link_downloads.to_string(),
            link_password: config.link_password,
        }
    }
}

impl RuleView {
    /// How the page lists `rule`.
    pub fn of(rule: &EncryptRule) -> Self {
        let or_empty = |v: Option<String>| v.unwrap_or_default();
        Self {
            name: rule.name.clone(),
            senders: rule.senders.clone(),
            recipients: rule.recipients.clone(),
            attachment_types: rule.attachment_types.clone(),
            min_size: rule.min_size,
            action: form_value(&rule.action),
            cipher: or_empty(rule.cipher.as_ref().map(form_value)),
            names: or_empty(rule.names.as_ref().map(form_value)),
            password_to: or_empty(rule.password_to.as_ref().map(form_value)),
            mode: or_empty(rule.mode.as_ref().map(form_value)),
        }
    }
}

/// The rules of the section as the page lists them.
pub fn rules(config: &EncryptConfig) -> Vec<RuleView> {
    config.rules.iter().map(RuleView::of).collect()
}

/// Does the section use ZipCrypto anywhere (the page warns)?
pub fn uses_zipcrypto(config: &EncryptConfig) -> bool {
    !config.risks().is_empty()
}

/// The entries of a list field: separated by line breaks, commas (`,` `、`), semicolons or
/// spaces; empty ones dropped, repeats (in any case) once.
pub fn entries(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for e in text
        .split(|c: char| c.is_whitespace() || matches!(c, ',' | '、' | ';' | '，'))
        .filter(|e| !e.is_empty())
    {
        if !out.iter().any(|o| o.eq_ignore_ascii_case(e)) {
            out.push(e.to_owned());
        }
    }
    out
}

/// Is `entry` an address (`taro@example.jp`, `*@example.jp`) or a domain (`example.jp`,
/// `*.example.jp`) as DLP rules name them? The relay reads nearly any text as one; this
/// catches what a form gets wrong (a stray word, a name in place of an address).
pub(crate) fn pattern_ok(entry: &str) -> bool {
    if entry.chars().count() > MAX_ENTRY_CHARS || entry.chars().any(char::is_control) {
        return false;
    }
    let (local, domain) = match entry.split_once('@') {
        Some((local, domain)) => (Some(local), domain),
        None => (None, entry),
    };
    if local.is_some_and(|l| l.is_empty() || l.contains('@')) || domain.contains('@') {
        return false;
    }
    let domain = domain.trim_start_matches("*.").trim_start_matches('.');
    let label_ok = |l: &str| {
        !l.is_empty()
            && l.chars()
                .all(|c| c.is_alphanumeric() || matches!(c, '-' | '_' | '*' | '?'))
    };
    // A domain has a dot (`example.jp`); a wildcard (`*@*`) stands for any.
    (domain.contains('.') || domain.contains('*')) && domain.split('.').all(label_ok)
}

/// The entries of `text` for `field`, each an address or a domain.
fn patterns(text: &str, field: Field, problems: &mut Vec<EncryptProblem>) -> Vec<String> {
    let list = entries(text);
    if list.len() > MAX_ENTRIES {
        problems.push(EncryptProblem {
            field,
            why: Why::TooMany(MAX_ENTRIES),
        });
    } else if let Some(bad) = list.iter().find(|e| !pattern_ok(e)) {
        problems.push(EncryptProblem {
            field,
            why: Why::Pattern(bad.clone()),
        });
    }
    list
}

/// A whole number from `least` to `most`.
fn number(text: &str, least: u64, most: u64) -> Result<u64, Why> {
    text.trim()
        .parse::<u64>()
        .ok()
        .filter(|n| (least..=most).contains(n))
        .ok_or(Why::Number { least, most })
}

/// Where the relay's problem with key `key` is shown; `new_rule` is the index of the rule
/// the add-rule form makes (`None` for the general form).
pub fn field_of(key: &str, new_rule: Option<usize>) -> Field {
    let whole = if new_rule.is_some() {
        Field::Rule
    } else {
        Field::General
    };
    let Some(key) = key.strip_prefix("encrypt.") else {
        return whole;
    };
    if let Some(rest) = key.strip_prefix("rules[") {
        let Some((index, field)) = rest.split_once("].") else {
            return whole;
        };
        if index.parse::<usize>().ok() != new_rule || new_rule.is_none() {
            return whole;
        }
        return match field {
            "name" => Field::RuleName,
            "senders" => Field::RuleSenders,
            "recipients" => Field::RuleRecipients,
            "attachment_types" => Field::RuleTypes,
            "min_size" => Field::RuleMinSize,
            "action" | "cipher" | "names" | "password_to" => Field::RuleChoices,
            "mode" => Field::RuleMode,
            _ => Field::Rule,
        };
    }
    if new_rule.is_some() {
        // A rule that makes link mode used needs the address the general form sets.
        return if key == "link_url" {
            Field::RuleMode
        } else {
            Field::Rule
        };
    }
    match key {
        "cipher" => Field::Cipher,
        "names" => Field::Names,
        "password_to" => Field::PasswordTo,
        "password_length" => Field::PasswordLength,
        "password_delay" => Field::PasswordDelay,
        "archive_name" => Field::ArchiveName,
        "exempt_recipients" => Field::ExemptRecipients,
        "subject_tag" => Field::SubjectTag,
        "mode" => Field::Mode,
        "link_url" => Field::LinkUrl,
        "link_expiry" => Field::LinkExpiry,
        "link_downloads" => Field::LinkDownloads,
        _ => Field::General,
    }
}

/// The relay's problems with `config`, placed as [`field_of`] says.
fn checked(config: &EncryptConfig, new_rule: Option<usize>) -> Vec<EncryptProblem> {
    config
        .check()
        .into_iter()
        .map(|p| EncryptProblem {
            field: field_of(&p.key, new_rule),
            why: Why::Check(p),
        })
        .collect()
}

/// What the general form changes in `current` (the section in force): every field
/// checked, then the section it makes checked whole; `Err` has every problem found.
pub fn general(
    current: &EncryptConfig,
    draft: &GeneralDraft,
) -> Result<GeneralChange, Vec<EncryptProblem>> {
    let mut problems = Vec::new();
    let mut bad = |field, why| problems.push(EncryptProblem { field, why });
    let mut new = current.clone();
    new.enabled = draft.enabled;
    new.exempt_internal = draft.exempt_internal;
    match parse_choice(&draft.cipher, CIPHERS) {
        Some(c) => new.cipher = c,
        None => bad(Field::Cipher, Why::Choice),
    }
    match parse_choice(&draft.names, NAME_CHARSETS) {
        Some(n) => new.names = n,
        None => bad(Field::Names, Why::Choice),
    }
    match parse_choice(&draft.password_to, PASSWORD_TO) {
        Some(p) => new.password_to = p,
        None => bad(Field::PasswordTo, Why::Choice),
    }
    match number(&draft.password_length, MIN_LENGTH as u64, MAX_LENGTH as u64) {
        Ok(n) => new.password_length = usize::try_from(n).unwrap_or(MAX_LENGTH),
        Err(why) => bad(Field::PasswordLength, why),
    }
    // Left as shown (`4s` from a file), the delay stays as it is.
    if draft.password_delay.trim() != delay_text(current.password_delay) {
        match number(&draft.password_delay, 0, MAX_DELAY_MINUTES) {
            Ok(m) => new.password_delay = std::time::Duration::from_secs(m * 60),
            Err(why) => bad(Field::PasswordDelay, why),
        }
    }
    match parse_choice(&draft.mode, MODES) {
        Some(m) => new.mode = m,
        None => bad(Field::Mode, Why::Choice),
    }
    let link_url = draft.link_url.trim();
    if link_url.chars().count() > MAX_LINK_URL {
        bad(Field::LinkUrl, Why::LongUrl);
    } else {
        link_url.clone_into(&mut new.link_url);
    }
    // Left as shown (`1day 12h` from a file), the lifetime stays as it is.
    if draft.link_expiry.trim() != expiry_text(current.link_expiry) {
        match parse_expiry(&draft.link_expiry) {
            Ok(e) => new.link_expiry = e,
            Err(why) => bad(Field::LinkExpiry, why),
        }
    }
    match number(&draft.link_downloads, 1, MAX_LINK_DOWNLOADS) {
        Ok(n) => new.link_downloads = u32::try_from(n).unwrap_or(u32::MAX),
        Err(why) => bad(Field::LinkDownloads, why),
    }
    new.link_password = draft.link_password;
    new.archive_name = draft.archive_name.trim().to_owned();
    new.subject_tag = draft.subject_tag.trim().to_owned();
    new.exempt_recipients = patterns(
        &draft.exempt_recipients,
        Field::ExemptRecipients,
        &mut problems,
    );
    problems.extend(checked(&new, None));
    if !problems.is_empty() {
        return Err(problems);
    }
    // The delay compares as a duration (`1h` is `60m`) and is written in minutes.
    let delay = |c: &EncryptConfig| Value::from(c.password_delay.as_secs_f64());
    let fields = [
        ("enabled", json(&current.enabled), json(&new.enabled)),
        ("cipher", json(&current.cipher), json(&new.cipher)),
        ("names", json(&current.names), json(&new.names)),
        (
            "password_to",
            json(&current.password_to),
            json(&new.password_to),
        ),
        (
            "password_length",
            json(&current.password_length),
            json(&new.password_length),
        ),
        ("password_delay", delay(current), delay(&new)),
        (
            "archive_name",
            json(&current.archive_name),
            json(&new.archive_name),
        ),
        (
            "exempt_internal",
            json(&current.exempt_internal),
            json(&new.exempt_internal),
        ),
        (
            "exempt_recipients",
            json(&current.exempt_recipients),
            json(&new.exempt_recipients),
        ),
        (
            "subject_tag",
            json(&current.subject_tag),
            json(&new.subject_tag),
        ),
        ("mode", json(&current.mode), json(&new.mode)),
        ("link_url", json(&current.link_url), json(&new.link_url)),
        (
            "link_expiry",
            Value::from(current.link_expiry.as_secs_f64()),
            Value::from(new.link_expiry.as_secs_f64()),
        ),
        (
            "link_downloads",
            json(&current.link_downloads),
            json(&new.link_downloads),
        ),
        (
            "link_password",
            json(&current.link_password),
            json(&new.link_password),
        ),
    ];
    let set = fields
        .into_iter()
        .filter(|(_, before, after)| before != after)
        .map(|(key, _, after)| {
            let value = match key {
                "password_delay" => Value::from(format!("{}m", new.password_delay.as_secs() / 60)),
                "link_expiry" => {
                    Value::from(humantime::format_duration(new.link_expiry).to_string())
                }
                _ => after,
            };
            (format!("encrypt.{key}"), value)
        })
        .collect();
    Ok(GeneralChange {
        set,
        turns_off: current.enabled && !new.enabled,
        link_checks: needs_link_checks(current, &new),
        link_url: new.link_url,
    })
}

/// Must the download port be open and the reachability self-test pass before `after`
/// replaces `before`? When `after` uses link mode (the section's mode, or an encrypting
/// rule's) and `before` did not, or its address changes. Turning link mode off, and every
/// other change while it stays on at the same address, needs nothing more.
pub fn needs_link_checks(before: &EncryptConfig, after: &EncryptConfig) -> bool {
    after.uses_links() && (!before.uses_links() || before.link_base() != after.link_base())
}

/// Would adding `draft` to `current` make link mode used where it was not? (A rule that
/// encrypts in link mode; its other fields are checked by [`add_rule`].)
pub fn rule_needs_link_checks(current: &EncryptConfig, draft: &RuleDraft) -> bool {
    let after = EncryptConfig {
        rules: vec![EncryptRule {
            action: parse_choice(&draft.action, RULE_ACTIONS).unwrap_or(RuleAction::Skip),
            mode: parse_override(&draft.mode, MODES).ok().flatten(),
            ..EncryptRule::default()
        }],
        ..current.clone()
    };
    !current.uses_links() && after.uses_links()
}

/// The name of the firewall rule that lets the download service in from the WAN.
pub const LINK_RULE_NAME: &str = "mamori-linkd";

/// The firewall rule that lets TCP `port` (the download service's) in from the WAN, as
/// the settings write it.
pub fn link_port_rule(port: u16) -> Value {
    serde_json::json!({
        "name": LINK_RULE_NAME,
        "direction": "input",
        "zone": "wan",
        "protocol": "tcp",
        "ports": [port],
        "action": "accept",
    })
}

/// `rules` (the `firewall.rules` list) with [`link_port_rule`]: a rule of that name is
/// replaced where it stands (the port may have changed, or it was switched off), else
/// the rule is added at the end.
pub fn with_link_port_rule(rules: &[Value], port: u16) -> Vec<Value> {
    let rule = link_port_rule(port);
    let mut out = rules.to_vec();
    match out
        .iter_mut()
        .find(|r| r["name"].as_str() == Some(LINK_RULE_NAME))
    {
        Some(there) => *there = rule,
        None => out.push(rule),
    }
    out
}

/// Does `model` let new TCP connections to `port` in from the WAN, from anywhere? The
/// first rule in force that applies to all of them decides (an input rule on `wan` or on
/// every zone, for TCP, that port, every source, every new connection, at any rate);
/// narrower rules are passed over; without one, the WAN zone's input policy decides.
pub fn link_port_open(model: &FirewallConfig, port: u16) -> bool {
    let decides = |r: &&FwRule| {
        r.enabled
            && r.direction == Direction::Input
            && r.zone.is_none_or(|z| z == ZoneName::Wan)
            && matches!(r.protocol, Protocol::Tcp | Protocol::TcpUdp | Protocol::Any)
            && (r.ports.is_empty() || r.ports.iter().any(|p| p.contains(port)))
            && r.source.is_empty()
            && r.source_set.is_none()
            && r.destination.is_empty()
            && r.destination_set.is_none()
            && r.source_ports.is_empty()
            && (r.state.is_empty() || r.state.contains(&CtState::New))
            && r.over_rate.is_none()
    };
    match model.rules.iter().find(decides) {
        Some(rule) => rule.action == FwAction::Accept,
        None => model
            .zones
            .get(ZoneName::Wan)
            .is_some_and(|wan| wan.settings(ZoneName::Wan).input == Policy::Accept),
    }
}

/// `value` as JSON (`null` if it cannot be written, which the section's types always can).
fn json<T: Serialize>(value: &T) -> Value {
    serde_json::to_value(value).unwrap_or(Value::Null)
}

/// `rules` as the settings write them: an override left to the section is absent (TOML has
/// no null).
fn rules_value(rules: &[EncryptRule]) -> Value {
    crate::dlp::without_nulls(serde_json::to_value(rules).unwrap_or(Value::Array(Vec::new())))
}

/// The section's rules with `draft` added at the end (the value of `encrypt.rules`): every
/// field checked, then the section it makes checked whole.
pub fn add_rule(current: &EncryptConfig, draft: &RuleDraft) -> Result<Value, Vec<EncryptProblem>> {
    let mut problems = Vec::new();
    let name = draft.name.trim();
    if name.is_empty() || name.chars().count() > MAX_RULE_NAME || name.chars().any(char::is_control)
    {
        problems.push(EncryptProblem {
            field: Field::RuleName,
            why: Why::BadName,
        });
    } else if current
        .rules
        .iter()
        .any(|r| r.name.trim().to_lowercase() == name.to_lowercase())
    {
        problems.push(EncryptProblem {
            field: Field::RuleName,
            why: Why::NameTaken,
        });
    }
    if current.rules.len() >= MAX_RULES {
        problems.push(EncryptProblem {
            field: Field::Rule,
            why: Why::TooMany(MAX_RULES),
        });
    }
    let senders = patterns(&draft.senders, Field::RuleSenders, &mut problems);
    let recipients = patterns(&draft.recipients, Field::RuleRecipients, &mut problems);
    let attachment_types = entries(&draft.attachment_types);
    if attachment_types.len() > MAX_ENTRIES {
        problems.push(EncryptProblem {
            field: Field::RuleTypes,
            why: Why::TooMany(MAX_ENTRIES),
        });
    }
    let min_size = match number(&draft.min_size, 0, MAX_MIN_SIZE_KB) {
        Ok(kb) => kb * 1024,
        Err(why) => {
            problems.push(EncryptProblem {
                field: Field::RuleMinSize,
                why,
            });
            0
        }
    };
    let action: Option<RuleAction> = parse_choice(&draft.action, RULE_ACTIONS);
    let cipher = parse_override::<Cipher>(&draft.cipher, CIPHERS);
    let names = parse_override::<NameCharset>(&draft.names, NAME_CHARSETS);
    let password_to = parse_override::<PasswordTo>(&draft.password_to, PASSWORD_TO);
    let Ok(mode) = parse_override::<Mode>(&draft.mode, MODES) else {
        problems.push(EncryptProblem {
            field: Field::RuleMode,
            why: Why::Choice,
        });
        return Err(problems);
    };
    let (Some(action), Ok(cipher), Ok(names), Ok(password_to)) =
        (action, cipher, names, password_to)
    else {
        problems.push(EncryptProblem {
            field: Field::RuleChoices,
            why: Why::Choice,
        });
        return Err(problems);
    };
    let mut new = current.clone();
    new.rules.push(EncryptRule {
        name: name.to_owned(),
        senders,
        recipients,
        attachment_types,
        min_size,
        action,
        mode,
        cipher,
        names,
        password_to,
    });
    // The new rule's own problems were found above where the panel knows better; the
    // relay's check adds the rest (an attachment type it cannot read, say).
    let index = new.rules.len() - 1;
    for p in checked(&new, Some(index)) {
        if !problems.iter().any(|q| q.field == p.field) {
            problems.push(p);
        }
    }
    if problems.is_empty() {
        Ok(rules_value(&new.rules))
    } else {
        Err(problems)
    }
}

/// The section's rules without the one named `name` (the value of `encrypt.rules`);
/// `None` if there is none.
pub fn remove_rule(current: &EncryptConfig, name: &str) -> Option<Value> {
    let kept: Vec<EncryptRule> = current
        .rules
        .iter()
        .filter(|r| r.name != name)
        .cloned()
        .collect();
    (kept.len() < current.rules.len()).then(|| rules_value(&kept))
}

/// A size in octets as the page shows it: whole KB, else octets.
pub fn size_text(t: &Texts, octets: u64) -> String {
    if octets.is_multiple_of(1024) {
        fill(t.enc_size_kb, octets / 1024)
    } else {
        fill(t.enc_size_bytes, octets)
    }
}

/// The text shown next to the field for `p`.
pub fn problem_text(t: &Texts, p: &EncryptProblem) -> String {
    match &p.why {
        Why::Number { least, most } => fill(t.problem_limit, format!("{least}–{most}")),
        Why::Choice => t.problem_bad_choice.into(),
        Why::BadName => t.problem_rule_name.into(),
        Why::NameTaken => t.problem_name_taken.into(),
        Why::TooMany(n) => fill(t.enc_problem_too_many, n),
        Why::Pattern(entry) => fill(t.enc_problem_pattern, entry),
        Why::Expiry => t.enc_problem_link_expiry.into(),
        Why::LongUrl => t.enc_problem_link_url.into(),
        Why::Check(c) => match p.field {
            Field::PasswordLength => t.enc_problem_length.into(),
            Field::PasswordDelay => fill(t.problem_limit, format!("0–{MAX_DELAY_MINUTES}")),
            Field::ArchiveName => t.enc_problem_archive_name.into(),
            Field::SubjectTag => t.enc_problem_tag.into(),
            Field::ExemptRecipients | Field::RuleSenders | Field::RuleRecipients => {
                fill(t.enc_problem_pattern, &c.value)
            }
            Field::RuleTypes => fill(t.enc_problem_type, &c.value),
            Field::LinkUrl | Field::Mode => t.enc_problem_link_url.into(),
            Field::RuleMode => t.enc_problem_rule_link_url.into(),
            Field::LinkExpiry => t.enc_problem_link_expiry.into(),
            Field::LinkDownloads => fill(t.problem_limit, format!("1–{MAX_LINK_DOWNLOADS}")),
            _ => fill(
                t.enc_problem_other,
                format!("{}: {} ({})", c.key, c.value, c.why),
            ),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn draft() -> GeneralDraft {
        GeneralDraft::of(&EncryptConfig::default())
    }

    fn rule(name: &str) -> RuleDraft {
        RuleDraft {
            name: name.into(),
            senders: String::new(),
            recipients: "partner.example.jp\nkeiri@client.example.jp".into(),
            attachment_types: ".pdf, xlsx".into(),
            min_size: "0".into(),
            action: "encrypt".into(),
            cipher: String::new(),
            names: "cp932".into(),
            password_to: String::new(),
            mode: String::new(),
        }
    }

    fn fields(problems: &[EncryptProblem]) -> Vec<Field> {
        problems.iter().map(|p| p.field).collect()
    }

    #[test]
    fn the_form_shows_the_section_and_unchanged_it_changes_nothing() {
        let d = draft();
        assert_eq!(
            (d.cipher.as_str(), d.names.as_str(), d.password_to.as_str()),
            ("aes256", "utf8", "sender")
        );
        assert_eq!(
            (d.password_length.as_str(), d.password_delay.as_str()),
            ("12", "5")
        );
        let change = general(&EncryptConfig::default(), &d).unwrap();
        assert!(change.set.is_empty() && !change.turns_off, "{change:?}");
        assert_eq!(read(&Value::Null).unwrap(), EncryptConfig::default());
        let json = serde_json::to_value(EncryptConfig::default()).unwrap();
        assert_eq!(read(&json).unwrap(), EncryptConfig::default());
        assert!(read(&serde_json::json!({"no_such_key": 1})).is_err());
    }

    #[test]
    fn the_general_form_writes_only_what_changed_with_the_delay_in_minutes() {
        let mut d = draft();
        d.enabled = true;
        d.password_to = "both".into();
        d.password_delay = "0".into();
        d.exempt_recipients = "partner.example.jp, *@tokyo.example.jp\n\nPARTNER.example.jp".into();
        d.subject_tag = " [暗号化] ".into();
        let change = general(&EncryptConfig::default(), &d).unwrap();
        assert!(!change.turns_off);
        assert_eq!(
            change.set,
            vec![
                ("encrypt.enabled".into(), Value::from(true)),
                ("encrypt.password_to".into(), Value::from("both")),
                ("encrypt.password_delay".into(), Value::from("0m")),
                (
                    "encrypt.exempt_recipients".into(),
                    serde_json::json!(["partner.example.jp", "*@tokyo.example.jp"])
                ),
                ("encrypt.subject_tag".into(), Value::from("[暗号化]")),
            ]
        );
        d.password_delay = "90".into();
        let set = general(&EncryptConfig::default(), &d).unwrap().set;
        assert!(set.contains(&("encrypt.password_delay".into(), Value::from("90m"))));
    }

    #[test]
    fn turning_encryption_off_is_said() {
        let on = EncryptConfig {
            enabled: true,
            ..EncryptConfig::default()
        };
        let mut d = GeneralDraft::of(&on);
        assert!(!general(&on, &d).unwrap().turns_off);
        d.enabled = false;
        let change = general(&on, &d).unwrap();
        assert!(change.turns_off);
        assert_eq!(
            change.set,
            vec![("encrypt.enabled".into(), Value::from(false))]
        );
        // Turning it on is not turning it off.
        let mut d = draft();
        d.enabled = true;
        assert!(!general(&EncryptConfig::default(), &d).unwrap().turns_off);
    }

    #[test]
    fn a_delay_in_seconds_from_a_file_is_kept_while_left_as_shown() {
        let file = EncryptConfig {
            password_delay: std::time::Duration::from_secs(4),
            ..EncryptConfig::default()
        };
        let mut d = GeneralDraft::of(&file);
        assert_eq!(d.password_delay, "4s");
        assert!(general(&file, &d).unwrap().set.is_empty());
        d.password_delay = "4".into();
        assert_eq!(
            general(&file, &d).unwrap().set,
            vec![("encrypt.password_delay".into(), Value::from("4m"))]
        );
    }

    #[test]
    fn a_bad_general_form_names_each_field() {
        let mut d = draft();
        d.password_length = "6".into();
        d.password_delay = "1441".into();
        d.cipher = "des".into();
        d.archive_name = "../secret".into();
        d.subject_tag = "x".repeat(41);
        d.exempt_recipients = "partner.example.jp\nyamada".into();
        let problems = general(&EncryptConfig::default(), &d).unwrap_err();
        assert_eq!(
            fields(&problems),
            [
                Field::Cipher,
                Field::PasswordLength,
                Field::PasswordDelay,
                Field::ExemptRecipients,
                Field::ArchiveName,
                Field::SubjectTag,
            ]
        );
        assert_eq!(problems[3].why, Why::Pattern("yamada".into()));
        // In range, but too weak for a small alphabet: the relay's check says so, at the
        // length.
        let small = EncryptConfig {
            password_alphabet: "0123456789".into(),
            ..EncryptConfig::default()
        };
        let mut d = GeneralDraft::of(&small);
        d.password_length = "10".into();
        let problems = general(&small, &d).unwrap_err();
        assert_eq!(fields(&problems), [Field::PasswordLength]);
        assert!(matches!(&problems[0].why, Why::Check(c) if c.key == "encrypt.password_length"));
        let t = &crate::i18n::JA;
        assert_eq!(problem_text(t, &problems[0]), t.enc_problem_length);
    }

    #[test]
    fn a_rule_joins_the_rules_with_overrides_only_where_chosen() {
        let rules = add_rule(&EncryptConfig::default(), &rule("取引先")).unwrap();
        assert_eq!(
            rules,
            serde_json::json!([{
                "name": "取引先",
                "senders": [],
                "recipients": ["partner.example.jp", "keiri@client.example.jp"],
                "attachment_types": [".pdf", "xlsx"],
                "min_size": 0,
                "action": "encrypt",
                "names": "cp932",
            }])
        );
        let mut big = rule("大きいもの");
        big.min_size = "1024".into();
        big.action = "skip".into();
        big.cipher = "zipcrypto".into();
        let config = EncryptConfig {
            rules: serde_json::from_value(rules).unwrap(),
            ..EncryptConfig::default()
        };
        let two = add_rule(&config, &big).unwrap();
        assert_eq!(two[1]["min_size"], 1024 * 1024);
        assert_eq!(two[1]["action"], "skip");
        assert_eq!(two[1]["cipher"], "zipcrypto");
        let config = EncryptConfig {
            rules: serde_json::from_value(two).unwrap(),
            ..EncryptConfig::default()
        };
        assert!(uses_zipcrypto(&config));
        let views = super::rules(&config);
        assert_eq!(views[0].cipher, "");
        assert_eq!(views[0].names, "cp932");
        assert_eq!(views[1].action, "skip");
        // Removing by name.
        let one = remove_rule(&config, "取引先").unwrap();
        assert_eq!(one.as_array().map(Vec::len), Some(1));
        assert_eq!(one[0]["name"], "大きいもの");
        assert_eq!(remove_rule(&config, "no such rule"), None);
    }

    #[test]
    fn a_bad_rule_form_names_each_field() {
        let config = EncryptConfig {
            rules: serde_json::from_value(
                add_rule(&EncryptConfig::default(), &rule("Partner")).unwrap(),
            )
            .unwrap(),
            ..EncryptConfig::default()
        };
        let with = |f: fn(&mut RuleDraft)| {
            let mut d = rule("New");
            f(&mut d);
            add_rule(&config, &d).map_err(|p| fields(&p))
        };
        assert!(with(|_| {}).is_ok());
        assert_eq!(
            with(|d| d.name = " PARTNER ".into()),
            Err(vec![Field::RuleName])
        );
        assert_eq!(with(|d| d.name = " ".into()), Err(vec![Field::RuleName]));
        assert_eq!(
            with(|d| d.name = "a\u{7}".into()),
            Err(vec![Field::RuleName])
        );
        assert_eq!(
            with(|d| d.name = "x".repeat(65)),
            Err(vec![Field::RuleName])
        );
        assert_eq!(
            with(|d| d.senders = "taro@".into()),
            Err(vec![Field::RuleSenders])
        );
        assert_eq!(
            with(|d| d.recipients = "@x.jp".into()),
            Err(vec![Field::RuleRecipients])
        );
        assert_eq!(
            with(|d| d.attachment_types = "pdf/".into()),
            Err(vec![Field::RuleTypes])
        );
        assert_eq!(
            with(|d| d.min_size = "-1".into()),
            Err(vec![Field::RuleMinSize])
        );
        assert_eq!(
            with(|d| d.min_size = "lots".into()),
            Err(vec![Field::RuleMinSize])
        );
        assert_eq!(
            with(|d| d.action = "discard".into()),
            Err(vec![Field::RuleChoices])
        );
        assert_eq!(
            with(|d| d.cipher = "rot13".into()),
            Err(vec![Field::RuleChoices])
        );
        let many = |n: usize, sep: &str| {
            (0..n)
                .map(|i| format!("p{i}.example.jp"))
                .collect::<Vec<_>>()
                .join(sep)
        };
        let mut d = rule("Many");
        d.senders = many(MAX_ENTRIES + 1, "\n");
        assert_eq!(
            add_rule(&config, &d).map_err(|p| p[0].why.clone()),
            Err(Why::TooMany(MAX_ENTRIES))
        );
        let full = EncryptConfig {
            rules: (0..MAX_RULES)
                .map(|i| EncryptRule {
                    name: format!("r{i}"),
                    ..EncryptRule::default()
                })
                .collect(),
            ..EncryptConfig::default()
        };
        assert_eq!(
            add_rule(&full, &rule("one more")).map_err(|p| fields(&p)),
            Err(vec![Field::Rule])
        );
    }

    #[test]
    fn the_link_fields_show_the_section_and_write_what_changed() {
        let d = draft();
        assert_eq!(
            (
                d.mode.as_str(),
                d.link_url.as_str(),
                d.link_expiry.as_str(),
                d.link_downloads.as_str(),
                d.link_password
            ),
            ("zip", "", "7", "3", false)
        );
        let mut d = draft();
        d.mode = "link".into();
        d.link_url = " https://files.example.jp:8443 ".into();
        d.link_expiry = "12h".into();
        d.link_downloads = "5".into();
        d.link_password = true;
        let change = general(&EncryptConfig::default(), &d).unwrap();
        assert_eq!(
            change.set,
            vec![
                ("encrypt.mode".into(), Value::from("link")),
                (
                    "encrypt.link_url".into(),
                    Value::from("https://files.example.jp:8443")
                ),
                ("encrypt.link_expiry".into(), Value::from("12h")),
                ("encrypt.link_downloads".into(), Value::from(5)),
                ("encrypt.link_password".into(), Value::from(true)),
            ]
        );
        assert!(change.link_checks);
        assert_eq!(change.link_url, "https://files.example.jp:8443");
        // What the settings write reads back as the form showed it.
        d.link_expiry = "30".into();
        let set = general(&EncryptConfig::default(), &d).unwrap().set;
        assert!(set.contains(&("encrypt.link_expiry".into(), Value::from("30days"))));
        let written: EncryptConfig = serde_json::from_value(serde_json::json!({
            "mode": "link", "link_url": "https://files.example.jp:8443",
            "link_expiry": "30days", "link_downloads": 5, "link_password": true,
        }))
        .unwrap();
        assert_eq!(GeneralDraft::of(&written).link_expiry, "30");
        let odd = EncryptConfig {
            link_expiry: std::time::Duration::from_secs(36 * 3600),
            ..EncryptConfig::default()
        };
        let shown = GeneralDraft::of(&odd);
        assert_eq!(shown.link_expiry, "1day 12h");
        assert!(general(&odd, &shown).unwrap().set.is_empty());
        // Out of range, or not a time at all: next to the field.
        for (expiry, downloads) in [("0", "0"), ("91", "101"), ("30s", "x"), ("soon", "")] {
            let mut bad = draft();
            bad.link_expiry = expiry.into();
            bad.link_downloads = downloads.into();
            let problems = general(&EncryptConfig::default(), &bad).unwrap_err();
            assert_eq!(
                fields(&problems),
                [Field::LinkExpiry, Field::LinkDownloads],
                "{expiry} {downloads}"
            );
            let t = &crate::i18n::EN;
            assert_eq!(problem_text(t, &problems[0]), t.enc_problem_link_expiry);
        }
        let mut forged = draft();
        forged.mode = "fax".into();
        assert_eq!(
            fields(&general(&EncryptConfig::default(), &forged).unwrap_err()),
            [Field::Mode]
        );
        // Link mode without its address: the relay's check, at the address.
        let mut no_url = draft();
        no_url.mode = "link".into();
        let problems = general(&EncryptConfig::default(), &no_url).unwrap_err();
        assert_eq!(fields(&problems), [Field::LinkUrl]);
        let t = &crate::i18n::JA;
        assert_eq!(problem_text(t, &problems[0]), t.enc_problem_link_url);
        no_url.link_url = "http://files.example.jp".into();
        assert_eq!(
            fields(&general(&EncryptConfig::default(), &no_url).unwrap_err()),
            [Field::LinkUrl]
        );
        no_url.link_url = format!("https://{}.jp", "a".repeat(400));
        let problems = general(&EncryptConfig::default(), &no_url).unwrap_err();
        assert_eq!(problems[0].why, Why::LongUrl);
    }

    #[test]
    fn only_link_mode_newly_used_or_moved_needs_the_checks() {
        let zip = EncryptConfig::default();
        let link = EncryptConfig {
            mode: Mode::Link,
            link_url: "https://files.example.jp".into(),
            ..EncryptConfig::default()
        };
        assert!(needs_link_checks(&zip, &link));
        assert!(!needs_link_checks(&link, &link));
        assert!(
            !needs_link_checks(&link, &zip),
            "turning it off needs nothing"
        );
        let moved = EncryptConfig {
            link_url: "https://other.example.jp:8443".into(),
            ..link.clone()
        };
        assert!(needs_link_checks(&link, &moved));
        let slash = EncryptConfig {
            link_url: "https://files.example.jp/".into(),
            ..link.clone()
        };
        assert!(!needs_link_checks(&link, &slash), "the same base");
        // Another field changed while link mode stays as it is.
        let mut d = GeneralDraft::of(&link);
        d.password_length = "16".into();
        assert!(!general(&link, &d).unwrap().link_checks);
        // The address written while the mode stays zip: nothing is used yet.
        let mut d = draft();
        d.link_url = "https://files.example.jp".into();
        assert!(!general(&zip, &d).unwrap().link_checks);
        // A rule in link mode.
        let with_url = EncryptConfig {
            link_url: "https://files.example.jp".into(),
            ..EncryptConfig::default()
        };
        let mut r = rule("リンク");
        r.mode = "link".into();
        assert!(rule_needs_link_checks(&with_url, &r));
        assert!(!rule_needs_link_checks(&link, &r), "in use already");
        r.action = "skip".into();
        assert!(
            !rule_needs_link_checks(&with_url, &r),
            "a skipping rule uses nothing"
        );
        r.action = "encrypt".into();
        r.mode = "zip".into();
        assert!(!rule_needs_link_checks(&with_url, &r));
    }

    #[test]
    fn a_rule_may_choose_its_mode() {
        let with_url = EncryptConfig {
            link_url: "https://files.example.jp".into(),
            ..EncryptConfig::default()
        };
        let mut r = rule("大きいもの");
        r.mode = "link".into();
        let rules = add_rule(&with_url, &r).unwrap();
        assert_eq!(rules[0]["mode"], "link");
        let config = EncryptConfig {
            rules: serde_json::from_value(rules).unwrap(),
            ..with_url
        };
        assert!(config.uses_links());
        assert_eq!(super::rules(&config)[0].mode, "link");
        r.name = "もう一つ".into();
        r.mode = "fax".into();
        assert_eq!(
            add_rule(&config, &r).map_err(|p| fields(&p)),
            Err(vec![Field::RuleMode])
        );
        // Without the address, the relay's check says so at the rule's mode.
        r.mode = "link".into();
        let problems = add_rule(&EncryptConfig::default(), &r).unwrap_err();
        assert_eq!(fields(&problems), [Field::RuleMode]);
        let t = &crate::i18n::EN;
        assert_eq!(problem_text(t, &problems[0]), t.enc_problem_rule_link_url);
        assert_eq!(field_of("encrypt.rules[2].mode", Some(2)), Field::RuleMode);
        assert_eq!(field_of("encrypt.link_url", None), Field::LinkUrl);
        assert_eq!(field_of("encrypt.link_expiry", None), Field::LinkExpiry);
    }

    fn model(rules: serde_json::Value) -> FirewallConfig {
        serde_json::from_value(serde_json::json!({ "rules": rules })).unwrap()
    }

    #[test]
    fn the_download_port_is_open_when_the_first_rule_for_everyone_accepts_it() {
        assert!(!link_port_open(&FirewallConfig::default(), 8443));
        let ours = link_port_rule(8443);
        assert_eq!(ours["name"], LINK_RULE_NAME);
        assert!(link_port_open(&model(serde_json::json!([ours])), 8443));
        assert!(!link_port_open(&model(serde_json::json!([ours])), 9443));
        let rule = |extra: serde_json::Value| {
            let mut r = serde_json::json!({
                "name": "web", "direction": "input", "zone": "wan", "protocol": "tcp",
                "ports": ["8000-9000"], "action": "accept",
            });
            if let (Some(r), Some(extra)) = (r.as_object_mut(), extra.as_object()) {
                r.extend(extra.clone());
            }
            r
        };
        let open = |rules: serde_json::Value| link_port_open(&model(rules), 8443);
        assert!(
            open(serde_json::json!([rule(serde_json::json!({}))])),
            "a range"
        );
        assert!(open(serde_json::json!([rule(
            serde_json::json!({"protocol": "tcp/udp"})
        )])));
        assert!(open(serde_json::json!([rule(
            serde_json::json!({"protocol": "any", "ports": []})
        )])));
        let mut every_zone = rule(serde_json::json!({}));
        every_zone.as_object_mut().map(|r| r.remove("zone"));
        assert!(
            open(serde_json::json!([every_zone])),
            "every zone is wan too"
        );
        for narrower in [
            serde_json::json!({"enabled": false}),
            serde_json::json!({"zone": "lan"}),
            serde_json::json!({"protocol": "udp"}),
            serde_json::json!({"ports": [443]}),
            serde_json::json!({"source": ["192.0.2.0/24"]}),
            serde_json::json!({"state": ["established"]}),
            serde_json::json!({"over_rate": {"rate": 10, "per": "second"}}),
            serde_json::json!({"direction": "forward", "dest_zone": "lan"}),
        ] {
            assert!(
                !open(serde_json::json!([rule(narrower.clone())])),
                "{narrower}"
            );
        }
        // A narrower rule before ours is passed over; a blocking rule for everyone wins.
        let narrow_drop = rule(serde_json::json!({"source": ["192.0.2.0/24"], "action": "drop"}));
        assert!(open(serde_json::json!([narrow_drop, link_port_rule(8443)])));
        let drop = rule(serde_json::json!({"name": "block", "action": "drop"}));
        assert!(!open(serde_json::json!([
            drop.clone(),
            link_port_rule(8443)
        ])));
        assert!(open(serde_json::json!([link_port_rule(8443), drop])));
        // Without a rule, the WAN's input policy decides.
        let accept_all: FirewallConfig = serde_json::from_value(serde_json::json!({
            "zones": {"lan": {"interfaces": ["eth1"]}, "wan": {"interfaces": ["eth0"], "input": "accept"}},
        }))
        .unwrap();
        assert!(link_port_open(&accept_all, 8443));
    }

    #[test]
    fn opening_the_port_adds_the_rule_once_and_moves_it_with_the_port() {
        let other = serde_json::json!({"name": "ssh", "direction": "input", "zone": "lan", "protocol": "tcp", "ports": [22], "action": "accept"});
        let added = with_link_port_rule(std::slice::from_ref(&other), 8443);
        assert_eq!(added, vec![other.clone(), link_port_rule(8443)]);
        let mut off = link_port_rule(8443);
        off["enabled"] = Value::from(false);
        let moved = with_link_port_rule(&[off, other.clone()], 9443);
        assert_eq!(moved, vec![link_port_rule(9443), other]);
        // The rule is one the firewall model takes.
        let typed = model(Value::Array(moved));
        assert!(link_port_open(&typed, 9443));
    }

    #[test]
    fn entries_split_on_lines_commas_and_spaces_once_each() {
        assert_eq!(
            entries("a.jp, b.jp\r\nc.jp、d.jp;A.JP  \n"),
            ["a.jp", "b.jp", "c.jp", "d.jp"]
        );
        assert!(entries(" \n,").is_empty());
        for good in [
            "example.jp",
            "*.example.jp",
            "taro@example.jp",
            "*@example.jp",
            "例え.jp",
        ] {
            assert!(pattern_ok(good), "{good}");
        }
        for bad in [
            "yamada",
            "taro@",
            "@example.jp",
            "a@b@c.jp",
            "a..jp",
            "x\u{0}.jp",
        ] {
            assert!(!pattern_ok(bad), "{bad}");
        }
    }

    #[test]
    fn keys_of_the_relays_check_find_their_field() {
        assert_eq!(
            field_of("encrypt.password_length", None),
            Field::PasswordLength
        );
        assert_eq!(field_of("encrypt.subject_tag", None), Field::SubjectTag);
        assert_eq!(field_of("encrypt.password_alphabet", None), Field::General);
        assert_eq!(field_of("encrypt.rules[0].senders", None), Field::General);
        assert_eq!(
            field_of("encrypt.rules[3].senders", Some(3)),
            Field::RuleSenders
        );
        assert_eq!(field_of("encrypt.rules[3].name", Some(3)), Field::RuleName);
        assert_eq!(field_of("encrypt.rules[2].name", Some(3)), Field::Rule);
        assert_eq!(field_of("encrypt.archive_name", Some(3)), Field::Rule);
        assert_eq!(field_of("smtp.x", None), Field::General);
    }

    #[test]
    fn every_problem_has_a_text_in_both_languages() {
        let problem = |field, why| EncryptProblem { field, why };
        let check = ConfigProblem {
            key: "encrypt.password_alphabet".into(),
            value: "ab".into(),
            why: "too small".into(),
        };
        for t in [&crate::i18n::JA, &crate::i18n::EN] {
            let all = [
                problem(
                    Field::PasswordLength,
                    Why::Number {
                        least: 8,
                        most: 128,
                    },
                ),
                problem(Field::Cipher, Why::Choice),
                problem(Field::RuleName, Why::BadName),
                problem(Field::RuleName, Why::NameTaken),
                problem(Field::Rule, Why::TooMany(50)),
                problem(Field::RuleSenders, Why::Pattern("yamada".into())),
                problem(Field::General, Why::Check(check.clone())),
            ];
            for p in &all {
                let text = problem_text(t, p);
                assert!(!text.is_empty() && !text.contains("{}"), "{p:?}: {text}");
            }
            assert!(problem_text(t, &all[5]).contains("yamada"));
            assert!(problem_text(t, &all[6]).contains("encrypt.password_alphabet"));
            assert_eq!(size_text(t, 2048), fill(t.enc_size_kb, 2));
            assert_eq!(size_text(t, 1000), fill(t.enc_size_bytes, 1000));
        }
    }
}
