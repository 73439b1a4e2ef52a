//! Inspecting a large message while it arrives.
//!
//! A message streams to the spool's temporary file during DATA. Once its header block has
//! arrived, a worker thread of the session's starts the DLP walk, and walks each top-level
//! piece of the body (preamble, parts) as soon as the delimiter after it has been written
//! ([`mamori_dlp::Inspector::inspect_arriving`]), reading it from the file through a
//! handle of its own. When the final dot has come, the worker walks what came last and
//! ends the inspection on the whole file; the DLP stage then takes its report. The report
//! is the one the inspection of the whole message gives (the walk checks that the pieces
//! it was given are the ones it splits the message into, and walks the message afresh
//! when they are not); the client's wait after its final dot is the walk of what arrived
//! last, not of everything.
//!
//! The worker draws on what inspections draw on: a scan slot (one per processor core) while
//! it walks a piece, and the scan memory an inspection of what has arrived holds (its
//! octets, for the text kept to the end, and an allowance for the piece's archives),
//! waited for as an inspection waits and held until the inspection ends.
//! When they do not come in time it stops taking pieces, and the rest is walked once the
//! message is whole; when not even then, the inspection runs in the pipeline as for any
//! message, and answers as it would.

use std::sync::Arc;
use std::sync::mpsc;
use std::time::Duration;

use mamori_dlp::mime::{Arrived, PartSplitter};
use mamori_dlp::{Arrivals, Inspector, Octets};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::data::{MemoryGrant, expansion_allowance};
use crate::pipeline::Inspected;
use crate::spool::SpoolWriter;
use crate::spool::map::{ScratchStore, SpoolReader};

/// What the worker draws on, shared with the inspections.
pub(super) struct Shares {
    /// Scan slots, one per processor core.
    pub scans: Arc<Semaphore>,
    /// The scan memory, and how much of it one inspection may hold and expand.
    pub memory: Arc<Semaphore>,
    pub pool: u64,
    pub expansion: u64,
    /// How long to wait for a slot or memory.
    pub wait: Duration,
    /// The largest message: bounds the scratch files of the walk.
    pub max_message: u64,
}

/// What the session tells the worker.
enum Note {
    /// Found complete and written.
    Found(Arrived),
    /// The whole message is written: its length.
    Whole(u64),
}

/// The inspection while arriving of one DATA transfer.
pub(super) struct InspectAhead {
    splitter: PartSplitter,
    /// Found in octets not yet written.
    pending: Vec<Arrived>,
    start: Option<(Arc<Inspector>, Shares)>,
    worker: Option<Worker>,
}

struct Worker {
    notes: mpsc::Sender<Note>,
    done: tokio::task::JoinHandle<Option<Inspected>>,
}

impl InspectAhead {
    /// An inspection with `inspector`, drawing on `shares`.
    pub(super) fn new(inspector: Arc<Inspector>, shares: Shares) -> Self {
        Self {
            splitter: PartSplitter::new(inspector.limits().max_parts),
            pending: Vec::new(),
            start: Some((inspector, shares)),
            worker: None,
        }
    }

    /// Takes the next octets of the message, about to be appended to the spool file.
    pub(super) fn feed(&mut self, bytes: &[u8]) {
        if !self.splitter.is_done() {
            self.pending.extend(self.splitter.feed(bytes));
        }
    }

    /// The octets fed so far are in `writer`'s file: hands on what was found in them (the
    /// worker starts with the header block).
    pub(super) fn written(&mut self, writer: Option<&SpoolWriter>) {
        if self.pending.is_empty() {
            return;
        }
        if self.worker.is_none()
            && let (Some((inspector, shares)), Some(writer)) = (self.start.take(), writer)
        {
            match writer.reader() {
                Ok(reader) => self.worker = Some(Worker::start(inspector, shares, reader)),
                Err(e) => tracing::debug!(error = %e, "not inspected while arriving"),
            }
        }
        let Some(worker) = &self.worker else {
            self.pending.clear();
            return;
        };
        for found in self.pending.drain(..) {
            // A worker gone leaves the message to the pipeline's inspection.
            let _ = worker.notes.send(Note::Found(found));
        }
    }

    /// The whole message, `len` octets, is written: the report once the worker has
    /// walked the rest (`None` when it did not start or could not finish).
    pub(super) async fn finish(mut self, len: u64) -> Option<Inspected> {
        let worker = self.worker.take()?;
        worker.notes.send(Note::Whole(len)).ok()?;
        drop(worker.notes);
        worker.done.await.ok().flatten()
    }
}

impl Worker {
    fn start(inspector: Arc<Inspector>, shares: Shares, reader: SpoolReader) -> Self {
        let (notes, queue) = mpsc::channel();
        let runtime = tokio::runtime::Handle::current();
        let done = tokio::task::spawn_blocking(move || {
            let mut store = reader
                .dir()
                .map(|dir| ScratchStore::new(dir.to_path_buf(), shares.max_message));
            let mut arrivals = FromSpool {
                queue,
                reader,
                shares,
                runtime,
                slot: None,
                grant: MemoryGrant::default(),
                walked: 0,
                starved: false,
                whole: None,
            };
            let store = store
                .as_mut()
                .map(|s| s as &mut dyn mamori_dlp::hold::PartStore);
            let report = inspector.inspect_arriving(&mut arrivals, store)?;
            Some(Inspected { inspector, report })
        });
        Self { notes, done }
    }
}

/// The message as the worker sees it arrive: pieces read from the spool file, each with
/// a scan slot and its memory held while it is walked.
struct FromSpool {
    queue: mpsc::Receiver<Note>,
    reader: SpoolReader,
    shares: Shares,
    runtime: tokio::runtime::Handle,
    slot: Option<OwnedSemaphorePermit>,
    /// The scan memory held: it only grows, with what has been walked.
    grant: MemoryGrant,
    /// Octets handed to the walk so far.
    walked: u64,
    /// No slot or memory came in time: the rest waits for the whole message.
    starved: bool,
    /// The message's length, once whole.
    whole: Option<u64>,
}

impl FromSpool {
    /// Waits for a scan slot and for the memory to cover `held` octets walked and the
    /// archives of a piece of `len`; false if they did not come in time.
    fn draw(&mut self, held: u64, len: u64) -> bool {
        let shares = &self.shares;
        let need = held
            .saturating_add(expansion_allowance(shares.expansion, len))
            .min(shares.pool);
        let scans = shares.scans.clone();
        let slot = self
            .runtime
            .block_on(tokio::time::timeout(shares.wait, scans.acquire_owned()));
        let Ok(Ok(slot)) = slot else {
            return false;
        };
        let need = usize::try_from(need).unwrap_or(usize::MAX);
        let (memory, wait) = (shares.memory.clone(), shares.wait);
        if !self
            .runtime
            .block_on(self.grant.wait_for(&memory, need, wait))
        {
            return false;
        }
        self.slot = Some(slot);
        true
    }

    /// Gives back the slot of the piece walked last.
    fn give_back(&mut self) {
        self.slot = None;
    }
}

impl Arrivals for FromSpool {
    fn next(&mut self) -> Option<(Arrived, Octets)> {
        self.give_back();
        while !self.starved {
            let found = match self.queue.recv() {
                Ok(Note::Found(found)) => found,
                Ok(Note::Whole(len)) => {
                    self.whole = Some(len);
                    return None;
                }
                Err(_) => return None,
            };
            let (Arrived::Head(range) | Arrived::Piece(_, range)) = &found;
            let len = range.end.saturating_sub(range.start);
            self.walked = self.walked.saturating_add(len);
            if !self.draw(self.walked, len) {
                // The rest is walked once the message is whole.
                self.give_back();
                self.starved = true;
                return None;
            }
            match self.reader.map(range.start, len) {
                Ok(bytes) => return Some((found, bytes)),
                // Not handed on: the walk of the whole message finds the piece missing.
                Err(e) => tracing::debug!(error = %e, "a piece not read while arriving"),
            }
            self.give_back();
        }
        None
    }

    fn whole(&mut self) -> Option<Octets> {
        self.give_back();
        while self.whole.is_none() {
            match self.queue.recv().ok()? {
                Note::Whole(len) => self.whole = Some(len),
                Note::Found(_) => {}
            }
        }
        let len = self.whole?;
        if !self.draw(len, len) {
            return None;
        }
        self.reader.map(0, len).ok()
    }
}
