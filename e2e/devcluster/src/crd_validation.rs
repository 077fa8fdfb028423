//! Validation of custom resources against a CustomResourceDefinition's `openAPIV3Schema`,
//! in the order the Kubernetes API server applies it:
//!
//! 1. strict field validation: fields the schema does not declare are rejected
//!    (what `kubectl apply` asks for with its default `--validate=strict`);
//! 2. defaulting from `default` values;
//! 3. `metadata.name` must be a DNS-1123 subdomain;
//! 4. the OpenAPI schema (types, enums, patterns, ranges, required), checked with a
//!    JSON-schema validator after mapping `nullable` to JSON-schema types;
//! 5. `x-kubernetes-validations` CEL rules, including transition rules against the old object.
//!
//! Errors render like the API server's field errors, e.g.
//! `spec.plan: Unsupported value: "gold": supported values: "free", "basic"`.

use std::fmt;

use jsonschema::error::ValidationErrorKind;
use serde_json::{Map, Value};

/// What a [`FieldError`] complains about; the names follow `k8s.io/apimachinery` field errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorType {
    /// A required field is missing.
    Required,
    /// A value outside an enumeration.
    NotSupported,
    /// A value that breaks a pattern, range, format or rule.
    Invalid,
    /// A string or list longer than allowed.
    TooLong,
    /// A map or list with more entries than allowed.
    TooMany,
    /// A value a rule forbids.
    Forbidden,
    /// A field the schema does not declare.
    Unknown,
}

impl ErrorType {
    /// The `reason` the API server puts into `status.details.causes[]`.
    pub fn reason(self) -> &'static str {
        match self {
            Self::Required => "FieldValueRequired",
            Self::NotSupported => "FieldValueNotSupported",
            Self::Invalid => "FieldValueInvalid",
            Self::TooLong => "FieldValueTooLong",
            Self::TooMany => "FieldValueTooMany",
            Self::Forbidden => "FieldValueForbidden",
            Self::Unknown => "FieldValueUnknown",
        }
    }
}

/// One problem with one field of an object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    /// Dotted path of the field, e.g. `spec.autoscaling.minReplicas` (`<root>` for the object).
    pub field: String,
    /// The kind of problem.
    pub error_type: ErrorType,
    /// The offending value rendered as JSON, when there is one.
    pub value: Option<String>,
    /// Human explanation.
    pub detail: String,
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.error_type {
            ErrorType::Unknown => return write!(f, "unknown field \"{}\"", self.field),
            ErrorType::Required => write!(f, "{}: Required value", self.field)?,
            ErrorType::NotSupported => write!(f, "{}: Unsupported value", self.field)?,
            ErrorType::Invalid => write!(f, "{}: Invalid value", self.field)?,
            ErrorType::TooLong => write!(f, "{}: Too long", self.field)?,
            ErrorType::TooMany => write!(f, "{}: Too many", self.field)?,
            ErrorType::Forbidden => write!(f, "{}: Forbidden", self.field)?,
        }
        if let Some(value) = &self.value {
            write!(f, ": {value}")?;
        }
        if !self.detail.is_empty() {
            write!(f, ": {}", self.detail)?;
        }
        Ok(())
    }
}

/// All the problems found in one object; never empty.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldErrors(pub Vec<FieldError>);

impl fmt::Display for FieldErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0.as_slice() {
            [one] => write!(f, "{one}"),
            many => {
                write!(f, "[")?;
                for (i, e) in many.iter().enumerate() {
                    if i > 0 {
                        write!(f, ", ")?;
                    }
                    write!(f, "{e}")?;
                }
                write!(f, "]")
            }
        }
    }
}

impl std::error::Error for FieldErrors {}

/// A CRD that cannot be used for validation.
#[derive(Debug, thiserror::Error)]
pub enum SchemaError {
    /// The CRD has no such version.
    #[error("the CRD serves no version {0:?}")]
    NoSuchVersion(String),
    /// The version has no `schema.openAPIV3Schema`.
    #[error("version {0:?} has no openAPIV3Schema")]
    NoSchema(String),
    /// The schema does not compile as JSON schema.
    #[error("the openAPIV3Schema does not compile: {0}")]
    Compile(String),
    /// A CEL rule does not compile.
    #[error("x-kubernetes-validations rule does not compile: {0}")]
    Cel(String),
}

/// A compiled validator for one version of one CRD.
pub struct CrdSchema {
    openapi: Value,
    json: jsonschema::Validator,
    cel: kube_cel::CompiledSchema,
    cel_validator: kube_cel::Validator,
}

impl fmt::Debug for CrdSchema {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CrdSchema").finish_non_exhaustive()
    }
}

impl CrdSchema {
    /// Compiles the schema of `version` from a CustomResourceDefinition given as JSON.
    pub fn new(crd: &Value, version: &str) -> Result<Self, SchemaError> {
        let versions = crd
            .pointer("/spec/versions")
            .and_then(Value::as_array)
            .ok_or_else(|| SchemaError::NoSuchVersion(version.to_owned()))?;
        let entry = versions
            .iter()
            .find(|v| v.get("name").and_then(Value::as_str) == Some(version))
            .ok_or_else(|| SchemaError::NoSuchVersion(version.to_owned()))?;
        let openapi = entry
            .pointer("/schema/openAPIV3Schema")
            .cloned()
            .ok_or_else(|| SchemaError::NoSchema(version.to_owned()))?;
        let json = jsonschema::options()
            .with_draft(jsonschema::Draft::Draft4)
            .should_validate_formats(true)
            .build(&to_json_schema(&openapi))
            .map_err(|e| SchemaError::Compile(e.to_string()))?;
        let cel = kube_cel::compile_schema(&openapi);
        if let Some(err) = cel.compilation_errors().first() {
            return Err(SchemaError::Cel(err.to_string()));
        }
        Ok(Self {
            openapi,
            json,
            cel,
            cel_validator: kube_cel::Validator::new(),
        })
    }

    /// The version's `openAPIV3Schema` as given.
    pub fn openapi(&self) -> &Value {
        &self.openapi
    }

    /// Fields of `object` the schema does not declare, as strict field validation reports them.
    pub fn unknown_fields(&self, object: &Value) -> Vec<FieldError> {
        let mut errors = Vec::new();
        unknown_fields(&self.openapi, object, "", true, &mut errors);
        errors
    }

    /// `object` without the fields the schema does not declare (the API server's pruning).
    pub fn prune(&self, object: &Value) -> Value {
        let mut pruned = object.clone();
        prune(&self.openapi, &mut pruned, true);
        pruned
    }

    /// Validates `object` (a whole custom resource, already pruned) on create, or on update
    /// when `old` is given, and returns it with defaults applied.
    pub fn validate(&self, object: &Value, old: Option<&Value>) -> Result<Value, FieldErrors> {
        let mut errors = Vec::new();
        let defaulted = kube_cel::apply_defaults(&self.openapi, object);
        check_name(&defaulted, &mut errors);
        errors.extend(
            self.json
                .iter_errors(&defaulted)
                .map(|e| schema_error(&e, &defaulted)),
        );
        // CEL rules only run on objects that pass the schema, as in the API server.
        if errors.is_empty()
            && let Err(failures) = self
                .cel_validator
                .validate_compiled(&self.cel, &defaulted, old)
        {
            errors.extend(failures.into_vec().into_iter().map(cel_error));
        }
        if errors.is_empty() {
            Ok(defaulted)
        } else {
            Err(FieldErrors(errors))
        }
    }

    /// [`Self::validate`] with unknown fields reported as errors first, as `kubectl apply`'s
    /// default `--validate=strict` asks the API server to do.
    pub fn validate_strict(
        &self,
        object: &Value,
        old: Option<&Value>,
    ) -> Result<Value, FieldErrors> {
        let unknown = self.unknown_fields(object);
        if unknown.is_empty() {
            self.validate(object, old)
        } else {
            Err(FieldErrors(unknown))
        }
    }
}

/// Removes fields the schema does not declare.
fn prune(schema: &Value, value: &mut Value, root: bool) {
    if schema.get("x-kubernetes-preserve-unknown-fields") == Some(&Value::Bool(true)) {
        return;
    }
    match value {
        Value::Object(fields) => {
            let properties = schema.get("properties").and_then(Value::as_object);
            let additional = schema.get("additionalProperties").filter(|a| a.is_object());
            fields.retain(|key, child| {
                if root && matches!(key.as_str(), "apiVersion" | "kind" | "metadata") {
                    return true;
                }
                match (properties.and_then(|p| p.get(key)), additional) {
                    (Some(child_schema), _) | (None, Some(child_schema)) => {
                        prune(child_schema, child, false);
                        true
                    }
                    (None, None) => properties.is_none() && !root,
                }
            });
        }
        Value::Array(items) => {
            if let Some(item_schema) = schema.get("items") {
                for item in items {
                    prune(item_schema, item, false);
                }
            }
        }
        _ => {}
    }
}

/// Reports fields the schema does not declare, as strict field validation does.
fn unknown_fields(
    schema: &Value,
    value: &Value,
    path: &str,
    root: bool,
    out: &mut Vec<FieldError>,
) {
    if schema.get("x-kubernetes-preserve-unknown-fields") == Some(&Value::Bool(true)) {
        return;
    }
    match value {
        Value::Object(fields) => {
            let properties = schema.get("properties").and_then(Value::as_object);
            let additional = schema.get("additionalProperties").filter(|a| a.is_object());
            for (key, child) in fields {
                let child_path = join(path, key);
                if root && matches!(key.as_str(), "apiVersion" | "kind" | "metadata") {
                    continue;
                }
                match (properties.and_then(|p| p.get(key)), additional) {
                    (Some(child_schema), _) | (None, Some(child_schema)) => {
                        unknown_fields(child_schema, child, &child_path, false, out);
                    }
                    (None, None) if properties.is_some() || root => out.push(FieldError {
                        field: child_path,
                        error_type: ErrorType::Unknown,
                        value: None,
                        detail: String::new(),
                    }),
                    (None, None) => {}
                }
            }
        }
        Value::Array(items) => {
            if let Some(item_schema) = schema.get("items") {
                for (i, item) in items.iter().enumerate() {
                    unknown_fields(item_schema, item, &format!("{path}[{i}]"), false, out);
                }
            }
        }
        _ => {}
    }
}

fn check_name(object: &Value, out: &mut Vec<FieldError>) {
    let name = object.pointer("/metadata/name").and_then(Value::as_str);
    let generate = object
        .pointer("/metadata/generateName")
        .and_then(Value::as_str);
    match (name, generate) {
        (None | Some(""), None) => out.push(FieldError {
            field: "metadata.name".into(),
            error_type: ErrorType::Required,
            value: None,
            detail: "name or generateName is required".into(),
        }),
        (Some(name), _) if !name.is_empty() && !is_dns_subdomain(name) => out.push(FieldError {
            field: "metadata.name".into(),
            error_type: ErrorType::Invalid,
            value: Some(Value::from(name).to_string()),
            detail: "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character".into(),
        }),
        _ => {}
    }
}

/// A DNS-1123 subdomain, what every object name must be: at most 253 characters of labels
/// of `[a-z0-9-]` that start and end alphanumeric, separated by single dots.
fn is_dns_subdomain(name: &str) -> bool {
    name.len() <= 253
        && name.split('.').all(|label| {
            let bytes = label.as_bytes();
            let alnum = |b: &u8| b.is_ascii_lowercase() || b.is_ascii_digit();
            !bytes.is_empty()
                && bytes.first().is_some_and(alnum)
                && bytes.last().is_some_and(alnum)
                && bytes.iter().all(|b| alnum(b) || *b == b'-')
        })
}

/// Turns a JSON pointer into the API server's dotted field path.
fn pointer_to_path(pointer: &str) -> String {
    let mut path = String::new();
    for segment in pointer.split('/').skip(1) {
        let segment = segment.replace("~1", "/").replace("~0", "~");
        if segment.parse::<usize>().is_ok() && !path.is_empty() {
            path.push_str(&format!("[{segment}]"));
        } else {
            path = join(&path, &segment);
        }
    }
    path
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_owned()
    } else {
        format!("{path}.{key}")
    }
}

fn schema_error(error: &jsonschema::ValidationError<'_>, object: &Value) -> FieldError {
    let pointer = error.instance_path().as_str().to_owned();
    let path = pointer_to_path(&pointer);
    let shown = object.pointer(&pointer).map(Value::to_string);
    let at = if path.is_empty() {
        "<root>".to_owned()
    } else {
        path.clone()
    };
    let invalid = |detail: String| FieldError {
        field: at.clone(),
        error_type: ErrorType::Invalid,
        value: shown.clone(),
        detail,
    };
    match error.kind() {
        ValidationErrorKind::Required { property } => FieldError {
            field: join(&path, property.as_str().unwrap_or_default()),
            error_type: ErrorType::Required,
            value: None,
            detail: String::new(),
        },
        ValidationErrorKind::Enum { options } => FieldError {
            field: at.clone(),
            error_type: ErrorType::NotSupported,
            value: shown.clone(),
            detail: format!(
                "supported values: {}",
                options
                    .as_array()
                    .map(|o| o
                        .iter()
                        .map(Value::to_string)
                        .collect::<Vec<_>>()
                        .join(", "))
                    .unwrap_or_default()
            ),
        },
        ValidationErrorKind::MaxLength { limit } => FieldError {
            field: at.clone(),
            error_type: ErrorType::TooLong,
            value: None,
            detail: format!("may not be more than {limit} bytes"),
        },
        ValidationErrorKind::MaxItems { limit } | ValidationErrorKind::MaxProperties { limit } => {
            FieldError {
                field: at.clone(),
                error_type: ErrorType::TooMany,
                value: None,
                detail: format!("must have at most {limit} items"),
            }
        }
        ValidationErrorKind::Pattern { pattern } => {
            invalid(format!("{at} in body should match '{pattern}'"))
        }
        ValidationErrorKind::Minimum { limit } => invalid(format!(
            "{at} in body should be greater than or equal to {limit}"
        )),
        ValidationErrorKind::Maximum { limit } => invalid(format!(
            "{at} in body should be less than or equal to {limit}"
        )),
        ValidationErrorKind::MinLength { limit } => invalid(format!(
            "{at} in body should be at least {limit} chars long"
        )),
        ValidationErrorKind::Format { format } => {
            invalid(format!("{at} in body must be of type {format}"))
        }
        ValidationErrorKind::Type { .. } => invalid(format!(
            "{at} in body must be of type {}",
            expected_type(&error.to_string())
        )),
        _ => invalid(error.to_string()),
    }
}

/// Pulls the expected type out of a jsonschema type error ("… is not of type \"integer\"").
fn expected_type(message: &str) -> String {
    message
        .rsplit("of type")
        .next()
        .map(|t| t.trim().trim_matches('"').to_owned())
        .unwrap_or_default()
}

fn cel_error(error: kube_cel::ValidationError) -> FieldError {
    let error_type = match error.reason.as_deref() {
        Some("FieldValueForbidden") => ErrorType::Forbidden,
        Some("FieldValueRequired") => ErrorType::Required,
        Some("FieldValueDuplicate") | Some("FieldValueInvalid") | None | Some(_) => {
            ErrorType::Invalid
        }
    };
    let field = if error.field_path.is_empty() {
        "<root>".to_owned()
    } else {
        error.field_path.trim_start_matches('.').to_owned()
    };
    FieldError {
        value: (error_type == ErrorType::Invalid).then(|| "\"object\"".to_owned()),
        field,
        error_type,
        detail: error.message,
    }
}

/// Maps an OpenAPI v3 schema to JSON schema: `nullable: true` admits `null`.
fn to_json_schema(schema: &Value) -> Value {
    match schema {
        Value::Object(map) => {
            let mut out = Map::new();
            for (key, value) in map {
                let mapped = match key.as_str() {
                    "properties" | "patternProperties" | "definitions" => Value::Object(
                        value
                            .as_object()
                            .map(|m| {
                                m.iter()
                                    .map(|(k, v)| (k.clone(), to_json_schema(v)))
                                    .collect()
                            })
                            .unwrap_or_default(),
                    ),
                    _ => to_json_schema(value),
                };
                out.insert(key.clone(), mapped);
            }
            if map.get("nullable") == Some(&Value::Bool(true))
                && let Some(Value::String(t)) = map.get("type")
            {
                out.insert("type".into(), serde_json::json!([t, "null"]));
                if let Some(Value::Array(options)) = out.get_mut("enum") {
                    options.push(Value::Null);
                }
            }
            Value::Object(out)
        }
        Value::Array(items) => Value::Array(items.iter().map(to_json_schema).collect()),
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pointers_become_dotted_paths() {
        assert_eq!(pointer_to_path("/spec/plan"), "spec.plan");
        assert_eq!(
            pointer_to_path("/spec/allowedPlans/1"),
            "spec.allowedPlans[1]"
        );
        assert_eq!(pointer_to_path(""), "");
    }

    #[test]
    fn dns_subdomains() {
        assert!(is_dns_subdomain("acme"));
        assert!(is_dns_subdomain("acme.example-1"));
        assert!(!is_dns_subdomain("Acme"));
        assert!(!is_dns_subdomain("acme_corp"));
        assert!(!is_dns_subdomain("-acme"));
        assert!(!is_dns_subdomain("acme..x"));
    }

    #[test]
    fn nullable_admits_null() {
        let s = to_json_schema(&serde_json::json!({"type": "integer", "nullable": true}));
        assert_eq!(s["type"], serde_json::json!(["integer", "null"]));
    }
}
