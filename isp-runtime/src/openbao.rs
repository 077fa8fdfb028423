//! The tenant's OpenBao, as the instance uses it: signed in with its AppRole (the operator puts
//! the role and secret id in the credentials Secret), it writes secrets to its own folder of the
//! namespace's KV v2 mount and encrypts and decrypts fields with the namespace's transit key.
//! A token is renewed by signing in again before its lease ends, or when OpenBao refuses it.

use std::time::{Duration, Instant};

use data_encoding::BASE64;
use dotmac_contract::instance;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tokio::sync::Mutex;

/// What went wrong with OpenBao. Never holds a secret: answers are reduced to their status and
/// OpenBao's own error strings.
#[derive(Debug, thiserror::Error)]
pub enum BaoError {
    /// It did not answer, or is sealed.
    #[error("OpenBao is unreachable: {0}")]
    Unreachable(String),
    /// It answered a call with an error.
    #[error("OpenBao refused to {step}: {status} {message}")]
    Refused {
        /// What the call was for.
        step: &'static str,
        /// The HTTP status.
        status: u16,
        /// OpenBao's `errors`.
        message: String,
    },
    /// An answer without what the call returns.
    #[error("OpenBao's answer to {0} was not understood")]
    Malformed(&'static str),
}

/// Where the instance's OpenBao is and how it signs in.
#[derive(Clone)]
pub struct BaoConfig {
    /// `https://openbao.example:8200`.
    pub addr: String,
    /// The tenant's namespace (`tenants/<name>`).
    pub namespace: String,
    /// The AppRole role id.
    pub role_id: String,
    /// The AppRole secret id.
    pub secret_id: String,
}

impl std::fmt::Debug for BaoConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BaoConfig")
            .field("addr", &self.addr)
            .field("namespace", &self.namespace)
            .finish_non_exhaustive()
    }
}

struct Token {
    value: String,
    renew_at: Instant,
}

/// A signed-in client of the tenant's OpenBao.
pub struct OpenBao {
    http: reqwest::Client,
    config: BaoConfig,
    token: Mutex<Option<Token>>,
}

impl std::fmt::Debug for OpenBao {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpenBao")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

fn unreachable(error: reqwest::Error) -> BaoError {
    BaoError::Unreachable(error.without_url().to_string())
}

impl OpenBao {
    /// A client for `config`; it signs in at its first call.
    pub fn new(mut config: BaoConfig) -> Result<Self, BaoError> {
        dotmac_telemetry::install_crypto_provider();
        config.addr = config.addr.trim_end_matches('/').to_owned();
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(5))
            .build()
            .map_err(unreachable)?;
        Ok(Self {
            http,
            config,
            token: Mutex::new(None),
        })
    }

    /// A token, signing in when there is none or it is near its end.
    async fn token(&self) -> Result<String, BaoError> {
        let mut held = self.token.lock().await;
        if let Some(token) = held.as_ref().filter(|t| Instant::now() < t.renew_at) {
            return Ok(token.value.clone());
        }
        let body = json!({"role_id": self.config.role_id, "secret_id": self.config.secret_id});
        let answer = self
            .send(
                Method::POST,
                "auth/approle/login",
                Some(&body),
                None,
                "sign in",
            )
            .await?
            .ok_or(BaoError::Malformed("sign in"))?;
        let value = answer
            .pointer("/auth/client_token")
            .and_then(Value::as_str)
            .ok_or(BaoError::Malformed("sign in"))?
            .to_owned();
        let lease = answer
            .pointer("/auth/lease_duration")
            .and_then(Value::as_u64)
            .ok_or(BaoError::Malformed("sign in"))?;
        // Sign in again at two thirds of the lease (a token without one does not expire).
        let renew_in = if lease == 0 {
            Duration::from_secs(3600)
        } else {
            Duration::from_secs(lease * 2 / 3)
        };
        *held = Some(Token {
            value: value.clone(),
            renew_at: Instant::now() + renew_in,
        });
        Ok(value)
    }

    /// One call in the tenant's namespace; `Ok(None)` for 404 (and for 204, no body).
    async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
        token: Option<&str>,
        step: &'static str,
    ) -> Result<Option<Value>, BaoError> {
        let mut request = self
            .http
            .request(method, format!("{}/v1/{path}", self.config.addr))
            .header("X-Vault-Namespace", &self.config.namespace);
        if let Some(token) = token {
            request = request.header("X-Vault-Token", token);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request.send().await.map_err(unreachable)?;
        let status = response.status();
        match status {
            StatusCode::NOT_FOUND | StatusCode::NO_CONTENT => return Ok(None),
            StatusCode::SERVICE_UNAVAILABLE => {
                return Err(BaoError::Unreachable("it is sealed".to_owned()));
            }
            _ => {}
        }
        let text = response.text().await.map_err(unreachable)?;
        if !status.is_success() {
            let message = serde_json::from_str::<Value>(&text)
                .ok()
                .and_then(|v| v.get("errors").cloned())
                .map_or_else(String::new, |e| e.to_string());
            return Err(BaoError::Refused {
                step,
                status: status.as_u16(),
                message,
            });
        }
        serde_json::from_str(&text)
            .map(Some)
            .map_err(|_| BaoError::Malformed(step))
    }

    /// A call with the instance's token; a refused token (revoked, expired early) is replaced
    /// by signing in again, once.
    async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
        step: &'static str,
    ) -> Result<Option<Value>, BaoError> {
        let token = self.token().await?;
        match self
            .send(method.clone(), path, body, Some(&token), step)
            .await
        {
            Err(BaoError::Refused { status: 403, .. }) => {
                self.token.lock().await.take();
                let token = self.token().await?;
                self.send(method, path, body, Some(&token), step).await
            }
            other => other,
        }
    }

    fn kv_path(kind: &str, path: &str) -> String {
        format!(
            "{}/{kind}/{}/{path}",
            instance::OPENBAO_KV_MOUNT,
            instance::OPENBAO_INSTANCE_FOLDER
        )
    }

    /// Writes `value` at `path` in the instance's KV folder (a new version).
    pub async fn put(&self, path: &str, value: &str) -> Result<(), BaoError> {
        let body = json!({"data": {"value": value}});
        self.call(
            Method::POST,
            &Self::kv_path("data", path),
            Some(&body),
            "write a secret",
        )
        .await
        .map(|_| ())
    }

    /// The value at `path` in the instance's KV folder; `None` when there is none.
    pub async fn get(&self, path: &str) -> Result<Option<String>, BaoError> {
        let answer = self
            .call(
                Method::GET,
                &Self::kv_path("data", path),
                None,
                "read a secret",
            )
            .await?;
        Ok(answer.and_then(|a| {
            a.pointer("/data/data/value")
                .and_then(Value::as_str)
                .map(str::to_owned)
        }))
    }

    /// Encrypts `plaintext` with the transit key; answers `vault:v<N>:…`.
    pub async fn encrypt(&self, plaintext: &str) -> Result<String, BaoError> {
        const STEP: &str = "encrypt";
        let body = json!({"plaintext": BASE64.encode(plaintext.as_bytes())});
        let path = format!("transit/encrypt/{}", instance::OPENBAO_TRANSIT_KEY);
        self.call(Method::POST, &path, Some(&body), STEP)
            .await?
            .and_then(|a| {
                a.pointer("/data/ciphertext")
                    .and_then(Value::as_str)
                    .map(str::to_owned)
            })
            .ok_or(BaoError::Malformed(STEP))
    }

    /// Decrypts what [`Self::encrypt`] answered.
    pub async fn decrypt(&self, ciphertext: &str) -> Result<String, BaoError> {
        const STEP: &str = "decrypt";
        let body = json!({"ciphertext": ciphertext});
        let path = format!("transit/decrypt/{}", instance::OPENBAO_TRANSIT_KEY);
        let encoded = self
            .call(Method::POST, &path, Some(&body), STEP)
            .await?
            .and_then(|a| {
                a.pointer("/data/plaintext")
                    .and_then(Value::as_str)
                    .map(str::to_owned)
            })
            .ok_or(BaoError::Malformed(STEP))?;
        BASE64
            .decode(encoded.as_bytes())
            .ok()
            .and_then(|bytes| String::from_utf8(bytes).ok())
            .ok_or(BaoError::Malformed(STEP))
    }
}
