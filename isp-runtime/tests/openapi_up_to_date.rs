//! `openapi/isp-runtime.json` holds exactly the document an instance serves: a request or
//! response type changed without regenerating fails here (run `just openapi`).

use std::path::Path;

#[test]
fn the_committed_document_matches_the_types() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../openapi/isp-runtime.json");
    let on_disk = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{} is missing ({e}); run `just openapi`", path.display()));
    assert!(
        on_disk == dotmac_isp::api::openapi::pretty().unwrap(),
        "openapi/isp-runtime.json differs from the API's types; run `just openapi` and commit the result"
    );
}
