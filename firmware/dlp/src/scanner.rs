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
        let text = normalized.as_str();
        let mut numbers = Vec::new();
        if self.numeric.iter().any(|&on| on) {
            let mut counts = [0usize; NUMERIC.len()];
            digits::for_each_chain(text, |chain| {
                self.numbers_in_chain(text, chain, &mut counts, &mut numbers);
            });
        }
        if let Some(context) = &self.context
            && !numbers.is_empty()
        {
            let hits = context.hits(text);
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
                line: normalized.line_of(n.span.start),
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
                line: normalized.line_of(list.span.start),
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
                        line: normalized.line_of(m.span.start),
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
        digits::for_each_window(text, chain, |first, last, window| {
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
                    if let (Some(free), Some(count)) = (next_free.get_mut(d), counts.get_mut(d)) {
                        *free = last + 1;
                        *count += 1;
                    }
                }
            }
            // Stop trying shorter windows from this start once no detector wants them.
            (0..NUMERIC.len()).all(|d| !wanted(d, &next_free, counts))
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
