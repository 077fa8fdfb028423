//! The management API's OpenAPI 3.1 document, generated as the routes are registered: each
//! handler's extractors and answer types say what it reads and writes, and
//! `dotmac_web::openapi::summary` gives its tag and summary.

use std::sync::OnceLock;

use aide::openapi::{OpenApi, SecurityScheme, Server};
use axum::{Json, Router};
use dotmac_web::problem::Problem;
use serde_json::Value;

use super::AppState;

/// The routes of `/api/v1` with the document they make.
pub fn build() -> (Router<AppState>, OpenApi) {
    dotmac_web::openapi::use_draft_2020_12();
    let mut api = OpenApi {
        json_schema_dialect: Some("https://json-schema.org/draft/2020-12/schema".to_owned()),
        servers: vec![Server {
            url: "/api/v1".to_owned(),
            ..Default::default()
        }],
        ..Default::default()
    };
    let bearer = SecurityScheme::Http {
        scheme: "bearer".to_owned(),
        bearer_format: None,
        description: Some(
            "An admin, reseller or tenant token from `dotmac-operator token create`".to_owned(),
        ),
        extensions: Default::default(),
    };
    let router = super::routes().finish_api_with(&mut api, |doc| {
        doc.title("DotMac management API")
            .version(env!("CARGO_PKG_VERSION"))
            .security_scheme("bearer", bearer)
            .security_requirement("bearer")
    });
    (router, api)
}

/// The document, as `GET /api/v1/openapi.json` serves it and `openapi/` holds it.
pub fn spec() -> Result<Value, serde_json::Error> {
    dotmac_web::openapi::finish(build().1)
}

/// The document as committed under `openapi/`: pretty-printed JSON with a final newline.
pub fn pretty() -> Result<String, serde_json::Error> {
    Ok(format!("{:#}\n", spec()?))
}

/// `GET /api/v1/openapi.json`.
pub async fn document() -> Result<Json<Value>, Problem> {
    static DOCUMENT: OnceLock<Value> = OnceLock::new();
    if let Some(document) = DOCUMENT.get() {
        return Ok(Json(document.clone()));
    }
    let document = spec().map_err(|error| {
        tracing::error!(%error, "building the OpenAPI document failed");
        Problem::internal()
    })?;
    Ok(Json(DOCUMENT.get_or_init(|| document).clone()))
}
