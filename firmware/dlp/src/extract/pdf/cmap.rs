//! ToUnicode CMaps (ISO 32000-1 §9.10.3): character codes of a font to Unicode text.
//!
//! Japanese PDFs show text through CID fonts with `Identity-H` encoding: two-byte glyph
//! codes that mean nothing without the font's ToUnicode CMap. Code space ranges give the
//! code lengths; `bfchar` maps single codes; `bfrange` maps runs of codes (kept as ranges,
//! never expanded, and looked up by binary search).

use std::collections::HashMap;

use super::lexer::{Lexer, Obj, Tok};

/// At most this many mappings are kept from one CMap.
const MAX_ENTRIES: usize = 200_000;
/// At most this many code space ranges are kept (each code is matched against them).
const MAX_SPACES: usize = 64;

/// Where a range of codes goes.
#[derive(Clone, Debug)]
enum Target {
    /// The first code's UTF-16 text; later codes add to its last unit.
    Base(Vec<u16>),
    /// One text per code.
    List(Vec<String>),
}

#[derive(Clone, Debug)]
struct Range {
    len: usize,
    lo: u32,
    hi: u32,
    target: Target,
}

/// A parsed ToUnicode CMap.
#[derive(Clone, Debug, Default)]
pub(crate) struct CMap {
    /// Code space ranges: low and high bytes, of equal length.
    space: Vec<(Vec<u8>, Vec<u8>)>,
    /// Single codes, by (length, code).
    chars: HashMap<(usize, u32), String>,
    /// Ranges sorted by (length, low code).
    ranges: Vec<Range>,
    /// The code length when no code space says otherwise.
    default_len: usize,
}

/// A code of up to four bytes as a number.
fn code_value(bytes: &[u8]) -> Option<u32> {
    if bytes.is_empty() || bytes.len() > 4 {
        return None;
    }
    Some(bytes.iter().fold(0u32, |v, &b| v << 8 | u32::from(b)))
}

fn utf16_units(bytes: &[u8]) -> Vec<u16> {
    bytes
        .chunks(2)
        .map(|pair| match pair {
            [hi, lo] => u16::from_be_bytes([*hi, *lo]),
            [only] => u16::from(*only),
            _ => 0,
        })
        .collect()
}

impl CMap {
    /// Parses a CMap program. Never fails: what cannot be read is left out.
    pub(crate) fn parse(program: &[u8]) -> Self {
        let mut cmap = Self::default();
        let mut lexer = Lexer::new(program, 0);
        let mut entries = 0usize;
        let mut lengths: HashMap<usize, usize> = HashMap::new();
        while let Some(token) = lexer.token() {
            if entries > MAX_ENTRIES {
                break;
            }
            let Tok::Keyword(keyword) = token else {
                continue;
            };
            match keyword.as_slice() {
                b"begincodespacerange" => {
                    while let Some(Tok::Str(lo)) = lexer.token() {
                        let Some(Tok::Str(hi)) = lexer.token() else {
                            break;
                        };
                        if lo.len() == hi.len()
                            && (1..=4).contains(&lo.len())
                            && cmap.space.len() < MAX_SPACES
                        {
                            cmap.space.push((lo, hi));
                        }
                        entries += 1;
                    }
                }
                b"beginbfchar" => {
                    while let Some(Tok::Str(src)) = lexer.token() {
                        let Some(dst) = lexer.object() else { break };
                        if let (Some(code), Obj::Str(dst)) = (code_value(&src), dst) {
                            *lengths.entry(src.len()).or_default() += 1;
                            cmap.chars.insert(
                                (src.len(), code),
                                String::from_utf16_lossy(&utf16_units(&dst)),
                            );
                        }
                        entries += 1;
                        if entries > MAX_ENTRIES {
                            break;
                        }
                    }
                }
                b"beginbfrange" => {
                    while let Some(Tok::Str(lo)) = lexer.token() {
                        let Some(Tok::Str(hi)) = lexer.token() else {
                            break;
                        };
                        let Some(dst) = lexer.object() else { break };
                        entries += 1;
                        let (Some(lo_code), Some(hi_code)) = (code_value(&lo), code_value(&hi))
                        else {
                            continue;
                        };
                        if lo.len() != hi.len() || hi_code < lo_code {
                            continue;
                        }
                        let target = match dst {
                            Obj::Str(base) => Target::Base(utf16_units(&base)),
                            Obj::Array(items) => Target::List(
                                items
                                    .into_iter()
                                    .take(MAX_ENTRIES)
                                    .map(|item| match item {
                                        Obj::Str(s) => String::from_utf16_lossy(&utf16_units(&s)),
                                        _ => String::new(),
                                    })
                                    .collect(),
                            ),
                            _ => continue,
                        };
                        *lengths.entry(lo.len()).or_default() += 1;
                        cmap.ranges.push(Range {
                            len: lo.len(),
                            lo: lo_code,
                            hi: hi_code,
                            target,
                        });
                        if entries > MAX_ENTRIES {
                            break;
                        }
                    }
                }
                _ => {}
            }
        }
        cmap.ranges.sort_by_key(|r| (r.len, r.lo));
        cmap.default_len = lengths
            .into_iter()
            .max_by_key(|&(len, count)| (count, len))
            .map_or(2, |(len, _)| len);
        cmap
    }

    /// Does this CMap map anything?
    pub(crate) fn is_empty(&self) -> bool {
        self.chars.is_empty() && self.ranges.is_empty()
    }

    /// The length of the code at the start of `bytes`.
    fn code_len(&self, bytes: &[u8]) -> usize {
        for (lo, hi) in &self.space {
            let n = lo.len();
            let Some(code) = bytes.get(..n) else {
                continue;
            };
            if code
                .iter()
                .zip(lo.iter().zip(hi))
                .all(|(b, (l, h))| l <= b && b <= h)
            {
                return n;
            }
        }
        if let Some(shortest) = self.space.iter().map(|(lo, _)| lo.len()).min() {
            return shortest;
        }
        self.default_len.max(1)
    }

    fn lookup(&self, len: usize, code: u32) -> Option<String> {
        if let Some(text) = self.chars.get(&(len, code)) {
            return Some(text.clone());
        }
        let end = self
            .ranges
            .partition_point(|r| (r.len, r.lo) <= (len, code));
        // Ranges may overlap: look at a few that start at or before the code.
        for range in self.ranges.get(end.saturating_sub(4)..end)?.iter().rev() {
            if range.len != len || code < range.lo || code > range.hi {
                continue;
            }
            let offset = code - range.lo;
            return match &range.target {
                Target::Base(units) => {
                    let mut units = units.clone();
                    if let Some(last) = units.last_mut() {
                        *last = last.wrapping_add((offset & 0xFFFF) as u16);
                    }
                    Some(String::from_utf16_lossy(&units))
                }
                Target::List(items) => usize::try_from(offset)
                    .ok()
                    .and_then(|i| items.get(i))
                    .cloned(),
            };
        }
        None
    }

    /// The text of a string shown with this CMap's font.
    pub(crate) fn decode(&self, bytes: &[u8]) -> String {
        let mut out = String::new();
        let mut pos = 0;
        while pos < bytes.len() {
            let len = self.code_len(bytes.get(pos..).unwrap_or_default());
            let end = (pos + len).min(bytes.len());
            let code = bytes.get(pos..end).and_then(code_value);
            match code.and_then(|code| self.lookup(end - pos, code)) {
                Some(text) => out.push_str(&text),
                None => {
                    if end - pos == 1
                        && let Some(&b) = bytes.get(pos)
                        && (0x20..0x7F).contains(&b)
                    {
                        out.push(char::from(b));
                    }
                }
            }
            pos = end.max(pos + 1);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const IDENTITY: &[u8] = b"/CIDInit /ProcSet findresource begin 12 dict begin begincmap
        /CMapName /Adobe-Identity-UCS def
        1 begincodespacerange <0000> <FFFF> endcodespacerange
        2 beginbfchar <0003> <0020> <0102> <500B4EBA> endbfchar
        2 beginbfrange <0010> <0019> <FF10> <0020> <0021> [<756A> <53F7>] endbfrange
        endcmap CMapName currentdict /CMap defineresource pop end end";

    #[test]
    fn identity_h_codes_map_to_text() {
        let cmap = CMap::parse(IDENTITY);
        assert!(!cmap.is_empty());
        let shown = [
            0x01, 0x02, 0x00, 0x20, 0x00, 0x21, 0x00, 0x03, 0x00, 0x11, 0x00, 0x12, 0x00, 0x19,
        ];
        assert_eq!(cmap.decode(&shown), "個人番号 １２９");
        // Unmapped codes and an odd byte at the end are dropped.
        assert_eq!(cmap.decode(&[0x77, 0x77, 0x00]), "");
    }

    #[test]
    fn one_byte_cmaps_and_garbage() {
        let cmap = CMap::parse(
            b"beginbfchar <41> <0042> endbfchar beginbfrange <30> <39> <0030> endbfrange",
        );
        assert_eq!(cmap.decode(b"A12x"), "B12x");
        let empty = CMap::parse(b"beginbfrange <FFFF> <0000> <0041> <00> <0000FF> <41> endbfrange");
        assert!(empty.is_empty());
        let _ =
            CMap::parse(b"beginbfchar beginbfrange <> <> [ endbfrange begincodespacerange <00>");
    }
}
