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
fn delimiter(line: &[u8], boundary: &[u8]) -> Option<bool> {
    let rest = line.strip_prefix(b"--")?.strip_prefix(boundary)?;
    if rest.starts_with(b"--") {
        return Some(true);
    }
    rest.iter().all(u8::is_ascii_whitespace).then_some(false)
}

/// Splits `body` at `boundary`, keeping at most `max_parts` parts (the rest is dropped and
/// `truncated` set).
pub(super) fn split<'a>(body: &'a [u8], boundary: &[u8], max_parts: usize) -> Split<'a> {
    let mut out = Split::default();
    let mut kind = Chunk::Preamble;
    let mut start = 0;
    let mut parts = 0usize;
    let mut closed = false;
    for (pos, line) in lines_with_offsets(body) {
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
