//! A valid My Number for the tests that send one (the system tests and the whole-box
//! test share it).

/// Eleven digits with the official My Number check digit appended: a valid My Number.
pub fn my_number(payload: &str) -> String {
    let digits: Vec<u32> = payload.chars().map(|c| c.to_digit(10).unwrap()).collect();
    assert_eq!(digits.len(), 11);
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, d)| {
            let n = i as u32 + 1;
            d * if n <= 6 { n + 1 } else { n - 5 }
        })
        .sum();
    let check = match sum % 11 {
        0 | 1 => 0,
        r => 11 - r,
    };
    format!("{payload}{check}")
}
