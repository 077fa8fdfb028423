//! Server-side apply: field managers, conflicts naming the other manager, `force`, and removal
//! of the fields a manager stops applying.

use super::*;

impl Store {
    #[allow(clippy::too_many_arguments, reason = "mirrors the request's parts")]
    pub(super) fn apply(
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
}
