//! TIFF and Exif: the `II*\0`/`MM\0*` header, then the chain of image file directories
//! (IFDs), with their entry counts and out-of-line values in bounds, down into the Exif, GPS,
//! interoperability and sub-image IFDs. A TIFF file has no end marker, so the directories,
//! their values and the strips or tiles they point at must cover the file: gaps other than
//! padding make it unreadable, and bytes after the last part are trailing. Descriptions,
//! artists, copyrights, user comments, Windows' `XP*` tags and XMP are metadata.

use std::ops::Range;

use super::{
    MAX_SPANS, Media, MediaKind, Text, array, covered_end, legacy, push_xmp, slice, utf16,
};

/// The TIFF header: byte order, 42, first directory offset.
const HEADER: Range<usize> = 0..8;

/// The most directories walked in one file (it also stops cycles).
const MAX_IFDS: usize = 64;

/// The most directory entries walked in a TIFF file.
const MAX_ENTRIES: usize = 1 << 20;

/// The most directory entries walked in one Exif block (a camera writes a few hundred).
const MAX_EXIF_ENTRIES: usize = 1 << 14;

/// How deep sub-directories are followed (IFD0 → Exif → interoperability).
const MAX_DEPTH: usize = 3;

/// Tags whose values point at sub-directories.
const SUB_IFDS: [u16; 4] = [330, 34665, 34853, 40965];

/// Pairs of (offsets, byte counts) tags: strips, tiles, the Exif thumbnail.
const DATA: [(u16, u16); 3] = [(273, 279), (324, 325), (513, 514)];

/// Tags whose ASCII values a viewer shows: document name, description, page name, artist,
/// copyright.
const ASCII_TEXT: [u16; 5] = [269, 270, 285, 315, 33432];

/// Windows' title, comment, author, keywords and subject (UTF-16LE in `BYTE` values).
const XP_TEXT: Range<u16> = 0x9C9B..0x9CA0;

/// Exif's user comment: an 8-byte charset code, then the text.
const USER_COMMENT: u16 = 37510;

/// The XMP packet tag.
const XMP: u16 = 700;

/// A TIFF structure: the bytes from its header on, and their byte order.
#[derive(Clone, Copy)]
struct Tiff<'a> {
    /// The bytes, offsets counted from the first.
    bytes: &'a [u8],
    /// `MM` (Motorola) rather than `II` (Intel) order.
    big: bool,
}

/// One directory entry, its value located.
struct Entry {
    /// The tag number.
    tag: u16,
    /// The field type (SHORT, LONG, ASCII …).
    kind: u16,
    /// How many values.
    count: usize,
    /// Where the values are: in the entry itself, or out of line.
    value: Range<usize>,
}

/// A walk over the directories: what they cover, and the text they hold.
struct Walk<'a, 't> {
    /// The structure walked.
    tiff: Tiff<'a>,
    /// The areas the header, directories and their data cover.
    spans: Vec<Range<usize>>,
    /// Where metadata text goes.
    text: &'t mut Text,
    /// Directories walked so far.
    ifds: usize,
    /// Directory entries that may still be walked.
    entries_left: usize,
}

/// A TIFF image, if its directories and data cover the file.
pub(super) fn identify(bytes: &[u8]) -> Option<Media> {
    let (tiff, first) = Tiff::new(bytes)?;
    if first == 0 {
        return None;
    }
    let mut text = Text::default();
    let mut walk = Walk {
        tiff,
        spans: Vec::from([HEADER]),
        text: &mut text,
        ifds: 0,
        entries_left: MAX_ENTRIES,
    };
    walk.chain(first, 0)?;
    let end = covered_end(bytes, walk.spans, 0)?;
    Some(Media::new(MediaKind::Image, "tiff", text, bytes, end))
}

/// The text of an Exif block (a TIFF structure inside JPEG `APP1`, PNG `eXIf`, WebP
/// `EXIF`). A broken block gives what was read before the break.
pub(super) fn push_exif(bytes: &[u8], text: &mut Text) {
    let bytes = bytes.strip_prefix(b"Exif\0\0").unwrap_or(bytes);
    if let Some((tiff, first)) = Tiff::new(bytes)
        && text.spend(bytes.len())
    {
        let mut walk = Walk {
            tiff,
            spans: Vec::new(),
            text,
            ifds: 0,
            entries_left: MAX_EXIF_ENTRIES,
        };
        let _ = walk.chain(first, 0);
    }
}

impl<'a> Tiff<'a> {
    /// The structure, if `bytes` start with a TIFF header, and its first directory offset.
    fn new(bytes: &'a [u8]) -> Option<(Self, usize)> {
        let big = match bytes.get(..4)? {
            b"II*\0" => false,
            b"MM\0*" => true,
            _ => return None,
        };
        let tiff = Self { bytes, big };
        Some((tiff, tiff.u32(4)?))
    }

    /// A `u16` at `at` in the file's byte order.
    fn u16(self, at: usize) -> Option<u16> {
        let raw = array(self.bytes, at)?;
        Some(if self.big {
            u16::from_be_bytes(raw)
        } else {
            u16::from_le_bytes(raw)
        })
    }

    /// A `u32` at `at` in the file's byte order, as a size.
    fn u32(self, at: usize) -> Option<usize> {
        let raw = array(self.bytes, at)?;
        let value = if self.big {
            u32::from_be_bytes(raw)
        } else {
            u32::from_le_bytes(raw)
        };
        usize::try_from(value).ok()
    }

    /// The directory entry at `at`, its value in bounds.
    fn entry(self, at: usize) -> Option<Entry> {
        let tag = self.u16(at)?;
        let kind = self.u16(at + 2)?;
        let count = self.u32(at + 4)?;
        // Unknown types are skipped by readers: taken as holding nothing.
        let size = type_size(kind).unwrap_or(0).checked_mul(count)?;
        let start = if size <= 4 { at + 8 } else { self.u32(at + 8)? };
        slice(self.bytes, start, size)?;
        Some(Entry {
            tag,
            kind,
            count,
            value: start..start + size,
        })
    }

    /// Value `index` of a SHORT or LONG array entry.
    fn value(self, entry: &Entry, index: usize) -> Option<usize> {
        match entry.kind {
            3 => self.u16(entry.value.start + 2 * index).map(usize::from),
            4 | 13 => self.u32(entry.value.start + 4 * index),
            _ => None,
        }
    }
}

/// The size of one value of a field type; None for types this walk does not know.
fn type_size(kind: u16) -> Option<usize> {
    match kind {
        1 | 2 | 6 | 7 => Some(1),
        3 | 8 => Some(2),
        4 | 9 | 11 | 13 => Some(4),
        5 | 10 | 12 => Some(8),
        _ => None,
    }
}

impl Walk<'_, '_> {
    /// Walks the chain of directories starting at `offset`, `depth` levels down.
    fn chain(&mut self, mut offset: usize, depth: usize) -> Option<()> {
        while offset != 0 {
            self.ifds += 1;
            if self.ifds > MAX_IFDS {
                return None;
            }
            offset = self.directory(offset, depth)?;
        }
        Some(())
    }

    /// Walks one directory; the offset of the next one (0 at the end of the chain).
    fn directory(&mut self, offset: usize, depth: usize) -> Option<usize> {
        let count = usize::from(self.tiff.u16(offset)?);
        self.entries_left = self.entries_left.checked_sub(count)?;
        if self.spans.len() + count >= MAX_SPANS {
            return None;
        }
        let next_at = offset + 2 + 12 * count;
        let next = self.tiff.u32(next_at)?;
        self.spans.push(offset..next_at + 4);
        let mut entries = Vec::new();
        for index in 0..count {
            let entry = self.tiff.entry(offset + 2 + 12 * index)?;
            self.spans.push(entry.value.clone());
            self.metadata(&entry);
            entries.push(entry);
        }
        for (offsets, counts) in DATA {
            self.data(&entries, offsets, counts)?;
        }
        if depth < MAX_DEPTH {
            for entry in entries.iter().filter(|e| SUB_IFDS.contains(&e.tag)) {
                for index in 0..entry.count {
                    self.chain(self.tiff.value(entry, index)?, depth + 1)?;
                }
            }
        }
        Some(next)
    }

    /// Records the data areas an offsets tag and its byte counts tag point at.
    fn data(&mut self, entries: &[Entry], offsets: u16, counts: u16) -> Option<()> {
        let find = |tag| entries.iter().find(|e| e.tag == tag);
        let (Some(offsets), Some(counts)) = (find(offsets), find(counts)) else {
            return Some(());
        };
        if offsets.count != counts.count || self.spans.len() + offsets.count > MAX_SPANS {
            return None;
        }
        for index in 0..offsets.count {
            let start = self.tiff.value(offsets, index)?;
            let len = self.tiff.value(counts, index)?;
            slice(self.tiff.bytes, start, len)?;
            self.spans.push(start..start + len);
        }
        Some(())
    }

    /// Collects the text of an entry a viewer shows.
    fn metadata(&mut self, entry: &Entry) {
        let Some(value) = self.tiff.bytes.get(entry.value.clone()) else {
            return;
        };
        if ASCII_TEXT.contains(&entry.tag) && entry.kind == 2 {
            self.text.add(value, |raw| {
                let parts: Vec<String> = raw.split(|&b| b == 0).map(legacy).collect();
                parts.join("\n")
            });
        } else if XP_TEXT.contains(&entry.tag) && entry.kind == 1 {
            self.text.add(value, |raw| utf16(raw, false));
        } else if entry.tag == USER_COMMENT {
            self.user_comment(value);
        } else if entry.tag == XMP {
            push_xmp(value, self.text);
        }
    }

    /// An Exif user comment, in the charset its first eight bytes name.
    fn user_comment(&mut self, value: &[u8]) {
        let Some((code, comment)) = value.split_first_chunk::<8>() else {
            return;
        };
        let (code, big) = (*code, self.tiff.big);
        self.text.add(comment, |raw| match (&code, raw) {
            (b"UNICODE\0", [0xFE, 0xFF, rest @ ..]) => utf16(rest, true),
            (b"UNICODE\0", [0xFF, 0xFE, rest @ ..]) => utf16(rest, false),
            (b"UNICODE\0", _) => utf16(raw, big),
            (b"JIS\0\0\0\0\0", _) => crate::charset::decode(raw, Some("iso-2022-jp")),
            _ => legacy(raw),
        });
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::super::tests::{assert_cuts_are_caught, assert_trailing_is_reported};
    use super::*;
    use crate::extract::media::identify;

    /// A little-endian TIFF under construction: one directory at offset 8, its
    /// out-of-line values after it, then a tail (image data, a sub-directory).
    #[derive(Default)]
    pub(crate) struct Builder {
        /// Tag, type, count and value of each entry.
        entries: Vec<(u16, u16, u32, Vec<u8>)>,
    }

    /// An entry value that stands for the tail's offset.
    const TAIL: [u8; 4] = [0xEE; 4];

    impl Builder {
        pub(crate) fn entry(mut self, tag: u16, kind: u16, count: u32, value: &[u8]) -> Self {
            self.entries.push((tag, kind, count, value.to_vec()));
            self
        }

        /// Where the tail will start.
        pub(crate) fn tail_at(&self) -> usize {
            let values: usize = self
                .entries
                .iter()
                .map(|e| e.3.len())
                .filter(|&n| n > 4)
                .sum();
            8 + 2 + 12 * self.entries.len() + 4 + values
        }

        /// The file, with `tail` at [`Self::tail_at`] and entries holding [`TAIL`] pointing
        /// at it.
        pub(crate) fn build(&self, tail: &[u8]) -> Vec<u8> {
            let tail_at = u32::try_from(self.tail_at()).unwrap();
            let mut values_at = 8 + 2 + 12 * self.entries.len() + 4;
            let mut file = b"II*\0\x08\0\0\0".to_vec();
            file.extend_from_slice(&u16::try_from(self.entries.len()).unwrap().to_le_bytes());
            let mut values = Vec::new();
            for (tag, kind, count, value) in &self.entries {
                file.extend_from_slice(&tag.to_le_bytes());
                file.extend_from_slice(&kind.to_le_bytes());
                file.extend_from_slice(&count.to_le_bytes());
                if value.len() > 4 {
                    file.extend_from_slice(&u32::try_from(values_at).unwrap().to_le_bytes());
                    values_at += value.len();
                    values.extend_from_slice(value);
                } else if value[..] == TAIL {
                    file.extend_from_slice(&tail_at.to_le_bytes());
                } else {
                    let mut inline = value.clone();
                    inline.resize(4, 0);
                    file.extend_from_slice(&inline);
                }
            }
            file.extend_from_slice(&[0; 4]);
            file.extend(values);
            file.extend_from_slice(tail);
            file
        }
    }

    fn ascii(text: &str) -> Vec<u8> {
        let mut value = text.as_bytes().to_vec();
        value.push(0);
        value
    }

    fn count(value: &[u8]) -> u32 {
        u32::try_from(value.len()).unwrap()
    }

    /// A 2x1 greyscale TIFF with one strip (`strip`, after `gap`), described as
    /// `description`.
    fn tiff_with(description: &str, gap: &[u8]) -> Vec<u8> {
        let description = ascii(description);
        let mut builder = Builder::default()
            .entry(256, 3, 1, &[2, 0])
            .entry(257, 3, 1, &[1, 0])
            .entry(258, 3, 1, &[8, 0])
            .entry(262, 3, 1, &[1, 0])
            .entry(270, 2, count(&description), &description)
            .entry(273, 4, 1, &[0; 4])
            .entry(279, 4, 1, &[2, 0, 0, 0]);
        let strip_at = u32::try_from(builder.tail_at() + gap.len()).unwrap();
        builder.entries[5].3 = strip_at.to_le_bytes().to_vec();
        let mut tail = gap.to_vec();
        tail.extend_from_slice(&[0x10, 0xF0]);
        builder.build(&tail)
    }

    /// An Exif block (a little-endian TIFF structure) with a description and an artist in
    /// IFD0 and a Unicode user comment in the Exif IFD.
    pub(crate) fn exif_block(description: &str, artist: &str) -> Vec<u8> {
        let description = ascii(description);
        let artist = ascii(artist);
        let builder = Builder::default()
            .entry(270, 2, count(&description), &description)
            .entry(315, 2, count(&artist), &artist)
            .entry(34665, 4, 1, &TAIL);
        let mut comment = b"UNICODE\0".to_vec();
        comment.extend("コメント".encode_utf16().flat_map(u16::to_le_bytes));
        let comment_at = u32::try_from(builder.tail_at() + 2 + 12 + 4).unwrap();
        let mut sub = 1u16.to_le_bytes().to_vec();
        sub.extend_from_slice(&USER_COMMENT.to_le_bytes());
        sub.extend_from_slice(&7u16.to_le_bytes());
        sub.extend_from_slice(&count(&comment).to_le_bytes());
        sub.extend_from_slice(&comment_at.to_le_bytes());
        sub.extend_from_slice(&[0; 4]);
        sub.extend(comment);
        builder.build(&sub)
    }

    /// A small valid TIFF.
    pub(crate) fn sample() -> Vec<u8> {
        tiff_with("a picture", b"")
    }

    #[test]
    fn a_tiff_is_an_image_with_its_description() {
        let media = identify(&sample()).unwrap();
        assert_eq!(media.kind, MediaKind::Image);
        assert_eq!(media.format, "tiff");
        assert_eq!(media.text, ["a picture"]);
        assert_eq!(media.trailing, None);
    }

    #[test]
    fn exif_text_is_read() {
        let mut text = Text::default();
        push_exif(&exif_block("desc", "Yamada Taro"), &mut text);
        assert_eq!(text.items, ["desc", "Yamada Taro", "コメント"]);
    }

    #[test]
    fn broken_tiffs_are_not_media() {
        let file = sample();
        // Cut inside the directory or its values: gone. Cut in the strip: it runs past
        // the end.
        assert_cuts_are_caught(&file);
        // The entry count, the description's offset, the strip's byte count.
        for at in [8, 8 + 2 + 12 * 4 + 8, 8 + 2 + 12 * 6 + 8] {
            let mut broken = file.clone();
            broken[at] = broken[at].wrapping_add(0x40);
            assert_eq!(identify(&broken), None, "changed byte {at}");
        }
        // No directory at all.
        assert_eq!(identify(b"II*\0\0\0\0\0name,number\r\n"), None);
        // Text hidden in a gap no directory points at.
        assert!(identify(&tiff_with("a picture", &[0; 16])).is_some());
        assert_eq!(
            identify(&tiff_with("a picture", b"hidden: 123456789018")),
            None
        );
    }

    #[test]
    fn bytes_after_the_last_part_are_trailing() {
        assert_trailing_is_reported(&sample());
    }
}
