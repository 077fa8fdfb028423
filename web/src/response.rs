//! Answers both APIs give the same way.

use axum::{
    Json,
    http::{StatusCode, header},
    response::{IntoResponse, Response},
};
use serde::Serialize;

/// The status of a [`Located`] answer, with how the document describes it.
pub trait Status {
    /// The HTTP status.
    const CODE: StatusCode;
    /// The response's description.
    const DESCRIPTION: &'static str;
    /// What its `Location` header points at.
    const LOCATION: &'static str;
}

/// 201: a record made.
pub struct Made;

impl Status for Made {
    const CODE: StatusCode = StatusCode::CREATED;
    const DESCRIPTION: &'static str = "Created";
    const LOCATION: &'static str = "Where the record can be read.";
}

/// 202: work accepted.
pub struct Queued;

impl Status for Queued {
    const CODE: StatusCode = StatusCode::ACCEPTED;
    const DESCRIPTION: &'static str = "Accepted";
    const LOCATION: &'static str = "Where its progress can be read.";
}

/// A JSON answer of status `S` and, when the record has an address, a `Location`.
pub struct Located<T, S> {
    location: Option<String>,
    body: T,
    status: std::marker::PhantomData<S>,
}

/// A record made: 201 with the record and, when it can be read, where.
pub type Created<T> = Located<T, Made>;

/// Work accepted and carried on in the background: 202 with its state and, when its progress
/// can be followed, where.
pub type Accepted<T> = Located<T, Queued>;

impl<T, S> Located<T, S> {
    /// `body`, found at `location`.
    pub fn new(location: impl Into<String>, body: T) -> Self {
        Self {
            location: Some(location.into()),
            body,
            status: std::marker::PhantomData,
        }
    }

    /// `body`, which has no address of its own.
    pub fn unlocated(body: T) -> Self {
        Self {
            location: None,
            body,
            status: std::marker::PhantomData,
        }
    }
}

impl<T: Serialize, S: Status> IntoResponse for Located<T, S> {
    fn into_response(self) -> Response {
        let mut response = (S::CODE, Json(self.body)).into_response();
        if let Some(value) = self.location.and_then(|l| l.parse().ok()) {
            response.headers_mut().insert(header::LOCATION, value);
        }
        response
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

/// A JSON answer that also sets (or clears) cookies.
pub struct WithCookies<T>(pub Vec<axum::http::HeaderValue>, pub Json<T>);

impl<T: Serialize> IntoResponse for WithCookies<T> {
    fn into_response(self) -> Response {
        let mut response = self.1.into_response();
        for cookie in self.0 {
            response.headers_mut().append(header::SET_COOKIE, cookie);
        }
        response
    }
}

impl<T: schemars::JsonSchema> aide::OperationOutput for WithCookies<T> {
    type Inner = T;

    fn operation_response(
        ctx: &mut aide::generate::GenContext,
        operation: &mut aide::openapi::Operation,
    ) -> Option<aide::openapi::Response> {
        Json::<T>::operation_response(ctx, operation)
    }

    fn inferred_responses(
        ctx: &mut aide::generate::GenContext,
        operation: &mut aide::openapi::Operation,
    ) -> Vec<(Option<aide::openapi::StatusCode>, aide::openapi::Response)> {
        Json::<T>::inferred_responses(ctx, operation)
    }
}

/// A CSV document (`text/csv`), such as an export another system reads.
pub struct Csv(pub String);

impl IntoResponse for Csv {
    fn into_response(self) -> Response {
        ([(header::CONTENT_TYPE, "text/csv; charset=utf-8")], self.0).into_response()
    }
}

impl aide::OperationOutput for Csv {
    type Inner = String;

    fn operation_response(
        _: &mut aide::generate::GenContext,
        _: &mut aide::openapi::Operation,
    ) -> Option<aide::openapi::Response> {
        let media = aide::openapi::MediaType {
            schema: Some(aide::openapi::SchemaObject {
                json_schema: schemars::json_schema!({"type": "string"}),
                example: None,
                external_docs: None,
            }),
            ..Default::default()
        };
        Some(aide::openapi::Response {
            description: "A CSV document".to_owned(),
            content: indexmap::IndexMap::from_iter([("text/csv".to_owned(), media)]),
            ..Default::default()
        })
    }

    fn inferred_responses(
        ctx: &mut aide::generate::GenContext,
        operation: &mut aide::openapi::Operation,
    ) -> Vec<(Option<aide::openapi::StatusCode>, aide::openapi::Response)> {
        Self::operation_response(ctx, operation)
            .map(|r| (Some(aide::openapi::StatusCode::Code(200)), r))
            .into_iter()
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn created_carries_its_location() {
        let response =
            Created::new("/api/v1/customers/7", serde_json::json!({"id": 7})).into_response();
        assert_eq!(response.status(), StatusCode::CREATED);
        assert_eq!(response.headers()[header::LOCATION], "/api/v1/customers/7");
    }
}
