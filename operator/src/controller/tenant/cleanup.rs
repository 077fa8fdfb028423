//! The cleanup steps of a deleted Tenant, run by kube-runtime's finalizer helper while the
//! `platform.dotmac.io/cleanup` finalizer holds it: mark it Deleting, remove the data plane
//! per `deletionPolicy`, delete the namespace and wait until it is gone. The helper removes
//! the finalizer once these succeed.

use kube::{
    Api, ResourceExt,
    api::{DeleteParams, Patch, PatchParams},
    runtime::{controller::Action, events::EventType},
};
use serde_json::json;

use super::{Context, Error, event, kube_err, names};
use dotmac_platform::crd::{Tenant, tenant::TenantPhase};

/// Runs every step; `Err(Error::NamespaceTerminating)` while the namespace is still going.
pub async fn cleanup(tenant: &Tenant, ctx: &Context) -> Result<Action, Error> {
    mark_deleting(tenant, ctx).await?;
    if let Some(data_plane) = &ctx.data_plane {
        data_plane
            .cleanup(tenant)
            .await
            .map_err(|source| Error::DataPlane {
                part: "data plane cleanup",
                source,
            })?;
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
    remove_namespace(ctx, &namespace).await?;
    ctx.applied.forget_namespace(&namespace);
    tracing::info!(tenant = %tenant.name_any(), "tenant cleaned up; releasing the finalizer");
    Ok(Action::await_change())
}

/// Sets phase Deleting (once) and says so in an event.
async fn mark_deleting(tenant: &Tenant, ctx: &Context) -> Result<(), Error> {
    if tenant.status.as_ref().and_then(|s| s.phase) == Some(TenantPhase::Deleting) {
        return Ok(());
    }
    let mut status = tenant.status.clone().unwrap_or_default();
    status.phase = Some(TenantPhase::Deleting);
    Api::<Tenant>::all(ctx.client.clone())
        .patch_status(
            &tenant.name_any(),
            &PatchParams::default(),
            &Patch::Merge(json!({"status": status})),
        )
        .await
        .map_err(kube_err("mark the tenant Deleting"))?;
    event(
        ctx,
        tenant,
        EventType::Normal,
        "Deleting",
        "removing the tenant's objects and namespace".into(),
    )
    .await;
    Ok(())
}

/// Requests the namespace's deletion; `Ok` once it is gone.
async fn remove_namespace(ctx: &Context, namespace: &str) -> Result<(), Error> {
    let namespaces: Api<k8s_openapi::api::core::v1::Namespace> = Api::all(ctx.client.clone());
    let Some(ns) = namespaces
        .get_opt(namespace)
        .await
        .map_err(kube_err("read the namespace"))?
    else {
        return Ok(());
    };
    if ns.metadata.deletion_timestamp.is_none() {
        match namespaces
            .delete(namespace, &DeleteParams::background())
            .await
        {
            Ok(_) => tracing::info!(%namespace, "namespace deletion requested"),
            Err(kube::Error::Api(s)) if s.code == 404 => return Ok(()),
            Err(e) => return Err(kube_err("delete the namespace")(e)),
        }
    }
    Err(Error::NamespaceTerminating(namespace.to_owned()))
}
