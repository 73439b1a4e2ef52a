//! The administrator's dictionary: any rules and any text, `Dictionary::find` checked against
//! a plain model of what each rule matches.
//!
//! Input: rule lines, a blank line, then the text (lossy UTF-8). A rule line is a kind letter
//! (`k` keyword, spaced as the default says; `s` keyword spaced; `e` keyword exact; `w`
//! wildcard, `r` regular expression) followed by the pattern; at most 8 rules of at most 64
//! characters. Checked, besides "never panics":
//! - a rejected dictionary names a rule (`rules[N]`) in its error;
//! - every rule finds exactly what the model finds, capped per rule: an exact keyword with
//!   no non-ASCII case, each place it occurs ignoring ASCII case (overlaps included); any
//!   other rule (spaced keywords too), the `find_iter` matches of its pattern as the
//!   dictionary compiled it
//!   (`Dictionary::rule_patterns`). The dictionary finds these through a literal prefilter
//!   and anchored searches, or a regex set: the model runs each rule on its own.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mamori_dlp::normalize::normalize_str;
use mamori_dlp::{Confidence, CustomRule, Dictionary, RuleKind};

const MAX_RULES: usize = 8;
const MAX_PATTERN_CHARS: usize = 64;
const PER_RULE: usize = 20;

/// Does `s` hold a letter whose case ASCII-caseless matching would miss? (The dictionary
/// matches such keywords as `(?i)` expressions.)
fn has_non_ascii_case(s: &str) -> bool {
    s.chars()
        .any(|c| !c.is_ascii() && (c.is_lowercase() || c.is_uppercase()))
}

/// Is `word` written in Japanese (the dictionary spaces such keywords by default)?
fn is_japanese(word: &str) -> bool {
    word.chars().any(|c| {
        matches!(c, '\u{3040}'..='\u{30FF}' | '\u{3400}'..='\u{4DBF}' | '\u{4E00}'..='\u{9FFF}')
    })
}

fuzz_target!(|data: &[u8]| {
    let input = String::from_utf8_lossy(data);
    let (head, text) = input.split_once("\n\n").unwrap_or((&input, ""));
    let rules: Vec<CustomRule> = head
        .lines()
        .take(MAX_RULES)
        .filter_map(|line| {
            let mut chars = line.chars();
            let (kind, spaced) = match chars.next()? {
                'k' => (RuleKind::Keyword, None),
                's' => (RuleKind::Keyword, Some(true)),
                'e' => (RuleKind::Keyword, Some(false)),
                'w' => (RuleKind::Wildcard, None),
                'r' => (RuleKind::Regex, None),
                _ => return None,
            };
            Some(CustomRule {
                name: String::new(),
                kind,
                pattern: chars.take(MAX_PATTERN_CHARS).collect(),
                confidence: Confidence::Medium,
                spaced,
            })
        })
        .collect();
    if rules.is_empty() {
        return;
    }
    let dictionary = match Dictionary::compile(&rules, 64 * 1024) {
        Ok(dictionary) => dictionary,
        Err(e) => {
            let message = e.to_string();
            assert!(
                message.contains("rules[") || message.contains("automaton"),
                "{message}"
            );
            return;
        }
    };

    let mut found: Vec<(usize, usize, usize)> = dictionary
        .find(text, PER_RULE)
        .into_iter()
        .map(|m| (m.rule, m.span.start, m.span.end))
        .collect();
    found.sort_unstable();

    let mut model = Vec::new();
    for (index, rule) in rules.iter().enumerate() {
        let word = normalize_str(rule.pattern.trim());
        let spaced = rule.spaced.unwrap_or_else(|| is_japanese(&word)) && word.chars().count() > 1;
        if rule.kind == RuleKind::Keyword && !has_non_ascii_case(&word) && !spaced {
            let word = word.as_bytes();
            let bytes = text.as_bytes();
            model.extend(
                (0..bytes.len())
                    .filter(|&i| {
                        bytes
                            .get(i..i + word.len())
                            .is_some_and(|here| here.eq_ignore_ascii_case(word))
                    })
                    .take(PER_RULE)
                    .map(|i| (index, i, i + word.len())),
            );
        } else {
            let pattern = &dictionary.rule_patterns()[index];
            let regex = regex::Regex::new(pattern)
                .unwrap_or_else(|e| panic!("rule {index}: {pattern:?} compiled as {e}"));
            model.extend(
                regex
                    .find_iter(text)
                    .filter(|m| !m.is_empty())
                    .take(PER_RULE)
                    .map(|m| (index, m.start(), m.end())),
            );
        }
    }
    model.sort_unstable();
    assert_eq!(found, model, "rules {rules:?}");
});
