//! Corporate number (法人番号): thirteen digits, the FIRST a check digit.
//!
//! The check digit (法人番号の指定等に関する省令 第二条): with `P_n` the n-th of the last
//! twelve digits counted from the right and `Q_n` = 1 for odd n, 2 for even n, the check
//! digit is `9 − (Σ P_n·Q_n mod 9)` (so it is never 0).
//!
//! Written forms accepted: `1234567890123`, `1-2345-6789-0123` and `1234-5678-9012-3` (with
//! hyphens or spaces), and these wrapped across lines at a group boundary.

use crate::digits::Window;

/// The number of digits of a corporate number.
pub const LEN: usize = 13;
// The scanner offers no window shorter than this.
const _: () = assert!(LEN >= crate::digits::MIN_WINDOW_DIGITS);

/// Canonical groupings; written splits must fall on the boundaries of one of them.
const LAYOUTS: [[usize; 4]; 2] = [[1, 4, 4, 4], [4, 4, 4, 1]];

/// The check digit for the last twelve digits (values 0..=9, most significant first).
pub fn check_digit(payload: &[u8; LEN - 1]) -> u8 {
    let sum: u32 = payload
        .iter()
        .rev()
        .zip(1u32..)
        .map(|(&p, n)| u32::from(p) * if n % 2 == 1 { 1 } else { 2 })
        .sum();
    // 9 − (Σ mod 9) lies in 1..=9, so the narrowing is exact.
    (9 - sum % 9) as u8
}

/// Are `digits` (values 0..=9) thirteen digits whose first is the check digit of the rest?
pub fn is_valid_digits(digits: &[u8]) -> bool {
    let Ok(all) = <&[u8; LEN]>::try_from(digits) else {
        return false;
    };
    let (check, payload) = all.split_at(1);
    let Ok(payload) = <&[u8; LEN - 1]>::try_from(payload) else {
        return false;
    };
    check == [check_digit(payload)]
}

/// Is `number` exactly thirteen ASCII digits with a valid leading check digit?
pub fn is_valid(number: &str) -> bool {
    crate::digits::ascii_number_is_valid(number, LEN, is_valid_digits)
}

/// Does the window hold a corporate number written in an accepted form?
pub(crate) fn matches(window: &Window<'_>) -> bool {
    window.is_fixed_length_number(LEN, &[&LAYOUTS[0], &LAYOUTS[1]], is_valid_digits)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_digit_follows_the_published_formula() {
        // Payload 234567890123, from the right: P1=3,P2=2,P3=1,P4=0,P5=9,P6=8,P7=7,P8=6,
        // P9=5,P10=4,P11=3,P12=2; odd positions ×1, even ×2:
        // 3+4+1+0+9+16+7+12+5+8+3+4 = 72; 72 mod 9 = 0; check = 9.
        let payload = [2, 3, 4, 5, 6, 7, 8, 9, 0, 1, 2, 3];
        assert_eq!(check_digit(&payload), 9);
        assert!(is_valid("9234567890123"));
        // The National Tax Agency's own corporate number (国税庁 7000012050002):
        // Σ = 2 + 5 + 2 (odd) + 2·1 (even) = 11; 11 mod 9 = 2; check = 7.
        assert!(is_valid("7000012050002"));
    }

    #[test]
    fn check_digit_is_never_zero() {
        for n in 0..2000u64 {
            let s = format!("{:012}", n * 104_729);
            let payload: [u8; 12] = s
                .bytes()
                .map(|b| b - b'0')
                .collect::<Vec<_>>()
                .try_into()
                .unwrap();
            assert!((1..=9).contains(&check_digit(&payload)));
        }
    }

    #[test]
    fn every_wrong_check_digit_is_invalid() {
        for wrong in 0..10u8 {
            let candidate = format!("{wrong}234567890123");
            assert_eq!(is_valid(&candidate), wrong == 9, "{candidate}");
        }
    }

    #[test]
    fn rejects_wrong_lengths_and_non_digits() {
        assert!(!is_valid("923456789012"));
        assert!(!is_valid("92345678901234"));
        assert!(!is_valid("92345678901a3"));
        assert!(!is_valid_digits(&[]));
    }
}
