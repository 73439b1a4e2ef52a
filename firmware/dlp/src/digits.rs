//! Digit runs, the separators that join them, and windows over them: the one pass that
//! every number detector shares.
//!
//! A *group* is a maximal run of ASCII digits. Two groups are *linked* when only a separator
//! people write inside a number stands between them: one `-`, one to three spaces or tabs, a
//! line break with optional indentation around it (a number wrapped in a table cell), or a
//! parenthesis (`03(1234)5678`). A *chain* is a maximal sequence of linked groups. Detectors
//! look at *windows*: consecutive groups of one chain. A window never starts or ends inside a
//! group, so a 30-digit tracking code is one group and never yields a 12-digit finding, and a
//! chain of `g` groups yields at most `g` findings per detector.

use std::ops::Range;

/// No detector needs a window longer than this many digits (card numbers: 19).
pub(crate) const MAX_WINDOW_DIGITS: usize = 19;

/// No detector matches a window of fewer digits than this (phone numbers: 10).
pub(crate) const MIN_WINDOW_DIGITS: usize = 10;

/// The most spaces or tabs that still join two groups on one line.
const MAX_SPACES: usize = 3;
/// The most bytes of whitespace, line break and indentation included, that still join two
/// groups across a line break.
const MAX_LINE_BREAK_BYTES: usize = 16;

/// What joins a group to the previous one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Sep {
    /// One `-`.
    Hyphen,
    /// One to three spaces or tabs.
    Space,
    /// Exactly one line break, with optional spaces around it.
    LineBreak,
    /// `(`, or spaces then `(`.
    OpenParen,
    /// `)`, optionally followed by one space or `-`.
    CloseParen,
}

/// A maximal run of ASCII digits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Group {
    /// Byte offset of the first digit.
    pub start: usize,
    /// Byte offset just past the last digit.
    pub end: usize,
    /// What joins it to the previous group of its chain (`None` for the first group).
    pub link: Option<Sep>,
}

impl Group {
    /// The number of digits.
    pub fn len(&self) -> usize {
        self.end - self.start
    }
}

/// Calls `on_chain` with every chain of linked digit groups in `text`, in order.
pub(crate) fn for_each_chain(text: &str, on_chain: impl FnMut(&[Group])) {
    for_each_chain_of(text, 0, on_chain);
}

/// [`for_each_chain`] for the chains of at least `min_digits` digits only (the others, most
/// digit runs of a text, are passed over without a call).
pub(crate) fn for_each_chain_of(text: &str, min_digits: usize, mut on_chain: impl FnMut(&[Group])) {
    let bytes = text.as_bytes();
    let mut groups: Vec<Group> = Vec::new();
    let mut pos = 0;
    while let Some(start) = find_digit(bytes, pos) {
        let end = digit_run_end(bytes, start);
        let Some((mut link, mut next)) = separator_at(bytes, end) else {
            // A run of its own (most runs: dates, amounts, times): no list to build.
            if end - start >= min_digits {
                on_chain(&[Group {
                    start,
                    end,
                    link: None,
                }]);
            }
            pos = end;
            continue;
        };
        groups.clear();
        groups.push(Group {
            start,
            end,
            link: None,
        });
        let mut digits = end - start;
        loop {
            let start = next;
            let end = digit_run_end(bytes, start);
            groups.push(Group {
                start,
                end,
                link: Some(link),
            });
            digits += end - start;
            match separator_at(bytes, end) {
                Some((sep, after)) => (link, next) = (sep, after),
                None => {
                    pos = end;
                    break;
                }
            }
        }
        if digits >= min_digits {
            on_chain(&groups);
        }
    }
}

/// The end of the run of ASCII digits that starts at `from`, eight bytes at a time.
fn digit_run_end(bytes: &[u8], from: usize) -> usize {
    let mut pos = from;
    while let Some(word) = bytes.get(pos..pos + 8) {
        let mut array = [0u8; 8];
        array.copy_from_slice(word);
        let other = non_digit_highs(u64::from_le_bytes(array));
        if other != 0 {
            return pos + (other.trailing_zeros() / 8) as usize;
        }
        pos += 8;
    }
    while bytes.get(pos).is_some_and(u8::is_ascii_digit) {
        pos += 1;
    }
    pos
}

/// The position of the first ASCII digit at or after `from`: blocks of [`DIGIT_BLOCK`] bytes
/// without one are passed over whole (a branch-free test of every byte that LLVM makes into
/// vector instructions, SSE2 or NEON), and the block with one is searched eight bytes at a
/// time.
fn find_digit(bytes: &[u8], from: usize) -> Option<usize> {
    // Digits come in clusters (dates, amounts, numbers): the next one is often within a
    // word, found without the block test.
    if let Some(at) = digit_in_word_at(bytes, from) {
        return Some(at);
    }
    // No digit in the eight bytes at `from` (if there are eight): the blocks start after them.
    let mut pos = if from + 8 <= bytes.len() {
        from + 8
    } else {
        from
    };
    while let Some(block) = bytes
        .get(pos..)
        .and_then(<[u8]>::first_chunk::<DIGIT_BLOCK>)
    {
        if block_has_digit(block) {
            break;
        }
        pos += DIGIT_BLOCK;
    }
    find_digit_by_words(bytes, pos)
}

/// The position of the first ASCII digit of the eight bytes at `pos`, if there are eight and
/// one of them is a digit.
#[inline(always)]
fn digit_in_word_at(bytes: &[u8], pos: usize) -> Option<usize> {
    let word = bytes.get(pos..)?.first_chunk::<8>()?;
    first_digit_in_word(*word).map(|at| pos + at)
}

/// The index of the first ASCII digit of the eight bytes `word`, if any.
#[inline(always)]
fn first_digit_in_word(word: [u8; 8]) -> Option<usize> {
    const TENS: u64 = u64::from_ne_bytes([10; 8]);
    // A byte is a digit when `byte ^ b'0'` is below 10: flag bytes below 10. The lowest flag
    // is exact (only a byte below 10 borrows, and a byte of 0x80 or more is masked by `!x`),
    // which is all that is needed to find the first.
    let x = u64::from_le_bytes(word) ^ ZEROS;
    let below_ten = x.wrapping_sub(TENS) & !x & HIGHS;
    (below_ten != 0).then(|| (below_ten.trailing_zeros() / 8) as usize)
}

/// The bytes [`find_digit`] tests at once.
const DIGIT_BLOCK: usize = 32;

/// The high bit of every byte of a word.
const HIGHS: u64 = u64::from_ne_bytes([0x80; 8]);

/// `b'0'` in every byte of a word: a byte is a digit when its XOR with it is below 10.
const ZEROS: u64 = u64::from_ne_bytes([b'0'; 8]);

/// Does `block` hold an ASCII digit? Every byte tested without a branch, which LLVM makes
/// into vector instructions (SSE2 or NEON).
#[inline(always)]
fn block_has_digit(block: &[u8; DIGIT_BLOCK]) -> bool {
    block
        .iter()
        .fold(0u8, |any, &b| any | u8::from(b.wrapping_sub(b'0') < 10))
        != 0
}

/// The high bit of each byte of `word` (eight bytes, little-endian) that is not an ASCII
/// digit, exactly: a byte is a digit when `byte ^ b'0'` is below 10, and the others get
/// their high bit set without carries between bytes (the low seven bits plus 0x76 stay in a
/// byte).
#[inline(always)]
fn non_digit_highs(word: u64) -> u64 {
    const LOWS: u64 = u64::from_ne_bytes([0x7F; 8]);
    // Added to a byte below 0x80, sets its high bit exactly when it is 10 or more.
    const TO_HIGH: u64 = u64::from_ne_bytes([0x80 - 10; 8]);
    let x = word ^ ZEROS;
    (((x & LOWS) + TO_HIGH) | x) & HIGHS
}

/// The position of the last ASCII digit of `bytes`: [`find_digit`] backwards. The scanner
/// walks a text from the end digit to digit to find where it may cut it into pieces; a
/// table or a log has a number on every line, so this is done as often as there are lines.
pub(crate) fn rfind_digit(bytes: &[u8]) -> Option<usize> {
    let mut end = bytes.len();
    // The word just before `end` first: digits come in clusters.
    if let Some(start) = end.checked_sub(8) {
        if let Some(at) = last_digit_in_word_at(bytes, start) {
            return Some(at);
        }
        end = start;
    }
    while let Some(block) = end
        .checked_sub(DIGIT_BLOCK)
        .and_then(|start| bytes.get(start..end))
        .and_then(<[u8]>::first_chunk::<DIGIT_BLOCK>)
    {
        if block_has_digit(block) {
            break;
        }
        end -= DIGIT_BLOCK;
    }
    while let Some(start) = end.checked_sub(8) {
        if let Some(at) = last_digit_in_word_at(bytes, start) {
            return Some(at);
        }
        end = start;
    }
    bytes.get(..end)?.iter().rposition(u8::is_ascii_digit)
}

/// The position of the last ASCII digit of the eight bytes at `pos`, if there are eight and
/// one of them is a digit.
#[inline(always)]
fn last_digit_in_word_at(bytes: &[u8], pos: usize) -> Option<usize> {
    let word = bytes.get(pos..)?.first_chunk::<8>()?;
    // Every flag exact (not only the lowest, as in [`first_digit_in_word`]).
    let digits = !non_digit_highs(u64::from_le_bytes(*word)) & HIGHS;
    (digits != 0).then(|| pos + 7 - (digits.leading_zeros() / 8) as usize)
}

/// [`find_digit`] eight bytes at a time.
fn find_digit_by_words(bytes: &[u8], from: usize) -> Option<usize> {
    let mut pos = from;
    while pos + 8 <= bytes.len() {
        if let Some(at) = digit_in_word_at(bytes, pos) {
            return Some(at);
        }
        pos += 8;
    }
    bytes
        .get(pos..)
        .and_then(|rest| rest.iter().position(u8::is_ascii_digit))
        .map(|offset| pos + offset)
}

/// The separator starting at `pos` (just past a digit run) if a digit follows it, with the
/// position of that digit.
#[inline(always)]
fn separator_at(bytes: &[u8], pos: usize) -> Option<(Sep, usize)> {
    let at = |i: usize| bytes.get(i).copied();
    let digit_at = |i: usize| at(i).is_some_and(|b| b.is_ascii_digit());
    match at(pos)? {
        b'-' => digit_at(pos + 1).then_some((Sep::Hyphen, pos + 1)),
        b'(' => digit_at(pos + 1).then_some((Sep::OpenParen, pos + 1)),
        b')' => {
            if digit_at(pos + 1) {
                Some((Sep::CloseParen, pos + 1))
            } else if matches!(at(pos + 1), Some(b' ' | b'-')) && digit_at(pos + 2) {
                Some((Sep::CloseParen, pos + 2))
            } else {
                None
            }
        }
        b' ' | b'\t' | b'\n' => {
            let mut i = pos;
            let mut breaks = 0;
            while let Some(b) = at(i) {
                match b {
                    b' ' | b'\t' => {}
                    b'\n' => breaks += 1,
                    _ => break,
                }
                i += 1;
                if breaks > 1 || i - pos > MAX_LINE_BREAK_BYTES {
                    return None;
                }
            }
            if breaks == 1 {
                digit_at(i).then_some((Sep::LineBreak, i))
            } else if i - pos > MAX_SPACES {
                None
            } else if digit_at(i) {
                Some((Sep::Space, i))
            } else if at(i) == Some(b'(') && digit_at(i + 1) {
                Some((Sep::OpenParen, i + 1))
            } else {
                None
            }
        }
        _ => None,
    }
}

/// Consecutive groups of one chain, with their digits.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Window<'a> {
    /// The whole normalised text.
    pub text: &'a str,
    /// The groups of the window (the first one's `link` joins it to the group before).
    pub groups: &'a [Group],
    /// What joins the group after the window to it, if any.
    pub after: Option<Sep>,
    /// The digit values (0..=9) of all groups, concatenated.
    pub digits: &'a [u8],
}

impl Window<'_> {
    /// What joins the window to the group before it, if any.
    pub fn before(&self) -> Option<Sep> {
        self.groups.first().and_then(|g| g.link)
    }

    /// Byte range from the first digit to just past the last.
    pub fn span(&self) -> Range<usize> {
        let start = self.groups.first().map_or(0, |g| g.start);
        let end = self.groups.last().map_or(start, |g| g.end);
        start..end
    }

    /// The separators inside the window, in order.
    pub fn inner_seps(&self) -> impl Iterator<Item = Sep> + '_ {
        self.groups.iter().skip(1).filter_map(|g| g.link)
    }

    /// The one kind of separator used inside the window apart from line breaks:
    /// `Some(None)` if there is none, `Some(Some(Hyphen | Space))` if all are the same,
    /// `None` if they are mixed or include parentheses.
    pub fn uniform_sep(&self) -> Option<Option<Sep>> {
        let mut kind = None;
        for sep in self.inner_seps() {
            match sep {
                Sep::LineBreak => {}
                Sep::OpenParen | Sep::CloseParen => return None,
                Sep::Hyphen | Sep::Space => match kind {
                    None => kind = Some(sep),
                    Some(seen) if seen == sep => {}
                    Some(_) => return None,
                },
            }
        }
        Some(kind)
    }

    /// True when the window is exactly `len` digits with one kind of separator, split as
    /// one of `layouts`, not glued to more digits, and `valid` (the check digit) holds:
    /// the shape every fixed-length number detector accepts.
    pub fn is_fixed_length_number(
        &self,
        len: usize,
        layouts: &[&[usize]],
        valid: impl Fn(&[u8]) -> bool,
    ) -> bool {
        self.has_fixed_length_shape(len, layouts) && valid(self.digits)
    }

    /// True when the window is exactly `len` digits with one kind of separator, split as
    /// one of `layouts` and not glued to more digits: the shape of a fixed-length number,
    /// its check digit not yet looked at (a *candidate*).
    pub fn has_fixed_length_shape(&self, len: usize, layouts: &[&[usize]]) -> bool {
        if self.digits.len() != len {
            return false;
        }
        let Some(kind) = self.uniform_sep() else {
            return false;
        };
        layouts.iter().any(|layout| self.splits_follow(layout)) && self.stands_alone(kind)
    }

    /// Is the window `len` digits written one at a time with a space between each
    /// (`1 2 3 4 …`, what ideographic spaces between full-width digits become), standing
    /// alone? Nobody writes anything else that way, and a reader reads it as one number.
    pub fn is_spaced_digits(&self, len: usize) -> bool {
        self.digits.len() == len
            && self.groups.iter().all(|g| g.len() == 1)
            && self.inner_seps().all(|sep| sep == Sep::Space)
            && self.stands_alone(Some(Sep::Space))
    }

    /// Does every split between the window's groups fall on a boundary of `layout` (group
    /// lengths of a canonical way to write the number, e.g. `[4, 4, 4]`)?
    pub fn splits_follow(&self, layout: &[usize]) -> bool {
        let mut boundary = 0;
        let mut canonical = layout.iter().scan(0, |acc, len| {
            *acc += len;
            Some(*acc)
        });
        self.groups
            .iter()
            .take(self.groups.len().saturating_sub(1))
            .all(|g| {
                boundary += g.len();
                canonical.by_ref().any(|c| c == boundary)
            })
    }

    /// Is the window a number of its own and not a piece of something longer? It must not be
    /// glued by a hyphen to more digits, nor continue with more groups joined by the separator
    /// it uses inside (`kind`), nor touch ASCII letters, nor sit in a decimal or dotted number.
    ///
    /// A number wrapped over lines is ambiguous where it starts and ends (in a column of
    /// numbers, any few consecutive lines could be one), so a wrapped window must start its
    /// chain and may be followed only by more lines: `8456\n2396\n2024年` is not read as
    /// `2396 2024` plus the line before.
    pub fn stands_alone(&self, kind: Option<Sep>) -> bool {
        self.stands_alone_as(kind, self.span())
    }

    /// [`Self::stands_alone`] for a number written over `span` (the window's digits plus a
    /// leading `+` or `(`, say).
    pub fn stands_alone_as(&self, kind: Option<Sep>, span: Range<usize>) -> bool {
        let joined_to_more = |neighbour: Option<Sep>| match neighbour {
            Some(Sep::Hyphen) => true,
            Some(Sep::Space) => kind == Some(Sep::Space),
            _ => false,
        };
        let wrapped = self.inner_seps().any(|sep| sep == Sep::LineBreak);
        let wrap_ok = !wrapped
            || (self.before().is_none() && matches!(self.after, None | Some(Sep::LineBreak)));
        wrap_ok
            && !joined_to_more(self.before())
            && !joined_to_more(self.after)
            && detached_in_text(self.text, span.start, span.end)
    }
}

/// Is `text[start..end]` free of glue to the text around it: no ASCII letter or `_` right
/// next to it, not a piece of a decimal or dotted number (`.` followed by a digit after it,
/// or preceded by one before it; a zero fraction such as Excel's `123456789018.0` is not a
/// piece), not inside a number grouped by thousands separators (`1,234,567`), and no `-`
/// that joins it to a letter or digit?
///
/// A comma between digits is a thousands separator only where the digits around it group
/// as one (`\d{1,3}(,\d{3})+`); elsewhere it separates fields, as in a CSV row
/// `1001,03-1234-5678,123456789018`, whose number stands alone.
pub(crate) fn detached_in_text(text: &str, start: usize, end: usize) -> bool {
    let bytes = text.as_bytes();
    let before = start.checked_sub(1).and_then(|i| bytes.get(i)).copied();
    let before2 = start.checked_sub(2).and_then(|i| bytes.get(i)).copied();
    let after = bytes.get(end).copied();
    let after2 = bytes.get(end + 1).copied();
    let word = |b: Option<u8>| b.is_some_and(|b| b.is_ascii_alphabetic() || b == b'_');
    let alnum = |b: Option<u8>| b.is_some_and(|b| b.is_ascii_alphanumeric());
    let digit = |b: Option<u8>| b.is_some_and(|b| b.is_ascii_digit());
    let glued_before = match before {
        Some(b'.') => digit(before2),
        Some(b',') => digit(before2) && is_grouping_comma(bytes, start - 1),
        _ => false,
    };
    let glued_after = match after {
        Some(b'.') => digit(after2) && !zero_fraction(bytes, end + 1),
        Some(b',') => digit(after2) && is_grouping_comma(bytes, end),
        _ => false,
    };
    !(word(before)
        || word(after)
        || glued_before
        || glued_after
        || (before == Some(b'-') && alnum(before2))
        || (after == Some(b'-') && alnum(after2)))
}

/// How far either side of a comma [`is_grouping_comma`] looks: a grouped number longer than
/// this is not a number anyone writes.
const GROUPING_REACH: usize = 48;

/// Is the comma at `at` (between two digits) a thousands separator: do the digit groups
/// joined by commas around it read as `\d{1,3}(,\d{3})+`?
fn is_grouping_comma(bytes: &[u8], at: usize) -> bool {
    let digit = |i: usize| bytes.get(i).is_some_and(u8::is_ascii_digit);
    // Walk left over `digits(,digits)*` and right likewise, noting each group's length.
    let mut lengths_left = Vec::new();
    let mut i = at;
    loop {
        let end = i;
        while i > 0 && digit(i - 1) && end - i < GROUPING_REACH {
            i -= 1;
        }
        lengths_left.push(end - i);
        if i >= 2 && bytes.get(i - 1) == Some(&b',') && digit(i - 2) && at - i < GROUPING_REACH {
            i -= 1;
        } else {
            break;
        }
    }
    let mut lengths_right = Vec::new();
    let mut j = at + 1;
    loop {
        let start = j;
        while digit(j) && j - start < GROUPING_REACH {
            j += 1;
        }
        lengths_right.push(j - start);
        if bytes.get(j) == Some(&b',') && digit(j + 1) && j - at < GROUPING_REACH {
            j += 1;
        } else {
            break;
        }
    }
    let first = lengths_left.last().copied().unwrap_or(0);
    let inner_left = lengths_left.iter().rev().skip(1);
    (1..=3).contains(&first) && inner_left.chain(lengths_right.iter()).all(|&len| len == 3)
}

/// Is `bytes[from..]` a fraction of zeros only (`0`, `00` …) followed by no digit: the
/// `.0` a spreadsheet writes after a whole number?
fn zero_fraction(bytes: &[u8], from: usize) -> bool {
    let mut i = from;
    while bytes.get(i) == Some(&b'0') {
        i += 1;
    }
    i > from && !bytes.get(i).is_some_and(u8::is_ascii_digit)
}

/// Calls `on_window` with every window of `chain` of at most [`MAX_WINDOW_DIGITS`] digits,
/// by start group, and from each start the LONGEST window first (so that a detector of
/// variable-length numbers takes the whole number, not a prefix that happens to check).
/// `on_window` returns `true` to say the windows from this start group on are no longer
/// wanted (the caller found what it looks for there). Windows of fewer than `min_digits`
/// digits are not offered.
pub(crate) fn for_each_window(
    text: &str,
    chain: &[Group],
    min_digits: usize,
    mut on_window: impl FnMut(usize, usize, &Window<'_>) -> bool,
) {
    let total: usize = chain.iter().map(Group::len).sum();
    let mut stack_digits = [0u8; CHAIN_STACK_DIGITS];
    let mut stack_offsets = [0usize; CHAIN_STACK_DIGITS + 1];
    let (mut heap_digits, mut heap_offsets) = (Vec::new(), Vec::new());
    let (digits, offsets): (&mut [u8], &mut [usize]) = match (
        stack_digits.get_mut(..total),
        stack_offsets.get_mut(..=chain.len()),
    ) {
        (Some(digits), Some(offsets)) => (digits, offsets),
        _ => {
            heap_digits.resize(total, 0);
            heap_offsets.resize(chain.len() + 1, 0);
            (&mut heap_digits, &mut heap_offsets)
        }
    };
    windows_of(text, chain, min_digits, digits, offsets, &mut on_window);
}

/// The chains [`for_each_window`] handles without allocating: at most this many digits (and
/// so groups). Nearly every chain of a text is this short.
const CHAIN_STACK_DIGITS: usize = 64;

/// [`for_each_window`] with room for the chain's digit values (`digits`, at least as many as
/// the chain has) and the offset of each group's first digit in them (`offsets`, one more
/// than the groups): every digit is converted once per chain, and each window is a slice of
/// them.
fn windows_of(
    text: &str,
    chain: &[Group],
    min_digits: usize,
    digits: &mut [u8],
    offsets: &mut [usize],
    on_window: &mut impl FnMut(usize, usize, &Window<'_>) -> bool,
) {
    let bytes = text.as_bytes();
    let mut len = 0;
    for (i, group) in chain.iter().enumerate() {
        let (Some(group_bytes), Some(slots)) = (
            bytes.get(group.start..group.end),
            digits.get_mut(len..len + group.len()),
        ) else {
            return;
        };
        for (slot, b) in slots.iter_mut().zip(group_bytes) {
            *slot = b.wrapping_sub(b'0');
        }
        if let Some(offset) = offsets.get_mut(i) {
            *offset = len;
        }
        len += group.len();
    }
    if let Some(offset) = offsets.get_mut(chain.len()) {
        *offset = len;
    }
    let digits = &*digits;
    let offset = |i: usize| offsets.get(i).copied().unwrap_or(len);
    let mut last_fitting = 0; // the last group of the longest window from `first`
    for first in 0..chain.len() {
        let from = offset(first);
        // The longest window from `first` of at most MAX_WINDOW_DIGITS digits (none when the
        // group itself is longer).
        last_fitting = last_fitting.max(first);
        while last_fitting + 1 < chain.len() && offset(last_fitting + 2) - from <= MAX_WINDOW_DIGITS
        {
            last_fitting += 1;
        }
        if offset(first + 1) - from > MAX_WINDOW_DIGITS {
            continue;
        }
        for last in (first..=last_fitting).rev() {
            let to = offset(last + 1);
            if to - from < min_digits {
                break;
            }
            let (Some(groups), Some(window_digits)) =
                (chain.get(first..=last), digits.get(from..to))
            else {
                continue;
            };
            let window = Window {
                text,
                groups,
                after: chain.get(last + 1).and_then(|g| g.link),
                digits: window_digits,
            };
            if on_window(first, last, &window) {
                break;
            }
        }
    }
}

/// True when `number` is exactly `len` ASCII digits and `valid` holds for their values.
pub fn ascii_number_is_valid(number: &str, len: usize, valid: impl Fn(&[u8]) -> bool) -> bool {
    number.len() == len
        && number.bytes().all(|b| b.is_ascii_digit())
        && valid(&number.bytes().map(|b| b - b'0').collect::<Vec<_>>())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chains(text: &str) -> Vec<Vec<(String, Option<Sep>)>> {
        let mut out = Vec::new();
        for_each_chain(text, |chain| {
            out.push(
                chain
                    .iter()
                    .map(|g| (text[g.start..g.end].to_owned(), g.link))
                    .collect(),
            );
        });
        out
    }

    fn owned(groups: &[(&str, Option<Sep>)]) -> Vec<(String, Option<Sep>)> {
        groups.iter().map(|(s, l)| ((*s).to_owned(), *l)).collect()
    }

    #[test]
    fn links_hyphens_spaces_line_breaks_and_parens() {
        use Sep::*;
        assert_eq!(
            chains("a 1234-5678 9012\n  3456 b"),
            vec![owned(&[
                ("1234", None),
                ("5678", Some(Hyphen)),
                ("9012", Some(Space)),
                ("3456", Some(LineBreak)),
            ])]
        );
        assert_eq!(
            chains("03(1234)5678 (03) 1234"),
            vec![owned(&[
                ("03", None),
                ("1234", Some(OpenParen)),
                ("5678", Some(CloseParen)),
                ("03", Some(OpenParen)),
                ("1234", Some(CloseParen)),
            ])]
        );
    }

    proptest::proptest! {
        #[test]
        fn chains_of_a_minimum_are_the_chains_that_long(
            text in "[0-9０-９\\- \n()a]{0,60}",
            min in 0usize..12,
        ) {
            let text = crate::normalize::normalize_str(&text);
            let mut all = Vec::new();
            for_each_chain(&text, |chain| {
                if chain.iter().map(Group::len).sum::<usize>() >= min {
                    all.push(chain.to_vec());
                }
            });
            let mut long = Vec::new();
            for_each_chain_of(&text, min, |chain| long.push(chain.to_vec()));
            proptest::prop_assert_eq!(long, all);
        }
    }

    /// The windows of `chain` as the straightforward enumeration gives them: from each
    /// start group, every run of groups of at most MAX_WINDOW_DIGITS digits and at least
    /// `min` digits, longest first, until `stop` says so.
    fn naive_windows(
        text: &str,
        chain: &[Group],
        min: usize,
        stop: impl Fn(usize, usize) -> bool,
    ) -> Vec<(usize, usize, Vec<u8>, Option<Sep>)> {
        let mut out = Vec::new();
        for first in 0..chain.len() {
            let mut count = 0;
            let mut len = 0;
            for group in &chain[first..] {
                if len + group.len() > MAX_WINDOW_DIGITS {
                    break;
                }
                len += group.len();
                count += 1;
            }
            for last in (first..first + count).rev() {
                let digits: Vec<u8> = chain[first..=last]
                    .iter()
                    .flat_map(|g| text.as_bytes()[g.start..g.end].iter().map(|b| b - b'0'))
                    .collect();
                if digits.len() < min {
                    break;
                }
                out.push((
                    first,
                    last,
                    digits,
                    chain.get(last + 1).and_then(|g| g.link),
                ));
                if stop(first, last) {
                    break;
                }
            }
        }
        out
    }

    proptest::proptest! {
        #[test]
        fn windows_are_every_run_of_groups_within_the_bounds(
            text in "[0-9\\- \n()x]{0,200}",
            min in 0usize..14,
            stop_at in 0usize..8,
        ) {
            let stop = |first: usize, last: usize| (first + last) % 8 == stop_at;
            for_each_chain(&text, |chain| {
                let mut fast = Vec::new();
                for_each_window(&text, chain, min, |first, last, w| {
                    fast.push((first, last, w.digits.to_vec(), w.after));
                    assert_eq!(w.groups, &chain[first..=last]);
                    stop(first, last)
                });
                assert_eq!(fast, naive_windows(&text, chain, min, stop));
            });
        }

        #[test]
        fn windows_of_long_chains_are_every_run_too(groups in proptest::collection::vec(1usize..25, 1..40)) {
            let text = groups
                .iter()
                .enumerate()
                .map(|(i, &n)| char::from(b'0' + (i % 10) as u8).to_string().repeat(n))
                .collect::<Vec<_>>()
                .join("-");
            for_each_chain(&text, |chain| {
                let mut fast = Vec::new();
                for_each_window(&text, chain, 1, |first, last, w| {
                    fast.push((first, last, w.digits.to_vec(), w.after));
                    false
                });
                assert_eq!(fast, naive_windows(&text, chain, 1, |_, _| false));
            });
        }
    }

    /// Every chain as a byte-by-byte walk finds it: the reference for [`for_each_chain_of`].
    fn naive_chains(text: &str) -> Vec<Vec<Group>> {
        let bytes = text.as_bytes();
        let mut chains = Vec::new();
        let mut groups = Vec::new();
        let (mut pos, mut link) = (0, None);
        loop {
            if link.is_none() {
                match bytes[pos..].iter().position(u8::is_ascii_digit) {
                    Some(at) => pos += at,
                    None => break,
                }
            }
            let start = pos;
            while pos < bytes.len() && bytes[pos].is_ascii_digit() {
                pos += 1;
            }
            groups.push(Group {
                start,
                end: pos,
                link,
            });
            match separator_at(bytes, pos) {
                Some((sep, next)) => (link, pos) = (Some(sep), next),
                None => {
                    chains.push(std::mem::take(&mut groups));
                    link = None;
                }
            }
        }
        chains
    }

    proptest::proptest! {
        #[test]
        fn chains_are_those_of_a_byte_by_byte_walk(
            text in "[0-9０-９\\- \n\t()a.]{0,120}",
            min in 0usize..12,
        ) {
            let text = crate::normalize::normalize_str(&text);
            let expected: Vec<Vec<Group>> = naive_chains(&text)
                .into_iter()
                .filter(|chain| chain.iter().map(Group::len).sum::<usize>() >= min)
                .collect();
            let mut found = Vec::new();
            for_each_chain_of(&text, min, |chain| found.push(chain.to_vec()));
            proptest::prop_assert_eq!(found, expected);
        }
    }

    #[test]
    fn breaks_chains_on_anything_else() {
        assert_eq!(chains("12--34").len(), 2);
        assert_eq!(chains("12    34").len(), 2);
        assert_eq!(chains("12\n\n34").len(), 2);
        assert_eq!(chains("12 x 34").len(), 2);
        assert_eq!(chains("12/34").len(), 2);
        assert_eq!(chains("12-").len(), 1);
        assert_eq!(chains("").len(), 0);
        assert_eq!(chains("no digits").len(), 0);
    }

    #[test]
    fn digits_are_found_wherever_they_are() {
        let text = "ab０1cdefgh/:9xyz 日本8";
        let reference: Vec<usize> = (0..text.len())
            .filter_map(|from| {
                text.as_bytes()[from..]
                    .iter()
                    .position(u8::is_ascii_digit)
                    .map(|o| o + from)
            })
            .collect();
        let fast: Vec<usize> = (0..text.len())
            .filter_map(|from| find_digit(text.as_bytes(), from))
            .collect();
        assert_eq!(fast, reference);
        assert_eq!(find_digit(b"", 0), None);
        assert_eq!(find_digit(b"abcdefghijklmnop", 3), None);
        for b in 0..=255u8 {
            let mut bytes = [b'x'; 20];
            bytes[11] = b;
            let expected = b.is_ascii_digit().then_some(11);
            assert_eq!(find_digit(&bytes, 0), expected, "{b}");
        }
        // Past whole blocks, at every place in one, and in the tail after the last.
        for at in 0..100 {
            for b in [b'0', b'5', b'9', b'/', b':', 0xB0, 0xB9] {
                let mut bytes = [0xE3u8; 100];
                bytes[at] = b;
                let expected = b.is_ascii_digit().then_some(at);
                for from in [0, 1, 7, 31, 32, 33] {
                    let expected = expected.filter(|&at| at >= from);
                    assert_eq!(
                        find_digit(&bytes, from),
                        expected,
                        "{b} at {at} from {from}"
                    );
                }
            }
        }
    }

    #[test]
    fn the_last_digit_is_found_wherever_it_is() {
        let text = "ab０1cdefgh/:9xyz 日本8";
        for end in 0..=text.len() {
            let reference = text.as_bytes()[..end].iter().rposition(u8::is_ascii_digit);
            assert_eq!(rfind_digit(&text.as_bytes()[..end]), reference, "{end}");
        }
        assert_eq!(rfind_digit(b""), None);
        for b in 0..=255u8 {
            let mut bytes = [b'x'; 20];
            bytes[11] = b;
            let expected = b.is_ascii_digit().then_some(11);
            assert_eq!(rfind_digit(&bytes), expected, "{b}");
        }
        // Past whole blocks, at every place in one, in the words before and after them, with
        // a later digit hidden by `end`.
        for at in 0..100 {
            for b in [b'0', b'5', b'9', b'/', b':', 0xB0, 0xB9] {
                let mut bytes = [0xE3u8; 101];
                bytes[at] = b;
                bytes[100] = b'1';
                let expected = b.is_ascii_digit().then_some(at);
                for end in [100, 99, 93, 92, 91, 68, 60, 33, 8, 7, 1, 0] {
                    let expected = expected.filter(|&at| at < end);
                    assert_eq!(
                        rfind_digit(&bytes[..end]),
                        expected,
                        "{b} at {at} before {end}"
                    );
                }
            }
        }
    }

    #[test]
    fn digit_runs_end_at_the_first_other_byte() {
        for b in 0..=255u8 {
            for at in 0..20 {
                let mut bytes = [b'7'; 24];
                bytes[at] = b;
                let expected = if b.is_ascii_digit() { 24 } else { at };
                assert_eq!(digit_run_end(&bytes, 0), expected, "{b} at {at}");
                assert_eq!(digit_run_end(&bytes, at.min(3)), expected.max(at.min(3)));
            }
        }
        assert_eq!(digit_run_end(b"", 0), 0);
        assert_eq!(digit_run_end(b"12a", 0), 2);
    }

    #[test]
    fn a_long_run_is_one_group() {
        let text = "9".repeat(200);
        assert_eq!(chains(&text), vec![owned(&[(text.as_str(), None)])]);
    }

    #[test]
    fn windows_never_exceed_the_digit_bound() {
        let text = "1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3";
        let mut count = 0;
        for_each_chain(text, |chain| {
            for_each_window(text, chain, 1, |_, _, w| {
                assert!(w.digits.len() <= MAX_WINDOW_DIGITS);
                count += 1;
                false
            });
        });
        assert!(count > 0);
    }

    #[test]
    fn splits_follow_a_layout() {
        let text = "1234 5678 9012";
        let mut results = Vec::new();
        for_each_chain(text, |chain| {
            for_each_window(text, chain, 1, |first, last, w| {
                if first == 0 && last == 2 {
                    results.push(w.splits_follow(&[4, 4, 4]));
                    results.push(w.splits_follow(&[4, 8]));
                    results.push(w.splits_follow(&[1, 4, 4, 3]));
                }
                false
            });
        });
        assert_eq!(results, vec![true, false, false]);
    }

    #[test]
    fn detachment_rejects_letters_decimals_and_hyphen_glue() {
        let ok = |t: &str, s: &str| {
            let at = t.find(s).unwrap();
            detached_in_text(t, at, at + s.len())
        };
        assert!(ok("番号は123です", "123"));
        assert!(ok("(123)", "123"));
        assert!(ok("123", "123"));
        assert!(!ok("ID123", "123"));
        assert!(!ok("123abc", "123"));
        assert!(!ok("1.123", "123"));
        assert!(!ok("A-123", "123"));
        assert!(ok("値: -123", "123"));
        // Thousands separators glue; commas between fields do not.
        assert!(!ok("1,234,567", "234"));
        assert!(!ok("12,345", "345"));
        assert!(ok("123,5", "123"));
        assert!(ok("1001,03-1234-5678,123456789018", "123456789018"));
        assert!(ok("123456789018,1001", "123456789018"));
        assert!(ok("1,234,567,123456789018", "123456789018"));
        assert!(ok("123456789018,1,234,567", "123456789018"));
        // A spreadsheet's zero fraction is not a decimal part.
        assert!(ok("123456789018.0", "123456789018"));
        assert!(ok("123456789018.00,x", "123456789018"));
        assert!(!ok("123456789018.5", "123456789018"));
    }
}
