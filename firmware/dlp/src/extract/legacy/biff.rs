//! Excel 97–2003 workbooks (BIFF8, the `Workbook` stream): the records that hold what a
//! user sees, read from the structure ([MS-XLS] §2.4): the shared string table (`SST`,
//! across its `CONTINUE` records), string and number cells (`LABELSST`, `LABEL`, `NUMBER`,
//! `RK`, `MULRK`), formula results (`FORMULA`'s cached numbers, `STRING`), sheet names,
//! headers and footers, and the text of comments and text boxes (`TXO`). `FILEPASS` means
//! the workbook is encrypted (RC4, CryptoAPI RC4 or XOR obfuscation): what follows it is
//! not readable as it is. A BOF of another version (BIFF5/7, Excel 95) is said, for the
//! caller to read the stream by its strings.

use super::super::xml::number_text;

/// What a workbook stream gave.
#[derive(Debug, Default, PartialEq)]
pub(super) struct Workbook {
    /// Its text: sheet names, then cells row by row (tabs between cells), headers, comments.
    pub(super) text: String,
    /// A `FILEPASS` record was found: the workbook is encrypted.
    pub(super) encrypted: bool,
    /// The stream is not BIFF8 (a BIFF5/7 workbook of Excel 95, whose strings have no
    /// flags byte and are in the code page): the caller reads it by its strings.
    pub(super) not_biff8: bool,
}

const FILEPASS: u16 = 0x002F;
const SST: u16 = 0x00FC;
const CONTINUE: u16 = 0x003C;
const LABELSST: u16 = 0x00FD;
const LABEL: u16 = 0x0204;
const NUMBER: u16 = 0x0203;
const RK: u16 = 0x027E;
const MULRK: u16 = 0x00BD;
const STRING: u16 = 0x0207;
const BOUNDSHEET: u16 = 0x0085;
const HEADER: u16 = 0x0014;
const FOOTER: u16 = 0x0015;
const TXO: u16 = 0x01B6;
const BOF: u16 = 0x0809;
const FORMULA: u16 = 0x0006;
/// The BOF version of BIFF8.
const BIFF8: u16 = 0x0600;

/// The most shared strings kept (Excel's own limit is far below what a file can declare).
const MAX_STRINGS: usize = 1 << 20;

/// The records of a BIFF stream: type and data.
fn records(stream: &[u8]) -> impl Iterator<Item = (u16, &[u8])> {
    let mut pos = 0usize;
    std::iter::from_fn(move || {
        let header = stream.get(pos..pos + 4)?;
        let kind = u16::from_le_bytes([header[0], header[1]]);
        let len = usize::from(u16::from_le_bytes([header[2], header[3]]));
        let data = stream.get(pos + 4..pos + 4 + len)?;
        pos += 4 + len;
        Some((kind, data))
    })
}

/// Reads a BIFF8 workbook stream, its text up to about `cap` bytes.
pub(super) fn read(stream: &[u8], cap: usize) -> Workbook {
    let mut book = Workbook::default();
    let mut strings: Vec<String> = Vec::new();
    let mut cells = Cells::default();
    let mut iter = records(stream).peekable();
    while let Some((kind, data)) = iter.next() {
        if book.text.len() + cells.text.len() > cap {
            break;
        }
        match kind {
            BOF => {
                if u16_at(data, 0) == Some(BIFF8) {
                    cells.new_sheet();
                } else {
                    book.not_biff8 = true;
                }
            }
            FILEPASS => {
                book.encrypted = true;
                return book;
            }
            // Past a BOF of another version only FILEPASS is looked for.
            _ if book.not_biff8 => {}
            FORMULA => {
                // The cached result: a number, unless bytes 6-7 of it are 0xFFFF (a string
                // in the STRING record that follows, a boolean, an error or blank).
                if let (Some((row, col)), Some(bits)) = (cell_at(data), u64_at(data, 6))
                    && u16_at(data, 12) != Some(0xFFFF)
                {
                    cells.put(row, col, &number(f64::from_bits(bits)));
                }
            }
            SST => {
                let mut segments = vec![data];
                while let Some((CONTINUE, more)) = iter.peek().copied() {
                    segments.push(more);
                    iter.next();
                }
                strings = shared_strings(&segments);
            }
            LABELSST => {
                if let (Some((row, col)), Some(index)) = (cell_at(data), u32_at(data, 6)) {
                    let text = usize::try_from(index)
                        .ok()
                        .and_then(|i| strings.get(i))
                        .cloned()
                        .unwrap_or_default();
                    cells.put(row, col, &text);
                }
            }
            LABEL => {
                if let (Some((row, col)), Some(text)) =
                    (cell_at(data), data.get(6..).and_then(unicode_string))
                {
                    cells.put(row, col, &text);
                }
            }
            NUMBER => {
                if let (Some((row, col)), Some(bits)) = (cell_at(data), u64_at(data, 6)) {
                    cells.put(row, col, &number(f64::from_bits(bits)));
                }
            }
            RK => {
                if let (Some((row, col)), Some(rk)) = (cell_at(data), u32_at(data, 6)) {
                    cells.put(row, col, &number(rk_value(rk)));
                }
            }
            MULRK => {
                if let Some((row, first)) = cell_at(data) {
                    let values = data
                        .get(4..data.len().saturating_sub(2))
                        .unwrap_or_default();
                    for (i, item) in values.chunks_exact(6).enumerate() {
                        let rk = u32::from_le_bytes([item[2], item[3], item[4], item[5]]);
                        let col = first.saturating_add(u16::try_from(i).unwrap_or(u16::MAX));
                        cells.put(row, col, &number(rk_value(rk)));
                    }
                }
            }
            STRING => {
                if let Some(text) = unicode_string(data) {
                    cells.append(&text);
                }
            }
            BOUNDSHEET => {
                if let Some(name) = data.get(6..).and_then(short_unicode_string) {
                    book.text.push_str(&name);
                    book.text.push('\n');
                }
            }
            HEADER | FOOTER => {
                if let Some(text) = unicode_string(data) {
                    book.text.push_str(&text);
                    book.text.push('\n');
                }
            }
            TXO => {
                // The text follows in the next CONTINUE: a flags byte, then the characters.
                let count = usize::from(u16_at(data, 10).unwrap_or(0));
                if let Some((CONTINUE, text)) = iter.peek().copied()
                    && let Some((&flags, chars)) = text.split_first()
                {
                    let text = characters(chars, count, flags & 0x01 != 0);
                    cells.note(&text);
                }
            }
            _ => {}
        }
    }
    book.text.push_str(&cells.text);
    book
}

/// Cells in the order they come, a line per row.
#[derive(Default)]
struct Cells {
    text: String,
    row: Option<u16>,
}

impl Cells {
    fn new_sheet(&mut self) {
        if self.row.is_some() {
            self.text.push('\n');
        }
        self.row = None;
    }

    fn put(&mut self, row: u16, _col: u16, value: &str) {
        match self.row {
            Some(current) if current == row => self.text.push('\t'),
            Some(_) => self.text.push('\n'),
            None => {}
        }
        self.row = Some(row);
        self.text.push_str(value);
    }

    /// A formula's string result: it follows its `FORMULA` cell.
    fn append(&mut self, value: &str) {
        self.text.push('\t');
        self.text.push_str(value);
    }

    fn note(&mut self, value: &str) {
        self.text.push('\n');
        self.text.push_str(value);
        self.text.push('\n');
        self.row = None;
    }
}

fn u16_at(data: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(data.get(at..at + 2)?.try_into().ok()?))
}

fn u32_at(data: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(data.get(at..at + 4)?.try_into().ok()?))
}

fn u64_at(data: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_le_bytes(data.get(at..at + 8)?.try_into().ok()?))
}

/// A cell record's row and column.
fn cell_at(data: &[u8]) -> Option<(u16, u16)> {
    Some((u16_at(data, 0)?, u16_at(data, 2)?))
}

/// An `RK` number: a 30-bit integer or the high bits of a double, maybe divided by 100.
fn rk_value(rk: u32) -> f64 {
    let mut value = if rk & 0x02 != 0 {
        f64::from((rk as i32) >> 2)
    } else {
        f64::from_bits(u64::from(rk & 0xFFFF_FFFC) << 32)
    };
    if rk & 0x01 != 0 {
        value /= 100.0;
    }
    value
}

/// A number as its digits (integral values in full, as a user typed them).
fn number(value: f64) -> String {
    if value.is_finite() && value.fract() == 0.0 && value.abs() < 1e17 {
        format!("{value:.0}")
    } else {
        number_text(&value.to_string())
    }
}

/// `count` characters: one byte each (Latin-1, "compressed") or UTF-16LE.
fn characters(bytes: &[u8], count: usize, wide: bool) -> String {
    if wide {
        let units: Vec<u16> = bytes
            .chunks_exact(2)
            .take(count)
            .map(|pair| u16::from_le_bytes([pair[0], pair[1]]))
            .collect();
        String::from_utf16_lossy(&units)
    } else {
        bytes.iter().take(count).map(|&b| char::from(b)).collect()
    }
}

/// An `XLUnicodeString`: a 16-bit count, flags, the characters.
fn unicode_string(data: &[u8]) -> Option<String> {
    let count = usize::from(u16_at(data, 0)?);
    let flags = *data.get(2)?;
    Some(characters(data.get(3..)?, count, flags & 0x01 != 0))
}

/// A `ShortXLUnicodeString`: an 8-bit count, flags, the characters.
fn short_unicode_string(data: &[u8]) -> Option<String> {
    let count = usize::from(*data.first()?);
    let flags = *data.get(1)?;
    Some(characters(data.get(2..)?, count, flags & 0x01 != 0))
}

/// The shared string table: `segments` are the `SST` record's data and its `CONTINUE`s.
/// A string's characters may break at a segment's end; the next segment then starts with
/// a fresh flags byte for the rest of them.
fn shared_strings(segments: &[&[u8]]) -> Vec<String> {
    let mut reader = Segments {
        segments,
        index: 0,
        pos: 8,
    };
    let declared = segments
        .first()
        .and_then(|first| u32_at(first, 4))
        .and_then(|n| usize::try_from(n).ok())
        .unwrap_or(0)
        .min(MAX_STRINGS);
    let mut strings = Vec::with_capacity(declared.min(4096));
    while strings.len() < declared {
        let Some(string) = reader.rich_string() else {
            break;
        };
        strings.push(string);
    }
    strings
}

/// A reader over the `SST` and its `CONTINUE` records.
struct Segments<'a> {
    segments: &'a [&'a [u8]],
    index: usize,
    pos: usize,
}

impl Segments<'_> {
    /// The bytes left in the current segment, moving to the next when it is spent.
    fn current(&mut self) -> Option<&[u8]> {
        loop {
            let segment = self.segments.get(self.index)?;
            if self.pos < segment.len() {
                return segment.get(self.pos..);
            }
            self.index += 1;
            self.pos = 0;
        }
    }

    fn byte(&mut self) -> Option<u8> {
        let value = *self.current()?.first()?;
        self.pos += 1;
        Some(value)
    }

    fn u16(&mut self) -> Option<u16> {
        Some(u16::from_le_bytes([self.byte()?, self.byte()?]))
    }

    fn u32(&mut self) -> Option<u32> {
        Some(u32::from_le_bytes([
            self.byte()?,
            self.byte()?,
            self.byte()?,
            self.byte()?,
        ]))
    }

    fn skip(&mut self, mut count: usize) -> Option<()> {
        while count > 0 {
            let available = self.current()?.len();
            let step = available.min(count);
            self.pos += step;
            count -= step;
        }
        Some(())
    }

    /// An `XLUnicodeRichExtendedString`: its text (rich-text runs and phonetic data
    /// skipped).
    fn rich_string(&mut self) -> Option<String> {
        let count = usize::from(self.u16()?);
        let flags = self.byte()?;
        let runs = if flags & 0x08 != 0 { self.u16()? } else { 0 };
        let extended = if flags & 0x04 != 0 { self.u32()? } else { 0 };
        let mut wide = flags & 0x01 != 0;
        let mut text = String::with_capacity(count.min(4096));
        let mut left = count;
        while left > 0 {
            let exhausted = self
                .segments
                .get(self.index)
                .is_some_and(|segment| self.pos >= segment.len());
            if exhausted {
                // The characters continue in the next record, after a new flags byte.
                self.index += 1;
                self.pos = 0;
                wide = self.byte()? & 0x01 != 0;
            }
            let available = self.current()?.len();
            let width = if wide { 2 } else { 1 };
            let take = (available / width).min(left);
            if take == 0 {
                return None;
            }
            let chunk = self.current()?.get(..take * width)?.to_vec();
            text.push_str(&characters(&chunk, take, wide));
            self.pos += take * width;
            left -= take;
        }
        self.skip(usize::from(runs) * 4)?;
        self.skip(usize::try_from(extended).ok()?)?;
        Some(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(kind: u16, data: &[u8]) -> Vec<u8> {
        let mut out = kind.to_le_bytes().to_vec();
        out.extend(u16::try_from(data.len()).unwrap().to_le_bytes());
        out.extend(data);
        out
    }

    /// A BIFF8 BOF record.
    fn bof() -> Vec<u8> {
        let mut data = vec![0u8; 16];
        data[..2].copy_from_slice(&BIFF8.to_le_bytes());
        record(BOF, &data)
    }

    fn cell(row: u16, col: u16, rest: &[u8]) -> Vec<u8> {
        let mut out = row.to_le_bytes().to_vec();
        out.extend(col.to_le_bytes());
        out.extend(0u16.to_le_bytes());
        out.extend(rest);
        out
    }

    #[test]
    fn shared_strings_cross_continue_records_and_cells_read_by_row() {
        // SST of two strings; the second ("山田 123456789018", UTF-16) breaks after 3
        // characters into a CONTINUE, which starts with its own flags byte (compressed).
        let mut sst = 2u32.to_le_bytes().to_vec();
        sst.extend(2u32.to_le_bytes());
        sst.extend(2u16.to_le_bytes());
        sst.push(0);
        sst.extend(b"ID");
        let second = "山田 123456789018";
        sst.extend(u16::try_from(second.chars().count()).unwrap().to_le_bytes());
        sst.push(1);
        for unit in "山田 ".encode_utf16() {
            sst.extend(unit.to_le_bytes());
        }
        let mut cont = vec![0u8];
        cont.extend(b"123456789018");
        let mut stream = bof();
        stream.extend(record(SST, &sst));
        stream.extend(record(CONTINUE, &cont));
        stream.extend(record(LABELSST, &cell(0, 0, &0u32.to_le_bytes())));
        stream.extend(record(LABELSST, &cell(0, 1, &1u32.to_le_bytes())));
        stream.extend(record(
            NUMBER,
            &cell(1, 0, &123456789018f64.to_bits().to_le_bytes()),
        ));
        // RK: the integer 4321 (bit 1 set).
        stream.extend(record(RK, &cell(1, 1, &((4321u32 << 2) | 2).to_le_bytes())));
        // A formula's cached number; a formula whose result is a string (0xFFFF) gives
        // nothing itself (the STRING record after it does).
        let mut formula = 987_654_321_012f64.to_bits().to_le_bytes().to_vec();
        formula.extend([0; 8]);
        stream.extend(record(FORMULA, &cell(2, 0, &formula)));
        let mut text_result = vec![0, 0, 0, 0, 0, 0, 0xFF, 0xFF];
        text_result.extend([0; 8]);
        stream.extend(record(FORMULA, &cell(2, 1, &text_result)));
        let book = read(&stream, 1 << 20);
        assert!(!book.encrypted && !book.not_biff8);
        assert_eq!(
            book.text,
            "ID\t山田 123456789018\n123456789018\t4321\n987654321012"
        );
        // A BIFF5 workbook (Excel 95): not read as BIFF8, FILEPASS still found.
        let mut old = record(BOF, &[0x00, 0x05, 0x10, 0x00]);
        old.extend(record(LABEL, &cell(0, 0, b"\x0c\x00123456789018")));
        let book = read(&old, 1 << 20);
        assert!(book.not_biff8 && book.text.is_empty());
        old.extend(record(FILEPASS, &[0; 6]));
        assert!(read(&old, 1 << 20).encrypted);
    }

    #[test]
    fn filepass_means_encrypted() {
        let mut stream = bof();
        stream.extend(record(FILEPASS, &[1, 0, 1, 0, 1, 0]));
        stream.extend(record(LABEL, b"garbage"));
        let book = read(&stream, 1 << 20);
        assert!(book.encrypted);
        assert!(book.text.is_empty());
    }

    #[test]
    fn rk_numbers_decode() {
        assert_eq!(rk_value((1234 << 2) | 2), 1234.0);
        assert_eq!(rk_value((1234 << 2) | 3), 12.34);
        let bits = (1.5f64.to_bits() >> 32) as u32;
        assert_eq!(rk_value(bits), 1.5);
    }

    #[test]
    fn hostile_records_end_cleanly() {
        // A declared count far past the data, a record cut short, odd lengths.
        let mut sst = u32::MAX.to_le_bytes().to_vec();
        sst.extend(u32::MAX.to_le_bytes());
        sst.extend([0xFF, 0xFF, 0x0D]);
        let mut stream = record(SST, &sst);
        stream.extend(record(CONTINUE, &[]));
        stream.extend(record(MULRK, &[1]));
        stream.extend([0x04, 0x02, 0xFF]);
        let book = read(&stream, 1 << 20);
        assert!(!book.encrypted);
    }
}
