//! Checks of request values shared by the domain modules; each failure names its field.

use crate::{domain::money, error::Error};

/// A non-empty text of at most `max` characters, trimmed.
pub fn text(field: &str, value: &str, max: usize) -> Result<String, Error> {
    let value = value.trim();
    if value.is_empty() {
        return Err(Error::invalid(field, "must not be empty"));
    }
    if value.chars().count() > max {
        return Err(Error::invalid(
            field,
            format!("must be at most {max} characters"),
        ));
    }
    Ok(value.to_owned())
}

/// An optional text, as [`text`] when present.
pub fn optional_text(
    field: &str,
    value: Option<&str>,
    max: usize,
) -> Result<Option<String>, Error> {
    value.map(|v| text(field, v, max)).transpose()
}

/// An e-mail address, lowercased ([`dotmac_identity::email`]).
pub fn email(field: &str, value: &str) -> Result<String, Error> {
    text(field, value, 254)?;
    dotmac_identity::email::normalize(value)
        .ok_or_else(|| Error::invalid(field, "is not an e-mail address"))
}

/// An ISO 3166-1 alpha-2 country code (`US`).
pub fn country(field: &str, value: &str) -> Result<String, Error> {
    if value.len() == 2 && value.chars().all(|c| c.is_ascii_uppercase()) {
        Ok(value.to_owned())
    } else {
        Err(Error::invalid(
            field,
            "must be a two-letter ISO 3166 country code such as US",
        ))
    }
}

/// An ISO 4217 currency this application knows.
pub fn currency(field: &str, value: &str) -> Result<String, Error> {
    if money::exponent(value).is_some() {
        Ok(value.to_owned())
    } else {
        Err(Error::invalid(
            field,
            "must be an ISO 4217 currency code such as USD",
        ))
    }
}

/// An amount in minor units within `min..=max`.
pub fn amount(field: &str, value: i64, min: i64, max: i64) -> Result<i64, Error> {
    if (min..=max).contains(&value) {
        Ok(value)
    } else {
        Err(Error::invalid(
            field,
            format!("must be between {min} and {max} (minor units)"),
        ))
    }
}

/// A code of letters, digits, `-` and `_`, 1–32 characters.
pub fn code(field: &str, value: &str) -> Result<String, Error> {
    if !value.is_empty()
        && value.len() <= 32
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        Ok(value.to_owned())
    } else {
        Err(Error::invalid(
            field,
            "must be 1–32 letters, digits, '-' or '_'",
        ))
    }
}

/// Largest amount accepted anywhere: 10¹² minor units.
pub const MAX_AMOUNT: i64 = 1_000_000_000_000;
