//! `meta.k8s.io/v1` Table rendering, what `kubectl get` asks for.

use serde_json::{Value, json};

use crate::{resources::ResourceType, selectors::path_value};

/// How much of each object a Table row carries (`includeObject`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IncludeObject {
    /// No object.
    None,
    /// `PartialObjectMetadata` (the default): enough for namespaces and labels.
    Metadata,
    /// The whole object (`--sort-by`).
    Object,
}

impl IncludeObject {
    /// Parses the query parameter.
    pub fn parse(value: Option<&str>) -> Self {
        match value {
            Some("None") => Self::None,
            Some("Object") => Self::Object,
            _ => Self::Metadata,
        }
    }
}

/// Whether an `Accept` header asks for a Table.
pub fn wants_table(accept: &str) -> bool {
    accept.contains("as=Table")
}

/// kubectl's short human durations: `45s`, `3m12s`, `25m`, `5h`, `3d`.
pub fn human_age(created: &str) -> String {
    let Ok(then) = created.parse::<jiff::Timestamp>() else {
        return "<unknown>".into();
    };
    let secs = jiff::Timestamp::now().as_second() - then.as_second();
    if secs < 0 {
        return "<invalid>".into();
    }
    let (m, h, d) = (secs / 60, secs / 3600, secs / 86_400);
    match secs {
        s if s < 120 => format!("{s}s"),
        _ if m < 10 => format!("{m}m{}s", secs % 60),
        _ if h < 3 => format!("{m}m"),
        _ if h < 8 => format!("{h}h{}m", m % 60),
        _ if d < 2 => format!("{h}h"),
        _ if d < 8 => format!("{d}d{}h", h % 24),
        _ => format!("{d}d"),
    }
}

fn columns(rt: &ResourceType) -> Vec<(String, String, String, i64)> {
    let mut cols = vec![(
        "Name".to_owned(),
        "string".to_owned(),
        ".metadata.name".to_owned(),
        0,
    )];
    cols.extend(rt.columns.iter().map(|c| {
        (
            c.name.clone(),
            c.kind.clone(),
            c.json_path.clone(),
            c.priority,
        )
    }));
    if !cols
        .iter()
        .any(|(_, _, p, _)| p == ".metadata.creationTimestamp")
    {
        cols.push((
            "Age".into(),
            "date".into(),
            ".metadata.creationTimestamp".into(),
            0,
        ));
    }
    cols
}

fn cell(object: &Value, kind: &str, path: &str) -> Value {
    if let Some(computed) = path.strip_prefix("computed:") {
        return computed_cell(object, computed);
    }
    let text = path_value(object, path);
    if text.is_empty() {
        return Value::Null;
    }
    match kind {
        "date" => Value::from(human_age(&text)),
        "integer" => text
            .parse::<i64>()
            .map(Value::from)
            .unwrap_or(Value::from(text)),
        _ => Value::from(text),
    }
}

/// Cells kubectl's printers compute rather than read.
fn computed_cell(object: &Value, which: &str) -> Value {
    use crate::runtime::podstatus;
    match which {
        "pod-ready" => Value::from(podstatus::display_ready(object)),
        "pod-status" => Value::from(podstatus::display_status(object)),
        "pod-restarts" => Value::from(podstatus::display_restarts(object)),
        "service-external-ip" => Value::from("<none>"),
        "service-ports" => {
            let ports: Vec<String> = object
                .pointer("/spec/ports")
                .and_then(Value::as_array)
                .map(|ps| {
                    ps.iter()
                        .map(|p| {
                            format!(
                                "{}/{}",
                                p.get("port").and_then(Value::as_i64).unwrap_or_default(),
                                p.get("protocol").and_then(Value::as_str).unwrap_or("TCP")
                            )
                        })
                        .collect()
                })
                .unwrap_or_default();
            Value::from(if ports.is_empty() {
                "<none>".to_owned()
            } else {
                ports.join(",")
            })
        }
        _ => Value::Null,
    }
}

fn row_object(rt: &ResourceType, object: &Value, include: IncludeObject) -> Option<Value> {
    match include {
        IncludeObject::None => None,
        IncludeObject::Object => Some(object.clone()),
        IncludeObject::Metadata => {
            let mut meta = object.get("metadata").cloned().unwrap_or_default();
            if let Some(m) = meta.as_object_mut() {
                m.remove("managedFields");
            }
            let _ = rt;
            Some(
                json!({"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": meta}),
            )
        }
    }
}

/// A Table of `objects`.
pub fn table(
    rt: &ResourceType,
    objects: &[Value],
    resource_version: u64,
    continue_token: Option<&str>,
    include: IncludeObject,
) -> Value {
    let cols = columns(rt);
    let definitions: Vec<Value> = cols
        .iter()
        .map(|(name, kind, _, priority)| {
            let mut d = json!({"name": name, "type": if kind == "date" { "string" } else { kind.as_str() },
                               "format": if name == "Name" { "name" } else { "" }, "description": "", "priority": priority});
            if kind == "date" {
                d["format"] = json!("");
            }
            d
        })
        .collect();
    let rows: Vec<Value> = objects
        .iter()
        .map(|o| {
            let cells: Vec<Value> = cols
                .iter()
                .map(|(_, kind, path, _)| cell(o, kind, path))
                .collect();
            let mut row = json!({"cells": cells});
            if let Some(obj) = row_object(rt, o, include) {
                row["object"] = obj;
            }
            row
        })
        .collect();
    let mut metadata = json!({"resourceVersion": resource_version.to_string()});
    if let Some(token) = continue_token {
        metadata["continue"] = json!(token);
    }
    json!({"kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": metadata,
           "columnDefinitions": definitions, "rows": rows})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages_read_like_kubectl() {
        let ago = |s: i64| {
            jiff::Timestamp::from_second(jiff::Timestamp::now().as_second() - s)
                .unwrap()
                .to_string()
        };
        assert_eq!(human_age(&ago(5)), "5s");
        assert_eq!(human_age(&ago(190)), "3m10s");
        assert_eq!(human_age(&ago(3 * 86_400 + 3_600)), "3d1h");
        assert_eq!(human_age("garbage"), "<unknown>");
    }
}
