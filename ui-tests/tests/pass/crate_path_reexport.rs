//! `crate = path` through a re-export, on every macro.

mod platform {
    pub use lifecycle_core as lifecycle;
}

use std::sync::Arc;

use platform::lifecycle::{Registry, Service};

#[derive(Service)]
#[service(crate = platform::lifecycle)]
struct Database {}

#[derive(Service)]
#[service(crate = crate::platform::lifecycle, tasks)]
struct Worker {
    #[depends_on]
    db: Arc<Database>,
}

#[platform::lifecycle::tasks(crate = crate::platform::lifecycle)]
impl Worker {
    #[on_start]
    async fn connect(&self) {
        let _ = &self.db;
    }

    #[background_task(every = "1s")]
    async fn poll(&self, _shutdown: platform::lifecycle::Shutdown) {}
}

#[derive(Registry)]
#[registry(crate = platform::lifecycle)]
struct App {
    db: Database,
    worker: Worker,
}

fn main() {
    let _ = App::builder().build().unwrap();
}
