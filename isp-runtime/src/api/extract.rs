//! Request extractors: dotmac-web's, which answer bad input with problem+json naming the field,
//! and the `Idempotency-Key` header of the routes that record money or usage.

use aide::{
    generate::GenContext,
    openapi::{Operation, Parameter, ParameterData, ParameterSchemaOrContent, SchemaObject},
    operation::{OperationInput, add_parameters},
};
use axum::{extract::FromRequestParts, http::request::Parts};
pub use dotmac_web::extract::{Body, Id, OptionalBody, Params};

use crate::error::Error;

/// The `Idempotency-Key` header, if sent: 1–255 visible characters. A retry with the same key
/// answers what the first request recorded.
pub struct IdempotencyKey(pub Option<String>);

impl<S: Send + Sync> FromRequestParts<S> for IdempotencyKey {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Error> {
        parts
            .headers
            .get("idempotency-key")
            .map(|v| {
                v.to_str()
                    .ok()
                    .filter(|k| !k.is_empty() && k.len() <= 255)
                    .map(str::to_owned)
                    .ok_or_else(|| {
                        Error::invalid("Idempotency-Key", "must be 1–255 visible characters")
                    })
            })
            .transpose()
            .map(Self)
    }
}

impl OperationInput for IdempotencyKey {
    fn operation_input(ctx: &mut GenContext, operation: &mut Operation) {
        let parameter = Parameter::Header {
            parameter_data: ParameterData {
                name: "Idempotency-Key".to_owned(),
                description: Some(
                    "Makes a retry safe: a request with a key already used answers what the first recorded (200), or 409 if its body differs".to_owned(),
                ),
                required: false,
                deprecated: None,
                format: ParameterSchemaOrContent::Schema(SchemaObject {
                    json_schema: schemars::json_schema!({
                        "type": "string", "minLength": 1, "maxLength": 255
                    }),
                    example: None,
                    external_docs: None,
                }),
                example: None,
                examples: Default::default(),
                explode: None,
                extensions: Default::default(),
            },
            style: aide::openapi::HeaderStyle::Simple,
        };
        add_parameters(ctx, operation, [parameter]);
    }
}
