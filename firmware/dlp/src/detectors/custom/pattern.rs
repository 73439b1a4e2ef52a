//! Turning one rule's pattern into a compiled regular expression.
//!
//! Word boundaries (`\b`, `\B`, `\<`, `\>`, `\b{start}`…) are made ASCII-only. Two reasons:
//!
//! - Japanese has no spaces between words and its letters count as word characters in
//!   Unicode, so a Unicode boundary never falls between 「担当」 and `EMP`: `\bEMP-\d+`
//!   would miss 「担当EMP-123」. An ASCII boundary falls there, as an administrator expects.
//! - The regex crate's fast engine (a lazy DFA) gives up on Unicode word boundaries as soon
//!   as it meets a non-ASCII byte, which is every Japanese text; the fallback is 20–50 times
//!   slower for one rule, and a set of 30 such rules ran at under 2 MB/s. ASCII boundaries
//!   keep every rule on the fast engine.

use regex_automata::MatchKind;
use regex_automata::meta;
use regex_syntax::hir::literal::{ExtractKind, Extractor};
use regex_syntax::hir::{Hir, HirKind, Look};

use super::RuleError;

/// The regular expression for a wildcard pattern: `*` any run within a line, `?` one
/// character, the rest literal, ignoring case.
pub(super) fn wildcard_to_regex(pattern: &str) -> String {
    let mut out = String::from("(?i)");
    for c in pattern.chars() {
        match c {
            '*' => out.push_str("[^\\n]*?"),
            '?' => out.push_str("[^\\n]"),
            c => out.push_str(&regex::escape(c.encode_utf8(&mut [0; 4]))),
        }
    }
    out
}

/// The same expression with every Unicode word-boundary assertion made ASCII-only.
fn ascii_word_boundaries(hir: Hir) -> Hir {
    match hir.into_kind() {
        HirKind::Look(look) => Hir::look(match look {
            Look::WordUnicode => Look::WordAscii,
            Look::WordUnicodeNegate => Look::WordAsciiNegate,
            Look::WordStartUnicode => Look::WordStartAscii,
            Look::WordEndUnicode => Look::WordEndAscii,
            Look::WordStartHalfUnicode => Look::WordStartHalfAscii,
            Look::WordEndHalfUnicode => Look::WordEndHalfAscii,
            other => other,
        }),
        HirKind::Repetition(mut repetition) => {
            repetition.sub = Box::new(ascii_word_boundaries(*repetition.sub));
            Hir::repetition(repetition)
        }
        HirKind::Capture(mut capture) => {
            capture.sub = Box::new(ascii_word_boundaries(*capture.sub));
            Hir::capture(capture)
        }
        HirKind::Concat(subs) => Hir::concat(subs.into_iter().map(ascii_word_boundaries).collect()),
        HirKind::Alternation(subs) => {
            Hir::alternation(subs.into_iter().map(ascii_word_boundaries).collect())
        }
        HirKind::Empty => Hir::empty(),
        HirKind::Literal(literal) => Hir::literal(literal.0),
        HirKind::Class(class) => Hir::class(class),
    }
}

/// The fewest bytes a prefix literal must have to be searched for: shorter ones (one ASCII
/// letter, say) would turn up everywhere and make every position a candidate.
const MIN_PREFIX_BYTES: usize = 3;
/// The most prefix literals one rule may have (case variants count): past this, the rule is
/// searched on its own instead.
const MAX_PREFIXES: usize = 32;
/// The lazy DFA's cache, as the regex crate gives it by default.
const DFA_CACHE_BYTES: usize = 2 << 20;

/// One rule's regular expression, compiled.
pub(super) struct CompiledPattern {
    /// The expression as compiled (word boundaries made ASCII-only), in regex crate syntax.
    pub source: String,
    /// The expression, leftmost-first, as the regex crate compiles it.
    pub regex: meta::Regex,
    /// Literals, ASCII lower case and distinct, one of which (ignoring ASCII case) begins
    /// every match; `None` when there is no such short list of literals that are long enough.
    pub prefixes: Option<Vec<Vec<u8>>>,
}

/// Compiles `pattern` (regex crate syntax) under `size_limit`, with ASCII word boundaries.
/// Rejects a pattern that does not parse, can match empty text, or compiles too big.
pub(super) fn compile(pattern: &str, size_limit: usize) -> Result<CompiledPattern, RuleError> {
    let hir = regex_syntax::ParserBuilder::new()
        .build()
        .parse(pattern)
        .map_err(|e| RuleError::InvalidRegex {
            detail: e.to_string(),
        })?;
    if hir.properties().minimum_len() == Some(0) {
        return Err(RuleError::MatchesEmpty);
    }
    let (hir, source) = if hir.properties().look_set().contains_word_unicode() {
        let hir = ascii_word_boundaries(hir);
        let source = hir.to_string();
        (hir, source)
    } else {
        (hir, pattern.to_owned())
    };
    let regex = meta::Builder::new()
        .configure(
            meta::Config::new()
                .match_kind(MatchKind::LeftmostFirst)
                .utf8_empty(true)
                .nfa_size_limit(Some(size_limit))
                .hybrid_cache_capacity(DFA_CACHE_BYTES),
        )
        .build_from_hir(&hir)
        .map_err(|e| match e.size_limit() {
            Some(limit) => RuleError::TooBig { limit },
            None => RuleError::InvalidRegex {
                detail: e.to_string(),
            },
        })?;
    Ok(CompiledPattern {
        source,
        regex,
        prefixes: literal_prefixes(&hir),
    })
}

/// The literals one of which begins every match of `hir`, ASCII lower case and distinct,
/// if there are at most [`MAX_PREFIXES`] and each has at least [`MIN_PREFIX_BYTES`].
fn literal_prefixes(hir: &Hir) -> Option<Vec<Vec<u8>>> {
    let seq = Extractor::new()
        .kind(ExtractKind::Prefix)
        .limit_total(MAX_PREFIXES)
        .extract(hir);
    let literals = seq.literals()?;
    let mut prefixes: Vec<Vec<u8>> = literals
        .iter()
        .map(|literal| literal.as_bytes().to_ascii_lowercase())
        .collect();
    prefixes.sort_unstable();
    prefixes.dedup();
    let usable = !prefixes.is_empty()
        && prefixes.len() <= MAX_PREFIXES
        && prefixes.iter().all(|p| p.len() >= MIN_PREFIX_BYTES);
    usable.then_some(prefixes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn word_boundaries_fall_between_japanese_and_ascii() {
        let regex = compile(r"\bEMP-\d+\b", 1 << 20).unwrap().regex;
        let text = "担当EMP-123です";
        assert_eq!(regex.find(text).map(|m| &text[m.range()]), Some("EMP-123"));
        assert!(regex.find("XEMP-123").is_none());
        let regex = compile(r"\<ID\d{4}\>|\b{start}X\b{end}", 1 << 20)
            .unwrap()
            .regex;
        assert!(regex.is_match("番号ID1234番"));
        assert!(regex.is_match("あX。"));
        let regex = compile(r"a\Bb", 1 << 20).unwrap().regex;
        assert!(regex.is_match("ab"));
    }

    #[test]
    fn patterns_without_word_boundaries_are_kept_as_written() {
        let compiled = compile(r"(?i)secret-(\d+)", 1 << 20).unwrap();
        assert_eq!(compiled.source, r"(?i)secret-(\d+)");
    }

    fn prefixes(pattern: &str) -> Option<Vec<String>> {
        let compiled = compile(pattern, 1 << 20).unwrap();
        compiled.prefixes.map(|all| {
            all.into_iter()
                .map(|p| String::from_utf8(p).unwrap())
                .collect()
        })
    }

    #[test]
    fn prefixes_are_the_literals_every_match_begins_with() {
        assert_eq!(prefixes(r"\bEMP-\d{6}\b"), Some(vec!["emp-".into()]));
        assert_eq!(
            prefixes(&wildcard_to_regex("PRJ-01-*-confidential")),
            Some(vec!["prj-01-".into()])
        );
        assert_eq!(
            prefixes("社外秘|SECRET"),
            Some(vec!["secret".into(), "社外秘".into()])
        );
        // Unicode case folding: `(?i)s` is also the long s 「ſ」.
        assert_eq!(prefixes("(?i)sec"), Some(vec!["sec".into(), "ſec".into()]));
        // Too short to search for, or too many, or none at all.
        assert_eq!(prefixes(r"A\d+"), None);
        assert_eq!(prefixes(r"\b[A-Z]{2}\d{6}\b"), None);
        assert_eq!(prefixes(r"\d{4}-\d{4}"), None);
        assert_eq!(prefixes("(?i)ä[a-z]{3}"), None);
    }

    #[test]
    fn wildcards_escape_everything_but_star_and_question_mark() {
        assert_eq!(wildcard_to_regex("a.b*"), "(?i)a\\.b[^\\n]*?");
        assert_eq!(wildcard_to_regex("(?)"), "(?i)\\([^\\n]\\)");
    }

    #[test]
    fn rejections() {
        assert!(matches!(
            compile("(", 1 << 20),
            Err(RuleError::InvalidRegex { .. })
        ));
        assert!(matches!(
            compile(r"\b", 1 << 20),
            Err(RuleError::MatchesEmpty)
        ));
        assert!(matches!(
            compile("x?", 1 << 20),
            Err(RuleError::MatchesEmpty)
        ));
        assert!(matches!(
            compile(r"\w{500}", 10_000),
            Err(RuleError::TooBig { .. })
        ));
    }
}
