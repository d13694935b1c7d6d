//! `#[cfg]` on hooks, tasks, service fields and registry fields: what is configured out is
//! not wired (a dependency on a type that does not exist, a task that would not compile).

use std::sync::Arc;

use lifecycle_core::{Registry, Service};

#[derive(Service)]
struct Database {}

#[cfg(any())]
#[derive(Service)]
struct Metrics {}

#[derive(Service)]
#[service(tasks)]
struct Worker {
    #[depends_on]
    db: Arc<Database>,
    #[cfg(any())]
    #[depends_on]
    metrics: Arc<Metrics>,
}

#[lifecycle_core::tasks]
impl Worker {
    #[cfg(all())]
    #[on_start]
    async fn connect(&self) {
        let _ = &self.db;
    }

    #[cfg(any())]
    #[on_stop]
    async fn flush_metrics(&self) {
        let _ = &self.metrics;
    }

    #[cfg(any())]
    #[background_task(every = "1s")]
    async fn gone(&self) {
        let _ = &self.metrics;
    }

    #[background_task(every = "1s")]
    async fn poll(&self) {}
}

#[derive(Registry)]
struct App {
    db: Database,
    #[cfg(any())]
    metrics: Metrics,
    worker: Worker,
}

fn main() {
    let _ = App::builder().build().unwrap();
}
