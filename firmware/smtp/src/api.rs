//! The relay's control API: the requests its control socket takes (one JSON object per
//! line, tagged by `op`), answered with [`mamori_core::control::Response`].

use mamori_core::control::Request;
use mamori_core::identity::Right;
use serde::{Deserialize, Serialize};

/// A request to the SMTP daemon.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum SmtpRequest {
    /// Try an outgoing route (TLS, certificate, AUTH) without sending mail, with the
    /// relay's own client and trusted CAs: the setup wizard's test before it saves a route.
    TestRoute {
        /// The route.
        route: crate::outbound::probe::RouteTest,
    },
    /// List queued messages.
    QueueList,
    /// Show one message's envelope and per-recipient state.
    QueueShow {
        /// Queue ID.
        id: String,
    },
    /// Keep a message from being delivered until released.
    QueueHold {
        /// Queue ID.
        id: String,
    },
    /// Release a held message for delivery.
    QueueRelease {
        /// Queue ID.
        id: String,
    },
    /// Remove a message without delivering or bouncing it.
    QueueDelete {
        /// Queue ID.
        id: String,
    },
    /// Try every deferred message now.
    QueueRetry,
    /// A message on a timed hold, through the link its sender got (the panel's
    /// confirmation page, no login): what it is (`action` absent), or end the hold — send
    /// it now, or cancel it. The token must match; the hold ends once.
    TimedHold {
        /// Queue ID.
        id: String,
        /// The capability token of the link.
        token: String,
        /// What to do; absent: only show it.
        #[serde(default)]
        action: Option<crate::queue::timed::HoldAction>,
    },
    /// The download links of link mode, newest first: files, downloads, state.
    LinkList,
    /// Revoke a download link (its files are erased at once).
    LinkRevoke {
        /// The link's id.
        id: String,
    },
    /// The sender's page of a download link, through the link in the sender's receipt (the
    /// panel's page, no login): what it is and its downloads, or revoke it. The page's
    /// secret must match.
    LinkManage {
        /// The link's id.
        id: String,
        /// The page's secret.
        token: String,
        /// Revoke the link.
        #[serde(default)]
        revoke: bool,
    },
    /// List the messages DLP holds in the quarantine.
    QuarantineList,
    /// What is held, and what DLP decided since the daemon started.
    QuarantineStats,
    /// Release a quarantined message for delivery (once: a second release fails).
    QuarantineRelease {
        /// Queue ID.
        id: String,
    },
    /// Delete a quarantined message without delivering it.
    QuarantineDelete {
        /// Queue ID.
        id: String,
    },
    /// Refuse a quarantined message: it is not delivered, and its sender gets a report
    /// saying that the office's approver refused it (a bounce, RFC 3464).
    QuarantineReject {
        /// Queue ID.
        id: String,
    },
    /// A quarantined message's content as DLP read it (header fields, body text, the text
    /// of attachments, bounded): for an approver deciding. Each view is in the audit log,
    /// with the person, before the content is sent.
    QuarantineContent {
        /// Queue ID.
        id: String,
    },
    /// The DLP policy in force: its rules (the built-in ones when none are set), the
    /// dictionary's rules and the office's domains, for the panel's rules page.
    DlpPolicy,
    /// Try a text or a file against the DLP rules in force (the panel's test box): the
    /// verdict with masked findings. Nothing is queued or sent.
    DlpTry {
        /// The sample.
        sample: crate::dlp_stage::try_out::Sample,
    },
    /// A month of the relay's audit log in figures (the monthly report).
    MonthlyReport {
        /// The year.
        year: i64,
        /// The month, 1 to 12.
        month: u32,
        /// The office's offset from UTC in minutes (Japan: 540).
        #[serde(default)]
        offset_minutes: i64,
    },
    /// The dashboard's charts: messages sent, held and refused and DLP findings of the last
    /// 24 hours by hour and the last 30 days by day.
    Activity {
        /// The office's offset from UTC in minutes (Japan: 540).
        #[serde(default)]
        offset_minutes: i64,
    },
    /// Send an alert mail to the administrators of `smtp.alert_to` (the panel's watchdog).
    Alert {
        /// The subject (after `[Mamori]`).
        subject: String,
        /// The text.
        body: String,
    },
    /// The counters: received, delivered, deferred, bounced, rejected.
    Stats,
    /// State, version, settings version in force, last error.
    Health,
    /// Put a version of the settings service in force (the current one when absent).
    ApplySettings {
        /// The version.
        #[serde(default)]
        version: Option<u64>,
    },
}

impl Request for SmtpRequest {
    fn right(&self) -> Right {
        match self {
            Self::QueueList
            | Self::QueueShow { .. }
            | Self::QuarantineList
            | Self::QuarantineStats
            | Self::Stats
            | Self::DlpPolicy
            | Self::MonthlyReport { .. }
            | Self::Activity { .. }
            | Self::LinkList
            | Self::Health => Right::Read,
            // Quarantined and held mail: the approvers' work.
            Self::QuarantineRelease { .. }
            | Self::QuarantineDelete { .. }
            | Self::QuarantineReject { .. }
            | Self::QuarantineContent { .. }
            | Self::QueueHold { .. }
            | Self::QueueRelease { .. }
            | Self::LinkRevoke { .. }
            | Self::LinkManage { .. }
            | Self::TimedHold { .. } => Right::Approve,
            Self::QueueDelete { .. }
            | Self::QueueRetry
            | Self::ApplySettings { .. }
            | Self::TestRoute { .. }
            | Self::Alert { .. }
            | Self::DlpTry { .. } => Right::Admin,
        }
    }

    fn op(&self) -> &'static str {
        match self {
            Self::QueueList => "queue_list",
            Self::QueueShow { .. } => "queue_show",
            Self::QueueHold { .. } => "queue_hold",
            Self::QueueRelease { .. } => "queue_release",
            Self::QueueDelete { .. } => "queue_delete",
            Self::QueueRetry => "queue_retry",
            Self::TimedHold { .. } => "timed_hold",
            Self::LinkList => "link_list",
            Self::LinkRevoke { .. } => "link_revoke",
            Self::LinkManage { .. } => "link_manage",
            Self::QuarantineList => "quarantine_list",
            Self::QuarantineStats => "quarantine_stats",
            Self::QuarantineRelease { .. } => "quarantine_release",
            Self::QuarantineDelete { .. } => "quarantine_delete",
            Self::QuarantineReject { .. } => "quarantine_reject",
            Self::QuarantineContent { .. } => "quarantine_content",
            Self::Stats => "stats",
            Self::Health => "health",
            Self::ApplySettings { .. } => "apply_settings",
            Self::TestRoute { .. } => "test_route",
            Self::DlpPolicy => "dlp_policy",
            Self::MonthlyReport { .. } => "monthly_report",
            Self::Activity { .. } => "activity",
            Self::Alert { .. } => "alert",
            Self::DlpTry { .. } => "dlp_try",
        }
    }

    fn carries_secret(&self) -> bool {
        // A sample of personal data is a secret too: a digest of a 12-digit number could be
        // reversed by trying them all.
        matches!(
            self,
            Self::TestRoute { .. }
                | Self::DlpTry { .. }
                | Self::TimedHold { .. }
                | Self::LinkManage { .. }
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_round_trip_as_tagged_json() {
        let r = SmtpRequest::QueueShow { id: "ABC".into() };
        let text = serde_json::to_string(&r).unwrap();
        assert_eq!(text, r#"{"op":"queue_show","id":"ABC"}"#);
        assert_eq!(serde_json::from_str::<SmtpRequest>(&text).unwrap(), r);
        assert!(serde_json::from_str::<SmtpRequest>(r#"{"op":"rm_rf"}"#).is_err());
        // Each op's name is its serde tag.
        for r in [
            SmtpRequest::QueueRetry,
            SmtpRequest::QuarantineRelease { id: "A".into() },
            SmtpRequest::Health,
        ] {
            let text = serde_json::to_string(&r).unwrap();
            assert!(text.contains(&format!("\"op\":\"{}\"", r.op())), "{text}");
        }
    }
}
