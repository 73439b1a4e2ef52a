//! What a detector reports, and how a finding is masked so that logs, notifications and the
//! admin panel never carry the personal data they are about.

use compact_str::CompactString;
use std::fmt;
use std::ops::Range;

use serde::{Deserialize, Serialize};

/// Which detector produced a finding.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DetectorKind {
    /// A My Number (個人番号) with a valid check digit.
    MyNumber,
    /// A corporate number (法人番号) with a valid check digit.
    CorporateNumber,
    /// A Luhn-valid payment card number with a known issuer prefix.
    CreditCard,
    /// A Japanese telephone number.
    Phone,
    /// A list of at least the configured number of distinct e-mail addresses.
    EmailList,
    /// A rule of the administrator's dictionary.
    Custom {
        /// The 0-based position of the rule in the configured rule list.
        rule: usize,
    },
}

impl DetectorKind {
    /// Is this one of the detectors of numbers (which context keywords strengthen)?
    pub fn is_numeric(self) -> bool {
        matches!(
            self,
            Self::MyNumber | Self::CorporateNumber | Self::CreditCard | Self::Phone
        )
    }
}

impl fmt::Display for DetectorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::MyNumber => f.write_str("my_number"),
            Self::CorporateNumber => f.write_str("corporate_number"),
            Self::CreditCard => f.write_str("credit_card"),
            Self::Phone => f.write_str("phone"),
            Self::EmailList => f.write_str("email_list"),
            Self::Custom { rule } => write!(f, "custom[{rule}]"),
        }
    }
}

/// How sure a detector is that a finding is the personal data it looks for.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum Confidence {
    /// Looks right but proves nothing (a phone-shaped number with no context).
    Low,
    /// Proven by structure (a valid check digit), or an administrator's rule matched.
    #[default]
    Medium,
    /// Proven by structure and confirmed by a context keyword nearby.
    High,
}

impl fmt::Display for Confidence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Low => "low",
            Self::Medium => "medium",
            Self::High => "high",
        })
    }
}

impl Confidence {
    /// One step more sure (`High` stays `High`).
    pub fn raised(self) -> Self {
        match self {
            Self::Low => Self::Medium,
            Self::Medium | Self::High => Self::High,
        }
    }
}

/// One piece of personal data found in a text.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct Finding {
    /// The detector that found it.
    pub detector: DetectorKind,
    /// How sure the detector is.
    pub confidence: Confidence,
    /// Byte range in the *normalised* text (see [`crate::NormalizedText`]).
    pub span: Range<usize>,
    /// 1-based line number of the start of the span.
    pub line: usize,
    /// A form safe to log and show: digits masked, or the rule's name for custom rules.
    ///
    /// Short, so kept inline (a scan of a large text makes one per finding).
    pub masked: CompactString,
}

/// How many leading digits a masked number keeps.
pub const MASK_KEEP_FIRST: usize = 4;
/// How many trailing digits a masked number keeps.
pub const MASK_KEEP_LAST: usize = 2;

/// Numbers at least this long keep [`MASK_KEEP_FIRST`] + [`MASK_KEEP_LAST`] digits; shorter
/// ones keep at most half of theirs.
pub const MASK_FULL_RULE_MIN_DIGITS: usize = 10;

/// Masks the digits of a number as written: keeps the first [`MASK_KEEP_FIRST`] and the last
/// [`MASK_KEEP_LAST`] digits and every separator, puts `*` for the other digits
/// (`1234-5678-9012` → `1234-****-**12`). A number shorter than
/// [`MASK_FULL_RULE_MIN_DIGITS`] keeps at most half of its digits, so a mask never shows more
/// than six digits nor the whole number. Whitespace holding a line break becomes one space,
/// so that a mask is always a single line.
pub fn mask_number(written: &str) -> CompactString {
    let bytes = written.as_bytes();
    // One pass for what decides the path: the digits, and whether all is ASCII on one line.
    let (mut total, mut one_line_ascii) = (0, true);
    for &b in bytes {
        total += usize::from(b.is_ascii_digit());
        one_line_ascii &= b.is_ascii() && b != b'\n';
    }
    let (first, last) = kept_digits(total);
    if one_line_ascii {
        return mask_one_ascii_line(bytes, total, first, last);
    }
    if written.is_ascii() {
        return mask_ascii(written.as_bytes(), total, first, last);
    }
    let mut out = CompactString::with_capacity(written.len());
    let mut seen = 0;
    let mut chars = written.chars().peekable();
    while let Some(c) = chars.next() {
        if c.is_ascii_digit() {
            seen += 1;
            out.push(if seen <= first || seen > total - last {
                c
            } else {
                '*'
            });
        } else if c.is_whitespace() {
            let mut run = String::from(c);
            while let Some(&next) = chars.peek() {
                if !next.is_whitespace() {
                    break;
                }
                run.push(next);
                chars.next();
            }
            if run.contains('\n') {
                out.push(' ');
            } else {
                out.push_str(&run);
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// How many digits a mask keeps at the start and at the end of a number of `total` digits:
/// [`MASK_KEEP_FIRST`] and [`MASK_KEEP_LAST`] from [`MASK_FULL_RULE_MIN_DIGITS`] digits on,
/// at most half of a shorter one.
fn kept_digits(total: usize) -> (usize, usize) {
    if total >= MASK_FULL_RULE_MIN_DIGITS {
        (MASK_KEEP_FIRST, MASK_KEEP_LAST)
    } else {
        let half = total / 2;
        let first = MASK_KEEP_FIRST.min(half);
        (first, MASK_KEEP_LAST.min(half - first))
    }
}

/// The fewest digits a run needs before [`mask_numbers_in`] masks it: shorter runs (a date
/// part, a version, a count) say nothing about anyone.
pub const MASK_IN_TEXT_MIN_DIGITS: usize = 6;

/// Masks every number in free text (a file name, an archive entry's path, a problem's
/// detail) the way [`mask_number`] masks a finding, so that a location or an explanation
/// never carries the number a finding is about: `山田_123456789018.csv` →
/// `山田_1234******18.csv`. A number is a run of at least [`MASK_IN_TEXT_MIN_DIGITS`] digits
/// (ASCII or full-width) with at most two separators (`-`, space, `_`, `(`, `)`, `/` and their
/// full-width forms) between digits. Dots do not join digits here: the detectors never read
/// a dotted number as one, and part numbers such as `2.1.3` must stay readable.
pub fn mask_numbers_in(text: &str) -> std::borrow::Cow<'_, str> {
    let chars: Vec<char> = text.chars().collect();
    let digit_count = chars.iter().filter(|c| is_any_digit(**c)).count();
    if digit_count < MASK_IN_TEXT_MIN_DIGITS {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = chars.clone();
    let mut i = 0;
    while i < chars.len() {
        if !chars.get(i).is_some_and(|&c| is_any_digit(c)) {
            i += 1;
            continue;
        }
        // The run: digits with at most two separators between consecutive digits.
        let start = i;
        let mut end = i + 1;
        let mut digits = vec![i];
        let mut j = end;
        while j < chars.len() {
            let mut k = j;
            while k < chars.len() && k - j < 2 && chars.get(k).is_some_and(|&c| is_separator(c)) {
                k += 1;
            }
            if chars.get(k).is_some_and(|&c| is_any_digit(c)) {
                digits.push(k);
                end = k + 1;
                j = k + 1;
            } else {
                break;
            }
        }
        let total = digits.len();
        if total >= MASK_IN_TEXT_MIN_DIGITS {
            let (first, last) = kept_digits(total);
            for (n, &at) in digits.iter().enumerate() {
                if n >= first
                    && n < total - last
                    && let Some(slot) = out.get_mut(at)
                {
                    *slot = '*';
                }
            }
        }
        i = end.max(start + 1);
    }
    std::borrow::Cow::Owned(out.into_iter().collect())
}

/// An ASCII or a full-width decimal digit.
fn is_any_digit(c: char) -> bool {
    c.is_ascii_digit() || ('\u{FF10}'..='\u{FF19}').contains(&c)
}

/// A character people write between the digits of a number.
fn is_separator(c: char) -> bool {
    matches!(
        c,
        ' ' | '\t'
            | '-'
            | '_'
            | '('
            | ')'
            | '/'
            | '\u{3000}'
            | '\u{FF0D}'
            | '\u{30FC}'
            | '\u{2010}'
            | '\u{2212}'
            | '\u{FF08}'
            | '\u{FF09}'
    )
}

/// [`mask_number`] of ASCII text with a line break (a number wrapped in a table cell), a
/// byte at a time: `total` digits, of which the `first` and the `last` are kept; whitespace
/// holding a line break becomes one space.
fn mask_ascii(written: &[u8], total: usize, first: usize, last: usize) -> CompactString {
    let hidden = |seen: usize| seen > first && seen <= total - last;
    // ASCII whitespace as `char::is_whitespace` sees it (vertical tab included).
    let space = |b: u8| matches!(b, b' ' | b'\t'..=b'\r');
    with_work_buffer(written.len(), |out| {
        let mut len = 0;
        let mut put = |b: u8| {
            if let Some(slot) = out.get_mut(len) {
                *slot = b;
                len += 1;
            }
        };
        let mut seen = 0;
        let mut i = 0;
        while let Some(&b) = written.get(i) {
            i += 1;
            if b.is_ascii_digit() {
                seen += 1;
                put(if hidden(seen) { b'*' } else { b });
            } else if space(b) {
                let start = i - 1;
                while written.get(i).is_some_and(|&next| space(next)) {
                    i += 1;
                }
                let run = written.get(start..i).unwrap_or_default();
                if run.contains(&b'\n') {
                    put(b' ');
                } else {
                    run.iter().for_each(|&b| put(b));
                }
            } else {
                put(b);
            }
        }
        ascii_mask(out.get(..len).unwrap_or_default())
    })
}

/// [`mask_number`] of ASCII text without a line break (nearly every number the scanner
/// finds): every byte stays where it is, the hidden digits are starred in a copy, without a
/// branch on each byte.
fn mask_one_ascii_line(written: &[u8], total: usize, first: usize, last: usize) -> CompactString {
    with_work_buffer(written.len(), |out| {
        out.copy_from_slice(written);
        // The hidden digits lie between the `first`-th digit and the `last`-th from the end:
        // find those two places, then star every digit between them.
        let mut from = 0;
        let mut kept = 0;
        while kept < first
            && let Some(&b) = written.get(from)
        {
            kept += usize::from(b.is_ascii_digit());
            from += 1;
        }
        let mut to = written.len();
        let mut kept = 0;
        while kept < last && to > from {
            to -= 1;
            kept += usize::from(written.get(to).is_some_and(u8::is_ascii_digit));
        }
        if total > first + last
            && let Some(hidden) = out.get_mut(from..to)
        {
            for b in hidden {
                *b = if b.is_ascii_digit() { b'*' } else { *b };
            }
        }
        ascii_mask(out)
    })
}

/// Runs `work` on a buffer of `len` zero bytes: on the stack when it is short (a number's
/// mask always is), on the heap otherwise.
fn with_work_buffer<R>(len: usize, work: impl FnOnce(&mut [u8]) -> R) -> R {
    let mut stack = [0u8; MASK_STACK_BYTES];
    match stack.get_mut(..len) {
        Some(buffer) => work(buffer),
        None => work(&mut vec![0; len]),
    }
}

/// The mask written in `bytes` (ASCII only), kept inline by `CompactString` when short.
fn ascii_mask(bytes: &[u8]) -> CompactString {
    std::str::from_utf8(bytes)
        .map(CompactString::new)
        .unwrap_or_default()
}

/// The longest work buffer [`with_work_buffer`] keeps on the stack.
const MASK_STACK_BYTES: usize = 64;

#[cfg(test)]
mod tests {
    use super::*;

    fn digits(s: &str) -> usize {
        s.bytes().filter(u8::is_ascii_digit).count()
    }

    #[test]
    fn masks_a_grouped_number_keeping_separators() {
        assert_eq!(mask_number("1234-5678-9012"), "1234-****-**12");
        assert_eq!(mask_number("1234 5678 9012"), "1234 **** **12");
        assert_eq!(mask_number("123456789012"), "1234******12");
    }

    #[test]
    fn masks_a_phone_number() {
        assert_eq!(mask_number("03-1234-5678"), "03-12**-**78");
        assert_eq!(mask_number("+81 90 1234 5678"), "+81 90 **** **78");
        assert_eq!(mask_number("0120  123  456"), "0120  ***  *56");
        assert_eq!(mask_number("1234  5678"), "1234  ****");
        assert_eq!(mask_number("03(1234)5678"), "03(12**)**78");
    }

    #[test]
    fn line_breaks_in_a_number_become_one_space() {
        assert_eq!(mask_number("1234\n5678\n9012"), "1234 **** **12");
        assert_eq!(mask_number("1234 5678 \n  9012"), "1234 **** **12");
    }

    #[test]
    fn short_numbers_keep_at_most_half() {
        assert_eq!(mask_number("1234"), "12**");
        assert_eq!(mask_number("123456"), "123***");
        assert_eq!(mask_number("12"), "1*");
        assert_eq!(mask_number("1"), "*");
        assert_eq!(mask_number(""), "");
        for n in 1..40 {
            let s = "7".repeat(n);
            let shown = digits(&mask_number(&s));
            assert!(shown <= 6 && shown < n, "{n} digits show {shown}");
            if n < MASK_FULL_RULE_MIN_DIGITS {
                assert!(shown * 2 <= n, "{n} digits show {shown}");
            }
        }
    }

    #[test]
    fn numbers_in_free_text_are_masked() {
        assert_eq!(
            mask_numbers_in("山田_123456789018.csv"),
            "山田_1234******18.csv"
        );
        assert_eq!(
            mask_numbers_in("yamada-1234-5678-9018.pdf"),
            "yamada-1234-****-**18.pdf"
        );
        assert_eq!(
            mask_numbers_in("１２３４５６７８９０１８"),
            "１２３４******１８"
        );
        assert_eq!(mask_numbers_in("report 2024.pdf"), "report 2024.pdf");
        assert_eq!(
            mask_numbers_in("会議 2024-12-03.pdf"),
            "会議 2024-**-**.pdf"
        );
        assert_eq!(mask_numbers_in("attachment 2"), "attachment 2");
        for text in ["a 123456789012 b", "x1234567890123456y", "0312345678"] {
            let shown = mask_numbers_in(text)
                .chars()
                .filter(char::is_ascii_digit)
                .count();
            assert!(shown <= 6, "{text}");
        }
    }

    #[test]
    fn confidence_orders_and_raises() {
        assert!(Confidence::Low < Confidence::Medium && Confidence::Medium < Confidence::High);
        assert_eq!(Confidence::Low.raised(), Confidence::Medium);
        assert_eq!(Confidence::Medium.raised(), Confidence::High);
        assert_eq!(Confidence::High.raised(), Confidence::High);
    }

    #[test]
    fn detector_kinds_display_stably() {
        assert_eq!(DetectorKind::MyNumber.to_string(), "my_number");
        assert_eq!(DetectorKind::Custom { rule: 3 }.to_string(), "custom[3]");
        assert!(DetectorKind::Phone.is_numeric());
        assert!(!DetectorKind::EmailList.is_numeric());
    }

    /// The straightforward masking the ASCII path must equal (a `char` at a time).
    fn mask_by_chars(written: &str) -> CompactString {
        let padded = format!("{written}\u{e9}");
        let masked = mask_number(&padded);
        masked.strip_suffix('\u{e9}').unwrap().into()
    }

    proptest::proptest! {
        #[test]
        fn ascii_masking_equals_masking_by_characters(written in "[0-9 \t\n\r\x0B\x0C()+a-]{0,30}") {
            proptest::prop_assert_eq!(mask_number(&written), mask_by_chars(&written));
        }
    }
}
