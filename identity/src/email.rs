//! E-mail addresses as sign-in names: trimmed and lower-cased, one `@`, a dot inside the
//! domain, no spaces, at most 254 characters.

/// The address `value` normalizes to, or `None` when it is not one.
pub fn normalize(value: &str) -> Option<String> {
    let value = value.trim().to_lowercase();
    let valid = value.chars().count() <= 254
        && !value.chars().any(char::is_whitespace)
        && match value.split_once('@') {
            Some((local, domain)) => {
                !local.is_empty()
                    && domain.contains('.')
                    && !domain.starts_with('.')
                    && !domain.ends_with('.')
                    && !domain.contains('@')
            }
            None => false,
        };
    valid.then_some(value)
}

#[cfg(test)]
mod tests {
    #[test]
    fn addresses_are_lower_cased_and_malformed_ones_refused() {
        assert_eq!(
            super::normalize(" Ops@Example.COM ").as_deref(),
            Some("ops@example.com")
        );
        for bad in [
            "",
            "ops",
            "@example.com",
            "ops@example",
            "ops@.com",
            "o ps@example.com",
            "a@b@c.com",
        ] {
            assert_eq!(super::normalize(bad), None, "{bad}");
        }
    }
}
