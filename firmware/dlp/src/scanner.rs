//! The scanner: normalise once, run every enabled detector, merge, sort, mask.

use std::ops::Range;

use crate::config::ScanConfig;
use crate::detectors::custom::{Dictionary, DictionaryError};
use crate::detectors::keywords::ContextKeywords;
use crate::detectors::{card, corporate_number, email_list, my_number, phone};
use crate::digits::{self, Group};
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
        crate::normalize::warm_up();
        let context = if config.context.enabled {
            Some(
                ContextKeywords::new(&config.context.extra_keywords, config.context.window_chars)
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
    pub fn scan(&self, text: &str) -> Vec<Finding> {
        self.scan_normalized(&NormalizedText::new(text))
    }

    /// Scans text that is already normalised. Findings are sorted by position (then by end,
    /// then by detector).
    pub fn scan_normalized(&self, normalized: &NormalizedText) -> Vec<Finding> {
        self.scan_text(normalized.as_str())
    }

    /// Scans normalised `text`.
    fn scan_text(&self, text: &str) -> Vec<Finding> {
        let mut numbers = Vec::new();
        if self.numeric.iter().any(|&on| on) {
            let mut counts = [0usize; NUMERIC.len()];
            digits::for_each_chain(text, |chain| {
                // Most digit runs (dates, amounts, times) are too short for any detector.
                if chain.iter().map(Group::len).sum::<usize>() >= digits::MIN_WINDOW_DIGITS {
                    self.numbers_in_chain(text, chain, &mut counts, &mut numbers);
                }
            });
        }
        if let Some(context) = &self.context
            && !numbers.is_empty()
        {
            let mut spans: Vec<Range<usize>> = numbers.iter().map(|n| n.span.clone()).collect();
            spans.sort_unstable_by_key(|span| span.start);
            let hits = context.hits_around(text, spans);
            for number in &mut numbers {
                if context.near(text, &hits, &number.span, number.kind) {
                    number.confidence = number.confidence.raised();
                }
            }
        }
        let mut findings: Vec<Finding> = numbers
            .into_iter()
            .map(|n| Finding {
                detector: n.kind,
                confidence: n.confidence,
                line: 0,
                masked: mask_number(text.get(n.span.clone()).unwrap_or_default()),
                span: n.span,
            })
            .collect();
        if let Some(min) = self.email_list_min
            && let Some(list) = email_list::find(text, min)
        {
            findings.push(Finding {
                detector: DetectorKind::EmailList,
                confidence: Confidence::Medium,
                line: 0,
                masked: format!("{} distinct e-mail addresses", list.distinct),
                span: list.span,
            });
        }
        if let Some(dictionary) = &self.dictionary {
            findings.extend(
                dictionary
                    .find(text, self.max_findings)
                    .into_iter()
                    .map(|m| Finding {
                        detector: DetectorKind::Custom { rule: m.rule },
                        confidence: dictionary.rule_confidence(m.rule),
                        line: 0,
                        masked: dictionary.rule_name(m.rule),
                        span: m.span,
                    }),
            );
        }
        findings.sort_by(|a, b| {
            (a.span.start, a.span.end, a.detector).cmp(&(b.span.start, b.span.end, b.detector))
        });
        // Line numbers, counting line ends from one finding to the next.
        let bytes = text.as_bytes();
        let (mut counted_to, mut line) = (0, 1);
        for finding in &mut findings {
            let to = finding.span.start.min(bytes.len());
            if to > counted_to {
                line += memchr::memchr_iter(b'\n', bytes.get(counted_to..to).unwrap_or_default())
                    .count();
                counted_to = to;
            }
            finding.line = line;
        }
        findings
    }

    /// Offers every window of one chain to the enabled number detectors. Each detector takes
    /// the longest window that matches from a start group and then skips past it, so its
    /// findings never overlap and a chain of `g` groups gives it at most `g` findings.
    fn numbers_in_chain(
        &self,
        text: &str,
        chain: &[Group],
        counts: &mut [usize; NUMERIC.len()],
        out: &mut Vec<NumberHit>,
    ) {
        let mut next_free = [0usize; NUMERIC.len()];
        let max_findings = self.max_findings;
        let numeric = self.numeric;
        digits::for_each_window(
            text,
            chain,
            digits::MIN_WINDOW_DIGITS,
            |first, last, window| {
                let wanted = |d: usize, next_free: &[usize; 4], counts: &[usize; 4]| {
                    numeric.get(d).copied().unwrap_or(false)
                        && next_free.get(d).is_some_and(|&free| free <= first)
                        && counts.get(d).is_some_and(|&c| c < max_findings)
                };
                for (d, kind) in NUMERIC.iter().enumerate() {
                    if !wanted(d, &next_free, counts) {
                        continue;
                    }
                    let found = match kind {
                        DetectorKind::MyNumber => my_number::matches(window).then(|| window.span()),
                        DetectorKind::CorporateNumber => {
                            corporate_number::matches(window).then(|| window.span())
                        }
                        DetectorKind::CreditCard => card::matches(window).then(|| window.span()),
                        DetectorKind::Phone => phone::matches(window),
                        DetectorKind::EmailList | DetectorKind::Custom { .. } => None,
                    };
                    if let Some(span) = found {
                        let confidence = if *kind == DetectorKind::Phone {
                            Confidence::Low
                        } else {
                            Confidence::Medium
                        };
                        out.push(NumberHit {
                            kind: *kind,
                            span,
                            confidence,
                        });
                        if let (Some(free), Some(count)) = (next_free.get_mut(d), counts.get_mut(d))
                        {
                            *free = last + 1;
                            *count += 1;
                        }
                    }
                }
                // Stop trying shorter windows from this start once no detector wants them.
                (0..NUMERIC.len()).all(|d| !wanted(d, &next_free, counts))
            },
        );
    }
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
            for number in &mut numbers {
                if context.near(text, &hits, &number.span, number.kind) {
                    number.confidence = number.confidence.raised();
                }
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
                masked: format!("{} distinct e-mail addresses", list.distinct),
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
                        masked: dictionary.rule_name(m.rule),
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
        config.context.extra_keywords = vec!["番号".to_owned(), "ID".to_owned()];
        config.email_list.min_distinct = std::num::NonZeroUsize::new(2).unwrap();
        config.max_findings_per_detector = max_findings;
        config.custom.rules = vec![crate::CustomRule {
            name: "emp".to_owned(),
            kind: crate::RuleKind::Regex,
            pattern: r"EMP-\d{3}".to_owned(),
            confidence: Confidence::High,
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

    fn scan(text: &str) -> Vec<(DetectorKind, Confidence, String)> {
        Scanner::new(&ScanConfig::default())
            .unwrap()
            .scan(text)
            .into_iter()
            .map(|f| (f.detector, f.confidence, f.masked))
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
                    Confidence::Medium,
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
