//! The pieces of a message's top-level multipart, found while the message arrives.
//!
//! The relay feeds a message here as it receives it, and walks each piece once the
//! delimiter after it has arrived ([`crate::Inspector::inspect_arriving`]). The splitting
//! is the walk's ([`super::boundary`]'s delimiter rule, on the walk's reading of the
//! header) for the plain shape the walk can take piece by piece
//! ([`super::walk::stream::plain_multipart`]). Anything else is not split here at all. The
//! split need not be right to be safe: the walk of the whole message checks that the
//! pieces it was given are the ones it splits the message into, and walks the message
//! afresh when they are not.

use std::ops::Range;

use super::walk::stream::{Piece, plain_multipart};
use super::{boundary, header};

/// A header block longer than this is not waited for.
const MAX_HEAD: usize = 256 * 1024;

/// What arrived: the header block, or a piece of the body (octets of the message).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Arrived {
    /// The header block, its empty line included.
    Head(Range<u64>),
    /// A piece of the multipart body.
    Piece(Piece, Range<u64>),
}

/// Finds the top-level pieces of a message fed to it in pieces.
#[derive(Debug)]
pub struct PartSplitter {
    state: State,
    /// Octets fed so far.
    pos: u64,
    /// The most parts it gives.
    max_parts: usize,
}

#[derive(Debug)]
enum State {
    /// The header block, until its empty line.
    Head(Vec<u8>),
    /// Lines of the multipart body.
    Body(Lines),
    /// Nothing more to find.
    Done,
}

/// Where the body's line scan is.
#[derive(Debug)]
struct Lines {
    /// The boundary.
    boundary: Vec<u8>,
    /// Where the current line starts.
    line_start: u64,
    /// Its first octets (up to a close delimiter's length).
    head: Vec<u8>,
    /// Are its octets past `head` all blanks?
    tail_blank: bool,
    /// The last octet seen.
    last: u8,
    /// How long the previous line's break was (1 for LF, 2 for CRLF).
    last_break: u64,
    /// Where the body starts.
    body_start: u64,
    /// Where the part being received starts (after an opening delimiter).
    part_start: Option<u64>,
    /// Parts found.
    parts: usize,
}

impl PartSplitter {
    /// A splitter that gives at most `max_parts` parts (the walk's limit).
    pub fn new(max_parts: usize) -> Self {
        Self {
            state: State::Head(Vec::new()),
            pos: 0,
            max_parts,
        }
    }

    /// Has it given up, or reached the close delimiter?
    pub fn is_done(&self) -> bool {
        matches!(self.state, State::Done)
    }

    /// Takes the next `bytes` of the message; returns what was complete with them: the
    /// header block, then each piece once the delimiter after it arrived.
    pub fn feed(&mut self, bytes: &[u8]) -> Vec<Arrived> {
        let mut parts = Vec::new();
        let start = self.pos;
        self.pos += bytes.len() as u64;
        match &mut self.state {
            State::Done => {}
            State::Head(buf) => {
                let from = buf.len().saturating_sub(2);
                buf.extend_from_slice(bytes);
                if !has_blank_line(buf.get(from..).unwrap_or_default()) {
                    if buf.len() > MAX_HEAD {
                        self.state = State::Done;
                    }
                    return parts;
                }
                let head = std::mem::take(buf);
                self.state = match body_lines(&head) {
                    Some((mut lines, body_start)) => {
                        parts.push(Arrived::Head(0..body_start as u64));
                        let body = head.get(body_start..).unwrap_or_default();
                        let done = lines.feed(body, body_start as u64, self.max_parts, &mut parts);
                        if done {
                            State::Done
                        } else {
                            State::Body(lines)
                        }
                    }
                    None => State::Done,
                };
            }
            State::Body(lines) => {
                if lines.feed(bytes, start, self.max_parts, &mut parts) {
                    self.state = State::Done;
                }
            }
        }
        parts
    }
}

/// Does `bytes` hold an empty line (a line break right after a line break)?
fn has_blank_line(bytes: &[u8]) -> bool {
    memchr::memmem::find(bytes, b"\n\n").is_some()
        || memchr::memmem::find(bytes, b"\n\r\n").is_some()
}

/// The line scan of the body, when the header is of the shape the walk can take piece by
/// piece; and where the body starts.
fn body_lines(raw: &[u8]) -> Option<(Lines, usize)> {
    let head = header::parse(raw, true);
    if !head.terminated {
        return None;
    }
    let (boundary, _) = plain_multipart(&head)?;
    let lines = Lines {
        boundary,
        line_start: head.body_start as u64,
        body_start: head.body_start as u64,
        head: Vec::new(),
        tail_blank: true,
        last: b'\n',
        last_break: 0,
        part_start: None,
        parts: 0,
    };
    Some((lines, head.body_start))
}

impl Lines {
    /// Scans `bytes`, which start at `offset` of the message; pushes the parts ended in
    /// it; true once there is nothing more to find.
    fn feed(
        &mut self,
        bytes: &[u8],
        offset: u64,
        max_parts: usize,
        parts: &mut Vec<Arrived>,
    ) -> bool {
        let keep = self.boundary.len() + 4;
        let mut rest = bytes;
        let mut at = offset;
        while !rest.is_empty() {
            let (line, ended) = match memchr::memchr(b'\n', rest) {
                Some(n) => (rest.get(..n).unwrap_or_default(), true),
                None => (rest, false),
            };
            let room = keep.saturating_sub(self.head.len());
            let (into_head, past) = line.split_at(room.min(line.len()));
            self.head.extend_from_slice(into_head);
            self.tail_blank &= past.iter().all(u8::is_ascii_whitespace);
            if let Some(&b) = line.last() {
                self.last = b;
            }
            let consumed = line.len() + usize::from(ended);
            at += consumed as u64;
            rest = rest.get(consumed..).unwrap_or_default();
            if !ended {
                break;
            }
            let this_break = if self.last == b'\r' { 2 } else { 1 };
            if self.delimiter(at, parts) || self.parts > max_parts {
                return true;
            }
            // The next line.
            self.line_start = at;
            self.head.clear();
            self.tail_blank = true;
            self.last_break = this_break;
            self.last = b'\n';
        }
        false
    }

    /// Looks at the line just ended (its break ends before `next`): a delimiter ends the
    /// preamble or the part being received (pushed to `parts`) and opens the next, or
    /// closes the multipart (true: nothing more to find).
    fn delimiter(&mut self, next: u64, parts: &mut Vec<Arrived>) -> bool {
        // The walk's rule on the line's first octets; past them, an opening delimiter
        // has only blanks.
        let close = match boundary::delimiter(&self.head, &self.boundary) {
            Some(true) => true,
            Some(false) if self.tail_blank => false,
            _ => return false,
        };
        // The line break before the delimiter is part of it.
        let end = |start: u64| self.line_start.saturating_sub(self.last_break).max(start);
        match self.part_start.take() {
            Some(start) => parts.push(Arrived::Piece(Piece::Part, start..end(start))),
            None if self.parts == 0 && end(self.body_start) > self.body_start => {
                let start = self.body_start;
                parts.push(Arrived::Piece(Piece::Preamble, start..end(start)));
            }
            None => {}
        }
        if close {
            return true;
        }
        self.parts += 1;
        self.part_start = Some(next);
        false
    }
}

#[cfg(test)]
mod tests {
    use super::super::boundary::{self, Chunk};
    use super::*;
    use proptest::prelude::*;

    /// The pieces the walk's split finds in a whole message (of the plain shape, with at
    /// most one close delimiter, at its end), the last left out when `drop_last`.
    fn walk_pieces(raw: &[u8], drop_last: bool) -> Vec<Arrived> {
        let head = header::parse(raw, true);
        let (boundary, _) = plain_multipart(&head).unwrap();
        let body = &raw[head.body_start..];
        let split = boundary::split(body, &boundary, 1000);
        let mut out = vec![Arrived::Head(0..head.body_start as u64)];
        for (kind, chunk) in split.chunks {
            let start = (chunk.as_ptr() as usize - raw.as_ptr() as usize) as u64;
            let range = start..start + chunk.len() as u64;
            out.push(match kind {
                Chunk::Preamble => Arrived::Piece(Piece::Preamble, range),
                Chunk::Part => Arrived::Piece(Piece::Part, range),
                Chunk::Epilogue => continue,
            });
        }
        if drop_last && out.len() > 1 {
            out.pop();
        }
        out
    }

    fn fed(raw: &[u8], cuts: &[usize]) -> Vec<Arrived> {
        let mut splitter = PartSplitter::new(1000);
        let mut pieces = Vec::new();
        let mut from = 0;
        for &cut in cuts.iter().chain(std::iter::once(&raw.len())) {
            let cut = cut.clamp(from, raw.len());
            pieces.extend(splitter.feed(&raw[from..cut]));
            from = cut;
        }
        pieces
    }

    const MESSAGE: &str = "Received: from x\r\nSubject: s\r\nContent-Type: multipart/mixed;\r\n boundary=\"=_b\"\r\n\r\npreamble\r\n--=_b\r\nContent-Type: text/plain\r\n\r\none\r\n--=_b \t\r\nContent-Type: application/pdf\r\n\r\nJVBERi0=\r\n--=_bx\r\n\r\n--=_b\r\n--=_b--\r\nepilogue\r\n--=_b\r\nlate\r\n";

    #[test]
    fn the_pieces_are_the_walks_however_the_message_arrives() {
        let raw = MESSAGE.as_bytes();
        let whole = fed(raw, &[]);
        assert_eq!(whole.len(), 5, "{whole:?}");
        let Arrived::Piece(Piece::Part, first) = &whole[2] else {
            panic!("{whole:?}");
        };
        assert_eq!(
            &raw[first.start as usize..first.end as usize],
            b"Content-Type: text/plain\r\n\r\none"
        );
        // The walk also walks the part after the close delimiter (and reports it as
        // ambiguous); the split while arriving stops at the close.
        assert_eq!(whole, walk_pieces(raw, false)[..5]);
        for cut in 0..raw.len() {
            assert_eq!(fed(raw, &[cut]), whole, "cut at {cut}");
        }
    }

    #[test]
    fn unclear_headers_are_not_split() {
        for raw in [
            // Two types.
            "Content-Type: multipart/mixed; boundary=a\r\nContent-Type: text/plain\r\n\r\n--a\r\nx\r\n--a--\r\n",
            // Two boundaries.
            "Content-Type: multipart/mixed; boundary=a; boundary=b\r\n\r\n--a\r\nx\r\n--a--\r\n",
            // An encoded multipart, or one of an encoding nobody knows.
            "Content-Type: multipart/mixed; boundary=a\r\nContent-Transfer-Encoding: base64\r\n\r\n--a\r\nx\r\n--a--\r\n",
            "Content-Type: multipart/mixed; boundary=a\r\nContent-Transfer-Encoding: x-new\r\n\r\n--a\r\nx\r\n--a--\r\n",
            // Not a multipart.
            "Content-Type: text/plain\r\n\r\n--a\r\nx\r\n--a--\r\n",
            // No header block end.
            "Content-Type: multipart/mixed; boundary=a\r\nnot a field\r\n\r\n--a\r\nx\r\n--a--\r\n",
        ] {
            let mut splitter = PartSplitter::new(10);
            assert!(splitter.feed(raw.as_bytes()).is_empty(), "{raw}");
            assert!(splitter.is_done());
        }
    }

    proptest! {
        /// Lines drawn from delimiters, near-delimiters, blanks and text, with LF or CRLF,
        /// fed in random pieces: the pieces the walk's split finds before the close
        /// delimiter, save the last (its end is not known until the end).
        #[test]
        fn the_split_while_arriving_is_the_walks(
            lines in proptest::collection::vec(0usize..9, 0..40),
            crlf in proptest::collection::vec(any::<bool>(), 40),
            cuts in proptest::collection::vec(0usize..600, 0..6),
        ) {
            const LINES: [&str; 9] = ["--b", "--b--", "--b ", "--bb", " --b", "", "text", "--b\t \t", "-"];
            let message = |lines: &[usize]| {
                let mut raw = String::from("Content-Type: multipart/mixed; boundary=b\r\n\r\n");
                for (i, &l) in lines.iter().enumerate() {
                    raw.push_str(LINES[l]);
                    raw.push_str(if crlf[i] { "\r\n" } else { "\n" });
                }
                raw.into_bytes()
            };
            let raw = message(&lines);
            let mut cuts = cuts;
            cuts.sort_unstable();
            let got = fed(&raw, &cuts);
            // Up to the first close delimiter; without one, the walk's last piece runs to
            // the end, which is not known while the message arrives.
            let want = match lines.iter().position(|&l| l == 1) {
                Some(close) => walk_pieces(&message(&lines[..=close]), false),
                None => walk_pieces(&raw, true),
            };
            prop_assert_eq!(got, want);
        }
    }
}
