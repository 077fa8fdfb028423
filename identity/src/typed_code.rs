//! Codes people type from paper or a screen (recovery codes, prepaid vouchers): groups of
//! characters from the unambiguous alphabet (5 bits each) joined by dashes, kept only as the
//! SHA-256 of their normalised text.

use sha2::{Digest, Sha256};

/// A fresh code of `groups` groups of `len` characters each, as shown: `XXXXX-XXXXX`.
pub fn generate(groups: usize, len: usize) -> Result<String, getrandom::Error> {
    let raw = crate::random_from(crate::UNAMBIGUOUS, groups * len)?;
    let parts: Vec<&str> = (0..groups).map(|g| &raw[g * len..(g + 1) * len]).collect();
    Ok(parts.join("-"))
}

/// The stored form of a code: its SHA-256 in hex, over the code in upper case without dashes
/// or spaces, so `abcde fghjk` and `ABCDE-FGHJK` are one code.
pub fn digest(code: &str) -> String {
    let clean: String = code
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_uppercase())
        .collect();
    hex::encode(Sha256::digest(clean.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_have_their_groups_of_unambiguous_characters_and_digest_whatever_their_spelling() {
        let code = generate(4, 4).unwrap();
        assert_eq!(code.len(), 19);
        assert_eq!(code.split('-').map(str::len).collect::<Vec<_>>(), [4; 4]);
        assert!(
            code.chars()
                .all(|c| c == '-' || crate::UNAMBIGUOUS.contains(&(c as u8)))
        );
        assert_eq!(
            digest(&code),
            digest(&code.to_lowercase().replace('-', " "))
        );
        assert_ne!(digest(&code), digest(&generate(4, 4).unwrap()));
    }
}
