//! FLAC: `fLaC` (after an optional ID3v2 tag), metadata blocks from `STREAMINFO` to the one
//! flagged last, then audio frames. Frames carry no length: each one runs from its sync code
//! (a header with a good CRC-8) to where the CRC-16 over the frame comes out zero and the
//! next header starts, or the file ends. A frame that ends before the file does leaves the
//! rest trailing. Vorbis comments (`TITLE=…`, `ARTIST=…`) are metadata; Ogg uses them too.

use super::crc::Crc;
use super::{Media, MediaKind, Text, array, le32, lossy, mp3, slice};

/// Where a frame ends.
enum End {
    /// Another frame starts here.
    Next(usize),
    /// The audio ends here (the file's end, or trailing bytes follow).
    Last(usize),
}

/// The CRC-8 (polynomial 0x07) of frame headers.
static CRC8: Crc = Crc::new(8, 0x07);

/// The CRC-16 (polynomial 0x8005) of whole frames.
static CRC16: Crc = Crc::new(16, 0x8005);

/// A FLAC stream, if its metadata blocks and frames walk to the end.
pub(super) fn identify(bytes: &[u8]) -> Option<Media> {
    let start = if bytes.starts_with(b"ID3") {
        mp3::id3_end(bytes)?
    } else {
        0
    };
    if bytes.get(start..start + 4)? != b"fLaC" {
        return None;
    }
    let mut text = Text::default();
    mp3::push_id3(bytes, &mut text);
    let audio = metadata(bytes, start + 4, &mut text)?;
    let end = frames(bytes, audio)?;
    Some(Media::new(MediaKind::Audio, "flac", text, bytes, end))
}

/// Walks the metadata blocks from `at`; where the audio frames start.
fn metadata(bytes: &[u8], mut at: usize, text: &mut Text) -> Option<usize> {
    let mut first = true;
    loop {
        let [flags, l0, l1, l2] = array::<4>(bytes, at)?;
        let kind = flags & 0x7F;
        let len = usize::try_from(u32::from_be_bytes([0, l0, l1, l2])).ok()?;
        let data = slice(bytes, at + 4, len)?;
        if first != (kind == 0) || (first && len != 34) || kind == 127 {
            return None;
        }
        if kind == 4 {
            push_comments(data, text);
        }
        at += 4 + len;
        first = false;
        if flags & 0x80 != 0 {
            return Some(at);
        }
    }
}

/// Walks the frames from `at`; where the audio ends.
fn frames(bytes: &[u8], mut at: usize) -> Option<usize> {
    while at < bytes.len() {
        let header = header_len(bytes, at)?;
        match frame_end(bytes, at, header)? {
            End::Next(next) => at = next,
            End::Last(end) => return Some(end),
        }
    }
    Some(at)
}

/// Where the frame at `start` (header `header` bytes long) ends: the first offset where the
/// CRC-16 over the frame is zero and the next frame header follows (or the file ends), else
/// the first offset where the CRC-16 is zero. None when it is never zero: a cut frame.
fn frame_end(bytes: &[u8], start: usize, header: usize) -> Option<End> {
    let shortest = start + header + 3;
    let mut crc = 0u16;
    let mut first_zero = None;
    for (index, &byte) in bytes.get(start..)?.iter().enumerate() {
        crc = crc16_update(crc, byte);
        let end = start + index + 1;
        if crc != 0 || end < shortest {
            continue;
        }
        if end == bytes.len() {
            return Some(End::Last(end));
        }
        if header_len(bytes, end).is_some() {
            return Some(End::Next(end));
        }
        first_zero.get_or_insert(end);
    }
    first_zero.map(End::Last)
}

/// The length of the frame header at `at`, if one is there with a good CRC-8.
fn header_len(bytes: &[u8], at: usize) -> Option<usize> {
    let [sync, b1, b2, b3, first] = array::<5>(bytes, at)?;
    let bad = sync != 0xFF
        || b1 & 0xFE != 0xF8
        || b2 >> 4 == 0
        || b2 & 0x0F == 0x0F
        || b3 >> 4 > 10
        || (b3 >> 1) & 7 == 3
        || b3 & 1 != 0;
    if bad {
        return None;
    }
    let coded = match first.leading_ones() {
        0 => 1,
        n @ 2..=7 => usize::try_from(n).ok()?,
        _ => return None,
    };
    let continued = slice(bytes, at + 5, coded - 1)?;
    if continued.iter().any(|b| b & 0xC0 != 0x80) {
        return None;
    }
    let mut len = 4 + coded;
    len += match b2 >> 4 {
        6 => 1,
        7 => 2,
        _ => 0,
    };
    len += match b2 & 0x0F {
        12 => 1,
        13 | 14 => 2,
        _ => 0,
    };
    (crc8(slice(bytes, at, len)?) == *bytes.get(at + len)?).then_some(len + 1)
}

/// The values of a Vorbis comment block (vendor string, then `KEY=value` entries);
/// pictures stored as comments are skipped.
pub(super) fn push_comments(data: &[u8], text: &mut Text) {
    let _ = comments(data, text);
}

/// [`push_comments`], stopping where the block breaks off.
fn comments(data: &[u8], text: &mut Text) -> Option<()> {
    let vendor = le32(data, 0)?;
    let mut at = 4 + vendor;
    let count = le32(data, at)?;
    at += 4;
    for _ in 0..count {
        let len = le32(data, at)?;
        let entry = slice(data, at + 4, len)?;
        let (key, value) = match entry.iter().position(|&b| b == b'=') {
            Some(eq) => entry.split_at(eq + 1),
            None => (&[][..], entry),
        };
        if !key.eq_ignore_ascii_case(b"METADATA_BLOCK_PICTURE=")
            && !key.eq_ignore_ascii_case(b"COVERART=")
        {
            text.add(value, lossy);
        }
        at += 4 + len;
    }
    Some(())
}

/// The CRC-8 of `data` (polynomial 0x07, initial value 0).
fn crc8(data: &[u8]) -> u8 {
    CRC8.update(0, data) as u8
}

/// The CRC-16 (polynomial 0x8005, initial value 0) with one more byte.
fn crc16_update(crc: u16, byte: u8) -> u16 {
    CRC16.update(u32::from(crc), &[byte]) as u16
}

#[cfg(test)]
pub(super) mod tests {
    use super::super::tests::{assert_cuts_are_caught_but_at, assert_trailing_is_reported};
    use super::*;
    use crate::extract::media::identify;

    /// A Vorbis comment block's data.
    pub(crate) fn comment_block(entries: &[&str]) -> Vec<u8> {
        let mut out = 6u32.to_le_bytes().to_vec();
        out.extend_from_slice(b"mamori");
        out.extend_from_slice(&u32::try_from(entries.len()).unwrap().to_le_bytes());
        for entry in entries {
            out.extend_from_slice(&u32::try_from(entry.len()).unwrap().to_le_bytes());
            out.extend_from_slice(entry.as_bytes());
        }
        out
    }

    /// Frame `number` of a mono 16-bit 44.1 kHz stream: 192 samples of one constant value.
    fn frame(number: u8) -> Vec<u8> {
        let mut out = vec![0xFF, 0xF8, 0x19, 0x08, number];
        out.push(crc8(&out));
        out.extend_from_slice(&[0x00, 0x12, 0x34]);
        let crc = out.iter().fold(0, |crc, &b| crc16_update(crc, b));
        out.extend_from_slice(&crc.to_be_bytes());
        out
    }

    /// A FLAC file of two frames with a title.
    pub(crate) fn sample() -> Vec<u8> {
        let mut info = Vec::new();
        info.extend_from_slice(&192u16.to_be_bytes());
        info.extend_from_slice(&192u16.to_be_bytes());
        info.extend_from_slice(&[0; 6]);
        let packed: u64 = (44_100 << 44) | (15 << 36) | 384;
        info.extend_from_slice(&packed.to_be_bytes());
        info.extend_from_slice(&[0; 16]);
        let comments = comment_block(&["TITLE=a tune", "ARTIST=Yamada Taro"]);
        let mut file = b"fLaC\x00\x00\x00\x22".to_vec();
        file.extend(info);
        file.push(0x84);
        file.extend_from_slice(&u32::try_from(comments.len()).unwrap().to_be_bytes()[1..]);
        file.extend(comments);
        file.extend(frame(0));
        file.extend(frame(1));
        file
    }

    #[test]
    fn crcs_match_their_check_values() {
        assert_eq!(crc8(b"123456789"), 0xF4);
        let crc = b"123456789".iter().fold(0, |crc, &b| crc16_update(crc, b));
        assert_eq!(crc, 0xFEE8);
    }

    #[test]
    fn a_flac_is_audio_with_its_comments() {
        let media = identify(&sample()).unwrap();
        assert_eq!(media.kind, MediaKind::Audio);
        assert_eq!(media.format, "flac");
        assert_eq!(media.text, ["a tune", "Yamada Taro"]);
        assert_eq!(media.trailing, None);
    }

    #[test]
    fn broken_flacs_are_not_media() {
        let file = sample();
        // Each frame ends a shorter stream; no frames at all is an empty stream.
        let frames_at = file.len() - 22;
        assert_cuts_are_caught_but_at(&file, &[frames_at, frames_at + 11]);
        // The STREAMINFO length, the comment block's length, a frame header, a frame's CRC.
        for at in [7, 44, frames_at + 2, file.len() - 1] {
            let mut broken = file.clone();
            broken[at] ^= 0x04;
            assert_eq!(identify(&broken), None, "byte {at}");
        }
    }

    #[test]
    fn bytes_after_the_last_frame_are_trailing() {
        assert_trailing_is_reported(&sample());
    }
}
