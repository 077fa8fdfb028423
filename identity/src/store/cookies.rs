//! The cookies a browser session is held in: the session token (HttpOnly) and its CSRF token
//! (readable by the portal's script, echoed in [`CSRF_HEADER`] on writes). Each API names its
//! own pair, since browsers share cookies between ports of one host.

use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use dotmac_web::problem::Problem;

use super::sessions::{LIFETIME_HOURS, Opened, csrf_matches};

/// The header a cookie-authenticated write must echo the CSRF token in.
pub const CSRF_HEADER: &str = "x-csrf-token";

/// The names of one API's session and CSRF cookies.
#[derive(Debug, Clone, Copy)]
pub struct Cookies {
    /// The session cookie (HttpOnly).
    pub session: &'static str,
    /// The CSRF cookie.
    pub csrf: &'static str,
}

impl Cookies {
    /// The session token of a request's `Cookie` headers.
    pub fn session_token<'a>(&self, headers: &'a HeaderMap) -> Option<&'a str> {
        headers
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(';'))
            .filter_map(|pair| pair.trim().split_once('='))
            .find(|(key, _)| *key == self.session)
            .map(|(_, value)| value)
    }

    /// Refuses a write (any method but `GET`, `HEAD`, `OPTIONS`) made with the session cookie
    /// whose [`CSRF_HEADER`] is not the CSRF token with digest `csrf_hash`: a 403.
    pub fn check_write(
        &self,
        method: &Method,
        headers: &HeaderMap,
        csrf_hash: Option<&str>,
    ) -> Result<(), Problem> {
        let safe = matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS);
        let presented = headers.get(CSRF_HEADER).and_then(|v| v.to_str().ok());
        if safe || csrf_matches(csrf_hash, presented) {
            return Ok(());
        }
        Err(Problem::new(
            StatusCode::FORBIDDEN,
            "csrf-token-missing",
            "CSRF token missing or wrong",
            format!(
                "a write with the session cookie must send the {} cookie's value in the {CSRF_HEADER} header",
                self.csrf
            ),
        ))
    }

    /// The `Set-Cookie` headers that hand a cookie session to the browser; `Secure` when the
    /// request came over TLS.
    pub fn set(&self, opened: &Opened, secure: bool) -> Vec<HeaderValue> {
        let secure = if secure { "; Secure" } else { "" };
        let max_age = LIFETIME_HOURS * 3600;
        let mut cookies = vec![format!(
            "{}={}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age}{secure}",
            self.session, opened.token
        )];
        if let Some(csrf) = &opened.csrf {
            cookies.push(format!(
                "{}={csrf}; Path=/; SameSite=Lax; Max-Age={max_age}{secure}",
                self.csrf
            ));
        }
        cookies
            .into_iter()
            .filter_map(|c| HeaderValue::from_str(&c).ok())
            .collect()
    }

    /// The `Set-Cookie` headers that remove both cookies.
    pub fn clear(&self) -> Vec<HeaderValue> {
        [self.session, self.csrf]
            .iter()
            .filter_map(|name| {
                HeaderValue::from_str(&format!("{name}=; Path=/; Max-Age=0; SameSite=Lax")).ok()
            })
            .collect()
    }
}
