//! RIFF files: WAV, AVI and WebP. The declared size must fit in the file, the chunks (and
//! the chunks inside `LIST`s) must tile it exactly, and each form must start the way its
//! format does (`fmt ` before `data`, `LIST hdrl`, a `VP8`/`VP8L`/`VP8X` chunk). AVI files
//! over 1 GiB continue in `RIFF AVIX` blocks. `LIST INFO` chunks, ID3 tags in WAV, and Exif
//! and XMP in WebP are metadata.

use super::{Media, MediaKind, Text, array, le32, legacy, mp3, printable, push_xmp, tiff};

/// How deep `LIST` chunks are walked.
const MAX_DEPTH: usize = 4;

/// The most `RIFF AVIX` continuation blocks walked.
const MAX_BLOCKS: usize = 256;

/// A chunk seen at the top level: its id and, for a `LIST`, its list type.
type Seen = ([u8; 4], Option<[u8; 4]>);

/// A WAV, AVI or WebP, if its chunks tile its declared size.
pub(super) fn identify(bytes: &[u8]) -> Option<Media> {
    let form: [u8; 4] = array(bytes, 8)?;
    let (kind, format) = match &form {
        b"WAVE" => (MediaKind::Audio, "wav"),
        b"AVI " => (MediaKind::Video, "avi"),
        b"WEBP" => (MediaKind::Image, "webp"),
        _ => return None,
    };
    let mut text = Text::default();
    let mut seen = Vec::new();
    let mut end = block(bytes, 0, &form, &mut seen, &mut text)?;
    if !starts_right(&form, &seen) {
        return None;
    }
    if &form == b"AVI " {
        for _ in 0..MAX_BLOCKS {
            match block(bytes, end, b"AVIX", &mut Vec::new(), &mut text) {
                Some(next) => end = next,
                None => break,
            }
        }
    }
    Some(Media::new(kind, format, text, bytes, end))
}

/// Walks a `RIFF` block of `form` at `start`; the offset after it.
fn block(
    bytes: &[u8],
    start: usize,
    form: &[u8; 4],
    seen: &mut Vec<Seen>,
    text: &mut Text,
) -> Option<usize> {
    if bytes.get(start..start + 4)? != b"RIFF" || &array::<4>(bytes, start + 8)? != form {
        return None;
    }
    let size = le32(bytes, start + 4)?;
    let end = (start + 8).checked_add(size)?;
    if size < 4 || end > bytes.len() {
        return None;
    }
    chunks(bytes, start + 12, end, 0, seen, text)?;
    Some(end)
}

/// Walks the chunks in `at..end`, `depth` lists down, recording the top-level ones in
/// `seen`. None unless they tile the range (an odd last chunk may lack its pad byte).
fn chunks(
    bytes: &[u8],
    mut at: usize,
    end: usize,
    depth: usize,
    seen: &mut Vec<Seen>,
    text: &mut Text,
) -> Option<()> {
    while at < end {
        let id: [u8; 4] = array(bytes, at)?;
        let size = le32(bytes, at + 4)?;
        let body = at + 8;
        let body_end = body.checked_add(size)?;
        if !printable(id) || body_end > end {
            return None;
        }
        let data = bytes.get(body..body_end)?;
        let list = (&id == b"LIST").then(|| array::<4>(data, 0)).flatten();
        if depth == 0 {
            seen.push((id, list));
        }
        match list {
            Some(kind) if depth < MAX_DEPTH => {
                chunks(bytes, body + 4, body_end, depth + 1, seen, text)?;
                if &kind == b"INFO" {
                    info(data, text);
                }
            }
            _ => metadata(&id, data, text),
        }
        at = (body_end + size % 2).min(end);
    }
    Some(())
}

/// The entries of a `LIST INFO` chunk (`INAM`, `IART`, `ICMT` …): NUL-terminated text.
fn info(data: &[u8], text: &mut Text) {
    let mut at = 4;
    while let (Some(size), Some(id)) = (le32(data, at + 4), array::<4>(data, at)) {
        let Some(value) = super::slice(data, at + 8, size) else {
            return;
        };
        if id.first() == Some(&b'I') {
            text.add(value, |raw| {
                legacy(raw.split(|&b| b == 0).next().unwrap_or_default())
            });
        }
        at += 8 + size + size % 2;
    }
}

/// The text of a chunk that holds metadata: ID3 tags, Exif, XMP.
fn metadata(id: &[u8; 4], data: &[u8], text: &mut Text) {
    match id {
        b"id3 " | b"ID3 " => mp3::push_id3(data, text),
        b"EXIF" => tiff::push_exif(data, text),
        b"XMP " => push_xmp(data, text),
        _ => {}
    }
}

/// Does the form start the way its format does?
fn starts_right(form: &[u8; 4], seen: &[Seen]) -> bool {
    let ids: Vec<&[u8; 4]> = seen.iter().map(|(id, _)| id).collect();
    let position = |id: &[u8; 4]| ids.iter().position(|seen| *seen == id);
    match form {
        b"WAVE" => matches!((position(b"fmt "), position(b"data")), (Some(f), Some(d)) if f < d),
        b"AVI " => seen.first() == Some(&(*b"LIST", Some(*b"hdrl"))),
        b"WEBP" => matches!(ids.first(), Some(&b"VP8 " | &b"VP8L" | &b"VP8X")),
        _ => false,
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::super::tests::{assert_cuts_are_caught, assert_trailing_is_reported};
    use super::*;
    use crate::extract::media::identify;

    /// A chunk: id, size, data, pad byte.
    pub(crate) fn chunk(id: &[u8; 4], data: &[u8]) -> Vec<u8> {
        let mut out = id.to_vec();
        out.extend_from_slice(&u32::try_from(data.len()).unwrap().to_le_bytes());
        out.extend_from_slice(data);
        if data.len() % 2 == 1 {
            out.push(0);
        }
        out
    }

    /// A `LIST` of `kind` holding `chunks`.
    fn list(kind: &[u8; 4], chunks: &[Vec<u8>]) -> Vec<u8> {
        let mut data = kind.to_vec();
        for chunk in chunks {
            data.extend_from_slice(chunk);
        }
        chunk(b"LIST", &data)
    }

    /// A RIFF file of `form` holding `chunks`.
    pub(crate) fn riff(form: &[u8; 4], chunks: &[Vec<u8>]) -> Vec<u8> {
        let body: Vec<u8> = chunks.concat();
        let mut file = b"RIFF".to_vec();
        file.extend_from_slice(&u32::try_from(body.len() + 4).unwrap().to_le_bytes());
        file.extend_from_slice(form);
        file.extend(body);
        file
    }

    /// A short 8 kHz mono 16-bit WAV with an INFO list.
    pub(crate) fn sample() -> Vec<u8> {
        let fmt = [1, 0, 1, 0, 0x40, 0x1F, 0, 0, 0x80, 0x3E, 0, 0, 2, 0, 16, 0];
        riff(
            b"WAVE",
            &[
                chunk(b"fmt ", &fmt),
                list(
                    b"INFO",
                    &[chunk(b"INAM", b"a song\0"), chunk(b"IART", b"me\0")],
                ),
                chunk(b"data", &[0, 0, 1, 0, 0xFF, 0xFF, 0, 0]),
            ],
        )
    }

    #[test]
    fn a_wav_is_audio_with_its_info_text() {
        let media = identify(&sample()).unwrap();
        assert_eq!(media.kind, MediaKind::Audio);
        assert_eq!(media.format, "wav");
        assert_eq!(media.text, ["a song", "me"]);
        assert_eq!(media.trailing, None);
    }

    #[test]
    fn a_wav_with_an_id3_chunk_gives_its_frames() {
        let fmt = [1, 0, 1, 0, 0x40, 0x1F, 0, 0, 0x80, 0x3E, 0, 0, 2, 0, 16, 0];
        let id3 = mp3::tests::id3(&[mp3::tests::frame(b"TIT2", "\x03タイトル".as_bytes())]);
        let file = riff(
            b"WAVE",
            &[
                chunk(b"fmt ", &fmt),
                chunk(b"data", &[0; 4]),
                chunk(b"id3 ", &id3),
            ],
        );
        assert_eq!(identify(&file).unwrap().text, ["タイトル"]);
    }

    #[test]
    fn avi_and_webp_are_recognised() {
        let avi = riff(
            b"AVI ",
            &[
                list(b"hdrl", &[chunk(b"avih", &[0; 56])]),
                list(b"movi", &[chunk(b"00dc", b"frame")]),
                chunk(b"idx1", &[0; 16]),
            ],
        );
        let media = identify(&avi).unwrap();
        assert_eq!((media.kind, media.format), (MediaKind::Video, "avi"));
        let webp = riff(b"WEBP", &[chunk(b"VP8L", &[0x2F, 0, 0, 0, 0])]);
        let media = identify(&webp).unwrap();
        assert_eq!((media.kind, media.format), (MediaKind::Image, "webp"));
        // Chunks in the wrong order, or a form that is not one of these.
        assert_eq!(identify(&riff(b"WEBP", &[chunk(b"EXIF", b"")])), None);
        assert_eq!(identify(&riff(b"AVI ", &[chunk(b"JUNK", b"")])), None);
        assert_eq!(identify(&riff(b"CDDA", &[chunk(b"fmt ", b"")])), None);
    }

    #[test]
    fn broken_riffs_are_not_media() {
        let file = sample();
        assert_cuts_are_caught(&file);
        // The RIFF size, the fmt size, the INFO list's size, an INAM size. (One up or down
        // can be the pad byte of an odd size: two is always wrong.)
        for at in [4, 16, 40, 52] {
            for delta in [2u8, 0xFE] {
                let mut broken = file.clone();
                broken[at] = broken[at].wrapping_add(delta);
                assert_eq!(identify(&broken), None, "byte {at} + {delta}");
            }
        }
    }

    #[test]
    fn bytes_past_the_declared_size_are_trailing() {
        assert_trailing_is_reported(&sample());
    }
}
