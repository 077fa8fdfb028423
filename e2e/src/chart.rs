//! The README's table of the chart's values, generated from `charts/dotmac/values.schema.json`
//! (descriptions, types) and `values.yaml` (defaults). `just values-table` writes it; the chart
//! tests fail when the README's copy differs.

use serde_json::Value;

/// The line before the generated table in the README.
pub const BEGIN: &str = "<!-- values-table: generated from charts/dotmac/values.schema.json by `just values-table`; do not edit -->";
/// The line after it.
pub const END: &str = "<!-- end values-table -->";

/// Why the table cannot be made or placed.
#[derive(Debug, thiserror::Error)]
pub enum TableError {
    /// The README has no `BEGIN` … `END` section.
    #[error("the README has no section between {BEGIN:?} and {END:?}")]
    NoSection,
}

/// The Markdown table: one row per leaf value (a scalar, a list, or a map without declared
/// keys), sorted by key.
pub fn values_table(schema: &Value, values: &Value) -> String {
    let mut rows = Vec::new();
    leaves(schema, values, "", &mut rows);
    let mut out = String::from("| Value | Type | Default | What it is |\n|---|---|---|---|\n");
    for (key, kind, default, description) in rows {
        out.push_str(&format!(
            "| `{key}` | {kind} | {default} | {} |\n",
            description.replace('|', "\\|")
        ));
    }
    out
}

fn leaves(
    schema: &Value,
    values: &Value,
    prefix: &str,
    rows: &mut Vec<(String, String, String, String)>,
) {
    let Some(properties) = schema.get("properties").and_then(Value::as_object) else {
        return;
    };
    for (name, property) in properties {
        let key = if prefix.is_empty() {
            name.clone()
        } else {
            format!("{prefix}.{name}")
        };
        let value = values.get(name).unwrap_or(&Value::Null);
        if property.get("properties").is_some() {
            leaves(property, value, &key, rows);
            continue;
        }
        if name == "global" && prefix.is_empty() {
            continue;
        }
        let kind = match property.get("type").and_then(Value::as_str) {
            Some(kind) => kind.to_owned(),
            None => "string or number".to_owned(),
        };
        let default = match value {
            Value::Null => "—".to_owned(),
            Value::String(s) if s.is_empty() => "`\"\"`".to_owned(),
            other => format!("`{other}`"),
        };
        let description = property
            .get("description")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        rows.push((key, kind, default, description));
    }
}

/// `readme` with its values section replaced by `table`.
pub fn with_table(readme: &str, table: &str) -> Result<String, TableError> {
    let start = readme.find(BEGIN).ok_or(TableError::NoSection)?;
    let end = readme[start..].find(END).ok_or(TableError::NoSection)? + start;
    Ok(format!(
        "{}{BEGIN}\n{table}{}",
        &readme[..start],
        &readme[end..]
    ))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "a test fails loudly")]

    use super::*;
    use serde_json::json;

    #[test]
    fn nested_values_become_dotted_rows_with_their_defaults() {
        let schema = json!({"properties": {
            "api": {"type": "object", "properties": {
                "replicas": {"type": "integer", "description": "Replicas."},
                "labels": {"type": "object", "description": "Extra | labels."}
            }},
            "name": {"type": "string", "description": "A name."}
        }});
        let values = json!({"api": {"replicas": 2, "labels": {}}, "name": ""});
        assert_eq!(
            values_table(&schema, &values),
            "| Value | Type | Default | What it is |\n|---|---|---|---|\n\
             | `api.labels` | object | `{}` | Extra \\| labels. |\n\
             | `api.replicas` | integer | `2` | Replicas. |\n\
             | `name` | string | `\"\"` | A name. |\n"
        );
    }

    #[test]
    fn the_section_is_replaced_in_place() {
        let readme = format!("intro\n{BEGIN}\nold\n{END}\nrest\n");
        assert_eq!(
            with_table(&readme, "new\n").unwrap(),
            format!("intro\n{BEGIN}\nnew\n{END}\nrest\n")
        );
        assert!(with_table("no section", "x").is_err());
    }
}
