//! `AutomatedRefresh` tested on its own, in a registry of its own, with a fake in place of the
//! WebSocket hub: the service depends on `Arc<dyn Broadcaster>`, which the platform provides
//! with the hub and this test with a recorder. No HTTP server, no WebSocket, paused time.

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use forecast_platform::cache::Cache;
use forecast_platform::config::AppConfig;
use forecast_platform::db::Database;
use forecast_platform::flags::{ChangeThreshold, FeatureFlags, FlagPatch, REFRESH_FLAG};
use forecast_platform::hub::{Broadcaster, HubEvent};
use forecast_platform::refresh::AutomatedRefresh;
use forecast_platform::views::{self, NewSale};
use lifecycle_core::{Registry, Service};

/// Records what would have gone to the WebSocket clients.
#[derive(Service, Default)]
struct RecordedEvents {
    events: Mutex<Vec<HubEvent>>,
}

impl Broadcaster for RecordedEvents {
    fn broadcast(&self, event: &HubEvent) {
        self.events.lock().unwrap().push(event.clone());
    }
}

impl RecordedEvents {
    fn refresh_reasons(&self) -> Vec<String> {
        self.events
            .lock()
            .unwrap()
            .iter()
            .filter_map(|e| match e {
                HubEvent::ViewRefreshed { reason, .. } => Some(reason.clone()),
                _ => None,
            })
            .collect()
    }
}

/// Only what the refresh service needs, with the fake broadcaster.
#[derive(Registry)]
struct RefreshUnderTest {
    #[value]
    config: AppConfig,
    #[instance]
    db: Database,
    cache: Cache,
    flags: FeatureFlags,
    #[provide(dyn Broadcaster)]
    events: RecordedEvents,
    refresh: AutomatedRefresh,
}

#[tokio::test(start_paused = true)]
async fn smart_trigger_refreshes_after_a_flag_change_and_broadcasts() {
    let dir = tempfile::tempdir().unwrap();
    let config = common::config(dir.path());
    let db = Database::new(config.db_path()).with_seed_days(60);
    let running = RefreshUnderTest::builder()
        .config(config)
        .db(db)
        .build()
        .unwrap()
        .start()
        .await
        .unwrap();
    assert_eq!(running.events.refresh_reasons(), ["initial", "initial"]);

    // Two new sales; a threshold of 2 makes both views due, but only once someone checks.
    let sale: NewSale = serde_json::from_value(serde_json::json!({
        "day": "2023-03-01", "region": "north", "product": "widget", "units": 3.0
    }))
    .unwrap();
    let rows = vec![sale; 2];
    running
        .db
        .call(move |c| views::insert_sales(c, &rows))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert_eq!(
        running.events.refresh_reasons().len(),
        2,
        "not yet: next check at 30 s"
    );

    // A flag change wakes the refresh service at once.
    let patch = FlagPatch {
        change_threshold: ChangeThreshold::new(2),
        ..FlagPatch::default()
    };
    running.flags.update(REFRESH_FLAG, patch).await.unwrap();
    let events = Arc::clone(&running.events);
    tokio::time::timeout(Duration::from_secs(1), async move {
        while events.refresh_reasons().len() < 4 {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    })
    .await
    .expect("refreshed within a second of the flag change");
    assert_eq!(
        running.events.refresh_reasons(),
        ["initial", "initial", "changes", "changes"]
    );
    let metrics = running.refresh.metrics().await;
    assert_eq!((metrics.refreshes, metrics.failures), (4, 0));

    let report = running.stop().await;
    assert!(report.is_clean(), "{}", report.summary());
    assert_eq!(report.stop_order().first(), Some(&"AutomatedRefresh"));
    assert_eq!(report.stop_order().last(), Some(&"Database"));
}
