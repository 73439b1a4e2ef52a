//! Helpers shared by the integration tests: valid numbers computed with the crate's own
//! check-digit functions, full-width conversion, and scanning for one detector.

#![allow(dead_code)]

use mamori_dlp::detectors::{card, corporate_number, my_number};
use mamori_dlp::{DetectorKind, Finding, ScanConfig, Scanner};

/// Digit values of an ASCII digit string.
pub fn values(digits: &str) -> Vec<u8> {
    digits.bytes().map(|b| b - b'0').collect()
}

/// Eleven digits completed into a valid My Number.
pub fn my_number(payload: &str) -> String {
    let payload: [u8; 11] = values(payload).try_into().expect("eleven digits");
    format!(
        "{}{}",
        digits_string(&payload),
        my_number::check_digit(&payload)
    )
}

/// Twelve digits completed into a valid corporate number (check digit in front).
pub fn corporate_number(payload: &str) -> String {
    let payload: [u8; 12] = values(payload).try_into().expect("twelve digits");
    format!(
        "{}{}",
        corporate_number::check_digit(&payload),
        digits_string(&payload)
    )
}

/// Digits completed with a Luhn check digit.
pub fn luhn(payload: &str) -> String {
    format!("{payload}{}", card::luhn_check_digit(&values(payload)))
}

/// The same number with its check digit (at `index`) replaced by the next digit.
pub fn flip_digit(number: &str, index: usize) -> String {
    let mut bytes = number.as_bytes().to_vec();
    bytes[index] = b'0' + (bytes[index] - b'0' + 1) % 10;
    String::from_utf8(bytes).expect("ASCII digits")
}

fn digits_string(digits: &[u8]) -> String {
    digits.iter().map(|d| char::from(b'0' + d)).collect()
}

/// Digits and ASCII letters to full width, '-' to '－', ' ' to the ideographic space.
pub fn full_width(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '0'..='9' | 'A'..='Z' | 'a'..='z' => {
                char::from_u32(c as u32 - 0x21 + 0xFF01).expect("full-width form")
            }
            '-' => '－',
            ' ' => '\u{3000}',
            other => other,
        })
        .collect()
}

/// Splits `digits` into groups of the given lengths (the last takes the rest).
pub fn grouped(digits: &str, layout: &[usize], sep: &str) -> String {
    let mut out = Vec::new();
    let mut at = 0;
    for (i, len) in layout.iter().enumerate() {
        let end = if i + 1 == layout.len() {
            digits.len()
        } else {
            (at + len).min(digits.len())
        };
        out.push(&digits[at..end]);
        at = end;
    }
    out.join(sep)
}

/// A scanner with the default configuration.
pub fn scanner() -> Scanner {
    Scanner::new(&ScanConfig::default()).expect("default config compiles")
}

/// The findings of one detector in `text`.
pub fn found(text: &str, kind: DetectorKind) -> Vec<Finding> {
    scanner()
        .scan(text)
        .into_iter()
        .filter(|f| f.detector == kind)
        .collect()
}

/// The ASCII digits of the normalised text under each finding of `kind`.
pub fn found_digits(text: &str, kind: DetectorKind) -> Vec<String> {
    let normalized = mamori_dlp::normalize(text);
    scanner()
        .scan_normalized(&normalized)
        .into_iter()
        .filter(|f| f.detector == kind)
        .map(|f| {
            normalized.as_str()[f.span]
                .chars()
                .filter(char::is_ascii_digit)
                .collect()
        })
        .collect()
}
