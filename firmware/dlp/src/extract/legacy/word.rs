//! Word 97–2003 documents (the `WordDocument` stream and its table stream): the text read
//! through the piece table ([MS-DOC] §2.4.1), as Word itself assembles it.
//!
//! A document's characters are not one run in the file: after fast saves and edits they
//! lie in pieces, in any order, some as UTF-16LE and some "compressed" to one byte each
//! (Windows-1252). The piece table (the `Pcdt` in the `Clx` that the FIB points at, in the
//! `0Table` or `1Table` stream) lists them in document order: main text, footnotes,
//! headers and footers, comments, endnotes, text boxes. Reading it gives the text in the
//! order a reader sees it, with Word's control characters turned into line breaks and
//! spaces: a strings pass over the raw stream instead breaks a paragraph wherever a piece
//! ends and misses text in 8-bit pieces.
//!
//! Characters formatted hidden (`sprmCFVanish` in the character property pages) are read
//! apart, after the rest, as fields' codes are.
//!
//! Word 6/95 files (an older FIB) and a FIB or piece table that does not hold together
//! give `None`: the caller falls back to the strings pass.

use encoding_rs::WINDOWS_1252;

/// The FIB's identifier.
const W_IDENT: u16 = 0xA5EC;
/// The oldest FIB version read here (Word 97).
const NFIB_WORD97: u16 = 0x00C1;
/// The FIB flag saying the table stream is `1Table` rather than `0Table`.
const WHICH_TABLE: u16 = 0x0200;
/// Where in `FibRgFcLcb` the `Clx`'s offset and size are (the 34th pair).
const CLX_PAIR: usize = 33;
/// The most pieces read (Word caps a document far below this).
const MAX_PIECES: usize = 1 << 16;

/// Which table stream a `WordDocument` stream's FIB names (`0Table` or `1Table`); `None`
/// when the stream does not start with a Word 97+ FIB.
pub(super) fn table_stream(document: &[u8]) -> Option<&'static str> {
    let flags = fib_base(document)?;
    Some(if flags & WHICH_TABLE != 0 {
        "1Table"
    } else {
        "0Table"
    })
}

/// The FIB's flags word, if the stream starts with a Word 97+ FIB.
fn fib_base(document: &[u8]) -> Option<u16> {
    let ident = u16_at(document, 0)?;
    let nfib = u16_at(document, 2)?;
    (ident == W_IDENT && nfib >= NFIB_WORD97).then_some(())?;
    u16_at(document, 0x0A)
}

fn u16_at(bytes: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(bytes.get(at..at + 2)?.try_into().ok()?))
}

fn u32_at(bytes: &[u8], at: usize) -> Option<usize> {
    let value = u32::from_le_bytes(bytes.get(at..at + 4)?.try_into().ok()?);
    usize::try_from(value).ok()
}

/// Where the `Clx` is in the table stream: offset and size, from `FibRgFcLcb`.
fn clx_range(document: &[u8]) -> Option<(usize, usize)> {
    fc_lcb(document, CLX_PAIR)
}

/// The offset and size of the structure at `pair` of `FibRgFcLcb` (in the table stream).
fn fc_lcb(document: &[u8], pair: usize) -> Option<(usize, usize)> {
    let mut at = 0x20;
    let csw = usize::from(u16_at(document, at)?);
    at += 2 + csw * 2;
    let cslw = usize::from(u16_at(document, at)?);
    at += 2 + cslw * 4;
    let pairs = usize::from(u16_at(document, at)?);
    if pairs <= pair {
        return None;
    }
    let at = at + 2 + pair * 8;
    Some((u32_at(document, at)?, u32_at(document, at + 4)?))
}

/// Where in `FibRgFcLcb` the `PlcBteChpx` is (the 13th pair): the pages of character
/// properties.
const CHPX_PAIR: usize = 12;
/// `sprmCFVanish`: hidden text.
const SPRM_VANISH: u16 = 0x083C;
/// The most property pages read.
const MAX_PAGES: usize = 1 << 14;

/// The byte ranges of the `WordDocument` stream whose characters are formatted hidden
/// (`sprmCFVanish` in their character properties, [MS-DOC] §2.9.33 `ChpxFkp`), sorted.
/// Word does not show them: they are read apart, so that hidden characters inside a
/// number do not split what Word shows as one.
fn hidden_ranges(document: &[u8], table: &[u8]) -> Vec<std::ops::Range<usize>> {
    let mut out = Vec::new();
    let Some(plc) = fc_lcb(document, CHPX_PAIR)
        .and_then(|(offset, size)| table.get(offset..offset.checked_add(size)?))
    else {
        return out;
    };
    // n + 1 FCs, then n page numbers.
    let pages = plc.len().saturating_sub(4) / 8;
    for index in 0..pages.min(MAX_PAGES) {
        let Some(pn) = u32_at(plc, (pages + 1) * 4 + index * 4) else {
            break;
        };
        let start = (pn & 0x3F_FFFF).saturating_mul(512);
        let Some(page) = document.get(start..start.saturating_add(512)) else {
            continue;
        };
        let runs = usize::from(page[511]).min(0x65);
        for run in 0..runs {
            let (Some(from), Some(to), Some(&at)) = (
                u32_at(page, run * 4),
                u32_at(page, run * 4 + 4),
                page.get((runs + 1) * 4 + run),
            ) else {
                break;
            };
            let at = usize::from(at) * 2;
            if at == 0 || from >= to {
                continue;
            }
            let Some(&size) = page.get(at) else {
                continue;
            };
            let grpprl = page
                .get(at + 1..at + 1 + usize::from(size))
                .unwrap_or_default();
            if vanish(grpprl) {
                out.push(from..to);
            }
        }
    }
    out.sort_by_key(|range| range.start);
    out
}

/// Does a run's property list (`grpprl`) turn hidden text on? Each `Prl` is a 2-byte sprm
/// and an operand whose size the sprm's top three bits give.
fn vanish(grpprl: &[u8]) -> bool {
    let mut at = 0;
    let mut hidden = false;
    while let Some(sprm) = u16_at(grpprl, at) {
        at += 2;
        let operand = match sprm >> 13 {
            0 | 1 => 1,
            2 | 4 | 5 => 2,
            3 => 4,
            7 => 3,
            _ => 1 + usize::from(grpprl.get(at).copied().unwrap_or(0)),
        };
        if sprm == SPRM_VANISH {
            // 1: on; 0x81: the opposite of the style's (not hidden): on.
            hidden = matches!(grpprl.get(at), Some(0x01 | 0x81));
        }
        at += operand;
    }
    hidden
}

/// The parts of the bytes `range` (characters of `step` bytes) inside and outside the
/// `hidden` ranges, in order.
fn split_hidden(
    range: std::ops::Range<usize>,
    hidden: &[std::ops::Range<usize>],
    step: usize,
) -> Vec<(std::ops::Range<usize>, bool)> {
    let mut out = Vec::new();
    let mut at = range.start;
    let align = |pos: usize| range.start + (pos.saturating_sub(range.start) / step) * step;
    for h in hidden
        .iter()
        .filter(|h| h.end > range.start && h.start < range.end)
    {
        let start = align(h.start.max(range.start));
        let end = align(h.end.min(range.end) + step - 1).min(range.end);
        if start > at {
            out.push((at..start, false));
        }
        if end > start.max(at) {
            out.push((start.max(at)..end, true));
            at = end;
        }
    }
    if at < range.end {
        out.push((at..range.end, false));
    }
    out
}

/// The `PlcPcd` of a `Clx`: past any `Prc` (property modifiers, `clxt` 1) to the `Pcdt`
/// (`clxt` 2).
fn plc_pcd(clx: &[u8]) -> Option<&[u8]> {
    let mut at = 0;
    loop {
        match *clx.get(at)? {
            0x01 => {
                let size = usize::try_from(i16::from_le_bytes(
                    clx.get(at + 1..at + 3)?.try_into().ok()?,
                ))
                .ok()?;
                at += 3 + size;
            }
            0x02 => {
                let size = u32_at(clx, at + 1)?;
                return clx.get(at + 5..at.checked_add(5)?.checked_add(size)?);
            }
            _ => return None,
        }
    }
}

/// The document's text through its piece table, at most about `cap` bytes; `table` is the
/// table stream the FIB names. `None` when the structure does not hold together.
pub(super) fn text(document: &[u8], table: &[u8], cap: usize) -> Option<String> {
    fib_base(document)?;
    let (offset, size) = clx_range(document)?;
    let clx = table.get(offset..offset.checked_add(size)?)?;
    let plc = plc_pcd(clx)?;
    // n + 1 character positions, then n 8-byte piece descriptors.
    let pieces = plc.len().checked_sub(4)? / 12;
    if pieces == 0 || pieces > MAX_PIECES {
        return None;
    }
    let mut visible = Visible::default();
    let hidden = hidden_ranges(document, table);
    // Pieces of a real document never overlap: more piece bytes than the stream holds is a
    // crafted file making one stretch of bytes be read over and over.
    let mut piece_bytes = 0usize;
    for index in 0..pieces {
        let start = u32_at(plc, index * 4)?;
        let end = u32_at(plc, index * 4 + 4)?;
        let count = end.checked_sub(start)?;
        let descriptor = (pieces + 1) * 4 + index * 8;
        let raw = u32::from_le_bytes(plc.get(descriptor + 2..descriptor + 6)?.try_into().ok()?);
        let compressed = raw & 0x4000_0000 != 0;
        let fc = usize::try_from(raw & 0x3FFF_FFFF).ok()?;
        piece_bytes = piece_bytes.checked_add(if compressed {
            count
        } else {
            count.checked_mul(2)?
        })?;
        if piece_bytes > document.len() {
            return None;
        }
        let (range, step) = if compressed {
            (fc / 2..(fc / 2).checked_add(count)?, 1)
        } else {
            (fc..fc.checked_add(count.checked_mul(2)?)?, 2)
        };
        document.get(range.clone())?;
        for (part, is_hidden) in split_hidden(range, &hidden, step) {
            let bytes = document.get(part)?;
            let text = if compressed {
                WINDOWS_1252
                    .decode_without_bom_handling(bytes)
                    .0
                    .into_owned()
            } else {
                let units: Vec<u16> = bytes
                    .chunks_exact(2)
                    .map(|pair| u16::from_le_bytes([pair[0], pair[1]]))
                    .collect();
                String::from_utf16_lossy(&units)
            };
            if is_hidden {
                visible.push_hidden(&text);
            } else {
                visible.push(&text);
            }
        }
        if visible.len() > cap {
            break;
        }
    }
    Some(visible.finish())
}

/// Word text as a reader sees it, built piece by piece.
///
/// A field (`{ HYPERLINK "…" }`, `{ PAGE }`, a mail-merge field) is its code between marks
/// 0x13 and 0x14 and its result between 0x14 and 0x15; Word shows the result in place. So
/// the result stays inline, and the code goes on a line of its own at the end: a number
/// written `1234` + a link over `5678` + `9018` reads as one number, as on screen. Fields
/// nest; what is inside a field's code is code. Paragraph, line, page and column breaks
/// become line breaks, cell and row ends tabs; anchors of pictures, footnote marks and
/// comment marks are dropped.
#[derive(Default)]
struct Visible {
    /// The text shown.
    out: String,
    /// The fields' codes, one per line.
    codes: String,
    /// The open fields, innermost last: true while in its code, false in its result.
    fields: Vec<bool>,
    /// Text formatted hidden, one run per line.
    hidden: String,
}

impl Visible {
    fn push(&mut self, piece: &str) {
        for c in piece.chars() {
            match c {
                '\u{13}' => {
                    // Word nests fields a few levels at most; past that, all is code.
                    if self.fields.len() < 64 {
                        self.fields.push(true);
                    }
                    self.codes.push(' ');
                }
                '\u{14}' => {
                    if let Some(top) = self.fields.last_mut() {
                        *top = false;
                    }
                    self.codes.push('\n');
                }
                '\u{15}' => {
                    self.fields.pop();
                    self.codes.push('\n');
                }
                c => {
                    let shown = match c {
                        '\r' | '\u{0B}' | '\u{0C}' | '\u{0E}' => Some('\n'),
                        '\u{07}' | '\t' => Some('\t'),
                        '\u{A0}' => Some(' '),
                        '\u{1E}' => Some('-'),
                        c if c.is_control() => None,
                        c => Some(c),
                    };
                    let Some(shown) = shown else {
                        continue;
                    };
                    if self.fields.iter().any(|&code| code) {
                        self.codes.push(shown);
                    } else {
                        self.out.push(shown);
                    }
                }
            }
        }
    }

    /// Hidden text: kept apart (with its control characters as line breaks), still read.
    fn push_hidden(&mut self, text: &str) {
        for c in text.chars() {
            self.hidden.push(if c.is_control() { '\n' } else { c });
        }
        self.hidden.push('\n');
    }

    fn len(&self) -> usize {
        self.out.len() + self.codes.len() + self.hidden.len()
    }

    fn finish(mut self) -> String {
        for aside in [self.codes.trim(), self.hidden.trim()] {
            if !aside.is_empty() {
                self.out.push('\n');
                self.out.push_str(aside);
            }
        }
        self.out
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;

    /// A Word 97 `WordDocument` stream and `1Table` stream whose pieces are `pieces`
    /// (text, compressed?), stored in reverse order in the file as a fast save leaves them.
    pub(in super::super) fn document(pieces: &[(&str, bool)]) -> (Vec<u8>, Vec<u8>) {
        let mut stream = vec![0u8; 0x400];
        stream[0..2].copy_from_slice(&W_IDENT.to_le_bytes());
        stream[2..4].copy_from_slice(&0x00C1u16.to_le_bytes());
        stream[0x0A..0x0C].copy_from_slice(&WHICH_TABLE.to_le_bytes());
        stream[0x20..0x22].copy_from_slice(&14u16.to_le_bytes());
        stream[0x3E..0x40].copy_from_slice(&22u16.to_le_bytes());
        stream[0x98..0x9A].copy_from_slice(&93u16.to_le_bytes());
        let mut placed = Vec::new();
        for (text, compressed) in pieces.iter().rev() {
            let at = stream.len();
            let (bytes, fc) = if *compressed {
                let (bytes, _, _) = WINDOWS_1252.encode(text);
                (
                    bytes.into_owned(),
                    u32::try_from(at * 2).unwrap() | 0x4000_0000,
                )
            } else {
                let bytes: Vec<u8> = text.encode_utf16().flat_map(u16::to_le_bytes).collect();
                (bytes, u32::try_from(at).unwrap())
            };
            stream.extend(bytes);
            placed.push((text.encode_utf16().count(), fc));
        }
        placed.reverse();
        let mut cps = vec![0u32];
        let mut descriptors = Vec::new();
        for (count, fc) in &placed {
            cps.push(cps.last().unwrap() + u32::try_from(*count).unwrap());
            descriptors.extend(0u16.to_le_bytes());
            descriptors.extend(fc.to_le_bytes());
            descriptors.extend(0u16.to_le_bytes());
        }
        let mut plc: Vec<u8> = cps.iter().flat_map(|cp| cp.to_le_bytes()).collect();
        plc.extend(descriptors);
        let mut table = vec![0u8; 16];
        let fc_clx = table.len();
        table.extend([0x01, 2, 0, 0xAA, 0xBB]); // one Prc
        table.push(0x02);
        table.extend(u32::try_from(plc.len()).unwrap().to_le_bytes());
        table.extend(plc);
        let lcb_clx = table.len() - fc_clx;
        let pair = 0x9A + CLX_PAIR * 8;
        stream[pair..pair + 4].copy_from_slice(&u32::try_from(fc_clx).unwrap().to_le_bytes());
        stream[pair + 4..pair + 8].copy_from_slice(&u32::try_from(lcb_clx).unwrap().to_le_bytes());
        (stream, table)
    }

    #[test]
    fn pieces_are_read_in_document_order_in_both_encodings() {
        let (stream, table) = document(&[
            ("個人番号は１２３４", false),
            (" 5678 9012\r\x13 HYPERLINK x \x14link\x15 caf\u{e9}", true),
            ("\u{07}end\u{1}", false),
        ]);
        assert_eq!(table_stream(&stream), Some("1Table"));
        let text = text(&stream, &table, 1 << 20).unwrap();
        assert_eq!(
            text,
            "個人番号は１２３４ 5678 9012\nlink café\tend\nHYPERLINK x"
        );
        // A link over the middle of a number: the number reads whole, the code apart;
        // nested fields' codes stay code.
        let (stream, table) = document(&[
            ("1234\x13 HYPERLINK \"http://example.com/\" \x14", true),
            ("5678\x15", false),
            ("9018 \x13 IF \x13 PAGE \x141\x15 = 1 \x14ok\x15", true),
        ]);
        let text = super::text(&stream, &table, 1 << 20).unwrap();
        let (shown, codes) = text.split_once('\n').unwrap();
        assert_eq!(shown, "123456789018 ok");
        assert!(codes.contains("HYPERLINK \"http://example.com/\"") && codes.contains("PAGE"));
        assert!(!codes.contains("5678"), "{codes}");
    }

    #[test]
    fn hidden_runs_are_found_in_the_character_properties() {
        assert!(vanish(&[0x3C, 0x08, 0x01]));
        assert!(vanish(&[0x43, 0x4A, 0x18, 0x00, 0x3C, 0x08, 0x81]));
        assert!(!vanish(&[0x3C, 0x08, 0x00]));
        assert!(!vanish(&[0x43, 0x4A, 0x18, 0x00]));
        assert!(!vanish(&[0x3C]));
        assert_eq!(
            split_hidden(10..30, std::slice::from_ref(&(14..18)), 2),
            vec![(10..14, false), (14..18, true), (18..30, false)]
        );
        assert_eq!(
            split_hidden(10..20, &[0..12, 19..40], 1),
            vec![(10..12, true), (12..19, false), (19..20, true)]
        );
        assert_eq!(split_hidden(10..20, &[], 2), vec![(10..20, false)]);
        // An odd boundary in UTF-16 text is taken to the character that holds it.
        assert_eq!(
            split_hidden(10..20, std::slice::from_ref(&(13..15)), 2),
            vec![(10..12, false), (12..16, true), (16..20, false)]
        );
    }

    #[test]
    fn broken_structures_give_none() {
        let (stream, table) = document(&[("abc", false)]);
        // Word 95's FIB, a Clx out of the table, a piece out of the stream.
        let mut old = stream.clone();
        old[2] = 0x65;
        assert_eq!(text(&old, &table, 100), None);
        assert_eq!(text(&stream, &table[..20], 100), None);
        let mut far = table.clone();
        let last = far.len() - 6;
        far[last..last + 4].copy_from_slice(&0x3FFF_0000u32.to_le_bytes());
        assert_eq!(text(&stream, &far, 100), None);
        assert_eq!(text(&[0u8; 10], &table, 100), None);
        // Pieces that all point at the same bytes: more piece bytes than the stream.
        let many: Vec<(&str, bool)> = vec![("x".repeat(400).leak() as &str, true); 8];
        let (stream, table) = document(&many);
        assert!(text(&stream, &table, 1 << 20).is_some());
        let mut alias = table.clone();
        let plc_start = alias.len() - (9 * 4 + 8 * 8);
        for i in 0..8 {
            let fc = plc_start + 9 * 4 + i * 8 + 2;
            // Every piece's fc made the last piece's, stored first in the stream.
            let last = plc_start + 9 * 4 + 7 * 8 + 2;
            alias.copy_within(last..last + 4, fc);
        }
        let mut small = stream.clone();
        small.truncate(0x400 + 400 * 2);
        // Each piece alone is in the stream; together they are four times its length.
        assert_eq!(text(&small, &alias, 1 << 20), None);
        assert!(text(&stream, &alias, 1 << 20).is_some());
    }
}
