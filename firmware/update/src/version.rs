//! Firmware versions: one to four dot-separated decimal numbers (`1.4`, `2026.12.1`),
//! compared number by number, a missing number counting as 0. Nothing else is accepted, so
//! that "newer" never depends on how a suffix sorts.

use std::cmp::Ordering;

/// A firmware version.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Version {
    parts: Vec<u32>,
    text: String,
}

impl Version {
    /// Parses `text`; `None` unless it is 1–4 numbers of at most 9 digits joined by dots.
    pub fn parse(text: &str) -> Option<Version> {
        let mut parts = Vec::with_capacity(4);
        for p in text.split('.') {
            if p.is_empty() || p.len() > 9 || !p.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            parts.push(p.parse().ok()?);
        }
        if parts.len() > 4 {
            return None;
        }
        Some(Version {
            parts,
            text: text.to_string(),
        })
    }

    /// The version as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    fn part(&self, i: usize) -> u32 {
        self.parts.get(i).copied().unwrap_or(0)
    }

    /// Compares by value: `1.2` and `1.2.0` are the same version.
    pub fn cmp_value(&self, other: &Version) -> Ordering {
        (0..4)
            .map(|i| self.part(i).cmp(&other.part(i)))
            .find(|o| *o != Ordering::Equal)
            .unwrap_or(Ordering::Equal)
    }
}

impl std::fmt::Display for Version {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compares_numbers_not_text() {
        let v = |s| Version::parse(s).unwrap();
        assert_eq!(v("1.10").cmp_value(&v("1.9")), Ordering::Greater);
        assert_eq!(v("1.2").cmp_value(&v("1.2.0")), Ordering::Equal);
        assert_eq!(v("2026.12.1").cmp_value(&v("2026.2.30")), Ordering::Greater);
        for bad in [
            "",
            "1.",
            ".1",
            "1..2",
            "1.2-rc1",
            "v1",
            "1.2.3.4.5",
            "1234567890",
            "+1",
        ] {
            assert!(Version::parse(bad).is_none(), "{bad}");
        }
    }
}
