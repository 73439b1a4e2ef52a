//! What the content walk hands the scanner: pieces of decoded text, each with where it came
//! from, and the problems met on the way (too deep, a bomb, an encrypted archive …).
//!
//! The MIME walk ([`crate::mime`]) and the attachment extractors ([`crate::extract`]) both
//! write into one [`Collector`], which also enforces the [`Limits`] shared by the whole walk
//! of one message: how deep, how many parts, how much decoded text and how many expanded
//! archive bytes. A limit that is reached is recorded once as a [`Problem`] and the walk
//! goes on with what it has, so a hostile message costs bounded time and memory and still
//! gets a verdict (policy decides what a problem means).

use std::fmt;

use serde::{Deserialize, Serialize};

/// The most characters one step of a [`Location`] keeps.
const MAX_STEP_CHARS: usize = 160;

/// Where a piece of text came from: a path of steps from the message down, such as
/// `attachment 2 "名簿.zip" › 社員.docx › word/document.xml`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Location {
    steps: Vec<String>,
}

impl Location {
    /// The message (or the file) itself.
    pub fn root() -> Self {
        Self::default()
    }

    /// This location, one step further down. Numbers in the step (a file name such as
    /// `山田_123456789018.csv`) are masked ([`crate::finding::mask_numbers_in`]), so that no
    /// location shown or stored anywhere carries a full number; long steps are shortened.
    pub fn child(&self, step: impl Into<String>) -> Self {
        let step = step.into();
        let step = crate::finding::mask_numbers_in(&step);
        let step = if step.chars().count() > MAX_STEP_CHARS {
            let mut short: String = step.chars().take(MAX_STEP_CHARS).collect();
            short.push('…');
            short
        } else {
            step.into_owned()
        };
        let mut steps = self.steps.clone();
        steps.push(step);
        Self { steps }
    }

    /// The steps from the top.
    pub fn steps(&self) -> &[String] {
        &self.steps
    }

    /// How many steps down this is.
    pub fn depth(&self) -> usize {
        self.steps.len()
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.steps.is_empty() {
            return f.write_str("(message)");
        }
        for (i, step) in self.steps.iter().enumerate() {
            if i > 0 {
                f.write_str(" › ")?;
            }
            f.write_str(step)?;
        }
        Ok(())
    }
}

/// What kind of text a segment is; policy and reports may treat them differently.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SegmentKind {
    /// A header field value (Subject, decoded encoded words).
    Header,
    /// A body part meant to be read (text/plain, text/html with tags stripped).
    Body,
    /// The name of an attached file or of an entry in an archive.
    FileName,
    /// Text extracted from an attachment.
    Attachment,
}

/// One piece of decoded text to scan.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Segment {
    /// Where it came from.
    pub location: Location,
    /// What it is.
    pub kind: SegmentKind,
    /// The text (not yet normalised).
    pub text: String,
}

/// What went wrong, or was refused, while walking content.
///
/// Every kind but [`Self::Ambiguous`] (all readings were scanned), [`Self::Encrypted`]
/// and [`Self::ArchiveBomb`] (which offices treat with rules of their own) means that some
/// content was not fully read: those kinds form the group `not_fully_read`
/// ([`Self::is_not_fully_read`]) that a policy rule can name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProblemKind {
    /// Nesting (multiparts, attached messages, archives in archives) deeper than the limit.
    TooDeep,
    /// More parts or archive entries than the limit.
    TooManyParts,
    /// More decoded text than the limit; the rest was not scanned.
    TextLimit,
    /// An archive that expands past the size limits: a decompression bomb.
    ArchiveBomb,
    /// An encrypted archive or document: its content cannot be inspected.
    Encrypted,
    /// A file or part that could not be decoded (corrupt archive, broken structure …).
    Unreadable,
    /// MIME that mail clients may read in more than one way; every reading was scanned.
    Ambiguous,
    /// A file in a format Mamori does not read (7z, RAR, tar, an unknown binary …); only
    /// the printable strings in it were scanned.
    UnsupportedFormat,
    /// A transfer encoding nobody knows (`Content-Transfer-Encoding: x-gzip64`, say): the
    /// bytes were scanned as they are, and what they encode was not read.
    DecoderError,
    /// A header block or a header field past its size limit: fields that matter may have
    /// been cut.
    HeaderLimit,
    /// Compressed content that expands past what one message may expand to in all
    /// ([`Limits::max_expanded_bytes`]) without being a bomb itself (many well-compressed
    /// documents): the rest was not read.
    ExpansionRatio,
    /// The inspection ran out of its time limit; what was not reached was not scanned.
    TimeLimit,
    /// More ambiguous readings than the walk takes; the rest were not scanned.
    AmbiguityBudget,
}

impl ProblemKind {
    /// Every kind, in a stable order (for documentation, configuration checks and tests).
    pub const ALL: [Self; 13] = [
        Self::TooDeep,
        Self::TooManyParts,
        Self::TextLimit,
        Self::ArchiveBomb,
        Self::Encrypted,
        Self::Unreadable,
        Self::Ambiguous,
        Self::UnsupportedFormat,
        Self::DecoderError,
        Self::HeaderLimit,
        Self::ExpansionRatio,
        Self::TimeLimit,
        Self::AmbiguityBudget,
    ];

    /// The name used in policy files and reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::TooDeep => "too_deep",
            Self::TooManyParts => "too_many_parts",
            Self::TextLimit => "text_limit",
            Self::ArchiveBomb => "archive_bomb",
            Self::Encrypted => "encrypted",
            Self::Unreadable => "unreadable",
            Self::Ambiguous => "ambiguous",
            Self::UnsupportedFormat => "unsupported_format",
            Self::DecoderError => "decoder_error",
            Self::HeaderLimit => "header_limit",
            Self::ExpansionRatio => "expansion_ratio",
            Self::TimeLimit => "time_limit",
            Self::AmbiguityBudget => "ambiguity_budget",
        }
    }

    /// Does this problem mean that some content was not read (the `not_fully_read` group)?
    pub fn is_not_fully_read(self) -> bool {
        match self {
            Self::TooDeep
            | Self::TooManyParts
            | Self::TextLimit
            | Self::Unreadable
            | Self::UnsupportedFormat
            | Self::DecoderError
            | Self::HeaderLimit
            | Self::ExpansionRatio
            | Self::TimeLimit
            | Self::AmbiguityBudget => true,
            Self::ArchiveBomb | Self::Encrypted | Self::Ambiguous => false,
        }
    }
}

impl fmt::Display for ProblemKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A problem, where it was met, and a short explanation (never the content itself).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Problem {
    /// Where.
    pub location: Location,
    /// What.
    pub kind: ProblemKind,
    /// A short explanation for the administrator, such as `expands 1000:1 (limit 100:1)`.
    pub detail: String,
}

/// `text` with the numbers inside its double-quoted stretches masked.
fn mask_quoted(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for (i, piece) in text.split('"').enumerate() {
        if i > 0 {
            out.push('"');
        }
        if i % 2 == 1 {
            out.push_str(&crate::finding::mask_numbers_in(piece));
        } else {
            out.push_str(piece);
        }
    }
    out
}

/// Bounds on the walk of one message (or one file), so that hostile content costs bounded
/// time and memory.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    /// How many levels of nesting (multipart in multipart, message in message, archive in
    /// archive, all counted together) are walked (default 20: a mail forwarded five times
    /// as attachments is about ten levels deep).
    pub max_depth: usize,
    /// How many MIME parts and archive entries in all are looked at (default 1000).
    pub max_parts: usize,
    /// How many bytes of decoded text in all are scanned (default 64 MiB).
    pub max_text_bytes: usize,
    /// The largest a single archive entry may expand to (default 64 MiB).
    pub max_entry_bytes: u64,
    /// How many bytes all archive entries together may expand to (default 256 MiB).
    pub max_expanded_bytes: u64,
    /// The largest ratio of expanded to compressed size an archive entry may have
    /// (default 100); above it the archive is a bomb.
    pub max_ratio: u64,
    /// How long the inspection of one message may take, walk and scan together (default
    /// 30 s); past it the rest is not read (`time_limit`). A crafted mail cannot hold a
    /// scanning thread longer.
    #[serde(with = "humantime_serde")]
    pub max_scan_time: std::time::Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_depth: 20,
            max_parts: 1000,
            max_text_bytes: 64 << 20,
            max_entry_bytes: 64 << 20,
            max_expanded_bytes: 256 << 20,
            max_ratio: 100,
            max_scan_time: std::time::Duration::from_secs(30),
        }
    }
}

/// Everything the walk found: the text to scan and the problems.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Extraction {
    /// The text, in the order met.
    pub segments: Vec<Segment>,
    /// The problems, in the order met (each limit at most once).
    pub problems: Vec<Problem>,
}

/// Takes each segment as the walk finds it (the inspection scans it at once), and hands
/// back the ones to keep in the [`Extraction`] (`None`: dropped, its text freed).
pub trait SegmentSink {
    /// One segment, in the order met.
    fn segment(&mut self, segment: Segment) -> Option<Segment>;
    /// The walk waited `by` for its input (a message still arriving): a deadline the
    /// sink keeps moves by as much.
    fn postpone(&mut self, _by: std::time::Duration) {}
}

/// Collects segments and problems while enforcing the [`Limits`] of one walk.
pub struct Collector<'l> {
    limits: &'l Limits,
    out: Extraction,
    /// Where segments go as they are found; without one, all are kept.
    sink: Option<&'l mut dyn SegmentSink>,
    /// Where large decoded parts are kept; without one, they are decoded into memory.
    store: Option<&'l mut dyn crate::hold::PartStore>,
    text_bytes: usize,
    parts: usize,
    expanded: u64,
    text_limit_hit: bool,
    parts_limit_hit: bool,
    expansion_spent: bool,
    /// When the walk must stop ([`Limits::max_scan_time`] from its start).
    deadline: Option<std::time::Instant>,
    /// The deadline passed (and was reported): nothing more is collected.
    timed_out: bool,
}

impl std::fmt::Debug for Collector<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Collector")
            .field("limits", &self.limits)
            .field("out", &self.out)
            .field("streaming", &self.sink.is_some())
            .field("holding", &self.store.is_some())
            .field("text_bytes", &self.text_bytes)
            .field("parts", &self.parts)
            .finish_non_exhaustive()
    }
}

impl<'l> Collector<'l> {
    /// A collector for one walk, with no time limit.
    pub fn new(limits: &'l Limits) -> Self {
        Self {
            limits,
            out: Extraction::default(),
            sink: None,
            store: None,
            text_bytes: 0,
            parts: 0,
            expanded: 0,
            text_limit_hit: false,
            parts_limit_hit: false,
            expansion_spent: false,
            deadline: None,
            timed_out: false,
        }
    }

    /// A collector for one walk that stops at `deadline` (the caller reads the clock, so
    /// that this stays free of it in tests).
    pub fn with_deadline(limits: &'l Limits, deadline: std::time::Instant) -> Self {
        Self {
            deadline: Some(deadline),
            ..Self::new(limits)
        }
    }

    /// Hands each segment to `sink` as it is found instead of keeping them all: the text
    /// of a large message is scanned piece by piece and freed, not held to the end.
    pub fn streaming(mut self, sink: &'l mut dyn SegmentSink) -> Self {
        self.sink = Some(sink);
        self
    }

    /// Keeps decoded parts whose encoded form is long in `store` rather than in memory.
    pub fn holding(mut self, store: &'l mut dyn crate::hold::PartStore) -> Self {
        self.store = Some(store);
        self
    }

    /// The store for large decoded parts, if the walk has one.
    pub(crate) fn store(&mut self) -> Option<&mut (dyn crate::hold::PartStore + 'l)> {
        self.store.as_deref_mut()
    }

    /// Has the deadline passed? Reported once, at `location`; from then on the walk is
    /// over ([`Self::text_exhausted`] is true).
    pub fn out_of_time(&mut self, location: &Location) -> bool {
        if self.timed_out {
            return true;
        }
        let Some(deadline) = self.deadline else {
            return false;
        };
        if std::time::Instant::now() < deadline {
            return false;
        }
        self.timed_out = true;
        let detail = format!(
            "inspection took longer than {}; the rest was not read",
            humantime::format_duration(self.limits.max_scan_time)
        );
        self.problem(location, ProblemKind::TimeLimit, detail);
        true
    }

    /// The walk waited `by` for its input (a message still arriving), which is not time
    /// spent inspecting: the deadline, and the sink's, move by as much.
    pub fn postpone(&mut self, by: std::time::Duration) {
        if let Some(deadline) = &mut self.deadline {
            *deadline = deadline.checked_add(by).unwrap_or(*deadline);
        }
        if let Some(sink) = &mut self.sink {
            sink.postpone(by);
        }
    }

    /// The limits in force.
    pub fn limits(&self) -> &'l Limits {
        self.limits
    }

    /// Adds a piece of text. Past the text budget, the text is cut (at a character
    /// boundary) and a [`ProblemKind::TextLimit`] problem is recorded once. Returns false
    /// when the budget is spent, so callers can stop extracting.
    pub fn text(&mut self, location: &Location, kind: SegmentKind, mut text: String) -> bool {
        if self.out_of_time(location) {
            return false;
        }
        if text.is_empty() {
            return !self.text_limit_hit;
        }
        let left = self.limits.max_text_bytes.saturating_sub(self.text_bytes);
        if text.len() > left {
            let mut cut = left;
            while !text.is_char_boundary(cut) {
                cut -= 1;
            }
            text.truncate(cut);
            if !self.text_limit_hit {
                self.text_limit_hit = true;
                let detail = format!(
                    "more than {} bytes of text; the rest was not scanned",
                    self.limits.max_text_bytes
                );
                self.problem(location, ProblemKind::TextLimit, detail);
            }
        }
        self.text_bytes += text.len();
        if !text.is_empty() {
            let segment = Segment {
                location: location.clone(),
                kind,
                text,
            };
            let kept = match &mut self.sink {
                Some(sink) => sink.segment(segment),
                None => Some(segment),
            };
            self.out.segments.extend(kept);
        }
        !self.text_limit_hit
    }

    /// Records a problem. Numbers in the names the detail quotes (`entry "山田_1234….csv"`)
    /// are masked ([`crate::finding::mask_numbers_in`]); sizes and limits stay readable.
    pub fn problem(&mut self, location: &Location, kind: ProblemKind, detail: impl Into<String>) {
        let detail = mask_quoted(&detail.into());
        self.out.problems.push(Problem {
            location: location.clone(),
            kind,
            detail,
        });
    }

    /// Counts one more part or archive entry at `location`. Returns false (recording
    /// [`ProblemKind::TooManyParts`] once) when the limit is passed: skip it.
    pub fn enter_part(&mut self, location: &Location) -> bool {
        if self.out_of_time(location) {
            return false;
        }
        self.parts += 1;
        if self.parts <= self.limits.max_parts {
            return true;
        }
        if !self.parts_limit_hit {
            self.parts_limit_hit = true;
            let detail = format!(
                "more than {} parts and archive entries",
                self.limits.max_parts
            );
            self.problem(location, ProblemKind::TooManyParts, detail);
        }
        false
    }

    /// Checks the nesting depth before descending into `location`. Returns false (recording
    /// [`ProblemKind::TooDeep`]) when it is deeper than the limit: do not descend.
    pub fn may_descend(&mut self, location: &Location, depth: usize) -> bool {
        if self.out_of_time(location) {
            return false;
        }
        if depth <= self.limits.max_depth {
            return true;
        }
        let detail = format!("nested deeper than {} levels", self.limits.max_depth);
        self.problem(location, ProblemKind::TooDeep, detail);
        false
    }

    /// How many more bytes archive entries may expand to in this walk.
    pub fn expansion_left(&self) -> u64 {
        self.limits.max_expanded_bytes.saturating_sub(self.expanded)
    }

    /// Accounts `bytes` of archive expansion.
    pub fn spend_expansion(&mut self, bytes: u64) {
        self.expanded = self.expanded.saturating_add(bytes);
    }

    /// Marks the walk's expansion budget as spent (and reported): nothing more is expanded,
    /// and the problem is not reported again for a later attachment.
    pub fn mark_expansion_spent(&mut self) {
        self.expansion_spent = true;
    }

    /// Has the expansion budget been spent and reported?
    pub fn expansion_spent(&self) -> bool {
        self.expansion_spent
    }

    /// Has the text budget been spent (or the time)? Extractors stop then.
    pub fn text_exhausted(&self) -> bool {
        self.text_limit_hit || self.timed_out
    }

    /// Ends the walk.
    pub fn finish(self) -> Extraction {
        self.out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations_read_as_a_path() {
        let l = Location::root()
            .child("attachment 2 \"名簿.zip\"")
            .child("社員.docx");
        assert_eq!(l.to_string(), "attachment 2 \"名簿.zip\" › 社員.docx");
        assert_eq!(l.depth(), 2);
        assert_eq!(Location::root().to_string(), "(message)");
    }

    #[test]
    fn text_past_the_budget_is_cut_at_a_char_boundary_and_reported_once() {
        let limits = Limits {
            max_text_bytes: 10,
            ..Limits::default()
        };
        let mut c = Collector::new(&limits);
        let at = Location::root().child("body");
        assert!(c.text(&at, SegmentKind::Body, "abcdefg".into()));
        // 3 bytes left; "あ" is 3 bytes, "い" would pass the budget.
        assert!(!c.text(&at, SegmentKind::Body, "あい".into()));
        assert!(!c.text(&at, SegmentKind::Body, "more".into()));
        let out = c.finish();
        let texts: Vec<&str> = out.segments.iter().map(|s| s.text.as_str()).collect();
        assert_eq!(texts, ["abcdefg", "あ"]);
        assert_eq!(out.problems.len(), 1);
        assert_eq!(out.problems[0].kind, ProblemKind::TextLimit);
    }

    #[test]
    fn parts_and_depth_are_bounded() {
        let limits = Limits {
            max_parts: 2,
            max_depth: 1,
            ..Limits::default()
        };
        let mut c = Collector::new(&limits);
        let at = Location::root();
        assert!(c.enter_part(&at));
        assert!(c.enter_part(&at));
        assert!(!c.enter_part(&at));
        assert!(!c.enter_part(&at));
        assert!(c.may_descend(&at, 1));
        assert!(!c.may_descend(&at, 2));
        let kinds: Vec<ProblemKind> = c.finish().problems.iter().map(|p| p.kind).collect();
        assert_eq!(kinds, [ProblemKind::TooManyParts, ProblemKind::TooDeep]);
    }
}
