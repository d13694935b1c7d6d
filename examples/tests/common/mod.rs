//! Shared helpers for the integration tests.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use forecast_platform::config::AppConfig;

/// A config on an ephemeral port with a small seeded history in `dir`.
pub fn config(dir: &Path) -> AppConfig {
    AppConfig {
        data_dir: dir.to_path_buf(),
        listen: SocketAddr::from(([127, 0, 0, 1], 0)),
        seed_days: 120,
        ..AppConfig::default()
    }
}

/// Waits until no task is alive on this runtime (aborted or finishing tasks get a moment to
/// be dropped); panics with the count after `limit`.
pub async fn wait_no_tasks_alive(limit: Duration) {
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        let alive = lifecycle_core::testing::alive_tasks();
        if alive == 0 {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{alive} tasks still alive after stop"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// Opens the SQLite file directly (after the platform stopped) and checks that no view is
/// half-written.
pub fn assert_views_consistent(db: &Path) -> Vec<forecast_platform::views::ViewState> {
    let conn = rusqlite::Connection::open(db).unwrap();
    let problems = forecast_platform::views::consistency_problems(&conn).unwrap();
    assert!(problems.is_empty(), "half-written views: {problems:?}");
    forecast_platform::views::states(&conn).unwrap()
}
