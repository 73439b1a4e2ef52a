//! The one password policy of the box, for panel users and relay accounts alike (NIST SP
//! 800-63B): at least [`MIN_CHARS`] characters, at most [`MAX_CHARS`], no composition rules,
//! and refused when it is guessable — a common password (the list shipped with the
//! project), one with only digits or symbols around it (`password2024!`), one character
//! repeated or a run on the keyboard or the digits, or the account's own name or the box's.

/// The fewest characters (Unicode scalar values) a password may have.
pub const MIN_CHARS: usize = 12;

/// The most characters: a passphrase fits, and hashing stays bounded.
pub const MAX_CHARS: usize = 256;

/// The common passwords (see the file's header).
const COMMON: &str = include_str!("../data/common-passwords.txt");

/// Why a password is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PasswordProblem {
    /// Fewer than [`MIN_CHARS`] characters.
    #[error(
        "the password has {0} characters: use at least {MIN_CHARS} (a few words make a good one)"
    )]
    TooShort(usize),
    /// More than [`MAX_CHARS`] characters.
    #[error("the password has more than {MAX_CHARS} characters")]
    TooLong,
    /// It contains a control character (a pasted line break).
    #[error("the password contains a control character (a line break or tab)")]
    ControlCharacter,
    /// In the list of common passwords, or one with only digits or symbols around it.
    #[error(
        "the password is one of the most common passwords (or one with digits added): attackers try these first"
    )]
    Common,
    /// One character repeated, or a run such as `123456789012` or `qwertyuiopas`.
    #[error("the password is a repeated character or a simple run (123…, abc…, qwerty…)")]
    Pattern,
    /// It contains the user's name or the box's.
    #[error("the password contains the account's name or the box's")]
    ContainsName,
}

/// Checks `password` against the policy; `context` holds words it must not contain (the
/// user name, the box's host name, the office's domain), compared without case.
pub fn check(password: &str, context: &[&str]) -> Result<(), PasswordProblem> {
    let chars = password.chars().count();
    if password.chars().any(char::is_control) {
        return Err(PasswordProblem::ControlCharacter);
    }
    if chars < MIN_CHARS {
        return Err(PasswordProblem::TooShort(chars));
    }
    if chars > MAX_CHARS {
        return Err(PasswordProblem::TooLong);
    }
    let lower = password.to_lowercase();
    if is_common(&lower) {
        return Err(PasswordProblem::Common);
    }
    if is_pattern(&lower) {
        return Err(PasswordProblem::Pattern);
    }
    let contains_name = context
        .iter()
        .flat_map(|word| word.split(['@', '.']))
        .filter(|part| part.chars().count() >= 4 && *part != "localdomain")
        .any(|part| lower.contains(&part.to_lowercase()));
    if contains_name {
        return Err(PasswordProblem::ContainsName);
    }
    Ok(())
}

/// Whether `lower` is a common password, or one with only digits and symbols before or
/// after it (or the same word twice).
fn is_common(lower: &str) -> bool {
    let core = lower.trim_matches(|c: char| !c.is_alphabetic());
    let candidates = [lower, core];
    let listed = |word: &str| {
        COMMON
            .lines()
            .filter(|l| !l.starts_with('#'))
            .any(|l| l == word)
    };
    if candidates.iter().any(|c| !c.is_empty() && listed(c)) {
        return true;
    }
    // "dragondragon", "sakura1sakura1".
    let half = core.len() / 2;
    if core.len() % 2 == 0
        && core.is_char_boundary(half)
        && core[..half] == core[half..]
        && listed(&core[..half])
    {
        return true;
    }
    // A common word of four or more letters with only non-letters around it:
    // "password2024!!" trims to "password".
    core.chars().count() >= 4 && core.chars().all(char::is_alphabetic) && listed(core)
}

/// Whether `lower` is one character repeated, or mostly runs along the digits, the alphabet
/// or a keyboard row (either direction).
fn is_pattern(lower: &str) -> bool {
    let chars: Vec<char> = lower.chars().collect();
    if chars.iter().all(|c| *c == chars[0]) {
        return true;
    }
    // Two or three characters repeated ("abababababab", "123123123123").
    for period in 2..=3 {
        if chars.len() >= period * 3
            && chars
                .iter()
                .enumerate()
                .all(|(i, c)| *c == chars[i % period])
        {
            return true;
        }
    }
    const RUNS: &[&str] = &[
        "012345678901234567890123456789",
        "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyz",
        "qwertyuiopasdfghjklzxcvbnm",
        "1qaz2wsx3edc4rfv5tgb6yhn7ujm8ik9ol0p",
        "zaq1xsw2cde3vfr4bgt5nhy6mju7,ki8.lo9/;p0",
        "qazwsxedcrfvtgbyhnujmikolp",
        "1q2w3e4r5t6y7u8i9o0p",
    ];
    let along = |s: &str| {
        RUNS.iter().any(|run| {
            let reversed: String = run.chars().rev().collect();
            run.contains(s) || reversed.contains(s)
        })
    };
    along(lower)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn length_is_counted_in_characters_not_bytes() {
        // Twelve kana are 36 bytes but twelve characters.
        assert_eq!(check("あいうえおかきくけこさし", &[]), Ok(()));
        assert_eq!(
            check("あいうえおかきくけこさ", &[]),
            Err(PasswordProblem::TooShort(11))
        );
        assert_eq!(check("", &[]), Err(PasswordProblem::TooShort(0)));
        assert_eq!(check(&"x".repeat(300), &[]), Err(PasswordProblem::TooLong));
    }

    #[test]
    fn no_composition_rules_a_passphrase_is_fine() {
        assert_eq!(check("correct horse battery staple", &[]), Ok(()));
        assert_eq!(check("kyounotenkiwahare", &[]), Ok(()));
        assert_eq!(check("Umi-to-yama-to-2026", &[]), Ok(()));
    }

    #[test]
    fn common_passwords_and_their_decorations_are_refused() {
        for p in [
            "qwertyuiopasdfgh",
            "password1234",
            "Password2024!",
            "!!sunshine!!1234",
            "1234567890123",
            "iloveyou12345",
            "dragondragon",
            "sakura123456",
            "Doraemon2026!",
            "administrator",
        ] {
            assert!(
                matches!(
                    check(p, &[]),
                    Err(PasswordProblem::Common | PasswordProblem::Pattern)
                ),
                "{p} passed: {:?}",
                check(p, &[])
            );
        }
    }

    #[test]
    fn repeats_and_runs_are_refused() {
        for p in [
            "aaaaaaaaaaaa",
            "abababababab",
            "123123123123",
            "abcdefghijklm",
            "zyxwvutsrqpo",
            "098765432109",
            "asdfghjklzxc",
            "1q2w3e4r5t6y",
        ] {
            assert!(
                matches!(
                    check(p, &[]),
                    Err(PasswordProblem::Pattern | PasswordProblem::Common)
                ),
                "{p}"
            );
            assert!(is_pattern(p), "{p}");
        }
    }

    #[test]
    fn the_accounts_own_name_is_refused() {
        assert_eq!(
            check("tanaka-secret-99", &["tanaka@office.example.jp"]),
            Err(PasswordProblem::ContainsName)
        );
        assert_eq!(
            check("office-mamori-2026", &["mamori.localdomain"]),
            Err(PasswordProblem::ContainsName)
        );
        assert_eq!(check("blue-river-stones", &["tanaka"]), Ok(()));
    }

    #[test]
    fn control_characters_are_refused() {
        assert_eq!(
            check("good passphrase\n here", &[]),
            Err(PasswordProblem::ControlCharacter)
        );
    }

    #[test]
    fn the_list_is_shipped_and_large() {
        let n = COMMON.lines().filter(|l| !l.starts_with('#')).count();
        assert!(n > 10_000, "{n}");
    }
}
