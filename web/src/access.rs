//! Who may call which route, declared where each route is registered and read back from the
//! OpenAPI document: [`doc`] writes an operation's tag, summary and the value of an extension
//! (`x-permission` in an instance, `x-callers` on the management API), and [`Registry`] reads
//! every operation's value back, refusing a document in which one lacks it.

use std::collections::HashMap;

use aide::{
    openapi::{OpenApi, ReferenceOr},
    transform::TransformOperation,
};
use axum::http::Method;

/// An operation's tag, summary, and `value` under `extension`.
pub fn doc(
    tag: &'static str,
    extension: &'static str,
    value: &'static str,
    text: &'static str,
) -> impl FnOnce(TransformOperation<'_>) -> TransformOperation<'_> {
    move |op| {
        let mut op = crate::openapi::summary(tag, text)(op);
        op.inner_mut()
            .extensions
            .insert(extension.to_owned(), value.into());
        op
    }
}

/// The value of one extension for each operation, by method and route template.
#[derive(Debug, Clone)]
pub struct Registry<T>(HashMap<(Method, String), T>);

impl<T: Copy> Registry<T> {
    /// Reads `extension` of every operation of `api` through `parse`; an operation without it,
    /// or with a value `parse` does not know, is an error naming the operation.
    pub fn from_api(
        api: &OpenApi,
        extension: &str,
        parse: impl Fn(&str) -> Option<T>,
    ) -> Result<Self, String> {
        let mut map = HashMap::new();
        for (path, item) in api.paths.iter().flat_map(|p| p.iter()) {
            let ReferenceOr::Item(item) = item else {
                continue;
            };
            for (method, operation) in item.iter() {
                let named = operation.extensions.get(extension).and_then(|v| v.as_str());
                let value = named.and_then(&parse).ok_or_else(|| {
                    format!(
                        "{} {path} names no known {extension}",
                        method.to_uppercase()
                    )
                })?;
                let method = Method::from_bytes(method.to_uppercase().as_bytes())
                    .map_err(|e| format!("{method} {path}: {e}"))?;
                map.insert((method, path.clone()), value);
            }
        }
        Ok(Self(map))
    }

    /// The value of `method` on the route template `path`.
    pub fn get(&self, method: &Method, path: &str) -> Option<T> {
        self.0.get(&(method.clone(), path.to_owned())).copied()
    }

    /// Every operation with its value.
    pub fn operations(&self) -> impl Iterator<Item = (&Method, &str, T)> {
        self.0.iter().map(|((m, p), value)| (m, p.as_str(), *value))
    }
}

impl<T> Default for Registry<T> {
    fn default() -> Self {
        Self(HashMap::new())
    }
}
