//! The DLP stage: every message is inspected before the final DATA reply, the policy
//! decides, the decision is written to the audit log, and then it takes effect (tag the
//! subject, notify the administrator, hold, reject, discard).
//!
//! The audit record comes first: if it cannot be written, the message is refused with a
//! temporary error, so no decision is ever acted on without a record.

pub mod content_view;
pub mod notice;
pub mod sender_notice;
pub mod stats;
pub mod subject;
pub mod try_out;

use std::sync::Arc;
use std::time::Duration;

use mamori_core::audit::AuditLog;
use mamori_dlp::policy::SenderNotice;
use mamori_dlp::{Action, Decision, DlpConfig, Inspector, MailContext, Policy, Report};
use tokio::sync::mpsc;

use crate::pipeline::{Stage, StagedMessage, Verdict};
use crate::spool::{DlpRecord, Envelope, Recipient};

pub use stats::{DlpStats, DlpStatsSnapshot};

/// A generated message on its way to the queue (notices).
pub type Generated = crate::pipeline::OwnedMessage;

/// How many notices may wait for the queue at once before new ones are dropped (and only
/// logged): bounded, so a flood of matching mail cannot grow memory without end.
pub const NOTICE_BACKLOG: usize = 1000;

/// Why the stage could not be built.
#[derive(Debug, thiserror::Error)]
pub enum DlpStageError {
    /// The dictionary did not compile.
    #[error("dlp.scan: {0}")]
    Dictionary(#[from] mamori_dlp::DictionaryError),
    /// A rule is bad.
    #[error("dlp.{0}")]
    Policy(#[from] mamori_dlp::PolicyError),
}

/// The stage.
pub struct DlpStage {
    inspector: Arc<Inspector>,
    policy: Policy,
    office_domains: Vec<String>,
    notify: Vec<String>,
    hostname: String,
    audit: Arc<AuditLog>,
    notices: mpsc::Sender<Generated>,
    stats: Arc<DlpStats>,
    time_limit: Duration,
    /// Attachment encryption runs after this stage: a rule with action `encrypt` hands
    /// the mail to it instead of holding it.
    encryption: bool,
}

impl DlpStage {
    /// Builds the stage from the `[dlp]` configuration; `office_domains` are the office's
    /// own domains (recipients there are internal).
    pub fn new(
        config: &DlpConfig,
        office_domains: Vec<String>,
        hostname: String,
        audit: Arc<AuditLog>,
        notices: mpsc::Sender<Generated>,
        stats: Arc<DlpStats>,
    ) -> Result<Self, DlpStageError> {
        Ok(Self {
            inspector: Arc::new(Inspector::new(&config.scan, config.limits.clone())?),
            policy: Policy::new(&config.effective_rules(), &config.scan)?,
            office_domains,
            notify: config.notify.clone(),
            hostname,
            audit,
            notices,
            stats,
            time_limit: config.limits.max_scan_time,
            encryption: false,
        })
    }

    /// Tells the stage that attachment encryption runs after it (`encrypt.enabled`).
    pub fn with_encryption(mut self, on: bool) -> Self {
        self.encryption = on;
        self
    }

    /// Would what stays readable after the attachments are packed make the policy ask for
    /// encryption (or worse) by itself? Then packing protects nothing that mattered. A
    /// finding is protected only inside an attachment that is packed (DLP's location names
    /// its part; the encryption stage packs exactly the attachments that are not pictures
    /// of the text and not encrypted already): the header, the text, a file uuencoded or
    /// written as a `data:` URL in the text, a part encryption leaves alone, and a packed
    /// file's own name (a ZIP lists names in clear) stay readable. A report whose list of
    /// findings was cut counts as readable: what was cut cannot be placed.
    fn readable_parts_decide(
        &self,
        report: &Report,
        mail: &MailContext<'_>,
        content: &[u8],
    ) -> bool {
        if report.findings.len() < report.total_findings() {
            return true;
        }
        let packable: Vec<String> = match mamori_dlp::mime::outline(content) {
            Ok(o) => mamori_encrypt::plan::read_attachments(content, &o)
                .into_iter()
                .filter(|a| a.packable())
                .map(|a| a.part)
                .collect(),
            // Not rewritten at all (the encryption stage holds it): nothing is packed.
            Err(_) => Vec::new(),
        };
        let packed = |f: &mamori_dlp::LocatedFinding| {
            let steps = f.location.steps();
            let number = steps
                .first()
                .and_then(|s| s.strip_prefix("attachment "))
                .and_then(|rest| rest.split(' ').next());
            number.is_some_and(|n| packable.iter().any(|p| p == n))
                && !(f.segment == mamori_dlp::SegmentKind::FileName && steps.len() == 1)
        };
        let readable: Vec<_> = report
            .findings
            .iter()
            .filter(|f| !packed(f))
            .cloned()
            .collect();
        if readable.is_empty() {
            return false;
        }
        let decision = self.policy.decide(&Report::new(readable, Vec::new()), mail);
        matches!(
            decision.action,
            Action::Encrypt | Action::Hold | Action::Reject | Action::Discard
        )
    }

    fn audit(
        &self,
        env: &Envelope,
        recipients: &[String],
        report: &Report,
        decision: &Decision,
    ) -> Result<(), mamori_core::audit::AuditError> {
        self.audit
            .record(
                "dlp_verdict",
                serde_json::json!({
                    "queue_id": env.id,
                    "from": env.mail_from,
                    "sender_verified": env.client.sender_verified,
                    "generated": env.internal,
                    "recipients": recipients,
                    "size": env.size,
                    "client": env.client.ip,
                    "auth_user": env.client.auth_user,
                    "action": decision.action,
                    "rule": decision.rule,
                    "tag": decision.tag,
                    "notify": decision.notify,
                    "fired": decision.fired,
                    "findings": report.findings,
                    "problems": report.problems,
                    "totals": report.totals,
                }),
            )
            .map(|_| ())
    }

    /// Queues a generated message; logged when the backlog is full.
    /// Puts a notice the stage wrote (`rendered`, about message `about`, to `to`) into the
    /// queue; a notice that could not be written or queued is logged.
    fn queue_notice(
        &self,
        about: &str,
        rendered: std::io::Result<Vec<u8>>,
        to: Vec<Recipient>,
        what: &str,
    ) {
        let content = match rendered {
            Ok(c) => c,
            Err(e) => {
                tracing::error!(queue_id = %about, error = %e, "could not render the {what}");
                return;
            }
        };
        let envelope = Envelope::generated(
            crate::spool::new_id(),
            String::new(),
            to,
            &self.hostname,
            &content,
        );
        let id = envelope.id.clone();
        match self.notices.try_send((envelope, content)) {
            Ok(()) => tracing::info!(queue_id = %about, notice_id = %id, "{what} queued"),
            Err(e) => tracing::error!(queue_id = %about, error = %e, "{what} dropped"),
        }
    }

    fn send_notice(
        &self,
        env: &Envelope,
        recipients: &[String],
        report: &Report,
        decision: &Decision,
    ) {
        if self.notify.is_empty() {
            tracing::warn!(queue_id = %env.id, "a notify rule applied but dlp.notify names nobody");
            return;
        }
        let facts = notice::NoticeFacts {
            queue_id: &env.id,
            sender: &env.mail_from,
            recipients,
            report,
            decision,
        };
        self.queue_notice(
            &env.id,
            notice::render(&facts, &self.notify, &self.hostname),
            self.notify.iter().map(Recipient::new).collect(),
            "DLP notice",
        );
    }

    /// Tells the sender why their message is held, if the sender is a verified sender of
    /// the office (never an address outside it: no backscatter, no side door).
    fn tell_sender(
        &self,
        env: &Envelope,
        recipients: &[String],
        report: &Report,
        reason: SenderNotice,
    ) {
        let office = crate::address::domain_of(&env.mail_from).is_some_and(|d| {
            self.office_domains
                .iter()
                .any(|o| o.eq_ignore_ascii_case(&d))
        });
        if !env.client.sender_verified || !office {
            tracing::info!(queue_id = %env.id, "held; the sender is not a verified office sender and is not told");
            return;
        }
        let facts = sender_notice::SenderFacts {
            queue_id: &env.id,
            recipients,
            reason,
            report,
        };
        self.queue_notice(
            &env.id,
            sender_notice::render(&facts, &env.mail_from, &self.hostname),
            vec![Recipient::new(env.mail_from.clone())],
            "sender notice",
        );
    }
}

impl Stage for DlpStage {
    fn name(&self) -> &str {
        "dlp"
    }

    fn time_limit(&self) -> Duration {
        self.time_limit
    }

    fn may_rewrite(&self) -> bool {
        self.policy.may_tag()
    }

    fn inspector(&self) -> Option<Arc<Inspector>> {
        Some(self.inspector.clone())
    }

    fn process(&self, message: &mut StagedMessage) -> Verdict {
        let report = match message.take_inspected(&self.inspector) {
            Some(arrived) => {
                tracing::debug!(queue_id = %message.envelope.id, while_arriving = arrived.while_arriving, "inspected while the message arrived");
                arrived.report
            }
            None => match message.content_and_store() {
                (content, Some(store)) => self.inspector.inspect_message_holding(content, store),
                (content, None) => self.inspector.inspect_message(content),
            },
        };
        let recipients: Vec<String> = message
            .envelope
            .recipients
            .iter()
            .map(|r| r.address.clone())
            .collect();
        let mail = MailContext {
            sender: &message.envelope.mail_from,
            recipients: &recipients,
            office_domains: &self.office_domains,
            sender_verified: message.envelope.client.sender_verified,
        };
        let decision = self.policy.decide(&report, &mail);
        let in_text = decision.action == Action::Encrypt
            && self.encryption
            && self.readable_parts_decide(&report, &mail, message.content());
        let env = &message.envelope;
        if let Err(e) = self.audit(env, &recipients, &report, &decision) {
            tracing::error!(queue_id = %env.id, error = %e, "audit log write failed; refusing the message for now");
            return Verdict::Reject {
                code: 451,
                status: "4.3.0".into(),
                lines: vec!["Error: local error in processing, try again later".into()],
            };
        }
        self.stats.record(&report, &decision);
        if !env.internal {
            self.stats.record_activity(&report, &decision);
        }
        if decision.is_quiet() {
            return Verdict::Accept;
        }
        tracing::warn!(
            queue_id = %env.id,
            action = %decision.action,
            rule = decision.rule.as_deref().unwrap_or("-"),
            findings = report.total_findings(),
            problems = report.total_problems(),
            explanation = %decision.explain().join(" | "),
            "DLP rule applied"
        );
        // Mail the box makes itself sends no notices of its own (no loops).
        if !env.internal {
            if decision.notify {
                self.send_notice(env, &recipients, &report, &decision);
            }
            if let Some(reason) = decision.sender_notice
                && decision.action == Action::Hold
            {
                self.tell_sender(env, &recipients, &report, reason);
            }
        }
        if let Some(tag) = &decision.tag
            && matches!(
                decision.action,
                Action::Pass | Action::Hold | Action::Encrypt
            )
        {
            let tagged = subject::tag_subject(message.content(), tag);
            message.envelope.size = tagged.len() as u64;
            *message.content_mut() = tagged;
        }
        message.envelope.dlp = Some(DlpRecord {
            action: decision.action,
            rule: decision.rule.clone(),
            explanation: decision.explain(),
            findings: report.findings,
            problems: report.problems,
            totals: report.totals,
        });
        let rule = decision.rule.clone().unwrap_or_default();
        match decision.action {
            Action::Pass | Action::Log | Action::Tag | Action::Notify => Verdict::Accept,
            Action::Hold => Verdict::Hold {
                reason: format!("DLP: rule \"{rule}\""),
            },
            // Encryption (the next stage) takes it, when it runs and when what it
            // packs is what the rule found.
            Action::Encrypt if self.encryption && !in_text => Verdict::Accept,
            Action::Encrypt if self.encryption => Verdict::Hold {
                reason: format!(
                    "DLP: rule \"{rule}\" asks for encryption, but what it found is in the mail's text or file names, which packing the attachments leaves readable; release to send (attachments encrypted) or delete"
                ),
            },
            Action::Encrypt => Verdict::Hold {
                reason: format!(
                    "DLP: rule \"{rule}\" asks for attachment encryption, which is switched off (encrypt.enabled = false); release to send unencrypted or delete"
                ),
            },
            Action::Reject => Verdict::Reject {
                code: 550,
                status: "5.7.1".into(),
                lines: [decision.message_en, decision.message_ja]
                    .into_iter()
                    .flatten()
                    .collect(),
            },
            Action::Discard => Verdict::Discard {
                reason: format!("DLP: rule \"{rule}\""),
            },
        }
    }
}

#[cfg(test)]
mod encrypt_handoff {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::spool::ClientInfo;

    fn stage(encryption: bool, dir: &std::path::Path) -> DlpStage {
        let mut config = DlpConfig::default();
        let mut rules = mamori_dlp::policy::default_rules(&[]);
        for r in &mut rules {
            if r.detectors == ["my_number"] {
                r.action = Action::Encrypt;
            }
        }
        config.rules = rules;
        let audit = Arc::new(AuditLog::open(&dir.join("audit"), 1 << 20, 3).unwrap());
        let (notices, _pending) = mpsc::channel(10);
        DlpStage::new(
            &config,
            vec!["office.example.jp".into()],
            "gw.example.jp".into(),
            audit,
            notices,
            Arc::new(DlpStats::default()),
        )
        .unwrap()
        .with_encryption(encryption)
    }

    fn message(body: &str, attachment: &str) -> StagedMessage {
        let content = format!(
            "From: taro@office.example.jp\r\nTo: client@example.com\r\nSubject: x\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n--b\r\nContent-Type: text/csv; name=list.csv\r\nContent-Disposition: attachment; filename=list.csv\r\n\r\n{attachment}\r\n--b--\r\n"
        );
        let client = ClientInfo {
            sender_verified: true,
            ..ClientInfo::default()
        };
        let env = Envelope::new(
            "Q1".into(),
            "taro@office.example.jp".into(),
            vec![Recipient::new("client@example.com")],
            client,
        );
        StagedMessage::new(env, content.into_bytes())
    }

    #[test]
    fn an_encrypt_rule_hands_the_mail_on_unless_the_finding_stays_readable() {
        let dir = tempfile::tempdir().unwrap();
        let number = "マイナンバー: 123456789018";
        // In the attachment: encryption takes it.
        let on = stage(true, dir.path());
        let mut m = message("資料を送ります。", &format!("name,number\r\n山田,{number}"));
        assert_eq!(on.process(&mut m), Verdict::Accept);
        assert_eq!(m.envelope.dlp.as_ref().unwrap().action, Action::Encrypt);
        // In the body: packing the attachment would not protect it.
        let mut m = message(number, "name\r\n山田");
        match on.process(&mut m) {
            Verdict::Hold { reason } => assert!(reason.contains("readable"), "{reason}"),
            v => panic!("{v:?}"),
        }
        // Encryption off: held, and the reason says so.
        let off = stage(false, dir.path());
        let mut m = message("資料", &format!("name,number\r\n山田,{number}"));
        match off.process(&mut m) {
            Verdict::Hold { reason } => assert!(reason.contains("switched off"), "{reason}"),
            v => panic!("{v:?}"),
        }
    }

    fn raw(env_content: &str) -> StagedMessage {
        let mut m = message("", "");
        m.replace_content(env_content.replace('\n', "\r\n").into_bytes());
        m
    }

    #[test]
    fn a_finding_in_a_part_that_is_not_packed_stays_readable_and_holds() {
        let dir = tempfile::tempdir().unwrap();
        let on = stage(true, dir.path());
        let number = "123456789018";
        // A CSV given a Content-ID in a related part is packed (only pictures stay).
        let related = format!(
            "From: taro@office.example.jp\nTo: client@example.com\nSubject: x\nMIME-Version: 1.0\nContent-Type: multipart/related; boundary=r\n\n--r\nContent-Type: text/html\n\n<p>see</p>\n--r\nContent-Type: text/csv; name=list.csv\nContent-Disposition: inline; filename=list.csv\nContent-ID: <x1@o>\n\nname,マイナンバー\nyamada,{number}\n--r--\n"
        );
        assert_eq!(on.process(&mut raw(&related)), Verdict::Accept);
        // A file uuencoded in the text is not an attachment that can be packed.
        let uu = "From: taro@office.example.jp\nTo: client@example.com\nSubject: x\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: text/plain\n\nhello\nbegin 644 list.csv\nM;F%M92QM>2!N=6UB97(*>6%M861A+#$R,S0U-C<X.3`Q.`H`\n`\nend\n--b\nContent-Type: application/pdf; name=a.pdf\nContent-Disposition: attachment; filename=a.pdf\n\n%PDF-1.4\n--b--\n";
        match on.process(&mut raw(uu)) {
            Verdict::Hold { reason } => assert!(reason.contains("readable"), "{reason}"),
            v => panic!("a uuencoded file in the text must hold: {v:?}"),
        }
        // The number in a packed file's name: a ZIP lists names in clear.
        let named = format!(
            "From: taro@office.example.jp\nTo: client@example.com\nSubject: x\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: text/plain\n\nhi\n--b\nContent-Type: text/plain; name=\"マイナンバー_{number}.txt\"\nContent-Disposition: attachment; filename=\"マイナンバー_{number}.txt\"\n\nnothing\n--b--\n"
        );
        assert!(matches!(on.process(&mut raw(&named)), Verdict::Hold { .. }));
    }
}
