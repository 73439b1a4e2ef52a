//! The `[encrypt]` section: when the relay packs a mail's attachments into an encrypted
//! ZIP, how, and who is sent the password. Parsed strictly (unknown keys are errors); the
//! relay's settings check ([`EncryptConfig::check`]) names the key, the value and why.

use std::time::Duration;

use mamori_dlp::AddressPattern;
use serde::{Deserialize, Serialize};

use crate::archive::{Cipher, NameCharset};
use crate::notice::PasswordTo;
use crate::password::{Alphabet, DEFAULT_ALPHABET};

/// Attachment encryption (ZIP mode).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EncryptConfig {
    /// Pack attachments at all (default off). A DLP rule with action `encrypt` holds mail
    /// while this is off.
    pub enabled: bool,
    /// How attachments are protected: `zip` (the default: an encrypted ZIP in the mail) or
    /// `link` (the attachments stay on the box, sealed, and the mail carries a download
    /// link served by `mamori linkd`).
    pub mode: Mode,
    /// The link mode's public address: `https://name[:port]` as the recipients reach
    /// `mamori linkd` from the Internet (needed when any rule uses link mode).
    pub link_url: String,
    /// How long a download link gives its files (default 7 days, at most 90).
    #[serde(with = "humantime_serde")]
    pub link_expiry: Duration,
    /// How often each file of a link may be downloaded (default 3, 1 to 100).
    pub link_downloads: u32,
    /// A download link also asks for a password, sent as `password_to` says (default no:
    /// the link's own secret protects it).
    pub link_password: bool,
    /// The cipher (`aes256`, the default; `zipcrypto` only for recipients whose tools open
    /// nothing else: weaker, and labelled so).
    pub cipher: Cipher,
    /// How names are written in the archive (`utf8`, the default, or `cp932` for old
    /// Japanese archivers).
    pub names: NameCharset,
    /// Who is sent the password (`sender`, the default, who passes it on by another way;
    /// `recipients`; or `both`).
    pub password_to: PasswordTo,
    /// Characters in a password (default 12).
    pub password_length: usize,
    /// The characters a password is drawn from (default: letters and digits without
    /// look-alikes).
    pub password_alphabet: String,
    /// How long after the mail its password mail is sent (default 5 minutes; a person who
    /// sees a misdelivery in that time can still act).
    #[serde(with = "humantime_serde")]
    pub password_delay: Duration,
    /// The archive's file name (default `attachments.zip`; `.zip` is added when missing).
    pub archive_name: String,
    /// Recipients in the office's own domains get the mail as it is (default yes).
    pub exempt_internal: bool,
    /// Recipients who always get the mail as it is (address patterns or domains, as DLP
    /// rules name them): partners with an agreed other protection.
    pub exempt_recipients: Vec<String>,
    /// A prefix for the subject of encrypted mail (empty: the subject is kept).
    pub subject_tag: String,
    /// The rules, first match per recipient wins. None: every mail with attachments to a
    /// recipient who is not exempt is encrypted.
    pub rules: Vec<EncryptRule>,
}

impl Default for EncryptConfig {
    fn default() -> Self {
        Self {
            enabled: false,
            mode: Mode::Zip,
            link_url: String::new(),
            link_expiry: Duration::from_secs(7 * 24 * 3600),
            link_downloads: 3,
            link_password: false,
            cipher: Cipher::Aes256,
            names: NameCharset::Utf8,
            password_to: PasswordTo::Sender,
            password_length: 12,
            password_alphabet: DEFAULT_ALPHABET.into(),
            password_delay: Duration::from_secs(300),
            archive_name: "attachments.zip".into(),
            exempt_internal: true,
            exempt_recipients: Vec::new(),
            subject_tag: String::new(),
            rules: Vec::new(),
        }
    }
}

/// How attachments are protected.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// An encrypted ZIP in the mail, its password in another.
    #[default]
    Zip,
    /// A download link in the mail; the files stay on the box, sealed.
    Link,
}

/// What a rule does for the recipients it matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RuleAction {
    /// Pack the attachments (the default).
    #[default]
    Encrypt,
    /// Send as it is (an exception placed before broader rules).
    Skip,
}

/// One rule: which mail, to which recipients, and how.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EncryptRule {
    /// The name shown in logs and the audit log.
    pub name: String,
    /// Only mail from these senders (address patterns or domains). Empty: any sender.
    pub senders: Vec<String>,
    /// Only these recipients (same forms). Empty: any recipient not exempt.
    pub recipients: Vec<String>,
    /// Only mail with an attachment of one of these types: extensions (`.pdf`, `xlsx`) or
    /// media types (`application/pdf`, `image/*`). Empty: any attachment.
    pub attachment_types: Vec<String>,
    /// Only when the attachments together are at least this large (octets, decoded).
    pub min_size: u64,
    /// Encrypt (default) or skip.
    pub action: RuleAction,
    /// This rule's mode instead of the section's.
    pub mode: Option<Mode>,
    /// This rule's cipher instead of the section's.
    pub cipher: Option<Cipher>,
    /// This rule's name charset instead of the section's.
    pub names: Option<NameCharset>,
    /// This rule's password recipients instead of the section's.
    pub password_to: Option<PasswordTo>,
}

/// One problem with the section: the key, the value, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigProblem {
    /// The key (`encrypt.rules[0].senders`).
    pub key: String,
    /// The value as written.
    pub value: String,
    /// Why it is wrong.
    pub why: String,
}

/// The longest archive name accepted, in characters.
const MAX_ARCHIVE_NAME: usize = 100;
/// The longest subject tag accepted, in characters.
const MAX_TAG: usize = 40;
/// The longest password delay accepted (a day: a password later than that helps no one).
const MAX_DELAY: Duration = Duration::from_secs(24 * 3600);
/// The longest a download link may live.
const MAX_LINK_EXPIRY: Duration = Duration::from_secs(90 * 24 * 3600);
/// The most downloads of one file a link may allow.
const MAX_LINK_DOWNLOADS: u32 = 100;

impl EncryptConfig {
    /// Every problem with the section (empty when it is usable).
    pub fn check(&self) -> Vec<ConfigProblem> {
        let mut problems = Vec::new();
        let mut bad = |key: String, value: String, why: String| {
            problems.push(ConfigProblem { key, value, why })
        };
        match Alphabet::new(&self.password_alphabet) {
            Err(e) => bad(
                "encrypt.password_alphabet".into(),
                self.password_alphabet.clone(),
                e.to_string(),
            ),
            Ok(alphabet) => {
                if let Err(e) = alphabet.check_length(self.password_length) {
                    bad(
                        "encrypt.password_length".into(),
                        self.password_length.to_string(),
                        e.to_string(),
                    );
                }
            }
        }
        if self.password_delay > MAX_DELAY {
            bad(
                "encrypt.password_delay".into(),
                humantime::format_duration(self.password_delay).to_string(),
                "at most 24h: a password sent later than that helps no one".into(),
            );
        }
        let name = self.archive_name.trim();
        if name.is_empty()
            || name.chars().count() > MAX_ARCHIVE_NAME
            || name
                .chars()
                .any(|c| c.is_control() || "/\\:*?\"<>|".contains(c))
        {
            bad(
                "encrypt.archive_name".into(),
                self.archive_name.clone(),
                format!(
                    "a file name of 1 to {MAX_ARCHIVE_NAME} characters, without control characters or any of / \\ : * ? \" < > |"
                ),
            );
        }
        if self.subject_tag.chars().count() > MAX_TAG
            || self.subject_tag.chars().any(char::is_control)
        {
            bad(
                "encrypt.subject_tag".into(),
                self.subject_tag.clone(),
                format!("at most {MAX_TAG} characters, on one line"),
            );
        }
        if self.uses_links() {
            if let Err(why) = check_link_url(&self.link_url) {
                bad("encrypt.link_url".into(), self.link_url.clone(), why);
            }
        } else if !self.link_url.is_empty()
            && let Err(why) = check_link_url(&self.link_url)
        {
            bad("encrypt.link_url".into(), self.link_url.clone(), why);
        }
        if self.link_expiry < Duration::from_secs(60) || self.link_expiry > MAX_LINK_EXPIRY {
            bad(
                "encrypt.link_expiry".into(),
                humantime::format_duration(self.link_expiry).to_string(),
                "from 1 minute to 90 days".into(),
            );
        }
        if !(1..=MAX_LINK_DOWNLOADS).contains(&self.link_downloads) {
            bad(
                "encrypt.link_downloads".into(),
                self.link_downloads.to_string(),
                format!("from 1 to {MAX_LINK_DOWNLOADS} downloads of each file"),
            );
        }
        check_patterns(
            "encrypt.exempt_recipients",
            &self.exempt_recipients,
            &mut bad,
        );
        let mut names = std::collections::HashSet::new();
        for (i, rule) in self.rules.iter().enumerate() {
            let key = |field: &str| format!("encrypt.rules[{i}].{field}");
            if rule.name.trim().is_empty() {
                bad(
                    key("name"),
                    rule.name.clone(),
                    "every rule needs a name".into(),
                );
            } else if !names.insert(rule.name.trim().to_lowercase()) {
                bad(
                    key("name"),
                    rule.name.clone(),
                    "another rule has this name".into(),
                );
            }
            check_patterns(&key("senders"), &rule.senders, &mut bad);
            check_patterns(&key("recipients"), &rule.recipients, &mut bad);
            for t in &rule.attachment_types {
                if let Err(why) = AttachmentType::parse(t) {
                    bad(key("attachment_types"), t.clone(), why);
                }
            }
        }
        problems
    }

    /// What is allowed but weaker than it could be: ZipCrypto anywhere.
    pub fn risks(&self) -> Vec<ConfigProblem> {
        let why = "ZipCrypto (traditional ZIP encryption) falls to a known-plaintext attack: use it only for recipients whose tools open nothing else, and prefer aes256";
        let mut out = Vec::new();
        if self.cipher == Cipher::ZipCrypto {
            out.push(ConfigProblem {
                key: "encrypt.cipher".into(),
                value: "zipcrypto".into(),
                why: why.into(),
            });
        }
        for (i, rule) in self.rules.iter().enumerate() {
            if rule.cipher == Some(Cipher::ZipCrypto) {
                out.push(ConfigProblem {
                    key: format!("encrypt.rules[{i}].cipher"),
                    value: "zipcrypto".into(),
                    why: why.into(),
                });
            }
        }
        out
    }

    /// Does the section or any encrypting rule use link mode?
    pub fn uses_links(&self) -> bool {
        self.mode == Mode::Link
            || self
                .rules
                .iter()
                .any(|r| r.action == RuleAction::Encrypt && r.mode == Some(Mode::Link))
    }

    /// The link base as configured, without a trailing slash.
    pub fn link_base(&self) -> &str {
        self.link_url.trim().trim_end_matches('/')
    }

    /// The archive's file name as configured, with `.zip` added when missing.
    pub fn archive_file_name(&self) -> String {
        let name = self.archive_name.trim();
        if name.to_ascii_lowercase().ends_with(".zip") {
            name.to_owned()
        } else {
            format!("{name}.zip")
        }
    }
}

/// Is `url` an address recipients can be sent to: `https://` and a host name, an optional
/// port and path prefix, nothing else?
pub fn check_link_url(url: &str) -> Result<(), String> {
    let why = || {
        "the address recipients reach the download service at, as https://files.example.co.jp or https://files.example.co.jp:8443".to_owned()
    };
    let rest = url.trim().strip_prefix("https://").ok_or_else(why)?;
    let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
    let (host, port) = match authority.rsplit_once(':') {
        Some((h, p)) => (h, Some(p)),
        None => (authority, None),
    };
    let host_ok = !host.is_empty()
        && host.len() <= 253
        && host.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
                && !label.starts_with('-')
                && !label.ends_with('-')
        });
    let port_ok = port.is_none_or(|p| p.parse::<u16>().is_ok_and(|n| n > 0));
    let path_ok = path
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"-._~/".contains(&b));
    if host_ok && port_ok && path_ok {
        Ok(())
    } else {
        Err(why())
    }
}

fn check_patterns(key: &str, patterns: &[String], bad: &mut impl FnMut(String, String, String)) {
    for p in patterns {
        if let Err(why) = AddressPattern::parse(p) {
            bad(key.to_owned(), p.clone(), why);
        }
    }
}

/// An attachment type a rule names: an extension or a media type (`type/*` for any
/// subtype).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AttachmentType {
    /// A file name extension, lower case, without the dot.
    Extension(String),
    /// A media type, lower case; the subtype `*` matches any.
    Media {
        /// `application`, `image` …
        top: String,
        /// `pdf`, or `*`.
        sub: String,
    },
}

impl AttachmentType {
    /// Reads `.pdf`, `pdf`, `application/pdf` or `image/*`.
    pub fn parse(text: &str) -> Result<Self, String> {
        let text = text.trim().to_ascii_lowercase();
        let token = |s: &str| {
            !s.is_empty()
                && s.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"!#$&-^_.+".contains(&b))
        };
        match text.split_once('/') {
            Some((top, sub)) if token(top) && (sub == "*" || token(sub)) => Ok(Self::Media {
                top: top.into(),
                sub: sub.into(),
            }),
            Some(_) => Err("a media type such as application/pdf or image/*".into()),
            None => {
                let ext = text.trim_start_matches('.');
                if token(ext) && !ext.contains('.') {
                    Ok(Self::Extension(ext.into()))
                } else {
                    Err("an extension such as .pdf, or a media type such as application/pdf".into())
                }
            }
        }
    }

    /// Does an attachment of `content_type` named `name` match?
    pub fn matches(&self, content_type: &str, name: Option<&str>) -> bool {
        match self {
            Self::Extension(ext) => name.is_some_and(|n| {
                n.rsplit_once('.')
                    .is_some_and(|(_, e)| e.trim().eq_ignore_ascii_case(ext))
            }),
            Self::Media { top, sub } => {
                let ct = content_type.to_ascii_lowercase();
                let (t, s) = ct.split_once('/').unwrap_or((ct.as_str(), ""));
                t == top && (sub == "*" || s == sub)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_defaults_check_clean_and_a_bad_section_names_each_key() {
        assert!(EncryptConfig::default().check().is_empty());
        let bad = EncryptConfig {
            password_length: 6,
            archive_name: "../x".into(),
            password_delay: Duration::from_secs(3 * 24 * 3600),
            exempt_recipients: vec![" ".into()],
            rules: vec![
                EncryptRule {
                    name: "a".into(),
                    attachment_types: vec!["pdf/".into()],
                    ..EncryptRule::default()
                },
                EncryptRule {
                    name: "A".into(),
                    ..EncryptRule::default()
                },
            ],
            ..EncryptConfig::default()
        };
        let keys: Vec<String> = bad.check().into_iter().map(|p| p.key).collect();
        assert_eq!(
            keys,
            [
                "encrypt.password_length",
                "encrypt.password_delay",
                "encrypt.archive_name",
                "encrypt.exempt_recipients",
                "encrypt.rules[0].attachment_types",
                "encrypt.rules[1].name",
            ]
        );
    }

    #[test]
    fn link_mode_needs_an_https_address_and_bounded_limits() {
        let mut c = EncryptConfig {
            mode: Mode::Link,
            ..EncryptConfig::default()
        };
        let keys = |c: &EncryptConfig| c.check().into_iter().map(|p| p.key).collect::<Vec<_>>();
        assert_eq!(keys(&c), ["encrypt.link_url"]);
        for good in [
            "https://files.office.example.jp",
            "https://f.example.jp:8443/",
            "https://a.b/dl",
        ] {
            c.link_url = good.into();
            assert!(c.check().is_empty(), "{good}");
        }
        assert_eq!(c.link_base(), "https://a.b/dl");
        for bad in [
            "http://files.example.jp",
            "https://",
            "https://a b",
            "https://a.jp:0",
            "https://a.jp/?x",
            "https://user@a.jp",
        ] {
            c.link_url = bad.into();
            assert_eq!(keys(&c), ["encrypt.link_url"], "{bad}");
        }
        c.link_url = "https://a.jp".into();
        c.link_downloads = 0;
        c.link_expiry = Duration::from_secs(100 * 24 * 3600);
        assert_eq!(keys(&c), ["encrypt.link_expiry", "encrypt.link_downloads"]);
        // A rule in link mode needs the address as much as the section does.
        let rule = EncryptConfig {
            rules: vec![EncryptRule {
                name: "r".into(),
                mode: Some(Mode::Link),
                ..EncryptRule::default()
            }],
            ..EncryptConfig::default()
        };
        assert!(rule.uses_links());
        assert_eq!(keys(&rule), ["encrypt.link_url"]);
    }

    #[test]
    fn attachment_types_match_by_extension_or_media_type() {
        let pdf = AttachmentType::parse(".PDF").unwrap();
        assert!(pdf.matches("application/octet-stream", Some("見積書.pdf")));
        assert!(!pdf.matches("application/pdf", None));
        assert!(!pdf.matches("application/pdf", Some("x.pdf.exe")));
        let images = AttachmentType::parse("image/*").unwrap();
        assert!(images.matches("image/jpeg", Some("a")));
        assert!(!images.matches("imagex/jpeg", Some("a")));
        assert!(AttachmentType::parse("tar.gz").is_err());
    }

    #[test]
    fn the_archive_name_gets_its_extension() {
        let mut c = EncryptConfig {
            archive_name: "添付ファイル".into(),
            ..EncryptConfig::default()
        };
        assert_eq!(c.archive_file_name(), "添付ファイル.zip");
        c.archive_name = "a.ZIP".into();
        assert_eq!(c.archive_file_name(), "a.ZIP");
    }
}
