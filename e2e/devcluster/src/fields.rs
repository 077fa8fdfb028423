//! Field ownership for server-side apply: which manager set which field, kept in
//! `metadata.managedFields` in the API server's `FieldsV1` format.
//!
//! A field is a path of object keys. Lists are atomic (whoever sets a list owns all of it),
//! which is what a single controller applying whole objects needs; keyed merging of list
//! entries is not modelled.

use std::collections::BTreeSet;

use serde_json::{Map, Value, json};

/// A path of object keys from the object's root.
pub type Path = Vec<String>;
/// A set of owned fields.
pub type FieldSet = BTreeSet<Path>;

/// Metadata fields that identify or are maintained by the server; nobody owns them.
const SERVER_FIELDS: &[&str] = &[
    "name",
    "namespace",
    "uid",
    "resourceVersion",
    "generation",
    "creationTimestamp",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "managedFields",
    "selfLink",
    "generateName",
];

/// Which part of an object a write addresses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    /// The main resource: everything but `status` when status is a subresource.
    Main,
    /// The `status` subresource.
    Status,
}

fn owned_here(path: &[String], part: Part, status_subresource: bool) -> bool {
    match path.first().map(String::as_str) {
        None | Some("apiVersion" | "kind") => false,
        Some("metadata") => {
            part == Part::Main
                && !path
                    .get(1)
                    .is_some_and(|k| SERVER_FIELDS.contains(&k.as_str()))
        }
        Some("status") if status_subresource => part == Part::Status,
        Some(_) => part == Part::Main || !status_subresource,
    }
}

fn collect(value: &Value, prefix: &mut Path, out: &mut FieldSet) {
    match value {
        Value::Object(map) if !map.is_empty() => {
            for (key, child) in map {
                prefix.push(key.clone());
                collect(child, prefix, out);
                prefix.pop();
            }
        }
        _ => {
            out.insert(prefix.clone());
        }
    }
}

/// The leaf fields `value` sets that a manager of `part` can own.
pub fn fields_of(value: &Value, part: Part, status_subresource: bool) -> FieldSet {
    let mut all = FieldSet::new();
    collect(value, &mut Vec::new(), &mut all);
    all.into_iter()
        .filter(|p| owned_here(p, part, status_subresource))
        .collect()
}

/// Fields whose value differs between `old` and `new` (set, changed or removed).
pub fn changed_fields(old: &Value, new: &Value, part: Part, status_subresource: bool) -> FieldSet {
    let before = fields_of(old, part, status_subresource);
    let after = fields_of(new, part, status_subresource);
    before
        .union(&after)
        .filter(|p| get(old, p) != get(new, p))
        .cloned()
        .collect()
}

/// Whether one path is a prefix of the other (they touch the same data).
pub fn overlaps(a: &[String], b: &[String]) -> bool {
    a.iter().zip(b).all(|(x, y)| x == y)
}

/// The value at `path`.
pub fn get<'a>(value: &'a Value, path: &[String]) -> Option<&'a Value> {
    path.iter().try_fold(value, |v, key| v.get(key))
}

/// Removes the field at `path`, and parent maps it leaves empty below the top level.
pub fn remove(value: &mut Value, path: &[String]) {
    let Some((last, parents)) = path.split_last() else {
        return;
    };
    let mut node = &mut *value;
    for key in parents {
        match node.get_mut(key) {
            Some(child) => node = child,
            None => return,
        }
    }
    if let Some(map) = node.as_object_mut() {
        map.remove(last);
    }
    // Drop maps emptied by the removal, keeping the object's top-level sections.
    for depth in (2..=parents.len()).rev() {
        let parent_path = &parents[..depth];
        if get(value, parent_path).is_some_and(|v| v.as_object().is_some_and(Map::is_empty)) {
            let (above, leaf) = parent_path.split_at(depth - 1);
            let mut node = &mut *value;
            for key in above {
                match node.get_mut(key) {
                    Some(child) => node = child,
                    None => return,
                }
            }
            if let Some(map) = node.as_object_mut() {
                map.remove(&leaf[0]);
            }
        }
    }
}

/// Deep-merges `config` into `target`: maps merge key by key, anything else replaces.
pub fn merge(target: &mut Value, config: &Value) {
    match (target, config) {
        (Value::Object(t), Value::Object(c)) => {
            for (key, value) in c {
                match t.get_mut(key) {
                    Some(existing) if existing.is_object() && value.is_object() => {
                        merge(existing, value)
                    }
                    _ => {
                        t.insert(key.clone(), value.clone());
                    }
                }
            }
        }
        (t, c) => *t = c.clone(),
    }
}

/// Renders a field set as `FieldsV1` (`{"f:spec":{"f:replicas":{}}}`).
pub fn to_fields_v1(set: &FieldSet) -> Value {
    let mut root = Map::new();
    for path in set {
        let mut node = &mut root;
        for key in path {
            let entry = node
                .entry(format!("f:{key}"))
                .or_insert_with(|| Value::Object(Map::new()));
            let Value::Object(next) = entry else { break };
            node = next;
        }
    }
    Value::Object(root)
}

/// Parses `FieldsV1` back into a field set.
pub fn from_fields_v1(value: &Value) -> FieldSet {
    fn walk(value: &Value, prefix: &mut Path, out: &mut FieldSet) {
        let Some(map) = value.as_object() else { return };
        let keys: Vec<(&String, &Value)> =
            map.iter().filter(|(k, _)| k.starts_with("f:")).collect();
        if keys.is_empty() && !prefix.is_empty() {
            out.insert(prefix.clone());
        }
        for (key, child) in keys {
            prefix.push(key[2..].to_owned());
            walk(child, prefix, out);
            prefix.pop();
        }
    }
    let mut out = FieldSet::new();
    walk(value, &mut Vec::new(), &mut out);
    out
}

/// One `metadata.managedFields` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The field manager.
    pub manager: String,
    /// `Apply` or `Update`.
    pub operation: String,
    /// `status` for status-subresource writes.
    pub subresource: Option<String>,
    /// apiVersion of the write.
    pub api_version: String,
    /// When the entry last changed.
    pub time: String,
    /// Owned fields.
    pub fields: FieldSet,
}

impl Entry {
    fn same_owner(&self, manager: &str, operation: &str, subresource: Option<&str>) -> bool {
        self.manager == manager
            && self.operation == operation
            && self.subresource.as_deref() == subresource
    }
}

/// Reads the entries of `object`.
pub fn entries(object: &Value) -> Vec<Entry> {
    object
        .pointer("/metadata/managedFields")
        .and_then(Value::as_array)
        .map(|list| {
            list.iter()
                .map(|e| Entry {
                    manager: e["manager"].as_str().unwrap_or_default().to_owned(),
                    operation: e["operation"].as_str().unwrap_or_default().to_owned(),
                    subresource: e["subresource"].as_str().map(str::to_owned),
                    api_version: e["apiVersion"].as_str().unwrap_or_default().to_owned(),
                    time: e["time"].as_str().unwrap_or_default().to_owned(),
                    fields: from_fields_v1(&e["fieldsV1"]),
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Writes `entries` into `object`, dropping empty ones.
pub fn set_entries(object: &mut Value, entries: &[Entry]) {
    let list: Vec<Value> = entries
        .iter()
        .filter(|e| !e.fields.is_empty())
        .map(|e| {
            let mut v = json!({
                "manager": e.manager, "operation": e.operation, "apiVersion": e.api_version,
                "time": e.time, "fieldsType": "FieldsV1", "fieldsV1": to_fields_v1(&e.fields),
            });
            if let Some(sub) = &e.subresource {
                v["subresource"] = Value::from(sub.clone());
            }
            v
        })
        .collect();
    if let Some(meta) = object.get_mut("metadata").and_then(Value::as_object_mut) {
        if list.is_empty() {
            meta.remove("managedFields");
        } else {
            meta.insert("managedFields".into(), Value::Array(list));
        }
    }
}

/// Gives `fields` to `manager` (operation `operation`), taking them from every other entry.
pub fn take_ownership(
    entries: &mut Vec<Entry>,
    owner: (&str, &str, Option<&str>),
    api_version: &str,
    now: &str,
    fields: FieldSet,
    replace: bool,
) {
    let (manager, operation, subresource) = owner;
    for entry in entries.iter_mut() {
        if !entry.same_owner(manager, operation, subresource) {
            entry
                .fields
                .retain(|p| !fields.iter().any(|f| overlaps(p, f)));
        }
    }
    match entries
        .iter_mut()
        .find(|e| e.same_owner(manager, operation, subresource))
    {
        Some(entry) => {
            let updated: FieldSet = if replace {
                fields
            } else {
                entry.fields.union(&fields).cloned().collect()
            };
            if updated != entry.fields {
                entry.fields = updated;
                entry.time = now.to_owned();
                entry.api_version = api_version.to_owned();
            }
        }
        None if !fields.is_empty() => entries.push(Entry {
            manager: manager.to_owned(),
            operation: operation.to_owned(),
            subresource: subresource.map(str::to_owned),
            api_version: api_version.to_owned(),
            time: now.to_owned(),
            fields,
        }),
        None => {}
    }
    entries.retain(|e| !e.fields.is_empty());
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Path {
        s.split('.').map(str::to_owned).collect()
    }

    #[test]
    fn fields_v1_round_trip() {
        let set: FieldSet = [
            p("spec.replicas"),
            p("metadata.labels.app"),
            p("spec.template"),
        ]
        .into_iter()
        .collect();
        let v1 = to_fields_v1(&set);
        assert_eq!(v1["f:spec"]["f:replicas"], json!({}));
        assert_eq!(from_fields_v1(&v1), set);
    }

    #[test]
    fn identity_and_status_are_not_owned_by_main_writes() {
        let obj = json!({"apiVersion": "v1", "kind": "X", "metadata": {"name": "a", "labels": {"k": "v"}},
                         "spec": {"a": 1}, "status": {"b": 2}});
        let main = fields_of(&obj, Part::Main, true);
        assert_eq!(
            main,
            [p("metadata.labels.k"), p("spec.a")].into_iter().collect()
        );
        let status = fields_of(&obj, Part::Status, true);
        assert_eq!(status, [p("status.b")].into_iter().collect());
    }

    #[test]
    fn remove_drops_emptied_maps() {
        let mut obj = json!({"metadata": {"labels": {"a": "1"}}, "spec": {"x": {"y": 1}}});
        remove(&mut obj, &p("spec.x.y"));
        remove(&mut obj, &p("metadata.labels.a"));
        assert_eq!(obj, json!({"metadata": {}, "spec": {}}));
    }
}
