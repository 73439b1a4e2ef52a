//! The quarantine's retention: mail DLP holds carries personal data, and an office should
//! not keep it longer than it needs (the Act on the Protection of Personal Information asks
//! that data no longer needed be erased). A held message older than
//! `smtp.quarantine_retention` is erased unsent; each erasure is recorded in the audit log
//! before the message goes.

use std::sync::Arc;
use std::time::Duration;

use mamori_core::audit::AuditLog;

use super::{QuarantineSummary, Queue};

/// How often the quarantine is looked at.
pub const CHECK_EVERY: Duration = Duration::from_secs(600);

/// The held messages past `retention` at `now` (none when `retention` is zero: kept until
/// someone decides).
pub fn expired(
    held: &[QuarantineSummary],
    retention: Duration,
    now: u64,
) -> Vec<&QuarantineSummary> {
    let keep = retention.as_secs();
    if keep == 0 {
        return Vec::new();
    }
    held.iter()
        .filter(|m| now.saturating_sub(m.arrived) >= keep)
        .collect()
}

/// Erases the held messages past `retention` now; returns how many went. A message whose
/// erasure cannot be recorded stays.
pub async fn erase_expired(queue: &Queue, audit: &AuditLog, retention: Duration) -> usize {
    let now = crate::datetime::unix_now();
    let held = queue.quarantined();
    let mut erased = 0;
    for m in expired(&held, retention, now) {
        let record = serde_json::json!({
            "queue_id": m.id,
            "rule": m.rule,
            "arrived": m.arrived,
            "sender": m.from,
            "recipients": m.recipients.len(),
            "retention_days": retention.as_secs() / 86_400,
            "by": "retention",
        });
        if let Err(e) = audit.record("quarantine_erased", record) {
            tracing::error!(queue_id = %m.id, error = %e, "the erasure cannot be recorded; the message stays");
            continue;
        }
        match queue.delete(&m.id).await {
            Ok(()) => {
                erased += 1;
                tracing::info!(queue_id = %m.id, "held past the retention period: erased unsent");
            }
            Err(e) => {
                tracing::error!(queue_id = %m.id, error = %e, "erasing a held message failed")
            }
        }
    }
    erased
}

/// Runs [`erase_expired`] every [`CHECK_EVERY`] with the retention `current` gives (the
/// settings in force may change).
pub async fn run<F, Fut>(queue: Queue, audit: Arc<AuditLog>, current: F)
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = Duration>,
{
    let mut every = tokio::time::interval(CHECK_EVERY);
    loop {
        every.tick().await;
        erase_expired(&queue, &audit, current().await).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn held(id: &str, arrived: u64) -> QuarantineSummary {
        QuarantineSummary {
            id: id.into(),
            from: "a@office.test".into(),
            recipients: vec!["b@client.test".into()],
            size: 10,
            arrived,
            held: "DLP".into(),
            rule: Some("r".into()),
            findings: 1,
            problems: 0,
        }
    }

    #[test]
    fn only_mail_past_the_period_expires_and_zero_keeps_all() {
        let day = 86_400;
        let now = 100 * day;
        let list = [
            held("OLD", now - 31 * day),
            held("EDGE", now - 30 * day),
            held("NEW", now - day),
        ];
        let ids = |v: Vec<&QuarantineSummary>| v.iter().map(|m| m.id.clone()).collect::<Vec<_>>();
        assert_eq!(
            ids(expired(&list, Duration::from_secs(30 * day), now)),
            ["OLD", "EDGE"]
        );
        assert!(expired(&list, Duration::ZERO, now).is_empty());
        // A clock set back does not erase anything.
        assert!(expired(&list, Duration::from_secs(day), 0).is_empty());
    }
}
