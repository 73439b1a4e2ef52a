//! Scanning ahead: the scan of text found before the inspection that will need it.
//!
//! A large message's parts arrive one after the other during DATA. The relay walks each
//! part as soon as it has arrived ([`crate::Inspector::scan_ahead`]) and keeps, for every
//! piece of text it scanned, what the scan found ([`ScanMemo`]). The inspection of the
//! whole message, once DATA has ended, is the same walk as ever; only where it meets a
//! piece of text the memo already holds does it take the findings from the memo instead
//! of scanning the text again.
//!
//! The report is therefore the whole-message walk's by construction. What the walk finds,
//! where and how (locations, readings, problems, limits, the evidence across the message)
//! is decided by the walk alone; the memo answers one question, "what does the scanner
//! find in this text?", whose answer depends on the text and the scanner only (the scan
//! of a text records evidence and returns findings, and reads nothing else). A part split
//! differently by the walk than by the relay (an ambiguous boundary, a decoy, a broken
//! structure) only means that its text is not in the memo and is scanned then.
//!
//! Texts are keyed by a 128-bit SipHash with keys drawn for each memo, so a sender cannot
//! craft a text that takes another's findings; a memo is used only by an inspector with
//! the same scanner as the one that filled it.

use std::collections::HashMap;
use std::hash::{BuildHasher, Hasher, RandomState};
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::evidence::Evidence;
use crate::finding::Finding;

/// The most texts one memo holds.
const MAX_ENTRIES: usize = 4096;
/// The most findings one memo holds in all.
const MAX_FINDINGS: usize = 16 * 1024;
/// The most evidence records one entry may carry.
const MAX_RECORDS: usize = 4096;

/// What the scanner found in one text.
#[derive(Clone, Debug)]
pub(crate) struct Scanned {
    /// The findings, in the order the scan gave them.
    pub(crate) findings: Vec<Finding>,
    /// The candidates the scan recorded, from empty.
    pub(crate) evidence: Evidence,
}

/// What was scanned ahead of an inspection, by text (see the module documentation).
#[derive(Debug)]
pub struct ScanMemo {
    /// The inspector (its scanner) that filled it.
    owner: u64,
    keys: (RandomState, RandomState),
    entries: HashMap<(u64, u64), Scanned>,
    findings: usize,
    /// Texts the inspection looked up, and found.
    lookups: AtomicUsize,
    hits: AtomicUsize,
}

impl ScanMemo {
    /// An empty memo for the inspector whose identity is `owner`.
    pub(crate) fn new(owner: u64) -> Self {
        Self {
            owner,
            keys: (RandomState::new(), RandomState::new()),
            entries: HashMap::new(),
            findings: 0,
            lookups: AtomicUsize::new(0),
            hits: AtomicUsize::new(0),
        }
    }

    /// The inspector that filled it.
    pub(crate) fn owner(&self) -> u64 {
        self.owner
    }

    fn key(&self, text: &str) -> (u64, u64) {
        let hash = |state: &RandomState| {
            let mut h = state.build_hasher();
            h.write(text.as_bytes());
            h.write_usize(text.len());
            h.finish()
        };
        (hash(&self.keys.0), hash(&self.keys.1))
    }

    /// Is there room for one more text?
    pub(crate) fn has_room(&self) -> bool {
        self.entries.len() < MAX_ENTRIES && self.findings < MAX_FINDINGS
    }

    /// Keeps what `text` gave, if the memo has room and the entry is small.
    pub(crate) fn record(&mut self, text: &str, scanned: Scanned) {
        if !self.has_room()
            || scanned.evidence.records() > MAX_RECORDS
            || self.findings + scanned.findings.len() > MAX_FINDINGS
        {
            return;
        }
        let key = self.key(text);
        self.findings += scanned.findings.len();
        if let Some(old) = self.entries.insert(key, scanned) {
            self.findings -= old.findings.len();
        }
    }

    /// What `text` gave when it was scanned ahead, if it was.
    pub(crate) fn get(&self, text: &str) -> Option<&Scanned> {
        self.lookups.fetch_add(1, Ordering::Relaxed);
        let found = self.entries.get(&self.key(text));
        if found.is_some() {
            self.hits.fetch_add(1, Ordering::Relaxed);
        }
        found
    }

    /// How many texts it holds.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Does it hold nothing?
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// How many texts inspections looked up in it, and how many of them it held: what
    /// scanning ahead saved, for the journal and the tests.
    pub fn lookups_and_hits(&self) -> (usize, usize) {
        (
            self.lookups.load(Ordering::Relaxed),
            self.hits.load(Ordering::Relaxed),
        )
    }
}
