//! RTF: the text of the document, without control words, font tables and pictures.
//!
//! Japanese RTF writes text as `\'82\'50` byte escapes in the document code page
//! (`\ansicpg932`: Shift_JIS) or as `\u12354?` Unicode escapes; read as plain text, a
//! full-width number would be invisible. Paragraph, line and row ends become line ends,
//! cells and tabs become tabs. One linear pass; group nesting is only counted past a bound.

use encoding_rs::{Encoding, SHIFT_JIS, WINDOWS_1252};

use super::{Walk, push_text};
use crate::content::Location;

/// Does the file start like RTF?
pub(crate) fn looks_like_rtf(bytes: &[u8]) -> bool {
    bytes.starts_with(b"{\\rtf")
}

/// Extracts an RTF file.
pub(crate) fn extract(walk: &mut Walk<'_, '_>, location: &Location, bytes: &[u8]) {
    let cap = walk.text_cap();
    push_text(walk, location, to_text(bytes, cap));
}

/// Destinations whose content is not text a reader sees.
const SKIPPED: [&[u8]; 9] = [
    b"fonttbl",
    b"colortbl",
    b"stylesheet",
    b"pict",
    b"object",
    b"themedata",
    b"datastore",
    b"listtable",
    b"generator",
];

#[derive(Clone, Copy)]
struct Group {
    skip: bool,
    /// How many fallback characters follow a `\u` escape.
    uc: usize,
}

struct Out {
    text: String,
    /// Code-page bytes not yet decoded.
    pending: Vec<u8>,
    encoding: &'static Encoding,
}

impl Out {
    fn flush(&mut self) {
        if !self.pending.is_empty() {
            let (text, _, _) = self.encoding.decode(&self.pending);
            self.text.push_str(&text);
            self.pending.clear();
        }
    }

    fn push(&mut self, c: char) {
        self.flush();
        self.text.push(c);
    }
}

/// The text of an RTF document, at most about `cap` bytes.
pub(crate) fn to_text(bytes: &[u8], cap: usize) -> String {
    let mut out = Out {
        text: String::new(),
        pending: Vec::new(),
        encoding: WINDOWS_1252,
    };
    let mut stack: Vec<Group> = Vec::new();
    let mut overflow = 0usize;
    let mut group = Group { skip: false, uc: 1 };
    // Fallback bytes still to drop after a `\u` escape.
    let mut drop = 0usize;
    let mut pos = 0;
    while let Some(&b) = bytes.get(pos) {
        if out.text.len() + out.pending.len() > cap {
            break;
        }
        pos += 1;
        match b {
            b'{' => {
                if stack.len() < 256 {
                    stack.push(group);
                } else {
                    overflow += 1;
                }
                // `{\*\dest …}`: an optional destination, skipped.
                if bytes.get(pos..pos + 2) == Some(b"\\*") {
                    group.skip = true;
                }
            }
            b'}' => {
                if overflow > 0 {
                    overflow -= 1;
                } else if let Some(outer) = stack.pop() {
                    group = outer;
                }
                drop = 0;
            }
            b'\\' => {
                let Some(&next) = bytes.get(pos) else { break };
                if next == b'\'' {
                    let hex = bytes.get(pos + 1..pos + 3).unwrap_or_default();
                    pos += 1 + hex.len();
                    let value = std::str::from_utf8(hex)
                        .ok()
                        .and_then(|h| u8::from_str_radix(h, 16).ok());
                    if let Some(value) = value {
                        if drop > 0 {
                            drop -= 1;
                        } else if !group.skip {
                            out.pending.push(value);
                        }
                    }
                    continue;
                }
                if !next.is_ascii_alphabetic() {
                    // A control symbol: `\\`, `\{`, `\}`, `\~` (no-break space), `\-` …
                    pos += 1;
                    if group.skip {
                        continue;
                    }
                    match next {
                        b'\\' | b'{' | b'}' => out.pending.push(next),
                        b'~' => out.push(' '),
                        b'\n' | b'\r' => out.push('\n'),
                        _ => {}
                    }
                    continue;
                }
                let start = pos;
                while bytes.get(pos).is_some_and(u8::is_ascii_alphabetic) && pos - start < 32 {
                    pos += 1;
                }
                let word = bytes.get(start..pos).unwrap_or_default();
                let num_start = pos;
                if bytes.get(pos) == Some(&b'-') {
                    pos += 1;
                }
                while bytes.get(pos).is_some_and(u8::is_ascii_digit) && pos - num_start < 10 {
                    pos += 1;
                }
                let param = std::str::from_utf8(bytes.get(num_start..pos).unwrap_or_default())
                    .ok()
                    .and_then(|n| n.parse::<i64>().ok());
                if bytes.get(pos) == Some(&b' ') {
                    pos += 1;
                }
                match word {
                    b"ansicpg" => {
                        out.flush();
                        out.encoding = if param == Some(932) {
                            SHIFT_JIS
                        } else {
                            WINDOWS_1252
                        };
                    }
                    b"uc" => group.uc = param.and_then(|n| usize::try_from(n).ok()).unwrap_or(1),
                    b"u" if !group.skip => {
                        let unit = param.unwrap_or(0);
                        let unit = if unit < 0 { unit + 65536 } else { unit };
                        if let Some(c) = u32::try_from(unit).ok().and_then(char::from_u32) {
                            out.push(c);
                        }
                        drop = group.uc.min(8);
                    }
                    b"bin" => {
                        let skip = param.and_then(|n| usize::try_from(n).ok()).unwrap_or(0);
                        pos = pos.saturating_add(skip);
                    }
                    b"par" | b"line" | b"row" | b"sect" | b"page" if !group.skip => out.push('\n'),
                    b"cell" | b"tab" if !group.skip => out.push('\t'),
                    _ if SKIPPED.contains(&word) => group.skip = true,
                    _ => {}
                }
            }
            b'\r' | b'\n' => {}
            _ => {
                if drop > 0 {
                    drop -= 1;
                } else if !group.skip {
                    out.pending.push(b);
                }
            }
        }
    }
    out.flush();
    out.text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn japanese_rtf_is_decoded() {
        // 個人番号 in Shift_JIS escapes, full-width １２ as \u escapes with fallbacks.
        let rtf =
            b"{\\rtf1\\ansi\\ansicpg932\\deff0{\\fonttbl{\\f0\\fnil \\'82\\'6c\\'82\\'72 Mincho;}}\
            {\\*\\generator Riched20;}\\uc2\\pard \\'8c\\'c2\\'90\\'6c\\'94\\'d4\\'8d\\'86 \
            \\u65297\\'82\\'50\\u65298\\'82\\'51 3456\\par\
            {\\pict\\pngblip 89504e47}\\trowd a\\cell b\\cell\\row}";
        assert!(looks_like_rtf(rtf));
        assert_eq!(to_text(rtf, 1 << 20), "個人番号 １２ 3456\na\tb\t\n");
    }

    #[test]
    fn odd_rtf_ends() {
        for rtf in [
            &b"{\\rtf1 \\'"[..],
            b"{\\rtf1 \\u",
            b"{\\rtf1 \\bin999999999 x",
            b"}}}}{{{{\\",
            b"{\\rtf1 \\uc99999999999999999999 \\u-1 x}",
        ] {
            let _ = to_text(rtf, 1 << 20);
        }
        let deep = [b'{'; 10_000];
        let _ = to_text(&deep, 1 << 20);
    }
}
