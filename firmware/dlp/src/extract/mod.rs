//! Text out of attached files: plain text, CSV/TSV, HTML, Office documents (OOXML, ODF, a
//! strings pass over legacy OLE2 files), PDF, and the ZIP and gzip archives they come in.
//!
//! [`extract_file`] looks at the bytes first (magic numbers: ZIP, PDF, OLE2, gzip, HTML) and at
//! the name and declared type only when the bytes do not tell; each format has a module of
//! its own:
//!
//! * `text`: plain text and CSV/TSV, every plausible charset reading (UTF-16 by BOM or by
//!   its NUL pattern);
//! * `html`: [`html_to_text`];
//! * `archive`: ZIP archives, entry by entry, recursing into what they hold;
//! * `office`: OOXML (DOCX, XLSX, PPTX) and ODF (ODT, ODS, ODP) packages, through `xml`;
//! * `pdf`: a small PDF text extractor of its own (content streams, ToUnicode CMaps);
//! * `rtf`: RTF with its Shift_JIS and Unicode escapes decoded;
//! * `gzip`: a single-member `.gz`;
//! * `legacy`: legacy Office (OLE2) files: text runs and Excel number cells, encrypted
//!   OOXML packages;
//! * `bounded`: the one place where compressed data is expanded, under the bomb limits.
//!
//! Everything is bounded by the [`Collector`]'s [`crate::Limits`]: nesting depth, parts,
//! text, and expansion (per entry, per ratio and in all). Nothing here panics on input.

mod archive;
mod bounded;
mod der;
pub(crate) mod directory;
mod gzip;
mod html;
mod legacy;
mod media;
mod office;
mod pdf;
mod rtf;
mod text;
mod unsupported;
mod xml;

use crate::content::{Collector, Location, ProblemKind};

/// A file to look into: an attachment, an archive entry, or a file given to `mamori dlp scan`.
#[derive(Clone, Copy, Debug)]
pub struct FileRef<'a> {
    /// Its name, if known (MIME filename, archive entry path, path on disk).
    pub name: Option<&'a str>,
    /// Its declared MIME type such as `application/pdf`, lower case, if known.
    pub content_type: Option<&'a str>,
    /// Its declared charset, if any.
    pub charset: Option<&'a str>,
    /// Its content, transfer encoding already undone.
    pub bytes: &'a [u8],
}

/// Extracts the text of `file` into `out` at `location` (which already names the file).
/// `depth` is the nesting depth of `location`, checked with [`Collector::may_descend`]
/// before descending into archives.
pub fn extract_file(
    out: &mut Collector<'_>,
    location: &Location,
    file: &FileRef<'_>,
    depth: usize,
) {
    let mut walk = Walk::new(out);
    walk.file(location, file, depth);
}

/// What a program shows of text where that differs from the text itself (a vCard's or an
/// iCalendar's properties unfolded and decoded, formulas that glue digits evaluated): extra
/// readings to scan beside the text.
pub fn shown_forms(text: &str) -> Vec<String> {
    text::shown_forms(text)
}

/// The text a reader sees in an HTML document: tags and comments removed, character
/// references decoded, block elements on lines of their own, scripts and styles dropped.
pub fn html_to_text(html: &str) -> String {
    html::to_text(html)
}

/// The walk of one file (and everything inside it): the collector, and what was already
/// reported about the expansion budget so that it is reported once.
pub(crate) struct Walk<'c, 'l> {
    /// Where text and problems go.
    pub(crate) out: &'c mut Collector<'l>,
}

/// What a file is, as far as extraction goes.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Kind {
    Zip,
    Pdf,
    Ole,
    Gzip,
    Html,
    Rtf,
    Xml,
    Text,
    /// An RFC 5322 message (an `.eml` sent as a plain file): walked as one.
    Message,
    /// Media whose structure walks from start to end.
    Media(media::Media),
    /// ASN.1: S/MIME, certificates.
    Asn1(der::Asn1),
    /// A format recognised and not read (its name), or binary data of no known format.
    Unsupported(Option<&'static str>),
}

impl<'c, 'l> Walk<'c, 'l> {
    fn new(out: &'c mut Collector<'l>) -> Self {
        Self { out }
    }

    /// The most text one extractor builds up before handing it over: the text budget of the
    /// whole walk (the collector cuts what passes it).
    pub(crate) fn text_cap(&self) -> usize {
        self.out.limits().max_text_bytes
    }

    /// Extracts one file (the recursion point for archive entries and embedded files).
    pub(crate) fn file(&mut self, location: &Location, file: &FileRef<'_>, depth: usize) {
        if self.out.text_exhausted() {
            return;
        }
        let cap = self.text_cap();
        match sniff(file, cap) {
            Kind::Zip => archive::extract(self, location, file.bytes, depth),
            Kind::Pdf => pdf::extract(self, location, file.bytes, depth),
            Kind::Ole => legacy::extract(self, location, file.bytes),
            Kind::Gzip => gzip::extract(self, location, file, depth),
            Kind::Html => html::extract(self, location, file.bytes, file.charset),
            Kind::Rtf => rtf::extract(self, location, file.bytes),
            Kind::Xml => xml::extract(self, location, file.bytes, file.charset),
            Kind::Text => text::extract(self, location, file.bytes, file.charset),
            Kind::Message => {
                if self.out.may_descend(location, depth + 1) {
                    crate::mime::walk_message_at(file.bytes, location, depth + 1, self.out);
                }
            }
            Kind::Media(found) => self.media(location, file, found, depth),
            Kind::Asn1(found) => self.asn1(location, found, depth),
            Kind::Unsupported(name) => unsupported::extract(self, location, file.bytes, name),
        }
    }

    /// Media: what a viewer shows of its metadata is scanned, and whatever follows the
    /// media's end (a ZIP or text glued after an image) is read as a file of its own.
    /// Media inside an archive does not use up the archive's expansion budget.
    fn media(
        &mut self,
        location: &Location,
        file: &FileRef<'_>,
        found: media::Media,
        depth: usize,
    ) {
        for text in found.text {
            if !push_text(self, location, text) {
                return;
            }
        }
        // A well-formed file may still carry text in its samples or private chunks: runs
        // of printable text with a number's worth of digits in them are scanned too (in
        // image or sound data they do not occur by chance).
        let runs = digit_runs(file.bytes, self.text_cap());
        if !runs.is_empty() && !push_text(self, location, runs) {
            return;
        }
        if let Some(trailing) = found.trailing
            && let Some(rest) = file.bytes.get(trailing)
        {
            let at = location.child(format!("after the {} data", found.format));
            if self.out.enter_part(&at) && self.out.may_descend(&at, depth + 1) {
                let rest = FileRef {
                    name: None,
                    content_type: None,
                    charset: None,
                    bytes: rest,
                };
                self.file(&at, &rest, depth + 1);
            }
        }
    }

    /// S/MIME and certificates: strings scanned, a signed message's content read, an
    /// encrypted one reported.
    fn asn1(&mut self, location: &Location, found: der::Asn1, depth: usize) {
        if found.encrypted {
            self.out.problem(
                location,
                ProblemKind::Encrypted,
                "an encrypted S/MIME message: its content cannot be inspected",
            );
        }
        if !push_text(self, location, found.text) {
            return;
        }
        if let Some(content) = found.content {
            let at = location.child("signed content");
            if self.out.enter_part(&at) && self.out.may_descend(&at, depth + 1) {
                let inner = FileRef {
                    name: None,
                    content_type: None,
                    charset: None,
                    bytes: &content,
                };
                self.file(&at, &inner, depth + 1);
            }
        }
    }
}

/// The fewest digits a printable run of binary data needs for [`digit_runs`] to keep it.
const RUN_DIGITS: usize = 10;

/// The runs of printable ASCII (and of ASCII as UTF-16LE) in `bytes` that hold at least
/// [`RUN_DIGITS`] digits, one per line, at most about `cap` bytes in all.
///
/// Pictures and sound of several megabytes pass through here: each pass is one loop over
/// the bytes (or byte pairs) with a table for the class of a byte, no bounds checks.
fn digit_runs(bytes: &[u8], cap: usize) -> String {
    let mut out = String::new();
    // The UTF-16LE passes: a unit is a byte pair, printable when its high byte is zero.
    let passes: [(usize, usize); 3] = [(1, 0), (2, 0), (2, 1)];
    for (step, offset) in passes {
        let units = bytes.get(offset..).unwrap_or_default();
        let mut run = RunState::default();
        let done = if step == 1 {
            units
                .iter()
                .enumerate()
                .try_for_each(|(k, &b)| run.unit(b, offset + k, bytes, step, cap, &mut out))
        } else {
            units.chunks(2).enumerate().try_for_each(|(k, pair)| {
                let b = match pair {
                    [b, 0] => *b,
                    _ => 0,
                };
                run.unit(b, offset + 2 * k, bytes, step, cap, &mut out)
            })
        };
        if done.is_break() {
            return out;
        }
        run.flush(bytes, step, &mut out);
    }
    out
}

/// Per byte: 0 not printable, 1 printable, 2 a digit.
const RUN_CLASS: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut b = 0x20;
    while b < 0x7F {
        t[b] = if b >= 0x30 && b <= 0x39 { 2 } else { 1 };
        b += 1;
    }
    t
};

/// The printable run [`digit_runs`] is in: where it starts, its length in units (at most
/// 4096) and its digits.
#[derive(Default)]
struct RunState {
    start: usize,
    len: usize,
    digits: usize,
}

impl RunState {
    /// One unit (a byte, or the low byte of a pair; 0 when not printable) at `at`.
    #[inline(always)]
    fn unit(
        &mut self,
        b: u8,
        at: usize,
        bytes: &[u8],
        step: usize,
        cap: usize,
        out: &mut String,
    ) -> std::ops::ControlFlow<()> {
        let class = RUN_CLASS[usize::from(b)];
        if class != 0 && self.len < 4096 {
            if self.len == 0 {
                self.start = at;
            }
            self.len += 1;
            self.digits += usize::from(class >> 1);
            return std::ops::ControlFlow::Continue(());
        }
        self.flush(bytes, step, out);
        if out.len() > cap {
            return std::ops::ControlFlow::Break(());
        }
        std::ops::ControlFlow::Continue(())
    }

    /// Ends the run, keeping it (one line) if it holds enough digits.
    fn flush(&mut self, bytes: &[u8], step: usize, out: &mut String) {
        if self.digits >= RUN_DIGITS {
            let end = (self.start + self.len * step).min(bytes.len());
            out.extend(
                bytes
                    .get(self.start..end)
                    .unwrap_or_default()
                    .iter()
                    .step_by(step)
                    .map(|&b| char::from(b)),
            );
            out.push('\n');
        }
        (self.len, self.digits) = (0, 0);
    }
}

/// The lower-case extension of a file name (`"csv"` for `名簿.CSV`).
fn extension(name: Option<&str>) -> Option<String> {
    let name = name?;
    let base = name.rsplit(['/', '\\']).next().unwrap_or(name);
    let (_, ext) = base.rsplit_once('.')?;
    Some(ext.trim().to_ascii_lowercase())
}

/// Decides how to read a file: the bytes first (signatures, then structure: media must walk
/// from start to end, ASN.1 must span the file), then the name and declared type, then the
/// content (text in some charset, or binary). Nothing is skipped for its name or its first
/// bytes alone, and what is neither read nor media is [`Kind::Unsupported`] (reported).
fn sniff(file: &FileRef<'_>, cap: usize) -> Kind {
    let bytes = file.bytes;
    if bytes.starts_with(b"PK\x03\x04")
        || bytes.starts_with(b"PK\x05\x06")
        || bytes.starts_with(b"PK\x07\x08")
    {
        return Kind::Zip;
    }
    let head = bytes.get(..1024).unwrap_or(bytes);
    if find(head, b"%PDF-").is_some() {
        return Kind::Pdf;
    }
    if bytes.starts_with(&legacy::OLE_MAGIC) {
        return Kind::Ole;
    }
    if bytes.starts_with(&[0x1F, 0x8B]) {
        return Kind::Gzip;
    }
    if let Some(name) = unsupported::known_format(bytes) {
        return Kind::Unsupported(Some(name));
    }
    if let Some(found) = media::identify(bytes) {
        return Kind::Media(found);
    }
    if let Some(found) = der::read(bytes, cap) {
        return Kind::Asn1(found);
    }
    if rtf::looks_like_rtf(bytes) {
        return Kind::Rtf;
    }
    if html::looks_like_html(bytes) {
        return Kind::Html;
    }
    if crate::inspect::looks_like_message(bytes) {
        return Kind::Message;
    }
    let ext = extension(file.name);
    let ext = ext.as_deref();
    let ctype = file.content_type.unwrap_or("");
    let ctype = ctype.split(';').next().unwrap_or("").trim();
    match ext {
        Some(
            "zip" | "docx" | "docm" | "xlsx" | "xlsm" | "pptx" | "pptm" | "odt" | "ods" | "odp",
        ) => return Kind::Zip,
        Some("pdf") => return Kind::Pdf,
        Some("gz" | "tgz") => return Kind::Gzip,
        Some("htm" | "html" | "xhtml") => return Kind::Html,
        Some("xml") => return Kind::Xml,
        _ => {}
    }
    match ctype {
        "application/zip" | "application/x-zip-compressed" => return Kind::Zip,
        "application/pdf" => return Kind::Pdf,
        "application/gzip" | "application/x-gzip" => return Kind::Gzip,
        "text/html" | "application/xhtml+xml" => return Kind::Html,
        "text/xml" | "application/xml" => return Kind::Xml,
        _ => {}
    }
    if text::looks_like_text(bytes) {
        Kind::Text
    } else {
        Kind::Unsupported(None)
    }
}

/// The first position of `needle` in `haystack` (linear in practice: needles are short).
pub(crate) fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    let first = *needle.first()?;
    let mut from = 0;
    while let Some(offset) = haystack
        .get(from..)
        .and_then(|rest| rest.iter().position(|&b| b == first))
    {
        let at = from + offset;
        if haystack.get(at..at + needle.len()) == Some(needle) {
            return Some(at);
        }
        from = at + 1;
    }
    None
}

/// A name shortened for a problem detail (never the content, but names can be long).
pub(crate) fn short_name(name: &str) -> String {
    const MAX_CHARS: usize = 80;
    if name.chars().count() <= MAX_CHARS {
        return name.to_string();
    }
    let mut short: String = name.chars().take(MAX_CHARS).collect();
    short.push('…');
    short
}

/// Pushes `text` to `out` if it has anything but white space. Returns false when the text
/// budget is spent.
pub(crate) fn push_text(walk: &mut Walk<'_, '_>, location: &Location, text: String) -> bool {
    if text.trim().is_empty() {
        return !walk.out.text_exhausted();
    }
    walk.out
        .text(location, crate::content::SegmentKind::Attachment, text)
}

#[cfg(test)]
mod tests;
