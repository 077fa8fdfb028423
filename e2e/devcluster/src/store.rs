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
        }
    }

    /// The latest resourceVersion.
    pub fn resource_version(&self) -> u64 {
        self.rv
    }

    /// A receiver of every future event.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<WatchEvent>> {
        self.events.subscribe()
    }

    /// Events after `rv`, or 410 Gone when they are no longer kept.
    pub fn history_since(&self, rv: u64) -> Result<Vec<Arc<WatchEvent>>, ApiError> {
        if rv < self.compacted {
            return Err(ApiError::gone(format!(
                "too old resource version: {rv} ({})",
                self.compacted
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

    /// Changes since the last call, for persistence.
    pub fn take_changes(&mut self) -> Vec<Change> {
        std::mem::take(&mut self.changes)
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
            match self.namespace_state(ns) {
                None => {
                    return Err(ApiError {
                        code: 404,
                        reason: "NotFound",
                        message: format!("namespaces \"{ns}\" not found"),
                        details: Some(json!({"name": ns, "kind": "namespaces"})),
                    });
                }
                Some(n) if n.pointer("/metadata/deletionTimestamp").is_some() => {
                    return Err(ApiError::forbidden(format!(
                        "{} \"{}\" is forbidden: unable to create new content in namespace {ns} because it is being terminated",
                        rt.qualified(),
                        meta_str(&object, "name").unwrap_or_default()
                    )));
                }
                Some(_) => {}
            }
        }
        let name = match (meta_str(&object, "name"), meta_str(&object, "generateName")) {
            (Some(n), _) if !n.is_empty() => n.to_owned(),
            (_, Some(prefix)) if !prefix.is_empty() => {
                let suffix: String = uuid::Uuid::new_v4()
                    .simple()
                    .to_string()
                    .chars()
                    .filter(char::is_ascii_alphanumeric)
                    .take(5)
                    .collect();
                format!("{prefix}{suffix}")
            }
            _ => {
                return Err(ApiError {
                    code: 422,
                    reason: "Invalid",
                    message: format!(
                        "{} \"\" is invalid: metadata.name: Required value: name or generateName is required",
                        rt.kind
                    ),
                    details: Some(json!({"kind": rt.kind, "group": rt.group, "causes": [
                        {"reason": "FieldValueRequired", "field": "metadata.name", "message": "Required value: name or generateName is required"}]})),
                });
            }
        };
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
                    let ip = format!("10.96.{}.{}", (n >> 8) & 0xff, n & 0xff);
                    object["spec"]["clusterIP"] = json!(ip);
                    object["spec"]["clusterIPs"] = json!([ip]);
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

    #[allow(clippy::too_many_arguments, reason = "mirrors the request's parts")]
    fn apply(
        &mut self,
        rt: &Arc<ResourceType>,
        ns: &str,
        name: &str,
        old: Option<Value>,
        config: &Value,
        part: Part,
        ctx: &WriteCtx,
        force: bool,
    ) -> Result<Written, ApiError> {
        if !config.is_object() {
            return Err(ApiError::bad_request(
                "the apply configuration must be an object",
            ));
        }
        if meta_str(config, "name").is_some_and(|n| n != name) {
            return Err(ApiError::bad_request(format!(
                "the name of the object ({}) does not match the name on the URL ({name})",
                meta_str(config, "name").unwrap_or_default()
            )));
        }
        for (field, want) in [("apiVersion", rt.api_version()), ("kind", rt.kind.clone())] {
            if config.get(field).and_then(Value::as_str) != Some(want.as_str()) {
                return Err(ApiError::bad_request(format!(
                    "{field} must be {want:?} in an apply configuration"
                )));
            }
        }
        let subresource = (part == Part::Status).then_some("status");
        let applied = fields::fields_of(config, part, rt.status_subresource);
        let now = now();
        let Some(old) = old else {
            if part == Part::Status {
                return Err(ApiError::not_found(rt, name));
            }
            let mut object = config.clone();
            meta_mut(&mut object).insert("name".into(), Value::from(name));
            if rt.namespaced {
                meta_mut(&mut object).insert("namespace".into(), Value::from(ns));
            }
            let mut entries = Vec::new();
            fields::take_ownership(
                &mut entries,
                (&ctx.manager, "Apply", None),
                &rt.api_version(),
                &now,
                applied,
                true,
            );
            return self.create_owned(rt, ns, object, ctx, Some(entries));
        };

        let mut entries = fields::entries(&old);
        let mut conflicts = Vec::new();
        for entry in &entries {
            if entry.manager == ctx.manager && entry.operation == "Apply" {
                continue;
            }
            for owned in &entry.fields {
                for path in applied.iter().filter(|p| fields::overlaps(p, owned)) {
                    let longer = if path.len() >= owned.len() {
                        path
                    } else {
                        owned
                    };
                    if fields::get(&old, longer) != fields::get(config, longer) {
                        conflicts.push((entry.manager.clone(), format!(".{}", longer.join("."))));
                    }
                }
            }
        }
        conflicts.sort();
        conflicts.dedup();
        if !conflicts.is_empty() && !force {
            return Err(ApiError::apply_conflict(rt, name, &conflicts));
        }

        let mut new = old.clone();
        // Fields this manager applied before and no longer applies are removed, unless
        // another manager owns them too.
        let previous = entries
            .iter()
            .find(|e| {
                e.manager == ctx.manager
                    && e.operation == "Apply"
                    && e.subresource.as_deref() == subresource
            })
            .map(|e| e.fields.clone())
            .unwrap_or_default();
        for dropped in previous
            .iter()
            .filter(|p| !applied.iter().any(|a| fields::overlaps(a, p)))
        {
            let shared = entries.iter().any(|e| {
                !(e.manager == ctx.manager && e.operation == "Apply")
                    && e.fields.iter().any(|f| fields::overlaps(f, dropped))
            });
            if !shared {
                fields::remove(&mut new, dropped);
            }
        }
        let mut scoped = config.clone();
        if let Some(map) = scoped.as_object_mut() {
            map.remove("apiVersion");
            map.remove("kind");
            if part == Part::Status {
                map.retain(|k, _| k == "status");
            } else if rt.status_subresource {
                map.remove("status");
            }
            if let Some(meta) = map.get_mut("metadata").and_then(Value::as_object_mut) {
                meta.retain(|k, _| {
                    ![
                        "uid",
                        "resourceVersion",
                        "generation",
                        "creationTimestamp",
                        "deletionTimestamp",
                        "managedFields",
                    ]
                    .contains(&k.as_str())
                });
            }
        }
        fields::merge(&mut new, &scoped);
        // Shared ownership where values agree; forced conflicts move to this manager.
        let forced: fields::FieldSet = conflicts
            .iter()
            .map(|(_, f)| {
                f.trim_start_matches('.')
                    .split('.')
                    .map(str::to_owned)
                    .collect()
            })
            .collect();
        for entry in entries.iter_mut() {
            if !(entry.manager == ctx.manager && entry.operation == "Apply") {
                entry
                    .fields
                    .retain(|p| !forced.iter().any(|f| fields::overlaps(p, f)));
            }
        }
        entries.retain(|e| !e.fields.is_empty());
        match entries.iter_mut().find(|e| {
            e.manager == ctx.manager
                && e.operation == "Apply"
                && e.subresource.as_deref() == subresource
        }) {
            Some(entry) if entry.fields != applied => {
                entry.fields = applied;
                entry.time = now.clone();
                entry.api_version = rt.api_version();
            }
            Some(_) => {}
            None if !applied.is_empty() => entries.push(fields::Entry {
                manager: ctx.manager.clone(),
                operation: "Apply".into(),
                subresource: subresource.map(str::to_owned),
                api_version: rt.api_version(),
                time: now,
                fields: applied,
            }),
            None => {}
        }
        entries.retain(|e| !e.fields.is_empty());
        fields::set_entries(&mut new, &entries);
        let key = Self::key(rt, ns, name);
        self.finish_write(rt, &key, Some(&old), new, part, ctx, Some(()))
    }

    /// The common end of every write: scoping to the part written, validation, ownership,
    /// generation, no-op detection, finalization and the commit.
    #[allow(clippy::too_many_arguments, reason = "the write's full context")]
    fn finish_write(
        &mut self,
        rt: &Arc<ResourceType>,
        key: &ObjKey,
        old: Option<&Value>,
        mut new: Value,
        part: Part,
        ctx: &WriteCtx,
        ownership_done: Option<()>,
    ) -> Result<Written, ApiError> {
        let name = key.1.clone();
        new["apiVersion"] = Value::from(rt.api_version());
        new["kind"] = Value::from(rt.kind.clone());
        {
            let meta = meta_mut(&mut new);
            meta.insert("name".into(), Value::from(name.clone()));
            if rt.namespaced {
                meta.insert("namespace".into(), Value::from(key.0.clone()));
            } else {
                meta.remove("namespace");
            }
        }
        if let Some(old) = old {
            if part == Part::Status {
                let status = new.get("status").cloned();
                let managed = new.pointer("/metadata/managedFields").cloned();
                new = old.clone();
                match status {
                    Some(s) => new["status"] = s,
                    None => {
                        if let Some(m) = new.as_object_mut() {
                            m.remove("status");
                        }
                    }
                }
                if ownership_done.is_some()
                    && let Some(m) = managed
                {
                    meta_mut(&mut new).insert("managedFields".into(), m);
                }
            } else if rt.status_subresource {
                match old.get("status") {
                    Some(s) => new["status"] = s.clone(),
                    None => {
                        if let Some(m) = new.as_object_mut() {
                            m.remove("status");
                        }
                    }
                }
            }
            let old_meta = old.get("metadata").cloned().unwrap_or_default();
            let meta = meta_mut(&mut new);
            for carried in [
                "uid",
                "creationTimestamp",
                "generation",
                "deletionTimestamp",
                "deletionGracePeriodSeconds",
                "resourceVersion",
            ] {
                match old_meta.get(carried) {
                    Some(v) => {
                        meta.insert(carried.into(), v.clone());
                    }
                    None => {
                        meta.remove(carried);
                    }
                }
            }
            if old.pointer("/metadata/deletionTimestamp").is_some() {
                // A terminating object may lose finalizers but never gain new ones.
                let before = finalizers(old);
                let added: Vec<String> = finalizers(&new)
                    .into_iter()
                    .filter(|f| !before.contains(f))
                    .collect();
                if !added.is_empty() {
                    return Err(invalid_field(
                        rt,
                        &name,
                        "metadata.finalizers",
                        &format!(
                            "no new finalizers can be added if the object is being deleted, found new finalizers {added:?}"
                        ),
                    ));
                }
            }
        }

        if rt.group == "apps"
            && rt.plural == "deployments"
            && new.get("spec").is_some_and(Value::is_object)
            && new.pointer("/spec/replicas").is_none()
        {
            // The API server defaults replicas on every write, not only on create.
            new["spec"]["replicas"] = json!(1);
        }
        let mut warnings = Vec::new();
        if let Some(schema) = &rt.schema {
            let unknown = schema.unknown_fields(&new);
            if !unknown.is_empty() {
                let list: Vec<String> = unknown.iter().map(ToString::to_string).collect();
                match ctx.validation {
                    FieldValidation::Strict => {
                        return Err(ApiError::bad_request(format!(
                            "strict decoding error: {}",
                            list.join(", ")
                        )));
                    }
                    FieldValidation::Warn => warnings = list,
                    FieldValidation::Ignore => {}
                }
                new = schema.prune(&new);
            }
            new = schema
                .validate(&new, old)
                .map_err(|errors| ApiError::invalid(rt, &name, &errors))?;
        }
        if rt.group == "apiextensions.k8s.io" {
            self.check_crd(rt, &name, &new)?;
            crd_status(&mut new);
        }

        if ownership_done.is_none() && !ctx.manager.is_empty() {
            let mut entries = old.map(fields::entries).unwrap_or_default();
            let changed = match old {
                Some(old) => fields::changed_fields(old, &new, part, rt.status_subresource),
                None => fields::fields_of(&new, part, rt.status_subresource),
            };
            let subresource = (part == Part::Status).then_some("status");
            fields::take_ownership(
                &mut entries,
                (&ctx.manager, "Update", subresource),
                &rt.api_version(),
                &now(),
                changed,
                false,
            );
            fields::set_entries(&mut new, &entries);
        } else if ownership_done.is_none()
            && let Some(old) = old
        {
            match old.pointer("/metadata/managedFields") {
                Some(m) => {
                    meta_mut(&mut new).insert("managedFields".into(), m.clone());
                }
                None => {
                    meta_mut(&mut new).remove("managedFields");
                }
            }
        }

        if let Some(old) = old {
            if spec_of(old) != spec_of(&new) {
                let generation = old
                    .pointer("/metadata/generation")
                    .and_then(Value::as_i64)
                    .unwrap_or(0);
                meta_mut(&mut new).insert("generation".into(), Value::from(generation + 1));
            }
            if *old == new {
                return Ok(Written {
                    object: new,
                    warnings,
                    created: false,
                });
            }
        }
        if ctx.dry_run {
            return Ok(Written {
                object: new,
                warnings,
                created: old.is_none(),
            });
        }
        let created = old.is_none();
        if !created
            && new.pointer("/metadata/deletionTimestamp").is_some()
            && finalizers(&new).is_empty()
        {
            let gr = rt.group_resource();
            self.objects
                .entry(gr.clone())
                .or_default()
                .insert(key.clone(), new);
            let removed = self.remove(&gr, key).unwrap_or_default();
            return Ok(Written {
                object: removed,
                warnings,
                created,
            });
        }
        let stored = self.commit(
            rt,
            key,
            new,
            if created {
                EventType::Added
            } else {
                EventType::Modified
            },
        );
        if rt.group == "apps" && rt.plural == "deployments" && ctx.manager != CONTROLLER_MANAGER {
            self.rollouts
                .push_back((Instant::now() + self.rollout_delay, key.clone()));
        }
        if rt.group == "autoscaling" && rt.plural == "horizontalpodautoscalers" {
            // The autoscaler's target gets checked against its bounds.
            if let Some(target) = stored
                .pointer("/spec/scaleTargetRef/name")
                .and_then(Value::as_str)
            {
                self.rollouts.push_back((
                    Instant::now() + self.rollout_delay,
                    (key.0.clone(), target.to_owned()),
                ));
            }
        }
        Ok(Written {
            object: stored,
            warnings,
            created,
        })
    }

    fn check_crd(&self, rt: &ResourceType, name: &str, crd: &Value) -> Result<(), ApiError> {
        let plural = crd
            .pointer("/spec/names/plural")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let group = crd
            .pointer("/spec/group")
            .and_then(Value::as_str)
            .unwrap_or_default();
        if name != format!("{plural}.{group}") {
            return Err(invalid_field(
                rt,
                name,
                "metadata.name",
                &format!("must be spec.names.plural+\".\"+spec.group ({plural}.{group})"),
            ));
        }
        crate::resources::resource_type_from_crd(crd)
            .map(|_| ())
            .map_err(|e| invalid_field(rt, name, "spec.versions", &e.to_string()))
    }

    /// Stores `object` with the next resourceVersion and tells the watchers.
    fn commit(
        &mut self,
        rt: &ResourceType,
        key: &ObjKey,
        mut object: Value,
        event_type: EventType,
    ) -> Value {
        self.rv += 1;
        meta_mut(&mut object).insert("resourceVersion".into(), Value::from(self.rv.to_string()));
        let gr = rt.group_resource();
        if gr.group == "apiextensions.k8s.io" && gr.resource == "customresourcedefinitions" {
            let _ = self.registry.register_crd(&object);
        }
        self.objects
            .entry(gr.clone())
            .or_default()
            .insert(key.clone(), object.clone());
        let shared = Arc::new(object.clone());
        self.changes.push(Change::Upsert(
            gr.clone(),
            key.0.clone(),
            key.1.clone(),
            shared.clone(),
        ));
        self.publish(gr.clone(), key.0.clone(), event_type, shared);
        if is_new_event(&gr)
            && let Some(core) = self.registry.find("", "v1", "events")
        {
            // One Event, two APIs: kubectl describe reads the core/v1 view.
            self.commit(&core, key, core_event(&object), event_type);
        }
        object
    }

    fn publish(
        &mut self,
        gr: GroupResource,
        namespace: String,
        event_type: EventType,
        object: Arc<Value>,
    ) {
        let event = Arc::new(WatchEvent {
            rv: self.rv,
            event_type,
            gr,
            namespace,
            object,
        });
        self.history.push_back(event.clone());
        while self.history.len() > self.history_cap {
            if let Some(old) = self.history.pop_front() {
                self.compacted = old.rv;
            }
        }
        let _ = self.events.send(event);
    }

    /// Removes an object for good, then collects its dependents.
    fn remove(&mut self, gr: &GroupResource, key: &ObjKey) -> Option<Value> {
        let mut object = self.objects.get_mut(gr)?.remove(key)?;
        if is_new_event(gr) {
            self.remove(&core_events(), key);
        }
        self.rv += 1;
        meta_mut(&mut object).insert("resourceVersion".into(), Value::from(self.rv.to_string()));
        self.changes
            .push(Change::Delete(gr.clone(), key.0.clone(), key.1.clone()));
        self.publish(
            gr.clone(),
            key.0.clone(),
            EventType::Deleted,
            Arc::new(object.clone()),
        );

        if gr.group == "apiextensions.k8s.io"
            && gr.resource == "customresourcedefinitions"
            && let Ok(rt) = crate::resources::resource_type_from_crd(&object)
        {
            let custom = rt.group_resource();
            let keys: Vec<ObjKey> = self
                .objects
                .get(&custom)
                .map(|m| m.keys().cloned().collect())
                .unwrap_or_default();
            for k in keys {
                self.remove(&custom, &k);
            }
            self.registry.unregister(&custom);
        }
        if let Some(uid) = meta_str(&object, "uid").map(str::to_owned) {
            self.collect_dependents(&uid);
        }
        for owner in owner_uids(&object) {
            self.finish_foreground(&owner);
        }
        if !key.0.is_empty() {
            self.finish_namespace(&key.0);
        }
        Some(object)
    }

    fn find_by_uid(&self, uid: &str) -> Option<(GroupResource, ObjKey)> {
        self.objects.iter().find_map(|(gr, objects)| {
            objects
                .iter()
                .find(|(_, o)| meta_str(o, "uid") == Some(uid))
                .map(|(k, _)| (gr.clone(), k.clone()))
        })
    }

    fn dependents_of(&self, uid: &str) -> Vec<(GroupResource, ObjKey)> {
        let mut out = Vec::new();
        for (gr, objects) in &self.objects {
            for (key, object) in objects {
                if owner_uids(object).iter().any(|o| o == uid) {
                    out.push((gr.clone(), key.clone()));
                }
            }
        }
        out
    }

    /// Background garbage collection: dependents whose owners are all gone are deleted;
    /// dependents with another live owner only lose the reference.
    fn collect_dependents(&mut self, uid: &str) {
        for (gr, key) in self.dependents_of(uid) {
            let Some(dependent) = self.lookup(&gr, &key).cloned() else {
                continue;
            };
            let others_alive = owner_uids(&dependent)
                .iter()
                .any(|o| o != uid && self.find_by_uid(o).is_some());
            if others_alive {
                self.strip_owner(&gr, &key, uid);
            } else {
                self.delete_internal(&gr, &key, Propagation::Background);
            }
        }
    }

    fn strip_owner(&mut self, gr: &GroupResource, key: &ObjKey, uid: &str) {
        let Some(rt) = self.registry.get(gr) else {
            return;
        };
        let Some(mut object) = self.lookup(gr, key).cloned() else {
            return;
        };
        if let Some(refs) = object
            .pointer_mut("/metadata/ownerReferences")
            .and_then(Value::as_array_mut)
        {
            refs.retain(|r| r.get("uid").and_then(Value::as_str) != Some(uid));
            if refs.is_empty() {
                meta_mut(&mut object).remove("ownerReferences");
            }
        }
        self.commit(&rt, key, object, EventType::Modified);
    }

    /// When a foreground-deleting owner has no dependents left, its deletion completes.
    fn finish_foreground(&mut self, owner_uid: &str) {
        let Some((gr, key)) = self.find_by_uid(owner_uid) else {
            return;
        };
        let Some(owner) = self.lookup(&gr, &key).cloned() else {
            return;
        };
        let list = finalizers(&owner);
        if owner.pointer("/metadata/deletionTimestamp").is_none()
            || !list.iter().any(|f| f == "foregroundDeletion")
            || !self.dependents_of(owner_uid).is_empty()
        {
            return;
        }
        let Some(rt) = self.registry.get(&gr) else {
            return;
        };
        let mut updated = owner;
        let rest: Vec<String> = list
            .into_iter()
            .filter(|f| f != "foregroundDeletion")
            .collect();
        set_finalizers(&mut updated, &rest);
        if rest.is_empty() {
            self.objects
                .entry(gr.clone())
                .or_default()
                .insert(key.clone(), updated);
            self.remove(&gr, &key);
        } else {
            self.commit(&rt, &key, updated, EventType::Modified);
        }
    }

    /// A terminating namespace goes away once it is empty.
    fn finish_namespace(&mut self, ns: &str) {
        let gr = GroupResource {
            group: String::new(),
            resource: "namespaces".into(),
        };
        let key = (String::new(), ns.to_owned());
        let terminating = self.lookup(&gr, &key).is_some_and(|n| {
            n.pointer("/metadata/deletionTimestamp").is_some() && finalizers(n).is_empty()
        });
        let empty = self
            .objects
            .iter()
            .all(|(_, objects)| !objects.keys().any(|(n, _)| n == ns));
        if terminating && empty {
            self.remove(&gr, &key);
        }
    }

    /// Deletes an object as a request asks.
    pub fn delete(
        &mut self,
        rt: &Arc<ResourceType>,
        ns: &str,
        name: &str,
        opts: &DeleteOpts,
    ) -> Result<Value, ApiError> {
        let gr = rt.group_resource();
        let key = Self::key(rt, ns, name);
        let object = self
            .lookup(&gr, &key)
            .cloned()
            .ok_or_else(|| ApiError::not_found(rt, name))?;
        if opts
            .uid
            .as_deref()
            .is_some_and(|u| Some(u) != meta_str(&object, "uid"))
        {
            return Err(ApiError::conflict(
                rt,
                name,
                "Precondition failed: UID in precondition does not match the UID in record",
            ));
        }
        if opts
            .resource_version
            .as_deref()
            .is_some_and(|r| Some(r) != meta_str(&object, "resourceVersion"))
        {
            return Err(ApiError::conflict(
                rt,
                name,
                "the ResourceVersion in the precondition does not match the ResourceVersion in record",
            ));
        }
        if opts.dry_run {
            return Ok(object);
        }
        if opts.propagation == Propagation::Orphan
            && let Some(uid) = meta_str(&object, "uid").map(str::to_owned)
        {
            for (dgr, dkey) in self.dependents_of(&uid) {
                self.strip_owner(&dgr, &dkey, &uid);
            }
        }
        Ok(self
            .delete_internal(&gr, &key, opts.propagation)
            .unwrap_or(object))
    }

    /// Marks or removes an object; returns its last state.
    fn delete_internal(
        &mut self,
        gr: &GroupResource,
        key: &ObjKey,
        propagation: Propagation,
    ) -> Option<Value> {
        let rt = self.registry.get(gr)?;
        let mut object = self.lookup(gr, key).cloned()?;
        let is_namespace = gr.group.is_empty() && gr.resource == "namespaces";
        let mut list = finalizers(&object);
        if propagation == Propagation::Foreground
            && !list.iter().any(|f| f == "foregroundDeletion")
            && object.pointer("/metadata/deletionTimestamp").is_none()
        {
            list.push("foregroundDeletion".into());
            set_finalizers(&mut object, &list);
        }
        if object.pointer("/metadata/deletionTimestamp").is_some() {
            return Some(object);
        }
        if list.is_empty() && !is_namespace {
            return self.remove(gr, key);
        }
        {
            // As the API server does, marking an object for deletion moves its generation.
            let generation = object
                .pointer("/metadata/generation")
                .and_then(Value::as_i64)
                .unwrap_or(0);
            let meta = meta_mut(&mut object);
            meta.insert("deletionTimestamp".into(), Value::from(now()));
            meta.insert("deletionGracePeriodSeconds".into(), Value::from(0));
            meta.insert("generation".into(), Value::from(generation + 1));
        }
        if is_namespace {
            object["status"] = json!({"phase": "Terminating"});
        }
        let stored = self.commit(&rt, key, object, EventType::Modified);
        if is_namespace {
            let contents: Vec<(GroupResource, ObjKey)> = self
                .objects
                .iter()
                .flat_map(|(g, objects)| {
                    objects
                        .keys()
                        .filter(|(n, _)| *n == key.1)
                        .map(move |k| (g.clone(), k.clone()))
                })
                .collect();
            for (g, k) in contents {
                self.delete_internal(&g, &k, Propagation::Background);
            }
            self.finish_namespace(&key.1);
        }
        if propagation == Propagation::Foreground
            && let Some(uid) = meta_str(&stored, "uid").map(str::to_owned)
        {
            for (dgr, dkey) in self.dependents_of(&uid) {
                self.delete_internal(&dgr, &dkey, Propagation::Background);
            }
            self.finish_foreground(&uid);
        }
        self.lookup(gr, key).cloned().or(Some(stored))
    }

    /// The replicas an autoscaler targeting the Deployment `key` wants instead of `replicas`,
    /// when they fall outside its bounds.
    fn autoscaled_replicas(&self, key: &ObjKey, replicas: i64) -> Option<i64> {
        let gr = GroupResource {
            group: "autoscaling".into(),
            resource: "horizontalpodautoscalers".into(),
        };
        let hpa = self.objects.get(&gr)?.iter().find_map(|((ns, _), hpa)| {
            (*ns == key.0
                && hpa
                    .pointer("/spec/scaleTargetRef/name")
                    .and_then(Value::as_str)
                    == Some(key.1.as_str()))
            .then_some(hpa)
        })?;
        let min = hpa
            .pointer("/spec/minReplicas")
            .and_then(Value::as_i64)
            .unwrap_or(1);
        let max = hpa
            .pointer("/spec/maxReplicas")
            .and_then(Value::as_i64)
            .unwrap_or(min);
        let bounded = replicas.clamp(min, max.max(min));
        (replicas > 0 && bounded != replicas).then_some(bounded)
    }

    /// Runs the simulated controllers that are due: a Deployment reports its replicas
    /// available shortly after it changes.
    pub fn run_controllers(&mut self) -> usize {
        let now = Instant::now();
        let mut done = 0;
        while self.rollouts.front().is_some_and(|(due, _)| *due <= now) {
            let Some((_, key)) = self.rollouts.pop_front() else {
                break;
            };
            let gr = GroupResource {
                group: "apps".into(),
                resource: "deployments".into(),
            };
            let (Some(rt), Some(deployment)) =
                (self.registry.get(&gr), self.lookup(&gr, &key).cloned())
            else {
                continue;
            };
            let replicas = deployment
                .pointer("/spec/replicas")
                .and_then(Value::as_i64)
                .unwrap_or(1);
            if let Some(bounded) = self.autoscaled_replicas(&key, replicas) {
                // The autoscaler moves replicas into its bounds (as the HPA controller does);
                // that write queues this rollout again.
                let mut scaled = deployment.clone();
                scaled["spec"]["replicas"] = json!(bounded);
                let ctx = WriteCtx {
                    manager: "horizontal-pod-autoscaler".into(),
                    dry_run: false,
                    validation: FieldValidation::Ignore,
                };
                if self
                    .finish_write(&rt, &key, Some(&deployment), scaled, Part::Main, &ctx, None)
                    .is_ok()
                {
                    done += 1;
                }
                continue;
            }
            let generation = deployment
                .pointer("/metadata/generation")
                .and_then(Value::as_i64)
                .unwrap_or(1);
            let mut status = json!({"observedGeneration": generation});
            if replicas > 0 {
                status["replicas"] = json!(replicas);
                status["updatedReplicas"] = json!(replicas);
                status["readyReplicas"] = json!(replicas);
                status["availableReplicas"] = json!(replicas);
            }
            status["conditions"] = json!([
                {"type": "Available", "status": "True", "reason": "MinimumReplicasAvailable", "message": "Deployment has minimum availability."},
                {"type": "Progressing", "status": "True", "reason": "NewReplicaSetAvailable", "message": "ReplicaSet has successfully progressed."}
            ]);
            let mut updated = deployment.clone();
            updated["status"] = status;
            let ctx = WriteCtx {
                manager: CONTROLLER_MANAGER.into(),
                dry_run: false,
                validation: FieldValidation::Ignore,
            };
            if self
                .finish_write(
                    &rt,
                    &key,
                    Some(&deployment),
                    updated,
                    Part::Status,
                    &ctx,
                    None,
                )
                .is_ok()
            {
                done += 1;
            }
        }
        done
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
