//! Schema pieces shared by several custom resources: names, e-mail addresses, money.

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::{Deserialize, Serialize};

/// DNS-1123 label: what a Kubernetes object name used in another name (namespace, database) must be.
pub const DNS_LABEL_PATTERN: &str = "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$";

/// A tenant name: a DNS-1123 label that starts with a letter, so that it is also a valid
/// PostgreSQL identifier once `-` becomes `_`.
pub const TENANT_NAME_PATTERN: &str = "^[a-z]([-a-z0-9]*[a-z0-9])?$";

/// A lowercase DNS hostname (RFC 1123 subdomain) with at least two labels.
pub const HOSTNAME_PATTERN: &str =
    r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)+$";

/// A Kubernetes object name (RFC 1123 subdomain): DNS labels joined by dots.
pub const OBJECT_NAME_PATTERN: &str =
    r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$";

/// An identifier of a catalog entry (plugin, feature, metric): lowercase words joined by `_` or `-`.
pub const CATALOG_ID_PATTERN: &str = "^[a-z][a-z0-9]*([_-][a-z0-9]+)*$";

/// A practical e-mail address: one `@`, no spaces, a dotted domain.
pub const EMAIL_PATTERN: &str = r"^[^@\s]+@[^@\s]+\.[^@\s]+$";

/// An amount of money in integer minor units (cents) of an ISO 4217 currency.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Money {
    /// Amount in the currency's minor unit (for example cents for USD).
    pub amount_minor: i64,
    /// ISO 4217 currency code, for example `USD`.
    #[schemars(regex(pattern = "^[A-Z]{3}$"))]
    pub currency: String,
}

/// A list of `metav1.Condition` merged by `type`, the shape `kubectl wait --for=condition=…` reads.
pub type Conditions = Vec<k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition>;

/// Schema for a conditions list: a map-list keyed by `type` so server-side apply merges entries.
pub fn conditions_schema(generator: &mut SchemaGenerator) -> Schema {
    let mut schema = generator.subschema_for::<Conditions>();
    schema.insert("x-kubernetes-list-type".into(), "map".into());
    schema.insert(
        "x-kubernetes-list-map-keys".into(),
        serde_json::json!(["type"]),
    );
    schema
}

/// Schema for a list whose entries are unique and merged as a set.
pub fn string_set_schema(generator: &mut SchemaGenerator) -> Schema {
    let mut schema = generator.subschema_for::<Vec<String>>();
    schema.insert("x-kubernetes-list-type".into(), "set".into());
    schema
}

/// Schema for a `date-time` string (RFC 3339), the Kubernetes `metav1.Time` wire form.
pub fn date_time_schema(_: &mut SchemaGenerator) -> Schema {
    json_schema!({ "type": "string", "format": "date-time" })
}
