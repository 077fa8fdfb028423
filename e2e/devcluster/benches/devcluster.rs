//! `just bench devcluster`: how fast devcluster serves what an operator does most.
//! Prints creates per second (sequential and 16 concurrent), the time to list 10,000 objects
//! (one request and in pages of 500), and watch delivery delay with 50 watchers.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a benchmark fails loudly"
)]

use std::time::{Duration, Instant};

use dotmac_devcluster::DevCluster;
use futures_util::{StreamExt, stream};
use k8s_openapi::api::core::v1::{ConfigMap, Namespace};
use kube::{
    Api,
    api::{ListParams, PostParams, WatchEvent, WatchParams},
};
use serde_json::json;

fn cm(name: &str) -> ConfigMap {
    serde_json::from_value(
        json!({"metadata": {"name": name, "labels": {"bench": "yes"}}, "data": {"k": "v"}}),
    )
    .unwrap()
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

#[tokio::main]
async fn main() {
    let cluster = DevCluster::start().await.unwrap();
    let client = cluster.client().unwrap();
    let namespaces: Api<Namespace> = Api::all(client.clone());
    for ns in ["seq", "par", "list", "watch"] {
        namespaces
            .create(
                &PostParams::default(),
                &serde_json::from_value(json!({"metadata": {"name": ns}})).unwrap(),
            )
            .await
            .unwrap();
    }

    let seq: Api<ConfigMap> = Api::namespaced(client.clone(), "seq");
    let n = 2_000;
    let started = Instant::now();
    for i in 0..n {
        seq.create(&PostParams::default(), &cm(&format!("c{i}")))
            .await
            .unwrap();
    }
    let sequential = n as f64 / started.elapsed().as_secs_f64();

    let par: Api<ConfigMap> = Api::namespaced(client.clone(), "par");
    let started = Instant::now();
    stream::iter(0..n)
        .for_each_concurrent(16, |i| {
            let par = par.clone();
            async move {
                par.create(&PostParams::default(), &cm(&format!("c{i}")))
                    .await
                    .unwrap();
            }
        })
        .await;
    let concurrent = n as f64 / started.elapsed().as_secs_f64();
    println!(
        "creates/s: {sequential:.0} sequential, {concurrent:.0} with 16 concurrent clients ({n} ConfigMaps each)"
    );

    let list: Api<ConfigMap> = Api::namespaced(client.clone(), "list");
    stream::iter(0..10_000)
        .for_each_concurrent(16, |i| {
            let list = list.clone();
            async move {
                list.create(&PostParams::default(), &cm(&format!("c{i}")))
                    .await
                    .unwrap();
            }
        })
        .await;
    let started = Instant::now();
    let all = list.list(&ListParams::default()).await.unwrap();
    let one_shot = started.elapsed();
    assert_eq!(all.items.len(), 10_000);
    let started = Instant::now();
    let mut params = ListParams::default().limit(500);
    let mut count = 0;
    loop {
        let page = list.list(&params).await.unwrap();
        count += page.items.len();
        match page.metadata.continue_.filter(|c| !c.is_empty()) {
            Some(token) => params = params.continue_token(&token),
            None => break,
        }
    }
    assert_eq!(count, 10_000);
    let paged = started.elapsed();
    println!(
        "list 10,000 objects: {:.1} ms in one request, {:.1} ms in pages of 500",
        one_shot.as_secs_f64() * 1e3,
        paged.as_secs_f64() * 1e3
    );

    let watch: Api<ConfigMap> = Api::namespaced(client.clone(), "watch");
    let events = 200;
    let mut watchers = Vec::new();
    for _ in 0..50 {
        let stream = watch
            .watch(&WatchParams::default(), "0")
            .await
            .unwrap()
            .boxed();
        watchers.push(tokio::spawn(async move {
            let mut stream = stream;
            let mut seen = Vec::with_capacity(events);
            while seen.len() < events {
                match tokio::time::timeout(Duration::from_secs(30), stream.next()).await {
                    Ok(Some(Ok(WatchEvent::Added(_)))) => seen.push(Instant::now()),
                    Ok(Some(Ok(_))) => {}
                    _ => break,
                }
            }
            seen
        }));
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut sent = Vec::with_capacity(events);
    for i in 0..events {
        sent.push(Instant::now());
        watch
            .create(&PostParams::default(), &cm(&format!("w{i}")))
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let mut delays = Vec::new();
    for watcher in watchers {
        let seen = watcher.await.unwrap();
        assert_eq!(seen.len(), events, "every watcher saw every event");
        delays.extend(
            seen.iter()
                .zip(&sent)
                .map(|(got, at)| got.duration_since(*at)),
        );
    }
    delays.sort();
    println!(
        "watch delivery with 50 watchers ({events} creates, delay from request start): p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        percentile(&delays, 0.5).as_secs_f64() * 1e3,
        percentile(&delays, 0.99).as_secs_f64() * 1e3,
        delays.last().unwrap().as_secs_f64() * 1e3
    );
}
