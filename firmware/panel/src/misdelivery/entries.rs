//! The form's lists and addresses: senders as address patterns, approvers as addresses of
//! the office, the links' address.

use crate::encrypt::{entries, pattern_ok};

use super::{Field, MAX_APPROVERS, MAX_ENTRIES, Problem, Why};

/// The longest address or domain in a list, and the longest link address.
const MAX_ENTRY_CHARS: usize = 254;

/// The entries of `text` for `field`, each an address or a domain.
pub(super) fn patterns(text: &str, field: Field, problems: &mut Vec<Problem>) -> Vec<String> {
    let list = entries(text);
    let why = if list.len() > MAX_ENTRIES {
        Some(Why::TooMany(MAX_ENTRIES))
    } else {
        list.iter()
            .find(|e| !pattern_ok(e))
            .map(|bad| Why::Pattern(bad.clone()))
    };
    if let Some(why) = why {
        problems.push(Problem { field, why });
    }
    list
}

/// The approvers in `text`: mail addresses (as the relay reads one), of the office's
/// `domains` when they are known, since the notice to an approver carries the link that
/// sends the mail.
pub(super) fn approvers(
    text: &str,
    domains: &[String],
    problems: &mut Vec<Problem>,
) -> Vec<String> {
    let list = entries(text);
    let address = |a: &str| {
        a.chars().count() <= MAX_ENTRY_CHARS
            && !a.chars().any(char::is_control)
            && a.rsplit_once('@').is_some_and(|(l, d)| {
                !l.is_empty() && !l.contains('@') && d.contains('.') && pattern_ok(d)
            })
    };
    let office = |a: &str| {
        domains.is_empty()
            || a.rsplit_once('@')
                .is_some_and(|(_, d)| domains.iter().any(|o| o.eq_ignore_ascii_case(d)))
    };
    let why = if list.len() > MAX_APPROVERS {
        Some(Why::TooMany(MAX_APPROVERS))
    } else if let Some(bad) = list.iter().find(|a| !address(a)) {
        Some(Why::NotAnAddress(bad.clone()))
    } else {
        list.iter()
            .find(|a| !office(a))
            .map(|bad| Why::NotOffice(bad.clone()))
    };
    if let Some(why) = why {
        problems.push(Problem {
            field: Field::Approvers,
            why,
        });
    }
    list
}

/// The links' address: empty is the default; else `https://` and a host, as the relay
/// checks it.
pub(super) fn link_base(text: &str) -> Result<Option<String>, Why> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    let ok = text.chars().count() <= MAX_ENTRY_CHARS
        && text.strip_prefix("https://").is_some_and(|rest| {
            !rest.is_empty() && !rest.starts_with('/') && rest.bytes().all(|b| b.is_ascii_graphic())
        });
    if ok {
        Ok(Some(text.to_owned()))
    } else {
        Err(Why::LinkBase)
    }
}
