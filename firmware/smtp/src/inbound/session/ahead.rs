//! Scanning a large message's parts while the rest of it arrives.
//!
//! A message streams to the spool's temporary file during DATA. Each top-level part whose
//! end has arrived (and been written) is walked and scanned on a worker thread of the
//! session's own ([`mamori_dlp::Inspector::scan_ahead`]), reading the part from the file,
//! and what its texts gave is kept in a [`ScanMemo`]. The inspection after DATA is the
//! whole-message walk as ever, taking the scan of each text the memo holds from it: the
//! client's wait after its final dot is the scan of what arrived last, not of all of it,
//! and the report is the one the whole-message scan gives (see [`mamori_dlp::memo`]).
//!
//! Scanning ahead only uses what is spare: a part is scanned only if a scan slot (one per
//! processor core, shared with the inspections) and its memory share are free at once;
//! otherwise it is left to the inspection. Parts still waiting when DATA ends are left to
//! it too; the one being scanned is finished first (it is then taken from the memo).

use std::ops::Range;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;

use mamori_dlp::mime::PartSplitter;
use mamori_dlp::{Inspector, ScanMemo};
use tokio::sync::Semaphore;

use super::data::{EXPANSION_RATIO, MemoryGrant};
use crate::spool::SpoolWriter;
use crate::spool::map::{ScratchStore, SpoolReader};

/// What a worker needs besides the parts: the inspector, and the box's shared slots.
struct Shared {
    inspector: Arc<Inspector>,
    scans: Arc<Semaphore>,
    memory: Arc<Semaphore>,
    /// The most one scan may hold, and may expand archives to.
    pool: u64,
    expansion: u64,
    stop: Arc<AtomicBool>,
}

/// The scanning ahead of one DATA transfer.
pub(super) struct ScanAhead {
    splitter: PartSplitter,
    /// Parts found whose octets are not yet all written.
    pending: Vec<Range<u64>>,
    shared: Option<Shared>,
    worker: Option<Worker>,
    stop: Arc<AtomicBool>,
}

struct Worker {
    parts: mpsc::Sender<Range<u64>>,
    done: tokio::task::JoinHandle<ScanMemo>,
}

impl ScanAhead {
    /// Scanning ahead with `inspector`, sharing the scan slots `scans` and the scan
    /// memory `memory` (`pool` octets in all, `expansion` of it for one scan's archives).
    pub(super) fn new(
        inspector: Arc<Inspector>,
        scans: Arc<Semaphore>,
        memory: Arc<Semaphore>,
        pool: u64,
        expansion: u64,
    ) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        Self {
            splitter: PartSplitter::new(inspector.limits().max_parts),
            pending: Vec::new(),
            shared: Some(Shared {
                inspector,
                scans,
                memory,
                pool,
                expansion,
                stop: stop.clone(),
            }),
            worker: None,
            stop,
        }
    }

    /// Takes the next octets of the message, about to be appended to the spool file.
    pub(super) fn feed(&mut self, bytes: &[u8]) {
        if self.splitter.is_done() {
            return;
        }
        self.pending.extend(self.splitter.feed(bytes));
    }

    /// The octets fed so far have been appended to `writer`'s file: hands the parts
    /// found in them to the worker (started at the first).
    pub(super) fn written(&mut self, writer: Option<&SpoolWriter>) {
        if self.pending.is_empty() {
            return;
        }
        if self.worker.is_none()
            && let (Some(shared), Some(writer)) = (self.shared.take(), writer)
        {
            match writer.reader() {
                Ok(reader) => self.worker = Some(Worker::start(shared, reader)),
                Err(e) => tracing::debug!(error = %e, "parts not scanned ahead"),
            }
        }
        let Some(worker) = &self.worker else {
            self.pending.clear();
            return;
        };
        for part in self.pending.drain(..) {
            // A worker gone (it panicked) leaves the parts to the inspection.
            let _ = worker.parts.send(part);
        }
    }

    /// DATA has ended: parts still waiting are left to the inspection; the memo once the
    /// part being scanned is done.
    pub(super) async fn finish(mut self) -> Option<ScanMemo> {
        self.stop.store(true, Ordering::Relaxed);
        let worker = self.worker.take()?;
        drop(worker.parts);
        worker.done.await.ok()
    }
}

impl Drop for ScanAhead {
    fn drop(&mut self) {
        // A transfer given up: the worker ends after its part, its memo unused.
        self.stop.store(true, Ordering::Relaxed);
    }
}

impl Worker {
    fn start(shared: Shared, reader: SpoolReader) -> Self {
        let (parts, queue) = mpsc::channel();
        let done = tokio::task::spawn_blocking(move || scan_parts(&shared, &reader, &queue));
        Self { parts, done }
    }
}

/// The worker: scans each part it is given while slots and memory are spare.
fn scan_parts(
    shared: &Shared,
    reader: &SpoolReader,
    queue: &mpsc::Receiver<Range<u64>>,
) -> ScanMemo {
    let mut memo = shared.inspector.memo();
    while let Ok(part) = queue.recv() {
        if shared.stop.load(Ordering::Relaxed) {
            break;
        }
        let Ok(slot) = shared.scans.clone().try_acquire_owned() else {
            continue;
        };
        let len = part.end.saturating_sub(part.start);
        let need = len
            .saturating_add(shared.expansion.min(len.saturating_mul(EXPANSION_RATIO)))
            .min(shared.pool);
        let mut grant = MemoryGrant::default();
        if len > shared.pool
            || !grant.cover(&shared.memory, usize::try_from(need).unwrap_or(usize::MAX))
        {
            continue;
        }
        let bytes = match reader.map(part.start, len) {
            Ok(bytes) => bytes,
            Err(e) => {
                tracing::debug!(error = %e, "a part not scanned ahead");
                continue;
            }
        };
        let mut store = reader
            .dir()
            .map(|dir| ScratchStore::new(dir.to_path_buf(), len));
        let store = store
            .as_mut()
            .map(|s| s as &mut dyn mamori_dlp::hold::PartStore);
        shared.inspector.scan_ahead(&bytes, store, &mut memo);
        drop((bytes, grant, slot));
    }
    memo
}
