//! ServiceAccount tokens. A TokenRequest (`POST …/serviceaccounts/NAME/token`) or the process
//! runtime (for a pod's own token) issues one here; the token controller fills
//! `kubernetes.io/service-account-token` Secrets. A token authenticates while its
//! ServiceAccount (the same one: same uid) exists, before its expiry, and, when bound to a
//! pod, while that pod exists. Issued tokens live in memory: a restarted devcluster forgets
//! them (its pods get new ones), Secret tokens persist with their Secret.

use std::{
    collections::HashMap,
    time::{Duration, SystemTime},
};

use serde_json::Value;

/// Secrets of this type get a token for the ServiceAccount their annotation names.
pub const SECRET_TYPE: &str = "kubernetes.io/service-account-token";
/// The annotation naming a token Secret's ServiceAccount.
pub const NAME_ANNOTATION: &str = "kubernetes.io/service-account.name";
/// The annotation the token controller sets to the ServiceAccount's uid.
pub const UID_ANNOTATION: &str = "kubernetes.io/service-account.uid";

/// Whom an issued token stands for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claims {
    /// The ServiceAccount's namespace.
    pub namespace: String,
    /// Its name.
    pub name: String,
    /// Its uid when the token was issued.
    pub uid: String,
    /// The pod the token is bound to, by uid.
    pub pod: Option<String>,
    /// When it stops working.
    pub expires: SystemTime,
}

/// Tokens issued and not yet expired.
#[derive(Debug, Default)]
pub struct Tokens(HashMap<String, Claims>);

impl Tokens {
    /// Issues a token for `claims`.
    pub fn issue(&mut self, claims: Claims) -> String {
        let now = SystemTime::now();
        self.0.retain(|_, c| c.expires > now);
        let token = new_token();
        self.0.insert(token.clone(), claims);
        token
    }

    /// The claims of `token`, if it was issued and has not expired.
    pub fn claims(&self, token: &str) -> Option<&Claims> {
        self.0.get(token).filter(|c| c.expires > SystemTime::now())
    }
}

/// A random opaque token (two v4 UUIDs: 244 random bits).
pub fn new_token() -> String {
    format!(
        "dcsa.{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    )
}

/// A TokenRequest's lifetime: `spec.expirationSeconds`, one hour by default, ten minutes at
/// least (as a kube-apiserver requires).
pub fn lifetime(request: &Value) -> Result<Duration, String> {
    match request.pointer("/spec/expirationSeconds") {
        None | Some(Value::Null) => Ok(Duration::from_secs(3600)),
        Some(v) => match v.as_u64() {
            Some(s) if s >= 600 => Ok(Duration::from_secs(s)),
            _ => Err("spec.expirationSeconds: Invalid value: may not specify a duration less than 10 minutes".into()),
        },
    }
}

/// The ServiceAccount a token Secret is for, when it is one.
pub fn secret_account(secret: &Value) -> Option<&str> {
    (secret.get("type").and_then(Value::as_str) == Some(SECRET_TYPE))
        .then(|| {
            secret
                .pointer("/metadata/annotations")?
                .get(NAME_ANNOTATION)?
                .as_str()
        })
        .flatten()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "a test fails loudly")]

    use super::*;
    use serde_json::json;

    #[test]
    fn expired_tokens_stop_working() {
        let mut tokens = Tokens::default();
        let claims = |expires| Claims {
            namespace: "ns".into(),
            name: "sa".into(),
            uid: "u".into(),
            pod: None,
            expires,
        };
        let live = tokens.issue(claims(SystemTime::now() + Duration::from_secs(60)));
        let dead = tokens.issue(claims(SystemTime::now() - Duration::from_secs(1)));
        assert_ne!(live, dead);
        assert_eq!(tokens.claims(&live).unwrap().name, "sa");
        assert!(tokens.claims(&dead).is_none());
        assert!(tokens.claims("dcsa.guess").is_none());
    }

    #[test]
    fn token_lifetimes_are_at_least_ten_minutes() {
        assert_eq!(lifetime(&json!({})).unwrap(), Duration::from_secs(3600));
        assert_eq!(
            lifetime(&json!({"spec": {"expirationSeconds": 7200}})).unwrap(),
            Duration::from_secs(7200)
        );
        assert!(lifetime(&json!({"spec": {"expirationSeconds": 60}})).is_err());
    }
}
