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
    memchr::memchr_iter(0x1B, bytes).any(|at| {
        matches!(
            bytes.get(at..at + 3),
            Some([0x1B, b'$', b'B'] | [0x1B, b'$', b'@'] | [0x1B, b'(', b'J'] | [0x1B, b'(', b'I'])
        )
    })
}

/// Every plausible reading of `bytes`, the declared charset's first. Pure ASCII (no escape
/// sequences) gives one reading. Never empty: when nothing decodes cleanly, the declared
/// charset (or UTF-8) decodes with replacement characters.
pub fn readings(bytes: &[u8], declared: Option<&str>) -> Vec<String> {
    if declared.is_some_and(is_utf7_label) {
        // UTF-7 (RFC 2152), which some mail programs still write and read: ASCII bytes
        // that say anything. Its reading first; the bytes as they are second.
        let mut out = vec![utf7(bytes)];
        out.extend(readings(bytes, None));
        out.dedup();
        return out;
    }
    let declared = declared.and_then(encoding_for_label);
    let eight_bit = !bytes.is_ascii();
    // ASCII is UTF-8: one validation and one copy.
    let ascii = || {
        std::str::from_utf8(bytes).map_or_else(
            |_| String::from_utf8_lossy(bytes).into_owned(),
            str::to_owned,
        )
    };
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
        // Nothing decodes cleanly (a stray byte, a binary header glued in front): every
        // charset that decodes it with few replacements is a reading, the declared one (or
        // UTF-8) always.
        let encoding = declared.unwrap_or(UTF_8);
        let (text, _) = encoding.decode_without_bom_handling(bytes);
        out.push(text.into_owned());
        let tolerated = (bytes.len() / 50).max(8);
        for other in [SHIFT_JIS, EUC_JP, UTF_8] {
            if other == encoding {
                continue;
            }
            let (text, _) = other.decode_without_bom_handling(bytes);
            if text.chars().filter(|&c| c == '\u{FFFD}').count() <= tolerated {
                let text = text.into_owned();
                if !out.contains(&text) {
                    out.push(text);
                }
            }
        }
    }
    out
}

/// Is `label` a name of UTF-7 (which `encoding_rs`, following the WHATWG list, does not
/// know)?
pub fn is_utf7_label(label: &str) -> bool {
    let label = label.trim().trim_matches('"').trim().to_ascii_lowercase();
    matches!(
        label.as_str(),
        "utf-7" | "utf7" | "unicode-1-1-utf-7" | "x-unicode-2-0-utf-7"
    )
}

/// Decodes UTF-7 (RFC 2152): `+` starts base64 of UTF-16BE up to the first byte outside the
/// base64 alphabet (a `-` there is absorbed); `+-` is a `+`; everything else stands for
/// itself. Malformed input decodes as far as it goes.
pub fn utf7(bytes: &[u8]) -> String {
    let value = |b: u8| -> Option<u32> {
        Some(u32::from(match b {
            b'A'..=b'Z' => b - b'A',
            b'a'..=b'z' => b - b'a' + 26,
            b'0'..=b'9' => b - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        }))
    };
    let mut units: Vec<u16> = Vec::new();
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        i += 1;
        if b != b'+' {
            units.push(u16::from(b));
            continue;
        }
        if bytes.get(i) == Some(&b'-') {
            units.push(u16::from(b'+'));
            i += 1;
            continue;
        }
        let (mut acc, mut bits) = (0u32, 0u32);
        while let Some(v) = bytes.get(i).copied().and_then(value) {
            i += 1;
            acc = (acc << 6) | v;
            bits += 6;
            if bits >= 16 {
                bits -= 16;
                units.push(((acc >> bits) & 0xFFFF) as u16);
            }
            acc &= (1 << bits) - 1;
        }
        if bytes.get(i) == Some(&b'-') {
            i += 1;
        }
    }
    String::from_utf16_lossy(&units)
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
    fn utf7_is_read() {
        // "個人番号 1234" with the digits encoded too, as a mailer hiding them would.
        let utf7_text = "+UAtOunVqU/c- +ADEAMgAzADQ-";
        assert_eq!(utf7(utf7_text.as_bytes()), "個人番号 1234");
        assert_eq!(utf7(b"a+-b"), "a+b");
        let all = readings(utf7_text.as_bytes(), Some("UTF-7"));
        assert_eq!(all[0], "個人番号 1234");
        assert_eq!(all[1], utf7_text);
    }

    #[test]
    fn a_text_with_a_stray_byte_is_read_in_its_charset() {
        let mut bytes = vec![0xFF, 0xD8, 0xFF, 0xE0, b'\n'];
        bytes.extend(encode("社員番号,個人番号\n1001,123456789018\n", SHIFT_JIS));
        let all = readings(&bytes, None);
        assert!(
            all.iter().any(|t| t.contains("社員番号,個人番号")),
            "{all:?}"
        );
    }

    #[test]
    fn garbage_still_gives_a_reading() {
        let all = readings(&[b'1', 0xFF, 0xFF, b'1'], Some("utf-8"));
        assert!(!all.is_empty());
        assert!(all[0].ends_with('1'), "{all:?}");
    }

    #[test]
    fn unknown_labels_are_none_and_aliases_are_known() {
        assert!(encoding_for_label("x-unknown").is_none());
        assert_eq!(encoding_for_label("\"CP932\""), Some(SHIFT_JIS));
        assert_eq!(encoding_for_label("ISO-2022-JP-2"), Some(ISO_2022_JP));
    }
}
