//! ISO base media files (MP4, MOV, M4A, 3GP, HEIC, AVIF): a first `ftyp` box, then top-level
//! boxes with 32- or 64-bit sizes (or "to the end") that tile the file exactly, at least one
//! of them a movie or metadata box. The brands decide the kind. iTunes-style metadata
//! (`moov/udta/meta/ilst`: title, artist, comment …) is metadata.

use std::ops::Range;

use super::{Media, MediaKind, Text, array, be32, be64, lossy, printable, utf16};

/// Brands of still images (HEIF, HEIC, AVIF, Canon raw).
const IMAGE_BRANDS: [&[u8; 4]; 12] = [
    b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"mif1", b"msf1", b"avif", b"avis",
    b"avci", b"crx ",
];

/// Brands of audio-only files.
const AUDIO_BRANDS: [&[u8; 4]; 5] = [b"M4A ", b"M4B ", b"M4P ", b"F4A ", b"F4B "];

/// Top-level boxes that hold media or its description.
const CONTENT: [&[u8; 4]; 4] = [b"moov", b"mdat", b"meta", b"moof"];

/// One box: its type, its body, where it ends.
struct Atom {
    /// The four-character type.
    kind: [u8; 4],
    /// The bytes after its header.
    body: Range<usize>,
}

/// An ISO base media file, if its top-level boxes tile it from an `ftyp`.
pub(super) fn identify(bytes: &[u8]) -> Option<Media> {
    let ftyp = atom(bytes, 0, bytes.len())?;
    let brands = bytes.get(ftyp.body.clone())?;
    if &ftyp.kind != b"ftyp" || brands.len() < 8 || brands.len() % 4 != 0 {
        return None;
    }
    let mut at = ftyp.body.end;
    let mut seen = Vec::new();
    let mut text = Text::default();
    // Zeros after the last box are padding; anything else must be a box.
    while bytes.get(at..)?.iter().any(|&b| b != 0) {
        let top = atom(bytes, at, bytes.len())?;
        if !printable(top.kind) {
            return None;
        }
        if &top.kind == b"moov" {
            metadata(bytes, &top.body, &mut text);
        }
        seen.push(top.kind);
        at = top.body.end;
    }
    if !seen.iter().any(|kind| CONTENT.contains(&kind)) {
        return None;
    }
    let (kind, format) = kind_of(brands, seen.contains(b"moov"));
    Some(Media::new(kind, format, text, bytes, at))
}

/// The box at `at`, if its size fits before `end`.
fn atom(bytes: &[u8], at: usize, end: usize) -> Option<Atom> {
    let kind = array(bytes, at + 4)?;
    let (header, size) = match be32(bytes, at)? {
        0 => (8, end.checked_sub(at)?),
        1 => (16, be64(bytes, at + 8)?),
        size => (8, size),
    };
    let box_end = at.checked_add(size)?;
    if size < header || box_end > end {
        return None;
    }
    Some(Atom {
        kind,
        body: at + header..box_end,
    })
}

/// The kind a file's brands (major, minor version, compatible) say it has. A file of
/// image brands with no movie box is a still image.
fn kind_of(brands: &[u8], movie: bool) -> (MediaKind, &'static str) {
    let major = brands.get(..4).unwrap_or_default();
    let compatible = || brands.chunks_exact(4).skip(2);
    let image = |brand: &[u8]| IMAGE_BRANDS.iter().any(|b| b.as_slice() == brand);
    if image(major) || (!movie && compatible().any(image)) {
        (MediaKind::Image, "heic/avif")
    } else if AUDIO_BRANDS.iter().any(|b| b.as_slice() == major) {
        (MediaKind::Audio, "m4a/mp4/mov")
    } else {
        (MediaKind::Video, "m4a/mp4/mov")
    }
}

/// The first child box of `kind` in `range`.
fn child(bytes: &[u8], range: &Range<usize>, kind: &[u8; 4]) -> Option<Range<usize>> {
    children(bytes, range)
        .find(|atom| &atom.kind == kind)
        .map(|atom| atom.body)
}

/// The boxes that tile `range`, up to the first that does not fit.
fn children<'a>(bytes: &'a [u8], range: &Range<usize>) -> impl Iterator<Item = Atom> + 'a {
    let end = range.end;
    let mut at = range.start;
    std::iter::from_fn(move || {
        let atom = atom(bytes, at, end)?;
        at = atom.body.end;
        Some(atom)
    })
}

/// The text values of `moov/udta/meta/ilst`.
fn metadata(bytes: &[u8], moov: &Range<usize>, text: &mut Text) {
    let Some(meta) = child(bytes, moov, b"udta").and_then(|udta| child(bytes, &udta, b"meta"))
    else {
        return;
    };
    // ISO's `meta` is a full box (version and flags first); QuickTime's is not.
    let skip = if be32(bytes, meta.start) == Some(0) {
        4
    } else {
        0
    };
    let Some(ilst) = child(bytes, &(meta.start + skip..meta.end), b"ilst") else {
        return;
    };
    for item in children(bytes, &ilst).filter(|item| &item.kind != b"----") {
        for data in children(bytes, &item.body).filter(|data| &data.kind == b"data") {
            let value = bytes
                .get(data.body.start + 8..data.body.end)
                .unwrap_or_default();
            match be32(bytes, data.body.start).map(|kind| kind & 0xFF_FFFF) {
                Some(1) => text.add(value, lossy),
                Some(2) => text.add(value, |raw| utf16(raw, true)),
                _ => {}
            }
        }
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::super::tests::assert_cuts_are_caught_but_at;
    use super::*;
    use crate::extract::media::identify;

    /// A box of `kind` holding `body`.
    pub(crate) fn atom(kind: &[u8; 4], body: &[u8]) -> Vec<u8> {
        let mut out = u32::try_from(body.len() + 8)
            .unwrap()
            .to_be_bytes()
            .to_vec();
        out.extend_from_slice(kind);
        out.extend_from_slice(body);
        out
    }

    /// An `ftyp` box of `major` brand, compatible with itself and `isom`.
    fn ftyp(major: &[u8; 4]) -> Vec<u8> {
        atom(
            b"ftyp",
            &[major.as_slice(), b"\0\0\x02\0", major, b"isom"].concat(),
        )
    }

    /// An iTunes metadata item holding UTF-8 `value`.
    fn item(kind: &[u8; 4], value: &str) -> Vec<u8> {
        let data = atom(b"data", &[b"\0\0\0\x01\0\0\0\0", value.as_bytes()].concat());
        atom(kind, &data)
    }

    /// A file of `major` brand: `ftyp`, `moov` with a title, `mdat`.
    pub(crate) fn mp4(major: &[u8; 4]) -> Vec<u8> {
        let ilst = atom(
            b"ilst",
            &[
                item(b"\xA9nam", "a film"),
                item(b"\xA9cmt", "090-1234-5678"),
            ]
            .concat(),
        );
        let meta = atom(
            b"meta",
            &[&[0; 4], atom(b"hdlr", &[0; 25]).as_slice(), &ilst].concat(),
        );
        let moov = atom(
            b"moov",
            &[atom(b"mvhd", &[0; 100]), atom(b"udta", &meta)].concat(),
        );
        [ftyp(major), moov, atom(b"mdat", b"\x00\x01\x02\x03 frames")].concat()
    }

    /// A small valid MP4.
    pub(crate) fn sample() -> Vec<u8> {
        mp4(b"isom")
    }

    #[test]
    fn brands_decide_the_kind() {
        let media = identify(&sample()).unwrap();
        assert_eq!(
            (media.kind, media.format),
            (MediaKind::Video, "m4a/mp4/mov")
        );
        assert_eq!(media.text, ["a film", "090-1234-5678"]);
        assert_eq!(media.trailing, None);
        let media = identify(&mp4(b"M4A ")).unwrap();
        assert_eq!(
            (media.kind, media.format),
            (MediaKind::Audio, "m4a/mp4/mov")
        );
        let heic = [
            ftyp(b"heic"),
            atom(b"meta", &[0; 40]),
            atom(b"mdat", &[1; 9]),
        ]
        .concat();
        let media = identify(&heic).unwrap();
        assert_eq!((media.kind, media.format), (MediaKind::Image, "heic/avif"));
    }

    #[test]
    fn large_and_open_ended_sizes_are_followed() {
        let mut file = ftyp(b"mp42");
        file.extend_from_slice(&1u32.to_be_bytes());
        file.extend_from_slice(b"mdat");
        file.extend_from_slice(&24u64.to_be_bytes());
        file.extend_from_slice(b"8 frames");
        assert!(identify(&file).is_some());
        let mut open = ftyp(b"mp42");
        open.extend_from_slice(&[0, 0, 0, 0]);
        open.extend_from_slice(b"mdat to the end");
        assert!(identify(&open).is_some());
    }

    #[test]
    fn boxes_that_do_not_tile_the_file_are_not_media() {
        let file = sample();
        let ftyp_len = ftyp(b"isom").len();
        let mdat_at = file.len() - 19;
        assert_cuts_are_caught_but_at(&file, &[mdat_at]);
        // The ftyp size, the moov size (up and down), the mdat size.
        for (at, delta) in [
            (3, 4),
            (ftyp_len + 3, 1),
            (ftyp_len + 3, 0xFF),
            (mdat_at + 3, 1),
        ] {
            let mut broken = file.clone();
            broken[at] = broken[at].wrapping_add(delta);
            assert_eq!(identify(&broken), None, "byte {at}");
        }
        // Text after the last box; an ftyp alone.
        let mut appended = file.clone();
        appended.extend_from_slice(crate::extract::media::tests::CSV);
        assert_eq!(identify(&appended), None);
        assert_eq!(identify(&ftyp(b"isom")), None);
    }
}
