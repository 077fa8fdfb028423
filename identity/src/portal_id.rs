//! Subscriber portal ids: eight characters from A–Z and 2–9 without 0, O, 1 and I, so they
//! can be read out on the phone and typed from a letter (32⁸ ≈ 10¹² of them).

/// Characters per id.
pub const LENGTH: usize = 8;

/// A random portal id; the caller retries on the rare clash with one in use.
pub fn generate() -> Result<String, getrandom::Error> {
    crate::random_from(crate::UNAMBIGUOUS, LENGTH)
}

/// Whether `text` is shaped like a portal id (so a sign-in name can be told from an e-mail).
pub fn is_portal_id(text: &str) -> bool {
    text.len() == LENGTH && text.bytes().all(|b| crate::UNAMBIGUOUS.contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_use_only_unambiguous_characters() {
        for _ in 0..200 {
            let id = generate().unwrap();
            assert!(is_portal_id(&id), "{id}");
            assert!(!id.contains(['0', 'O', '1', 'I']), "{id}");
        }
        assert!(!is_portal_id("ABCD1234"));
        assert!(!is_portal_id("ada@example.com"));
    }
}
