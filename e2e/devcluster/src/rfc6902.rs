//! JSON patches (RFC 6902) as the Kubernetes API server applies them: like the RFC, except
//! that a `test` of `null` passes on a path that does not exist (kube-runtime's finalizer
//! helper tests `/metadata/finalizers` against `null` before adding the first one).

use json_patch::{Patch, PatchOperation};
use serde_json::Value;

use crate::status::ApiError;

/// Applies the patch `body` to `doc`, all or nothing: on an error `doc` is unchanged.
pub fn apply(doc: &mut Value, body: Value) -> Result<(), ApiError> {
    let ops: Patch = serde_json::from_value(body)
        .map_err(|e| ApiError::bad_request(format!("invalid JSON patch: {e}")))?;
    let mut patched = doc.clone();
    for op in ops.0 {
        if let PatchOperation::Test(test) = &op
            && test.value.is_null()
            && patched.pointer(test.path.as_str()).is_none()
        {
            continue;
        }
        json_patch::patch(&mut patched, &[op]).map_err(|e| ApiError {
            code: 422,
            reason: "Invalid",
            message: format!("the server rejected our request due to an error in our request: {e}"),
            details: None,
        })?;
    }
    *doc = patched;
    Ok(())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn a_null_test_passes_on_a_missing_path_and_fails_on_a_present_one() {
        let mut doc = json!({"metadata": {"name": "a"}});
        let add_first = json!([
            {"op": "test", "path": "/metadata/finalizers", "value": null},
            {"op": "add", "path": "/metadata/finalizers", "value": ["x"]},
        ]);
        apply(&mut doc, add_first.clone()).unwrap();
        assert_eq!(doc["metadata"]["finalizers"], json!(["x"]));
        let error = apply(&mut doc, add_first).unwrap_err();
        assert_eq!(error.code, 422);
        assert_eq!(doc["metadata"]["finalizers"], json!(["x"]), "unchanged");
    }

    #[test]
    fn a_failed_operation_leaves_the_document_unchanged() {
        let mut doc = json!({"spec": {"replicas": 1}});
        let error = apply(
            &mut doc,
            json!([
                {"op": "replace", "path": "/spec/replicas", "value": 3},
                {"op": "test", "path": "/spec/replicas", "value": 1},
            ]),
        )
        .unwrap_err();
        assert_eq!(error.code, 422);
        assert_eq!(doc, json!({"spec": {"replicas": 1}}));
        assert_eq!(apply(&mut doc, json!({"op": 1})).unwrap_err().code, 400);
    }
}
