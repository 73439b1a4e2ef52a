//! Context keywords: words such as 「マイナンバー」 or "card number" near a number make it far
//! more likely to be what it looks like, so they raise the confidence of a numeric finding
//! within a window of characters before or after it.
//!
//! A keyword names the detectors it supports: 「法人番号」 next to a valid My Number proves
//! nothing about that My Number, so it raises only corporate-number findings. Keywords about
//! personal data in general (「住所」「生年月日」「口座番号」, and the administrator's extra
//! keywords) raise every numeric finding. Matching is on normalised text and ignores ASCII
//! case, so 「ﾏｲﾅﾝﾊﾞｰ」 and "MY NUMBER" count.

use std::ops::Range;

use aho_corasick::{AhoCorasick, Input, MatchKind};

use crate::finding::DetectorKind;
use crate::normalize::normalize_str;

/// The detectors a keyword supports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Supports(u8);

impl Supports {
    const MY_NUMBER: Self = Self(1);
    const CORPORATE: Self = Self(2);
    const CARD: Self = Self(4);
    const PHONE: Self = Self(8);
    const ALL: Self = Self(15);

    fn covers(self, kind: DetectorKind) -> bool {
        let bit = match kind {
            DetectorKind::MyNumber => Self::MY_NUMBER,
            DetectorKind::CorporateNumber => Self::CORPORATE,
            DetectorKind::CreditCard => Self::CARD,
            DetectorKind::Phone => Self::PHONE,
            DetectorKind::EmailList | DetectorKind::Custom { .. } => return false,
        };
        self.0 & bit.0 != 0
    }
}

/// The built-in keywords and what they support.
const BUILTIN: &[(&str, Supports)] = &[
    ("マイナンバー", Supports::MY_NUMBER),
    ("個人番号", Supports::MY_NUMBER),
    ("my number", Supports::MY_NUMBER),
    ("mynumber", Supports::MY_NUMBER),
    ("法人番号", Supports::CORPORATE),
    ("corporate number", Supports::CORPORATE),
    ("カード番号", Supports::CARD),
    ("クレジットカード", Supports::CARD),
    ("card number", Supports::CARD),
    ("credit card", Supports::CARD),
    ("電話番号", Supports::PHONE),
    ("電話", Supports::PHONE),
    ("携帯", Supports::PHONE),
    ("phone number", Supports::PHONE),
    ("口座番号", Supports::ALL),
    ("account number", Supports::ALL),
    ("住所", Supports::ALL),
    ("生年月日", Supports::ALL),
];

/// One keyword occurrence.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Hit {
    span: Range<usize>,
    supports: Supports,
}

/// The compiled keyword list and the window it reaches over.
#[derive(Clone, Debug)]
pub struct ContextKeywords {
    automaton: AhoCorasick,
    supports: Vec<Supports>,
    window_chars: usize,
    /// The longest keyword, in bytes.
    max_len: usize,
    /// The bytes that occur in some keyword (either ASCII case): a search can start just
    /// after any other byte and find what a search of the whole text finds from there on.
    in_keyword: [bool; 256],
}

impl ContextKeywords {
    /// Compiles the built-in keywords plus `extra` (which support every numeric detector;
    /// empty ones are ignored), reaching `window_chars` characters either side of a finding.
    pub fn new(extra: &[String], window_chars: usize) -> Result<Self, aho_corasick::BuildError> {
        let mut patterns: Vec<String> = Vec::with_capacity(BUILTIN.len() + extra.len());
        let mut supports = Vec::with_capacity(BUILTIN.len() + extra.len());
        for (word, what) in BUILTIN {
            patterns.push(normalize_str(word));
            supports.push(*what);
        }
        for word in extra {
            let word = normalize_str(word.trim());
            if !word.is_empty() {
                patterns.push(word);
                supports.push(Supports::ALL);
            }
        }
        let automaton = AhoCorasick::builder()
            .ascii_case_insensitive(true)
            .match_kind(MatchKind::LeftmostLongest)
            .build(&patterns)?;
        let mut in_keyword = [false; 256];
        for &b in patterns.iter().flat_map(|p| p.as_bytes()) {
            for b in [b, b.to_ascii_lowercase(), b.to_ascii_uppercase()] {
                if let Some(flag) = in_keyword.get_mut(usize::from(b)) {
                    *flag = true;
                }
            }
        }
        Ok(Self {
            automaton,
            supports,
            window_chars,
            max_len: patterns.iter().map(String::len).max().unwrap_or(0),
            in_keyword,
        })
    }

    /// The keywords of [`Self::hits`] that [`Self::near`] can need for a finding in one of
    /// `spans` (sorted by start): the same answers, searching only around the findings.
    ///
    /// The whole-text search is leftmost-longest without overlap, so where it finds a keyword
    /// depends on where it started. It is resumed instead at a byte that no keyword holds:
    /// no keyword occurrence spans such a position, so from it on the search finds exactly
    /// what the whole-text search finds.
    pub(crate) fn hits_around(
        &self,
        text: &str,
        spans: impl IntoIterator<Item = Range<usize>>,
    ) -> Vec<Hit> {
        let bytes = text.as_bytes();
        let mut hits = Vec::new();
        // The whole-text search has reached `pos`; `next` is its next match from there (if
        // known: `Some(None)` means there is none).
        let mut pos = 0;
        let mut next: Option<Option<aho_corasick::Match>> = None;
        for span in spans {
            // A keyword counts if it ends at most `window_chars` characters before the
            // finding, or starts at most that many after it.
            let from =
                chars_back(bytes, span.start, self.window_chars).saturating_sub(self.max_len);
            let to = chars_forward(bytes, span.end, self.window_chars).saturating_add(1);
            if from > pos {
                // Resume from a position no keyword spans, as close to `from` as found.
                let floor = pos.max(from.saturating_sub(256));
                let resume = (floor..=from)
                    .rev()
                    .find(|&at| {
                        at == 0
                            || bytes.get(at - 1).is_some_and(|&b| {
                                !self.in_keyword.get(usize::from(b)).copied().unwrap_or(true)
                            })
                    })
                    .unwrap_or(pos);
                if resume > pos {
                    // The pending match stays the next one if it starts at or after `resume`
                    // (no keyword starts in between); otherwise it is before `from` and
                    // needed by nobody.
                    if next.is_some_and(|m| m.is_some_and(|m| m.start() < resume)) {
                        next = None;
                    }
                    pos = resume;
                }
            }
            loop {
                let found = match next.take() {
                    Some(found) => found,
                    None => self.automaton.find(Input::new(text).span(pos..text.len())),
                };
                let Some(found) = found else {
                    next = Some(None);
                    pos = text.len();
                    break;
                };
                if found.start() >= to {
                    next = Some(Some(found));
                    break;
                }
                pos = found.end();
                if let Some(&supports) = self.supports.get(found.pattern().as_usize()) {
                    hits.push(Hit {
                        span: found.range(),
                        supports,
                    });
                }
            }
        }
        hits
    }

    /// Every keyword in `text`, in order and without overlap (the whole-text search that
    /// [`Self::hits_around`] stands in for).
    #[cfg(test)]
    pub(crate) fn hits(&self, text: &str) -> Vec<Hit> {
        self.automaton
            .find_iter(text)
            .filter_map(|m| {
                Some(Hit {
                    span: m.range(),
                    supports: *self.supports.get(m.pattern().as_usize())?,
                })
            })
            .collect()
    }

    /// Is a keyword supporting `kind` within the window of `span`? `hits` must come from
    /// [`Self::hits`] on the same `text`.
    pub(crate) fn near(
        &self,
        text: &str,
        hits: &[Hit],
        span: &Range<usize>,
        kind: DetectorKind,
    ) -> bool {
        // A character is at most four bytes: past this many bytes it is past the window.
        let reach = self.window_chars.saturating_mul(4);
        let within = |from: usize, to: usize| {
            to.saturating_sub(from) <= reach
                && text
                    .get(from..to)
                    .is_some_and(|gap| gap.chars().count() <= self.window_chars)
        };
        let split = hits.partition_point(|h| h.span.start < span.start);
        let (before, after) = hits.split_at(split);
        // Hits before are in order of their ends too (they do not overlap): walk back.
        for hit in before.iter().rev() {
            if hit.span.end.saturating_add(reach) < span.start {
                break;
            }
            if hit.supports.covers(kind)
                && (hit.span.end >= span.start || within(hit.span.end, span.start))
            {
                return true;
            }
        }
        for hit in after {
            if hit.span.start > span.end.saturating_add(reach) {
                break;
            }
            if hit.supports.covers(kind)
                && (hit.span.start <= span.end || within(span.end, hit.span.start))
            {
                return true;
            }
        }
        false
    }
}

/// Is `b` the first byte of a UTF-8 sequence?
fn starts_char(b: u8) -> bool {
    b & 0xC0 != 0x80
}

/// The position `n` characters before `at` (or 0).
fn chars_back(bytes: &[u8], at: usize, n: usize) -> usize {
    let mut pos = at.min(bytes.len());
    for _ in 0..n {
        if pos == 0 {
            break;
        }
        pos -= 1;
        while pos > 0 && !bytes.get(pos).copied().is_some_and(starts_char) {
            pos -= 1;
        }
    }
    pos
}

/// The position `n` characters after `at` (or the end).
fn chars_forward(bytes: &[u8], at: usize, n: usize) -> usize {
    let mut pos = at.min(bytes.len());
    for _ in 0..n {
        if pos >= bytes.len() {
            break;
        }
        pos += 1;
        while bytes.get(pos).is_some_and(|&b| !starts_char(b)) {
            pos += 1;
        }
    }
    pos
}

#[cfg(test)]
mod tests {
    use super::*;

    fn near(text: &str, number: &str, kind: DetectorKind, window: usize) -> bool {
        let keywords =
            ContextKeywords::new(&["社員番号".to_owned(), " ".to_owned()], window).unwrap();
        let hits = keywords.hits(text);
        let start = text.find(number).unwrap();
        keywords.near(text, &hits, &(start..start + number.len()), kind)
    }

    #[test]
    fn keyword_before_or_after_within_the_window() {
        let mn = DetectorKind::MyNumber;
        assert!(near("私のマイナンバーは123です", "123", mn, 40));
        assert!(near("123は個人番号です", "123", mn, 40));
        assert!(near("MY NUMBER: 123", "123", mn, 40));
        assert!(near("マイナンバー12345", "12345", mn, 0));
        assert!(!near("マイナンバーは123", "123", mn, 0));
        assert!(near("マイナンバーは123", "123", mn, 1));
    }

    #[test]
    fn the_window_counts_characters_not_bytes() {
        let gap = "あ".repeat(40);
        assert!(near(
            &format!("マイナンバー{gap}123"),
            "123",
            DetectorKind::MyNumber,
            40
        ));
        let gap = "あ".repeat(41);
        assert!(!near(
            &format!("マイナンバー{gap}123"),
            "123",
            DetectorKind::MyNumber,
            40
        ));
        let gap = "a".repeat(41);
        assert!(!near(
            &format!("123{gap}マイナンバー"),
            "123",
            DetectorKind::MyNumber,
            40
        ));
    }

    #[test]
    fn keywords_support_their_own_detectors() {
        assert!(!near("法人番号 123", "123", DetectorKind::MyNumber, 40));
        assert!(near(
            "法人番号 123",
            "123",
            DetectorKind::CorporateNumber,
            40
        ));
        assert!(near("電話 123", "123", DetectorKind::Phone, 40));
        assert!(!near("電話 123", "123", DetectorKind::CreditCard, 40));
        assert!(near("住所 123", "123", DetectorKind::CreditCard, 40));
        assert!(near("社員番号 123", "123", DetectorKind::Phone, 40));
        assert!(!near("住所 123", "123", DetectorKind::EmailList, 40));
    }

    #[test]
    fn half_width_katakana_keywords_count() {
        let text = crate::normalize::normalize_str("ﾏｲﾅﾝﾊﾞｰ 123");
        assert!(near(&text, "123", DetectorKind::MyNumber, 40));
    }
}
