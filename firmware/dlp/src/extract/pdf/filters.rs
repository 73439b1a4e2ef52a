//! PDF stream filters (ISO 32000-1 §7.4) other than Flate, which `flate2` decodes: LZW and
//! RunLength as streaming readers (so that [`super::bounded`] bounds what they expand, as
//! it does Flate), ASCIIHex and ASCII85 (which cannot expand more than 4:1), and the PNG
//! and TIFF predictors that Flate and LZW data may carry.

use std::io::{self, Read};

use super::lexer::{Dict, Lexer, Tok, get};

/// What a filter name asks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Filter {
    Flate,
    Lzw,
    RunLength,
    AsciiHex,
    Ascii85,
    /// `/Crypt`: decryption is done before the filters; here it passes the data on.
    Crypt,
    /// An image codec (DCT, JPX, JBIG2, CCITT fax): an image, not text.
    Image,
    /// A name no reader knows.
    Unknown,
}

impl Filter {
    /// The filter a `/Filter` name stands for (full names and the inline abbreviations).
    pub(super) fn named(name: &[u8]) -> Self {
        match name {
            b"FlateDecode" | b"Fl" => Self::Flate,
            b"LZWDecode" | b"LZW" => Self::Lzw,
            b"RunLengthDecode" | b"RL" => Self::RunLength,
            b"ASCIIHexDecode" | b"AHx" => Self::AsciiHex,
            b"ASCII85Decode" | b"A85" => Self::Ascii85,
            b"Crypt" => Self::Crypt,
            b"DCTDecode" | b"DCT" | b"JPXDecode" | b"JBIG2Decode" | b"CCITTFaxDecode" | b"CCF" => {
                Self::Image
            }
            _ => Self::Unknown,
        }
    }
}

/// `ASCIIHexDecode`.
pub(super) fn ascii_hex(data: &[u8]) -> Vec<u8> {
    let mut lexer_input = Vec::with_capacity(data.len() + 1);
    lexer_input.push(b'<');
    lexer_input.extend_from_slice(data);
    match Lexer::new(&lexer_input, 0).token() {
        Some(Tok::Str(bytes)) => bytes,
        _ => Vec::new(),
    }
}

/// `ASCII85Decode`.
pub(super) fn ascii85(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len());
    let mut group = [0u8; 5];
    let mut n = 0;
    for &b in data {
        match b {
            b'~' => break,
            b'z' if n == 0 => out.extend_from_slice(&[0; 4]),
            b'!'..=b'u' => {
                if let Some(slot) = group.get_mut(n) {
                    *slot = b - b'!';
                }
                n += 1;
                if n == 5 {
                    let value = group.iter().fold(0u64, |v, &d| v * 85 + u64::from(d));
                    let value = u32::try_from(value).unwrap_or(u32::MAX);
                    out.extend_from_slice(&value.to_be_bytes());
                    n = 0;
                }
            }
            _ => {}
        }
    }
    if n > 1 {
        for slot in group.iter_mut().skip(n) {
            *slot = 84;
        }
        let value = group.iter().fold(0u64, |v, &d| v * 85 + u64::from(d));
        let value = u32::try_from(value).unwrap_or(u32::MAX);
        out.extend_from_slice(value.to_be_bytes().get(..n - 1).unwrap_or_default());
    }
    out
}

/// `RunLengthDecode` as a reader: a length byte `n` copies the next `n + 1` bytes (n < 128)
/// or repeats the next byte `257 - n` times (n > 128); 128 ends the data.
pub(super) struct RunLength<'a> {
    input: &'a [u8],
    /// A run being repeated: the byte and how many are left.
    run: (u8, usize),
    /// Literal bytes being copied: how many are left.
    literal: usize,
    done: bool,
}

impl<'a> RunLength<'a> {
    pub(super) fn new(input: &'a [u8]) -> Self {
        Self {
            input,
            run: (0, 0),
            literal: 0,
            done: false,
        }
    }
}

impl Read for RunLength<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let mut written = 0;
        while written < buf.len() {
            if self.run.1 > 0 {
                let n = self.run.1.min(buf.len() - written);
                buf[written..written + n].fill(self.run.0);
                self.run.1 -= n;
                written += n;
            } else if self.literal > 0 {
                let n = self.literal.min(buf.len() - written).min(self.input.len());
                if n == 0 {
                    self.literal = 0;
                    self.done = true;
                    continue;
                }
                buf[written..written + n].copy_from_slice(&self.input[..n]);
                self.input = &self.input[n..];
                self.literal -= n;
                written += n;
            } else if self.done {
                break;
            } else {
                let Some((&length, rest)) = self.input.split_first() else {
                    self.done = true;
                    continue;
                };
                self.input = rest;
                match length {
                    0..=127 => self.literal = usize::from(length) + 1,
                    128 => self.done = true,
                    _ => match self.input.split_first() {
                        Some((&byte, rest)) => {
                            self.input = rest;
                            self.run = (byte, 257 - usize::from(length));
                        }
                        None => self.done = true,
                    },
                }
            }
        }
        Ok(written)
    }
}

/// The most codes an LZW table holds (12-bit codes).
const LZW_TABLE: usize = 4096;
const LZW_CLEAR: u16 = 256;
const LZW_END: u16 = 257;

/// One LZW table entry: the code of its prefix, its last byte, its first byte, its length.
#[derive(Clone, Copy)]
struct LzwEntry {
    prefix: u16,
    last: u8,
    first: u8,
    len: u16,
}

/// `LZWDecode` as a reader (the variable-width, MSB-first LZW of PDF and TIFF, with
/// `EarlyChange`).
pub(super) struct Lzw<'a> {
    input: &'a [u8],
    bit: usize,
    width: u32,
    early: usize,
    table: Vec<LzwEntry>,
    previous: Option<u16>,
    /// The string of the last code, not yet all handed out.
    pending: Vec<u8>,
    pending_at: usize,
    done: bool,
}

impl<'a> Lzw<'a> {
    /// A decoder of `input`; `early_change` is the `/EarlyChange` parameter (1 by default).
    pub(super) fn new(input: &'a [u8], early_change: bool) -> Self {
        let mut lzw = Self {
            input,
            bit: 0,
            width: 9,
            early: usize::from(early_change),
            table: Vec::with_capacity(LZW_TABLE),
            previous: None,
            pending: Vec::new(),
            pending_at: 0,
            done: false,
        };
        lzw.clear();
        lzw
    }

    fn clear(&mut self) {
        self.table.clear();
        for byte in 0..=255u8 {
            self.table.push(LzwEntry {
                prefix: u16::MAX,
                last: byte,
                first: byte,
                len: 1,
            });
        }
        // The clear and end codes take two places.
        for _ in 0..2 {
            self.table.push(LzwEntry {
                prefix: u16::MAX,
                last: 0,
                first: 0,
                len: 0,
            });
        }
        self.width = 9;
        self.previous = None;
    }

    fn code(&mut self) -> Option<u16> {
        let mut code = 0u16;
        for _ in 0..self.width {
            let byte = *self.input.get(self.bit / 8)?;
            let bit = (byte >> (7 - self.bit % 8)) & 1;
            code = (code << 1) | u16::from(bit);
            self.bit += 1;
        }
        Some(code)
    }

    /// Writes the string of `code` into `pending`.
    fn string(&mut self, code: u16) {
        let Some(entry) = self.table.get(usize::from(code)).copied() else {
            return;
        };
        let len = usize::from(entry.len);
        self.pending.clear();
        self.pending.resize(len, 0);
        self.pending_at = 0;
        let mut at = len;
        let mut current = Some(entry);
        while let Some(entry) = current {
            if at == 0 {
                break;
            }
            at -= 1;
            self.pending[at] = entry.last;
            current = self.table.get(usize::from(entry.prefix)).copied();
        }
    }

    fn add(&mut self, prefix: u16, last: u8) {
        if self.table.len() >= LZW_TABLE {
            return;
        }
        let Some(&before) = self.table.get(usize::from(prefix)) else {
            return;
        };
        self.table.push(LzwEntry {
            prefix,
            last,
            first: before.first,
            len: before.len.saturating_add(1),
        });
        if self.table.len() + self.early >= 1 << self.width && self.width < 12 {
            self.width += 1;
        }
    }

    /// Decodes one code into `pending`; an error for a code that cannot be.
    fn step(&mut self) -> io::Result<()> {
        let Some(code) = self.code() else {
            self.done = true;
            return Ok(());
        };
        match code {
            LZW_CLEAR => self.clear(),
            LZW_END => self.done = true,
            _ => {
                let known = usize::from(code) < self.table.len();
                match self.previous {
                    None if known => self.string(code),
                    Some(previous) if known => {
                        self.string(code);
                        let first = self.pending.first().copied().unwrap_or(0);
                        self.add(previous, first);
                    }
                    Some(previous) if usize::from(code) == self.table.len() => {
                        let first = self
                            .table
                            .get(usize::from(previous))
                            .map_or(0, |entry| entry.first);
                        self.add(previous, first);
                        self.string(code);
                    }
                    _ => {
                        self.done = true;
                        return Err(io::Error::new(
                            io::ErrorKind::InvalidData,
                            format!("LZW code {code} is not in the table"),
                        ));
                    }
                }
                self.previous = Some(code);
            }
        }
        Ok(())
    }
}

impl Read for Lzw<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let mut written = 0;
        while written < buf.len() {
            if self.pending_at < self.pending.len() {
                let n = (self.pending.len() - self.pending_at).min(buf.len() - written);
                buf[written..written + n]
                    .copy_from_slice(&self.pending[self.pending_at..self.pending_at + n]);
                self.pending_at += n;
                written += n;
            } else if self.done {
                break;
            } else {
                self.pending.clear();
                self.pending_at = 0;
                if let Err(error) = self.step() {
                    if written > 0 {
                        return Ok(written);
                    }
                    return Err(error);
                }
            }
        }
        Ok(written)
    }
}

/// The most bytes one predictor row may have: a wider row is no image or text a writer
/// makes, and the predictor is not applied.
const MAX_ROW: usize = 1 << 24;

/// Undoes the PNG (10–15) or TIFF (2) predictor of `/DecodeParms`, if any.
pub(super) fn unpredict(data: Vec<u8>, parms: Option<&Dict>) -> Vec<u8> {
    let Some(parms) = parms else {
        return data;
    };
    // A parameter given but not a count a writer would give: no predictor applied.
    let number = |key: &[u8], default: usize| match get(parms, key) {
        None => Some(default),
        Some(value) => value.as_usize().filter(|&n| n <= MAX_ROW),
    };
    let (Some(predictor), Some(colors), Some(bits), Some(columns)) = (
        number(b"Predictor", 1),
        number(b"Colors", 1),
        number(b"BitsPerComponent", 8),
        number(b"Columns", 1),
    ) else {
        return data;
    };
    if predictor < 2 || !matches!(bits, 1 | 2 | 4 | 8 | 16) || columns == 0 {
        return data;
    }
    let colors = colors.clamp(1, 32);
    let Some(row_bits) = colors
        .checked_mul(bits)
        .and_then(|b| b.checked_mul(columns))
    else {
        return data;
    };
    let row = row_bits.div_ceil(8);
    if row > MAX_ROW {
        return data;
    }
    let pixel = (colors * bits).div_ceil(8).max(1);
    if predictor == 2 {
        return if bits == 8 {
            tiff(data, row, pixel)
        } else {
            data
        };
    }
    png(&data, row, pixel)
}

/// TIFF predictor 2 (8-bit components): each byte is its difference from the one a pixel
/// to the left.
fn tiff(mut data: Vec<u8>, row: usize, pixel: usize) -> Vec<u8> {
    for line in data.chunks_mut(row) {
        for i in pixel..line.len() {
            line[i] = line[i].wrapping_add(line[i - pixel]);
        }
    }
    data
}

/// PNG predictors: each row starts with its filter type (none, sub, up, average, Paeth).
fn png(data: &[u8], row: usize, pixel: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len());
    let mut previous = vec![0u8; row];
    let mut current = vec![0u8; row];
    for line in data.chunks(row + 1) {
        let Some((&kind, bytes)) = line.split_first() else {
            break;
        };
        current[..bytes.len()].copy_from_slice(bytes);
        current[bytes.len()..].fill(0);
        for i in 0..bytes.len() {
            let left = if i >= pixel { current[i - pixel] } else { 0 };
            let up = previous[i];
            let up_left = if i >= pixel { previous[i - pixel] } else { 0 };
            let add = match kind {
                1 => left,
                2 => up,
                3 => ((u16::from(left) + u16::from(up)) / 2) as u8,
                4 => paeth(left, up, up_left),
                _ => 0,
            };
            current[i] = current[i].wrapping_add(add);
        }
        out.extend_from_slice(&current[..bytes.len()]);
        std::mem::swap(&mut previous, &mut current);
    }
    out
}

fn paeth(a: u8, b: u8, c: u8) -> u8 {
    let p = i16::from(a) + i16::from(b) - i16::from(c);
    let (pa, pb, pc) = (
        (p - i16::from(a)).abs(),
        (p - i16::from(b)).abs(),
        (p - i16::from(c)).abs(),
    );
    if pa <= pb && pa <= pc {
        a
    } else if pb <= pc {
        b
    } else {
        c
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::super::lexer::Obj;
    use super::*;

    fn read_all(mut reader: impl Read) -> io::Result<Vec<u8>> {
        let mut out = Vec::new();
        reader.read_to_end(&mut out)?;
        Ok(out)
    }

    /// Codes written most significant bit first.
    #[derive(Default)]
    struct Bits {
        out: Vec<u8>,
        acc: u64,
        count: u32,
    }

    impl Bits {
        fn put(&mut self, code: u16, width: u32) {
            self.acc = (self.acc << width) | u64::from(code);
            self.count += width;
            while self.count >= 8 {
                self.count -= 8;
                self.out.push((self.acc >> self.count) as u8);
            }
        }

        fn finish(mut self) -> Vec<u8> {
            if self.count > 0 {
                let pad = 8 - self.count;
                self.put(0, pad);
            }
            self.out
        }
    }

    /// A PDF LZW encoder (early change), the way libtiff's writes: a clear code first,
    /// the code width raised once the next free code passes the widest code, a clear code
    /// before the table would overflow.
    pub(in crate::extract::pdf) fn lzw_encode(data: &[u8]) -> Vec<u8> {
        let mut bits = Bits::default();
        let mut table: std::collections::HashMap<Vec<u8>, u16> =
            (0..=255u8).map(|b| (vec![b], u16::from(b))).collect();
        let (mut width, mut next) = (9u32, 258u16);
        bits.put(LZW_CLEAR, width);
        let mut current: Vec<u8> = Vec::new();
        for &byte in data {
            let mut longer = current.clone();
            longer.push(byte);
            if table.contains_key(&longer) {
                current = longer;
                continue;
            }
            bits.put(table[&current], width);
            if next <= 4094 {
                table.insert(longer, next);
                next += 1;
                if u32::from(next) >= 1 << width && width < 12 {
                    width += 1;
                }
            } else {
                bits.put(LZW_CLEAR, width);
                table.retain(|k, _| k.len() == 1);
                width = 9;
                next = 258;
            }
            current = vec![byte];
        }
        if !current.is_empty() {
            bits.put(table[&current], width);
        }
        bits.put(LZW_END, width);
        bits.finish()
    }

    #[test]
    fn lzw_decodes_the_example_of_the_pdf_specification() {
        // ISO 32000-1 §7.4.4.2: 45 45 45 45 45 65 45 45 45 66.
        let encoded = [0x80, 0x0B, 0x60, 0x50, 0x22, 0x0C, 0x0C, 0x85, 0x01];
        let decoded = read_all(Lzw::new(&encoded, true)).unwrap();
        assert_eq!(decoded, [45, 45, 45, 45, 45, 65, 45, 45, 45, 66]);
    }

    #[test]
    fn lzw_follows_every_code_width_and_clears() {
        // Text with many distinct strings: widths 9 to 12, then a clear and 9 again.
        let mut text = Vec::new();
        for i in 0..30_000u32 {
            text.extend(format!("{} ", i.wrapping_mul(2_654_435_761) % 100_000).as_bytes());
        }
        let encoded = lzw_encode(&text);
        assert!(encoded.len() < text.len());
        assert_eq!(read_all(Lzw::new(&encoded, true)).unwrap(), text);
        // Every cut: what came before, an error at worst, never a panic.
        for cut in [0, 1, 2, 100, encoded.len() / 2] {
            let _ = read_all(Lzw::new(&encoded[..cut], true));
        }
        // A code past the table is an error after what came before.
        let mut bad = Bits::default();
        for code in [LZW_CLEAR, 45, 46, 300, 47] {
            bad.put(code, 9);
        }
        let bad = bad.finish();
        assert!(read_all(Lzw::new(&bad, true)).is_ok_and(|out| out == [45, 46]));
        let mut first = Bits::default();
        first.put(300, 9);
        assert!(read_all(Lzw::new(&first.finish(), true)).is_err());
    }

    #[test]
    fn run_length_copies_and_repeats() {
        let encoded = [2, b'a', b'b', b'c', 254, b'x', 0, b'!', 128, b'z'];
        assert_eq!(read_all(RunLength::new(&encoded)).unwrap(), b"abcxxx!");
        // Cut in a literal run: what there is.
        assert_eq!(read_all(RunLength::new(&[5, b'a'])).unwrap(), b"a");
        assert_eq!(read_all(RunLength::new(&[200])).unwrap(), b"");
    }

    fn parms(predictor: usize, columns: usize) -> Dict {
        vec![
            (b"Predictor".to_vec(), Obj::Num(predictor as f64)),
            (b"Columns".to_vec(), Obj::Num(columns as f64)),
        ]
    }

    #[test]
    fn png_and_tiff_predictors_are_undone() {
        // Rows of 4: "1234", "5678" encoded with sub, up, average and Paeth.
        let rows: [&[u8]; 2] = [b"1234", b"5678"];
        let encode = |kind: u8| {
            let mut out = Vec::new();
            let mut previous = [0u8; 4];
            for row in rows {
                out.push(kind);
                for i in 0..4 {
                    let left = if i > 0 { row[i - 1] } else { 0 };
                    let up = previous[i];
                    let up_left = if i > 0 { previous[i - 1] } else { 0 };
                    let predicted = match kind {
                        1 => left,
                        2 => up,
                        3 => ((u16::from(left) + u16::from(up)) / 2) as u8,
                        4 => paeth(left, up, up_left),
                        _ => 0,
                    };
                    out.push(row[i].wrapping_sub(predicted));
                }
                previous.copy_from_slice(row);
            }
            out
        };
        for kind in 0..=4 {
            let decoded = unpredict(encode(kind), Some(&parms(12, 4)));
            assert_eq!(decoded, b"12345678", "PNG type {kind}");
        }
        let tiff: Vec<u8> = vec![b'1', 1, 1, 1, b'5', 1, 1, 1];
        assert_eq!(unpredict(tiff, Some(&parms(2, 4))), b"12345678");
        // No predictor, or one that makes no sense: the data as it is.
        assert_eq!(unpredict(b"abc".to_vec(), Some(&parms(1, 4))), b"abc");
        assert_eq!(unpredict(b"abc".to_vec(), Some(&parms(12, 0))), b"abc");
        let huge = parms(12, usize::MAX >> 8);
        assert_eq!(unpredict(b"abc".to_vec(), Some(&huge)), b"abc");
    }
}
