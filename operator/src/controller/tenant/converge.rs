//! The apply steps of a Tenant reconcile: the desired objects applied in order, the optional
//! ones no longer wanted pruned, and what the live namespace and Deployment say.

use std::collections::HashMap;

use kube::ResourceExt;
use serde_json::Value;

use super::{
    Context, Error, apply,
    build::{Desired, Kind},
    kube_err, names,
    status::Observed,
};
use dotmac_platform::crd::Tenant;

/// The live objects after apply, by kind.
pub type Live = HashMap<Kind, Value>;

/// Kinds that come and go with the spec (domain, autoscaling, replicas, radius).
const OPTIONAL: [Kind; 4] = [
    Kind::RadiusService,
    Kind::Ingress,
    Kind::HorizontalPodAutoscaler,
    Kind::PodDisruptionBudget,
];

/// Server-side applies `desired` in order; stops at the first failure.
pub async fn apply_all(ctx: &Context, desired: &[Desired]) -> Result<Live, Error> {
    let mut live = Live::new();
    for object in desired {
        let value = apply::apply(&ctx.client, &ctx.applied, object)
            .await
            .map_err(kube_err(format!(
                "apply {:?} {}",
                object.kind(),
                object.name()
            )))?;
        live.insert(object.kind(), value);
    }
    Ok(live)
}

/// Deletes the optional objects that `desired` no longer has.
pub async fn prune_unwanted(
    tenant: &Tenant,
    ctx: &Context,
    desired: &[Desired],
) -> Result<(), Error> {
    let name = tenant.name_any();
    let namespace = names::namespace(&name);
    for kind in OPTIONAL {
        if !desired.iter().any(|d| d.kind() == kind)
            && apply::prune(&ctx.client, kind, &namespace, kind.object_name(), &name)
                .await
                .map_err(kube_err(format!("prune {kind:?}")))?
        {
            tracing::info!(tenant = %name, ?kind, "pruned an object no longer desired");
        }
    }
    Ok(())
}

/// Records what the live namespace and Deployment say: whether the namespace is Active, the
/// ready replicas and where the rollout stands.
pub fn read_live(observed: &mut Observed, live: &Live) {
    observed.applied = true;
    observed.namespace_active = live
        .get(&Kind::Namespace)
        .and_then(|ns| ns.pointer("/status/phase"))
        .and_then(Value::as_str)
        == Some("Active");
    if let Some(deployment) = live.get(&Kind::Deployment) {
        let number = |pointer: &str| deployment.pointer(pointer).and_then(Value::as_i64);
        observed.ready_replicas = number("/status/readyReplicas")
            .and_then(|n| i32::try_from(n).ok())
            .unwrap_or(0);
        let generation = number("/metadata/generation");
        observed.first_version = generation == Some(1);
        observed.rollout_observed = number("/status/observedGeneration") >= generation;
        // Pods of an older template still running, or fewer of the current one than wanted.
        let wanted = number("/spec/replicas").unwrap_or(1);
        let updated = number("/status/updatedReplicas").unwrap_or(0);
        let total = number("/status/replicas").unwrap_or(0);
        observed.rolling = updated < wanted || total > updated;
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn the_live_namespace_and_deployment_are_read() {
        let mut observed = Observed::default();
        let live = Live::from([
            (Kind::Namespace, json!({"status": {"phase": "Active"}})),
            (
                Kind::Deployment,
                json!({"metadata": {"generation": 2},
                       "status": {"readyReplicas": 2, "observedGeneration": 1}}),
            ),
        ]);
        read_live(&mut observed, &live);
        assert!(observed.namespace_active);
        assert_eq!(observed.ready_replicas, 2);
        assert!(!observed.first_version);
        assert!(!observed.rollout_observed, "generation 2 not yet observed");
        assert!(observed.applied);

        let mut rolling = Observed::default();
        let live = Live::from([(
            Kind::Deployment,
            json!({"metadata": {"generation": 3}, "spec": {"replicas": 2},
                   "status": {"observedGeneration": 3, "replicas": 3, "updatedReplicas": 1, "readyReplicas": 2}}),
        )]);
        read_live(&mut rolling, &live);
        assert!(rolling.rolling, "old pods still running beside the new one");
        let mut settled = Observed::default();
        let live = Live::from([(
            Kind::Deployment,
            json!({"metadata": {"generation": 3}, "spec": {"replicas": 2},
                   "status": {"observedGeneration": 3, "replicas": 2, "updatedReplicas": 2, "readyReplicas": 1}}),
        )]);
        read_live(&mut settled, &live);
        assert!(
            !settled.rolling,
            "a pod of the current version is not ready: no rollout"
        );

        let mut fresh = Observed::default();
        let live = Live::from([
            (Kind::Namespace, json!({"status": {"phase": "Terminating"}})),
            (
                Kind::Deployment,
                json!({"metadata": {"generation": 1}, "status": {}}),
            ),
        ]);
        read_live(&mut fresh, &live);
        assert!(!fresh.namespace_active);
        assert_eq!(fresh.ready_replicas, 0, "no ready replicas reported yet");
        assert!(fresh.first_version);
    }
}
