//! The HTTP front: routing Kubernetes API paths to the store, watch streams, request counters.

use std::{
    collections::{BTreeMap, HashMap},
    convert::Infallible,
    sync::{Arc, Mutex, MutexGuard, PoisonError},
    time::Duration,
};

use axum::{
    body::{Body, Bytes},
    extract::State,
    http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header},
    response::{IntoResponse, Response},
};
use serde_json::{Value, json};
use tokio::sync::{broadcast, mpsc, watch};

mod logs;
mod stream;

use stream::watch;

use crate::{
    auth::{
        self, Attributes, User,
        rbac::{self, Decision},
    },
    discovery,
    fields::Part,
    resources::ResourceType,
    selectors::{FieldSelector, LabelSelector},
    status::ApiError,
    store::{
        Change, DeleteOpts, FieldValidation, PatchType, Propagation, Store, WatchEvent, WriteCtx,
    },
    table::{self, IncludeObject},
};

/// Shared server state.
pub struct App {
    store: Mutex<Store>,
    counters: Mutex<BTreeMap<(String, String, String), u64>>,
    /// Bumped to end every open watch (tests of watch resumption).
    close_watches: watch::Sender<u64>,
    persist: Mutex<Option<mpsc::UnboundedSender<Vec<Change>>>>,
    bookmark_interval: Duration,
    /// Where the process runtime keeps pods' logs, when it runs.
    pods_dir: std::sync::OnceLock<std::path::PathBuf>,
}

impl std::fmt::Debug for App {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("App").finish_non_exhaustive()
    }
}

impl App {
    /// Server state over `store`; changes go to `persist` when given.
    pub fn new(
        store: Store,
        persist: Option<mpsc::UnboundedSender<Vec<Change>>>,
        bookmark_interval: Duration,
    ) -> Self {
        Self {
            store: Mutex::new(store),
            counters: Mutex::new(BTreeMap::new()),
            close_watches: watch::channel(0).0,
            persist: Mutex::new(persist),
            bookmark_interval,
            pods_dir: std::sync::OnceLock::new(),
        }
    }

    /// Tells the log endpoint where the process runtime keeps pods.
    pub fn set_pods_dir(&self, dir: std::path::PathBuf) {
        let _ = self.pods_dir.set(dir);
    }

    /// Where the process runtime keeps pods, when it runs.
    pub fn pods_dir(&self) -> Option<&std::path::Path> {
        self.pods_dir.get().map(std::path::PathBuf::as_path)
    }

    /// Locks the store.
    pub fn store(&self) -> MutexGuard<'_, Store> {
        self.store.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Sends pending changes to persistence.
    pub fn flush(&self, store: &mut Store) {
        let changes = store.take_changes();
        if changes.is_empty() {
            return;
        }
        if let Some(tx) = self
            .persist
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .as_ref()
        {
            let _ = tx.send(changes);
        }
    }

    /// Stops sending changes to persistence, so its writer finishes what it has and ends.
    pub fn end_persistence(&self) {
        self.persist
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
    }

    /// Ends every open watch stream, as an API server restart or a load balancer would.
    pub fn close_watches(&self) {
        self.close_watches.send_modify(|n| *n += 1);
    }

    /// Requests served, by (verb, resource, subresource).
    pub fn counters(&self) -> BTreeMap<(String, String, String), u64> {
        self.counters
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    fn count(&self, verb: &str, resource: &str, sub: &str) {
        *self
            .counters
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .entry((verb.to_owned(), resource.to_owned(), sub.to_owned()))
            .or_default() += 1;
    }

    /// The `/metrics` text.
    pub fn metrics_text(&self) -> String {
        let mut out = String::from(
            "# HELP devcluster_requests_total API requests served, by verb, resource and subresource.\n# TYPE devcluster_requests_total counter\n",
        );
        for ((verb, resource, sub), n) in self.counters() {
            out.push_str(&format!(
                "devcluster_requests_total{{verb=\"{verb}\",resource=\"{resource}\",subresource=\"{sub}\"}} {n}\n"
            ));
        }
        out
    }
}

fn json_response(code: StatusCode, value: &Value) -> Response {
    let mut response = (code, value.to_string()).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

fn text(code: StatusCode, body: String) -> Response {
    (code, body).into_response()
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'+', _) => out.push(b' '),
            (b'%', Some(b)) => {
                out.push(b);
                i += 2;
            }
            (b, _) => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn query_params(uri: &Uri) -> HashMap<String, String> {
    uri.query()
        .unwrap_or_default()
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| match p.split_once('=') {
            Some((k, v)) => (percent_decode(k), percent_decode(v)),
            None => (percent_decode(p), String::new()),
        })
        .collect()
}

/// A parsed resource URL.
struct Target {
    rt: Arc<ResourceType>,
    namespace: Option<String>,
    name: Option<String>,
    sub: Option<String>,
}

fn parse_target(app: &App, path: &str) -> Option<Target> {
    let segments: Vec<String> = path
        .trim_matches('/')
        .split('/')
        .map(percent_decode)
        .collect();
    let (group, version, rest) = match segments.first().map(String::as_str) {
        Some("api") if segments.len() >= 3 => (String::new(), segments[1].clone(), &segments[2..]),
        Some("apis") if segments.len() >= 4 => {
            (segments[1].clone(), segments[2].clone(), &segments[3..])
        }
        _ => return None,
    };
    let store = app.store();
    let find = |plural: &str| store.registry.find(&group, &version, plural);
    if rest.len() >= 3
        && rest[0] == "namespaces"
        && let Some(rt) = find(&rest[2]).filter(|rt| rt.namespaced)
    {
        if rest.len() > 5 {
            return None;
        }
        return Some(Target {
            rt,
            namespace: Some(rest[1].clone()),
            name: rest.get(3).cloned(),
            sub: rest.get(4).cloned(),
        });
    }
    if rest.len() > 3 {
        return None;
    }
    let rt = find(&rest[0])?;
    if rt.namespaced && rest.len() > 1 {
        return None;
    }
    Some(Target {
        rt,
        namespace: None,
        name: rest.get(1).cloned(),
        sub: rest.get(2).cloned(),
    })
}

/// The single entry point: every request of the API.
pub async fn handle(
    State(app): State<Arc<App>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri.path().to_owned();
    let params = query_params(&uri);
    let user = match authenticate(&app, &headers) {
        Ok(user) => user,
        Err(error) => return error.into_response(),
    };
    let target = parse_target(&app, &path);
    if target.is_none() {
        let attributes = Attributes::NonResource {
            verb: method.as_str().to_lowercase(),
            path: path.clone(),
        };
        if let Err(error) = authorize(&app, &user, &attributes) {
            return error.into_response();
        }
    }
    let response = match (method.clone(), path.as_str()) {
        (Method::GET, "/version") => json_response(StatusCode::OK, &discovery::version()),
        (Method::GET, "/healthz" | "/readyz" | "/livez") => text(StatusCode::OK, "ok".into()),
        (Method::GET, "/metrics") => text(StatusCode::OK, app.metrics_text()),
        (Method::GET, "/api") => json_response(StatusCode::OK, &discovery::core_versions()),
        (Method::GET, "/apis") => json_response(
            StatusCode::OK,
            &discovery::group_list(&app.store().registry),
        ),
        (Method::GET, "/openapi/v3") => {
            let store = app.store();
            json_response(
                StatusCode::OK,
                &discovery::openapi_index(&store.registry, store.resource_version()),
            )
        }
        (Method::GET, p) if p.starts_with("/openapi/v3/") => {
            let rest = p.trim_start_matches("/openapi/v3/");
            let parts: Vec<&str> = rest.split('/').collect();
            let (group, version) = match parts.as_slice() {
                ["api", v] => ("", *v),
                ["apis", g, v] => (*g, *v),
                _ => ("", ""),
            };
            match discovery::openapi_document(&app.store().registry, group, version) {
                Some(doc) => json_response(StatusCode::OK, &doc),
                None => ApiError::no_route().into_response(),
            }
        }
        (Method::GET, p) if discovery_path(p).is_some() => {
            let (group, version) = discovery_path(p).unwrap_or_default();
            let store = app.store();
            let doc = match version {
                Some(v) => discovery::resource_list(&store.registry, &group, &v),
                None => discovery::group(&store.registry, &group),
            };
            match doc {
                Some(doc) => json_response(StatusCode::OK, &doc),
                None => ApiError::no_route().into_response(),
            }
        }
        _ => match target {
            Some(target) => resource_request(
                &app,
                &user,
                method.clone(),
                target,
                &params,
                &headers,
                &body,
            )
            .await
            .unwrap_or_else(IntoResponse::into_response),
            None => ApiError::no_route().into_response(),
        },
    };
    tracing::debug!(%method, %uri, status = response.status().as_u16(), "request");
    response
}

/// `/api/v1` → ("", Some("v1")); `/apis/g` → ("g", None); `/apis/g/v` → ("g", Some("v")).
fn discovery_path(path: &str) -> Option<(String, Option<String>)> {
    let parts: Vec<&str> = path.trim_matches('/').split('/').collect();
    match parts.as_slice() {
        ["api", v] => Some((String::new(), Some((*v).to_owned()))),
        ["apis", g] => Some(((*g).to_owned(), None)),
        ["apis", g, v] => Some(((*g).to_owned(), Some((*v).to_owned()))),
        _ => None,
    }
}

fn write_ctx(params: &HashMap<String, String>, headers: &HeaderMap) -> WriteCtx {
    let manager = params.get("fieldManager").cloned().unwrap_or_else(|| {
        headers
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .and_then(|ua| ua.split('/').next())
            .filter(|s| !s.is_empty())
            .unwrap_or("unknown")
            .to_owned()
    });
    let validation = match params.get("fieldValidation").map(String::as_str) {
        Some("Strict") => FieldValidation::Strict,
        Some("Ignore") => FieldValidation::Ignore,
        _ => FieldValidation::Warn,
    };
    WriteCtx {
        manager,
        dry_run: params.get("dryRun").is_some_and(|d| d == "All"),
        validation,
    }
}

fn parse_body(body: &Bytes, content_type: &str) -> Result<Value, ApiError> {
    if body.is_empty() {
        return Ok(Value::Null);
    }
    if content_type.starts_with("application/vnd.kubernetes.protobuf") {
        crate::protobuf::decode(body).map_err(|e| match e {
            crate::protobuf::ProtoError::Kind(_) => ApiError::unsupported_media(e.to_string()),
            crate::protobuf::ProtoError::Malformed(_) => ApiError::bad_request(e.to_string()),
        })
    } else if content_type.contains("yaml") {
        serde_yaml::from_slice(body)
            .map_err(|e| ApiError::bad_request(format!("error decoding YAML: {e}")))
    } else {
        serde_json::from_slice(body)
            .map_err(|e| ApiError::bad_request(format!("error decoding JSON: {e}")))
    }
}

fn written_response(written: crate::store::Written, created_code: StatusCode) -> Response {
    let code = if written.created {
        created_code
    } else {
        StatusCode::OK
    };
    let mut response = json_response(code, &written.object);
    for warning in written.warnings {
        if let Ok(v) = HeaderValue::from_str(&format!("299 - \"{}\"", warning.replace('"', "\\\"")))
        {
            response.headers_mut().append(header::WARNING, v);
        }
    }
    response
}

fn verb_of(method: &Method, target: &Target, params: &HashMap<String, String>) -> &'static str {
    match (method, target.name.is_some()) {
        (&Method::GET, false) if params.get("watch").is_some_and(|w| w == "true" || w == "1") => {
            "watch"
        }
        (&Method::GET, false) => "list",
        (&Method::GET, true) => "get",
        (&Method::POST, _) => "create",
        (&Method::PUT, _) => "update",
        (&Method::PATCH, _) => "patch",
        (&Method::DELETE, false) => "deletecollection",
        (&Method::DELETE, true) => "delete",
        _ => "other",
    }
}

/// The user of the request's bearer token (the admin without one, see [`crate::auth`]), or
/// the one it impersonates (`kubectl --as`), when it may.
fn authenticate(app: &App, headers: &HeaderMap) -> Result<User, ApiError> {
    let user = match headers.get(header::AUTHORIZATION) {
        None => User::admin(),
        Some(value) => {
            let token = value
                .to_str()
                .ok()
                .and_then(|v| v.strip_prefix("Bearer "))
                .map(str::trim)
                .ok_or_else(ApiError::unauthorized)?;
            app.store()
                .authenticate(token)
                .ok_or_else(ApiError::unauthorized)?
        }
    };
    let Some(name) = headers
        .get("impersonate-user")
        .and_then(|v| v.to_str().ok())
    else {
        return Ok(user);
    };
    let groups: Vec<String> = headers
        .get_all("impersonate-group")
        .iter()
        .filter_map(|v| v.to_str().ok().map(str::to_owned))
        .collect();
    let impersonated = User::impersonated(name, groups.clone());
    // What a kube-apiserver checks: `impersonate` on the user (or service account) and on each group.
    let mut checks = vec![match name
        .strip_prefix("system:serviceaccount:")
        .and_then(|r| r.split_once(':'))
    {
        Some((ns, sa)) => impersonation("serviceaccounts", ns, sa),
        None => impersonation("users", "", name),
    }];
    checks.extend(groups.iter().map(|g| impersonation("groups", "", g)));
    for check in &checks {
        authorize(app, &user, check)?;
    }
    Ok(impersonated)
}

fn impersonation(resource: &str, namespace: &str, name: &str) -> Attributes {
    Attributes::Resource {
        verb: "impersonate".into(),
        group: String::new(),
        resource: resource.into(),
        subresource: String::new(),
        namespace: namespace.into(),
        name: name.into(),
    }
}

/// Allows `attributes` for `user`, or the 403 a kube-apiserver gives.
fn authorize(app: &App, user: &User, attributes: &Attributes) -> Result<(), ApiError> {
    if user.is_admin() {
        return Ok(());
    }
    match rbac::authorize(&*app.store(), user, attributes) {
        Decision::Allow => Ok(()),
        Decision::Deny(reason) => {
            tracing::info!(user = %user.name, ?attributes, "forbidden");
            Err(auth::forbidden(user, attributes, &reason))
        }
    }
}

/// The authorizer's view of a resource request: a list or watch pinned to one name by
/// `fieldSelector=metadata.name=…` names it, as a kube-apiserver's request info does.
fn resource_attributes(
    verb: &str,
    target: &Target,
    params: &HashMap<String, String>,
) -> Attributes {
    let mut name = target.name.clone().unwrap_or_default();
    if matches!(verb, "list" | "watch")
        && let Some(pinned) = params
            .get("fieldSelector")
            .and_then(|f| FieldSelector::parse(f).ok())
            .and_then(|f| f.name().map(str::to_owned))
    {
        name = pinned;
    }
    Attributes::Resource {
        verb: verb.to_owned(),
        group: target.rt.group.clone(),
        resource: target.rt.plural.clone(),
        subresource: target.sub.clone().unwrap_or_default(),
        namespace: target.namespace.clone().unwrap_or_default(),
        name,
    }
}

/// Whether a PATCH is a server-side apply (which creates a missing object).
fn is_apply(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/apply-patch"))
}

async fn resource_request(
    app: &Arc<App>,
    user: &User,
    method: Method,
    target: Target,
    params: &HashMap<String, String>,
    headers: &HeaderMap,
    body: &Bytes,
) -> Result<Response, ApiError> {
    let verb = verb_of(&method, &target, params);
    let attributes = resource_attributes(verb, &target, params);
    authorize(app, user, &attributes)?;
    if verb == "patch" && target.sub.is_none() && is_apply(headers) && !user.is_admin() {
        // An apply that creates the object needs `create` as well (as in a kube-apiserver).
        let ns = target.namespace.as_deref().unwrap_or_default();
        let name = target.name.as_deref().unwrap_or_default();
        if app.store().get(&target.rt, ns, name).is_err() {
            authorize(app, user, &resource_attributes("create", &target, params))?;
        }
    }
    app.count(
        verb,
        &target.rt.plural,
        target.sub.as_deref().unwrap_or_default(),
    );
    let rt = target.rt.clone();
    let ns = target.namespace.clone().unwrap_or_default();
    if rt.namespaced && target.namespace.is_none() && !matches!(verb, "list" | "watch") {
        return Err(ApiError::no_route());
    }
    let name = target.name.as_deref().unwrap_or_default();
    let part = match target.sub.as_deref() {
        None => Part::Main,
        Some("status") if rt.status_subresource => Part::Status,
        Some("log") if rt.group.is_empty() && rt.plural == "pods" && method == Method::GET => {
            return logs::serve(app, &rt, &ns, name, params);
        }
        Some("scale") if rt.scale.is_some() => {
            return scale_request(app, &method, &rt, &ns, name, params, headers, body);
        }
        Some("token")
            if rt.group.is_empty() && rt.plural == "serviceaccounts" && method == Method::POST =>
        {
            return token_request(app, &ns, name, headers, body);
        }
        Some(_) => return Err(ApiError::no_route()),
    };
    let call = Call {
        app,
        rt,
        ns_filter: target.namespace.as_deref(),
        ns: &ns,
        name,
        part,
        params,
        headers,
        body,
    };
    match verb {
        "watch" => {
            let (labels, fields) = call.selectors()?;
            let ns = call.ns_filter.map(str::to_owned);
            let table = table::wants_table(&call.header(header::ACCEPT));
            Ok(watch(app, call.rt, ns, labels, fields, params, table))
        }
        "list" => call.list(),
        "get" => call.get(),
        "create" => call.create(),
        "update" => call.update(),
        "patch" => call.patch(),
        "delete" => call.delete(),
        "deletecollection" => call.delete_collection(),
        _ => Err(ApiError::method_not_allowed()),
    }
}

/// One request on a resource's collection or object, with what it reads.
struct Call<'a> {
    app: &'a Arc<App>,
    rt: Arc<ResourceType>,
    /// The namespace of the URL, if any (a list across namespaces has none).
    ns_filter: Option<&'a str>,
    /// The namespace of the URL, or empty.
    ns: &'a str,
    /// The object's name, or empty on a collection.
    name: &'a str,
    part: Part,
    params: &'a HashMap<String, String>,
    headers: &'a HeaderMap,
    body: &'a Bytes,
}

impl Call<'_> {
    fn header(&self, name: header::HeaderName) -> String {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    }

    fn param(&self, name: &str) -> &str {
        self.params
            .get(name)
            .map(String::as_str)
            .unwrap_or_default()
    }

    fn selectors(&self) -> Result<(LabelSelector, FieldSelector), ApiError> {
        let labels = LabelSelector::parse(self.param("labelSelector"))
            .map_err(|e| ApiError::bad_request(e.to_string()))?;
        let fields = FieldSelector::parse(self.param("fieldSelector"))
            .map_err(|e| ApiError::bad_request(e.to_string()))?;
        Ok((labels, fields))
    }

    fn body(&self) -> Result<Value, ApiError> {
        parse_body(self.body, &self.header(header::CONTENT_TYPE))
    }

    fn list(&self) -> Result<Response, ApiError> {
        let (labels, fields) = self.selectors()?;
        let limit = self
            .params
            .get("limit")
            .and_then(|l| l.parse::<usize>().ok())
            .filter(|l| *l > 0);
        let after = self
            .params
            .get("continue")
            .filter(|c| !c.is_empty())
            .map(|c| {
                c.split_once('/')
                    .map(|(a, b)| (a.to_owned(), b.to_owned()))
                    .ok_or_else(|| ApiError::bad_request("invalid continue token"))
            })
            .transpose()?;
        let store = self.app.store();
        let (items, last) = store.list(
            &self.rt,
            self.ns_filter,
            &labels,
            &fields,
            after.as_ref(),
            limit,
        );
        let rv = store.resource_version();
        drop(store);
        let token = last.map(|(a, b)| format!("{a}/{b}"));
        if table::wants_table(&self.header(header::ACCEPT)) {
            let include =
                IncludeObject::parse(self.params.get("includeObject").map(String::as_str));
            let table = table::table(&self.rt, &items, rv, token.as_deref(), include);
            return Ok(json_response(StatusCode::OK, &table));
        }
        let mut metadata = json!({"resourceVersion": rv.to_string()});
        if let Some(token) = token {
            metadata["continue"] = json!(token);
        }
        Ok(json_response(
            StatusCode::OK,
            &json!({"kind": format!("{}List", self.rt.kind), "apiVersion": self.rt.api_version(), "metadata": metadata, "items": items}),
        ))
    }

    fn get(&self) -> Result<Response, ApiError> {
        let (object, rv) = {
            let store = self.app.store();
            let object = store.get(&self.rt, self.ns, self.name)?;
            (object, store.resource_version())
        };
        if table::wants_table(&self.header(header::ACCEPT)) && self.part == Part::Main {
            let include =
                IncludeObject::parse(self.params.get("includeObject").map(String::as_str));
            let table = table::table(&self.rt, &[object], rv, None, include);
            return Ok(json_response(StatusCode::OK, &table));
        }
        Ok(json_response(StatusCode::OK, &object))
    }

    fn create(&self) -> Result<Response, ApiError> {
        let object = self.body()?;
        let ctx = write_ctx(self.params, self.headers);
        let mut store = self.app.store();
        let written = store.create(&self.rt, self.ns, object, &ctx)?;
        self.app.flush(&mut store);
        Ok(written_response(written, StatusCode::CREATED))
    }

    fn update(&self) -> Result<Response, ApiError> {
        let object = self.body()?;
        let ctx = write_ctx(self.params, self.headers);
        let mut store = self.app.store();
        let written = store.update(&self.rt, self.ns, self.name, object, self.part, &ctx)?;
        self.app.flush(&mut store);
        Ok(written_response(written, StatusCode::OK))
    }

    fn patch(&self) -> Result<Response, ApiError> {
        let content_type = self.header(header::CONTENT_TYPE);
        let patch_type = match content_type.split(';').next().unwrap_or_default().trim() {
            "application/merge-patch+json" => PatchType::Merge,
            "application/json-patch+json" => PatchType::Json,
            "application/strategic-merge-patch+json" => PatchType::Strategic,
            "application/apply-patch+yaml" | "application/apply-patch+json" => PatchType::Apply {
                force: self.params.get("force").is_some_and(|f| f == "true"),
            },
            other => {
                return Err(ApiError::unsupported_media(format!(
                    "the body of the request was in an unknown format ({other})"
                )));
            }
        };
        if matches!(patch_type, PatchType::Apply { .. })
            && !self.params.contains_key("fieldManager")
        {
            return Err(ApiError::bad_request(
                "PATCH with apply requires a fieldManager",
            ));
        }
        let patch = self.body()?;
        let ctx = write_ctx(self.params, self.headers);
        let mut store = self.app.store();
        let (rt, part) = (&self.rt, self.part);
        let written = store.patch(rt, self.ns, self.name, patch_type, &patch, part, &ctx)?;
        self.app.flush(&mut store);
        Ok(written_response(written, StatusCode::CREATED))
    }

    fn delete(&self) -> Result<Response, ApiError> {
        let opts = delete_opts(&self.body()?, self.params);
        let mut store = self.app.store();
        let object = store.delete(&self.rt, self.ns, self.name, &opts)?;
        self.app.flush(&mut store);
        Ok(json_response(StatusCode::OK, &object))
    }

    fn delete_collection(&self) -> Result<Response, ApiError> {
        let (labels, fields) = self.selectors()?;
        let opts = delete_opts(&self.body()?, self.params);
        let mut store = self.app.store();
        let (items, _) = store.list(&self.rt, self.ns_filter, &labels, &fields, None, None);
        for item in &items {
            let at = |pointer: &str| {
                item.pointer(pointer)
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned()
            };
            let _ = store.delete(
                &self.rt,
                &at("/metadata/namespace"),
                &at("/metadata/name"),
                &opts,
            );
        }
        self.app.flush(&mut store);
        Ok(json_response(
            StatusCode::OK,
            &json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success"}),
        ))
    }
}

fn delete_opts(options: &Value, params: &HashMap<String, String>) -> DeleteOpts {
    let policy = options
        .get("propagationPolicy")
        .and_then(Value::as_str)
        .map(str::to_owned)
        .or_else(|| params.get("propagationPolicy").cloned());
    DeleteOpts {
        propagation: match policy.as_deref() {
            Some("Foreground") => Propagation::Foreground,
            Some("Orphan") => Propagation::Orphan,
            _ if options.get("orphanDependents") == Some(&Value::Bool(true)) => Propagation::Orphan,
            _ => Propagation::Background,
        },
        uid: options
            .pointer("/preconditions/uid")
            .and_then(Value::as_str)
            .map(str::to_owned),
        resource_version: options
            .pointer("/preconditions/resourceVersion")
            .and_then(Value::as_str)
            .map(str::to_owned),
        grace: options
            .get("gracePeriodSeconds")
            .and_then(Value::as_i64)
            .or_else(|| params.get("gracePeriodSeconds")?.parse().ok()),
        dry_run: params.get("dryRun").is_some_and(|d| d == "All")
            || options
                .get("dryRun")
                .and_then(Value::as_array)
                .is_some_and(|d| d.iter().any(|x| x == "All")),
    }
}

fn scale_of(rt: &ResourceType, object: &Value) -> Value {
    let paths = rt.scale.as_ref();
    let read = |p: Option<&String>| {
        p.map(|p| crate::selectors::path_value(object, p))
            .and_then(|v| v.parse::<i64>().ok())
            .unwrap_or(0)
    };
    json!({"kind": "Scale", "apiVersion": "autoscaling/v1",
           "metadata": {"name": object.pointer("/metadata/name"), "namespace": object.pointer("/metadata/namespace"),
                        "uid": object.pointer("/metadata/uid"), "resourceVersion": object.pointer("/metadata/resourceVersion"),
                        "creationTimestamp": object.pointer("/metadata/creationTimestamp")},
           "spec": {"replicas": read(paths.map(|p| &p.spec_replicas))},
           "status": {"replicas": read(paths.map(|p| &p.status_replicas))}})
}

/// `POST …/serviceaccounts/NAME/token`: a TokenRequest answered with a token for the account.
fn token_request(
    app: &App,
    ns: &str,
    name: &str,
    headers: &HeaderMap,
    body: &Bytes,
) -> Result<Response, ApiError> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let request = parse_body(body, content_type)?;
    let lifetime = crate::auth::tokens::lifetime(&request).map_err(ApiError::bad_request)?;
    let mut store = app.store();
    let Some(rt) = store.registry.find("", "v1", "serviceaccounts") else {
        return Err(ApiError::no_route());
    };
    let (token, expires) = store
        .issue_token(ns, name, None, lifetime)
        .ok_or_else(|| ApiError::not_found(&rt, name))?;
    let expires = jiff::Timestamp::try_from(expires)
        .map_err(|e| ApiError::internal(e.to_string()))?
        .round(jiff::Unit::Second)
        .map_err(|e| ApiError::internal(e.to_string()))?;
    let mut answer = json!({
        "kind": "TokenRequest",
        "apiVersion": "authentication.k8s.io/v1",
        "metadata": {"name": name, "namespace": ns, "creationTimestamp": null},
        "spec": request.get("spec").cloned().unwrap_or_else(|| json!({})),
        "status": {"token": token, "expirationTimestamp": expires.to_string()},
    });
    answer["spec"]["expirationSeconds"] = json!(lifetime.as_secs());
    Ok(json_response(StatusCode::CREATED, &answer))
}

#[allow(clippy::too_many_arguments, reason = "mirrors the request's parts")]
fn scale_request(
    app: &Arc<App>,
    method: &Method,
    rt: &Arc<ResourceType>,
    ns: &str,
    name: &str,
    params: &HashMap<String, String>,
    headers: &HeaderMap,
    body: &Bytes,
) -> Result<Response, ApiError> {
    let mut store = app.store();
    let object = store.get(rt, ns, name)?;
    let current = scale_of(rt, &object);
    if *method == Method::GET {
        return Ok(json_response(StatusCode::OK, &current));
    }
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let input = parse_body(body, content_type)?;
    let mut scale = current.clone();
    match *method {
        Method::PUT => scale = input,
        Method::PATCH if content_type.starts_with("application/json-patch+json") => {
            crate::rfc6902::apply(&mut scale, input)?;
        }
        Method::PATCH => json_patch::merge(&mut scale, &input),
        _ => return Err(ApiError::method_not_allowed()),
    }
    let replicas = scale
        .pointer("/spec/replicas")
        .and_then(Value::as_i64)
        .ok_or_else(|| ApiError::bad_request("spec.replicas is required"))?;
    let mut updated = object;
    let path = rt
        .scale
        .as_ref()
        .map(|s| s.spec_replicas.clone())
        .unwrap_or_default();
    let pointer: String = path
        .trim_start_matches('.')
        .split('.')
        .map(|s| format!("/{s}"))
        .collect();
    if let Some(slot) = updated.pointer_mut(&pointer) {
        *slot = json!(replicas);
    } else if let Some(spec) = updated.get_mut("spec").and_then(Value::as_object_mut) {
        spec.insert("replicas".into(), json!(replicas));
    }
    let written = store.update(
        rt,
        ns,
        name,
        updated,
        Part::Main,
        &write_ctx(params, headers),
    )?;
    app.flush(&mut store);
    Ok(json_response(
        StatusCode::OK,
        &scale_of(rt, &written.object),
    ))
}
