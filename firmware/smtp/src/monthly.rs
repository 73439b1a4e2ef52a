//! A month of the relay's audit log in figures, for the monthly report an office keeps
//! for its P-mark or My Number audit: messages inspected and what DLP decided, findings by
//! kind, what approvers did with held mail, erasures, and administrators' actions.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Serialize;
use serde_json::Value;

/// The figures of one month.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct MonthlyReport {
    /// Messages from the office and outside that DLP inspected (mail the box wrote left
    /// out).
    pub inspected: u64,
    /// Of those, by DLP's deciding action (`pass`: delivered as sent).
    pub by_action: BTreeMap<String, u64>,
    /// Findings by detector (`my_number`, `credit_card`, `custom` …).
    pub findings: BTreeMap<String, u64>,
    /// Messages with content DLP could not fully read.
    pub not_fully_read: u64,
    /// Held messages approved (delivered), refused, deleted, and erased at the end of the
    /// retention period.
    pub released: u64,
    /// See `released`.
    pub refused: u64,
    /// See `released`.
    pub deleted: u64,
    /// See `released`.
    pub erased: u64,
    /// Views of a held message's content.
    pub content_views: u64,
    /// Administrators' requests to the relay that change something, by operation.
    pub admin_actions: BTreeMap<String, u64>,
}

impl MonthlyReport {
    /// Counts one audit record.
    pub fn count(&mut self, record: &Value) {
        match record["event"].as_str().unwrap_or("") {
            "dlp_verdict" if record["generated"] != true => {
                self.inspected += 1;
                let action = record["action"].as_str().unwrap_or("pass").to_string();
                *self.by_action.entry(action).or_default() += 1;
                for f in record["totals"]["findings"]
                    .as_array()
                    .map(Vec::as_slice)
                    .unwrap_or_default()
                {
                    let detector = match &f["detector"] {
                        Value::String(d) => d.clone(),
                        Value::Object(m) => m.keys().next().cloned().unwrap_or_default(),
                        _ => continue,
                    };
                    *self.findings.entry(detector).or_default() += f["count"].as_u64().unwrap_or(0);
                }
                let unread = record["problems"].as_array().is_some_and(|p| {
                    p.iter().any(|p| {
                        !matches!(
                            p["kind"].as_str(),
                            Some("ambiguous" | "encrypted" | "archive_bomb")
                        )
                    })
                });
                self.not_fully_read += u64::from(unread);
            }
            "quarantine_release" => self.released += 1,
            "quarantine_reject" => self.refused += 1,
            "quarantine_delete" => self.deleted += 1,
            "quarantine_erased" => self.erased += 1,
            "quarantine_content_viewed" => self.content_views += 1,
            "control_request" => {
                let op = record["op"].as_str().unwrap_or("").to_string();
                if !op.is_empty() {
                    *self.admin_actions.entry(op).or_default() += 1;
                }
            }
            _ => {}
        }
    }
}

/// The report of the relay's audit chain in `dir` between `from` and `to` (Unix seconds).
pub fn monthly(
    dir: &Path,
    from: u64,
    to: u64,
) -> Result<MonthlyReport, mamori_core::audit::AuditError> {
    let mut report = MonthlyReport::default();
    mamori_core::audit::for_each_between(dir, from, to, |r| report.count(r))?;
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_month_of_records_is_counted() {
        let dir = tempfile::tempdir().unwrap();
        let log = mamori_core::audit::AuditLog::open(dir.path(), 1 << 20, 3).unwrap();
        let verdict = |action: &str, generated: bool, findings: Value, problems: Value| serde_json::json!({"action": action, "generated": generated, "totals": {"findings": findings}, "problems": problems});
        log.record(
            "dlp_verdict",
            verdict("pass", false, serde_json::json!([]), serde_json::json!([])),
        )
        .unwrap();
        log.record("dlp_verdict", verdict("hold", false, serde_json::json!([{"detector": "my_number", "confidence": "high", "count": 2}, {"detector": {"custom": {"rule": 0}}, "confidence": "high", "count": 1}]), serde_json::json!([]))).unwrap();
        log.record(
            "dlp_verdict",
            verdict(
                "hold",
                false,
                serde_json::json!([]),
                serde_json::json!([{"kind": "parse_error"}]),
            ),
        )
        .unwrap();
        log.record(
            "dlp_verdict",
            verdict("pass", true, serde_json::json!([]), serde_json::json!([])),
        )
        .unwrap();
        log.record("quarantine_release", serde_json::json!({"queue_id": "A"}))
            .unwrap();
        log.record("quarantine_erased", serde_json::json!({"queue_id": "B"}))
            .unwrap();
        log.record("control_request", serde_json::json!({"op": "queue_hold"}))
            .unwrap();
        let now = mamori_core::clock::unix_now();
        let r = monthly(dir.path(), now - 3600, now + 3600).unwrap();
        assert_eq!(r.inspected, 3, "the box's own mail is left out");
        assert_eq!(r.by_action.get("hold"), Some(&2));
        assert_eq!(r.findings.get("my_number"), Some(&2));
        assert_eq!(r.findings.get("custom"), Some(&1));
        assert_eq!((r.not_fully_read, r.released, r.erased), (1, 1, 1));
        assert_eq!(r.admin_actions.get("queue_hold"), Some(&1));
        let before = monthly(dir.path(), 0, now - 3600).unwrap();
        assert_eq!(
            before,
            MonthlyReport::default(),
            "another month has none of it"
        );
    }
}
