//! The attachment-encryption stage: after DLP has judged the plaintext, the attachments of
//! mail that a rule of `[encrypt]` (or a DLP rule with action `encrypt`) matches are packed
//! into one encrypted ZIP (ZIP mode), or taken out of the mail and kept on the box sealed,
//! behind a download link that `mamori linkd` serves (link mode); a notice goes at the top
//! of the text, and the password follows in a mail of its own after the configured delay.
//! In link mode the sender is sent at once the link's page (downloads, revoke).
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
use mamori_encrypt::notice::LinkNotice;
use mamori_encrypt::notice::{Notice, PasswordTo};
use mamori_encrypt::plan::{MailFacts, Settings};
use mamori_encrypt::rewrite::{Packing, attachments, has_signed_part, rewrite};
use mamori_encrypt::{
    Alphabet, EncryptConfig, EncryptPolicy, Entry, Mode, Options, Password, pack, zip_time,
};
use mamori_links::token::Purpose;
use mamori_links::{LinkId, LinkRecord, Secret, Store};

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
    links: Option<Links>,
}

/// Where link mode keeps its files, and where the sender's page of a link is.
struct Links {
    store: Store,
    /// The panel's base URL (the sender's page is `<base>/links/<id>/<secret>`).
    panel_base: String,
}

/// One encrypted copy made: its content and the password mails that go with it.
struct Copy {
    settings: Settings,
    recipients: Vec<usize>,
    content: Vec<u8>,
    /// The password (always, for a ZIP; when asked for, for a link).
    password: Option<Password>,
    entries: Vec<mamori_encrypt::archive::PackedEntry>,
    /// The link, in link mode.
    link: Option<MadeLink>,
}

/// A download link made for a copy.
struct MadeLink {
    id: LinkId,
    /// The sender's page.
    manage_url: String,
    /// When it expires (Unix seconds).
    expires: u64,
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
            links: None,
        })
    }

    /// Link mode's store and the panel's base URL (for the sender's page of a link).
    pub fn with_links(mut self, store: Store, panel_base: String) -> Self {
        self.links = Some(Links {
            store,
            panel_base: panel_base.trim_end_matches('/').to_owned(),
        });
        self
    }

    /// Removes links made for a message that is not accepted after all.
    fn discard(&self, copies: &[Copy]) {
        if let Some(links) = &self.links {
            for link in copies.iter().filter_map(|c| c.link.as_ref()) {
                if let Err(e) = links.store.remove(&link.id) {
                    tracing::warn!(link = %link.id, error = %e, "a link of a message not accepted could not be removed");
                }
            }
        }
    }

    /// A new random password of the configured length and alphabet.
    fn password(&self) -> Result<Password, String> {
        Password::random(self.config.password_length, &self.alphabet).map_err(|e| e.to_string())
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
        envelope: &Envelope,
        settings: Settings,
        recipients: Vec<usize>,
    ) -> Result<Copy, String> {
        if settings.mode == Mode::Link {
            return self.make_link_copy(content, outline, packed, envelope, settings, recipients);
        }
        let arrived = envelope.arrived;
        let password = self.password()?;
        let entries = packed_parts(content, outline, packed).map(|part| Entry {
            name: part.name,
            data: part.data,
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
        let rewritten = rewrite(
            content,
            outline,
            packed,
            &Packing {
                name: &name,
                archive: Some(&archive),
                notice: &notice,
            },
        )
        .map_err(|e| e.to_string())?;
        Ok(Copy {
            settings,
            recipients,
            content: self.tagged(rewritten),
            password: Some(password),
            entries: packed_entries.entries,
            link: None,
        })
    }

    fn tagged(&self, content: Vec<u8>) -> Vec<u8> {
        if self.config.subject_tag.is_empty() {
            content
        } else {
            crate::dlp_stage::subject::tag_subject(&content, &self.config.subject_tag)
        }
    }

    /// Seals the attachments `packed` into a new link and rewrites the mail to carry it.
    fn make_link_copy(
        &self,
        content: &[u8],
        outline: &Outline,
        packed: &[usize],
        envelope: &Envelope,
        settings: Settings,
        recipients: Vec<usize>,
    ) -> Result<Copy, String> {
        let links = self
            .links
            .as_ref()
            .ok_or("link mode is chosen but the relay has no link store")?;
        let password = if self.config.link_password {
            Some(self.password()?)
        } else {
            None
        };
        let secret = Secret::random().map_err(|e| e.to_string())?;
        let manage = Secret::random().map_err(|e| e.to_string())?;
        let mut draft = links.store.draft(&secret).map_err(|e| e.to_string())?;
        for mut part in packed_parts(content, outline, packed) {
            if part.name.is_empty() {
                part.name = format!("attachment-{}", draft.files().len() + 1);
            }
            if let Err(e) = draft.add_file(&part.name, part.content_type, &mut part.data) {
                draft.abandon();
                return Err(e.to_string());
            }
        }
        let now = crate::datetime::unix_now();
        let expires = now.saturating_add(self.config.link_expiry.as_secs());
        let password_hash = match &password {
            Some(p) => {
                Some(mamori_links::record::hash_password(p.expose()).map_err(|e| e.to_string())?)
            }
            None => None,
        };
        let record = LinkRecord {
            format: mamori_links::record::FORMAT,
            id: String::new(),
            created: now,
            expires,
            max_downloads: self.config.link_downloads,
            files: Vec::new(),
            queue_id: envelope.id.clone(),
            sender: envelope.mail_from.clone(),
            recipients: recipients
                .iter()
                .filter_map(|&i| envelope.recipients.get(i))
                .map(|r| r.address.clone())
                .collect(),
            subject: mamori_dlp::mime::header_text(content, "subject").unwrap_or_default(),
            verifier: secret.verifier(Purpose::Download),
            manage_verifier: manage.verifier(Purpose::Manage),
            password_hash,
        };
        let files: Vec<(String, u64)> = draft
            .files()
            .iter()
            .map(|f| (f.name.clone(), f.size))
            .collect();
        let record = draft.commit(record).map_err(|e| e.to_string())?;
        let id = LinkId::parse(&record.id).ok_or("the link's id does not read back")?;
        let made = MadeLink {
            manage_url: format!("{}/links/{id}/{}", links.panel_base, manage.encode()),
            id: id.clone(),
            expires,
        };
        let notice = LinkNotice {
            url: format!("{}/d/{id}/{}", self.config.link_base(), secret.encode()),
            files: files.clone(),
            expires,
            downloads: self.config.link_downloads,
            password_to: password.as_ref().map(|_| settings.password_to),
        };
        let rewritten = rewrite(
            content,
            outline,
            packed,
            &Packing {
                name: "",
                archive: None,
                notice: &notice,
            },
        );
        let rewritten = match rewritten {
            Ok(r) => r,
            Err(e) => {
                let _ = links.store.remove(&id);
                return Err(e.to_string());
            }
        };
        Ok(Copy {
            settings,
            recipients,
            content: self.tagged(rewritten),
            password,
            entries: files
                .into_iter()
                .map(|(name, size)| mamori_encrypt::archive::PackedEntry {
                    name,
                    size,
                    stored: false,
                })
                .collect(),
            link: Some(made),
        })
    }

    /// The password mails of one copy (its queue ID `copy_id`), to send after the delay;
    /// in link mode also the sender's receipt with the link's page, sent at once.
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
        let expires = copy
            .link
            .as_ref()
            .map(|l| mamori_encrypt::notice::jst(l.expires))
            .unwrap_or_default();
        let facts = password_mail::PasswordFacts {
            queue_id: copy_id,
            subject,
            what: match &copy.link {
                None => password_mail::Protected::Archive {
                    name: &archive,
                    cipher: copy.settings.cipher,
                },
                Some(link) => password_mail::Protected::Link {
                    manage_url: &link.manage_url,
                    expires: &expires,
                },
            },
            password: copy.password.as_ref(),
            recipients: &recipients,
        };
        let now = crate::datetime::unix_now();
        let due = now.saturating_add(self.config.password_delay.as_secs());
        let mut mails = Vec::new();
        let password_to = copy.settings.password_to;
        let to_sender = matches!(password_to, PasswordTo::Sender | PasswordTo::Both);
        let to_recipients = matches!(password_to, PasswordTo::Recipients | PasswordTo::Both);
        // Only a verified sender of the office is sent a password (never an address outside,
        // which may be forged); without one the recipients get it.
        let sender_ok = envelope.client.sender_verified
            && !envelope.mail_from.is_empty()
            && crate::address::domain_of(&envelope.mail_from).is_some_and(|d| {
                self.office_domains
                    .iter()
                    .any(|o| o.eq_ignore_ascii_case(&d))
            });
        let to_recipients = copy.password.is_some() && (to_recipients || !sender_ok);
        let is_link = copy.link.is_some();
        if sender_ok && (to_sender || is_link) {
            // The sender's receipt of a link carries the password only when the sender is
            // the one to pass it on.
            let sender_facts = password_mail::PasswordFacts {
                password: facts.password.filter(|_| to_sender),
                ..facts.clone()
            };
            let content =
                password_mail::for_sender(&sender_facts, &envelope.mail_from, &self.hostname)?;
            // A link's receipt goes at once: the sender may need to revoke it.
            let when = if is_link { now } else { due };
            mails.push((
                vec![Recipient::new(envelope.mail_from.clone())],
                String::new(),
                content,
                when,
            ));
        }
        if to_recipients {
            let content =
                password_mail::for_recipients(&facts, &envelope.mail_from, &self.hostname)?;
            mails.push((
                recipients.iter().map(Recipient::new).collect(),
                envelope.mail_from.clone(),
                content,
                due,
            ));
        }
        Ok(mails
            .into_iter()
            .map(|(to, from, content, when)| {
                let mut env =
                    Envelope::generated(crate::spool::new_id(), from, to, &self.hostname, &content);
                env.next_attempt = when;
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
                    "mode": c.settings.mode,
                    "link": c.link.as_ref().map(|l| serde_json::json!({"id": l.id.as_str(), "expires": l.expires, "downloads": self.config.link_downloads, "password": c.password.is_some()})),
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

/// One attachment to pack or seal: the name it gets, its type, and its content decoded as
/// it is read from the message.
struct PackedPart<'a> {
    name: String,
    content_type: &'a str,
    data: mamori_dlp::mime::DecodingReader<'a>,
}

/// The attachments `packed` (indices of [`attachments`]) of the message `content`, in order.
fn packed_parts<'a>(
    content: &'a [u8],
    outline: &'a Outline,
    packed: &'a [usize],
) -> impl Iterator<Item = PackedPart<'a>> {
    let nodes = attachments(outline);
    packed.iter().filter_map(move |&i| match nodes.get(i) {
        Some(Node::Attachment {
            content: range,
            name,
            transfer,
            content_type,
            ..
        }) => Some(PackedPart {
            name: entry_name(name.as_deref(), content_type),
            content_type,
            data: transfer.reader(content.get(range.clone()).unwrap_or_default()),
        }),
        _ => None,
    })
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
            match self.make_copy(content, &outline, &plan.packed, envelope, settings, rcpts) {
                Ok(copy) => copies.push(copy),
                Err(e) => {
                    self.discard(&copies);
                    return self.hold(
                        message,
                        &format!("the archive or link could not be made: {e}"),
                    );
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
                    self.discard(&copies);
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
            self.discard(&copies);
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
