//! Random passwords for encrypted attachments: drawn from the system's generator, of a
//! configured length and alphabet, each character uniformly (rejection sampling, no
//! modulo bias), wiped from memory when dropped and never shown by `Debug`.

use ring::rand::SecureRandom;
use zeroize::Zeroizing;

/// The default alphabet: letters and digits without the look-alikes (`0 O o 1 l I`), since
/// a person reads the password from one mail and types it into an archiver.
pub const DEFAULT_ALPHABET: &str = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnpqrstuvwxyz23456789";

/// The shortest password made.
pub const MIN_LENGTH: usize = 8;
/// The longest password made.
pub const MAX_LENGTH: usize = 128;
/// The least entropy a password may have, in bits (length × log2(alphabet size)).
pub const MIN_BITS: f64 = 48.0;

/// Why a password cannot be made as configured.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum PasswordError {
    /// The alphabet has fewer than 10 distinct characters, or characters other than
    /// printable ASCII (which every archiver and keyboard handles).
    #[error(
        "the alphabet must be at least 10 distinct printable ASCII characters (no spaces); got {0:?}"
    )]
    BadAlphabet(String),
    /// The length is outside [`MIN_LENGTH`]..=[`MAX_LENGTH`], or too short for the alphabet
    /// to give [`MIN_BITS`] bits.
    #[error(
        "a password of {length} characters from {alphabet} characters has {bits:.0} bits; at least {MIN_LENGTH} characters and {MIN_BITS} bits are needed (at most {MAX_LENGTH} characters)"
    )]
    BadLength {
        /// The length asked for.
        length: usize,
        /// The alphabet's size.
        alphabet: usize,
        /// The entropy that would give.
        bits: f64,
    },
    /// The system's random generator failed.
    #[error("the system's random generator failed")]
    Random,
}

/// The characters a password is drawn from: distinct, printable ASCII.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Alphabet(Vec<u8>);

impl Alphabet {
    /// The alphabet of `chars` (duplicates removed), checked.
    pub fn new(chars: &str) -> Result<Self, PasswordError> {
        let mut set: Vec<u8> = Vec::new();
        for c in chars.chars() {
            let Ok(byte) = u8::try_from(c) else {
                return Err(PasswordError::BadAlphabet(chars.to_owned()));
            };
            if !byte.is_ascii_graphic() {
                return Err(PasswordError::BadAlphabet(chars.to_owned()));
            }
            if !set.contains(&byte) {
                set.push(byte);
            }
        }
        if set.len() < 10 {
            return Err(PasswordError::BadAlphabet(chars.to_owned()));
        }
        Ok(Self(set))
    }

    /// How many characters it has.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Never true: an alphabet has at least 10 characters.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Checks that `length` characters of this alphabet make an acceptable password.
    pub fn check_length(&self, length: usize) -> Result<(), PasswordError> {
        #[allow(clippy::cast_precision_loss)] // at most 94 characters and 128 of length
        let bits = length as f64 * (self.0.len() as f64).log2();
        if (MIN_LENGTH..=MAX_LENGTH).contains(&length) && bits >= MIN_BITS {
            Ok(())
        } else {
            Err(PasswordError::BadLength {
                length,
                alphabet: self.0.len(),
                bits,
            })
        }
    }
}

impl Default for Alphabet {
    fn default() -> Self {
        Self(DEFAULT_ALPHABET.bytes().collect())
    }
}

/// A password: printable ASCII, wiped when dropped, shown by `Debug` as `***`.
#[derive(Clone, PartialEq, Eq)]
pub struct Password(Zeroizing<String>);

impl Password {
    /// A random password of `length` characters of `alphabet`, from `rng`.
    pub fn generate(
        length: usize,
        alphabet: &Alphabet,
        rng: &dyn SecureRandom,
    ) -> Result<Self, PasswordError> {
        alphabet.check_length(length)?;
        let n = alphabet.0.len();
        // Bytes at or past the largest multiple of n are dropped, so each character is
        // equally likely.
        let limit = 256 - 256 % n;
        let mut out = Zeroizing::new(String::with_capacity(length));
        let mut pool = Zeroizing::new([0u8; 64]);
        while out.len() < length {
            rng.fill(pool.as_mut()).map_err(|_| PasswordError::Random)?;
            for &byte in pool.iter() {
                if usize::from(byte) < limit && out.len() < length {
                    out.push(char::from(alphabet.0[usize::from(byte) % n]));
                }
            }
        }
        Ok(Self(out))
    }

    /// A random password of `length` characters of `alphabet`, from the system's
    /// generator.
    pub fn random(length: usize, alphabet: &Alphabet) -> Result<Self, PasswordError> {
        Self::generate(length, alphabet, &ring::rand::SystemRandom::new())
    }

    /// The password given by an administrator or a test.
    pub fn from_text(text: &str) -> Self {
        Self(Zeroizing::new(text.to_owned()))
    }

    /// The password's text, for the archive and for the mail that carries it: never for
    /// a log or the audit trail.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password(***)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ring::rand::SystemRandom;

    #[test]
    fn passwords_have_the_length_and_alphabet_asked_for() {
        let rng = SystemRandom::new();
        let alphabet = Alphabet::default();
        let a = Password::generate(16, &alphabet, &rng).unwrap();
        let b = Password::generate(16, &alphabet, &rng).unwrap();
        assert_eq!(a.expose().len(), 16);
        assert!(
            a.expose()
                .bytes()
                .all(|c| DEFAULT_ALPHABET.as_bytes().contains(&c))
        );
        assert_ne!(a, b);
        assert_eq!(format!("{a:?}"), "Password(***)");
        let digits = Alphabet::new("0123456789").unwrap();
        let pin = Password::generate(16, &digits, &rng).unwrap();
        assert!(pin.expose().bytes().all(|c| c.is_ascii_digit()));
    }

    #[test]
    fn every_character_is_about_equally_likely() {
        // 10 characters: 256 % 10 = 6 values are dropped, or '0'..'5' would be favoured.
        let rng = SystemRandom::new();
        let digits = Alphabet::new("0123456789").unwrap();
        let mut counts = [0usize; 10];
        for _ in 0..200 {
            for c in Password::generate(100, &digits, &rng)
                .unwrap()
                .expose()
                .bytes()
            {
                counts[usize::from(c - b'0')] += 1;
            }
        }
        // 20,000 draws, 2,000 expected each; six standard deviations is about ±255.
        for count in counts {
            assert!((1_745..=2_255).contains(&count), "{counts:?}");
        }
    }

    #[test]
    fn bad_configurations_say_why() {
        assert!(matches!(
            Alphabet::new("abc"),
            Err(PasswordError::BadAlphabet(_))
        ));
        assert!(matches!(
            Alphabet::new("abcdefghij k"),
            Err(PasswordError::BadAlphabet(_))
        ));
        assert!(matches!(
            Alphabet::new("あいうえおかきくけこ"),
            Err(PasswordError::BadAlphabet(_))
        ));
        // Duplicates do not count: ten distinct characters are needed.
        assert!(Alphabet::new("aaaaaaaaaabcdefghi").is_err());
        let rng = SystemRandom::new();
        let digits = Alphabet::new("0123456789").unwrap();
        // 12 digits are 40 bits: too few.
        let error = Password::generate(12, &digits, &rng).unwrap_err();
        assert!(error.to_string().contains("40 bits"), "{error}");
        assert!(Password::generate(15, &digits, &rng).is_ok());
        assert!(Password::generate(7, &Alphabet::default(), &rng).is_err());
        assert!(Password::generate(129, &Alphabet::default(), &rng).is_err());
    }
}
