//! Attack: random query strings to blow up the response cache (the original keyed it by the
//! raw query string: 3 000 requests, +210 MB). Alone in its own test binary so its memory
//! figure is its own.

mod common;

use futures_util::StreamExt;
use futures_util::stream;
use serde_json::Value;

const MAX_BYTES: u64 = 256 * 1024;

/// Attack: 3 000 requests with random valid parameters (every one a distinct cache key) and
/// 1 000 with random garbage parameters. Garbage is rejected (422) before the cache is
/// consulted; valid keys are normalized and the cache stays within `cache_max_bytes`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cache_memory_stays_bounded_under_random_query_strings() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = common::config(dir.path());
    config.cache_max_bytes = MAX_BYTES;
    config.seed_days = 365;
    let (running, base) = common::start(config).await;
    let http = reqwest::Client::new();
    let rss_before = common::rss_kib();
    let mut seed: u64 = 0x00C0_FFEE;
    let mut next = move || {
        seed = seed
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        seed >> 33
    };
    let mut urls = Vec::new();
    for _ in 0..3000 {
        let day = 1 + next() % 28;
        let month = 1 + next() % 12;
        let limit = 1 + next() % 1000;
        urls.push((
            format!("{base}/views/daily_totals?to=2023-{month:02}-{day:02}&limit={limit}"),
            200,
        ));
    }
    for _ in 0..1000 {
        let junk: String = (0..16)
            .map(|_| char::from(b'a' + (next() % 26) as u8))
            .collect();
        urls.push((format!("{base}/views/daily_totals?{junk}={junk}"), 422));
    }
    let statuses: Vec<(u16, u16)> = stream::iter(urls)
        .map(|(url, expected)| {
            let http = http.clone();
            async move {
                let status = http.get(url).send().await.unwrap().status().as_u16();
                (status, expected)
            }
        })
        .buffer_unordered(16)
        .collect()
        .await;
    for (status, expected) in &statuses {
        assert_eq!(status, expected);
    }
    let stats: Value = http
        .get(format!("{base}/cache"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let grown = common::rss_kib().saturating_sub(rss_before);
    eprintln!("after 3000 random valid + 1000 garbage queries: cache {stats}; RSS +{grown} KiB");
    let bytes = stats["bytes"].as_u64().unwrap();
    assert!(bytes <= MAX_BYTES, "{stats}");
    assert!(
        stats["misses"].as_u64().unwrap() <= 3000,
        "garbage never reached the cache: {stats}"
    );
    assert!(stats["entries"].as_u64().unwrap() < 3000, "{stats}");
    drop(http);
    assert!(running.stop().await.is_clean());
}
