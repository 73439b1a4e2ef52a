//! Expanding compressed data under the bomb limits: the one place where ZIP entries,
//! compressed files (gzip, bzip2, xz, zstd) and PDF streams are expanded.
//!
//! Declared sizes are never trusted: the data is read through [`Read::take`] one byte past
//! the smallest of the limits that apply (the size of one entry, what is left of the whole
//! walk's expansion budget, and [`crate::Limits::max_ratio`] times the compressed size, with
//! a floor so that small entries of very repetitive text are not taken for bombs). Reading
//! that extra byte means the limit was passed: the data is a bomb and is dropped.

use std::io::Read;

use super::Walk;
use crate::content::{Location, ProblemKind};

/// Below this many expanded bytes, the ratio is not checked: a 2 KiB entry of repeated
/// spaces is not a bomb.
pub(crate) const RATIO_FLOOR: u64 = 1 << 20;

/// The most an expansion sets aside before it has read anything.
const FIRST_CAPACITY: u64 = 8 << 20;

/// The outcome of an expansion.
#[derive(Debug)]
pub(crate) enum Expanded {
    /// All of it, within the limits.
    Done(Vec<u8>),
    /// The data broke off (corrupt, bad checksum …): what came before, and why.
    Broken(Vec<u8>, String),
    /// A limit was passed; the problem is recorded. Stop the container.
    Bomb,
}

/// Which limit is the tightest.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Bound {
    Entry,
    Total,
    Ratio,
}

/// Reads `reader` (the expanding side of `compressed` bytes) into memory under the limits,
/// accounting what it reads to the walk's expansion budget. `what` names the data in a
/// problem (`entry "a.txt"`, `stream 12`).
///
/// Only what the data adds to its compressed size is accounted: stored or incompressible
/// data (images, already-compressed files) costs no more to read than the mail that brought
/// it, and the budget is against what compression multiplies.
///
/// Data that expands past the size of one entry, or more than the ratio limit, is a bomb
/// ([`ProblemKind::ArchiveBomb`]). Data that is no bomb but finds the whole walk's budget
/// spent (many entries of well-compressed documents, say) is not all read:
/// [`ProblemKind::ExpansionRatio`], which policy holds as not fully read.
pub(crate) fn expand(
    walk: &mut Walk<'_, '_>,
    location: &Location,
    what: &str,
    reader: impl Read,
    compressed: u64,
) -> Expanded {
    if walk.out.expansion_spent() {
        return Expanded::Bomb;
    }
    let limits = walk.out.limits();
    let ratio_cap = compressed.saturating_mul(limits.max_ratio).max(RATIO_FLOOR);
    let left = walk.out.expansion_left().saturating_add(compressed);
    let (limit, bound) = [
        (limits.max_entry_bytes, Bound::Entry),
        (left, Bound::Total),
        (ratio_cap, Bound::Ratio),
    ]
    .into_iter()
    .min_by_key(|&(limit, _)| limit)
    .unwrap_or((0, Bound::Total));
    // Sized at once for what most expanded data is at least as long as: stored and
    // incompressible entries (pictures, the bulk of office files) then fill it without
    // the copies and fresh pages of doubling. Never past the limit nor FIRST_CAPACITY
    // (a ZIP's compressed size is declared, not measured): beyond, it grows as it reads.
    let first = compressed.min(limit.saturating_add(1)).min(FIRST_CAPACITY);
    let mut data = Vec::with_capacity(usize::try_from(first).unwrap_or(0));
    let result = reader.take(limit.saturating_add(1)).read_to_end(&mut data);
    if data.capacity() / 2 > data.len() {
        // Much less came than was set aside (broken data, a size declared too large):
        // what is kept holds what was read, not the guess.
        data.shrink_to_fit();
    }
    let read = u64::try_from(data.len()).unwrap_or(u64::MAX);
    walk.out.spend_expansion(read.saturating_sub(compressed));
    if read > limit {
        let (kind, detail) = match bound {
            Bound::Entry => (
                ProblemKind::ArchiveBomb,
                format!(
                    "{what} expands past {} bytes (the limit for one entry)",
                    limits.max_entry_bytes
                ),
            ),
            Bound::Ratio => (
                ProblemKind::ArchiveBomb,
                format!(
                    "{what} expands more than {}:1 ({compressed} bytes compressed)",
                    limits.max_ratio
                ),
            ),
            Bound::Total => {
                walk.out.mark_expansion_spent();
                (
                    ProblemKind::ExpansionRatio,
                    format!(
                        "{what}: compressed content expands past {} bytes in all; the rest was not read",
                        limits.max_expanded_bytes
                    ),
                )
            }
        };
        walk.out.problem(location, kind, detail);
        return Expanded::Bomb;
    }
    match result {
        Ok(_) => Expanded::Done(data),
        Err(error) => Expanded::Broken(data, error.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::content::{Collector, Limits};

    #[test]
    fn small_data_passes_and_only_its_growth_is_accounted() {
        let limits = Limits::default();
        let mut out = Collector::new(&limits);
        let mut walk = Walk::new(&mut out);
        let at = Location::root();
        let data = vec![b' '; 4000];
        let Expanded::Done(got) = expand(&mut walk, &at, "x", &data[..], 10) else {
            panic!("not done");
        };
        assert_eq!(got.len(), 4000);
        assert_eq!(out.expansion_left(), limits.max_expanded_bytes - 3990);
    }

    #[test]
    fn the_first_allocation_is_the_compressed_size_at_most_and_a_wrong_guess_is_given_back() {
        let limits = Limits::default();
        let mut out = Collector::new(&limits);
        let mut walk = Walk::new(&mut out);
        let at = Location::root();
        // Stored data: one allocation of the right size.
        let stored = vec![7u8; 300_000];
        let Expanded::Done(got) = expand(&mut walk, &at, "x", &stored[..], 300_000) else {
            panic!("not done");
        };
        assert_eq!((got.len(), got.capacity()), (300_000, 300_000));
        // A declared size far past what comes: what is kept is about what was read.
        let Expanded::Done(got) = expand(&mut walk, &at, "y", &b"short"[..], 6 << 20) else {
            panic!("not done");
        };
        assert_eq!(got, b"short");
        assert!(got.capacity() < 4096, "{} kept", got.capacity());
        // A declared size past FIRST_CAPACITY does not set aside more than that.
        let Expanded::Done(got) = expand(&mut walk, &at, "z", &stored[..], 1 << 40) else {
            panic!("not done");
        };
        assert_eq!(got.len(), 300_000);
        assert!(got.capacity() < 600_000, "{} kept", got.capacity());
    }

    #[test]
    fn each_limit_is_named_and_the_total_is_reported_once() {
        let limits = Limits {
            max_entry_bytes: 3 << 20,
            max_expanded_bytes: 5 << 20,
            ..Limits::default()
        };
        let mut out = Collector::new(&limits);
        let mut walk = Walk::new(&mut out);
        let at = Location::root();
        let big = vec![0u8; 4 << 20];
        // Ratio: 4 MiB out of 1 KiB compressed.
        assert!(matches!(
            expand(&mut walk, &at, "entry \"a\"", &big[..], 1024),
            Expanded::Bomb
        ));
        // Entry size: 4 MiB past 3 MiB, the ratio being fine.
        assert!(matches!(
            expand(&mut walk, &at, "entry \"b\"", &big[..], 1 << 20),
            Expanded::Bomb
        ));
        // The total: about 3 MiB of growth is spent; 2.5 MiB more passes what is left.
        let two = vec![0u8; 3 << 20];
        assert!(matches!(
            expand(&mut walk, &at, "entry \"c\"", &two[..], 1 << 19),
            Expanded::Bomb
        ));
        assert!(matches!(
            expand(&mut walk, &at, "entry \"d\"", &b"x"[..], 1),
            Expanded::Bomb
        ));
        let problems = out.finish().problems;
        let kinds: Vec<ProblemKind> = problems.iter().map(|p| p.kind).collect();
        assert_eq!(
            kinds,
            [
                ProblemKind::ArchiveBomb,
                ProblemKind::ArchiveBomb,
                ProblemKind::ExpansionRatio
            ],
            "{problems:?}"
        );
        assert!(
            problems[0].detail.contains("more than 100:1"),
            "{problems:?}"
        );
        assert!(
            problems[1].detail.contains("limit for one entry"),
            "{problems:?}"
        );
        assert!(problems[2].detail.contains("in all"), "{problems:?}");
    }
}
