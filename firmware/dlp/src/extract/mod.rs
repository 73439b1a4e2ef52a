//! Text out of attached files: plain text, CSV/TSV, HTML, Office documents (OOXML, ODF, a
//! strings pass over legacy OLE2 files), PDF, and the ZIP, tar and compressed files they come
//! in.
//!
//! [`extract_file`] looks at the bytes first (magic numbers: ZIP, PDF, OLE2, gzip, HTML …) and at
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
//! * `tar`: tar archives, entry by entry;
//! * `sevenz`: 7z archives, block by block;
//! * `lzh`: LZH (LHA) archives;
//! * `rar`: RAR archives' structure: names, stored entries, encryption;
//! * `compressed`: single gzip, bzip2, xz and zstd files (and so `.tar.gz` and its kin);
//! * `legacy`: legacy Office (OLE2) files: text runs and Excel number cells, encrypted
//!   OOXML packages;
//! * `bounded`: the one place where compressed data is expanded, under the bomb limits.
//!
//! Everything is bounded by the [`Collector`]'s [`crate::Limits`]: nesting depth, parts,
//! text, and expansion (per entry, per ratio and in all). Nothing here panics on input.

mod archive;
mod bounded;
mod compressed;
mod der;
pub(crate) mod directory;
mod html;
mod legacy;
mod lzh;
mod media;
mod office;
mod pdf;
mod rar;
mod rtf;
mod sevenz;
mod tar;
mod text;
mod unsupported;
mod xml;

pub use self::html::DataUrl;
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

/// [`html_to_text`], and the `data:` URLs of the HTML decoded, whose content a reader gets
/// at without any network.
pub fn html_to_text_and_data_urls(html: &str) -> (String, Vec<DataUrl>) {
    html::to_text_and_data_urls(html)
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
    Tar,
    SevenZ,
    Lzh,
    Rar,
    Pdf,
    Ole,
    /// A single compressed file.
    Compressed(compressed::Codec),
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

    /// Extracts the file `name` (an archive entry, a decompressed file, an attachment of a
    /// message file) of `bytes` at `at`, one nesting level below `depth`. False when the
    /// text budget is spent and the container should stop.
    pub(crate) fn entry_file(
        &mut self,
        at: &Location,
        name: &str,
        bytes: &[u8],
        depth: usize,
    ) -> bool {
        let file = FileRef {
            name: Some(name),
            content_type: None,
            charset: None,
            bytes,
        };
        self.file(at, &file, depth + 1);
        !self.out.text_exhausted()
    }

    /// Extracts one file (the recursion point for archive entries and embedded files).
    pub(crate) fn file(&mut self, location: &Location, file: &FileRef<'_>, depth: usize) {
        if self.out.text_exhausted() {
            return;
        }
        let cap = self.text_cap();
        match sniff(file, cap) {
            Kind::Zip => archive::extract(self, location, file.bytes, depth),
            Kind::Tar => tar::extract(self, location, file.bytes, depth),
            Kind::SevenZ => sevenz::extract(self, location, file.bytes, depth),
            Kind::Lzh => lzh::extract(self, location, file.bytes, depth),
            Kind::Rar => rar::extract(self, location, file.bytes, depth),
            Kind::Pdf => pdf::extract(self, location, file.bytes, depth),
            Kind::Ole => legacy::extract(self, location, file.bytes, depth),
            Kind::Compressed(codec) => compressed::extract(self, location, file, codec, depth),
            Kind::Html => html::extract(self, location, file.bytes, file.charset, depth),
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
/// [`RUN_DIGITS`] digits, one per line; it stops once they pass `cap` bytes.
///
/// Pictures and sound of several megabytes pass through here, and in their bytes
/// printable stretches are short: a stretch shorter than [`RUN_DIGITS`] units cannot hold
/// a number's worth of digits, so each pass looks only for [`RUN_DIGITS`] printable units
/// in a row (eight bytes at a time, then unit by unit near one) and reads the stretch from
/// there (2.4 times as fast as looking at each digit, on random bytes). A stretch longer
/// than 4096 units is cut into runs of 4096, the unit between two of them dropped (as the
/// finder this replaced did, which the tests hold it to).
pub(crate) fn digit_runs(bytes: &[u8], cap: usize) -> String {
    let mut out = String::new();
    // The UTF-16LE passes: a unit is a byte pair, printable when its high byte is zero.
    for (step, offset) in [(1, 0), (2, 0), (2, 1)] {
        let units = Units {
            bytes,
            step,
            offset,
        };
        if units.runs(cap, &mut out).is_break() {
            break;
        }
    }
    out
}

/// The top bit of each zero byte of `x`, and no other bit (no sum carries between bytes).
#[inline(always)]
fn zero_mask(x: u64) -> u64 {
    const LOW7: u64 = 0x7F7F_7F7F_7F7F_7F7F;
    !(((x & LOW7).wrapping_add(LOW7)) | x | LOW7)
}

/// The top bit of each byte of `x` that is printable ASCII (0x20 to 0x7E), and no other
/// bit (`hasbetween` of Bit Twiddling Hacks, for bytes strictly between 0x1F and 0x7F: no
/// sum or difference carries from one byte into the next, so each byte's bit is its own).
#[inline(always)]
fn printable_mask(x: u64) -> u64 {
    const ONES: u64 = 0x0101_0101_0101_0101;
    let low7 = x & (ONES * 127);
    (ONES * (127 + 0x7F)).wrapping_sub(low7)
        & !x
        & low7.wrapping_add(ONES * (127 - 0x1F))
        & (ONES * 128)
}

/// The longest run [`digit_runs`] keeps whole.
const MAX_RUN: usize = 4096;

/// The units of one pass of [`digit_runs`]: bytes (`step` 1) or byte pairs from `offset`.
struct Units<'a> {
    bytes: &'a [u8],
    step: usize,
    offset: usize,
}

impl Units<'_> {
    fn count(&self) -> usize {
        self.bytes
            .len()
            .saturating_sub(self.offset)
            .div_ceil(self.step)
    }

    /// Unit `k`'s byte when the unit is printable.
    #[inline(always)]
    fn printable(&self, k: usize) -> Option<u8> {
        let at = self.offset + self.step * k;
        let b = *self.bytes.get(at)?;
        let wide_ok = self.step == 1 || self.bytes.get(at + 1) == Some(&0);
        ((0x20..0x7F).contains(&b) && wide_ok).then_some(b)
    }

    /// The first unit from `k` on that begins [`RUN_DIGITS`] printable units in a row. A
    /// window's units are tested from its last: at the first that is not printable, no
    /// window holding it can be all printable, and the search goes on after it. So the
    /// window found is the first of its stretch. (Stretches too short are first passed
    /// eight bytes at a time.)
    fn next_window(&self, mut k: usize) -> Option<usize> {
        let n = self.count();
        k = self.skip_short_stretches(k);
        'search: while k.saturating_add(RUN_DIGITS) <= n {
            for j in (k..k + RUN_DIGITS).rev() {
                if self.printable(j).is_none() {
                    k = j + 1;
                    continue 'search;
                }
            }
            return Some(k);
        }
        None
    }

    /// Where, from unit `from` on, [`RUN_DIGITS`] printable units in a row may first
    /// begin: no such window begins before it. Eight bytes (eight or four units) at a
    /// time, counting the printable units in a row that end at each word's end (a run
    /// inside one word is too short); the rest is left to the unit-by-unit search.
    fn skip_short_stretches(&self, from: usize) -> usize {
        // The top bit of each unit's first byte.
        const BYTES: u64 = 0x8080_8080_8080_8080;
        const PAIRS: u64 = 0x0080_0080_0080_0080;
        let (lanes, per, bits) = if self.step == 1 {
            (BYTES, 8, 8)
        } else {
            (PAIRS, 4, 16)
        };
        let start = self.offset + self.step * from;
        let mut base = from;
        // Printable units in a row ending at `base`.
        let mut run = 0;
        for word in self.bytes.get(start..).unwrap_or_default().chunks_exact(8) {
            let mut eight = [0u8; 8];
            eight.copy_from_slice(word);
            let x = u64::from_le_bytes(eight);
            let printable = if self.step == 1 {
                printable_mask(x)
            } else {
                printable_mask(x) & (zero_mask(x) >> 8)
            };
            let not = !printable & lanes;
            if not == 0 {
                run += per;
            } else {
                // Printable units at the word's start (its low bytes), then at its end.
                let lead = (not.trailing_zeros() / bits) as usize;
                if run + lead >= RUN_DIGITS {
                    return base - run;
                }
                run = ((not.leading_zeros() + 8 - bits) / bits) as usize;
            }
            if run >= RUN_DIGITS {
                return base + per - run;
            }
            base += per;
        }
        base - run
    }

    /// Appends this pass's runs to `out`; `Break` once `out` passes `cap`.
    fn runs(&self, cap: usize, out: &mut String) -> std::ops::ControlFlow<()> {
        let n = self.count();
        let mut k = 0;
        while let Some(window) = self.next_window(k) {
            // The printable stretch from the window, which is its first (see `next_window`).
            let start = window;
            let mut end = window + RUN_DIGITS;
            while end < n && self.printable(end).is_some() {
                end += 1;
            }
            let mut run = start;
            while run < end {
                let stop = (run + MAX_RUN).min(end);
                let text = (run..stop).filter_map(|j| self.printable(j));
                if text.clone().filter(u8::is_ascii_digit).count() >= RUN_DIGITS {
                    out.extend(text.map(char::from));
                    out.push('\n');
                    if out.len() > cap {
                        return std::ops::ControlFlow::Break(());
                    }
                }
                // The unit after a full run is dropped.
                run = stop + 1;
            }
            k = end;
        }
        std::ops::ControlFlow::Continue(())
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
    if let Some(codec) = compressed::Codec::sniff(bytes) {
        return Kind::Compressed(codec);
    }
    if bytes.starts_with(sevenz::MAGIC) {
        return Kind::SevenZ;
    }
    if rar::looks_like_rar(bytes) {
        return Kind::Rar;
    }
    if lzh::looks_like_lzh(bytes) {
        return Kind::Lzh;
    }
    if tar::looks_like_tar(bytes) {
        return Kind::Tar;
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
        Some("htm" | "html" | "xhtml") => return Kind::Html,
        Some("xml") => return Kind::Xml,
        _ => {}
    }
    if let Some(codec) = compressed::Codec::named(ext, ctype) {
        return Kind::Compressed(codec);
    }
    match ctype {
        "application/zip" | "application/x-zip-compressed" => return Kind::Zip,
        "application/pdf" => return Kind::Pdf,
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
