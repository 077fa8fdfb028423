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
    let bookmarks = params
        .get("allowWatchBookmarks")
        .is_some_and(|b| b == "true");
    let send_initial = params.get("sendInitialEvents").is_some_and(|b| b == "true");
    let timeout = params
        .get("timeoutSeconds")
        .and_then(|t| t.parse::<u64>().ok())
        .map(Duration::from_secs)
        .unwrap_or(Duration::from_secs(1800));
    let requested_rv = params.get("resourceVersion").cloned().unwrap_or_default();

    let (tx, rx) = mpsc::channel::<Bytes>(256);
    let (mut live, start, mut last_rv) = {
        let store = app.store();
        let live = store.subscribe();
        let rv = store.resource_version();
        let mut start: Vec<Bytes> = Vec::new();
        if send_initial || requested_rv.is_empty() || requested_rv == "0" {
            let (items, _) = store.list(
                &rt,
                filter.namespace.as_deref(),
                &filter.labels,
                &filter.fields,
                None,
                None,
            );
            for item in &items {
                start.push(watch_line("ADDED", &event_object(&rt, item, as_table, rv)));
            }
            if send_initial {
                let bookmark = json!({"kind": rt.kind, "apiVersion": rt.api_version(),
                    "metadata": {"resourceVersion": rv.to_string(), "annotations": {"k8s.io/initial-events-end": "true"}}});
                start.push(watch_line("BOOKMARK", &bookmark));
            }
        } else {
            match requested_rv
                .parse::<u64>()
                .map_err(|_| ApiError::bad_request("invalid resourceVersion"))
                .and_then(|n| store.history_since(n))
            {
                Ok(events) => {
                    for event in events.iter().filter(|e| filter.matches(e)) {
                        start.push(watch_line(
                            event.event_type.as_str(),
                            &event_object(&rt, &event.object, as_table, event.rv),
                        ));
                    }
                }
                Err(err) => start.push(watch_line("ERROR", &err.to_status())),
            }
        }
        (live, start, rv)
    };
    let mut closed = app.close_watches.subscribe();
    let interval = app.bookmark_interval;
    tokio::spawn(async move {
        for line in start {
            if tx.send(line).await.is_err() {
                return;
            }
        }
        let deadline = tokio::time::Instant::now() + timeout;
        let mut ticker = tokio::time::interval_at(tokio::time::Instant::now() + interval, interval);
        loop {
            tokio::select! {
                _ = tokio::time::sleep_until(deadline) => return,
                _ = closed.changed() => return,
                _ = ticker.tick(), if bookmarks => {
                    let bookmark = json!({"kind": rt.kind, "apiVersion": rt.api_version(), "metadata": {"resourceVersion": last_rv.to_string()}});
                    if tx.send(watch_line("BOOKMARK", &bookmark)).await.is_err() { return; }
                }
                event = live.recv() => match event {
                    Ok(event) => {
                        if event.rv <= last_rv { continue; }
                        last_rv = event.rv;
                        if !filter.matches(&event) { continue; }
                        let line = watch_line(event.event_type.as_str(), &event_object(&rt, &event.object, as_table, event.rv));
                        if tx.send(line).await.is_err() { return; }
                    }
                    // A watcher that falls behind is closed; it resumes from its last version.
                    Err(broadcast::error::RecvError::Lagged(_) | broadcast::error::RecvError::Closed) => return,
                }
            }
        }
    });
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
