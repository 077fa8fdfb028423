//! Status conditions: `metav1.Condition`s that keep their transition time while their status
//! holds, so a status computed again from the same facts is equal and nothing is written.

use k8s_openapi::{
    apimachinery::pkg::apis::meta::v1::{Condition, Time},
    jiff::Timestamp,
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

/// Whether `conditions` has `type_` with status True.
pub fn is_true(conditions: &[Condition], type_: &str) -> bool {
    conditions
        .iter()
        .any(|c| c.type_ == type_ && c.status == "True")
}
