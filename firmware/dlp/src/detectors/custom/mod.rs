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
//! How the text is searched (every rule still gives exactly the matches its pattern's
//! `find_iter` gives, checked by a property test):
//!
//! - **Literals in one pass.** Keywords, and the literal prefixes of the wildcards and regular
//!   expressions that have a short list of them (`EMP-` for `\bEMP-\d{6}\b`, `prj-01-` for
//!   `PRJ-01-*`), are looked for together in one leftmost pass with a SIMD prefilter (see
//!   [`Literals`]). A prefixed expression runs only where one of its prefixes is, as an
//!   anchored search there; where a prefix turns up so often that most of those searches fail,
//!   the expression is searched on its own from there instead.
//! - **The rest** (expressions with no usable prefix, such as `\b[A-Z]{2}\d{6}\b`, and
//!   keywords with non-ASCII case, such as Cyrillic) share one `RegexSet`: one earliest-match
//!   pass says whether any matches at all, which for most texts ends the work; if one does, an
//!   overlapping pass says which, and only those are searched again for positions.
//!
//! Measured on the bench's 4 MiB corpus with its 100 rules (`ci/bench-dlp`, callgrind): this
//! takes 47 M instructions, against 203 M when every expression went through the set and
//! then ran over the whole text on its own.
//!
//! A rule is rejected at compile time, naming it, if its pattern is empty, can match empty
//! text (it would match everywhere), is not a valid regular expression, or compiles past the
//! size limit.

use std::collections::HashMap;
use std::ops::Range;

use aho_corasick::{AhoCorasick, MatchKind};
use regex::{RegexSet, RegexSetBuilder};
use regex_automata::{Anchored, Input, meta};
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
    /// For a keyword: whether it also matches with spaces (half- or full-width), tabs and
    /// line breaks between its characters (`社　外　秘`, `社外` + line break + `秘`), as
    /// people write around a keyword. Unset: yes for a keyword written in Japanese, no
    /// otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spaced: Option<bool>,
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

/// What a hit of one literal of the automaton stands for.
#[derive(Clone, Copy, Debug)]
enum LiteralUse {
    /// A match of the keyword rule `rule`.
    Keyword { rule: usize },
    /// A place where `prefixed[expression]` may match: verified there.
    Prefix { expression: usize },
}

/// A rule's regular expression.
#[derive(Clone, Debug)]
struct Expression {
    rule: usize,
    regex: meta::Regex,
}

/// The literals of the dictionary (keywords and the prefixes of prefixed expressions),
/// searched in one pass: an automaton finds their heads, and at each head found the whole
/// literals with that head are compared.
///
/// Every head has the same length: the first [`HEAD_BYTES`] bytes of each literal, fewer if
/// a literal is shorter. So no two heads match at the same place, and a leftmost search
/// started again one byte after each head it finds finds every head in the text. A leftmost
/// search can use the automaton's packed (SIMD) prefilter, which an overlapping search never
/// does, and the few distinct heads keep that prefilter small (a byte-at-a-time overlapping
/// walk measured 18 instructions per byte of text; this, about one).
#[derive(Clone, Debug)]
struct Literals {
    /// The distinct heads, lower case, matched case-sensitively over lower-cased text.
    automaton: AhoCorasick,
    /// For the automaton's pattern `i`, its literals are `literals[heads[i]]`.
    heads: Vec<Range<usize>>,
    literals: Vec<Literal>,
    /// The length of every head, in bytes.
    head_len: usize,
}

/// One distinct literal (lower case; compared ignoring ASCII case) and what it stands for.
#[derive(Clone, Debug)]
struct Literal {
    bytes: Vec<u8>,
    /// Its uses (the same literal can serve several rules).
    uses: Vec<LiteralUse>,
}

/// How many bytes of each literal the automaton looks for.
const HEAD_BYTES: usize = 4;

/// A compiled dictionary.
#[derive(Clone, Debug)]
pub struct Dictionary {
    rules: Vec<RuleInfo>,
    literals: Option<Literals>,
    /// Expressions every match of which begins with one of their literal prefixes (in
    /// `literals`): verified at each place a prefix is found, with no pass of their own.
    prefixed: Vec<Expression>,
    /// The other expressions: each searched over the whole text, if `set` says it matches.
    searched: Vec<Expression>,
    /// One pass over the text for all of `searched` (`None` if the set grew too big: then
    /// each is run on its own).
    set: Option<RegexSet>,
    /// Each rule as one regular expression, in rule order ([`Dictionary::rule_patterns`]).
    sources: Vec<String>,
}

/// Does `s` hold a letter whose case ASCII-caseless matching would miss?
fn has_non_ascii_case(s: &str) -> bool {
    s.chars()
        .any(|c| !c.is_ascii() && (c.is_lowercase() || c.is_uppercase()))
}

/// Is `word` written in Japanese (kana or kanji)?
fn is_japanese(word: &str) -> bool {
    word.chars().any(|c| {
        matches!(c, '\u{3040}'..='\u{30FF}' | '\u{3400}'..='\u{4DBF}' | '\u{4E00}'..='\u{9FFF}')
    })
}

/// The most white space characters a spaced keyword allows between two of its characters.
const MAX_GAP: usize = 8;

/// The white space that may stand between a spaced keyword's characters, once the text is
/// normalised (NFKC makes full-width and no-break spaces plain ones).
const GAP_CHARACTERS: [char; 4] = [' ', '\t', '\n', '\r'];

/// A spaced keyword as a regular expression: its characters with up to [`MAX_GAP`] of
/// [`GAP_CHARACTERS`] between each two (those and no others, so that its literals are
/// exactly the ways a match can start).
fn spaced_regex(word: &str) -> String {
    let gap = format!("[ \\t\\r\\n]{{0,{MAX_GAP}}}");
    let parts: Vec<String> = word
        .chars()
        .map(|c| regex::escape(&c.to_string()))
        .collect();
    format!("(?i){}", parts.join(&gap))
}

/// The literals that start a spaced occurrence of `word` (one with at least one gap): each
/// proper prefix of it followed by a white space character.
fn spaced_starts(word: &str) -> Vec<String> {
    let mut starts = Vec::new();
    let mut prefix = String::new();
    let count = word.chars().count();
    for c in word.chars().take(count.saturating_sub(1)) {
        prefix.push(c);
        for gap in GAP_CHARACTERS {
            starts.push(format!("{prefix}{gap}"));
        }
    }
    starts
}

/// Gathers the literals of the automaton, each distinct (ignoring ASCII case) once, with
/// its uses.
#[derive(Default)]
struct LiteralTable {
    index: HashMap<Vec<u8>, usize>,
    entries: Vec<(Vec<u8>, Vec<LiteralUse>)>,
}

impl LiteralTable {
    fn add(&mut self, literal: &[u8], what: LiteralUse) {
        let key = literal.to_ascii_lowercase();
        match self
            .index
            .get(&key)
            .and_then(|&at| self.entries.get_mut(at))
        {
            Some((_, uses)) => uses.push(what),
            None => {
                self.index.insert(key.clone(), self.entries.len());
                self.entries.push((key, vec![what]));
            }
        }
    }

    fn build(self) -> Result<Option<Literals>, DictionaryError> {
        let mut entries = self.entries;
        let Some(shortest) = entries.iter().map(|(bytes, _)| bytes.len()).min() else {
            return Ok(None);
        };
        let head_len = shortest.clamp(1, HEAD_BYTES);
        // Sorted, the literals of one head are next to each other.
        entries.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        let mut patterns: Vec<Vec<u8>> = Vec::new();
        let mut heads: Vec<Range<usize>> = Vec::new();
        let mut literals = Vec::with_capacity(entries.len());
        for (bytes, uses) in entries {
            let head = bytes.get(..head_len).unwrap_or(&bytes);
            if patterns.last().map(Vec::as_slice) != Some(head) {
                patterns.push(head.to_vec());
                heads.push(literals.len()..literals.len());
            }
            literals.push(Literal { bytes, uses });
            if let Some(last) = heads.last_mut() {
                last.end = literals.len();
            }
        }
        // Lower case, matched case-sensitively over lower-cased text (`find_literals`).
        let automaton = AhoCorasick::builder()
            .match_kind(MatchKind::LeftmostFirst)
            .build(&patterns)
            .map_err(DictionaryError::Automaton)?;
        Ok(Some(Literals {
            automaton,
            heads,
            literals,
            head_len,
        }))
    }
}

impl Dictionary {
    /// Compiles `rules`, each regular expression limited to `regex_size_limit` bytes.
    pub fn compile(rules: &[CustomRule], regex_size_limit: usize) -> Result<Self, DictionaryError> {
        let mut literals = LiteralTable::default();
        let mut prefixed = Vec::new();
        let mut searched: Vec<Expression> = Vec::new();
        let mut sources = Vec::with_capacity(rules.len());
        for (index, rule) in rules.iter().enumerate() {
            let reject = |reason| DictionaryError::Rule {
                index,
                name: rule.name.clone(),
                pattern: rule.pattern.clone(),
                reason,
            };
            // The literals that begin every match, when the rule knows them better than the
            // regex's own prefix extraction does.
            let mut starts: Option<Vec<Vec<u8>>> = None;
            let regex_source = match rule.kind {
                RuleKind::Keyword => {
                    let word = normalize_str(rule.pattern.trim());
                    if word.is_empty() {
                        return Err(reject(RuleError::Empty));
                    }
                    let spaced = rule.spaced.unwrap_or_else(|| is_japanese(&word));
                    if spaced && word.chars().count() > 1 && !has_non_ascii_case(&word) {
                        // A prefixed expression like any other: every match starts with the
                        // whole keyword or with a proper prefix of it and white space, so
                        // those are its literals, and its matches are `find_iter`'s.
                        starts = Some(
                            std::iter::once(word.clone())
                                .chain(spaced_starts(&word))
                                .map(String::into_bytes)
                                .collect(),
                        );
                        spaced_regex(&word)
                    } else if has_non_ascii_case(&word) {
                        format!("(?i){}", regex::escape(&word))
                    } else {
                        sources.push(format!("(?i){}", regex::escape(&word)));
                        literals.add(word.as_bytes(), LiteralUse::Keyword { rule: index });
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
            let compiled = pattern::compile(&regex_source, regex_size_limit).map_err(reject)?;
            let expression = Expression {
                rule: index,
                regex: compiled.regex,
            };
            match starts.or(compiled.prefixes) {
                Some(prefixes) => {
                    for prefix in &prefixes {
                        literals.add(
                            prefix,
                            LiteralUse::Prefix {
                                expression: prefixed.len(),
                            },
                        );
                    }
                    prefixed.push(expression);
                }
                None => searched.push(expression),
            }
            sources.push(compiled.source);
        }
        let set = if searched.len() > 1 {
            RegexSetBuilder::new(searched.iter().filter_map(|e| sources.get(e.rule)))
                .size_limit(regex_size_limit.saturating_mul(searched.len()))
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
            literals: literals.build()?,
            prefixed,
            searched,
            set,
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
    /// Each expression gives the matches the regex crate's `find_iter` gives.
    pub fn find(&self, text: &str, per_rule: usize) -> Vec<RuleMatch> {
        let limits = Limits {
            chunk_bytes: CHUNK_BYTES,
            flush_candidates: FLUSH_CANDIDATES,
            misses_allowed: MISSES_ALLOWED + text.len() / MISS_PER_BYTES,
        };
        self.find_within(text, per_rule, limits)
    }

    /// [`Self::find`] with its working limits given (tests give small ones).
    fn find_within(&self, text: &str, per_rule: usize, limits: Limits) -> Vec<RuleMatch> {
        let mut found = Found {
            counts: vec![0; self.rules.len()],
            per_rule,
            matches: Vec::new(),
        };
        if let Some(literals) = &self.literals {
            self.find_literals(literals, text, limits, &mut found);
        }
        let matched: Vec<usize> = match &self.set {
            // Most texts match none: finding that out needs no overlapping search (which
            // is several times slower), only the earliest match.
            Some(set) if !set.is_match(text) => Vec::new(),
            Some(set) => set.matches(text).into_iter().collect(),
            None => (0..self.searched.len()).collect(),
        };
        for which in matched {
            if let Some(expression) = self.searched.get(which) {
                found.search(expression, text, 0);
            }
        }
        found.matches
    }

    /// One pass of the literal automaton: keeps the keywords' matches and verifies the
    /// prefixed expressions where their prefixes are, in order of position.
    ///
    /// The automaton holds the literals in lower case and matches case-sensitively, over a
    /// lower-cased copy of the text made a chunk ([`CHUNK_BYTES`]) at a time: the same hits
    /// as matching ignoring ASCII case, but an automaton that ignores case gets no fast
    /// prefilter.
    fn find_literals(&self, literals: &Literals, text: &str, limits: Limits, found: &mut Found) {
        let mut verifier = Verifier::new(&self.prefixed, text, limits.misses_allowed);
        let mut pending: Vec<(usize, usize)> = Vec::new(); // (start, expression)
        let mut flush_at = limits.flush_candidates;
        let bytes = text.as_bytes();
        // A head starting in a chunk may end this far after it.
        let overlap = literals.head_len.saturating_sub(1);
        let chunk_bytes = limits.chunk_bytes.max(1);
        let mut lower = Vec::with_capacity(chunk_bytes.min(bytes.len()) + overlap);
        let mut chunk_start = 0;
        while chunk_start < bytes.len() {
            let chunk_end = chunk_start.saturating_add(chunk_bytes).min(bytes.len());
            // Heads starting in [chunk_start, chunk_end), searched in a lower-cased copy.
            lower.clear();
            lower.extend_from_slice(
                bytes
                    .get(chunk_start..chunk_end.saturating_add(overlap).min(bytes.len()))
                    .unwrap_or_default(),
            );
            lower.make_ascii_lowercase();
            let mut at = 0;
            while at < chunk_end - chunk_start {
                let input = aho_corasick::Input::new(&lower).range(at..);
                let Ok(Some(hit)) = literals.automaton.try_find(input) else {
                    break;
                };
                if hit.start() >= chunk_end - chunk_start {
                    break; // the next chunk's
                }
                at = hit.start() + 1;
                let start = chunk_start + hit.start();
                let group = literals
                    .heads
                    .get(hit.pattern().as_usize())
                    .and_then(|range| literals.literals.get(range.clone()))
                    .unwrap_or_default();
                let rest = bytes.get(start..).unwrap_or_default();
                for literal in group {
                    let Some(here) = rest.get(..literal.bytes.len()) else {
                        continue;
                    };
                    if !here.eq_ignore_ascii_case(&literal.bytes) {
                        continue;
                    }
                    for &what in &literal.uses {
                        match what {
                            LiteralUse::Keyword { rule } => {
                                found.keep(rule, start..start + here.len());
                            }
                            LiteralUse::Prefix { expression } if verifier.wants(expression) => {
                                pending.push((start, expression));
                            }
                            LiteralUse::Prefix { .. } => {}
                        }
                    }
                }
                if pending.len() >= flush_at {
                    // Heads are found in order of position: every later one starts after
                    // this one, so the candidates before it are all known.
                    verifier.run(&mut pending, start, found);
                    flush_at = limits.flush_candidates.max(pending.len().saturating_mul(2));
                }
            }
            chunk_start = chunk_end;
        }
        verifier.run(&mut pending, usize::MAX, found);
    }
}

/// How much of the text is lower-cased at a time for the literal automaton.
const CHUNK_BYTES: usize = 64 << 10;

/// The working limits of one [`Dictionary::find`].
#[derive(Clone, Copy, Debug)]
struct Limits {
    /// Bytes lower-cased at a time for the literal automaton.
    chunk_bytes: usize,
    /// Candidates gathered before those that are settled are verified.
    flush_candidates: usize,
    /// Places a prefixed expression may fail to match at before it is searched instead.
    misses_allowed: usize,
}

/// How many candidates are gathered before those that are settled are verified.
const FLUSH_CANDIDATES: usize = 4096;
/// How many places a prefixed expression may fail to match at before it is searched over the
/// rest of the text instead (plus one per this many bytes of text): a prefix that turns up
/// everywhere must not cost an anchored search at each place.
const MISSES_ALLOWED: usize = 256;
const MISS_PER_BYTES: usize = 1024;

/// The matches found so far, at most `per_rule` per rule.
struct Found {
    counts: Vec<usize>,
    per_rule: usize,
    matches: Vec<RuleMatch>,
}

impl Found {
    /// Keeps a match of `rule`; false if the rule already has as many as it may.
    fn keep(&mut self, rule: usize, span: Range<usize>) -> bool {
        match self.counts.get_mut(rule) {
            Some(count) if *count < self.per_rule => {
                *count += 1;
                self.matches.push(RuleMatch { rule, span });
                true
            }
            _ => false,
        }
    }

    /// Keeps the matches of `expression` from `start` on, as `find_iter` gives them.
    fn search(&mut self, expression: &Expression, text: &str, start: usize) {
        let input = Input::new(text).range(start..);
        for m in expression.regex.find_iter(input) {
            if !m.is_empty() && !self.keep(expression.rule, m.range()) {
                break;
            }
        }
    }
}

/// Where each prefixed expression stands in its walk through the text.
#[derive(Clone, Copy, Default)]
struct Progress {
    /// The end of its last match: no match starts before it (as with `find_iter`).
    resume: usize,
    /// Places where it did not match.
    misses: usize,
    /// Nothing more to do: its rule has all its matches, or it was searched to the end.
    done: bool,
}

/// Verifies the candidates of the prefixed expressions with anchored searches.
struct Verifier<'a> {
    expressions: &'a [Expression],
    text: &'a str,
    progress: Vec<Progress>,
    misses_allowed: usize,
}

impl<'a> Verifier<'a> {
    fn new(expressions: &'a [Expression], text: &'a str, misses_allowed: usize) -> Self {
        Self {
            expressions,
            text,
            progress: vec![Progress::default(); expressions.len()],
            misses_allowed,
        }
    }

    /// Is `expression` still looking for matches?
    fn wants(&self, expression: usize) -> bool {
        self.progress.get(expression).is_some_and(|p| !p.done)
    }

    /// Verifies, in order, the candidates in `pending` that start before `settled`, and
    /// removes them.
    fn run(&mut self, pending: &mut Vec<(usize, usize)>, settled: usize, found: &mut Found) {
        pending.sort_unstable();
        let ready = pending.partition_point(|&(start, _)| start < settled);
        for (start, expression) in pending.drain(..ready) {
            self.verify(expression, start, found);
        }
    }

    fn verify(&mut self, expression: usize, start: usize, found: &mut Found) {
        let (Some(progress), Some(compiled)) = (
            self.progress.get_mut(expression),
            self.expressions.get(expression),
        ) else {
            return;
        };
        if progress.done || start < progress.resume {
            return;
        }
        let input = Input::new(self.text).range(start..).anchored(Anchored::Yes);
        match compiled.regex.search(&input) {
            Some(m) if !m.is_empty() => {
                progress.resume = m.end();
                progress.done = !found.keep(compiled.rule, m.range());
            }
            _ => {
                progress.misses += 1;
                if progress.misses > self.misses_allowed {
                    // No match starts between `resume` and `start` (every place one could
                    // start was a candidate, and failed), so searching on from `start` gives
                    // what `find_iter` would.
                    progress.done = true;
                    found.search(compiled, self.text, start);
                }
            }
        }
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
            spaced: None,
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
    fn japanese_keywords_match_across_spaces_and_line_breaks() {
        let rules = [rule(RuleKind::Keyword, "社外秘")];
        for written in [
            "社外秘",
            "社　外　秘",
            "社外　秘",
            "社\n外秘",
            "社\r\n  外\t秘",
            "ｼｬｶﾞｲﾋ 社 外 秘",
        ] {
            let text = normalize_str(&format!("これは{written}です"));
            let dictionary = Dictionary::compile(&rules, DEFAULT_REGEX_SIZE_LIMIT).unwrap();
            let found = dictionary.find(&text, 100);
            assert_eq!(found.len(), 1, "{written:?}: {found:?}");
        }
        // Not across other characters, nor across more white space than a line break and
        // its indentation.
        let dictionary = Dictionary::compile(&rules, DEFAULT_REGEX_SIZE_LIMIT).unwrap();
        for not in ["社の外秘", "社外の秘", "社          外秘"] {
            assert!(
                dictionary.find(&normalize_str(not), 100).is_empty(),
                "{not:?}"
            );
        }
        // Exact and spaced occurrences, one match each.
        let text = normalize_str("社外秘と社 外 秘と社外秘");
        assert_eq!(dictionary.find(&text, 100).len(), 3);
        // Half-width katakana and other width variants match through normalisation.
        let rules = [rule(RuleKind::Keyword, "ﾏｲﾅﾝﾊﾞｰ")];
        assert_eq!(
            matched(&rules, "マイナ ンバー"),
            vec![(0, "マイナ ンバー".into())]
        );
    }

    #[test]
    fn spacing_is_an_option_per_rule() {
        let mut exact = rule(RuleKind::Keyword, "社外秘");
        exact.spaced = Some(false);
        assert!(matched(&[exact], "社 外 秘").is_empty());
        let mut latin = rule(RuleKind::Keyword, "secret");
        assert!(matched(std::slice::from_ref(&latin), "s e c r e t").is_empty());
        latin.spaced = Some(true);
        assert_eq!(
            matched(&[latin], "S e c r e t"),
            vec![(0, "S e c r e t".into())]
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
            let regex = regex::Regex::new(pattern).unwrap();
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

    /// What `find` must give for `rules`: each ASCII-caseless keyword's occurrences
    /// (overlapping), each other rule's (spaced keywords' too) `find_iter` matches of its
    /// pattern; the first `per_rule` of each.
    fn reference(rules: &[CustomRule], text: &str, per_rule: usize) -> Vec<(usize, Range<usize>)> {
        let dictionary = Dictionary::compile(rules, DEFAULT_REGEX_SIZE_LIMIT).unwrap();
        let mut all = Vec::new();
        for (index, rule) in rules.iter().enumerate() {
            let word = normalize_str(rule.pattern.trim());
            let spaced =
                rule.spaced.unwrap_or_else(|| is_japanese(&word)) && word.chars().count() > 1;
            let spans: Vec<Range<usize>> =
                if rule.kind == RuleKind::Keyword && !has_non_ascii_case(&word) && !spaced {
                    (0..text.len())
                        .filter(|&i| {
                            text.as_bytes()
                                .get(i..i + word.len())
                                .is_some_and(|b| b.eq_ignore_ascii_case(word.as_bytes()))
                        })
                        .map(|i| i..i + word.len())
                        .collect()
                } else {
                    let pattern = &dictionary.rule_patterns()[index];
                    regex::Regex::new(pattern)
                        .unwrap()
                        .find_iter(text)
                        .map(|m| m.range())
                        .collect()
                };
            all.extend(spans.into_iter().take(per_rule).map(|span| (index, span)));
        }
        all.sort_by_key(|(rule, span)| (*rule, span.start, span.end));
        all
    }

    const POOL: &[(RuleKind, &str)] = &[
        (RuleKind::Keyword, "ab"),
        (RuleKind::Keyword, "AB"),
        (RuleKind::Keyword, "社外"),
        (RuleKind::Keyword, "a-1"),
        (RuleKind::Keyword, "b"),
        // Heads (first four bytes) shared: "ab-1", "社外" and its first byte.
        (RuleKind::Keyword, "ab-12"),
        (RuleKind::Keyword, "AB-1"),
        (RuleKind::Keyword, "社外秘"),
        (RuleKind::Wildcard, "ab*1"),
        (RuleKind::Wildcard, "a?b"),
        (RuleKind::Wildcard, "社*秘"),
        (RuleKind::Regex, r"ab-\d+"),
        (RuleKind::Regex, r"(?i)ab[a-]b"),
        (RuleKind::Regex, r"\bab1\b"),
        (RuleKind::Regex, r"[ab]{2}1"),
        (RuleKind::Regex, r"a[^\n]*?1"),
        (RuleKind::Regex, r"aba|ab-1|abab"),
        (RuleKind::Regex, r"\d{2}"),
        (RuleKind::Regex, r"(?i)社外秘|secret\d"),
        (RuleKind::Regex, r"b+a"),
    ];
    const TOKENS: &[&str] = &[
        "a", "b", "A", "B", "-", "1", "2", " ", "\n", "社", "外", "秘", "secret", "ab1", "aba",
    ];

    proptest::proptest! {
        #[test]
        fn find_gives_each_rules_own_matches(
            picks in proptest::collection::vec(0..POOL.len(), 1..8),
            tokens in proptest::collection::vec(0..TOKENS.len(), 0..80),
            per_rule in 1usize..6,
            chunk_bytes in proptest::sample::select(vec![1usize, 2, 3, 5, 8, 13, 64, 1 << 16]),
            flush_candidates in 1usize..8,
            misses_allowed in proptest::sample::select(vec![0usize, 1, 3, usize::MAX]),
        ) {
            let rules: Vec<CustomRule> = picks.iter().map(|&i| rule(POOL[i].0, POOL[i].1)).collect();
            let text: String = tokens.iter().map(|&i| TOKENS[i]).collect();
            let dictionary = Dictionary::compile(&rules, DEFAULT_REGEX_SIZE_LIMIT).unwrap();
            let limits = Limits { chunk_bytes, flush_candidates, misses_allowed };
            let mut found: Vec<(usize, Range<usize>)> = dictionary
                .find_within(&text, per_rule, limits)
                .into_iter()
                .map(|m| (m.rule, m.span))
                .collect();
            found.sort_by_key(|(rule, span)| (*rule, span.start, span.end));
            proptest::prop_assert_eq!(found, reference(&rules, &text, per_rule));
        }
    }

    #[test]
    fn the_pool_has_prefixed_and_searched_expressions() {
        let rules: Vec<CustomRule> = POOL.iter().map(|&(kind, p)| rule(kind, p)).collect();
        let dictionary = Dictionary::compile(&rules, DEFAULT_REGEX_SIZE_LIMIT).unwrap();
        assert!(
            dictionary.prefixed.len() >= 6,
            "{}",
            dictionary.prefixed.len()
        );
        assert!(
            dictionary.searched.len() >= 2,
            "{}",
            dictionary.searched.len()
        );
    }

    #[test]
    fn a_prefix_found_everywhere_falls_back_to_a_search() {
        // "ab-" is at every third byte and the expression matches only at the end: with no
        // misses allowed, the expression is searched from the first place it failed.
        let rules = [rule(RuleKind::Regex, r"ab-\d+")];
        let dictionary = Dictionary::compile(&rules, DEFAULT_REGEX_SIZE_LIMIT).unwrap();
        let text = format!("{}ab-12", "ab-".repeat(1000));
        for misses_allowed in [0, 10, usize::MAX] {
            let limits = Limits {
                chunk_bytes: 100,
                flush_candidates: 16,
                misses_allowed,
            };
            let found = dictionary.find_within(&text, 10, limits);
            assert_eq!(found.len(), 1);
            assert_eq!(&text[found[0].span.clone()], "ab-12");
        }
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
