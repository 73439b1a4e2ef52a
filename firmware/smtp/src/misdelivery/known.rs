//! The recipient domains the office has sent to: each with the last time mail to it was
//! delivered, for the new-domain confirmation (the commonest misdelivery is a new,
//! mistyped domain). Learned from deliveries as they happen; on its first start seeded from
//! the relay's audit log (the recipients of mail DLP passed), so that the office's usual
//! partners are known on day one. Bounded (`MAX_DOMAINS`, the oldest forgotten first) and
//! written atomically (a temporary file, fsync, rename), at most once every
//! `MIN_SAVE_GAP` however fast new domains come (each write is the whole store: mail to
//! thousands of new domains, a newsletter or a hijacked account, must not write it
//! thousands of times).

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

/// The most domains kept.
pub const MAX_DOMAINS: usize = 50_000;
/// How many of the oldest are forgotten at once when the store is full: a full store
/// looks for its oldest once in this many new domains, not at each.
const FORGET_AT_ONCE: usize = MAX_DOMAINS / 64;
/// How often a refreshed time (of a domain known already) is written at most.
const SAVE_EVERY: u64 = 3600;
/// The least time between two writes for new domains, in seconds: a new domain is on
/// disk within this (a restart in between forgets it, and its next mail is confirmed as
/// a new domain's: the safe side).
pub const MIN_SAVE_GAP: u64 = 10;

/// When the store is to be written, after a delivery was remembered
/// ([`KnownDomains::remember`]). The caller that is told [`Due::Now`] or [`Due::In`] has
/// the write to itself: it must call [`KnownDomains::save_logged`] then (until it does,
/// others are told [`Due::No`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Due {
    /// Not now: nothing new, or another caller has the write.
    No,
    /// Now: a new domain (the last write long enough ago), or the hourly refresh.
    Now,
    /// In this many seconds: a new domain came within [`MIN_SAVE_GAP`] of the last write.
    In(u64),
}

/// The store.
pub struct KnownDomains {
    path: PathBuf,
    state: Mutex<State>,
    last_save: AtomicU64,
    /// Domains are in memory that are not on disk.
    unsaved: AtomicBool,
    /// A caller was told to write (now or later) and has not yet.
    claimed: AtomicBool,
    /// One write at a time (each writes the whole store through the same temporary file).
    writing: Mutex<()>,
}

struct State {
    /// Domain (lower case) → last delivery, Unix seconds.
    domains: HashMap<String, u64>,
    /// Since when the store has been learning (its creation, or its oldest seeded record).
    since: u64,
}

impl KnownDomains {
    /// Opens the store at `path`; a missing store starts now, seeded by `seed` (domain,
    /// time) pairs; a damaged line is skipped.
    pub fn open(path: &Path, now: u64, seed: impl FnOnce() -> Vec<(String, u64)>) -> Self {
        let mut state = State {
            domains: HashMap::new(),
            since: now,
        };
        match std::fs::read_to_string(path) {
            Ok(text) => {
                for line in text.lines() {
                    let mut parts = line.split_whitespace();
                    match (
                        parts.next(),
                        parts.next().and_then(|t| t.parse::<u64>().ok()),
                    ) {
                        (Some("since"), Some(t)) => state.since = t,
                        (Some(d), Some(t)) if d.contains('.') => {
                            state.domains.insert(d.to_ascii_lowercase(), t);
                        }
                        _ => {}
                    }
                }
            }
            Err(_) => {
                for (domain, at) in seed() {
                    state.since = state.since.min(at);
                    let e = state
                        .domains
                        .entry(domain.to_ascii_lowercase())
                        .or_insert(at);
                    *e = (*e).max(at);
                }
            }
        }
        let store = Self {
            path: path.to_path_buf(),
            state: Mutex::new(state),
            last_save: AtomicU64::new(0),
            unsaved: AtomicBool::new(false),
            claimed: AtomicBool::new(false),
            writing: Mutex::new(()),
        };
        if let Err(e) = store.save(now) {
            tracing::warn!(path = %path.display(), error = %e, "the known recipient domains could not be written");
        }
        store
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Has mail to `domain` been delivered within `window` seconds before `now`?
    pub fn known(&self, domain: &str, now: u64, window: u64) -> bool {
        self.state()
            .domains
            .get(&domain.to_ascii_lowercase())
            .is_some_and(|&at| at.saturating_add(window) >= now)
    }

    /// How long the store has been learning at `now`, in seconds.
    pub fn learning_for(&self, now: u64) -> u64 {
        now.saturating_sub(self.state().since)
    }

    /// Records a delivery to `domain` at `now` and writes the store at once when it holds
    /// anything not yet written (for tools and tests: the relay paces its writes with
    /// [`Self::remember`]).
    pub fn note(&self, domain: &str, now: u64) {
        self.remember(domain, now);
        self.flush(now);
    }

    /// Records a delivery to `domain` at `now` in memory only, and says when the store is
    /// to be written ([`Due`]): a new domain at once, or [`MIN_SAVE_GAP`] after the last
    /// write; a known one hourly. Cheap enough for an async task; the write is not.
    pub fn remember(&self, domain: &str, now: u64) -> Due {
        {
            let mut s = self.state();
            let domain = domain.trim_end_matches('.').to_ascii_lowercase();
            if domain.is_empty() {
                return Due::No;
            }
            if s.domains.insert(domain, now).is_none() {
                self.unsaved.store(true, Ordering::Release);
            }
            if s.domains.len() > MAX_DOMAINS {
                forget_oldest(&mut s.domains, MAX_DOMAINS - FORGET_AT_ONCE);
            }
        }
        let since = now.saturating_sub(self.last_save.load(Ordering::Acquire));
        let due = if self.unsaved.load(Ordering::Acquire) {
            match MIN_SAVE_GAP.checked_sub(since) {
                Some(wait) if wait > 0 => Due::In(wait),
                _ => Due::Now,
            }
        } else if since >= SAVE_EVERY {
            Due::Now
        } else {
            return Due::No;
        };
        // One caller has the write; the rest are covered by it.
        if self
            .claimed
            .compare_exchange(false, true, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
        {
            due
        } else {
            Due::No
        }
    }

    /// Writes the store if it holds domains not yet written (the relay stopping).
    pub fn flush(&self, now: u64) {
        if self.unsaved.load(Ordering::Acquire) {
            self.save_logged(now);
        }
    }

    /// Writes the store (atomically), logging a failure: the next delivery tries again.
    /// Ends the write a caller was told of ([`Due`]).
    pub fn save_logged(&self, now: u64) {
        if let Err(e) = self.save(now) {
            tracing::warn!(error = %e, "the known recipient domains could not be written");
        }
        self.claimed.store(false, Ordering::Release);
    }

    /// Writes the store (atomically).
    fn save(&self, now: u64) -> std::io::Result<()> {
        // Held across the snapshot and the rename: a later snapshot is never overwritten
        // by an earlier one, and the temporary file has one writer.
        let _writing = self.writing.lock().unwrap_or_else(|p| p.into_inner());
        // Cleared before the snapshot: a domain added after it marks the store again.
        self.unsaved.store(false, Ordering::Release);
        let text = {
            let s = self.state();
            let mut text = format!("since {}\n", s.since);
            let mut domains: Vec<(&String, &u64)> = s.domains.iter().collect();
            domains.sort();
            for (d, at) in domains {
                text.push_str(&format!("{d} {at}\n"));
            }
            text
        };
        let written = (|| {
            if let Some(dir) = self.path.parent() {
                std::fs::create_dir_all(dir)?;
            }
            let tmp = self.path.with_extension("tmp");
            let mut f = std::fs::File::create(&tmp)?;
            f.write_all(text.as_bytes())?;
            f.sync_all()?;
            std::fs::rename(&tmp, &self.path)
        })();
        if written.is_err() {
            // Still to be written: the next delivery tries again.
            self.unsaved.store(true, Ordering::Release);
        }
        written?;
        self.last_save.store(now, Ordering::Release);
        Ok(())
    }
}

/// Forgets the domains delivered to longest ago, keeping `keep` (ties at the cut broken
/// by name, so that the same store forgets the same domains).
fn forget_oldest(domains: &mut HashMap<String, u64>, keep: usize) {
    let Some(forget) = domains.len().checked_sub(keep).filter(|&n| n > 0) else {
        return;
    };
    let mut by_age: Vec<(u64, &String)> = domains.iter().map(|(d, &at)| (at, d)).collect();
    by_age.select_nth_unstable(forget - 1);
    let gone: Vec<String> = by_age
        .get(..forget)
        .unwrap_or_default()
        .iter()
        .map(|(_, d)| (*d).clone())
        .collect();
    for domain in gone {
        domains.remove(&domain);
    }
}

/// The recipient domains of mail DLP passed in the relay's audit log within `window`
/// seconds before `now` (each with its latest time): the first start's seed.
pub fn seed_from_audit(dir: &Path, now: u64, window: u64) -> Vec<(String, u64)> {
    let mut out: HashMap<String, u64> = HashMap::new();
    let from = now.saturating_sub(window);
    let read = mamori_core::audit::for_each_between(dir, from, now.saturating_add(1), |r| {
        if r["event"] != "dlp_verdict" {
            return;
        }
        let passed = matches!(
            r["action"].as_str(),
            Some("pass" | "log" | "tag" | "notify" | "encrypt")
        );
        let at = r["time"]
            .as_str()
            .and_then(mamori_core::clock::parse_rfc3339_utc)
            .unwrap_or(now);
        if !passed || r["generated"] == true {
            return;
        }
        for rcpt in r["recipients"].as_array().into_iter().flatten() {
            if let Some((_, domain)) = rcpt.as_str().and_then(|a| a.rsplit_once('@')) {
                let e = out.entry(domain.to_ascii_lowercase()).or_insert(at);
                *e = (*e).max(at);
            }
        }
    });
    if let Err(e) = read {
        tracing::warn!(error = %e, "the audit log could not be read to seed the known domains");
    }
    out.into_iter().collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn domains_are_learned_kept_across_a_restart_and_forgotten_after_the_window() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("known-domains");
        let k = KnownDomains::open(&path, 1000, || vec![("Partner.example.jp".into(), 900)]);
        assert!(k.known("partner.example.jp", 1000, 200));
        assert_eq!(
            k.learning_for(1000),
            100,
            "seeded back to its oldest record"
        );
        assert!(!k.known("new.example.com", 1000, 200));
        k.note("new.example.com", 1100);
        let k = KnownDomains::open(&path, 1200, Vec::new);
        assert!(k.known("NEW.example.com", 1200, 200));
        assert!(
            !k.known("partner.example.jp", 1200, 200),
            "older than the window"
        );
        assert_eq!(k.learning_for(1200), 300);
    }

    #[test]
    fn a_delivery_is_remembered_in_memory_and_the_store_is_due_for_a_new_domain_or_hourly() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k");
        let k = KnownDomains::open(&path, 1000, Vec::new);
        // Opening wrote the store at 1000: a new domain waits out the gap.
        assert_eq!(k.remember("a.example", 1000), Due::In(MIN_SAVE_GAP));
        let written = std::fs::read_to_string(&path).unwrap();
        assert!(
            !written.contains("a.example"),
            "remember writes nothing itself"
        );
        assert!(
            k.known("a.example", 1001, 100),
            "remembered before any write"
        );
        assert_eq!(
            k.remember("b.example", 1001),
            Due::No,
            "the write already told of covers it"
        );
        k.save_logged(1000 + MIN_SAVE_GAP);
        let again = KnownDomains::open(&dir.path().join("k"), 1020, Vec::new);
        assert!(again.known("b.example", 1020, 100), "both written at once");
        assert_eq!(
            k.remember("A.example.", 1011),
            Due::No,
            "known, just written"
        );
        assert_eq!(k.remember("c.example", 1010 + MIN_SAVE_GAP), Due::Now);
        k.save_logged(1010 + MIN_SAVE_GAP);
        let written_at = 1010 + MIN_SAVE_GAP;
        assert_eq!(
            k.remember("a.example", written_at + SAVE_EVERY - 1),
            Due::No
        );
        assert_eq!(
            k.remember("a.example", written_at + SAVE_EVERY),
            Due::Now,
            "an hour on"
        );
    }

    #[test]
    fn a_flood_of_new_domains_writes_the_store_once_a_gap() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k");
        let k = KnownDomains::open(&path, 1000, Vec::new);
        let mut writes = 0;
        let mut pending: Option<u64> = None;
        // Twenty new domains a second for a minute, as a newsletter to new addresses goes
        // out; the caller writes when told, as the queue does.
        for second in 0..60u64 {
            let now = 2000 + second;
            if pending.is_some_and(|at| at <= now) {
                k.save_logged(now);
                writes += 1;
                pending = None;
            }
            for i in 0..20 {
                match k.remember(&format!("d{second}-{i}.example"), now) {
                    Due::No => {}
                    Due::Now => {
                        k.save_logged(now);
                        writes += 1;
                    }
                    Due::In(wait) => {
                        assert!(pending.is_none(), "told twice of a write");
                        pending = Some(now + wait);
                    }
                }
            }
        }
        assert!(
            (60 / MIN_SAVE_GAP..=60 / MIN_SAVE_GAP + 1).contains(&writes),
            "{writes} writes"
        );
        k.flush(3000);
        let again = KnownDomains::open(&path, 3000, Vec::new);
        for second in 0..60 {
            for i in 0..20 {
                assert!(again.known(&format!("d{second}-{i}.example"), 3000, 5000));
            }
        }
    }

    #[test]
    fn a_failed_write_is_tried_again_at_the_next_delivery() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("store").join("k");
        let k = KnownDomains::open(&path, 1000, Vec::new);
        assert_eq!(k.remember("a.example", 1100), Due::Now);
        // The directory becomes a file: the write fails.
        std::fs::remove_dir_all(dir.path().join("store")).unwrap();
        std::fs::write(dir.path().join("store"), b"").unwrap();
        k.save_logged(1100);
        assert_eq!(
            k.remember("a.example", 1200),
            Due::Now,
            "still unwritten: due again"
        );
        std::fs::remove_file(dir.path().join("store")).unwrap();
        k.save_logged(1200);
        assert!(KnownDomains::open(&path, 1300, Vec::new).known("a.example", 1300, 1000));
    }

    #[test]
    fn a_full_store_forgets_the_oldest_a_batch_at_a_time() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k");
        let k = KnownDomains::open(&path, 1, Vec::new);
        {
            let mut s = k.state();
            for i in 0..MAX_DOMAINS as u64 {
                s.domains.insert(format!("d{i}.example"), 10 + i);
            }
        }
        assert_eq!(k.remember("new.example", 1_000_000), Due::Now);
        let s = k.state();
        assert_eq!(s.domains.len(), MAX_DOMAINS - FORGET_AT_ONCE);
        assert!(s.domains.contains_key("new.example"));
        for i in 0..=FORGET_AT_ONCE as u64 {
            assert!(!s.domains.contains_key(&format!("d{i}.example")), "d{i}");
        }
        assert!(
            s.domains
                .contains_key(&format!("d{}.example", FORGET_AT_ONCE + 1))
        );
        drop(s);
        // The next new domains fit without another cut.
        for i in 0..FORGET_AT_ONCE as u64 {
            k.remember(&format!("more{i}.example"), 1_000_001);
        }
        assert_eq!(k.state().domains.len(), MAX_DOMAINS);
    }

    #[test]
    fn writes_from_many_threads_leave_a_whole_store() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k");
        let k = std::sync::Arc::new(KnownDomains::open(&path, 1000, Vec::new));
        let threads: Vec<_> = (0..8)
            .map(|t| {
                let k = k.clone();
                std::thread::spawn(move || {
                    for i in 0..50 {
                        k.note(&format!("d{t}-{i}.example"), 1000 + i);
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        let again = KnownDomains::open(&path, 2000, Vec::new);
        assert_eq!(again.learning_for(2000), 1000, "the since line survived");
        for t in 0..8 {
            for i in 0..50 {
                assert!(again.known(&format!("d{t}-{i}.example"), 2000, 5000));
            }
        }
    }
}
