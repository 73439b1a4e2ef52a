//! The attachment-encryption stage (ZIP mode): after DLP has judged the plaintext, the
//! attachments of mail that a rule of `[encrypt]` (or a DLP rule with action `encrypt`)
//! matches are packed into one encrypted ZIP, a notice goes at the top of the text, and
//! the password follows in a mail of its own after the configured delay.
//!
//! - Recipients are judged one by one ([`mamori_encrypt::plan`]): those who get the mail
//!   as it is (the office's own, exempt partners) keep the original; the others get an
//!   encrypted copy, one per way of making it (cipher, names, who gets the password), each
//!   with its own password. The copies and the password mails are accepted with the
//!   message, durably, before the client hears 250 ([`StagedMessage::companions`]); a
//!   password mail waits in the queue until its time (`next_attempt`), across restarts.
//! - The attachments are read from the message as DLP read it (its outline), streamed and
//!   decoded from the spooled file into the archive; what is encrypted already (an
//!   encrypted ZIP, S/MIME, PGP) is not packed again.
//! - A mail that cannot be changed safely — its structure is ambiguous, it is signed, or
//!   DLP asked for encryption and there is nothing to encrypt — is held with the reason,
//!   never sent as it is.
//! - Every encryption is written to the audit log (never the password) before it takes
//!   effect; if the record cannot be written the message is refused for now.

pub mod password_mail;
#[cfg(test)]
mod tests;

use std::sync::Arc;
use std::time::Duration;

use mamori_core::audit::AuditLog;
use mamori_dlp::Action;
use mamori_dlp::mime::{Node, Outline, outline};
use mamori_encrypt::config::ConfigProblem;
use mamori_encrypt::notice::{Notice, PasswordTo};
use mamori_encrypt::plan::{MailFacts, Settings};
use mamori_encrypt::rewrite::{Packing, attachments, has_signed_part, rewrite};
use mamori_encrypt::{
    Alphabet, EncryptConfig, EncryptPolicy, Entry, Options, Password, pack, zip_time,
};

use crate::pipeline::{OwnedMessage, Stage, StagedMessage, Verdict};
use crate::spool::{Envelope, Recipient};

/// Japan's offset from UTC: the archive's entry times are the office's local time.
const JST: i64 = 9 * 3600;

/// The most encrypted copies of one message (one per way of making it: rules with their
/// own cipher, names or password recipients). Each is held in memory until it is spooled
/// (about 1.4 times the message), so their number is bounded; a message that would need
/// more is held for an administrator.
pub const MAX_COPIES: usize = 4;

/// Why the stage could not be built.
#[derive(Debug, thiserror::Error)]
#[error("encrypt: {}", .0.iter().map(|p| format!("{} = {:?}: {}", p.key, p.value, p.why)).collect::<Vec<_>>().join("; "))]
pub struct EncryptStageError(pub Vec<ConfigProblem>);

/// The stage.
pub struct EncryptStage {
    policy: EncryptPolicy,
    alphabet: Alphabet,
    config: EncryptConfig,
    office_domains: Vec<String>,
    hostname: String,
    audit: Arc<AuditLog>,
}

/// One encrypted copy made: its content and the password mails that go with it.
struct Copy {
    settings: Settings,
    recipients: Vec<usize>,
    content: Vec<u8>,
    password: Password,
    entries: Vec<mamori_encrypt::archive::PackedEntry>,
}

impl EncryptStage {
    /// Builds the stage from the `[encrypt]` section; `office_domains` are the office's own
    /// domains (recipients there are internal).
    pub fn new(
        config: &EncryptConfig,
        office_domains: Vec<String>,
        hostname: String,
        audit: Arc<AuditLog>,
    ) -> Result<Self, EncryptStageError> {
        let policy = EncryptPolicy::new(config).map_err(EncryptStageError)?;
        let alphabet = Alphabet::new(&config.password_alphabet).map_err(|e| {
            EncryptStageError(vec![ConfigProblem {
                key: "encrypt.password_alphabet".into(),
                value: config.password_alphabet.clone(),
                why: e.to_string(),
            }])
        })?;
        Ok(Self {
            policy,
            alphabet,
            config: config.clone(),
            office_domains,
            hostname,
            audit,
        })
    }

    fn hold(&self, message: &StagedMessage, why: &str) -> Verdict {
        tracing::warn!(queue_id = %message.envelope.id, reason = why, "attachments could not be encrypted; message held");
        Verdict::Hold {
            reason: format!("encryption: {why}"),
        }
    }

    /// Packs the attachments `packed` of the message for one copy and rewrites it.
    fn make_copy(
        &self,
        content: &[u8],
        outline: &Outline,
        packed: &[usize],
        arrived: u64,
        settings: Settings,
        recipients: Vec<usize>,
    ) -> Result<Copy, String> {
        let password = Password::random(self.config.password_length, &self.alphabet)
            .map_err(|e| e.to_string())?;
        let nodes = attachments(outline);
        let entries = packed.iter().filter_map(|&i| match nodes.get(i) {
            Some(Node::Attachment {
                content: range,
                name,
                transfer,
                content_type,
                ..
            }) => Some(Entry {
                name: entry_name(name.as_deref(), content_type),
                data: transfer.reader(content.get(range.clone()).unwrap_or_default()),
            }),
            _ => None,
        });
        let options = Options {
            cipher: settings.cipher,
            names: settings.names,
            modified: zip_time(arrived, JST),
        };
        let (archive, packed_entries) = pack(
            std::io::Cursor::new(Vec::new()),
            entries,
            &password,
            &options,
        )
        .map_err(|e| e.to_string())?;
        let archive = archive.into_inner();
        let name = self.config.archive_file_name();
        let notice = Notice {
            archive: name.clone(),
            cipher: settings.cipher,
            password_to: settings.password_to,
        };
        let mut rewritten = rewrite(
            content,
            outline,
            packed,
            &Packing {
                name: &name,
                archive: &archive,
                notice: &notice,
            },
        )
        .map_err(|e| e.to_string())?;
        if !self.config.subject_tag.is_empty() {
            rewritten =
                crate::dlp_stage::subject::tag_subject(&rewritten, &self.config.subject_tag);
        }
        Ok(Copy {
            settings,
            recipients,
            content: rewritten,
            password,
            entries: packed_entries.entries,
        })
    }

    /// The password mails of one copy (its queue ID `copy_id`), to send after the delay.
    fn password_mails(
        &self,
        envelope: &Envelope,
        copy: &Copy,
        copy_id: &str,
        subject: &str,
    ) -> std::io::Result<Vec<OwnedMessage>> {
        let recipients: Vec<String> = copy
            .recipients
            .iter()
            .filter_map(|&i| envelope.recipients.get(i))
            .map(|r| r.address.clone())
            .collect();
        let archive = self.config.archive_file_name();
        let facts = password_mail::PasswordFacts {
            queue_id: copy_id,
            subject,
            archive: &archive,
            cipher: copy.settings.cipher,
            password: &copy.password,
            recipients: &recipients,
        };
        let due = crate::datetime::unix_now().saturating_add(self.config.password_delay.as_secs());
        let mut mails = Vec::new();
        let to_sender = matches!(
            copy.settings.password_to,
            PasswordTo::Sender | PasswordTo::Both
        );
        let to_recipients = matches!(
            copy.settings.password_to,
            PasswordTo::Recipients | PasswordTo::Both
        );
        // Only a verified sender of the office is sent a password (never an address outside,
        // which may be forged); without one the recipients get it.
        let sender_ok = envelope.client.sender_verified
            && !envelope.mail_from.is_empty()
            && crate::address::domain_of(&envelope.mail_from).is_some_and(|d| {
                self.office_domains
                    .iter()
                    .any(|o| o.eq_ignore_ascii_case(&d))
            });
        let to_recipients = to_recipients || !sender_ok;
        if to_sender && sender_ok {
            let content = password_mail::for_sender(&facts, &envelope.mail_from, &self.hostname)?;
            mails.push((
                vec![Recipient::new(envelope.mail_from.clone())],
                String::new(),
                content,
            ));
        }
        if to_recipients {
            let content =
                password_mail::for_recipients(&facts, &envelope.mail_from, &self.hostname)?;
            mails.push((
                recipients.iter().map(Recipient::new).collect(),
                envelope.mail_from.clone(),
                content,
            ));
        }
        Ok(mails
            .into_iter()
            .map(|(to, from, content)| {
                let mut env =
                    Envelope::generated(crate::spool::new_id(), from, to, &self.hostname, &content);
                env.next_attempt = due;
                (env, content)
            })
            .collect())
    }

    fn audit(
        &self,
        envelope: &Envelope,
        copies: &[(String, &Copy)],
        password_mails: &[(String, Vec<String>)],
    ) -> Result<(), mamori_core::audit::AuditError> {
        let copies: Vec<serde_json::Value> = copies
            .iter()
            .map(|(id, c)| {
                serde_json::json!({
                    "queue_id": id,
                    "rule": c.settings.rule,
                    "cipher": c.settings.cipher,
                    "names": c.settings.names,
                    "password_to": c.settings.password_to,
                    "recipients": c.recipients.iter().filter_map(|&i| envelope.recipients.get(i)).map(|r| &r.address).collect::<Vec<_>>(),
                    "entries": c.entries.iter().map(|e| serde_json::json!({"name": e.name, "size": e.size, "stored": e.stored})).collect::<Vec<_>>(),
                })
            })
            .collect();
        self.audit
            .record(
                "attachments_encrypted",
                serde_json::json!({
                    "queue_id": envelope.id,
                    "from": envelope.mail_from,
                    "auth_user": envelope.client.auth_user,
                    "archive": self.config.archive_file_name(),
                    "copies": copies,
                    "password_mails": password_mails.iter().map(|(id, to)| serde_json::json!({"queue_id": id, "to": to})).collect::<Vec<_>>(),
                    "password_delay_secs": self.config.password_delay.as_secs(),
                }),
            )
            .map(|_| ())
    }
}

/// The name an attachment gets in the archive: its own, or for one without a name a
/// name that opens it (a forwarded message as `.eml`).
fn entry_name(name: Option<&str>, content_type: &str) -> String {
    match name {
        Some(n) if !n.trim().is_empty() => n.to_owned(),
        _ if content_type.starts_with("message/") => "message.eml".into(),
        _ => String::new(),
    }
}

/// Does a text body carry a uuencoded file (a `begin 644 name` line, as old mail programs
/// attach files)? DLP reads it as a file; packing cannot take it out of the text.
fn uuencoded_in_text(raw: &[u8], outline: &Outline) -> bool {
    fn find(raw: &[u8], node: &Node) -> bool {
        match node {
            Node::Multipart { parts, .. } => parts.iter().any(|(_, p)| find(raw, p)),
            Node::Body {
                content, transfer, ..
            } => {
                let text = transfer.decode(raw.get(content.clone()).unwrap_or_default());
                let lines: Vec<&[u8]> = text
                    .split(|&b| b == b'\n')
                    .map(|l| l.strip_suffix(b"\r").unwrap_or(l))
                    .collect();
                lines.windows(2).any(|pair| {
                    let Some(rest) = pair[0].strip_prefix(b"begin ") else {
                        return false;
                    };
                    let mode = rest
                        .iter()
                        .take_while(|&&b| (b'0'..=b'7').contains(&b))
                        .count();
                    (3..=4).contains(&mode)
                        && rest.get(mode) == Some(&b' ')
                        && uuencoded_line(pair[1])
                })
            }
            Node::Attachment { .. } => false,
        }
    }
    find(raw, &outline.root)
}

/// Is `line` a line of uuencoded data: its first character a count of 1 to 45 octets, and
/// every character of uuencode's alphabet (no lower-case letters)? As lenient as DLP's
/// reading of uuencode, which does not insist on the length the count implies.
fn uuencoded_line(line: &[u8]) -> bool {
    let Some(&first) = line.first() else {
        return false;
    };
    let n = first.wrapping_sub(b' ') & 0x3F;
    (1..=45).contains(&n) && line.len() >= 2 && line.iter().all(|b| (b' '..=b'`').contains(b))
}

impl Stage for EncryptStage {
    fn name(&self) -> &str {
        "encrypt"
    }

    fn time_limit(&self) -> Duration {
        // Packing runs at tens of MB/s; the largest message allowed takes seconds.
        Duration::from_secs(60)
    }

    fn process(&self, message: &mut StagedMessage) -> Verdict {
        let envelope = &message.envelope;
        if envelope.internal {
            return Verdict::Accept;
        }
        let dlp_asks = envelope
            .dlp
            .as_ref()
            .is_some_and(|d| d.action == Action::Encrypt);
        let recipients: Vec<String> = envelope
            .recipients
            .iter()
            .map(|r| r.address.clone())
            .collect();
        if !self.policy.may_encrypt(&recipients, &self.office_domains) {
            return Verdict::Accept;
        }
        let content = message.content();
        let outline = match outline(content) {
            Ok(o) => o,
            Err(e) => {
                return self.hold(
                    message,
                    &format!("the message cannot be changed safely ({e})"),
                );
            }
        };
        let facts = mamori_encrypt::plan::read_attachments(content, &outline);
        // A message encrypted as a whole (PGP/MIME, S/MIME enveloped data) goes as it is —
        // unless DLP asks, which read something in it: then what is packed decides.
        let whole = match &outline.root {
            Node::Multipart { subtype, .. } => subtype == "encrypted",
            Node::Attachment { .. } => facts.first().is_some_and(|f| f.encrypted),
            Node::Body { .. } => false,
        };
        if whole && !dlp_asks {
            return Verdict::Accept;
        }
        let plan = self.policy.plan(&MailFacts {
            sender: &envelope.mail_from,
            recipients: &recipients,
            office_domains: &self.office_domains,
            attachments: &facts,
            dlp_asks,
        });
        if !plan.encrypts() {
            if dlp_asks && plan.packed.is_empty() {
                return self.hold(
                    message,
                    "a DLP rule asks for encryption, but the message has no attachment to pack",
                );
            }
            return Verdict::Accept;
        }
        if plan.copies.len() > MAX_COPIES {
            return self.hold(
                message,
                &format!(
                    "its recipients need {} differently made encrypted copies, more than the {MAX_COPIES} made for one message",
                    plan.copies.len()
                ),
            );
        }
        if has_signed_part(&outline) {
            return self.hold(
                message,
                "the message is signed: its attachments cannot be packed without breaking the signature",
            );
        }
        if uuencoded_in_text(content, &outline) {
            return self.hold(
                message,
                "a file is uuencoded in the text of the message, where packing the attachments cannot reach it",
            );
        }
        let mut copies = Vec::new();
        for (settings, rcpts) in plan.copies.clone() {
            match self.make_copy(
                content,
                &outline,
                &plan.packed,
                envelope.arrived,
                settings,
                rcpts,
            ) {
                Ok(copy) => copies.push(copy),
                Err(e) => {
                    return self.hold(message, &format!("the archive could not be made: {e}"));
                }
            }
        }
        let subject = mamori_dlp::mime::header_text(content, "subject").unwrap_or_default();
        // The message itself carries the first copy when nobody gets the original.
        let main_copy = if plan.plain.is_empty() { Some(0) } else { None };
        let mut ids = Vec::new();
        let mut companions = Vec::new();
        let mut password_mails = Vec::new();
        for (n, copy) in copies.iter().enumerate() {
            let id = if main_copy == Some(n) {
                envelope.id.clone()
            } else {
                crate::spool::new_id()
            };
            let mails = match self.password_mails(envelope, copy, &id, &subject) {
                Ok(m) => m,
                Err(e) => {
                    return self.hold(
                        message,
                        &format!("the password mail could not be made: {e}"),
                    );
                }
            };
            for (env, content) in mails {
                password_mails.push((
                    env.id.clone(),
                    env.recipients
                        .iter()
                        .map(|r| r.address.clone())
                        .collect::<Vec<_>>(),
                ));
                companions.push((env, content));
            }
            ids.push(id);
        }
        let audited: Vec<(String, &Copy)> = ids.iter().cloned().zip(copies.iter()).collect();
        if let Err(e) = self.audit(envelope, &audited, &password_mails) {
            tracing::error!(queue_id = %envelope.id, error = %e, "audit log write failed; refusing the message for now");
            return Verdict::Reject {
                code: 451,
                status: "4.3.0".into(),
                lines: vec!["Error: local error in processing, try again later".into()],
            };
        }
        let mut copy_companions = Vec::new();
        let mut main_content = None;
        let original_recipients = envelope.recipients.clone();
        for (n, (copy, id)) in copies.into_iter().zip(ids).enumerate() {
            tracing::info!(
                queue_id = %message.envelope.id,
                copy = %id,
                rule = %copy.settings.rule,
                cipher = ?copy.settings.cipher,
                files = copy.entries.len(),
                recipients = copy.recipients.len(),
                "attachments encrypted"
            );
            if main_copy == Some(n) {
                main_content = Some(copy.content);
                continue;
            }
            let mut env = message.envelope.clone();
            env.id = id;
            env.recipients = copy
                .recipients
                .iter()
                .filter_map(|&i| original_recipients.get(i).cloned())
                .collect();
            env.size = copy.content.len() as u64;
            env.eight_bit = !copy.content.is_ascii();
            env.companions = Vec::new();
            // The message itself carries DLP's record (and is what the quarantine shows);
            // its copies follow it.
            env.dlp = None;
            // A copy waits only on its message (the session holds it with it).
            env.hold_until = None;
            env.hold_kind = None;
            env.hold_token = None;
            copy_companions.push((env, copy.content));
        }
        match main_content {
            Some(content) => {
                message.replace_content(content);
                // Those who share the first copy stay; the rest went to their own copies.
                let keep = plan
                    .copies
                    .first()
                    .map(|(_, r)| r.clone())
                    .unwrap_or_default();
                message.envelope.recipients = keep
                    .iter()
                    .filter_map(|&i| original_recipients.get(i).cloned())
                    .collect();
            }
            None => {
                message.envelope.recipients = plan
                    .plain
                    .iter()
                    .filter_map(|&i| original_recipients.get(i).cloned())
                    .collect();
            }
        }
        message.companions.extend(copy_companions);
        message.companions.extend(companions);
        Verdict::Accept
    }
}
