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

/// Starts the platform in-process with `config`; returns it and its base URL.
pub async fn start(config: AppConfig) -> (forecast_platform::platform::Running, String) {
    let built =
        forecast_platform::platform::build(config, lifecycle_core::RegistryOptions::default())
            .unwrap();
    let running = forecast_platform::platform::start(built).await.unwrap();
    let addr = running.api.local_addr().unwrap();
    (running, format!("http://{addr}"))
}

/// Asserts the one JSON error shape and returns the body.
pub async fn assert_error(response: reqwest::Response, status: u16) -> serde_json::Value {
    assert_eq!(response.status().as_u16(), status, "{response:?}");
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert!(
        content_type.starts_with("application/json"),
        "{content_type}"
    );
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["status"], status, "{body}");
    assert!(body["code"].is_string(), "{body}");
    assert!(body["error"].is_string(), "{body}");
    body
}

/// Percentile (0–100) of sorted durations.
pub fn percentile(sorted: &[Duration], p: usize) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = (sorted.len() * p / 100).min(sorted.len() - 1);
    sorted[i]
}

/// This process's resident memory in KiB (Linux), 0 elsewhere.
pub fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}
