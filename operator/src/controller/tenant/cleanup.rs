//! The cleanup steps of a deleted Tenant, run by kube-runtime's finalizer helper while the
//! `platform.dotmac.io/cleanup` finalizer holds it: remove the data plane per
//! `deletionPolicy`, delete the namespace and wait until it is gone, saying in the status
//! ([`removal`]) what is gone and what waits. The helper removes the finalizer once these
//! succeed.

use k8s_openapi::jiff::Timestamp;
use kube::{
    Api, ResourceExt,
    api::{DeleteParams, Patch, PatchParams},
    runtime::{controller::Action, events::EventType},
};

use super::{
    Context, Error, event, kube_err, names,
    removal::{self, Removal},
};
use crate::controller::report::status_patch;
use dotmac_platform::crd::{Tenant, TenantStatus, tenant::TenantPhase};

/// Runs every step; `Err(Error::NamespaceTerminating)` while the namespace is still going.
/// The status says after each attempt what is gone and what waits, and for what.
pub async fn cleanup(tenant: &Tenant, ctx: &Context) -> Result<Action, Error> {
    let mut removal = Removal {
        parts: None,
        namespace_terminating: false,
    };
    if let Some(data_plane) = &ctx.data_plane {
        let done = data_plane.cleanup(tenant).await;
        removal.parts = Some(done.parts());
        report(tenant, ctx, &removal).await?;
        if let Some((part, source)) = done.failure() {
            return Err(Error::DataPlane { part, source });
        }
    }
    // Whatever the deletion policy keeps, the instance no longer speaks for the tenant.
    let token = dotmac_management_api::tokens::instance_token_name(&tenant.name_any());
    dotmac_management_api::tokens::revoke(&ctx.platform, &token)
        .await
        .map_err(|source| Error::InstanceToken {
            action: "revoked",
            source,
        })?;
    let namespace = names::namespace(&tenant.name_any());
    if !remove_namespace(ctx, &namespace).await? {
        removal.namespace_terminating = true;
        report(tenant, ctx, &removal).await?;
        return Err(Error::NamespaceTerminating(namespace));
    }
    ctx.applied.forget_namespace(&namespace);
    tracing::info!(tenant = %tenant.name_any(), "tenant cleaned up; releasing the finalizer");
    Ok(Action::await_change())
}

/// Writes the Deleting status for `removal` when it changed, with an event when the deletion
/// starts and a Warning each time it comes to wait for something new.
async fn report(tenant: &Tenant, ctx: &Context, removal: &Removal) -> Result<(), Error> {
    let status = removal::status(tenant, removal, Timestamp::now());
    let old = tenant.status.as_ref();
    if old == Some(&status) {
        return Ok(());
    }
    let written = Api::<Tenant>::all(ctx.client.clone())
        .patch_status(
            &tenant.name_any(),
            &PatchParams::default(),
            &Patch::Merge(status_patch(old, &status)),
        )
        .await;
    match written {
        Ok(_) => {}
        // Gone already (a queued reconcile of a Tenant whose finalizer was just released):
        // nothing is left to report on.
        Err(kube::Error::Api(s)) if s.code == 404 => return Ok(()),
        Err(e) => return Err(kube_err("write the Deleting status")(e)),
    }
    if old.and_then(|s| s.phase) != Some(TenantPhase::Deleting) {
        let note = "removing the tenant's data plane and namespace".to_owned();
        event(ctx, tenant, EventType::Normal, "Deleting", note).await;
    }
    let blocked = |s: &TenantStatus| {
        s.conditions
            .iter()
            .find(|c| c.type_ == "CleanupBlocked" && c.status == "True")
            .map(|c| c.message.clone())
    };
    if let Some(message) = blocked(&status)
        && old.and_then(blocked).as_ref() != Some(&message)
    {
        tracing::warn!(tenant = %tenant.name_any(), %message, "the deletion waits");
        event(ctx, tenant, EventType::Warning, "CleanupBlocked", message).await;
    }
    Ok(())
}

/// Requests the namespace's deletion; `true` once it is gone.
async fn remove_namespace(ctx: &Context, namespace: &str) -> Result<bool, Error> {
    let namespaces: Api<k8s_openapi::api::core::v1::Namespace> = Api::all(ctx.client.clone());
    let Some(ns) = namespaces
        .get_opt(namespace)
        .await
        .map_err(kube_err("read the namespace"))?
    else {
        return Ok(true);
    };
    if ns.metadata.deletion_timestamp.is_none() {
        match namespaces
            .delete(namespace, &DeleteParams::background())
            .await
        {
            Ok(_) => tracing::info!(%namespace, "namespace deletion requested"),
            Err(kube::Error::Api(s)) if s.code == 404 => return Ok(true),
            Err(e) => return Err(kube_err("delete the namespace")(e)),
        }
    }
    Ok(false)
}
