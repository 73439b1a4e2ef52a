//! Media files (images, audio, video, fonts) recognised by walking their structure, so that
//! ordinary media is not scanned as text while a file that only *starts* like media is.
//!
//! [`identify`] tries each format's walker; a walker answers only when the file parses as
//! its format from the first byte to a clearly marked end (PNG `IEND`, JPEG `EOI`, the GIF
//! trailer, a declared total size, chunks or boxes that tile the file). Bytes after that end
//! come back as [`Media::trailing`] for the caller to scan; metadata a viewer would show
//! comes back as [`Media::text`]. Lengths are checked against the input before use, no
//! allocation follows a length field, and nesting is walked to a small fixed depth.
//!
//! One module per family: `png`, `jpeg`, `gif`, `bmp`, `tiff` (also Exif), `riff` (WAV,
//! AVI, WebP), `mp3` (also ID3), `flac` (also Vorbis comments), `ogg`, `bmff` (MP4, MOV,
//! M4A, HEIC, AVIF), `matroska` (MKV, WebM) and `font` (TrueType, OpenType, WOFF, WOFF2).

mod bmff;
mod bmp;
mod crc;
mod flac;
mod font;
mod gif;
mod jpeg;
mod matroska;
mod mp3;
mod ogg;
mod png;
mod riff;
mod tiff;

use std::io::Read;
use std::ops::Range;

/// What a media file is, once its structure has been walked from start to end.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Media {
    /// Image, audio, video or font: what the file holds.
    pub kind: MediaKind,
    /// The format family, such as `"png"` or `"m4a/mp4/mov"`, for reports.
    pub format: &'static str,
    /// Metadata a viewer shows (comments, titles, artists …), at most [`MAX_TEXT`] bytes.
    pub text: Vec<String>,
    /// Bytes after the structure's end, when they are more than padding: scan them as text.
    pub trailing: Option<Range<usize>>,
}

/// The kind of content a media file holds, for the caller's policy and reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum MediaKind {
    /// Pictures: PNG, JPEG, GIF, WebP, BMP, TIFF, HEIC/AVIF.
    Image,
    /// Sound: WAV, MP3, FLAC, Ogg, M4A.
    Audio,
    /// Moving pictures: MP4/MOV, AVI, WebM/MKV.
    Video,
    /// Typefaces: TrueType, OpenType, WOFF, WOFF2.
    Font,
}

/// A format's walker: the media `bytes` are, if they are of its format.
type Walker = fn(&[u8]) -> Option<Media>;

/// The most metadata text one file gives, and the most one compressed text chunk expands to.
const MAX_TEXT: usize = 1 << 20;

/// The most areas a file's parts may be spread over (TIFF strips and tiles, font tables).
const MAX_SPANS: usize = 1 << 20;

/// How many bytes of anything may follow a structure's end and still count as padding.
const SLACK: usize = 3;

/// The media format `bytes` is, if its structure walks cleanly from the start to the end
/// (or to a clearly marked end followed by `trailing` bytes). None when it does not start
/// like media at all, or when the structure is broken (lengths that run past the end, bad
/// CRCs where the format has them, chunks or boxes that do not tile the file …): such a
/// file is then read as text or reported as unreadable by the caller.
pub(crate) fn identify(bytes: &[u8]) -> Option<Media> {
    const WALKERS: [Walker; 12] = [
        png::identify,
        jpeg::identify,
        gif::identify,
        bmp::identify,
        tiff::identify,
        riff::identify,
        flac::identify,
        ogg::identify,
        bmff::identify,
        matroska::identify,
        font::identify,
        // Last: a bare MPEG audio frame header is the weakest signature.
        mp3::identify,
    ];
    WALKERS.iter().find_map(|walk| walk(bytes))
}

impl Media {
    /// A file of `kind` whose structure ends at `end`; what follows is trailing unless it is
    /// padding.
    fn new(kind: MediaKind, format: &'static str, text: Text, bytes: &[u8], end: usize) -> Self {
        Self {
            kind,
            format,
            text: text.items,
            trailing: tail(bytes, end, bytes.len()),
        }
    }
}

/// Metadata text gathered during a walk: at most [`MAX_TEXT`] bytes of it in
/// [`MAX_PIECES`] pieces, from at most [`MAX_WORK`] bytes decoded or inflated (TIFF and font
/// entries may all point at the same bytes).
#[derive(Debug, Default)]
struct Text {
    /// The pieces, trimmed, none empty.
    items: Vec<String>,
    /// Their total length in bytes.
    size: usize,
    /// The bytes decoded or inflated so far.
    work: usize,
}

/// The most bytes one file's metadata walk decodes or inflates.
const MAX_WORK: usize = 16 * MAX_TEXT;

/// The most pieces of text kept apart; later ones join the last.
const MAX_PIECES: usize = 4096;

impl Text {
    /// Decodes `raw` (its first [`MAX_TEXT`] bytes) with `decode` and adds the result,
    /// unless a budget is spent.
    fn add(&mut self, raw: &[u8], decode: impl FnOnce(&[u8]) -> String) {
        let raw = raw.get(..MAX_TEXT).unwrap_or(raw);
        if self.room() > 0 && self.spend(raw.len()) {
            self.push(&decode(raw));
        }
    }

    /// Counts `bytes` of decoding work; false (and nothing counted) once the work budget is
    /// spent.
    fn spend(&mut self, bytes: usize) -> bool {
        if self.work >= MAX_WORK {
            return false;
        }
        self.work = self.work.saturating_add(bytes.min(MAX_TEXT));
        true
    }

    /// Adds one piece (trimmed of white space and NULs; dropped when empty), cut to what is
    /// left of the budget.
    fn push(&mut self, text: &str) {
        let text = text.trim_matches(|c: char| c.is_whitespace() || c == '\0');
        let join = self.items.len() >= MAX_PIECES;
        let room = self.room().saturating_sub(usize::from(join));
        if text.is_empty() || room == 0 {
            return;
        }
        let cut = text.get(..text.floor_char_boundary(room)).unwrap_or("");
        self.size += cut.len() + usize::from(join);
        match self.items.last_mut() {
            Some(last) if join => {
                last.push('\n');
                last.push_str(cut);
            }
            _ => self.items.push(cut.to_string()),
        }
    }

    /// Bytes left in the budget.
    fn room(&self) -> usize {
        MAX_TEXT.saturating_sub(self.size)
    }

    /// `data` expanded from zlib, at most [`MAX_TEXT`] bytes of it (empty once the work
    /// budget is spent); None when it is corrupt.
    fn inflate(&mut self, data: &[u8]) -> Option<Vec<u8>> {
        if !self.spend(data.len()) {
            return Some(Vec::new());
        }
        let mut out = Vec::new();
        let limit = u64::try_from(MAX_TEXT).unwrap_or(u64::MAX);
        flate2::read::ZlibDecoder::new(data)
            .take(limit)
            .read_to_end(&mut out)
            .ok()?;
        self.spend(out.len());
        Some(out)
    }
}

/// `len` bytes at `at`, if they are all there.
fn slice(bytes: &[u8], at: usize, len: usize) -> Option<&[u8]> {
    bytes.get(at..at.checked_add(len)?)
}

/// `N` bytes at `at` as an array.
fn array<const N: usize>(bytes: &[u8], at: usize) -> Option<[u8; N]> {
    slice(bytes, at, N)?.try_into().ok()
}

/// A big-endian `u16` at `at`, as a size.
fn be16(bytes: &[u8], at: usize) -> Option<usize> {
    Some(usize::from(u16::from_be_bytes(array(bytes, at)?)))
}

/// A big-endian `u32` at `at`, as a size.
fn be32(bytes: &[u8], at: usize) -> Option<usize> {
    usize::try_from(u32::from_be_bytes(array(bytes, at)?)).ok()
}

/// A big-endian `u64` at `at`, as a size.
fn be64(bytes: &[u8], at: usize) -> Option<usize> {
    usize::try_from(u64::from_be_bytes(array(bytes, at)?)).ok()
}

/// A little-endian `u16` at `at`, as a size.
fn le16(bytes: &[u8], at: usize) -> Option<usize> {
    Some(usize::from(u16::from_le_bytes(array(bytes, at)?)))
}

/// A little-endian `u32` at `at`, as a size.
fn le32(bytes: &[u8], at: usize) -> Option<usize> {
    usize::try_from(u32::from_le_bytes(array(bytes, at)?)).ok()
}

/// Is a four-byte chunk or box name printable ASCII, as every format here requires?
fn printable(tag: [u8; 4]) -> bool {
    tag.iter().all(|b| (0x20..0x7F).contains(b))
}

/// Are these bytes filler rather than content: a few bytes of anything, or any run of
/// `0x00`/`0xFF`?
fn is_padding(bytes: &[u8]) -> bool {
    bytes.len() <= SLACK || bytes.iter().all(|&b| b == 0 || b == 0xFF)
}

/// `start..end` as trailing content, or None when it is padding (or empty).
fn tail(bytes: &[u8], start: usize, end: usize) -> Option<Range<usize>> {
    let rest = bytes.get(start..end)?;
    (!is_padding(rest)).then_some(start..end)
}

/// The end of the areas `spans` cover from `start` on, if the gaps between them are all
/// padding (formats that point at their parts by offset: TIFF, fonts, BMP).
fn covered_end(bytes: &[u8], mut spans: Vec<Range<usize>>, start: usize) -> Option<usize> {
    if spans.len() > MAX_SPANS {
        return None;
    }
    spans.sort_unstable_by_key(|span| span.start);
    let mut end = start;
    for span in spans {
        if span.start > end && !is_padding(bytes.get(end..span.start)?) {
            return None;
        }
        end = end.max(span.end);
    }
    (end <= bytes.len()).then_some(end)
}

/// Text in an undeclared 8-bit charset (Latin-1 by the book, Shift_JIS or UTF-8 in
/// practice): the crate's best reading.
fn legacy(raw: &[u8]) -> String {
    crate::charset::decode(raw, None)
}

/// UTF-8 text, invalid sequences replaced.
fn lossy(raw: &[u8]) -> String {
    String::from_utf8_lossy(raw).into_owned()
}

/// UTF-16 text without a BOM.
fn utf16(raw: &[u8], big_endian: bool) -> String {
    let units = raw.chunks_exact(2).map(|pair| match (pair, big_endian) {
        ([hi, lo], true) | ([lo, hi], false) => u16::from_be_bytes([*hi, *lo]),
        _ => 0,
    });
    char::decode_utf16(units)
        .map(|c| c.unwrap_or(char::REPLACEMENT_CHARACTER))
        .collect()
}

/// The text of an XMP packet (element content; attributes are dropped).
fn push_xmp(xml: &[u8], text: &mut Text) {
    let room = text.room();
    text.add(xml, |xml| super::xml::to_text(xml, room).text);
}

#[cfg(test)]
pub(super) mod tests {
    use proptest::prelude::*;

    use super::*;

    /// A CSV of personal data, as an attacker would hide it.
    pub(crate) const CSV: &[u8] = b"name,my_number,phone\r\n\
        Yamada Taro,123456789018,090-1234-5678\r\n\
        Suzuki Hanako,234567890123,080-2345-6789\r\n";

    /// `head` followed by [`CSV`].
    fn csv_after(head: &[u8]) -> Vec<u8> {
        let mut file = head.to_vec();
        file.extend_from_slice(CSV);
        file
    }

    /// Every file, cut anywhere before its end, that `identify` still takes for media must
    /// say so with the rest as trailing data, never silently.
    pub(crate) fn assert_cuts_are_caught(file: &[u8]) {
        for cut in 0..file.len() {
            let media = identify(&file[..cut]);
            assert!(
                media.is_none(),
                "cut at {cut} of {} still identified: {media:?}",
                file.len()
            );
        }
    }

    /// Like [`assert_cuts_are_caught`], for formats without an end marker: a cut at one
    /// of `boundaries` (between frames, pages or boxes) leaves a shorter file of the same
    /// format, and a few bytes past one may count as padding; a cut anywhere else is not
    /// media, or is media with the cut part trailing.
    pub(crate) fn assert_cuts_are_caught_but_at(file: &[u8], boundaries: &[usize]) {
        for cut in 0..file.len() {
            let media = identify(&file[..cut]);
            if boundaries.contains(&cut) {
                assert!(media.is_some(), "cut at {cut} is no longer media");
                continue;
            }
            if boundaries.iter().any(|&b| (b..=b + SLACK).contains(&cut)) {
                continue;
            }
            assert!(
                media.as_ref().is_none_or(|m| m.trailing.is_some()),
                "cut at {cut} of {} still identified: {media:?}",
                file.len()
            );
        }
    }

    /// `file` with `extra` appended: the same media, with the extra bytes trailing.
    pub(crate) fn assert_trailing_is_reported(file: &[u8]) {
        let mut longer = file.to_vec();
        longer.extend_from_slice(CSV);
        let media = identify(&longer).expect("still media");
        let trailing = media.trailing.expect("trailing bytes");
        assert_eq!(trailing.end, longer.len());
        // It may start earlier, at alignment padding the file ended with.
        assert!(trailing.start <= file.len() && is_padding(&file[trailing.start..]));
        assert_eq!(identify(file).expect("media").trailing, None);
    }

    #[test]
    fn text_after_a_media_signature_is_not_media() {
        for head in [
            &b"\x89PNG\r\n\x1a\n"[..],
            b"\xff\xd8\xff",
            b"\xff\xd8\xff\xe0",
            b"RIFF",
            b"RIFF\x10\0\0\0WAVE",
            b"ID3",
            b"ID3\x03\0\0\0\0\0\x10",
            b"GIF89a",
            b"BM",
            b"II*\0",
            b"MM\0*",
            b"fLaC",
            b"OggS",
            b"\0\0\0\x18ftypisom",
            b"\x1a\x45\xdf\xa3",
            b"\0\x01\0\0",
            b"OTTO",
            b"wOFF",
            b"wOF2",
            b"\xff\xfb\x90\x64",
        ] {
            let file = csv_after(head);
            assert_eq!(identify(&file), None, "{head:?}");
        }
        assert_eq!(identify(CSV), None);
        assert_eq!(identify(b""), None);
    }

    #[test]
    fn text_budget_is_bounded_and_cut_on_a_char_boundary() {
        let mut text = Text::default();
        text.push(&"あ".repeat(MAX_TEXT / 3 + 10));
        assert!(text.items[0].ends_with('あ'));
        assert!(text.size <= MAX_TEXT && text.size + 3 > MAX_TEXT);
        text.push("more than fits");
        assert_eq!(text.size, MAX_TEXT);
        text.push("more");
        assert_eq!(text.items.len(), 2);
        let mut text = Text::default();
        text.push("  \0 ");
        text.push(" a\0");
        assert_eq!(text.items, ["a"]);
    }

    #[test]
    fn padding_is_not_trailing() {
        assert_eq!(tail(b"abc\0\0\0\0", 3, 7), None);
        assert_eq!(tail(b"abc\r\n", 3, 5), None);
        assert_eq!(tail(b"abcdefgh", 3, 8), Some(3..8));
    }

    #[test]
    fn utf16_decodes_both_orders() {
        assert_eq!(utf16(b"\0A\x30\x42", true), "Aあ");
        assert_eq!(utf16(b"A\0\x42\x30", false), "Aあ");
    }

    /// One small valid file of each family.
    fn samples() -> Vec<Vec<u8>> {
        vec![
            png::tests::sample(),
            jpeg::tests::sample(),
            gif::tests::sample(),
            bmp::tests::sample(),
            tiff::tests::sample(),
            riff::tests::sample(),
            mp3::tests::sample(),
            flac::tests::sample(),
            ogg::tests::sample(),
            bmff::tests::sample(),
            matroska::tests::sample(),
            font::tests::sample(),
        ]
    }

    #[test]
    fn every_sample_is_media_of_its_own_format() {
        let formats: Vec<&str> = samples()
            .iter()
            .map(|file| identify(file).expect("a sample is media").format)
            .collect();
        assert_eq!(
            formats,
            [
                "png",
                "jpeg",
                "gif",
                "bmp",
                "tiff",
                "wav",
                "mp3",
                "flac",
                "ogg",
                "m4a/mp4/mov",
                "webm/mkv",
                "ttf/otf"
            ]
        );
    }

    proptest! {
        #[test]
        fn damaged_samples_never_panic(
            which in 0usize..12,
            flips in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..8),
            cut in any::<usize>(),
        ) {
            let mut file = samples().swap_remove(which);
            for (at, value) in flips {
                let len = file.len();
                file[at % len] = value;
            }
            file.truncate(cut % (file.len() + 1));
            if let Some(media) = identify(&file)
                && let Some(trailing) = media.trailing
            {
                prop_assert!(trailing.start < trailing.end && trailing.end <= file.len());
            }
        }

        #[test]
        fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
            let _ = identify(&bytes);
        }

        #[test]
        fn random_bytes_after_each_signature_never_panic(
            which in 0usize..20,
            rest in proptest::collection::vec(any::<u8>(), 0..512),
        ) {
            let heads: [&[u8]; 20] = [
                b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR", b"\xff\xd8\xff", b"GIF89a", b"BM",
                b"II*\0\x08\0\0\0", b"MM\0*\0\0\0\x08", b"RIFF", b"fLaC\0\0\0\x22", b"OggS\0\x02",
                b"\0\0\0\x14ftyp", b"\x1a\x45\xdf\xa3", b"\0\x01\0\0", b"OTTO", b"wOFF",
                b"wOF2", b"ttcf", b"ID3\x04\0\0", b"\xff\xfb", b"\xff\xf3", b"\xff\xf8",
            ];
            let mut file = heads[which].to_vec();
            file.extend_from_slice(&rest);
            let _ = identify(&file);
        }
    }
}
