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
mod gzip;
mod html;
mod legacy;
mod office;
mod pdf;
mod rtf;
mod text;
mod xml;

use crate::content::{Collector, Location};

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
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Zip,
    Pdf,
    Ole,
    Gzip,
    Html,
    Rtf,
    Xml,
    Text,
    Binary,
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
        match sniff(file) {
            Kind::Zip => archive::extract(self, location, file.bytes, depth),
            Kind::Pdf => pdf::extract(self, location, file.bytes, depth),
            Kind::Ole => legacy::extract(self, location, file.bytes),
            Kind::Gzip => gzip::extract(self, location, file, depth),
            Kind::Html => html::extract(self, location, file.bytes, file.charset),
            Kind::Rtf => rtf::extract(self, location, file.bytes),
            Kind::Xml => xml::extract(self, location, file.bytes, file.charset),
            Kind::Text => text::extract(self, location, file.bytes, file.charset),
            Kind::Binary => {}
        }
    }
}

/// The lower-case extension of a file name (`"csv"` for `名簿.CSV`).
fn extension(name: Option<&str>) -> Option<String> {
    let name = name?;
    let base = name.rsplit(['/', '\\']).next().unwrap_or(name);
    let (_, ext) = base.rsplit_once('.')?;
    Some(ext.trim().to_ascii_lowercase())
}

/// Decides how to read a file: magic bytes first, then the content, then name and type.
fn sniff(file: &FileRef<'_>) -> Kind {
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
    if rtf::looks_like_rtf(bytes) {
        return Kind::Rtf;
    }
    if html::looks_like_html(bytes) {
        return Kind::Html;
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
        Kind::Binary
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
