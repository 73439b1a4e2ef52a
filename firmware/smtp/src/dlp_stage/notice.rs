//! The notice a `notify` rule sends the administrator: what was found where, masked, and
//! what became of the message — in Japanese, then English.

use mail_builder::MessageBuilder;
use mamori_dlp::{Decision, Report};

/// What the notice is about.
pub struct NoticeFacts<'a> {
    /// The queue ID of the message.
    pub queue_id: &'a str,
    /// Its envelope sender.
    pub sender: &'a str,
    /// Its envelope recipients.
    pub recipients: &'a [String],
    /// The inspection report (masked findings).
    pub report: &'a Report,
    /// The policy's decision.
    pub decision: &'a Decision,
}

/// What happened to the message, in Japanese, for the notice.
fn outcome_ja(decision: &Decision) -> &'static str {
    use mamori_dlp::Action;
    match decision.action {
        Action::Pass | Action::Log | Action::Tag | Action::Notify => "配送しました",
        Action::Hold => "隔離しました（管理者の承認待ち）",
        Action::Encrypt => "隔離しました（添付ファイルの暗号化待ち）",
        Action::Reject => "送信者に拒否を返しました",
        Action::Discard => "破棄しました",
    }
}

/// Renders the notice as a message from `postmaster@<hostname>` to `to`.
pub fn render(facts: &NoticeFacts<'_>, to: &[String], hostname: &str) -> std::io::Result<Vec<u8>> {
    let d = facts.decision;
    let sender = if facts.sender.is_empty() {
        "<>"
    } else {
        facts.sender
    };
    let mut body = String::new();
    body.push_str("Mamori DLP: 送信メールの検査で規則に該当しました。\n");
    body.push_str("Mamori DLP: an outgoing message matched a policy rule.\n\n");
    body.push_str(&format!("キューID / Queue ID: {}\n", facts.queue_id));
    body.push_str(&format!("送信者 / Sender: {sender}\n"));
    body.push_str(&format!(
        "宛先 / Recipients: {}\n",
        facts.recipients.join(", ")
    ));
    body.push_str(&format!(
        "処置 / Action: {} — {}\n",
        d.action,
        outcome_ja(d)
    ));
    if let Some(rule) = &d.rule {
        body.push_str(&format!("決定した規則 / Deciding rule: {rule}\n"));
    }
    body.push_str("\n該当した規則 / Rules that applied:\n");
    for line in d.explain() {
        body.push_str(&format!("  - {line}\n"));
    }
    if !facts.report.findings.is_empty() {
        body.push_str("\n検出 / Findings (masked):\n");
        for f in facts.report.findings.iter().take(50) {
            body.push_str(&format!(
                "  - {} [{:?}] {} line {}: {}\n",
                f.detector_name(),
                f.confidence,
                f.location,
                f.line,
                f.masked
            ));
        }
        if facts.report.findings.len() > 50 {
            body.push_str(&format!("  … {} more\n", facts.report.findings.len() - 50));
        }
    }
    if !facts.report.problems.is_empty() {
        body.push_str("\n問題 / Problems:\n");
        for p in &facts.report.problems {
            body.push_str(&format!("  - {} at {}: {}\n", p.kind, p.location, p.detail));
        }
    }
    if matches!(
        d.action,
        mamori_dlp::Action::Hold | mamori_dlp::Action::Encrypt
    ) {
        body.push_str(&format!(
            "\n承認して配送 / release: mamori quarantine release {id}\n削除 / delete: mamori quarantine delete {id}\n",
            id = facts.queue_id
        ));
    }
    let to: Vec<&str> = to.iter().map(String::as_str).collect();
    MessageBuilder::new()
        .from(("Mamori DLP", format!("postmaster@{hostname}").as_str()))
        .to(to)
        .subject(format!(
            "[Mamori DLP] {} {} ({})",
            d.action,
            facts.queue_id,
            d.rule.as_deref().unwrap_or("notice")
        ))
        .message_id(format!("{}.dlp@{hostname}", facts.queue_id))
        .date(crate::datetime::unix_now())
        .header(
            "Auto-Submitted",
            mail_builder::headers::raw::Raw::new("auto-generated"),
        )
        .text_body(body)
        .write_to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;
    use mamori_dlp::{Inspector, Limits, MailContext, Policy, ScanConfig, policy::default_rules};

    #[test]
    fn a_notice_names_the_rule_and_shows_only_masked_numbers() {
        let inspector = Inspector::new(&ScanConfig::default(), Limits::default()).unwrap();
        let report = inspector.inspect_message(
            b"From: a@office.example.jp\r\nSubject: x\r\n\r\nMy Number 123456789018\r\n",
        );
        let policy = Policy::new(&default_rules(&[]), &ScanConfig::default()).unwrap();
        let rcpts = vec!["client@example.com".to_string()];
        let decision = policy.decide(
            &report,
            &MailContext {
                sender: "a@office.example.jp",
                recipients: &rcpts,
                office_domains: &["office.example.jp".to_string()],
                sender_verified: true,
            },
        );
        let facts = NoticeFacts {
            queue_id: "Q1",
            sender: "a@office.example.jp",
            recipients: &rcpts,
            report: &report,
            decision: &decision,
        };
        let out = render(&facts, &["admin@office.example.jp".into()], "gw.example.jp").unwrap();
        let text = String::from_utf8_lossy(&out);
        assert!(text.contains("Auto-Submitted: auto-generated"), "{text}");
        assert!(
            text.contains("Message-ID: <Q1.dlp@gw.example.jp>"),
            "{text}"
        );
        assert!(
            !text.contains("123456789018"),
            "the full number never leaves: {text}"
        );
        // The body may be encoded; the masked number must be readable in it somewhere.
        assert!(text.contains("To: <admin@office.example.jp>"), "{text}");
    }
}
