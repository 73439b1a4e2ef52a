//! Legacy Office files and everything else in an OLE2 compound file (`.doc`, `.xls`,
//! `.ppt`, Outlook's `.msg`, a password-protected OOXML document), opened with `cfb` so
//! that every stream is read whole, whatever sectors it is scattered over (`streams`:
//! names without case, at most 4096 streams and four times the file's size read, each
//! limit said when reached):
//!
//! * encryption is decided from the structure, wherever it is (the file itself, an
//!   embedded object, an attachment): an `EncryptedPackage` stream (an encrypted OOXML
//!   document), Excel's `FILEPASS` record, Word's `fEncrypted` flag in the FIB,
//!   PowerPoint's `EncryptedSummary` stream, encrypted `Current User` token or
//!   `CryptSession10Container`. An encrypted document is reported
//!   [`ProblemKind::Encrypted`] and its encrypted streams left alone; the other streams
//!   are still read, so that a marker cannot hide the rest of a file;
//! * Excel workbooks are read record by record (`biff`): shared strings, cells, numbers in
//!   full, formula results, sheet names, headers, comments (a BIFF5 workbook of Excel 95
//!   by the strings pass);
//! * Word documents through their piece table (`word`): the text in document order,
//!   whatever pieces a fast save left it in, UTF-16 and 8-bit alike, fields' results in
//!   place and their codes apart; a piece table that does not hold together is said;
//! * PowerPoint presentations record by record (`ppt`): every text atom of slides,
//!   masters, layouts, notes and text boxes, and embedded objects (a workbook in a slide)
//!   as files of their own; the strings of every other record (WordArt and alt text in
//!   shape properties) and of whatever the walk could not place;
//! * Outlook messages property by property (`msg`): strings by their type and the
//!   message's code page, the compressed RTF and the HTML body through their readers,
//!   attachments as files under their names, and a message attached to a message as a
//!   part of its own, read the same way;
//! * wherever they are (an embedded object's storage too), Word and Excel streams are
//!   read as above, an OLE package (`\x01Ole10Native`) as the file it holds, and a stream
//!   that is a whole file (an embedded DOCX's `Package`, a PDF's `CONTENTS`) as that file;
//! * every other stream (properties, a Word 95 document) goes through a strings pass: runs
//!   of UTF-16LE text (Japanese documents keep their text so), runs of printable ASCII, and
//!   Excel `NUMBER` records.
//!
//! A file with the OLE2 signature that `cfb` cannot open is unreadable; its strings are
//! scanned all the same.

mod biff;
mod msg;
mod ppt;
mod streams;
mod word;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use self::msg::Property;
use self::streams::{MAX_STREAMS, READ_FACTOR, Streams, lower_name};
use super::bounded::{self, Expanded};
use super::{FileRef, Walk, push_text, short_name};
use crate::content::{Location, ProblemKind};

/// The OLE2 compound file signature.
pub(crate) const OLE_MAGIC: [u8; 8] = [0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1];

/// The shortest run of characters kept.
const MIN_RUN: usize = 4;

/// Word's FIB flag `fEncrypted` (the flags word at offset 0x0A).
const WORD_ENCRYPTED: u16 = 0x0100;

/// Streams that hold an encrypted document's content, lower case: not read once their
/// storage is known to be encrypted (the other streams still are).
const ENCRYPTED_CONTENT: [&str; 9] = [
    "encryptedpackage",
    "encryptioninfo",
    "encryptedsummary",
    "worddocument",
    "1table",
    "0table",
    "data",
    "powerpoint document",
    "workbook",
];

/// The PowerPoint `Current User` header token of an encrypted presentation.
const PPT_ENCRYPTED_TOKEN: [u8; 4] = 0xF3D1_C4DFu32.to_le_bytes();

/// Extracts an OLE2 compound file at `location` (nesting depth `depth`).
pub(crate) fn extract(walk: &mut Walk<'_, '_>, location: &Location, bytes: &[u8], depth: usize) {
    let cap = walk.text_cap();
    let mut streams = match Streams::open(bytes) {
        Ok(streams) => streams,
        Err(error) => {
            let detail =
                format!("damaged OLE2 compound file ({error}); only its strings were scanned");
            walk.out.problem(location, ProblemKind::Unreadable, detail);
            push_text(walk, location, strings(bytes, cap));
            return;
        }
    };
    if streams.truncated {
        let detail = format!("more than {MAX_STREAMS} streams; the rest were not read");
        walk.out.problem(location, ProblemKind::Unreadable, detail);
    }
    let locked = encrypted_storages(&mut streams);
    let mut reported: Vec<PathBuf> = Vec::new();
    // Text is kept per part: the file itself, and each message or object attached to an
    // Outlook message inside it.
    let mut parts = vec![Part {
        at: location.clone(),
        depth,
        text: String::new(),
    }];
    let mut scopes: HashMap<PathBuf, Option<usize>> = HashMap::new();
    let mut charsets: HashMap<PathBuf, Option<String>> = HashMap::new();
    let mut found_any = false;
    let mut total = 0usize;
    let paths = streams.paths.clone();
    for path in &paths {
        if total > cap || walk.out.text_exhausted() || walk.out.out_of_time(location) {
            break;
        }
        let mut slot = Some(0usize);
        for scope in msg::attachment_scopes(path) {
            let outer = slot;
            slot = match scopes.get(scope) {
                Some(known) => *known,
                None => {
                    let entered = outer.and_then(|outer| {
                        let label = msg::attachment_label(scope, &mut streams);
                        let at = parts[outer].at.child(label);
                        let level = parts[outer].depth + 1;
                        let allowed = walk.out.enter_part(&at) && walk.out.may_descend(&at, level);
                        allowed.then(|| {
                            parts.push(Part {
                                at,
                                depth: level,
                                text: String::new(),
                            });
                            parts.len() - 1
                        })
                    });
                    scopes.insert(scope.to_path_buf(), entered);
                    entered
                }
            };
        }
        let Some(slot) = slot else {
            continue;
        };
        let (at, level) = (parts[slot].at.clone(), parts[slot].depth);
        let name = lower_name(path);
        let storage = path.parent().unwrap_or(Path::new("/"));
        // An encrypted document here: said once, its encrypted streams left alone, the
        // others read (a marker alone must not hide the rest of the file).
        if let Some((_, what)) = locked.iter().find(|(s, _)| s == storage) {
            if !reported.iter().any(|s| s == storage) {
                reported.push(storage.to_path_buf());
                report_encrypted(walk, &at, path, what);
            }
            if ENCRYPTED_CONTENT.contains(&name.as_str()) {
                continue;
            }
        }
        let data = streams.read(path);
        if data.is_empty() {
            continue;
        }
        let left = cap.saturating_sub(total);
        let found = match (name.as_str(), msg::property(&name)) {
            ("workbook" | "book", _) => {
                let book = biff::read(&data, left);
                if book.encrypted {
                    reported.push(storage.to_path_buf());
                    report_encrypted(walk, &at, path, "Excel workbook (FILEPASS)");
                    continue;
                }
                if book.not_biff8 {
                    strings(&data, left)
                } else {
                    book.text
                }
            }
            ("worddocument", _) => {
                let table = word::table_stream(&data)
                    .and_then(|table| streams.find(storage, table))
                    .map(|table| streams.read(&table));
                match table.and_then(|table| word::text(&data, &table, left)) {
                    Some(text) => text,
                    None => {
                        if word::table_stream(&data).is_some() {
                            // A Word 97+ document whose piece table does not hold together:
                            // what Word shows is not known.
                            walk.out.problem(
                                &at,
                                ProblemKind::Unreadable,
                                "a Word document whose piece table does not hold together; only its strings were scanned",
                            );
                        }
                        strings(&data, left)
                    }
                }
            }
            ("powerpoint document", _) => {
                let presentation = ppt::read(&data, left);
                if presentation.encrypted {
                    reported.push(storage.to_path_buf());
                    report_encrypted(walk, &at, path, "PowerPoint presentation");
                    continue;
                }
                for (index, (object, compressed)) in presentation.objects.iter().enumerate() {
                    found_any = true;
                    let object_at = at.child(format!("embedded object {}", index + 1));
                    if !(walk.out.enter_part(&object_at)
                        && walk.out.may_descend(&object_at, level + 1))
                    {
                        continue;
                    }
                    if let Some(bytes) = embedded_object(walk, &object_at, object, *compressed)
                        && !walk.entry_file(&object_at, "object", &bytes, level)
                    {
                        return;
                    }
                }
                let mut text = if presentation.unstructured {
                    strings(&data, left)
                } else {
                    presentation.text
                };
                // What was not read as text atoms (shape properties with WordArt and alt
                // text, unknown records, what lies past a break or a limit): its strings.
                for other in presentation.other {
                    text.push_str(&strings(other, left.saturating_sub(text.len())));
                }
                text
            }
            ("\u{1}ole10native", _) if let Some(package) = ole10_native(&data) => {
                // An OLE package (a file embedded in a document "as an icon"): the file.
                found_any = true;
                let file_name = short_name(&package.label);
                let package_at = at.child(format!("package {file_name}"));
                if walk.out.enter_part(&package_at) && walk.out.may_descend(&package_at, level + 1)
                {
                    walk.entry_file(&package_at, &package.label, package.data, level);
                }
                continue;
            }
            (_, Some(Property::AttachmentData)) => {
                // An Outlook attachment: a file of its own.
                found_any = true;
                let label = msg::attachment_label(storage, &mut streams);
                let file_at = at.child(label.clone());
                if walk.out.enter_part(&file_at) && walk.out.may_descend(&file_at, level + 1) {
                    walk.entry_file(&file_at, &label, &data, level);
                }
                continue;
            }
            (_, Some(Property::CompressedRtf)) => {
                found_any = true;
                match msg::decompress_rtf(&data, cap) {
                    Some(rtf) => {
                        let body = FileRef {
                            name: Some("body.rtf"),
                            content_type: Some("text/rtf"),
                            charset: None,
                            bytes: &rtf,
                        };
                        walk.file(&at.child("RTF body"), &body, level + 1);
                    }
                    None => walk.out.problem(
                        &at.child("RTF body"),
                        ProblemKind::Unreadable,
                        "the message's compressed RTF body is in an unknown format",
                    ),
                }
                continue;
            }
            (_, Some(property @ (Property::Html | Property::HtmlText { .. }))) => {
                // An Outlook message's HTML body, through the HTML reader.
                found_any = true;
                let charset = match property {
                    Property::HtmlText { unicode: false } => {
                        message_charset(&mut streams, &mut charsets, path)
                    }
                    _ => None,
                };
                let html = match property {
                    Property::HtmlText { unicode: true } => msg::unicode(&data).into_bytes(),
                    _ => data,
                };
                let body = FileRef {
                    name: Some("body.html"),
                    content_type: Some("text/html"),
                    charset: charset.as_deref(),
                    bytes: &html,
                };
                walk.file(&at.child("HTML body"), &body, level + 1);
                continue;
            }
            (_, Some(Property::Unicode)) => msg::unicode(&data),
            (_, Some(Property::Ansi)) => {
                let charset = message_charset(&mut streams, &mut charsets, path);
                // Each NUL-separated piece, in every reading (what follows a NUL too).
                data.split(|&b| b == 0)
                    .filter(|piece| !piece.is_empty())
                    .flat_map(|piece| crate::charset::readings(piece, charset.as_deref()))
                    .collect::<Vec<_>>()
                    .join("\n")
            }
            (_, Some(Property::Lengths)) => continue,
            _ if embedded_file(&data) => {
                // A whole file kept in a stream (an OOXML document or a PDF embedded in a
                // document, `Package` or `CONTENTS`): read as the file it is.
                found_any = true;
                let file_at = at.child(format!("stream {}", short_name(&name)));
                if walk.out.enter_part(&file_at) && walk.out.may_descend(&file_at, level + 1) {
                    walk.entry_file(&file_at, &name, &data, level);
                }
                continue;
            }
            _ => strings(&data, left),
        };
        found_any |= !found.trim().is_empty();
        total += found.len();
        parts[slot].text.push_str(&found);
        parts[slot].text.push('\n');
    }
    if streams.spent {
        let detail = format!(
            "its streams would read more than {READ_FACTOR} times the file's size (streams that share sectors); the rest were not read"
        );
        walk.out.problem(location, ProblemKind::Unreadable, detail);
    }
    if !found_any {
        if reported.is_empty() {
            walk.out.problem(
                location,
                ProblemKind::Unreadable,
                "legacy Office format not inspected (no text found)",
            );
        }
        return;
    }
    for part in parts {
        if !push_text(walk, &part.at, part.text) {
            return;
        }
    }
}

/// The storages that hold an encrypted document, and what kind: an encrypted OOXML package
/// (`EncryptionInfo`, `EncryptedPackage`), a PowerPoint presentation (`EncryptedSummary`,
/// or a `Current User` stream with the encrypted token), a Word document (`fEncrypted` in
/// the FIB). Wherever they are: at the root, or in an embedded object or an attachment.
fn encrypted_storages(streams: &mut Streams<'_>) -> Vec<(PathBuf, &'static str)> {
    let mut locked: Vec<(PathBuf, &'static str)> = Vec::new();
    for path in streams.paths.clone() {
        let what = match lower_name(&path).as_str() {
            "encryptedpackage" | "encryptioninfo" => {
                Some("Office document (an encrypted OOXML package)")
            }
            "encryptedsummary" => Some("PowerPoint presentation"),
            "current user" => current_user_encrypted(&streams.head(&path, 64))
                .then_some("PowerPoint presentation"),
            "worddocument" => word_encrypted(&streams.head(&path, 0x0C)).then_some("Word document"),
            _ => None,
        };
        let storage = path.parent().unwrap_or(Path::new("/")).to_path_buf();
        if let Some(what) = what
            && !locked.iter().any(|(s, _)| *s == storage)
        {
            locked.push((storage, what));
        }
    }
    locked
}

/// Does a PowerPoint `Current User` stream carry the encrypted header token? The token is
/// 12 bytes into its `CurrentUserAtom` (type 0x0FF6), which starts the stream; found by
/// its type near the start, should a writer put something before it.
fn current_user_encrypted(head: &[u8]) -> bool {
    (0..head.len().saturating_sub(16)).any(|at| {
        head.get(at + 2..at + 4) == Some(&[0xF6, 0x0F])
            && head.get(at + 12..at + 16) == Some(&PPT_ENCRYPTED_TOKEN)
    })
}

/// The charset of the message the stream at `path` belongs to (from its property stream),
/// looked up once per message.
fn message_charset(
    streams: &mut Streams<'_>,
    charsets: &mut HashMap<PathBuf, Option<String>>,
    path: &Path,
) -> Option<String> {
    let message = msg::message_of(path).to_path_buf();
    if let Some(known) = charsets.get(&message) {
        return known.clone();
    }
    let props = streams
        .find(&message, msg::PROPERTIES)
        .map(|props| streams.read(&props))
        .unwrap_or_default();
    let charset = msg::charset(&props, message == Path::new("/"));
    charsets.insert(message, charset.clone());
    charset
}

/// Does a stream hold a whole file of a format read on its own (ZIP, as OOXML documents
/// are; PDF; a compound file; RTF)?
fn embedded_file(data: &[u8]) -> bool {
    data.starts_with(b"PK\x03\x04")
        || data.starts_with(b"%PDF-")
        || data.starts_with(&OLE_MAGIC)
        || data.starts_with(b"{\\rtf")
}

/// The text of one part of a compound file: the file itself, or a message or object
/// attached to an Outlook message inside it.
struct Part {
    /// Where it is.
    at: Location,
    /// Its nesting depth.
    depth: usize,
    /// Its text so far.
    text: String,
}

/// Does a `WordDocument` stream's FIB say the document is encrypted?
fn word_encrypted(stream: &[u8]) -> bool {
    stream
        .get(0x0A..0x0C)
        .is_some_and(|flags| u16::from_le_bytes([flags[0], flags[1]]) & WORD_ENCRYPTED != 0)
}

/// Reports an encrypted document in a compound file: at the part `at` when the stream
/// `path` is at its top (the file itself, or an attached message's or object's storage),
/// else at the storage that holds it (an embedded object).
fn report_encrypted(walk: &mut Walk<'_, '_>, at: &Location, path: &Path, what: &str) {
    let storage = path.parent().unwrap_or(Path::new("/"));
    let top = storage.parent().is_none() || lower_name(storage) == msg::EMBEDDED;
    let detail = format!("password-protected {what}: its content cannot be inspected");
    let place = if top {
        at.clone()
    } else {
        at.child(
            storage
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or("embedded object"),
        )
    };
    walk.out.problem(&place, ProblemKind::Encrypted, detail);
}

/// The compound file of a PowerPoint embedded object: as stored, or inflated (after its
/// 4-byte size) under the bomb limits. `None` when the limits stop it.
fn embedded_object(
    walk: &mut Walk<'_, '_>,
    at: &Location,
    object: &[u8],
    compressed: bool,
) -> Option<Vec<u8>> {
    if !compressed {
        return Some(object.to_vec());
    }
    let data = object.get(4..).unwrap_or_default();
    let reader = flate2::read::ZlibDecoder::new(data);
    let size = u64::try_from(data.len()).unwrap_or(u64::MAX);
    match bounded::expand(walk, at, "embedded object", reader, size) {
        Expanded::Done(bytes) => Some(bytes),
        Expanded::Broken(bytes, why) => {
            let detail = format!("embedded object is damaged ({why}); what came before was read");
            walk.out.problem(at, ProblemKind::Unreadable, detail);
            Some(bytes)
        }
        Expanded::Bomb => None,
    }
}

/// A file embedded by the OLE packager (the `\x01Ole10Native` stream).
struct Package<'a> {
    /// Its name as the package shows it (the label, else the file name of its path).
    label: String,
    /// Its bytes.
    data: &'a [u8],
}

/// Reads an `\x01Ole10Native` stream: its size, a type, the label and the original path
/// (NUL-terminated, in the writer's code page), an unknown word, the temporary path with
/// its length, then the data with its length.
fn ole10_native(stream: &[u8]) -> Option<Package<'_>> {
    fn cstring(bytes: &[u8], at: &mut usize) -> Option<Vec<u8>> {
        let rest = bytes.get(*at..)?;
        let nul = rest.iter().position(|&b| b == 0)?;
        *at += nul + 1;
        Some(rest.get(..nul)?.to_vec())
    }
    fn u32_at(bytes: &[u8], at: &mut usize) -> Option<usize> {
        let value = u32::from_le_bytes(bytes.get(*at..*at + 4)?.try_into().ok()?);
        *at += 4;
        usize::try_from(value).ok()
    }
    let mut at = 4; // the size of what follows
    at += 2; // the type
    let label = cstring(stream, &mut at)?;
    let path = cstring(stream, &mut at)?;
    at += 4; // unknown (0x00030000)
    let temp_len = u32_at(stream, &mut at)?;
    at = at.checked_add(temp_len)?;
    let data_len = u32_at(stream, &mut at)?;
    let data = stream.get(at..at.checked_add(data_len)?)?;
    let label = if label.is_empty() {
        path.rsplit(|&b| b == b'\\' || b == b'/')
            .next()
            .unwrap_or(&path)
            .to_vec()
    } else {
        label
    };
    let label = crate::charset::readings(&label, None)
        .into_iter()
        .next()
        .unwrap_or_default();
    Some(Package { label, data })
}

/// Is this UTF-16 code unit a character of Japanese or ASCII text?
fn texty(unit: u16) -> bool {
    matches!(unit,
        0x20..=0x7E
        | 0x3000..=0x30FF // CJK punctuation, kana
        | 0x4E00..=0x9FFF // CJK ideographs
        | 0xFF01..=0xFF9F // full-width forms, half-width kana
        | 0x2010..=0x2015 // dashes
    )
}

/// UTF-16LE runs, ASCII runs and Excel numbers, one per line, at most about `cap` bytes.
pub(crate) fn strings(bytes: &[u8], cap: usize) -> String {
    let mut out = String::new();
    // UTF-16LE runs, at both alignments.
    for start in 0..2 {
        let mut run = String::new();
        let mut count = 0usize;
        for pair in bytes.get(start..).unwrap_or_default().chunks_exact(2) {
            let unit = match pair {
                [lo, hi] => u16::from_le_bytes([*lo, *hi]),
                _ => 0,
            };
            if texty(unit)
                && let Some(c) = char::from_u32(u32::from(unit))
            {
                run.push(c);
                count += 1;
                continue;
            }
            flush(&mut out, &mut run, &mut count, plausible_utf16);
            if out.len() > cap {
                return out;
            }
        }
        flush(&mut out, &mut run, &mut count, plausible_utf16);
    }
    // 8-bit ASCII runs.
    let mut run = String::new();
    let mut count = 0usize;
    for &b in bytes {
        if (0x20..0x7F).contains(&b) {
            run.push(char::from(b));
            count += 1;
            continue;
        }
        flush(&mut out, &mut run, &mut count, |_| true);
        if out.len() > cap {
            return out;
        }
    }
    flush(&mut out, &mut run, &mut count, |_| true);
    // Excel NUMBER records: type 0x0203, length 14, row, column, XF, IEEE double.
    let mut from = 0;
    while let Some(offset) = bytes
        .get(from..)
        .and_then(|rest| super::find(rest, &[0x03, 0x02, 0x0E, 0x00]))
    {
        let at = from + offset;
        from = at + 1;
        let Some(raw) = bytes.get(at + 10..at + 18) else {
            break;
        };
        let Ok(raw) = <[u8; 8]>::try_from(raw) else {
            break;
        };
        let value = f64::from_le_bytes(raw);
        if value.is_finite() && value.fract() == 0.0 && value.abs() >= 1000.0 && value.abs() < 1e20
        {
            out.push_str(&format!("{value:.0}\n"));
            if out.len() > cap {
                return out;
            }
        }
    }
    out
}

/// Is a run of UTF-16LE code units real text rather than 8-bit text read two bytes at a
/// time (every unit two printable ASCII bytes) or UTF-16 read one byte off (every unit
/// ending in a NUL)? Half the units looking like either is taken for an artefact.
fn plausible_utf16(run: &str) -> bool {
    let printable = |b: u32| (0x20..0x7F).contains(&b);
    let mut units = 0usize;
    let mut artefacts = 0usize;
    for c in run.chars() {
        let unit = u32::from(c);
        units += 1;
        let (hi, lo) = (unit >> 8, unit & 0xFF);
        if hi != 0 && ((printable(hi) && printable(lo)) || lo == 0) {
            artefacts += 1;
        }
    }
    artefacts * 2 < units
}

/// Ends a run: keeps it (on a line of its own) if long enough and `keep` agrees.
fn flush(out: &mut String, run: &mut String, count: &mut usize, keep: impl Fn(&str) -> bool) {
    if *count >= MIN_RUN && keep(run) {
        out.push_str(run);
        out.push('\n');
    }
    run.clear();
    *count = 0;
}

#[cfg(test)]
mod tests {
    use std::io::{Cursor, Write};

    use super::*;
    use crate::content::{Collector, Limits};

    /// A compound file of `streams` (path, data), written by `cfb`.
    fn compound(streams: &[(&str, &[u8])]) -> Vec<u8> {
        let mut file = cfb::CompoundFile::create(Cursor::new(Vec::new())).unwrap();
        for (path, data) in streams {
            if let Some(parent) = Path::new(path).parent()
                && parent != Path::new("/")
                && !file.exists(parent)
            {
                file.create_storage_all(parent).unwrap();
            }
            let mut stream = file.create_stream(path).unwrap();
            stream.write_all(data).unwrap();
        }
        file.flush().unwrap();
        file.into_inner().into_inner()
    }

    fn run(bytes: &[u8]) -> crate::content::Extraction {
        let limits = Limits::default();
        let mut out = Collector::new(&limits);
        let mut walk = Walk::new(&mut out);
        extract(&mut walk, &Location::root().child("a"), bytes, 1);
        out.finish()
    }

    fn utf16(text: &str) -> Vec<u8> {
        text.encode_utf16().flat_map(u16::to_le_bytes).collect()
    }

    fn record(kind: u16, data: &[u8]) -> Vec<u8> {
        let mut out = kind.to_le_bytes().to_vec();
        out.extend(u16::try_from(data.len()).unwrap().to_le_bytes());
        out.extend(data);
        out
    }

    #[test]
    fn word_text_and_excel_numbers_are_found_in_streams() {
        let mut word = vec![0u8; 0x20];
        word.extend(utf16("個人番号：１２３４ ５６７８ ９０１８"));
        // Spread over many sectors: the stream is read whole all the same.
        word.extend(vec![0u8; 20_000]);
        word.extend(b"\x00\x00plain ascii 0312345678\x00");
        let mut number = 0u16.to_le_bytes().to_vec();
        number.extend([0, 0, 15, 0]);
        number.extend(123_456_789_018f64.to_bits().to_le_bytes());
        let book = record(0x0203, &number);
        let result = run(&compound(&[("/WordDocument", &word), ("/Workbook", &book)]));
        assert!(result.problems.is_empty(), "{:?}", result.problems);
        let text = &result.segments[0].text;
        assert!(
            text.contains("個人番号：１２３４ ５６７８ ９０１８"),
            "{text}"
        );
        assert!(text.contains("123456789018"), "{text}");
        assert!(text.contains("plain ascii 0312345678"), "{text}");
    }

    #[test]
    fn word_text_comes_through_the_piece_table() {
        // A fast save leaves a number in two pieces, one UTF-16 and one 8-bit: a strings
        // pass sees two runs, the piece table one line.
        let (stream, table) =
            word::tests::document(&[("社員名簿\r個人番号：1234 5678", false), (" 9018\r", true)]);
        let result = run(&compound(&[
            ("/WordDocument", &stream),
            ("/1Table", &table),
        ]));
        assert!(result.problems.is_empty(), "{:?}", result.problems);
        let text = &result.segments[0].text;
        assert!(text.contains("個人番号：1234 5678 9018"), "{text}");
        // Without its table stream, the strings pass still reads what it can.
        let result = run(&compound(&[("/WordDocument", &stream)]));
        assert!(result.segments[0].text.contains("1234 5678"));
    }

    #[test]
    fn powerpoint_atoms_and_embedded_objects_are_read() {
        let (stream, table) = word::tests::document(&[("埋め込み 123456789018", false)]);
        let object = compound(&[("/WordDocument", &stream), ("/1Table", &table)]);
        let mut zlib = flate2::write::ZlibEncoder::new(
            u32::try_from(object.len()).unwrap().to_le_bytes().to_vec(),
            flate2::Compression::default(),
        );
        zlib.write_all(&object).unwrap();
        let packed = zlib.finish().unwrap();
        let mut slide = ppt::tests::chars("スライド 0312345678");
        slide.extend(ppt::tests::record(0x0010, 0x1011, &packed));
        let document = ppt::tests::record(0x000F, 0x03E8, &slide);
        let result = run(&compound(&[("/PowerPoint Document", &document)]));
        assert!(result.problems.is_empty(), "{:?}", result.problems);
        let at = |place: &str| {
            result
                .segments
                .iter()
                .find(|s| s.location.to_string() == place)
                .map(|s| s.text.clone())
                .unwrap_or_default()
        };
        assert_eq!(at("a"), "スライド 0312345678\n\n");
        assert!(at("a › embedded object 1").contains("埋め込み 123456789018"));
    }

    #[test]
    fn outlook_messages_read_by_property_type_with_messages_inside() {
        let cp932 = |text: &str| encoding_rs::SHIFT_JIS.encode(text).0.into_owned();
        // The code page of the embedded message (PR_MESSAGE_CODEPAGE 932), after the
        // 24-byte header of an embedded message's property stream.
        let mut props = vec![0u8; 24];
        props.extend(0x3FFD_0003u32.to_le_bytes());
        props.extend([0; 4]);
        props.extend(932u32.to_le_bytes());
        props.extend([0; 4]);
        let inner = "/__attach_version1.0_#00000000/__substg1.0_3701000D";
        let rtf = b"{\\rtf1\\ansi \\par bangou \\u20491? 4567 8901 2345}";
        let mut stored = (u32::try_from(rtf.len()).unwrap() + 12)
            .to_le_bytes()
            .to_vec();
        stored.extend(u32::try_from(rtf.len()).unwrap().to_le_bytes());
        stored.extend(b"MELA\0\0\0\0");
        stored.extend(rtf.as_slice());
        let csv = "氏名,個人番号\n山田,123456789018\n".as_bytes();
        let msg = compound(&[
            ("/__properties_version1.0", &[0u8; 32]),
            ("/__substg1.0_0037001F", &utf16("転送します")),
            ("/__substg1.0_10090102", &stored),
            (
                "/__attach_version1.0_#00000000/__substg1.0_3001001F",
                &utf16("元のメール"),
            ),
            (&format!("{inner}/__properties_version1.0"), &props),
            (&format!("{inner}/__substg1.0_0037001E"), &cp932("名簿の件")),
            (
                &format!("{inner}/__substg1.0_1000001E"),
                &cp932("番号は１２３４５６７８９０１８です"),
            ),
            (
                &format!("{inner}/__attach_version1.0_#00000000/__substg1.0_3707001F"),
                &utf16("名簿.csv"),
            ),
            (
                &format!("{inner}/__attach_version1.0_#00000000/__substg1.0_37010102"),
                csv,
            ),
        ]);
        let result = run(&msg);
        assert!(result.problems.is_empty(), "{:?}", result.problems);
        let at = |place: &str| {
            result
                .segments
                .iter()
                .filter(|s| s.location.to_string() == place)
                .map(|s| s.text.clone())
                .collect::<String>()
        };
        assert!(at("a").contains("転送します"), "{:?}", result.segments);
        assert!(at("a › RTF body").contains("bangou 個 4567 8901 2345"));
        let message = at("a › 元のメール");
        assert!(message.contains("名簿の件"), "{message}");
        assert!(
            message.contains("番号は１２３４５６７８９０１８です"),
            "{message}"
        );
        assert!(at("a › 元のメール › 名簿.csv").contains("123456789018"));
    }

    #[test]
    fn encryption_anywhere_in_any_case_is_said_and_the_rest_still_read() {
        let kinds = |result: &crate::content::Extraction| {
            result
                .problems
                .iter()
                .map(|p| (p.location.to_string(), p.kind))
                .collect::<Vec<_>>()
        };
        let found = |result: &crate::content::Extraction| {
            result
                .segments
                .iter()
                .any(|s| s.text.contains("123456789018"))
        };
        // Stream names compare without case.
        let mut book = record(0x0809, &[0, 6, 0, 0]);
        book.extend(record(0x002F, &[1, 0, 1, 0, 1, 0]));
        let result = run(&compound(&[("/WORKBOOK", &book)]));
        assert_eq!(kinds(&result), [("a".to_owned(), ProblemKind::Encrypted)]);
        // An encrypted package in an embedded object: said there; the document's own text
        // is read.
        let text = utf16("本文 123456789018");
        let result = run(&compound(&[
            ("/ObjectPool/_1/EncryptionInfo", b"info"),
            ("/ObjectPool/_1/EncryptedPackage", b"random bytes"),
            ("/__substg1.0_0037001F", &text),
        ]));
        assert_eq!(
            kinds(&result),
            [("a › _1".to_owned(), ProblemKind::Encrypted)]
        );
        assert!(found(&result));
        // A marker at the top does not hide the rest either.
        let result = run(&compound(&[
            ("/EncryptionInfo", b"x"),
            ("/__substg1.0_0037001F", &text),
        ]));
        assert_eq!(kinds(&result), [("a".to_owned(), ProblemKind::Encrypted)]);
        assert!(found(&result));
        // PowerPoint encrypted without EncryptedSummary: the Current User token says so.
        let mut current = 0u16.to_le_bytes().to_vec();
        current.extend(0x0FF6u16.to_le_bytes());
        current.extend(20u32.to_le_bytes());
        current.extend(20u32.to_le_bytes());
        current.extend(PPT_ENCRYPTED_TOKEN);
        current.extend([0; 12]);
        let result = run(&compound(&[
            ("/PowerPoint Document", &[0x5A; 300]),
            ("/Current User", &current),
        ]));
        assert_eq!(kinds(&result), [("a".to_owned(), ProblemKind::Encrypted)]);
    }

    #[test]
    fn whole_files_kept_in_streams_are_read_as_files() {
        // Office 2007+ embeds a DOCX or XLSX in a legacy document as a `Package` stream.
        let inner = crate::extract::tests::zip(&[("社員.csv", "山田,123456789018\n".as_bytes())]);
        let result = run(&compound(&[("/ObjectPool/_2/Package", &inner)]));
        assert!(result.problems.is_empty(), "{:?}", result.problems);
        assert!(
            result.segments.iter().any(|s| s.location.to_string()
                == "a › stream package › 社員.csv"
                && s.text.contains("123456789018")),
            "{:?}",
            result.segments
        );
    }

    #[test]
    fn encryption_is_read_from_the_structure() {
        let encrypted = |streams: &[(&str, &[u8])]| {
            let result = run(&compound(streams));
            result.problems.first().map(|p| p.kind) == Some(ProblemKind::Encrypted)
                && result.segments.is_empty()
        };
        assert!(encrypted(&[
            ("/EncryptionInfo", b"x"),
            ("/EncryptedPackage", b"y")
        ]));
        // An RC4-encrypted workbook: BOF, then FILEPASS; its sheet names stay readable.
        let mut book = record(0x0809, &[0; 16]);
        book.extend(record(0x002F, &[1, 0, 1, 0, 1, 0]));
        book.extend(record(0x0085, b"\0\0\0\0\0\0\x05\0Sheet"));
        assert!(encrypted(&[("/Workbook", &book)]));
        let mut fib = vec![0u8; 0x20];
        fib[0x0B] = 0x01; // fEncrypted
        fib.extend(utf16("some visible text in the header"));
        assert!(encrypted(&[("/WordDocument", &fib)]));
        assert!(encrypted(&[
            ("/PowerPoint Document", b"x"),
            ("/EncryptedSummary", b"y")
        ]));
        // The word "EncryptedPackage" in a document's text is not encryption.
        let text = utf16("the EncryptedPackage stream holds 123456789018");
        let result = run(&compound(&[(
            "/WordDocument",
            &[vec![0u8; 0x20], text].concat(),
        )]));
        assert!(result.problems.is_empty(), "{:?}", result.problems);
    }

    #[test]
    fn outlook_attachments_are_files_and_damage_is_unreadable() {
        let csv = "氏名,個人番号\n山田,123456789018\n".as_bytes();
        let msg = compound(&[
            ("/__substg1.0_0037001F", &utf16("件名 subject")),
            (
                "/__attach_version1.0_#00000000/__substg1.0_3707001F",
                &utf16("名簿.csv"),
            ),
            ("/__attach_version1.0_#00000000/__substg1.0_37010102", csv),
        ]);
        let result = run(&msg);
        assert!(result.problems.is_empty(), "{:?}", result.problems);
        let csv_segment = result
            .segments
            .iter()
            .find(|s| s.location.to_string() == "a › 名簿.csv")
            .expect("the attachment");
        assert!(csv_segment.text.contains("123456789018"));
        // An OLE package (as Office embeds a file "as an icon"): the file inside is read,
        // a ZIP here, whose strings alone would show nothing.
        let inner = crate::extract::tests::zip(&[("社員.csv", csv)]);
        let mut native = Vec::new();
        native.extend(2u16.to_le_bytes());
        native.extend(b"meibo.zip\0C:\\Users\\taro\\meibo.zip\0");
        native.extend(0x0003_0000u32.to_le_bytes());
        let temp = b"C:\\Temp\\meibo.zip\0";
        native.extend(u32::try_from(temp.len()).unwrap().to_le_bytes());
        native.extend(temp);
        native.extend(u32::try_from(inner.len()).unwrap().to_le_bytes());
        native.extend(&inner);
        let mut stream = u32::try_from(native.len()).unwrap().to_le_bytes().to_vec();
        stream.extend(native);
        let object = compound(&[
            ("/\u{1}Ole10Native", &stream),
            ("/\u{1}CompObj", b"Package"),
        ]);
        let result = run(&object);
        assert!(result.problems.is_empty(), "{:?}", result.problems);
        assert!(
            result.segments.iter().any(|s| s.location.to_string()
                == "a › package meibo.zip › 社員.csv"
                && s.text.contains("123456789018")),
            "{:?}",
            result.segments
        );
        // A package cut short is read by the strings pass, as before.
        assert!(ole10_native(&stream[..stream.len() - 10]).is_none());
        // The OLE2 signature on a damaged file: unreadable, its strings still scanned.
        let mut broken = OLE_MAGIC.to_vec();
        broken.extend(vec![0u8; 600]);
        broken.extend(utf16("番号 123456789018"));
        let result = run(&broken);
        assert_eq!(result.problems[0].kind, ProblemKind::Unreadable);
        assert!(
            result
                .segments
                .iter()
                .any(|s| s.text.contains("123456789018"))
        );
    }
}
