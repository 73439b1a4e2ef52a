//! Text normalisation ahead of detection.
//!
//! Japanese mail writes the same number in many ways: full-width digits (`１２３４`),
//! ideographic spaces, and a zoo of dash-like characters (`－ ‐ ‑ ‒ – — ― −`, and the
//! katakana prolonged sound mark `ー` used as a hyphen between digits). Every detector runs on
//! one canonical form instead:
//!
//! 1. Unicode NFKC: full-width digits and letters become ASCII, `　` (U+3000) becomes a space,
//!    half-width katakana become full-width, `＋（）＠` become `+()@`.
//! 2. Every hyphen, dash and minus sign becomes `-`. Characters that are also ordinary
//!    Japanese text (`ー`, box-drawing `─ ━`) are folded only when they stand between two
//!    ASCII digits, so `データー` stays as it is while `0３ー1234` becomes `03-1234`.
//! 3. Line ends (`\r\n`, lone `\r`) become `\n`, so line numbers are counted one way.
//!
//! Spans of findings are byte ranges in the normalised text; [`NormalizedText::line_of`]
//! turns one into the 1-based line number, which is the same in the original text because
//! normalisation never adds or removes a line.
//!
//! Speed: most of a mail is ASCII and kana/kanji that none of the steps changes. Such
//! *stable* characters (a precomputed table of the Basic Multilingual Plane, see
//! [`is_stable`]) are copied in bulk: a block classifier (`block`, SSE2 or NEON) flags,
//! 32 bytes at a time, the characters that may need care, and only those are looked
//! at one by one. Characters that become one stable character (`１`, `（`, `ｶ`) are replaced
//! directly; only the runs between stable characters go through the NFKC iterator.

use std::ops::Range;
use std::sync::OnceLock;

use unicode_normalization::UnicodeNormalization;

mod block;

/// Text after NFKC, dash folding and line-end folding, with an index of its lines (built on
/// first use).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NormalizedText {
    text: String,
    /// Byte offset where each line starts; the first entry is always 0.
    line_starts: OnceLock<Vec<usize>>,
}

impl NormalizedText {
    /// Normalises `input` (see the module documentation for what changes).
    pub fn new(input: &str) -> Self {
        let mut text = String::new();
        normalize_into(&mut text, input);
        Self {
            text,
            line_starts: OnceLock::new(),
        }
    }

    /// The normalised text.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    fn line_starts(&self) -> &[usize] {
        self.line_starts.get_or_init(|| {
            std::iter::once(0)
                .chain(memchr::memchr_iter(b'\n', self.text.as_bytes()).map(|at| at + 1))
                .collect()
        })
    }

    /// The 1-based number of the line holding byte `offset` of the normalised text (an offset
    /// past the end counts as on the last line).
    pub fn line_of(&self, offset: usize) -> usize {
        self.line_starts()
            .partition_point(|&start| start <= offset)
            .max(1)
    }

    /// The number of lines (a text without a line break has one).
    pub fn line_count(&self) -> usize {
        self.line_starts().len()
    }

    /// The byte range of 1-based line `line` (without its `\n`), or `None` past the end.
    pub fn line_span(&self, line: usize) -> Option<Range<usize>> {
        let starts = self.line_starts();
        let start = *starts.get(line.checked_sub(1)?)?;
        let end = starts.get(line).map_or(self.text.len(), |next| next - 1);
        Some(start..end)
    }
}

/// Normalises `input`; shorthand for [`NormalizedText::new`].
pub fn normalize(input: &str) -> NormalizedText {
    NormalizedText::new(input)
}

/// Normalises a short pattern (an administrator's keyword, say) the same way as scanned text,
/// so that a keyword typed in full-width still matches.
pub fn normalize_str(input: &str) -> String {
    let mut out = String::new();
    normalize_into(&mut out, input);
    out
}

/// One bit per Basic Multilingual Plane code point: set when the character is *stable*.
struct StableTable([u64; 1024]);

/// The stable characters of the BMP ([`stable_by_definition`]), and for each BMP code point
/// that is not stable but becomes one stable character alone (`１` → `1`, `Ａ` → `A`,
/// `　` → ` `, `ｶ` → `カ`, `－` → `-`) that character, 0 for the others
/// ([`simple_by_definition`]): `static STABLE: StableTable` and `static SIMPLE: [u16; 65536]`,
/// computed by the build script from the definitions (a test checks them again).
mod tables {
    use super::StableTable;
    include!(concat!(env!("OUT_DIR"), "/normalize_tables.rs"));
}
use tables::{SIMPLE, STABLE};

include!("normalize/definitions.rs");

impl StableTable {
    /// Is the BMP code point `cp` stable ([`stable_by_definition`])?
    #[inline(always)]
    fn has(&self, cp: u32) -> bool {
        self.0
            .get((cp >> 6) as usize)
            .is_some_and(|word| word & (1 << (cp & 63)) != 0)
    }
}

/// Is the BMP code point `cp` stable ([`stable_by_definition`])?
#[cfg(test)]
fn is_stable(cp: u32) -> bool {
    STABLE.has(cp)
}

/// Is `cp` a dash-between-digits character that NFKC leaves alone (`ー ─ ━`, not the
/// half-width `ｰ`)?
#[inline]
fn is_stable_dash_between_digits(cp: u32) -> bool {
    matches!(cp, 0x30FC | 0x2500 | 0x2501)
}

/// A character at the start of `bytes` that becomes one stable character ([`SIMPLE`]): its
/// length in bytes and that character.
#[inline(always)]
fn simple_at(simple: &[u16], bytes: &[u8]) -> Option<(usize, char)> {
    let &b0 = bytes.first()?;
    let cont = |i: usize| bytes.get(i).map_or(0, |&b| u32::from(b & 0x3F));
    let (len, cp) = match b0 {
        0xC0..=0xDF => (2, (u32::from(b0 & 0x1F) << 6) | cont(1)),
        0xE0..=0xEF => (3, (u32::from(b0 & 0x0F) << 12) | (cont(1) << 6) | cont(2)),
        _ => return None,
    };
    let y = *simple.get(cp as usize)?;
    if y == 0 {
        return None;
    }
    Some((len, char::from_u32(u32::from(y))?))
}

/// A full-width form of a printable ASCII character (U+FF01..=U+FF5E: `１`, `（`, `Ａ`) at
/// the start of `bytes`: that character. Most replaced characters of Japanese mail are
/// these; [`SIMPLE`] maps them the same way (a test checks), but this needs no table.
#[inline(always)]
fn full_width_ascii_at(bytes: &[u8]) -> Option<u8> {
    match *bytes {
        [0xEF, 0xBC, b2 @ 0x81..=0xBF, ..] => Some(b2 - 0x60),
        [0xEF, 0xBD, b2 @ 0x80..=0x9E, ..] => Some(b2 - 0x20),
        _ => None,
    }
}

/// A character at the start of `bytes` that becomes one stable character ([`SIMPLE`]): its
/// length in bytes and that character; full-width ASCII forms without the table.
#[inline(always)]
fn replaced_at(simple: &[u16], bytes: &[u8]) -> Option<(usize, char)> {
    match full_width_ascii_at(bytes) {
        Some(y) => Some((3, char::from(y))),
        None => simple_at(simple, bytes),
    }
}

/// A character that can be copied as it is, found at the start of `bytes`: its length in
/// bytes, and whether it is an ASCII digit. `previous_plain` says whether the character
/// before it was copied as it is and is not an ASCII digit (the dash-between-digits
/// characters are copied only then: they cannot stand between two digits).
///
/// The text can be cut just before such a character: it never composes with what precedes
/// it, nor is moved by reordering, and folding leaves it alone.
#[inline(always)]
fn copyable_at(stable: &StableTable, bytes: &[u8], previous_plain: bool) -> Option<(usize, bool)> {
    let &b0 = bytes.first()?;
    if b0 < 0x80 {
        return (b0 != b'\r').then_some((1, b0.is_ascii_digit()));
    }
    if let 0xE4..=0xE9 = b0 {
        // Kanji: all stable (a test checks the table says so).
        return Some((3, false));
    }
    let cont = |i: usize| bytes.get(i).map_or(0, |&b| u32::from(b & 0x3F));
    let (len, cp) = match b0 {
        0xC0..=0xDF => (2, (u32::from(b0 & 0x1F) << 6) | cont(1)),
        0xE0..=0xEF => (3, (u32::from(b0 & 0x0F) << 12) | (cont(1) << 6) | cont(2)),
        // Beyond the BMP (and not a character start): through the NFKC iterator.
        _ => return None,
    };
    if stable.has(cp) {
        return Some((len, false));
    }
    (previous_plain && is_stable_dash_between_digits(cp)).then_some((len, false))
}

/// Appends `input`, normalised, to `out`.
///
/// Copyable characters ([`copyable_at`]) are copied in bulk: [`block`] flags, 32 bytes
/// at a time, the characters that may not be copyable, and only those are looked at one by
/// one. A character that becomes one stable character ([`SIMPLE`]) is replaced directly when
/// the next one cannot compose with it. Each run of other characters is normalised together
/// with the copyable character before it (which it may compose with) up to the next
/// copyable character; cutting there gives the same result as normalising the whole text,
/// because a copyable character never composes with what precedes it. A `\r` ends a run too
/// (it becomes `\n`, or nothing before a `\n` or at the end).
pub(crate) fn normalize_into(out: &mut String, input: &str) {
    let bytes = input.as_bytes();
    let stable: &StableTable = &STABLE;
    let simple: &[u16] = &SIMPLE;
    out.reserve(input.len());
    let mut copied = 0; // `input[..copied]` is in `out`
    // Every character from `plain_from` up to the one at hand is copied as it is, and
    // `plain_before` is `previous_plain` of [`copyable_at`] at `plain_from`: false at the
    // start, after a `\r` and after a normalised run; after a replaced character, whether it
    // became anything but an ASCII digit. (Kept this way so that the copied characters need
    // no bookkeeping: what precedes a flagged character is worked out only when needed.)
    let mut plain_from = 0;
    let mut plain_before = false;
    let mut block_start = 0;
    loop {
        // The next span (two blocks) with a flagged lane; everything before it is copyable.
        let (start, mut lanes) = block::next_flagged(bytes, block_start);
        if lanes == 0 {
            break;
        }
        block_start = start;
        // Where the latest flagged character of the span ended.
        let mut next = block_start;
        while lanes != 0 {
            let at = block_start + lanes.trailing_zeros() as usize;
            let rest = bytes.get(at..).unwrap_or_default();
            next = 'char: {
                if let [0xE3, 0x83, 0xBC, ..] = rest
                    && at > plain_from
                    && !bytes.get(at - 1).is_some_and(u8::is_ascii_digit)
                {
                    // `ー` after a character copied as it is and not a digit (the common
                    // case, `データー`): copyable, see [`copyable_at`].
                    break 'char at + 3;
                }
                if let Some(first) = replaced_at(simple, rest) {
                    // Characters that become one stable character each (`１２`, `（`, `ｶﾀ`):
                    // replaced directly, a run of them at once, up to one before a character
                    // that may compose with it. An unflagged character of the span is
                    // copyable whatever precedes it.
                    let (mut end, (mut len, mut y)) = (at, first);
                    let mut replaced_any = false;
                    loop {
                        let after = end + len;
                        let following = bytes.get(after..).unwrap_or_default();
                        // An unflagged character is copyable, so not replaced.
                        let lane_after = after - block_start;
                        let copyable_next =
                            lane_after < block::SPAN && lanes >> lane_after & 1 == 0;
                        let then = if copyable_next {
                            None
                        } else {
                            replaced_at(simple, following)
                        };
                        let replaceable = copyable_next
                            || then.is_some()
                            || replaceable_before(
                                stable,
                                simple,
                                Some(following),
                                !y.is_ascii_digit(),
                            );
                        if !replaceable {
                            break;
                        }
                        if !replaced_any && at > copied {
                            out.push_str(input.get(copied..at).unwrap_or_default());
                        }
                        replaced_any = true;
                        out.push(y);
                        end = after;
                        plain_before = !y.is_ascii_digit();
                        let Some(then) = then else {
                            break;
                        };
                        (len, y) = then;
                    }
                    if replaced_any {
                        copied = end;
                        plain_from = end;
                        break 'char end;
                    }
                } else if rest.first() == Some(&b'\r') {
                    out.push_str(input.get(copied..at).unwrap_or_default());
                    // A `\r` ending a line (or the text) goes; a lone one becomes a line end.
                    if bytes.get(at + 1).is_some_and(|&next| next != b'\n') {
                        out.push('\n');
                    }
                    copied = at + 1;
                    plain_from = at + 1;
                    plain_before = false;
                    break 'char at + 1;
                }
                // The start of the character before, if it was copied as it is.
                let last_copyable = (at > plain_from).then(|| char_start_before(bytes, at));
                let previous_plain = last_copyable.map_or(plain_before, |last| {
                    !bytes.get(last).is_some_and(u8::is_ascii_digit)
                });
                if let Some((len, _)) = copyable_at(stable, rest, previous_plain) {
                    // Flagged to be safe (`ー` away from digits, a two-byte letter …).
                    break 'char at + len;
                }
                // A run to normalise: from the last copyable character to the next one (or
                // `\r`).
                let start = last_copyable.unwrap_or(at);
                out.push_str(input.get(copied..start).unwrap_or_default());
                let mut end = at + utf8_len(rest.first().copied().unwrap_or(0));
                while let Some(tail) = bytes.get(end..)
                    && !tail.is_empty()
                    && tail.first() != Some(&b'\r')
                    && copyable_at(stable, tail, false).is_none()
                {
                    end += utf8_len(tail.first().copied().unwrap_or(0));
                }
                let end = end.min(bytes.len());
                let following = input.get(end..).and_then(|rest| rest.chars().next());
                fold_into(
                    out,
                    input.get(start..end).unwrap_or_default().nfkc(),
                    following,
                );
                copied = end;
                plain_from = end;
                plain_before = false;
                end
            };
            // The lanes from `next` on (none past the span).
            lanes &= u64::MAX
                .checked_shl(u32::try_from(next - block_start).unwrap_or(u32::MAX))
                .unwrap_or(0);
        }
        // The rest of the span is copyable (a run may have gone past it).
        block_start = next.max(block_start + block::SPAN);
    }
    out.push_str(input.get(copied..).unwrap_or_default());
}

/// The start of the character that ends just before `at` (a character boundary after the
/// start of `bytes`, valid UTF-8).
#[inline]
fn char_start_before(bytes: &[u8], at: usize) -> usize {
    let mut start = at.saturating_sub(1);
    while start > 0 && bytes.get(start).is_some_and(|&b| b & 0xC0 == 0x80) {
        start -= 1;
    }
    start
}

/// Can a character that becomes the one stable character `y` ([`SIMPLE`]; `y_plain`: not an
/// ASCII digit) be replaced by it before `next` (the rest of the text)? Yes at the end, and
/// before a character that cannot compose with it: `\r`, a copyable character or another
/// such character.
#[inline(always)]
fn replaceable_before(
    stable: &StableTable,
    simple: &[u16],
    next: Option<&[u8]>,
    y_plain: bool,
) -> bool {
    let next = next.unwrap_or_default();
    next.is_empty()
        || next.first() == Some(&b'\r')
        || copyable_at(stable, next, y_plain).is_some()
        || simple_at(simple, next).is_some()
}

/// The length of the UTF-8 sequence that starts with `b0` (1 for a stray byte).
fn utf8_len(b0: u8) -> usize {
    match b0 {
        0xF0..=0xF7 => 4,
        0xE0..=0xEF => 3,
        0xC0..=0xDF => 2,
        _ => 1,
    }
}

/// Appends `chars` (already NFKC) to `out`, folding dashes and carriage returns;
/// `following` is the character after them (for the between-digits rule).
fn fold_into(out: &mut String, chars: impl Iterator<Item = char>, following: Option<char>) {
    let mut chars = chars.filter(|&c| !is_ignorable(c)).peekable();
    while let Some(c) = chars.next() {
        let folded = if c == '\r' {
            '\n'
        } else if is_dash(c)
            || (is_dash_between_digits(c)
                && out.as_bytes().last().is_some_and(u8::is_ascii_digit)
                && chars
                    .peek()
                    .or(following.as_ref())
                    .is_some_and(char::is_ascii_digit))
        {
            '-'
        } else {
            c
        };
        out.push(folded);
    }
}

/// The straightforward normalisation the fast one must equal: each line (without its `\r`)
/// through NFKC and folding as a whole.
#[cfg(test)]
pub(crate) fn reference(input: &str) -> String {
    let mut out = String::new();
    for (index, raw_line) in input.split('\n').enumerate() {
        if index > 0 {
            out.push('\n');
        }
        let line = raw_line.strip_suffix('\r').unwrap_or(raw_line);
        fold_into(&mut out, line.nfkc(), None);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_compiled_simple_table_is_what_the_definition_says() {
        // (The stable table: `the_stable_table_holds_exactly_the_stable_characters`.)
        for cp in 0..=0xFFFFu32 {
            let c = char::from_u32(cp);
            let simple = c
                .and_then(simple_by_definition)
                .and_then(|y| u16::try_from(u32::from(y)).ok())
                .unwrap_or(0);
            assert_eq!(SIMPLE[cp as usize], simple, "{cp:#x}");
        }
    }

    #[test]
    fn full_width_digits_letters_and_space_become_ascii() {
        let n = normalize("ＡＢＣ　１２３４＠ｅｘａｍｐｌｅ．ｊｐ");
        assert_eq!(n.as_str(), "ABC 1234@example.jp");
    }

    #[test]
    fn invisible_formatting_characters_are_dropped() {
        let n =
            normalize("5\u{200B}3\u{200C}5\u{200D}5\u{2060}3\u{AD}2\u{FEFF}9\u{200E}8 個人番号");
        assert_eq!(n.as_str(), "53553298 個人番号");
        assert_eq!(normalize("葛\u{E0100}飾").as_str(), "葛飾");
        assert_eq!(normalize("a\u{200B}b").as_str(), reference("a\u{200B}b"));
    }

    #[test]
    fn every_dash_becomes_hyphen() {
        for dash in ["－", "‐", "‑", "‒", "–", "—", "―", "−", "﹣", "˗"] {
            let n = normalize(&format!("1234{dash}5678"));
            assert_eq!(n.as_str(), "1234-5678", "dash {dash:?}");
        }
    }

    #[test]
    fn prolonged_sound_mark_folds_only_between_digits() {
        assert_eq!(
            normalize("０３ー１２３４ー５６７８").as_str(),
            "03-1234-5678"
        );
        assert_eq!(normalize("03ｰ1234").as_str(), "03-1234");
        assert_eq!(normalize("03─1234").as_str(), "03-1234");
        assert_eq!(normalize("データー").as_str(), "データー");
        assert_eq!(normalize("3ー").as_str(), "3ー");
        assert_eq!(normalize("ー3").as_str(), "ー3");
    }

    #[test]
    fn segments_normalise_like_the_whole_line() {
        // Combining marks after ASCII letters, dakuten after half-width kana, dashes at
        // segment ends: the segmented fast path must agree with plain NFKC + folding.
        for line in [
            "e\u{301}ｶﾞ１ー2",
            "ab\u{301}\u{327}c ｷﾞｬ ー ３ー4 x\u{300}ー",
            "０３ー1234ー５６７８",
            "漢字abc漢字\r\n",
            "ﾃｽﾄ123ﾃｽﾄ",
        ] {
            assert_eq!(normalize(line).as_str(), reference(line), "{line:?}");
        }
    }

    #[test]
    fn the_stable_table_holds_exactly_the_stable_characters() {
        for cp in 0..=0xFFFFu32 {
            let Some(c) = char::from_u32(cp) else {
                continue;
            };
            assert_eq!(is_stable(cp), stable_by_definition(c), "{cp:#x}");
            if is_stable(cp) {
                let s = c.to_string();
                assert_eq!(s.nfkc().collect::<String>(), s, "{cp:#x}");
                assert_eq!(reference(&s), s, "{cp:#x}");
            }
        }
        // The common cases are in it.
        for c in "aZ09 \n\t、。々「」ぁあんァアヶ漢字丁龥".chars() {
            assert!(is_stable(u32::from(c)), "{c:?}");
        }
        for c in "\r－ー─ｶ１　\u{301}\u{3099}\u{309B}".chars() {
            assert!(!is_stable(u32::from(c)), "{c:?}");
        }
    }

    #[test]
    fn simple_characters_become_their_one_character() {
        let mut count = 0;
        for cp in 0..=0xFFFFu32 {
            let Some(x) = char::from_u32(cp) else {
                continue;
            };
            let Some((_, y)) = simple_at(&SIMPLE, x.to_string().as_bytes()) else {
                continue;
            };
            count += 1;
            assert!(!is_stable(cp), "{cp:#x}");
            assert!(is_stable(u32::from(y)), "{cp:#x}");
            assert_eq!(reference(&x.to_string()), y.to_string(), "{cp:#x}");
            for around in ["a", "1", "漢", "ｶ", "\u{301}", "ﾞ", "ー", "－"] {
                for text in [format!("{x}{around}"), format!("{around}{x}{around}")] {
                    assert_eq!(normalize_str(&text), reference(&text), "{text:?}");
                }
            }
        }
        assert!(count > 1000, "{count}");
        for (x, y) in [
            ('１', '1'),
            ('Ａ', 'A'),
            ('　', ' '),
            ('ｶ', 'カ'),
            ('－', '-'),
        ] {
            assert_eq!(
                simple_at(&SIMPLE, x.to_string().as_bytes()).map(|s| s.1),
                Some(y)
            );
        }
    }

    #[test]
    fn full_width_ascii_is_replaced_as_the_simple_table_says() {
        let mut count = 0;
        for cp in 0x800..=0xFFFFu32 {
            let Some(x) = char::from_u32(cp) else {
                continue;
            };
            let text = x.to_string();
            if let Some(y) = full_width_ascii_at(text.as_bytes()) {
                count += 1;
                assert_eq!(
                    simple_at(&SIMPLE, text.as_bytes()),
                    Some((3, char::from(y))),
                    "{cp:#x}"
                );
            }
        }
        assert_eq!(count, 0x5E);
    }

    #[test]
    fn every_character_with_a_lead_byte_from_e4_to_e9_is_stable() {
        // Kanji: the table says stable for all of them (the bulk copy relies on the table).
        for cp in 0x4000..=0x9FFFu32 {
            assert!(is_stable(cp), "{cp:#x}");
        }
        assert_eq!("\u{4000}".as_bytes()[0], 0xE4);
        assert_eq!("\u{9FFF}".as_bytes()[0], 0xE9);
    }

    #[test]
    fn stable_dashes_between_digits_are_the_nfkc_stable_ones() {
        for cp in 0..=0xFFFFu32 {
            let Some(c) = char::from_u32(cp) else {
                continue;
            };
            let nfkc_stable = unicode_normalization::char::canonical_combining_class(c) == 0
                && unicode_normalization::is_nfkc_quick(std::iter::once(c))
                    == unicode_normalization::IsNormalized::Yes;
            assert_eq!(
                is_stable_dash_between_digits(cp),
                is_dash_between_digits(c) && nfkc_stable,
                "{cp:#x}"
            );
        }
    }

    #[test]
    fn every_stable_character_normalises_the_same_after_anything() {
        // A stable character never composes with what precedes it: check it after every
        // character that starts a composition or decomposes, for a sample of stable ones.
        let stable: Vec<char> = (0..=0xFFFFu32)
            .step_by(7)
            .filter(|&cp| is_stable(cp))
            .filter_map(char::from_u32)
            .collect();
        let before = [
            'e', 'A', 'か', 'ｶ', 'ﾞ', '\u{1100}', '\u{AC00}', '\u{0CC6}', '\u{0B47}', '１',
        ];
        for &b in &before {
            for &c in &stable {
                let text = format!("{b}{c}");
                assert_eq!(normalize_str(&text), reference(&text), "{text:?}");
            }
        }
    }

    proptest::proptest! {
        #[test]
        fn segmented_normalisation_equals_whole_line_normalisation(
            line in "[a-e0-9 \\-\u{300}-\u{302}\u{327}\u{3099}\u{309A}\u{309B}かきカキｶｷﾞﾟーｰ─━－―−０-９Ａ-Ｃ①漢字。、\u{3000}\u{F900}\u{AC00}\u{1100}\u{1161}\u{11A8}\r\n\u{1F600}\u{1D400}]{0,40}"
        ) {
            proptest::prop_assert_eq!(normalize_str(&line), reference(&line));
        }

        /// Stable runs, copied in bulk, alternate with characters replaced one for one
        /// (`１`, `（`, `ｶ`) and with what they may compose with.
        #[test]
        fn stable_runs_and_replaced_characters_alternate(
            text in "([あア漢字。a-c0-9 \n]{0,6}[１（）：，－ーｰｶﾊﾞﾟ\u{3099}\u{301}\r　①]{0,3}){0,16}"
        ) {
            proptest::prop_assert_eq!(normalize_str(&text), reference(&text));
        }

        /// The block classification at every alignment: up to a span of ASCII shifts a
        /// mixture of every kind of character (copied, flagged but copyable, replaced,
        /// normalised, line ends) across the block boundaries.
        #[test]
        fn normalisation_equals_the_reference_at_every_block_alignment(
            prefix in 0..=block::SPAN,
            pieces in proptest::collection::vec(proptest::prop_oneof![
                // Digits around the dash-like characters, often.
                proptest::sample::select(vec!["1", "１", "ー", "ｰ", "─", "ア"]),
                proptest::sample::select(vec![
                    "a", "1", "9", " ", "\r", "\r\n", "\n", "あ", "ア", "ン", "ー", "\u{3000}",
                    "\u{3099}", "\u{309A}", "\u{309B}", "\u{309C}", "\u{309D}", "\u{309F}",
                    "\u{30FF}", "\u{3029}", "\u{302A}", "\u{3031}", "〜", "、", "。", "漢", "字",
                    "１", "２", "（", "）", "：", "Ａ", "ｚ", "－", "ｶ", "ﾀ", "ﾞ", "ﾟ", "ｰ", "é",
                    "\u{301}", "ß", "\u{2126}", "①", "😀", "𝐀", "가", "\u{1100}", "\u{1161}", "─",
                    "\u{3200}", "\u{3400}", "\u{F900}", "\u{FF5F}", "\u{FFE5}",
                ]),
            ], 0..48)
        ) {
            let text = "a".repeat(prefix) + &pieces.concat();
            proptest::prop_assert_eq!(normalize_str(&text), reference(&text));
        }

        #[test]
        fn normalisation_equals_the_reference_on_any_text(text in "\\PC{0,80}") {
            proptest::prop_assert_eq!(normalize_str(&text), reference(&text));
        }

        #[test]
        fn normalisation_equals_the_reference_on_mixed_text(
            text in "([a-z0-9 \n\r\\-]{0,12}|[ぁ-ゖァ-ヿ゙-゜ｦ-ﾟー一-龥０-９　－]{0,12}|[\u{300}-\u{36F}\u{1100}-\u{11FF}\u{AC00}-\u{AC20}\u{2460}-\u{24FF}\u{3200}-\u{33FF}\u{FF00}-\u{FFEF}]{0,6}){0,12}"
        ) {
            proptest::prop_assert_eq!(normalize_str(&text), reference(&text));
        }
    }

    #[test]
    fn half_width_katakana_becomes_full_width() {
        assert_eq!(normalize("ﾏｲﾅﾝﾊﾞｰ").as_str(), "マイナンバー");
    }

    #[test]
    fn line_ends_fold_and_line_numbers_count_from_one() {
        let n = normalize("a\r\nb\rc\nd");
        assert_eq!(n.as_str(), "a\nb\nc\nd");
        assert_eq!(n.line_count(), 4);
        assert_eq!(n.line_of(0), 1);
        assert_eq!(n.line_of(1), 1);
        assert_eq!(n.line_of(2), 2);
        assert_eq!(n.line_of(6), 4);
        assert_eq!(n.line_of(100), 4);
        assert_eq!(n.line_span(2), Some(2..3));
        assert_eq!(n.line_span(4), Some(6..7));
        assert_eq!(n.line_span(0), None);
        assert_eq!(n.line_span(5), None);
    }

    #[test]
    fn line_numbers_survive_normalisation_of_wide_lines() {
        let n = normalize("一行目\n２行目　１２３\n三");
        let at = n.as_str().find("123").unwrap();
        assert_eq!(n.line_of(at), 2);
    }

    #[test]
    fn empty_text_has_one_line() {
        let n = normalize("");
        assert_eq!(n.as_str(), "");
        assert_eq!(n.line_count(), 1);
        assert_eq!(n.line_of(0), 1);
    }

    #[test]
    fn pattern_normalisation_matches_text_normalisation() {
        assert_eq!(
            normalize_str("ＣＯＮＦＩＤＥＮＴＩＡＬ－Ａ"),
            "CONFIDENTIAL-A"
        );
    }
}
