//! Wake times on disk: each message file's modification time is when the queue must next
//! look at it (its next attempt, or [`HELD_WAKE`] while held), as Postfix does with its
//! deferred queue. The queue keeps only a bounded number of envelopes in memory; the rest
//! are found here, by a directory scan that reads file times and no content, when they
//! come due. The time is a hint: the envelope decides, and a scan corrects a wrong time
//! (a spool written before wake times were kept has each file's arrival time, so every
//! message in it is simply looked at once).

use std::collections::BinaryHeap;
use std::fs::{self, File};
use std::time::{Duration, UNIX_EPOCH};

use super::{HELD_WAKE, Spool, SpoolError, io_err, valid_id};

/// The spool's mark that every message file carries its wake time (a spool written by a
/// release before them gets them once, at the first start, before the mark is made).
const WAKE_MARK: &str = "wake-times";

/// What a scan of the spool found among the messages the queue does not hold in memory.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct ParkedScan {
    /// Those whose wake time is at or before the scan's horizon, earliest first, at most
    /// the room the queue has.
    pub due: Vec<String>,
    /// How many there are in all (`due` included).
    pub parked: usize,
    /// The earliest wake time of those left on disk that are not held (`None`: none).
    pub next_wake: Option<u64>,
}

/// A file's time as Unix seconds (0 when it cannot be read: looked at at once).
fn file_secs(meta: &fs::Metadata) -> u64 {
    meta.modified()
        .ok()
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_secs())
}

impl Spool {
    /// Whether every message file carries its wake time (so held mail is told from its
    /// file's time alone).
    pub fn wake_times_kept(&self) -> bool {
        self.root.join(WAKE_MARK).exists()
    }

    /// Marks a spool that holds no message yet as keeping wake times.
    pub(super) fn mark_wake_times_if_empty(&self) -> Result<(), SpoolError> {
        let dir = self.root.join("msg");
        let empty = fs::read_dir(&dir)
            .map_err(io_err("read", &dir))?
            .next()
            .is_none();
        if empty && !self.wake_times_kept() {
            let mark = self.root.join(WAKE_MARK);
            File::create(&mark).map_err(io_err("create", &mark))?;
        }
        Ok(())
    }

    /// Gives every message of a spool written before wake times its wake time (from its
    /// envelope), then marks the spool. Returns how many were set; nothing to do on a
    /// marked spool.
    pub fn keep_wake_times(&self) -> Result<usize, SpoolError> {
        if self.wake_times_kept() {
            return Ok(0);
        }
        let mut n = 0;
        for (id, _) in self.parked(&|_| false, false)? {
            match self.load_one(&id) {
                Ok(env) => {
                    self.set_wake(&id, env.wake_at())?;
                    n += 1;
                }
                Err(e) => {
                    tracing::error!(queue_id = %id, error = %e, "unreadable spool file left in place")
                }
            }
        }
        let mark = self.root.join(WAKE_MARK);
        File::create(&mark).map_err(io_err("create", &mark))?;
        tracing::info!(
            messages = n,
            "spool from an earlier release: wake times recorded"
        );
        Ok(n)
    }

    /// Records when the queue must next look at message `id` (Unix seconds).
    pub fn set_wake(&self, id: &str, at: u64) -> Result<(), SpoolError> {
        let path = self.msg_path(id);
        let time = UNIX_EPOCH + Duration::from_secs(at);
        File::open(&path)
            .and_then(|f| f.set_modified(time))
            .map_err(io_err("set the time of", &path))
    }

    /// Calls `visit` with the ID and wake time of each message not `resident` in the
    /// queue's memory (a directory listing and one `stat` each; no file is read).
    fn each_parked(
        &self,
        resident: &dyn Fn(&str) -> bool,
        mut visit: impl FnMut(&str, u64),
    ) -> Result<(), SpoolError> {
        let dir = self.root.join("msg");
        for entry in fs::read_dir(&dir).map_err(io_err("read", &dir))?.flatten() {
            let name = entry.file_name();
            let Some(id) = name.to_str().filter(|id| valid_id(id)) else {
                continue;
            };
            if resident(id) {
                continue;
            }
            // Gone since the listing (delivered, deleted): skipped.
            if let Ok(meta) = entry.metadata() {
                visit(id, file_secs(&meta));
            }
        }
        Ok(())
    }

    /// Scans the spool for messages not `resident` in the queue's memory: at most `room`
    /// of those due by `horizon` (earliest first), how many there are, and when the next
    /// of the rest wakes. Memory stays bounded by `room`, however many are parked.
    pub fn scan_parked(
        &self,
        horizon: u64,
        room: usize,
        resident: &dyn Fn(&str) -> bool,
    ) -> Result<ParkedScan, SpoolError> {
        // The `room` earliest due, in a max-heap: the latest of them leaves first.
        let mut earliest: BinaryHeap<(u64, String)> = BinaryHeap::with_capacity(room.min(4096));
        let mut scan = ParkedScan::default();
        let later = |at: u64, scan: &mut ParkedScan| {
            if at < HELD_WAKE {
                scan.next_wake = Some(scan.next_wake.map_or(at, |n| n.min(at)));
            }
        };
        self.each_parked(resident, |id, at| {
            scan.parked += 1;
            if at > horizon {
                later(at, &mut scan);
                return;
            }
            earliest.push((at, id.to_string()));
            if earliest.len() > room
                && let Some((at, _)) = earliest.pop()
            {
                later(at, &mut scan);
            }
        })?;
        scan.due = earliest
            .into_sorted_vec()
            .into_iter()
            .map(|(_, id)| id)
            .collect();
        Ok(scan)
    }

    /// How many messages the spool holds (a directory listing; no file is read).
    pub fn count(&self) -> Result<usize, SpoolError> {
        let dir = self.root.join("msg");
        Ok(fs::read_dir(&dir)
            .map_err(io_err("read", &dir))?
            .flatten()
            .filter(|e| e.file_name().to_str().is_some_and(valid_id))
            .count())
    }

    /// Every message not `resident` in the queue's memory, with its wake time; `held_only`
    /// keeps those parked while held. For listings, which show every message anyway.
    pub fn parked(
        &self,
        resident: &dyn Fn(&str) -> bool,
        held_only: bool,
    ) -> Result<Vec<(String, u64)>, SpoolError> {
        let mut out = Vec::new();
        self.each_parked(resident, |id, at| {
            if !held_only || at >= HELD_WAKE {
                out.push((id.to_string(), at));
            }
        })?;
        Ok(out)
    }

    /// Makes every parked message that is not held due at `now` (an administrator's
    /// "retry all"). Returns how many.
    pub fn wake_parked(
        &self,
        now: u64,
        resident: &dyn Fn(&str) -> bool,
    ) -> Result<usize, SpoolError> {
        let mut n = 0;
        for (id, at) in self.parked(resident, false)? {
            if at < HELD_WAKE && at > now && self.set_wake(&id, now).is_ok() {
                n += 1;
            }
        }
        Ok(n)
    }
}
