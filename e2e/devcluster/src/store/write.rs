//! Finishing a write: admission of the new object (generation, status and spec split, CRD
//! checks), the commit under a new resourceVersion and its watch event.

use super::*;

impl Store {
    /// The common end of every write: scoping to the part written, validation, ownership,
    /// generation, no-op detection, finalization and the commit.
    #[allow(clippy::too_many_arguments, reason = "the write's full context")]
    pub(super) fn finish_write(
        &mut self,
        rt: &Arc<ResourceType>,
        key: &ObjKey,
        old: Option<&Value>,
        mut new: Value,
        part: Part,
        ctx: &WriteCtx,
        ownership_done: Option<()>,
    ) -> Result<Written, ApiError> {
        identify(rt, key, &mut new);
        if let Some(old) = old {
            new = scoped(rt, old, new, part, ownership_done.is_some());
            carry_metadata(rt, &key.1, old, &mut new)?;
        }
        let warnings = self.admit(rt, &key.1, old, &mut new, ctx)?;
        if ownership_done.is_none() {
            record_ownership(rt, old, &mut new, part, ctx);
        }
        if let Some(old) = old {
            bump_generation(old, &mut new);
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
        Ok(self.store_written(rt, key, old.is_none(), new, warnings, ctx))
    }

    /// Defaults, schema validation (unknown fields by `fieldValidation`) and the CRD checks;
    /// returns the warnings to send.
    fn admit(
        &self,
        rt: &ResourceType,
        name: &str,
        old: Option<&Value>,
        new: &mut Value,
        ctx: &WriteCtx,
    ) -> Result<Vec<String>, ApiError> {
        if rt.group == "apps"
            && rt.plural == "deployments"
            && new.get("spec").is_some_and(Value::is_object)
            && new.pointer("/spec/replicas").is_none()
        {
            // The API server defaults replicas on every write, not only on create.
            new["spec"]["replicas"] = json!(1);
        }
        if rt.group.is_empty() && rt.plural == "secrets" {
            merge_string_data(new)?;
        }
        let mut warnings = Vec::new();
        if let Some(schema) = &rt.schema {
            let unknown = schema.unknown_fields(new);
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
                *new = schema.prune(new);
            }
            *new = schema
                .validate(new, old)
                .map_err(|errors| ApiError::invalid(rt, name, &errors))?;
        }
        if rt.group == "apiextensions.k8s.io" {
            self.check_crd(rt, name, new)?;
            crd_status(new);
        }
        Ok(warnings)
    }

    /// Commits an admitted write (or, for a terminating object whose last finalizer is gone,
    /// removes it) and schedules what the write sets off: a Deployment's rollout, an
    /// autoscaler's check of its target.
    fn store_written(
        &mut self,
        rt: &Arc<ResourceType>,
        key: &ObjKey,
        created: bool,
        new: Value,
        warnings: Vec<String>,
        ctx: &WriteCtx,
    ) -> Written {
        if !created
            && new.pointer("/metadata/deletionTimestamp").is_some()
            && finalizers(&new).is_empty()
            && !self.runs_pod(&rt.group_resource(), &new)
        {
            let gr = rt.group_resource();
            self.objects
                .entry(gr.clone())
                .or_default()
                .insert(key.clone(), new);
            let removed = self.remove(&gr, key).unwrap_or_default();
            return Written {
                object: removed,
                warnings,
                created,
            };
        }
        let event = if created {
            EventType::Added
        } else {
            EventType::Modified
        };
        let stored = self.commit(rt, key, new, event);
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
        Written {
            object: stored,
            warnings,
            created,
        }
    }

    pub(super) fn check_crd(
        &self,
        rt: &ResourceType,
        name: &str,
        crd: &Value,
    ) -> Result<(), ApiError> {
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
    pub(super) fn commit(
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

    pub(super) fn publish(
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
}

/// Sets the identity the URL gives: apiVersion, kind, name and (for namespaced kinds only)
/// namespace.
fn identify(rt: &ResourceType, key: &ObjKey, new: &mut Value) {
    new["apiVersion"] = Value::from(rt.api_version());
    new["kind"] = Value::from(rt.kind.clone());
    let meta = meta_mut(new);
    meta.insert("name".into(), Value::from(key.1.clone()));
    if rt.namespaced {
        meta.insert("namespace".into(), Value::from(key.0.clone()));
    } else {
        meta.remove("namespace");
    }
}

/// Keeps a write to its part: a status write changes only the status (and, when ownership
/// was recorded, managedFields); a main write to a kind with a status subresource keeps the
/// stored status.
fn scoped(rt: &ResourceType, old: &Value, mut new: Value, part: Part, owned: bool) -> Value {
    fn set_status(object: &mut Value, status: Option<Value>) {
        match status {
            Some(s) => object["status"] = s,
            None => {
                if let Some(m) = object.as_object_mut() {
                    m.remove("status");
                }
            }
        }
    }
    if part == Part::Status {
        let status = new.get("status").cloned();
        let managed = new.pointer("/metadata/managedFields").cloned();
        let mut scoped = old.clone();
        set_status(&mut scoped, status);
        if owned && let Some(m) = managed {
            meta_mut(&mut scoped).insert("managedFields".into(), m);
        }
        return scoped;
    }
    if rt.status_subresource {
        set_status(&mut new, old.get("status").cloned());
    }
    new
}

/// Carries the metadata a client cannot change from the stored object, and refuses new
/// finalizers on a terminating one.
fn carry_metadata(
    rt: &ResourceType,
    name: &str,
    old: &Value,
    new: &mut Value,
) -> Result<(), ApiError> {
    let old_meta = old.get("metadata").cloned().unwrap_or_default();
    let meta = meta_mut(new);
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
    if old.pointer("/metadata/deletionTimestamp").is_none() {
        return Ok(());
    }
    // A terminating object may lose finalizers but never gain new ones.
    let before = finalizers(old);
    let added: Vec<String> = finalizers(new)
        .into_iter()
        .filter(|f| !before.contains(f))
        .collect();
    if added.is_empty() {
        return Ok(());
    }
    Err(invalid_field(
        rt,
        name,
        "metadata.finalizers",
        &format!(
            "no new finalizers can be added if the object is being deleted, found new finalizers {added:?}"
        ),
    ))
}

/// Records the writing manager's ownership of the fields it changed (an Update), or keeps the
/// stored managedFields when the write names no manager.
fn record_ownership(
    rt: &ResourceType,
    old: Option<&Value>,
    new: &mut Value,
    part: Part,
    ctx: &WriteCtx,
) {
    if !ctx.manager.is_empty() {
        let mut entries = old.map(fields::entries).unwrap_or_default();
        let changed = match old {
            Some(old) => fields::changed_fields(old, new, part, rt.status_subresource),
            None => fields::fields_of(new, part, rt.status_subresource),
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
        fields::set_entries(new, &entries);
    } else if let Some(old) = old {
        match old.pointer("/metadata/managedFields") {
            Some(m) => {
                meta_mut(new).insert("managedFields".into(), m.clone());
            }
            None => {
                meta_mut(new).remove("managedFields");
            }
        }
    }
}

/// A changed spec is a new generation.
fn bump_generation(old: &Value, new: &mut Value) {
    if spec_of(old) != spec_of(new) {
        let generation = old
            .pointer("/metadata/generation")
            .and_then(Value::as_i64)
            .unwrap_or(0);
        meta_mut(new).insert("generation".into(), Value::from(generation + 1));
    }
}

/// A Secret's `stringData` is write-only: the API server stores it base64-encoded in `data`
/// (over a key of the same name) and drops it.
fn merge_string_data(secret: &mut Value) -> Result<(), ApiError> {
    let Some(strings) = secret.as_object_mut().and_then(|o| o.remove("stringData")) else {
        return Ok(());
    };
    let Value::Object(strings) = strings else {
        return Err(ApiError::bad_request("stringData must be a map of strings"));
    };
    if !secret.get("data").is_some_and(Value::is_object) {
        secret["data"] = json!({});
    }
    for (key, value) in strings {
        let Some(text) = value.as_str() else {
            return Err(ApiError::bad_request(format!(
                "stringData.{key} must be a string"
            )));
        };
        let encoded = serde_json::to_value(k8s_openapi::ByteString(text.as_bytes().to_vec()))
            .map_err(|e| ApiError::bad_request(e.to_string()))?;
        secret["data"][key] = encoded;
    }
    Ok(())
}
