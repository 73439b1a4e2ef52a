//! Payment card numbers: 13 to 19 digits, Luhn-valid, with a known issuer prefix and a length
//! that issuer uses.
//!
//! Written forms accepted: unseparated; groups of four with a shorter last group
//! (`4111 1111 1111 1111`, `4111-1111-1111-1`, `6212 3456 7890 1234 567`); American Express
//! 4-6-5 (`3782 822463 10005`) and Diners 4-6-4; with hyphens or spaces, and wrapped across
//! lines at a group boundary.

use serde::{Deserialize, Serialize};

use crate::digits::Window;

/// The fewest digits of a card number.
pub const MIN_LEN: usize = 13;
// The scanner offers no window shorter than this.
const _: () = assert!(MIN_LEN >= crate::digits::MIN_WINDOW_DIGITS);
/// The most digits of a card number.
pub const MAX_LEN: usize = 19;

/// Canonical groupings; written splits must fall on the boundaries of one of them.
const LAYOUTS: [&[usize]; 3] = [&[4, 4, 4, 4, 3], &[4, 6, 5], &[4, 6, 4]];

/// A card brand recognised by its number's prefix.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Issuer {
    /// Visa: 4; 13, 16 or 19 digits.
    Visa,
    /// Mastercard: 51–55 and 2221–2720; 16 digits.
    Mastercard,
    /// American Express: 34, 37; 15 digits.
    Amex,
    /// JCB: 3528–3589; 16–19 digits.
    Jcb,
    /// Diners Club: 300–305, 36, 38, 39; 14–19 digits.
    Diners,
    /// Discover: 6011, 644–649, 65; 16–19 digits.
    Discover,
    /// UnionPay: 62; 16–19 digits.
    UnionPay,
}

/// The value of the first `n` digits (0 if there are fewer).
fn prefix(digits: &[u8], n: usize) -> u32 {
    digits.get(..n).map_or(0, |head| {
        head.iter().fold(0, |acc, &d| acc * 10 + u32::from(d))
    })
}

/// The issuer whose prefix and length `digits` (values 0..=9) match, if any.
pub fn issuer(digits: &[u8]) -> Option<Issuer> {
    let len = digits.len();
    let (p1, p2, p3, p4) = (
        prefix(digits, 1),
        prefix(digits, 2),
        prefix(digits, 3),
        prefix(digits, 4),
    );
    let issuer = if p1 == 4 {
        Issuer::Visa
    } else if (51..=55).contains(&p2) || (2221..=2720).contains(&p4) {
        Issuer::Mastercard
    } else if p2 == 34 || p2 == 37 {
        Issuer::Amex
    } else if (3528..=3589).contains(&p4) {
        Issuer::Jcb
    } else if (300..=305).contains(&p3) || matches!(p2, 36 | 38 | 39) {
        Issuer::Diners
    } else if p4 == 6011 || (644..=649).contains(&p3) || p2 == 65 {
        Issuer::Discover
    } else if p2 == 62 {
        Issuer::UnionPay
    } else {
        return None;
    };
    let length_ok = match issuer {
        Issuer::Visa => matches!(len, 13 | 16 | 19),
        Issuer::Mastercard => len == 16,
        Issuer::Amex => len == 15,
        Issuer::Jcb | Issuer::Discover | Issuer::UnionPay => (16..=19).contains(&len),
        Issuer::Diners => (14..=19).contains(&len),
    };
    length_ok.then_some(issuer)
}

/// Does `digits` (values 0..=9) pass the Luhn check?
pub fn luhn_valid(digits: &[u8]) -> bool {
    !digits.is_empty() && luhn_sum(digits).is_multiple_of(10)
}

/// The Luhn digit that completes `payload` (values 0..=9) into a valid number.
pub fn luhn_check_digit(payload: &[u8]) -> u8 {
    let mut with_zero = payload.to_vec();
    with_zero.push(0);
    // (10 − s mod 10) mod 10 lies in 0..=9, so the narrowing is exact.
    ((10 - luhn_sum(&with_zero) % 10) % 10) as u8
}

/// The Luhn sum: from the right, every second digit doubled (minus 9 past 9).
fn luhn_sum(digits: &[u8]) -> u32 {
    digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &d)| {
            let d = u32::from(d);
            if i % 2 == 1 {
                let twice = d * 2;
                if twice > 9 { twice - 9 } else { twice }
            } else {
                d
            }
        })
        .sum()
}

/// Is `number` (ASCII digits only) a Luhn-valid number of a known issuer?
pub fn is_valid(number: &str) -> bool {
    number.bytes().all(|b| b.is_ascii_digit()) && {
        let digits: Vec<u8> = number.bytes().map(|b| b - b'0').collect();
        luhn_valid(&digits) && issuer(&digits).is_some()
    }
}

/// Does the window hold a card number written in an accepted form? (The scanner asks for
/// [`candidate`]; this is for the reference scan of the tests.)
#[cfg(test)]
pub(crate) fn matches(window: &Window<'_>) -> bool {
    candidate(window) == Some(true)
}

/// Is the window shaped like a card number (an accepted length and grouping, standing
/// alone, with an issuer's prefix)? `Some(valid)` with whether the Luhn check holds, `None`
/// when the shape is wrong.
pub(crate) fn candidate(window: &Window<'_>) -> Option<bool> {
    if !(MIN_LEN..=MAX_LEN).contains(&window.digits.len()) {
        return None;
    }
    let kind = window.uniform_sep()?;
    let len = window.digits.len();
    let shaped = ((LAYOUTS.iter().any(|layout| window.splits_follow(layout))
        && window.stands_alone(kind))
        || window.is_spaced_digits(len))
        && issuer(window.digits).is_some();
    shaped.then(|| luhn_valid(window.digits))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn digits(s: &str) -> Vec<u8> {
        s.bytes().map(|b| b - b'0').collect()
    }

    #[test]
    fn well_known_test_numbers_are_valid() {
        for (number, brand) in [
            ("4111111111111111", Issuer::Visa),
            ("4222222222222", Issuer::Visa),
            ("5555555555554444", Issuer::Mastercard),
            ("2223003122003222", Issuer::Mastercard),
            ("378282246310005", Issuer::Amex),
            ("3530111333300000", Issuer::Jcb),
            ("30569309025904", Issuer::Diners),
            ("6011111111111117", Issuer::Discover),
            ("6200000000000005", Issuer::UnionPay),
        ] {
            assert!(is_valid(number), "{number}");
            assert_eq!(issuer(&digits(number)), Some(brand), "{number}");
        }
    }

    #[test]
    fn a_wrong_luhn_digit_is_invalid() {
        for wrong in 0..10u8 {
            let number = format!("411111111111111{wrong}");
            assert_eq!(is_valid(&number), wrong == 1, "{number}");
        }
    }

    #[test]
    fn unknown_prefixes_and_wrong_lengths_are_invalid() {
        // Luhn-valid but no issuer: 1..., 7..., 8..., 9..., 2220 and 2721 (just outside
        // Mastercard's 2-series), 3500 (outside JCB).
        for payload in [
            "100000000000000",
            "700000000000000",
            "222000000000000",
            "272100000000000",
            "350000000000000",
        ] {
            let mut d = digits(payload);
            d.push(luhn_check_digit(&d));
            assert!(luhn_valid(&d));
            assert_eq!(issuer(&d), None, "{payload}");
        }
        // Amex must be 15 digits, Mastercard 16.
        let mut amex16 = digits("340000000000000");
        amex16.push(luhn_check_digit(&amex16));
        assert_eq!(issuer(&amex16), None);
        let mut mc19 = digits("510000000000000000");
        mc19.push(luhn_check_digit(&mc19));
        assert_eq!(issuer(&mc19), None);
    }

    #[test]
    fn luhn_check_digit_completes_a_payload() {
        let payload = digits("411111111111111");
        assert_eq!(luhn_check_digit(&payload), 1);
        assert!(!luhn_valid(&[]));
    }
}
