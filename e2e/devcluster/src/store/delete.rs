//! Deletion: finalizers and `deletionTimestamp`, owner-reference garbage collection
//! (background, foreground, orphan) and namespace termination.

use super::*;

impl Store {
    /// Removes an object for good, then collects its dependents.
    pub(super) fn remove(&mut self, gr: &GroupResource, key: &ObjKey) -> Option<Value> {
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

    pub(super) fn find_by_uid(&self, uid: &str) -> Option<(GroupResource, ObjKey)> {
        self.objects.iter().find_map(|(gr, objects)| {
            objects
                .iter()
                .find(|(_, o)| meta_str(o, "uid") == Some(uid))
                .map(|(k, _)| (gr.clone(), k.clone()))
        })
    }

    pub(super) fn dependents_of(&self, uid: &str) -> Vec<(GroupResource, ObjKey)> {
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
    pub(super) fn collect_dependents(&mut self, uid: &str) {
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

    pub(super) fn strip_owner(&mut self, gr: &GroupResource, key: &ObjKey, uid: &str) {
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
    pub(super) fn finish_foreground(&mut self, owner_uid: &str) {
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
    pub(super) fn finish_namespace(&mut self, ns: &str) {
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
        if self.runs_pod(&gr, &object) {
            return Ok(match opts.grace {
                Some(0) => self.remove(&gr, &key).unwrap_or(object),
                grace => self.mark_pod(rt, &key, object, grace),
            });
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
    pub(super) fn delete_internal(
        &mut self,
        gr: &GroupResource,
        key: &ObjKey,
        propagation: Propagation,
    ) -> Option<Value> {
        let rt = self.registry.get(gr)?;
        let mut object = self.lookup(gr, key).cloned()?;
        if self.runs_pod(gr, &object) {
            return Some(self.mark_pod(&rt, key, object, None));
        }
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

    /// Marks a running pod deleted with its grace period (the request's, else its
    /// `terminationGracePeriodSeconds`, else 30 s); the runtime removes it once its processes
    /// have stopped.
    fn mark_pod(
        &mut self,
        rt: &Arc<ResourceType>,
        key: &ObjKey,
        mut object: Value,
        grace: Option<i64>,
    ) -> Value {
        if object.pointer("/metadata/deletionTimestamp").is_some() {
            let shorter = grace.is_some_and(|g| {
                object
                    .pointer("/metadata/deletionGracePeriodSeconds")
                    .and_then(Value::as_i64)
                    .is_none_or(|old| g < old)
            });
            if !shorter {
                return object;
            }
        }
        let grace = grace
            .or_else(|| {
                object
                    .pointer("/spec/terminationGracePeriodSeconds")
                    .and_then(Value::as_i64)
            })
            .unwrap_or(30);
        let meta = meta_mut(&mut object);
        if !meta.contains_key("deletionTimestamp") {
            meta.insert("deletionTimestamp".into(), Value::from(now()));
        }
        meta.insert("deletionGracePeriodSeconds".into(), Value::from(grace));
        self.commit(rt, key, object, EventType::Modified)
    }
}
