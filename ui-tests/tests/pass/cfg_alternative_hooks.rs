//! Two `#[on_start]` (and two tasks of one name) that are alternatives under opposite
//! `#[cfg]`s: only one is compiled in, so the service has one start hook, and it runs.

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use lifecycle_core::{Registry, Service, Shutdown};

#[derive(Service, Default)]
#[service(tasks)]
struct Worker {
    connected: AtomicU32,
    polled: AtomicU32,
}

#[lifecycle_core::tasks]
impl Worker {
    #[cfg(any())]
    #[on_start]
    async fn connect_with_tls(&self) {
        self.connected.store(100, Ordering::SeqCst);
    }

    #[cfg(not(any()))]
    #[on_start]
    async fn connect(&self) {
        self.connected.fetch_add(1, Ordering::SeqCst);
    }

    #[cfg(unix)]
    #[on_stop]
    fn close_unix(&self) {}

    #[cfg(not(unix))]
    #[on_stop]
    fn close_elsewhere(&self) {}

    #[cfg(any())]
    #[background_task(every = "1s", name = "poll")]
    async fn poll_fast(&self) {
        self.polled.store(100, Ordering::SeqCst);
    }

    #[cfg(not(any()))]
    #[background_task(every = "1m", name = "poll")]
    async fn poll_slow(&self, shutdown: Shutdown) {
        if !shutdown.is_cancelled() {
            self.polled.fetch_add(1, Ordering::SeqCst);
        }
    }
}

#[derive(Registry)]
struct App {
    worker: Worker,
}

#[tokio::main(flavor = "current_thread", start_paused = true)]
async fn main() {
    assert!(Worker::HAS_START_HOOK && Worker::HAS_STOP_HOOK);
    let running = App::builder().build().unwrap().start().await.unwrap();
    tokio::time::sleep(Duration::from_millis(20)).await;
    assert_eq!(running.worker.connected.load(Ordering::SeqCst), 1);
    assert_eq!(running.worker.polled.load(Ordering::SeqCst), 1);
    let report = running.stop().await;
    assert!(report.is_clean(), "{}", report.summary());
}
