//! `use lifecycle_core as lc;` then `#[lc::tasks]` with `#[lc::on_start]`,
//! `#[lc::background_task]`, `#[lc::on_stop]`, `#[lc::on_reload]` and `#[lc::health]` inside:
//! all recognised.

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use lifecycle_core as lc;
use lc::{Registry, Service};

#[derive(Service, Default)]
#[service(tasks)]
struct Worker {
    started: AtomicU32,
    ticks: AtomicU32,
    reloads: AtomicU32,
}

#[lc::tasks]
impl Worker {
    #[lc::on_start]
    async fn connect(&self) {
        self.started.fetch_add(1, Ordering::SeqCst);
    }

    #[lc::on_stop]
    async fn close(&self) {}

    #[lc::on_reload]
    fn reload(&self) {
        self.reloads.fetch_add(1, Ordering::SeqCst);
    }

    #[lc::health]
    fn check(&self) -> bool {
        true
    }

    #[lc::background_task(every = "1h")]
    async fn tick(&self) {
        self.ticks.fetch_add(1, Ordering::SeqCst);
    }
}

#[derive(Registry)]
struct App {
    worker: Worker,
}

#[tokio::main(flavor = "current_thread", start_paused = true)]
async fn main() {
    assert!(Worker::HAS_START_HOOK && Worker::HAS_STOP_HOOK && Worker::HAS_HEALTH_CHECK);
    assert!(Worker::HAS_RELOAD_HOOK);
    let running = App::builder().build().unwrap().start().await.unwrap();
    tokio::time::sleep(Duration::from_millis(20)).await;
    assert_eq!(running.worker.started.load(Ordering::SeqCst), 1);
    assert_eq!(running.worker.ticks.load(Ordering::SeqCst), 1);
    let report = running.handle().reload().await.unwrap();
    assert_eq!(report.services.len(), 1);
    assert_eq!(running.worker.reloads.load(Ordering::SeqCst), 1);
    assert!(running.stop().await.is_clean());
}
