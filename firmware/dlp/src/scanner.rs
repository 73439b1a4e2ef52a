//! The scanner: normalise once, run every enabled detector, merge, sort, mask.

use std::ops::Range;

use crate::config::ScanConfig;
use crate::detectors::columns::Columns;
use crate::detectors::custom::{Dictionary, DictionaryError};
use crate::detectors::keywords::{Context, ContextKeywords};
use crate::detectors::{card, corporate_number, email_list, my_number, phone};
use crate::digits::{self, Group};
use crate::evidence::Evidence;
use crate::finding::{Confidence, DetectorKind, Finding, mask_number};
use crate::normalize::NormalizedText;

/// The number detectors, in the order they are offered each window.
const NUMERIC: [DetectorKind; 4] = [
    DetectorKind::MyNumber,
    DetectorKind::CorporateNumber,
    DetectorKind::CreditCard,
    DetectorKind::Phone,
];

/// A number found, before masking.
struct NumberHit {
    kind: DetectorKind,
    span: Range<usize>,
    confidence: Confidence,
}

/// What [`Scanner::scan_in_pieces`] is given.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Input {
    /// Text as written: normalised a piece at a time.
    Raw,
    /// Text already normalised: copied a piece at a time.
    Normalized,
}

/// How much input [`Scanner::scan`] normalises at a time (then up to the next line break).
const PIECE_BYTES: usize = 256 << 10;

/// What a cut between pieces keeps from digits besides the context keywords' reach: more
/// than the separators (16 bytes across a line break) and the neighbours a detector looks at.
const CUT_MARGIN_BYTES: usize = 32;

/// The finding of an e-mail address list whose first address is on line `line`.
fn email_list_finding(list: email_list::AddressList, line: usize) -> Finding {
    Finding {
        detector: DetectorKind::EmailList,
        confidence: Confidence::Medium,
        line,
        masked: compact_str::format_compact!("{} distinct e-mail addresses", list.distinct),
        span: list.span,
    }
}

/// Sorts findings by position, then by end, then by detector ([`finding_order`]).
fn sort_findings(findings: &mut [Finding]) {
    findings.sort_by_key(finding_order);
}

/// The order of findings: by position, then by end, then by detector.
fn finding_order(finding: &Finding) -> (usize, usize, DetectorKind) {
    (finding.span.start, finding.span.end, finding.detector)
}

/// Numbers the lines of `findings` (sorted, spans in `text`), `text` starting on line
/// `first_line`, counting line ends from one finding to the next. Returns the line `text`
/// ends on.
fn number_lines(text: &str, first_line: usize, findings: &mut [Finding]) -> usize {
    let bytes = text.as_bytes();
    let (mut counted_to, mut line) = (0, first_line);
    for finding in findings {
        let to = finding.span.start.min(bytes.len());
        if to > counted_to {
            line +=
                memchr::memchr_iter(b'\n', bytes.get(counted_to..to).unwrap_or_default()).count();
            counted_to = to;
        }
        finding.line = line;
    }
    line + memchr::memchr_iter(b'\n', bytes.get(counted_to..).unwrap_or_default()).count()
}

/// A configured scanner. Build it once (compiling the dictionary is the costly part), then
/// scan any number of texts, from any number of threads.
#[derive(Clone, Debug)]
pub struct Scanner {
    /// Which of [`NUMERIC`] are on.
    numeric: [bool; 4],
    email_list_min: Option<usize>,
    context: Option<ContextKeywords>,
    dictionary: Option<Dictionary>,
    max_findings: usize,
}

impl Scanner {
    /// Builds a scanner, compiling the context keywords and the custom dictionary.
    pub fn new(config: &ScanConfig) -> Result<Self, DictionaryError> {
        let context = if config.context.enabled {
            Some(
                ContextKeywords::with_labels(
                    &config.context.extra_keywords,
                    &config.context.other_number_keywords,
                    config.context.window_chars,
                )
                .map_err(DictionaryError::Automaton)?,
            )
        } else {
            None
        };
        let dictionary = if config.custom.enabled && !config.custom.rules.is_empty() {
            Some(Dictionary::compile(
                &config.custom.rules,
                config.custom.regex_size_limit,
            )?)
        } else {
            None
        };
        Ok(Self {
            numeric: [
                config.my_number.enabled,
                config.corporate_number.enabled,
                config.credit_card.enabled,
                config.phone.enabled,
            ],
            email_list_min: config
                .email_list
                .enabled
                .then_some(config.email_list.min_distinct.get()),
            context,
            dictionary,
            max_findings: config.max_findings_per_detector,
        })
    }

    /// Normalises `text` and scans it. Spans in the findings refer to the normalised text
    /// (use [`Self::scan_normalized`] to keep it).
    ///
    /// Without custom rules (which may match across lines, and search the whole text), the
    /// text is normalised and scanned a piece at a time ([`Self::scan_in_pieces`]): the same
    /// findings, without a normalised copy of the whole text.
    pub fn scan(&self, text: &str) -> Vec<Finding> {
        self.scan_with_evidence(text, &mut Evidence::default())
    }

    /// [`Self::scan`], recording in `evidence` every number shaped like a My Number or a
    /// card number, valid or not ([`crate::evidence`]): the inspection of a message weighs
    /// them across all its texts.
    pub fn scan_with_evidence(&self, text: &str, evidence: &mut Evidence) -> Vec<Finding> {
        if self.dictionary.is_some() {
            self.scan_text(NormalizedText::new(text).as_str(), evidence)
        } else {
            self.scan_in_pieces(text, Input::Raw, PIECE_BYTES, evidence)
        }
    }

    /// Does `text` (as written) mention, with a supporting keyword, the kind of number
    /// `kind` is (「マイナンバー」 for My Numbers …)? False with context keywords off.
    pub fn mentions(&self, text: &str, kind: DetectorKind) -> bool {
        let Some(context) = &self.context else {
            return false;
        };
        let bit = match kind {
            DetectorKind::MyNumber => 1,
            DetectorKind::CorporateNumber => 2,
            DetectorKind::CreditCard => 4,
            DetectorKind::Phone => 8,
            DetectorKind::EmailList | DetectorKind::Custom { .. } => return false,
        };
        context.kinds_mentioned(NormalizedText::new(text).as_str()) & bit != 0
    }

    /// Scans text that is already normalised. Findings are sorted by position (then by end,
    /// then by detector).
    pub fn scan_normalized(&self, normalized: &NormalizedText) -> Vec<Finding> {
        self.scan_text(normalized.as_str(), &mut Evidence::default())
    }

    /// Scans normalised `text`: the built-in detectors a piece at a time (as
    /// [`Self::scan_in_pieces`] does), the custom rules over the whole text.
    fn scan_text(&self, text: &str, evidence: &mut Evidence) -> Vec<Finding> {
        let mut findings = self.scan_in_pieces(text, Input::Normalized, PIECE_BYTES, evidence);
        if let Some(dictionary) = &self.dictionary {
            findings.extend(
                dictionary
                    .find(text, self.max_findings)
                    .into_iter()
                    .map(|m| Finding {
                        detector: DetectorKind::Custom { rule: m.rule },
                        confidence: dictionary.rule_confidence(m.rule),
                        line: 0,
                        masked: dictionary.rule_name(m.rule).into(),
                        span: m.span,
                    }),
            );
        }
        sort_findings(&mut findings);
        let _ = number_lines(text, 1, &mut findings);
        findings
    }

    /// The built-in detectors' findings in `input`, sorted: normalises `input` (or copies it,
    /// when it is [`Input::Normalized`] already) about `piece_bytes` at a time (cut after a
    /// line break) and scans the normalised text in pieces, each cut after a line
    /// break that is far from any digit. No chain of digit groups, no context-keyword window
    /// and no e-mail address crosses such a cut, and no keyword spans it, so each piece gives
    /// the findings the whole text gives there (counted against the same per-detector caps).
    /// A text with no such cut is scanned in one piece.
    ///
    /// The stretches of a piece searched for context keywords are lowered to ASCII lower case
    /// in place, so that the keywords are looked for in one case only
    /// ([`ContextKeywords::hits_around`]): nothing the built-in detectors report depends on
    /// the case of a letter.
    fn scan_in_pieces(
        &self,
        input: &str,
        kind: Input,
        piece_bytes: usize,
        evidence: &mut Evidence,
    ) -> Vec<Finding> {
        let bytes = input.as_bytes();
        // Text this far from any digit is beyond every number's windows and separators.
        let margin = self
            .context
            .as_ref()
            .map_or(0, ContextKeywords::reach_bytes)
            .saturating_add(CUT_MARGIN_BYTES);
        // Normalised, not yet scanned. Text with no place to cut (a number on every line)
        // is one piece: room for all of it at once, not grown by doubling with a copy each
        // time (room not written to takes no memory).
        let mut pending = String::with_capacity(input.len());
        let mut base = 0; // offset of `pending` in the whole normalised text
        let mut line = 1; // the line `pending` starts on
        let mut no_cut_until = 0; // no cut in `pending` at or before this
        let mut counts = [0usize; NUMERIC.len()];
        let mut emails = email_list::Collector::default();
        let mut email_line = 0;
        let mut findings = Vec::new();
        // Scans one piece starting on line `line`; returns the line it ends on.
        let mut scan_piece =
            |piece: &mut str, base: usize, line: usize, findings: &mut Vec<Finding>| -> usize {
                let before = findings.len();
                self.number_findings(piece, &mut counts, evidence, findings);
                let piece: &str = piece;
                let found = findings.get_mut(before..).unwrap_or_default();
                sort_findings(found);
                let end_line = number_lines(piece, line, found);
                for finding in found {
                    finding.span = finding.span.start + base..finding.span.end + base;
                }
                if self.email_list_min.is_some()
                    && let Some(first) = emails.add(piece, base)
                {
                    let before = piece
                        .as_bytes()
                        .get(..first.start - base)
                        .unwrap_or_default();
                    email_line = line + memchr::memchr_iter(b'\n', before).count();
                }
                end_line
            };
        let mut read = 0;
        while read < bytes.len() {
            let target = read.saturating_add(piece_bytes).min(bytes.len());
            let end = bytes
                .get(target..)
                .and_then(|rest| memchr::memchr(b'\n', rest))
                .map_or(bytes.len(), |at| target + at + 1);
            let chunk = input.get(read..end).unwrap_or_default();
            match kind {
                Input::Raw => crate::normalize::normalize_into(&mut pending, chunk),
                Input::Normalized => pending.push_str(chunk),
            }
            read = end;
            if let Some(cut) = self.find_cut(&pending, margin, no_cut_until) {
                if let Some(piece) = pending.get_mut(..cut) {
                    line = scan_piece(piece, base, line, &mut findings);
                }
                base += cut;
                pending.drain(..cut);
                no_cut_until = 0;
            } else {
                no_cut_until = pending.len().saturating_sub(margin);
            }
        }
        let _ = scan_piece(&mut pending, base, line, &mut findings);
        // Each piece's findings are sorted and lie before the next piece's: the whole list is
        // sorted, and the address list goes where it belongs.
        debug_assert!(findings.is_sorted_by(|a, b| finding_order(a) <= finding_order(b)));
        if let Some(min) = self.email_list_min
            && let Some(list) = emails.list(min)
        {
            let list = email_list_finding(list, email_line);
            let at = findings.partition_point(|f| finding_order(f) <= finding_order(&list));
            findings.insert(at, list);
        }
        findings
    }

    /// The last position of `text` after `after` where it can be cut for
    /// [`Self::scan_in_pieces`]: just after a line break, with no ASCII digit within `margin`
    /// bytes either side (all of them in `text`), and no context keyword across it.
    ///
    /// Walked from the end a stretch between two digits at a time (a cut lies in one, at
    /// least `margin` bytes from both ends), not a line at a time: text with a number on
    /// every line has no cut, and finding that out costs a fast digit search per line.
    fn find_cut(&self, text: &str, margin: usize, after: usize) -> Option<usize> {
        let bytes = text.as_bytes();
        // Digits so far before `after` that they cannot keep a cut after it from being one
        // are not looked for.
        let floor = after.saturating_sub(margin);
        // The end of the stretch: a digit, or the end of the text.
        let mut end = bytes.len();
        loop {
            let digit = crate::digits::rfind_digit(bytes.get(floor..end)?).map(|at| at + floor);
            // The cuts this stretch allows: from `low` to `high`, both included.
            let low = digit.map_or(0, |at| at + 1 + margin).max(after + 1);
            let mut high = end.checked_sub(margin);
            while let Some(last) = high.filter(|&high| high >= low) {
                // A line break at `cut - 1` for a cut in `low..=last`.
                let Some(at) = memchr::memrchr(b'\n', bytes.get(low - 1..last)?) else {
                    break;
                };
                let cut = low + at;
                if self
                    .context
                    .as_ref()
                    .is_none_or(|context| context.can_start_at(bytes, cut))
                {
                    return Some(cut);
                }
                high = Some(cut - 1);
            }
            end = digit?;
            if end.saturating_sub(margin) <= after {
                // Every cut left is at or before `after`.
                return None;
            }
        }
    }

    /// Appends to `out` the findings of the number detectors in normalised `text` (spans in
    /// `text`, lines not yet numbered, not sorted), counting against `counts` per detector.
    /// The stretches searched for context keywords are lowered in place.
    fn number_findings(
        &self,
        text: &mut str,
        counts: &mut [usize; NUMERIC.len()],
        evidence: &mut Evidence,
        out: &mut Vec<Finding>,
    ) {
        let mut numbers = Vec::new();
        if self.numeric.iter().any(|&on| on) {
            // Most digit runs (dates, amounts, times) are too short for any detector.
            digits::for_each_chain_of(text, digits::MIN_WINDOW_DIGITS, |chain| {
                self.numbers_in_chain(text, chain, counts, evidence, &mut numbers);
            });
        }
        if let Some(context) = &self.context
            && !numbers.is_empty()
        {
            let mut spans: Vec<Range<usize>> = numbers.iter().map(|n| n.span.clone()).collect();
            spans.sort_unstable_by_key(|span| span.start);
            let hits = context.hits_around(text, spans);
            let mut cursor = 0;
            let mut columns = None;
            for number in &mut numbers {
                let said =
                    context.context_from(text, &hits, &mut cursor, &number.span, number.kind);
                let columns = columns.get_or_insert_with(|| Columns::new(context));
                number.confidence = weigh(text, number, said, columns);
            }
        }
        out.extend(numbers.into_iter().map(|n| Finding {
            detector: n.kind,
            confidence: n.confidence,
            line: 0,
            masked: mask_number(text.get(n.span.clone()).unwrap_or_default()),
            span: n.span,
        }));
    }

    /// Offers every window of one chain to the enabled number detectors. Each detector takes
    /// the longest window that matches from a start group and then skips past it, so its
    /// findings never overlap and a chain of `g` groups gives it at most `g` findings.
    fn numbers_in_chain(
        &self,
        text: &str,
        chain: &[Group],
        counts: &mut [usize; NUMERIC.len()],
        evidence: &mut Evidence,
        out: &mut Vec<NumberHit>,
    ) {
        let mut next_free = [0usize; NUMERIC.len()];
        let max_findings = self.max_findings;
        let numeric = self.numeric;
        // The detectors (bits, in NUMERIC order) that still take a window starting at group
        // `first`.
        let wanted = |first: usize, next_free: &[usize; 4], counts: &[usize; 4]| -> u8 {
            let mut bits = 0;
            for d in 0..NUMERIC.len() {
                if numeric.get(d).copied().unwrap_or(false)
                    && next_free.get(d).is_some_and(|&free| free <= first)
                    && counts.get(d).is_some_and(|&c| c < max_findings)
                {
                    bits |= 1 << d;
                }
            }
            bits
        };
        let (mut offered_first, mut offered) = (usize::MAX, 0u8);
        digits::for_each_window(
            text,
            chain,
            digits::MIN_WINDOW_DIGITS,
            |first, last, window| {
                // What is offered changes only with the start group, or when a detector
                // finds something (then it is taken off below).
                if first != offered_first {
                    offered_first = first;
                    offered = wanted(first, &next_free, counts);
                }
                // Only the detectors of numbers as long as the window.
                let mut candidates = offered & detectors_of_length(window.digits.len());
                while candidates != 0 {
                    let d = candidates.trailing_zeros() as usize;
                    candidates &= candidates - 1;
                    let Some(&kind) = NUMERIC.get(d) else {
                        break;
                    };
                    let found = match kind {
                        DetectorKind::MyNumber => my_number::candidate(window).and_then(|valid| {
                            evidence.record(kind, window.digits, valid);
                            valid.then(|| window.span())
                        }),
                        DetectorKind::CorporateNumber => {
                            corporate_number::matches(window).then(|| window.span())
                        }
                        DetectorKind::CreditCard => card::candidate(window).and_then(|valid| {
                            evidence.record(kind, window.digits, valid);
                            valid.then(|| window.span())
                        }),
                        DetectorKind::Phone => phone::matches(window),
                        DetectorKind::EmailList | DetectorKind::Custom { .. } => None,
                    };
                    if let Some(span) = found {
                        let confidence = if kind == DetectorKind::Phone {
                            Confidence::Low
                        } else {
                            Confidence::Medium
                        };
                        out.push(NumberHit {
                            kind,
                            span,
                            confidence,
                        });
                        if let (Some(free), Some(count)) = (next_free.get_mut(d), counts.get_mut(d))
                        {
                            *free = last + 1;
                            *count += 1;
                        }
                        offered &= !(1 << d);
                    }
                }
                // Stop trying shorter windows from this start once no detector wants them.
                offered == 0
            },
        );
    }
}

/// The confidence of a number given what the labels near it say (`said`) and, for the
/// numbers that business mail is full of look-alikes of (My Number, card), what the header
/// of its table column says, which takes precedence: a supporting label raises it, a
/// contradicting one (an order, an invoice, a parcel …) makes it low, and a My Number that
/// no label speaks of but that also passes a parcel carrier's check digit is low too.
fn weigh(text: &str, number: &NumberHit, said: Context, columns: &mut Columns<'_>) -> Confidence {
    let told_apart = matches!(
        number.kind,
        DetectorKind::MyNumber | DetectorKind::CreditCard
    );
    let said = if told_apart {
        match columns.context(text, &number.span, number.kind) {
            Context::Silent => said,
            header => header,
        }
    } else {
        said
    };
    match said {
        Context::Supports => number.confidence.raised(),
        Context::Against if told_apart => Confidence::Low,
        Context::Against => number.confidence,
        Context::Silent if number.kind == DetectorKind::MyNumber => {
            let mut digits = [0u8; my_number::LEN];
            let written = text.get(number.span.clone()).unwrap_or_default().bytes();
            for (slot, b) in digits.iter_mut().zip(written.filter(u8::is_ascii_digit)) {
                *slot = b - b'0';
            }
            if my_number::passes_carrier_check(&digits) {
                Confidence::Low
            } else {
                number.confidence
            }
        }
        Context::Silent => number.confidence,
    }
}

/// The detectors (bits, in [`NUMERIC`] order) that can match a window of `len` digits: a
/// My Number has 12, a corporate number 13, a card number 13 to 19, a phone number 10 to 13
/// (with `+81` or `(0)` in front). Each detector checks the length itself too; this only
/// spares calling the others.
fn detectors_of_length(len: usize) -> u8 {
    let my_number = u8::from(len == my_number::LEN);
    let corporate = u8::from(len == corporate_number::LEN);
    let card = u8::from((card::MIN_LEN..=card::MAX_LEN).contains(&len));
    let phone = u8::from((phone::MIN_WINDOW_LEN..=phone::MAX_WINDOW_LEN).contains(&len));
    my_number | corporate << 1 | card << 2 | phone << 3
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ScanConfig;
    use proptest::strategy::Strategy;

    /// The straightforward scan the fast one must equal: the reference normalisation, every
    /// window of every chain, the context keywords of the whole text, a line index.
    fn reference_scan(scanner: &Scanner, input: &str) -> Vec<Finding> {
        let text = crate::normalize::reference(input);
        let text = text.as_str();
        let mut numbers = Vec::new();
        let mut counts = [0usize; NUMERIC.len()];
        digits::for_each_chain(text, |chain| {
            let mut next_free = [0usize; NUMERIC.len()];
            digits::for_each_window(text, chain, 1, |first, last, window| {
                let wanted = |d: usize, next_free: &[usize; 4], counts: &[usize; 4]| {
                    scanner.numeric[d] && next_free[d] <= first && counts[d] < scanner.max_findings
                };
                for (d, kind) in NUMERIC.iter().enumerate() {
                    if !wanted(d, &next_free, &counts) {
                        continue;
                    }
                    let found = match kind {
                        DetectorKind::MyNumber => my_number::matches(window).then(|| window.span()),
                        DetectorKind::CorporateNumber => {
                            corporate_number::matches(window).then(|| window.span())
                        }
                        DetectorKind::CreditCard => card::matches(window).then(|| window.span()),
                        DetectorKind::Phone => phone::matches(window),
                        _ => None,
                    };
                    if let Some(span) = found {
                        let confidence = if *kind == DetectorKind::Phone {
                            Confidence::Low
                        } else {
                            Confidence::Medium
                        };
                        numbers.push(NumberHit {
                            kind: *kind,
                            span,
                            confidence,
                        });
                        next_free[d] = last + 1;
                        counts[d] += 1;
                    }
                }
                (0..NUMERIC.len()).all(|d| !wanted(d, &next_free, &counts))
            });
        });
        if let Some(context) = &scanner.context {
            let hits = context.hits(text);
            let mut columns = Columns::new(context);
            for number in &mut numbers {
                let mut cursor = 0;
                let said =
                    context.context_from(text, &hits, &mut cursor, &number.span, number.kind);
                number.confidence = weigh(text, number, said, &mut columns);
            }
        }
        let line_of = |at: usize| 1 + text[..at].matches('\n').count();
        let mut findings: Vec<Finding> = numbers
            .into_iter()
            .map(|n| Finding {
                detector: n.kind,
                confidence: n.confidence,
                line: line_of(n.span.start),
                masked: mask_number(&text[n.span.clone()]),
                span: n.span,
            })
            .collect();
        if let Some(min) = scanner.email_list_min
            && let Some(list) = email_list::find(text, min)
        {
            findings.push(Finding {
                detector: DetectorKind::EmailList,
                confidence: Confidence::Medium,
                line: line_of(list.span.start),
                masked: compact_str::format_compact!("{} distinct e-mail addresses", list.distinct),
                span: list.span,
            });
        }
        if let Some(dictionary) = &scanner.dictionary {
            findings.extend(
                dictionary
                    .find(text, scanner.max_findings)
                    .into_iter()
                    .map(|m| Finding {
                        detector: DetectorKind::Custom { rule: m.rule },
                        confidence: dictionary.rule_confidence(m.rule),
                        line: line_of(m.span.start),
                        masked: dictionary.rule_name(m.rule).into(),
                        span: m.span,
                    }),
            );
        }
        findings.sort_by(|a, b| {
            (a.span.start, a.span.end, a.detector).cmp(&(b.span.start, b.span.end, b.detector))
        });
        findings
    }

    fn test_scanner(window_chars: usize, max_findings: usize) -> Scanner {
        let mut config = ScanConfig::default();
        config.context.window_chars = window_chars;
        // "電話" again (supporting every detector this time) and keywords that overlap.
        config.context.extra_keywords = ["番号", "ID", "電話", "号 0", "1-2"]
            .map(str::to_owned)
            .to_vec();
        config.email_list.min_distinct = std::num::NonZeroUsize::new(2).unwrap();
        config.max_findings_per_detector = max_findings;
        config.custom.rules = vec![crate::CustomRule {
            name: "emp".to_owned(),
            kind: crate::RuleKind::Regex,
            pattern: r"EMP-\d{3}".to_owned(),
            confidence: Confidence::High,
            spaced: None,
        }];
        Scanner::new(&config).unwrap()
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(512))]

        #[test]
        fn the_scan_equals_the_reference_scan(
            pieces in proptest::collection::vec(proptest::prop_oneof![
                "[0-9０-９]{1,5}",
                proptest::sample::select(vec![
                    "-", " ", "  ", "\n", "\r\n", "\r", "(", ")", "+81 ", "－", "ー", "ｰ", "　",
                    "、", "。", "あ", "漢字", "ｶﾞ", "e\u{301}", "a", "x@example.jp ", "Y@EXAMPLE.JP ",
                    "マイナンバー", "ﾏｲﾅﾝﾊﾞｰ", "個人番号", "法人番号", "電話", "電話番号",
                    "カード番号", "クレジットカード", "my number", "CARD NUMBER", "番号", "ID", "EMP-123",
                    "123456789018", "7000012050002", "4111 1111 1111 1111", "03-1234-5678",
                    "090-1234-5678", "１２３４－５６７８－９０１８",
                ]).prop_map(str::to_owned),
                "\\PC{1,3}",
            ], 0..60),
            window_chars in 0usize..12,
            max_findings in 1usize..6,
        ) {
            let text: String = pieces.concat();
            let scanner = test_scanner(window_chars, max_findings);
            proptest::prop_assert_eq!(scanner.scan(&text), reference_scan(&scanner, &text), "{:?}", text);
        }
    }

    /// The scan in pieces of `piece_bytes`, of raw and of normalised input, and the scan
    /// itself, all equal the reference scan of `text`.
    fn assert_pieces_equal_the_reference(scanner: &Scanner, text: &str, piece_bytes: usize) {
        let expected = reference_scan(scanner, text);
        assert_eq!(
            scanner.scan_in_pieces(text, Input::Raw, piece_bytes, &mut Evidence::default()),
            expected,
            "{text:?}"
        );
        let normalized = crate::normalize::normalize_str(text);
        assert_eq!(
            scanner.scan_in_pieces(
                &normalized,
                Input::Normalized,
                piece_bytes,
                &mut Evidence::default()
            ),
            expected,
            "normalised: {text:?}"
        );
        assert_eq!(scanner.scan(text), expected, "{text:?}");
    }

    /// The pieces of [`Scanner::scan_in_pieces`] hold no number that the whole text does not.
    fn scanner_without_rules(window_chars: usize, max_findings: usize) -> Scanner {
        let mut config = ScanConfig::default();
        config.context.window_chars = window_chars;
        config.context.extra_keywords = ["番号", "ID", "電話", "号 0", "1-2", "\nあ", "い\n"]
            .map(str::to_owned)
            .to_vec();
        config.email_list.min_distinct = std::num::NonZeroUsize::new(2).unwrap();
        config.max_findings_per_detector = max_findings;
        Scanner::new(&config).unwrap()
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(512))]

        #[test]
        fn the_scan_in_pieces_equals_the_reference_scan(
            pieces in proptest::collection::vec(proptest::prop_oneof![
                "[0-9０-９]{1,5}",
                proptest::sample::select(vec![
                    "-", " ", "\n", "\r\n", "\r", "\n\n", "(", "+81 ", "－", "ー", "　", "あ",
                    "い", "漢字", "ｶﾞ", "a", "x@example.jp ", "Y@EXAMPLE.JP\n", "z@example.jp",
                    "マイナンバー", "個人番号", "電話", "電話番号", "カード番号", "番号", "ID",
                    "123456789018", "7000012050002", "4111 1111 1111 1111", "03-1234-5678",
                    "090-1234-5678", "１２３４－５６７８－９０１８",
                    "あいうえおかきくけこさしすせそ\n", "lorem ipsum dolor sit amet\n",
                    "ーーーーーーーーーーーーーーー\r\n",
                ]).prop_map(str::to_owned),
                "\\PC{1,3}",
            ], 0..150),
            window_chars in 0usize..12,
            max_findings in 1usize..6,
            piece_bytes in 1usize..200,
        ) {
            let text: String = pieces.concat();
            let scanner = scanner_without_rules(window_chars, max_findings);
            assert_pieces_equal_the_reference(&scanner, &text, piece_bytes);
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(256))]

        /// Runs of stable text (copied as they are) alternate with characters the
        /// normalisation changes (replaced one for one, or through NFKC), inside and around
        /// numbers and keywords.
        #[test]
        fn stable_and_unstable_pieces_alternate(
            pairs in proptest::collection::vec((
                proptest::sample::select(vec![
                    "いつもお世話に", "漢字", "abc ", "1234", "5678-", "9018", " ", "\n",
                    "マイナンバー", "電話", "カード番号", "090", "0", "-", "4111 1111 ",
                ]),
                proptest::sample::select(vec![
                    "１", "２３４", "（", "）", "：", "，", "－", "ー", "ｰ", "ｶ", "ｶﾞ", "ﾊﾞ",
                    "\r\n", "\r", "　", "e\u{301}", "１\u{301}", "ｶ\u{3099}", "①", "",
                ]),
            ), 0..40),
            window_chars in 0usize..12,
            max_findings in 1usize..6,
            piece_bytes in 1usize..200,
        ) {
            let text: String = pairs.iter().flat_map(|(a, b)| [*a, *b]).collect();
            let scanner = scanner_without_rules(window_chars, max_findings);
            assert_pieces_equal_the_reference(&scanner, &text, piece_bytes);
        }
    }

    /// [`Scanner::find_cut`] the plain way: line break after line break from the end, each
    /// tested for digits around it.
    fn find_cut_line_by_line(
        scanner: &Scanner,
        text: &str,
        margin: usize,
        after: usize,
    ) -> Option<usize> {
        let bytes = text.as_bytes();
        (after + 1..=bytes.len().checked_sub(margin)?)
            .rev()
            .find(|&cut| {
                bytes[cut - 1] == b'\n'
                    && !bytes[cut.saturating_sub(margin)..cut + margin]
                        .iter()
                        .any(u8::is_ascii_digit)
                    && scanner
                        .context
                        .as_ref()
                        .is_none_or(|context| context.can_start_at(bytes, cut))
            })
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(1024))]

        /// The cut found stretch by stretch is the last one found line by line: digits on
        /// every line, in clusters, far apart; keywords across line breaks; any margin and
        /// any start.
        #[test]
        fn the_cut_is_the_last_line_break_far_enough_from_digits(
            pieces in proptest::collection::vec(proptest::sample::select(vec![
                "\n", "\n\n", "1", "42", "2026-12-07", "a", "abcdefgh", "あ", "漢字です。",
                "\nあ", "い\n", "x".repeat(40).leak(), "lorem ipsum dolor sit amet\n",
                "1XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX\n",
            ]), 0..120),
            margin in 0usize..100,
            after in 0usize..600,
            keywords in proptest::bool::ANY,
        ) {
            let text: String = pieces.concat();
            let scanner = if keywords {
                scanner_without_rules(3, 5)
            } else {
                let mut config = ScanConfig::default();
                config.context.enabled = false;
                Scanner::new(&config).unwrap()
            };
            proptest::prop_assert_eq!(
                scanner.find_cut(&text, margin, after),
                find_cut_line_by_line(&scanner, &text, margin, after),
                "{:?} margin {} after {}", text, margin, after
            );
        }
    }

    #[test]
    fn a_long_text_is_scanned_in_pieces_with_the_same_findings() {
        let scanner = Scanner::new(&ScanConfig::default()).unwrap();
        let mut text = String::new();
        for i in 0..300 {
            text.push_str("いつもお世話になっております。ご確認のほどよろしくお願いいたします。\n");
            if i % 5 == 0 {
                text.push_str("マイナンバー：1234-5678-9018 電話 03-1234-5678\nuser@example.jp\n");
            }
            if i % 11 == 0 {
                text.push_str(&format!("u{i}@example.jp, カード 4111 1111 1111 1111\r\n"));
            }
        }
        // Cuts are found.
        let normalized = crate::normalize::normalize_str(&text);
        let margin = scanner.context.as_ref().unwrap().reach_bytes() + CUT_MARGIN_BYTES;
        assert!(scanner.find_cut(&normalized, margin, 0).is_some());
        let whole = scanner.scan_normalized(&NormalizedText::new(&text));
        assert!(whole.len() > 100, "{}", whole.len());
        for piece_bytes in [1, 100, 1000, 5000, PIECE_BYTES] {
            assert_eq!(
                scanner.scan_in_pieces(&text, Input::Raw, piece_bytes, &mut Evidence::default()),
                whole,
                "{piece_bytes}"
            );
        }
        assert_eq!(scanner.scan(&text), whole);
    }

    #[test]
    fn no_piece_is_cut_between_a_number_and_its_keyword() {
        // A keyword 40 characters (120 bytes) from a number, a line break in between.
        let scanner = Scanner::new(&ScanConfig::default()).unwrap();
        let gap = format!("{}\n{}", "あ".repeat(20), "あ".repeat(19));
        let filler = "いろはにほへと\n".repeat(40);
        for text in [
            format!("{filler}1234-5678-9018{gap}マイナンバー\n{filler}"),
            format!("{filler}マイナンバー{gap}1234-5678-9018\n{filler}"),
        ] {
            let whole = scanner.scan_normalized(&NormalizedText::new(&text));
            assert_eq!(whole.len(), 1);
            assert_eq!(whole[0].confidence, Confidence::High);
            for piece_bytes in [1, 50, 200, 400] {
                assert_eq!(
                    scanner.scan_in_pieces(
                        &text,
                        Input::Raw,
                        piece_bytes,
                        &mut Evidence::default()
                    ),
                    whole
                );
            }
        }
    }

    fn scan(text: &str) -> Vec<(DetectorKind, Confidence, String)> {
        Scanner::new(&ScanConfig::default())
            .unwrap()
            .scan(text)
            .into_iter()
            .map(|f| (f.detector, f.confidence, f.masked.into()))
            .collect()
    }

    #[test]
    fn finds_each_kind_in_one_text() {
        let text = "個人番号 123456789018\n法人番号 7000012050002\nカード 4111 1111 1111 1111\n電話 03-1234-5678";
        let found = scan(text);
        assert_eq!(
            found,
            vec![
                (
                    DetectorKind::MyNumber,
                    Confidence::High,
                    "1234******18".into()
                ),
                (
                    DetectorKind::CorporateNumber,
                    Confidence::High,
                    "7000*******02".into()
                ),
                (
                    DetectorKind::CreditCard,
                    Confidence::High,
                    "4111 **** **** **11".into()
                ),
                (
                    DetectorKind::Phone,
                    Confidence::Medium,
                    "03-12**-**78".into()
                ),
            ]
        );
    }

    #[test]
    fn a_scanner_is_shared_between_threads() {
        fn shareable<T: Send + Sync>() {}
        shareable::<Scanner>();
    }

    #[test]
    fn lines_are_one_based() {
        let scanner = Scanner::new(&ScanConfig::default()).unwrap();
        let findings = scanner.scan("a\r\nb\r\n１２３４５６７８９０１８");
        assert_eq!(findings.len(), 1);
        assert_eq!(findings[0].line, 3);
    }

    #[test]
    fn disabled_detectors_find_nothing() {
        let mut config = ScanConfig::default();
        config.my_number.enabled = false;
        config.phone.enabled = false;
        let scanner = Scanner::new(&config).unwrap();
        assert!(scanner.scan("123456789018 03-1234-5678").is_empty());
    }

    #[test]
    fn findings_per_detector_are_capped() {
        let config = ScanConfig {
            max_findings_per_detector: 3,
            ..ScanConfig::default()
        };
        let scanner = Scanner::new(&config).unwrap();
        let text = "123456789018\n".repeat(10);
        assert_eq!(scanner.scan(&text).len(), 3);
    }
}
