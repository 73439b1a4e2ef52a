//! Header text to readable text: RFC 2047 encoded words in any charset (B and Q, adjacent
//! words joined, a character split across words put back together) and raw 8-bit or
//! ISO-2022-JP bytes, each piece read through [`crate::charset::readings`].
//!
//! Decoding is as lenient as mail clients are: encoded words are decoded wherever they
//! appear, also inside quoted strings and parameter values.

use std::sync::LazyLock;

use regex::bytes::Regex;

use crate::charset;

use super::transfer;

/// `=?charset[*lang]?B|Q?text?=`; linear-time matching (the regex crate never backtracks).
static ENCODED_WORD: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new(r"(?-u)=\?([^?\s]{1,64})\?([bBqQ])\?([^?\s]*)\?=").ok());

/// The charset label to decode with: `None` (sniff) for labels nobody knows and for
/// US-ASCII, which cannot hold the 8-bit bytes that make a reading matter.
pub(super) fn usable_label(label: Option<&str>) -> Option<&str> {
    let label = label?.trim().trim_matches('"').trim();
    let lower = label.to_ascii_lowercase();
    if matches!(
        lower.as_str(),
        "us-ascii" | "ascii" | "us" | "ansi_x3.4-1968" | "iso646-us" | "default"
    ) {
        return None;
    }
    (charset::encoding_for_label(label).is_some() || charset::is_utf7_label(label)).then_some(label)
}

/// A run of header bytes in one charset.
struct Piece {
    /// The declared charset (`None` for raw text).
    charset: Option<String>,
    bytes: Vec<u8>,
    /// Was this an encoded word (so whitespace up to the next one is dropped)?
    encoded: bool,
}

/// Q encoding: `_` is a space, `=XX` a byte.
fn q_decode(text: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len());
    let mut i = 0;
    while let Some(&b) = text.get(i) {
        match b {
            b'_' => out.push(b' '),
            b'=' => {
                if let Some(v) = transfer::hex_escape(text, i) {
                    out.push(v);
                    i += 3;
                    continue;
                }
                out.push(b);
            }
            _ => out.push(b),
        }
        i += 1;
    }
    out
}

/// Splits a header value into raw and encoded pieces, joining adjacent encoded words of
/// one charset (their bytes are concatenated before decoding, so a multibyte character or
/// an ISO-2022-JP escape state split across words survives).
fn pieces(raw: &[u8]) -> Vec<Piece> {
    let mut pieces: Vec<Piece> = Vec::new();
    let mut last = 0;
    if let Some(re) = ENCODED_WORD.as_ref() {
        for caps in re.captures_iter(raw) {
            let (Some(all), Some(cs), Some(enc), Some(text)) =
                (caps.get(0), caps.get(1), caps.get(2), caps.get(3))
            else {
                continue;
            };
            let gap = raw.get(last..all.start()).unwrap_or_default();
            last = all.end();
            let after_word = pieces.last().is_some_and(|p| p.encoded);
            let joined = after_word && gap.iter().all(u8::is_ascii_whitespace);
            if !joined && !gap.is_empty() {
                pieces.push(Piece {
                    charset: None,
                    bytes: gap.to_vec(),
                    encoded: false,
                });
            }
            let label = String::from_utf8_lossy(cs.as_bytes());
            let label = label.split('*').next().unwrap_or_default().to_string();
            let bytes = if enc.as_bytes().eq_ignore_ascii_case(b"b") {
                transfer::base64(text.as_bytes())
            } else {
                q_decode(text.as_bytes())
            };
            match pieces.last_mut() {
                Some(prev)
                    if joined
                        && prev
                            .charset
                            .as_deref()
                            .is_some_and(|c| c.eq_ignore_ascii_case(&label)) =>
                {
                    prev.bytes.extend_from_slice(&bytes);
                }
                _ => pieces.push(Piece {
                    charset: Some(label),
                    bytes,
                    encoded: true,
                }),
            }
        }
    }
    let tail = raw.get(last..).unwrap_or_default();
    if !tail.is_empty() {
        pieces.push(Piece {
            charset: None,
            bytes: tail.to_vec(),
            encoded: false,
        });
    }
    pieces
}

/// Every reading of a header value (or parameter value), the best first, trimmed and
/// de-duplicated. Each piece is read through [`charset::readings`]; reading `i` takes each
/// piece's `i`-th reading (or its last), so every alternative of every piece is seen
/// without multiplying readings.
pub(super) fn decode_text(raw: &[u8]) -> Vec<String> {
    let readings: Vec<Vec<String>> = pieces(raw)
        .iter()
        .map(|piece| charset::readings(&piece.bytes, usable_label(piece.charset.as_deref())))
        .collect();
    let count = readings.iter().map(Vec::len).max().unwrap_or(0);
    let mut out: Vec<String> = Vec::new();
    for i in 0..count {
        let mut text = String::new();
        for piece in &readings {
            if let Some(reading) = piece.get(i).or_else(|| piece.last()) {
                text.push_str(reading);
            }
        }
        let text = text.trim().to_string();
        if !out.contains(&text) {
            out.push(text);
        }
    }
    if out.is_empty() {
        out.push(String::new());
    }
    without_raw_escapes(out)
}

/// Leaves out readings that still hold ISO-2022-JP escape sequences (the ASCII reading of
/// JIS bytes) when another reading exists: they only repeat the ASCII of the clean one.
pub(super) fn without_raw_escapes(readings: Vec<String>) -> Vec<String> {
    if readings.len() < 2 || readings.iter().all(|r| r.contains('\u{1b}')) {
        return readings;
    }
    readings
        .into_iter()
        .filter(|r| !r.contains('\u{1b}'))
        .collect()
}

/// The best reading of a header or parameter value.
pub(super) fn decode_best(raw: &[u8]) -> String {
    decode_text(raw).into_iter().next().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine as _;
    use encoding_rs::{EUC_JP, Encoding, ISO_2022_JP, SHIFT_JIS, UTF_8};

    fn b64(bytes: &[u8]) -> String {
        base64::engine::general_purpose::STANDARD.encode(bytes)
    }

    fn enc(text: &str, encoding: &'static Encoding) -> Vec<u8> {
        encoding.encode(text).0.into_owned()
    }

    fn q(bytes: &[u8]) -> String {
        bytes
            .iter()
            .map(|&b| match b {
                b' ' => "_".to_string(),
                b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' => char::from(b).to_string(),
                _ => format!("={b:02X}"),
            })
            .collect()
    }

    const SUBJECT: &str = "社員名簿 個人番号の件";

    #[test]
    fn encoded_words_in_each_charset_b_and_q() {
        for (label, encoding) in [
            ("ISO-2022-JP", ISO_2022_JP),
            ("Shift_JIS", SHIFT_JIS),
            ("EUC-JP", EUC_JP),
            ("UTF-8", UTF_8),
        ] {
            let bytes = enc(SUBJECT, encoding);
            let b = format!("Re: =?{label}?B?{}?=", b64(&bytes));
            assert_eq!(
                decode_best(b.as_bytes()),
                format!("Re: {SUBJECT}"),
                "{label}"
            );
            let q = format!("=?{}?q?{}?= end", label.to_lowercase(), q(&bytes));
            assert_eq!(
                decode_best(q.as_bytes()),
                format!("{SUBJECT} end"),
                "{label}"
            );
        }
    }

    #[test]
    fn adjacent_words_are_joined_even_mid_character() {
        // Split the UTF-8 bytes in the middle of a character, and ISO-2022-JP bytes after
        // the escape sequence, across words and folded lines.
        for (label, encoding) in [("utf-8", UTF_8), ("iso-2022-jp", ISO_2022_JP)] {
            let bytes = enc(SUBJECT, encoding);
            let (a, b) = bytes.split_at(4);
            let value = format!("=?{label}?B?{}?=\r\n =?{label}?Q?{}?=", b64(a), q(b));
            let value = value.replace("\r\n", "");
            assert_eq!(decode_best(value.as_bytes()), SUBJECT, "{label}");
        }
        // Words of different charsets side by side, and text between words kept.
        let value = format!(
            "=?utf-8?B?{}?= =?shift_jis?B?{}?= and =?euc-jp*ja?B?{}?=",
            b64("社員".as_bytes()),
            b64(&enc("名簿", SHIFT_JIS)),
            b64(&enc("です", EUC_JP)),
        );
        assert_eq!(decode_best(value.as_bytes()), "社員名簿 and です");
    }

    #[test]
    fn raw_eight_bit_and_jis_headers_are_read() {
        for encoding in [SHIFT_JIS, EUC_JP, UTF_8, ISO_2022_JP] {
            let bytes = enc(SUBJECT, encoding);
            let all = decode_text(&bytes);
            assert!(all.iter().any(|t| t == SUBJECT), "{}", encoding.name());
        }
    }

    #[test]
    fn broken_words_stay_text_and_unknown_charsets_are_sniffed() {
        assert_eq!(decode_best(b"=?utf-8?B?no end"), "=?utf-8?B?no end");
        assert_eq!(decode_best(b"=?utf-8?X?abc?="), "=?utf-8?X?abc?=");
        assert_eq!(decode_best(b""), "");
        let value = format!("=?x-unknown?B?{}?=", b64(&enc(SUBJECT, SHIFT_JIS)));
        assert!(decode_text(value.as_bytes()).iter().any(|t| t == SUBJECT));
        // A mislabelled word still gives the right reading among the others.
        let value = format!("=?shift_jis?B?{}?=", b64(&enc(SUBJECT, EUC_JP)));
        assert!(decode_text(value.as_bytes()).iter().any(|t| t == SUBJECT));
    }
}
