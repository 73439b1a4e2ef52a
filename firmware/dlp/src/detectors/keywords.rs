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

use aho_corasick::automaton::{Automaton, StateID};
use aho_corasick::dfa::DFA;
use aho_corasick::packed;
use aho_corasick::{Anchored, MatchKind, StartKind};

use crate::finding::DetectorKind;
use crate::normalize::normalize_str;

/// The detectors a keyword is about, and whether it names the data itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Supports(u8);

impl Supports {
    const MY_NUMBER: Self = Self(1);
    const CORPORATE: Self = Self(2);
    const CARD: Self = Self(4);
    const PHONE: Self = Self(8);
    const ALL: Self = Self(15);
    /// The flag of a word that names the data itself (「マイナンバー」, 「カード番号」): a message
    /// whose text says it says what it carries ([`ContextKeywords::kinds_mentioned`]).
    const NAME: u8 = 0x40;
    /// A My Number named.
    const MY_NUMBER_NAME: Self = Self(Self::NAME | 1);
    /// A card number named.
    const CARD_NAME: Self = Self(Self::NAME | 4);

    /// Does the keyword name the data itself?
    fn is_name(self) -> bool {
        self.0 & Self::NAME != 0
    }

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
///
/// Their first three bytes (ASCII lower case) are the prefixes of a packed (Teddy) searcher
/// that runs around every number: it is fastest with few of them (slim Teddy takes up to 32,
/// and a mail dense with numbers is searched nearly whole), so the test
/// `built_in_prefixes_keep_the_search_fast` keeps them at 20. The labels of other numbers
/// ([`OTHER_NUMBERS`]) are not searched for: they are looked at only right before a
/// number ([`ContextKeywords::other_number_label`]).
const BUILTIN: &[(&str, Supports)] = &[
    ("マイナンバー", Supports::MY_NUMBER_NAME),
    ("個人番号", Supports::MY_NUMBER_NAME),
    ("my number", Supports::MY_NUMBER_NAME),
    ("mynumber", Supports::MY_NUMBER_NAME),
    ("法人番号", Supports::CORPORATE),
    ("corporate number", Supports::CORPORATE),
    ("カード番号", Supports::CARD_NAME),
    ("クレジットカード", Supports::CARD_NAME),
    ("card number", Supports::CARD_NAME),
    ("credit card", Supports::CARD_NAME),
    ("カード", Supports::CARD),
    ("クレカ", Supports::CARD),
    ("電話番号", Supports::PHONE),
    ("電話", Supports::PHONE),
    ("携帯", Supports::PHONE),
    ("phone number", Supports::PHONE),
    ("口座番号", Supports::ALL),
    ("account number", Supports::ALL),
    ("住所", Supports::ALL),
    ("生年月日", Supports::ALL),
];

/// Words looked for only where a whole text is a label (a table's header cell) or is
/// read once (what a message says it carries), not around every number: their first bytes
/// are common in other words (「番」 of 「番号」, "ind" of "find") or crowd the packed
/// searcher's buckets, which would slow the search around numbers down (measured:
/// 「有効期限」 and "kojin bango" alone cost 4 % of a scan).
const HEADER_WORDS: &[(&str, Supports)] = &[
    ("individual number", Supports::MY_NUMBER_NAME),
    ("kojin bango", Supports::MY_NUMBER_NAME),
    ("有効期限", Supports::CARD),
    ("番号カード", Supports::MY_NUMBER_NAME),
    ("通知カード", Supports::MY_NUMBER_NAME),
];

/// The labels of the other numbers business mail is full of (normalised, lower case): a
/// number labelled so is that, not a My Number or a card number that happens to pass the
/// check digit. A label counts when the text before a number ends with it
/// ([`ContextKeywords::other_number_label`]), so 「ご注文番号」 counts as 「注文番号」.
const OTHER_NUMBERS: &[&str] = &[
    "注文番号",
    "注文no",
    "注文id",
    "受注番号",
    "発注番号",
    "オーダー番号",
    "伝票番号",
    "伝票no",
    "問い合わせ番号",
    "問合せ番号",
    "問合わせ番号",
    "送り状番号",
    "送り状no",
    "送り状",
    "追跡番号",
    "荷物番号",
    "配送番号",
    "請求書番号",
    "請求番号",
    "請求no",
    "納品書番号",
    "見積番号",
    "見積書番号",
    "領収書番号",
    "予約番号",
    "予約no",
    "会員番号",
    "会員no",
    "会員id",
    "メンバー番号",
    "顧客番号",
    "お客様番号",
    "顧客コード",
    "取引番号",
    "受付番号",
    "管理番号",
    "整理番号",
    "契約番号",
    "証券番号",
    "申込番号",
    "申し込み番号",
    "商品番号",
    "商品コード",
    "品番",
    "型番",
    "製造番号",
    "シリアル番号",
    "シリアル",
    "チケット番号",
    "登録番号",
    "社員番号",
    "口座",
    "ポイントカード番号",
    "ポイントカード",
    "ポイント番号",
    "jan",
    "order number",
    "order no",
    "order id",
    "order",
    "invoice number",
    "invoice no",
    "invoice",
    "tracking number",
    "tracking no",
    "tracking",
    "reservation number",
    "reservation no",
    "booking number",
    "confirmation number",
    "member id",
    "member number",
    "membership number",
    "customer id",
    "customer number",
    "reference number",
    "ref no",
    "transaction id",
    "serial number",
    "serial no",
];

/// How far before a number its label is looked for, in bytes (about twelve Japanese
/// characters).
const LABEL_REACH: usize = 40;

/// What people write between a label and its number: blanks, `:`, `#`, `=`, `.`, a particle
/// (「は」「が」; 「：」 is `:` once normalised), brackets, quotes and bullets.
fn is_label_separator(c: char) -> bool {
    matches!(
        c,
        ' ' | '\t'
            | ':'
            | '#'
            | '='
            | '.'
            | '('
            | ')'
            | '['
            | ']'
            | '"'
            | '\''
            | '-'
            | '/'
            | 'は'
            | 'が'
            | '「'
            | '」'
            | '【'
            | '】'
            | '〔'
            | '〕'
            | '■'
            | '・'
    )
}

/// What the labels around a number say of it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Context {
    /// No label about this kind of number.
    Silent,
    /// The nearest label says it is what it looks like.
    Supports,
    /// The nearest label says it is another kind of number.
    Against,
}

/// One keyword occurrence.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Hit {
    span: Range<usize>,
    supports: Supports,
}

/// The compiled keyword list and the window it reaches over.
#[derive(Clone, Debug)]
pub struct ContextKeywords {
    /// The keywords as one leftmost-longest automaton, a DFA of its concrete type: the
    /// search loops of [`Self::longest_at`] and [`Self::find_unanchored_in`] are compiled for
    /// it (`AhoCorasick` searches through a trait object, at twice the instructions per byte).
    /// Unanchored and anchored searches both start from it.
    automaton: DFA,
    /// Where a keyword can start in lower-case text: the first bytes of every keyword (up
    /// to [`PREFIX_BYTES`]), ASCII-lowercased, as a packed (SIMD) searcher; `None` when there
    /// are too many of them. A keyword occurrence is then looked for only where one of them
    /// is, with the automaton anchored there. Only lower case is looked for (the scanner
    /// lowers its pieces, see [`Self::hits_around`]): every case of the English keywords
    /// would be four times as many prefixes, past what the searcher's fast form holds.
    prefixes: Option<packed::Searcher>,
    /// What each keyword supports.
    supports: Vec<Supports>,
    /// The keywords, ASCII-lowercased, for [`Self::longest_at`] in lower-case text.
    lowered: Vec<Box<[u8]>>,
    /// For each first byte, the keywords starting with it (indices into [`Self::lowered`]),
    /// longest first, then in the order given: where a prefix was found, the first of them
    /// that the text starts with is the leftmost-longest keyword there.
    by_first_byte: Box<[Vec<usize>]>,
    window_chars: usize,
    /// The labels of other numbers (normalised, lower case), built-in and the office's.
    other_numbers: Vec<String>,
    /// The last character of each of [`Self::other_numbers`] (compared first).
    other_ends: Vec<char>,
    /// The longest keyword, in bytes.
    max_len: usize,
    /// Bit `a << 8 | b` is set when the bytes `a b` (ASCII-lowercased) follow each other
    /// inside some keyword. Where the two bytes around a position are not such a pair, no
    /// keyword occurrence spans the position, so a search can start there and find what a
    /// search of the whole text finds from there on.
    inner_pairs: Box<[u64]>,
    /// The keywords (normalised) and what they support, for the reference search of the
    /// tests.
    #[cfg(test)]
    patterns: Vec<(String, Supports)>,
}

impl ContextKeywords {
    /// Compiles the built-in keywords plus `extra` (which support every numeric detector;
    /// empty ones are ignored), reaching `window_chars` characters either side of a finding.
    pub fn new(extra: &[String], window_chars: usize) -> Result<Self, aho_corasick::BuildError> {
        Self::with_labels(extra, &[], window_chars)
    }

    /// [`Self::new`] with `other_numbers` too: the office's own labels of numbers that are
    /// not personal (「受付番号」 …), which make a My Number- or card-shaped number right
    /// after them low confidence. A label the office lists as a keyword of its own is not
    /// taken for another number's.
    pub fn with_labels(
        extra: &[String],
        other_numbers: &[String],
        window_chars: usize,
    ) -> Result<Self, aho_corasick::BuildError> {
        let mut patterns: Vec<String> = Vec::with_capacity(BUILTIN.len() + extra.len());
        let mut supports = Vec::with_capacity(BUILTIN.len() + extra.len());
        let office: Vec<String> = extra
            .iter()
            .map(|w| normalize_str(w.trim()))
            .filter(|w| !w.is_empty())
            .collect();
        let office_other: Vec<String> = other_numbers
            .iter()
            .map(|w| normalize_str(w.trim()).to_ascii_lowercase())
            .filter(|w| !w.is_empty())
            .collect();
        for (word, what) in BUILTIN {
            patterns.push(normalize_str(word));
            supports.push(*what);
        }
        for word in office {
            patterns.push(word);
            supports.push(Supports::ALL);
        }
        // The office's words win: a label it counts as personal data is not another number.
        let other_numbers: Vec<String> = OTHER_NUMBERS
            .iter()
            .map(|w| normalize_str(w).to_ascii_lowercase())
            .filter(|w| !patterns.iter().any(|p| p.eq_ignore_ascii_case(w)))
            .chain(office_other)
            .collect();
        let automaton = DFA::builder()
            .ascii_case_insensitive(true)
            .match_kind(MatchKind::LeftmostLongest)
            .start_kind(StartKind::Both)
            .prefilter(false)
            .build(&patterns)?;
        let prefixes = prefix_searcher(&patterns);
        let mut inner_pairs = vec![0u64; 1 << 10].into_boxed_slice();
        for pattern in &patterns {
            for pair in pattern.as_bytes().windows(2) {
                if let [a, b] = *pair {
                    let index = pair_index(a, b);
                    if let Some(word) = inner_pairs.get_mut(index >> 6) {
                        *word |= 1 << (index & 63);
                    }
                }
            }
        }
        let lowered: Vec<Box<[u8]>> = patterns
            .iter()
            .map(|p| p.as_bytes().to_ascii_lowercase().into_boxed_slice())
            .collect();
        let mut by_first_byte = vec![Vec::new(); 256].into_boxed_slice();
        let mut by_length: Vec<usize> = (0..lowered.len()).collect();
        by_length.sort_by_key(|&k| std::cmp::Reverse(lowered.get(k).map_or(0, |p| p.len())));
        for k in by_length {
            if let Some(list) = lowered
                .get(k)
                .and_then(|p| p.first())
                .and_then(|&b| by_first_byte.get_mut(usize::from(b)))
            {
                list.push(k);
            }
        }
        Ok(Self {
            automaton,
            prefixes,
            lowered,
            by_first_byte,
            max_len: patterns.iter().map(String::len).max().unwrap_or(0),
            #[cfg(test)]
            patterns: patterns.into_iter().zip(supports.iter().copied()).collect(),
            supports,
            window_chars,
            other_ends: other_numbers
                .iter()
                .map(|o| o.chars().next_back().unwrap_or('\0'))
                .collect(),
            other_numbers,
            inner_pairs,
        })
    }

    /// How far from a finding, in bytes, [`Self::hits_around`] and [`Self::near`] can look:
    /// text further away changes nothing for it.
    pub(crate) fn reach_bytes(&self) -> usize {
        self.window_chars
            .saturating_mul(4)
            .saturating_add(self.max_len)
            .saturating_add(1)
    }

    /// Can a search start at `at` (no keyword occurrence spans it)?
    #[inline]
    pub(crate) fn can_start_at(&self, bytes: &[u8], at: usize) -> bool {
        let (Some(&a), Some(&b)) = (at.checked_sub(1).and_then(|i| bytes.get(i)), bytes.get(at))
        else {
            return true;
        };
        let index = pair_index(a, b);
        self.inner_pairs
            .get(index >> 6)
            .is_none_or(|word| word & (1 << (index & 63)) == 0)
    }

    /// The first keyword in `text[range]` (leftmost-longest), as if the text were only that:
    /// its span and what it supports.
    ///
    /// With [`Self::prefixes`], only where a keyword's first bytes are: the leftmost keyword
    /// starts at one of them (no keyword starts before the first), and leftmost-longest is
    /// then the longest keyword that starts there, found by the automaton anchored there.
    fn find_in(&self, text: &str, range: Range<usize>) -> Option<(Range<usize>, Supports)> {
        let Some(prefixes) = &self.prefixes else {
            return self.find_unanchored_in(text, range);
        };
        let bytes = text.as_bytes();
        let end = range.end.min(bytes.len());
        let mut from = range.start;
        while from < end {
            let candidate = prefixes.find_in(bytes, aho_corasick::Span { start: from, end })?;
            let start = candidate.start();
            if let Some(found) = self.longest_at(bytes, start, end) {
                return Some(found);
            }
            from = start + 1;
        }
        None
    }

    /// The longest keyword that starts at `start` of lower-case `bytes` and ends by `end`,
    /// and what it supports: the keywords of the first byte compared in turn (a few, each
    /// refused at its first differing byte), which is several times cheaper than walking the
    /// automaton a byte at a time.
    #[inline]
    fn longest_at(
        &self,
        bytes: &[u8],
        start: usize,
        end: usize,
    ) -> Option<(Range<usize>, Supports)> {
        let rest = bytes.get(start..end)?;
        let candidates = self.by_first_byte.get(usize::from(*rest.first()?))?;
        let &k = candidates
            .iter()
            .find(|&&k| self.lowered.get(k).is_some_and(|p| rest.starts_with(p)))?;
        let len = self.lowered.get(k)?.len();
        Some((start..start + len, *self.supports.get(k)?))
    }

    /// [`Self::longest_at`] by the automaton (any case): the reference the comparisons are
    /// tested against.
    #[cfg(test)]
    fn longest_at_by_automaton(
        &self,
        bytes: &[u8],
        start: usize,
        end: usize,
    ) -> Option<(Range<usize>, Supports)> {
        let automaton = &self.automaton;
        let mut state = automaton.start_state(Anchored::Yes).ok()?;
        let mut found = None;
        for (at, &byte) in (start + 1..).zip(bytes.get(start..end)?) {
            state = automaton.next_state(Anchored::Yes, state, byte);
            if automaton.is_special(state) {
                if automaton.is_dead(state) {
                    break;
                }
                if automaton.is_match(state) {
                    found = Some((state, at));
                }
            }
        }
        let (state, end) = found?;
        self.hit_ending(state, end)
    }

    /// The keyword of the automaton's match state `state`, ending at byte `end`: its span and
    /// what it supports.
    fn hit_ending(&self, state: StateID, end: usize) -> Option<(Range<usize>, Supports)> {
        let pattern = self.automaton.match_pattern(state, 0);
        let supports = self.supports.get(pattern.as_usize()).copied()?;
        Some((
            end.saturating_sub(self.automaton.pattern_len(pattern))..end,
            supports,
        ))
    }

    /// [`Self::find_in`] without the prefixes: the automaton's `try_find`, in a loop compiled
    /// for it.
    fn find_unanchored_in(
        &self,
        text: &str,
        range: Range<usize>,
    ) -> Option<(Range<usize>, Supports)> {
        let automaton = &self.automaton;
        let haystack = text.as_bytes().get(range.clone())?;
        // The automaton is unanchored and no keyword is empty: the start state is no match.
        let mut state = automaton.start_state(Anchored::No).ok()?;
        let mut found = None;
        // Four bytes a step while no state is special (dead or match), the common case.
        let mut at = 0;
        let mut quads = haystack.chunks_exact(4);
        for quad in quads.by_ref() {
            let &[b0, b1, b2, b3] = quad else { break };
            let s0 = automaton.next_state(Anchored::No, state, b0);
            let s1 = automaton.next_state(Anchored::No, s0, b1);
            let s2 = automaton.next_state(Anchored::No, s1, b2);
            let s3 = automaton.next_state(Anchored::No, s2, b3);
            if automaton.is_special(s0)
                || automaton.is_special(s1)
                || automaton.is_special(s2)
                || automaton.is_special(s3)
            {
                break;
            }
            state = s3;
            at += 4;
        }
        for &byte in haystack.get(at..).unwrap_or_default() {
            state = automaton.next_state(Anchored::No, state, byte);
            at += 1;
            if automaton.is_special(state) {
                if automaton.is_dead(state) {
                    break;
                }
                if automaton.is_match(state) {
                    // The longest match so far ends here; leftmost-longest goes on until dead.
                    found = Some((state, range.start + at));
                }
            }
        }
        let (state, end) = found?;
        self.hit_ending(state, end)
    }

    /// The keywords of [`Self::hits`] that [`Self::near`] can need for a finding in one of
    /// `spans` (sorted by start): the same answers, searching only around the findings.
    /// The ASCII letters of the stretches searched are lowered in `text`, in place (the
    /// keywords match in any case, so they are found the same; only lower-case first bytes
    /// are looked for, see [`Self::prefixes`]); nothing else is changed.
    ///
    /// The whole-text search is leftmost-longest without overlap, so where it finds a keyword
    /// depends on where it started. It is resumed instead at a position between two bytes
    /// that never follow each other inside a keyword ([`Self::can_start_at`]): no keyword
    /// occurrence spans such a position, so the whole-text search passes through it too (it
    /// never jumps over it), and from it on finds exactly what a search started there finds.
    pub(crate) fn hits_around(
        &self,
        text: &mut str,
        spans: impl IntoIterator<Item = Range<usize>>,
    ) -> Vec<Hit> {
        let mut hits = Vec::new();
        // The whole-text search passes through `pos` (it never jumps over it).
        let mut pos = 0;
        // A keyword counts if it ends at most `window_chars` characters before a finding, or
        // starts at most that many after it: at most `reach` bytes (a character is at most
        // four). The search covers those bytes (a few more than the characters, which
        // [`Self::near`] counts exactly), without counting characters; the windows of
        // findings close together are merged, and each merged window searched once.
        let reach = self.window_chars.saturating_mul(4);
        let mut window: Option<Range<usize>> = None;
        for span in spans {
            let from = span
                .start
                .saturating_sub(reach)
                .saturating_sub(self.max_len);
            let to = span
                .end
                .saturating_add(reach)
                .saturating_add(1)
                .min(text.len());
            window = match window {
                Some(open) if from <= open.end => Some(open.start..open.end.max(to)),
                Some(done) => {
                    self.search_window(text, done, &mut pos, &mut hits);
                    Some(from..to)
                }
                None => Some(from..to),
            };
        }
        if let Some(last) = window {
            self.search_window(text, last, &mut pos, &mut hits);
        }
        hits
    }

    /// The keywords of [`Self::hits_around`] that start in `window`, the search having got to
    /// `pos` (which it moves on).
    fn search_window(
        &self,
        text: &mut str,
        window: Range<usize>,
        pos: &mut usize,
        hits: &mut Vec<Hit>,
    ) {
        let Range {
            start: from,
            end: to,
        } = window;
        if from > *pos {
            // Resume from a position no keyword spans, as close to `from` as found (the
            // pairs are compared in lower case, so the case of the text does not matter).
            let bytes = text.as_bytes();
            let floor = (*pos).max(from.saturating_sub(256));
            *pos = (floor..=from)
                .rev()
                .find(|&at| self.can_start_at(bytes, at))
                .unwrap_or(*pos);
        }
        // The keywords that start before `to`. A search bounded `max_len` bytes past `to`
        // finds each of them as the whole-text search does (all of it lies within the bound);
        // what it finds from `to` on may be cut short by the bound and is left for the next
        // window.
        let bound = to.saturating_add(self.max_len).min(text.len());
        // What the search reads is lowered first: the prefixes and the comparisons are in
        // lower case.
        let lowered = text.floor_char_boundary(*pos)..text.ceil_char_boundary(bound);
        if let Some(searched) = text.get_mut(lowered) {
            searched.make_ascii_lowercase();
        }
        let text: &str = text;
        while *pos < to && *pos < bound {
            match self.find_in(text, *pos..bound) {
                Some((span, supports)) if span.start < to => {
                    *pos = span.end;
                    hits.push(Hit { span, supports });
                }
                // No keyword starts in `pos..to`: the whole-text search passes `to`.
                _ => *pos = to,
            }
        }
    }

    /// Every keyword in `text`, in order and without overlap (the whole-text search that
    /// [`Self::hits_around`] stands in for).
    #[cfg(test)]
    pub(crate) fn hits(&self, text: &str) -> Vec<Hit> {
        let supports: Vec<Supports> = self.patterns.iter().map(|p| p.1).collect();
        let automaton = aho_corasick::AhoCorasick::builder()
            .ascii_case_insensitive(true)
            .match_kind(aho_corasick::MatchKind::LeftmostLongest)
            .build(self.patterns.iter().map(|p| &p.0))
            .unwrap_or_else(|e| panic!("{e}"));
        automaton
            .find_iter(text)
            .map(|m| Hit {
                span: m.range(),
                supports: supports[m.pattern().as_usize()],
            })
            .collect()
    }

    /// Is the nearest label about `kind` within the window of `span` a supporting one?
    /// `hits` must come from [`Self::hits`] (or [`Self::hits_around`]) on the same `text`.
    /// The scanner uses [`Self::context_from`]; this is its plain form, for the tests.
    #[cfg(test)]
    pub(crate) fn near(
        &self,
        text: &str,
        hits: &[Hit],
        span: &Range<usize>,
        kind: DetectorKind,
    ) -> bool {
        let split = hits.partition_point(|h| h.span.start < span.start);
        self.near_split(text, hits, split, span, kind)
    }

    /// [`Self::near`] with `hits` split where the finding starts: the hits before
    /// `split` start before it, the others at or after its start.
    fn near_split(
        &self,
        text: &str,
        hits: &[Hit],
        split: usize,
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
        let (before, after) = hits.split_at(split.min(hits.len()));
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

    /// What the labels say of a `kind` finding at `span`: a label of another number right
    /// before it ([`Self::other_number_label`]) says it is that (for My Number- and
    /// card-shaped numbers); else a keyword supporting `kind` in its window says it is what
    /// it looks like. For findings taken in about the order of their starts: `cursor` is
    /// where the previous one split `hits`, and is moved a hit at a time to where this one
    /// does (no binary search for each finding, whose branches the processor cannot guess).
    pub(crate) fn context_from(
        &self,
        text: &str,
        hits: &[Hit],
        cursor: &mut usize,
        span: &Range<usize>,
        kind: DetectorKind,
    ) -> Context {
        let mut split = (*cursor).min(hits.len());
        while split > 0
            && hits
                .get(split - 1)
                .is_some_and(|h| h.span.start >= span.start)
        {
            split -= 1;
        }
        while hits.get(split).is_some_and(|h| h.span.start < span.start) {
            split += 1;
        }
        *cursor = split;
        if matches!(kind, DetectorKind::MyNumber | DetectorKind::CreditCard) {
            // The label right before the number: a keyword found there (「カード番号 」) is
            // it; else it may be another number's.
            let label = split.checked_sub(1).and_then(|i| hits.get(i)).filter(|h| {
                h.span.end <= span.start
                    && text
                        .get(h.span.end..span.start)
                        .is_some_and(|gap| gap.chars().all(is_label_separator))
            });
            // A keyword glued to the word before it may be the end of another label
            // (「ポイント」+「カード番号」).
            let glued = label.is_some_and(|h| {
                text.get(..h.span.start)
                    .and_then(|before| before.chars().next_back())
                    .is_some_and(char::is_alphanumeric)
            });
            if (label.is_none() || glued) && self.other_number_label(text, span.start) {
                return Context::Against;
            }
        }
        if self.near_split(text, hits, split, span, kind) {
            Context::Supports
        } else {
            Context::Silent
        }
    }

    /// Does the text right before byte `start` of `text` (on its line, within
    /// [`LABEL_REACH`] bytes, the separators people write after a label taken off) end with
    /// the label of another number: 「ご注文番号：」, "Order No. ", 「伝票番号は」?
    pub(crate) fn other_number_label(&self, text: &str, start: usize) -> bool {
        let from = text.floor_char_boundary(start.saturating_sub(LABEL_REACH));
        let Some(before) = text.get(from..start) else {
            return false;
        };
        // The label is on the number's line, or alone on the line above it (「■注文番号」,
        // then the number on a line of its own).
        let mut lines = before.rsplit('\n');
        let mut label = lines
            .next()
            .unwrap_or(before)
            .trim_end_matches(is_label_separator);
        if label.is_empty() {
            label = lines
                .next()
                .unwrap_or_default()
                .trim_end_matches(['\r', ' '])
                .trim_end_matches(is_label_separator);
        }
        if label.is_empty() {
            return false;
        }
        let Some(last) = label.chars().next_back().map(|c| c.to_ascii_lowercase()) else {
            return false;
        };
        self.other_numbers
            .iter()
            .zip(&self.other_ends)
            .filter(|&(_, &end)| end == last)
            .any(|(other, _)| {
                label.len() >= other.len()
                    && label
                        .get(label.len() - other.len()..)
                        .is_some_and(|tail| tail.eq_ignore_ascii_case(other))
            })
    }

    /// The number detectors that a supporting keyword anywhere in `text` (normalised) is
    /// about, as bits in the order My Number, corporate, card, phone: what the text of a
    /// message says it carries.
    ///
    /// Only the names of the data itself count (「マイナンバー」, 「個人番号」, 「カード番号」 …),
    /// not the words that support a number next to them (「有効期限」 in 「ポイント有効期限」
    /// says nothing of a message).
    pub(crate) fn kinds_mentioned(&self, text: &str) -> u8 {
        let lowered = text.to_ascii_lowercase();
        let (mut bits, mut from) = (0u8, 0);
        while from < lowered.len() {
            let Some((span, supports)) = self.find_in(&lowered, from..lowered.len()) else {
                break;
            };
            if supports.is_name() {
                bits |= supports.0 & Supports::ALL.0;
            }
            from = span.end.max(from + 1);
        }
        for (word, supports) in HEADER_WORDS {
            if supports.is_name() && lowered.contains(word) {
                bits |= supports.0 & Supports::ALL.0;
            }
        }
        bits
    }

    /// What a table's header cell says of the `kind` numbers in its column: a keyword
    /// about `kind` in `cell` (any case) says they are what they look like; else a label of
    /// another number says they are that (for My Number- and card-shaped numbers).
    pub(crate) fn header_context(&self, cell: &str, kind: DetectorKind) -> Context {
        let lowered = cell.to_ascii_lowercase();
        let mut from = 0;
        while from < lowered.len() {
            let Some((span, supports)) = self.find_in(&lowered, from..lowered.len()) else {
                break;
            };
            if supports.covers(kind) {
                return Context::Supports;
            }
            from = span.end.max(from + 1);
        }
        if HEADER_WORDS
            .iter()
            .any(|(word, supports)| supports.covers(kind) && lowered.contains(word))
        {
            return Context::Supports;
        }
        let trimmed = lowered.trim_end_matches(is_label_separator);
        if matches!(kind, DetectorKind::MyNumber | DetectorKind::CreditCard)
            && self
                .other_numbers
                .iter()
                .any(|o| trimmed.contains(o.as_str()))
        {
            return Context::Against;
        }
        Context::Silent
    }
}

/// How many first bytes of each keyword [`ContextKeywords::prefixes`] looks for.
const PREFIX_BYTES: usize = 3;

/// The packed searcher of the keywords' first [`PREFIX_BYTES`] bytes, ASCII-lowercased, if
/// there are few enough of them for one.
fn prefix_searcher(patterns: &[String]) -> Option<packed::Searcher> {
    let mut prefixes = std::collections::BTreeSet::new();
    for pattern in patterns {
        let head = pattern
            .as_bytes()
            .get(..PREFIX_BYTES.min(pattern.len()))?
            .to_ascii_lowercase();
        prefixes.insert(head);
        if prefixes.len() > PREFIX_LIMIT {
            return None;
        }
    }
    packed::Config::new()
        .match_kind(packed::MatchKind::LeftmostFirst)
        .builder()
        .extend(prefixes)
        .build()
}

/// The most prefixes [`prefix_searcher`] hands to the packed searcher (its own limit is 128;
/// past a few dozen, Teddy is no faster than the automaton).
const PREFIX_LIMIT: usize = 96;

/// The bit of the byte pair `a b` in [`ContextKeywords::inner_pairs`] (ASCII case ignored).
#[inline]
fn pair_index(a: u8, b: u8) -> usize {
    (usize::from(a.to_ascii_lowercase()) << 8) | usize::from(b.to_ascii_lowercase())
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

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(512))]

        /// The search around findings answers [`ContextKeywords::near`] as the search of the
        /// whole text does, with keywords that overlap each other and themselves.
        #[test]
        fn hits_around_answer_like_the_hits_of_the_whole_text(
            extra in proptest::collection::vec(proptest::sample::select(vec![
                "ab", "ba", "aba", "bab", "b a", "AB", "a1", "1 b", "漢a", "字漢", "a", "漢字漢",
                "電話", "電話番", "番号",
            ]), 0..5),
            text in "([abAB 1\n]|漢|字|電話|番号|ｶ){0,120}",
            window in 0usize..6,
            picks in proptest::collection::vec((0usize..200, 0usize..8), 0..10),
        ) {
            let extra: Vec<String> = extra.into_iter().map(str::to_owned).collect();
            let keywords = ContextKeywords::new(&extra, window).unwrap();
            let text = normalize_str(&text);
            let boundaries: Vec<usize> = text
                .char_indices()
                .map(|(i, _)| i)
                .chain([text.len()])
                .collect();
            let mut spans: Vec<Range<usize>> = picks
                .iter()
                .map(|&(start, len)| {
                    let first = start % boundaries.len();
                    let last = (first + len).min(boundaries.len() - 1);
                    boundaries[first]..boundaries[last]
                })
                .collect();
            spans.sort_by_key(|span| span.start);
            let all = keywords.hits(&text);
            let mut lower = text.clone();
            let around = keywords.hits_around(&mut lower, spans.clone());
            proptest::prop_assert_eq!(lower.to_ascii_lowercase(), text.to_ascii_lowercase());
            for span in &spans {
                for kind in [
                    DetectorKind::MyNumber,
                    DetectorKind::CorporateNumber,
                    DetectorKind::CreditCard,
                    DetectorKind::Phone,
                ] {
                    proptest::prop_assert_eq!(
                        keywords.near(&lower, &around, span, kind),
                        keywords.near(&text, &all, span, kind),
                        "{:?} {:?} {:?}", text, span, kind
                    );
                    // From any cursor, in any order of the findings.
                    for mut cursor in [0, around.len() / 2, around.len() + 3] {
                        proptest::prop_assert_eq!(
                            keywords.context_from(&lower, &around, &mut cursor, span, kind) == Context::Supports,
                            keywords.near(&text, &all, span, kind),
                            "cursor: {:?} {:?} {:?}", text, span, kind
                        );
                    }
                }
            }
        }
    }

    proptest::proptest! {
        /// The keyword comparisons find what the automaton finds, duplicates and keywords
        /// that are prefixes of others included.
        #[test]
        fn keyword_comparisons_equal_the_automaton(
            extra in proptest::collection::vec(proptest::sample::select(vec![
                "電話", "電話番", "番号", "ID", "id1", "i", "マイ", "マイナンバー", "card",
            ]), 0..5),
            text in "([abcdi1 ]|ID|番号|電話|マイナンバー|カード番号|card number){0,30}",
            end_cut in 0usize..8,
        ) {
            let extra: Vec<String> = extra.into_iter().map(str::to_owned).collect();
            let keywords = ContextKeywords::new(&extra, 5).unwrap();
            let lower = normalize_str(&text).to_ascii_lowercase();
            let bytes = lower.as_bytes();
            let end = bytes.len().saturating_sub(end_cut);
            for start in 0..bytes.len() {
                proptest::prop_assert_eq!(
                    keywords.longest_at(bytes, start, end),
                    keywords.longest_at_by_automaton(bytes, start, end),
                    "{:?} at {}", lower, start
                );
            }
        }
    }

    #[test]
    fn too_many_prefixes_fall_back_to_the_automaton_alone() {
        assert!(ContextKeywords::new(&[], 40).unwrap().prefixes.is_some());
        // 100 keywords of three bytes each: 100 prefixes.
        let extra: Vec<String> = (0..100).map(|i| format!("q{i:02}z")).collect();
        let keywords = ContextKeywords::new(&extra, 4).unwrap();
        assert!(keywords.prefixes.is_none());
        let text = "Q01Z 0120 マイナンバー 1234 q39z カード番号 5678 Q07z\n9999";
        let spans: Vec<Range<usize>> = ["0120", "1234", "5678", "9999"]
            .iter()
            .map(|n| {
                let at = text.find(n).unwrap();
                at..at + n.len()
            })
            .collect();
        let all = keywords.hits(text);
        assert!(all.len() >= 5, "{all:?}");
        let mut lower = text.to_owned();
        let around = keywords.hits_around(&mut lower, spans.clone());
        for span in &spans {
            for kind in [DetectorKind::MyNumber, DetectorKind::CreditCard] {
                assert_eq!(
                    keywords.near(&lower, &around, span, kind),
                    keywords.near(text, &all, span, kind),
                    "{span:?} {kind:?}"
                );
            }
        }
    }

    #[test]
    fn the_search_around_a_finding_does_not_start_inside_a_keyword() {
        // 「ンク」 (an extra keyword) hides the 「クレジットカード」 that starts inside it. The
        // search for the number's window would start just at 「ク」 (the window reaches back
        // the longest keyword's length, 24 bytes, before the three `a`), where a fresh search
        // finds 「クレジットカード」 ending in the window: it must start before 「ン」 instead.
        let keywords = ContextKeywords::new(&["ンク".to_owned()], 3).unwrap();
        let text = "ンクレジットカードaaa1234";
        let number = text.find("1234").unwrap()..text.len();
        let all = keywords.hits(text);
        // 「ンク」, then 「カード」 (a keyword of its own) inside what is left.
        assert_eq!(all.len(), 2);
        let around = keywords.hits_around(&mut text.to_owned(), [number.clone()]);
        assert_eq!(around, all);
        assert_eq!(
            keywords.near(text, &around, &number, DetectorKind::CreditCard),
            keywords.near(text, &all, &number, DetectorKind::CreditCard)
        );
    }

    #[test]
    fn built_in_prefixes_keep_the_search_fast() {
        let prefixes: std::collections::BTreeSet<Vec<u8>> = BUILTIN
            .iter()
            .map(|(word, _)| normalize_str(word).as_bytes()[..3].to_ascii_lowercase())
            .collect();
        assert!(prefixes.len() <= 20, "{} prefixes", prefixes.len());
    }

    #[test]
    fn a_label_of_another_number_right_before_it_contradicts() {
        let keywords = ContextKeywords::new(&[], 40).unwrap();
        let said = |text: &str, number: &str, kind| {
            let text = normalize_str(text).to_ascii_lowercase();
            let hits = keywords.hits(&text);
            let at = text.find(number).unwrap();
            let mut cursor = 0;
            keywords.context_from(&text, &hits, &mut cursor, &(at..at + number.len()), kind)
        };
        let mn = DetectorKind::MyNumber;
        assert_eq!(
            said("注文番号は 398259791905 です", "398259791905", mn),
            Context::Against
        );
        assert_eq!(
            said("ご注文番号：398259791905", "398259791905", mn),
            Context::Against
        );
        assert_eq!(
            said("Order No. 398259791905", "398259791905", mn),
            Context::Against
        );
        assert_eq!(
            said("個人番号: 398259791905", "398259791905", mn),
            Context::Supports
        );
        assert_eq!(
            said(
                "個人番号の欄ではなく注文番号 398259791905",
                "398259791905",
                mn
            ),
            Context::Against
        );
        assert_eq!(
            said("注文番号と個人番号: 398259791905", "398259791905", mn),
            Context::Supports
        );
        assert_eq!(
            said("番号 398259791905", "398259791905", mn),
            Context::Silent
        );
        assert_eq!(
            said("電話番号 398259791905", "398259791905", mn),
            Context::Silent
        );
        assert_eq!(
            said(
                "ポイントカード番号 4111111111111111",
                "4111111111111111",
                DetectorKind::CreditCard
            ),
            Context::Against
        );
        // A phone number after 「注文番号」 is still a phone number.
        assert_eq!(
            said("注文番号 03-1234-5678", "03-1234-5678", DetectorKind::Phone),
            Context::Silent
        );
        assert_eq!(
            keywords.header_context("マイナンバー", mn),
            Context::Supports
        );
        assert_eq!(keywords.header_context("Order No.", mn), Context::Against);
        assert_eq!(keywords.header_context("備考", mn), Context::Silent);
        // The office's own labels, both ways.
        let office =
            ContextKeywords::with_labels(&["会員番号".into()], &["受付コード".into()], 40).unwrap();
        let hits = office.hits("会員番号 1");
        assert_eq!(hits.len(), 1);
        assert!(!office.other_number_label("会員番号 ", 13));
        assert!(office.other_number_label("受付コード: ", 16));
    }

    #[test]
    fn message_names_are_the_data_itself() {
        let keywords = ContextKeywords::new(&[], 40).unwrap();
        let kinds = |text: &str| keywords.kinds_mentioned(&normalize_str(text));
        assert_eq!(kinds("個人番号を送ります"), 1);
        assert_eq!(kinds("ポイント有効期限"), 0);
        assert_eq!(kinds("カード番号"), 4);
        assert_eq!(kinds("ご注文番号: 1"), 0);
    }

    #[test]
    fn half_width_katakana_keywords_count() {
        let text = crate::normalize::normalize_str("ﾏｲﾅﾝﾊﾞｰ 123");
        assert!(near(&text, "123", DetectorKind::MyNumber, 40));
    }
}
