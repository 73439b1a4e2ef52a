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

    /// A held message of `arrived`, queued in `queue`.
    async fn queue_held(queue: &Queue, arrived: u64) -> String {
        use crate::spool::{Envelope, Recipient};
        let id = crate::spool::new_id();
        let mut env = Envelope::generated(
            id.clone(),
            "a@office.test".into(),
            vec![Recipient::new("b@client.test")],
            "mx.test",
            b"Subject: x\r\n\r\nbody\r\n",
        );
        env.arrived = arrived;
        super::super::held_by_dlp(&mut env);
        queue
            .accept(env, b"Subject: x\r\n\r\nbody\r\n".to_vec())
            .await
            .unwrap();
        id
    }

    #[tokio::test]
    async fn held_mail_past_the_period_is_erased_and_each_erasure_recorded() {
        let dir = tempfile::tempdir().unwrap();
        let spool = crate::spool::Spool::open(dir.path().join("spool")).unwrap();
        let retry = super::super::RetryPolicy {
            initial: Duration::from_secs(60),
            max: Duration::from_secs(600),
            lifetime: Duration::from_secs(3600),
        };
        let queue = Queue::open(spool, Default::default(), retry, "mx.test".into(), 100).unwrap();
        let audit = AuditLog::open(&dir.path().join("audit"), 1 << 20, 3).unwrap();
        let now = crate::datetime::unix_now();
        let old = queue_held(&queue, now - 40 * 86_400).await;
        let new = queue_held(&queue, now - 86_400).await;
        let erased = erase_expired(&queue, &audit, Duration::from_secs(30 * 86_400)).await;
        assert_eq!(erased, 1);
        assert!(queue.show(&old).is_err(), "the old one is gone");
        assert!(queue.show(&new).is_ok(), "the new one stays");
        assert!(
            !dir.path().join("spool").read_dir().unwrap().any(|e| e
                .unwrap()
                .path()
                .to_string_lossy()
                .contains(&old)),
            "and its spool files"
        );
        let log = std::fs::read_to_string(dir.path().join("audit/audit.jsonl")).unwrap();
        assert!(
            log.contains("quarantine_erased") && log.contains(&old),
            "{log}"
        );
        assert_eq!(erase_expired(&queue, &audit, Duration::ZERO).await, 0);
    }
}
