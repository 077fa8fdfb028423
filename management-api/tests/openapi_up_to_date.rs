//! `openapi/management-api.json` holds exactly the document the management API serves: a
//! request or response type changed without regenerating fails here (run `just openapi`).

use std::path::Path;

#[test]
fn the_committed_document_matches_the_types() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../openapi/management-api.json");
    let on_disk = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{} is missing ({e}); run `just openapi`", path.display()));
    assert!(
        on_disk == dotmac_management_api::openapi::pretty().unwrap(),
        "openapi/management-api.json differs from the API's types; run `just openapi` and commit the result"
    );
}
