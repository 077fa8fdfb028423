//! Which container images run as local programs: `--run-image IMAGE=PATH`.

use std::{collections::BTreeMap, path::PathBuf};

/// A `--run-image` value is not `IMAGE=PATH`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "--run-image {0:?} is not IMAGE=PATH (for example ghcr.io/dotmac/isp-runtime=target/debug/dotmac-isp)"
)]
pub struct BadMapping(pub String);

/// Images mapped to the programs that stand in for them. An image matches whatever its tag or
/// digest: `ghcr.io/dotmac/isp-runtime` maps `ghcr.io/dotmac/isp-runtime:1.4.2` too.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImageMap(BTreeMap<String, PathBuf>);

impl ImageMap {
    /// Parses `IMAGE=PATH` values.
    pub fn parse<'a>(values: impl IntoIterator<Item = &'a str>) -> Result<Self, BadMapping> {
        let mut map = BTreeMap::new();
        for value in values {
            let (image, path) = value
                .split_once('=')
                .filter(|(i, p)| !i.is_empty() && !p.is_empty())
                .ok_or_else(|| BadMapping(value.to_owned()))?;
            // Relative to where devcluster starts, as a shell would resolve it.
            let program = std::path::absolute(path).unwrap_or_else(|_| PathBuf::from(path));
            map.insert(repository(image).to_owned(), program);
        }
        Ok(Self(map))
    }

    /// Maps `image` (without tag) to `program`.
    pub fn with(mut self, image: &str, program: impl Into<PathBuf>) -> Self {
        self.0.insert(repository(image).to_owned(), program.into());
        self
    }

    /// The program standing in for `image`, if it is mapped.
    pub fn program(&self, image: &str) -> Option<&PathBuf> {
        self.0.get(repository(image))
    }

    /// Whether no image is mapped.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Whether every container of a pod template or pod spec at `spec` runs a mapped image.
    pub fn runs(&self, spec: &serde_json::Value) -> bool {
        let containers = spec.get("containers").and_then(serde_json::Value::as_array);
        containers.is_some_and(|cs| {
            !cs.is_empty()
                && cs.iter().all(|c| {
                    c.get("image")
                        .and_then(serde_json::Value::as_str)
                        .is_some_and(|i| self.program(i).is_some())
                })
        })
    }
}

/// `registry/name` of `registry/name:tag` or `registry/name@sha256:…`; a registry port stays.
fn repository(image: &str) -> &str {
    let image = image.split_once('@').map_or(image, |(name, _)| name);
    match image.rfind(':') {
        Some(colon) if !image[colon..].contains('/') => &image[..colon],
        _ => image,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn images_match_whatever_their_tag() {
        let map = ImageMap::parse([
            "ghcr.io/dotmac/isp-runtime=/bin/isp",
            "localhost:5000/x=/bin/x",
        ])
        .unwrap();
        assert_eq!(
            map.program("ghcr.io/dotmac/isp-runtime:1.4.2"),
            Some(&PathBuf::from("/bin/isp"))
        );
        assert_eq!(
            map.program("ghcr.io/dotmac/isp-runtime@sha256:abc"),
            Some(&PathBuf::from("/bin/isp"))
        );
        assert_eq!(
            map.program("localhost:5000/x:dev"),
            Some(&PathBuf::from("/bin/x"))
        );
        assert_eq!(map.program("localhost:5000/y"), None);
        assert!(ImageMap::parse(["no-path"]).is_err());
        assert!(ImageMap::parse(["=/bin/x"]).is_err());
    }
}
