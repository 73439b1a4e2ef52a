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

use std::ops::Range;

use unicode_normalization::UnicodeNormalization;

/// Text after NFKC, dash folding and line-end folding, with an index of its lines.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NormalizedText {
    text: String,
    /// Byte offset where each line starts; the first entry is always 0.
    line_starts: Vec<usize>,
}

impl NormalizedText {
    /// Normalises `input` (see the module documentation for what changes).
    pub fn new(input: &str) -> Self {
        let mut text = String::with_capacity(input.len());
        for (index, raw_line) in input.split('\n').enumerate() {
            if index > 0 {
                text.push('\n');
            }
            let line = raw_line.strip_suffix('\r').unwrap_or(raw_line);
            normalize_line(&mut text, line);
        }
        let line_starts = std::iter::once(0)
            .chain(text.match_indices('\n').map(|(at, _)| at + 1))
            .collect();
        Self { text, line_starts }
    }

    /// The normalised text.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The 1-based number of the line holding byte `offset` of the normalised text (an offset
    /// past the end counts as on the last line).
    pub fn line_of(&self, offset: usize) -> usize {
        self.line_starts
            .partition_point(|&start| start <= offset)
            .max(1)
    }

    /// The number of lines (a text without a line break has one).
    pub fn line_count(&self) -> usize {
        self.line_starts.len()
    }

    /// The byte range of 1-based line `line` (without its `\n`), or `None` past the end.
    pub fn line_span(&self, line: usize) -> Option<Range<usize>> {
        let start = *self.line_starts.get(line.checked_sub(1)?)?;
        let end = self
            .line_starts
            .get(line)
            .map_or(self.text.len(), |next| next - 1);
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
    NormalizedText::new(input).text
}

/// Is `c` a dash, hyphen or minus sign that always means `-`?
fn is_dash(c: char) -> bool {
    matches!(
        c,
        '\u{2010}'
            ..='\u{2015}' // ‐ ‑ ‒ – — ―
            | '\u{2043}' // ⁃ hyphen bullet
            | '\u{2212}' // − minus sign
            | '\u{02D7}' // ˗ modifier letter minus
            | '\u{2E3A}' // ⸺ two-em dash
            | '\u{2E3B}' // ⸻ three-em dash
            | '\u{FE58}' // ﹘ small em dash
            | '\u{FE63}' // ﹣ small hyphen-minus
            | '\u{FF0D}' // － full-width hyphen-minus
    )
}

/// Is `c` a character that reads as a hyphen only between digits?
fn is_dash_between_digits(c: char) -> bool {
    matches!(
        c,
        '\u{30FC}' // ー katakana prolonged sound mark
            | '\u{FF70}' // ｰ half-width form of it
            | '\u{2500}' // ─ box drawings light horizontal
            | '\u{2501}' // ━ box drawings heavy horizontal
    )
}

/// Is `c` a kana, kanji or CJK punctuation mark that NFKC leaves alone in any context (it
/// has no decomposition, combining class 0, and is never the second half of a composition)?
/// These cover most of Japanese text; checking them by range is far cheaper than the general
/// quick-check tables.
fn is_stable_japanese(c: char) -> bool {
    matches!(
        c,
        '\u{3001}'..='\u{3002}' // 、。
            | '\u{3005}' // 々
            | '\u{3008}'..='\u{3011}' // 〈〉《》「」『』【】
            | '\u{3041}'..='\u{3096}' // hiragana
            | '\u{30A1}'..='\u{30FC}' // katakana, ・ and ー
            | '\u{3400}'..='\u{4DBF}' // CJK extension A
            | '\u{4E00}'..='\u{9FFF}' // CJK unified ideographs
    )
}

/// Can the line be cut just before `c` (preceded by `previous`) and `c` be copied as it is?
/// True for characters that NFKC leaves alone, never compose with what precedes them and
/// stop canonical reordering (ASCII, and [`is_stable_japanese`]), and that folding leaves
/// alone too: `ー` only after kana or kanji, where it cannot be between two digits.
fn is_safe(c: char, previous: Option<char>) -> bool {
    match c {
        '\r' => false,
        '\u{30FC}' => previous.is_some_and(is_stable_japanese),
        c => c.is_ascii() || is_stable_japanese(c),
    }
}

/// Appends one line (no `\n`) to `out`, normalised.
///
/// Safe characters ([`is_safe`]) are copied in bulk. Each run of other characters is
/// normalised together with the safe character before it (which it may compose with) up to
/// the next safe character; cutting there gives the same result as normalising the whole
/// line, because a safe character never composes with what precedes it.
fn normalize_line(out: &mut String, line: &str) {
    if line.is_ascii() && !line.contains('\r') {
        out.push_str(line);
        return;
    }
    let mut copied = 0; // `line[..copied]` is in `out`
    let mut last_safe = 0; // start of the latest safe character
    let mut previous = None;
    let mut chars = line.char_indices().peekable();
    while let Some((at, c)) = chars.next() {
        if is_safe(c, previous) {
            last_safe = at;
            previous = Some(c);
            continue;
        }
        // Copy up to the last safe character, then normalise from it to the next safe one.
        out.push_str(line.get(copied..last_safe).unwrap_or_default());
        let mut end = line.len();
        let mut prev = c;
        while let Some(&(next_at, next)) = chars.peek() {
            if is_safe(next, Some(prev)) {
                end = next_at;
                break;
            }
            prev = next;
            chars.next();
        }
        let region = line.get(last_safe..end).unwrap_or_default();
        let following = line.get(end..).and_then(|rest| rest.chars().next());
        fold_into(out, region.nfkc(), following);
        copied = end;
        last_safe = end;
        previous = Some(prev);
    }
    out.push_str(line.get(copied..).unwrap_or_default());
}

/// Appends `chars` (already NFKC) to `out`, folding dashes and carriage returns;
/// `following` is the character after them (for the between-digits rule).
fn fold_into(out: &mut String, chars: impl Iterator<Item = char>, following: Option<char>) {
    let mut chars = chars.peekable();
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_width_digits_letters_and_space_become_ascii() {
        let n = normalize("ＡＢＣ　１２３４＠ｅｘａｍｐｌｅ．ｊｐ");
        assert_eq!(n.as_str(), "ABC 1234@example.jp");
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
            let mut expected = String::new();
            fold_into(&mut expected, line.replace("\r\n", "\n").nfkc(), None);
            assert_eq!(normalize(line).as_str(), expected, "{line:?}");
        }
    }

    proptest::proptest! {
        #[test]
        fn segmented_normalisation_equals_whole_line_normalisation(
            line in "[a-e0-9 \\-\u{300}-\u{302}\u{327}\u{3099}\u{309A}\u{309B}かきカキｶｷﾞﾟーｰ─－―−０-９Ａ-Ｃ①漢字。、\u{3000}\u{F900}\u{AC00}\u{1100}\u{1161}\u{11A8}\r]{0,40}"
        ) {
            let mut expected = String::new();
            fold_into(&mut expected, line.nfkc(), None);
            let mut actual = String::new();
            normalize_line(&mut actual, &line);
            proptest::prop_assert_eq!(actual, expected);
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
