//! Path parameters by name: the tenant of `{tenant_id}` and the record of `{name}`. Each
//! documents itself in the OpenAPI document under the name the route uses.

use aide::{generate::GenContext, openapi::Operation, operation::OperationInput};
use axum::{
    extract::{FromRequestParts, Path},
    http::request::Parts,
};
use dotmac_web::problem::Problem;

/// Declares an extractor of one named `String` path parameter.
macro_rules! path_parameter {
    ($name:ident, $param:literal, $description:literal) => {
        #[doc = concat!("The `{", $param, "}` of a path: ", $description)]
        pub struct $name(pub String);

        impl<S: Send + Sync> FromRequestParts<S> for $name {
            type Rejection = Problem;

            async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Problem> {
                Path::<String>::from_request_parts(parts, state)
                    .await
                    .map(|Path(value)| Self(value))
                    .map_err(|_| Problem::not_found("no such record"))
            }
        }

        impl OperationInput for $name {
            fn operation_input(ctx: &mut GenContext, operation: &mut Operation) {
                dotmac_web::openapi::path_parameter::<String>(ctx, operation, $param, $description);
            }
        }
    };
}

path_parameter!(TenantId, "tenant_id", "the tenant's name.");
path_parameter!(Name, "name", "the record's name.");
