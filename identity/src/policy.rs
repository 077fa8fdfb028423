//! The password policy, after NIST SP 800-63B: a length between [`MIN_LENGTH`] and
//! [`MAX_LENGTH`] characters, any characters, no composition rules, and a refusal of passwords
//! that are common (a list of about 20,000 from breach corpora, also with digits or symbols
//! added at the end), repetitive or sequential, or made of the account's own name.

use std::collections::HashSet;

/// Fewest characters. 800-63B asks 15 for a password alone and 8 beside a second factor; 12
/// applies to every account, whether or not it has two-factor sign-in yet.
pub const MIN_LENGTH: usize = 12;
/// Most characters (argon2 takes any length; this bounds the work per attempt).
pub const MAX_LENGTH: usize = 128;

/// Why a password is refused. The message is shown to the person choosing it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Weakness {
    /// Too short.
    #[error("must be at least {MIN_LENGTH} characters")]
    TooShort,
    /// Too long.
    #[error("must be at most {MAX_LENGTH} characters")]
    TooLong,
    /// On the list of common passwords.
    #[error("is too common: it appears in lists of breached passwords")]
    Common,
    /// One character repeated, or a run such as `123456789` or `abcdef`.
    #[error("is a repeated or sequential pattern")]
    Pattern,
    /// Made of the account's e-mail, name or the service's name: fewer than 8 characters
    /// remain without them.
    #[error("must not be made of your e-mail address or name")]
    Personal,
}

fn common() -> &'static HashSet<&'static str> {
    static LIST: std::sync::OnceLock<HashSet<&'static str>> = std::sync::OnceLock::new();
    LIST.get_or_init(|| include_str!("common-passwords.txt").lines().collect())
}

/// Checks `password` for an account known by `context` (its e-mail, display name, the tenant's
/// name).
pub fn check(password: &str, context: &[&str]) -> Result<(), Weakness> {
    let length = password.chars().count();
    if length < MIN_LENGTH {
        return Err(Weakness::TooShort);
    }
    if length > MAX_LENGTH {
        return Err(Weakness::TooLong);
    }
    let lower = password.to_lowercase();
    let stem = lower.trim_end_matches(|c: char| !c.is_alphabetic());
    if common().contains(lower.as_str()) || (stem.chars().count() >= 4 && common().contains(stem)) {
        return Err(Weakness::Common);
    }
    if is_pattern(&lower) {
        return Err(Weakness::Pattern);
    }
    let personal = context
        .iter()
        .flat_map(|c| {
            c.to_lowercase()
                .split(['@', '.', ' ', '-', '_'])
                .map(str::to_owned)
                .collect::<Vec<_>>()
        })
        .chain(std::iter::once("dotmac".to_owned()))
        .filter(|word| word.chars().count() >= 4)
        .any(|word| {
            let rest = lower.replace(&word, "");
            rest.chars().count() < 8
        });
    if personal {
        return Err(Weakness::Personal);
    }
    Ok(())
}

/// One character repeated, or every step between neighbours the same (-1, 0 or +1).
fn is_pattern(password: &str) -> bool {
    let chars: Vec<u32> = password.chars().map(u32::from).collect();
    let steps: Vec<i64> = chars
        .windows(2)
        .map(|w| i64::from(w[1]) - i64::from(w[0]))
        .collect();
    steps.windows(2).all(|w| w[0] == w[1]) && steps.first().is_some_and(|s| s.abs() <= 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn length_common_patterns_and_personal_words_are_refused_and_passphrases_pass() {
        let ctx = ["ada.lovelace@example.com", "Ada Lovelace"];
        assert_eq!(check("short", &ctx), Err(Weakness::TooShort));
        assert_eq!(check(&"x".repeat(129), &ctx), Err(Weakness::TooLong));
        assert_eq!(check("qwerty123456", &ctx), Err(Weakness::Common));
        assert_eq!(check("Password12345!", &ctx), Err(Weakness::Common));
        assert_eq!(check("aaaaaaaaaaaaaa", &ctx), Err(Weakness::Pattern));
        assert_eq!(check("abcdefghijklmn", &ctx), Err(Weakness::Pattern));
        assert_eq!(check("lovelace2024!!", &ctx), Err(Weakness::Personal));
        assert_eq!(check("dotmac-dotmac-1", &ctx), Err(Weakness::Personal));
        assert_eq!(check("ørnen flyr over fjellet", &ctx), Ok(()));
        assert_eq!(check("tidy-ferret-quarry-7", &ctx), Ok(()));
    }
}
