//! What DLP decided since the daemon started, for the quarantine view's statistics: the
//! verdicts by action, and the findings of the mail that went out all the same (logged
//! only, such as a lone low-confidence My Number), by detector and confidence, so that an
//! administrator sees what the default rules let through and can tighten them.

use std::collections::BTreeMap;
use std::sync::Mutex;

use mamori_dlp::{Action, Confidence, Decision, DetectorKind, Report};
use serde::Serialize;

/// The counters.
#[derive(Debug, Default)]
pub struct DlpStats {
    counts: Mutex<Counts>,
    /// Verdicts by hour for the dashboard's charts (mail the box writes left out).
    hours: Mutex<crate::monthly::HourBuckets>,
}

#[derive(Debug, Default, Clone)]
struct Counts {
    inspected: u64,
    by_action: BTreeMap<Action, u64>,
    not_fully_read: u64,
    passed_findings: BTreeMap<(DetectorKind, Confidence), u64>,
}

/// A copy of the counters.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct DlpStatsSnapshot {
    /// Messages inspected (mail the box made itself included).
    pub inspected: u64,
    /// Verdicts by deciding action (`pass` when no deciding rule applied).
    pub by_action: BTreeMap<String, u64>,
    /// Messages with content not fully read.
    pub not_fully_read: u64,
    /// Findings in mail that was delivered all the same, by detector and confidence.
    pub passed_findings: Vec<PassedFindings>,
}

/// Findings of one detector at one confidence in delivered mail.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PassedFindings {
    /// The detector.
    pub detector: String,
    /// The confidence.
    pub confidence: Confidence,
    /// How many.
    pub count: u64,
}

impl DlpStats {
    /// Counts one inspection.
    pub fn record(&self, report: &Report, decision: &Decision) {
        let mut c = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        c.inspected += 1;
        *c.by_action.entry(decision.action).or_default() += 1;
        c.not_fully_read += u64::from(report.not_fully_read());
        if matches!(decision.action, Action::Pass) {
            for t in &report.totals.findings {
                *c.passed_findings
                    .entry((t.detector, t.confidence))
                    .or_default() += t.count as u64;
            }
        }
    }

    /// Counts a verdict on office or outside mail for the charts, now.
    pub fn record_activity(&self, report: &Report, decision: &Decision) {
        let findings = report.totals.findings.iter().map(|t| t.count as u64).sum();
        self.hours.lock().unwrap_or_else(|p| p.into_inner()).add(
            mamori_core::clock::unix_now(),
            &decision.action.to_string(),
            findings,
        );
    }

    /// Adds verdicts read from the audit log (those before the daemon started).
    pub fn seed_activity(&self, earlier: &crate::monthly::HourBuckets) {
        self.hours
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .merge(earlier);
    }

    /// The charts' figures now.
    pub fn activity(&self, offset_minutes: i64) -> crate::monthly::Activity {
        self.hours
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .activity(mamori_core::clock::unix_now(), offset_minutes)
    }

    /// Reads the counters.
    pub fn snapshot(&self) -> DlpStatsSnapshot {
        let c = self
            .counts
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        DlpStatsSnapshot {
            inspected: c.inspected,
            by_action: c
                .by_action
                .into_iter()
                .map(|(a, n)| (a.to_string(), n))
                .collect(),
            not_fully_read: c.not_fully_read,
            passed_findings: c
                .passed_findings
                .into_iter()
                .map(|((detector, confidence), count)| PassedFindings {
                    detector: detector.to_string(),
                    confidence,
                    count,
                })
                .collect(),
        }
    }
}
