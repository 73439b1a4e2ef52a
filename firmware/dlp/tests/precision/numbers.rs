//! Numbers as business mail carries them, each built to pass the checks a detector applies
//! by chance: every 12-digit number passes the My Number check digit, every 16-digit one is
//! Luhn-valid with a real issuer prefix. The check digits are the crate's own
//! ([`my_number::check_digit`], [`card::luhn_check_digit`]).

use mamori_dlp::detectors::{card, corporate_number, my_number};

use crate::rng::Rng;

/// ASCII digits of digit values.
pub fn text(digits: &[u8]) -> String {
    digits.iter().map(|d| char::from(b'0' + d)).collect()
}

/// Digit values of ASCII digits.
pub fn values(digits: &str) -> Vec<u8> {
    digits.bytes().map(|b| b - b'0').collect()
}

/// `prefix` followed by random digits up to `len` digits (the first digit of a number with
/// no prefix is not 0).
fn payload(rng: &mut Rng, prefix: &str, len: usize) -> Vec<u8> {
    let mut digits = values(prefix);
    while digits.len() < len {
        let d = rng.digit();
        digits.push(if digits.is_empty() && d == 0 { 1 } else { d });
    }
    digits
}

fn my_number_check(payload: &[u8]) -> u8 {
    let payload: &[u8; 11] = payload.try_into().expect("eleven digits");
    my_number::check_digit(payload)
}

/// A 12-digit number that passes the My Number check digit (as one in ten random numbers
/// does): `prefix` and random digits, completed with the check digit.
pub fn chance_my_number(rng: &mut Rng, prefix: &str) -> String {
    let mut digits = payload(rng, prefix, 11);
    digits.push(my_number_check(&digits));
    let number = text(&digits);
    assert!(my_number::is_valid(&number), "{number}");
    number
}

/// A 12-digit number whose My Number check digit is wrong.
pub fn invalid_my_number(rng: &mut Rng) -> String {
    let mut digits = payload(rng, "", 11);
    let wrong = (my_number_check(&digits) + 1 + rng.below(9) as u8) % 10;
    digits.push(wrong);
    let number = text(&digits);
    assert!(!my_number::is_valid(&number), "{number}");
    number
}

/// A parcel tracking number of ヤマト運輸, 佐川急便 or 日本郵便: eleven digits and a check
/// digit that is those eleven digits, read as one number, modulo 7 (the "7DR" check).
///
/// Sources for the rule: nanoappli.com/blog/archives/369 (ヤマト: 「残りの桁を7で割った剰余
/// (mod-7)」, e.g. 1234-5678-901 → 3); the README of github.com/TakamoriYamashiro/shipping-jp-js
/// (「ヤマト、佐川、日本郵政 : 7DR(最終桁以外を7で割った余り)」, with samples 444413758703,
/// 512547514334 and 405548424886, which all pass); tracker/jppost/package/tracking_number.py
/// of github.com/nayutaya/packtrack (日本郵便: `int(body_digits) % 7`).
///
/// Drawn again until the number also passes the My Number check digit, as one tracking
/// number in about ten does.
pub fn tracking_number(rng: &mut Rng, prefix: &str) -> String {
    loop {
        let digits = payload(rng, prefix, 11);
        let value = digits.iter().fold(0u64, |acc, &d| acc * 10 + u64::from(d));
        let seven = (value % 7) as u8;
        if seven == my_number_check(&digits) {
            let mut all = digits;
            all.push(seven);
            let number = text(&all);
            assert!(my_number::is_valid(&number) && is_7dr(&number), "{number}");
            return number;
        }
    }
}

/// Does a 12-digit tracking number pass the 7DR check?
pub fn is_7dr(number: &str) -> bool {
    let digits = values(number);
    let Some((&check, payload)) = digits.split_last() else {
        return false;
    };
    let value = payload.iter().fold(0u64, |acc, &d| acc * 10 + u64::from(d));
    number.len() == 12 && value % 7 == u64::from(check)
}

/// The UPC-A check digit of eleven digits: 3 × the digits in odd places (from the left) plus
/// the digits in even places, and the digit that brings the sum to a multiple of ten.
fn upc_check(payload: &[u8]) -> u8 {
    let sum: u32 = payload
        .iter()
        .enumerate()
        .map(|(i, &d)| u32::from(d) * if i % 2 == 0 { 3 } else { 1 })
        .sum();
    ((10 - sum % 10) % 10) as u8
}

/// A 12-digit UPC-A product code (an imported product's barcode) with its own check digit,
/// drawn again until it also passes the My Number check digit.
pub fn upc_a(rng: &mut Rng) -> String {
    loop {
        let mut digits = payload(rng, "0", 11);
        if let Some(second) = digits.get_mut(1) {
            *second = 1 + rng.below(8) as u8;
        }
        let check = upc_check(&digits);
        if check == my_number_check(&digits) {
            digits.push(check);
            return text(&digits);
        }
    }
}

/// A 13-digit JAN (EAN-13) code of a Japanese product (prefix 45 or 49) with its check
/// digit (weights 1 and 3 alternating from the left).
pub fn jan(rng: &mut Rng) -> String {
    let prefix = if rng.percent(50) { "49" } else { "45" };
    let mut digits = payload(rng, prefix, 12);
    let sum: u32 = digits
        .iter()
        .enumerate()
        .map(|(i, &d)| u32::from(d) * if i % 2 == 0 { 1 } else { 3 })
        .sum();
    digits.push(((10 - sum % 10) % 10) as u8);
    text(&digits)
}

/// A corporate number (法人番号, check digit first): the 13 digits of an invoice
/// registration number (適格請求書発行事業者の登録番号 T + 13 digits).
pub fn corporate(rng: &mut Rng) -> String {
    let digits = payload(rng, "", 12);
    let payload: [u8; 12] = digits.clone().try_into().expect("twelve digits");
    format!(
        "{}{}",
        corporate_number::check_digit(&payload),
        text(&digits)
    )
}

/// Issuer prefixes of real card brands (Visa, Mastercard 51–55 and 2221–2720, JCB
/// 3528–3589, Discover 6011 and 65, UnionPay 62).
const ISSUER_PREFIXES: [&str; 12] = [
    "4", "4", "4", "51", "53", "55", "2231", "3528", "3566", "6011", "65", "62",
];

/// A 16-digit reference number that happens to look like a card: a real issuer prefix,
/// random digits and a Luhn check digit.
pub fn card_like(rng: &mut Rng) -> String {
    let prefix = *rng.pick(&ISSUER_PREFIXES);
    let mut digits = payload(rng, prefix, 15);
    digits.push(card::luhn_check_digit(&digits));
    let number = text(&digits);
    assert!(card::is_valid(&number), "{number}");
    number
}

/// `number` in groups of `layout` joined by `sep`.
pub fn grouped(number: &str, layout: &[usize], sep: &str) -> String {
    let mut out = Vec::new();
    let mut at = 0;
    for len in layout {
        let end = (at + len).min(number.len());
        out.push(&number[at..end]);
        at = end;
    }
    if at < number.len() {
        out.push(&number[at..]);
    }
    out.join(sep)
}

/// ASCII digits and '-' to their full-width forms, as many Japanese writers type them.
pub fn full_width(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '0'..='9' => char::from_u32(c as u32 - u32::from(b'0') + 0xFF10).expect("digit"),
            '-' => '－',
            other => other,
        })
        .collect()
}

/// `n` random digits.
pub fn digits(rng: &mut Rng, n: usize) -> String {
    (0..n).map(|_| char::from(b'0' + rng.digit())).collect()
}

/// A fixed-line number in Tokyo, Osaka, Nagoya, Yokohama or Fukuoka.
pub fn landline(rng: &mut Rng) -> String {
    let (area, local) = *rng.pick(&[("03", 4), ("06", 4), ("052", 3), ("045", 3), ("092", 3)]);
    format!(
        "{area}-{}{}-{}",
        1 + rng.below(9),
        digits(rng, local - 1),
        digits(rng, 4)
    )
}

/// A mobile number.
pub fn mobile(rng: &mut Rng) -> String {
    format!(
        "{}-{}{}-{}",
        rng.pick(&["090", "080", "070"]),
        1 + rng.below(9),
        digits(rng, 3),
        digits(rng, 4)
    )
}

/// A toll-free number.
pub fn free_dial(rng: &mut Rng) -> String {
    format!("0120-{}-{}", digits(rng, 3), digits(rng, 3))
}

/// A postal code (〒 written by the caller).
pub fn postal(rng: &mut Rng) -> String {
    format!("{}{}-{}", 1 + rng.below(9), digits(rng, 2), digits(rng, 4))
}

/// A bank account number (7 digits).
pub fn account(rng: &mut Rng) -> String {
    format!("{}{}", 1 + rng.below(9), digits(rng, 6))
}

/// An amount with thousands separators (`1,234,567`).
pub fn yen(amount: u64) -> String {
    let plain = amount.to_string();
    let mut out = String::new();
    for (i, c) in plain.chars().enumerate() {
        if i > 0 && (plain.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A time of day in office hours as 14:30.
pub fn time(rng: &mut Rng) -> String {
    format!("{}:{:02}", rng.between(9, 18), 15 * rng.below(4))
}
