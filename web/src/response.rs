//! Answers both APIs give the same way.

use axum::{
    Json,
    http::{StatusCode, header},
    response::{IntoResponse, Response},
};
use serde::Serialize;

/// A 201 with `body` and `Location: location`.
pub fn created<T: Serialize>(location: &str, body: T) -> Response {
    Created::new(location, body).into_response()
}

fn located(status: StatusCode, location: Option<&str>, body: impl Serialize) -> Response {
    let mut response = (status, Json(body)).into_response();
    if let Some(value) = location.and_then(|l| l.parse().ok()) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    response
}

/// A record made: 201 with the record and, when it can be read, where.
pub struct Created<T> {
    location: Option<String>,
    body: T,
}

impl<T> Created<T> {
    /// `body`, readable at `location`.
    pub fn new(location: impl Into<String>, body: T) -> Self {
        Self {
            location: Some(location.into()),
            body,
        }
    }

    /// `body`, which has no address of its own.
    pub fn unlocated(body: T) -> Self {
        Self {
            location: None,
            body,
        }
    }
}

impl<T: Serialize> IntoResponse for Created<T> {
    fn into_response(self) -> Response {
        located(StatusCode::CREATED, self.location.as_deref(), self.body)
    }
}

/// Work accepted and carried on in the background: 202 with its state and, when its progress
/// can be followed, where.
pub struct Accepted<T> {
    location: Option<String>,
    body: T,
}

impl<T> Accepted<T> {
    /// `body`, whose progress is at `location`.
    pub fn new(location: impl Into<String>, body: T) -> Self {
        Self {
            location: Some(location.into()),
            body,
        }
    }

    /// `body`, whose progress shows on the record itself.
    pub fn unlocated(body: T) -> Self {
        Self {
            location: None,
            body,
        }
    }
}

impl<T: Serialize> IntoResponse for Accepted<T> {
    fn into_response(self) -> Response {
        located(StatusCode::ACCEPTED, self.location.as_deref(), self.body)
    }
}

/// Accepted with nothing to say: 202 and no body.
pub struct Acknowledged;

impl IntoResponse for Acknowledged {
    fn into_response(self) -> Response {
        StatusCode::ACCEPTED.into_response()
    }
}

/// The answer to a request that may repeat an earlier one (an `Idempotency-Key`, an alert seen
/// before): 201 when it made the record, 200 with the record as it stands when it is a repeat.
pub enum Recorded<T> {
    /// Made now.
    New(Created<T>),
    /// Made by an earlier request with the same key.
    Replayed(T),
}

impl<T: Serialize> IntoResponse for Recorded<T> {
    fn into_response(self) -> Response {
        match self {
            Self::New(created) => created.into_response(),
            Self::Replayed(body) => (StatusCode::OK, Json(body)).into_response(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn created_carries_its_location() {
        let response = created("/api/v1/customers/7", serde_json::json!({"id": 7}));
        assert_eq!(response.status(), StatusCode::CREATED);
        assert_eq!(response.headers()[header::LOCATION], "/api/v1/customers/7");
    }
}
