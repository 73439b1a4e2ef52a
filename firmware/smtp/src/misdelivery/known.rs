//! The recipient domains the office has sent to: each with the last time mail to it was
//! delivered, for the new-domain confirmation (the commonest misdelivery is a new,
//! mistyped domain). Learned from deliveries as they happen; on its first start seeded from
//! the relay's audit log (the recipients of mail DLP passed), so that the office's usual
//! partners are known on day one. Bounded (`MAX_DOMAINS`, the oldest forgotten first) and
//! written atomically (a temporary file, fsync, rename).

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

/// The most domains kept.
pub const MAX_DOMAINS: usize = 50_000;
/// How often a refreshed time (of a domain known already) is written at most.
const SAVE_EVERY: u64 = 3600;

/// The store.
pub struct KnownDomains {
    path: PathBuf,
    state: Mutex<State>,
    last_save: AtomicU64,
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

    /// Records a delivery to `domain` at `now`; written at once for a new domain, at most
    /// hourly for a known one.
    pub fn note(&self, domain: &str, now: u64) {
        if self.remember(domain, now) {
            self.save_logged(now);
        }
    }

    /// Records a delivery to `domain` at `now` in memory only: whether the store is now
    /// due to be written ([`Self::save_logged`]): a new domain, or an hour since the last
    /// write. Cheap enough for an async task; the write is not.
    pub fn remember(&self, domain: &str, now: u64) -> bool {
        let new = {
            let mut s = self.state();
            let domain = domain.trim_end_matches('.').to_ascii_lowercase();
            if domain.is_empty() {
                return false;
            }
            let new = s.domains.insert(domain, now).is_none();
            if s.domains.len() > MAX_DOMAINS {
                // Forget the one delivered to longest ago.
                if let Some(oldest) = s
                    .domains
                    .iter()
                    .min_by_key(|(_, at)| **at)
                    .map(|(d, _)| d.clone())
                {
                    s.domains.remove(&oldest);
                }
            }
            new
        };
        new || now.saturating_sub(self.last_save.load(Ordering::Relaxed)) >= SAVE_EVERY
    }

    /// Writes the store (atomically), logging a failure: the next delivery tries again.
    pub fn save_logged(&self, now: u64) {
        if let Err(e) = self.save(now) {
            tracing::warn!(error = %e, "the known recipient domains could not be written");
        }
    }

    /// Writes the store (atomically).
    fn save(&self, now: u64) -> std::io::Result<()> {
        // Held across the snapshot and the rename: a later snapshot is never overwritten
        // by an earlier one, and the temporary file has one writer.
        let _writing = self.writing.lock().unwrap_or_else(|p| p.into_inner());
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
        if let Some(dir) = self.path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let tmp = self.path.with_extension("tmp");
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(text.as_bytes())?;
        f.sync_all()?;
        std::fs::rename(&tmp, &self.path)?;
        self.last_save.store(now, Ordering::Relaxed);
        Ok(())
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
        assert!(
            k.remember("a.example", 1000),
            "a new domain is written at once"
        );
        let written = std::fs::read_to_string(&path).unwrap();
        assert!(
            !written.contains("a.example"),
            "remember writes nothing itself"
        );
        k.save_logged(1000);
        assert!(!k.remember("A.example.", 1001), "known, saved a second ago");
        assert!(
            k.known("a.example", 1001, 100),
            "remembered before any write"
        );
        assert!(k.remember("a.example", 1000 + SAVE_EVERY), "an hour on");
        assert!(k.remember("b.example", 1002), "another new domain");
        k.save_logged(1002);
        let again = KnownDomains::open(&path, 1003, Vec::new);
        assert!(again.known("b.example", 1003, 100));
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
