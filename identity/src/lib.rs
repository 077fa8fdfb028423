//! How DotMac signs people in, the same on the management API and in every ISP instance:
//! [`password`] hashes (argon2id) and the password [`policy`], [`totp`] two-factor codes,
//! single-use [`recovery`] codes, subscriber [`portal_id`]s and the [`lockout`] rule, as pure
//! functions over values; and their [`store`] over the sessions, recovery codes, failures and
//! links tables both databases share. Each API keeps its own accounts and audit log.

pub mod attempt;
pub mod email;
pub mod lockout;
pub mod mail;
pub mod password;
pub mod policy;
pub mod portal_id;
pub mod recovery;
pub mod store;
pub mod totp;
pub mod typed_code;

/// `n` random bytes.
fn random<const N: usize>() -> Result<[u8; N], getrandom::Error> {
    let mut bytes = [0_u8; N];
    getrandom::fill(&mut bytes)?;
    Ok(bytes)
}

/// A random string of `len` characters from `alphabet` (whose length divides 256, so every
/// character is equally likely).
fn random_from(alphabet: &[u8], len: usize) -> Result<String, getrandom::Error> {
    debug_assert!(256 % alphabet.len() == 0, "the alphabet must divide 256");
    let mut bytes = vec![0_u8; len];
    getrandom::fill(&mut bytes)?;
    Ok(bytes
        .iter()
        .map(|b| char::from(alphabet[usize::from(*b) % alphabet.len()]))
        .collect())
}

/// A–Z and 2–9 without the look-alikes 0, O, 1 and I: 32 characters.
const UNAMBIGUOUS: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789";

/// Letters, digits, `-` and `_`: 64 characters, safe in URLs, config files and RADIUS.
const SECRET_ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// A random secret of `len` characters (6 bits each) for a machine or a login to share: a
/// RADIUS shared secret, a generated PPPoE password.
pub fn random_secret(len: usize) -> Result<String, getrandom::Error> {
    random_from(SECRET_ALPHABET, len)
}
