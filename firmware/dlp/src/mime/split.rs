//! The body parts of a message's top-level multipart, found while the message arrives.
//!
//! The relay feeds a message here as it receives it and scans each part ahead once the
//! delimiter after it has arrived ([`crate::Inspector::scan_ahead`]). The splitting is the
//! walk's ([`super::boundary`], on the walk's reading of the header) for the plain case:
//! one `multipart/*` type, one boundary, no transfer encoding on the multipart. Anything
//! else (several types or boundaries, an encoded multipart, a header too large) is not
//! split here at all; and a split that differs from the walk's costs only the time to
//! scan the part again, since the inspection takes nothing from scanning ahead but the
//! findings of identical texts (see [`crate::memo`]).

use std::ops::Range;

use super::header;
use super::params::Structured;
use super::transfer::TransferEncoding;
use super::walk::MAX_BOUNDARY;

/// A header block longer than this is not waited for.
const MAX_HEAD: usize = 256 * 1024;

/// Finds the top-level body parts of a message fed to it in pieces.
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
    /// `--` and the boundary.
    dash_boundary: Vec<u8>,
    /// Where the current line starts.
    line_start: u64,
    /// Its first octets (up to the delimiter's length and two more).
    head: Vec<u8>,
    /// Are its octets past `head` all blanks?
    tail_blank: bool,
    /// The last octet seen.
    last: u8,
    /// How long the previous line's break was (1 for LF, 2 for CRLF).
    last_break: u64,
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

    /// Takes the next `bytes` of the message; returns the parts (as ranges of octets of
    /// the message) whose end arrived with them.
    pub fn feed(&mut self, bytes: &[u8]) -> Vec<Range<u64>> {
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
                    Some((lines, body_start)) => {
                        let mut lines = lines;
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

/// The line scan of the body, when the header (read as the walk reads it) names one
/// multipart type and one boundary, with no transfer encoding; and where the body starts.
fn body_lines(raw: &[u8]) -> Option<(Lines, usize)> {
    let head = header::parse(raw, true);
    if !head.terminated || head.overflow.is_some() {
        return None;
    }
    let mut types = head
        .all("content-type")
        .map(Structured::parse)
        .filter(Structured::is_media_type);
    let ct = types.next()?;
    if types.any(|other| other.value != ct.value) || !ct.value.starts_with("multipart/") {
        return None;
    }
    if head
        .all("content-transfer-encoding")
        .any(|v| TransferEncoding::parse(Some(v)).is_encoding())
    {
        return None;
    }
    let mut boundaries: Vec<Vec<u8>> = Vec::new();
    let extended = ct.extended("boundary").map(|v| v.bytes);
    for b in ct.all_plain("boundary").map(<[u8]>::to_vec).chain(extended) {
        let b = b.trim_ascii_end().to_vec();
        if !boundaries.contains(&b) {
            boundaries.push(b);
        }
    }
    let [boundary] = boundaries.as_slice() else {
        return None;
    };
    if boundary.is_empty() || boundary.len() > MAX_BOUNDARY || boundary.contains(&b'\n') {
        return None;
    }
    let lines = Lines {
        dash_boundary: [b"--".as_slice(), boundary].concat(),
        line_start: head.body_start as u64,
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
        parts: &mut Vec<Range<u64>>,
    ) -> bool {
        let keep = self.dash_boundary.len() + 2;
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
    /// part being received (pushed to `parts`) and opens the next, or closes the
    /// multipart (true: nothing more to find).
    fn delimiter(&mut self, next: u64, parts: &mut Vec<Range<u64>>) -> bool {
        let Some(after) = self.head.strip_prefix(self.dash_boundary.as_slice()) else {
            return false;
        };
        let close = after.starts_with(b"--");
        let opening = after.iter().all(u8::is_ascii_whitespace) && self.tail_blank;
        if !(close || opening) {
            return false;
        }
        if let Some(start) = self.part_start.take() {
            // The line break before the delimiter is part of it.
            let end = self.line_start.saturating_sub(self.last_break).max(start);
            if end > start {
                parts.push(start..end);
            }
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
    use super::*;
    use proptest::prelude::*;

    /// The parts the walk's split finds in a whole message (of the plain kind, with at
    /// most one close delimiter, at its end), the last left out when `drop_last` (empty
    /// ones left out after).
    fn walk_parts(raw: &[u8], drop_last: bool) -> Vec<Range<u64>> {
        let head = header::parse(raw, true);
        let ct = Structured::parse(head.first("content-type").unwrap());
        let boundary = ct.all_plain("boundary").next().unwrap().to_vec();
        let body = &raw[head.body_start..];
        let split = super::super::boundary::split(body, &boundary, 1000);
        let mut out = Vec::new();
        for (kind, chunk) in split.chunks {
            if kind == super::super::boundary::Chunk::Part {
                let start = chunk.as_ptr() as usize - raw.as_ptr() as usize;
                out.push(start as u64..(start + chunk.len()) as u64);
            }
        }
        if drop_last {
            out.pop();
        }
        out.retain(|r| !r.is_empty());
        out
    }

    fn fed(raw: &[u8], cuts: &[usize]) -> Vec<Range<u64>> {
        let mut splitter = PartSplitter::new(1000);
        let mut parts = Vec::new();
        let mut from = 0;
        for &cut in cuts.iter().chain(std::iter::once(&raw.len())) {
            let cut = cut.clamp(from, raw.len());
            parts.extend(splitter.feed(&raw[from..cut]));
            from = cut;
        }
        parts
    }

    const MESSAGE: &str = "Received: from x\r\nSubject: s\r\nContent-Type: multipart/mixed;\r\n boundary=\"=_b\"\r\n\r\npreamble\r\n--=_b\r\nContent-Type: text/plain\r\n\r\none\r\n--=_b \t\r\nContent-Type: application/pdf\r\n\r\nJVBERi0=\r\n--=_bx\r\n\r\n--=_b--\r\nepilogue\r\n--=_b\r\nlate\r\n";

    #[test]
    fn the_parts_are_the_walks_however_the_message_arrives() {
        let raw = MESSAGE.as_bytes();
        let whole = fed(raw, &[]);
        assert_eq!(whole.len(), 2, "{whole:?}");
        assert_eq!(
            &raw[whole[0].start as usize..whole[0].end as usize],
            b"Content-Type: text/plain\r\n\r\none"
        );
        // The walk also walks the part after the close delimiter (and reports it as
        // ambiguous); scanning ahead stops at the close.
        assert_eq!(whole, walk_parts(raw, false)[..2]);
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
            // An encoded multipart.
            "Content-Type: multipart/mixed; boundary=a\r\nContent-Transfer-Encoding: base64\r\n\r\n--a\r\nx\r\n--a--\r\n",
            // Not a multipart.
            "Content-Type: text/plain\r\n\r\n--a\r\nx\r\n--a--\r\n",
        ] {
            let mut splitter = PartSplitter::new(10);
            assert!(splitter.feed(raw.as_bytes()).is_empty(), "{raw}");
            assert!(splitter.is_done());
        }
    }

    proptest! {
        /// Parts of lines drawn from delimiters, near-delimiters, blanks and text, with LF
        /// or CRLF, fed in random pieces: the parts the walk's split finds before the
        /// close delimiter, save the last (its end is not known until the end).
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
            // Up to the first close delimiter; without one, the walk's last part runs to
            // the end, which is not known while the message arrives.
            let want = match lines.iter().position(|&l| l == 1) {
                Some(close) => walk_parts(&message(&lines[..=close]), false),
                None => walk_parts(&raw, true),
            };
            prop_assert_eq!(got, want);
        }
    }
}
