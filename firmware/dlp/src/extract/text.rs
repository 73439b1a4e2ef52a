//! Plain text, CSV and TSV: every plausible reading of the bytes.
//!
//! Excel saves CSV in Shift_JIS (CP932) and declares nothing; "Unicode text" is UTF-16LE
//! with a BOM. A BOM settles the charset; otherwise [`charset::readings`] gives every
//! Japanese reading that decodes cleanly, and each is scanned.

use encoding_rs::{UTF_16BE, UTF_16LE};

use super::{Walk, push_text};
use crate::charset;
use crate::content::Location;

/// How much of the start is looked at to tell text from binary.
const SNIFF_BYTES: usize = 8192;

/// Extracts text files: each reading is one segment.
pub(crate) fn extract(
    walk: &mut Walk<'_, '_>,
    location: &Location,
    bytes: &[u8],
    declared: Option<&str>,
) {
    for reading in decode_all(bytes, declared) {
        if !push_text(walk, location, reading) {
            return;
        }
    }
}

/// Every plausible reading of text bytes: the BOM's charset if there is one, UTF-16 when
/// the bytes look like it, else [`charset::readings`].
pub(crate) fn decode_all(bytes: &[u8], declared: Option<&str>) -> Vec<String> {
    if let Some(rest) = bytes.strip_prefix(b"\xEF\xBB\xBF") {
        return vec![String::from_utf8_lossy(rest).into_owned()];
    }
    if let Some(rest) = bytes.strip_prefix(b"\xFF\xFE") {
        return vec![UTF_16LE.decode_without_bom_handling(rest).0.into_owned()];
    }
    if let Some(rest) = bytes.strip_prefix(b"\xFE\xFF") {
        return vec![UTF_16BE.decode_without_bom_handling(rest).0.into_owned()];
    }
    match utf16_without_bom(bytes) {
        Some(true) => return vec![UTF_16LE.decode_without_bom_handling(bytes).0.into_owned()],
        Some(false) => return vec![UTF_16BE.decode_without_bom_handling(bytes).0.into_owned()],
        None => {}
    }
    let declared = declared.filter(|label| {
        // A UTF-16 label on bytes that are not UTF-16 is wrong; UTF-16 was handled above.
        !label.to_ascii_lowercase().contains("utf-16")
    });
    charset::readings(bytes, declared)
}

/// Does the start look like UTF-16 without a BOM (mostly ASCII, so every other byte NUL)?
/// `Some(true)` for little-endian, `Some(false)` for big-endian.
fn utf16_without_bom(bytes: &[u8]) -> Option<bool> {
    let head = bytes.get(..SNIFF_BYTES).unwrap_or(bytes);
    if head.len() < 8 {
        return None;
    }
    let pairs = head.len() / 2;
    let (mut even_nul, mut odd_nul) = (0usize, 0usize);
    for pair in head.chunks_exact(2) {
        if let [a, b] = pair {
            even_nul += usize::from(*a == 0);
            odd_nul += usize::from(*b == 0);
        }
    }
    // ASCII-heavy UTF-16: one byte of each pair is (nearly) always NUL, the other rarely.
    if odd_nul * 10 >= pairs * 6 && even_nul * 10 <= pairs {
        Some(true)
    } else if even_nul * 10 >= pairs * 6 && odd_nul * 10 <= pairs {
        Some(false)
    } else {
        None
    }
}

/// Does the start look like text (in some charset) rather than binary data?
pub(crate) fn looks_like_text(bytes: &[u8]) -> bool {
    if bytes.starts_with(b"\xFF\xFE") || bytes.starts_with(b"\xFE\xFF") {
        return true;
    }
    if utf16_without_bom(bytes).is_some() {
        return true;
    }
    let head = bytes.get(..SNIFF_BYTES).unwrap_or(bytes);
    let mut control = 0usize;
    for &b in head {
        match b {
            0 => return false,
            // Tab, line ends, form feed, and ESC (ISO-2022-JP) are text.
            b'\t' | b'\n' | b'\r' | 0x0C | 0x1B => {}
            0x01..=0x1F | 0x7F => control += 1,
            _ => {}
        }
    }
    control * 100 <= head.len() * 2
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::content::{Collector, Limits, SegmentKind};
    use encoding_rs::SHIFT_JIS;

    fn texts(bytes: &[u8], declared: Option<&str>) -> Vec<String> {
        let limits = Limits::default();
        let mut out = Collector::new(&limits);
        let mut walk = Walk::new(&mut out);
        extract(&mut walk, &Location::root(), bytes, declared);
        let extraction = out.finish();
        assert!(
            extraction
                .segments
                .iter()
                .all(|s| s.kind == SegmentKind::Attachment)
        );
        extraction.segments.into_iter().map(|s| s.text).collect()
    }

    #[test]
    fn excel_csv_in_shift_jis_is_read() {
        let csv = "氏名,個人番号\r\n山田太郎,１２３４５６７８９０１８\r\n";
        let (bytes, _, _) = SHIFT_JIS.encode(csv);
        let all = texts(&bytes, None);
        assert!(all.iter().any(|t| t == csv), "{all:?}");
    }

    #[test]
    fn utf16_with_and_without_bom_is_read() {
        let tsv = "氏名\t番号\n山田\t123456789018\n";
        let mut le: Vec<u8> = vec![0xFF, 0xFE];
        le.extend(tsv.encode_utf16().flat_map(u16::to_le_bytes));
        assert_eq!(texts(&le, None), [tsv]);
        let mut be: Vec<u8> = vec![0xFE, 0xFF];
        be.extend(tsv.encode_utf16().flat_map(u16::to_be_bytes));
        assert_eq!(texts(&be, Some("utf-16")), [tsv]);
        let ascii = "name\tnumber\nyamada\t123456789018\n";
        let bare: Vec<u8> = ascii.encode_utf16().flat_map(u16::to_le_bytes).collect();
        assert!(looks_like_text(&bare));
        assert_eq!(texts(&bare, None), [ascii]);
    }

    #[test]
    fn binary_is_not_text() {
        assert!(!looks_like_text(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR"));
        assert!(!looks_like_text(&[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]));
        assert!(looks_like_text("普通の文章です。\n".as_bytes()));
        assert!(looks_like_text(b""));
    }
}
