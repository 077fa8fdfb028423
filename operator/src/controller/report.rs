//! Writing status: `metav1.Condition`s that keep their transition time while their status
//! holds (so a status computed again from the same facts is equal and nothing is written), and
//! merge patches that also clear what the new status no longer has.

use k8s_openapi::{
    apimachinery::pkg::apis::meta::v1::{Condition, Time},
    jiff::Timestamp,
};
use kube::{
    Resource,
    runtime::events::{Event, Recorder},
};

/// A condition of `type_`, True when `ok`; its `lastTransitionTime` is the previous one of
/// the same type while the status is unchanged, `now` otherwise.
pub fn condition(
    previous: &[Condition],
    generation: Option<i64>,
    type_: &str,
    ok: bool,
    reason: &str,
    message: String,
    now: &Timestamp,
) -> Condition {
    let status = if ok { "True" } else { "False" }.to_owned();
    let last_transition_time = match previous.iter().find(|c| c.type_ == type_) {
        Some(p) if p.status == status => p.last_transition_time.clone(),
        _ => Time(*now),
    };
    Condition {
        type_: type_.to_owned(),
        status,
        reason: reason.to_owned(),
        message,
        observed_generation: generation,
        last_transition_time,
    }
}

/// Publishes `event` about `object`. Events are for people and the status is the record, so a
/// failure is logged (inside the reconcile's span, which names the object), never fatal.
pub async fn publish<K: Resource<DynamicType = ()>>(recorder: &Recorder, object: &K, event: Event) {
    if let Err(error) = recorder.publish(&event, &object.object_ref(&())).await {
        tracing::warn!(kind = %K::kind(&()), name = object.meta().name.as_deref().unwrap_or_default(), reason = %event.reason, %error, "could not publish an event");
    }
}

/// Whether `conditions` has `type_` with status True.
pub fn is_true(conditions: &[Condition], type_: &str) -> bool {
    conditions
        .iter()
        .any(|c| c.type_ == type_ && c.status == "True")
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
        let old = serde_json::json!({"state": "Active", "entitlements": ["voip"]});
        let new = serde_json::json!({"state": "Expired"});
        assert_eq!(
            status_patch(Some(&old), &new),
            serde_json::json!({"status": {"state": "Expired", "entitlements": null}})
        );
    }
}
