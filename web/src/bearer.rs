//! Bearer tokens, as both APIs issue and check them: a random secret with a prefix naming its
//! issuer, of which only the SHA-256 digest is stored; read from `Authorization: Bearer`, and
//! refused with a 401 that carries `WWW-Authenticate: Bearer`.

use axum::{
    http::{HeaderMap, HeaderValue, header},
    response::{IntoResponse, Response},
};
use sha2::{Digest, Sha256};

use crate::problem::Problem;

/// A new token: `prefix` then 64 hex digits of fresh randomness.
pub fn generate(prefix: &str) -> Result<String, getrandom::Error> {
    let mut secret = [0_u8; 32];
    getrandom::fill(&mut secret)?;
    Ok(format!("{prefix}{}", hex::encode(secret)))
}

/// The stored form of a token: its SHA-256, in hex.
pub fn digest(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// The token of an `Authorization: Bearer …` header.
pub fn token(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
}

/// A 401 (or other refusal) with `WWW-Authenticate: Bearer`.
pub fn challenge(problem: Problem) -> Response {
    let mut response = problem.into_response();
    response
        .headers_mut()
        .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_random_prefixed_and_stored_as_their_digest() {
        let a = generate("dmi_acme_").unwrap();
        let b = generate("dmi_acme_").unwrap();
        assert_ne!(a, b);
        assert!(a.starts_with("dmi_acme_") && a.len() == "dmi_acme_".len() + 64);
        assert_eq!(
            digest("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        let mut headers = HeaderMap::new();
        assert_eq!(token(&headers), None);
        headers.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("Bearer t0k"),
        );
        assert_eq!(token(&headers), Some("t0k"));
        headers.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("Basic dTpw"),
        );
        assert_eq!(token(&headers), None);
        let refused = challenge(Problem::unauthorized("no"));
        assert_eq!(refused.status(), 401);
        assert_eq!(refused.headers()[header::WWW_AUTHENTICATE], "Bearer");
    }
}
