//! The panel's "try this text or file" box: a sample is inspected and decided on by the
//! DLP rules in force, as if it were mailed from `sender` to `recipient`, and the verdict
//! comes back with masked findings only. Nothing is queued, sent or logged beyond the
//! request's own audit record (which holds no digest of the sample either: see
//! [`crate::api::SmtpRequest::DlpTry`]). Pure apart from the clock.

use base64::Engine;
use mamori_dlp::{DlpConfig, Inspector, LocatedFinding, MailContext, Policy, Problem};
use serde::{Deserialize, Serialize};

/// The largest sample taken (a file, decoded): 4 MiB, a typical office attachment. The
/// relay's control socket takes lines of [`MAX_TRY_LINE`] for it.
pub const MAX_SAMPLE_BYTES: usize = 4 << 20;

/// The longest control request line the relay reads: a sample in base64 with room to spare.
pub const MAX_TRY_LINE: usize = MAX_SAMPLE_BYTES / 3 * 4 + (1 << 20);

/// A sample to try.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Sample {
    /// Text typed or pasted (read as a body).
    #[serde(default)]
    pub text: Option<String>,
    /// A file's name (it decides how the file is read, as an attachment's would).
    #[serde(default)]
    pub file_name: Option<String>,
    /// A file's content, base64.
    #[serde(default)]
    pub file_base64: Option<String>,
    /// The sender to assume (default: none; a rule for some senders then does not apply).
    #[serde(default)]
    pub sender: String,
    /// The recipient to assume (default: one outside the office).
    #[serde(default)]
    pub recipient: Option<String>,
}

/// What the rules in force decide on a sample.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Verdict {
    /// The deciding action (`pass` when nothing applies).
    pub action: mamori_dlp::Action,
    /// The deciding rule, if any.
    pub rule: Option<String>,
    /// One line per rule that applied.
    pub explanation: Vec<String>,
    /// The findings, masked.
    pub findings: Vec<LocatedFinding>,
    /// What could not be read.
    pub problems: Vec<Problem>,
    /// Every finding counted (the list is capped).
    pub total_findings: usize,
}

/// Why a sample could not be tried.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TryError {
    /// Neither text nor a file, or both.
    #[error("give either a text or a file")]
    NothingToTry,
    /// The file is not base64.
    #[error("the file is not valid base64")]
    BadBase64,
    /// The sample is larger than [`MAX_SAMPLE_BYTES`].
    #[error("the sample is larger than {} MiB", MAX_SAMPLE_BYTES >> 20)]
    TooBig,
    /// The policy in force could not be built (it was when it was put in force).
    #[error("the DLP policy cannot be built: {0}")]
    Policy(String),
}

/// Tries `sample` against `config` (the DLP settings in force) for an office whose
/// domains are `office_domains`.
pub fn try_sample(
    config: &DlpConfig,
    office_domains: &[String],
    sample: &Sample,
) -> Result<Verdict, TryError> {
    let inspector = Inspector::new(&config.scan, config.limits.clone())
        .map_err(|e| TryError::Policy(e.to_string()))?;
    let policy = Policy::new(&config.effective_rules(), &config.scan)
        .map_err(|e| TryError::Policy(e.to_string()))?;
    let report = match (&sample.text, &sample.file_base64) {
        (Some(text), None) => {
            if text.len() > MAX_SAMPLE_BYTES {
                return Err(TryError::TooBig);
            }
            inspector.inspect_file(None, text.as_bytes())
        }
        (None, Some(b64)) => {
            if b64.len() > MAX_SAMPLE_BYTES / 3 * 4 + 4 {
                return Err(TryError::TooBig);
            }
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(b64.trim())
                .map_err(|_| TryError::BadBase64)?;
            inspector.inspect(sample.file_name.as_deref(), &bytes)
        }
        _ => return Err(TryError::NothingToTry),
    };
    let recipients = [sample
        .recipient
        .clone()
        .filter(|r| !r.trim().is_empty())
        .unwrap_or_else(|| "someone@example.com".into())];
    let decision = policy.decide(
        &report,
        &MailContext {
            sender: &sample.sender,
            recipients: &recipients,
            office_domains,
            sender_verified: false,
        },
    );
    Ok(Verdict {
        action: decision.action,
        rule: decision.rule.clone(),
        explanation: decision.explain(),
        total_findings: report.total_findings(),
        findings: report.findings,
        problems: report.problems,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(t: &str) -> Sample {
        Sample {
            text: Some(t.into()),
            file_name: None,
            file_base64: None,
            sender: "tanaka@office.test".into(),
            recipient: None,
        }
    }

    /// A valid My Number (the check digit is right).
    const NUMBER: &str = "987654321093";

    #[test]
    fn the_default_rules_hold_a_my_number_sent_outside_masked() {
        let config = DlpConfig::default();
        let office = ["office.test".to_string()];
        let v = try_sample(&config, &office, &text(&format!("個人番号：{NUMBER}"))).unwrap();
        assert_eq!(v.action, mamori_dlp::Action::Hold);
        assert_eq!(v.rule.as_deref(), Some("My Number sent outside"));
        assert!(v.findings.iter().all(|f| !f.masked.contains(NUMBER)));
        assert!(v.findings[0].masked.contains("9876"));
        // To a colleague, the same text is not outbound.
        let mut inside = text(&format!("個人番号：{NUMBER}"));
        inside.recipient = Some("sato@office.test".into());
        assert_eq!(
            try_sample(&config, &office, &inside).unwrap().action,
            mamori_dlp::Action::Pass
        );
        let plain = try_sample(&config, &office, &text("お世話になっております。")).unwrap();
        assert_eq!(
            (plain.action, plain.findings.len()),
            (mamori_dlp::Action::Pass, 0)
        );
    }

    #[test]
    fn a_file_is_read_by_its_kind() {
        use std::io::Write;
        let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        zip.start_file("名簿.csv", zip::write::SimpleFileOptions::default())
            .unwrap();
        zip.write_all(format!("氏名,個人番号\n山田,{NUMBER}\n").as_bytes())
            .unwrap();
        let bytes = zip.finish().unwrap().into_inner();
        let sample = Sample {
            text: None,
            file_name: Some("list.zip".into()),
            file_base64: Some(base64::engine::general_purpose::STANDARD.encode(bytes)),
            sender: String::new(),
            recipient: None,
        };
        let v = try_sample(&DlpConfig::default(), &[], &sample).unwrap();
        assert_eq!(v.action, mamori_dlp::Action::Hold, "{v:?}");
        assert!(
            v.findings[0].location.to_string().contains("名簿.csv"),
            "{v:?}"
        );
    }

    #[test]
    fn bad_samples_are_refused_with_a_reason() {
        let config = DlpConfig::default();
        let mut s = text("x");
        s.file_base64 = Some("AAAA".into());
        assert_eq!(try_sample(&config, &[], &s), Err(TryError::NothingToTry));
        s.text = None;
        s.file_base64 = Some("not base64 at all!".into());
        assert_eq!(try_sample(&config, &[], &s), Err(TryError::BadBase64));
        s.file_base64 = Some("A".repeat(MAX_SAMPLE_BYTES * 2));
        assert_eq!(try_sample(&config, &[], &s), Err(TryError::TooBig));
        s.file_base64 = None;
        assert_eq!(try_sample(&config, &[], &s), Err(TryError::NothingToTry));
    }
}
