//! The object store and the API semantics on top of it: resource versions and conflicts,
//! generation, server-side apply ownership, finalizers and deletion, owner-reference garbage
//! collection, namespace termination, the watch history, and the simulated controllers.
//!
//! Every method runs under the server's single lock, so each write is atomic and totally
//! ordered by `resourceVersion`.

use std::{
    collections::{BTreeMap, HashMap, VecDeque},
    sync::Arc,
    time::{Duration, Instant},
};

use serde_json::{Map, Value, json};
use tokio::sync::broadcast;

mod access;
mod apply;
mod controllers;
mod delete;
mod write;

use crate::{
    fields::{self, Part},
    resources::{GroupResource, Registry, ResourceType},
    selectors::{FieldSelector, LabelSelector},
    status::ApiError,
};

/// Kind of a watch event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventType {
    /// Object created.
    Added,
    /// Object changed.
    Modified,
    /// Object removed.
    Deleted,
}

impl EventType {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Added => "ADDED",
            Self::Modified => "MODIFIED",
            Self::Deleted => "DELETED",
        }
    }
}

/// One change, as watches see it.
#[derive(Debug)]
pub struct WatchEvent {
    /// resourceVersion of the change.
    pub rv: u64,
    /// What happened.
    pub event_type: EventType,
    /// Type of the object.
    pub gr: GroupResource,
    /// Namespace ("" for cluster-scoped).
    pub namespace: String,
    /// The object after the change (before removal for deletions).
    pub object: Arc<Value>,
}

/// A change for persistence.
#[derive(Debug, Clone)]
pub enum Change {
    /// Object stored or replaced.
    Upsert(GroupResource, String, String, Arc<Value>),
    /// Object removed.
    Delete(GroupResource, String, String),
    /// The latest resourceVersion after the changes before it: kept so that a restarted
    /// devcluster never hands out a version it already has (a delete leaves no object to
    /// remember it by), as etcd's revision never goes back.
    Revision(u64),
}

/// How unknown fields of a custom resource are treated (`fieldValidation`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldValidation {
    /// Reject with 400.
    Strict,
    /// Drop them and warn.
    Warn,
    /// Drop them silently.
    Ignore,
}

/// Who writes and how.
#[derive(Debug, Clone)]
pub struct WriteCtx {
    /// Field manager.
    pub manager: String,
    /// `dryRun=All`: validate and answer, but store nothing.
    pub dry_run: bool,
    /// Unknown-field handling.
    pub validation: FieldValidation,
}

/// The result of a write.
#[derive(Debug)]
pub struct Written {
    /// The object as stored (or as it would be, for a dry run).
    pub object: Value,
    /// `Warning` headers to send.
    pub warnings: Vec<String>,
    /// Whether the write created the object.
    pub created: bool,
}

/// Patch formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PatchType {
    /// `application/merge-patch+json`.
    Merge,
    /// `application/json-patch+json`.
    Json,
    /// `application/strategic-merge-patch+json` (handled as merge for built-in kinds).
    Strategic,
    /// `application/apply-patch+yaml`: server-side apply.
    Apply {
        /// Take fields from other managers instead of failing.
        force: bool,
    },
}

/// Dependents' fate when their owner is deleted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Propagation {
    /// Delete the owner now and its dependents after.
    Background,
    /// Delete the dependents first, then the owner.
    Foreground,
    /// Keep the dependents, without the owner reference.
    Orphan,
}

/// Options of a delete.
#[derive(Debug, Clone)]
pub struct DeleteOpts {
    /// What happens to dependents.
    pub propagation: Propagation,
    /// Only delete if the uid matches.
    pub uid: Option<String>,
    /// Only delete if the resourceVersion matches.
    pub resource_version: Option<String>,
    /// Store nothing.
    pub dry_run: bool,
    /// `gracePeriodSeconds`: how long a running pod's processes get to stop; 0 removes it at
    /// once.
    pub grace: Option<i64>,
}

type ObjKey = (String, String);

/// Manager name the simulated controllers write status with.
const CONTROLLER_MANAGER: &str = "devcluster-controllers";

/// The current time as Kubernetes writes timestamps.
pub fn now() -> String {
    jiff::Timestamp::now()
        .strftime("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

fn meta_str<'a>(object: &'a Value, field: &str) -> Option<&'a str> {
    object.get("metadata")?.get(field)?.as_str()
}

fn meta_mut(object: &mut Value) -> &mut Map<String, Value> {
    if !object.get("metadata").is_some_and(Value::is_object) {
        object["metadata"] = json!({});
    }
    match object.get_mut("metadata") {
        Some(Value::Object(map)) => map,
        _ => unreachable!("metadata was just made an object"),
    }
}

fn finalizers(object: &Value) -> Vec<String> {
    object
        .pointer("/metadata/finalizers")
        .and_then(Value::as_array)
        .map(|f| {
            f.iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

fn set_finalizers(object: &mut Value, list: &[String]) {
    let meta = meta_mut(object);
    if list.is_empty() {
        meta.remove("finalizers");
    } else {
        meta.insert("finalizers".into(), json!(list));
    }
}

fn owner_uids(object: &Value) -> Vec<String> {
    object
        .pointer("/metadata/ownerReferences")
        .and_then(Value::as_array)
        .map(|refs| {
            refs.iter()
                .filter_map(|r| r.get("uid").and_then(Value::as_str))
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

/// Everything but metadata and status: what moves `metadata.generation`.
fn spec_of(object: &Value) -> Value {
    let mut v = object.clone();
    if let Some(map) = v.as_object_mut() {
        map.remove("metadata");
        map.remove("status");
    }
    v
}

/// The store.
#[derive(Debug)]
pub struct Store {
    rv: u64,
    /// Served resource types.
    pub registry: Registry,
    objects: HashMap<GroupResource, BTreeMap<ObjKey, Value>>,
    history: VecDeque<Arc<WatchEvent>>,
    history_cap: usize,
    /// The oldest resourceVersion a watch may resume from.
    compacted: u64,
    events: broadcast::Sender<Arc<WatchEvent>>,
    changes: Vec<Change>,
    rollouts: VecDeque<(Instant, ObjKey)>,
    rollout_delay: Duration,
    next_ip: u32,
    /// Images whose pods run as processes ([`crate::runtime`]): their Deployments are not
    /// simulated, and their pods are deleted gracefully.
    run_images: crate::runtime::images::ImageMap,
    /// The runtime's loopback block, where Service addresses come from when it runs.
    loopback_block: Option<u8>,
    /// ServiceAccount tokens issued by TokenRequests and for pods.
    tokens: crate::auth::tokens::Tokens,
}

impl Store {
    /// An empty store with the built-in types, keeping `history_cap` events for watches.
    pub fn new(history_cap: usize, rollout_delay: Duration) -> Self {
        let (events, _) = broadcast::channel(65_536);
        Self {
            rv: 1,
            registry: Registry::with_builtins(),
            objects: HashMap::new(),
            history: VecDeque::new(),
            history_cap,
            compacted: 1,
            events,
            changes: Vec::new(),
            rollouts: VecDeque::new(),
            rollout_delay,
            next_ip: 10,
            run_images: crate::runtime::images::ImageMap::default(),
            loopback_block: None,
            tokens: crate::auth::tokens::Tokens::default(),
        }
    }

    /// Hands the workloads of `images` to the process runtime, whose Services get addresses
    /// from its loopback block `127.N.128.0/17`.
    pub fn set_run_images(&mut self, images: crate::runtime::images::ImageMap, block: u8) {
        self.run_images = images;
        self.loopback_block = Some(block);
    }

    /// Whether `object` is a pod the process runtime runs, so its deletion waits for its
    /// processes to stop.
    fn runs_pod(&self, gr: &GroupResource, object: &Value) -> bool {
        gr.group.is_empty()
            && gr.resource == "pods"
            && object.pointer("/spec/nodeName").is_some()
            && self
                .run_images
                .runs(object.get("spec").unwrap_or(&Value::Null))
    }

    /// Removes a pod whose processes have stopped (the kubelet's final delete).
    pub fn remove_pod(&mut self, ns: &str, name: &str) {
        let gr = GroupResource {
            group: String::new(),
            resource: "pods".into(),
        };
        self.remove(&gr, &(ns.to_owned(), name.to_owned()));
    }

    /// The latest resourceVersion.
    pub fn resource_version(&self) -> u64 {
        self.rv
    }

    /// A receiver of every future event.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<WatchEvent>> {
        self.events.subscribe()
    }

    /// Events after `rv`, or 410 Gone when they are no longer kept, or when `rv` is one this
    /// store never reached (a client that saw a store since lost): either way the client lists
    /// again instead of waiting for events it would never be sent.
    pub fn history_since(&self, rv: u64) -> Result<Vec<Arc<WatchEvent>>, ApiError> {
        if rv < self.compacted {
            return Err(ApiError::gone(format!(
                "too old resource version: {rv} ({})",
                self.compacted
            )));
        }
        if rv > self.rv {
            return Err(ApiError::gone(format!(
                "too large resource version: {rv}, current: {}",
                self.rv
            )));
        }
        Ok(self.history.iter().filter(|e| e.rv > rv).cloned().collect())
    }

    /// Creates the namespaces every cluster has (`default`, `kube-system`, `kube-public`,
    /// `kube-node-lease`) when missing.
    pub fn ensure_system_namespaces(&mut self) {
        let Some(rt) = self.registry.find("", "v1", "namespaces") else {
            return;
        };
        let ctx = WriteCtx {
            manager: "devcluster".into(),
            dry_run: false,
            validation: FieldValidation::Ignore,
        };
        for name in ["default", "kube-system", "kube-public", "kube-node-lease"] {
            if self
                .lookup(&rt.group_resource(), &(String::new(), name.to_owned()))
                .is_none()
            {
                let _ = self.create(&rt, "", json!({"metadata": {"name": name}}), &ctx);
            }
        }
    }

    /// Changes since the last call, for persistence, ending with the latest resourceVersion.
    pub fn take_changes(&mut self) -> Vec<Change> {
        let mut changes = std::mem::take(&mut self.changes);
        if !changes.is_empty() {
            changes.push(Change::Revision(self.rv));
        }
        changes
    }

    /// Restores the latest resourceVersion a persisted store had reached (start-up).
    pub fn restore_revision(&mut self, rv: u64) {
        self.rv = self.rv.max(rv);
        self.compacted = self.rv;
    }

    /// Loads a persisted object without events (start-up).
    pub fn restore(&mut self, gr: GroupResource, object: Value) {
        let ns = meta_str(&object, "namespace")
            .unwrap_or_default()
            .to_owned();
        let name = meta_str(&object, "name").unwrap_or_default().to_owned();
        let rv = meta_str(&object, "resourceVersion")
            .and_then(|r| r.parse().ok())
            .unwrap_or(0);
        self.rv = self.rv.max(rv);
        self.compacted = self.rv;
        if gr.group == "apiextensions.k8s.io" && gr.resource == "customresourcedefinitions" {
            let _ = self.registry.register_crd(&object);
        }
        self.objects
            .entry(gr)
            .or_default()
            .insert((ns, name), object);
    }

    fn key(rt: &ResourceType, ns: &str, name: &str) -> ObjKey {
        let ns = if rt.namespaced { ns } else { "" };
        (ns.to_owned(), name.to_owned())
    }

    fn lookup(&self, gr: &GroupResource, key: &ObjKey) -> Option<&Value> {
        self.objects.get(gr)?.get(key)
    }

    /// One object.
    pub fn get(&self, rt: &ResourceType, ns: &str, name: &str) -> Result<Value, ApiError> {
        self.lookup(&rt.group_resource(), &Self::key(rt, ns, name))
            .cloned()
            .ok_or_else(|| ApiError::not_found(rt, name))
    }

    /// Objects of `rt` (in `ns` when given) matching the selectors, ordered by namespace and
    /// name, starting after `after` (a continue token's key).
    pub fn list(
        &self,
        rt: &ResourceType,
        ns: Option<&str>,
        labels: &LabelSelector,
        fields: &FieldSelector,
        after: Option<&ObjKey>,
        limit: Option<usize>,
    ) -> (Vec<Value>, Option<ObjKey>) {
        let Some(objects) = self.objects.get(&rt.group_resource()) else {
            return (Vec::new(), None);
        };
        let range = match after {
            Some(key) => objects.range::<ObjKey, _>((
                std::ops::Bound::Excluded(key.clone()),
                std::ops::Bound::Unbounded,
            )),
            None => objects.range::<ObjKey, _>(..),
        };
        let mut out = Vec::new();
        let mut last = None;
        for (key, object) in range {
            if ns.is_some_and(|n| n != key.0) || !labels.matches(object) || !fields.matches(object)
            {
                continue;
            }
            if limit.is_some_and(|l| out.len() >= l) {
                return (out, last);
            }
            last = Some(key.clone());
            out.push(object.clone());
        }
        (out, None)
    }

    fn namespace_state(&self, ns: &str) -> Option<&Value> {
        self.lookup(
            &GroupResource {
                group: String::new(),
                resource: "namespaces".into(),
            },
            &(String::new(), ns.to_owned()),
        )
    }

    /// Creates an object (POST).
    pub fn create(
        &mut self,
        rt: &Arc<ResourceType>,
        ns: &str,
        object: Value,
        ctx: &WriteCtx,
    ) -> Result<Written, ApiError> {
        self.create_owned(rt, ns, object, ctx, None)
    }

    /// Creates an object; `applied` carries the field ownership of a server-side apply.
    fn create_owned(
        &mut self,
        rt: &Arc<ResourceType>,
        ns: &str,
        mut object: Value,
        ctx: &WriteCtx,
        applied: Option<Vec<fields::Entry>>,
    ) -> Result<Written, ApiError> {
        if !object.is_object() {
            return Err(ApiError::bad_request("the body must be a JSON object"));
        }
        if rt.namespaced {
            self.check_namespace_open(rt, ns, &object)?;
        }
        let name = new_name(rt, &object)?;
        let key = Self::key(rt, ns, &name);
        if self.lookup(&rt.group_resource(), &key).is_some() {
            return Err(ApiError::already_exists(rt, &name));
        }
        {
            let meta = meta_mut(&mut object);
            for server_field in [
                "uid",
                "resourceVersion",
                "deletionTimestamp",
                "deletionGracePeriodSeconds",
                "managedFields",
                "generation",
                "creationTimestamp",
            ] {
                meta.remove(server_field);
            }
            meta.insert("name".into(), Value::from(name.clone()));
            meta.insert("uid".into(), Value::from(uuid::Uuid::new_v4().to_string()));
            meta.insert("creationTimestamp".into(), Value::from(now()));
            meta.insert("generation".into(), Value::from(1));
        }
        self.admit_new(rt, &mut object);
        let ownership = applied.map(|entries| fields::set_entries(&mut object, &entries));
        self.finish_write(rt, &key, None, object, Part::Main, ctx, ownership)
    }

    /// A namespaced object is created only in a namespace that exists and is not terminating.
    fn check_namespace_open(
        &self,
        rt: &ResourceType,
        ns: &str,
        object: &Value,
    ) -> Result<(), ApiError> {
        match self.namespace_state(ns) {
            None => Err(ApiError {
                code: 404,
                reason: "NotFound",
                message: format!("namespaces \"{ns}\" not found"),
                details: Some(json!({"name": ns, "kind": "namespaces"})),
            }),
            Some(n) if n.pointer("/metadata/deletionTimestamp").is_some() => {
                Err(ApiError::forbidden(format!(
                    "{} \"{}\" is forbidden: unable to create new content in namespace {ns} because it is being terminated",
                    rt.qualified(),
                    meta_str(object, "name").unwrap_or_default()
                )))
            }
            Some(_) => Ok(()),
        }
    }

    /// Type-specific defaults the real API server's admission and controllers add at creation.
    fn admit_new(&mut self, rt: &ResourceType, object: &mut Value) {
        match (rt.group.as_str(), rt.plural.as_str()) {
            ("", "namespaces") => {
                // The API server labels every namespace with its name (NetworkPolicies select on it).
                let name = meta_str(object, "name").unwrap_or_default().to_owned();
                if let Some(labels) = meta_mut(object)
                    .entry("labels")
                    .or_insert_with(|| json!({}))
                    .as_object_mut()
                {
                    labels.insert("kubernetes.io/metadata.name".into(), Value::from(name));
                }
                object["spec"] = json!({"finalizers": ["kubernetes"]});
                object["status"] = json!({"phase": "Active"});
            }
            ("", "services") => {
                if object.pointer("/spec/type").is_none() {
                    object["spec"]["type"] = json!("ClusterIP");
                }
                if object.pointer("/spec/clusterIP").is_none()
                    && object.pointer("/spec/type") != Some(&json!("ExternalName"))
                {
                    let n = self.next_ip;
                    self.next_ip += 1;
                    // A loopback address, where the runtime's proxy serves the Service.
                    let ip = match self.loopback_block {
                        Some(block) => crate::runtime::net::service(block, n).to_string(),
                        None => format!("127.96.{}.{}", (n >> 8) & 0xff, n & 0xff),
                    };
                    object["spec"]["clusterIP"] = json!(ip);
                    object["spec"]["clusterIPs"] = json!([ip]);
                }
            }
            ("", "pods") => {
                if let Some(spec) = object.get_mut("spec") {
                    crate::runtime::defaults::pod_spec(spec);
                }
            }
            ("apps", "deployments")
                if object.pointer("/spec/replicas").is_none() && object.get("spec").is_some() =>
            {
                object["spec"]["replicas"] = json!(1);
            }
            _ => {}
        }
    }

    /// Replaces an object (PUT), on the main resource or its status.
    pub fn update(
        &mut self,
        rt: &Arc<ResourceType>,
        ns: &str,
        name: &str,
        object: Value,
        part: Part,
        ctx: &WriteCtx,
    ) -> Result<Written, ApiError> {
        if meta_str(&object, "name").is_some_and(|n| n != name) {
            return Err(ApiError::bad_request(format!(
                "the name of the object ({}) does not match the name on the URL ({name})",
                meta_str(&object, "name").unwrap_or_default()
            )));
        }
        let key = Self::key(rt, ns, name);
        let old = self
            .lookup(&rt.group_resource(), &key)
            .cloned()
            .ok_or_else(|| ApiError::not_found(rt, name))?;
        check_resource_version(rt, name, &object, &old)?;
        self.finish_write(rt, &key, Some(&old), object, part, ctx, None)
    }

    /// Patches an object; server-side apply creates it when missing.
    #[allow(clippy::too_many_arguments, reason = "mirrors the request's parts")]
    pub fn patch(
        &mut self,
        rt: &Arc<ResourceType>,
        ns: &str,
        name: &str,
        patch_type: PatchType,
        body: &Value,
        part: Part,
        ctx: &WriteCtx,
    ) -> Result<Written, ApiError> {
        let key = Self::key(rt, ns, name);
        let old = self.lookup(&rt.group_resource(), &key).cloned();
        match patch_type {
            PatchType::Apply { force } => self.apply(rt, ns, name, old, body, part, ctx, force),
            PatchType::Strategic if rt.custom => Err(ApiError::unsupported_media(
                "the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml",
            )),
            PatchType::Merge | PatchType::Strategic | PatchType::Json => {
                let old = old.ok_or_else(|| ApiError::not_found(rt, name))?;
                let mut new = old.clone();
                if patch_type == PatchType::Json {
                    crate::rfc6902::apply(&mut new, body.clone())?;
                } else {
                    let mut body = body.clone();
                    strip_directives(&mut body);
                    json_patch::merge(&mut new, &body);
                }
                check_resource_version(rt, name, &new, &old)?;
                self.finish_write(rt, &key, Some(&old), new, part, ctx, None)
            }
        }
    }
}

/// A write that names a resourceVersion is a precondition: it must be the stored one.
fn check_resource_version(
    rt: &ResourceType,
    name: &str,
    new: &Value,
    old: &Value,
) -> Result<(), ApiError> {
    match meta_str(new, "resourceVersion") {
        Some(wanted) if Some(wanted) != meta_str(old, "resourceVersion") => {
            Err(ApiError::conflict(
                rt,
                name,
                "the object has been modified; please apply your changes to the latest version and try again",
            ))
        }
        _ => Ok(()),
    }
}

fn invalid_field(rt: &ResourceType, name: &str, field: &str, detail: &str) -> ApiError {
    let errors = crate::crd_validation::FieldErrors(vec![crate::crd_validation::FieldError {
        field: field.to_owned(),
        error_type: crate::crd_validation::ErrorType::Invalid,
        value: None,
        detail: detail.to_owned(),
    }]);
    ApiError::invalid(rt, name, &errors)
}

/// A CRD the server accepted is Established with its names accepted.
fn crd_status(crd: &mut Value) {
    let names = crd.pointer("/spec/names").cloned().unwrap_or_default();
    crd["status"] = json!({
        "acceptedNames": names,
        "conditions": [
            {"type": "NamesAccepted", "status": "True", "reason": "NoConflicts", "message": "no conflicts found", "lastTransitionTime": "1970-01-01T00:00:00Z"},
            {"type": "Established", "status": "True", "reason": "InitialNamesAccepted", "message": "the initial names have been accepted", "lastTransitionTime": "1970-01-01T00:00:00Z"}
        ],
        "storedVersions": crd.pointer("/spec/versions").and_then(Value::as_array)
            .map(|v| v.iter().filter(|x| x.get("storage") == Some(&Value::Bool(true))).filter_map(|x| x.get("name").cloned()).collect::<Vec<_>>())
            .unwrap_or_default(),
    });
}

/// Removes strategic-merge directives (`$patch`, `$setElementOrder/…`, `$retainKeys`) so the
/// rest applies as a merge patch.
fn strip_directives(value: &mut Value) {
    if let Value::Object(map) = value {
        map.retain(|k, _| !k.starts_with('$'));
        for child in map.values_mut() {
            strip_directives(child);
        }
    }
}

/// Whether `gr` is `events.k8s.io` Events, which the core/v1 Event API also shows.
fn is_new_event(gr: &GroupResource) -> bool {
    gr.group == "events.k8s.io" && gr.resource == "events"
}

fn core_events() -> GroupResource {
    GroupResource {
        group: String::new(),
        resource: "events".into(),
    }
}

/// The core/v1 view of an `events.k8s.io/v1` Event, field for field as the API server converts
/// it (`regarding` is `involvedObject`, `note` is `message`, the `deprecated*` fields lose
/// their prefix).
fn core_event(event: &Value) -> Value {
    let mut core = Map::new();
    core.insert("apiVersion".into(), Value::from("v1"));
    core.insert("kind".into(), Value::from("Event"));
    let renames = [
        ("metadata", "metadata"),
        ("regarding", "involvedObject"),
        ("related", "related"),
        ("note", "message"),
        ("reason", "reason"),
        ("type", "type"),
        ("action", "action"),
        ("eventTime", "eventTime"),
        ("series", "series"),
        ("reportingController", "reportingComponent"),
        ("reportingInstance", "reportingInstance"),
        ("deprecatedSource", "source"),
        ("deprecatedFirstTimestamp", "firstTimestamp"),
        ("deprecatedLastTimestamp", "lastTimestamp"),
        ("deprecatedCount", "count"),
    ];
    for (from, to) in renames {
        if let Some(value) = event.get(from).filter(|v| !v.is_null()) {
            core.insert(to.into(), value.clone());
        }
    }
    if let Some(meta) = core.get_mut("metadata").and_then(Value::as_object_mut) {
        meta.remove("resourceVersion");
        meta.remove("managedFields");
    }
    // kubectl describe shows the reporting controller as the source.
    if !core.contains_key("source")
        && let Some(controller) = event.get("reportingController")
    {
        core.insert("source".into(), json!({"component": controller}));
    }
    Value::Object(core)
}

/// The name of an object to create: its own, or `generateName` with a random suffix.
fn new_name(rt: &ResourceType, object: &Value) -> Result<String, ApiError> {
    match (meta_str(object, "name"), meta_str(object, "generateName")) {
        (Some(n), _) if !n.is_empty() => Ok(n.to_owned()),
        (_, Some(prefix)) if !prefix.is_empty() => {
            let suffix: String = uuid::Uuid::new_v4()
                .simple()
                .to_string()
                .chars()
                .filter(char::is_ascii_alphanumeric)
                .take(5)
                .collect();
            Ok(format!("{prefix}{suffix}"))
        }
        _ => Err(ApiError {
            code: 422,
            reason: "Invalid",
            message: format!(
                "{} \"\" is invalid: metadata.name: Required value: name or generateName is required",
                rt.kind
            ),
            details: Some(json!({"kind": rt.kind, "group": rt.group, "causes": [
                {"reason": "FieldValueRequired", "field": "metadata.name", "message": "Required value: name or generateName is required"}]})),
        }),
    }
}
