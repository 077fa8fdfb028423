//! Single-use recovery codes, for when the authenticator is lost: ten codes of ten characters
//! (50 bits each) from the unambiguous alphabet, shown once as `XXXXX-XXXXX`; only their
//! SHA-256 is kept (`typed_code::digest`), and a code is struck off when used.

pub use crate::typed_code::digest;

/// Codes per set.
pub const COUNT: usize = 10;

/// A fresh set of codes, as shown to the person.
pub fn generate() -> Result<Vec<String>, getrandom::Error> {
    (0..COUNT)
        .map(|_| crate::typed_code::generate(2, 5))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_distinct_unambiguous_and_digest_whatever_their_spelling() {
        let codes = generate().unwrap();
        assert_eq!(codes.len(), COUNT);
        let unique: std::collections::HashSet<_> = codes.iter().collect();
        assert_eq!(unique.len(), COUNT);
        for code in &codes {
            assert_eq!(code.len(), 11);
            assert!(
                code.chars()
                    .all(|c| c == '-' || crate::UNAMBIGUOUS.contains(&(c as u8)))
            );
        }
        let code = &codes[0];
        assert_eq!(digest(code), digest(&code.to_lowercase().replace('-', " ")));
        assert_ne!(digest(code), digest(&codes[1]));
    }
}
