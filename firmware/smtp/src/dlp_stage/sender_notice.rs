//! The notice a sender of the office gets when their mail is held: why, in words a person
//! who is not an IT expert understands, in Japanese then English, and what to do. Only
//! masked excerpts and locations; never the content.

use mail_builder::MessageBuilder;
use mamori_dlp::policy::SenderNotice;
use mamori_dlp::{ProblemKind, Report};

/// What the notice is about.
pub struct SenderFacts<'a> {
    /// The queue ID of the held message.
    pub queue_id: &'a str,
    /// Who it was to.
    pub recipients: &'a [String],
    /// Why it was held.
    pub reason: SenderNotice,
    /// The inspection report (masked).
    pub report: &'a Report,
}

/// The most lines of detail a notice lists.
const MAX_DETAIL_LINES: usize = 10;

/// The explanation and advice for `reason`, in Japanese and English.
fn explanation(reason: SenderNotice) -> (&'static str, &'static str) {
    match reason {
        SenderNotice::Findings => (
            "このメールには個人情報（マイナンバーやクレジットカード番号など）が含まれている可能性があるため、送信を保留しました。管理者が内容を確認し、送信するか削除します。急ぎの場合は管理者に連絡してください。",
            "This message may carry personal data (a My Number, a card number …), so it was held. An administrator will check it and then send or delete it. If it is urgent, please contact your administrator.",
        ),
        SenderNotice::NotFullyRead => (
            "このメールには Mamori が中身を確認できない部分があるため、送信を保留しました（理由は下記）。管理者が確認します。確認できる形式（ZIP、PDF、Word・Excel などの Office 文書、テキスト）に変えて送り直すこともできます。",
            "Part of this message could not be checked by Mamori (see below), so it was held. An administrator will look at it. You may also send it again in a form Mamori can read (ZIP, PDF, Office documents such as Word or Excel, text).",
        ),
        SenderNotice::Encrypted => (
            "パスワード付きのファイル（暗号化 ZIP やパスワード付き Office 文書・PDF）は中身を確認できないため、送信を保留しました。ファイルにはパスワードを付けず、そのまま添付して送り直してください。Mamori が内容を確認します。相手先に暗号化して送る必要がある場合は、管理者に相談してください。",
            "Password-protected files (encrypted ZIP, Office documents or PDFs with a password) cannot be checked, so this message was held. Please send the file again as it is, without a password: Mamori checks it. If it must reach the recipient encrypted, please ask your administrator.",
        ),
    }
}

/// One line per reason the report gives for the notice (masked), at most
/// [`MAX_DETAIL_LINES`].
fn details(facts: &SenderFacts<'_>) -> Vec<String> {
    let mut lines: Vec<String> = match facts.reason {
        SenderNotice::Findings => facts
            .report
            .findings
            .iter()
            .map(|f| format!("{} ({}) — {}", f.masked, f.detector_name(), f.location))
            .collect(),
        SenderNotice::NotFullyRead | SenderNotice::Encrypted => facts
            .report
            .problems
            .iter()
            .filter(|p| match facts.reason {
                SenderNotice::Encrypted => p.kind == ProblemKind::Encrypted,
                _ => p.kind.is_not_fully_read(),
            })
            .map(|p| format!("{} — {}: {}", p.location, p.kind, p.detail))
            .collect(),
    };
    let more = lines.len().saturating_sub(MAX_DETAIL_LINES);
    lines.truncate(MAX_DETAIL_LINES);
    if more > 0 {
        lines.push(format!("… {more} more / ほか {more} 件"));
    }
    lines
}

/// Renders the notice to `to`, from `postmaster@<hostname>` with the null sender's
/// conventions (`Auto-Submitted`).
pub fn render(facts: &SenderFacts<'_>, to: &str, hostname: &str) -> std::io::Result<Vec<u8>> {
    let (ja, en) = explanation(facts.reason);
    let mut body = String::new();
    body.push_str("送信したメールを保留しました。\n\n");
    body.push_str(ja);
    body.push_str("\n\n");
    body.push_str(&format!("宛先: {}\n", facts.recipients.join(", ")));
    body.push_str(&format!("受付番号: {}\n", facts.queue_id));
    let details = details(facts);
    if !details.is_empty() {
        body.push_str("\n詳細 / Details:\n");
        for line in &details {
            body.push_str(&format!("  - {line}\n"));
        }
    }
    body.push_str("\n----\nYour message was held.\n\n");
    body.push_str(en);
    body.push_str("\n\n");
    body.push_str(&format!("Recipients: {}\n", facts.recipients.join(", ")));
    body.push_str(&format!("Queue ID: {}\n", facts.queue_id));
    MessageBuilder::new()
        .from(("Mamori", format!("postmaster@{hostname}").as_str()))
        .to(to)
        .subject(format!(
            "メールを保留しました / Your message was held ({})",
            facts.queue_id
        ))
        .message_id(format!("{}.held@{hostname}", facts.queue_id))
        .date(crate::datetime::unix_now())
        .header(
            "Auto-Submitted",
            mail_builder::headers::raw::Raw::new("auto-replied"),
        )
        .text_body(body)
        .write_to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;
    use mamori_dlp::{Inspector, Limits, ScanConfig};

    fn decoded(raw: &[u8]) -> String {
        // mail-builder may encode the body: decode it the way a client would.
        let text = String::from_utf8_lossy(raw).to_string();
        let body = text.split("\r\n\r\n").nth(1).unwrap_or_default();
        let joined: String = body.lines().collect();
        use base64::Engine;
        base64::engine::general_purpose::STANDARD
            .decode(joined.trim())
            .map(|b| String::from_utf8_lossy(&b).to_string())
            .unwrap_or(text)
    }

    #[test]
    fn an_encrypted_file_notice_explains_the_better_way_and_names_the_file() {
        let inspector = Inspector::new(&ScanConfig::default(), Limits::default()).unwrap();
        let mut zip = b"PK\x03\x04\x14\x00\x01\x00".to_vec();
        zip.extend_from_slice(&[0; 40]);
        let report = inspector.inspect_file(Some("給与.zip"), &zip);
        let facts = SenderFacts {
            queue_id: "Q9",
            recipients: &["client@example.com".to_string()],
            reason: SenderNotice::Encrypted,
            report: &report,
        };
        let raw = render(&facts, "taro@office.example.jp", "gw.example.jp").unwrap();
        let text = decoded(&raw);
        assert!(text.contains("パスワードを付けず"), "{text}");
        assert!(text.contains("without a password"), "{text}");
        assert!(String::from_utf8_lossy(&raw).contains("Auto-Submitted: auto-replied"));
    }

    #[test]
    fn a_findings_notice_shows_masked_numbers_only() {
        let inspector = Inspector::new(&ScanConfig::default(), Limits::default()).unwrap();
        let report = inspector.inspect_message(
            b"Subject: x\r\n\r\n\xe5\x80\x8b\xe4\xba\xba\xe7\x95\xaa\xe5\x8f\xb7 123456789018\r\n",
        );
        let facts = SenderFacts {
            queue_id: "Q1",
            recipients: &["client@example.com".to_string()],
            reason: SenderNotice::Findings,
            report: &report,
        };
        let raw = render(&facts, "taro@office.example.jp", "gw.example.jp").unwrap();
        let text = decoded(&raw);
        assert!(text.contains("1234******18"), "{text}");
        assert!(!text.contains("123456789018"), "{text}");
        assert!(!String::from_utf8_lossy(&raw).contains("123456789018"));
    }
}
