//! What the scanner looks for: every detector switched on or off and tuned, parsed strictly.
//!
//! Every field has a default (every detector on), so an empty table is a full configuration
//! and an administrator writes only what differs. Unknown fields are errors, so a misspelt
//! switch cannot silently leave a detector on or off.

use std::num::NonZeroUsize;

use serde::{Deserialize, Serialize};

use crate::detectors::custom::{CustomRule, DEFAULT_REGEX_SIZE_LIMIT};

/// The default number of distinct addresses that makes a text an address list.
pub const DEFAULT_EMAIL_LIST_MIN: usize = 20;
/// The default reach of context keywords, in characters either side of a finding.
pub const DEFAULT_CONTEXT_WINDOW: usize = 40;
/// The default cap on findings of one detector (or one custom rule) in one text.
pub const DEFAULT_MAX_FINDINGS: usize = 1000;

/// Everything DLP is configured with: the `[dlp]` section of Mamori's configuration.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DlpConfig {
    /// Is outgoing mail inspected at all? (default: yes)
    pub enabled: bool,
    /// The detectors and the dictionary.
    pub scan: ScanConfig,
    /// Bounds on the walk of one message.
    pub limits: crate::content::Limits,
    /// The policy rules, in order; empty means [`crate::policy::default_rules`].
    pub rules: Vec<crate::policy::RuleConfig>,
    /// Where `notify` rules send their notices (none: notices are only logged).
    pub notify: Vec<String>,
    /// Senders and recipient domains allowed to send password-protected attachments out
    /// (partners who insist on them): address wildcards such as `*@partner.example.jp` or
    /// domains. The default rules hold such attachments for everyone else.
    pub allow_encrypted: Vec<String>,
}

impl Default for DlpConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            scan: ScanConfig::default(),
            limits: crate::content::Limits::default(),
            rules: Vec::new(),
            notify: Vec::new(),
            allow_encrypted: Vec::new(),
        }
    }
}

impl DlpConfig {
    /// The rules in force: the configured ones, or the defaults when none are.
    pub fn effective_rules(&self) -> Vec<crate::policy::RuleConfig> {
        if self.rules.is_empty() {
            crate::policy::default_rules(&self.allow_encrypted)
        } else {
            self.rules.clone()
        }
    }
}

/// The scanner's configuration.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ScanConfig {
    /// My Number (個人番号).
    pub my_number: Switch,
    /// Corporate numbers (法人番号).
    pub corporate_number: Switch,
    /// Payment card numbers.
    pub credit_card: Switch,
    /// Japanese telephone numbers.
    pub phone: Switch,
    /// Lists of e-mail addresses.
    pub email_list: EmailListConfig,
    /// Context keywords that raise the confidence of numeric findings.
    pub context: ContextConfig,
    /// The administrator's dictionary.
    pub custom: CustomConfig,
    /// At most this many findings of one detector (of one rule, for custom rules) are
    /// reported for one text; past it the text is clearly sensitive, and the cap bounds the
    /// memory a hostile text can make the scanner use.
    pub max_findings_per_detector: usize,
}

impl Default for ScanConfig {
    fn default() -> Self {
        Self {
            my_number: Switch::default(),
            corporate_number: Switch::default(),
            credit_card: Switch::default(),
            phone: Switch::default(),
            email_list: EmailListConfig::default(),
            context: ContextConfig::default(),
            custom: CustomConfig::default(),
            max_findings_per_detector: DEFAULT_MAX_FINDINGS,
        }
    }
}

/// A detector with nothing to tune but on or off.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Switch {
    /// Is the detector on? (default: yes)
    pub enabled: bool,
}

impl Default for Switch {
    fn default() -> Self {
        Self { enabled: true }
    }
}

/// The e-mail address list detector.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EmailListConfig {
    /// Is the detector on? (default: yes)
    pub enabled: bool,
    /// How many distinct addresses make a list (default 20; 0 is refused when parsing).
    pub min_distinct: NonZeroUsize,
}

impl Default for EmailListConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            min_distinct: NonZeroUsize::new(DEFAULT_EMAIL_LIST_MIN).unwrap_or(NonZeroUsize::MIN),
        }
    }
}

/// Context keywords.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ContextConfig {
    /// Do keywords raise confidence? (default: yes)
    pub enabled: bool,
    /// How many characters before or after a finding a keyword may stand (default 40).
    pub window_chars: usize,
    /// More keywords (the office's own words for personal data, say 「社員番号」 or
    /// 「受給者番号」), which raise every numeric finding; a word also listed among the labels
    /// of other numbers (「会員番号」 …) is then taken as the office's keyword.
    pub extra_keywords: Vec<String>,
    /// The office's own labels of numbers that are not personal data but look like a My
    /// Number or a card number (say 「受付番号」 for a 12-digit receipt number): next to
    /// them, or at the head of their column, such a number is low confidence.
    pub other_number_keywords: Vec<String>,
}

impl Default for ContextConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            window_chars: DEFAULT_CONTEXT_WINDOW,
            extra_keywords: Vec::new(),
            other_number_keywords: Vec::new(),
        }
    }
}

/// The administrator's dictionary.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CustomConfig {
    /// Are the rules applied? (default: yes; with no rules there is nothing to apply)
    pub enabled: bool,
    /// The rules, in order; findings name a rule by its position here.
    pub rules: Vec<CustomRule>,
    /// The most bytes one rule's compiled regular expression may take (default 1 MiB).
    pub regex_size_limit: usize,
}

impl Default for CustomConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            rules: Vec::new(),
            regex_size_limit: DEFAULT_REGEX_SIZE_LIMIT,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detectors::custom::RuleKind;

    #[test]
    fn an_empty_table_turns_everything_on() {
        let config: ScanConfig = toml::from_str("").unwrap();
        assert_eq!(config, ScanConfig::default());
        assert!(config.my_number.enabled && config.phone.enabled && config.email_list.enabled);
        assert_eq!(config.email_list.min_distinct.get(), 20);
        assert_eq!(config.context.window_chars, 40);
    }

    #[test]
    fn parses_a_full_configuration() {
        let config: ScanConfig = toml::from_str(
            r#"
            max_findings_per_detector = 50
            [phone]
            enabled = false
            [email_list]
            min_distinct = 5
            [context]
            window_chars = 10
            extra_keywords = ["会員番号"]
            [[custom.rules]]
            name = "社外秘"
            kind = "keyword"
            pattern = "社外秘"
            [[custom.rules]]
            name = "employee id"
            kind = "regex"
            pattern = 'EMP-\d{6}'
            confidence = "high"
            "#,
        )
        .unwrap();
        assert!(!config.phone.enabled);
        assert!(config.my_number.enabled);
        assert_eq!(config.email_list.min_distinct.get(), 5);
        assert_eq!(config.custom.rules.len(), 2);
        assert_eq!(config.custom.rules[1].kind, RuleKind::Regex);
        assert_eq!(config.max_findings_per_detector, 50);
    }

    #[test]
    fn unknown_fields_and_zero_thresholds_are_refused() {
        assert!(toml::from_str::<ScanConfig>("[phone]\nenabeld = false").is_err());
        assert!(toml::from_str::<ScanConfig>("mynumber = {}").is_err());
        assert!(toml::from_str::<ScanConfig>("[email_list]\nmin_distinct = 0").is_err());
        assert!(
            toml::from_str::<ScanConfig>("[[custom.rules]]\nname='x'\nkind='glob'\npattern='x'")
                .is_err()
        );
    }

    #[test]
    fn round_trips_through_json() {
        let config = ScanConfig::default();
        let json = serde_json::to_string(&config).unwrap();
        assert_eq!(serde_json::from_str::<ScanConfig>(&json).unwrap(), config);
    }
}
