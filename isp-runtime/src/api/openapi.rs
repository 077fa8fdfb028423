//! The OpenAPI 3.1 document at `/api/v1/openapi.json`, generated as the routes are registered:
//! each handler's extractors and answer types say what it reads and writes (their JSON Schemas
//! come from `schemars`), and [`super::doc`] gives its tag and summary. A route without a
//! handler type aide understands does not compile, so the document cannot drift from the code.

use aide::{
    generate::GenContext,
    openapi::{OpenApi, Operation, Response, StatusCode},
    operation::OperationOutput,
};
use axum::Router;
use dotmac_web::openapi::About;
use serde_json::Value;

use super::{AppState, problem::Problem};
use crate::error::Error;

/// The routes of `/api/v1` with the document they make.
pub fn build() -> (Router<AppState>, OpenApi) {
    let about = About {
        title: "DotMac ISP API",
        description: "One tenant's ISP application: customers, plans, subscriptions, billing, payments and dunning, and the people who sign in to it. Amounts are integer minor units of the record's ISO 4217 currency. Each operation names the permission it needs in `x-permission`; `GET /me` lists the caller's.",
        token: "An API token (`POST /tokens`, or `dotmac-isp admin create-token`), or a bearer session from `POST /sign-in`",
    };
    dotmac_web::openapi::build(about, super::routes)
}

/// The permission of every route, read from the document.
pub fn registry() -> Result<super::access::Registry, String> {
    super::access::registry_of(&build().1)
}

/// The document, as `GET /api/v1/openapi.json` serves it and `openapi/` holds it.
pub fn spec() -> Result<Value, serde_json::Error> {
    dotmac_web::openapi::finish(build().1)
}

/// The document as committed under `openapi/`: pretty-printed JSON with a final newline.
pub fn pretty() -> Result<String, serde_json::Error> {
    Ok(format!("{:#}\n", spec()?))
}

/// A service error is answered as problem+json.
impl OperationOutput for Error {
    type Inner = Problem;

    fn operation_response(ctx: &mut GenContext, operation: &mut Operation) -> Option<Response> {
        Problem::operation_response(ctx, operation)
    }

    fn inferred_responses(
        ctx: &mut GenContext,
        operation: &mut Operation,
    ) -> Vec<(Option<StatusCode>, Response)> {
        Problem::inferred_responses(ctx, operation)
    }
}
