//! `GET …/pods/{name}/log`: a container's output, as `kubectl logs` reads it (`container`,
//! `previous`, `tailLines`, `follow`).

use std::{collections::HashMap, path::PathBuf, sync::Arc, time::Duration};

use axum::{
    body::{Body, Bytes},
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use serde_json::Value;

use super::App;
use crate::{resources::ResourceType, runtime::process::log_path, status::ApiError};

/// The log of one container of pod `name`.
pub(super) fn serve(
    app: &Arc<App>,
    rt: &Arc<ResourceType>,
    ns: &str,
    name: &str,
    params: &HashMap<String, String>,
) -> Result<Response, ApiError> {
    let pod = app.store().get(rt, ns, name)?;
    let container = container(&pod, name, params.get("container").map(String::as_str))?;
    let Some(dir) = app.pods_dir() else {
        return Err(waiting(&pod, name, &container));
    };
    let previous = params.get("previous").is_some_and(|p| p == "true");
    let path = log_path(&dir.join(ns).join(name), &container, previous);
    let Ok(text) = std::fs::read(&path) else {
        return Err(if previous {
            ApiError::bad_request(format!(
                "previous terminated container \"{container}\" in pod \"{name}\" not found"
            ))
        } else {
            waiting(&pod, name, &container)
        });
    };
    let tail = params
        .get("tailLines")
        .and_then(|t| t.parse::<usize>().ok());
    let shown = tail.map_or(text.clone(), |n| last_lines(&text, n));
    let follow = params.get("follow").is_some_and(|f| f == "true") && !previous;
    let body = if follow {
        Body::from_stream(following(
            app.clone(),
            rt.clone(),
            ns,
            name,
            path,
            shown,
            text.len(),
        ))
    } else {
        Body::from(shown)
    };
    let mut response = (StatusCode::OK, body).into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain"));
    Ok(response)
}

/// The container asked for, or the only one.
fn container(pod: &Value, name: &str, asked: Option<&str>) -> Result<String, ApiError> {
    let names: Vec<&str> = pod
        .pointer("/spec/containers")
        .and_then(Value::as_array)
        .map(|cs| {
            cs.iter()
                .filter_map(|c| c.get("name").and_then(Value::as_str))
                .collect()
        })
        .unwrap_or_default();
    match asked {
        Some(c) if names.contains(&c) => Ok(c.to_owned()),
        Some(c) => Err(ApiError::bad_request(format!(
            "container {c} is not valid for pod {name}"
        ))),
        None if names.len() == 1 => Ok(names[0].to_owned()),
        None => Err(ApiError::bad_request(format!(
            "a container name must be specified for pod {name}, choose one of: [{}]",
            names.join(" ")
        ))),
    }
}

/// The answer for a container that has not written anything yet.
fn waiting(pod: &Value, name: &str, container: &str) -> ApiError {
    let reason = pod
        .pointer("/status/containerStatuses")
        .and_then(Value::as_array)
        .and_then(|cs| {
            cs.iter()
                .find(|c| c.get("name").and_then(Value::as_str) == Some(container))
        })
        .and_then(|c| c.pointer("/state/waiting/reason"))
        .and_then(Value::as_str)
        .unwrap_or("ContainerCreating");
    ApiError::bad_request(format!(
        "container \"{container}\" in pod \"{name}\" is waiting to start: {reason}"
    ))
}

fn last_lines(text: &[u8], n: usize) -> Vec<u8> {
    let body = text.strip_suffix(b"\n").unwrap_or(text);
    let start = body
        .iter()
        .enumerate()
        .rev()
        .filter(|(_, b)| **b == b'\n')
        .nth(n.saturating_sub(1))
        .map_or(0, |(i, _)| i + 1);
    if n == 0 {
        return Vec::new();
    }
    text[start..].to_vec()
}

/// The shown part, then what the process writes, until the pod is gone or the container
/// restarts (its log starts over).
fn following(
    app: Arc<App>,
    rt: Arc<ResourceType>,
    ns: &str,
    name: &str,
    path: PathBuf,
    first: Vec<u8>,
    offset: usize,
) -> impl futures_util::Stream<Item = Result<Bytes, std::io::Error>> + use<> {
    let (ns, name) = (ns.to_owned(), name.to_owned());
    let state = (Some(first), offset);
    futures_util::stream::unfold(state, move |(first, offset)| {
        let (app, rt, ns, name, path) = (
            app.clone(),
            rt.clone(),
            ns.clone(),
            name.clone(),
            path.clone(),
        );
        async move {
            if let Some(first) = first {
                return Some((Ok(Bytes::from(first)), (None, offset)));
            }
            loop {
                tokio::time::sleep(Duration::from_millis(200)).await;
                if app.store().get(&rt, &ns, &name).is_err() {
                    return None;
                }
                let text = std::fs::read(&path).ok()?;
                if text.len() < offset {
                    return None;
                }
                if text.len() > offset {
                    let len = text.len();
                    return Some((Ok(Bytes::from(text[offset..].to_vec())), (None, len)));
                }
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tail_lines_keeps_the_last_lines() {
        assert_eq!(last_lines(b"a\nb\nc\n", 2), b"b\nc\n");
        assert_eq!(last_lines(b"a\nb\nc", 5), b"a\nb\nc");
        assert_eq!(last_lines(b"a\nb\n", 0), b"");
    }
}
