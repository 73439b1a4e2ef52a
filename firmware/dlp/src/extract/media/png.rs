//! PNG (and APNG): the signature, then chunks with lengths and CRC-32s, `IHDR` first, at
//! least one `IDAT`, `IEND` last. Text chunks (`tEXt`, `zTXt`, `iTXt`) and Exif (`eXIf`) are
//! metadata a viewer shows.

use super::{Media, MediaKind, Text, array, be32, legacy, lossy, slice, tiff};

/// The eight bytes every PNG starts with.
const SIGNATURE: &[u8] = b"\x89PNG\r\n\x1a\n";

/// The largest chunk length the format allows (2^31 - 1).
const MAX_CHUNK: usize = 0x7FFF_FFFF;

/// One chunk: its type, its data, and where the next one starts.
struct Chunk<'a> {
    /// The four-letter type.
    kind: [u8; 4],
    /// The data between the length/type and the CRC.
    data: &'a [u8],
    /// The offset just past its CRC.
    end: usize,
}

/// A PNG, if the chunks walk from `IHDR` to `IEND` with good CRCs.
pub(super) fn identify(bytes: &[u8]) -> Option<Media> {
    if !bytes.starts_with(SIGNATURE) {
        return None;
    }
    let header = chunk(bytes, SIGNATURE.len())?;
    if &header.kind != b"IHDR" || !valid_header(header.data) {
        return None;
    }
    let mut text = Text::default();
    let mut at = header.end;
    let mut image_data = false;
    loop {
        let chunk = chunk(bytes, at)?;
        match &chunk.kind {
            b"IHDR" => return None,
            b"IDAT" => image_data = true,
            b"IEND" if chunk.data.is_empty() && image_data => {
                return Some(Media::new(MediaKind::Image, "png", text, bytes, chunk.end));
            }
            b"IEND" => return None,
            _ => metadata(&chunk, &mut text)?,
        }
        at = chunk.end;
    }
}

/// The chunk at `at`, if its length fits and its CRC matches.
fn chunk(bytes: &[u8], at: usize) -> Option<Chunk<'_>> {
    let len = be32(bytes, at)?;
    let kind: [u8; 4] = array(bytes, at + 4)?;
    if len > MAX_CHUNK || !kind.iter().all(u8::is_ascii_alphabetic) {
        return None;
    }
    let data = slice(bytes, at + 8, len)?;
    let stored = be32(bytes, at + 8 + len)?;
    let mut crc = flate2::Crc::new();
    crc.update(&kind);
    crc.update(data);
    let end = at + 12 + len;
    (usize::try_from(crc.sum()).ok()? == stored).then_some(Chunk { kind, data, end })
}

/// Is this `IHDR` data plausible: 13 bytes, a size, a known depth and colour type?
fn valid_header(data: &[u8]) -> bool {
    let [
        w0,
        w1,
        w2,
        w3,
        h0,
        h1,
        h2,
        h3,
        depth,
        colour,
        compression,
        filter,
        interlace,
    ] = data
    else {
        return false;
    };
    let width = u32::from_be_bytes([*w0, *w1, *w2, *w3]);
    let height = u32::from_be_bytes([*h0, *h1, *h2, *h3]);
    let depth_ok = match colour {
        0 => matches!(depth, 1 | 2 | 4 | 8 | 16),
        3 => matches!(depth, 1 | 2 | 4 | 8),
        2 | 4 | 6 => matches!(depth, 8 | 16),
        _ => false,
    };
    width > 0 && height > 0 && depth_ok && *compression == 0 && *filter == 0 && *interlace <= 1
}

/// Collects a metadata chunk's text. None when a compressed text chunk does not inflate
/// (its CRC was right, so the file was made that way).
fn metadata(chunk: &Chunk<'_>, text: &mut Text) -> Option<()> {
    match &chunk.kind {
        b"tEXt" => {
            let (keyword, value) = split_nul(chunk.data)?;
            text.add(value, |raw| labelled(&legacy(keyword), &legacy(raw)));
        }
        b"zTXt" => {
            let (keyword, rest) = split_nul(chunk.data)?;
            let (&method, compressed) = rest.split_first()?;
            if method != 0 {
                return None;
            }
            let value = text.inflate(compressed)?;
            text.add(&value, |raw| labelled(&legacy(keyword), &legacy(raw)));
        }
        b"iTXt" => international(chunk.data, text)?,
        b"eXIf" => tiff::push_exif(chunk.data, text),
        _ => {}
    }
    Some(())
}

/// An `iTXt` chunk: keyword, compression flag and method, language, translated keyword, and
/// UTF-8 text (compressed when flagged).
fn international(data: &[u8], text: &mut Text) -> Option<()> {
    let (keyword, rest) = split_nul(data)?;
    let (&[flag, method], rest) = rest.split_first_chunk::<2>()?;
    let (_language, rest) = split_nul(rest)?;
    let (translated, value) = split_nul(rest)?;
    let value = match (flag, method) {
        (0, _) => value.to_vec(),
        (1, 0) => text.inflate(value)?,
        _ => return None,
    };
    let keyword = if translated.is_empty() {
        legacy(keyword)
    } else {
        lossy(translated)
    };
    text.add(&value, |raw| labelled(&keyword, &lossy(raw)));
    Some(())
}

/// A text value after its keyword (`Comment: …`), as a viewer lists it.
fn labelled(keyword: &str, value: &str) -> String {
    format!("{keyword}: {value}")
}

/// The bytes before and after the first NUL, the first cut to the 79 bytes a keyword may
/// have.
fn split_nul(data: &[u8]) -> Option<(&[u8], &[u8])> {
    let at = data.iter().position(|&b| b == 0)?;
    let before = data.get(..at)?;
    Some((before.get(..79).unwrap_or(before), data.get(at + 1..)?))
}
#[cfg(test)]
pub(super) mod tests {
    use std::io::Write;

    use flate2::Compression;
    use flate2::write::ZlibEncoder;

    use super::super::tests::{assert_cuts_are_caught, assert_trailing_is_reported};
    use super::*;
    use crate::extract::media::identify;

    /// A chunk of `kind` holding `data`, with its CRC.
    pub(crate) fn chunk(kind: &[u8; 4], data: &[u8]) -> Vec<u8> {
        let mut out = u32::try_from(data.len()).unwrap().to_be_bytes().to_vec();
        out.extend_from_slice(kind);
        out.extend_from_slice(data);
        let mut crc = flate2::Crc::new();
        crc.update(kind);
        crc.update(data);
        out.extend_from_slice(&crc.sum().to_be_bytes());
        out
    }

    fn zlib(data: &[u8]) -> Vec<u8> {
        let mut encoder = ZlibEncoder::new(Vec::new(), Compression::default());
        encoder.write_all(data).unwrap();
        encoder.finish().unwrap()
    }

    /// A 1x1 grey PNG with `extra` chunks before its image data.
    pub(crate) fn png_with(extra: &[Vec<u8>]) -> Vec<u8> {
        let mut file = SIGNATURE.to_vec();
        file.extend(chunk(b"IHDR", &[0, 0, 0, 1, 0, 0, 0, 1, 8, 0, 0, 0, 0]));
        for extra in extra {
            file.extend_from_slice(extra);
        }
        file.extend(chunk(b"IDAT", &zlib(&[0, 0x80])));
        file.extend(chunk(b"IEND", b""));
        file
    }

    /// A small valid PNG.
    pub(crate) fn sample() -> Vec<u8> {
        png_with(&[chunk(b"tEXt", b"Comment\0hello")])
    }

    #[test]
    fn a_png_is_an_image() {
        let media = identify(&png_with(&[])).unwrap();
        assert_eq!(media.kind, MediaKind::Image);
        assert_eq!(media.format, "png");
        assert!(media.text.is_empty());
        assert_eq!(media.trailing, None);
    }

    #[test]
    fn text_chunks_are_metadata() {
        let mut itxt = b"Description\0\x01\0ja\0\xe8\xaa\xac\xe6\x98\x8e\0".to_vec();
        itxt.extend(zlib("個人番号 123456789018".as_bytes()));
        let mut ztxt = b"Author\0\0".to_vec();
        ztxt.extend(zlib(b"Yamada Taro"));
        let file = png_with(&[
            chunk(b"tEXt", b"Comment\0call 090-1234-5678"),
            chunk(b"zTXt", &ztxt),
            chunk(b"iTXt", &itxt),
            chunk(b"iTXt", b"Title\0\0\0\0\0plain title"),
        ]);
        let media = identify(&file).unwrap();
        assert_eq!(
            media.text,
            [
                "Comment: call 090-1234-5678",
                "Author: Yamada Taro",
                "説明: 個人番号 123456789018",
                "Title: plain title",
            ]
        );
    }

    #[test]
    fn broken_pngs_are_not_media() {
        let file = sample();
        assert_cuts_are_caught(&file);
        // Each byte of the IHDR chunk (length, type, data, CRC) matters.
        for at in 8..33 {
            let mut broken = file.clone();
            broken[at] ^= 0x01;
            assert_eq!(identify(&broken), None, "flipped byte {at}");
        }
        // A zTXt chunk with a good CRC around data that does not inflate.
        assert_eq!(
            identify(&png_with(&[chunk(b"zTXt", b"k\0\0not zlib")])),
            None
        );
        // No image data, or IHDR not first.
        let mut no_data = SIGNATURE.to_vec();
        no_data.extend(chunk(b"IHDR", &[0, 0, 0, 1, 0, 0, 0, 1, 8, 0, 0, 0, 0]));
        no_data.extend(chunk(b"IEND", b""));
        assert_eq!(identify(&no_data), None);
        let mut late = SIGNATURE.to_vec();
        late.extend(chunk(b"tEXt", b"a\0b"));
        late.extend_from_slice(&file[8..]);
        assert_eq!(identify(&late), None);
    }

    #[test]
    fn bytes_after_iend_are_trailing() {
        assert_trailing_is_reported(&sample());
        let mut padded = sample();
        padded.extend_from_slice(&[0; 64]);
        assert_eq!(identify(&padded).unwrap().trailing, None);
    }
}
