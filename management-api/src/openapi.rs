//! The management API's OpenAPI 3.1 document, generated as the routes are registered: each
//! handler's extractors and answer types say what it reads and writes, and
//! [`crate::access::doc`] gives its tag, summary and callers.

use aide::openapi::OpenApi;
use axum::Router;
use dotmac_web::openapi::About;
use serde_json::Value;

use super::AppState;

/// The routes of `/api/v1` with the document they make.
pub fn build() -> (Router<AppState>, OpenApi) {
    let about = About {
        title: "DotMac management API",
        description: "The platform's API over its custom resources: tenants, plugin licenses and resellers, and what tenant instances report (usage, health, alerts, metrics).",
        token: "An admin, reseller or tenant token (`dotmac-operator token create`, `POST /tokens`), or a signed-in person's bearer session (`POST /sign-in`)",
    };
    dotmac_web::openapi::build(about, super::routes)
}

/// The document, as `GET /api/v1/openapi.json` serves it and `openapi/` holds it.
pub fn spec() -> Result<Value, serde_json::Error> {
    dotmac_web::openapi::finish(build().1)
}

/// The document as committed under `openapi/`: pretty-printed JSON with a final newline.
pub fn pretty() -> Result<String, serde_json::Error> {
    Ok(format!("{:#}\n", spec()?))
}
