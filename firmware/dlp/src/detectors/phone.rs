//! Japanese telephone numbers (no check digit: findings are Low unless a keyword is near).
//!
//! Numbering plan, as the national (0-prefixed) number:
//!
//! | kind | digits | written |
//! |---|---|---|
//! | fixed line | 10, `0` + area code of 1–4 more digits | `03-1234-5678`, `045-123-4567`, `0123-45-6789`, `01267-2-3456` |
//! | mobile | 11, `070`/`080`/`090` | `090-1234-5678` |
//! | IP phone | 11, `050` | `050-1234-5678` |
//! | toll-free | 10, `0120`; 11, `0800` | `0120-123-456`, `0800-123-4567` |
//! | navi dial | 10, `0570` | `0570-123-456` |
//!
//! Separators: none, hyphens or spaces between all three parts, `03(1234)5678`,
//! `(03)1234-5678`; international `+81` forms drop the leading `0` (`+81-3-1234-5678`,
//! `+81 90 1234 5678`, `+81 (0)3-1234-5678`, `+81312345678`).

use std::ops::Range;

use crate::digits::{Group, Sep, Window};

/// The fewest digits of a national number.
const MIN_LEN: usize = 10;
// The scanner offers no window shorter than this.
const _: () = assert!(MIN_LEN >= crate::digits::MIN_WINDOW_DIGITS);
/// The most digits of a national number.
const MAX_LEN: usize = 11;

/// The fewest digits of a window that can hold a phone number (a national number alone).
pub(crate) const MIN_WINDOW_LEN: usize = MIN_LEN;

/// The most digits of a window that can hold a phone number: `81`, the national number
/// without its leading 0, and a `(0)` between them.
pub(crate) const MAX_WINDOW_LEN: usize = MAX_LEN + 2;

/// A number rewritten in national form: digits (with the leading `0`), group lengths, and
/// the separators between groups. Each group has a digit, so there are at most
/// [`MAX_LEN`] groups.
struct National {
    digits: [u8; MAX_LEN],
    len: usize,
    groups: [usize; MAX_LEN],
    group_count: usize,
    seps: [Option<Sep>; MAX_LEN],
    sep_count: usize,
}

impl National {
    fn new() -> Self {
        Self {
            digits: [0; MAX_LEN],
            len: 0,
            groups: [0; MAX_LEN],
            group_count: 0,
            seps: [None; MAX_LEN],
            sep_count: 0,
        }
    }

    /// Appends a group of digits (`lead` then `digits`); `false` if the number grew too long.
    fn push_with(&mut self, lead: &[u8], digits: &[u8], sep: Option<Sep>) -> bool {
        let len = lead.len() + digits.len();
        if self.len + len > MAX_LEN || self.group_count >= MAX_LEN {
            return false;
        }
        for (slot, &d) in self
            .digits
            .iter_mut()
            .skip(self.len)
            .zip(lead.iter().chain(digits))
        {
            *slot = d;
        }
        self.len += len;
        if let Some(slot) = self.groups.get_mut(self.group_count) {
            *slot = len;
        }
        self.group_count += 1;
        if let Some(sep) = sep
            && let Some(slot) = self.seps.get_mut(self.sep_count)
        {
            *slot = Some(sep);
            self.sep_count += 1;
        }
        true
    }

    /// Appends a group of digits; `false` if the number grew too long.
    fn push(&mut self, digits: &[u8], sep: Option<Sep>) -> bool {
        self.push_with(&[], digits, sep)
    }

    fn groups(&self) -> &[usize] {
        self.groups.get(..self.group_count).unwrap_or_default()
    }

    fn seps(&self) -> impl Iterator<Item = Sep> + '_ {
        self.seps.iter().take(self.sep_count).flatten().copied()
    }

    fn starts_with(&self, prefix: &[u8]) -> bool {
        self.digits
            .get(..self.len)
            .is_some_and(|d| d.starts_with(prefix))
    }
}

/// The digits of the window that belong to `groups` (a sub-slice of the window's groups).
fn digits_of<'w>(window: &Window<'w>, from_group: usize, to_group: usize) -> &'w [u8] {
    let offset: usize = window.groups.iter().take(from_group).map(Group::len).sum();
    let len: usize = window
        .groups
        .iter()
        .skip(from_group)
        .take(to_group - from_group)
        .map(Group::len)
        .sum();
    window.digits.get(offset..offset + len).unwrap_or_default()
}

/// Rewrites the window as a national number. Returns it with the byte where the written
/// number starts (a leading `+` or `(` included) and whether a leading `(` closes after the
/// first group.
fn national_form(window: &Window<'_>) -> Option<(National, usize, bool)> {
    let bytes = window.text.as_bytes();
    let span = window.span();
    let before = span
        .start
        .checked_sub(1)
        .and_then(|i| bytes.get(i))
        .copied();
    let groups = window.groups;
    let link = |i: usize| groups.get(i).and_then(|g| g.link);
    let mut national = National::new();
    if before == Some(b'+') && window.before().is_none() {
        // +81: country code, then the national number without its leading 0.
        let first = groups.first()?;
        if !window.digits.starts_with(&[8, 1]) {
            return None;
        }
        let mut next = 1;
        if first.len() == 2 {
            // "+81 (0)3-…": a trunk prefix in parentheses is dropped.
            if digits_of(window, 1, 2) == [0]
                && link(1) == Some(Sep::OpenParen)
                && link(2) == Some(Sep::CloseParen)
            {
                next = 2;
            }
            if link(next) == Some(Sep::LineBreak) {
                return None;
            }
            let head = digits_of(window, next, next + 1);
            if head.first() == Some(&0) {
                return None;
            }
            national.push_with(&[0], head, None).then_some(())?;
            next += 1;
        } else {
            national
                .push_with(&[0], digits_of(window, 0, 1).get(2..)?, None)
                .then_some(())?;
        }
        for i in next..groups.len() {
            national
                .push(digits_of(window, i, i + 1), link(i))
                .then_some(())?;
        }
        return Some((national, span.start - 1, false));
    }
    if window.digits.first() != Some(&0) {
        return None;
    }
    let paren_prefix = before == Some(b'(') && window.before().is_none();
    // The window as it is: its digits, its groups and the separators between them.
    national.push(window.digits, None).then_some(())?;
    national.group_count = 0;
    for (i, group) in groups.iter().enumerate() {
        *national.groups.get_mut(i)? = group.len();
        national.group_count += 1;
        if i > 0
            && let Some(sep) = group.link
        {
            *national.seps.get_mut(national.sep_count)? = Some(sep);
            national.sep_count += 1;
        }
    }
    let closes_after_first = paren_prefix && national.seps().next() == Some(Sep::CloseParen);
    let start = if closes_after_first {
        span.start - 1
    } else {
        span.start
    };
    Some((national, start, closes_after_first))
}

/// Do the group lengths fit the numbering plan for this number?
fn layout_fits(national: &National) -> bool {
    let len = national.len;
    let mobile = [[0, 5, 0], [0, 7, 0], [0, 8, 0], [0, 9, 0]]
        .iter()
        .any(|p| national.starts_with(p));
    let free_0800 = national.starts_with(&[0, 8, 0, 0]);
    let four_three_three = [[0, 1, 2, 0], [0, 5, 7, 0]]
        .iter()
        .any(|p| national.starts_with(p));
    let length_ok = if mobile || free_0800 {
        len == MAX_LEN
    } else {
        len == MIN_LEN
    };
    if !length_ok || national.digits.get(1) == Some(&0) {
        return false;
    }
    match national.groups() {
        [_] => true,
        &[a, b, c] => {
            let fixed = (2..=5).contains(&a) && a + b == 6 && c == 4;
            if mobile && (a, b, c) == (3, 4, 4) {
                true
            } else if free_0800 {
                (a, b, c) == (4, 3, 4)
            } else if four_three_three {
                (a, b, c) == (4, 3, 3) || fixed
            } else {
                !mobile && fixed
            }
        }
        _ => false,
    }
}

/// Are the separators a way people write a phone number? Returns the separator kind for the
/// neighbour check.
fn seps_fit(national: &National, closes_after_first: bool) -> Option<Option<Sep>> {
    use Sep::{CloseParen, Hyphen, OpenParen, Space};
    let mut seps = [Hyphen; 3];
    let mut count = 0;
    for sep in national.seps() {
        *seps.get_mut(count)? = sep;
        count += 1;
    }
    match seps.get(..count)? {
        [] => Some(None),
        [Hyphen, Hyphen] => Some(Some(Hyphen)),
        [Space, Space] => Some(Some(Space)),
        [OpenParen, CloseParen] => Some(None),
        [CloseParen, Hyphen] if closes_after_first => Some(Some(Hyphen)),
        [CloseParen, Space] if closes_after_first => Some(Some(Space)),
        _ => None,
    }
}

/// The span of the phone number the window holds, if it holds one (a leading `+` or `(`
/// included).
pub(crate) fn matches(window: &Window<'_>) -> Option<Range<usize>> {
    if !(MIN_WINDOW_LEN..=MAX_WINDOW_LEN).contains(&window.digits.len()) {
        return None;
    }
    // A national number starts with 0, an international one with 81 (after a `+`, which
    // [`national_form`] checks): most windows are neither (My Numbers, parts of card
    // numbers) and are refused before the national form is built.
    if !matches!(window.digits, [0, ..] | [8, 1, ..]) {
        return None;
    }
    let (national, start, closes_after_first) = national_form(window)?;
    if !layout_fits(&national) {
        return None;
    }
    let kind = seps_fit(&national, closes_after_first)?;
    let span = start..window.span().end;
    window.stands_alone_as(kind, span.clone()).then_some(span)
}

/// Is `written` (already normalised) exactly one Japanese phone number?
pub fn is_phone_number(written: &str) -> bool {
    let mut found = false;
    crate::digits::for_each_chain(written, |chain| {
        crate::digits::for_each_window(written, chain, 1, |_, _, window| {
            if matches(window).is_some_and(|span| span == (0..written.len())) {
                found = true;
            }
            found
        });
    });
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_the_written_forms() {
        for written in [
            "03-1234-5678",
            "0312345678",
            "03 1234 5678",
            "03(1234)5678",
            "(03)1234-5678",
            "(03) 1234 5678",
            "045-123-4567",
            "0123-45-6789",
            "01267-2-3456",
            "090-1234-5678",
            "09012345678",
            "080 1234 5678",
            "070-1234-5678",
            "050-1234-5678",
            "0120-123-456",
            "0120-12-3456",
            "0800-123-4567",
            "0570-123-456",
            "+81-3-1234-5678",
            "+81 3 1234 5678",
            "+81 90 1234 5678",
            "+81-90-1234-5678",
            "+81 (0)3-1234-5678",
            "+81312345678",
            "+813-1234-5678",
            "+819012345678",
        ] {
            assert!(is_phone_number(written), "{written}");
        }
    }

    #[test]
    fn rejects_what_is_not_a_japanese_number() {
        for written in [
            "03-1234-567",      // too short
            "03-1234-56789",    // too long
            "090-1234-567",     // mobile is 11 digits
            "0312345678901",    // too long
            "00-1234-5678",     // 00 is the international prefix
            "090-123-45678",    // mobile grouping is 3-4-4
            "0120-1234-56",     // no such grouping
            "03-1234 5678",     // mixed separators
            "3-1234-5678",      // no leading 0
            "+1-212-555-1234",  // not +81
            "+81-03-1234-5678", // 0 kept after the country code
            "1234-5678",
        ] {
            assert!(!is_phone_number(written), "{written}");
        }
    }
}
