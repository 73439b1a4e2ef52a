//! Matroska and WebM: an EBML header whose children tile it and name the document type,
//! then a top-level `Segment` of known size (bytes after it are trailing) or unknown size
//! (to the end), whose level-1 elements tile it; a cluster of unknown size ends where the
//! next level-1 element starts. The track types decide video or audio. The segment title
//! and tag values are metadata.

use std::ops::Range;

use super::{Media, MediaKind, Text, lossy, slice};

/// The EBML header element.
const EBML: u32 = 0x1A45_DFA3;
/// The EBML header's document type (`webm`, `matroska`).
const DOC_TYPE: u32 = 0x4282;
/// The top-level segment.
const SEGMENT: u32 = 0x1853_8067;
/// Segment information (title, duration …).
const INFO: u32 = 0x1549_A966;
/// The segment title.
const TITLE: u32 = 0x7BA9;
/// The track list, one track entry each.
const TRACKS: u32 = 0x1654_AE6B;
/// One track.
const TRACK_ENTRY: u32 = 0xAE;
/// A track's type: 1 video, 2 audio.
const TRACK_TYPE: u32 = 0x83;
/// Tags, of simple tags with a name and a string.
const TAGS: u32 = 0x1254_C367;
/// One tag.
const TAG: u32 = 0x7373;
/// A name and value pair (may nest).
const SIMPLE_TAG: u32 = 0x67C8;
/// A simple tag's value.
const TAG_STRING: u32 = 0x4487;
/// A cluster of blocks.
const CLUSTER: u32 = 0x1F43_B675;

/// The elements that may follow a cluster of unknown size inside a segment.
const LEVEL_1: [u32; 8] = [
    0x114D_9B74,
    INFO,
    TRACKS,
    0x1C53_BB6B,
    0x1043_A770,
    TAGS,
    0x1941_A469,
    CLUSTER,
];

/// One element: its id and its data (to the parent's end when its size is unknown).
struct Element {
    /// The id, marker bits kept.
    id: u32,
    /// The data after the id and size.
    data: Range<usize>,
    /// Was the size "unknown" (all ones)?
    open: bool,
}

/// A Matroska or WebM file, if its header and segment walk.
pub(super) fn identify(bytes: &[u8]) -> Option<Media> {
    let header = element(bytes, 0, bytes.len())?;
    if header.id != EBML || header.open || !known_doc_type(bytes, &header.data) {
        return None;
    }
    let segment = element(bytes, header.data.end, bytes.len())?;
    if segment.id != SEGMENT {
        return None;
    }
    let mut text = Text::default();
    let mut tracks = Vec::new();
    walk_segment(bytes, &segment.data, &mut text, &mut tracks)?;
    let kind = if tracks.contains(&1) || tracks.is_empty() {
        MediaKind::Video
    } else {
        MediaKind::Audio
    };
    Some(Media::new(kind, "webm/mkv", text, bytes, segment.data.end))
}

/// Do the EBML header's children tile it, one of them a known document type?
fn known_doc_type(bytes: &[u8], header: &Range<usize>) -> bool {
    let mut at = header.start;
    let mut known = false;
    while at < header.end {
        let Some(child) = element(bytes, at, header.end).filter(|c| !c.open) else {
            return false;
        };
        if child.id == DOC_TYPE {
            let name = bytes.get(child.data.clone()).unwrap_or_default();
            known = matches!(name, b"webm" | b"matroska");
        }
        at = child.data.end;
    }
    known
}

/// Walks the level-1 elements of a segment, collecting text and track types.
fn walk_segment(
    bytes: &[u8],
    segment: &Range<usize>,
    text: &mut Text,
    tracks: &mut Vec<u64>,
) -> Option<()> {
    let mut at = segment.start;
    while at < segment.end {
        let child = element(bytes, at, segment.end)?;
        if child.open {
            if child.id != CLUSTER {
                return None;
            }
            at = cluster_end(bytes, child.data.start, segment.end)?;
            continue;
        }
        match child.id {
            INFO => values(bytes, &child.data, TITLE, text),
            TRACKS => track_types(bytes, &child.data, tracks),
            TAGS => tags(bytes, &child.data, text),
            _ => {}
        }
        at = child.data.end;
    }
    Some(())
}

/// Where a cluster of unknown size ends: at the next level-1 element, or `end`.
fn cluster_end(bytes: &[u8], mut at: usize, end: usize) -> Option<usize> {
    while at < end {
        let (id, _) = id(bytes, at)?;
        if LEVEL_1.contains(&id) {
            break;
        }
        let child = element(bytes, at, end).filter(|c| !c.open)?;
        at = child.data.end;
    }
    Some(at)
}

/// The types of the track entries in a track list.
fn track_types(bytes: &[u8], list: &Range<usize>, tracks: &mut Vec<u64>) {
    for entry in children(bytes, list).filter(|e| e.id == TRACK_ENTRY) {
        for kind in children(bytes, &entry.data).filter(|e| e.id == TRACK_TYPE) {
            let value = bytes.get(kind.data).unwrap_or_default();
            tracks.push(value.iter().fold(0, |n, &b| n << 8 | u64::from(b)));
        }
    }
}

/// The tag strings of the tags (and of simple tags nested one level).
fn tags(bytes: &[u8], list: &Range<usize>, text: &mut Text) {
    for tag in children(bytes, list).filter(|e| e.id == TAG) {
        for simple in children(bytes, &tag.data).filter(|e| e.id == SIMPLE_TAG) {
            values(bytes, &simple.data, TAG_STRING, text);
            for nested in children(bytes, &simple.data).filter(|e| e.id == SIMPLE_TAG) {
                values(bytes, &nested.data, TAG_STRING, text);
            }
        }
    }
}

/// Pushes the UTF-8 values of the children of `parent` with `id`.
fn values(bytes: &[u8], parent: &Range<usize>, id: u32, text: &mut Text) {
    for child in children(bytes, parent).filter(|e| e.id == id) {
        let value = bytes.get(child.data).unwrap_or_default();
        text.add(value, lossy);
    }
}

/// The elements of known size that tile `range`, up to the first that does not fit.
fn children<'a>(bytes: &'a [u8], range: &Range<usize>) -> impl Iterator<Item = Element> + 'a {
    let end = range.end;
    let mut at = range.start;
    std::iter::from_fn(move || {
        let element = element(bytes, at, end).filter(|e| !e.open)?;
        at = element.data.end;
        Some(element)
    })
}

/// The element at `at`, if its id and size are well formed and its data fits before `end`.
fn element(bytes: &[u8], at: usize, end: usize) -> Option<Element> {
    let (id, id_len) = id(bytes, at)?;
    let (size, size_len) = size(bytes, at + id_len)?;
    let start = at + id_len + size_len;
    let (data_end, open) = match size {
        Some(size) => (start.checked_add(size)?, false),
        None => (end, true),
    };
    (start <= data_end && data_end <= end).then_some(Element {
        id,
        data: start..data_end,
        open,
    })
}

/// An element id (one to four bytes, marker bit kept) and its length.
fn id(bytes: &[u8], at: usize) -> Option<(u32, usize)> {
    let first = *bytes.get(at)?;
    let len = usize::try_from(first.leading_zeros()).ok()? + 1;
    if len > 4 {
        return None;
    }
    let raw = slice(bytes, at, len)?;
    Some((raw.iter().fold(0, |id, &b| id << 8 | u32::from(b)), len))
}

/// An element size (one to eight bytes, marker bit dropped; None when "unknown", all
/// ones) and its length.
fn size(bytes: &[u8], at: usize) -> Option<(Option<usize>, usize)> {
    let first = *bytes.get(at)?;
    let len = usize::try_from(first.leading_zeros()).ok()? + 1;
    if len > 8 {
        return None;
    }
    let raw = slice(bytes, at, len)?;
    let marker = 0x80u8 >> (len - 1);
    let value = raw
        .iter()
        .skip(1)
        .fold(u64::from(first & !marker), |n, &b| n << 8 | u64::from(b));
    let all_ones = (1u64 << (7 * len)) - 1;
    let size = if value == all_ones {
        None
    } else {
        Some(usize::try_from(value).ok()?)
    };
    Some((size, len))
}

#[cfg(test)]
pub(super) mod tests {
    use super::super::tests::{assert_cuts_are_caught, assert_trailing_is_reported};
    use super::*;
    use crate::extract::media::identify;

    /// An element of `id` (given as its bytes) with a one- or two-byte size.
    fn el(id: &[u8], data: &[u8]) -> Vec<u8> {
        let mut out = id.to_vec();
        match u8::try_from(data.len()) {
            Ok(len) if len < 0x7F => out.push(0x80 | len),
            _ => {
                out.extend_from_slice(&(0x4000 | u16::try_from(data.len()).unwrap()).to_be_bytes())
            }
        }
        out.extend_from_slice(data);
        out
    }

    /// The EBML header of a WebM file.
    fn header() -> Vec<u8> {
        el(
            b"\x1A\x45\xDF\xA3",
            &[
                el(b"\x42\x86", &[1]),
                el(b"\x42\x82", b"webm"),
                el(b"\x42\x87", &[4]),
            ]
            .concat(),
        )
    }

    /// The level-1 elements of a WebM segment: a title, one track of `track_type`, a
    /// cluster.
    fn level_1(track_type: u8) -> Vec<u8> {
        let info = el(b"\x15\x49\xA9\x66", &el(b"\x7B\xA9", b"a clip"));
        let entry = el(
            b"\xAE",
            &[el(b"\xD7", &[1]), el(b"\x83", &[track_type])].concat(),
        );
        let tracks = el(b"\x16\x54\xAE\x6B", &entry);
        let simple = el(
            b"\x67\xC8",
            &[el(b"\x45\xA3", b"COMMENT"), el(b"\x44\x87", b"hi")].concat(),
        );
        let tags = el(b"\x12\x54\xC3\x67", &el(b"\x73\x73", &simple));
        let cluster = el(
            b"\x1F\x43\xB6\x75",
            &[el(b"\xE7", &[0]), el(b"\xA3", &[0x81, 0, 0, 0x80, 1, 2, 3])].concat(),
        );
        [info, tracks, tags, cluster].concat()
    }

    /// A WebM file with a video track.
    pub(crate) fn sample() -> Vec<u8> {
        [header(), el(b"\x18\x53\x80\x67", &level_1(1))].concat()
    }

    #[test]
    fn a_webm_is_video_with_its_title_and_tags() {
        let media = identify(&sample()).unwrap();
        assert_eq!((media.kind, media.format), (MediaKind::Video, "webm/mkv"));
        assert_eq!(media.text, ["a clip", "hi"]);
        assert_eq!(media.trailing, None);
        let audio = [header(), el(b"\x18\x53\x80\x67", &level_1(2))].concat();
        assert_eq!(identify(&audio).unwrap().kind, MediaKind::Audio);
    }

    #[test]
    fn unknown_sizes_run_to_the_next_level_1_element_or_the_end() {
        let body = level_1(1);
        let cluster_at = body.len() - 17;
        let mut open = header();
        open.extend_from_slice(b"\x18\x53\x80\x67\x01\xFF\xFF\xFF\xFF\xFF\xFF\xFF");
        open.extend_from_slice(&body[..cluster_at]);
        // The cluster again, of unknown size, then cues.
        open.extend_from_slice(b"\x1F\x43\xB6\x75\xFF");
        open.extend_from_slice(&body[cluster_at + 5..]);
        open.extend(el(b"\x1C\x53\xBB\x6B", &[]));
        let media = identify(&open).unwrap();
        assert_eq!(media.trailing, None);
        // Text after an open segment does not parse as elements.
        open.extend_from_slice(crate::extract::media::tests::CSV);
        assert_eq!(identify(&open), None);
    }

    #[test]
    fn broken_webms_are_not_media() {
        let file = sample();
        assert_cuts_are_caught(&file);
        let segment_at = header().len();
        // The header size, the doc type, the segment size, the info size.
        for at in [4, 10, segment_at + 4, segment_at + 9] {
            let mut broken = file.clone();
            broken[at] = broken[at].wrapping_add(1);
            assert_eq!(identify(&broken), None, "byte {at}");
        }
    }

    #[test]
    fn bytes_after_a_sized_segment_are_trailing() {
        assert_trailing_is_reported(&sample());
    }
}
