//! Roles under `#[cfg_attr(…)]`: the hook or task exists exactly when the predicate holds; the
//! method itself stays (and other attributes in the same `cfg_attr` are kept).

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use lifecycle_core::{Registry, Service};

#[derive(Service, Default)]
#[service(tasks)]
struct Worker {
    started: AtomicU32,
    ticks: AtomicU32,
}

#[lifecycle_core::tasks]
impl Worker {
    /// Never a hook here (`any()` is false); still a method.
    #[cfg_attr(any(), on_start)]
    fn reset(&self) {
        self.started.store(100, Ordering::SeqCst);
    }

    #[cfg_attr(all(), on_stop)]
    fn close(&self) {}

    #[cfg_attr(all(), background_task(every = "1h", name = "tick"), allow(clippy::unused_async))]
    async fn tick(&self) {
        self.ticks.fetch_add(1, Ordering::SeqCst);
    }

    #[cfg_attr(any(), background_task(every = "1ms"))]
    async fn never_spawned(&self) {
        self.ticks.store(100, Ordering::SeqCst);
    }
}

#[derive(Registry)]
struct App {
    worker: Worker,
}

#[tokio::main(flavor = "current_thread", start_paused = true)]
async fn main() {
    assert!(!Worker::HAS_START_HOOK);
    assert!(Worker::HAS_STOP_HOOK);
    let running = App::builder().build().unwrap().start().await.unwrap();
    tokio::time::sleep(Duration::from_millis(20)).await;
    assert_eq!(running.worker.started.load(Ordering::SeqCst), 0);
    assert_eq!(running.worker.ticks.load(Ordering::SeqCst), 1);
    running.worker.reset();
    assert_eq!(running.worker.started.load(Ordering::SeqCst), 100);
    let report = running.stop().await;
    assert!(report.is_clean(), "{}", report.summary());
}
