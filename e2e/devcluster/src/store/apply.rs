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
        check_configuration(rt, name, config)?;
        let applied = fields::fields_of(config, part, rt.status_subresource);
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
            let owner = (ctx.manager.as_str(), "Apply", None);
            fields::take_ownership(
                &mut entries,
                owner,
                &rt.api_version(),
                &now(),
                applied,
                true,
            );
            return self.create_owned(rt, ns, object, ctx, Some(entries));
        };
        let mut entries = fields::entries(&old);
        let conflicts = conflicts(&entries, &ctx.manager, &applied, &old, config);
        if !conflicts.is_empty() && !force {
            return Err(ApiError::apply_conflict(rt, name, &conflicts));
        }
        let subresource = (part == Part::Status).then_some("status");
        let mut new = old.clone();
        drop_unapplied(&mut new, &entries, &ctx.manager, subresource, &applied);
        fields::merge(&mut new, &scoped_configuration(rt, config, part));
        transfer_ownership(&mut entries, rt, ctx, subresource, applied, &conflicts);
        fields::set_entries(&mut new, &entries);
        let key = Self::key(rt, ns, name);
        self.finish_write(rt, &key, Some(&old), new, part, ctx, Some(()))
    }
}

/// An apply configuration names the object of the URL and its apiVersion and kind.
fn check_configuration(rt: &ResourceType, name: &str, config: &Value) -> Result<(), ApiError> {
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
    Ok(())
}

fn is_own_apply(entry: &fields::Entry, manager: &str) -> bool {
    entry.manager == manager && entry.operation == "Apply"
}

/// The fields `manager` applies with a value other than another manager's, as (that manager,
/// `.path`), sorted.
fn conflicts(
    entries: &[fields::Entry],
    manager: &str,
    applied: &fields::FieldSet,
    old: &Value,
    config: &Value,
) -> Vec<(String, String)> {
    let mut conflicts = Vec::new();
    for entry in entries.iter().filter(|e| !is_own_apply(e, manager)) {
        for owned in &entry.fields {
            for path in applied.iter().filter(|p| fields::overlaps(p, owned)) {
                let longer = if path.len() >= owned.len() {
                    path
                } else {
                    owned
                };
                if fields::get(old, longer) != fields::get(config, longer) {
                    conflicts.push((entry.manager.clone(), format!(".{}", longer.join("."))));
                }
            }
        }
    }
    conflicts.sort();
    conflicts.dedup();
    conflicts
}

/// Removes the fields `manager` applied before and no longer applies, unless another manager
/// owns them too.
fn drop_unapplied(
    new: &mut Value,
    entries: &[fields::Entry],
    manager: &str,
    subresource: Option<&str>,
    applied: &fields::FieldSet,
) {
    let previous = entries
        .iter()
        .find(|e| is_own_apply(e, manager) && e.subresource.as_deref() == subresource)
        .map(|e| e.fields.clone())
        .unwrap_or_default();
    for dropped in previous
        .iter()
        .filter(|p| !applied.iter().any(|a| fields::overlaps(a, p)))
    {
        let shared = entries.iter().any(|e| {
            !is_own_apply(e, manager) && e.fields.iter().any(|f| fields::overlaps(f, dropped))
        });
        if !shared {
            fields::remove(new, dropped);
        }
    }
}

/// The configuration as merged into the object: the part applied, without identity and
/// server-set metadata.
fn scoped_configuration(rt: &ResourceType, config: &Value, part: Part) -> Value {
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
    scoped
}

/// Ownership after the apply: shared where values agree, forced conflicts move to the applying
/// manager, whose Apply entry becomes exactly what it applied.
fn transfer_ownership(
    entries: &mut Vec<fields::Entry>,
    rt: &ResourceType,
    ctx: &WriteCtx,
    subresource: Option<&str>,
    applied: fields::FieldSet,
    conflicts: &[(String, String)],
) {
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
        if !is_own_apply(entry, &ctx.manager) {
            entry
                .fields
                .retain(|p| !forced.iter().any(|f| fields::overlaps(p, f)));
        }
    }
    entries.retain(|e| !e.fields.is_empty());
    let own = entries
        .iter_mut()
        .find(|e| is_own_apply(e, &ctx.manager) && e.subresource.as_deref() == subresource);
    match own {
        Some(entry) if entry.fields != applied => {
            entry.fields = applied;
            entry.time = now();
            entry.api_version = rt.api_version();
        }
        Some(_) => {}
        None if !applied.is_empty() => entries.push(fields::Entry {
            manager: ctx.manager.clone(),
            operation: "Apply".into(),
            subresource: subresource.map(str::to_owned),
            api_version: rt.api_version(),
            time: now(),
            fields: applied,
        }),
        None => {}
    }
    entries.retain(|e| !e.fields.is_empty());
}
