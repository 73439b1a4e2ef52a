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
//! whole or zlib-compressed, are handed back to be read as files of their own; so are the
//! bodies of all other records (shape properties hold WordArt and alt text), containers
//! nested past the depth limit and whatever follows a break in the structure, for the
//! caller's strings pass: nothing is dropped unseen. A `CryptSession10Container` means the
//! presentation is encrypted.

/// `TextCharsAtom`: UTF-16LE text.
const TEXT_CHARS: u16 = 0x0FA0;
/// `TextBytesAtom`: 8-bit text.
const TEXT_BYTES: u16 = 0x0FA8;
/// `CString`: UTF-16LE text of comments, hyperlinks, names.
const CSTRING: u16 = 0x0FBA;
/// `ExOleObjStg`: an embedded object's compound file.
const OLE_OBJECT: u16 = 0x1011;
/// `CryptSession10Container`: the presentation is encrypted (RC4 CryptoAPI).
const CRYPT_SESSION: u16 = 0x2F14;
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
    /// What the walk did not read as text: the bodies of other atoms (WordArt and alt text
    /// in shape properties, text PowerPoint keeps elsewhere), containers nested past the
    /// depth limit, and whatever follows a break in the structure or the record limit.
    /// The caller reads these by their strings, so that nothing is dropped unseen.
    pub(super) other: Vec<&'a [u8]>,
    /// A `CryptSession10Container` was found: the presentation is encrypted.
    pub(super) encrypted: bool,
}

/// Reads a `PowerPoint Document` stream, its text up to about `cap` bytes.
pub(super) fn read(stream: &[u8], cap: usize) -> Presentation<'_> {
    let mut found = Presentation::default();
    let mut records = 0usize;
    walk(stream, 0, cap, &mut records, &mut found);
    found.unstructured = records == 0;
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
            found.other.extend(data.get(at..));
            return false;
        };
        let version_instance = u16::from_le_bytes([header[0], header[1]]);
        let kind = u16::from_le_bytes([header[2], header[3]]);
        let Some(body) = usize::try_from(u32::from_le_bytes([
            header[4], header[5], header[6], header[7],
        ]))
        .ok()
        .and_then(|len| at.checked_add(8 + len))
        .and_then(|end| data.get(at + 8..end)) else {
            found.other.extend(data.get(at..));
            return false;
        };
        let rest = data.get(at..).unwrap_or_default();
        at += 8 + body.len();
        *records += 1;
        if found.text.len() > cap {
            return true;
        }
        if *records > MAX_RECORDS {
            found.other.push(rest);
            return true;
        }
        if kind == CRYPT_SESSION {
            found.encrypted = true;
        }
        if version_instance & 0x000F == 0x000F {
            if depth >= MAX_DEPTH {
                found.other.push(body);
            } else if !walk(body, depth + 1, cap, records, found) {
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
            _ => found.other.push(body),
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
        assert_eq!(found.other, vec![&b"ignored atom"[..]]);
        assert!(!found.encrypted);
    }

    #[test]
    fn what_is_not_read_as_text_is_handed_back() {
        assert!(read(b"not records at all, only text", 100).unstructured);
        // A record that runs past its stream: what is left goes back whole.
        let mut cut = record(0x000F, 0x03E8, &chars("lost"));
        cut.truncate(cut.len() - 2);
        let found = read(&cut, 100);
        assert!(found.text.is_empty() && found.other == vec![&cut[..]]);
        // Text before the break is kept, the rest handed back.
        let mut partial = chars("kept text");
        partial.extend(&cut);
        let found = read(&partial, 100);
        assert!(!found.unstructured);
        assert_eq!(found.text, "kept text\n");
        assert_eq!(found.other, vec![&cut[..]]);
        // Containers nested past the limit are handed back, not dropped.
        let mut deep = chars("deep text");
        for _ in 0..=MAX_DEPTH {
            deep = record(0x000F, 0x0FF0, &deep);
        }
        let found = read(&deep, 100);
        assert!(found.text.is_empty() && found.other.len() == 1);
        // An encrypted presentation says so.
        let crypt = record(0x000F, CRYPT_SESSION, &record(0, 0x2F15, b"x"));
        assert!(read(&crypt, 100).encrypted);
    }
}
