//! GIF87a and GIF89a: the logical screen descriptor and global colour table, then extension
//! blocks and images (descriptor, local colour table, LZW code size, sub-block chains) up to
//! the trailer `0x3B` (or the end of the file right after an image, as some encoders
//! write it). Comment and plain-text extensions, and XMP, are metadata.

use super::{MAX_TEXT, Media, MediaKind, Text, legacy, push_xmp, slice};

/// The block that ends a GIF.
const TRAILER: u8 = 0x3B;

/// The application identifier of an XMP application extension.
const XMP_APP: &[u8] = b"XMP DataXMP";

/// A GIF, if its blocks walk to the trailer.
pub(super) fn identify(bytes: &[u8]) -> Option<Media> {
    if !(bytes.starts_with(b"GIF87a") || bytes.starts_with(b"GIF89a")) {
        return None;
    }
    let flags = *bytes.get(10)?;
    let mut at = 13 + table_size(flags);
    let mut text = Text::default();
    let mut images = 0;
    loop {
        let Some(&block) = bytes.get(at) else {
            // Some encoders leave the trailer out: the end of the file, right after an
            // image, ends it as well.
            return (images > 0).then(|| Media::new(MediaKind::Image, "gif", text, bytes, at));
        };
        at = match block {
            TRAILER => break,
            0x21 => extension(bytes, at + 1, &mut text)?,
            0x2C => {
                images += 1;
                image(bytes, at + 1)?
            }
            _ => return None,
        };
    }
    Some(Media::new(MediaKind::Image, "gif", text, bytes, at + 1))
}

/// The size of the colour table a packed flags byte announces.
fn table_size(flags: u8) -> usize {
    if flags & 0x80 == 0 {
        0
    } else {
        3 << ((flags & 0x07) + 1)
    }
}

/// Walks an extension from its label at `at`; the offset after its block terminator.
fn extension(bytes: &[u8], at: usize, text: &mut Text) -> Option<usize> {
    let label = *bytes.get(at)?;
    let mut data = Vec::new();
    let keep = matches!(label, 0x01 | 0xFE | 0xFF);
    let end = sub_blocks(bytes, at + 1, keep.then_some(&mut data))?;
    match label {
        0xFE => text.add(&data, legacy),
        // Plain text: a 12-byte grid description, then the text drawn on the image.
        0x01 => text.add(data.get(12..).unwrap_or_default(), legacy),
        0xFF => {
            if let Some(xmp) = data.strip_prefix(XMP_APP) {
                push_xmp(xmp, text);
            }
        }
        _ => {}
    }
    Some(end)
}

/// Walks an image from its descriptor at `at`; the offset after its data.
fn image(bytes: &[u8], at: usize) -> Option<usize> {
    let descriptor = slice(bytes, at, 9)?;
    let flags = *descriptor.get(8)?;
    let code_size_at = at + 9 + table_size(flags);
    let code_size = *bytes.get(code_size_at)?;
    if !(1..=11).contains(&code_size) {
        return None;
    }
    sub_blocks(bytes, code_size_at + 1, None)
}

/// Walks a chain of sub-blocks at `at`, keeping their data (up to [`MAX_TEXT`] bytes) if
/// asked; the offset after the zero-length terminator.
fn sub_blocks(bytes: &[u8], mut at: usize, mut keep: Option<&mut Vec<u8>>) -> Option<usize> {
    loop {
        let len = usize::from(*bytes.get(at)?);
        if len == 0 {
            return Some(at + 1);
        }
        let block = slice(bytes, at + 1, len)?;
        if let Some(data) = keep.as_deref_mut()
            && data.len() < MAX_TEXT
        {
            data.extend_from_slice(block);
        }
        at += 1 + len;
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::super::tests::{assert_cuts_are_caught_but_at, assert_trailing_is_reported};
    use super::*;
    use crate::extract::media::identify;

    /// Sub-blocks of `data` and their terminator.
    fn blocks(data: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        for piece in data.chunks(255) {
            out.push(u8::try_from(piece.len()).unwrap());
            out.extend_from_slice(piece);
        }
        out.push(0);
        out
    }

    /// A 1x1 GIF89a (two-colour global table) with a comment.
    pub(crate) fn gif(comment: &str) -> Vec<u8> {
        let mut file = b"GIF89a\x01\0\x01\0\x80\0\0".to_vec();
        file.extend_from_slice(&[0, 0, 0, 0xFF, 0xFF, 0xFF]);
        // Graphic control extension.
        file.extend_from_slice(&[0x21, 0xF9, 4, 0, 0, 0, 0, 0]);
        file.extend_from_slice(&[0x21, 0xFE]);
        file.extend(blocks(comment.as_bytes()));
        file.extend_from_slice(&[0x2C, 0, 0, 0, 0, 1, 0, 1, 0, 0, 2]);
        file.extend(blocks(&[0x44, 0x01]));
        file.push(TRAILER);
        file
    }

    /// A small valid GIF.
    pub(crate) fn sample() -> Vec<u8> {
        gif("made by hand")
    }

    #[test]
    fn a_gif_is_an_image_and_its_comment_is_text() {
        let long = "x".repeat(300) + " 090-1234-5678";
        let media = identify(&gif(&long)).unwrap();
        assert_eq!(media.kind, MediaKind::Image);
        assert_eq!(media.format, "gif");
        assert_eq!(media.text, [long]);
        assert_eq!(media.trailing, None);
    }

    #[test]
    fn broken_gifs_are_not_media() {
        let file = sample();
        // Without its trailer, right after the image, it is still the same GIF.
        assert_cuts_are_caught_but_at(&file, &[file.len() - 1]);
        // The colour table flag, the comment's first sub-block length, an unknown block.
        for (at, value) in [(10, 0x81), (29, 0x30), (file.len() - 1, 0x3C)] {
            let mut broken = file.clone();
            broken[at] = value;
            assert_eq!(identify(&broken), None, "byte {at}");
        }
    }

    #[test]
    fn bytes_after_the_trailer_are_trailing() {
        assert_trailing_is_reported(&sample());
    }
}
