//! Synchronous hooks, a registry started and stopped, typed access on the running guard.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use lifecycle_core::{Registry, Service};

#[derive(Service, Default)]
#[service(tasks)]
struct Database {
    started: AtomicBool,
}

#[lifecycle_core::tasks]
impl Database {
    #[on_start]
    fn connect(&self) -> Result<(), std::io::Error> {
        self.started.store(true, Ordering::SeqCst);
        Ok(())
    }

    #[on_stop]
    fn close(&self) {}
}

#[derive(Service)]
struct Repository {
    #[depends_on]
    db: Arc<Database>,
}

#[derive(Registry)]
struct App {
    db: Database,
    repository: Repository,
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let running = App::builder().build().unwrap().start().await.unwrap();
    assert!(running.repository.db.started.load(Ordering::SeqCst));
    let report = running.stop().await;
    assert_eq!(report.stop_order(), ["Repository", "Database"]);
}
