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

use regex::{Regex, RegexBuilder};
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

/// Compiles `pattern` (regex crate syntax) under `size_limit`, with ASCII word boundaries.
/// Rejects a pattern that does not parse, can match empty text, or compiles too big.
pub(super) fn compile(pattern: &str, size_limit: usize) -> Result<Regex, RuleError> {
    let hir = regex_syntax::ParserBuilder::new()
        .build()
        .parse(pattern)
        .map_err(|e| RuleError::InvalidRegex {
            detail: e.to_string(),
        })?;
    if hir.properties().minimum_len() == Some(0) {
        return Err(RuleError::MatchesEmpty);
    }
    let source = if hir.properties().look_set().contains_word_unicode() {
        ascii_word_boundaries(hir).to_string()
    } else {
        pattern.to_owned()
    };
    let regex = RegexBuilder::new(&source)
        .size_limit(size_limit)
        .build()
        .map_err(|e| match e {
            regex::Error::CompiledTooBig(limit) => RuleError::TooBig { limit },
            regex::Error::Syntax(detail) => RuleError::InvalidRegex { detail },
            other => RuleError::InvalidRegex {
                detail: other.to_string(),
            },
        })?;
    Ok(regex)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn word_boundaries_fall_between_japanese_and_ascii() {
        let regex = compile(r"\bEMP-\d+\b", 1 << 20).unwrap();
        assert_eq!(
            regex.find("担当EMP-123です").map(|m| m.as_str()),
            Some("EMP-123")
        );
        assert!(regex.find("XEMP-123").is_none());
        let regex = compile(r"\<ID\d{4}\>|\b{start}X\b{end}", 1 << 20).unwrap();
        assert!(regex.is_match("番号ID1234番"));
        assert!(regex.is_match("あX。"));
        let regex = compile(r"a\Bb", 1 << 20).unwrap();
        assert!(regex.is_match("ab"));
    }

    #[test]
    fn patterns_without_word_boundaries_are_kept_as_written() {
        let regex = compile(r"(?i)secret-(\d+)", 1 << 20).unwrap();
        assert_eq!(regex.as_str(), r"(?i)secret-(\d+)");
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
