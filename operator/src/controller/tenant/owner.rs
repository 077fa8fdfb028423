//! Which Tenant an object the operator made belongs to.
//!
//! kube's `Controller::owns` names an owner with the child's namespace, so a change to a
//! Deployment in `dotmac-tenant-a` would be queued as Tenant `a` in that namespace: a key
//! distinct from the cluster-scoped Tenant `a`, whose reconciles the controller then runs
//! at the same time as the Tenant's own (a provision racing a cleanup). Children are mapped
//! here instead, always to the cluster-scoped reference.

use kube::{Resource, runtime::reflector::ObjectRef};

use dotmac_platform::crd::Tenant;

/// The Tenant that controls `object`, as the key the Tenant controller queues it under (the
/// mapper of the Tenant controller's watches on its children). Its owner references are the
/// ones `build::desired` writes.
pub fn of<K: Resource>(object: K) -> Option<ObjectRef<Tenant>> {
    object
        .meta()
        .owner_references
        .as_ref()?
        .iter()
        .find(|owner| {
            owner.controller == Some(true)
                && owner.kind == Tenant::kind(&())
                && owner.api_version == Tenant::api_version(&())
        })
        .map(|owner| ObjectRef::new(&owner.name))
}

#[cfg(test)]
mod tests {
    use k8s_openapi::{
        api::apps::v1::Deployment, apimachinery::pkg::apis::meta::v1::OwnerReference,
    };
    use kube::api::ObjectMeta;

    use super::*;

    fn deployment(owners: Vec<OwnerReference>) -> Deployment {
        Deployment {
            metadata: ObjectMeta {
                name: Some("isp-runtime".into()),
                namespace: Some("dotmac-tenant-acme".into()),
                owner_references: Some(owners),
                ..ObjectMeta::default()
            },
            ..Deployment::default()
        }
    }

    fn owner(kind: &str, api_version: &str, controller: bool) -> OwnerReference {
        OwnerReference {
            api_version: api_version.into(),
            kind: kind.into(),
            name: "acme".into(),
            uid: "u".into(),
            controller: Some(controller),
            block_owner_deletion: None,
        }
    }

    #[test]
    fn a_namespaced_child_maps_to_the_cluster_scoped_tenant() {
        let child = deployment(vec![owner("Tenant", "platform.dotmac.io/v1alpha1", true)]);
        let tenant: Tenant = serde_json::from_value(serde_json::json!({
            "apiVersion": "platform.dotmac.io/v1alpha1", "kind": "Tenant",
            "metadata": {"name": "acme"},
            "spec": {"displayName": "Acme", "contactEmail": "noc@acme.example"}
        }))
        .unwrap();
        assert_eq!(of(child.clone()), Some(ObjectRef::from_obj(&tenant)));
        assert_eq!(of(child).and_then(|r| r.namespace), None);
    }

    #[test]
    fn other_owners_are_not_tenants() {
        assert_eq!(of(deployment(vec![])), None);
        assert_eq!(
            of(deployment(vec![owner("Tenant", "other.example/v1", true)])),
            None
        );
        assert_eq!(
            of(deployment(vec![owner(
                "Tenant",
                "platform.dotmac.io/v1alpha1",
                false
            )])),
            None
        );
        assert_eq!(
            of(deployment(vec![owner("ReplicaSet", "apps/v1", true)])),
            None
        );
    }
}
