//! Reporting from a reconcile: Events, and merge patches for status that also clear what the
//! new status no longer has.

use kube::{
    Resource,
    runtime::events::{Event, Recorder},
};

/// Publishes `event` about `object`. Events are for people and the status is the record, so a
/// failure is logged (inside the reconcile's span, which names the object), never fatal.
pub async fn publish<K: Resource<DynamicType = ()>>(recorder: &Recorder, object: &K, event: Event) {
    if let Err(error) = recorder.publish(&event, &object.object_ref(&())).await {
        tracing::warn!(kind = %K::kind(&()), name = object.meta().name.as_deref().unwrap_or_default(), reason = %event.reason, %error, "could not publish an event");
    }
}

/// A JSON merge patch that turns `old` into `new`: `new`'s fields, and `null` for each field
/// `old` had that `new` leaves out (an emptied list is left out when serialised, and a merge
/// patch without it would keep the old one).
pub fn status_patch<T: serde::Serialize>(old: Option<&T>, new: &T) -> serde_json::Value {
    let mut value = serde_json::to_value(new).unwrap_or_default();
    let old = old.and_then(|o| serde_json::to_value(o).ok());
    if let (Some(serde_json::Value::Object(old)), serde_json::Value::Object(fields)) =
        (old, &mut value)
    {
        for key in old.keys() {
            if !fields.contains_key(key) {
                fields.insert(key.clone(), serde_json::Value::Null);
            }
        }
    }
    serde_json::json!({ "status": value })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_status_patch_clears_what_the_new_status_left_out() {
        let old = serde_json::json!({"state": "Active", "entitlements": ["advanced_billing"]});
        let new = serde_json::json!({"state": "Expired"});
        assert_eq!(
            status_patch(Some(&old), &new),
            serde_json::json!({"status": {"state": "Expired", "entitlements": null}})
        );
    }
}
