//! Relay counters, exposed on the control socket.

use std::sync::atomic::{AtomicU64, Ordering};

use serde::Serialize;

/// Monotonic counters since the daemon started.
#[derive(Debug, Default)]
pub struct Stats {
    /// Messages accepted with 250.
    pub received: AtomicU64,
    /// Recipients delivered.
    pub delivered: AtomicU64,
    /// Recipient attempts that failed temporarily.
    pub deferred: AtomicU64,
    /// Recipients that failed for good (a bounce was due).
    pub bounced: AtomicU64,
    /// Messages or recipients refused during the SMTP dialogue.
    pub rejected: AtomicU64,
}

/// A copy of the counters at one moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct StatsSnapshot {
    /// See [`Stats::received`].
    pub received: u64,
    /// See [`Stats::delivered`].
    pub delivered: u64,
    /// See [`Stats::deferred`].
    pub deferred: u64,
    /// See [`Stats::bounced`].
    pub bounced: u64,
    /// See [`Stats::rejected`].
    pub rejected: u64,
}

impl Stats {
    /// Adds one to a counter.
    pub fn bump(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// Reads every counter.
    pub fn snapshot(&self) -> StatsSnapshot {
        StatsSnapshot {
            received: self.received.load(Ordering::Relaxed),
            delivered: self.delivered.load(Ordering::Relaxed),
            deferred: self.deferred.load(Ordering::Relaxed),
            bounced: self.bounced.load(Ordering::Relaxed),
            rejected: self.rejected.load(Ordering::Relaxed),
        }
    }
}
