//! The scheduler: turns due messages into per-domain jobs for the pacer.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use super::pacing::Pacer;
use super::{Job, Queue};

/// Longest the scheduler sleeps without looking (a safety net; wake-ups are explicit).
const MAX_IDLE: Duration = Duration::from_secs(60);

/// The held companions of `spool` whose message is not held any more: each with whether
/// that message is gone from the spool altogether.
fn orphan_companions(spool: &crate::spool::Spool) -> Vec<(String, bool)> {
    let held = match spool.parked(&|_: &str| false, true) {
        Ok(h) => h,
        Err(e) => {
            tracing::warn!(error = %e, "listing held mail failed");
            return Vec::new();
        }
    };
    held.into_iter()
        .filter_map(|(id, _)| {
            let env = spool.load_one(&id).ok()?;
            let parent = env.companion_of?;
            match spool.load_one(&parent) {
                Ok(p) if p.held.is_some() => None,
                Ok(_) => Some((id, false)),
                Err(e) if e.is_missing() => Some((id, true)),
                Err(_) => None,
            }
        })
        .collect()
}

impl Queue {
    /// Takes every due message, marks it in flight and splits its pending recipients by
    /// domain. Also returns the Unix time of the next message that will fall due.
    pub(crate) fn take_due(&self, now: u64) -> (Vec<Job>, Option<u64>) {
        let mut jobs = Vec::new();
        let mut next: Option<u64> = None;
        let mut entries = self.entries();
        for e in entries.values_mut() {
            if e.in_flight > 0
                || e.deleted
                || e.env.held.is_some()
                || e.env.pending().next().is_none()
            {
                continue;
            }
            if e.env.next_attempt > now {
                next = Some(next.map_or(e.env.next_attempt, |n| n.min(e.env.next_attempt)));
                continue;
            }
            let mut by_domain: BTreeMap<String, Vec<_>> = BTreeMap::new();
            for r in e.env.pending() {
                let domain = crate::address::domain_of(&r.address).unwrap_or_default();
                by_domain.entry(domain).or_default().push(r.clone());
            }
            e.env.attempts += 1;
            e.in_flight = by_domain.len();
            for (domain, recipients) in by_domain {
                jobs.push(Job {
                    id: e.env.id.clone(),
                    domain,
                    mail_from: e.env.mail_from.clone(),
                    recipients,
                    envid: e.env.envid.clone(),
                    ret: e.env.ret,
                    internal: e.env.internal,
                    smtputf8: e.env.smtputf8,
                    size: e.env.size,
                });
            }
        }
        // Oldest first, so a backlog drains in arrival order.
        jobs.sort_by(|a, b| a.id.cmp(&b.id));
        (jobs, next)
    }

    /// Runs forever: hands due jobs to `pacer`, sleeping until the next is due or the
    /// queue is woken (new mail, release, retry, a job completed).
    pub async fn run_scheduler(self, pacer: Arc<Pacer>) {
        // First: clear delivery states left by a crash, and give the files of a spool
        // from an earlier release their wake times.
        let spool = self.spool().clone();
        let orphans = tokio::task::spawn_blocking(move || {
            if let Err(e) = spool.remove_orphan_states() {
                tracing::warn!(error = %e, "clearing stale delivery states failed");
            }
            if let Err(e) = spool.keep_wake_times() {
                tracing::error!(error = %e, "recording wake times failed");
            }
            orphan_companions(&spool)
        })
        .await
        .unwrap_or_default();
        // Held companions whose message is no longer held (a crash between the message's
        // release and theirs) go now. Those whose message is gone — never committed, or
        // delivered before the crash — stay held for an administrator: sending them could
        // send what was never accepted, deleting them could lose what was.
        for (id, parent_gone) in orphans {
            if parent_gone {
                tracing::warn!(queue_id = %id, "a held companion whose message is gone: held until an administrator releases or deletes it");
            } else if let Err(e) = self.release(&id).await {
                tracing::error!(queue_id = %id, error = %e, "releasing a companion failed");
            }
        }
        loop {
            let now = crate::datetime::unix_now();
            if self.next_scan().is_some_and(|at| at <= now) && self.scan_room().is_some() {
                let queue = self.clone();
                let _ = tokio::task::spawn_blocking(move || queue.refill(now)).await;
            }
            // Timed holds that are over leave now (each once: a link may have ended it).
            let (over, hold_next) = self.expired_holds(now);
            for (id, action) in over {
                if let Err(e) = self.end_timed_hold(&id, None, action).await {
                    tracing::debug!(queue_id = %id, error = %e, "timed hold already ended");
                }
            }
            let (jobs, mut next) = self.take_due(now);
            if let Some(h) = hold_next {
                next = Some(next.map_or(h, |n| n.min(h)));
            }
            if let Some(scan) = self.next_scan().filter(|_| self.scan_room().is_some()) {
                next = Some(next.map_or(scan, |n| n.min(scan)));
            }
            for job in jobs {
                pacer.submit(job);
            }
            let sleep = next
                .map(|n| Duration::from_secs(n.saturating_sub(now)).max(Duration::from_millis(200)))
                .unwrap_or(MAX_IDLE)
                .min(MAX_IDLE);
            let _ = tokio::time::timeout(sleep, self.inner.wake.notified()).await;
        }
    }
}
