//! Text out of attached files: plain text, CSV/TSV, HTML, Office documents, PDF, archives.
//!
//! INTERFACE ONLY for now (being written): the signatures below are fixed; the bodies are
//! placeholders that treat everything as text.

use crate::charset;
use crate::content::{Collector, Location, SegmentKind};

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
pub fn extract_file(out: &mut Collector<'_>, location: &Location, file: &FileRef<'_>, depth: usize) {
    let _ = depth;
    for text in charset::readings(file.bytes, file.charset) {
        if !out.text(location, SegmentKind::Attachment, text) {
            return;
        }
    }
}

/// The text a reader sees in an HTML document: tags and comments removed, character
/// references decoded, block elements on lines of their own, scripts and styles dropped.
pub fn html_to_text(html: &str) -> String {
    html.to_string()
}
