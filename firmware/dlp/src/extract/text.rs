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
        for extra in shown_forms(&reading) {
            if !push_text(walk, location, extra) {
                return;
            }
        }
        if !push_text(walk, location, reading) {
            return;
        }
    }
}

/// What a program shows of `text` where that differs from the text itself: a vCard's or an
/// iCalendar's properties unfolded ([`super::directory`]), and a spreadsheet's formulas
/// that glue strings of digits together (`="1234"&"5678"&"9018"`) evaluated.
pub(crate) fn shown_forms(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    if super::directory::looks_like_directory(text) {
        out.push(super::directory::shown(text));
    }
    if let Some(joined) = joined_formulas(text) {
        out.push(joined);
    }
    out
}

/// `text` with every `"…digits"&"digits…"` joint of a formula removed, if it has any (the
/// quotes doubled too, as a CSV field holding the formula writes them: `""&""`).
fn joined_formulas(text: &str) -> Option<String> {
    if !text.contains('&') {
        return None;
    }
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let (mut copied, mut i, mut any) = (0, 0, false);
    let quotes = |at: usize| {
        bytes
            .get(at..)
            .map_or(0, |r| r.iter().take(2).take_while(|&&b| b == b'"').count())
    };
    while i < bytes.len() {
        let open = quotes(i);
        if open > 0 && i > 0 && bytes.get(i - 1).is_some_and(u8::is_ascii_digit) {
            // quote(s), blanks, `&`, blanks, quote(s), then a digit.
            let mut j = i + open;
            while bytes.get(j) == Some(&b' ') {
                j += 1;
            }
            if bytes.get(j) == Some(&b'&') {
                j += 1;
                while bytes.get(j) == Some(&b' ') {
                    j += 1;
                }
                let close = quotes(j);
                if close == open && bytes.get(j + close).is_some_and(u8::is_ascii_digit) {
                    out.push_str(text.get(copied..i).unwrap_or_default());
                    copied = j + close;
                    i = j + close;
                    any = true;
                    continue;
                }
            }
        }
        i += 1;
    }
    out.push_str(text.get(copied..).unwrap_or_default());
    any.then_some(out)
}

/// Every plausible reading of text bytes: the BOM's charset if there is one, UTF-32 or
/// UTF-16 when the bytes look like it, else [`charset::readings`].
pub(crate) fn decode_all(bytes: &[u8], declared: Option<&str>) -> Vec<String> {
    if let Some(rest) = bytes.strip_prefix(b"\xEF\xBB\xBF") {
        return vec![String::from_utf8_lossy(rest).into_owned()];
    }
    // UTF-32 before UTF-16: the UTF-32LE BOM begins with the UTF-16LE one.
    if let Some(rest) = bytes.strip_prefix(b"\xFF\xFE\x00\x00") {
        return vec![utf32(rest, true)];
    }
    if let Some(rest) = bytes.strip_prefix(b"\x00\x00\xFE\xFF") {
        return vec![utf32(rest, false)];
    }
    if let Some(rest) = bytes.strip_prefix(b"\xFF\xFE") {
        return vec![UTF_16LE.decode_without_bom_handling(rest).0.into_owned()];
    }
    if let Some(rest) = bytes.strip_prefix(b"\xFE\xFF") {
        return vec![UTF_16BE.decode_without_bom_handling(rest).0.into_owned()];
    }
    if let Some(little) = utf32_without_bom(bytes) {
        return vec![utf32(bytes, little)];
    }
    match utf16_without_bom(bytes) {
        Some(true) => return vec![UTF_16LE.decode_without_bom_handling(bytes).0.into_owned()],
        Some(false) => return vec![UTF_16BE.decode_without_bom_handling(bytes).0.into_owned()],
        None => {}
    }
    let declared = declared.filter(|label| {
        // A UTF-16 or UTF-32 label on bytes that are not that is wrong; both were handled.
        let label = label.to_ascii_lowercase();
        !label.contains("utf-16") && !label.contains("utf-32")
    });
    charset::readings(bytes, declared)
}

/// UTF-32 text (invalid code points become U+FFFD).
fn utf32(bytes: &[u8], little: bool) -> String {
    bytes
        .chunks_exact(4)
        .map(|unit| {
            let raw = [
                unit.first().copied().unwrap_or(0),
                unit.get(1).copied().unwrap_or(0),
                unit.get(2).copied().unwrap_or(0),
                unit.get(3).copied().unwrap_or(0),
            ];
            let value = if little {
                u32::from_le_bytes(raw)
            } else {
                u32::from_be_bytes(raw)
            };
            char::from_u32(value).unwrap_or('\u{FFFD}')
        })
        .collect()
}

/// Does the start look like UTF-32 without a BOM (each unit a code point below U+30000, so
/// two of its four bytes zero, the others mostly text)? `Some(true)` for little-endian.
fn utf32_without_bom(bytes: &[u8]) -> Option<bool> {
    let head = bytes.get(..SNIFF_BYTES).unwrap_or(bytes);
    let units = head.len() / 4;
    if units < 4 {
        return None;
    }
    let plausible = |little: bool| {
        head.chunks_exact(4)
            .filter(|u| {
                let raw = [u[0], u[1], u[2], u[3]];
                let v = if little {
                    u32::from_le_bytes(raw)
                } else {
                    u32::from_be_bytes(raw)
                };
                (0x20..0x3_0000).contains(&v) || matches!(v, 0x09 | 0x0A | 0x0D)
            })
            .count()
            * 10
            >= units * 9
    };
    if plausible(true) {
        Some(true)
    } else if plausible(false) {
        Some(false)
    } else {
        None
    }
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

/// How many bytes of a file are looked at to tell text from binary: its start, its middle
/// and its end, so that a little text in front of binary data (or binary data in front of
/// text) does not decide alone.
const SAMPLE_BYTES: usize = 16 * 1024;

/// Does the file look like text (in some charset) rather than binary data? A BOM, or the
/// NUL pattern of UTF-16 or UTF-32, says text; otherwise samples of the start, the middle
/// and the end must hold few control bytes (NUL counted among them: one NUL in a CSV does
/// not make it binary, as a text editor shows it all the same).
pub(crate) fn looks_like_text(bytes: &[u8]) -> bool {
    if bytes.starts_with(b"\xFF\xFE") || bytes.starts_with(b"\xFE\xFF") {
        return true;
    }
    if utf32_without_bom(bytes).is_some() || utf16_without_bom(bytes).is_some() {
        return true;
    }
    let len = bytes.len();
    let middle = len / 2;
    let samples = [
        bytes.get(..SAMPLE_BYTES.min(len)).unwrap_or_default(),
        bytes
            .get(middle.saturating_sub(SAMPLE_BYTES / 2)..(middle + SAMPLE_BYTES / 2).min(len))
            .unwrap_or_default(),
        bytes
            .get(len.saturating_sub(SAMPLE_BYTES)..)
            .unwrap_or_default(),
    ];
    samples.iter().all(|sample| mostly_text(sample))
}

/// At most 2 % control bytes (NUL and DEL included; tab, line ends, form feed and ESC,
/// which ISO-2022-JP uses, are text), and no more than 1 % NULs.
fn mostly_text(sample: &[u8]) -> bool {
    let (mut control, mut nul) = (0usize, 0usize);
    for &b in sample {
        match b {
            0 => {
                nul += 1;
                control += 1;
            }
            b'\t' | b'\n' | b'\r' | 0x0C | 0x1B => {}
            0x01..=0x1F | 0x7F => control += 1,
            _ => {}
        }
    }
    control * 100 <= sample.len() * 2 && nul * 100 <= sample.len().max(100)
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
    fn one_nul_or_a_media_signature_does_not_make_a_csv_binary() {
        let mut csv = "社員番号,個人番号\n".as_bytes().to_vec();
        for i in 0..200 {
            csv.extend_from_slice(format!("{i},123456789018\n").as_bytes());
        }
        let mut with_nul = csv.clone();
        with_nul.insert(30, 0);
        assert!(looks_like_text(&with_nul));
        let mut png_head = b"\x89PNG\r\n\x1a\n".to_vec();
        png_head.extend_from_slice(&csv);
        assert!(looks_like_text(&png_head));
        // Binary data with a text prologue is still binary.
        let mut binary = b"a short text prologue\n".to_vec();
        binary.extend((0..60_000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8));
        assert!(!looks_like_text(&binary));
    }

    #[test]
    fn utf32_with_and_without_bom_is_read() {
        let tsv = "氏名\t番号\n山田\t123456789018\n";
        let le: Vec<u8> = tsv.chars().flat_map(|c| (c as u32).to_le_bytes()).collect();
        assert!(looks_like_text(&le));
        assert_eq!(texts(&le, None), [tsv]);
        let mut be: Vec<u8> = b"\x00\x00\xFE\xFF".to_vec();
        be.extend(tsv.chars().flat_map(|c| (c as u32).to_be_bytes()));
        assert_eq!(texts(&be, None), [tsv]);
    }

    #[test]
    fn formulas_that_glue_digits_are_evaluated() {
        assert_eq!(
            joined_formulas("山田,=\"1234\"&\"5678\" & \"9018\"\n").as_deref(),
            Some("山田,=\"123456789018\"\n")
        );
        assert_eq!(
            joined_formulas("山田,\"=\"\"1234\"\"&\"\"5678\"\"\"\n").as_deref(),
            Some("山田,\"=\"\"12345678\"\"\"\n")
        );
        assert_eq!(joined_formulas("A&B \"x\"&\"y\""), None);
    }

    #[test]
    fn binary_is_not_text() {
        assert!(!looks_like_text(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR"));
        assert!(!looks_like_text(&[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]));
        assert!(looks_like_text("普通の文章です。\n".as_bytes()));
        assert!(looks_like_text(b""));
    }
}
