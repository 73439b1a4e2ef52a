//! Splitting a multipart body at its boundary, in one pass over the line starts.
//!
//! A delimiter is a line `--boundary` followed only by blanks (trailing whitespace is
//! allowed); a close delimiter is `--boundary--` followed by anything. The line break
//! before a delimiter belongs to it. Lenient where clients are: a missing close delimiter
//! makes the last part run to the end, bare LF line ends work, and parts after a close
//! delimiter are still split out (and flagged, since clients disagree on them).

use super::lines_with_offsets;

/// What a piece of a multipart body is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Chunk {
    /// Before the first delimiter.
    Preamble,
    /// A body part.
    Part,
    /// After a close delimiter.
    Epilogue,
}

/// A multipart body, split.
#[derive(Debug, Default)]
pub(super) struct Split<'a> {
    /// The pieces in order (empty preambles and epilogues left out).
    pub(super) chunks: Vec<(Chunk, &'a [u8])>,
    /// Was there at least one opening delimiter?
    pub(super) delimited: bool,
    /// Did a part follow a close delimiter?
    pub(super) reopened: bool,
    /// Were parts left unsplit because there were more than `max_parts`?
    pub(super) truncated: bool,
}

/// Is `line` (without its line break) a delimiter for `boundary`: `Some(false)` an opening
/// one, `Some(true)` a close one?
pub(super) fn delimiter(line: &[u8], boundary: &[u8]) -> Option<bool> {
    let rest = line.strip_prefix(b"--")?.strip_prefix(boundary)?;
    if rest.starts_with(b"--") {
        return Some(true);
    }
    rest.iter().all(u8::is_ascii_whitespace).then_some(false)
}

/// The lines of `body` that start with `--boundary`, with their offsets (line ends
/// removed, as [`lines_with_offsets`] gives them): found by searching for `--boundary`
/// rather than looking at every line of a large base64 part.
fn candidate_lines<'a>(
    body: &'a [u8],
    boundary: &[u8],
) -> Box<dyn Iterator<Item = (usize, &'a [u8])> + 'a> {
    if boundary.contains(&b'\n') {
        // Cannot be a whole line's start; looked at line by line as before.
        return Box::new(lines_with_offsets(body));
    }
    let needle = [b"--", boundary].concat();
    let finder = memchr::memmem::Finder::new(&needle).into_owned();
    let mut from = 0;
    Box::new(std::iter::from_fn(move || {
        loop {
            let pos = from + finder.find(body.get(from..)?)?;
            from = pos + 1;
            if pos == 0 || body.get(pos - 1) == Some(&b'\n') {
                let rest = body.get(pos..).unwrap_or_default();
                let line = match memchr::memchr(b'\n', rest) {
                    Some(n) => rest.get(..n).unwrap_or_default(),
                    None => rest,
                };
                return Some((pos, line.strip_suffix(b"\r").unwrap_or(line)));
            }
        }
    }))
}

/// Splits `body` at `boundary`, keeping at most `max_parts` parts (the rest is dropped and
/// `truncated` set).
pub(super) fn split<'a>(body: &'a [u8], boundary: &[u8], max_parts: usize) -> Split<'a> {
    let mut out = Split::default();
    let mut kind = Chunk::Preamble;
    let mut start = 0;
    let mut parts = 0usize;
    let mut closed = false;
    for (pos, line) in candidate_lines(body, boundary) {
        let Some(close) = delimiter(line, boundary) else {
            continue;
        };
        // The line break before the delimiter is part of it.
        let mut end = pos;
        if end > start && body.get(end - 1) == Some(&b'\n') {
            end -= 1;
            if end > start && body.get(end - 1) == Some(&b'\r') {
                end -= 1;
            }
        }
        let content = body.get(start..end).unwrap_or_default();
        if kind == Chunk::Part || !content.is_empty() {
            out.chunks.push((kind, content));
        }
        start = (pos + line.len()).min(body.len());
        // Skip the delimiter line's own break.
        if body.get(start) == Some(&b'\r') {
            start += 1;
        }
        if body.get(start) == Some(&b'\n') {
            start += 1;
        }
        if close {
            kind = Chunk::Epilogue;
            closed = true;
        } else {
            if parts >= max_parts {
                out.truncated = true;
                return out;
            }
            out.delimited = true;
            out.reopened |= closed;
            parts += 1;
            kind = Chunk::Part;
        }
    }
    let content = body.get(start..).unwrap_or_default();
    if kind == Chunk::Part || !content.is_empty() {
        out.chunks.push((kind, content));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The delimiter lines as the split found them before: every line looked at.
    fn delimiters_line_by_line(body: &[u8], boundary: &[u8]) -> Vec<(usize, Vec<u8>)> {
        lines_with_offsets(body)
            .filter(|(_, line)| delimiter(line, boundary).is_some())
            .map(|(pos, line)| (pos, line.to_vec()))
            .collect()
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]
        /// Searching for `--boundary` finds the delimiter lines looking at every line
        /// finds, whatever the body and the boundary (dashes, blanks, line ends in it).
        #[test]
        fn searching_finds_the_delimiters_every_line_would(
            body in proptest::collection::vec(
                proptest::sample::select(b"-b- \r\n\tx".to_vec()), 0..200),
            boundary in proptest::collection::vec(
                proptest::sample::select(b"-b \n".to_vec()), 1..4),
        ) {
            let found: Vec<(usize, Vec<u8>)> = candidate_lines(&body, &boundary)
                .filter(|(_, line)| delimiter(line, &boundary).is_some())
                .map(|(pos, line)| (pos, line.to_vec()))
                .collect();
            prop_assert_eq!(found, delimiters_line_by_line(&body, &boundary));
        }
    }

    fn parts<'a>(split: &Split<'a>) -> Vec<(Chunk, &'a str)> {
        split
            .chunks
            .iter()
            .map(|(k, b)| (*k, std::str::from_utf8(b).unwrap()))
            .collect()
    }

    #[test]
    fn splits_with_preamble_epilogue_and_either_line_end() {
        for eol in ["\r\n", "\n"] {
            let body =
                "pre\r\n--b\r\nA\r\n\r\n--b  \t\r\nB\r\n--b--\r\nepi\r\n".replace("\r\n", eol);
            let split = super::split(body.as_bytes(), b"b", 10);
            assert!(split.delimited && !split.reopened);
            let a = format!("A{eol}");
            let epi = format!("epi{eol}");
            assert_eq!(
                parts(&split),
                [
                    (Chunk::Preamble, "pre"),
                    (Chunk::Part, a.as_str()),
                    (Chunk::Part, "B"),
                    (Chunk::Epilogue, epi.as_str())
                ]
            );
        }
    }

    #[test]
    fn missing_close_runs_to_the_end_and_lookalikes_are_not_delimiters() {
        let body = b"--b\nA\n--bb\n-- b\n--b-x\nlast";
        let split = super::split(body, b"b", 10);
        assert_eq!(parts(&split), [(Chunk::Part, "A\n--bb\n-- b\n--b-x\nlast")]);
        let split = super::split(b"no delimiter\n--c\n", b"b", 10);
        assert!(!split.delimited);
        assert_eq!(parts(&split), [(Chunk::Preamble, "no delimiter\n--c\n")]);
    }

    #[test]
    fn parts_after_close_empty_parts_and_limits() {
        let body = b"--b\n--b\nA\n--b--\nx\n--b\nB";
        let split = super::split(body, b"b", 10);
        assert!(split.reopened);
        assert_eq!(
            parts(&split),
            [
                (Chunk::Part, ""),
                (Chunk::Part, "A"),
                (Chunk::Epilogue, "x"),
                (Chunk::Part, "B")
            ]
        );
        let split = super::split(b"--b\n1\n--b\n2\n--b\n3\n", b"b", 2);
        assert!(split.truncated);
        assert_eq!(parts(&split), [(Chunk::Part, "1"), (Chunk::Part, "2")]);
    }
}
