//! The relay's control API: the requests its control socket takes (one JSON object per
//! line, tagged by `op`), answered with [`mamori_core::control::Response`].

use serde::{Deserialize, Serialize};

/// A request to the SMTP daemon.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum SmtpRequest {
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
    /// List the messages DLP holds in the quarantine.
    QuarantineList,
    /// What is held, and what DLP decided since the daemon started.
    QuarantineStats,
    /// Release a quarantined message for delivery (once: a second release fails).
    QuarantineRelease {
        /// Queue ID.
        id: String,
        /// Who released it, for the audit log.
        #[serde(default)]
        by: Option<String>,
    },
    /// Delete a quarantined message without delivering it.
    QuarantineDelete {
        /// Queue ID.
        id: String,
        /// Who deleted it, for the audit log.
        #[serde(default)]
        by: Option<String>,
    },
    /// The counters: received, delivered, deferred, bounced, rejected.
    Stats,
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
    }
}
