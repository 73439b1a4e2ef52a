//! BMP (Windows and OS/2 bitmaps): the file header's size field against the length, a known
//! DIB header size, planes and bit depth, then the colour masks, palette, pixel data and
//! embedded colour profile where the headers put them, with nothing but padding between.

use std::ops::Range;

use super::{Media, MediaKind, Text, array, covered_end, is_padding, le16, le32};

/// The file header: `BM`, file size, two reserved words, pixel data offset.
const FILE_HEADER: usize = 14;

/// The DIB header sizes in use: OS/2 1.x, `BITMAPINFOHEADER`, its v2/v3 extensions, OS/2
/// 2.x, v4 and v5.
const DIB_SIZES: [usize; 7] = [12, 40, 52, 56, 64, 108, 124];

/// What the DIB header says about the pixels.
struct Header {
    /// The DIB header's size.
    size: usize,
    /// Width in pixels.
    width: u64,
    /// Height in pixels (top-down images store it negative).
    height: u64,
    /// Bits per pixel.
    depth: u64,
    /// Compression method (0 none, 1/2 RLE, 3/6 bit fields, 4 JPEG, 5 PNG).
    compression: usize,
    /// The pixel data size the header declares (0 for uncompressed images).
    image_size: usize,
    /// Palette entries used (0: all for the depth).
    colours: usize,
}

/// A BMP, if its parts lie where its headers say and fill its declared size.
pub(super) fn identify(bytes: &[u8]) -> Option<Media> {
    if !bytes.starts_with(b"BM") {
        return None;
    }
    let file_size = le32(bytes, 2)?;
    let pixels_at = le32(bytes, 10)?;
    let header = Header::read(bytes)?;
    if file_size > bytes.len() || pixels_at > file_size {
        return None;
    }
    let pixels_end = pixels_at.checked_add(header.pixel_bytes()?)?;
    let mut spans = vec![0..header.palette_end(), pixels_at..pixels_end];
    spans.extend(profile(bytes, &header));
    let end = covered_end(bytes.get(..file_size)?, spans, 0)?;
    if !is_padding(bytes.get(end..file_size)?) {
        return None;
    }
    Some(Media::new(
        MediaKind::Image,
        "bmp",
        Text::default(),
        bytes,
        file_size,
    ))
}

impl Header {
    /// The DIB header after the file header, if its size and fields are known values.
    fn read(bytes: &[u8]) -> Option<Self> {
        let size = le32(bytes, FILE_HEADER)?;
        let at = FILE_HEADER + 4;
        let header = if size == 12 {
            Self::core(bytes, at)?
        } else if DIB_SIZES.contains(&size) {
            Self::info(bytes, at, size)?
        } else {
            return None;
        };
        let depth_ok = matches!(header.depth, 1 | 2 | 4 | 8 | 16 | 24 | 32 | 64);
        (depth_ok && header.width > 0 && header.height > 0).then_some(header)
    }

    /// An OS/2 1.x `BITMAPCOREHEADER`: 16-bit sizes.
    fn core(bytes: &[u8], at: usize) -> Option<Self> {
        (le16(bytes, at + 4)? == 1).then_some(())?;
        Some(Self {
            size: 12,
            width: u64::try_from(le16(bytes, at)?).ok()?,
            height: u64::try_from(le16(bytes, at + 2)?).ok()?,
            depth: u64::try_from(le16(bytes, at + 6)?).ok()?,
            compression: 0,
            image_size: 0,
            colours: 0,
        })
    }

    /// A `BITMAPINFOHEADER` or a later version of it.
    fn info(bytes: &[u8], at: usize, size: usize) -> Option<Self> {
        (le16(bytes, at + 8)? == 1).then_some(())?;
        let signed = |at| Some(i32::from_le_bytes(array(bytes, at)?).unsigned_abs());
        Some(Self {
            size,
            width: u64::from(signed(at)?),
            height: u64::from(signed(at + 4)?),
            depth: u64::try_from(le16(bytes, at + 10)?).ok()?,
            compression: le32(bytes, at + 12)?,
            image_size: le32(bytes, at + 16)?,
            colours: le32(bytes, at + 28)?,
        })
    }

    /// Where the headers, colour masks and palette end.
    fn palette_end(&self) -> usize {
        let masks = match (self.size, self.compression) {
            (40, 3) => 12,
            (40, 6) => 16,
            _ => 0,
        };
        let entries = match (self.colours, self.depth) {
            (0, depth @ ..=8) => 1 << depth,
            (colours, _) => colours,
        };
        let entry = if self.size == 12 { 3 } else { 4 };
        FILE_HEADER
            .saturating_add(self.size + masks)
            .saturating_add(entries.saturating_mul(entry))
    }

    /// The size of the pixel data: computed from the dimensions when uncompressed, as
    /// declared otherwise.
    fn pixel_bytes(&self) -> Option<usize> {
        match self.compression {
            0 | 3 | 6 => {
                let row = self.width.checked_mul(self.depth)?.div_ceil(32) * 4;
                usize::try_from(row.checked_mul(self.height)?).ok()
            }
            1 | 2 | 4 | 5 if self.image_size > 0 => Some(self.image_size),
            _ => None,
        }
    }
}

/// The embedded colour profile of a v5 header (`PROFILE_EMBEDDED`), as a span of the file.
fn profile(bytes: &[u8], header: &Header) -> Option<Range<usize>> {
    let info = FILE_HEADER;
    if header.size != 124 || array::<4>(bytes, info + 56)? != *b"MBED" {
        return None;
    }
    let start = info.checked_add(le32(bytes, info + 112)?)?;
    Some(start..start.checked_add(le32(bytes, info + 116)?)?)
}

#[cfg(test)]
pub(super) mod tests {
    use super::super::tests::{assert_cuts_are_caught, assert_trailing_is_reported};
    use super::*;
    use crate::extract::media::identify;

    /// A 2x2 24-bit bitmap (rows padded to four bytes).
    pub(crate) fn sample() -> Vec<u8> {
        let pixels = [
            0, 0, 0xFF, 0xFF, 0, 0, 0, 0, //
            0, 0xFF, 0, 0xFF, 0xFF, 0xFF, 0, 0,
        ];
        let size = u32::try_from(14 + 40 + pixels.len()).unwrap();
        let mut file = b"BM".to_vec();
        file.extend_from_slice(&size.to_le_bytes());
        file.extend_from_slice(&[0, 0, 0, 0, 54, 0, 0, 0]);
        file.extend_from_slice(&40u32.to_le_bytes());
        file.extend_from_slice(&2i32.to_le_bytes());
        file.extend_from_slice(&(-2i32).to_le_bytes());
        file.extend_from_slice(&[1, 0, 24, 0]);
        file.extend_from_slice(&[0; 24]);
        file.extend_from_slice(&pixels);
        file
    }

    #[test]
    fn a_bitmap_is_an_image() {
        let media = identify(&sample()).unwrap();
        assert_eq!(media.kind, MediaKind::Image);
        assert_eq!(media.format, "bmp");
        assert_eq!(media.trailing, None);
    }

    #[test]
    fn broken_bitmaps_are_not_media() {
        let file = sample();
        assert_cuts_are_caught(&file);
        // File size, pixel offset, DIB header size, width, bit depth.
        for at in [2, 10, 14, 18, 28] {
            let mut broken = file.clone();
            broken[at] = broken[at].wrapping_add(9);
            assert_eq!(identify(&broken), None, "byte {at}");
        }
        // Text between the header and the pixels, the offset moved past it.
        let mut gap = file[..54].to_vec();
        gap.extend_from_slice(b"hidden: 123456789018");
        gap.extend_from_slice(&file[54..]);
        gap[2] += 20;
        gap[10] += 20;
        assert_eq!(identify(&gap), None);
    }

    #[test]
    fn bytes_past_the_declared_size_are_trailing() {
        assert_trailing_is_reported(&sample());
    }
}
