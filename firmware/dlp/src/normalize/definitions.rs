// The definitions behind the normaliser's tables, shared by `normalize.rs` and the crate's
// build script (both `include!` this file), which computes the tables of the Basic
// Multilingual Plane from them at compile time: every process that reads settings builds a
// DLP engine, and computing 2 × 65,536 NFKC checks at each start cost a small board's
// daemons a large part of their start-up.

/// Is `c` a dash, hyphen or minus sign that always means `-`?
fn is_dash(c: char) -> bool {
    matches!(
        c,
        '\u{2010}'
            ..='\u{2015}' // ‐ ‑ ‒ – — ―
            | '\u{2043}' // ⁃ hyphen bullet
            | '\u{2212}' // − minus sign
            | '\u{02D7}' // ˗ modifier letter minus
            | '\u{2E3A}' // ⸺ two-em dash
            | '\u{2E3B}' // ⸻ three-em dash
            | '\u{FE58}' // ﹘ small em dash
            | '\u{FE63}' // ﹣ small hyphen-minus
            | '\u{FF0D}' // － full-width hyphen-minus
    )
}

/// Is `c` an invisible formatting character that a reader never sees (zero-width spaces
/// and joiners, the soft hyphen, the byte order mark, direction marks, variation
/// selectors)? They are dropped, so that `1\u{200B}2` is read as `12`.
fn is_ignorable(c: char) -> bool {
    matches!(
        c,
        '\u{00AD}' // soft hyphen
            | '\u{034F}' // combining grapheme joiner
            | '\u{061C}' // Arabic letter mark
            | '\u{180E}' // Mongolian vowel separator
            | '\u{200B}'..='\u{200F}' // zero-width space, joiners, direction marks
            | '\u{202A}'..='\u{202E}' // direction embeddings and overrides
            | '\u{2060}'..='\u{2064}' // word joiner, invisible operators
            | '\u{2066}'..='\u{206F}' // direction isolates, deprecated format characters
            | '\u{FE00}'..='\u{FE0F}' // variation selectors
            | '\u{FEFF}' // zero-width no-break space (byte order mark)
            | '\u{E0100}'..='\u{E01EF}' // variation selectors supplement
    )
}

/// Is `c` a character that reads as a hyphen only between digits?
fn is_dash_between_digits(c: char) -> bool {
    matches!(
        c,
        '\u{30FC}' // ー katakana prolonged sound mark
            | '\u{FF70}' // ｰ half-width form of it
            | '\u{2500}' // ─ box drawings light horizontal
            | '\u{2501}' // ━ box drawings heavy horizontal
    )
}

/// What [`is_stable`] means: NFKC leaves `c` alone in any context (quick check "yes": no
/// decomposition, never the second half of a composition) and it is a starter (combining
/// class 0, so canonical reordering never moves anything across it), and folding leaves it
/// alone too (not a dash, not `\r`, not a dash-between-digits character).
#[cfg_attr(not(test), allow(dead_code))] // the build script's, and the tests'
fn stable_by_definition(c: char) -> bool {
    c != '\r'
        && !is_ignorable(c)
        && !is_dash(c)
        && !is_dash_between_digits(c)
        && unicode_normalization::char::canonical_combining_class(c) == 0
        && unicode_normalization::is_nfkc_quick(std::iter::once(c))
            == unicode_normalization::IsNormalized::Yes
}

/// What [`SIMPLE`] holds for `x`: the one character that NFKC and folding make of `x` when
/// it is not stable itself, that character is stable, and NFKC gives a starter that never
/// composes with what precedes it (so nothing before `x` changes either).
#[cfg_attr(not(test), allow(dead_code))] // the build script's, and the tests'
fn simple_by_definition(x: char) -> Option<char> {
    if stable_by_definition(x) || x == '\r' {
        return None;
    }
    let mut nfkc = std::iter::once(x).nfkc();
    let (first, None) = (nfkc.next()?, nfkc.next()) else {
        return None;
    };
    let starter = unicode_normalization::char::canonical_combining_class(first) == 0
        && unicode_normalization::is_nfkc_quick(std::iter::once(first))
            == unicode_normalization::IsNormalized::Yes;
    let folded = if is_dash(first) { '-' } else { first };
    (starter && stable_by_definition(folded)).then_some(folded)
}
