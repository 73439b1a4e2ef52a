//! The one-time setup code: the box makes it at first boot, shows it on the console and
//! writes it to a file on the boot partition; the first visitor of the panel must type it
//! to create the administrator. Twelve characters of Crockford's base32 (60 bits), grouped
//! by four; typing is forgiving (case, spaces, dashes, O for 0, I and L for 1).

/// Crockford's base32 alphabet: no I, L, O or U.
const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// A new code such as `7K2M-9XQD-4RTW` (`None` without a random source).
pub fn generate() -> Option<String> {
    let mut bytes = [0u8; 12];
    ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut bytes).ok()?;
    let chars: Vec<char> = bytes
        .iter()
        .map(|b| char::from(ALPHABET[usize::from(b & 31)]))
        .collect();
    let groups: Vec<String> = chars.chunks(4).map(|c| c.iter().collect()).collect();
    Some(groups.join("-"))
}

/// The code as typed, reduced to its twelve characters (`None`: not a code's shape).
pub fn normalize(typed: &str) -> Option<String> {
    let mut out = String::new();
    for c in typed.chars() {
        let c = match c.to_ascii_uppercase() {
            ' ' | '-' | '\u{3000}' | '\t' => continue,
            'O' => '0',
            'I' | 'L' => '1',
            c if c.is_ascii() && ALPHABET.contains(&(c as u8)) => c,
            _ => return None,
        };
        out.push(c);
        if out.len() > 12 {
            return None;
        }
    }
    (out.len() == 12).then_some(out)
}

/// Whether `typed` is `code` (compared in constant time).
pub fn matches(code: &str, typed: &str) -> bool {
    match (normalize(code), normalize(typed)) {
        (Some(a), Some(b)) => crate::same_secret(a.as_bytes(), b.as_bytes()),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_random_and_shaped() {
        let a = generate().unwrap();
        let b = generate().unwrap();
        assert_ne!(a, b);
        assert_eq!(a.len(), 14);
        assert_eq!(a.matches('-').count(), 2);
        assert!(normalize(&a).is_some());
    }

    #[test]
    fn typing_is_forgiving_but_exact() {
        assert!(matches("7K2M-9XQD-4R10", "7k2m 9xqd 4rlo"));
        assert!(matches("7K2M-9XQD-4R10", "7K2M9XQD4R1O"));
        assert!(!matches("7K2M-9XQD-4R10", "7K2M-9XQD-4R11"));
        assert!(!matches("7K2M-9XQD-4R10", "7K2M-9XQD-4R1"));
        assert!(!matches("7K2M-9XQD-4R10", "7K2M-9XQD-4R10X"));
        assert!(!matches("7K2M-9XQD-4R10", ""));
        assert!(!matches("7K2M-9XQD-4R10", "７K2M-9XQD-4R10"));
    }
}
