//! Misdelivery prevention (誤送信防止), the stage after attachment encryption. Today the
//! timed hold: mail that matches `[misdelivery]` (by default any mail with a recipient
//! outside the office) waits `misdelivery.hold` in the queue, and mail whose program
//! asked with FUTURERELEASE waits until the time it asked for. The sender (a verified
//! sender of the office) gets a notice with a link to a confirmation page on the panel,
//! where a button cancels the mail or sends it at once; the link carries a random token
//! whose digest alone the spool keeps. The hold ends exactly once: by itself at its time,
//! by the link, or by an administrator (`mamori queue release` / `delete`).
//!
//! Mail an earlier stage holds (DLP's quarantine) is not put on a timed hold: the approver
//! decides when it leaves. Its companions (encrypted copies, password mails) wait with it.

pub mod bcc;
pub mod notice;

use std::sync::Arc;
use std::time::Duration;

use mamori_core::audit::AuditLog;
use mamori_dlp::AddressPattern;
use ring::rand::SecureRandom;
use tokio::sync::mpsc;

use crate::dlp_stage::Generated;
use crate::pipeline::{Stage, StagedMessage, Verdict};
use crate::queue::timed::token_digest;
use crate::settings::{HoldScope, Misdelivery};
use crate::spool::{Envelope, Recipient};

/// Japan's offset from UTC, for the times the notice shows.
const JST: i64 = 9 * 3600;

/// The stage.
pub struct MisdeliveryStage {
    bcc_threshold: usize,
    hold: Duration,
    scope: HoldScope,
    except: Vec<AddressPattern>,
    link_base: String,
    office_domains: Vec<String>,
    hostname: String,
    audit: Arc<AuditLog>,
    notices: mpsc::Sender<Generated>,
}

impl MisdeliveryStage {
    /// Builds the stage from `[misdelivery]` (checked already).
    pub fn new(
        config: &Misdelivery,
        office_domains: Vec<String>,
        hostname: String,
        audit: Arc<AuditLog>,
        notices: mpsc::Sender<Generated>,
    ) -> Self {
        Self {
            bcc_threshold: config.bcc_threshold,
            hold: config.hold,
            scope: config.hold_scope,
            except: config
                .hold_except_senders
                .iter()
                .filter_map(|p| AddressPattern::parse(p).ok())
                .collect(),
            link_base: config.link_base(&hostname),
            office_domains,
            hostname,
            audit,
            notices,
        }
    }

    fn is_internal(&self, address: &str) -> bool {
        address.rsplit_once('@').is_some_and(|(_, host)| {
            self.office_domains
                .iter()
                .any(|d| d.eq_ignore_ascii_case(host))
        })
    }

    /// Does the configured timed hold apply to this message?
    fn rule_applies(&self, env: &Envelope) -> bool {
        if self.hold.is_zero() {
            return false;
        }
        if env.client.sender_verified && self.except.iter().any(|p| p.matches(&env.mail_from)) {
            return false;
        }
        match self.scope {
            HoldScope::All => true,
            HoldScope::External => env.recipients.iter().any(|r| !self.is_internal(&r.address)),
        }
    }

    /// Tells the sender (a verified office sender only: a link that cancels mail goes to
    /// nobody else) that the mail waits, with the link.
    fn tell_sender(&self, env: &Envelope, subject: &str, until: u64, token: &str) {
        if !env.client.sender_verified || !self.is_internal(&env.mail_from) {
            return;
        }
        let recipients: Vec<String> = env.recipients.iter().map(|r| r.address.clone()).collect();
        let link = format!("{}/hold/{}/{token}", self.link_base, env.id);
        let leaves_at = format!("{} (JST)", crate::datetime::local_minutes(until, JST));
        let facts = notice::HoldFacts {
            queue_id: &env.id,
            subject,
            recipients: &recipients,
            leaves_at: &leaves_at,
            link: &link,
        };
        let content = match notice::render(&facts, &env.mail_from, &self.hostname) {
            Ok(c) => c,
            Err(e) => {
                tracing::error!(queue_id = %env.id, error = %e, "could not render the hold notice");
                return;
            }
        };
        let notice = Envelope::generated(
            crate::spool::new_id(),
            String::new(),
            vec![Recipient::new(env.mail_from.clone())],
            &self.hostname,
            &content,
        );
        match self.notices.try_send((notice, content)) {
            Ok(()) => tracing::info!(queue_id = %env.id, "hold notice queued"),
            Err(e) => tracing::error!(queue_id = %env.id, error = %e, "hold notice dropped"),
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
        self.bcc_threshold > 0
    }

    fn process(&self, message: &mut StagedMessage) -> Verdict {
        if self.bcc_threshold > 0 && !message.envelope.internal {
            self.convert_bcc(message);
        }
        let env = &mut message.envelope;
        if message.held.is_some() {
            // In the quarantine the approver decides when it leaves.
            env.hold_until = None;
            return Verdict::Accept;
        }
        if env.internal {
            return Verdict::Accept;
        }
        let now = crate::datetime::unix_now();
        let asked = env.hold_until.filter(|&t| t > now);
        let ruled = self
            .rule_applies(env)
            .then(|| now.saturating_add(self.hold.as_secs()));
        let Some(until) = asked.max(ruled) else {
            env.hold_until = None;
            return Verdict::Accept;
        };
        let Some(token) = new_token() else {
            // Without a token no link can end it early: it still waits, and leaves.
            tracing::error!(queue_id = %env.id, "no random token for the hold links");
            env.hold_until = Some(until);
            return Verdict::Hold {
                reason: "timed hold".into(),
            };
        };
        env.hold_until = Some(until);
        env.hold_token = Some(token_digest(&token));
        let why = if asked == Some(until) {
            "FUTURERELEASE"
        } else {
            "timed hold"
        };
        let record = serde_json::json!({
            "queue_id": env.id,
            "from": env.mail_from,
            "auth_user": env.client.auth_user,
            "recipients": env.recipients.iter().map(|r| &r.address).collect::<Vec<_>>(),
            "until": until,
            "why": why,
        });
        if let Err(e) = self.audit.record("timed_hold", record) {
            tracing::error!(queue_id = %env.id, error = %e, "audit log write failed; refusing the message for now");
            return Verdict::Reject {
                code: 451,
                status: "4.3.0".into(),
                lines: vec!["Error: local error in processing, try again later".into()],
            };
        }
        let subject =
            mamori_dlp::mime::header_text(message.content(), "subject").unwrap_or_default();
        self.tell_sender(&message.envelope, &subject, until, &token);
        Verdict::Hold {
            reason: format!(
                "{why} until {} (JST)",
                crate::datetime::local_minutes(until, JST)
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
}
