//! The recursion over messages, multiparts and leaf parts (see the module documentation of
//! [`super`] for what is collected and how locations read).
//!
//! Every descent is checked first ([`Collector::may_descend`], and a hard bound of our own
//! so that no configuration lets a hostile message drive the stack deep), every part is
//! counted ([`Collector::enter_part`]), and the extra readings taken for ambiguous MIME
//! share one budget per message, so the walk costs at most a fixed multiple of the message
//! size.

use std::collections::HashSet;
use std::hash::{BuildHasher, RandomState};

use crate::charset;
use crate::content::{Collector, Location, ProblemKind, SegmentKind};
use crate::extract::{self, FileRef};

use super::boundary::{self, Chunk};
use super::header::{self, Head};
use super::params::Structured;
use super::transfer::{self, Decoded, TransferEncoding};
use super::{address, flowed, uuencode, words};

pub(crate) mod stream;

/// How many extra readings (duplicate headers, several boundaries, encoded multiparts)
/// one entity may take: decoys elsewhere in the message cannot use up the readings of the
/// part that matters.
const PART_ALTERNATIVES: usize = 6;
/// How many extra readings one message walk may take in all (a bound on its cost); past
/// it, what is skipped is reported as not fully read (`ambiguity_budget`).
const MAX_ALTERNATIVES: usize = 64;
/// Boundaries longer than RFC 2046 allows (70) are honoured, as mail clients honour them,
/// up to this length.
pub(super) const MAX_BOUNDARY: usize = 4096;
/// RFC 2046's limit on a boundary's length.
const RFC_BOUNDARY: usize = 70;
/// Nesting the walk never passes, whatever the limits say: the bound on its stack.
pub(super) const HARD_MAX_DEPTH: usize = 32;
/// File names in locations are cut to this many characters.
const MAX_NAME_CHARS: usize = 100;
/// How many file name readings of one part are collected.
const MAX_NAMES: usize = 8;
/// How many encoded octets are decoded at a time into the part store.
const DECODE_WINDOW: usize = 64 * 1024;
/// How many distinct values of one duplicated header are walked.
const MAX_DUPLICATES: usize = 3;

/// The header fields a client shows: (name, label, is an address field).
const SHOWN_HEADERS: [(&str, &str, bool); 10] = [
    ("subject", "Subject", false),
    ("comments", "Comments", false),
    ("keywords", "Keywords", false),
    ("thread-topic", "Thread-Topic", false),
    ("from", "From", true),
    ("sender", "Sender", true),
    ("reply-to", "Reply-To", true),
    ("to", "To", true),
    ("cc", "Cc", true),
    ("bcc", "Bcc", true),
];

/// Where an entity is: its message's location and its part numbers.
#[derive(Clone, Debug)]
struct Ctx {
    /// The location of the message the entity belongs to.
    loc: Location,
    /// The entity's number as a leaf (`1`, `2.1` …).
    leaf: String,
    /// The prefix of its children's numbers if it is a multipart (empty at the top).
    container: String,
    /// Is this the top-level entity of a message?
    top: bool,
    /// The content type when none is given (`message/rfc822` in a `multipart/digest`).
    default_type: &'static str,
}

impl Ctx {
    /// The location of the entity itself, for problems.
    fn here(&self) -> Location {
        if self.top {
            self.loc.clone()
        } else {
            self.loc.child(format!("part {}", self.leaf))
        }
    }

    /// `what`, numbered with the container (`preamble`, `epilogue 2`).
    fn numbered(&self, what: &str) -> Location {
        if self.container.is_empty() {
            self.loc.child(what)
        } else {
            self.loc.child(format!("{what} {}", self.container))
        }
    }

    /// The location of a leaf step (`body 1.2`).
    fn leaf_step(&self, what: &str) -> Location {
        self.loc.child(format!("{what} {}", self.leaf))
    }

    /// The context of the `n`-th part of this multipart.
    fn child(&self, n: usize, default_type: &'static str) -> Self {
        let spec = join(&self.container, n);
        Self {
            loc: self.loc.clone(),
            leaf: spec.clone(),
            container: spec,
            top: false,
            default_type,
        }
    }
}

/// `prefix.n`, or `n` at the top.
fn join(prefix: &str, n: usize) -> String {
    if prefix.is_empty() {
        n.to_string()
    } else {
        format!("{prefix}.{n}")
    }
}

/// A file name fit for a location step: no control characters, bounded.
fn clean_name(name: &str) -> String {
    name.chars()
        .filter(|c| !c.is_control())
        .take(MAX_NAME_CHARS)
        .collect()
}

/// A step with an optional quoted name: `attachment 2 "名簿.zip"` or `attachment 2`.
fn named_step(what: &str, number: &str, names: &[String]) -> String {
    match names.first() {
        Some(name) => format!("{what} {number} \"{}\"", clean_name(name)),
        None => format!("{what} {number}"),
    }
}

/// The distinct values of `items` (at most [`MAX_DUPLICATES`]), and the indices in them
/// of the first and the last item.
fn distinct<T: PartialEq>(items: Vec<T>) -> (Vec<T>, usize) {
    let mut out: Vec<T> = Vec::new();
    let mut last = 0;
    for item in items {
        match out.iter().position(|o| *o == item) {
            Some(i) => last = i,
            None if out.len() < MAX_DUPLICATES => {
                last = out.len();
                out.push(item);
            }
            None => {}
        }
    }
    (out, last)
}

/// The walk of one message.
pub(super) struct Walker<'a, 'l> {
    out: &'a mut Collector<'l>,
    /// Extra readings taken so far.
    alternatives: usize,
    alternatives_hit: bool,
    hard_depth_hit: bool,
    /// Hashes of the segments collected and problems reported, so that a subtree walked
    /// again under another reading does not collect the same text twice. The hasher is
    /// randomly keyed, so a sender cannot craft a collision to hide text.
    seen: HashSet<u64>,
    hasher: RandomState,
    /// Octets being read more than once around this point of the walk ([`Self::rereading`]
    /// nests). Only inside such a reading can a file come again at the same place, so only
    /// there are files remembered: outside, hashing every attachment's octets (1.6 % of
    /// the relay's time on office mail) would buy nothing.
    rereads: usize,
}

impl<'a, 'l> Walker<'a, 'l> {
    /// A walk writing into `out`.
    pub(super) fn new(out: &'a mut Collector<'l>) -> Self {
        Self {
            out,
            alternatives: 0,
            alternatives_hit: false,
            hard_depth_hit: false,
            seen: HashSet::new(),
            hasher: RandomState::new(),
            rereads: 0,
        }
    }

    /// Walks `walk`, which reads the same octets more than once when `several` (every
    /// reading of an entity, say): files are then remembered while it runs, so that one
    /// met again is not extracted again.
    fn rereading(&mut self, several: bool, walk: impl FnOnce(&mut Self)) {
        let mark = usize::from(several);
        self.rereads += mark;
        walk(self);
        self.rereads -= mark;
    }

    /// Walks a whole message.
    pub(super) fn message(mut self, raw: &[u8]) {
        self.walk_message(raw, Location::root(), "", 0);
    }

    /// Walks a message found at `loc`, `depth` levels down.
    pub(super) fn message_at(mut self, raw: &[u8], loc: Location, depth: usize) {
        self.walk_message(raw, loc, "", depth);
    }

    /// Is this the first time `item` is met?
    fn first_time(&mut self, item: impl std::hash::Hash) -> bool {
        self.seen.insert(self.hasher.hash_one(item))
    }

    /// Collects a segment (once). Returns false when the text budget is spent.
    fn text(&mut self, at: &Location, kind: SegmentKind, text: String) -> bool {
        if !self.first_time((at, kind, &text)) {
            return !self.out.text_exhausted();
        }
        self.out.text(at, kind, text)
    }

    /// Collects the only segment its place will have: outside a [`Self::rereading`],
    /// nothing can come there again, so it is collected without remembering it (a body of
    /// megabytes is not hashed). Returns false when the text budget is spent.
    fn sole_text(&mut self, at: &Location, kind: SegmentKind, text: String) -> bool {
        if self.rereads > 0 {
            return self.text(at, kind, text);
        }
        self.out.text(at, kind, text)
    }

    /// Hands a file to the extractors (once: a part walked again under another reading is
    /// not extracted again).
    fn extract(&mut self, at: &Location, file: &FileRef<'_>, depth: usize) {
        let key = (at, file.name, file.content_type, file.charset, file.bytes);
        if self.rereads == 0 || self.first_time(key) {
            extract::extract_file(self.out, at, file, depth);
        }
    }

    /// Records a problem (once).
    fn report(&mut self, at: &Location, kind: ProblemKind, detail: impl Into<String>) {
        let detail = detail.into();
        if self.first_time((at, kind, &detail)) {
            self.out.problem(at, kind, detail);
        }
    }

    /// May one more reading be taken at `at`, the `taken`-th extra one of its entity?
    /// When a budget is spent, the skipped reading is reported as not fully read.
    fn take_alternative(&mut self, at: &Location, taken: usize) -> bool {
        if taken < PART_ALTERNATIVES && self.alternatives < MAX_ALTERNATIVES {
            self.alternatives += 1;
            return true;
        }
        let detail = if taken >= PART_ALTERNATIVES {
            format!(
                "more than {PART_ALTERNATIVES} ambiguous readings of one part; the rest were not scanned"
            )
        } else {
            format!(
                "more than {MAX_ALTERNATIVES} ambiguous readings in the message; the rest were not scanned"
            )
        };
        if !self.alternatives_hit || taken >= PART_ALTERNATIVES {
            self.alternatives_hit |= taken < PART_ALTERNATIVES;
            self.report(at, ProblemKind::AmbiguityBudget, detail);
        }
        false
    }

    /// May the walk go down to `depth` at `at`?
    fn descend(&mut self, at: &Location, depth: usize) -> bool {
        if self.out.text_exhausted() {
            return false;
        }
        if depth > HARD_MAX_DEPTH {
            if !self.hard_depth_hit {
                self.hard_depth_hit = true;
                let detail = format!("nested deeper than {HARD_MAX_DEPTH} levels");
                self.out.problem(at, ProblemKind::TooDeep, detail);
            }
            return false;
        }
        self.out.may_descend(at, depth)
    }

    /// Undoes a transfer encoding, reporting one nobody knows.
    fn decode<'b>(&mut self, body: &'b [u8], cte: &TransferEncoding, at: &Location) -> Decoded<'b> {
        if let TransferEncoding::Unknown(label) = cte {
            let detail = format!("unknown Content-Transfer-Encoding \"{label}\"; scanned as it is");
            self.report(at, ProblemKind::DecoderError, detail);
        }
        self.decoded(body, cte)
    }

    /// `body` decoded: into the walk's part store when it is long and there is one
    /// (a piece at a time, so its decoded form is never whole in memory), else in memory.
    fn decoded<'b>(&mut self, body: &'b [u8], cte: &TransferEncoding) -> Decoded<'b> {
        if cte.is_encoding()
            && let Some(store) = self.out.store()
            && body.len() >= store.threshold()
            && let Some(mut part) = store.begin()
            && transfer::decode_into(body, cte, DECODE_WINDOW, &mut |piece| part.write(piece))
            && let Some(held) = part.finish()
        {
            return Decoded::Held(held);
        }
        transfer::decode(body, cte)
    }

    /// A message (the top one or an attached one) at `loc`, its parts numbered under
    /// `prefix`.
    fn walk_message(&mut self, raw: &[u8], loc: Location, prefix: &str, depth: usize) {
        let head = header::parse(raw, true);
        if let Some(overflow) = &head.overflow {
            self.report(&loc, ProblemKind::HeaderLimit, overflow.clone());
        }
        self.headers(&head, &loc);
        let body = raw.get(head.body_start..).unwrap_or_default();
        let ctx = Ctx {
            loc,
            leaf: join(prefix, 1),
            container: prefix.to_string(),
            top: true,
            default_type: "text/plain",
        };
        self.entity(&head, body, &ctx, depth);
    }

    /// The header fields a client shows.
    fn headers(&mut self, head: &Head, loc: &Location) {
        for field in &head.fields {
            let Some(&(_, label, is_address)) = SHOWN_HEADERS
                .iter()
                .find(|(name, _, _)| *name == field.name)
            else {
                continue;
            };
            let readings = if is_address {
                words::decode_text(&address::display_names(&field.value))
            } else {
                words::decode_text(&field.value)
            };
            let at = loc.child(format!("header {label}"));
            for text in readings {
                if !text.is_empty() && !self.text(&at, SegmentKind::Header, text) {
                    return;
                }
            }
        }
    }

    /// An entity (message body or part): its content type and transfer encoding decide
    /// the rest. Duplicate, differing Content-Type or Content-Transfer-Encoding headers are
    /// walked in every combination (first-wins and last-wins first).
    fn entity(&mut self, head: &Head, body: &[u8], ctx: &Ctx, depth: usize) {
        let Readings {
            mut types,
            last_type,
            mut encodings,
            last_encoding,
        } = Readings::of(head);
        if types.is_empty() {
            types.push(None);
        }
        if encodings.is_empty() {
            encodings.push(TransferEncoding::Identity);
        }
        let mut combos = vec![(0, 0), (last_type, last_encoding)];
        for t in 0..types.len() {
            for e in 0..encodings.len() {
                combos.push((t, e));
            }
        }
        let mut seen: Vec<(usize, usize)> = Vec::new();
        combos.retain(|c| {
            let new = !seen.contains(c);
            seen.push(*c);
            new
        });
        if combos.len() > 1 {
            let mut which = Vec::new();
            if types.len() > 1 {
                which.push("Content-Type");
            }
            if encodings.len() > 1 {
                which.push("Content-Transfer-Encoding");
            }
            let detail = format!(
                "duplicate {} headers that differ; every reading was scanned",
                which.join(" and ")
            );
            self.report(&ctx.here(), ProblemKind::Ambiguous, detail);
        }
        self.rereading(combos.len() > 1, |walker| {
            for (i, &(t, e)) in combos.iter().enumerate() {
                if i > 0 && !walker.take_alternative(&ctx.here(), i - 1) {
                    break;
                }
                let (Some(ct), Some(cte)) = (types.get(t), encodings.get(e)) else {
                    continue;
                };
                walker.entity_as(head, ct.as_ref(), cte, body, ctx, depth);
            }
        });
    }

    /// One reading of an entity.
    fn entity_as(
        &mut self,
        head: &Head,
        ct: Option<&Structured>,
        cte: &TransferEncoding,
        body: &[u8],
        ctx: &Ctx,
        depth: usize,
    ) {
        let fallback;
        let ct = match ct {
            Some(ct) => ct,
            None => {
                fallback = Structured::bare(ctx.default_type);
                &fallback
            }
        };
        if ct.value.starts_with("multipart/") {
            self.multipart(ct, cte, body, ctx, depth);
        } else if ct.value == "message/partial" {
            // One fragment of a message split over several mails: what the other fragments
            // hold is not here, so the whole cannot be inspected. What is here is read.
            let part = |name| ct.plain_text(name).unwrap_or_else(|| "?".into());
            let detail = format!(
                "a fragment ({} of {}) of a message split over several mails (message/partial); the whole cannot be inspected",
                part("number"),
                part("total")
            );
            self.report(&ctx.here(), ProblemKind::UnsupportedFormat, detail);
            let decoded = self.decode(body, cte, &ctx.here());
            self.text_body(&decoded, None, ctx, depth);
        } else if matches!(ct.value.as_str(), "message/rfc822" | "message/global") {
            self.attached_message(head, ct, cte, body, ctx, depth);
        } else {
            self.leaf(head, ct, cte, body, ctx, depth);
        }
    }

    /// A multipart. One with a transfer encoding (not allowed, but seen) is walked decoded
    /// and as it is.
    fn multipart(
        &mut self,
        ct: &Structured,
        cte: &TransferEncoding,
        body: &[u8],
        ctx: &Ctx,
        depth: usize,
    ) {
        if cte.is_encoding() {
            let detail = "a multipart with a transfer encoding; walked decoded and as it is";
            self.report(&ctx.here(), ProblemKind::Ambiguous, detail);
            let decoded = self.decoded(body, cte);
            self.rereading(true, |walker| {
                walker.multipart_body(ct, &decoded, ctx, depth);
                if walker.take_alternative(&ctx.here(), 0) {
                    walker.multipart_body(ct, body, ctx, depth);
                }
            });
            return;
        }
        let body = self.decode(body, cte, &ctx.here());
        self.multipart_body(ct, &body, ctx, depth);
    }

    /// A multipart's body, split at each distinct boundary parameter.
    fn multipart_body(&mut self, ct: &Structured, body: &[u8], ctx: &Ctx, depth: usize) {
        let boundaries = boundaries(ct);
        self.long_boundaries(&boundaries, ctx);
        if boundaries.is_empty() {
            // No boundary: a client shows the raw body as text.
            self.text_body(body, None, ctx, depth);
            return;
        }
        if boundaries.len() > 1 {
            let detail = "several boundary parameters; the body was split at each";
            self.report(&ctx.here(), ProblemKind::Ambiguous, detail);
        }
        self.rereading(boundaries.len() > 1, |walker| {
            for (i, b) in boundaries.iter().enumerate() {
                if i > 0 && !walker.take_alternative(&ctx.here(), i - 1) {
                    break;
                }
                walker.split_and_walk(ct, b, body, ctx, depth);
            }
        });
    }

    /// Reports boundaries longer than RFC 2046 allows.
    fn long_boundaries(&mut self, boundaries: &[Vec<u8>], ctx: &Ctx) {
        if let Some(long) = boundaries
            .iter()
            .map(Vec::len)
            .find(|&len| len > RFC_BOUNDARY)
        {
            let detail = format!(
                "a boundary of {long} characters (RFC 2046 allows {RFC_BOUNDARY}); split at it as mail clients do"
            );
            self.report(&ctx.here(), ProblemKind::Ambiguous, detail);
        }
    }

    /// The parts of a multipart body at one boundary.
    fn split_and_walk(
        &mut self,
        ct: &Structured,
        boundary: &[u8],
        body: &[u8],
        ctx: &Ctx,
        depth: usize,
    ) {
        let max = self.out.limits().max_parts.saturating_add(1);
        let split = boundary::split(body, boundary, max);
        if !split.delimited {
            // The boundary is never used: a client shows the raw body as text.
            self.text_body(body, None, ctx, depth);
            return;
        }
        if !self.descend(&ctx.here(), depth + 1) {
            return;
        }
        if split.reopened {
            let detail = "parts after the closing boundary; they were walked too";
            self.report(&ctx.here(), ProblemKind::Ambiguous, detail);
        }
        let default_type = default_type(ct);
        let mut n = 0;
        for (kind, bytes) in split.chunks {
            if !self.chunk(kind, bytes, ctx, default_type, &mut n, depth) {
                return;
            }
        }
    }

    /// One piece of a split multipart body (`n` parts before it); false when the walk of
    /// the multipart ends there (the text budget or the part count spent).
    fn chunk(
        &mut self,
        kind: Chunk,
        bytes: &[u8],
        ctx: &Ctx,
        default_type: &'static str,
        n: &mut usize,
        depth: usize,
    ) -> bool {
        if self.out.text_exhausted() {
            return false;
        }
        match kind {
            Chunk::Preamble => self.aside(bytes, ctx, "preamble"),
            Chunk::Epilogue => self.aside(bytes, ctx, "epilogue"),
            Chunk::Part => {
                *n += 1;
                let child = ctx.child(*n, default_type);
                if !self.out.enter_part(&child.here()) {
                    return false;
                }
                self.part(bytes, &child, depth + 1);
            }
        }
        true
    }

    /// Text around the parts of a multipart: clients do not show it, but it is in the mail.
    fn aside(&mut self, bytes: &[u8], ctx: &Ctx, what: &str) {
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return;
        }
        let at = ctx.numbered(what);
        for text in words::without_raw_escapes(charset::readings(bytes, None)) {
            if !self.text(&at, SegmentKind::Body, text) {
                return;
            }
        }
    }

    /// A body part of a multipart: its own header block, then the entity.
    fn part(&mut self, bytes: &[u8], ctx: &Ctx, depth: usize) {
        let head = header::parse(bytes, false);
        if let Some(overflow) = &head.overflow {
            self.report(&ctx.here(), ProblemKind::HeaderLimit, overflow.clone());
        }
        let body = bytes.get(head.body_start..).unwrap_or_default();
        // No empty line after the "header fields": they may well be text a client shows,
        // so the whole part is scanned as text too (its body read twice).
        let as_text = !head.terminated && !head.fields.is_empty();
        self.rereading(as_text, |walker| {
            if as_text {
                walker.text_body(bytes, None, ctx, depth);
            }
            walker.entity(&head, body, ctx, depth);
        });
    }

    /// An attached message (`message/rfc822`, `message/global`), walked as a message.
    fn attached_message(
        &mut self,
        head: &Head,
        ct: &Structured,
        cte: &TransferEncoding,
        body: &[u8],
        ctx: &Ctx,
        depth: usize,
    ) {
        let names = file_names(head, ct);
        let loc = ctx.loc.child(named_step("message", &ctx.leaf, &names));
        self.file_name_segments(&loc, &names);
        let decoded = self.decode(body, cte, &loc);
        if !self.descend(&loc, depth + 1) {
            return;
        }
        self.walk_message(&decoded, loc, &ctx.leaf, depth + 1);
    }

    /// A leaf part: inline text is a body, everything else an attachment.
    fn leaf(
        &mut self,
        head: &Head,
        ct: &Structured,
        cte: &TransferEncoding,
        body: &[u8],
        ctx: &Ctx,
        depth: usize,
    ) {
        let names = file_names(head, ct);
        let attachment = head
            .first("content-disposition")
            .is_some_and(|cd| Structured::parse(cd).value == "attachment");
        let charset = ct.plain_text("charset");
        if ct.value.starts_with("text/") && !attachment && names.is_empty() {
            let decoded = self.decode(body, cte, &ctx.leaf_step("body"));
            self.text_body(&decoded, Some(ct), ctx, depth);
            return;
        }
        let loc = ctx.loc.child(named_step("attachment", &ctx.leaf, &names));
        let decoded = self.decode(body, cte, &loc);
        self.file_name_segments(&loc, &names);
        let file = FileRef {
            name: names.first().map(String::as_str),
            content_type: Some(&ct.value),
            charset: charset.as_deref(),
            bytes: &decoded,
        };
        self.extract(&loc, &file, depth.max(1));
    }

    /// Inline text: every reading (but the raw-escape one of ISO-2022-JP when it decodes),
    /// of the text and of its joined form if it is `format=flowed`; HTML through the HTML
    /// reader; then any uuencoded files. `ct` is `None` for text shown raw (text/plain).
    fn text_body(&mut self, bytes: &[u8], ct: Option<&Structured>, ctx: &Ctx, depth: usize) {
        let at = ctx.leaf_step("body");
        let html = ct.is_some_and(|ct| ct.value == "text/html");
        let charset = ct.and_then(|ct| ct.plain_text("charset"));
        let label = words::usable_label(charset.as_deref());
        let param_is = |name: &str, value: &str| {
            ct.and_then(|ct| ct.plain_text(name))
                .is_some_and(|v| v.eq_ignore_ascii_case(value))
        };
        let unflowed = (!html && param_is("format", "flowed"))
            .then(|| flowed::unflow(bytes, param_is("delsp", "yes")));
        let mut readings = charset::readings(bytes, label);
        if let Some(unflowed) = unflowed {
            readings.extend(charset::readings(&unflowed, label));
        }
        let mut data_urls = None;
        let readings = words::without_raw_escapes(readings);
        let one_reading = readings.len() == 1;
        for reading in readings {
            let (text, sole) = if html {
                let (text, urls) = extract::html_to_text_and_data_urls(&reading);
                data_urls.get_or_insert(urls);
                (text, one_reading)
            } else {
                let shown = extract::shown_forms(&reading);
                let sole = one_reading && shown.is_empty();
                for shown in shown {
                    if !self.text(&at, SegmentKind::Body, shown) {
                        return;
                    }
                }
                (reading, sole)
            };
            let collected = if sole {
                self.sole_text(&at, SegmentKind::Body, text)
            } else {
                self.text(&at, SegmentKind::Body, text)
            };
            if !collected {
                return;
            }
        }
        if html {
            self.data_urls(&data_urls.unwrap_or_default(), &at, depth.max(1) + 1);
        } else {
            self.uuencoded(bytes, &at, depth.max(1) + 1);
        }
    }

    /// The `data:` URLs of an HTML body at `at` (a link or an image that holds a file), as
    /// attachments one level below it.
    fn data_urls(&mut self, urls: &[extract::DataUrl], at: &Location, depth: usize) {
        for (i, url) in urls.iter().enumerate() {
            let loc = at.child(url.step(i));
            if !self.out.enter_part(&loc) || !self.descend(&loc, depth) {
                return;
            }
            self.extract(&loc, &url.file(), depth);
        }
    }

    /// uuencoded files in a text body at `at`, as attachments one level below it.
    fn uuencoded(&mut self, bytes: &[u8], at: &Location, depth: usize) {
        let max = self.out.limits().max_parts.saturating_add(1);
        for (i, block) in uuencode::find_blocks(bytes, max).into_iter().enumerate() {
            let names: Vec<String> = words::decode_text(&block.name)
                .into_iter()
                .filter(|n| !n.is_empty())
                .collect();
            let loc = at.child(named_step("uuencoded", &(i + 1).to_string(), &names));
            if !self.out.enter_part(&loc) || !self.descend(&loc, depth) {
                return;
            }
            self.file_name_segments(&loc, &names);
            let file = FileRef {
                name: names.first().map(String::as_str),
                content_type: None,
                charset: None,
                bytes: &block.data,
            };
            self.extract(&loc, &file, depth);
        }
    }

    /// Collects each reading of a file name.
    fn file_name_segments(&mut self, at: &Location, names: &[String]) {
        for name in names {
            if !self.text(at, SegmentKind::FileName, name.clone()) {
                return;
            }
        }
    }
}

/// The distinct Content-Type and Content-Transfer-Encoding values of an entity, as the
/// walk reads them, and which of each is the last.
struct Readings {
    types: Vec<Option<Structured>>,
    last_type: usize,
    encodings: Vec<TransferEncoding>,
    last_encoding: usize,
}

impl Readings {
    fn of(head: &Head) -> Self {
        let types: Vec<Option<Structured>> = head
            .all("content-type")
            .map(|v| Some(Structured::parse(v)).filter(Structured::is_media_type))
            .collect();
        let encodings: Vec<TransferEncoding> = head
            .all("content-transfer-encoding")
            .map(|v| TransferEncoding::parse(Some(v)))
            .collect();
        let (types, last_type) = distinct(types);
        let (encodings, last_encoding) = distinct(encodings);
        Self {
            types,
            last_type,
            encodings,
            last_encoding,
        }
    }
}

/// The distinct boundary parameters of a multipart type the walk splits at (at most
/// [`MAX_DUPLICATES`]).
fn boundaries(ct: &Structured) -> Vec<Vec<u8>> {
    let mut boundaries: Vec<Vec<u8>> = Vec::new();
    let extended = ct.extended("boundary").map(|v| v.bytes);
    for b in ct.all_plain("boundary").map(<[u8]>::to_vec).chain(extended) {
        let b = b.trim_ascii_end().to_vec();
        if !b.is_empty() && b.len() <= MAX_BOUNDARY && !boundaries.contains(&b) {
            boundaries.push(b);
        }
    }
    boundaries.truncate(MAX_DUPLICATES);
    boundaries
}

/// The type of a part that names none, in a multipart of type `ct`.
fn default_type(ct: &Structured) -> &'static str {
    if ct.value == "multipart/digest" {
        "message/rfc822"
    } else {
        "text/plain"
    }
}

/// Every reading of a part's file name: Content-Disposition `filename` first, then
/// Content-Type `name`.
pub(super) fn file_names(head: &Head, ct: &Structured) -> Vec<String> {
    let mut names = Vec::new();
    if let Some(cd) = head.first("content-disposition") {
        names = Structured::parse(cd).text("filename");
    }
    for name in ct.text("name") {
        if !names.contains(&name) {
            names.push(name);
        }
    }
    names.truncate(MAX_NAMES);
    names
}
