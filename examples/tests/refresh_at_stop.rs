//! A refresh in flight when the platform stops either commits within its grace period or is
//! rolled back: never half-written. Each test first runs the platform once to build the
//! views, then restarts it on the same data with slow (throttled) refreshes.

mod common;

use std::time::{Duration, Instant};

use forecast_platform::config::AppConfig;
use forecast_platform::platform;
use lifecycle_core::RegistryOptions;

/// Waits until the refresh service is inside a due-check (the refresh is in flight).
async fn wait_until_refreshing(running: &platform::Running) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while !running.refresh.is_checking() {
        assert!(Instant::now() < deadline, "the refresh never started");
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

async fn first_run(config: &AppConfig) {
    let running =
        platform::start(platform::build(config.clone(), RegistryOptions::default()).unwrap())
            .await
            .unwrap();
    assert!(running.stop().await.is_clean());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refresh_past_its_grace_is_rolled_back() {
    let dir = tempfile::tempdir().unwrap();
    let config = common::config(dir.path()); // 120 days: 4 months, one step each
    first_run(&config).await;
    let slow = AppConfig {
        refresh_throttle: Duration::from_millis(400), // ~1.6 s per view
        refresh_grace: Duration::from_millis(100),
        ..config.clone()
    };
    let running = platform::start(platform::build(slow, RegistryOptions::default()).unwrap())
        .await
        .unwrap();
    running.refresh.request_refresh();
    wait_until_refreshing(&running).await;
    // A long refresh does not make the platform unready, nor the health check wait for it.
    let checked = Instant::now();
    assert!(running.health().await.ready);
    assert!(checked.elapsed() < Duration::from_millis(200));
    tokio::time::sleep(Duration::from_millis(50)).await;
    let began = Instant::now();
    let report = running.stop().await;
    let took = began.elapsed();
    assert!(report.is_clean(), "{}", report.summary());
    // Grace (100 ms) plus at most one step (400 ms): far less than finishing (~1.6 s).
    assert!(took < Duration::from_millis(1200), "stop took {took:?}");
    common::wait_no_tasks_alive(Duration::from_secs(2)).await;
    let states = common::assert_views_consistent(&config.db_path());
    assert!(
        states.iter().all(|s| s.generation == 1),
        "the interrupted refresh left the previous generation: {states:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refresh_within_its_grace_completes() {
    let dir = tempfile::tempdir().unwrap();
    let config = common::config(dir.path());
    first_run(&config).await;
    let slow = AppConfig {
        refresh_throttle: Duration::from_millis(30), // ~120 ms per view
        refresh_grace: Duration::from_secs(2),
        ..config.clone()
    };
    let running = platform::start(platform::build(slow, RegistryOptions::default()).unwrap())
        .await
        .unwrap();
    running.refresh.request_refresh();
    wait_until_refreshing(&running).await; // mid-refresh of the first view
    let report = running.stop().await;
    assert!(report.is_clean(), "{}", report.summary());
    common::wait_no_tasks_alive(Duration::from_secs(2)).await;
    let states = common::assert_views_consistent(&config.db_path());
    let generations: Vec<i64> = states.iter().map(|s| s.generation).collect();
    // The view in flight committed; the refresh loop does not start another once stopping.
    assert!(generations.contains(&2), "{states:?}");
}
