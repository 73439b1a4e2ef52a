//! Checks of named sets: unique names, elements of the set's family, intervals only in
//! interval sets, no overlapping elements (the kernel refuses them).

use super::{At, Checker, Problem, SECTION};
use crate::model::AddressSpec;

pub(super) fn check(c: &mut Checker<'_>) {
    let cfg = c.cfg;
    for (i, set) in cfg.sets.iter().enumerate() {
        let at = At::named(format!("{SECTION}.sets[{i}]"), &set.name);
        if let Some(first) = cfg.sets.iter().position(|s| s.name == set.name)
            && first < i
        {
            let problem = Problem::DuplicateName {
                what: "set",
                name: set.name.to_string(),
                index: first,
            };
            c.error(
                &at,
                Some("name"),
                format!("{:?}", set.name.as_str()),
                problem,
            );
        }
        for (j, e) in set.elements.iter().enumerate() {
            let field = format!("elements[{j}]");
            let value = format!("\"{}\"", e.address);
            if e.address.family() != set.family {
                c.error(
                    &at,
                    Some(&field),
                    &value,
                    Problem::ElementWrongFamily(set.family),
                );
                continue;
            }
            if let AddressSpec::Range(a, b) = e.address
                && a > b
            {
                c.error(&at, Some(&field), &value, Problem::ReversedAddressRange);
                continue;
            }
            let single =
                matches!(e.address, AddressSpec::Net(n) if n.prefix_len() == n.max_prefix_len());
            if !set.interval && !single {
                c.error(&at, Some(&field), &value, Problem::IntervalNeeded);
                continue;
            }
        }
        overlaps(c, &at, set);
    }
}

/// Reports overlapping elements with a sweep over the elements sorted by their first
/// address (block lists can hold many thousands of elements).
fn overlaps(c: &mut Checker<'_>, at: &At, set: &crate::model::Set) {
    let mut spans: Vec<_> = set
        .elements
        .iter()
        .enumerate()
        .filter(|(_, e)| e.address.family() == set.family)
        .map(|(i, e)| (e.address.bounds(), i))
        .filter(|((a, b), _)| a <= b)
        .collect();
    spans.sort();
    let mut reach: Option<(std::net::IpAddr, usize)> = None;
    let mut found = Vec::new();
    for ((first, last), i) in spans {
        match reach {
            Some((end, j)) if first <= end => {
                found.push((i.max(j), i.min(j)));
                if last > end {
                    reach = Some((last, i));
                }
            }
            _ => reach = Some((last, i)),
        }
    }
    found.sort();
    found.dedup_by_key(|(i, _)| *i);
    for (i, index) in found {
        let (Some(e), Some(other)) = (set.elements.get(i), set.elements.get(index)) else {
            continue;
        };
        let problem = Problem::OverlappingElements {
            other: other.address.to_string(),
            index,
        };
        c.error(
            at,
            Some(&format!("elements[{i}]")),
            format!("\"{}\"", e.address),
            problem,
        );
    }
}
