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

/// A task failing past its restart policy fails its service and shuts the registry down,
/// with an error naming the service (what `forecast-platform` then exits 1 with).
#[tokio::test(start_paused = true)]
async fn react_failing_past_its_restart_limit_shuts_the_platform_down() {
    use forecast_platform::flags::{FlagPatch, REFRESH_FLAG};
    use lifecycle_core::{Health, RunError, State};

    let dir = tempfile::tempdir().unwrap();
    let running = platform::start(
        platform::build(common::config(dir.path()), RegistryOptions::default()).unwrap(),
    )
    .await
    .unwrap();
    let handle = running.handle();
    // Break the database under the refresh service.
    running
        .db
        .call(|c| Ok(c.execute_batch("DROP TABLE view_state")?))
        .await
        .unwrap();
    // Each flag change makes `react` check at once, fail, and restart after a backoff
    // (1 s, 2 s, 4 s…); the sixth failure within 60 s is past `max_restarts = 5`.
    for i in 0..6 {
        if handle.is_stopped() {
            panic!("stopped after only {i} failures");
        }
        if i == 1 {
            // After a failed refresh: degraded, which still counts as ready.
            let health = running.health().await;
            let refresh = health
                .services
                .iter()
                .find(|s| s.name == "AutomatedRefresh")
                .unwrap();
            assert!(matches!(refresh.health, Health::Degraded(_)), "{health:?}");
            assert!(health.ready);
        }
        let patch = FlagPatch {
            change_threshold: Some(10 + i),
            ..FlagPatch::default()
        };
        running.flags.update(REFRESH_FLAG, patch).await.unwrap();
        // Past this failure's backoff (1 s, 2 s, 4 s…): `react` is listening again.
        tokio::time::sleep(Duration::from_secs(1 << i) + Duration::from_millis(100)).await;
    }
    let error = tokio::time::timeout(Duration::from_secs(60), handle.wait())
        .await
        .expect("the registry shut itself down")
        .unwrap_err();
    let RunError::Escalated { error: cause, .. } = &error else {
        panic!("expected an escalation, got {error}");
    };
    assert_eq!(cause.service, "AutomatedRefresh");
    assert!(error.to_string().contains("react"), "{error}");
    let states = running.states();
    let state_of = |n: &str| states.iter().find(|(s, _)| s == n).unwrap().1;
    assert_eq!(state_of("AutomatedRefresh"), State::Failed);
    assert_eq!(state_of("Database"), State::Stopped);
    let report = running.stop().await; // the same report as the escalation's shutdown
    assert!(report.escalated.is_some());
}
