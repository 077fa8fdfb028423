//! Generated credentials: long random passwords that never show in logs, errors or `Debug`.

use std::fmt;

/// Characters of a generated password: safe in URLs, SQL literals and Redis rules.
const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/// Length of generated passwords (about 238 bits of entropy).
pub const LENGTH: usize = 40;

/// A password; `Debug` and `Display` print `<redacted>`.
#[derive(Clone, PartialEq, Eq)]
pub struct Password(String);

impl Password {
    /// A new random password from the operating system's CSPRNG.
    pub fn generate() -> Result<Self, getrandom::Error> {
        let mut out = String::with_capacity(LENGTH);
        let mut buf = [0u8; 64];
        while out.len() < LENGTH {
            getrandom::fill(&mut buf)?;
            // Rejection sampling keeps every character equally likely.
            for b in buf {
                if usize::from(b) < 256 - 256 % ALPHABET.len() && out.len() < LENGTH {
                    out.push(char::from(ALPHABET[usize::from(b) % ALPHABET.len()]));
                }
            }
        }
        Ok(Self(out))
    }

    /// Wraps a password read from the credential store.
    pub fn from_stored(value: String) -> Self {
        Self(value)
    }

    /// The secret itself, for the one place that must send it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(<redacted>)")
    }
}

impl fmt::Display for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_passwords_are_long_random_and_never_printed() {
        let a = Password::generate().unwrap();
        let b = Password::generate().unwrap();
        assert_eq!(a.expose().len(), LENGTH);
        assert!(a.expose().bytes().all(|c| ALPHABET.contains(&c)));
        assert_ne!(a, b);
        assert!(!format!("{a:?} {a}").contains(a.expose()));
    }
}
