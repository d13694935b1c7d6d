//! The flagship example from the design, end to end.
#![warn(clippy::pedantic)]

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use lifecycle_core::testing::{Recorder, assert_no_tasks_alive};
use lifecycle_core::{Health, Registry, RegistryOptions, Service, Shutdown, State};

#[derive(Debug)]
pub struct RefreshError;

impl std::fmt::Display for RefreshError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("refresh failed")
    }
}
impl std::error::Error for RefreshError {}

pub trait Cache: Send + Sync {
    fn get(&self) -> u32;
}

#[derive(Default)]
pub struct RefreshConfig {
    pub period_ms: u64,
}

#[derive(Service)]
pub struct Database {
    path: String,
}

impl Database {
    fn new(path: &str) -> Self {
        Self {
            path: path.to_owned(),
        }
    }
}

#[derive(Service, Default)]
#[service(tasks)]
pub struct MemoryCache {
    hits: AtomicU32,
}

#[lifecycle_core::tasks]
impl MemoryCache {
    #[health]
    fn check(&self) -> bool {
        true
    }
}

impl Cache for MemoryCache {
    fn get(&self) -> u32 {
        self.hits.fetch_add(1, Ordering::Relaxed)
    }
}

#[derive(Service)]
#[service(stop_timeout = "5s", tasks)]
pub struct AutomatedRefresh {
    #[depends_on]
    db: Arc<Database>,
    #[depends_on]
    cache: Arc<dyn Cache>,
    #[depends_on]
    config: Arc<RefreshConfig>,
    stats: tokio::sync::Mutex<u32>,
    ticks: AtomicU32,
}

#[lifecycle_core::tasks]
impl AutomatedRefresh {
    #[on_start]
    async fn warm_up(&self) -> Result<(), RefreshError> {
        assert_eq!(self.db.path, "data/app.db");
        Ok(())
    }

    #[on_stop]
    async fn flush(&self) -> anyhow::Result<()> {
        Ok(())
    }

    #[health]
    async fn check(&self) -> Health {
        Health::Healthy
    }

    #[background_task(every = "30s", backoff = "1s", max_backoff = "60s")]
    async fn refresh(&self, shutdown: Shutdown) -> Result<(), RefreshError> {
        let _ = shutdown.is_cancelled();
        *self.stats.lock().await += 1;
        let _ = self.cache.get() + u32::try_from(self.config.period_ms).unwrap_or(0);
        Ok(())
    }

    #[background_task(restart = "on_failure", max_restarts = 5, within = "60s")]
    async fn listen(&self, shutdown: Shutdown) -> anyhow::Result<()> {
        shutdown.cancelled().await;
        Ok(())
    }

    #[background_task(every = "1s", initial_delay = "5s", name = "tick")]
    async fn tick(&self) {
        self.ticks.fetch_add(1, Ordering::Relaxed);
    }

    fn helper(&self) -> u32 {
        self.ticks.load(Ordering::Relaxed)
    }
}

#[derive(Registry)]
struct Platform {
    #[value]
    config: RefreshConfig,
    db: Database,
    #[provide(dyn Cache)]
    cache: MemoryCache,
    refresh: AutomatedRefresh,
}

#[tokio::test(start_paused = true)]
async fn flagship_example_runs() {
    let recorder = Recorder::new();
    let running = Platform::builder()
        .config(RefreshConfig { period_ms: 1 })
        .db(Database::new("data/app.db"))
        .options(recorder.attach(RegistryOptions::default()))
        .build()
        .unwrap()
        .start()
        .await
        .unwrap();
    let refresh: &Arc<AutomatedRefresh> = &running.refresh;
    tokio::time::sleep(Duration::from_secs(7)).await;
    assert!(refresh.helper() >= 2);
    assert!(running.health().await.ready);
    let report = running.stop().await;
    assert!(report.is_clean(), "{}", report.summary());
    assert_eq!(
        report.stop_order(),
        ["AutomatedRefresh", "MemoryCache", "Database"]
    );
    assert_eq!(
        recorder.transitions_of("AutomatedRefresh"),
        [
            State::Starting,
            State::Running,
            State::Stopping,
            State::Stopped
        ]
    );
    assert_no_tasks_alive().await;
}
