//! Field, method and type names that collide with names the expansions use internally.

use std::sync::Arc;

use lifecycle_core::{Registry, Service, Shutdown};

#[derive(Service)]
struct Database {}

#[derive(Service)]
struct Config {}

#[derive(Service)]
#[service(tasks)]
struct Worker {
    #[depends_on]
    cx: Arc<Database>,
    #[depends_on]
    registry: Arc<Config>,
    tasks: u32,
    this: u32,
    shutdown: u32,
    slots: u32,
}

#[lifecycle_core::tasks]
impl Worker {
    #[on_start]
    async fn tasks(&self) {
        let _ = (&self.cx, &self.registry, self.tasks, self.this, self.slots);
    }

    #[background_task(every = "1s")]
    async fn this(&self, shutdown: Shutdown) {
        let _ = (shutdown.is_cancelled(), self.shutdown);
    }

    #[background_task(every = "1s")]
    async fn shutdown(&self) {}

    #[background_task(blocking)]
    fn spawn_tasks(&self, tasks: Shutdown) {
        let _ = tasks.is_cancelled();
    }
}

/// A generic service whose dependency is its own type parameter.
#[derive(Service)]
struct Wrapper<T: Service> {
    #[depends_on]
    inner: Arc<T>,
}

#[derive(Registry)]
struct App {
    cx: Database,
    registry: Config,
    services: Worker,
    field_cx: Wrapper<Database>,
    from: Wrapper<Config>,
}

fn main() {
    let built = App::builder().build().unwrap();
    let _ = (&built.services().services, &built.services().from.inner);
}
