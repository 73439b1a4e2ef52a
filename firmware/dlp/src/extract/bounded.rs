//! Expanding compressed data under the bomb limits: the one place where ZIP entries, gzip
//! members and PDF streams are inflated.
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
    let left = walk.out.expansion_left();
    let (limit, bound) = [
        (limits.max_entry_bytes, Bound::Entry),
        (left, Bound::Total),
        (ratio_cap, Bound::Ratio),
    ]
    .into_iter()
    .min_by_key(|&(limit, _)| limit)
    .unwrap_or((0, Bound::Total));
    let mut data = Vec::new();
    let result = reader.take(limit.saturating_add(1)).read_to_end(&mut data);
    let read = u64::try_from(data.len()).unwrap_or(u64::MAX);
    walk.out.spend_expansion(read);
    if read > limit {
        let detail = match bound {
            Bound::Entry => format!(
                "{what} expands past {} bytes (the limit for one entry)",
                limits.max_entry_bytes
            ),
            Bound::Total => {
                walk.out.mark_expansion_spent();
                format!(
                    "{what}: archive content expands past {} bytes in all",
                    limits.max_expanded_bytes
                )
            }
            Bound::Ratio => format!(
                "{what} expands more than {}:1 ({compressed} bytes compressed)",
                limits.max_ratio
            ),
        };
        walk.out.problem(location, ProblemKind::ArchiveBomb, detail);
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
    fn small_data_passes_and_is_accounted() {
        let limits = Limits::default();
        let mut out = Collector::new(&limits);
        let mut walk = Walk::new(&mut out);
        let at = Location::root();
        let data = vec![b' '; 4000];
        let Expanded::Done(got) = expand(&mut walk, &at, "x", &data[..], 10) else {
            panic!("not done");
        };
        assert_eq!(got.len(), 4000);
        assert_eq!(out.expansion_left(), limits.max_expanded_bytes - 4000);
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
        // The total (≈ 4 MiB + 1 spent already): 2 MiB passes what is left.
        let two = vec![0u8; 2 << 20];
        assert!(matches!(
            expand(&mut walk, &at, "entry \"c\"", &two[..], 1 << 20),
            Expanded::Bomb
        ));
        assert!(matches!(
            expand(&mut walk, &at, "entry \"d\"", &b"x"[..], 1),
            Expanded::Bomb
        ));
        let problems = out.finish().problems;
        let details: Vec<&str> = problems.iter().map(|p| p.detail.as_str()).collect();
        assert_eq!(details.len(), 3, "{details:?}");
        assert!(details[0].contains("more than 100:1"), "{details:?}");
        assert!(details[1].contains("limit for one entry"), "{details:?}");
        assert!(details[2].contains("in all"), "{details:?}");
        assert!(problems.iter().all(|p| p.kind == ProblemKind::ArchiveBomb));
    }
}
