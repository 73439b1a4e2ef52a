//! Legacy Office files (OLE2 compound files: `.doc`, `.xls`, `.ppt`, `.msg`), read
//! cheaply without parsing the compound file: a strings pass over the raw bytes.
//!
//! * Runs of UTF-16LE text (ASCII, kana, kanji, full-width forms): Word, PowerPoint and
//!   Outlook keep Japanese text as UTF-16LE, Excel its non-Latin-1 strings.
//! * Runs of printable ASCII: Latin-1 ("compressed") strings of Excel and Word.
//! * Excel `NUMBER` records (BIFF8 `0x0203`): a 12-digit My Number typed into a cell is a
//!   floating-point number, not text; integral values are written out as digits.
//!
//! A password-protected OOXML document is an OLE2 file holding an `EncryptedPackage`
//! stream: that is reported as [`ProblemKind::Encrypted`]. A file in which no text is found
//! is reported as [`ProblemKind::Unreadable`]. Records that straddle sectors of a
//! fragmented file can be missed: this is a best effort, not a parser.

use super::{Walk, push_text};
use crate::content::{Location, ProblemKind};

/// The OLE2 compound file signature.
pub(crate) const OLE_MAGIC: [u8; 8] = [0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1];

/// The shortest run of characters kept.
const MIN_RUN: usize = 4;

/// Extracts what text can cheaply be found in an OLE2 file.
pub(crate) fn extract(walk: &mut Walk<'_, '_>, location: &Location, bytes: &[u8]) {
    let marker: Vec<u8> = "EncryptedPackage"
        .encode_utf16()
        .flat_map(u16::to_le_bytes)
        .collect();
    if super::find(bytes, &marker).is_some() {
        walk.out.problem(
            location,
            ProblemKind::Encrypted,
            "password-protected Office document",
        );
        return;
    }
    let cap = walk.text_cap();
    let text = strings(bytes, cap);
    if text.trim().is_empty() {
        walk.out.problem(
            location,
            ProblemKind::Unreadable,
            "legacy Office format not inspected (no text found)",
        );
        return;
    }
    push_text(walk, location, text);
}

/// Is this UTF-16 code unit a character of Japanese or ASCII text?
fn texty(unit: u16) -> bool {
    matches!(unit,
        0x20..=0x7E
        | 0x3000..=0x30FF // CJK punctuation, kana
        | 0x4E00..=0x9FFF // CJK ideographs
        | 0xFF01..=0xFF9F // full-width forms, half-width kana
        | 0x2010..=0x2015 // dashes
    )
}

/// UTF-16LE runs, ASCII runs and Excel numbers, one per line, at most about `cap` bytes.
pub(crate) fn strings(bytes: &[u8], cap: usize) -> String {
    let mut out = String::new();
    // UTF-16LE runs, at both alignments.
    for start in 0..2 {
        let mut run = String::new();
        let mut count = 0usize;
        for pair in bytes.get(start..).unwrap_or_default().chunks_exact(2) {
            let unit = match pair {
                [lo, hi] => u16::from_le_bytes([*lo, *hi]),
                _ => 0,
            };
            if texty(unit)
                && let Some(c) = char::from_u32(u32::from(unit))
            {
                run.push(c);
                count += 1;
                continue;
            }
            flush(&mut out, &mut run, &mut count, plausible_utf16);
            if out.len() > cap {
                return out;
            }
        }
        flush(&mut out, &mut run, &mut count, plausible_utf16);
    }
    // 8-bit ASCII runs.
    let mut run = String::new();
    let mut count = 0usize;
    for &b in bytes {
        if (0x20..0x7F).contains(&b) {
            run.push(char::from(b));
            count += 1;
            continue;
        }
        flush(&mut out, &mut run, &mut count, |_| true);
        if out.len() > cap {
            return out;
        }
    }
    flush(&mut out, &mut run, &mut count, |_| true);
    // Excel NUMBER records: type 0x0203, length 14, row, column, XF, IEEE double.
    let mut from = 0;
    while let Some(offset) = bytes
        .get(from..)
        .and_then(|rest| super::find(rest, &[0x03, 0x02, 0x0E, 0x00]))
    {
        let at = from + offset;
        from = at + 1;
        let Some(raw) = bytes.get(at + 10..at + 18) else {
            break;
        };
        let Ok(raw) = <[u8; 8]>::try_from(raw) else {
            break;
        };
        let value = f64::from_le_bytes(raw);
        if value.is_finite() && value.fract() == 0.0 && value.abs() >= 1000.0 && value.abs() < 1e20
        {
            out.push_str(&format!("{value:.0}\n"));
            if out.len() > cap {
                return out;
            }
        }
    }
    out
}

/// Is a run of UTF-16LE code units real text rather than 8-bit text read two bytes at a
/// time (every unit two printable ASCII bytes) or UTF-16 read one byte off (every unit
/// ending in a NUL)? Half the units looking like either is taken for an artefact.
fn plausible_utf16(run: &str) -> bool {
    let printable = |b: u32| (0x20..0x7F).contains(&b);
    let mut units = 0usize;
    let mut artefacts = 0usize;
    for c in run.chars() {
        let unit = u32::from(c);
        units += 1;
        let (hi, lo) = (unit >> 8, unit & 0xFF);
        if hi != 0 && ((printable(hi) && printable(lo)) || lo == 0) {
            artefacts += 1;
        }
    }
    artefacts * 2 < units
}

/// Ends a run: keeps it (on a line of its own) if long enough and `keep` agrees.
fn flush(out: &mut String, run: &mut String, count: &mut usize, keep: impl Fn(&str) -> bool) {
    if *count >= MIN_RUN && keep(run) {
        out.push_str(run);
        out.push('\n');
    }
    run.clear();
    *count = 0;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::content::{Collector, Limits};

    fn ole_with(payload: &[u8]) -> Vec<u8> {
        let mut bytes = OLE_MAGIC.to_vec();
        bytes.extend_from_slice(&[0u8; 504]);
        bytes.extend_from_slice(payload);
        bytes.extend_from_slice(&[0u8; 64]);
        bytes
    }

    fn run(bytes: &[u8]) -> crate::content::Extraction {
        let limits = Limits::default();
        let mut out = Collector::new(&limits);
        let mut walk = Walk::new(&mut out);
        extract(&mut walk, &Location::root(), bytes);
        out.finish()
    }

    #[test]
    fn utf16_text_and_excel_numbers_are_found() {
        let mut payload: Vec<u8> = "個人番号：１２３４ ５６７８ ９０１８"
            .encode_utf16()
            .flat_map(u16::to_le_bytes)
            .collect();
        payload.extend_from_slice(&[0, 0, 1, 2]);
        payload.extend_from_slice(&[0x03, 0x02, 0x0E, 0x00, 1, 0, 2, 0, 15, 0]);
        payload.extend_from_slice(&123_456_789_018f64.to_le_bytes());
        payload.extend_from_slice(b"\x00\x00plain ascii 0312345678\x00");
        let result = run(&ole_with(&payload));
        assert!(result.problems.is_empty(), "{:?}", result.problems);
        let text = &result.segments[0].text;
        assert!(
            text.contains("個人番号：１２３４ ５６７８ ９０１８"),
            "{text}"
        );
        assert!(text.contains("123456789018\n"), "{text}");
        assert!(text.contains("plain ascii 0312345678"), "{text}");
    }

    #[test]
    fn encrypted_packages_and_empty_files_are_problems() {
        let marker: Vec<u8> = "EncryptedPackage"
            .encode_utf16()
            .flat_map(u16::to_le_bytes)
            .collect();
        let result = run(&ole_with(&marker));
        assert_eq!(result.problems[0].kind, ProblemKind::Encrypted);
        let result = run(&ole_with(&[0u8; 100]));
        assert_eq!(result.problems[0].kind, ProblemKind::Unreadable);
    }
}
