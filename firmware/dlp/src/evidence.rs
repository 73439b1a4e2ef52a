//! Evidence across a message: how many numbers shaped like a My Number (or a card number)
//! it holds, and how many of them pass the check digit.
//!
//! A random twelve-digit number passes the My Number check digit one time in ten, and a
//! random card-shaped number the Luhn check one time in ten too. So a lone valid number
//! proves little, but a message whose candidates nearly all pass is a list of real numbers:
//! the chance that it is not falls with every candidate. [`Evidence::is_strong`] makes that
//! a binomial test: the chance of at least `k` passes among `n` distinct random candidates
//! is below [`STRONG_EVIDENCE`].

use crate::finding::DetectorKind;

/// The chance of a random candidate passing its check digit (My Number: one in eleven
/// remainders maps to each digit, two to 0, so about one in ten; Luhn: one in ten).
const CHANCE_VALID: f64 = 0.1;

/// Below this chance of the passes being luck, the candidates are real numbers: six
/// distinct valid candidates and no invalid one is just enough.
pub const STRONG_EVIDENCE: f64 = 1e-6;

/// The most candidates remembered of each kind (memory stays bounded whatever a message
/// holds; past it, the evidence is what was seen).
const MAX_CANDIDATES: usize = 1 << 16;

/// The candidates of one detector: their digits as numbers, split by the check.
#[derive(Clone, Debug, Default)]
struct Candidates {
    valid: Vec<u64>,
    invalid: Vec<u64>,
}

impl Candidates {
    fn record(&mut self, value: u64, valid: bool) {
        let list = if valid {
            &mut self.valid
        } else {
            &mut self.invalid
        };
        if list.len() < MAX_CANDIDATES {
            list.push(value);
        }
    }

    /// Distinct valid and distinct candidates in all (a number written twice, or read in
    /// two charsets, is one candidate).
    fn distinct(&self) -> (usize, usize) {
        let count = |list: &[u64]| {
            let mut sorted = list.to_vec();
            sorted.sort_unstable();
            sorted.dedup();
            sorted.len()
        };
        let valid = count(&self.valid);
        (valid, valid + count(&self.invalid))
    }
}

/// What one inspection saw of the numbers with check digits.
#[derive(Clone, Debug, Default)]
pub struct Evidence {
    my_number: Candidates,
    card: Candidates,
}

impl Evidence {
    /// Records a candidate of `kind` with digit values `digits` and whether it passed.
    pub(crate) fn record(&mut self, kind: DetectorKind, digits: &[u8], valid: bool) {
        let value = digits.iter().fold(0u64, |acc, &d| {
            acc.wrapping_mul(10).wrapping_add(u64::from(d))
        });
        match kind {
            DetectorKind::MyNumber => self.my_number.record(value, valid),
            DetectorKind::CreditCard => self.card.record(value, valid),
            _ => {}
        }
    }

    /// Are the valid candidates of `kind` too many to be chance?
    pub fn is_strong(&self, kind: DetectorKind) -> bool {
        let candidates = match kind {
            DetectorKind::MyNumber => &self.my_number,
            DetectorKind::CreditCard => &self.card,
            _ => return false,
        };
        let (valid, all) = candidates.distinct();
        // A hair of slack for the rounding of the logarithms at exactly the threshold.
        valid > 0 && binomial_tail(all, valid, CHANCE_VALID) <= STRONG_EVIDENCE * (1.0 + 1e-9)
    }
}

/// The chance of at least `k` successes in `n` trials of chance `p`.
fn binomial_tail(n: usize, k: usize, p: f64) -> f64 {
    if k == 0 {
        return 1.0;
    }
    if k > n {
        return 0.0;
    }
    let (ln_p, ln_q) = (p.ln(), (1.0 - p).ln());
    // ln C(n, k), then each term from the previous one.
    let mut ln_choose = 0.0;
    for j in 0..k {
        ln_choose += ((n - j) as f64).ln() - ((j + 1) as f64).ln();
    }
    let mut total = 0.0;
    for i in k..=n {
        total += (ln_choose + i as f64 * ln_p + (n - i) as f64 * ln_q).exp();
        if i < n {
            ln_choose += ((n - i) as f64).ln() - ((i + 1) as f64).ln();
        }
    }
    total.min(1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tail_matches_small_cases_worked_by_hand() {
        assert!((binomial_tail(1, 1, 0.1) - 0.1).abs() < 1e-12);
        // P(X >= 1) of 2 trials = 1 - 0.81.
        assert!((binomial_tail(2, 1, 0.1) - 0.19).abs() < 1e-12);
        assert!((binomial_tail(6, 6, 0.1) - 1e-6).abs() < 1e-15);
        assert_eq!(binomial_tail(3, 0, 0.1), 1.0);
        assert_eq!(binomial_tail(3, 4, 0.1), 0.0);
        // Large n stays finite and sane.
        let t = binomial_tail(60_000, 6_000, 0.1);
        assert!(t > 0.4 && t < 0.6, "{t}");
    }

    fn evidence(valid: u64, invalid: u64) -> Evidence {
        let mut e = Evidence::default();
        for v in 0..valid {
            e.record(DetectorKind::MyNumber, &digits(v), true);
        }
        for v in 0..invalid {
            e.record(DetectorKind::MyNumber, &digits(1_000_000 + v), false);
        }
        e
    }

    fn digits(v: u64) -> Vec<u8> {
        format!("{v:012}").bytes().map(|b| b - b'0').collect()
    }

    #[test]
    fn a_list_of_valid_numbers_is_strong_and_chance_is_not() {
        assert!(evidence(40, 0).is_strong(DetectorKind::MyNumber));
        assert!(evidence(6, 0).is_strong(DetectorKind::MyNumber));
        assert!(!evidence(5, 0).is_strong(DetectorKind::MyNumber));
        assert!(!evidence(4, 36).is_strong(DetectorKind::MyNumber));
        assert!(!evidence(1, 0).is_strong(DetectorKind::MyNumber));
        assert!(evidence(30, 10).is_strong(DetectorKind::MyNumber));
        assert!(!evidence(40, 0).is_strong(DetectorKind::CreditCard));
    }

    #[test]
    fn repeats_count_once() {
        let mut e = Evidence::default();
        for _ in 0..50 {
            e.record(DetectorKind::MyNumber, &digits(123_456_789_018), true);
        }
        assert!(!e.is_strong(DetectorKind::MyNumber));
    }
}
