//! The MIME walk: a message in, its decoded text segments out.
//!
//! The walk reads a message the way a careful mail client would, and where clients may
//! disagree (duplicate headers, broken boundaries …) it scans every reading and records a
//! [`crate::ProblemKind::Ambiguous`] problem. It never fails and never panics; everything
//! it does is bounded by the [`crate::Limits`] of the [`Collector`] and by the constants in
//! `header` (header block size), so hostile input costs bounded time and memory.
//!
//! # What is collected
//!
//! * Headers ([`SegmentKind::Header`](crate::SegmentKind::Header)): Subject, Comments,
//!   Keywords and Thread-Topic decoded, and the display names and comments (not the
//!   addresses) of From, Sender, To, Cc, Bcc and Reply-To; the same for attached messages.
//! * Bodies ([`SegmentKind::Body`](crate::SegmentKind::Body)): inline `text/*` parts
//!   without a file name (HTML through [`crate::extract::html_to_text`]), every
//!   [`crate::charset::readings`] of them (and of the joined text of `format=flowed`);
//!   multipart preambles and epilogues (not shown by clients, but in the mail).
//! * Attachments: every other leaf part, and `text/*` parts with a file name or
//!   `Content-Disposition: attachment`. Each file name reading is collected as
//!   [`SegmentKind::FileName`](crate::SegmentKind::FileName), then the decoded content
//!   goes to [`crate::extract::extract_file`]. uuencoded blocks in text bodies are
//!   attachments too.
//! * `message/rfc822` and `message/global` parts are walked as messages.
//!
//! # Locations
//!
//! Part numbers are IMAP part specifiers (RFC 3501 §6.4.5), so an administrator can fetch
//! exactly the part named: a single-part message's body is `1`, the parts of a top-level
//! multipart are `1`, `2` …, the parts of a multipart that is part 2 are `2.1`, `2.2` …, and
//! the body of a message attached as part 3 is `3.1` (or its parts `3.1`, `3.2` … when it is
//! multipart). Steps, relative to the message they are in:
//!
//! | step | what |
//! |---|---|
//! | `header Subject` | a header field (Subject, From …) |
//! | `body 1.2` | an inline text part |
//! | `attachment 2 "名簿.zip"` | an attachment (`attachment 2` when it has no name) |
//! | `message 3 "転送.eml"` | an attached message; its own steps follow it |
//! | `preamble`, `epilogue 2` | text around the parts of a multipart (numbered unless top level) |
//! | `uuencoded 1 "a.csv"` | the n-th uuencoded file, below the body it is in |
//! | `part 1.2` | a multipart itself (only in problems: too deep, ambiguous …) |
//!
//! Problems about a message's own top-level content are at the message's location.
//!
//! Nesting depth (for [`crate::Limits::max_depth`]) counts multipart and attached-message
//! levels: the message itself is depth 0, the parts of a multipart one deeper than it, the
//! content of an attached message one deeper than the part. A leaf is handed to
//! [`crate::extract::extract_file`] with its depth (at least 1: a body is one level below
//! its message, as a file on its own is one level below the root).

mod address;
mod boundary;
mod flowed;
mod header;
mod outline;
mod params;
mod split;
mod transfer;
mod uuencode;
mod walk;
mod words;

#[cfg(test)]
mod tests;

use crate::content::{Collector, Location};

pub use outline::{Node, Outline, OutlineError, Transfer, outline};
pub use split::{Arrived, PartSplitter};
pub use transfer::DecodingReader;
pub use walk::stream::Piece;
pub(crate) use walk::stream::StreamedWalk;

/// The first `name` field (any case) of the message `raw`'s header, its encoded words and
/// charsets decoded as the walk reads them: for a notice that quotes a mail's subject.
pub fn header_text(raw: &[u8], name: &str) -> Option<String> {
    let head = header::parse(raw, true);
    let value = head.first(&name.to_ascii_lowercase())?;
    Some(words::decode_best(value).trim().to_owned())
}

/// Walks an RFC 5322 message the way a mail client would show it and collects every piece
/// of text a reader could see (headers, bodies, file names, attachments) into `out`.
pub fn walk_message(raw: &[u8], out: &mut Collector<'_>) {
    walk::Walker::new(out).message(raw);
}

/// Walks an RFC 5322 message found inside something else (an `.eml` file sent as an
/// attachment, the content of a signed message) at `location`, `depth` levels down: the
/// same walk, its parts numbered relative to that message.
pub fn walk_message_at(raw: &[u8], location: &Location, depth: usize, out: &mut Collector<'_>) {
    walk::Walker::new(out).message_at(raw, location.clone(), depth);
}

/// The lines of `bytes` with their start offsets, line ends (LF or CRLF) removed.
fn lines_with_offsets(bytes: &[u8]) -> impl Iterator<Item = (usize, &[u8])> {
    let mut pos = 0;
    std::iter::from_fn(move || {
        if pos >= bytes.len() {
            return None;
        }
        let start = pos;
        let rest = bytes.get(start..).unwrap_or_default();
        let line = match memchr::memchr(b'\n', rest) {
            Some(n) => {
                pos = start + n + 1;
                rest.get(..n).unwrap_or_default()
            }
            None => {
                pos = bytes.len();
                rest
            }
        };
        Some((start, line.strip_suffix(b"\r").unwrap_or(line)))
    })
}

/// The lines of `bytes`, line ends removed.
fn lines(bytes: &[u8]) -> impl Iterator<Item = &[u8]> {
    lines_with_offsets(bytes).map(|(_, line)| line)
}
