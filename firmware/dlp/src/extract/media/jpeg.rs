//! JPEG (JFIF, Exif, progressive, MPO): `SOI`, marker segments with their lengths, a frame
//! header before the first scan, each scan's entropy-coded data up to the next marker that
//! is not a restart, and `EOI`. Further images that follow directly (MPO, the second frame
//! of a stereo or depth photo) are walked too. `COM` segments, Exif and XMP are metadata.

use memchr::memchr;

use super::{Media, MediaKind, Text, be16, legacy, push_xmp, slice, tiff};

/// How a JPEG starts: `SOI` and the first byte of the next marker.
const START: &[u8] = b"\xFF\xD8\xFF";

/// The most images walked one after the other in one file.
const MAX_IMAGES: usize = 16;

/// Where Exif data starts in an `APP1` segment.
const EXIF: &[u8] = b"Exif\0\0";

/// Where XMP starts in an `APP1` segment.
const XMP: &[u8] = b"http://ns.adobe.com/xap/1.0/\0";

/// A JPEG, if every image in it walks from `SOI` to `EOI`.
pub(super) fn identify(bytes: &[u8]) -> Option<Media> {
    if !bytes.starts_with(START) {
        return None;
    }
    let mut text = Text::default();
    let mut end = 0;
    for _ in 0..MAX_IMAGES {
        end = image(bytes, end, &mut text)?;
        if !bytes.get(end..)?.starts_with(START) {
            break;
        }
    }
    Some(Media::new(MediaKind::Image, "jpeg", text, bytes, end))
}

/// Walks one image from its `SOI` at `start`; the offset just past its `EOI`.
fn image(bytes: &[u8], start: usize, text: &mut Text) -> Option<usize> {
    let mut at = start + 2;
    let mut frame = false;
    let mut scanned = false;
    loop {
        let (marker, after) = marker(bytes, at)?;
        match marker {
            0xD9 => return scanned.then_some(after),
            // TEM stands alone; SOI, restarts and reserved bytes do not belong here.
            0x01 => {
                at = after;
                continue;
            }
            0x00..=0xBF | 0xD0..=0xD8 => return None,
            _ => {}
        }
        let len = be16(bytes, after)?;
        let data = slice(bytes, after + 2, len.checked_sub(2)?)?;
        at = after + len;
        match marker {
            0xC0..=0xCF if !matches!(marker, 0xC4 | 0xC8 | 0xCC) => {
                frame = valid_frame(data);
                if !frame {
                    return None;
                }
            }
            0xDA => {
                if !frame || !valid_scan(data) {
                    return None;
                }
                at = entropy_end(bytes, at)?;
                scanned = true;
            }
            0xFE => text.add(data, legacy),
            0xE1 => app1(data, text),
            _ => {}
        }
    }
}

/// The marker at `at` (after any `0xFF` fill bytes) and the offset after it.
fn marker(bytes: &[u8], at: usize) -> Option<(u8, usize)> {
    if *bytes.get(at)? != 0xFF {
        return None;
    }
    let fill = bytes.get(at..)?.iter().take_while(|&&b| b == 0xFF).count();
    let code = *bytes.get(at + fill)?;
    Some((code, at + fill + 1))
}

/// Is this a frame header (`SOFn`) with a precision, a width and its component list?
fn valid_frame(data: &[u8]) -> bool {
    let Some(&[precision, _, _, w0, w1, components]) = data.first_chunk::<6>() else {
        return false;
    };
    matches!(precision, 8 | 12 | 16)
        && u16::from_be_bytes([w0, w1]) > 0
        && components > 0
        && data.len() == 6 + 3 * usize::from(components)
}

/// Is this a scan header (`SOS`) as long as its component count says?
fn valid_scan(data: &[u8]) -> bool {
    match data.first() {
        Some(&count) => (1..=4).contains(&count) && data.len() == 4 + 2 * usize::from(count),
        None => false,
    }
}

/// The offset of the first marker after entropy-coded data starting at `at`: a `0xFF` not
/// followed by a stuffed zero, a restart marker or more fill.
fn entropy_end(bytes: &[u8], mut at: usize) -> Option<usize> {
    loop {
        let ff = at + memchr(0xFF, bytes.get(at..)?)?;
        match *bytes.get(ff + 1)? {
            0x00 | 0xD0..=0xD7 | 0xFF => at = ff + 1,
            _ => return Some(ff),
        }
    }
}

/// The text of an `APP1` segment: Exif or XMP.
fn app1(data: &[u8], text: &mut Text) {
    if let Some(exif) = data.strip_prefix(EXIF) {
        tiff::push_exif(exif, text);
    } else if let Some(xmp) = data.strip_prefix(XMP) {
        push_xmp(xmp, text);
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::super::tests::{assert_cuts_are_caught, assert_trailing_is_reported};
    use super::*;
    use crate::extract::media::identify;

    /// A marker segment: marker, length, data.
    fn segment(marker: u8, data: &[u8]) -> Vec<u8> {
        let mut out = vec![0xFF, marker];
        out.extend_from_slice(&u16::try_from(data.len() + 2).unwrap().to_be_bytes());
        out.extend_from_slice(data);
        out
    }

    /// A 1x1 baseline greyscale JPEG with `extra` segments after `APP0`: the quantisation
    /// and Huffman tables a decoder needs for one all-grey block.
    pub(crate) fn jpeg_with(extra: &[Vec<u8>]) -> Vec<u8> {
        let mut file = vec![0xFF, 0xD8];
        file.extend(segment(0xE0, b"JFIF\0\x01\x01\0\0\x01\0\x01\0\0"));
        for extra in extra {
            file.extend_from_slice(extra);
        }
        let mut dqt = vec![0];
        dqt.extend([1; 64]);
        file.extend(segment(0xDB, &dqt));
        file.extend(segment(0xC0, &[8, 0, 1, 0, 1, 1, 1, 0x11, 0]));
        // DC table 0: one code of length 1 for category 0; AC table 0: one code for EOB.
        let mut dht = vec![0x00, 1];
        dht.extend([0; 15]);
        dht.push(0);
        dht.extend([0x10, 1]);
        dht.extend([0; 15]);
        dht.push(0);
        file.extend(segment(0xC4, &dht));
        file.extend(segment(0xDA, &[1, 1, 0x00, 0, 63, 0]));
        // DC 0, EOB, padded with ones; then a stuffed 0xFF 0x00 and a restart marker, as a
        // longer scan would have.
        file.extend_from_slice(&[0x3F, 0xFF, 0x00, 0xFF, 0xD0, 0x3F]);
        file.extend_from_slice(&[0xFF, 0xD9]);
        file
    }

    /// A small valid JPEG.
    pub(crate) fn sample() -> Vec<u8> {
        jpeg_with(&[segment(0xFE, b"a comment")])
    }

    #[test]
    fn a_jpeg_is_an_image_and_its_comment_is_text() {
        let media = identify(&sample()).unwrap();
        assert_eq!(media.kind, MediaKind::Image);
        assert_eq!(media.format, "jpeg");
        assert_eq!(media.text, ["a comment"]);
        assert_eq!(media.trailing, None);
    }

    #[test]
    fn exif_and_xmp_are_text() {
        let mut exif = EXIF.to_vec();
        exif.extend(tiff::tests::exif_block("Photo of Yamada", "Yamada Taro"));
        let mut xmp = XMP.to_vec();
        xmp.extend_from_slice(
            b"<x:xmpmeta xmlns:x=\"adobe:ns:meta/\"><rdf:RDF><rdf:Description>\
              <dc:rights>(c) Suzuki</dc:rights></rdf:Description></rdf:RDF></x:xmpmeta>",
        );
        let file = jpeg_with(&[segment(0xE1, &exif), segment(0xE1, &xmp)]);
        let media = identify(&file).unwrap();
        assert_eq!(
            media.text,
            ["Photo of Yamada", "Yamada Taro", "コメント", "(c) Suzuki"]
        );
    }

    #[test]
    fn progressive_scans_and_mpo_images_are_walked() {
        let one = sample();
        // A second scan (and its table) before EOI.
        let eoi = one.len() - 2;
        let mut progressive = one[..eoi].to_vec();
        progressive.extend(segment(0xDA, &[1, 1, 0x00, 1, 5, 0]));
        progressive.extend_from_slice(&[0x12, 0x34, 0xFF, 0xD9]);
        assert_eq!(identify(&progressive).unwrap().trailing, None);
        let mut mpo = one.clone();
        mpo.extend_from_slice(&one);
        assert_eq!(identify(&mpo).unwrap().trailing, None);
    }

    #[test]
    fn broken_jpegs_are_not_media() {
        let file = sample();
        assert_cuts_are_caught(&file);
        // The APP0 length, one byte up or down.
        for delta in [1u8, 0xFF] {
            let mut broken = file.clone();
            broken[5] = broken[5].wrapping_add(delta);
            assert_eq!(identify(&broken), None);
        }
        // A scan before any frame header.
        let mut no_frame = vec![0xFF, 0xD8];
        no_frame.extend(segment(0xDA, &[1, 1, 0x00, 0, 63, 0]));
        no_frame.extend_from_slice(&[0x3F, 0xFF, 0xD9]);
        assert_eq!(identify(&no_frame), None);
    }

    #[test]
    fn bytes_after_eoi_are_trailing() {
        assert_trailing_is_reported(&sample());
    }
}
