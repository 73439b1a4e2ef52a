//! Text a PDF reader shows outside the page content: annotations (comments, sticky notes,
//! free text), form fields (values, defaults, choices, tooltips), bookmarks, and the
//! document information (title, subject, keywords, author). A field's value is often in
//! its appearance stream too, but not always (a reader draws it anew), and a comment's
//! text is only in its dictionary.

use super::Pdf;
use super::lexer::{Dict, Obj};

/// The keys whose string values a reader shows.
const SHOWN_KEYS: [&[u8]; 10] = [
    b"Contents",
    b"V",
    b"DV",
    b"TU",
    b"RC",
    b"Opt",
    b"Title",
    b"Subject",
    b"Keywords",
    b"Author",
];

/// How deep arrays of choices are followed.
const MAX_DEPTH: usize = 4;

/// The shown strings of every dictionary in `pdf`, one per line, up to `cap` bytes.
pub(super) fn strings(pdf: &Pdf, cap: usize) -> String {
    let mut text = String::new();
    for number in &pdf.order {
        let Some(dict) = pdf.objects.get(number).and_then(|o| o.value.as_dict()) else {
            continue;
        };
        collect(pdf, dict, &mut text, cap, 0);
        if text.len() >= cap {
            break;
        }
    }
    text
}

/// The shown strings of `dict` and of the dictionaries nested in it (an inline
/// annotation, a field's inline kids).
fn collect(pdf: &Pdf, dict: &Dict, text: &mut String, cap: usize, depth: usize) {
    if depth > MAX_DEPTH {
        return;
    }
    for (key, value) in dict {
        if SHOWN_KEYS.contains(&key.as_slice()) {
            // A page's `/Contents` is a stream, not a string: only strings are taken.
            strings_of(pdf, value, key == b"RC", text, cap, depth);
        } else if let Obj::Dict(inner) = value {
            collect(pdf, inner, text, cap, depth + 1);
        }
    }
}

fn strings_of(pdf: &Pdf, value: &Obj, rich: bool, text: &mut String, cap: usize, depth: usize) {
    if depth > MAX_DEPTH || text.len() >= cap {
        return;
    }
    match pdf.resolve(value) {
        Obj::Str(bytes) => {
            let decoded = text_string(bytes);
            let decoded = if rich {
                crate::extract::html_to_text(&decoded)
            } else {
                decoded
            };
            if !decoded.trim().is_empty() {
                text.push_str(&decoded);
                text.push('\n');
            }
        }
        Obj::Array(items) => {
            for item in items {
                strings_of(pdf, item, rich, text, cap, depth + 1);
            }
        }
        _ => {}
    }
}

/// A PDF text string: UTF-16BE or UTF-8 by their byte-order marks, else the best charset
/// reading (PDFDocEncoding is Latin-1 for what matters here, and Japanese writers put
/// Shift_JIS in strings as they are).
pub(super) fn text_string(bytes: &[u8]) -> String {
    if let Some(utf16) = bytes.strip_prefix(&[0xFE, 0xFF]) {
        let units: Vec<u16> = utf16
            .chunks_exact(2)
            .map(|pair| u16::from_be_bytes([pair[0], pair[1]]))
            .collect();
        return String::from_utf16_lossy(&units);
    }
    if let Some(utf8) = bytes.strip_prefix(&[0xEF, 0xBB, 0xBF]) {
        return String::from_utf8_lossy(utf8).into_owned();
    }
    crate::charset::readings(bytes, None)
        .into_iter()
        .next()
        .unwrap_or_default()
}
