//! Time-based one-time passwords (RFC 6238): HMAC-SHA-1, 6 digits, 30-second steps, as every
//! authenticator app reads them from an `otpauth://` URI. A code is accepted one step either
//! side of now (clock drift), and only for a step later than the last one accepted, so a code
//! seen once cannot be replayed (RFC 6238 §5.2).

use hmac::{Hmac, KeyInit, Mac};
use sha1::Sha1;
use subtle::ConstantTimeEq;

/// Seconds per step.
pub const STEP_SECONDS: i64 = 30;
/// Digits per code.
pub const DIGITS: u32 = 6;
/// Steps either side of now that are accepted.
pub const WINDOW: i64 = 1;

/// A shared secret: 20 random bytes (160 bits, RFC 4226's recommendation).
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(Vec<u8>);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(…)")
    }
}

impl Secret {
    /// A new random secret.
    pub fn generate() -> Result<Self, getrandom::Error> {
        Ok(Self(crate::random::<20>()?.to_vec()))
    }

    /// The secret from its base32 form (as [`Self::base32`] writes it; case and spaces are
    /// ignored).
    pub fn from_base32(text: &str) -> Option<Self> {
        let clean: String = text
            .chars()
            .filter(|c| !c.is_whitespace() && *c != '=')
            .map(|c| c.to_ascii_uppercase())
            .collect();
        data_encoding::BASE32_NOPAD
            .decode(clean.as_bytes())
            .ok()
            .filter(|bytes| bytes.len() >= 10)
            .map(Self)
    }

    /// Unpadded base32, as authenticator apps take it.
    pub fn base32(&self) -> String {
        data_encoding::BASE32_NOPAD.encode(&self.0)
    }

    /// The `otpauth://totp/…` URI an authenticator app scans as a QR code.
    pub fn uri(&self, issuer: &str, account: &str) -> String {
        let issuer = escape(issuer);
        format!(
            "otpauth://totp/{issuer}:{}?secret={}&issuer={issuer}&algorithm=SHA1&digits={DIGITS}&period={STEP_SECONDS}",
            escape(account),
            self.base32()
        )
    }

    /// The code of `step` (seconds since the epoch divided by [`STEP_SECONDS`]).
    pub fn code(&self, step: i64) -> String {
        let counter = u64::try_from(step).unwrap_or_default();
        // HMAC takes a key of any length.
        let Ok(mut mac) = Hmac::<Sha1>::new_from_slice(&self.0) else {
            return String::new();
        };
        mac.update(&counter.to_be_bytes());
        let digest = mac.finalize().into_bytes();
        let offset = usize::from(digest[digest.len() - 1] & 0x0f);
        let word = u32::from_be_bytes([
            digest[offset] & 0x7f,
            digest[offset + 1],
            digest[offset + 2],
            digest[offset + 3],
        ]);
        format!(
            "{:0width$}",
            word % 10_u32.pow(DIGITS),
            width = DIGITS as usize
        )
    }

    /// The step `code` belongs to, when it is valid at `now` and later than `last_used`;
    /// `None` for a wrong, stale or replayed code.
    pub fn verify(
        &self,
        code: &str,
        now: chrono::DateTime<chrono::Utc>,
        last_used: Option<i64>,
    ) -> Option<i64> {
        let code = code.trim();
        if code.len() != DIGITS as usize || !code.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let current = now.timestamp().div_euclid(STEP_SECONDS);
        // Every candidate is compared, in constant time, so timing says nothing of which matched.
        let mut matched = None;
        for step in current - WINDOW..=current + WINDOW {
            if bool::from(self.code(step).as_bytes().ct_eq(code.as_bytes())) {
                matched = Some(step);
            }
        }
        matched.filter(|step| last_used.is_none_or(|last| *step > last))
    }
}

/// Percent-encodes what is not unreserved in a URI.
fn escape(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b'@' => {
                char::from(b).to_string()
            }
            other => format!("%{other:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    /// RFC 6238 appendix B, SHA-1 column (8 digits there; the last 6 are ours).
    #[test]
    fn matches_the_rfc_6238_test_vectors() {
        let secret = Secret(b"12345678901234567890".to_vec());
        for (time, code) in [
            (59, "94287082"),
            (1_111_111_109, "07081804"),
            (1_111_111_111, "14050471"),
            (1_234_567_890, "89005924"),
            (2_000_000_000, "69279037"),
            (20_000_000_000, "65353130"),
        ] {
            assert_eq!(secret.code(time / STEP_SECONDS), code[2..], "at {time}");
        }
    }

    #[test]
    fn a_code_is_valid_one_step_either_side_and_never_twice() {
        let secret = Secret::generate().unwrap();
        let now = chrono::Utc.timestamp_opt(1_800_000_000, 0).unwrap();
        let step = now.timestamp() / STEP_SECONDS;
        assert_eq!(secret.verify(&secret.code(step), now, None), Some(step));
        assert_eq!(
            secret.verify(&secret.code(step - 1), now, None),
            Some(step - 1)
        );
        assert_eq!(
            secret.verify(&secret.code(step + 1), now, None),
            Some(step + 1)
        );
        assert_eq!(secret.verify(&secret.code(step - 2), now, None), None);
        assert_eq!(
            secret.verify(&secret.code(step), now, Some(step)),
            None,
            "replay"
        );
        assert_eq!(
            secret.verify(&secret.code(step - 1), now, Some(step)),
            None,
            "older"
        );
        assert_eq!(secret.verify("12345", now, None), None);
        let again = Secret::from_base32(&secret.base32().to_lowercase()).unwrap();
        assert_eq!(again, secret);
        let uri = secret.uri("Acme ISP", "ada@example.com");
        assert!(
            uri.starts_with("otpauth://totp/Acme%20ISP:ada@example.com?secret="),
            "{uri}"
        );
        assert_eq!(format!("{secret:?}"), "Secret(…)");
    }
}
