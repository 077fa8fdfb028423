//! Applying desired objects with server-side apply, and pruning the ones no longer desired.
//!
//! An object is applied only when it differs from what this process last applied or someone
//! else changed it since (its resourceVersion moved), so a steady state writes nothing.

use std::{
    collections::HashMap,
    sync::{Mutex, PoisonError},
};

use kube::{
    Api, Client,
    api::{DeleteParams, DynamicObject, Patch, PatchParams},
    core::{ApiResource, GroupVersionKind},
};
use serde_json::Value;

use super::{
    build::{Desired, Kind, hash},
    names::{MANAGER, TENANT_LABEL},
};

/// What this process last applied: object key → (manifest hash, resourceVersion after apply).
#[derive(Debug, Default)]
pub struct AppliedCache(Mutex<HashMap<String, (String, String)>>);

impl AppliedCache {
    fn get(&self, key: &str) -> Option<(String, String)> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(key)
            .cloned()
    }

    fn set(&self, key: String, value: (String, String)) {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(key, value);
    }

    /// Forgets everything about a tenant's objects (after its deletion).
    pub fn forget_namespace(&self, namespace: &str) {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .retain(|k, _| !k.contains(&format!("/{namespace}/")));
    }
}

fn resource(kind: Kind) -> ApiResource {
    let (group, version, kind_name, plural) = kind.gvk();
    ApiResource::from_gvk_with_plural(&GroupVersionKind::gvk(group, version, kind_name), plural)
}

fn api(client: &Client, kind: Kind, namespace: Option<&str>) -> Api<DynamicObject> {
    let ar = resource(kind);
    match namespace {
        Some(ns) => Api::namespaced_with(client.clone(), ns, &ar),
        None => Api::all_with(client.clone(), &ar),
    }
}

fn key(kind: Kind, namespace: Option<&str>, name: &str) -> String {
    format!("{kind:?}/{}/{name}", namespace.unwrap_or_default())
}

fn to_value(object: &DynamicObject) -> Result<Value, kube::Error> {
    serde_json::to_value(object).map_err(kube::Error::SerdeError)
}

/// Applies `desired` unless the live object already is what this process applied last;
/// returns the live object. The typed object is serialised here, and only here.
pub async fn apply(
    client: &Client,
    cache: &AppliedCache,
    desired: &Desired,
) -> Result<Value, kube::Error> {
    let (kind, name) = (desired.kind(), desired.name());
    let api = api(client, kind, desired.namespace());
    let key = key(kind, desired.namespace(), name);
    let manifest = desired.manifest().map_err(kube::Error::SerdeError)?;
    let wanted = hash(&manifest);
    if let Some(live) = api.get_opt(name).await? {
        let rv = live.metadata.resource_version.clone().unwrap_or_default();
        if cache.get(&key) == Some((wanted.clone(), rv)) {
            return to_value(&live);
        }
    }
    let applied = api
        .patch(
            name,
            &PatchParams::apply(MANAGER).force(),
            &Patch::Apply(&manifest),
        )
        .await?;
    cache.set(
        key,
        (
            wanted,
            applied
                .metadata
                .resource_version
                .clone()
                .unwrap_or_default(),
        ),
    );
    to_value(&applied)
}

/// Deletes the tenant's objects of `kind` in `namespace` named `name` when they exist, carry
/// the tenant's label and are no longer desired. Returns whether something was deleted.
pub async fn prune(
    client: &Client,
    kind: Kind,
    namespace: &str,
    name: &str,
    tenant: &str,
) -> Result<bool, kube::Error> {
    let api = api(client, kind, Some(namespace));
    match api.get_opt(name).await? {
        Some(live)
            if live
                .metadata
                .labels
                .as_ref()
                .and_then(|l| l.get(TENANT_LABEL))
                .map(String::as_str)
                == Some(tenant)
                && live.metadata.deletion_timestamp.is_none() =>
        {
            api.delete(name, &DeleteParams::background()).await?;
            Ok(true)
        }
        _ => Ok(false),
    }
}
