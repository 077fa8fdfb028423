//! Watch streams: events after a resourceVersion from the history, then live ones, with
//! bookmarks, label and field selectors, Tables for kubectl, and 410 Gone when too old.

use super::*;

pub(super) fn watch_line(event_type: &str, object: &Value) -> Bytes {
    let mut line = json!({"type": event_type, "object": object}).to_string();
    line.push('\n');
    Bytes::from(line)
}

pub(super) fn event_object(rt: &ResourceType, object: &Value, as_table: bool, rv: u64) -> Value {
    if as_table {
        table::table(
            rt,
            std::slice::from_ref(object),
            rv,
            None,
            IncludeObject::Metadata,
        )
    } else {
        object.clone()
    }
}

pub(super) struct WatchFilter {
    gr: crate::resources::GroupResource,
    namespace: Option<String>,
    labels: LabelSelector,
    fields: FieldSelector,
}

impl WatchFilter {
    fn matches(&self, event: &WatchEvent) -> bool {
        event.gr == self.gr
            && self
                .namespace
                .as_ref()
                .is_none_or(|n| *n == event.namespace)
            && self.labels.matches(&event.object)
            && self.fields.matches(&event.object)
    }
}

/// What a watch request asks for beyond its filter.
struct WatchOptions {
    bookmarks: bool,
    send_initial: bool,
    timeout: Duration,
    resource_version: String,
    as_table: bool,
}

impl WatchOptions {
    fn of(params: &HashMap<String, String>, as_table: bool) -> Self {
        Self {
            bookmarks: params
                .get("allowWatchBookmarks")
                .is_some_and(|b| b == "true"),
            send_initial: params.get("sendInitialEvents").is_some_and(|b| b == "true"),
            timeout: params
                .get("timeoutSeconds")
                .and_then(|t| t.parse::<u64>().ok())
                .map(Duration::from_secs)
                .unwrap_or(Duration::from_secs(1800)),
            resource_version: params.get("resourceVersion").cloned().unwrap_or_default(),
            as_table,
        }
    }

    /// Whether the watch starts with the current objects rather than the history after a
    /// resourceVersion.
    fn starts_now(&self) -> bool {
        self.send_initial || self.resource_version.is_empty() || self.resource_version == "0"
    }
}

pub(super) fn watch(
    app: &Arc<App>,
    rt: Arc<ResourceType>,
    namespace: Option<String>,
    labels: LabelSelector,
    fields: FieldSelector,
    params: &HashMap<String, String>,
    as_table: bool,
) -> Response {
    let filter = WatchFilter {
        gr: rt.group_resource(),
        namespace,
        labels,
        fields,
    };
    let options = WatchOptions::of(params, as_table);
    let (tx, rx) = mpsc::channel::<Bytes>(256);
    let (live, start, last_rv) = {
        let store = app.store();
        let live = store.subscribe();
        let rv = store.resource_version();
        (live, first_lines(&store, &rt, &filter, &options, rv), rv)
    };
    let closed = app.close_watches.subscribe();
    let interval = app.bookmark_interval;
    let follow = Follow {
        rt,
        filter,
        options,
        last_rv,
        interval,
    };
    tokio::spawn(follow.run(tx, start, live, closed));
    let stream = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv()
            .await
            .map(|bytes| (Ok::<Bytes, Infallible>(bytes), rx))
    });
    let mut response = Response::new(Body::from_stream(stream));
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

/// The lines a watch starts with: the current objects (and, when asked, the bookmark ending
/// them), or the history since the requested resourceVersion (or why it is gone).
fn first_lines(
    store: &Store,
    rt: &ResourceType,
    filter: &WatchFilter,
    options: &WatchOptions,
    rv: u64,
) -> Vec<Bytes> {
    let as_table = options.as_table;
    let mut start = Vec::new();
    if options.starts_now() {
        let namespace = filter.namespace.as_deref();
        let (items, _) = store.list(rt, namespace, &filter.labels, &filter.fields, None, None);
        for item in &items {
            start.push(watch_line("ADDED", &event_object(rt, item, as_table, rv)));
        }
        if options.send_initial {
            let bookmark = json!({"kind": rt.kind, "apiVersion": rt.api_version(),
                "metadata": {"resourceVersion": rv.to_string(), "annotations": {"k8s.io/initial-events-end": "true"}}});
            start.push(watch_line("BOOKMARK", &bookmark));
        }
        return start;
    }
    match options
        .resource_version
        .parse::<u64>()
        .map_err(|_| ApiError::bad_request("invalid resourceVersion"))
        .and_then(|n| store.history_since(n))
    {
        Ok(events) => {
            for event in events.iter().filter(|e| filter.matches(e)) {
                let object = event_object(rt, &event.object, as_table, event.rv);
                start.push(watch_line(event.event_type.as_str(), &object));
            }
        }
        Err(err) => start.push(watch_line("ERROR", &err.to_status())),
    }
    start
}

/// A watch after its first lines: live events past the last version sent, bookmarks, until the
/// timeout, the client leaves, or devcluster closes its watches.
struct Follow {
    rt: Arc<ResourceType>,
    filter: WatchFilter,
    options: WatchOptions,
    last_rv: u64,
    interval: Duration,
}

impl Follow {
    async fn run(
        mut self,
        tx: mpsc::Sender<Bytes>,
        start: Vec<Bytes>,
        mut live: broadcast::Receiver<Arc<WatchEvent>>,
        mut closed: tokio::sync::watch::Receiver<u64>,
    ) {
        for line in start {
            if tx.send(line).await.is_err() {
                return;
            }
        }
        let deadline = tokio::time::Instant::now() + self.options.timeout;
        let first_tick = tokio::time::Instant::now() + self.interval;
        let mut ticker = tokio::time::interval_at(first_tick, self.interval);
        loop {
            let line = tokio::select! {
                _ = tokio::time::sleep_until(deadline) => return,
                _ = closed.changed() => return,
                _ = ticker.tick(), if self.options.bookmarks => {
                    let bookmark = json!({"kind": self.rt.kind, "apiVersion": self.rt.api_version(), "metadata": {"resourceVersion": self.last_rv.to_string()}});
                    watch_line("BOOKMARK", &bookmark)
                }
                event = live.recv() => match event {
                    Ok(event) => match self.line_for(&event) {
                        Some(line) => line,
                        None => continue,
                    },
                    // A watcher that falls behind is closed; it resumes from its last version.
                    Err(broadcast::error::RecvError::Lagged(_) | broadcast::error::RecvError::Closed) => return,
                }
            };
            if tx.send(line).await.is_err() {
                return;
            }
        }
    }

    /// The line for a live event, or `None` for one already sent or filtered out.
    fn line_for(&mut self, event: &WatchEvent) -> Option<Bytes> {
        if event.rv <= self.last_rv {
            return None;
        }
        self.last_rv = event.rv;
        if !self.filter.matches(event) {
            return None;
        }
        let object = event_object(&self.rt, &event.object, self.options.as_table, event.rv);
        Some(watch_line(event.event_type.as_str(), &object))
    }
}
