//! The whole platform on paused time: the 30 s refresh check runs on schedule without anyone
//! waiting 30 s, and stop does not wait for the next tick. (SQLite calls run on the blocking
//! pool; tokio does not advance paused time while one is in flight.)

mod common;

use std::time::Duration;

use forecast_platform::platform;
use lifecycle_core::RegistryOptions;
use tokio::time::Instant;

#[tokio::test(start_paused = true)]
async fn periodic_check_runs_every_30s_and_stop_takes_no_virtual_time() {
    let dir = tempfile::tempdir().unwrap();
    let running = platform::start(
        platform::build(common::config(dir.path()), RegistryOptions::default()).unwrap(),
    )
    .await
    .unwrap();
    let refresh = std::sync::Arc::clone(&running.refresh);
    tokio::time::sleep(Duration::from_secs(95)).await;
    let metrics = refresh.metrics().await;
    assert_eq!(metrics.checks, 4, "t = 0, 30, 60, 90 s: {metrics:?}");
    assert_eq!(
        metrics.refreshes, 2,
        "only the two initial builds: nothing was due"
    );
    let began = Instant::now();
    let report = running.stop().await;
    assert!(report.is_clean(), "{}", report.summary());
    assert!(
        began.elapsed() < Duration::from_millis(1),
        "stop took {:?}",
        began.elapsed()
    );
}

#[tokio::test(start_paused = true)]
async fn heartbeat_drops_a_client_that_stopped_answering() {
    use futures_util::StreamExt;

    let dir = tempfile::tempdir().unwrap();
    let running = platform::start(
        platform::build(common::config(dir.path()), RegistryOptions::default()).unwrap(),
    )
    .await
    .unwrap();
    let addr = running.api.local_addr().unwrap();
    let (mut ws, _) = tokio_tungstenite::connect_async(format!("ws://{addr}/ws"))
        .await
        .unwrap();
    let hello = ws.next().await.unwrap().unwrap();
    assert!(hello.to_text().unwrap().contains("hello"));
    assert_eq!(running.hub.stats().sessions, 1);
    // The client now reads nothing, so it never answers the pings (every 15 s). Past 45 s of
    // silence the heartbeat drops it.
    tokio::time::sleep(Duration::from_secs(61)).await;
    let stats = running.hub.stats();
    assert_eq!((stats.sessions, stats.dropped_dead), (0, 1), "{stats:?}");
    drop(ws);
    let report = running.stop().await;
    assert!(report.is_clean(), "{}", report.summary());
}
