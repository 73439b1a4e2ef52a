//! MP3 (MPEG-1/2/2.5 audio, layers I–III): an optional ID3v2 tag (syncsafe size, frames
//! tiling it up to padding), then a chain of frame headers whose computed lengths lead from
//! one sync to the next for most of the file, then an optional ID3v1 `TAG`. What the chain
//! does not reach is trailing. ID3 text frames (`TIT2`, `TPE1`, `COMM` …) in their declared
//! encodings, and the ID3v1 fields, are metadata; WAV files carry ID3 tags too.

use std::borrow::Cow;

use super::{MAX_TEXT, Media, MediaKind, Text, array, is_padding, legacy, slice, tail, utf16};

/// The size of an ID3v2 header (and footer).
const ID3_HEADER: usize = 10;

/// The size of an ID3v1 tag at the end of a file.
const ID3V1: usize = 128;

/// Bit rates in kbit/s by (version row, layer column) and index 1–14.
const BIT_RATES: [[u16; 14]; 5] = [
    [
        32, 64, 96, 128, 160, 192, 224, 256, 288, 320, 352, 384, 416, 448,
    ],
    [
        32, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384,
    ],
    [
        32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320,
    ],
    [
        32, 48, 56, 64, 80, 96, 112, 128, 144, 160, 176, 192, 224, 256,
    ],
    [8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160],
];

/// One ID3v2 frame: its id, its flags, its data.
struct Frame<'a> {
    /// Three (v2.2) or four letters.
    id: &'a [u8],
    /// The format flags (v2.3 and v2.4).
    flags: u16,
    /// The frame's data.
    data: &'a [u8],
}

/// What an ID3v2 header says.
struct Id3 {
    /// The major version: 2, 3 or 4.
    version: u8,
    /// The header flags (unsynchronisation, extended header, footer).
    flags: u8,
    /// The size of the frames, extended header and padding.
    size: usize,
}

/// An MP3, if frame headers chain through most of the file after any ID3v2 tag.
pub(super) fn identify(bytes: &[u8]) -> Option<Media> {
    let mut text = Text::default();
    let start = if bytes.starts_with(b"ID3") {
        push_tag(bytes, &mut text)?
    } else {
        0
    };
    // Taggers may leave zeros after the tag, outside its declared size.
    let zeros = bytes.get(start..)?.iter().take_while(|&&b| b == 0).count();
    let first = if start > 0 { start + zeros } else { 0 };
    let (end, frames) = chain(bytes, first);
    let tag_at = id3v1(bytes, end, &mut text);
    let whole = tag_at - first;
    if frames == 0 || (frames < 2 && end != tag_at) || (end - first) * 2 < whole {
        return None;
    }
    Some(Media {
        kind: MediaKind::Audio,
        format: "mp3",
        text: text.items,
        trailing: tail(bytes, end, tag_at),
    })
}

/// The end of an ID3v2 tag at the start of `bytes` (a FLAC file may start with one too).
pub(super) fn id3_end(bytes: &[u8]) -> Option<usize> {
    let header = Id3::read(bytes)?;
    let footer = if header.version == 4 && header.flags & 0x10 != 0 {
        ID3_HEADER
    } else {
        0
    };
    let end = ID3_HEADER + header.size + footer;
    (end <= bytes.len()).then_some(end)
}

/// The text of an ID3v2 tag at the start of `bytes` (an MP3's, or a WAV `id3 ` chunk).
pub(super) fn push_id3(bytes: &[u8], text: &mut Text) {
    let _ = push_tag(bytes, text);
}

/// Walks the ID3v2 tag at the start of `bytes` into `text`; its end, if its frames tile it.
fn push_tag(bytes: &[u8], text: &mut Text) -> Option<usize> {
    let header = Id3::read(bytes)?;
    let end = id3_end(bytes)?;
    let raw = slice(bytes, ID3_HEADER, header.size)?;
    let body = if header.flags & 0x80 != 0 && header.version < 4 {
        Cow::Owned(resync(raw))
    } else {
        Cow::Borrowed(raw)
    };
    let body = body.get(extended_header(&header, &body)?..)?;
    let frames =
        frames(body, header.version, true).or_else(|| frames(body, header.version, false))?;
    for frame in &frames {
        frame_text(frame, header.version, text);
    }
    Some(end)
}

impl Id3 {
    /// The ID3v2 header at the start of `bytes`.
    fn read(bytes: &[u8]) -> Option<Self> {
        let [b'I', b'D', b'3', version, revision, flags, size @ ..] = array::<10>(bytes, 0)? else {
            return None;
        };
        let known = (2..=4).contains(&version) && revision != 0xFF;
        Some(Self {
            version,
            flags,
            size: syncsafe(size)?,
        })
        .filter(|_| known)
    }
}

/// A 28-bit size in four 7-bit bytes.
fn syncsafe(raw: [u8; 4]) -> Option<usize> {
    if raw.iter().any(|b| b & 0x80 != 0) {
        return None;
    }
    Some(raw.iter().fold(0, |size, &b| size << 7 | usize::from(b)))
}

/// Undoes unsynchronisation: every `0xFF 0x00` loses its zero.
fn resync(raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(raw.len());
    let mut previous = 0;
    for &b in raw {
        if !(previous == 0xFF && b == 0) {
            out.push(b);
        }
        previous = b;
    }
    out
}

/// Where the frames start: after the extended header, if the flags announce one.
fn extended_header(header: &Id3, body: &[u8]) -> Option<usize> {
    if header.flags & 0x40 == 0 || header.version == 2 {
        return Some(0);
    }
    let raw = array::<4>(body, 0)?;
    if header.version == 3 {
        Some(4 + usize::try_from(u32::from_be_bytes(raw)).ok()?)
    } else {
        syncsafe(raw)
    }
}

/// The frames of a tag body, if they tile it up to padding. Sizes are syncsafe in v2.4,
/// though some writers did not make them so.
fn frames(body: &[u8], version: u8, safe: bool) -> Option<Vec<Frame<'_>>> {
    let (id_len, header_len) = if version == 2 { (3, 6) } else { (4, 10) };
    let mut out = Vec::new();
    let mut at = 0;
    while let Some(id) = slice(body, at, id_len).filter(|id| id.first() != Some(&0)) {
        if !id
            .iter()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
        {
            return None;
        }
        let size = match (version, safe) {
            (2, _) => u32::from_be_bytes([
                0,
                *body.get(at + 3)?,
                *body.get(at + 4)?,
                *body.get(at + 5)?,
            ]),
            (3, _) | (_, false) => u32::from_be_bytes(array(body, at + 4)?),
            _ => u32::try_from(syncsafe(array(body, at + 4)?)?).ok()?,
        };
        let size = usize::try_from(size).ok()?;
        let flags = if version == 2 {
            0
        } else {
            u16::from_be_bytes(array(body, at + 8)?)
        };
        let data = slice(body, at + header_len, size)?;
        out.push(Frame { id, flags, data });
        at += header_len + size;
    }
    is_padding(body.get(at..)?).then_some(out)
}

/// Collects the text of a text, comment or lyrics frame.
fn frame_text(frame: &Frame<'_>, version: u8, text: &mut Text) {
    let Some(data) = frame_data(frame, version).filter(|data| text.spend(data.len())) else {
        return;
    };
    let Some((&encoding, data)) = data.split_first() else {
        return;
    };
    let data = data.get(..MAX_TEXT).unwrap_or(data);
    let id = frame.id;
    let strings = if matches!(id, b"COMM" | b"USLT" | b"COM" | b"ULT") {
        let strings = decode_strings(encoding, data.get(3..).unwrap_or_default());
        if strings.first().is_some_and(|d| d.starts_with("iTun")) {
            return;
        }
        strings.into_iter().skip(1).collect()
    } else if id.first() == Some(&b'T') {
        decode_strings(encoding, data)
    } else {
        return;
    };
    for string in strings {
        text.push(&string);
    }
}

/// A frame's data with the format flags undone, or None when it is compressed or encrypted.
fn frame_data<'a>(frame: &Frame<'a>, version: u8) -> Option<Cow<'a, [u8]>> {
    let flags = frame.flags;
    let (packed, grouped, length, unsync) = match version {
        3 => (flags & 0x00C0 != 0, flags & 0x0020 != 0, false, false),
        4 => (
            flags & 0x000C != 0,
            flags & 0x0040 != 0,
            flags & 0x0001 != 0,
            flags & 0x0002 != 0,
        ),
        _ => (false, false, false, false),
    };
    if packed {
        return None;
    }
    let skip = usize::from(grouped) + if length { 4 } else { 0 };
    let data = frame.data.get(skip..)?;
    Some(if unsync {
        Cow::Owned(resync(data))
    } else {
        Cow::Borrowed(data)
    })
}

/// The strings of a frame in ID3 `encoding`: 0 ISO-8859-1, 1 UTF-16 with BOM, 2 UTF-16BE,
/// 3 UTF-8, separated by NUL terminators of the encoding's width.
fn decode_strings(encoding: u8, data: &[u8]) -> Vec<String> {
    let wide = matches!(encoding, 1 | 2);
    let pieces: Vec<&[u8]> = if wide {
        split_wide(data)
    } else {
        data.split(|&b| b == 0).collect()
    };
    pieces
        .into_iter()
        .map(|piece| match encoding {
            0 => legacy(piece),
            1 => match piece {
                [0xFE, 0xFF, rest @ ..] => utf16(rest, true),
                [0xFF, 0xFE, rest @ ..] => utf16(rest, false),
                _ => utf16(piece, false),
            },
            2 => utf16(piece, true),
            _ => String::from_utf8_lossy(piece).into_owned(),
        })
        .collect()
}

/// UTF-16 data split at two-byte NULs on even offsets.
fn split_wide(data: &[u8]) -> Vec<&[u8]> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut at = 0;
    while let Some(pair) = data.get(at..at + 2) {
        if pair == [0, 0] {
            out.push(data.get(start..at).unwrap_or_default());
            start = at + 2;
        }
        at += 2;
    }
    out.push(data.get(start..).unwrap_or_default());
    out
}

/// The length of the MPEG audio frame whose header is at `at`, if it is one.
fn frame_len(bytes: &[u8], at: usize) -> Option<(usize, [u8; 2])> {
    let [sync, b1, b2, b3] = array::<4>(bytes, at)?;
    let version = (b1 >> 3) & 3;
    let layer = (b1 >> 1) & 3;
    let rate_index = usize::from(b2 >> 4);
    let sample_index = usize::from((b2 >> 2) & 3);
    let bad = sync != 0xFF
        || b1 & 0xE0 != 0xE0
        || version == 1
        || layer == 0
        || !(1..15).contains(&rate_index)
        || sample_index == 3
        || b3 & 3 == 2;
    if bad {
        return None;
    }
    let mpeg1 = version == 3;
    let row = match (mpeg1, layer) {
        (true, 3) => 0,
        (true, 2) => 1,
        (true, _) => 2,
        (false, 3) => 3,
        (false, _) => 4,
    };
    let kbps = usize::from(*BIT_RATES.get(row)?.get(rate_index - 1)?);
    let base = [44_100, 48_000, 32_000].get(sample_index)?;
    let rate = match version {
        3 => *base,
        2 => base / 2,
        _ => base / 4,
    };
    let padding = usize::from((b2 >> 1) & 1);
    let len = match (layer, mpeg1) {
        (3, _) => (12 * kbps * 1000 / rate + padding) * 4,
        (1, false) => 72 * kbps * 1000 / rate + padding,
        _ => 144 * kbps * 1000 / rate + padding,
    };
    Some((len, [b1 & 0xFE, b2 & 0x0C]))
}

/// Follows frame headers from `at` while each whole frame fits and keeps the first one's
/// version, layer and sample rate; where the chain ends, and how many frames it holds.
fn chain(bytes: &[u8], mut at: usize) -> (usize, usize) {
    let mut frames = 0;
    let mut stream = None;
    while let Some((len, kind)) = frame_len(bytes, at) {
        if at + len > bytes.len() || *stream.get_or_insert(kind) != kind {
            break;
        }
        at += len;
        frames += 1;
    }
    (at, frames)
}

/// Reads an ID3v1 tag in the last 128 bytes, if it starts at or after `after`; where the
/// tag starts (the file's length if there is none).
fn id3v1(bytes: &[u8], after: usize, text: &mut Text) -> usize {
    let at = bytes.len().saturating_sub(ID3V1);
    let Some(tag) = bytes
        .get(at..)
        .filter(|tag| tag.len() == ID3V1 && tag.starts_with(b"TAG"))
    else {
        return bytes.len();
    };
    if at < after {
        return bytes.len();
    }
    for range in [3..33, 33..63, 63..93, 97..127] {
        text.add(tag.get(range).unwrap_or_default(), legacy);
    }
    at
}

#[cfg(test)]
pub(super) mod tests {
    use super::super::tests::assert_trailing_is_reported;
    use super::*;
    use crate::extract::media::identify;

    /// An ID3v2.3 frame.
    pub(crate) fn frame(id: &[u8; 4], data: &[u8]) -> Vec<u8> {
        let mut out = id.to_vec();
        out.extend_from_slice(&u32::try_from(data.len()).unwrap().to_be_bytes());
        out.extend_from_slice(&[0, 0]);
        out.extend_from_slice(data);
        out
    }

    /// An ID3v2.3 tag holding `frames` and some padding.
    pub(crate) fn id3(frames: &[Vec<u8>]) -> Vec<u8> {
        let mut body = frames.concat();
        body.extend_from_slice(&[0; 20]);
        let size = u32::try_from(body.len()).unwrap();
        let syncsafe = [size >> 21, size >> 14, size >> 7, size].map(|b| (b & 0x7F) as u8);
        let mut out = b"ID3\x03\0\0".to_vec();
        out.extend_from_slice(&syncsafe);
        out.extend(body);
        out
    }

    /// `count` MPEG-1 layer III frames at 128 kbit/s, 44.1 kHz, no padding (417 bytes).
    fn frames(count: usize) -> Vec<u8> {
        let mut one = vec![0xFF, 0xFB, 0x90, 0x64];
        one.resize(417, 0x55);
        one.repeat(count)
    }

    /// A short MP3 with an ID3v2 title and comment.
    pub(crate) fn sample() -> Vec<u8> {
        let mut file = id3(&[
            frame(b"TIT2", b"\x01\xFF\xFEt\0i\0t\0l\0e\0"),
            frame(b"COMM", b"\x00eng\0call 090-1234-5678"),
            frame(b"TPE1", b"\x02\x30\x42\0\0\x30\x44"),
            frame(b"COMM", b"\x00engiTunNORM\0 000001 000002"),
        ]);
        file.extend(frames(4));
        file
    }

    #[test]
    fn an_mp3_is_audio_with_its_id3_text() {
        let media = identify(&sample()).unwrap();
        assert_eq!(media.kind, MediaKind::Audio);
        assert_eq!(media.format, "mp3");
        assert_eq!(media.text, ["title", "call 090-1234-5678", "あ", "い"]);
        assert_eq!(media.trailing, None);
    }

    #[test]
    fn frames_without_a_tag_and_an_id3v1_tag_are_read() {
        let mut file = frames(3);
        let mut v1 = b"TAG".to_vec();
        v1.extend_from_slice(&[b"Song".as_slice(), &[0; 26]].concat());
        v1.extend_from_slice(&[b"Yamada".as_slice(), &[0; 24]].concat());
        v1.extend_from_slice(&[0; 30 + 4]);
        v1.extend_from_slice(&[b"090-1234-5678".as_slice(), &[0; 17]].concat());
        v1.push(0xFF);
        file.extend_from_slice(&v1);
        let media = identify(&file).unwrap();
        assert_eq!(media.text, ["Song", "Yamada", "090-1234-5678"]);
        assert_eq!(media.trailing, None);
        // Text between the frames and the ID3v1 tag is trailing.
        let mut hidden = frames(3);
        hidden.extend_from_slice(b"hidden text, 123456789018");
        hidden.extend_from_slice(&v1);
        let trailing = identify(&hidden).unwrap().trailing.unwrap();
        assert_eq!(&hidden[trailing], b"hidden text, 123456789018");
    }

    #[test]
    fn broken_mp3s_are_not_media() {
        let file = sample();
        // A tag size that runs past the frames' start; an ID3 tag with nothing after it.
        let mut broken = file.clone();
        broken[8] = 0x7F;
        assert_eq!(identify(&broken), None);
        let tag_end = id3_end(&file).unwrap();
        assert_eq!(identify(&file[..tag_end]), None);
        // A frame inside the tag whose size runs past the tag.
        let mut broken = file.clone();
        broken[ID3_HEADER + 7] = 0x7F;
        assert_eq!(identify(&broken), None);
        // A bad first frame header; a single frame followed by text.
        let mut broken = file.clone();
        broken[tag_end + 2] = 0xF0;
        assert_eq!(identify(&broken), None);
        let mut one = frames(1);
        one.extend_from_slice(crate::extract::media::tests::CSV);
        assert_eq!(identify(&one), None);
        // Half the file is not frames.
        let mut mostly_text = frames(2);
        mostly_text.extend_from_slice(&crate::extract::media::tests::CSV.repeat(10));
        assert_eq!(identify(&mostly_text), None);
    }

    #[test]
    fn a_cut_last_frame_and_appended_text_are_trailing() {
        let file = sample();
        let cut = &file[..file.len() - 100];
        let media = identify(cut).unwrap();
        assert_eq!(media.trailing, Some(file.len() - 417..file.len() - 100));
        assert_trailing_is_reported(&file);
    }
}
