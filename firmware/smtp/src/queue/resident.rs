//! The bounded index: at most `active_limit` envelopes in memory, as Postfix's queue
//! manager keeps its active queue. A message deferred while the index is past half its
//! limit, or accepted while it is full, is *parked*: it stays in the spool with its wake
//! time on its file ([`crate::spool::Spool::set_wake`]) and leaves memory. The scheduler
//! scans the spool for parked messages coming due and brings back as many as there is
//! room for; an administrator's action on a parked message loads it at once. Memory stays
//! flat however long the queue grows, and a start reads no envelope before it listens.

use std::sync::atomic::Ordering;

use super::{Entry, Queue};
use crate::spool::Envelope;

/// A parked message due within this many seconds comes back with a scan (the scheduler
/// then starts it on time), so scans are needed at most about this often.
pub(super) const LOOKAHEAD: u64 = 60;

/// No parked message is known to wake (the atomics' "none").
pub(super) const NO_WAKE: u64 = u64::MAX;

/// Scans at most this often while parked messages are due and the index has room.
const MIN_SCAN_GAP_SECS: u64 = 1;

impl Queue {
    /// Makes message `id` resident (loads it from the spool if it is parked). `false`
    /// when the spool has no such message.
    pub(super) fn ensure_resident(&self, id: &str) -> bool {
        if self.entries().contains_key(id) {
            return true;
        }
        if !crate::spool::valid_id(id) {
            return false;
        }
        let env = match self.inner.spool.load_one(id) {
            Ok(env) => env,
            Err(e) if e.is_missing() => return false,
            Err(e) => {
                tracing::error!(queue_id = %id, error = %e, "a parked message could not be read");
                return false;
            }
        };
        self.insert_loaded(env);
        true
    }

    /// Puts an envelope read from the spool into the index (unless a scan or an action
    /// brought it back meanwhile).
    fn insert_loaded(&self, env: Envelope) {
        let mut entries = self.entries();
        if entries.contains_key(&env.id) {
            return;
        }
        entries.insert(
            env.id.clone(),
            Entry {
                env,
                in_flight: 0,
                deleted: false,
            },
        );
        self.unpark_one();
    }

    /// One parked message fewer (brought back, or gone from the spool).
    fn unpark_one(&self) {
        let _ = self
            .inner
            .parked
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1));
    }

    /// Records that a message stays in the spool only, waking at `wake`.
    pub(super) fn note_parked(&self, wake: u64) {
        self.inner.parked.fetch_add(1, Ordering::Relaxed);
        if wake < crate::spool::HELD_WAKE {
            self.inner.parked_wake.fetch_min(wake, Ordering::Relaxed);
        }
    }

    /// Records that parked mail is due at `at` (an administrator's "retry all").
    pub(super) fn note_wake(&self, at: u64) {
        self.inner.parked_wake.fetch_min(at, Ordering::Relaxed);
    }

    /// Whether a message just deferred should leave memory: the index is past half its
    /// limit, so room stays for mail that is due and mail that arrives.
    pub(super) fn should_park(&self, resident: usize) -> bool {
        resident > self.inner.active_limit / 2
    }

    /// How many envelopes are in memory.
    pub(super) fn resident(&self) -> usize {
        self.entries().len()
    }

    /// How many queued messages have their envelope in memory (deleted ones excepted).
    pub fn resident_count(&self) -> usize {
        self.entries().values().filter(|e| !e.deleted).count()
    }

    /// The room a scan may fill, when it is worth one: refills come in batches (a quarter
    /// of the limit, or all that is parked), not one scan per message delivered while a
    /// backlog drains.
    pub(super) fn scan_room(&self) -> Option<usize> {
        let resident = self.resident();
        let room = self.inner.active_limit.saturating_sub(resident);
        let parked = self.inner.parked.load(Ordering::Relaxed);
        let batch = (self.inner.active_limit / 4).min(parked).max(1);
        (room > 0 && (room >= batch || resident == 0)).then_some(room)
    }

    /// Whether new mail fits in the index.
    pub(super) fn has_room(&self, resident: usize) -> bool {
        resident < self.inner.active_limit
    }

    /// How many messages the queue holds, in memory and parked: the spool's own count (a
    /// directory listing, no file read), as the parked count kept in memory is a hint that
    /// concurrent scans and deferrals may leave slightly off until the next scan.
    pub fn len(&self) -> usize {
        match self.inner.spool.count() {
            Ok(n) => n,
            Err(e) => {
                tracing::warn!(error = %e, "counting the spool failed");
                self.resident() + self.parked_count()
            }
        }
    }

    /// True when nothing is queued.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// How many messages are parked in the spool, out of memory (kept as messages are
    /// parked and brought back; set again by each scan).
    pub fn parked_count(&self) -> usize {
        self.inner.parked.load(Ordering::Relaxed)
    }

    /// When the scheduler should scan the spool next (Unix seconds), if ever.
    pub(super) fn next_scan(&self) -> Option<u64> {
        let wake = self.inner.parked_wake.load(Ordering::Relaxed);
        (wake != NO_WAKE).then(|| {
            wake.saturating_sub(LOOKAHEAD)
                .max(self.inner.last_scan.load(Ordering::Relaxed) + MIN_SCAN_GAP_SECS)
        })
    }

    /// Brings parked messages due by `now + LOOKAHEAD` back into memory, as many as there
    /// is room for, if a scan is due. Blocking (directory and file reads): run it on a
    /// blocking thread.
    pub(super) fn refill(&self, now: u64) {
        match self.next_scan() {
            Some(at) if at <= now => {}
            _ => return,
        }
        let Some(room) = self.scan_room() else {
            return;
        };
        self.inner.last_scan.store(now, Ordering::Relaxed);
        // Taken before the scan: a message parked while it runs lowers it again.
        self.inner.parked_wake.store(NO_WAKE, Ordering::Relaxed);
        let is_resident = |id: &str| self.entries().contains_key(id);
        let scan = match self
            .inner
            .spool
            .scan_parked(now + LOOKAHEAD, room, &is_resident)
        {
            Ok(scan) => scan,
            Err(e) => {
                tracing::error!(error = %e, "scanning the spool for parked mail failed");
                self.inner
                    .parked_wake
                    .fetch_min(now + 60, Ordering::Relaxed);
                return;
            }
        };
        self.inner.parked.store(scan.parked, Ordering::Relaxed);
        if let Some(wake) = scan.next_wake {
            self.inner.parked_wake.fetch_min(wake, Ordering::Relaxed);
        }
        let mut loaded = 0usize;
        for id in &scan.due {
            match self.inner.spool.load_one(id) {
                // The file's time was early (a spool from before wake times, a crash
                // before the time was set): put it right and leave it parked.
                Ok(env) if env.wake_at() > now + LOOKAHEAD => {
                    let _ = self.inner.spool.set_wake(id, env.wake_at());
                    if env.held.is_none() {
                        self.inner
                            .parked_wake
                            .fetch_min(env.wake_at(), Ordering::Relaxed);
                    }
                }
                Ok(env) => {
                    self.insert_loaded(env);
                    loaded += 1;
                }
                // Delivered or deleted since the listing.
                Err(e) if e.is_missing() => self.unpark_one(),
                Err(e) => {
                    tracing::error!(queue_id = %id, error = %e, "unreadable spool file left in place");
                }
            }
        }
        if scan.due.len() == room {
            // More may be due than there was room for: look again once room is made.
            self.inner.parked_wake.fetch_min(now, Ordering::Relaxed);
        }
        if loaded > 0 || scan.parked > 0 {
            tracing::debug!(
                loaded,
                parked = self.parked_count(),
                "spool scanned for parked mail"
            );
        }
    }

    /// Every parked message's envelope (for listings), held ones only if `held_only`.
    pub(super) fn parked_envelopes(&self, held_only: bool) -> Vec<Envelope> {
        // Before an old spool has its wake times, held mail is found by reading every file.
        let by_time = held_only && self.inner.spool.wake_times_kept();
        let is_resident = |id: &str| self.entries().contains_key(id);
        let ids = match self.inner.spool.parked(&is_resident, by_time) {
            Ok(ids) => ids,
            Err(e) => {
                tracing::error!(error = %e, "listing parked mail failed");
                return Vec::new();
            }
        };
        ids.into_iter()
            .filter_map(|(id, _)| self.inner.spool.load_one(&id).ok())
            .filter(|env| !held_only || env.held.is_some())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::time::Duration;

    use super::super::Outcome;
    use super::*;
    use crate::spool::{Recipient, Spool};

    const CONTENT: &[u8] = b"Subject: x\r\n\r\nbody\r\n";

    fn queue(dir: &std::path::Path, limit: usize) -> Queue {
        super::super::test_queue(dir, limit)
    }

    fn envelope(held: bool) -> Envelope {
        let mut env = Envelope::generated(
            crate::spool::new_id(),
            "a@office.test".into(),
            vec![Recipient::new("b@client.test")],
            "mx.test",
            CONTENT,
        );
        if held {
            super::super::held_by_dlp(&mut env);
        }
        env
    }

    /// Hands out what is due, as the scheduler does, with a scan first (the clock stands
    /// still here: the pause between scans is skipped).
    fn due(q: &Queue, now: u64) -> Vec<super::super::Job> {
        q.inner.last_scan.store(0, Ordering::Relaxed);
        q.refill(now);
        q.take_due(now).0
    }

    #[tokio::test]
    async fn a_queue_longer_than_the_limit_keeps_the_limit_in_memory_and_delivers_each_once() {
        let dir = tempfile::tempdir().unwrap();
        let q = queue(dir.path(), 4);
        for _ in 0..10 {
            q.accept(envelope(false), CONTENT.to_vec()).await.unwrap();
        }
        assert_eq!(q.resident(), 4);
        assert_eq!(q.len(), 10, "the six past the limit are counted on disk");
        assert_eq!(q.list().len(), 10, "and listed");

        // A first round fails everywhere: what is deferred leaves memory past half the
        // limit, and what waited on disk comes back.
        let mut now = crate::datetime::unix_now();
        let mut attempts: HashMap<String, usize> = HashMap::new();
        for _ in 0..4 {
            for job in due(&q, now) {
                *attempts.entry(job.id.clone()).or_default() += 1;
                let out = vec![(
                    job.recipients[0].address.clone(),
                    Outcome::Deferred {
                        reason: "421 try later".into(),
                    },
                )];
                q.complete(&job.id, out).await;
                assert!(q.resident() <= 4);
            }
        }
        assert_eq!(attempts.len(), 10, "every message was tried: {attempts:?}");
        assert!(
            attempts.values().all(|&n| n == 1),
            "once each: {attempts:?}"
        );
        assert_eq!(q.len(), 10);
        assert!(q.parked_count() >= 6, "parked: {}", q.parked_count());

        // Nothing is due before the retry time, then everything is, and is delivered once.
        assert!(due(&q, now + 1).is_empty());
        now += 601;
        let mut delivered: HashMap<String, usize> = HashMap::new();
        for _ in 0..20 {
            for job in due(&q, now) {
                *delivered.entry(job.id.clone()).or_default() += 1;
                let out = vec![(
                    job.recipients[0].address.clone(),
                    Outcome::Delivered {
                        reply: "250 ok".into(),
                    },
                )];
                q.complete(&job.id, out).await;
            }
        }
        assert_eq!(delivered.len(), 10, "{delivered:?}");
        assert!(delivered.values().all(|&n| n == 1), "{delivered:?}");
        assert_eq!(q.len(), 0);
        assert!(q.list().is_empty());
        let left = std::fs::read_dir(dir.path().join("spool/msg"))
            .unwrap()
            .count();
        assert_eq!(left, 0, "the spool is empty");
    }

    #[tokio::test]
    async fn after_a_restart_parked_and_held_mail_is_found_on_disk() {
        let dir = tempfile::tempdir().unwrap();
        let (mut held, mut plain) = (Vec::new(), Vec::new());
        {
            let q = queue(dir.path(), 100);
            for i in 0..12 {
                let env = envelope(i % 3 == 0);
                if i % 3 == 0 { &mut held } else { &mut plain }.push(env.id.clone());
                q.accept(env, CONTENT.to_vec()).await.unwrap();
            }
        }
        let q = queue(dir.path(), 4);
        // Before any scan, listings read the disk.
        assert_eq!(q.list().len(), 12);
        assert_eq!(q.quarantined().len(), 4);
        q.load_due();
        assert!(q.resident() <= 4, "resident: {}", q.resident());
        assert_eq!(q.len(), 12);
        let ids: Vec<String> = q.quarantined().into_iter().map(|s| s.id).collect();
        assert_eq!(
            ids.len(),
            4,
            "every held message, in memory or not: {ids:?}"
        );
        for id in &held {
            assert!(ids.contains(id));
        }
        // An administrator's action reaches a parked message.
        let parked_held = held
            .iter()
            .find(|id| !q.entries().contains_key(*id))
            .cloned();
        if let Some(id) = parked_held {
            assert!(q.show(&id).is_ok());
            let before = q.release_held(&id).await.unwrap();
            assert!(before.held.is_some());
            assert!(q.show(&id).unwrap().held.is_none());
        }
        assert!(q.show("NOSUCHID").is_err());
        assert!(q.show("../../etc/passwd").is_err());
        let parked_plain = plain
            .iter()
            .find(|id| !q.entries().contains_key(*id))
            .cloned()
            .expect("some plain mail is parked with a limit of 4");
        q.delete(&parked_plain).await.unwrap();
        assert!(q.show(&parked_plain).is_err());
        assert_eq!(q.len(), 11);
    }

    #[tokio::test]
    async fn a_spool_from_before_wake_times_gets_them_once() {
        let dir = tempfile::tempdir().unwrap();
        let held_id;
        {
            let q = queue(dir.path(), 100);
            let env = envelope(true);
            held_id = env.id.clone();
            q.accept(env, CONTENT.to_vec()).await.unwrap();
            q.accept(envelope(false), CONTENT.to_vec()).await.unwrap();
        }
        // As the previous release left it: no mark, each file timed at its writing.
        let spool = dir.path().join("spool");
        std::fs::remove_file(spool.join("wake-times")).unwrap();
        let old = std::time::SystemTime::now() - Duration::from_secs(3600);
        for entry in std::fs::read_dir(spool.join("msg")).unwrap() {
            let f = std::fs::File::open(entry.unwrap().path()).unwrap();
            f.set_modified(old).unwrap();
        }
        let s = Spool::open(&spool).unwrap();
        assert!(!s.wake_times_kept());
        // Until it has them, held mail is found by reading every file.
        let q = queue(dir.path(), 100);
        assert_eq!(q.quarantined().len(), 1);
        assert_eq!(s.keep_wake_times().unwrap(), 2);
        assert!(s.wake_times_kept());
        let parked = s.parked(&|_| false, true).unwrap();
        assert_eq!(parked.len(), 1);
        assert_eq!(parked[0].0, held_id);
        assert_eq!(s.keep_wake_times().unwrap(), 0, "once");
        // The scan brings back the plain one only; the held one stays listed.
        q.load_due();
        assert_eq!(q.resident(), 1);
        assert_eq!(q.quarantined().len(), 1);
    }

    #[test]
    fn a_scan_keeps_the_earliest_due_within_its_room_and_says_when_the_next_wakes() {
        let dir = tempfile::tempdir().unwrap();
        let spool = Spool::open(dir.path()).unwrap();
        let mut ids = Vec::new();
        for i in 0..10u64 {
            let mut env = envelope(i == 9);
            env.arrived = 1000;
            env.next_attempt = 1000 + i * 10;
            spool.store(&env, CONTENT).unwrap();
            ids.push(env.id);
        }
        let scan = spool.scan_parked(1045, 3, &|_| false).unwrap();
        assert_eq!(scan.parked, 10);
        assert_eq!(scan.due, ids[..3].to_vec(), "the earliest first");
        assert_eq!(scan.next_wake, Some(1030), "the first left behind");
        let resident = |id: &str| id == ids[0];
        let scan = spool.scan_parked(1045, 10, &resident).unwrap();
        assert_eq!(scan.parked, 9);
        assert_eq!(scan.due, ids[1..5].to_vec());
        assert_eq!(scan.next_wake, Some(1050), "the held one never wakes");
    }
}
