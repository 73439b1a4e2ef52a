//! Ogg (Vorbis, Opus, FLAC, Speex, Theora): pages with `OggS`, version 0, segment tables
//! whose sizes give each page's length, and good CRC-32s, tiling the file from a first page
//! that begins a stream. Bytes after the last page are trailing. The comment header of the
//! first stream (its second packet) is metadata.

use super::crc::Crc;
use super::{MAX_TEXT, Media, MediaKind, Text, array, flac, slice};

/// The fixed part of a page header.
const HEADER: usize = 27;

/// The flag of a page that begins a logical stream.
const BEGIN: u8 = 0x02;

/// The CRC-32 (polynomial 0x04C11DB7, not reflected).
static CRC: Crc = Crc::new(32, 0x04C1_1DB7);

/// One page: its flags, stream, segment table and body.
struct Page<'a> {
    /// Continued packet, beginning of stream, end of stream.
    flags: u8,
    /// The logical stream's serial number.
    serial: [u8; 4],
    /// The segment table: each packet ends at a value below 255.
    lacing: &'a [u8],
    /// The packet data.
    body: &'a [u8],
    /// Where the next page starts.
    end: usize,
}

/// The first packets of the first stream, put back together from its pages.
#[derive(Default)]
struct Packets {
    /// The stream followed.
    serial: Option<[u8; 4]>,
    /// The packets completed (the identification and comment headers).
    done: Vec<Vec<u8>>,
    /// The packet being put together.
    current: Vec<u8>,
}

/// An Ogg stream, if its pages tile the file.
pub(super) fn identify(bytes: &[u8]) -> Option<Media> {
    if !bytes.starts_with(b"OggS") {
        return None;
    }
    let mut at = 0;
    let mut video = false;
    let mut packets = Packets::default();
    while bytes.get(at..at + 4) == Some(b"OggS") {
        let page = page(bytes, at)?;
        if at == 0 && page.flags & BEGIN == 0 {
            return None;
        }
        if page.flags & BEGIN != 0 {
            video |= is_video(page.body);
        }
        packets.add(&page);
        at = page.end;
    }
    let mut text = Text::default();
    packets.comments(&mut text);
    let kind = if video {
        MediaKind::Video
    } else {
        MediaKind::Audio
    };
    Some(Media::new(kind, "ogg", text, bytes, at))
}

/// The page at `at`, if its header, segment table and body fit and its CRC matches.
fn page(bytes: &[u8], at: usize) -> Option<Page<'_>> {
    let header = slice(bytes, at, HEADER)?;
    let segments = usize::from(*header.get(26)?);
    let lacing = slice(bytes, at + HEADER, segments)?;
    let body_len = lacing.iter().map(|&n| usize::from(n)).sum();
    let body = slice(bytes, at + HEADER + segments, body_len)?;
    let flags = *header.get(5)?;
    if *header.get(4)? != 0 || flags & !0x07 != 0 {
        return None;
    }
    let stored = u32::from_le_bytes(array(header, 22)?);
    let crc = [header.get(..22)?, &[0; 4], header.get(26..)?, lacing, body]
        .iter()
        .fold(0, |crc, part| crc_update(crc, part));
    (crc == stored).then_some(Page {
        flags,
        serial: array(header, 14)?,
        lacing,
        body,
        end: at + HEADER + segments + body_len,
    })
}

/// Does a stream's first packet announce a video codec (Theora, Daala, OGM video)?
fn is_video(packet: &[u8]) -> bool {
    [b"\x80theora".as_slice(), b"\x80daala", b"\x01video"]
        .iter()
        .any(|magic| packet.starts_with(magic))
}

impl Packets {
    /// Adds a page's packets, if it belongs to the first stream and two packets are not
    /// done yet.
    fn add(&mut self, page: &Page<'_>) {
        if *self.serial.get_or_insert(page.serial) != page.serial {
            return;
        }
        let mut at = 0;
        for &lace in page.lacing {
            if self.done.len() >= 2 {
                return;
            }
            let piece = page
                .body
                .get(at..at + usize::from(lace))
                .unwrap_or_default();
            if self.current.len() < MAX_TEXT {
                self.current.extend_from_slice(piece);
            }
            at += usize::from(lace);
            if lace < 255 {
                self.done.push(std::mem::take(&mut self.current));
            }
        }
    }

    /// The comment header's text, by the codec the first packet names.
    fn comments(&self, text: &mut Text) {
        let (Some(first), Some(second)) = (self.done.first(), self.done.get(1)) else {
            return;
        };
        let block = if first.starts_with(b"Speex   ") {
            Some(second.as_slice())
        } else if first.starts_with(b"\x7FFLAC") {
            second.get(4..)
        } else {
            [b"\x03vorbis".as_slice(), b"OpusTags", b"\x81theora"]
                .iter()
                .find_map(|magic| second.strip_prefix(*magic))
        };
        if let Some(block) = block {
            flac::push_comments(block, text);
        }
    }
}

/// The CRC-32 of `data` added to `crc` (initial value 0, no final inversion).
fn crc_update(crc: u32, data: &[u8]) -> u32 {
    CRC.update(crc, data)
}

#[cfg(test)]
pub(super) mod tests {
    use super::super::tests::{assert_cuts_are_caught_but_at, assert_trailing_is_reported};
    use super::*;
    use crate::extract::media::identify;

    /// A page of stream 1 holding `packets` (each under 255 bytes here), with its CRC.
    fn page(flags: u8, sequence: u32, packets: &[&[u8]]) -> Vec<u8> {
        let mut out = b"OggS\0".to_vec();
        out.push(flags);
        out.extend_from_slice(&[0; 8]);
        out.extend_from_slice(&1u32.to_le_bytes());
        out.extend_from_slice(&sequence.to_le_bytes());
        out.extend_from_slice(&[0; 4]);
        out.push(u8::try_from(packets.len()).unwrap());
        for packet in packets {
            out.push(u8::try_from(packet.len()).unwrap());
        }
        for packet in packets {
            out.extend_from_slice(packet);
        }
        let crc = crc_update(0, &out);
        out[22..26].copy_from_slice(&crc.to_le_bytes());
        out
    }

    /// An Ogg Vorbis file: identification, comments and setup headers, one audio packet.
    pub(crate) fn sample() -> Vec<u8> {
        let mut ident = b"\x01vorbis\0\0\0\0\x01\x44\xAC\0\0".to_vec();
        ident.extend_from_slice(&[0; 12]);
        ident.extend_from_slice(&[0xB8, 0x01]);
        let mut comments = b"\x03vorbis".to_vec();
        comments.extend(flac::tests::comment_block(&[
            "TITLE=a song",
            "COMMENT=090-1234-5678",
        ]));
        comments.push(1);
        let mut file = page(BEGIN, 0, &[&ident]);
        file.extend(page(0, 1, &[&comments, b"\x05vorbis setup"]));
        file.extend(page(0x04, 2, &[b"audio"]));
        file
    }

    #[test]
    fn the_ogg_crc_matches_its_check_value() {
        assert_eq!(crc_update(0, b"123456789"), 0x89A1_897F);
    }

    #[test]
    fn an_ogg_is_audio_with_its_comments() {
        let media = identify(&sample()).unwrap();
        assert_eq!(media.kind, MediaKind::Audio);
        assert_eq!(media.format, "ogg");
        assert_eq!(media.text, ["a song", "090-1234-5678"]);
        assert_eq!(media.trailing, None);
        let theora = page(BEGIN, 0, &[b"\x80theora\x03\x02\x01"]);
        assert_eq!(identify(&theora).unwrap().kind, MediaKind::Video);
    }

    #[test]
    fn broken_oggs_are_not_media() {
        let file = sample();
        let first = page(BEGIN, 0, &[&file[28..28 + 30]]).len();
        let second = file.len() - page(0x04, 2, &[b"audio"]).len();
        assert_cuts_are_caught_but_at(&file, &[first, second]);
        // The version, a segment size, a CRC byte, a body byte.
        for at in [4, 27, 22, first + 40] {
            let mut broken = file.clone();
            broken[at] ^= 0x01;
            assert_eq!(identify(&broken), None, "byte {at}");
        }
        // A first page that does not begin a stream.
        assert_eq!(identify(&file[first..]), None);
    }

    #[test]
    fn bytes_after_the_last_page_are_trailing() {
        assert_trailing_is_reported(&sample());
    }
}
