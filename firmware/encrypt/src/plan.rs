//! Which recipients of a mail get its attachments encrypted, and how: the rules of
//! [`EncryptConfig`] compiled once and applied per recipient, first match wins.
//!
//! - A recipient who is exempt (in the office's own domains while `exempt_internal`, or
//!   matching `exempt_recipients`) gets the mail as it is, always.
//! - Otherwise the first rule whose senders, recipients, attachment types and size match
//!   decides: `encrypt` with its own cipher, names and password recipients (or the
//!   section's), `skip` to send as it is. With no rules at all, every mail with an
//!   attachment is encrypted for every recipient who is not exempt.
//! - A DLP rule with action `encrypt` makes every recipient who is not exempt get the
//!   encrypted copy, whatever the rules say (a `skip` rule cannot undo what DLP asked).
//!
//! Attachments that are encrypted already (an encrypted ZIP, S/MIME or PGP files) are not
//! packed again, nor are the pictures of an HTML body; a mail with nothing else to pack is
//! sent as it is.

use mamori_dlp::AddressPattern;

use crate::archive::{Cipher, NameCharset};
use crate::config::{AttachmentType, ConfigProblem, EncryptConfig, Mode, RuleAction};
use crate::notice::PasswordTo;

/// How one encrypted copy is made.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Settings {
    /// The rule that decided (`dlp` when DLP asked and no rule matched; `default` with no
    /// rules).
    pub rule: String,
    /// ZIP or link.
    pub mode: Mode,
    /// The cipher (of the ZIP; in link mode always AES-256's place holder, so that link
    /// copies are not split by it).
    pub cipher: Cipher,
    /// The names' charset.
    pub names: NameCharset,
    /// Who is sent the password.
    pub password_to: PasswordTo,
}

/// What the plan needs to know of one attachment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttachmentFacts {
    /// Its part number as DLP's walk names it (`2`, `1.3`).
    pub part: String,
    /// Its media type (lower case).
    pub content_type: String,
    /// Its file name, if it has one.
    pub name: Option<String>,
    /// Its size, decoded (estimated from the encoded size).
    pub size: u64,
    /// Encrypted already: it is not packed again.
    pub encrypted: bool,
    /// An inline part of an HTML body (a picture in the text): it stays, as the body
    /// does.
    pub inline: bool,
}

impl AttachmentFacts {
    /// Is it packed when the mail is encrypted?
    pub fn packable(&self) -> bool {
        !self.encrypted && !self.inline
    }
}

/// The facts of every attachment of the message `raw` (read as `outline`), in the order of
/// [`crate::rewrite::attachments`]: each streamed once, decoded, to see whether it is
/// encrypted already.
pub fn read_attachments(raw: &[u8], outline: &mamori_dlp::mime::Outline) -> Vec<AttachmentFacts> {
    use mamori_dlp::mime::{Node, Transfer};
    let inline = crate::rewrite::inline_parts(raw, outline);
    let parts = crate::rewrite::attachment_parts(outline);
    crate::rewrite::attachments(outline)
        .into_iter()
        .zip(inline)
        .zip(parts)
        .filter_map(|((node, inline), part)| match node {
            Node::Attachment {
                content: range,
                content_type,
                name,
                transfer,
                ..
            } => {
                let encoded = raw.get(range.clone()).unwrap_or_default();
                let size = match transfer {
                    Transfer::Base64 => encoded.len() as u64 / 4 * 3,
                    _ => encoded.len() as u64,
                };
                let encrypted = crate::encrypted::is_encrypted(
                    content_type,
                    name.as_deref(),
                    transfer.reader(encoded),
                )
                .unwrap_or(false);
                Some(AttachmentFacts {
                    part,
                    content_type: content_type.clone(),
                    name: name.clone(),
                    size,
                    encrypted,
                    inline,
                })
            }
            _ => None,
        })
        .collect()
}

/// What the plan needs to know of one mail.
#[derive(Debug, Clone, Copy)]
pub struct MailFacts<'a> {
    /// The envelope sender.
    pub sender: &'a str,
    /// The envelope recipients.
    pub recipients: &'a [String],
    /// The office's own domains.
    pub office_domains: &'a [String],
    /// Its attachments, in the order of [`crate::rewrite::attachments`].
    pub attachments: &'a [AttachmentFacts],
    /// A DLP rule asked for encryption.
    pub dlp_asks: bool,
}

/// What becomes of one mail.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Plan {
    /// One encrypted copy per way of making it, with the indices (into
    /// [`MailFacts::recipients`]) of the recipients who get it.
    pub copies: Vec<(Settings, Vec<usize>)>,
    /// The recipients who get the mail as it is.
    pub plain: Vec<usize>,
    /// The attachments to pack (indices into [`MailFacts::attachments`]).
    pub packed: Vec<usize>,
}

impl Plan {
    /// Does any recipient get an encrypted copy?
    pub fn encrypts(&self) -> bool {
        !self.copies.is_empty()
    }
}

/// A compiled rule.
#[derive(Debug, Clone)]
struct Rule {
    name: String,
    senders: Vec<AddressPattern>,
    recipients: Vec<AddressPattern>,
    types: Vec<AttachmentType>,
    min_size: u64,
    action: RuleAction,
    mode: Option<Mode>,
    cipher: Option<Cipher>,
    names: Option<NameCharset>,
    password_to: Option<PasswordTo>,
}

/// The compiled section.
#[derive(Debug, Clone)]
pub struct EncryptPolicy {
    rules: Vec<Rule>,
    exempt: Vec<AddressPattern>,
    exempt_internal: bool,
    defaults: (Mode, Cipher, NameCharset, PasswordTo),
}

fn patterns(texts: &[String]) -> Vec<AddressPattern> {
    texts
        .iter()
        .filter_map(|t| AddressPattern::parse(t).ok())
        .collect()
}

impl EncryptPolicy {
    /// Compiles `config`, or gives every problem it has.
    pub fn new(config: &EncryptConfig) -> Result<Self, Vec<ConfigProblem>> {
        let problems = config.check();
        if !problems.is_empty() {
            return Err(problems);
        }
        let rules = config
            .rules
            .iter()
            .map(|r| Rule {
                name: r.name.trim().to_owned(),
                senders: patterns(&r.senders),
                recipients: patterns(&r.recipients),
                types: r
                    .attachment_types
                    .iter()
                    .filter_map(|t| AttachmentType::parse(t).ok())
                    .collect(),
                min_size: r.min_size,
                action: r.action,
                mode: r.mode,
                cipher: r.cipher,
                names: r.names,
                password_to: r.password_to,
            })
            .collect();
        Ok(Self {
            rules,
            exempt: patterns(&config.exempt_recipients),
            exempt_internal: config.exempt_internal,
            defaults: (config.mode, config.cipher, config.names, config.password_to),
        })
    }

    /// Is `recipient` exempt (gets the mail as it is, always)?
    pub fn is_exempt(&self, recipient: &str, office_domains: &[String]) -> bool {
        let internal = recipient
            .rsplit_once('@')
            .is_some_and(|(_, host)| office_domains.iter().any(|d| d.eq_ignore_ascii_case(host)));
        (self.exempt_internal && internal) || self.exempt.iter().any(|p| p.matches(recipient))
    }

    /// Could any recipient of `recipients` get an encrypted copy (is anyone not exempt)?
    /// A cheap test before the mail is read.
    pub fn may_encrypt(&self, recipients: &[String], office_domains: &[String]) -> bool {
        recipients
            .iter()
            .any(|r| !self.is_exempt(r, office_domains))
    }

    /// The plan for one mail.
    pub fn plan(&self, mail: &MailFacts<'_>) -> Plan {
        let packed: Vec<usize> = mail
            .attachments
            .iter()
            .enumerate()
            .filter(|(_, a)| a.packable())
            .map(|(i, _)| i)
            .collect();
        let mut plan = Plan {
            packed,
            ..Plan::default()
        };
        if plan.packed.is_empty() {
            plan.plain = (0..mail.recipients.len()).collect();
            return plan;
        }
        let size: u64 = plan
            .packed
            .iter()
            .filter_map(|&i| mail.attachments.get(i))
            .map(|a| a.size)
            .sum();
        let mut copies: std::collections::BTreeMap<Settings, Vec<usize>> = Default::default();
        for (i, rcpt) in mail.recipients.iter().enumerate() {
            match self.for_recipient(mail, rcpt, size) {
                Some(settings) => copies.entry(settings).or_default().push(i),
                None => plan.plain.push(i),
            }
        }
        plan.copies = copies.into_iter().collect();
        if !plan.encrypts() {
            plan.packed.clear();
        }
        plan
    }

    fn for_recipient(&self, mail: &MailFacts<'_>, rcpt: &str, size: u64) -> Option<Settings> {
        if self.is_exempt(rcpt, mail.office_domains) {
            return None;
        }
        let (mode, cipher, names, password_to) = self.defaults;
        let matched = self.rules.iter().find(|rule| {
            (rule.senders.is_empty() || rule.senders.iter().any(|p| p.matches(mail.sender)))
                && (rule.recipients.is_empty() || rule.recipients.iter().any(|p| p.matches(rcpt)))
                && (rule.types.is_empty()
                    || mail.attachments.iter().any(|a| {
                        a.packable()
                            && rule
                                .types
                                .iter()
                                .any(|t| t.matches(&a.content_type, a.name.as_deref()))
                    }))
                && size >= rule.min_size
        });
        let settings = match matched {
            Some(rule) if rule.action == RuleAction::Encrypt || mail.dlp_asks => Settings {
                rule: rule.name.clone(),
                mode: rule.mode.unwrap_or(mode),
                cipher: rule.cipher.unwrap_or(cipher),
                names: rule.names.unwrap_or(names),
                password_to: rule.password_to.unwrap_or(password_to),
            },
            Some(_) => return None,
            None if self.rules.is_empty() || mail.dlp_asks => Settings {
                rule: if mail.dlp_asks { "dlp" } else { "default" }.into(),
                mode,
                cipher,
                names,
                password_to,
            },
            None => return None,
        };
        Some(match settings.mode {
            Mode::Zip => settings,
            Mode::Link => Settings {
                cipher: Cipher::Aes256,
                names: NameCharset::Utf8,
                ..settings
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::EncryptRule;

    fn attachment(name: &str, ct: &str, size: u64) -> AttachmentFacts {
        AttachmentFacts {
            part: "2".into(),
            content_type: ct.into(),
            name: Some(name.into()),
            size,
            encrypted: false,
            inline: false,
        }
    }

    fn facts<'a>(
        rcpts: &'a [String],
        attachments: &'a [AttachmentFacts],
        dlp_asks: bool,
    ) -> MailFacts<'a> {
        MailFacts {
            sender: "taro@office.example.jp",
            recipients: rcpts,
            office_domains: OFFICE,
            attachments,
            dlp_asks,
        }
    }

    static OFFICE: &[String] = &[];

    fn office() -> Vec<String> {
        vec!["office.example.jp".into()]
    }

    #[test]
    fn with_no_rules_outside_recipients_get_one_copy_and_the_office_the_original() {
        let policy = EncryptPolicy::new(&EncryptConfig::default()).unwrap();
        let rcpts: Vec<String> = vec![
            "hanako@office.example.jp".into(),
            "client@example.com".into(),
            "other@example.net".into(),
        ];
        let office = office();
        let a = [attachment("見積書.pdf", "application/pdf", 1000)];
        let plan = policy.plan(&MailFacts {
            office_domains: &office,
            ..facts(&rcpts, &a, false)
        });
        assert_eq!(plan.plain, [0]);
        assert_eq!(plan.copies.len(), 1);
        assert_eq!(plan.copies[0].1, [1, 2]);
        assert_eq!(plan.copies[0].0.rule, "default");
        assert_eq!(plan.packed, [0]);
        // No attachments: nothing to encrypt.
        let plan = policy.plan(&MailFacts {
            office_domains: &office,
            ..facts(&rcpts, &[], false)
        });
        assert!(!plan.encrypts());
        assert_eq!(plan.plain, [0, 1, 2]);
    }

    #[test]
    fn already_encrypted_attachments_are_not_packed_again() {
        let policy = EncryptPolicy::new(&EncryptConfig::default()).unwrap();
        let rcpts = vec!["client@example.com".to_string()];
        let mut zip = attachment("secret.zip", "application/zip", 10);
        zip.encrypted = true;
        let plan = policy.plan(&facts(&rcpts, std::slice::from_ref(&zip), false));
        assert!(!plan.encrypts());
        let both = [zip, attachment("a.txt", "text/plain", 5)];
        let plan = policy.plan(&facts(&rcpts, &both, false));
        assert_eq!(plan.packed, [1]);
    }

    #[test]
    fn rules_match_per_recipient_first_wins_and_dlp_overrides_skip() {
        let config = EncryptConfig {
            rules: vec![
                EncryptRule {
                    name: "partner".into(),
                    recipients: vec!["partner.example.com".into()],
                    action: RuleAction::Skip,
                    ..EncryptRule::default()
                },
                EncryptRule {
                    name: "old tools".into(),
                    recipients: vec!["*@legacy.example.com".into()],
                    cipher: Some(Cipher::ZipCrypto),
                    names: Some(NameCharset::Cp932),
                    ..EncryptRule::default()
                },
                EncryptRule {
                    name: "pdf".into(),
                    attachment_types: vec![".pdf".into()],
                    min_size: 100,
                    ..EncryptRule::default()
                },
            ],
            ..EncryptConfig::default()
        };
        let policy = EncryptPolicy::new(&config).unwrap();
        let rcpts: Vec<String> = vec![
            "a@partner.example.com".into(),
            "b@legacy.example.com".into(),
            "c@example.org".into(),
        ];
        let pdf = [attachment("x.PDF", "application/octet-stream", 500)];
        let plan = policy.plan(&facts(&rcpts, &pdf, false));
        assert_eq!(plan.plain, [0]);
        assert_eq!(plan.copies.len(), 2);
        let legacy = plan
            .copies
            .iter()
            .find(|(s, _)| s.rule == "old tools")
            .unwrap();
        assert_eq!(legacy.0.cipher, Cipher::ZipCrypto);
        assert_eq!(legacy.1, [1]);
        // A small PDF, or a spreadsheet: the "pdf" rule does not match c.
        let small = [attachment("x.pdf", "application/pdf", 50)];
        let plan = policy.plan(&facts(&rcpts, &small, false));
        assert_eq!(plan.plain, [0, 2]);
        // DLP asked: everyone not exempt gets it encrypted, the skip rule's partner too.
        let plan = policy.plan(&facts(&rcpts, &small, true));
        assert!(plan.plain.is_empty());
        let dlp = plan.copies.iter().find(|(s, _)| s.rule == "dlp").unwrap();
        assert_eq!(dlp.1, [2]);
    }

    #[test]
    fn exempt_recipients_get_the_original_even_when_dlp_asks() {
        let config = EncryptConfig {
            exempt_recipients: vec!["trusted.example.com".into()],
            ..EncryptConfig::default()
        };
        let policy = EncryptPolicy::new(&config).unwrap();
        let rcpts: Vec<String> = vec!["x@sub.trusted.example.com".into()];
        let a = [attachment("a.pdf", "application/pdf", 1)];
        assert!(!policy.plan(&facts(&rcpts, &a, true)).encrypts());
        assert!(!policy.may_encrypt(&rcpts, &[]));
    }
}
