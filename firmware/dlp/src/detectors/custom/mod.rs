//! The administrator's dictionary: keywords, wildcard patterns and regular expressions,
//! compiled once into a [`Dictionary`] and matched against normalised text.
//!
//! - **Keywords** match anywhere, ignoring case. They are normalised like the text, so a
//!   keyword typed in full-width (`ＣＯＮＦＩＤＥＮＴＩＡＬ`) or half-width katakana matches.
//!   All keywords go into one Aho-Corasick automaton: one pass over the text for all of them.
//! - **Wildcards**: `*` is any run of characters within a line, `?` one character, everything
//!   else literal; they match anywhere, ignoring case, and are normalised like keywords.
//! - **Regular expressions** use the `regex` crate's syntax (linear time, no backtracking),
//!   as written (add `(?i)` for case-insensitivity), on normalised text: write digits,
//!   letters and hyphens in ASCII. Each is compiled under a size limit. Word boundaries
//!   (`\b`) are ASCII-only, so that one falls between 「担当」 and `EMP` (see `pattern.rs`
//!   for why, and for the cost of the alternative).
//!
//! Wildcards and regular expressions (and keywords with non-ASCII case, such as Cyrillic)
//! share one `RegexSet`: one pass says which rules match at all, and only those are searched
//! again for positions. (Measured on 4 MB of mixed text with 66 such rules, a third without
//! a literal to search for: the set is twice as fast as running each rule on its own.) A rule is rejected at compile time, naming it, if its pattern is
//! empty, can match empty text (it would match everywhere), is not a valid regular
//! expression, or compiles past the size limit.

use std::ops::Range;

use aho_corasick::{AhoCorasick, MatchKind};
use regex::{Regex, RegexSet, RegexSetBuilder};
use serde::{Deserialize, Serialize};

use crate::finding::Confidence;
use crate::normalize::normalize_str;

mod pattern;

/// The default limit on the compiled size of one rule's regular expression, in bytes.
pub const DEFAULT_REGEX_SIZE_LIMIT: usize = 1 << 20;

/// One rule of the administrator's dictionary.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CustomRule {
    /// The name shown in findings instead of the matched text (e.g. 「社外秘」).
    pub name: String,
    /// How `pattern` is read.
    pub kind: RuleKind,
    /// The keyword, wildcard pattern or regular expression.
    pub pattern: String,
    /// The confidence of this rule's findings.
    #[serde(default)]
    pub confidence: Confidence,
}

/// How a rule's pattern is read.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RuleKind {
    /// A literal word, matched ignoring case.
    Keyword,
    /// `*` any run within a line, `?` one character, the rest literal; ignoring case.
    Wildcard,
    /// A regular expression in the `regex` crate's syntax.
    Regex,
}

/// Why one rule was rejected.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RuleError {
    /// The pattern is empty (or only whitespace, for keywords and wildcards).
    #[error("the pattern is empty")]
    Empty,
    /// The pattern matches empty text, so it would match everywhere.
    #[error("the pattern matches empty text, so it would match everywhere")]
    MatchesEmpty,
    /// The regular expression does not parse.
    #[error("invalid regular expression: {detail}")]
    InvalidRegex {
        /// The parser's explanation.
        detail: String,
    },
    /// The compiled pattern would exceed the size limit.
    #[error("the compiled pattern exceeds the size limit of {limit} bytes")]
    TooBig {
        /// The limit in force, in bytes.
        limit: usize,
    },
}

/// A dictionary that could not be compiled.
#[derive(Debug, thiserror::Error)]
pub enum DictionaryError {
    /// One rule is bad.
    #[error("custom rule rules[{index}] {name:?} with pattern {pattern:?}: {reason}")]
    Rule {
        /// The rule's 0-based position in the rule list.
        index: usize,
        /// The rule's name.
        name: String,
        /// The rule's pattern as configured.
        pattern: String,
        /// Why it was rejected.
        reason: RuleError,
    },
    /// A keyword automaton could not be built (far too many or too long keywords).
    #[error("the keyword automaton could not be built")]
    Automaton(#[source] aho_corasick::BuildError),
}

/// A match of one rule.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RuleMatch {
    /// The rule's 0-based position in the rule list.
    pub rule: usize,
    /// The bytes matched in the normalised text.
    pub span: Range<usize>,
}

/// What a finding of a rule shows.
#[derive(Clone, Debug)]
struct RuleInfo {
    name: String,
    confidence: Confidence,
}

/// A compiled dictionary.
#[derive(Clone, Debug)]
pub struct Dictionary {
    rules: Vec<RuleInfo>,
    /// All ASCII-caseless keywords, and the rule of each automaton pattern.
    keywords: Option<(AhoCorasick, Vec<usize>)>,
    /// One pass over the text for all regular expressions (`None` if the set grew too big:
    /// then each is run on its own).
    set: Option<RegexSet>,
    /// Each regular expression with its rule.
    regexes: Vec<(usize, Regex)>,
    /// Each rule as one regular expression, in rule order ([`Dictionary::rule_patterns`]).
    sources: Vec<String>,
}

/// Does `s` hold a letter whose case ASCII-caseless matching would miss?
fn has_non_ascii_case(s: &str) -> bool {
    s.chars()
        .any(|c| !c.is_ascii() && (c.is_lowercase() || c.is_uppercase()))
}

impl Dictionary {
    /// Compiles `rules`, each regular expression limited to `regex_size_limit` bytes.
    pub fn compile(rules: &[CustomRule], regex_size_limit: usize) -> Result<Self, DictionaryError> {
        let mut keywords = Vec::new();
        let mut keyword_rules = Vec::new();
        let mut regexes = Vec::new();
        let mut sources = Vec::with_capacity(rules.len());
        for (index, rule) in rules.iter().enumerate() {
            let reject = |reason| DictionaryError::Rule {
                index,
                name: rule.name.clone(),
                pattern: rule.pattern.clone(),
                reason,
            };
            let regex_source = match rule.kind {
                RuleKind::Keyword => {
                    let word = normalize_str(rule.pattern.trim());
                    if word.is_empty() {
                        return Err(reject(RuleError::Empty));
                    }
                    if has_non_ascii_case(&word) {
                        format!("(?i){}", regex::escape(&word))
                    } else {
                        sources.push(format!("(?i){}", regex::escape(&word)));
                        keywords.push(word);
                        keyword_rules.push(index);
                        continue;
                    }
                }
                RuleKind::Wildcard => {
                    let pattern = normalize_str(rule.pattern.trim());
                    if pattern.is_empty() {
                        return Err(reject(RuleError::Empty));
                    }
                    pattern::wildcard_to_regex(&pattern)
                }
                RuleKind::Regex => {
                    if rule.pattern.is_empty() {
                        return Err(reject(RuleError::Empty));
                    }
                    rule.pattern.clone()
                }
            };
            let regex = pattern::compile(&regex_source, regex_size_limit).map_err(reject)?;
            sources.push(regex.as_str().to_owned());
            regexes.push((index, regex));
        }
        let keywords = if keywords.is_empty() {
            None
        } else {
            let automaton = AhoCorasick::builder()
                .ascii_case_insensitive(true)
                .match_kind(MatchKind::Standard)
                .build(&keywords)
                .map_err(DictionaryError::Automaton)?;
            Some((automaton, keyword_rules))
        };
        let set = if regexes.len() > 1 {
            RegexSetBuilder::new(regexes.iter().map(|(_, r)| r.as_str()))
                .size_limit(regex_size_limit.saturating_mul(regexes.len()))
                .build()
                .ok()
        } else {
            None
        };
        Ok(Self {
            rules: rules
                .iter()
                .map(|r| RuleInfo {
                    name: r.name.clone(),
                    confidence: r.confidence,
                })
                .collect(),
            keywords,
            set,
            regexes,
            sources,
        })
    }

    /// Each rule as one regular expression (regex crate syntax, word boundaries ASCII-only,
    /// as compiled), in rule order: for tools that measure the dictionary against another
    /// matcher on the same patterns, such as the scan benchmark's ripgrep run.
    pub fn rule_patterns(&self) -> &[String] {
        &self.sources
    }

    /// The number of rules.
    pub fn len(&self) -> usize {
        self.rules.len()
    }

    /// Has the dictionary no rules?
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// The name of rule `rule` (`rules[N]` if the administrator left it empty).
    pub fn rule_name(&self, rule: usize) -> String {
        match self.rules.get(rule) {
            Some(info) if !info.name.trim().is_empty() => info.name.clone(),
            _ => format!("rules[{rule}]"),
        }
    }

    /// The confidence of rule `rule`'s findings.
    pub fn rule_confidence(&self, rule: usize) -> Confidence {
        self.rules
            .get(rule)
            .map_or_else(Confidence::default, |r| r.confidence)
    }

    /// Every match of every rule in `text` (normalised), at most `per_rule` per rule, grouped
    /// by kind of rule (not sorted). Overlapping matches of different keywords are all kept.
    pub fn find(&self, text: &str, per_rule: usize) -> Vec<RuleMatch> {
        let mut counts = vec![0usize; self.rules.len()];
        let mut found = Vec::new();
        let mut keep = |rule: usize, span: Range<usize>, found: &mut Vec<RuleMatch>| match counts
            .get_mut(rule)
        {
            Some(count) if *count < per_rule => {
                *count += 1;
                found.push(RuleMatch { rule, span });
                true
            }
            _ => false,
        };
        if let Some((automaton, rules)) = &self.keywords {
            for m in automaton.find_overlapping_iter(text) {
                if let Some(&rule) = rules.get(m.pattern().as_usize()) {
                    keep(rule, m.range(), &mut found);
                }
            }
        }
        let matched: Vec<usize> = match &self.set {
            Some(set) => set.matches(text).into_iter().collect(),
            None => (0..self.regexes.len()).collect(),
        };
        for which in matched {
            let Some((rule, regex)) = self.regexes.get(which) else {
                continue;
            };
            for m in regex.find_iter(text).filter(|m| !m.is_empty()) {
                if !keep(*rule, m.range(), &mut found) {
                    break;
                }
            }
        }
        found
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(kind: RuleKind, pattern: &str) -> CustomRule {
        CustomRule {
            name: format!("{kind:?} {pattern}"),
            kind,
            pattern: pattern.to_owned(),
            confidence: Confidence::Medium,
        }
    }

    fn matched(rules: &[CustomRule], text: &str) -> Vec<(usize, String)> {
        let dictionary = Dictionary::compile(rules, DEFAULT_REGEX_SIZE_LIMIT).unwrap();
        let text = normalize_str(text);
        let mut found: Vec<_> = dictionary
            .find(&text, 100)
            .into_iter()
            .map(|m| (m.rule, text[m.span].to_owned()))
            .collect();
        found.sort();
        found
    }

    #[test]
    fn keywords_ignore_case_and_width() {
        let rules = [
            rule(RuleKind::Keyword, "ＣＯＮＦＩＤＥＮＴＩＡＬ"),
            rule(RuleKind::Keyword, "社外秘"),
        ];
        assert_eq!(
            matched(&rules, "Confidential: 社外秘 / confidential"),
            vec![
                (0, "Confidential".into()),
                (0, "confidential".into()),
                (1, "社外秘".into())
            ]
        );
    }

    #[test]
    fn overlapping_keywords_are_all_reported() {
        let rules = [
            rule(RuleKind::Keyword, "顧客"),
            rule(RuleKind::Keyword, "顧客名簿"),
        ];
        assert_eq!(
            matched(&rules, "顧客名簿"),
            vec![(0, "顧客".into()), (1, "顧客名簿".into())]
        );
    }

    #[test]
    fn keywords_with_non_ascii_case_ignore_it_too() {
        let rules = [rule(RuleKind::Keyword, "СЕКРЕТНО")];
        assert_eq!(matched(&rules, "секретно"), vec![(0, "секретно".into())]);
    }

    #[test]
    fn each_rule_has_one_pattern_that_matches_what_it_matches() {
        let rules = [
            rule(RuleKind::Keyword, "社外秘"),
            rule(RuleKind::Keyword, "Secret"),
            rule(RuleKind::Wildcard, "PRJ-*-x?"),
            rule(RuleKind::Regex, r"\bEMP-\d{3}\b"),
        ];
        let dictionary = Dictionary::compile(&rules, DEFAULT_REGEX_SIZE_LIMIT).unwrap();
        let patterns = dictionary.rule_patterns();
        assert_eq!(patterns.len(), rules.len());
        let text = normalize_str("社外秘 SECRET prj-1-xy 担当EMP-123です");
        let found = dictionary.find(&text, 100);
        for (index, pattern) in patterns.iter().enumerate() {
            let regex = Regex::new(pattern).unwrap();
            let expected: Vec<Range<usize>> = found
                .iter()
                .filter(|m| m.rule == index)
                .map(|m| m.span.clone())
                .collect();
            let by_pattern: Vec<Range<usize>> = regex.find_iter(&text).map(|m| m.range()).collect();
            assert_eq!(by_pattern, expected, "{pattern}");
            assert!(!expected.is_empty(), "{pattern}");
        }
    }

    #[test]
    fn wildcards_match_within_a_line() {
        let rules = [rule(RuleKind::Wildcard, "PRJ-??-*秘")];
        assert_eq!(
            matched(&rules, "prj-12-ABC秘 and PRJ-1-秘 and PRJ-34-\n秘"),
            vec![(0, "prj-12-ABC秘".into())]
        );
        let rules = [rule(RuleKind::Wildcard, "a.b")];
        assert!(matched(&rules, "axb").is_empty());
    }

    #[test]
    fn regexes_match_as_written() {
        let rules = [
            rule(RuleKind::Regex, r"EMP-\d{6}"),
            rule(RuleKind::Regex, r"(?i)secret"),
        ];
        assert_eq!(
            matched(&rules, "EMP-123456 emp-123456 SECRET"),
            vec![(0, "EMP-123456".into()), (1, "SECRET".into())]
        );
    }

    #[test]
    fn bad_rules_are_named_in_the_error() {
        let cases = [
            (rule(RuleKind::Regex, "("), "invalid regular expression"),
            (rule(RuleKind::Regex, ""), "empty"),
            (rule(RuleKind::Keyword, "  "), "empty"),
            (rule(RuleKind::Wildcard, "*"), "matches empty text"),
            (rule(RuleKind::Regex, "a*"), "matches empty text"),
            (rule(RuleKind::Regex, r"\w{1000}\w{1000}"), "size limit"),
        ];
        for (bad, why) in cases {
            let rules = [rule(RuleKind::Keyword, "ok"), bad.clone()];
            let err = Dictionary::compile(&rules, 64 * 1024).unwrap_err();
            let message = err.to_string();
            assert!(message.contains("rules[1]"), "{message}");
            assert!(message.contains(&format!("{:?}", bad.pattern)), "{message}");
            assert!(message.contains(why), "{message}");
        }
    }

    #[test]
    fn matches_per_rule_are_capped() {
        let dictionary = Dictionary::compile(
            &[rule(RuleKind::Keyword, "a"), rule(RuleKind::Regex, "b")],
            1 << 20,
        )
        .unwrap();
        let text = "ab".repeat(50);
        let found = dictionary.find(&text, 7);
        assert_eq!(found.iter().filter(|m| m.rule == 0).count(), 7);
        assert_eq!(found.iter().filter(|m| m.rule == 1).count(), 7);
    }

    #[test]
    fn rule_names_fall_back_to_the_position() {
        let mut unnamed = rule(RuleKind::Keyword, "x");
        unnamed.name = String::new();
        let dictionary = Dictionary::compile(&[unnamed], 1 << 20).unwrap();
        assert_eq!(dictionary.rule_name(0), "rules[0]");
        assert_eq!(dictionary.len(), 1);
    }
}
