//! Request extractors that answer bad input with problem+json naming the field at fault:
//! [`Body`] for JSON bodies, [`Params`] for query strings and [`Id`] for record ids in paths.

use axum::{
    Json,
    body::Bytes,
    extract::{FromRequest, FromRequestParts, Path, Query, Request, rejection::JsonRejection},
    http::{StatusCode, request::Parts},
};
use serde::de::DeserializeOwned;
use uuid::Uuid;

use crate::problem::Problem;

/// A JSON body. Unreadable JSON is a 400; a value of the wrong type (a number where a name
/// from a list is expected, too), a missing field or an unknown field is a 422 naming the field.
pub struct Body<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for Body<T> {
    type Rejection = Problem;

    async fn from_request(request: Request, state: &S) -> Result<Self, Problem> {
        if !json_content_type(request.headers()) {
            return Err(Problem::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported-media-type",
                "Unsupported media type",
                "the body must be JSON with Content-Type: application/json",
            ));
        }
        let bytes = Bytes::from_request(request, state)
            .await
            .map_err(|rejection| {
                Problem::malformed(format!(
                    "the body could not be read: {}",
                    rejection.body_text()
                ))
            })?;
        let invalid = |text: &str| {
            let (field, message) = split_serde_path(text);
            Problem::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid-value",
                "Invalid value",
                message,
            )
            .with_field(field)
        };
        match Json::<T>::from_bytes(&bytes) {
            Ok(Json(value)) => Ok(Self(value)),
            Err(JsonRejection::JsonDataError(error)) => Err(invalid(&error.body_text())),
            // serde_json reports a value of the wrong kind for an enum (a number for a name) as
            // a syntax error; the body is valid JSON, so it is the field's value at fault.
            Err(JsonRejection::JsonSyntaxError(error))
                if serde_json::from_slice::<serde::de::IgnoredAny>(&bytes).is_ok() =>
            {
                let text = error.body_text();
                let text = text
                    .strip_prefix("Failed to parse the request body as JSON: ")
                    .unwrap_or(&text);
                let (field, _) = split_serde_path(text);
                Err(invalid(&format!("{field}: has a value of the wrong type")))
            }
            Err(rejection) => Err(Problem::malformed(format!(
                "the body is not valid JSON: {}",
                rejection
                    .body_text()
                    .rsplit(": ")
                    .next()
                    .unwrap_or_default()
            ))),
        }
    }
}

/// Whether the request says its body is JSON (`application/json`, or `application/…+json`).
fn json_content_type(headers: &axum::http::HeaderMap) -> bool {
    headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|mime| mime.trim().to_ascii_lowercase())
        .is_some_and(|mime| {
            mime == "application/json"
                || (mime.starts_with("application/") && mime.ends_with("+json"))
        })
}

/// A JSON body that may be left out: an empty body is `T::default()`.
pub struct OptionalBody<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Default> FromRequest<S> for OptionalBody<T> {
    type Rejection = Problem;

    async fn from_request(request: Request, state: &S) -> Result<Self, Problem> {
        let (parts, body) = request.into_parts();
        let bytes = axum::body::to_bytes(body, 1 << 20)
            .await
            .map_err(|_| Problem::malformed("the body could not be read"))?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(Self(T::default()));
        }
        let request = Request::from_parts(parts, axum::body::Body::from(bytes));
        Body::<T>::from_request(request, state)
            .await
            .map(|Body(value)| Self(value))
    }
}

/// A query string. A parameter of the wrong type is a 400 naming it.
pub struct Params<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for Params<T> {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Problem> {
        match Query::<T>::from_request_parts(parts, state).await {
            Ok(Query(value)) => Ok(Self(value)),
            Err(rejection) => {
                let text = rejection.body_text();
                let text = text
                    .strip_prefix("Failed to deserialize query string: ")
                    .unwrap_or(&text);
                let (field, message) = split_serde_path(text);
                Err(Problem::malformed(message).with_field(field))
            }
        }
    }
}

/// The `{id}` of a path. An id that is not a UUID names no record: 404.
pub struct Id(pub Uuid);

impl<S: Send + Sync> FromRequestParts<S> for Id {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Problem> {
        let Path(raw) = Path::<String>::from_request_parts(parts, state)
            .await
            .map_err(|_| Problem::not_found("no such record"))?;
        Uuid::parse_str(&raw)
            .map(Self)
            .map_err(|_| Problem::not_found("no such record"))
    }
}

/// Splits serde's `path: message` into the field and the message. For a missing field the
/// path is `.` and the field is named in the message instead.
fn split_serde_path(text: &str) -> (String, String) {
    let text = text
        .strip_prefix("Failed to deserialize the JSON body into the target type: ")
        .unwrap_or(text);
    let (path, message) = match text.split_once(": ") {
        Some((path, message)) if !path.contains(' ') => (path.to_owned(), message.to_owned()),
        _ => (".".to_owned(), text.to_owned()),
    };
    let field = if path == "." {
        between_backticks(&message).unwrap_or_default()
    } else {
        path
    };
    let message = message
        .split(" at line ")
        .next()
        .unwrap_or_default()
        .to_owned();
    (field, message)
}

fn between_backticks(text: &str) -> Option<String> {
    let start = text.find('`')? + 1;
    let end = start + text[start..].find('`')?;
    Some(text[start..end].to_owned())
}

#[cfg(test)]
mod tests {
    use super::split_serde_path;

    #[test]
    fn names_the_field() {
        assert_eq!(
            split_serde_path(
                "Failed to deserialize the JSON body into the target type: price: invalid type: string \"x\", expected i64 at line 1 column 12"
            ),
            (
                "price".into(),
                "invalid type: string \"x\", expected i64".into()
            )
        );
        assert_eq!(
            split_serde_path(
                "Failed to deserialize the JSON body into the target type: missing field `email` at line 1 column 2"
            ),
            ("email".into(), "missing field `email`".into())
        );
        assert_eq!(
            split_serde_path("address.country: invalid length 3"),
            ("address.country".into(), "invalid length 3".into())
        );
    }
}
