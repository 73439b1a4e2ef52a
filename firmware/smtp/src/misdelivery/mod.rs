//! Misdelivery prevention (誤送信防止), the stage after attachment encryption, on the mail
//! as it will leave (its encrypted copies' recipients count too):
//!
//! - **Bcc conversion** (`bcc_threshold`): outside recipients taken out of To and Cc.
//! - **Approval** (`approval`): mail that matches waits for an approver, who gets a link
//!   to approve or reject; the sender is told it waits (without a link: nobody approves
//!   their own mail). At its time it is sent or refused, as configured.
//! - **New-domain confirmation** (`new_domain`): mail to a domain the office has not
//!   delivered to in `learn_days` ([`known`]) waits for its sender to confirm it.
//! - **Timed hold** (`hold`) and FUTURERELEASE: the mail waits its time; the sender's link
//!   cancels it or sends it now.
//!
//! One hold a message, the first that applies in that order. Its link carries a random
//! token whose digest alone the spool keeps; the hold ends exactly once, by itself, by the
//! link (the panel's confirmation page) or by an administrator. Mail an earlier stage
//! holds (DLP's quarantine) gets none of them: the approver of the quarantine decides.

pub mod bcc;
pub mod known;
pub mod notice;

use std::sync::Arc;
use std::time::Duration;

use mamori_core::audit::AuditLog;
use mamori_dlp::AddressPattern;
use ring::rand::SecureRandom;
use tokio::sync::mpsc;

use crate::dlp_stage::Generated;
use crate::inbound::accounts::SenderRights;
use crate::pipeline::{Stage, StagedMessage, Verdict};
use crate::queue::timed::{HoldAction, HoldKind, token_digest};
use crate::settings::{Approval, HoldScope, Misdelivery, NewDomain};
use crate::spool::{Envelope, Recipient};
use known::KnownDomains;

/// Japan's offset from UTC, for the times the notices show.
const JST: i64 = 9 * 3600;

/// How long the known domains must have been learning before a domain not among them
/// counts as new (a box fresh from the box holds nothing for a week).
pub const MIN_LEARNING: u64 = 7 * 86_400;

/// The stage.
pub struct MisdeliveryStage {
    bcc_threshold: usize,
    subject_tag: String,
    hold: Duration,
    scope: HoldScope,
    except: Vec<AddressPattern>,
    approval: Approval,
    approval_senders: Vec<AddressPattern>,
    new_domain: NewDomain,
    known: Option<Arc<KnownDomains>>,
    /// Which addresses each account may send as: an approver address of the sender's own
    /// account is the sender's, and does not approve their mail.
    rights: SenderRights,
    link_base: String,
    office_domains: Vec<String>,
    hostname: String,
    audit: Arc<AuditLog>,
    notices: mpsc::Sender<Generated>,
}

/// The hold a message gets.
struct Decided {
    kind: HoldKind,
    until: u64,
    /// The domains to confirm (new-domain confirmation).
    new_domains: Vec<String>,
    /// What the verdict says.
    why: &'static str,
}

impl MisdeliveryStage {
    /// Builds the stage from `[misdelivery]` (checked already); `known` is the store of
    /// delivered domains (needed for the new-domain confirmation).
    pub fn new(
        config: &Misdelivery,
        office_domains: Vec<String>,
        hostname: String,
        audit: Arc<AuditLog>,
        notices: mpsc::Sender<Generated>,
        known: Option<Arc<KnownDomains>>,
    ) -> Self {
        let patterns = |list: &[String]| -> Vec<AddressPattern> {
            list.iter()
                .filter_map(|p| AddressPattern::parse(p).ok())
                .collect()
        };
        Self {
            bcc_threshold: config.bcc_threshold,
            subject_tag: config.subject_tag.clone(),
            hold: config.hold,
            scope: config.hold_scope,
            except: patterns(&config.hold_except_senders),
            approval: config.approval.clone(),
            approval_senders: patterns(&config.approval.senders),
            new_domain: config.new_domain.clone(),
            known,
            rights: SenderRights::default(),
            link_base: config.link_base(&hostname),
            office_domains,
            hostname,
            audit,
            notices,
        }
    }

    /// The accounts' sender rights (from `smtp.accounts`), to tell an approver address of
    /// the sender's own account.
    pub fn with_sender_rights(mut self, rights: SenderRights) -> Self {
        self.rights = rights;
        self
    }

    /// Is `approver` the sender of `env` (the same address, or one the sender's account may
    /// send as)?
    fn is_sender(&self, env: &Envelope, approver: &str) -> bool {
        approver.eq_ignore_ascii_case(&env.mail_from)
            || env
                .client
                .auth_user
                .as_deref()
                .is_some_and(|u| self.rights.may_send_as(u, approver))
    }

    fn is_internal(&self, address: &str) -> bool {
        address.rsplit_once('@').is_some_and(|(_, host)| {
            self.office_domains
                .iter()
                .any(|d| d.eq_ignore_ascii_case(host))
        })
    }

    /// Is the sender a verified sender of the office (who may be sent links)?
    fn office_sender(&self, env: &Envelope) -> bool {
        env.client.sender_verified && self.is_internal(&env.mail_from)
    }

    /// Does approval apply? `outgoing`: everyone the mail reaches.
    fn approval_applies(&self, message: &StagedMessage, outgoing: &[String]) -> bool {
        let a = &self.approval;
        let env = &message.envelope;
        let approvers_left = a.approvers.iter().any(|x| !self.is_sender(env, x));
        if a.approvers.is_empty() || !approvers_left {
            return false;
        }
        if !self.approval_senders.is_empty()
            && !self
                .approval_senders
                .iter()
                .any(|p| p.matches(&env.mail_from))
        {
            return false;
        }
        if a.external_only && outgoing.iter().all(|r| self.is_internal(r)) {
            return false;
        }
        if a.with_finding
            && !env
                .dlp
                .as_ref()
                .is_some_and(|d| !d.findings.is_empty() || !d.totals.findings.is_empty())
        {
            return false;
        }
        if a.with_attachment {
            let has = mamori_dlp::mime::outline(message.content())
                .map(|o| !mamori_encrypt::rewrite::attachments(&o).is_empty())
                // A mail whose structure is ambiguous is treated as having one.
                .unwrap_or(true);
            if !has {
                return false;
            }
        }
        true
    }

    /// The outside domains of `outgoing` the office has not delivered to lately (none
    /// while the store is still learning, or for a sender who cannot be sent the link).
    fn new_domains(&self, env: &Envelope, outgoing: &[String], now: u64) -> Vec<String> {
        let Some(known) = &self.known else {
            return Vec::new();
        };
        if !self.new_domain.enabled
            || !self.office_sender(env)
            || known.learning_for(now) < MIN_LEARNING
        {
            return Vec::new();
        }
        let window = self.new_domain.learn_days.saturating_mul(86_400);
        let mut out: Vec<String> = outgoing
            .iter()
            .filter(|r| !self.is_internal(r))
            .filter_map(|r| r.rsplit_once('@').map(|(_, d)| d.to_ascii_lowercase()))
            .filter(|d| !known.known(d, now, window))
            .collect();
        out.sort();
        out.dedup();
        out
    }

    /// The hold this message gets, if any; `outgoing` is everyone it reaches.
    fn decide(&self, message: &StagedMessage, outgoing: &[String], now: u64) -> Option<Decided> {
        let env = &message.envelope;
        let outgoing = outgoing.to_vec();
        if self.approval_applies(message, &outgoing) {
            return Some(Decided {
                kind: HoldKind::Approval {
                    on_timeout: self.approval.on_timeout,
                },
                until: now.saturating_add(self.approval.timeout.as_secs()),
                new_domains: Vec::new(),
                why: "waiting for approval",
            });
        }
        let new_domains = self.new_domains(env, &outgoing, now);
        if !new_domains.is_empty() {
            return Some(Decided {
                kind: HoldKind::NewDomain {
                    on_timeout: self.new_domain.on_timeout,
                },
                until: now.saturating_add(self.new_domain.timeout.as_secs()),
                new_domains,
                why: "new recipient domain to confirm",
            });
        }
        let asked = env.hold_until.filter(|&t| t > now);
        let excepted =
            env.client.sender_verified && self.except.iter().any(|p| p.matches(&env.mail_from));
        let ruled = (!self.hold.is_zero()
            && !excepted
            && match self.scope {
                HoldScope::All => true,
                HoldScope::External => outgoing.iter().any(|r| !self.is_internal(r)),
            })
        .then(|| now.saturating_add(self.hold.as_secs()));
        let until = asked.max(ruled)?;
        Some(Decided {
            kind: HoldKind::Timed,
            until,
            new_domains: Vec::new(),
            why: if asked == Some(until) {
                "FUTURERELEASE"
            } else {
                "timed hold"
            },
        })
    }

    /// Queues a notice `content` to `to` (best effort: a full backlog is logged).
    fn queue_notice(&self, about: &str, to: &str, content: std::io::Result<Vec<u8>>) {
        let content = match content {
            Ok(c) => c,
            Err(e) => {
                tracing::error!(queue_id = %about, error = %e, "could not render a hold notice");
                return;
            }
        };
        let notice = Envelope::generated(
            crate::spool::new_id(),
            String::new(),
            vec![Recipient::new(to)],
            &self.hostname,
            &content,
        );
        match self.notices.try_send((notice, content)) {
            Ok(()) => tracing::info!(queue_id = %about, "hold notice queued"),
            Err(e) => tracing::error!(queue_id = %about, error = %e, "hold notice dropped"),
        }
    }

    /// Tells the sender (a verified office sender only: a link that ends a hold goes to
    /// nobody else) and, for an approval, the approvers.
    fn tell(&self, message: &StagedMessage, d: &Decided, token: &str, recipients: &[String]) {
        let env = &message.envelope;
        let subject =
            mamori_dlp::mime::header_text(message.content(), "subject").unwrap_or_default();
        let link = format!("{}/hold/{}/{token}", self.link_base, env.id);
        let until = format!("{} (JST)", crate::datetime::local_minutes(d.until, JST));
        let facts = notice::HoldFacts {
            queue_id: &env.id,
            subject: &subject,
            sender: &env.mail_from,
            recipients,
            until: &until,
        };
        let sent_anyway = |kind: HoldKind| kind.on_expiry() == HoldAction::Send;
        let reason = match d.kind {
            HoldKind::Approval { .. } => notice::SenderReason::Approval {
                sent_anyway: sent_anyway(d.kind),
            },
            HoldKind::NewDomain { .. } => notice::SenderReason::NewDomain {
                link: &link,
                domains: &d.new_domains,
                sent_anyway: sent_anyway(d.kind),
            },
            HoldKind::Timed => notice::SenderReason::Timed { link: &link },
        };
        if self.office_sender(env) {
            self.queue_notice(
                &env.id,
                &env.mail_from,
                notice::for_sender(&facts, &reason, &self.hostname),
            );
        }
        if matches!(d.kind, HoldKind::Approval { .. }) {
            for approver in &self.approval.approvers {
                if self.is_sender(env, approver) {
                    continue;
                }
                self.queue_notice(
                    &env.id,
                    approver,
                    notice::for_approver(&facts, approver, &link, &self.hostname),
                );
            }
        }
    }
}

impl MisdeliveryStage {
    /// Takes the outside recipients out of To and Cc when there are too many, and tells
    /// the sender (a verified office sender).
    fn convert_bcc(&self, message: &mut StagedMessage) {
        let Some(done) = bcc::convert(message.content(), self.bcc_threshold, |a| {
            self.is_internal(a)
        }) else {
            return;
        };
        let subject =
            mamori_dlp::mime::header_text(message.content(), "subject").unwrap_or_default();
        message.replace_content(done.content);
        // The encrypted copies carry the same header: they are converted too.
        for (env, content) in message.companions.iter_mut().filter(|(e, _)| !e.internal) {
            if let Some(copy) = bcc::convert(content, self.bcc_threshold, |a| self.is_internal(a)) {
                set_content(env, content, copy.content);
            }
        }
        let env = &message.envelope;
        tracing::info!(queue_id = %env.id, hidden = done.hidden.len(), "outside recipients moved to Bcc");
        if let Err(e) = self.audit.record(
            "bcc_converted",
            serde_json::json!({ "queue_id": env.id, "from": env.mail_from, "hidden": done.hidden.len() }),
        ) {
            tracing::error!(queue_id = %env.id, error = %e, "audit log write failed for a Bcc conversion");
        }
        if !env.client.sender_verified || !self.is_internal(&env.mail_from) {
            return;
        }
        let body = format!(
            "送信したメール「{subject}」は、社外の宛先が To と Cc に {n} 件あったため、             それらの宛先を BCC に変えて送りました(宛先どうしにアドレスが見えないようにするためです)。             メールは全員に届きます。

             Your mail \"{subject}\" named {n} recipients outside the office in To and Cc, so              they were moved to Bcc (so that they do not see each other's addresses).              Everyone still gets the mail.

(Mamori, {id})
",
            n = done.hidden.len(),
            id = env.id,
        );
        let rendered = mail_builder::MessageBuilder::new()
            .from(("Mamori", format!("postmaster@{}", self.hostname).as_str()))
            .to(env.mail_from.as_str())
            .subject(format!(
                "[Mamori] 宛先を BCC に変更 / Recipients moved to Bcc: {subject}"
            ))
            .message_id(format!("{}.bcc@{}", env.id, self.hostname))
            .date(crate::datetime::unix_now())
            .header(
                "Auto-Submitted",
                mail_builder::headers::raw::Raw::new("auto-generated"),
            )
            .text_body(body)
            .write_to_vec();
        match rendered {
            Ok(content) => {
                let notice = Envelope::generated(
                    crate::spool::new_id(),
                    String::new(),
                    vec![Recipient::new(env.mail_from.clone())],
                    &self.hostname,
                    &content,
                );
                if let Err(e) = self.notices.try_send((notice, content)) {
                    tracing::error!(queue_id = %env.id, error = %e, "Bcc notice dropped");
                }
            }
            Err(e) => {
                tracing::error!(queue_id = %env.id, error = %e, "could not render the Bcc notice")
            }
        }
    }
}

/// Everyone the message reaches: its recipients and those of its encrypted copies.
fn outgoing(message: &StagedMessage) -> Vec<String> {
    message
        .envelope
        .recipients
        .iter()
        .chain(
            message
                .companions
                .iter()
                .filter(|(c, _)| !c.internal)
                .flat_map(|(c, _)| c.recipients.iter()),
        )
        .map(|r| r.address.clone())
        .collect()
}

/// Gives a companion new content, its size and 8-bit flag with it.
fn set_content(env: &mut Envelope, content: &mut Vec<u8>, new: Vec<u8>) {
    env.size = new.len() as u64;
    env.eight_bit = !new.is_ascii();
    *content = new;
}

/// Rewrites the message and its copies (not the box's own mails, such as password mails)
/// with `f`, where it gives a new content.
fn rewrite_all(message: &mut StagedMessage, f: impl Fn(&[u8]) -> Option<Vec<u8>>) {
    if let Some(new) = f(message.content()) {
        message.replace_content(new);
    }
    for (env, content) in message.companions.iter_mut().filter(|(e, _)| !e.internal) {
        if let Some(new) = f(content) {
            set_content(env, content, new);
        }
    }
}

/// A capability token: 256 random bits, hex.
fn new_token() -> Option<String> {
    let mut bytes = [0u8; 32];
    ring::rand::SystemRandom::new().fill(&mut bytes).ok()?;
    Some(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

impl Stage for MisdeliveryStage {
    fn name(&self) -> &str {
        "misdelivery"
    }

    fn may_rewrite(&self) -> bool {
        self.bcc_threshold > 0 || !self.subject_tag.is_empty()
    }

    fn process(&self, message: &mut StagedMessage) -> Verdict {
        if message.envelope.internal {
            return Verdict::Accept;
        }
        if self.bcc_threshold > 0 {
            self.convert_bcc(message);
        }
        if message.held.is_some() {
            // In the quarantine the approver decides when it leaves.
            message.envelope.hold_until = None;
            return Verdict::Accept;
        }
        let now = crate::datetime::unix_now();
        let outgoing = outgoing(message);
        let Some(d) = self.decide(message, &outgoing, now) else {
            message.envelope.hold_until = None;
            return Verdict::Accept;
        };
        let env = &mut message.envelope;
        env.hold_until = Some(d.until);
        env.hold_kind = Some(d.kind);
        let Some(token) = new_token() else {
            // Without a token no link can end it early: it still ends at its time.
            tracing::error!(queue_id = %env.id, "no random token for the hold links");
            return Verdict::Hold {
                reason: d.why.into(),
            };
        };
        env.hold_token = Some(token_digest(&token));
        let record = serde_json::json!({
            "queue_id": env.id,
            "from": env.mail_from,
            "auth_user": env.client.auth_user,
            "recipients": outgoing,
            "until": d.until,
            "why": d.why,
            "kind": d.kind,
            "new_domains": d.new_domains,
        });
        if let Err(e) = self.audit.record("timed_hold", record) {
            tracing::error!(queue_id = %env.id, error = %e, "audit log write failed; refusing the message for now");
            return Verdict::Reject {
                code: 451,
                status: "4.3.0".into(),
                lines: vec!["Error: local error in processing, try again later".into()],
            };
        }
        self.tell(message, &d, &token, &outgoing);
        if !self.subject_tag.is_empty() {
            let tag = |content: &[u8]| {
                Some(crate::dlp_stage::subject::tag_subject(
                    content,
                    &self.subject_tag,
                ))
            };
            rewrite_all(message, tag);
        }
        Verdict::Hold {
            reason: format!(
                "{} until {} (JST)",
                d.why,
                crate::datetime::local_minutes(d.until, JST)
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::spool::ClientInfo;

    fn stage(
        config: &Misdelivery,
        dir: &std::path::Path,
    ) -> (MisdeliveryStage, mpsc::Receiver<Generated>) {
        let audit = Arc::new(AuditLog::open(&dir.join("audit"), 1 << 20, 3).unwrap());
        let (tx, rx) = mpsc::channel(10);
        let s = MisdeliveryStage::new(
            config,
            vec!["office.example.jp".into()],
            "gw.example.jp".into(),
            audit,
            tx,
            None,
        );
        (s, rx)
    }

    fn message(rcpts: &[&str]) -> StagedMessage {
        let client = ClientInfo {
            sender_verified: true,
            ..ClientInfo::default()
        };
        let env = Envelope::new(
            "QH".into(),
            "taro@office.example.jp".into(),
            rcpts.iter().map(|r| Recipient::new(*r)).collect(),
            client,
        );
        StagedMessage::new(env, b"Subject: =?UTF-8?B?6KaL56mN?=\r\n\r\nhi\r\n".to_vec())
    }

    fn five_minutes() -> Misdelivery {
        Misdelivery {
            hold: Duration::from_secs(300),
            ..Misdelivery::default()
        }
    }

    #[test]
    fn mail_to_outside_waits_and_the_sender_gets_a_link_whose_token_only_the_notice_has() {
        let dir = tempfile::tempdir().unwrap();
        let (s, mut rx) = stage(&five_minutes(), dir.path());
        let mut m = message(&["client@example.com"]);
        let now = crate::datetime::unix_now();
        assert!(matches!(s.process(&mut m), Verdict::Hold { .. }));
        let until = m.envelope.hold_until.unwrap();
        assert!((now + 299..=now + 301).contains(&until));
        let (notice_env, notice) = rx.try_recv().unwrap();
        assert_eq!(notice_env.recipients[0].address, "taro@office.example.jp");
        let o = mamori_dlp::mime::outline(&notice).unwrap();
        let mamori_dlp::mime::Node::Body {
            content, transfer, ..
        } = &o.root
        else {
            panic!("a text notice");
        };
        let text = String::from_utf8(transfer.decode(&notice[content.clone()])).unwrap();
        assert!(text.contains("client@example.com"), "{text}");
        let start = text
            .find("https://gw.example.jp/hold/QH/")
            .expect("the link")
            + 30;
        let token: String = text[start..]
            .chars()
            .take_while(char::is_ascii_hexdigit)
            .collect();
        assert_eq!(token.len(), 64);
        assert_eq!(
            m.envelope.hold_token.as_deref(),
            Some(token_digest(&token).as_str())
        );
        let audit = std::fs::read_to_string(dir.path().join("audit/audit.jsonl")).unwrap();
        assert!(
            audit.contains("timed_hold") && !audit.contains(&token),
            "{audit}"
        );
    }

    #[test]
    fn office_mail_excepted_senders_and_quarantined_mail_do_not_wait() {
        let dir = tempfile::tempdir().unwrap();
        let mut config = five_minutes();
        config.hold_except_senders = vec!["*@office.example.jp".into()];
        let (s, _rx) = stage(&five_minutes(), dir.path());
        let mut m = message(&["hanako@office.example.jp"]);
        assert_eq!(s.process(&mut m), Verdict::Accept);
        let mut m = message(&["client@example.com"]);
        m.held = Some("DLP".into());
        m.envelope.hold_until = Some(crate::datetime::unix_now() + 100);
        assert_eq!(s.process(&mut m), Verdict::Accept);
        assert_eq!(
            m.envelope.hold_until, None,
            "the quarantine decides, not a time"
        );
        let (s, _rx) = stage(&config, dir.path());
        let mut m = message(&["client@example.com"]);
        assert_eq!(s.process(&mut m), Verdict::Accept);
    }

    #[test]
    fn a_futurerelease_time_is_kept_even_without_a_rule() {
        let dir = tempfile::tempdir().unwrap();
        let (s, mut rx) = stage(&Misdelivery::default(), dir.path());
        let mut m = message(&["hanako@office.example.jp"]);
        let at = crate::datetime::unix_now() + 3600;
        m.envelope.hold_until = Some(at);
        match s.process(&mut m) {
            Verdict::Hold { reason } => assert!(reason.starts_with("FUTURERELEASE"), "{reason}"),
            v => panic!("{v:?}"),
        }
        assert_eq!(m.envelope.hold_until, Some(at));
        assert!(rx.try_recv().is_ok(), "the sender gets the links too");
    }

    /// Decoded text bodies of a notice.
    fn text_of(notice: &[u8]) -> String {
        let o = mamori_dlp::mime::outline(notice).unwrap();
        let mamori_dlp::mime::Node::Body {
            content, transfer, ..
        } = &o.root
        else {
            panic!("a text notice");
        };
        String::from_utf8(transfer.decode(&notice[content.clone()])).unwrap()
    }

    fn with_attachment(rcpts: &[&str]) -> StagedMessage {
        let mut m = message(rcpts);
        m.replace_content(b"Subject: q\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nhi\r\n--b\r\nContent-Type: application/pdf; name=a.pdf\r\nContent-Disposition: attachment; filename=a.pdf\r\n\r\n%PDF\r\n--b--\r\n".to_vec());
        m
    }

    #[test]
    fn approval_holds_mail_with_an_attachment_to_outside_and_only_the_approver_gets_a_link() {
        let dir = tempfile::tempdir().unwrap();
        let mut config = Misdelivery::default();
        config.approval.approvers = vec!["bucho@office.example.jp".into()];
        let (s, mut rx) = stage(&config, dir.path());
        let mut m = with_attachment(&["client@example.com"]);
        match s.process(&mut m) {
            Verdict::Hold { reason } => assert!(reason.contains("approval"), "{reason}"),
            v => panic!("{v:?}"),
        }
        assert!(matches!(
            m.envelope.hold_kind,
            Some(HoldKind::Approval { .. })
        ));
        let (to_sender, sender_notice) = rx.try_recv().unwrap();
        assert_eq!(to_sender.recipients[0].address, "taro@office.example.jp");
        assert!(
            !text_of(&sender_notice).contains("/hold/"),
            "no link for the sender"
        );
        let (to_approver, approver_notice) = rx.try_recv().unwrap();
        assert_eq!(to_approver.recipients[0].address, "bucho@office.example.jp");
        assert!(text_of(&approver_notice).contains("https://gw.example.jp/hold/QH/"));
        // Without an attachment, or within the office: no approval.
        let mut m = message(&["client@example.com"]);
        assert_eq!(s.process(&mut m), Verdict::Accept);
        let mut m = with_attachment(&["hanako@office.example.jp"]);
        assert_eq!(s.process(&mut m), Verdict::Accept);
        // The only approver is the sender: nobody approves their own mail.
        config.approval.approvers = vec!["taro@office.example.jp".into()];
        let (s, _rx) = stage(&config, dir.path());
        let mut m = with_attachment(&["client@example.com"]);
        assert_eq!(s.process(&mut m), Verdict::Accept);
    }

    #[test]
    fn a_domain_never_delivered_to_waits_for_the_sender_once_the_store_has_learned() {
        let dir = tempfile::tempdir().unwrap();
        let mut config = Misdelivery::default();
        config.new_domain.enabled = true;
        let now = crate::datetime::unix_now();
        let audit = Arc::new(AuditLog::open(&dir.path().join("audit"), 1 << 20, 3).unwrap());
        let known = Arc::new(KnownDomains::open(&dir.path().join("k"), now, || {
            vec![("partner.example.jp".into(), now - 30 * 86_400)]
        }));
        let (tx, mut rx) = mpsc::channel(10);
        let s = MisdeliveryStage::new(
            &config,
            vec!["office.example.jp".into()],
            "gw.example.jp".into(),
            audit,
            tx,
            Some(known),
        );
        let mut m = message(&["a@partner.example.jp"]);
        assert_eq!(s.process(&mut m), Verdict::Accept);
        let mut m = message(&["a@partner.example.jp", "b@parnter.example.jp"]);
        assert!(matches!(s.process(&mut m), Verdict::Hold { .. }));
        assert!(matches!(
            m.envelope.hold_kind,
            Some(HoldKind::NewDomain { .. })
        ));
        let (_, notice) = rx.try_recv().unwrap();
        let text = text_of(&notice);
        assert!(
            text.contains("parnter.example.jp") && text.contains("/hold/"),
            "{text}"
        );
        // A store still learning (a week has not passed) holds nothing.
        let fresh = Arc::new(KnownDomains::open(&dir.path().join("k2"), now, Vec::new));
        let (tx, _rx) = mpsc::channel(10);
        let audit = Arc::new(AuditLog::open(&dir.path().join("audit2"), 1 << 20, 3).unwrap());
        let s = MisdeliveryStage::new(
            &config,
            vec!["office.example.jp".into()],
            "gw.example.jp".into(),
            audit,
            tx,
            Some(fresh),
        );
        let mut m = message(&["b@parnter.example.jp"]);
        assert_eq!(s.process(&mut m), Verdict::Accept);
    }

    #[test]
    fn held_mail_gets_the_subject_tag() {
        let dir = tempfile::tempdir().unwrap();
        let config = Misdelivery {
            subject_tag: "[確認済]".into(),
            ..five_minutes()
        };
        let (s, _rx) = stage(&config, dir.path());
        let mut m = message(&["client@example.com"]);
        assert!(matches!(s.process(&mut m), Verdict::Hold { .. }));
        let subject = mamori_dlp::mime::header_text(m.content(), "subject").unwrap();
        assert!(subject.starts_with("[確認済]"), "{subject}");
        let mut m = message(&["hanako@office.example.jp"]);
        assert_eq!(s.process(&mut m), Verdict::Accept);
        assert!(!m.rewritten(), "mail that did not wait is not tagged");
    }

    #[test]
    fn bcc_conversion_and_the_tag_reach_the_encrypted_copies_too() {
        let dir = tempfile::tempdir().unwrap();
        let config = Misdelivery {
            bcc_threshold: 1,
            subject_tag: "[x]".into(),
            hold: Duration::from_secs(60),
            ..Misdelivery::default()
        };
        let (s, mut rx) = stage(&config, dir.path());
        let header = "To: a@ext1.example, b@ext2.example\r\nCc: hanako@office.example.jp\r\nSubject: q\r\n\r\nbody\r\n";
        let mut m = message(&["hanako@office.example.jp"]);
        m.replace_content(header.as_bytes().to_vec());
        let mut copy = Envelope::new(
            "QC".into(),
            "taro@office.example.jp".into(),
            vec![
                Recipient::new("a@ext1.example"),
                Recipient::new("b@ext2.example"),
            ],
            ClientInfo::default(),
        );
        copy.size = header.len() as u64;
        m.companions.push((copy, header.as_bytes().to_vec()));
        // The copy reaches outside: the whole message waits.
        assert!(matches!(s.process(&mut m), Verdict::Hold { .. }));
        let (env, content) = &m.companions[0];
        let text = String::from_utf8_lossy(content);
        assert!(
            text.starts_with(
                "To: undisclosed-recipients:;\r\nCc: hanako@office.example.jp\r\nSubject: [x] q"
            ),
            "{text}"
        );
        assert_eq!(env.size, content.len() as u64);
        // The notice names everyone the mail reaches.
        let (_, bcc_notice) = rx.try_recv().unwrap();
        assert!(text_of(&bcc_notice).contains("2"), "the Bcc notice");
        let (_, hold_notice) = rx.try_recv().unwrap();
        assert!(
            text_of(&hold_notice).contains("a@ext1.example"),
            "{}",
            text_of(&hold_notice)
        );
    }

    #[test]
    fn an_approver_address_of_the_sender_s_own_account_does_not_approve() {
        let dir = tempfile::tempdir().unwrap();
        let mut config = Misdelivery::default();
        config.approval.approvers = vec!["bucho@office.example.jp".into()];
        let (s, _rx) = stage(&config, dir.path());
        // taro's account may send as bucho@ too: bucho is taro here, and nobody is left.
        let account = crate::settings::Account {
            username: "taro".into(),
            password_hash: String::new(),
            senders: vec![
                "taro@office.example.jp".into(),
                "bucho@office.example.jp".into(),
            ],
        };
        let s = s.with_sender_rights(SenderRights::new(&[account], &[]));
        let mut m = with_attachment(&["client@example.com"]);
        m.envelope.client.auth_user = Some("taro".into());
        assert_eq!(s.process(&mut m), Verdict::Accept, "no approver left");
        let mut m = with_attachment(&["client@example.com"]);
        m.envelope.client.auth_user = Some("hanako".into());
        assert!(matches!(s.process(&mut m), Verdict::Hold { .. }));
    }
}
