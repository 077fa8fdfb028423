//! Pod volumes on the local disk: ConfigMap and Secret volumes are projected into a directory
//! per volume the way the kubelet's atomic writer does (files in a `..<time>` directory, a
//! `..data` link to it, and one link per top-level name through `..data`), so an update swaps
//! one link and a reader never sees half a change. `emptyDir` is a plain directory. The process
//! sees each volume at its `mountPath` through a bind mount in its own mount namespace
//! ([`super::process`]).

use std::{
    collections::BTreeMap,
    io,
    os::unix::fs::PermissionsExt,
    path::{Path, PathBuf},
};

use serde_json::Value;

use super::env::Sources;

/// What a volume holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Content {
    /// Files by relative path, with their mode.
    Files(BTreeMap<String, (Vec<u8>, u32)>),
    /// An empty, writable directory.
    Empty,
}

/// A volume cannot be prepared; the pod waits in `ContainerCreating` with a `FailedMount` event.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VolumeError {
    /// Its ConfigMap or Secret does not exist and is not optional.
    #[error("MountVolume.SetUp failed for volume \"{volume}\" : {kind} \"{name}\" not found")]
    Missing {
        /// The volume.
        volume: String,
        /// `configmap` or `secret`.
        kind: &'static str,
        /// The object.
        name: String,
    },
    /// An item names a key its source lacks.
    #[error(
        "MountVolume.SetUp failed for volume \"{volume}\" : configmap or secret has no key {key:?}"
    )]
    MissingKey {
        /// The volume.
        volume: String,
        /// The key.
        key: String,
    },
    /// A kind devcluster does not project.
    #[error("volume \"{0}\": only configMap, secret and emptyDir volumes run in devcluster")]
    Unsupported(String),
    /// A container mounts a volume the pod does not declare.
    #[error("volume mount {0:?} names no volume of the pod")]
    Undeclared(String),
}

/// The content of each of the pod's volumes.
pub fn contents(pod: &Value, sources: &Sources) -> Result<BTreeMap<String, Content>, VolumeError> {
    let mut out = BTreeMap::new();
    for volume in pod
        .pointer("/spec/volumes")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default()
    {
        let name = volume
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        let content = if volume.get("emptyDir").is_some() {
            Content::Empty
        } else if let Some(cm) = volume.get("configMap") {
            let object = str_of(cm, "name");
            let data = sources.config_map(&object);
            projected(&name, "configmap", &object, cm, data)?
        } else if let Some(secret) = volume.get("secret") {
            let object = str_of(secret, "secretName");
            let data = sources.secret(&object).and_then(Result::ok);
            projected(&name, "secret", &object, secret, data)?
        } else {
            return Err(VolumeError::Unsupported(name));
        };
        out.insert(name, content);
    }
    Ok(out)
}

fn projected(
    volume: &str,
    kind: &'static str,
    object: &str,
    source: &Value,
    data: Option<BTreeMap<String, Vec<u8>>>,
) -> Result<Content, VolumeError> {
    let optional = source.get("optional").and_then(Value::as_bool) == Some(true);
    let mode = source
        .get("defaultMode")
        .and_then(Value::as_u64)
        .map_or(0o644, |m| m as u32);
    let Some(data) = data else {
        return if optional {
            Ok(Content::Files(BTreeMap::new()))
        } else {
            Err(VolumeError::Missing {
                volume: volume.to_owned(),
                kind,
                name: object.to_owned(),
            })
        };
    };
    let items = source.get("items").and_then(Value::as_array);
    let mut files = BTreeMap::new();
    match items {
        None => {
            for (key, bytes) in data {
                files.insert(key, (bytes, mode));
            }
        }
        Some(items) => {
            for item in items {
                let key = str_of(item, "key");
                let path = str_of(item, "path");
                let item_mode = item
                    .get("mode")
                    .and_then(Value::as_u64)
                    .map_or(mode, |m| m as u32);
                match data.get(&key) {
                    Some(bytes) => {
                        files.insert(path, (bytes.clone(), item_mode));
                    }
                    None if optional => {}
                    None => {
                        return Err(VolumeError::MissingKey {
                            volume: volume.to_owned(),
                            key,
                        });
                    }
                }
            }
        }
    }
    Ok(Content::Files(files))
}

/// Writes `content` into `dir`; returns whether anything changed. Projected files are swapped in
/// atomically; an `emptyDir` is only created.
pub fn write(dir: &Path, content: &Content) -> io::Result<bool> {
    std::fs::create_dir_all(dir)?;
    let Content::Files(files) = content else {
        return Ok(false);
    };
    let data = dir.join("..data");
    if read_tree(&data).as_ref() == Some(files) {
        return Ok(false);
    }
    let stamp = format!(
        "..{}",
        jiff::Timestamp::now().strftime("%Y_%m_%d_%H_%M_%S.%f")
    );
    let fresh = dir.join(&stamp);
    for (path, (bytes, mode)) in files {
        let file = fresh.join(path);
        if let Some(parent) = file.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(&file, bytes)?;
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(*mode))?;
    }
    std::fs::create_dir_all(&fresh)?;
    let previous = std::fs::read_link(&data).ok();
    let link = dir.join("..data_tmp");
    let _ = std::fs::remove_file(&link);
    std::os::unix::fs::symlink(&stamp, &link)?;
    std::fs::rename(&link, &data)?;
    let tops: std::collections::BTreeSet<String> = files
        .keys()
        .filter_map(|p| p.split('/').next().map(str::to_owned))
        .collect();
    for top in &tops {
        let entry = dir.join(top);
        if std::fs::symlink_metadata(&entry).is_err() {
            std::os::unix::fs::symlink(Path::new("..data").join(top), &entry)?;
        }
    }
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if !name.starts_with("..") && !tops.contains(&name) {
            std::fs::remove_file(entry.path())?;
        }
    }
    if let Some(old) = previous {
        let _ = std::fs::remove_dir_all(dir.join(old));
    }
    Ok(true)
}

/// The files under `data` (following its link), or `None` when it is not there.
fn read_tree(data: &Path) -> Option<BTreeMap<String, (Vec<u8>, u32)>> {
    let root = std::fs::canonicalize(data).ok()?;
    let mut out = BTreeMap::new();
    let mut stack = vec![root.clone()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).ok()? {
            let path = entry.ok()?.path();
            let meta = std::fs::metadata(&path).ok()?;
            if meta.is_dir() {
                stack.push(path);
            } else {
                let rel = path
                    .strip_prefix(&root)
                    .ok()?
                    .to_string_lossy()
                    .into_owned();
                let bytes = std::fs::read(&path).ok()?;
                out.insert(rel, (bytes, meta.permissions().mode() & 0o7777));
            }
        }
    }
    Some(out)
}

/// One bind mount of a container: a volume's directory (or a file in it, for `subPath`) at
/// `target`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mount {
    /// The volume's directory or file on the local disk.
    pub source: PathBuf,
    /// The container's `mountPath`.
    pub target: PathBuf,
    /// `readOnly` (ConfigMap and Secret volumes are always read-only, as in Kubernetes).
    pub read_only: bool,
}

/// The bind mounts of `container`, whose volumes live under `volumes`.
pub fn mounts(
    container: &Value,
    volumes_dir: &Path,
    contents: &BTreeMap<String, Content>,
) -> Result<Vec<Mount>, VolumeError> {
    let mut out = Vec::new();
    for mount in container
        .get("volumeMounts")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default()
    {
        let name = str_of(mount, "name");
        let content = contents
            .get(&name)
            .ok_or_else(|| VolumeError::Undeclared(name.clone()))?;
        let mut source = volumes_dir.join(&name);
        let sub = str_of(mount, "subPath");
        if !sub.is_empty() {
            source = match content {
                Content::Files(_) => source.join("..data").join(&sub),
                Content::Empty => source.join(&sub),
            };
        }
        out.push(Mount {
            source,
            target: PathBuf::from(str_of(mount, "mountPath")),
            read_only: matches!(content, Content::Files(_))
                || mount.get("readOnly").and_then(Value::as_bool) == Some(true),
        });
    }
    Ok(out)
}

fn str_of(v: &Value, field: &str) -> String {
    v.get(field)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn a_config_map_volume_is_swapped_in_place() {
        let dir = tempfile::tempdir().unwrap();
        let mut sources = Sources::default();
        sources.config_maps.insert(
            "app".into(),
            json!({"data": {"entitlements.json": "{\"a\":1}", "other": "x"}}),
        );
        let pod = json!({"spec": {"volumes": [
            {"name": "config", "configMap": {"name": "app", "items": [{"key": "entitlements.json", "path": "entitlements.json"}]}},
            {"name": "tmp", "emptyDir": {}}
        ]}});
        let found = contents(&pod, &sources).unwrap();
        let volume = dir.path().join("config");
        assert!(write(&volume, &found["config"]).unwrap());
        assert!(
            !write(&volume, &found["config"]).unwrap(),
            "unchanged, untouched"
        );
        let file = volume.join("entitlements.json");
        assert_eq!(std::fs::read_to_string(&file).unwrap(), "{\"a\":1}");
        assert!(!volume.join("other").exists(), "items choose the keys");

        sources.config_maps.insert(
            "app".into(),
            json!({"data": {"entitlements.json": "{\"a\":2}"}}),
        );
        let found = contents(&pod, &sources).unwrap();
        assert!(write(&volume, &found["config"]).unwrap());
        assert_eq!(std::fs::read_to_string(&file).unwrap(), "{\"a\":2}");
        let stamped: Vec<_> = std::fs::read_dir(&volume)
            .unwrap()
            .filter_map(|e| e.ok())
            .filter(|e| e.file_name().to_string_lossy().starts_with("..2"))
            .collect();
        assert_eq!(stamped.len(), 1, "the old generation is removed");
    }

    #[test]
    fn a_missing_source_holds_the_pod_unless_optional() {
        let pod = json!({"spec": {"volumes": [{"name": "s", "secret": {"secretName": "creds"}}]}});
        let err = contents(&pod, &Sources::default()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "MountVolume.SetUp failed for volume \"s\" : secret \"creds\" not found"
        );
        let optional = json!({"spec": {"volumes": [{"name": "s", "secret": {"secretName": "creds", "optional": true}}]}});
        assert_eq!(
            contents(&optional, &Sources::default()).unwrap()["s"],
            Content::Files(BTreeMap::new())
        );
    }
}
