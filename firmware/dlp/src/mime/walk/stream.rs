//! The walk of a message while it arrives, a top-level part at a time.
//!
//! For the plain shape of most mail with attachments (one `multipart/*` type, one boundary,
//! no transfer encoding on the multipart: [`plain_multipart`]), the walk of a whole message
//! is: the header block, then the pieces of the split body (preamble, parts, epilogue) in
//! order, each walked by [`Walker::chunk`] on the state the pieces before it left. That
//! state depends on nothing that comes later but two facts of the split (whether the body
//! was delimited at all, and whether parts followed a close delimiter), so the same calls,
//! made as each piece arrives, leave the same state. [`StreamedWalk::finish`] then splits
//! the whole message as the walk does, checks that the pieces walked are exactly its first
//! pieces and that the two facts hold, and walks the rest; when they are not, it says so,
//! and the caller walks the whole message afresh.

use std::ops::Range;

use super::super::boundary::{self, Chunk};
use super::super::header::{self, Head};
use super::super::transfer::TransferEncoding;
use super::{Ctx, Readings, Walker, boundaries, default_type, join};
use crate::content::{Collector, Location, ProblemKind};

/// The boundary of an entity whose walk is [`StreamedWalk`]'s (one reading of its type,
/// `multipart/*`, with no transfer encoding, and one boundary without line breaks), and
/// the type of its parts that name none.
pub(in crate::mime) fn plain_multipart(head: &Head) -> Option<(Vec<u8>, &'static str)> {
    let Readings {
        types, encodings, ..
    } = Readings::of(head);
    let [Some(ct)] = types.as_slice() else {
        return None;
    };
    if !ct.value.starts_with("multipart/")
        || !matches!(encodings.as_slice(), [] | [TransferEncoding::Identity])
    {
        return None;
    }
    match boundaries(ct).as_slice() {
        [b] if !b.contains(&b'\n') => Some((b.clone(), default_type(ct))),
        _ => None,
    }
}

/// A piece of a message as it arrives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Piece {
    /// Text before the first delimiter (given only when not empty).
    Preamble,
    /// A body part (empty ones too).
    Part,
}

/// The walk of a message whose header block has arrived, fed its pieces as they arrive.
pub(crate) struct StreamedWalk<'a, 'l> {
    walker: Walker<'a, 'l>,
    ctx: Ctx,
    boundary: Vec<u8>,
    body_start: usize,
    default_type: &'static str,
    /// Parts walked so far.
    n: usize,
    /// The pieces walked, as octets of the message.
    walked: Vec<(Chunk, Range<usize>)>,
    /// The walk of the multipart ended (the text budget or the part count spent): later
    /// pieces change nothing.
    ended: bool,
}

impl<'a, 'l> StreamedWalk<'a, 'l> {
    /// Walks the header block `head` (the message's first octets, to its empty line
    /// included) into `out`, as the walk of the whole message begins; `None` when the
    /// message is not of the plain shape (then nothing was walked).
    pub(crate) fn start(out: &'a mut Collector<'l>, head: &[u8]) -> Option<Self> {
        let parsed = header::parse(head, true);
        if !parsed.terminated || parsed.body_start != head.len() {
            return None;
        }
        let (boundary, default) = plain_multipart(&parsed)?;
        let mut walker = Walker::new(out);
        // `walk_message`, with the calls an entity of this shape makes before its pieces:
        // `entity` (one reading, nothing reported), `multipart` (no transfer encoding to
        // undo), `multipart_body` (one boundary) and `split_and_walk` up to its pieces.
        let loc = Location::root();
        if let Some(overflow) = &parsed.overflow {
            walker.report(&loc, ProblemKind::HeaderLimit, overflow.clone());
        }
        walker.headers(&parsed, &loc);
        let ctx = Ctx {
            loc,
            leaf: join("", 1),
            container: String::new(),
            top: true,
            default_type: "text/plain",
        };
        walker.long_boundaries(std::slice::from_ref(&boundary), &ctx);
        let ended = !walker.descend(&ctx.here(), 1);
        Some(Self {
            walker,
            ctx,
            boundary,
            body_start: head.len(),
            default_type: default,
            n: 0,
            walked: Vec::new(),
            ended,
        })
    }

    /// The walk waited `by` for the message to arrive: not time spent inspecting.
    pub(crate) fn postpone(&mut self, by: std::time::Duration) {
        self.walker.out.postpone(by);
    }

    /// Walks the next piece: `bytes`, octets `range` of the message.
    pub(crate) fn piece(&mut self, piece: Piece, range: Range<usize>, bytes: &[u8]) {
        if self.ended {
            return;
        }
        let kind = match piece {
            Piece::Preamble => Chunk::Preamble,
            Piece::Part => Chunk::Part,
        };
        self.walked.push((kind, range));
        let (ctx, default) = (&self.ctx, self.default_type);
        if !self.walker.chunk(kind, bytes, ctx, default, &mut self.n, 0) {
            self.ended = true;
        }
    }

    /// Ends the walk on the whole message `raw`: true when it is now the walk of `raw`
    /// (the pieces walked were its first ones, split as the walk splits it, and the rest
    /// is walked); false when not, and the caller must walk `raw` afresh.
    pub(crate) fn finish(mut self, raw: &[u8]) -> bool {
        let head = header::parse(raw, true);
        if head.body_start != self.body_start {
            return false;
        }
        let body = raw.get(self.body_start..).unwrap_or_default();
        let max = self.walker.out.limits().max_parts.saturating_add(1);
        let split = boundary::split(body, &self.boundary, max);
        if !split.delimited || split.reopened || split.chunks.len() < self.walked.len() {
            return false;
        }
        let offset = |chunk: &[u8]| chunk.as_ptr() as usize - raw.as_ptr() as usize;
        let same = self
            .walked
            .iter()
            .zip(&split.chunks)
            .all(|((kind, range), (k, chunk))| {
                kind == k && range.start == offset(chunk) && range.len() == chunk.len()
            });
        if !same {
            return false;
        }
        if self.ended {
            return true;
        }
        let (ctx, default) = (&self.ctx, self.default_type);
        for &(kind, bytes) in split.chunks.get(self.walked.len()..).unwrap_or_default() {
            if !self.walker.chunk(kind, bytes, ctx, default, &mut self.n, 0) {
                break;
            }
        }
        true
    }
}
