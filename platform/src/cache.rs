//! Reflector stores with a readiness signal that any number of reconciles can wait for.
//!
//! kube's `Store::wait_until_ready` wakes only the last of several tasks waiting at once: its
//! `DelayedInit` polls a oneshot receiver, which keeps a single waker. A reconcile that waited
//! on another controller's store beside that controller's own runner could therefore wait
//! forever (seen as a Tenant stuck in Provisioning when it arrived before the license cache was
//! full). Readiness here is a `tokio::sync::watch` channel, which wakes every waiter.

use std::{fmt, hash::Hash};

use kube::{
    Resource,
    runtime::{reflector::Store, watcher},
};
use tokio::sync::watch;

/// A store and whether its first full list is in.
pub struct Cache<K>
where
    K: Resource + Clone + 'static,
    K::DynamicType: Eq + Hash + Clone,
{
    store: Store<K>,
    synced: watch::Receiver<bool>,
}

impl<K> Clone for Cache<K>
where
    K: Resource + Clone + 'static,
    K::DynamicType: Eq + Hash + Clone,
{
    fn clone(&self) -> Self {
        Self {
            store: self.store.clone(),
            synced: self.synced.clone(),
        }
    }
}

impl<K> fmt::Debug for Cache<K>
where
    K: Resource + Clone + 'static,
    K::DynamicType: Eq + Hash + Clone,
{
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Cache")
            .field("synced", &*self.synced.borrow())
            .finish_non_exhaustive()
    }
}

/// Marks a [`Cache`] ready when its watcher reports the end of a full list.
#[derive(Debug)]
pub struct SyncMark(watch::Sender<bool>);

impl SyncMark {
    /// Looks at one event after the reflector applied it; true when it ended a full list.
    pub fn observe<K>(&self, event: &Result<watcher::Event<K>, watcher::Error>) -> bool {
        let done = matches!(event, Ok(watcher::Event::InitDone));
        if done {
            self.0.send_replace(true);
        }
        done
    }
}

impl<K> Cache<K>
where
    K: Resource + Clone + 'static,
    K::DynamicType: Eq + Hash + Clone,
{
    /// A cache over `store`, not ready until the returned mark sees a full list.
    pub fn new(store: Store<K>) -> (Self, SyncMark) {
        let (tx, rx) = watch::channel(false);
        (Self { store, synced: rx }, SyncMark(tx))
    }

    /// Whether the first full list is in.
    pub fn is_synced(&self) -> bool {
        *self.synced.borrow()
    }

    /// The store once it holds a full list (at once when the watcher has stopped for good,
    /// which only happens at shutdown).
    pub async fn synced(&self) -> &Store<K> {
        let mut synced = self.synced.clone();
        let _ = synced.wait_for(|ready| *ready).await;
        &self.store
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use k8s_openapi::api::core::v1::ConfigMap;
    use kube::runtime::reflector;

    use super::*;

    #[tokio::test]
    async fn every_waiter_is_woken_when_the_list_is_in() {
        let (store, _writer) = reflector::store::<ConfigMap>();
        let (cache, mark) = Cache::new(store);
        let waiters: Vec<_> = (0..3)
            .map(|_| {
                let cache = cache.clone();
                tokio::spawn(async move { cache.synced().await.state().len() })
            })
            .collect();
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert!(waiters.iter().all(|w| !w.is_finished()), "ready too early");
        assert!(!mark.observe::<ConfigMap>(&Ok(watcher::Event::Init)));
        assert!(mark.observe::<ConfigMap>(&Ok(watcher::Event::InitDone)));
        for waiter in waiters {
            let seen = tokio::time::timeout(Duration::from_secs(5), waiter)
                .await
                .expect("a waiter was not woken")
                .unwrap();
            assert_eq!(seen, 0);
        }
        // Later reconciles do not wait at all.
        tokio::time::timeout(Duration::from_millis(100), cache.synced())
            .await
            .expect("ready stays ready");
    }
}
