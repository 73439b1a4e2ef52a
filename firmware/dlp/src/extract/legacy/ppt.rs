//! PowerPoint 97–2003 presentations (the `PowerPoint Document` stream): the text read
//! from its records ([MS-PPT] §2.3), as PowerPoint stores it.
//!
//! The stream is a tree of records (an 8-byte header: version and instance, type,
//! length; version `0xF` marks a container). Text lives in atoms wherever a slide, a
//! master, a layout, a note, a handout or a shape's text box keeps it: `TextCharsAtom`
//! (UTF-16LE), `TextBytesAtom` (one byte per character, the low byte of UTF-16) and
//! `CString` atoms (comments, hyperlinks, names). Every record of the stream is walked,
//! so text left behind by fast saves (earlier versions of edited slides) is read too:
//! what the file holds is what leaves the office.
//!
//! Embedded OLE objects (`ExOleObjStg`: a workbook or document inside a slide), stored
//! whole or zlib-compressed, are handed back to be read as files of their own.

/// `TextCharsAtom`: UTF-16LE text.
const TEXT_CHARS: u16 = 0x0FA0;
/// `TextBytesAtom`: 8-bit text.
const TEXT_BYTES: u16 = 0x0FA8;
/// `CString`: UTF-16LE text of comments, hyperlinks, names.
const CSTRING: u16 = 0x0FBA;
/// `ExOleObjStg`: an embedded object's compound file.
const OLE_OBJECT: u16 = 0x1011;
/// How deep containers nest before the rest is skipped.
const MAX_DEPTH: usize = 32;
/// The most records walked.
const MAX_RECORDS: usize = 1 << 20;

/// What a presentation stream gave.
#[derive(Debug, Default)]
pub(super) struct Presentation<'a> {
    /// Its text, one atom per line.
    pub(super) text: String,
    /// Embedded objects: the record's data and whether it is zlib-compressed (after a
    /// 4-byte size).
    pub(super) objects: Vec<(&'a [u8], bool)>,
    /// No record structure was found: the caller reads the stream by its strings.
    pub(super) unstructured: bool,
}

/// Reads a `PowerPoint Document` stream, its text up to about `cap` bytes.
pub(super) fn read(stream: &[u8], cap: usize) -> Presentation<'_> {
    let mut found = Presentation::default();
    let mut records = 0usize;
    let complete = walk(stream, 0, cap, &mut records, &mut found);
    found.unstructured = records == 0 || (!complete && found.text.is_empty());
    found
}

/// Walks the records in `data` at nesting `depth`; false when a record ran past its
/// container (the structure broke off there).
fn walk<'a>(
    data: &'a [u8],
    depth: usize,
    cap: usize,
    records: &mut usize,
    found: &mut Presentation<'a>,
) -> bool {
    let mut at = 0usize;
    while at < data.len() {
        let Some(header) = data.get(at..at + 8) else {
            return false;
        };
        let version_instance = u16::from_le_bytes([header[0], header[1]]);
        let kind = u16::from_le_bytes([header[2], header[3]]);
        let Ok(len) = usize::try_from(u32::from_le_bytes([
            header[4], header[5], header[6], header[7],
        ])) else {
            return false;
        };
        let Some(body) = at
            .checked_add(8 + len)
            .and_then(|end| data.get(at + 8..end))
        else {
            return false;
        };
        at += 8 + len;
        *records += 1;
        if *records > MAX_RECORDS || found.text.len() > cap {
            return true;
        }
        if version_instance & 0x000F == 0x000F {
            if depth < MAX_DEPTH && !walk(body, depth + 1, cap, records, found) {
                return false;
            }
            continue;
        }
        match kind {
            TEXT_CHARS | CSTRING => {
                let units: Vec<u16> = body
                    .chunks_exact(2)
                    .map(|pair| u16::from_le_bytes([pair[0], pair[1]]))
                    .collect();
                push_line(&mut found.text, &String::from_utf16_lossy(&units));
            }
            TEXT_BYTES => {
                let text: String = body.iter().map(|&b| char::from(b)).collect();
                push_line(&mut found.text, &text);
            }
            OLE_OBJECT => found.objects.push((body, version_instance >> 4 == 0x0001)),
            _ => {}
        }
    }
    true
}

/// Appends one atom's text on a line of its own, paragraph and line breaks (`\r`, `\v`)
/// as line breaks.
fn push_line(out: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            '\r' | '\u{0B}' => out.push('\n'),
            '\t' => out.push('\t'),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out.push('\n');
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;

    /// A record: version/instance, type, body.
    pub(in super::super) fn record(version_instance: u16, kind: u16, body: &[u8]) -> Vec<u8> {
        let mut out = version_instance.to_le_bytes().to_vec();
        out.extend(kind.to_le_bytes());
        out.extend(u32::try_from(body.len()).unwrap().to_le_bytes());
        out.extend(body);
        out
    }

    pub(in super::super) fn chars(text: &str) -> Vec<u8> {
        let body: Vec<u8> = text.encode_utf16().flat_map(u16::to_le_bytes).collect();
        record(0x0000, TEXT_CHARS, &body)
    }

    #[test]
    fn atoms_in_nested_containers_and_objects_are_found() {
        let textbox = record(
            0x000F,
            0xF00D,
            &chars("個人番号\r１２３４ ５６７８ ９０１８"),
        );
        let shape = record(0x000F, 0xF004, &textbox);
        let mut slide = record(0x000F, 0x03EE, &shape);
        slide.extend(record(0x0000, TEXT_BYTES, b"plain 0312345678\x0bnext"));
        slide.extend(record(0x0010, OLE_OBJECT, b"\x10\0\0\0zlib"));
        slide.extend(record(0x0000, 0x0FF5, b"ignored atom"));
        let stream = record(0x000F, 0x03E8, &slide);
        let found = read(&stream, 1 << 20);
        assert!(!found.unstructured);
        assert_eq!(
            found.text,
            "個人番号\n１２３４ ５６７８ ９０１８\nplain 0312345678\nnext\n"
        );
        assert_eq!(found.objects, vec![(&b"\x10\0\0\0zlib"[..], true)]);
    }

    #[test]
    fn a_broken_or_foreign_stream_is_unstructured() {
        assert!(read(b"not records at all, only text", 100).unstructured);
        // A record that runs past its stream, with no text before it.
        let mut cut = record(0x000F, 0x03E8, &chars("lost"));
        cut.truncate(cut.len() - 2);
        assert!(read(&cut, 100).unstructured);
        // Text found before the break is kept.
        let mut partial = chars("kept text");
        partial.extend(&cut);
        let found = read(&partial, 100);
        assert!(!found.unstructured);
        assert_eq!(found.text, "kept text\n");
    }
}
