//! Hooks and tasks written as `fn x(&self) -> impl Future<Output = …> + Send` (the shape of
//! `Service::on_start`) or returning a boxed future: awaited like `async fn`s.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use lifecycle_core::{Health, Registry, Service, Shutdown};

#[derive(Service, Default)]
#[service(tasks)]
struct Worker {
    started: AtomicU32,
    stopped: AtomicU32,
    runs: AtomicU32,
}

#[lifecycle_core::tasks]
impl Worker {
    #[on_start]
    fn connect(&self) -> impl Future<Output = std::io::Result<()>> + Send + '_ {
        async move {
            self.started.fetch_add(1, Ordering::SeqCst);
            Ok(())
        }
    }

    #[on_stop]
    fn close(&self) -> Pin<Box<dyn Future<Output = ()> + Send + '_>> {
        Box::pin(async move {
            self.stopped.fetch_add(1, Ordering::SeqCst);
        })
    }

    #[health]
    fn check(&self) -> impl Future<Output = Health> + Send {
        std::future::ready(Health::Healthy)
    }

    #[background_task(every = "1h")]
    fn poll(&self, shutdown: Shutdown) -> impl Future<Output = anyhow::Result<()>> + Send + '_ {
        async move {
            if !shutdown.is_cancelled() {
                self.runs.fetch_add(1, Ordering::SeqCst);
            }
            Ok(())
        }
    }
}

#[derive(Registry)]
struct App {
    worker: Worker,
}

#[tokio::main(flavor = "current_thread", start_paused = true)]
async fn main() {
    assert!(Worker::HAS_START_HOOK && Worker::HAS_STOP_HOOK && Worker::HAS_HEALTH_CHECK);
    let running = App::builder().build().unwrap().start().await.unwrap();
    tokio::time::sleep(Duration::from_millis(20)).await;
    assert_eq!(running.worker.started.load(Ordering::SeqCst), 1);
    assert_eq!(running.worker.runs.load(Ordering::SeqCst), 1);
    let worker = std::sync::Arc::clone(&running.worker);
    let report = running.stop().await;
    assert!(report.is_clean(), "{}", report.summary());
    assert_eq!(worker.stopped.load(Ordering::SeqCst), 1);
}
