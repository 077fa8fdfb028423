//! The observe step of a Tenant reconcile: everything read before anything is applied (the
//! reseller, the licenses' features, the data plane and its credentials), as one value.

use dotmac_contract::instance;
use kube::{Api, ResourceExt};
use serde_json::json;

use super::{
    Context, Error,
    build::{self, Inputs},
    dataplane::Blocked,
    kube_err,
    names::{self, CREDENTIALS_SECRET},
    status::Observed,
};
use dotmac_platform::{
    catalog,
    crd::{Reseller, Tenant},
};

/// What the observe step found.
#[derive(Debug)]
pub enum Observation {
    /// The spec cannot be applied as it is (its reseller does not exist, or it holds a fault
    /// the schema cannot refuse): nothing is applied.
    Held(Observed),
    /// A data-plane part is not in place: nothing is applied.
    Blocked(Observed, Error),
    /// Everything the desired objects are built from.
    Ready(Observed, Inputs),
}

/// Reads what the tenant's objects depend on. Fails only when the Kubernetes API cannot be
/// read; a spec that cannot be applied or a data-plane part that is not ready is an
/// [`Observation`].
pub async fn observe(tenant: &Tenant, ctx: &Context) -> Result<Observation, Error> {
    let name = tenant.name_any();
    // Entitlements written from an empty cache would withdraw every licensed feature.
    let licenses = ctx.licenses.synced().await.state();
    let mut observed = Observed {
        wanted_replicas: build::wanted_replicas(tenant),
        licensed: catalog::licensed(licenses.iter().map(AsRef::as_ref), &name),
        ..Observed::default()
    };
    if let Some(fault) = tenant.spec.fault() {
        observed.invalid_spec = Some(fault);
        return Ok(Observation::Held(observed));
    }
    if let Some(reseller) = &tenant.spec.reseller_ref
        && !reseller_exists(ctx, reseller).await?
    {
        observed.missing_reseller = Some(reseller.clone());
        return Ok(Observation::Held(observed));
    }
    let licensed = catalog::licensed_plugins(licenses.iter().map(AsRef::as_ref), &name);
    let (mail_hash, mail) = mail_secret(tenant, ctx).await?;
    observed.mail = mail;
    let Some(data_plane) = &ctx.data_plane else {
        let credentials_hash = external_credentials_hash(tenant, ctx).await?;
        return Ok(Observation::Ready(
            observed,
            Inputs {
                credentials_hash,
                credentials: None,
                licensed,
                mail_hash,
            },
        ));
    };
    let provisioned = data_plane.provision(tenant).await;
    observed.data_plane = Some(provisioned.state);
    if let Ok(data) = &provisioned.secret_data
        && let Some(token) = data.get(instance::MANAGEMENT_API_TOKEN)
        && let Err(source) =
            dotmac_management_api::tokens::ensure_instance(&ctx.platform, &name, token).await
    {
        let error = Error::InstanceToken {
            action: "recorded",
            source,
        };
        observed.failure = Some((error.reason(), error.to_string()));
        return Ok(Observation::Blocked(observed, error));
    }
    Ok(match provisioned.secret_data {
        Ok(data) => Observation::Ready(
            observed,
            Inputs {
                credentials_hash: build::hash(&json!(data)),
                credentials: Some(data),
                licensed,
                mail_hash,
            },
        ),
        Err(Blocked { part, error }) => Observation::Blocked(
            observed,
            Error::DataPlane {
                part,
                source: error,
            },
        ),
    })
}

async fn reseller_exists(ctx: &Context, name: &str) -> Result<bool, Error> {
    Ok(Api::<Reseller>::all(ctx.client.clone())
        .get_opt(name)
        .await
        .map_err(kube_err("read the reseller"))?
        .is_some())
}

/// The hash of the SMTP URL `spec.mail.smtpSecretRef` names, and whether it is there: `None`
/// without `spec.mail`, else found or what is missing. The tenant's namespace may not exist
/// yet (a new tenant): then the Secret is missing too.
async fn mail_secret(
    tenant: &Tenant,
    ctx: &Context,
) -> Result<(String, Option<Result<(), String>>), Error> {
    let Some(mail) = &tenant.spec.mail else {
        return Ok((String::new(), None));
    };
    let namespace = names::namespace(&tenant.name_any());
    let reference = &mail.smtp_secret_ref;
    let secrets: Api<k8s_openapi::api::core::v1::Secret> =
        Api::namespaced(ctx.client.clone(), &namespace);
    let secret = secrets
        .get_opt(&reference.name)
        .await
        .map_err(kube_err("read the SMTP Secret"))?;
    let value = secret
        .as_ref()
        .and_then(|s| s.data.as_ref())
        .and_then(|data| data.get(&reference.key));
    Ok(match (secret.is_some(), value) {
        (_, Some(value)) => (build::hash(&json!(value)), Some(Ok(()))),
        (true, None) => (
            String::new(),
            Some(Err(format!(
                "Secret {namespace}/{} has no key {:?} (spec.mail.smtpSecretRef)",
                reference.name, reference.key
            ))),
        ),
        (false, None) => (
            String::new(),
            Some(Err(format!(
                "Secret {namespace}/{} named in spec.mail.smtpSecretRef does not exist",
                reference.name
            ))),
        ),
    })
}

/// Without a data plane the credentials Secret may be managed elsewhere; its contents still
/// roll the pods. Empty while it does not exist.
async fn external_credentials_hash(tenant: &Tenant, ctx: &Context) -> Result<String, Error> {
    let secrets: Api<k8s_openapi::api::core::v1::Secret> =
        Api::namespaced(ctx.client.clone(), &names::namespace(&tenant.name_any()));
    Ok(secrets
        .get_opt(CREDENTIALS_SECRET)
        .await
        .map_err(kube_err("read the credentials Secret"))?
        .map(|secret| build::hash(&json!(secret.data)))
        .unwrap_or_default())
}
