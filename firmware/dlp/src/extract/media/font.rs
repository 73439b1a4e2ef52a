//! Fonts: TrueType and OpenType (`sfnt` table directory, every table in bounds and the
//! directory and tables covering the file), TrueType collections, WOFF (tables, metadata
//! and private data covering the length the header declares) and WOFF2 (its table
//! directory, compressed stream, metadata and private data likewise). The `name` table
//! (family, copyright, designer, description, licence …) and WOFF metadata are metadata.

use std::borrow::Cow;
use std::collections::HashSet;
use std::ops::Range;

use super::{
    MAX_SPANS, Media, MediaKind, Text, array, be16, be32, covered_end, is_padding, legacy,
    printable, push_xmp, slice, utf16,
};

/// The fixed part of an `sfnt` header.
const SFNT_HEADER: usize = 12;

/// The size of a WOFF header.
const WOFF_HEADER: usize = 44;

/// The size of a WOFF2 header.
const WOFF2_HEADER: usize = 48;

/// The `sfnt` versions: TrueType, CFF-based OpenType, Apple TrueType, PostScript Type 1.
const SFNT_VERSIONS: [&[u8; 4]; 4] = [b"\0\x01\0\0", b"OTTO", b"true", b"typ1"];

/// One table: its tag, where its (possibly compressed) data is, and its original length.
struct Table {
    /// The four-character tag.
    tag: [u8; 4],
    /// Its data in the file.
    span: Range<usize>,
    /// Its length once decompressed (WOFF), else the span's length.
    original: usize,
}

/// A font, if its tables cover the file (or the length its header declares).
pub(super) fn identify(bytes: &[u8]) -> Option<Media> {
    let (format, end, text) = match array::<4>(bytes, 0)? {
        ref version if SFNT_VERSIONS.contains(&version) => sfnt(bytes)?,
        [b't', b't', b'c', b'f'] => collection(bytes)?,
        [b'w', b'O', b'F', b'F'] => woff(bytes)?,
        [b'w', b'O', b'F', b'2'] => woff2(bytes)?,
        _ => return None,
    };
    Some(Media::new(MediaKind::Font, format, text, bytes, end))
}

/// A TrueType or OpenType font: its format, where its tables end, its names.
fn sfnt(bytes: &[u8]) -> Option<(&'static str, usize, Text)> {
    let (tables, spans) = directory(bytes, 0)?;
    let end = covered_end(bytes, spans, 0)?;
    let mut text = Text::default();
    names(bytes, &tables, &mut text, &mut HashSet::new());
    Some(("ttf/otf", end, text))
}

/// A TrueType collection: a header of offsets to `sfnt` directories that may share tables.
fn collection(bytes: &[u8]) -> Option<(&'static str, usize, Text)> {
    let version = be32(bytes, 4)?;
    let count = be32(bytes, 8)?;
    if count == 0 || !matches!(version, 0x0001_0000 | 0x0002_0000) {
        return None;
    }
    let offsets = slice(bytes, SFNT_HEADER, count.checked_mul(4)?)?;
    let mut header_end = SFNT_HEADER + offsets.len();
    let mut spans = Vec::new();
    if version == 0x0002_0000 && slice(bytes, header_end, 4)? == b"DSIG" {
        let start = be32(bytes, header_end + 8)?;
        spans.push(start..start.checked_add(be32(bytes, header_end + 4)?)?);
        header_end += 12;
    }
    spans.push(0..header_end);
    let mut text = Text::default();
    let mut seen = HashSet::new();
    for offset in offsets.chunks_exact(4) {
        let offset = be32(offset, 0)?;
        if !SFNT_VERSIONS.contains(&&array::<4>(bytes, offset)?) {
            return None;
        }
        let (tables, more) = directory(bytes, offset)?;
        names(bytes, &tables, &mut text, &mut seen);
        spans.extend(more);
        if spans.len() > MAX_SPANS {
            return None;
        }
    }
    Some(("ttf/otf", covered_end(bytes, spans, 0)?, text))
}

/// The table directory at `at`, each table in bounds (one of them a font header); the
/// tables, and the spans the directory and tables cover.
fn directory(bytes: &[u8], at: usize) -> Option<(Vec<Table>, Vec<Range<usize>>)> {
    let count = be16(bytes, at + 4)?;
    let records = slice(bytes, at + SFNT_HEADER, 16 * count)?;
    let mut tables = Vec::with_capacity(count);
    let mut spans = Vec::with_capacity(count + 1);
    spans.push(at..at + SFNT_HEADER + records.len());
    for record in records.chunks_exact(16) {
        let tag = array(record, 0)?;
        let start = be32(record, 8)?;
        let len = be32(record, 12)?;
        slice(bytes, start, len)?;
        if !printable(tag) {
            return None;
        }
        spans.push(start..start + len);
        tables.push(Table {
            tag,
            span: start..start + len,
            original: len,
        });
    }
    let has_header = tables.iter().any(|t| matches!(&t.tag, b"head" | b"bhed"));
    (count > 0 && has_header).then_some((tables, spans))
}

/// A WOFF font: its tables, metadata and private data cover its declared length.
fn woff(bytes: &[u8]) -> Option<(&'static str, usize, Text)> {
    let length = be32(bytes, 8)?;
    let count = be16(bytes, 12)?;
    let records = slice(bytes, WOFF_HEADER, 20 * count)?;
    if be16(bytes, 14)? != 0 || count == 0 || length > bytes.len() {
        return None;
    }
    let mut spans = Vec::with_capacity(count + 3);
    spans.push(0..WOFF_HEADER + records.len());
    let mut tables = Vec::with_capacity(count);
    for record in records.chunks_exact(20) {
        let start = be32(record, 4)?;
        let (packed, original) = (be32(record, 8)?, be32(record, 12)?);
        slice(bytes, start, packed)?;
        if packed > original || !printable(array(record, 0)?) {
            return None;
        }
        spans.push(start..start + packed);
        tables.push(Table {
            tag: array(record, 0)?,
            span: start..start + packed,
            original,
        });
    }
    let meta = block(bytes, 24)?;
    spans.extend(meta.clone());
    spans.extend(block(bytes, 36)?);
    covers(bytes, spans, length)?;
    let mut text = Text::default();
    names(bytes, &tables, &mut text, &mut HashSet::new());
    if let Some(meta) = meta.and_then(|meta| bytes.get(meta)) {
        let xml = text.inflate(meta).unwrap_or_default();
        push_xmp(&xml, &mut text);
    }
    Some(("woff", length, text))
}

/// A WOFF2 font: its table directory, compressed stream, metadata and private data cover
/// its declared length. (Collections are not walked.)
fn woff2(bytes: &[u8]) -> Option<(&'static str, usize, Text)> {
    let length = be32(bytes, 8)?;
    let count = be16(bytes, 12)?;
    let compressed = be32(bytes, 20)?;
    if slice(bytes, 4, 4)? == b"ttcf" || be16(bytes, 14)? != 0 || count == 0 {
        return None;
    }
    let mut at = WOFF2_HEADER;
    for _ in 0..count {
        at = woff2_entry(bytes, at)?;
    }
    let stream_end = at.checked_add(compressed)?;
    let mut spans = Vec::with_capacity(3);
    spans.push(0..stream_end);
    spans.extend(block(bytes, 28)?);
    spans.extend(block(bytes, 40)?);
    covers(bytes, spans, length)?;
    Some(("woff2", length, Text::default()))
}

/// Walks one WOFF2 table directory entry at `at`; where the next starts.
fn woff2_entry(bytes: &[u8], mut at: usize) -> Option<usize> {
    let flags = *bytes.get(at)?;
    at += 1;
    let index = flags & 0x3F;
    if index == 63 {
        printable(array(bytes, at)?).then_some(())?;
        at += 4;
    }
    base128(bytes, &mut at)?;
    let version = flags >> 6;
    // glyf and loca carry a transformed length in version 0; other tables otherwise.
    let transformed = if matches!(index, 10 | 11) {
        version == 0
    } else {
        version != 0
    };
    if transformed {
        base128(bytes, &mut at)?;
    }
    Some(at)
}

/// A WOFF2 variable-length number (`UIntBase128`) at `*at`, moving past it.
fn base128(bytes: &[u8], at: &mut usize) -> Option<u32> {
    let mut value: u32 = 0;
    for index in 0..5 {
        let byte = *bytes.get(*at)?;
        *at += 1;
        if (index == 0 && byte == 0x80) || value & 0xFE00_0000 != 0 {
            return None;
        }
        value = value << 7 | u32::from(byte & 0x7F);
        if byte & 0x80 == 0 {
            return Some(value);
        }
    }
    None
}

/// The metadata or private data block whose offset and length are at `at` in a WOFF or
/// WOFF2 header: None when it runs past the end, `Some(None)` when there is none.
fn block(bytes: &[u8], at: usize) -> Option<Option<Range<usize>>> {
    let (start, len) = (be32(bytes, at)?, be32(bytes, at + 4)?);
    if len == 0 {
        return Some(None);
    }
    slice(bytes, start, len)?;
    Some(Some(start..start + len))
}

/// Do `spans` cover the first `length` bytes, with padding between and after them?
fn covers(bytes: &[u8], spans: Vec<Range<usize>>, length: usize) -> Option<()> {
    let file = bytes.get(..length)?;
    let end = covered_end(file, spans, 0)?;
    is_padding(file.get(end..)?).then_some(())
}

/// The strings of the `name` table (decompressed if need be), each once.
fn names(bytes: &[u8], tables: &[Table], text: &mut Text, seen: &mut HashSet<String>) {
    let Some(table) = tables.iter().find(|t| &t.tag == b"name") else {
        return;
    };
    let Some(raw) = bytes.get(table.span.clone()) else {
        return;
    };
    let data = if raw.len() < table.original {
        Cow::Owned(text.inflate(raw).unwrap_or_default())
    } else {
        Cow::Borrowed(raw)
    };
    let (Some(count), Some(storage)) = (be16(&data, 2), be16(&data, 4)) else {
        return;
    };
    for record in (0..count).map_while(|i| slice(&data, 6 + 12 * i, 12)) {
        let work = 12 + be16(record, 8).unwrap_or(0);
        if text.room() == 0 || !text.spend(work) {
            return;
        }
        if let Some(name) = name(&data, record, storage)
            && seen.insert(name.clone())
        {
            text.push(&name);
        }
    }
}

/// One name record's string, in its platform's encoding.
fn name(data: &[u8], record: &[u8], storage: usize) -> Option<String> {
    let platform = be16(record, 0)?;
    let encoding = be16(record, 2)?;
    let raw = slice(data, storage + be16(record, 10)?, be16(record, 8)?)?;
    match (platform, encoding) {
        (0 | 3, _) => Some(utf16(raw, true)),
        (1, 1) => Some(crate::charset::decode(raw, Some("shift_jis"))),
        (1, 0) => Some(legacy(raw)),
        _ => None,
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::super::tests::{
        assert_cuts_are_caught, assert_cuts_are_caught_but_at, assert_trailing_is_reported,
    };
    use super::*;
    use crate::extract::media::identify;

    /// A `name` table of Windows (UTF-16BE) records.
    fn name_table(names: &[(u16, &str)]) -> Vec<u8> {
        let count = u16::try_from(names.len()).unwrap();
        let mut out = vec![0, 0];
        out.extend_from_slice(&count.to_be_bytes());
        out.extend_from_slice(&(6 + 12 * count).to_be_bytes());
        let mut storage = Vec::new();
        for (id, value) in names {
            let raw: Vec<u8> = value.encode_utf16().flat_map(u16::to_be_bytes).collect();
            for field in [3, 1, 0x0409, *id, u16::try_from(raw.len()).unwrap()] {
                out.extend_from_slice(&field.to_be_bytes());
            }
            out.extend_from_slice(&u16::try_from(storage.len()).unwrap().to_be_bytes());
            storage.extend(raw);
        }
        out.extend(storage);
        out
    }

    /// The tables of a small font: a header and names.
    fn tables() -> Vec<([u8; 4], Vec<u8>)> {
        let mut head = vec![0; 54];
        head[12..16].copy_from_slice(&0x5F0F_3CF5u32.to_be_bytes());
        vec![
            (*b"head", head),
            (
                *b"name",
                name_table(&[(1, "Mamori Sans"), (0, "(c) Yamada Taro")]),
            ),
        ]
    }

    /// A TrueType font of `tables` (each padded to four bytes).
    pub(crate) fn ttf(tables: &[([u8; 4], Vec<u8>)]) -> Vec<u8> {
        let count = u16::try_from(tables.len()).unwrap();
        let mut out = b"\0\x01\0\0".to_vec();
        out.extend_from_slice(&count.to_be_bytes());
        out.extend_from_slice(&[0; 6]);
        let mut data = Vec::new();
        let data_at = 12 + 16 * tables.len();
        for (tag, table) in tables {
            out.extend_from_slice(tag);
            out.extend_from_slice(&[0; 4]);
            out.extend_from_slice(&u32::try_from(data_at + data.len()).unwrap().to_be_bytes());
            out.extend_from_slice(&u32::try_from(table.len()).unwrap().to_be_bytes());
            data.extend_from_slice(table);
            data.resize(data.len().next_multiple_of(4), 0);
        }
        out.extend(data);
        out
    }

    /// A WOFF of `tables`, stored uncompressed.
    fn woff_of(tables: &[([u8; 4], Vec<u8>)]) -> Vec<u8> {
        let mut directory = Vec::new();
        let mut data = Vec::new();
        let data_at = WOFF_HEADER + 20 * tables.len();
        for (tag, table) in tables {
            directory.extend_from_slice(tag);
            let len = u32::try_from(table.len()).unwrap();
            let at = u32::try_from(data_at + data.len()).unwrap();
            for field in [at, len, len, 0] {
                directory.extend_from_slice(&field.to_be_bytes());
            }
            data.extend_from_slice(table);
            data.resize(data.len().next_multiple_of(4), 0);
        }
        let length = u32::try_from(data_at + data.len()).unwrap();
        let mut out = b"wOFF\0\x01\0\0".to_vec();
        out.extend_from_slice(&length.to_be_bytes());
        out.extend_from_slice(&u16::try_from(tables.len()).unwrap().to_be_bytes());
        out.extend_from_slice(&[0; 30]);
        out.extend(directory);
        out.extend(data);
        out
    }

    /// A WOFF2 header and directory for `head` and `name`, then a stand-in stream.
    fn woff2_file() -> Vec<u8> {
        let stream = [0x8Bu8, 0x02, 0x80, 0x03];
        let mut directory = vec![1, 54, 5, 0x81, 0x10];
        directory.extend_from_slice(&[63, b'D', b'S', b'I', b'G', 8]);
        let length = u32::try_from(WOFF2_HEADER + directory.len() + stream.len()).unwrap();
        let mut out = b"wOF2\0\x01\0\0".to_vec();
        out.extend_from_slice(&length.to_be_bytes());
        out.extend_from_slice(&3u16.to_be_bytes());
        out.extend_from_slice(&[0, 0]);
        out.extend_from_slice(&200u32.to_be_bytes());
        out.extend_from_slice(&u32::try_from(stream.len()).unwrap().to_be_bytes());
        out.extend_from_slice(&[0; 24]);
        out.extend(directory);
        out.extend_from_slice(&stream);
        out
    }

    /// A small valid TrueType font.
    pub(crate) fn sample() -> Vec<u8> {
        ttf(&tables())
    }

    #[test]
    fn a_ttf_is_a_font_with_its_names() {
        let media = identify(&sample()).unwrap();
        assert_eq!((media.kind, media.format), (MediaKind::Font, "ttf/otf"));
        assert_eq!(media.text, ["Mamori Sans", "(c) Yamada Taro"]);
        assert_eq!(media.trailing, None);
    }

    #[test]
    fn woff_and_woff2_are_fonts() {
        let woff = woff_of(&tables());
        let media = identify(&woff).unwrap();
        assert_eq!((media.kind, media.format), (MediaKind::Font, "woff"));
        assert_eq!(media.text, ["Mamori Sans", "(c) Yamada Taro"]);
        assert_cuts_are_caught(&woff);
        let woff2 = woff2_file();
        let media = identify(&woff2).unwrap();
        assert_eq!((media.kind, media.format), (MediaKind::Font, "woff2"));
        assert_cuts_are_caught(&woff2);
        // A declared length past the end; a directory entry cut short.
        let mut broken = woff2.clone();
        broken[11] += 1;
        assert_eq!(identify(&broken), None);
        let mut broken = woff2;
        broken[12 + 1] = 4;
        assert_eq!(identify(&broken), None);
    }

    #[test]
    fn broken_fonts_are_not_media() {
        let file = sample();
        // The last table is padded to four bytes: without its padding, it is the same font.
        assert_cuts_are_caught_but_at(&file, &[file.len() - 2]);
        // The table count, a table offset, a table length.
        for (at, value) in [(5, 3), (12 + 16 + 11, 0xF0), (12 + 16 + 15, 0xF0)] {
            let mut broken = file.clone();
            broken[at] = value;
            assert_eq!(identify(&broken), None, "byte {at}");
        }
        // Text in a gap no table covers: between `head` (padded to 56 bytes) and `name`.
        let name_at = 12 + 32 + 56;
        let mut gap = file.clone();
        gap.splice(name_at..name_at, *b"hidden: 123456789018");
        gap[12 + 16 + 11] += 20;
        assert_eq!(identify(&gap), None);
        let mut padded = file.clone();
        padded.splice(name_at..name_at, [0; 20]);
        padded[12 + 16 + 11] += 20;
        assert!(identify(&padded).is_some());
    }

    #[test]
    fn bytes_after_the_last_table_are_trailing() {
        assert_trailing_is_reported(&sample());
        assert_trailing_is_reported(&woff_of(&tables()));
    }
}
