//! Turning bytes in the charsets of Japanese mail into text: ISO-2022-JP, Shift_JIS (CP932),
//! EUC-JP and UTF-8 (and whatever else `encoding_rs` knows by label).
//!
//! A declared charset is a claim, not a fact: mail is mislabelled by accident, and on
//! purpose to slip past filters. [`readings`] therefore returns every plausible reading of
//! the bytes: the declared one, and every Japanese charset that decodes the bytes without
//! error. Numbers written in ASCII digits read the same in all of them; full-width digits
//! do not, and each reading is scanned so that a mislabel hides nothing.

use encoding_rs::{EUC_JP, Encoding, ISO_2022_JP, SHIFT_JIS, UTF_8};

/// The charsets tried when the declared one is missing or does not fit.
const JAPANESE: [&Encoding; 4] = [UTF_8, ISO_2022_JP, SHIFT_JIS, EUC_JP];

/// The encoding for a MIME charset label, knowing the aliases Japanese mailers use that the
/// WHATWG list lacks (`cp932`, `iso-2022-jp-ms` …). `None` for unknown labels.
pub fn encoding_for_label(label: &str) -> Option<&'static Encoding> {
    let label = label.trim().trim_matches('"').trim();
    let lower = label.to_ascii_lowercase();
    match lower.as_str() {
        // Microsoft's Shift_JIS, which encoding_rs' Shift_JIS decoder already is.
        "cp932" | "ms932" | "windows-932" | "x-ms-cp932" | "shift_jisx0213" | "sjis-win"
        | "sjis-open" => Some(SHIFT_JIS),
        "iso-2022-jp-ms" | "iso-2022-jp-1" | "iso-2022-jp-2" | "iso-2022-jp-3"
        | "iso-2022-jp-2004" | "cp50220" | "cp50221" | "cp50222" => Some(ISO_2022_JP),
        "eucjp-ms" | "euc-jis-2004" | "eucjp-win" | "cp51932" | "euc-jp-ms" => Some(EUC_JP),
        "utf8" => Some(UTF_8),
        _ => Encoding::for_label(lower.as_bytes()),
    }
}

/// Decodes with one encoding; `None` if the bytes are not valid in it. (ISO-2022-JP escape
/// sequences in text labelled UTF-8 are valid UTF-8, so they are looked for separately.)
fn decode_strict(bytes: &[u8], encoding: &'static Encoding) -> Option<String> {
    encoding
        .decode_without_bom_handling_and_without_replacement(bytes)
        .map(|text| text.into_owned())
}

/// Does the text carry ISO-2022-JP escape sequences (`ESC $ B`, `ESC $ @`, `ESC ( J`)?
fn has_jis_escapes(bytes: &[u8]) -> bool {
    bytes.windows(3).any(|w| {
        matches!(
            w,
            [0x1B, b'$', b'B'] | [0x1B, b'$', b'@'] | [0x1B, b'(', b'J'] | [0x1B, b'(', b'I']
        )
    })
}

/// Every plausible reading of `bytes`, the declared charset's first. Pure ASCII (no escape
/// sequences) gives one reading. Never empty: when nothing decodes cleanly, the declared
/// charset (or UTF-8) decodes with replacement characters.
pub fn readings(bytes: &[u8], declared: Option<&str>) -> Vec<String> {
    let declared = declared.and_then(encoding_for_label);
    let eight_bit = bytes.iter().any(|&b| b >= 0x80);
    let ascii = || bytes.iter().map(|&b| char::from(b)).collect::<String>();
    if !eight_bit {
        // Seven bits: plain ASCII, or ISO-2022-JP whatever the label says (any other
        // reading would only show the escape sequences as text).
        if has_jis_escapes(bytes)
            && let Some(text) = decode_strict(bytes, ISO_2022_JP)
        {
            return vec![text];
        }
        return vec![ascii()];
    }
    let mut out: Vec<String> = Vec::new();
    let mut push = |text: String| {
        if !out.contains(&text) {
            out.push(text);
        }
    };
    if let Some(encoding) = declared
        && let Some(text) = decode_strict(bytes, encoding)
    {
        // Text declared UTF-8 (or nothing) that is valid UTF-8 and carries no escapes is
        // what it claims: other readings of valid UTF-8 are noise.
        let settled = encoding == UTF_8 && !has_jis_escapes(bytes);
        push(text);
        if settled {
            return out;
        }
    }
    if declared.is_none()
        && !has_jis_escapes(bytes)
        && let Some(text) = decode_strict(bytes, UTF_8)
    {
        push(text);
        return out;
    }
    for encoding in JAPANESE {
        if Some(encoding) == declared {
            continue;
        }
        // Seven-bit ISO-2022-JP cannot hold eight-bit bytes; do not try it on them.
        if encoding == ISO_2022_JP {
            continue;
        }
        if let Some(text) = decode_strict(bytes, encoding) {
            push(text);
        }
    }
    if out.is_empty() {
        let encoding = declared.unwrap_or(UTF_8);
        let (text, _, _) = encoding.decode(bytes);
        out.push(text.into_owned());
    }
    out
}

/// The single best reading (the first of [`readings`]), for names and headers where one
/// string is wanted.
pub fn decode(bytes: &[u8], declared: Option<&str>) -> String {
    readings(bytes, declared)
        .into_iter()
        .next()
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encode(text: &str, encoding: &'static Encoding) -> Vec<u8> {
        let (bytes, _, unmappable) = encoding.encode(text);
        assert!(!unmappable);
        bytes.into_owned()
    }

    const SAMPLE: &str = "個人番号：１２３４　５６７８　９０１８";

    #[test]
    fn each_japanese_charset_decodes_when_declared() {
        for (label, encoding) in [
            ("ISO-2022-JP", ISO_2022_JP),
            ("Shift_JIS", SHIFT_JIS),
            ("cp932", SHIFT_JIS),
            ("EUC-JP", EUC_JP),
            ("utf-8", UTF_8),
        ] {
            let bytes = encode(SAMPLE, encoding);
            let all = readings(&bytes, Some(label));
            assert_eq!(all[0], SAMPLE, "{label}");
        }
    }

    #[test]
    fn undeclared_charsets_are_sniffed() {
        for encoding in [ISO_2022_JP, SHIFT_JIS, EUC_JP, UTF_8] {
            let bytes = encode(SAMPLE, encoding);
            let all = readings(&bytes, None);
            assert!(
                all.iter().any(|t| t == SAMPLE),
                "{}: {all:?}",
                encoding.name()
            );
        }
    }

    #[test]
    fn a_wrong_label_does_not_hide_the_text() {
        // Shift_JIS bytes labelled EUC-JP, EUC-JP bytes labelled Shift_JIS, JIS labelled UTF-8.
        for (encoding, label) in [
            (SHIFT_JIS, "euc-jp"),
            (EUC_JP, "shift_jis"),
            (ISO_2022_JP, "utf-8"),
        ] {
            let bytes = encode(SAMPLE, encoding);
            let all = readings(&bytes, Some(label));
            assert!(all.iter().any(|t| t == SAMPLE), "{label}: {all:?}");
        }
    }

    #[test]
    fn seven_bit_jis_gives_one_reading_without_escapes() {
        let bytes = encode(SAMPLE, ISO_2022_JP);
        for label in [None, Some("iso-2022-jp"), Some("utf-8"), Some("us-ascii")] {
            assert_eq!(readings(&bytes, label), [SAMPLE], "{label:?}");
        }
    }

    #[test]
    fn ascii_and_valid_utf8_give_one_reading() {
        assert_eq!(readings(b"plain 123", Some("iso-2022-jp")), ["plain 123"]);
        assert_eq!(readings(SAMPLE.as_bytes(), None), [SAMPLE]);
        assert_eq!(readings(SAMPLE.as_bytes(), Some("UTF-8")), [SAMPLE]);
    }

    #[test]
    fn garbage_still_gives_a_reading() {
        let all = readings(&[b'1', 0xFF, 0xFF, b'1'], Some("utf-8"));
        assert_eq!(all.len(), 1);
        assert!(all[0].ends_with('1'), "{all:?}");
    }

    #[test]
    fn unknown_labels_are_none_and_aliases_are_known() {
        assert!(encoding_for_label("x-unknown").is_none());
        assert_eq!(encoding_for_label("\"CP932\""), Some(SHIFT_JIS));
        assert_eq!(encoding_for_label("ISO-2022-JP-2"), Some(ISO_2022_JP));
    }
}
