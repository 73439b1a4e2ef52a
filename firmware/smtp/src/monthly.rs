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

/// One bucket of the dashboard's charts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Bucket {
    /// Messages delivered as sent.
    pub sent: u64,
    /// Messages held.
    pub held: u64,
    /// Messages refused.
    pub rejected: u64,
    /// DLP findings.
    pub findings: u64,
}

/// The dashboard's figures: the last 24 hours by hour and the last 30 days by day, oldest
/// first, each bucket starting at the Unix second given.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Activity {
    /// (start, bucket) per hour.
    pub hours: Vec<(u64, Bucket)>,
    /// (start, bucket) per day, days starting at midnight at the office's offset.
    pub days: Vec<(u64, Bucket)>,
}

/// How long hourly buckets are kept: the longest chart (30 days) and a day to spare.
pub const KEEP_HOURS_SECS: u64 = 31 * 86_400;

impl Bucket {
    /// Counts one verdict.
    pub fn add(&mut self, action: &str, findings: u64) {
        match action {
            "hold" | "encrypt" => self.held += 1,
            "reject" | "discard" => self.rejected += 1,
            _ => self.sent += 1,
        }
        self.findings += findings;
    }
}

/// Verdicts by the hour they fell in (keyed by the hour's first Unix second): what the
/// dashboard's charts are drawn from, kept in memory for [`KEEP_HOURS_SECS`] (720 small
/// buckets), seeded from the audit log at start.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HourBuckets(BTreeMap<u64, Bucket>);

impl HourBuckets {
    /// Counts a verdict at `at` (Unix seconds), and lets buckets older than
    /// [`KEEP_HOURS_SECS`] before it go.
    pub fn add(&mut self, at: u64, action: &str, findings: u64) {
        self.0
            .entry(at / 3600 * 3600)
            .or_default()
            .add(action, findings);
        let oldest = at.saturating_sub(KEEP_HOURS_SECS);
        while let Some((&first, _)) = self.0.first_key_value() {
            if first >= oldest {
                break;
            }
            self.0.remove(&first);
        }
    }

    /// Adds `other`'s counts to these.
    pub fn merge(&mut self, other: &HourBuckets) {
        for (hour, b) in &other.0 {
            let mine = self.0.entry(*hour).or_default();
            mine.sent += b.sent;
            mine.held += b.held;
            mine.rejected += b.rejected;
            mine.findings += b.findings;
        }
    }

    /// The verdicts of the relay's audit chain in `dir` between `from` and `to`.
    pub fn from_log(
        dir: &Path,
        from: u64,
        to: u64,
    ) -> Result<Self, mamori_core::audit::AuditError> {
        let mut out = Self::default();
        mamori_core::audit::for_each_between(dir, from, to, |r| {
            if r["event"] != "dlp_verdict" || r["generated"] == true {
                return;
            }
            let Some(at) = r["time"]
                .as_str()
                .and_then(mamori_core::clock::parse_rfc3339_utc)
            else {
                return;
            };
            let findings: u64 = r["totals"]["findings"]
                .as_array()
                .map(|a| a.iter().filter_map(|f| f["count"].as_u64()).sum())
                .unwrap_or(0);
            out.add(at, r["action"].as_str().unwrap_or("pass"), findings);
        })?;
        Ok(out)
    }

    /// The charts' figures at `now`: the last 24 hours, and the last 30 days starting at
    /// midnight at `offset_minutes` from UTC.
    pub fn activity(&self, now: u64, offset_minutes: i64) -> Activity {
        let offset = offset_minutes * 60;
        let hour_start = (now / 3600 + 1) * 3600 - 24 * 3600;
        let hours = (0..24)
            .map(|i| {
                let h = hour_start + i * 3600;
                (h, self.0.get(&h).copied().unwrap_or_default())
            })
            .collect();
        let local_day = |t: u64| (t as i64 + offset).div_euclid(86_400);
        let first_day = local_day(now) - 29;
        let mut days: Vec<(u64, Bucket)> = (0..30)
            .map(|i| {
                (
                    u64::try_from((first_day + i) * 86_400 - offset).unwrap_or(0),
                    Bucket::default(),
                )
            })
            .collect();
        for (hour, b) in &self.0 {
            // An hour belongs to the local day its first second is in (whole-hour offsets).
            let d = local_day(*hour) - first_day;
            if let Some((_, day)) = usize::try_from(d).ok().and_then(|d| days.get_mut(d)) {
                day.sent += b.sent;
                day.held += b.held;
                day.rejected += b.rejected;
                day.findings += b.findings;
            }
        }
        Activity { hours, days }
    }
}

#[cfg(test)]
mod activity_tests {
    use super::*;

    #[test]
    fn verdicts_land_in_their_hour_and_day() {
        let dir = tempfile::tempdir().unwrap();
        let log = mamori_core::audit::AuditLog::open(dir.path(), 1 << 20, 3).unwrap();
        for (action, generated) in [
            ("pass", false),
            ("hold", false),
            ("reject", false),
            ("pass", true),
        ] {
            log.record(
                "dlp_verdict",
                serde_json::json!({"action": action, "generated": generated,
                    "totals": {"findings": [{"detector": "my_number", "count": 2}]}}),
            )
            .unwrap();
        }
        let now = mamori_core::clock::unix_now();
        let a = HourBuckets::from_log(dir.path(), now - KEEP_HOURS_SECS, now + 1)
            .unwrap()
            .activity(now, 540);
        assert_eq!((a.hours.len(), a.days.len()), (24, 30));
        let last_hour = a.hours[23].1;
        assert_eq!(
            last_hour,
            Bucket {
                sent: 1,
                held: 1,
                rejected: 1,
                findings: 6
            },
            "the box's own mail is left out"
        );
        assert_eq!(a.days[29].1, last_hour);
        assert!(a.hours[..23].iter().all(|(_, b)| *b == Bucket::default()));
        assert!(a.hours.windows(2).all(|w| w[1].0 == w[0].0 + 3600));
        // Days start at midnight in Japan.
        assert_eq!((a.days[29].0 as i64 + 540 * 60) % 86_400, 0);
    }

    #[test]
    fn buckets_older_than_a_month_go_and_merges_add_up() {
        let mut h = HourBuckets::default();
        h.add(1_000_000, "hold", 1);
        h.add(1_000_000 + KEEP_HOURS_SECS + 7200, "pass", 0);
        assert_eq!(h.0.len(), 1, "the month-old hour went");
        let mut other = HourBuckets::default();
        other.add(1_000_000 + KEEP_HOURS_SECS + 7200, "reject", 2);
        h.merge(&other);
        let b = h.0.values().next().copied().unwrap();
        assert_eq!(
            b,
            Bucket {
                sent: 1,
                held: 0,
                rejected: 1,
                findings: 2
            }
        );
    }
}
