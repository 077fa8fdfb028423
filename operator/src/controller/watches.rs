//! Watch streams that always recover, and whether each is up.
//!
//! kube's watcher retries a failed watch from its last resourceVersion and says nothing when
//! that works again, and its errors reach the controller, whose trigger back-off then pauses
//! every watch of that controller at once. Here a watch that fails is dropped and started
//! again, from a fresh list, after a short back-off (250 ms doubling to 5 s): whatever changed
//! while the API server was away is seen, and the list's end says the watch is up. Errors never
//! reach the controllers; they are logged, and counted as restarts per watch.

use std::{
    collections::BTreeMap,
    fmt::Debug,
    sync::{Arc, Mutex, PoisonError},
    time::Duration,
};

use dotmac_web::metrics::{Exposition, Kind};
use futures_util::{Stream, StreamExt, stream::BoxStream};
use kube::{
    Api, Resource,
    runtime::watcher::{self, Event, watcher},
};
use serde::de::DeserializeOwned;

/// The first wait before a failed watch starts again; it doubles up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_millis(250);
/// The longest wait before a failed watch starts again.
const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// A watch, named by the controller that runs it (or, for a controller's second watch of one
/// resource, that watch's own name) and the resource it watches.
type Key = (&'static str, String);

#[derive(Debug, Default, Clone, Copy)]
struct State {
    up: bool,
    restarts: u64,
}

/// Every watch of this replica: up (its latest list is in and it has not failed since) or
/// down, and how often it failed.
#[derive(Debug, Default)]
pub struct Watches(Mutex<BTreeMap<Key, State>>);

impl Watches {
    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<Key, State>> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Adds a watch, down until its first list is in.
    fn register(&self, key: &Key) {
        self.lock().entry(key.clone()).or_default();
    }

    fn up(&self, key: &Key) {
        self.lock().entry(key.clone()).or_default().up = true;
    }

    /// Marks a watch down; true when it was up (a restart, worth a warning).
    fn down(&self, key: &Key) -> bool {
        let mut all = self.lock();
        let state = all.entry(key.clone()).or_default();
        let was_up = state.up;
        state.up = false;
        state.restarts += 1;
        was_up
    }

    /// The watches that are down, as `controller/resource`.
    pub fn down_list(&self) -> Vec<String> {
        self.lock()
            .iter()
            .filter(|(_, s)| !s.up)
            .map(|((controller, resource), _)| format!("{controller}/{resource}"))
            .collect()
    }

    /// `dotmac_operator_watch_up` and `dotmac_operator_watch_restarts_total`.
    pub fn render(&self, text: &mut Exposition) {
        const UP: &str = "dotmac_operator_watch_up";
        const RESTARTS: &str = "dotmac_operator_watch_restarts_total";
        let all = self.lock();
        text.family(
            UP,
            Kind::Gauge,
            "Whether a watch is established and listed.",
        );
        for ((controller, resource), state) in all.iter() {
            let labels = [("controller", *controller), ("resource", resource.as_str())];
            text.sample(UP, &labels, u8::from(state.up));
        }
        let help = "Watches that failed and were started again from a fresh list.";
        text.family(RESTARTS, Kind::Counter, help);
        for ((controller, resource), state) in all.iter() {
            let labels = [("controller", *controller), ("resource", resource.as_str())];
            text.sample(RESTARTS, &labels, state.restarts);
        }
    }
}

/// The wait before attempt `failures` (1, 2, …) to start a failed watch again.
fn backoff(failures: u32) -> Duration {
    FIRST_BACKOFF
        .saturating_mul(1 << failures.saturating_sub(1).min(8))
        .min(MAX_BACKOFF)
}

/// The events of every `K` that `config` selects, for `controller`, started again from a fresh
/// list whenever the watch fails. Yields only `Ok` items (the type is the one kube's stream
/// adapters and controllers take).
pub fn resilient<K>(
    api: Api<K>,
    config: watcher::Config,
    controller: &'static str,
    watches: Arc<Watches>,
) -> impl Stream<Item = Result<Event<K>, watcher::Error>> + Send + 'static
where
    K: Resource<DynamicType = ()> + Clone + DeserializeOwned + Debug + Send + Sync + 'static,
{
    let key: Key = (controller, K::plural(&()).into_owned());
    watches.register(&key);
    let running: Option<BoxStream<'static, Result<Event<K>, watcher::Error>>> = None;
    futures_util::stream::unfold((running, 0u32), move |(mut running, mut failures)| {
        let (api, config, key, watches) =
            (api.clone(), config.clone(), key.clone(), watches.clone());
        async move {
            loop {
                let stream = match &mut running {
                    Some(stream) => stream,
                    None => {
                        if failures > 0 {
                            tokio::time::sleep(backoff(failures)).await;
                        }
                        running.insert(watcher(api.clone(), config.clone()).boxed())
                    }
                };
                match stream.next().await {
                    Some(Ok(event)) => {
                        if matches!(event, Event::InitDone) {
                            if failures > 0 {
                                tracing::info!(controller = key.0, resource = %key.1, "watch re-established");
                            }
                            watches.up(&key);
                            failures = 0;
                        }
                        return Some((Ok(event), (running, failures)));
                    }
                    Some(Err(error)) => {
                        failures = failures.saturating_add(1);
                        if watches.down(&key) {
                            tracing::warn!(controller = key.0, resource = %key.1, %error, "watch failed; listing again");
                        } else {
                            tracing::debug!(controller = key.0, resource = %key.1, %error, retry_in = ?backoff(failures), "watch still failing");
                        }
                        running = None;
                    }
                    None => running = None,
                }
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_backoff_doubles_from_a_quarter_second_to_five() {
        let waits: Vec<u128> = (1..=7).map(|n| backoff(n).as_millis()).collect();
        assert_eq!(waits, [250, 500, 1000, 2000, 4000, 5000, 5000]);
        assert_eq!(backoff(u32::MAX), MAX_BACKOFF);
    }

    #[test]
    fn a_watch_is_down_until_listed_and_counts_its_restarts() {
        let watches = Watches::default();
        let key: Key = ("tenant", "deployments".into());
        watches.register(&key);
        assert_eq!(watches.down_list(), ["tenant/deployments"]);
        watches.up(&key);
        assert!(watches.down_list().is_empty());
        assert!(watches.down(&key), "a restart of a watch that was up");
        assert!(!watches.down(&key), "still down");
        let mut text = Exposition::default();
        watches.render(&mut text);
        let text = text.finish();
        for line in [
            "dotmac_operator_watch_up{controller=\"tenant\",resource=\"deployments\"} 0",
            "dotmac_operator_watch_restarts_total{controller=\"tenant\",resource=\"deployments\"} 2",
        ] {
            assert!(
                text.lines().any(|l| l == line),
                "{line} missing from\n{text}"
            );
        }
    }
}
