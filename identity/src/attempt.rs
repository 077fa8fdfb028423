//! What a person presents to sign in. Its `Debug` shows only the name and the address, so an
//! attempt logged by mistake leaks no password or code.

/// A sign-in attempt.
pub struct Attempt<'a> {
    /// The sign-in name: an e-mail, or a subscriber's portal id.
    pub login: &'a str,
    /// The password.
    pub password: &'a str,
    /// A TOTP code, when the account has two-factor sign-in.
    pub totp: Option<&'a str>,
    /// Or one of its recovery codes.
    pub recovery_code: Option<&'a str>,
    /// The client's address.
    pub source: &'a str,
}

impl std::fmt::Debug for Attempt<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Attempt")
            .field("login", &self.login)
            .field("source", &self.source)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn its_debug_shows_no_secret() {
        let attempt = super::Attempt {
            login: "ops@isp.example",
            password: "hunter2 hunter2",
            totp: Some("123456"),
            recovery_code: Some("ABCDE-FGHJK"),
            source: "192.0.2.1",
        };
        let shown = format!("{attempt:?}");
        assert!(shown.contains("ops@isp.example") && shown.contains("192.0.2.1"));
        for secret in ["hunter2", "123456", "ABCDE"] {
            assert!(!shown.contains(secret), "{shown}");
        }
    }
}
