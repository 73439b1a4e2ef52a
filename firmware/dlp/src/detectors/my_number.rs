//! My Number (個人番号): twelve digits, the last a check digit.
//!
//! The check digit (番号法施行令 第八条): with `P_n` the n-th of the first eleven digits
//! counted from the right (n = 1..=11) and `Q_n = n + 1` for n ≤ 6, `n − 5` for n ≥ 7,
//! `r = Σ P_n·Q_n mod 11`; the check digit is 0 if r ≤ 1, else 11 − r.
//!
//! Written forms accepted: `123456789012`, `1234 5678 9012`, `1234-5678-9012`, any of
//! these wrapped across lines at a group boundary (`1234\n5678\n9012`, `1234 5678\n9012`),
//! and a digit at a time with spaces between (`1 2 3 4 5 6 7 8 9 0 1 2`).
//! Full-width digits and dashes are handled by normalisation before this runs.

use crate::digits::Window;

/// The number of digits of a My Number.
pub const LEN: usize = 12;
// The scanner offers no window shorter than this.
const _: () = assert!(LEN >= crate::digits::MIN_WINDOW_DIGITS);

/// The canonical grouping (4-4-4); written splits must fall on its boundaries.
const LAYOUT: [usize; 3] = [4, 4, 4];

/// The check digit for the first eleven digits (values 0..=9, most significant first).
pub fn check_digit(payload: &[u8; LEN - 1]) -> u8 {
    let sum: u32 = payload
        .iter()
        .rev()
        .zip(1u32..)
        .map(|(&p, n)| u32::from(p) * if n <= 6 { n + 1 } else { n - 5 })
        .sum();
    let r = sum % 11;
    // 11 − r ≤ 9 once r ≥ 2, so the narrowing is exact.
    if r <= 1 { 0 } else { (11 - r) as u8 }
}

/// Are `digits` (values 0..=9) twelve digits with a valid check digit? An all-zero payload
/// (`000000000000`, the usual placeholder on forms) is not taken for a number.
pub fn is_valid_digits(digits: &[u8]) -> bool {
    let Ok(all) = <&[u8; LEN]>::try_from(digits) else {
        return false;
    };
    let (payload, check) = all.split_at(LEN - 1);
    let Ok(payload) = <&[u8; LEN - 1]>::try_from(payload) else {
        return false;
    };
    payload.iter().any(|&d| d != 0) && check == [check_digit(payload)]
}

/// Is `number` exactly twelve ASCII digits with a valid check digit?
pub fn is_valid(number: &str) -> bool {
    crate::digits::ascii_number_is_valid(number, LEN, is_valid_digits)
}

/// Does the window hold a My Number written in an accepted form? (The scanner asks for
/// [`candidate`]; this is for the reference scan of the tests.)
#[cfg(test)]
pub(crate) fn matches(window: &Window<'_>) -> bool {
    candidate(window) == Some(true)
}

/// Is the window shaped like a My Number (twelve digits standing alone, grouped 4-4-4 if
/// at all)? `Some(valid)` with whether its check digit holds, `None` when the shape is
/// wrong. The candidates that fail count as much as those that pass: among random numbers,
/// one in ten passes ([`crate::evidence`]).
pub(crate) fn candidate(window: &Window<'_>) -> Option<bool> {
    (window.has_fixed_length_shape(LEN, &[&LAYOUT]) || window.is_spaced_digits(LEN))
        .then(|| is_valid_digits(window.digits))
}

/// Does a twelve-digit number also pass the check of a Japanese parcel carrier's tracking
/// number: the last digit is the first eleven, read as one number, modulo 7? Yamato
/// Transport's and Sagawa Express's 12-digit slips and Japan Post's 11+1-digit tracking
/// numbers carry this check digit, so a number passing both checks is more likely a parcel
/// than a person.
pub fn passes_carrier_check(digits: &[u8]) -> bool {
    let Ok(all) = <&[u8; LEN]>::try_from(digits) else {
        return false;
    };
    let (payload, check) = all.split_at(LEN - 1);
    let value = payload.iter().fold(0u64, |acc, &d| acc * 10 + u64::from(d));
    check.first().is_some_and(|&c| u64::from(c) == value % 7)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Completes eleven digits into a valid number.
    fn complete(payload: &str) -> String {
        let digits: Vec<u8> = payload.bytes().map(|b| b - b'0').collect();
        let payload: [u8; 11] = digits.try_into().unwrap();
        format!(
            "{}{}",
            payload.iter().map(|d| d.to_string()).collect::<String>(),
            check_digit(&payload)
        )
    }

    #[test]
    fn check_digit_follows_the_published_formula() {
        // Worked by hand: payload 12345678901.
        // From the right: P1=1,P2=0,P3=9,P4=8,P5=7,P6=6,P7=5,P8=4,P9=3,P10=2,P11=1
        // Q:             2    3    4    5    6    7    2    3    4    5     6
        // Σ = 2+0+36+40+42+42+10+12+12+10+6 = 212; 212 mod 11 = 3; check = 8.
        assert_eq!(complete("12345678901"), "123456789018");
        assert!(is_valid("123456789018"));
        assert!(!is_valid("123456789011"));
    }

    #[test]
    fn remainder_zero_and_one_give_zero() {
        // Σ ≡ 0 and ≡ 1 (mod 11) both give check digit 0.
        let mut seen = [false; 2];
        for n in 0..5000u64 {
            let s = format!("{:011}", n * 7919 + 1);
            let payload: [u8; 11] = s
                .bytes()
                .map(|b| b - b'0')
                .collect::<Vec<_>>()
                .try_into()
                .unwrap();
            let sum: u32 = payload
                .iter()
                .rev()
                .zip(1u32..)
                .map(|(&p, n)| u32::from(p) * if n <= 6 { n + 1 } else { n - 5 })
                .sum();
            if sum % 11 <= 1 {
                seen[(sum % 11) as usize] = true;
                assert_eq!(check_digit(&payload), 0);
            } else {
                assert_eq!(u32::from(check_digit(&payload)), 11 - sum % 11);
            }
        }
        assert_eq!(seen, [true, true]);
    }

    #[test]
    fn every_wrong_check_digit_is_invalid() {
        let valid = complete("98765432109");
        for wrong in 0..10u8 {
            let candidate = format!("{}{}", &valid[..11], wrong);
            assert_eq!(is_valid(&candidate), candidate == valid, "{candidate}");
        }
    }

    #[test]
    fn the_carrier_check_is_the_payload_modulo_seven() {
        let payload: u64 = 12345678901;
        let check = (payload % 7) as u8;
        let mut digits: Vec<u8> = payload.to_string().bytes().map(|b| b - b'0').collect();
        digits.push(check);
        assert!(passes_carrier_check(&digits));
        digits[11] = (check + 1) % 10;
        assert!(!passes_carrier_check(&digits));
        assert!(!passes_carrier_check(&[1; 11]));
    }

    #[test]
    fn rejects_wrong_lengths_non_digits_and_the_zero_placeholder() {
        assert!(!is_valid(""));
        assert!(!is_valid("12345678901"));
        assert!(!is_valid("1234567890188"));
        assert!(!is_valid("12345678901a"));
        assert!(!is_valid("000000000000"));
        assert!(!is_valid_digits(&[1; 13]));
    }
}
